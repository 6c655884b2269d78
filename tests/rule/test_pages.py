"""Console pages of rules: the list, the two steps of a new rule, a rule's page with its
backtest, changes, switching and deleting, in both languages, and who may see and do what."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.rule import service as rule_service
from linli.rule.models import Rule
from linli.rule.schemas import RuleCreate
from linli.rule.templates import TEMPLATES
from tests.conftest import World, csrf_of
from tests.rule.seed import PM25_EPISODE, actor_of, device, recent, store


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    factory = make_client
    assert callable(factory)
    client = factory(who)
    assert isinstance(client, TestClient)
    client.cookies.set("linli_lang", lang)
    return client


@pytest.fixture
def rule_id(db: Session, world: World) -> int:
    """A PM2.5 rule of community c1, switched off."""
    device_service.ensure_catalog(db)
    rule = rule_service.create(
        db,
        actor_of(db, world),
        RuleCreate(template="pm25_high", place_id=world.places["c1"], name="PM2.5 too high"),
    )
    db.commit()
    return rule.id


def _rules(db: Session) -> list[Rule]:
    db.expire_all()
    return list(db.scalars(select(Rule).order_by(Rule.id)))


def test_anonymous_is_sent_to_login(make_client: object, rule_id: int) -> None:
    c = _client(make_client, None)
    for url in ("/console/rules", "/console/rules/new", f"/console/rules/{rule_id}"):
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/login")


def test_residents_and_other_communities_are_refused(make_client: object, rule_id: int) -> None:
    alice = _client(make_client, "alice")
    assert alice.get("/console/rules").status_code == 403
    assert alice.get("/console/rules/new").status_code == 403
    assert alice.get(f"/console/rules/{rule_id}").status_code == 403
    assert 'href="/console/rules"' not in alice.get("/me").text
    staff2 = _client(make_client, "staff2")
    assert "PM2.5 too high" not in staff2.get("/console/rules").text
    assert staff2.get(f"/console/rules/{rule_id}").status_code == 404
    token = csrf_of(staff2.get("/console/rules").text)
    for path in ("", "/switch", "/delete"):
        r = staff2.post(
            f"/console/rules/{rule_id}{path}",
            data={"csrf_token": token, "enabled": "1", "name": "x"},
            follow_redirects=False,
        )
        assert r.status_code == 404, path
    auditor = _client(make_client, "auditor1")
    page = auditor.get(f"/console/rules/{rule_id}")
    assert page.status_code == 200
    assert "Switch the rule on" not in page.text
    assert "Save the changes" not in page.text
    assert auditor.get("/console/rules/new").status_code == 403


def test_list_in_both_languages(make_client: object, rule_id: int) -> None:
    en = _client(make_client, "staff1")
    page = en.get("/console/rules")
    assert page.status_code == 200
    assert 'href="/console/rules"' in page.text  # the navigation entry
    assert f'href="/console/rules/{rule_id}"' in page.text
    assert "PM2.5 too high" in page.text
    assert "Limit" in page.text
    assert "Major" in page.text
    assert "Off" in page.text
    assert 'href="/console/rules/new"' in page.text
    zh = _client(make_client, "staff1", lang="zh_Hans_CN")
    page = zh.get("/console/rules")
    assert "规则" in page.text
    assert "重要" in page.text
    assert "新建规则" in page.text
    grid = _client(make_client, "grid1")
    assert 'href="/console/rules/new"' not in grid.get("/console/rules").text


def test_new_rule_step_one_offers_every_template(make_client: object) -> None:
    for lang, word in (("en", "Standing water"), ("zh_Hans_CN", "积水")):
        c = _client(make_client, "staff1", lang=lang)
        page = c.get("/console/rules/new")
        assert page.status_code == 200
        for template in TEMPLATES:
            assert f'href="/console/rules/new?template={template.code}"' in page.text
        assert word in page.text
    c = _client(make_client, "staff1")
    assert c.get("/console/rules/new?template=nonsense").status_code == 404


@pytest.mark.parametrize(
    ("template", "fields"),
    [
        ("pm25_high", ["p_op", "p_value", "p_clear_value", "p_for_min", "p_clear_for_min"]),
        ("noise_class_1", ["p_clear_margin", "w0_start", "w1_end", "w2_days", "w3_value"]),
        ("pressure_jump", ["p_max_change", "p_within_min", "p_direction"]),
        ("stuck_sensor", ["p_for_min", "p_tolerance", "property_key"]),
        ("device_silent", ["p_intervals"]),
        ("unusual_reading", ["p_sensitivity"]),
        ("flood_pump_off", ["p_scope", "p_max_age_min", "c0_property", "c1_op", "c2_value"]),
    ],
)
def test_step_two_has_labelled_fields_for_the_kind(
    make_client: object, world: World, template: str, fields: list[str]
) -> None:

    c = _client(make_client, "staff1")
    page = c.get(f"/console/rules/new?template={template}")
    assert page.status_code == 200
    for name in [*fields, "name", "place_id", "profile_code", "severity", "escalate_after_min"]:
        assert f'name="{name}"' in page.text, name
        assert f'<label for="f-{name}">' in page.text, name
    assert f'<option value="{world.places["c1-b1"]}"' in page.text
    assert f'<option value="{world.places["c2"]}"' not in page.text


def _form(page: str, **fields: str) -> dict[str, str]:
    return {"csrf_token": csrf_of(page), **fields}


THRESHOLD = {
    "template": "pm25_high",
    "name": "东门 PM2.5",
    "property_key": "pm25",
    "profile_code": "air_quality",
    "severity": "critical",
    "escalate_after_min": "20",
    "p_op": ">",
    "p_value": "115",
    "p_clear_value": "100",
    "p_for_min": "60",
    "p_clear_for_min": "10",
}


def test_making_a_rule_through_the_form(make_client: object, world: World, db: Session) -> None:
    device_service.ensure_catalog(db)
    db.commit()
    c = _client(make_client, "staff1")
    page = c.get("/console/rules/new?template=pm25_high").text
    data = _form(page, **THRESHOLD, place_id=str(world.places["c1-b1"]))
    r = c.post("/console/rules/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    (rule,) = _rules(db)
    assert r.headers["location"] == f"/console/rules/{rule.id}?done=created"
    assert rule.name == "东门 PM2.5"
    assert rule.place_id == world.places["c1-b1"]
    assert rule.profile_code == "air_quality"
    assert rule.params == {
        "op": ">",
        "value": 115,
        "clear_value": 100,
        "for_min": 60,
        "clear_for_min": 10,
    }
    assert rule.severity == "critical"
    assert rule.escalate_after_min == 20
    assert rule.enabled is False
    shown = c.get(r.headers["location"])
    assert "The rule was made" in shown.text
    assert "Air quality station" in shown.text


def test_a_schedule_and_a_combination_through_the_form(
    make_client: object, world: World, db: Session
) -> None:
    device_service.ensure_catalog(db)
    db.commit()
    c = _client(make_client, "admin1")
    page = c.get("/console/rules/new?template=noise_class_1").text
    data = _form(
        page,
        template="noise_class_1",
        name="Quiet hours",
        place_id=str(world.places["c1"]),
        property_key="noise",
        severity="minor",
        escalate_after_min="15",
        enabled="1",
        p_op=">",
        p_for_min="5",
        p_clear_margin="3",
        w0_start="06:00",
        w0_end="22:00",
        w0_days="workday",
        w0_value="55",
        w1_start="",
        w1_end="",
        w1_days="all",
        w1_value="",
        w2_start="22:00",
        w2_end="06:00",
        w2_days="all",
        w2_value="45",
        w2_label="night",
    )
    r = c.post("/console/rules/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get("/console/rules/new?template=flood_pump_off").text
    data = _form(
        page,
        template="flood_pump_off",
        name="Basement flood",
        place_id=str(world.places["c1"]),
        severity="critical",
        escalate_after_min="5",
        p_scope="unit",
        p_max_age_min="15",
        p_for_min="0",
        c0_property="water_level",
        c0_op=">=",
        c0_value="25",
        c1_property="pump_running",
        c1_op="<",
        c1_value="0.5",
        c2_property="",
        c2_op=">",
        c2_value="",
    )
    r = c.post("/console/rules/new", data=data, follow_redirects=False)
    assert r.status_code == 303, r.text
    schedule, combination = _rules(db)
    assert schedule.enabled is True
    assert schedule.params["windows"] == [
        {"start": "06:00", "end": "22:00", "days": "workday", "value": 55},
        {"start": "22:00", "end": "06:00", "days": "all", "value": 45, "label": "night"},
    ]
    assert schedule.params["clear_margin"] == 3
    assert combination.property_key == ""
    assert combination.params["scope"] == "unit"
    assert combination.params["conditions"] == [
        {"property": "water_level", "op": ">=", "value": 25},
        {"property": "pump_running", "op": "<", "value": 0.5},
    ]


@pytest.mark.parametrize("lang", ["en", "zh_Hans_CN"])
def test_a_bad_value_keeps_the_form_with_the_error_next_to_the_field(
    make_client: object, world: World, db: Session, lang: str
) -> None:
    device_service.ensure_catalog(db)
    db.commit()
    c = _client(make_client, "staff1", lang=lang)
    page = c.get("/console/rules/new?template=pm25_high").text
    data = _form(
        page,
        **{**THRESHOLD, "p_value": "lots", "p_for_min": "-3", "escalate_after_min": "0"},
        place_id="999999",
    )
    r = c.post("/console/rules/new", data=data)
    assert r.status_code == 422
    text = r.text
    for field in ("p_value", "p_for_min", "place_id", "escalate_after_min"):
        assert f'id="f-{field}-error"' in text, field
        assert f'aria-describedby="f-{field}-error"' in text or f'f-{field}-error"' in text
    assert 'value="lots"' in text
    assert 'value="-3"' in text
    assert 'value="东门 PM2.5"' in text
    assert 'value="100"' in text  # the all-clear value as typed
    if lang == "en":
        assert "Enter a number, for example 75 or 2.5." in text
    else:
        assert "请输入数字" in text
    # The all-clear value on the wrong side of the limit (hysteresis) is named too.
    data = _form(page, **{**THRESHOLD, "p_clear_value": "130"}, place_id=str(world.places["c1"]))
    r = c.post("/console/rules/new", data=data)
    assert r.status_code == 422
    assert 'id="f-p_clear_value-error"' in r.text
    # A schedule with a bad time and no valid window.
    page = c.get("/console/rules/new?template=noise_class_1").text
    data = _form(
        page,
        template="noise_class_1",
        name="n",
        place_id=str(world.places["c1"]),
        property_key="noise",
        severity="minor",
        escalate_after_min="15",
        p_op=">",
        p_for_min="10",
        p_clear_margin="2",
        w0_start="7 am",
        w0_end="22:00",
        w0_days="all",
        w0_value="55",
    )
    r = c.post("/console/rules/new", data=data)
    assert r.status_code == 422
    assert 'id="f-w0_start-error"' in r.text
    assert 'value="7 am"' in r.text
    assert _rules(db) == []


def test_backtest_on_the_rule_page(
    make_client: object, world: World, db: Session, rule_id: int
) -> None:
    streams = device(db, world, uid="AQ-P1", profile="air_quality", place="c1-b1")
    store(db, streams["pm25"], recent(PM25_EPISODE))
    c = _client(make_client, "staff1")
    page = c.get(f"/console/rules/{rule_id}")
    assert page.status_code == 200
    assert f'<option value="{streams["pm25"]}"' in page.text
    assert f'<option value="{streams["temperature"]}"' not in page.text
    assert f'href="/api/v1/rules/{rule_id}/export"' in page.text
    shown = c.get(f"/console/rules/{rule_id}?datastream_id={streams['pm25']}&days=2")
    assert shown.status_code == 200
    assert "It would have raised 1 alarm over 18 readings." in shown.text
    assert "100.0" in shown.text
    zh = _client(make_client, "staff1", lang="zh_Hans_CN")
    shown = zh.get(f"/console/rules/{rule_id}?datastream_id={streams['pm25']}&days=2")
    assert "会产生 1 条告警" in shown.text
    bad = c.get(f"/console/rules/{rule_id}?datastream_id={streams['temperature']}&days=999")
    assert bad.status_code == 422
    assert 'id="f-datastream_id-error"' in bad.text
    assert 'id="f-days-error"' in bad.text
    assert 'value="999"' in bad.text
    export = c.get(f"/api/v1/rules/{rule_id}/export")
    assert export.status_code == 200
    assert export.json()["kind"] == "threshold"


def test_change_switch_and_delete(
    make_client: object, world: World, db: Session, rule_id: int
) -> None:
    c = _client(make_client, "staff1")
    page = c.get(f"/console/rules/{rule_id}").text
    base: dict[str, Any] = {
        "name": "PM2.5 (stricter)",
        "description": "",
        "severity": "minor",
        "escalate_after_min": "30",
        "p_op": ">",
        "p_value": "50",
        "p_clear_value": "45",
        "p_for_min": "15",
        "p_clear_for_min": "0",
    }
    bad = c.post(f"/console/rules/{rule_id}", data=_form(page, **{**base, "p_clear_value": "60"}))
    assert bad.status_code == 422
    assert 'id="f-p_clear_value-error"' in bad.text
    assert 'value="PM2.5 (stricter)"' in bad.text
    assert _rules(db)[0].params["value"] == 75
    r = c.post(f"/console/rules/{rule_id}", data=_form(page, **base), follow_redirects=False)
    assert r.status_code == 303
    (rule,) = _rules(db)
    assert rule.name == "PM2.5 (stricter)"
    assert rule.params == {
        "op": ">",
        "value": 50,
        "clear_value": 45,
        "for_min": 15,
        "clear_for_min": 0,
    }
    assert rule.severity == "minor"
    r = c.post(
        f"/console/rules/{rule_id}/switch",
        data=_form(page, enabled="1"),
        follow_redirects=False,
    )
    assert r.headers["location"].endswith("done=enabled")
    assert _rules(db)[0].enabled is True
    assert "Switch the rule off" in c.get(f"/console/rules/{rule_id}").text
    c.post(f"/console/rules/{rule_id}/switch", data=_form(page, enabled="0"))
    assert _rules(db)[0].enabled is False
    confirm = c.get(f"/console/rules/{rule_id}/delete")
    assert confirm.status_code == 200
    assert "cannot be brought back" in confirm.text
    assert _rules(db) != []
    r = c.post(f"/console/rules/{rule_id}/delete", data=_form(page), follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/console/rules?done=deleted"
    assert _rules(db) == []
    assert int(db.scalar(select(func.count()).select_from(Rule)) or 0) == 0
    assert c.get(f"/console/rules/{rule_id}").status_code == 404


def test_forms_need_the_csrf_token(make_client: object, rule_id: int, db: Session) -> None:
    c = _client(make_client, "staff1")
    r = c.post(f"/console/rules/{rule_id}/switch", data={"enabled": "1"})
    assert r.status_code == 403
    r = c.post(f"/console/rules/{rule_id}/delete", data={})
    assert r.status_code == 403
    assert len(_rules(db)) == 1
    assert _rules(db)[0].enabled is False
