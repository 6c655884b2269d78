"""The outbox as other domains use it: written in their transaction, once per event and
recipient, shaped by each person's preferences, quiet hours and daily cap."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from zoneinfo import ZoneInfo

import time_machine
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.core.events import hub
from linli.core.pagination import PageParams
from linli.notification import service
from linli.notification.models import Notification
from tests.conftest import World
from tests.notification.conftest import actor_of, add_endpoint, alarm, set_email

SHANGHAI = ZoneInfo("Asia/Shanghai")


def _rows(db: Session) -> list[Notification]:
    db.expire_all()
    return list(db.scalars(select(Notification).order_by(Notification.id)))


def test_a_rolled_back_change_leaves_no_notification_and_wakes_nobody(
    db: Session, world: World
) -> None:
    set_email(db, world, "alice", "alice@example.org")
    add_endpoint(db, world, "c1", "http://127.0.0.1:9/hook")
    db.commit()
    woken: list[frozenset[str]] = []
    service.add_waker(woken.append)
    try:
        made = alarm(db, world, "alarm:1:raised")
        assert {n.channel for n in made} == {"inapp", "email", "webhook"}
        db.rollback()
        assert _rows(db) == []
        assert woken == []
        alarm(db, world, "alarm:1:raised")
        db.commit()
        assert woken == [frozenset({"email", "webhook"})]
    finally:
        service.remove_waker(woken.append)
    rows = _rows(db)
    assert sorted(r.idempotency_key for r in rows) == sorted(
        [
            f"alarm:1:raised:inapp:a{world.accounts['alice']}",
            f"alarm:1:raised:email:a{world.accounts['alice']}",
            f"alarm:1:raised:webhook:e{rows[-1].endpoint_id}",
        ]
    )
    inapp = next(r for r in rows if r.channel == "inapp")
    assert inapp.status == "sent"
    assert inapp.read_at is None
    assert all(r.status == "pending" for r in rows if r.channel != "inapp")
    assert all(r.place_id == world.places["c1-b1u1"] for r in rows)


def test_the_bell_hears_only_after_commit(db: Session, world: World) -> None:
    topic = f"inbox:{world.accounts['alice']}"

    async def scenario() -> list[dict[str, object]]:
        async with hub.subscribe(topic) as queue:
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:2:raised"), db.rollback()))
            assert queue.empty()
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:2:raised"), db.commit()))
            event = await asyncio.wait_for(queue.get(), timeout=10)
            return [event.data]

    events = asyncio.run(scenario())
    assert events[0]["unread"] == 1
    assert events[0]["subject"] == "Smoke in building 1"


def test_the_same_event_is_written_once(db: Session, world: World) -> None:
    set_email(db, world, "alice", "alice@example.org")
    first = alarm(db, world, "alarm:3:raised", to=("alice", "bob"))
    db.commit()
    again = alarm(db, world, "alarm:3:raised", to=("alice", "bob"))
    db.commit()
    assert len(first) == 3  # two bells, alice's e-mail (bob has no address)
    assert again == []
    assert len(_rows(db)) == 3
    # A new recipient of the same event gets theirs; the others nothing twice.
    more = alarm(db, world, "alarm:3:raised", to=("alice", "bob", "staff1"))
    db.commit()
    assert [(n.channel, n.account_id) for n in more] == [("inapp", world.accounts["staff1"])]


def test_preferences_choose_email_by_severity(db: Session, world: World) -> None:
    set_email(db, world, "alice", "alice@example.org", min_severity="major")
    set_email(db, world, "bob", "bob@example.org", email_enabled=False)
    db.commit()
    minor = alarm(db, world, "a:minor", to=("alice", "bob"), severity="minor")
    major = alarm(db, world, "a:major", to=("alice", "bob"), severity="major")
    db.commit()
    assert sorted(n.channel for n in minor) == ["inapp", "inapp"]
    assert sorted((n.channel, n.account_id) for n in major if n.channel == "email") == [
        ("email", world.accounts["alice"])
    ]


def test_endpoints_of_the_place_and_its_ancestors_take_their_severities(
    db: Session, world: World
) -> None:
    community = add_endpoint(db, world, "c1", "http://127.0.0.1:9/a", min_severity="minor")
    district = add_endpoint(db, world, "district", "http://127.0.0.1:9/b", min_severity="critical")
    add_endpoint(db, world, "c2", "http://127.0.0.1:9/c")  # another community
    add_endpoint(db, world, "c1-b1u1", "http://127.0.0.1:9/d", min_severity="warning")
    db.commit()
    warning = alarm(db, world, "w", to=(), severity="warning")
    major = alarm(db, world, "m", to=(), severity="major")
    critical = alarm(db, world, "c", to=(), severity="critical")
    db.commit()
    unit = world.places["c1-b1u1"]
    assert len(warning) == 1
    assert warning[0].endpoint_id != community
    assert {n.endpoint_id for n in major} == {community, warning[0].endpoint_id}
    assert {n.endpoint_id for n in critical} == {community, district, warning[0].endpoint_id}
    assert all(n.place_id == unit for n in warning + major + critical)


def test_quiet_hours_hold_minor_email_until_morning_but_not_critical(
    db: Session, world: World
) -> None:
    set_email(db, world, "alice", "alice@example.org", quiet_start="22:00", quiet_end="07:00")
    db.commit()
    late = dt.datetime(2026, 3, 10, 23, 30, tzinfo=SHANGHAI)
    with time_machine.travel(late, tick=False):
        minor = alarm(db, world, "q:minor", severity="minor")
        critical = alarm(db, world, "q:critical", severity="critical")
        db.commit()
    held = next(n for n in minor if n.channel == "email")
    urgent = next(n for n in critical if n.channel == "email")
    assert held.next_attempt_at == dt.datetime(2026, 3, 11, 7, 0, tzinfo=SHANGHAI)
    assert urgent.next_attempt_at == late
    # The bell is never held.
    assert next(n for n in minor if n.channel == "inapp").status == "sent"
    # Outside quiet hours nothing waits; a period that does not wrap midnight works too.
    with time_machine.travel(dt.datetime(2026, 3, 11, 7, 0, tzinfo=SHANGHAI), tick=False):
        day = alarm(db, world, "q:day", severity="minor")
    assert next(n for n in day if n.channel == "email").next_attempt_at == dt.datetime(
        2026, 3, 11, 7, 0, tzinfo=SHANGHAI
    )
    noon = dt.datetime(2026, 3, 11, 12, 30, tzinfo=SHANGHAI)
    assert service.quiet_until(noon, "12:00", "14:00", "Asia/Shanghai") == dt.datetime(
        2026, 3, 11, 14, 0, tzinfo=SHANGHAI
    )
    assert service.quiet_until(noon, "14:00", "12:00", "Asia/Shanghai") is None
    early = dt.datetime(2026, 3, 11, 6, 59, tzinfo=SHANGHAI)
    assert service.quiet_until(early, "22:00", "07:00", "Asia/Shanghai") == dt.datetime(
        2026, 3, 11, 7, 0, tzinfo=SHANGHAI
    )
    assert service.quiet_until(early, "", "", "Asia/Shanghai") is None


def test_daily_cap_suppresses_all_but_critical(db: Session, world: World) -> None:
    set_email(db, world, "alice", "alice@example.org", daily_cap=2)
    db.commit()
    start = dt.datetime(2026, 3, 10, 9, 0, tzinfo=SHANGHAI)
    with time_machine.travel(start, tick=False):
        for i in range(3):
            alarm(db, world, f"cap:{i}", severity="minor")
        alarm(db, world, "cap:critical", severity="critical")
        db.commit()
    emails = [r for r in _rows(db) if r.channel == "email"]
    assert [r.status for r in emails] == ["pending", "pending", "suppressed", "pending"]
    assert "daily limit of 2" in emails[2].last_error
    # The bell still got all four.
    assert sum(1 for r in _rows(db) if r.channel == "inapp") == 4
    # A day later the cap starts again.
    with time_machine.travel(start + dt.timedelta(hours=24, minutes=1), tick=False):
        later = alarm(db, world, "cap:later", severity="minor")
        db.commit()
    assert next(n for n in later if n.channel == "email").status == "pending"


def test_reading_marks_and_counts(db: Session, world: World) -> None:
    alarm(db, world, "r:1", to=("alice", "bob"))
    alarm(db, world, "r:2", to=("alice",))
    db.commit()
    alice, bob = actor_of(world, "alice"), actor_of(world, "bob")
    assert service.unread_count(db, alice) == 2
    assert service.unread_count(db, bob) == 1
    items, total = service.inbox(db, alice, params=PageParams(page=1, size=1))
    assert total == 2
    assert len(items) == 1
    assert items[0].subject == "Smoke in building 1"
    service.mark_read(db, alice, items[0].id)
    db.commit()
    assert service.unread_count(db, alice) == 1
    marked, left = service.mark_all_read(db, alice)
    db.commit()
    assert (marked, left) == (1, 0)
    assert service.unread_count(db, bob) == 1
    count = db.scalar(select(func.count()).select_from(Notification)) or 0
    assert count == 3


def test_waker_runs_once_per_commit_from_any_thread(db: Session, world: World) -> None:
    add_endpoint(db, world, "c1", "http://127.0.0.1:9/hook")
    db.commit()
    seen: list[str] = []
    done = threading.Event()

    def waker(channels: frozenset[str]) -> None:
        seen.append(threading.current_thread().name)
        done.set()

    service.add_waker(waker)
    try:
        thread = threading.Thread(
            target=lambda: (alarm(db, world, "t:1", to=()), db.commit()), name="writer"
        )
        thread.start()
        thread.join(timeout=30)
    finally:
        service.remove_waker(waker)
    assert done.is_set()
    assert seen == ["writer"]
