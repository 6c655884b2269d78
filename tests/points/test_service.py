"""Redemption (reserve, hand over, cancel and refund), expiry, leaderboard and permissions."""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import replace

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.errors import Conflict, NotFound, PermissionDenied
from linli.core.pagination import PageParams
from linli.core.time import UTC
from linli.points import repository
from linli.points import service as points_service
from linli.points.models import PointsEntry, PointsTransaction, Reward
from linli.points.schemas import Adjustment, LeaderboardChoice, RewardUpdate, SettingsUpdate
from tests.conftest import World
from tests.points.conftest import EARNED_AT, actor, earn, make_reward

PAGE = PageParams(page=1, size=50)


def _stock(db: Session, reward_id: int) -> int:
    db.expire_all()
    reward = db.get(Reward, reward_id)
    assert reward is not None
    return reward.stock


def test_redeem_confirm_and_cancel_with_refund(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    earn(db, h1, 30)
    reward_id = make_reward(db, world, cost=12, stock=2, name="环保袋")
    alice, staff = actor(db, world, "alice"), actor(db, world, "staff1")
    first = points_service.redeem(db, alice, reward_id)
    second = points_service.redeem(db, alice, reward_id)
    db.commit()
    assert (first.status, points_service.balance_of_household(db, h1)) == ("reserved", 6)
    assert _stock(db, reward_id) == 0
    with pytest.raises(Conflict):  # 6 points left and no stock
        points_service.redeem(db, alice, reward_id)
    db.rollback()
    assert points_service.confirm(db, staff, first.id).status == "handed_over"
    assert points_service.cancel(db, alice, second.id).status == "cancelled"
    db.commit()
    with pytest.raises(Conflict):
        points_service.cancel(db, staff, first.id)
    db.rollback()
    with pytest.raises(Conflict):
        points_service.confirm(db, staff, second.id)
    db.rollback()
    assert points_service.balance_of_household(db, h1) == 18
    assert _stock(db, reward_id) == 1
    statement = points_service.my_statement(db, alice, PAGE)
    assert statement.balance == 18
    assert [(e.amount, e.source) for e in statement.entries[:3]] == [
        (12, "退还：环保袋"),
        (-12, "兑换：环保袋"),
        (-12, "兑换：环保袋"),
    ]
    kinds = {e.kind for e in statement.entries}
    assert kinds == {"earn", "redemption", "refund"}
    assert set(repository.entry_sums_by_transaction(db, world.places["c1"]).values()) == {0}


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_residents_and_staff_of_other_communities_are_refused(db: Session, world: World) -> None:
    earn(db, world.households["h1"], 20)
    reward_id = make_reward(db, world)
    carol, staff2, pm1 = (actor(db, world, u) for u in ("carol", "staff2", "pm1"))
    with pytest.raises(NotFound):
        points_service.redeem(db, carol, reward_id)
    with pytest.raises(PermissionDenied):
        points_service.redeem(db, pm1, reward_id)
    found = points_service.redeem(db, actor(db, world, "alice"), reward_id)
    db.commit()
    for who in (staff2, carol, actor(db, world, "bob")):
        with pytest.raises(NotFound):
            points_service.confirm(db, who, found.id)
        with pytest.raises(NotFound):
            points_service.cancel(db, who, found.id)
        with pytest.raises(NotFound):
            points_service.household_statement(db, who, world.households["h1"], PAGE)
        db.rollback()
    with pytest.raises(NotFound):
        points_service.update_reward(db, staff2, reward_id, RewardUpdate(stock=100))
    with pytest.raises(PermissionDenied):
        points_service.list_rules(db, staff2, world.places["c1"])
    assert _stock(db, reward_id) == 4


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_staff_reading_a_statement_is_audited(db: Session, world: World) -> None:
    earn(db, world.households["h1"], 10)
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    got = points_service.household_statement(
        db, actor(db, world, "staff1"), world.households["h1"], PAGE
    )
    db.commit()
    assert got.balance == 10
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.subject_id) == (
        "points.statement_viewed",
        str(world.households["h1"]),
    )
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == (before or 0) + 1


def test_points_expire_first_in_first_out_once(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    earn(db, h1, 30, at=EARNED_AT)  # 10 each on Jan 5, 6 and 7, 2026
    reward_id = make_reward(db, world, cost=15, stock=3)
    points_service.redeem(db, actor(db, world, "alice"), reward_id)  # uses Jan 5 and half Jan 6
    db.commit()
    staff = actor(db, world, "staff1")
    points_service.update_settings(db, staff, world.places["c1"], SettingsUpdate(expiry_months=12))
    db.commit()
    # 12 months on, just after the Jan 6 lot: 5 of it is left, and expires.
    now = dt.datetime(2027, 1, 6, 3, 0, tzinfo=UTC)
    assert points_service.expire_points(db, now) == 5
    assert points_service.expire_points(db, now) == 0
    db.commit()
    assert points_service.balance_of_household(db, h1) == 10
    assert points_service.expire_points(db, dt.datetime(2027, 1, 7, 1, 0, tzinfo=UTC)) == 0
    assert points_service.expire_points(db, dt.datetime(2027, 1, 7, 3, 0, tzinfo=UTC)) == 10
    db.commit()
    assert points_service.balance_of_household(db, h1) == 0
    assert points_service.expire_points(db, dt.datetime(2030, 1, 1, tzinfo=UTC)) == 0
    expiries = db.scalars(
        select(PointsTransaction.source_id).where(PointsTransaction.kind == "expiry")
    ).all()
    assert len(expiries) == 2
    assert db.scalar(select(func.sum(PointsEntry.amount))) == 0


def test_fifo_arithmetic_with_a_refund() -> None:
    t = [dt.datetime(2026, 1, d, tzinfo=UTC) for d in range(1, 5)]
    lines = [
        (10, "earn", t[0]),
        (10, "earn", t[1]),
        (-15, "redemption", t[2]),
        (15, "refund", t[3]),
    ]
    # The refund gives the redemption's points back to their lots: 10 expire with the first lot.
    assert points_service.to_expire(lines, t[0]) == (10, 10)
    assert points_service.to_expire(lines[:3], t[0]) == (0, 10)
    assert points_service.to_expire(lines[:3], t[1]) == (5, 20)
    assert points_service.months_before(dt.datetime(2026, 3, 31, tzinfo=UTC), 1) == dt.datetime(
        2026, 2, 28, tzinfo=UTC
    )


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_leaderboard_shows_only_opted_in_households_without_names(
    db: Session, world: World
) -> None:
    earn(db, world.households["h1"], 20)
    earn(db, world.households["h2"], 30, tag="b")
    alice, bob = actor(db, world, "alice"), actor(db, world, "bob")
    assert points_service.leaderboard(db, alice) == []
    assert points_service.my_leaderboard_choice(db, alice).opted_in is False
    points_service.set_leaderboard_choice(db, alice, LeaderboardChoice(opted_in=True))
    points_service.set_leaderboard_choice(
        db, bob, LeaderboardChoice(opted_in=True, display_name="绿色家庭")
    )
    db.commit()
    rows = points_service.leaderboard(db, alice)
    assert [(r.rank, r.label, r.points, r.mine) for r in rows] == [
        (1, "绿色家庭", 30, False),
        (2, "1号楼 1单元 1**", 20, True),
    ]
    assert all("王" not in r.label and "李" not in r.label for r in rows)
    assert points_service.leaderboard(db, actor(db, world, "carol")) == []
    points_service.set_leaderboard_choice(db, bob, LeaderboardChoice(opted_in=False))
    assert [r.points for r in points_service.leaderboard(db, alice)] == [20]


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_voting_online_earns_once_from_the_roll(db: Session, world: World) -> None:
    from linli.poll import service as poll_service
    from tests.poll.helpers import make_poll, option_ids

    poll = make_poll(db, world)
    yes, _no = option_ids(db, poll.id)
    poll_service.vote(db, actor(db, world, "alice"), poll.id, yes)
    db.commit()
    assert points_service.balance_of_household(db, world.households["h1"]) == 5
    txn = db.scalars(
        select(PointsTransaction).where(PointsTransaction.rule_code == "vote_cast")
    ).one()
    assert txn.source_id == f"poll:{poll.id}:resident:{world.residents['alice']}"
    assert str(yes) not in txn.memo


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
@pytest.mark.parametrize(
    ("stock", "households", "expected"),
    [(2, ("h1",), 2), (5, ("h1",), 3), (4, ("h1", "h2"), 4)],
)
def test_concurrent_redemptions_never_overdraw(
    app: FastAPI,
    db: Session,
    world: World,
    stock: int,
    households: tuple[str, ...],
    expected: int,
) -> None:
    """20 redemptions at once; each household has points for 3 rewards of cost 10."""
    residents = {"h1": "alice", "h2": "bob"}
    for hh in households:
        earn(db, world.households[hh], 30, tag=hh)
    reward_id = make_reward(db, world, cost=10, stock=stock)
    db.commit()
    people = [actor(db, world, residents[hh]) for hh in households]
    factory = app.state.sessionmaker
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        session: Session = factory()
        try:
            barrier.wait(timeout=30)
            points_service.redeem(session, people[i % len(people)], reward_id)
            session.commit()
            result = "ok"
        except Conflict:
            session.rollback()
            result = "refused"
        except Exception as exc:  # a failure of any other kind must fail the test
            session.rollback()
            result = f"error: {exc!r}"
        finally:
            session.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes) == ["ok"] * expected + ["refused"] * (20 - expected), outcomes
    assert _stock(db, reward_id) == stock - expected >= 0
    balances = [points_service.balance_of_household(db, world.households[hh]) for hh in households]
    assert all(b >= 0 for b in balances)
    assert sum(30 - b for b in balances) == 10 * expected


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_staff_redeem_at_the_desk_in_assisted_mode(db: Session, world: World) -> None:
    earn(db, world.households["h2"], 20)
    reward_id = make_reward(db, world, cost=10, stock=2)
    helping = replace(actor(db, world, "staff1"), on_behalf_of_resident_id=world.residents["bob"])
    found = points_service.redeem(db, helping, reward_id)
    db.commit()
    assert (found.via, found.household_id) == ("assisted", world.households["h2"])
    assert points_service.balance_of_household(db, world.households["h2"]) == 10
    event = db.scalars(select(AuditEvent).order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert (event.action, event.subject_resident_id) == ("points.redeemed", world.residents["bob"])


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_staff_corrections_are_new_transactions(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    earn(db, h1, 10)
    staff = actor(db, world, "staff1")
    add = Adjustment(household_id=h1, amount=5, reason="补记清洁活动", token="tok-add-1")
    assert points_service.adjust(db, staff, add).points == 5
    assert points_service.adjust(db, staff, add).points == 0  # the same form again
    db.commit()
    with pytest.raises(Conflict):
        points_service.adjust(
            db, staff, Adjustment(household_id=h1, amount=-16, reason="x", token="tok-take-1")
        )
    db.rollback()
    with pytest.raises(PermissionDenied):
        points_service.adjust(
            db,
            actor(db, world, "staff2"),
            Adjustment(household_id=h1, amount=100, reason="x", token="tok-other"),
        )
    take = Adjustment(household_id=h1, amount=-15, reason="重复登记", token="tok-take-2")
    assert points_service.adjust(db, staff, take).balance == 0
    db.commit()
    sources = [
        e.source for e in points_service.my_statement(db, actor(db, world, "alice"), PAGE).entries
    ]
    assert sources[:2] == ["调整：重复登记", "调整：补记清洁活动"]
    assert set(repository.entry_sums_by_transaction(db, world.places["c1"]).values()) == {0}
