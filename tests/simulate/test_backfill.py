"""The demo's history backfill: past readings through the real ingestion API, evaluated by the
live rule engine, sent once only."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.environment import service as environment_service
from linli.simulate.plan import demo_devices
from linli.simulate.runner import (
    MAX_FAILING,
    DeviceCredential,
    backfill,
    backfill_if_new,
    backfill_step,
    run,
)
from linli.simulate.signals import FaultRates, Message, Simulator
from linli.telemetry.models import Observation
from tests.conftest import World

SH = dt.timezone(dt.timedelta(hours=8))
# The demo starts at 00:30 China Standard Time: two hours back cover last night's breach.
END = dt.datetime(2026, 6, 2, 0, 30, tzinfo=SH)
HOURS = 2.0
# One device of each payload format: flat JSON (noise), timed JSON, SenML, wristband lines.
UIDS = ("demo-c1-NZ01", "demo-c1-AQ01", "demo-c1-BN01", "demo-c1-WQ01", "demo-c1-WB01")


class _Poster:
    """Posts through the app's real HTTP ingestion route (in-process)."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens
        self.requests = 0

    def post(self, message: Message) -> tuple[int, bytes]:
        self.requests += 1
        reply = self.client.post(
            "/api/v1/telemetry",
            content=message.body,
            headers={
                "Authorization": f"Bearer {self.tokens[message.uid]}",
                "Content-Type": message.content_type,
            },
        )
        return int(reply.status_code), reply.content

    def send(self, message: Message) -> int:
        return self.post(message)[0]

    def close(self) -> None:
        return None


def _stored(db: Session) -> tuple[int, int, int]:
    row = db.execute(select(func.count(), func.min(Observation.ts), func.max(Observation.ts))).one()
    return int(row[0]), int(row[1] or 0), int(row[2] or 0)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_backfill_raises_last_nights_noise_alarm_once_and_loses_nothing(
    app: FastAPI, client: TestClient, db: Session, world: World
) -> None:
    device_service.ensure_catalog(db)
    plans = [d for d in demo_devices() if d.uid in UIDS]
    creds: list[DeviceCredential] = []
    for d in plans:
        _device, token = device_service.create_device(
            db,
            None,
            DeviceCreate(
                uid=d.uid,
                name=d.name,
                place_id=world.places["c1-compound"],
                profile=d.profile,
                latitude=d.latitude,
                longitude=d.longitude,
            ),
        )
        creds.append(DeviceCredential(d.uid, d.profile, token))
    assert environment_service.sync_noise_rules(db, None) == 1
    db.commit()
    app.state.rule_runtime.reload()
    poster = _Poster(client, {c.uid: c.token for c in creds})
    # Faults more often than in the demo, so that refused items and payloads are sure to occur.
    faults = FaultRates(stuck=0.02, gap=0.01, spike=0.03, malformed=0.03)
    sim = Simulator([(c.uid, c.profile) for c in creds], seed=5, faults=faults)
    end_s = END.timestamp()
    with time_machine.travel(END, tick=False):
        report = backfill_if_new(creds, poster, sim, db, end_s=end_s, hours=HOURS)
    assert report is not None
    assert app.state.rule_runtime.flush(10)

    # (c) Every reading sent is accounted for by the API, and what it accepted is stored with
    # its simulated past time; only the malformed payloads were refused as a whole.
    assert report.failed == 0
    assert report.faults["spike"] > 0
    assert report.faults["malformed"] > 0
    assert report.rejected > 0
    assert report.unreadable > 0
    assert report.accepted + report.duplicate + report.rejected == report.readings_sent
    expected = sum(int(HOURS * 3600 / backfill_step(c.profile)) for c in creds)
    assert expected - len(creds) <= report.messages + report.gaps <= expected
    assert report.requests == poster.requests < report.messages / 5  # batched
    db.expire_all()
    count, first_ms, last_ms = _stored(db)
    assert count == report.accepted
    assert end_s * 1000 - HOURS * 3_600_000 <= first_ms < (end_s - 3000) * 1000
    assert (end_s - 600) * 1000 < last_ms < end_s * 1000

    # (a) 23:00–23:40 the first noise monitor was loud: the live class-1 night rule raised
    # one alarm for it, stamped last night.
    alarms = db.scalars(select(Alarm).order_by(Alarm.id)).all()
    noise = [a for a in alarms if a.title.startswith("GB 3096-2008 1 ·")]
    assert len(noise) == 1, [a.title for a in alarms]
    started = dt.datetime.fromtimestamp(noise[0].started_ms / 1000, SH)
    assert dt.time(23, 0) <= started.time() <= dt.time(23, 40)
    assert noise[0].details.get("window") == "night"

    # (b) A restart finds the readings and sends nothing more.
    with time_machine.travel(END + dt.timedelta(minutes=5), tick=False):
        again = backfill_if_new(creds, poster, sim, db, end_s=end_s + 300, hours=HOURS)
    assert again is None
    assert poster.requests == report.requests
    db.expire_all()
    assert _stored(db)[0] == count

    # The opening pollution episode stayed out of the past and starts with the live run.
    assert sim.opening == end_s
    live_start = end_s + 60
    ticks = itertools.count()
    with time_machine.travel(live_start, tick=False):
        run(creds, poster, simulator=sim, max_messages=5, clock=lambda: live_start + next(ticks))
    assert sim.opening == live_start


class _Down:
    """A server that answers every request with 503 (its store is unavailable)."""

    def __init__(self) -> None:
        self.requests = 0

    def post(self, message: Message) -> tuple[int, bytes]:
        self.requests += 1
        return 503, b""


def test_a_failing_server_ends_the_backfill_at_once() -> None:
    creds = [DeviceCredential(d.uid, d.profile, "token") for d in demo_devices()]
    sim = Simulator([(c.uid, c.profile) for c in creds], seed=3)
    down = _Down()
    report = backfill(creds, down, sim, end_s=END.timestamp(), hours=26)
    assert down.requests == report.requests == report.failed == MAX_FAILING
    assert report.accepted == 0
