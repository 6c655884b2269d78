"""Environment use cases over stored readings: status, settings and noise rules, open data."""

from __future__ import annotations

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.errors import PermissionDenied, ValidationFailed
from linli.environment import service
from linli.rule.models import Rule
from tests.conftest import World
from tests.environment.conftest import NOW, NOW_MS, Monitors
from tests.notice.conftest import actor_of

# Most of these read the same stored data on either backend: SQLite is enough for them; the
# settings and their rules are written on both.
sqlite_only = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@sqlite_only
def test_status_of_a_community_from_its_own_monitors_only(
    db: Session, world: World, monitors: Monitors
) -> None:
    found = service.status(db, world.places["c1"], at_ms=NOW_MS)
    # HJ 633—2026 (data of June 2026): PM2.5 80 µg/m³ lies between 60 (IAQI 100) and 115 (150).
    hourly = found.hourly.result
    assert hourly.standard == "cn-2026"
    assert hourly.mode == "hourly"
    assert hourly.aqi == 119
    assert hourly.level == 3
    assert hourly.primary == ("pm25",)
    assert found.hourly.concentrations["pm25"] == pytest.approx(80.0)  # c2's station not mixed in
    assert found.latest.result.aqi == 119
    assert not found.latest.provisional
    # Yesterday is a whole day of data; today has only 10.5 hours (fewer than 20 valid hours).
    assert found.yesterday.result.aqi == 119
    assert found.yesterday.result.mode == "daily"
    assert found.today.result.aqi is None or "pm25" in found.today.result.missing
    [nz] = found.noise
    assert nz.compliance.zone == "1"
    assert nz.levels.ld == pytest.approx(52.0)
    assert nz.levels.ln == pytest.approx(48.0)
    assert (nz.compliance.day_exceeds, nz.compliance.night_exceeds) == (False, True)
    [wq] = found.water
    assert wq.body == "tap"
    assert [f.parameter for f in wq.failures] == ["turbidity"]  # 1.3 NTU > 1 NTU
    assert {m.uid for m in found.monitors} == {"aq-1", "nz-1", "wq-1"}


def test_staff_settings_drive_the_noise_rules_and_the_water_standard(
    db: Session, world: World, monitors: Monitors
) -> None:
    staff = actor_of(db, world, "staff1")
    c1 = world.places["c1"]
    made = service.sync_noise_rules(db, None, community_id=c1)
    assert made == 1
    rules = db.scalars(select(Rule).order_by(Rule.id)).all()
    assert len(rules) == 2
    assert all(r.enabled and r.place_id == world.places["c1-compound"] for r in rules)
    assert [w["value"] for w in rules[0].params["windows"]] == [55, 45]
    assert rules[1].params["windows"][0]["value"] == 60  # night limit + 15 dB(A)
    view = service.save_settings(
        db,
        staff,
        c1,
        aqi_standard="us-epa",
        zones={world.places["c1-compound"]: "2"},
        waters={monitors.water: "river"},
    )
    db.commit()
    assert view.aqi_option == "us-epa"
    assert view.zones[0][2] == "2"
    rules = db.scalars(select(Rule).order_by(Rule.id)).all()
    assert len(rules) == 2  # updated, not duplicated
    assert [w["value"] for w in rules[0].params["windows"]] == [60, 50]
    assert rules[1].params["windows"][0]["value"] == 65
    found = service.status(db, c1, at_ms=NOW_MS)
    assert found.hourly.result.standard == "us-epa"
    [nz] = found.noise
    assert nz.compliance.ok  # 52 / 48 dB(A) are within class 2 (60 / 50)
    [wq] = found.water
    assert wq.body == "river"
    assert wq.surface is not None
    assert wq.surface.water_class == "I"  # pH 7.2; turbidity is no GB 3838 criterion
    assert wq.ok


@sqlite_only
def test_only_the_communitys_staff_change_its_settings(
    db: Session, world: World, monitors: Monitors
) -> None:
    c1 = world.places["c1"]
    for username in ("alice", "staff2", "pm1"):
        with pytest.raises(PermissionDenied):
            service.settings_view(db, actor_of(db, world, username), c1)
    staff = actor_of(db, world, "admin1")
    with pytest.raises(ValidationFailed):
        service.save_settings(db, staff, c1, aqi_standard="cn-1996", zones={}, waters={})
    with pytest.raises(ValidationFailed):
        # A place that has no noise monitor of this community.
        service.save_settings(
            db, staff, c1, aqi_standard="", zones={world.places["c2-compound"]: "1"}, waters={}
        )


@sqlite_only
def test_open_data_uses_fiware_names_and_only_community_monitors(
    db: Session, world: World, monitors: Monitors
) -> None:
    c1 = world.places["c1"]
    with time_machine.travel(NOW, tick=False):
        air = service.observations(db, kind="air", community_id=c1, start_ms=None, end_ms=None)
        noise_rows = service.observations(
            db, kind="noise", community_id=c1, start_ms=None, end_ms=None
        )
        water_rows = service.observations(
            db, kind="water", community_id=c1, start_ms=None, end_ms=None
        )
    assert len(air) == 24
    first = air[0]
    assert first["type"] == "AirQualityObserved"
    assert first["refDevice"] == "urn:ngsi-ld:Device:aq-1"
    assert first["location"] == {"type": "Point", "coordinates": [121.4453, 31.2291]}
    assert first["pm25"] == 80.0
    assert first["relativeHumidity"] == 0.6
    assert first["airQualityIndex"] == 119
    assert first["airQualityLevel"] == "Lightly polluted"
    assert first["reliability"] == 1.0
    assert all(r["refDevice"] != "urn:ngsi-ld:Device:aq-2" for r in air)
    assert {r["type"] for r in noise_rows} == {"NoiseLevelObserved"}
    whole = [
        r for r in noise_rows if r["LAeq_d"] is not None and r["measurand"][0].startswith("LAeq_n")
    ]
    assert whole
    assert whole[0]["LAeq_d"] == 52.0
    assert water_rows[-1]["pH"] == 7.2
    assert water_rows[-1]["turbidity"] == 1.3
    assert water_rows[-1]["measurand"][0].startswith("freeChlorine, 0.400")
    with pytest.raises(ValidationFailed):
        service.observations(db, kind="air", community_id=c1, start_ms=0, end_ms=40 * 86_400_000)


@sqlite_only
def test_trends_per_hour_and_per_day(db: Session, world: World, monitors: Monitors) -> None:
    c1 = world.places["c1"]
    day = service.trend(db, c1, "aqi", start_ms=NOW_MS - 86_400_000, end_ms=NOW_MS)
    assert day.step_ms == 3_600_000
    assert 20 <= len(day.points) <= 25
    assert {p[1] for p in day.points} == {119.0}
    noise_week = service.trend(db, c1, "noise", start_ms=NOW_MS - 7 * 86_400_000, end_ms=NOW_MS)
    assert {round(p[1]) for p in noise_week.points} == {48, 52}
    year = service.trend(db, c1, "aqi", start_ms=NOW_MS - 365 * 86_400_000, end_ms=NOW_MS)
    assert year.step_ms == 86_400_000
    assert [p[1] for p in year.points] == [119.0]  # the one whole day
    with pytest.raises(ValidationFailed):
        service.trend(db, c1, "radon", start_ms=0, end_ms=1)
