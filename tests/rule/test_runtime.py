"""The live engine: rules run on ingested readings, survive restarts, agree with backtests."""

from __future__ import annotations

import time

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm, AlarmEvent
from linli.core.actor import Actor
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.rule import service as rule_service
from linli.rule.models import RuleState
from linli.rule.runtime import RuleRuntime
from linli.rule.schemas import RuleCreate
from linli.telemetry import writer
from linli.telemetry.writer import Batch
from tests.conftest import World

MIN = 60_000
T0 = int(time.time() * 1000) - 600 * MIN  # readings in the recent past (replay looks back 7 days)


def _staff(db: Session, world: World) -> Actor:
    from linli.account import service as account_service

    account = account_service.get_account(db, world.accounts["admin1"])
    return account_service.build_actor(db, account, via="cli")


@pytest.fixture
def gauge(db: Session, world: World) -> tuple[int, str, int]:
    """A water level gauge in a c1 building: (device id, token, water level stream id)."""
    device_service.ensure_catalog(db)
    device, token = device_service.create_device(
        db,
        None,
        DeviceCreate(
            uid="WL-1",
            name="Gauge 1",
            place_id=_building(world),
            profile="water_level",
        ),
    )
    db.commit()
    stream = next(
        s.datastream_id
        for s in device_service.stream_infos(db)
        if s.device_id == device.id and s.property_key == "water_level"
    )
    return device.id, token, stream


def _building(world: World) -> int:
    return world.places["c1-b1"]


def _rule(db: Session, world: World, **params: object) -> int:
    actor = _staff(db, world)
    rule = rule_service.create(
        db,
        actor,
        RuleCreate(
            template="water_level_high",
            place_id=world.places["c1"],
            params={"op": ">", "value": 20, "clear_value": 15, **params},
            enabled=True,
        ),
    )
    db.commit()
    return rule.id


def _alarms(db: Session, rule_id: int) -> list[Alarm]:
    db.expire_all()
    return list(db.scalars(select(Alarm).where(Alarm.rule_id == rule_id).order_by(Alarm.id)))


def _post(client: TestClient, token: str, rows: list[tuple[int, float]]) -> None:
    body = [{"ts": ts, "values": {"water_level": v}} for ts, v in rows]
    reply = client.post(
        "/api/v1/telemetry", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert reply.status_code == 200, reply.text
    assert reply.json()["accepted"] == len(rows)


@pytest.fixture
def rules_app(app: FastAPI) -> FastAPI:
    app.state.settings.rules_enabled = True
    return app


def _flush(app: FastAPI) -> None:
    runtime: RuleRuntime = app.state.rule_runtime
    assert runtime.flush(10)


def test_ingested_readings_raise_update_and_clear_an_alarm(
    rules_app: FastAPI, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    _device, token, _stream = gauge
    rule_id = _rule(db, world)
    with TestClient(rules_app) as client:
        _post(client, token, [(T0, 10.0), (T0 + MIN, 25.0), (T0 + 2 * MIN, 30.0)])
        _flush(rules_app)
        alarms = _alarms(db, rule_id)
        assert len(alarms) == 1
        assert alarms[0].active
        assert alarms[0].started_ms == T0 + MIN
        assert alarms[0].severity == "critical"
        assert alarms[0].place_path.startswith(f"/{world.places['city']}/")  # under the whole tree
        _post(client, token, [(T0 + 5 * MIN, 12.0)])
        _flush(rules_app)
        alarms = _alarms(db, rule_id)
        assert len(alarms) == 1
        assert not alarms[0].active
        assert alarms[0].ended_ms == T0 + 5 * MIN


def test_restart_during_an_active_condition_neither_loses_nor_duplicates(
    rules_app: FastAPI, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    _device, token, _stream = gauge
    rule_id = _rule(db, world, for_min=3)
    with TestClient(rules_app) as client:
        # The condition starts but has not lasted long enough when the server stops.
        _post(client, token, [(T0, 25.0), (T0 + MIN, 26.0)])
        _flush(rules_app)
        assert _alarms(db, rule_id) == []
    with TestClient(rules_app) as client:
        # After the restart the condition goes on: it raises once its 3 minutes are up.
        _post(client, token, [(T0 + 2 * MIN, 27.0), (T0 + 3 * MIN, 28.0)])
        _flush(rules_app)
        alarms = _alarms(db, rule_id)
        assert len(alarms) == 1
        assert alarms[0].started_ms == T0
    with TestClient(rules_app) as client:
        # Restarting while the alarm is active raises nothing new.
        _post(client, token, [(T0 + 4 * MIN, 29.0), (T0 + 6 * MIN, 30.0)])
        _flush(rules_app)
        alarms = _alarms(db, rule_id)
        assert len(alarms) == 1
        assert alarms[0].active
        _post(client, token, [(T0 + 7 * MIN, 10.0)])
        _flush(rules_app)
    alarms = _alarms(db, rule_id)
    assert len(alarms) == 1
    assert not alarms[0].active
    raised = db.scalar(
        select(func.count())
        .select_from(AlarmEvent)
        .where(AlarmEvent.alarm_id == alarms[0].id, AlarmEvent.kind == "raised")
    )
    assert raised == 1


def test_readings_stored_but_not_evaluated_before_a_crash_are_replayed(
    app: FastAPI, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    _device, _token, stream = gauge
    rule_id = _rule(db, world)
    maker = app.state.sessionmaker
    first = RuleRuntime(maker)
    first.start()
    assert first.flush(10)  # its initial checkpoint is stored
    # The process dies after the readings were committed, before any rule saw them.
    first._stop.set()
    writer.write(app.state.engine, [Batch(rows=[(stream, T0, 25.0, None)])])
    assert _alarms(db, rule_id) == []
    second = RuleRuntime(maker)
    second.start()
    try:
        assert second.flush(10)
        alarms = _alarms(db, rule_id)
        assert len(alarms) == 1
        assert alarms[0].started_ms == T0
    finally:
        second.stop()
    # And a third start replays nothing twice.
    third = RuleRuntime(maker)
    third.start()
    try:
        assert third.flush(10)
        assert len(_alarms(db, rule_id)) == 1
    finally:
        third.stop()
    db.expire_all()
    saved = db.scalar(select(RuleState).where(RuleState.rule_id == rule_id))
    assert saved is not None
    assert saved.last_ts == T0


def test_a_live_run_and_a_backtest_give_the_same_alarms(
    rules_app: FastAPI, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    _device, token, _stream = gauge
    rule_id = _rule(db, world, for_min=2)
    pattern = [10, 22, 23, 24, 25, 18, 16, 14, 30, 31, 12, 26, 27, 28, 29, 30, 17, 14, 21, 22]
    rows = [(T0 + i * MIN, float(v)) for i, v in enumerate(pattern)]
    with TestClient(rules_app) as client:
        # In several requests, as devices send them.
        for start in range(0, len(rows), 3):
            _post(client, token, rows[start : start + 3])
        _flush(rules_app)
    live = [(a.started_ms, a.ended_ms) for a in _alarms(db, rule_id)]
    spec = rule_service.rule_file(db, rule_service.get_record(db, rule_id))
    csv_text = "timestamp,value\n" + "".join(f"{ts},{v}\n" for ts, v in rows)
    backtest = rule_service.run_backtest(spec, rule_service.parse_csv(csv_text))
    assert [(a.started_ms, a.ended_ms) for a in backtest.alarms] == live
    assert len(live) == 2


def test_switching_a_rule_off_clears_its_alarms(
    rules_app: FastAPI, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    from linli.rule.schemas import RuleUpdate

    _device, token, _stream = gauge
    rule_id = _rule(db, world)
    with TestClient(rules_app) as client:
        _post(client, token, [(T0, 40.0)])
        _flush(rules_app)
        assert _alarms(db, rule_id)[0].active
        rule_service.update(db, _staff(db, world), rule_id, RuleUpdate(enabled=False))
        db.commit()
        assert not _alarms(db, rule_id)[0].active


def test_a_clear_and_a_raise_in_one_batch_make_two_alarms(
    db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    from linli.alarm import service as alarm_service

    device, _token, stream = gauge
    rule_id = _rule(db, world)

    def item(kind: str, ts: int) -> alarm_service.SignalItem:
        return alarm_service.SignalItem(
            rule_id=rule_id,
            rule_name="r",
            severity="major",
            source=f"ds:{stream}",
            place_id=world.places["c1-b1"],
            place_path="/1/",
            device_id=device,
            datastream_id=stream,
            title="t",
            kind=kind,
            started_ms=ts,
            ts_ms=ts,
            value=1.0,
        )

    alarm_service.apply(db, [item("raise", T0)])
    db.commit()
    alarm_service.apply(db, [item("clear", T0 + MIN), item("raise", T0 + 2 * MIN)])
    db.commit()
    alarms = _alarms(db, rule_id)
    assert [(a.started_ms, a.ended_ms) for a in alarms] == [(T0, T0 + MIN), (T0 + 2 * MIN, None)]


def test_a_device_sending_its_backlog_is_not_silent_on_the_wall_clock(
    rules_app: FastAPI, client: TestClient, db: Session, world: World, gauge: tuple[int, str, int]
) -> None:
    actor = _staff(db, world)
    rule = rule_service.create(
        db,
        actor,
        RuleCreate(
            template="device_silent",
            place_id=world.places["c1"],
            property_key="water_level",
            params={"intervals": 3},
            enabled=True,
        ),
    )
    db.commit()
    _device_id, token, _stream = gauge
    runtime: RuleRuntime = rules_app.state.rule_runtime
    runtime.reload()
    # Readings from ten hours ago, sent now, one a minute: a device catching up.
    _post(client, token, [(T0 + i * MIN, 5.0) for i in range(30)])
    _flush(rules_app)
    runtime.tick()  # the wall clock: the readings have just arrived
    _flush(rules_app)
    assert _alarms(db, rule.id) == []
    # Judged by the readings' own times the source has been quiet for hours: that is what a
    # simulated clock (an explicit now) sees, as before.
    runtime.tick(int(time.time() * 1000))
    _flush(rules_app)
    (alarm,) = _alarms(db, rule.id)
    assert alarm.cleared_at is None
