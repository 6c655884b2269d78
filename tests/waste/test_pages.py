"""Waste pages: the console, the route on the site plan and the driver's sheet, the inspector's
phone page grading with one tap (points follow), rates, flagged disposals, and My sorting."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.conftest import World, bearer, csrf_of
from tests.waste.helpers import NOW, balances, event, make_site

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@pytest.fixture(autouse=True)
def _clock() -> Iterator[None]:
    """A fixed day: the events' times, the 7-day and future limits and the 24-hour list."""
    with time_machine.travel(NOW, tick=True):
        yield


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    client: TestClient = make_client(who)  # type: ignore[operator]  # the fixture's factory
    client.cookies.set("linli_lang", lang)
    return client


def test_console_plan_sheet_rates_and_fraud_pages(
    make_client: object, client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    staff = bearer(world, "staff1")
    for key, level in (("smart", 90), ("far", 82), ("near", 30)):
        client.post(
            "/api/v1/waste/status",
            json={"bin_id": site.bins[key], "fill_level": level},
            headers=staff,
        )
    client.post(
        "/api/v1/waste/disposals",
        json={"items": [event("p1", "h1", 0, weight=99, bin_id=site.bins["near"])]},
        headers=staff,
    )
    c = _client(make_client, "pm1")
    home = c.get("/console/waste")
    assert home.status_code == 200
    assert "2 of 3 bins are at or above their fill threshold." in home.text
    page = c.get("/console/waste/plan")
    assert "There is no collection plan yet." in page.text
    r = c.post(
        "/console/waste/plan",
        data={"csrf_token": csrf_of(page.text), "community": str(world.places["c1"])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    page = c.get(r.headers["location"])
    assert "A new collection plan has been made." in page.text
    assert "<polyline" in page.text
    assert "SMART smart bin" in page.text
    assert "FAR far bin" in page.text
    assert "NEAR near bin ·" not in page.text  # below its threshold: not a stop
    sheet_link = page.text.split('href="/console/waste/plans/')[1].split('"')[0]
    sheet = c.get(f"/console/waste/plans/{sheet_link}".replace("&amp;", "&"))
    assert sheet.status_code == 200
    assert "Stops in order" in sheet.text
    assert sheet.text.index(">SMART<") < sheet.text.index(">FAR<")  # nearer the depot first
    rates = c.get("/console/waste/rates?start=2026-11-30&end=2026-11-30")
    assert rates.status_code == 200
    assert "data-waste-trend=" in rates.text
    assert "<script>" not in rates.text  # charts take their data from an attribute (CSP)
    bad = c.get("/console/waste/rates?start=2026-12-30&end=2026-11-30")
    assert bad.status_code == 422
    fraud = c.get("/console/waste/fraud")
    assert "Heavier than the bin takes at once" in fraud.text
    zh = _client(make_client, "staff1", "zh_Hans_CN").get("/console/waste/fraud")
    assert "垃圾" in zh.text
    # A resident and another community's staff see none of it.
    assert _client(make_client, "bob").get("/console/waste").status_code == 403
    other = _client(make_client, "staff2").get(f"/console/waste?community={world.places['c1']}")
    assert other.status_code == 404
    sheet_path = f"/console/waste/plans/{sheet_link.split('/')[0]}/sheet"
    assert _client(make_client, "staff2").get(sheet_path).status_code == 404
    assert _client(make_client, "auditor1").get(sheet_path).status_code == 200
    assert _client(make_client, None).get("/console/waste", follow_redirects=False).status_code in (
        303,
        401,
    )


def test_inspector_grades_with_one_tap_and_the_household_earns_points(
    make_client: object, client: TestClient, world: World, db: Session
) -> None:
    site = make_site(db, world)
    r = client.post(
        "/api/v1/waste/disposals",
        json={"items": [event("g1", "h1", 0), event("g2", "h2", 1)]},
        headers={"Authorization": f"Bearer {site.token}"},
    )
    assert r.json()["accepted"] == 2
    grid = _client(make_client, "grid1")
    pick = grid.get("/console/sorting-check")
    assert pick.status_code == 200
    assert f'href="/console/sorting-check?bin={site.bins["smart"]}"' in pick.text
    listed = grid.get(f"/console/sorting-check?bin={site.bins['smart']}")
    assert listed.text.count('value="correct"') == 2
    ids = [int(x.split('"')[0]) for x in listed.text.split('action="/console/sorting-check/')[1:]]
    before = balances(db, world)
    token = csrf_of(listed.text)
    r = grid.post(
        f"/console/sorting-check/{ids[0]}",
        data={"csrf_token": token, "result": "correct", "bin": str(site.bins["smart"])},
        follow_redirects=False,
    )
    assert r.status_code == 303
    again = grid.get(r.headers["location"])
    assert "Saved: Sorted correctly." in again.text
    r = grid.post(
        f"/console/sorting-check/{ids[1]}",
        data={"csrf_token": token, "result": "incorrect", "reason": "Wrong bin"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    after = balances(db, world)
    assert sum(after.values()) - sum(before.values()) == 2
    # Grading twice is refused; a resident cannot grade at all.
    r = grid.post(
        f"/console/sorting-check/{ids[0]}", data={"csrf_token": token, "result": "correct"}
    )
    assert r.status_code == 409
    alice = _client(make_client, "alice")
    assert alice.get("/console/sorting-check").status_code == 403
    mine = alice.get("/me/sorting")
    assert mine.status_code == 200
    assert "0001" in mine.text  # the card's last characters, never the whole number
    assert "CARD-H1-0001" not in mine.text
    assert grid.get("/me/sorting").status_code == 403
