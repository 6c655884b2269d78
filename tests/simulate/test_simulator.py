"""The simulator: reproducible messages that the real adapters read, faults included, sent
through the real HTTP ingestion path."""

from __future__ import annotations

import threading
from collections import Counter

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.adapters import registry
from linli.adapters.base import PayloadError
from linli.device import catalog
from linli.device import service as device_service
from linli.device.models import Datastream
from linli.device.schemas import DeviceCreate
from linli.simulate.plan import demo_devices
from linli.simulate.runner import DeviceCredential, run
from linli.simulate.signals import FaultRates, Message, Simulator
from tests.conftest import World

NOW_MS = 1_764_380_000_000


def _story(seed: int) -> list[bytes]:
    sim = Simulator([(d.uid, d.profile) for d in demo_devices()], seed=seed)
    return [
        m.body
        for step in range(30)
        for d in demo_devices()
        if (m := sim.next_message(d.uid, NOW_MS + step * 60_000)) is not None
    ]


def test_same_seed_same_story_and_demo_plan_is_valid() -> None:
    assert _story(3) == _story(3)
    assert _story(3) != _story(4)
    plan = demo_devices()
    assert len(plan) == 48
    assert len({d.uid for d in plan}) == 48
    assert {d.profile for d in plan} == set(catalog.PROFILES)
    assert all(d.place_code.startswith(("demo-c1", "demo-c2")) for d in plan)


def test_every_clean_message_parses_into_catalogue_readings() -> None:
    devices = demo_devices()
    sim = Simulator([(d.uid, d.profile) for d in devices], seed=1, faults=FaultRates(0, 0, 0, 0))
    profile_of = {d.uid: d.profile for d in devices}
    for step in range(50):
        for d in devices:
            m = sim.next_message(d.uid, NOW_MS + step * 60_000)
            assert m is not None
            adapter = catalog.PROFILES[profile_of[d.uid]][2]
            result = registry.parse(adapter, m.body, m.content_type, NOW_MS)
            assert result.problems == []
            assert {r.key for r in result.readings} <= set(catalog.PROPERTIES)
            for r in result.readings:
                low, high = catalog.PROPERTIES[r.key][4:6]
                assert isinstance(r.value, float)
                assert low is None or r.value >= low, (r, d.uid)
                assert high is None or r.value <= high, (r, d.uid)


def test_faults_happen_and_malformed_payloads_do_not_parse() -> None:
    devices = demo_devices()
    sim = Simulator(
        [(d.uid, d.profile) for d in devices], seed=2, faults=FaultRates(0.05, 0.05, 0.05, 0.05)
    )
    faults: Counter[str] = Counter()
    gaps = 0
    for step in range(40):
        for d in devices:
            m = sim.next_message(d.uid, NOW_MS + step * 60_000)
            if m is None:
                gaps += 1
                continue
            faults[m.fault] += 1
            if m.fault == "malformed" and d.profile != "wearable":
                adapter = catalog.PROFILES[d.profile][2]
                try:
                    result = registry.parse(adapter, m.body, m.content_type, NOW_MS)
                except PayloadError:
                    continue
                assert result.problems
    assert gaps > 0
    assert faults["stuck"] > 0
    assert faults["spike"] > 0
    assert faults["malformed"] > 0


class ClientSender:
    """Sends through the app's real HTTP ingestion route (in-process)."""

    def __init__(self, client: TestClient, tokens: dict[str, str]) -> None:
        self.client = client
        self.tokens = tokens
        self.sent: list[Message] = []

    def send(self, message: Message) -> int:
        self.sent.append(message)
        r = self.client.post(
            "/api/v1/telemetry",
            content=message.body,
            headers={
                "Authorization": f"Bearer {self.tokens[message.uid]}",
                "Content-Type": message.content_type,
            },
        )
        return int(r.status_code)

    def close(self) -> None:
        return None


def test_simulated_devices_report_through_http_ingestion(
    client: TestClient, db: Session, world: World
) -> None:
    device_service.ensure_catalog(db)
    creds: list[DeviceCredential] = []
    for d in [d for d in demo_devices() if d.uid.startswith("demo-c1")][:12]:
        _device, token = device_service.create_device(
            db,
            None,
            DeviceCreate(uid=d.uid, name=d.name, place_id=world.places["c1"], profile=d.profile),
        )
        creds.append(DeviceCredential(d.uid, d.profile, token))
    db.commit()
    sender = ClientSender(client, {c.uid: c.token for c in creds})
    counts = run(creds, sender, speed=10_000, seed=5, stop=threading.Event(), max_messages=60)
    assert sum(v for k, v in counts.items() if k.startswith("status_")) == 60
    assert counts["status_200"] >= 40, counts
    db.expire_all()
    reported = db.scalars(select(Datastream).where(Datastream.last_at_ms.is_not(None))).all()
    assert len({ds.device_id for ds in reported}) >= 8
