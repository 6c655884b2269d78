"""Voting rules through the service: eligibility per rule, one ballot per voter under
concurrent submissions, ballots that cannot be joined to voters, verifiable receipts."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from fastapi import FastAPI
from sqlalchemy import func, inspect, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.errors import Conflict, LinliError, PermissionDenied
from linli.poll import service as poll_service
from linli.poll.models import Ballot, Poll, PollVoter
from linli.poll.schemas import PaperBallot
from tests.conftest import World
from tests.poll.helpers import actor, add_people, make_poll, option_ids, set_area


def _roll(db: Session, poll_id: int) -> list[str]:
    stmt = select(PollVoter.voter_key).where(PollVoter.poll_id == poll_id)
    return sorted(db.scalars(stmt))


def test_adult_residents_excludes_children_and_other_communities(db: Session, world: World) -> None:
    extra = add_people(db, world)
    poll = make_poll(db, world, electorate="adult_residents")
    # alice, alan, bob, ted (adult tenant) — not the child, not carol of c2.
    assert poll.electorate_size == 4
    staff = actor(db, world, "staff1")
    assert poll_service.voter_of(db, staff, poll, extra["kid"]) is None
    assert poll_service.voter_of(db, staff, poll, extra["ted"]) == (
        f"resident:{extra['ted']}",
        Decimal(1),
    )
    assert poll_service.voter_of(db, staff, poll, world.residents["carol"]) is None
    # The adulthood check reads dates of birth: audited with its purpose, no values.
    event = db.scalars(
        select(AuditEvent).where(AuditEvent.action == "resident.eligibility_read")
    ).first()
    assert event is not None
    assert event.fields == "date_of_birth"
    assert "2016" not in event.detail


def test_one_per_household_gives_one_ballot_to_a_dwelling(db: Session, world: World) -> None:
    add_people(db, world)
    poll = make_poll(db, world, electorate="one_per_household")
    assert poll.electorate_size == 2  # h1, h2
    yes, _no = option_ids(db, poll.id)
    alice = actor(db, world, "alice")
    receipt = poll_service.vote(db, alice, poll.id, yes)
    db.commit()
    assert receipt.receipt
    # Alan lives in the same household: its ballot is cast.
    staff = actor(db, world, "staff1")
    with pytest.raises(Conflict):
        poll_service.record_paper(
            db, staff, poll.id, PaperBallot(resident_id=world.residents["alan"], option_id=yes)
        )
    db.rollback()
    assert _roll(db, poll.id) == [f"household:{world.households['h1']}"]


def test_owners_by_area_counts_owned_dwellings_with_their_area(db: Session, world: World) -> None:
    extra = add_people(db, world)
    set_area(db, world.households["h1"], "80.50")
    set_area(db, world.households["h2"], "119.50")
    set_area(db, world.households["h3"], "300")
    db.commit()
    poll = make_poll(db, world, electorate="owners_by_area", matter="major")
    assert poll.electorate_size == 2
    assert Decimal(poll.electorate_area) == Decimal("200.00")
    staff = actor(db, world, "staff1")
    # A tenant is not an owner; owners of one dwelling share its one weighted ballot.
    assert poll_service.voter_of(db, staff, poll, extra["ted"]) is None
    key, weight = poll_service.voter_of(db, staff, poll, world.residents["bob"]) or ("", 0)
    assert key == f"household:{world.households['h2']}"
    assert weight == Decimal("119.50")


def test_owners_without_recorded_area_are_not_in_the_electorate(db: Session, world: World) -> None:
    set_area(db, world.households["h1"], "90")
    db.commit()
    poll = make_poll(db, world, electorate="owners_by_area")
    assert poll.electorate_size == 1
    yes, _no = option_ids(db, poll.id)
    with pytest.raises(PermissionDenied):
        poll_service.vote(db, actor(db, world, "bob"), poll.id, yes)


def test_a_draft_poll_can_not_be_voted_and_closed_poll_neither(db: Session, world: World) -> None:
    poll = make_poll(db, world, open_it=False)
    yes, _no = option_ids(db, poll.id)
    staff = actor(db, world, "staff1")
    with pytest.raises(LinliError):
        poll_service.vote(db, actor(db, world, "alice"), poll.id, yes)
    db.rollback()
    poll_service.open_poll(db, staff, poll.id)
    poll_service.close_poll(db, staff, poll.id)
    db.commit()
    with pytest.raises(Conflict):
        poll_service.vote(db, actor(db, world, "alice"), poll.id, yes)
    db.rollback()
    assert _roll(db, poll.id) == []


def test_one_ballot_under_twenty_concurrent_attempts(
    app: FastAPI, db: Session, world: World
) -> None:
    poll = make_poll(db, world)
    yes, no = option_ids(db, poll.id)
    alice = actor(db, world, "alice")
    factory = app.state.sessionmaker
    barrier = threading.Barrier(20)
    outcomes: list[str] = []
    lock = threading.Lock()

    def attempt(i: int) -> None:
        session: Session = factory()
        try:
            barrier.wait(timeout=30)
            poll_service.vote(session, alice, poll.id, yes if i % 2 else no)
            session.commit()
            result = "ok"
        except Conflict:
            session.rollback()
            result = "already"
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
    assert sorted(outcomes) == ["already"] * 19 + ["ok"], outcomes
    db.expire_all()
    assert _roll(db, poll.id) == [f"resident:{world.residents['alice']}"]
    count = db.scalar(select(func.count()).select_from(Ballot).where(Ballot.poll_id == poll.id))
    assert count == 1
    stored = db.get(Poll, poll.id)
    assert stored is not None
    assert stored.ballots_cast == 1


def test_the_unique_roll_constraint_holds_without_the_service(db: Session, world: World) -> None:
    poll = make_poll(db, world)
    db.add(PollVoter(poll_id=poll.id, voter_key="resident:1", via="online"))
    db.commit()
    db.add(PollVoter(poll_id=poll.id, voter_key="resident:1", via="paper"))
    with pytest.raises(IntegrityError):
        db.commit()
    db.rollback()


def test_ballots_can_not_be_joined_to_voters(db: Session, world: World) -> None:
    columns = {c["name"] for c in inspect(db.get_bind()).get_columns("poll_ballots")}
    assert columns == {"id", "poll_id", "option_id", "weight", "receipt_hash"}
    fks = inspect(db.get_bind()).get_foreign_keys("poll_ballots")
    assert {fk["referred_table"] for fk in fks} == {"polls", "poll_options"}
    # Nothing in a ballot names a voter, a time or an order of casting.
    assert not any("resident" in c or "household" in c or "_at" in c for c in columns)
    # Cast several ballots in a known order (roll ids ascend with it) in a secret poll.
    poll = make_poll(db, world, electorate="adult_residents", secret=True)
    yes, _no = option_ids(db, poll.id)
    staff = actor(db, world, "staff1")
    for who in ("alice", "alan", "bob"):
        poll_service.record_paper(
            db, staff, poll.id, PaperBallot(resident_id=world.residents[who], option_id=yes)
        )
        db.commit()
    roll = db.execute(
        select(PollVoter.id, PollVoter.option_id)
        .where(PollVoter.poll_id == poll.id)
        .order_by(PollVoter.id)
    ).all()
    assert len(roll) == 3
    assert all(option is None for _id, option in roll)  # secret: no choice on the roll
    ids = list(db.scalars(select(Ballot.id).where(Ballot.poll_id == poll.id)))
    # Random 128-bit keys, not a sequence that pairs with the roll's order.
    assert len(ids) == 3
    assert all(len(i) == 32 and int(i, 16) >= 0 for i in ids)
    assert len({i[:8] for i in ids}) == 3
    # The paper-ballot audit names the resident but never the choice.
    details = db.scalars(
        select(AuditEvent.detail).where(AuditEvent.action == "poll.ballot_recorded")
    ).all()
    assert details
    assert all(str(yes) not in d and "option" not in d for d in details)


def test_an_open_poll_keeps_the_choice_on_the_roll(db: Session, world: World) -> None:
    poll = make_poll(db, world, secret=False)
    yes, _no = option_ids(db, poll.id)
    poll_service.vote(db, actor(db, world, "bob"), poll.id, yes)
    db.commit()
    assert db.scalars(select(PollVoter.option_id).where(PollVoter.poll_id == poll.id)).all() == [
        yes
    ]


def test_receipts_are_verifiable_and_stored_only_hashed(db: Session, world: World) -> None:
    poll = make_poll(db, world)
    yes, no = option_ids(db, poll.id)
    alice = actor(db, world, "alice")
    r1 = poll_service.vote(db, alice, poll.id, yes)
    r2 = poll_service.vote(db, actor(db, world, "bob"), poll.id, no)
    db.commit()
    hashes = set(db.scalars(select(Ballot.receipt_hash).where(Ballot.poll_id == poll.id)))
    assert r1.receipt not in hashes
    assert poll_service.receipt_hash(r1.receipt) in hashes
    staff = actor(db, world, "staff1")
    poll_service.close_poll(db, staff, poll.id)
    db.commit()
    results = poll_service.results(db, alice, poll.id)
    assert poll_service.receipt_hash(r2.receipt) in results.receipt_hashes
    assert results.receipt_hashes == sorted(results.receipt_hashes)
    assert poll_service.check_receipt(db, alice, poll.id, r1.receipt).counted is True
    assert poll_service.check_receipt(db, alice, poll.id, "forged-receipt").counted is False
    assert [o.votes for o in results.options] == [1, 1]
    assert results.turnout_pct == 66.7  # 2 of alice, alan, bob
