"""The public environment page, its chart feed, the open data API and the staff settings page."""

from __future__ import annotations

import csv
import io

import pytest
import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.rule.models import Rule
from tests.conftest import World, bearer, csrf_of
from tests.environment.conftest import NOW, NOW_MS, Monitors

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    assert callable(make_client)
    client = make_client(who)
    assert isinstance(client, TestClient)
    client.cookies.set("linli_lang", lang)
    return client


def test_anyone_reads_the_public_page_in_both_languages(
    make_client: object, world: World, monitors: Monitors
) -> None:
    c1 = world.places["c1"]
    with time_machine.travel(NOW, tick=False):
        en = _client(make_client, None).get(f"/environment?place={c1}")
        zh = _client(make_client, None, "zh_Hans_CN").get(f"/environment?place={c1}")
    assert en.status_code == 200, en.text
    assert 'data-aqi-level="3"' in en.text
    assert "Lightly polluted" in en.text
    assert "Primary pollutant:" in en.text
    assert "Above the limit" in en.text  # the night level 48 dB(A) over class 1's 45
    assert "Turbidity" in en.text  # 1.3 NTU over GB 5749's 1 NTU
    assert "/environment/aqi" in en.text
    assert "/api/v1/environment/observations.csv?type=air" in en.text
    assert 'data-series-url="/environment/series/' in en.text
    assert zh.status_code == 200
    assert "轻度污染" in zh.text
    # Community figures only: no resident's name, no household, no other community's station.
    for text in (en.text, zh.text):
        assert "王小丽" not in text
        assert "Device aq-2" not in text


def test_the_chart_feed_and_the_api_answer_without_login(
    client: TestClient, world: World, monitors: Monitors
) -> None:
    c1 = world.places["c1"]
    start, end = NOW_MS - 86_400_000, NOW_MS
    feed = client.get(f"/environment/series/{c1}/pm25?start={start}&end={end}&points=1000")
    assert feed.status_code == 200
    body = feed.json()
    assert body["resolution"] == "3600"
    assert body["points"][0][1] == 80.0
    api = client.get(
        "/api/v1/environment/trends",
        params={"place": c1, "metric": "aqi", "start": start, "end": end},
    )
    assert api.status_code == 200
    assert {p[1] for p in api.json()["points"]} == {119.0}
    with time_machine.travel(NOW, tick=False):
        status = client.get("/api/v1/environment/status", params={"place": c1})
        rows = client.get(
            "/api/v1/environment/observations.csv", params={"type": "noise", "place": c1}
        )
        water = client.get(
            "/api/v1/environment/observations.json", params={"type": "water", "place": c1}
        )
    assert status.status_code == 200
    assert status.json()["current"]["aqi"] == 119
    assert status.json()["noise"][0]["ok"] is False
    assert rows.status_code == 200
    table = list(csv.reader(io.StringIO(rows.text)))
    assert table[0][:4] == ["id", "type", "dateObservedFrom", "dateObservedTo"]
    assert "LAeq_d" in table[0]
    assert table[1][1] == "NoiseLevelObserved"
    assert water.json()[0]["type"] == "WaterQualityObserved"
    # Not a community: refused; a bad metric or type: refused.
    assert client.get(f"/environment?place={world.places['c1-b1']}").status_code == 404
    assert client.get(f"/environment/series/{c1}/radon").status_code == 422
    assert client.get("/api/v1/environment/observations.json?type=people").status_code == 422


def test_staff_change_the_zone_and_the_rules_follow(
    make_client: object, world: World, monitors: Monitors, db: Session
) -> None:
    c1 = world.places["c1"]
    compound = world.places["c1-compound"]
    staff = _client(make_client, "staff1")
    page = staff.get(f"/console/environment?place={c1}")
    assert page.status_code == 200
    assert f'name="zone-{compound}"' in page.text
    assert f'name="water-{monitors.water}"' in page.text
    saved = staff.post(
        "/console/environment",
        data={
            "csrf_token": csrf_of(page.text),
            "place": str(c1),
            "aqi_standard": "",
            f"zone-{compound}": "4a",
            f"water-{monitors.water}": "lake",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303, saved.text
    rules = db.scalars(select(Rule).where(Rule.place_id == compound).order_by(Rule.id)).all()
    assert [[w["value"] for w in r.params["windows"]] for r in rules] == [[70, 55], [70]]
    again = staff.get(saved.headers["location"])
    assert "The settings were saved" in again.text
    assert 'value="4a" selected' in again.text
    bad = staff.post(
        "/console/environment",
        data={"csrf_token": csrf_of(page.text), "place": str(c1), "aqi_standard": "cn-1996"},
    )
    assert bad.status_code == 422
    assert "Choose one of the air quality standards" in bad.text


def test_residents_and_other_communities_cannot_change_settings(
    make_client: object, client: TestClient, world: World, monitors: Monitors
) -> None:
    c1 = world.places["c1"]
    anonymous = _client(make_client, None).get("/console/environment", follow_redirects=False)
    assert anonymous.status_code == 303
    assert _client(make_client, "alice").get("/console/environment").status_code == 403
    other = _client(make_client, "staff2")
    assert other.get(f"/console/environment?place={c1}").status_code == 404
    page = other.get("/console/environment")
    refused = other.post(
        "/console/environment",
        data={"csrf_token": csrf_of(page.text), "place": str(c1), "aqi_standard": "us-epa"},
    )
    assert refused.status_code == 404
    # The API key holder of another community reads the public status but changes nothing.
    assert (
        client.get(
            "/api/v1/environment/status", params={"place": c1}, headers=bearer(world, "staff2")
        ).status_code
        == 200
    )
