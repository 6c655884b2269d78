"""Proposal rules: the working-day deadline, counting under concurrency, overdue escalation."""

from __future__ import annotations

import datetime as dt
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import time_machine
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied
from linli.notification.models import Notification
from linli.proposal import service, tasks
from linli.proposal.models import Proposal, ProposalEvent, ProposalSupport
from tests.conftest import World
from tests.proposal.conftest import actor_of, make_proposal, neighbours

UTC = dt.UTC


def test_deadline_counts_chinese_working_days() -> None:
    # 30 September 2025: the National Day holiday runs to 8 October; 11 October is a make-up
    # working day (a Saturday). The deadline is the end (Shanghai midnight) of the last day.
    start = dt.datetime(2025, 9, 30, 4, 0, tzinfo=UTC)
    assert service.add_workdays(start, 1) == dt.datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert service.add_workdays(start, 3) == dt.datetime(2025, 10, 11, 16, 0, tzinfo=UTC)
    # Beyond the years the calendar knows: Monday to Friday (6 January 2040 is a Friday).
    friday = dt.datetime(2040, 1, 6, 4, 0, tzinfo=UTC)
    assert service.add_workdays(friday, 1) == dt.datetime(2040, 1, 9, 16, 0, tzinfo=UTC)
    assert service.add_workdays(friday, 5) == dt.datetime(2040, 1, 13, 16, 0, tzinfo=UTC)


def _stored(db: Session, pid: int) -> tuple[int, int]:
    db.expire_all()
    rows = db.scalar(
        select(func.count()).select_from(ProposalSupport).where(ProposalSupport.proposal_id == pid)
    )
    p = db.get(Proposal, pid)
    assert p is not None
    return p.support_count, int(rows or 0)


def _run_together(app: FastAPI, actors: list[Actor], pid: int, action: str) -> list[str]:
    barrier = threading.Barrier(len(actors))

    def one(actor: Actor) -> str:
        with app.state.sessionmaker() as session:
            barrier.wait(timeout=30)
            try:
                getattr(service, action)(session, actor, pid)
                session.commit()
            except Conflict:
                return "conflict"
            return "ok"

    with ThreadPoolExecutor(max_workers=len(actors)) as pool:
        return list(pool.map(one, actors))


def test_twenty_concurrent_supports_and_withdrawals_count_right(
    app: FastAPI, db: Session, world: World
) -> None:
    pid = make_proposal(db, world, threshold=20)
    people = neighbours(db, world, 20)
    assert _run_together(app, people, pid, "support") == ["ok"] * 20
    assert _stored(db, pid) == (20, 20)
    p = db.get(Proposal, pid)
    assert p is not None
    assert p.status == "threshold_reached"
    assert p.answer_due_at is not None
    reached = db.scalars(
        select(ProposalEvent).where(
            ProposalEvent.proposal_id == pid, ProposalEvent.kind == "threshold_reached"
        )
    ).all()
    assert len(reached) == 1
    told = set(
        db.scalars(
            select(Notification.account_id).where(
                Notification.category == "proposal", Notification.channel == "inapp"
            )
        )
    )
    assert told == {world.accounts["staff1"], world.accounts["admin1"]}
    # The same resident twice at once: one wins, the other is told it already supports.
    twice = _run_together(app, [people[0], people[0]], pid, "withdraw_support")
    assert sorted(twice) == ["conflict", "ok"]
    assert _run_together(app, people[1:6], pid, "withdraw_support") == ["ok"] * 5
    assert _stored(db, pid) == (14, 14)
    # A reached threshold stays reached: the answer is owed.
    db.expire_all()
    assert db.get(Proposal, pid).status == "threshold_reached"  # type: ignore[union-attr]


def test_support_rules(db: Session, world: World) -> None:
    pid = make_proposal(db, world)
    alice = actor_of(db, world, "alice")
    bob = actor_of(db, world, "bob")
    with pytest.raises(Conflict):
        service.support(db, alice, pid)  # the author's own
    service.support(db, bob, pid)
    db.commit()
    with pytest.raises(Conflict):
        service.support(db, bob, pid)
    with pytest.raises(NotFound):
        service.support(db, actor_of(db, world, "carol"), pid)  # another community
    with pytest.raises(PermissionDenied):
        service.support(db, actor_of(db, world, "staff1"), pid)  # not a resident
    assert _stored(db, pid) == (1, 1)


def test_overdue_answers_are_marked_and_escalated(app: FastAPI, db: Session, world: World) -> None:
    with time_machine.travel(dt.datetime(2040, 1, 6, 2, 0, tzinfo=UTC), tick=False):
        pid = make_proposal(db, world, threshold=1)
        service.support(db, actor_of(db, world, "bob"), pid)
        db.commit()
        assert tasks.escalate(app.state.sessionmaker) == 0
    db.expire_all()
    p = db.get(Proposal, pid)
    assert p is not None
    # Three working days after Friday 6 January: the end of Wednesday 11 January (Shanghai).
    assert p.answer_due_at == dt.datetime(2040, 1, 11, 16, 0, tzinfo=UTC)
    with time_machine.travel(dt.datetime(2040, 1, 11, 15, 59, tzinfo=UTC), tick=False):
        assert tasks.escalate(app.state.sessionmaker) == 0
    with time_machine.travel(dt.datetime(2040, 1, 11, 16, 1, tzinfo=UTC), tick=False):
        assert tasks.escalate(app.state.sessionmaker) == 1
        assert tasks.escalate(app.state.sessionmaker) == 0
        detail = service.public_get(db, actor_of(db, world, "bob"), pid)
    assert detail.overdue is True
    assert [e.kind for e in detail.history] == ["created", "threshold_reached", "overdue"]
    admins = db.scalars(
        select(Notification.account_id).where(
            Notification.category == "proposal",
            Notification.severity == "major",
            Notification.channel == "inapp",
        )
    ).all()
    assert admins == [world.accounts["admin1"]]
    # Answering clears the marker.
    service.answer(db, actor_of(db, world, "staff1"), pid, "已安排在下月加装两张长椅。")
    db.commit()
    assert service.public_get(db, actor_of(db, world, "bob"), pid).overdue is False
