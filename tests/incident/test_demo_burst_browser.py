"""The demo's pipe burst end to end, on a running server with its background work.

The demo street is seeded as `linli demo` seeds it. The first pressure gauge of community 1
reports its last half hour through the real ingestion API, the burst in its last minutes (the
simulator's own signal); the live rule engine raises one critical alarm; the incident round
opens one incident at the compound's point on the site plan and dispatches the plumbers with
the shortest travel. A staff member watching the incident board sees it appear without a
reload, with the plumbers' routes; warns the building next to the burst from the incident
page; the residents of that building, and only they, are asked whether they are safe; the
board shows the warned building; and the plumbers walking to the burst move on the board.
"""

from __future__ import annotations

import datetime as dt
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from linli.app import create_app
from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.events import hub
from linli.core.migrate import upgrade
from linli.core.time import utc_now
from linli.demo import seed
from linli.incident import paths, service, tasks
from linli.incident.models import DispatchOffer, Incident, IncidentAlarm, Responder
from linli.notice.models import EmergencyResponse
from linli.place import service as place_service
from linli.resident import service as resident_service
from linli.sharing import service as sharing_service
from linli.sharing.models import Disclosure, Recipient
from linli.simulate.runner import load_devices
from linli.simulate.signals import BURST_GAUGE, FaultRates, Simulator
from tests.conftest import TEST_SECRET
from tests.standards.cap.test_cap import validate_cap
from tests.web.test_browser import (  # noqa: F401  # browser is a fixture
    AXE,
    AXE_RUN,
    DESKTOP,
    WAIT_MS,
    _only_loopback,
    browser,
)

pytestmark = pytest.mark.browser


@dataclass
class Demo:
    base: str
    maker: sessionmaker[Session]
    credentials: list[dict[str, str]]
    data_dir: Path

    def login_of(self, role: str) -> dict[str, str]:
        return next(c for c in self.credentials if c["role"] == role)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """The seeded demo street served by uvicorn with its rule engine and background work."""
    data_dir = tmp_path_factory.mktemp("demo")
    settings = Settings(
        database_url=f"sqlite:///{data_dir / 'linli.db'}",
        data_dir=data_dir,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        base_url="http://127.0.0.1",
        log_format="text",
        background_jobs=True,
        # Staff log in with a password only here; tests/account/test_mfa.py covers the second step.
        mfa_required_for_staff=False,
    )
    configure_field_cipher(settings.field_key())
    engine = make_engine(settings.database_url)
    upgrade(engine)
    with session_scope(make_sessionmaker(engine)) as db:
        credentials = seed.seed_demo(db, data_dir)
    app = create_app(settings)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="critical", access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:  # noqa: S310  # loopback
        assert response.status == 200
    yield Demo(base, make_sessionmaker(engine), credentials, data_dir)
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    engine.dispose()


def _send_the_burst(demo: Demo) -> None:
    """The gauge's last 30 minutes, one reading a minute; the main bursts 3 minutes ago."""
    token = next(
        d.token for d in load_devices(seed.devices_path(demo.data_dir)) if d.uid == BURST_GAUGE
    )
    quiet = FaultRates(stuck=0, gap=0, spike=0, malformed=0)
    sim = Simulator([(BURST_GAUGE, "pipe_pressure")], faults=quiet)
    now = time.time()
    sim.live_start = now - quiet.burst_after_s - 170
    with httpx.Client(base_url=demo.base, timeout=10) as client:
        for i in range(31):
            t = now - 1800 + 60 * i
            message = sim.next_message(BURST_GAUGE, int(t * 1000), sim_s=t)
            assert message is not None
            reply = client.post(
                "/api/v1/telemetry",
                content=message.body,
                headers={
                    "Authorization": f"Bearer {token}",
                    "Content-Type": message.content_type,
                },
            )
            assert reply.status_code == 200, reply.text


def _wait_for(check: Callable[[], Any], what: str, timeout_s: float = 40.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        found = check()
        if found:
            return found
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.25)


def _listening(page: Any, count: int) -> None:
    """Wait, through the page, until the board's event stream is subscribed."""
    deadline = time.monotonic() + 15
    while hub.subscribers(service.TOPIC) < count:
        assert time.monotonic() < deadline, "the board never opened its event stream"
        page.wait_for_timeout(20)


def _tab(chromium: Any, demo: Demo, username: str, password: str) -> Any:
    context = chromium.new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_init_script(path=str(AXE))
    context.route("**/*", _only_loopback)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(demo.base + "/login")
    page.fill("#f-username", username)
    page.fill("#f-password", password)
    with page.expect_navigation():
        page.click('main form button[type="submit"]')
    page.errors = errors
    return page


def test_a_burst_is_followed_live_from_sensor_to_warned_building(
    demo: Demo,
    browser: Any,  # noqa: F811
) -> None:
    staff = demo.login_of("community_staff")
    board = _tab(browser, demo, staff["username"], staff["password"])
    before = hub.subscribers(service.TOPIC)
    board.goto(demo.base + "/console/incidents")
    _listening(board, before + 1)
    board.evaluate("() => { window.notReloaded = true; }")
    assert board.locator("g.inc-marker").count() == 0

    # The gauge reports; the rule engine and the incident round do the rest on their own.
    _send_the_burst(demo)
    board.wait_for_selector("g.inc-marker[data-incident]", timeout=40_000)
    board.wait_for_function(
        "() => document.querySelectorAll('polyline.inc-route[data-route]').length == 2"
    )
    assert board.evaluate("() => window.notReloaded") is True

    with demo.maker() as db:
        incidents = db.scalars(select(Incident)).all()
        assert len(incidents) == 1  # one incident for the burst
        incident = incidents[0]
        assert incident.type == "pipe_burst"
        assert incident.source == "alarm"
        assert incident.node == "j-1-2"  # the compound's point on the site plan
        assert db.scalars(select(IncidentAlarm)).all()
        offers = db.scalars(
            select(DispatchOffer).where(DispatchOffer.incident_id == incident.id)
        ).all()
        assert [o.skill for o in offers] == ["plumbing", "plumbing"]
        graph = service._demo_site().graph
        plumbers = [
            r
            for r in db.scalars(select(Responder)).all()
            if "plumbing" in r.skills and incident.place_path.startswith(r.place_path)
        ]
        assert len(plumbers) > 2
        times = {r.id: paths.travel_time(graph, r.node or "", "j-1-2") for r in plumbers}
        fastest = sorted(times, key=lambda rid: times[rid])[:2]
        assert sorted(o.responder_id for o in offers) == sorted(fastest)
        for offer in offers:
            assert offer.travel_s == pytest.approx(times[offer.responder_id])
            # Each route drawn is the shortest path from the plumber to the burst.
            polyline = board.locator(
                f'polyline.inc-route[data-route="{incident.id}-{offer.responder_id}"]'
            )
            assert polyline.count() == 1
            responder = db.get(Responder, offer.responder_id)
            assert responder is not None
            assert responder.node is not None
            shortest = paths.route(graph, responder.node, "j-1-2")
            drawn = polyline.get_attribute("points") or ""
            assert len(drawn.split()) == len(shortest)
        # The water company is told in CAP 1.2, with only what its registry entry allows; the
        # police, registered for fires, gas and intrusions, are not.
        told = db.scalars(select(Disclosure).where(Disclosure.subject_id == incident.id)).all()
        assert len(told) == 1
        utility = db.get(Recipient, told[0].recipient_id)
        assert utility is not None
        assert utility.kind == "utility"
        allowed = {*sharing_service.ALWAYS, *sharing_service.STRUCTURAL, *utility.allowed_fields}
        assert set(told[0].fields) <= allowed
        validate_cap(told[0].payload.encode("utf-8"))
        building = place_service.by_code(db, "demo-c1-xf-b2")
        assert building is not None
        residents = {r[0] for r in resident_service.living_under(db, building.path)}
    assert residents

    # From the incident page, the building next to the burst is warned.
    desk = _tab(browser, demo, staff["username"], staff["password"])
    desk.goto(demo.base + f"/console/incidents/{incident.id}")
    with desk.expect_navigation():
        desk.click(f'a[href="/console/incidents/{incident.id}/warn"]')
    desk.check(f'input[name="place_ids"][value="{building.id}"]')
    if not desk.input_value("#f-headline"):
        desk.fill("#f-headline", "供水管爆管，请注意安全")
    with desk.expect_navigation():
        desk.click('main form.warn-form button[type="submit"]')
    assert f"/console/incidents/{incident.id}" in desk.url
    with demo.maker() as db:
        asked = {r.resident_id for r in db.scalars(select(EmergencyResponse)).all()}
    assert asked == residents  # exactly the building's residents, nobody else

    # The open board shows the warned building, still without a reload.
    board.wait_for_selector('g.inc-point.is-affected[data-node="building:building-2"]')
    # The plumbers accept and walk to the burst (time moved on for them); the board follows.
    later = utc_now()
    for step in range(1, 8):
        tasks.demo_round(demo.maker, now=later + dt.timedelta(minutes=step))
    board.wait_for_selector('g.inc-responder[data-status="on_scene"]')
    assert board.evaluate("() => window.notReloaded") is True
    problems = board.evaluate(AXE_RUN)
    assert problems == [], problems
    assert board.errors == []
    assert desk.errors == []
