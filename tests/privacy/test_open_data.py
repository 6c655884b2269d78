"""Open data without re-identification (issue item 6): published counts of fewer than 5 people
are withheld through linli.core.kanon, and no single household's or person's readings are
reachable anonymously or by another resident."""

from __future__ import annotations

from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from linli.core import kanon
from linli.device import service as device_service
from linli.device.models import Device
from linli.device.schemas import DeviceCreate
from linli.poll import service as poll_service
from linli.poll.schemas import OptionResult, PollResults
from tests.conftest import World, bearer
from tests.poll.helpers import actor, make_poll, option_ids


def test_suppress_withholds_counts_from_one_to_four() -> None:
    assert [kanon.suppress(n) for n in range(7)] == [0, None, None, None, None, 5, 6]
    assert kanon.suppress(2, k=3) is None
    assert kanon.suppress(3, k=3) == 3
    assert [kanon.shown(n) for n in (0, 1, 4, 5, None)] == ["0", "<5", "<5", "5", "<5"]
    assert kanon.derived(3, 0.75) is None
    assert kanon.derived(12, 0.75) == 0.75


def _results(votes: list[int]) -> PollResults:
    return PollResults(
        poll_id=1,
        title="t",
        electorate="adult_residents",
        matter="ordinary",
        status="closed",
        options=[
            OptionResult(option_id=i, label=str(i), votes=v, weight=Decimal(v), passes=None)
            for i, v in enumerate(votes)
        ],
        ballots=sum(votes),
        weight=Decimal(sum(votes)),
        electorate_size=40,
        electorate_area=Decimal(0),
        turnout_pct=round(sum(votes) / 40 * 100, 1),
        turnout_area_pct=None,
        quorum_area_met=None,
        quorum_heads_met=None,
        quorum_met=True,
        winner_option_id=0,
        receipt_hashes=["h"] * sum(votes),
    )


def test_published_poll_results_withhold_small_answers_and_their_complement() -> None:
    # 9 ballots, 7 and 2: showing the 7 and the total would give the 2 away.
    small = poll_service.published(_results([7, 2]))
    assert [o.votes for o in small.options] == [None, None]
    assert [o.weight for o in small.options] == [None, None]
    assert small.ballots == 9
    assert small.winner_option_id == 0  # the decision itself stays public
    tiny = poll_service.published(_results([2, 1]))
    assert (tiny.ballots, tiny.turnout_pct, tiny.weight, tiny.receipt_hashes) == (
        None,
        None,
        None,
        [],
    )
    big = poll_service.published(_results([7, 6, 0]))
    assert [o.votes for o in big.options] == [7, 6, 0]
    assert big.ballots == 13


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_public_poll_page_shows_fewer_than_5_ballots_as_withheld(
    db: Session, world: World, client: TestClient
) -> None:
    poll = make_poll(db, world, public_results=True)
    yes, _no = option_ids(db, poll.id)
    for who in ("alice", "bob"):  # a small electorate: two ballots
        poll_service.vote(db, actor(db, world, who), poll.id, yes)
    poll_service.close_poll(db, actor(db, world, "staff1"), poll.id)
    db.commit()
    anonymous = client.get(f"/polls/{poll.id}/results", headers={"Accept-Language": "en"})
    assert anonymous.status_code == 200
    assert "&lt;5" in anonymous.text
    assert "fewer than 5" in anonymous.text
    assert "2 of" not in anonymous.text
    # The electorate itself (a voter, logged in) gets the full count.
    alice = client.get(f"/api/v1/polls/{poll.id}/results", headers=bearer(world, "alice"))
    assert alice.status_code == 200
    assert alice.json()["ballots"] == 2


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_household_devices_are_never_published(
    db: Session, world: World, client: TestClient
) -> None:
    admin = actor(db, world, "admin1")
    device_service.ensure_catalog(db)
    made = {}
    for code in ("wearable", "electricity_meter", "air_quality"):
        device = device_service.register(
            db,
            admin,
            DeviceCreate(
                uid=f"od-{code}",
                name=f"{code} at 101",
                place_id=world.places["c1-b1u1"],
                profile=code,
                is_public=True,
            ),
        )
        made[code] = device.id
    db.commit()
    # All three claim to be public; only the community's air station is published.
    rows = db.execute(select(Device.id, Device.is_public).where(Device.id.in_(made.values())))
    assert all(public for _id, public in rows)
    things = client.get("/sta/v1.1/Things?$top=100")
    assert things.status_code == 200
    names = {t["name"] for t in things.json()["value"]}
    assert "air_quality at 101" in names
    assert "wearable at 101" not in names
    assert "electricity_meter at 101" not in names
    # Another resident sees no more than an anonymous visitor.
    bob = client.get("/sta/v1.1/Things?$top=100", headers=bearer(world, "bob"))
    assert {t["name"] for t in bob.json()["value"]} == names
    # A household's own series are its own: another resident cannot read them.
    db.execute(update(Device).where(Device.id == made["wearable"]).values(is_public=False))
    db.commit()
    for who in (None, "bob"):
        headers = bearer(world, who) if who else {}
        one = client.get(f"/sta/v1.1/Things({made['wearable']})", headers=headers)
        assert one.status_code == 404
    statement = client.get(
        f"/api/v1/points/households/{world.households['h1']}/statement",
        headers=bearer(world, "bob"),
    )
    assert statement.status_code in (403, 404)
    assert client.get("/api/v1/me/waste/disposals").status_code == 401
