"""The rule API: templates, making rules from each, changes, export, backtests, and who may."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.rule.models import Rule
from linli.rule.schemas import RuleFile
from linli.rule.templates import TEMPLATES
from tests.conftest import World, bearer
from tests.rule.seed import MIN, PM25_EPISODE, device, recent, store


@pytest.fixture
def catalog(db: Session) -> None:
    device_service.ensure_catalog(db)
    db.commit()


def _rule_count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Rule)) or 0)


def _make(client: TestClient, world: World, who: str = "staff1", **body: Any) -> dict[str, Any]:
    payload = {"template": "pm25_high", "place_id": world.places["c1"], **body}
    r = client.post("/api/v1/rules", json=payload, headers=bearer(world, who))
    assert r.status_code == 201, r.text
    reply: dict[str, Any] = r.json()
    return reply


def test_templates_are_listed_with_their_defaults(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/rule-templates", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    by_code = {t["code"]: t for t in r.json()}
    assert set(by_code) == {t.code for t in TEMPLATES}
    noise = by_code["noise_class_1"]
    assert noise["kind"] == "schedule"
    assert [w["value"] for w in noise["params"]["windows"]] == [55, 45]
    zh = client.get(
        "/api/v1/rule-templates",
        headers={**bearer(world, "staff1"), "Accept-Language": "zh-CN"},
    )
    assert {t["code"]: t["name"] for t in zh.json()}["smoke"] != "Smoke detected"


def test_a_rule_from_every_template(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    for template in TEMPLATES:
        body: dict[str, Any] = {"template": template.code, "place_id": world.places["c1-b1"]}
        if template.choices:
            body["property_key"] = template.choices[0]
        r = client.post("/api/v1/rules", json=body, headers=bearer(world, "staff1"))
        assert r.status_code == 201, (template.code, r.text)
        made = r.json()
        assert made["kind"] == template.kind
        assert made["params"] == template.params
        assert made["severity"] == template.severity
        assert made["enabled"] is False
        expected = "" if template.kind == "combination" else body.get("property_key")
        assert made["property_key"] == (expected if expected is not None else template.property_key)
        stored = db.get(Rule, made["id"])
        assert stored is not None
        assert stored.template == template.code
    assert _rule_count(db) == len(TEMPLATES)
    listed = client.get("/api/v1/rules?size=5", headers=bearer(world, "staff1")).json()
    assert listed["total"] == len(TEMPLATES)
    assert len(listed["items"]) == 5
    assert client.get("/api/v1/rules", headers=bearer(world, "staff2")).json()["total"] == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"params": {"value": 75, "clear_value": 80}}, "clear_value"),
        ({"params": {"value": "lots"}}, "'value'"),
        ({"params": {"for_min": -5}}, "for_min"),
        ({"template": "noise_class_1", "params": {"windows": []}}, "window"),
        (
            {
                "template": "noise_class_1",
                "params": {"windows": [{"start": "25:00", "end": "06:00", "value": 45}]},
            },
            "HH:MM",
        ),
        (
            {
                "template": "flood_pump_off",
                "params": {"conditions": [{"property": "water_level", "op": ">", "value": 30}]},
            },
            "two conditions",
        ),
        (
            {
                "template": "flood_pump_off",
                "params": {
                    "conditions": [
                        {"property": "water_level", "op": ">", "value": 30},
                        {"property": "no_such_thing", "op": "<", "value": 1},
                    ]
                },
            },
            "no_such_thing",
        ),
        (
            {"template": "unusual_reading", "property_key": "pm25", "params": {"sensitivity": 2}},
            "sensitivity",
        ),
        ({"template": "pressure_jump", "params": {"direction": "sideways"}}, "direction"),
        ({"template": "stuck_sensor"}, ""),
        ({"template": "no_such_template"}, "no_such_template"),
        ({"property_key": "unicorns"}, "unicorns"),
        ({"profile_code": "teapot"}, "teapot"),
    ],
)
def test_bad_parameters_are_refused_and_nothing_is_stored(
    client: TestClient,
    world: World,
    db: Session,
    catalog: None,
    body: dict[str, Any],
    words: str,
) -> None:
    payload = {"template": "pm25_high", "place_id": world.places["c1"], **body}
    headers = {**bearer(world, "staff1"), "Accept-Language": "en"}
    r = client.post("/api/v1/rules", json=payload, headers=headers)
    assert r.status_code == 422, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    detail = r.json()["detail"]
    assert detail
    assert words in detail, detail
    assert _rule_count(db) == 0


def test_malformed_bodies_are_422(client: TestClient, world: World, catalog: None) -> None:
    headers = bearer(world, "staff1")
    for body in (
        {},
        {"template": "pm25_high"},
        {"template": "pm25_high", "place_id": True},
        {"template": "pm25_high", "place_id": 1, "severity": "apocalyptic"},
        {"template": "pm25_high", "place_id": 1, "escalate_after_min": 0},
        {"template": "pm25_high", "place_id": 1, "params": [1, 2]},
        {"template": "pm25_high", "place_id": 1, "name": "a\x00b"},
    ):
        r = client.post("/api/v1/rules", json=body, headers=headers)
        assert r.status_code == 422, (body, r.text)


def test_patch_changes_a_rule_and_refuses_bad_parameters(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    made = _make(client, world)
    url = f"/api/v1/rules/{made['id']}"
    headers = bearer(world, "staff1")
    new_params = {"op": ">", "value": 115, "clear_value": 100, "for_min": 60}
    r = client.patch(
        url,
        json={"name": "PM2.5 grade III", "params": new_params, "severity": "critical"},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["params"] == new_params
    assert r.json()["name"] == "PM2.5 grade III"
    assert r.json()["severity"] == "critical"
    r = client.patch(url, json={"enabled": True}, headers=headers)
    assert r.json()["enabled"] is True
    bad = client.patch(url, json={"params": {"op": "~", "value": 1}}, headers=headers)
    assert bad.status_code == 422
    assert "op" in bad.json()["detail"]
    assert client.patch(url, json={"severity": "meh"}, headers=headers).status_code == 422
    assert client.patch(url, json={"name": ""}, headers=headers).status_code == 422
    db.expire_all()
    stored = db.get(Rule, made["id"])
    assert stored is not None
    assert stored.params == new_params
    assert stored.enabled is True
    assert stored.name == "PM2.5 grade III"


def test_delete_removes_the_rule(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    made = _make(client, world)
    url = f"/api/v1/rules/{made['id']}"
    headers = bearer(world, "staff1")
    r = client.delete(url, headers=headers)
    assert r.status_code == 204
    assert r.content == b""
    assert client.get(url, headers=headers).status_code == 404
    assert client.delete(url, headers=headers).status_code == 404
    assert _rule_count(db) == 0


def test_export_is_a_rule_file_download(client: TestClient, world: World, catalog: None) -> None:
    made = _make(client, world, template="noise_class_1", profile_code="noise")
    r = client.get(f"/api/v1/rules/{made['id']}/export", headers=bearer(world, "staff1"))
    assert r.status_code == 200
    assert r.headers["content-disposition"] == f'attachment; filename="rule-{made["id"]}.json"'
    spec = RuleFile.model_validate(r.json())
    assert spec.format == "linli-rule/1"
    assert spec.kind == "schedule"
    assert spec.property_key == "noise"
    assert spec.params == made["params"]
    assert spec.interval_s == 60  # the noise monitor's reporting interval


def test_backtest_on_stored_readings(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    streams = device(db, world, uid="AQ-R1", profile="air_quality", place="c1-b1")
    readings = recent(PM25_EPISODE)
    store(db, streams["pm25"], readings)
    made = _make(client, world)
    url = f"/api/v1/rules/{made['id']}/backtest"
    headers = bearer(world, "staff1")
    r = client.post(url, json={"datastream_id": streams["pm25"], "days": 2}, headers=headers)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rows"] == len(PM25_EPISODE)
    assert len(result["alarms"]) == 1
    alarm = result["alarms"][0]
    # Above 75 from the 7th reading; raised 30 minutes later; cleared by the 13th reading.
    assert alarm["started_ms"] == readings[6][0]
    assert alarm["raised_ms"] == readings[6][0] + 30 * MIN
    assert alarm["ended_ms"] == readings[12][0]
    assert alarm["peak"] == 100.0
    # The rule stays as it was: off, and no alarm was stored.
    assert client.get(f"/api/v1/rules/{made['id']}", headers=headers).json()["enabled"] is False
    # Only the datastreams the rule watches, and a sensible number of days.
    other = client.post(
        url, json={"datastream_id": streams["temperature"], "days": 2}, headers=headers
    )
    assert other.status_code == 422
    for days in (0, 367, "x"):
        r = client.post(url, json={"datastream_id": streams["pm25"], "days": days}, headers=headers)
        assert r.status_code == 422
    assert (
        client.post(url, json={"datastream_id": 999999, "days": 2}, headers=headers).status_code
        == 404
    )


def test_backtest_of_a_combination_feeds_one_building_together(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    gauge = device(db, world, uid="WL-R1", profile="water_level", place="c1-b1")
    pump = device(db, world, uid="PUMP-R1", profile="pump_controller", place="c1-b1")
    store(db, gauge["water_level"], recent([10, 35, 40, 38, 12, 10]))
    store(db, pump["pump_running"], recent([1, 1, 0, 0, 0, 1], hours_ago=24))
    made = _make(client, world, template="flood_pump_off", place_id=world.places["c1"])
    r = client.post(
        f"/api/v1/rules/{made['id']}/backtest",
        json={"datastream_id": gauge["water_level"], "days": 2},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rows"] == 12
    # Water above 30 cm while the pump is off: from the third pair of readings to the fifth.
    assert len(result["alarms"]) == 1
    start = recent([0, 0, 0])[2][0]
    assert result["alarms"][0]["started_ms"] == start
    assert result["alarms"][0]["ended_ms"] == start + 20 * MIN


def _upload(client: TestClient, world: World, rule: bytes, data: bytes, who: str = "staff1") -> Any:
    return client.post(
        "/api/v1/rules/backtest",
        files={
            "rule": ("rule.json", rule, "application/json"),
            "data": ("data.csv", data, "text/csv"),
        },
        headers={**bearer(world, who), "Accept-Language": "en"},
    )


RULE_FILE = json.dumps(
    {
        "format": "linli-rule/1",
        "name": "Standing water",
        "kind": "threshold",
        "property_key": "water_level",
        "params": {"op": ">", "value": 20, "clear_value": 15, "for_min": 0},
        "severity": "critical",
    }
).encode()
CSV = b"""timestamp,value
2026-07-01T08:00:00,5
2026-07-01T08:10:00,22
2026-07-01T08:20:00,25
2026-07-01T08:30:00,18
2026-07-01T08:40:00,14
"""


def test_backtest_of_an_uploaded_file(client: TestClient, world: World) -> None:
    r = _upload(client, world, RULE_FILE, CSV)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["rule"] == "Standing water"
    assert result["rows"] == 5
    assert [(a["started_at"], a["ended_at"], a["peak"]) for a in result["alarms"]] == [
        ("2026-07-01T00:10:00Z", "2026-07-01T00:40:00Z", 25.0)
    ]
    # A BOM and epoch seconds are fine too.
    epoch = b"\xef\xbb\xbf1782892800,30\n1782893400,10\n"
    assert len(_upload(client, world, RULE_FILE, epoch).json()["alarms"]) == 1


@pytest.mark.parametrize(
    ("rule", "data", "words"),
    [
        (RULE_FILE, CSV.replace(b"08:20:00,25", b"08:20:00,lots"), "Line 4"),
        (RULE_FILE, CSV.replace(b"2026-07-01T08:30:00", b"yesterday"), "Line 5"),
        (RULE_FILE, CSV + b"2026-07-01T08:50:00\n", "Line 7"),
        (RULE_FILE, b"\xff\xfe\x00bad", "UTF-8"),
        (b"{not json", CSV, "rule file"),
        (RULE_FILE.replace(b'"threshold"', b'"magic"'), CSV, "kind"),
        (RULE_FILE.replace(b'"clear_value": 15', b'"clear_value": 25'), CSV, "clear_value"),
        (b" " * (64 * 1024 + 10), CSV, "KB"),
    ],
)
def test_bad_uploads_are_422_naming_the_problem(
    client: TestClient, world: World, rule: bytes, data: bytes, words: str
) -> None:
    r = _upload(client, world, rule, data)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"], r.json()


def test_an_upload_without_files_is_422(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/rules/backtest", data={"timezone": "UTC"}, headers=bearer(world, "staff1")
    )
    assert r.status_code == 422


# --- who may ---------------------------------------------------------------------------------


def _routes(rule_id: int) -> list[tuple[str, str, dict[str, Any] | None]]:
    return [
        ("GET", "/api/v1/rule-templates", None),
        ("GET", "/api/v1/rules", None),
        ("POST", "/api/v1/rules", {"template": "pm25_high", "place_id": 1}),
        ("GET", f"/api/v1/rules/{rule_id}", None),
        ("PATCH", f"/api/v1/rules/{rule_id}", {"name": "x"}),
        ("DELETE", f"/api/v1/rules/{rule_id}", None),
        ("GET", f"/api/v1/rules/{rule_id}/export", None),
        ("POST", f"/api/v1/rules/{rule_id}/backtest", {"datastream_id": 1, "days": 1}),
        ("POST", "/api/v1/rules/backtest", None),
    ]


def test_anonymous_gets_401_everywhere(client: TestClient, world: World, catalog: None) -> None:
    made = _make(client, world)
    for method, url, body in _routes(made["id"]):
        r = client.request(method, url, json=body)
        assert r.status_code == 401, (method, url, r.text)


def test_residents_see_and_change_nothing(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    made = _make(client, world)
    alice = bearer(world, "alice")
    assert client.get("/api/v1/rule-templates", headers=alice).status_code == 403
    assert client.get("/api/v1/rules", headers=alice).status_code == 403
    r = client.post(
        "/api/v1/rules",
        json={"template": "pm25_high", "place_id": world.places["c1"]},
        headers=alice,
    )
    assert r.status_code == 403
    for method, url, body in _routes(made["id"])[3:8]:
        r = client.request(method, url, json=body, headers=alice)
        assert r.status_code == 404, (method, url, r.status_code)
    assert _upload(client, world, RULE_FILE, CSV, who="alice").status_code == 403
    assert _rule_count(db) == 1


def test_staff_of_another_community_cannot_see_or_touch_c1_rules(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    streams = device(db, world, uid="AQ-R2", profile="air_quality", place="c1-b1")
    made = _make(client, world)
    staff2 = bearer(world, "staff2")
    for method, url, body in _routes(made["id"])[3:8]:
        if url.endswith("/backtest"):
            body = {"datastream_id": streams["pm25"], "days": 1}
        r = client.request(method, url, json=body, headers=staff2)
        assert r.status_code == 404, (method, url, r.status_code)
        assert "PM2.5" not in r.text
    r = client.post(
        "/api/v1/rules",
        json={"template": "pm25_high", "place_id": world.places["c1"]},
        headers=staff2,
    )
    assert r.status_code == 403
    assert [r["id"] for r in client.get("/api/v1/rules", headers=staff2).json()["items"]] == []
    # Their own community is theirs to manage.
    _make(client, world, who="staff2", place_id=world.places["c2"])
    db.expire_all()
    stored = db.get(Rule, made["id"])
    assert stored is not None
    assert stored.name == made["name"]
    assert _rule_count(db) == 2


def test_auditor_and_grid_worker_read_but_change_nothing(
    client: TestClient, world: World, db: Session, catalog: None
) -> None:
    made = _make(client, world)
    for who in ("auditor1", "grid1"):
        headers = bearer(world, who)
        assert client.get("/api/v1/rules", headers=headers).json()["total"] == 1
        assert client.get(f"/api/v1/rules/{made['id']}", headers=headers).status_code == 200
        assert client.get(f"/api/v1/rules/{made['id']}/export", headers=headers).status_code == 200
        r = client.post(
            "/api/v1/rules",
            json={"template": "pm25_high", "place_id": world.places["c1"]},
            headers=headers,
        )
        assert r.status_code == 403
        r = client.patch(f"/api/v1/rules/{made['id']}", json={"enabled": True}, headers=headers)
        assert r.status_code == 403
        assert client.delete(f"/api/v1/rules/{made['id']}", headers=headers).status_code == 403
    db.expire_all()
    stored = db.get(Rule, made["id"])
    assert stored is not None
    assert stored.enabled is False
    assert _rule_count(db) == 1


def test_district_admin_manages_rules_in_every_community(
    client: TestClient, world: World, catalog: None
) -> None:
    a = _make(client, world, who="district", place_id=world.places["c1"])
    b = _make(client, world, who="district", place_id=world.places["c2"])
    listed = client.get("/api/v1/rules", headers=bearer(world, "district")).json()
    assert {r["id"] for r in listed["items"]} == {a["id"], b["id"]}
    assert client.get("/api/v1/rules", headers=bearer(world, "staff1")).json()["total"] == 1


def test_parameter_problems_are_explained_in_chinese_too(
    client: TestClient, world: World, catalog: None
) -> None:
    payload = {
        "template": "pm25_high",
        "place_id": world.places["c1"],
        "params": {"value": 75, "clear_value": 80},
    }
    headers = {**bearer(world, "staff1"), "Accept-Language": "zh-CN"}
    r = client.post("/api/v1/rules", json=payload, headers=headers)
    assert r.status_code == 422, r.text
    assert "解除值必须位于阈值的正常一侧" in r.json()["detail"]
