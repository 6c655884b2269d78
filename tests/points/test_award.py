"""Earning points: rules, daily caps by local day, duplicates and the ledger's balance."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from fastapi import FastAPI
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from linli.core.errors import ValidationFailed
from linli.core.time import UTC
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate
from linli.points import repository
from linli.points import service as points_service
from linli.points.models import EarningRule, PointsEntry
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate
from tests.conftest import World

T0 = dt.datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def test_award_credits_once_per_source_and_balances(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    got = points_service.award(
        db, household_id=h1, rule_code="vote_cast", source_event_id="poll:1:h1", occurred_at=T0
    )
    again = points_service.award(
        db, household_id=h1, rule_code="vote_cast", source_event_id="poll:1:h1", occurred_at=T0
    )
    db.commit()
    assert (got, again) == (5, 0)
    assert points_service.balance_of_household(db, h1) == 5
    # Double entry: every transaction's legs sum to zero, and so does the whole ledger.
    c1 = world.places["c1"]
    assert set(repository.entry_sums_by_transaction(db, c1).values()) == {0}
    assert db.scalar(select(func.sum(PointsEntry.amount))) == 0


def test_daily_cap_counts_the_local_day(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    got = [
        points_service.award(
            db,
            household_id=h1,
            rule_code="sorting_correct",
            source_event_id=f"waste:{i}",
            occurred_at=T0 + dt.timedelta(minutes=i),
        )
        for i in range(7)
    ]
    assert got == [2, 2, 2, 2, 2, 0, 0]
    # 23:59 Shanghai is the same local day (15:59 UTC); 00:00 the next day is a new one.
    late = dt.datetime(2026, 3, 2, 15, 59, tzinfo=UTC)
    next_day = dt.datetime(2026, 3, 2, 16, 0, tzinfo=UTC)
    assert (
        points_service.award(
            db,
            household_id=h1,
            rule_code="sorting_correct",
            source_event_id="w:l",
            occurred_at=late,
        )
        == 0
    )
    assert (
        points_service.award(
            db,
            household_id=h1,
            rule_code="sorting_correct",
            source_event_id="w:n",
            occurred_at=next_day,
        )
        == 2
    )
    # A partial unit up to the cap: 3.5 hours of volunteering at 10/hour is 35, then 5 more.
    assert (
        points_service.award(
            db,
            household_id=h1,
            rule_code="volunteering",
            source_event_id="v:1",
            occurred_at=T0,
            quantity=3.5,
        )
        == 35
    )
    assert (
        points_service.award(
            db,
            household_id=h1,
            rule_code="volunteering",
            source_event_id="v:2",
            occurred_at=T0,
            quantity=2,
        )
        == 5
    )
    assert points_service.balance_of_household(db, h1) == 10 + 2 + 40


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_rule_off_and_unknown_rule(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    points_service.ensure_rules(db, world.places["c1"])
    rule = repository.rule(db, world.places["c1"], "vote_cast")
    assert isinstance(rule, EarningRule)
    rule.enabled = False
    db.flush()
    assert (
        points_service.award(
            db, household_id=h1, rule_code="vote_cast", source_event_id="p", occurred_at=T0
        )
        == 0
    )
    with pytest.raises(ValidationFailed):
        points_service.award(
            db, household_id=h1, rule_code="nonsense", source_event_id="p", occurred_at=T0
        )
    # The other community's rules are its own: still on there.
    h3 = world.households["h3"]
    assert (
        points_service.award(
            db, household_id=h3, rule_code="vote_cast", source_event_id="p", occurred_at=T0
        )
        == 5
    )


def test_ledger_rows_cannot_be_changed_or_removed(db: Session, world: World) -> None:
    h1 = world.households["h1"]
    points_service.award(
        db, household_id=h1, rule_code="vote_cast", source_event_id="x", occurred_at=T0
    )
    db.commit()
    for statement in (
        "UPDATE points_entries SET amount = 1000",
        "DELETE FROM points_entries",
        "UPDATE points_transactions SET source_id = 'y'",
        "DELETE FROM points_transactions",
    ):
        with pytest.raises(DBAPIError, match="append-only"):
            db.execute(text(statement))
        db.rollback()
    assert points_service.balance_of_household(db, h1) == 5


@pytest.mark.parametrize("database", ["postgres"], indirect=True)
def test_concurrent_awards_credit_once_and_respect_the_cap(app: FastAPI, world: World) -> None:
    """20 threads with their own connections: 10 replay one vote, 10 send distinct disposals."""
    h1 = world.households["h1"]
    factory = app.state.sessionmaker
    barrier = threading.Barrier(20)
    results: list[int | str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        session: Session = factory()
        try:
            barrier.wait(timeout=30)
            if i % 2:
                got: int | str = points_service.award(
                    session,
                    household_id=h1,
                    rule_code="vote_cast",
                    source_event_id="poll:9:household:1",
                    occurred_at=T0,
                )
            else:
                got = points_service.award(
                    session,
                    household_id=h1,
                    rule_code="sorting_correct",
                    source_event_id=f"waste:{i}",
                    occurred_at=T0,
                )
            session.commit()
        except Exception as exc:  # any failure must fail the test
            session.rollback()
            got = f"error: {exc!r}"
        finally:
            session.close()
        with lock:
            results.append(got)

    threads = [threading.Thread(target=attempt, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(results, key=str) == sorted([0] * 14 + [2] * 5 + [5], key=str), results
    with factory() as db:
        assert points_service.balance_of_household(db, h1) == 15


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_household_outside_any_community_earns_nothing(db: Session, world: World) -> None:
    """A compound straight under the street office: no community, no programme, no error."""
    compound = place_service.create(
        db,
        None,
        PlaceCreate(parent_id=world.places["street"], kind="compound", name="散居", code="t-x"),
    )
    building = place_service.create(
        db, None, PlaceCreate(parent_id=compound.id, kind="building", name="1号楼", code="t-xb")
    )
    hh = resident_service.create_household(
        db, None, HouseholdCreate(place_id=building.id, room="9")
    )
    got = points_service.award(
        db, household_id=hh.id, rule_code="vote_cast", source_event_id="p", occurred_at=T0
    )
    assert got == 0
    assert db.scalar(select(func.count()).select_from(PointsEntry)) == 0
