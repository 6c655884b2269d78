"""The live incident board in a real Chromium: incidents and routes appear without a reload.

An incident is opened through the service in another session while the board is open; its
marker on the site plan and its row in the list appear, and it is announced. Dispatching it from
the incident page draws the responder's route on the open board. The board and the incident page
pass the site's checks (axe-core, target sizes, elder-mode measurements, no sideways scrolling).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from linli.core.db import make_engine, make_sessionmaker
from linli.core.events import hub
from linli.incident import service
from linli.incident.schemas import IncidentCreate
from tests.incident.conftest import actor_of, register
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Site,
    Visit,
    _assert_clean,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@dataclass
class Seeded:
    responder: int
    maker: Callable[[], Session]


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        responder = register(db, site.world, "board-medic", ["first_aid"], "building:building-6")
        db.commit()
    yield Seeded(responder, maker)
    engine.dispose()


def _listening(page: Any, count: int) -> None:
    """Wait until the board's event stream is subscribed (the server runs in this process).

    Waiting through the page lets Playwright serve the tab's requests meanwhile (the tab's
    requests pass through the test's loopback-only route handler).
    """
    deadline = time.monotonic() + 15
    while hub.subscribers(service.TOPIC) < count:
        assert time.monotonic() < deadline, "the board never opened its event stream"
        page.wait_for_timeout(20)


def test_board_follows_new_incidents_and_dispatches_live(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    board = visit()
    board.login("staff1")
    before = hub.subscribers(service.TOPIC)
    board.goto("/console/incidents")
    page = board.page
    _listening(page, before + 1)
    page.evaluate("() => { window.notReloaded = true; }")
    board.check("zh")

    # Opened elsewhere (as another console or a sensor would): marker and row come by themselves.
    with seeded.maker() as db:
        incident = service.create(
            db,
            actor_of(db, board.site.world, "staff1"),
            IncidentCreate(
                place_id=board.site.world.places["c1-b1"],
                type="fall",
                severity=4,
                title="老人在楼道摔倒",
                node="building:building-7",
            ),
        )
        db.commit()
        incident_id = incident.id
    page.wait_for_selector(f'.inc-marker[data-incident="{incident_id}"]')
    page.wait_for_selector(f"#incident-row-{incident_id}")
    assert page.evaluate("() => window.notReloaded") is True
    assert "极其严重" in page.inner_text(f"#incident-row-{incident_id}")
    page.wait_for_function(
        "() => document.getElementById('incident-announce').textContent.includes('老人在楼道摔倒')"
    )
    assert page.get_attribute("#incident-announce", "aria-live") == "polite"
    board.check("zh-live")

    # Dispatched from the incident page in another tab: the route appears on the open board.
    desk = visit()
    desk.login("staff1")
    desk.goto(f"/console/incidents/{incident_id}")
    desk.submit('form[action$="/dispatch"] button')
    assert "done=dispatched" in desk.page.url
    route = f'polyline[data-route="{incident_id}-{seeded.responder}"]'
    page.wait_for_selector(route, state="attached")
    assert page.evaluate("() => window.notReloaded") is True
    assert page.locator(f'.inc-responder[data-responder="{seeded.responder}"]').count() == 1
    assert (
        page.get_attribute(f'.inc-responder[data-responder="{seeded.responder}"]', "data-status")
        == "dispatched"
    )
    desk.check("zh")
    desk.switch_language("en")
    assert "Fall" in desk.page.inner_text("h1")
    desk.check("en")
    desk.switch_language("zh_Hans_CN")

    # Elder mode: one main action on the incident page, the rest folded away; both pages pass.
    desk.switch_elder(True)
    desk.page.set_viewport_size({"width": 390, "height": 844})
    assert desk.page.locator(".inc-main-action form").count() == 1
    assert desk.page.locator("details.inc-more").count() == 1
    desk.check("elder")
    desk.goto("/console/incidents")
    desk.page.wait_for_selector(f"#incident-row-{incident_id}")
    desk.check("elder")
    _assert_clean(board)
    _assert_clean(desk)
