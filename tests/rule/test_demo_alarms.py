"""The demo's simulated faults raise alarms through the live rule engine."""

from __future__ import annotations

import threading

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm
from linli.demo import seed
from linli.device import service as device_service
from linli.device.schemas import DeviceCreate
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate
from linli.simulate.plan import demo_devices
from linli.simulate.runner import DeviceCredential, run
from linli.simulate.signals import Message
from tests.conftest import World, bearer


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


def test_a_simulated_flood_raises_and_clears_an_alarm_staff_can_see(
    app: FastAPI, client: TestClient, db: Session, world: World
) -> None:
    device_service.ensure_catalog(db)
    creds: list[DeviceCredential] = []
    gauges = [d for d in demo_devices() if d.profile == "water_level"][:2]
    for d in gauges:
        _device, token = device_service.create_device(
            db,
            None,
            DeviceCreate(uid=d.uid, name=d.name, place_id=world.places["c1-b1"], profile=d.profile),
        )
        creds.append(DeviceCredential(d.uid, d.profile, token))
    template, prop, params, name = next(r for r in seed.DEMO_RULES if r[0] == "water_level_high")
    rule_service.create(
        db,
        None,
        RuleCreate(
            template=template,
            place_id=world.places["c1"],
            property_key=prop,
            params=params or None,
            name=name,
            enabled=True,
        ),
    )
    db.commit()
    app.state.rule_runtime.reload()
    sender = _Sender(client, {c.uid: c.token for c in creds})
    # At ×2000 each message advances simulated time by a minute: 90 minutes of two gauges.
    counts = run(creds, sender, speed=2000, seed=3, stop=threading.Event(), max_messages=180)
    assert counts["status_200"] >= 150, counts
    assert app.state.rule_runtime.flush(10)
    db.expire_all()
    alarms = db.scalars(select(Alarm).order_by(Alarm.id)).all()
    assert alarms, "no flood alarm was raised"
    assert all(a.severity == "critical" and a.title.startswith(name) for a in alarms)
    assert any(a.cleared_at is not None for a in alarms)  # the water drained away again
    # Staff of the community see them on the board's list.
    listed = client.get(
        "/api/v1/alarms", params={"status": "all"}, headers=bearer(world, "staff1")
    ).json()
    assert listed["total"] == len(alarms)
