"""The demo's simulated episode moves the AQI through its levels; a late-night noise breach
raises an alarm through the class-1 noise rule the demo seeds."""

from __future__ import annotations

import datetime as dt
import re
import threading

import pytest
import time_machine
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.environment import service
from linli.simulate.plan import demo_devices
from linli.simulate.runner import DeviceCredential, run
from linli.simulate.signals import Message
from tests.conftest import World

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SH = dt.timezone(dt.timedelta(hours=8))
# The demo is started at 22:40 China Standard Time: the opening episode runs into the night.
START = dt.datetime(2026, 6, 1, 22, 40, tzinfo=SH)
STEP_S = 15  # each call of the simulator's clock moves simulated time on by this much
RUN_MIN = 150
LEVEL = re.compile(r'data-aqi-level="(\d)"')


class _Sender:
    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens

    def send(self, message: Message) -> int:
        reply = self.client.post(
            "/api/v1/telemetry",
            content=message.body,
            headers={
                "Authorization": f"Bearer {self.tokens[message.uid]}",
                "Content-Type": message.content_type,
            },
        )
        return int(reply.status_code)

    def close(self) -> None:
        return None


def test_the_demo_episode_and_night_noise(
    app: FastAPI, client: TestClient, db: Session, world: World
) -> None:
    device_service.ensure_catalog(db)
    plans = [d for d in demo_devices() if d.uid in ("demo-c1-AQ01", "demo-c1-NZ01")]
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
    # What the demo seed does: class-1 noise rules for every monitored place, switched on.
    assert service.sync_noise_rules(db, None) == 1
    db.commit()
    app.state.rule_runtime.reload()
    sender = _Sender(client, {c.uid: c.token for c in creds})
    with time_machine.travel(START, tick=False) as traveller:

        def clock() -> float:
            # Simulated time: the readings' stamps, the server's receive time and the rules agree.
            traveller.shift(STEP_S)
            return dt.datetime.now(dt.UTC).timestamp()

        counts = run(
            creds,
            sender,
            speed=1.0,
            seed=11,
            stop=threading.Event(),
            max_messages=2 * RUN_MIN,
            clock=clock,
        )
    assert counts["status_200"] >= 2 * RUN_MIN * 0.9, counts
    assert app.state.rule_runtime.flush(10)
    c1 = world.places["c1"]
    # (a) The community AQI of the last 60 minutes, every 5 minutes of the run.
    levels: dict[int, int] = {}
    for minute in range(5, RUN_MIN, 5):
        at = START + dt.timedelta(minutes=minute)
        found = service.rolling_air(db, "/", c1, now_ms=int(at.timestamp() * 1000))
        if found.result.level is not None:
            levels.setdefault(found.result.level, minute)
    assert len(levels) >= 3, levels
    assert max(levels) >= 4  # at least moderately polluted (中度污染)
    assert min(levels) <= 2
    shown = set()
    for minute in sorted(levels.values()):
        with time_machine.travel(START + dt.timedelta(minutes=minute), tick=False):
            page = client.get(f"/environment?place={c1}")
        assert page.status_code == 200
        shown.update(int(x) for x in LEVEL.findall(page.text))
    assert shown >= set(levels)
    # (b) 23:00–23:40 the first noise monitor hears late-night renovation: the class-1 rule's
    # night limit (45 dB(A) for 10 minutes) raises an alarm; nothing fires by day.
    db.expire_all()
    alarms = db.scalars(select(Alarm).order_by(Alarm.id)).all()
    noise_alarms = [a for a in alarms if a.title.startswith("GB 3096-2008 1 ·")]
    assert noise_alarms, [a.title for a in alarms]
    started = dt.datetime.fromtimestamp(noise_alarms[0].started_ms / 1000, SH)
    assert dt.time(23, 0) <= started.time() <= dt.time(23, 40)
    assert noise_alarms[0].details.get("window") == "night"
    assert len(noise_alarms) == 1  # the breach is one alarm, not one per reading
