"""The data-plane pages (devices, charts, refused data, site plan) in a real Chromium.

A community admin registers a device through the page, the device sends readings with its own
token, and then staff, the admin and the property manager open every device and telemetry page in
Chinese, in English and in elder mode, switched through the header buttons. Each page passes the
same checks as the rest of the site (axe-core, target sizes, elder-mode measurements, no console
error, no sideways scrolling at 320 px), and the charts really draw in Chromium: a uPlot canvas
with a size, redrawn from a new series request when a period button is pressed.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.device import service as device_service
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    AXE,
    DESKTOP,
    WAIT_MS,
    Site,
    Visit,
    _assert_clean,
    _console_error,
    _only_loopback,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser

READINGS = 12
STEP_MS = 10 * 60_000
# Every chart of the page has drawn its canvas and no series request is still on its way.
CHARTS_DRAWN = """() => {
  const cards = document.querySelectorAll('[data-chart]');
  return cards.length > 0 && document.querySelectorAll('[data-chart][aria-busy]').length === 0 &&
    [...cards].every(c => c.querySelector('.chart-plot canvas'));
}"""
CANVAS_SIZES = """() => [...document.querySelectorAll('.chart-plot canvas')].map(c => {
  const r = c.getBoundingClientRect();
  return [Math.round(r.width), Math.round(r.height)];
})"""


@dataclass(frozen=True)
class Registered:
    """The device registered through the page."""

    id: int
    uid: str
    token: str


def _post(server: Site, token: str, body: bytes) -> int:
    request = urllib.request.Request(  # noqa: S310  # loopback
        f"{server.base}/api/v1/telemetry",
        data=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # loopback
            reply = orjson.loads(response.read())
            assert reply["rejected"] == 0, reply
            return int(reply["accepted"])
    except urllib.error.HTTPError as exc:
        return -exc.code


@pytest.fixture(scope="module")
def device(browser: Any, site: Site) -> Registered:  # noqa: F811
    """A c1 device registered by admin1 on /console/devices/new, with readings and one refusal."""
    # The kinds of device come from the built-in catalogue, which a deployment's seed writes.
    engine = make_engine(site.database)
    with session_scope(make_sessionmaker(engine)) as db:
        device_service.ensure_catalog(db)
    engine.dispose()
    context = browser.new_context(locale="zh-CN", viewport=DESKTOP)
    context.add_init_script(path=str(AXE))
    context.route("**/*", _only_loopback)
    context.set_default_timeout(WAIT_MS)
    tab = Visit(context.new_page(), site)
    tab.page.on("console", lambda m: _console_error(tab, m))
    tab.login("admin1")
    tab.goto("/console/devices")
    tab.submit('main a[href="/console/devices/new"]')
    tab.page.fill("#f-uid", "AQ-BROWSER-1")
    tab.page.fill("#f-name", "东门空气站")
    tab.page.select_option("#f-place_id", str(site.world.places["c1-b1"]))
    tab.page.select_option("#f-profile", "air_quality")
    tab.page.fill("#f-latitude", "31.2304")
    tab.page.fill("#f-longitude", "121.4737")
    tab.submit('main form button[type="submit"]')
    token = tab.page.inner_text("code.token").strip()
    assert token.startswith("dt_")
    href = tab.page.get_attribute("tbody th a", "href")
    assert href is not None
    device_id = int(href.rsplit("/", 1)[1])
    assert tab.console == []
    context.close()

    now = int(time.time() * 1000)
    readings = [
        {
            "ts": now - (READINGS - i) * STEP_MS,
            "values": {"pm25": 30.0 + 3 * i, "temperature": 18 + i / 2, "humidity": 55 - i},
        }
        for i in range(READINGS)
    ]
    assert _post(site, token, orjson.dumps(readings)) == 3 * READINGS
    assert _post(site, token, b'{"pm25": 1,, oops') == -400  # quarantined
    return Registered(device_id, "AQ-BROWSER-1", token)


def _charts(tab: Visit, mode: str) -> None:
    """The charts of the current page draw, and a period button fetches a new series."""
    page = tab.page
    page.wait_for_function(CHARTS_DRAWN)
    sizes = page.evaluate(CANVAS_SIZES)
    assert sizes, f"[{mode}] {page.url}: no chart canvas"
    for width, height in sizes:
        if width <= 0 or height <= 0:
            tab.problems.append(f"[{mode}] {page.url}: chart canvas {width}x{height}")
    first = page.locator("[data-chart]").first
    with page.expect_response(lambda r: "/series?" in r.url and r.status == 200):
        first.locator('.chart-ranges [data-range="7d"]').click()
    page.wait_for_function(CHARTS_DRAWN)
    assert first.locator('[data-range="7d"]').get_attribute("aria-current") == "true"
    box = first.locator(".chart-plot canvas").bounding_box()
    assert box is not None
    assert box["width"] > 0
    assert box["height"] > 0
    status = first.locator(".chart-status").inner_text()
    if not status.strip():
        tab.problems.append(f"[{mode}] {page.url}: the chart says nothing about its points")


def _pages(tab: Visit, dev: Registered, *, manage: bool) -> tuple[list[str], Callable[[str], None]]:
    detail = f"/console/devices/{dev.id}"
    tab.goto(detail)
    table = tab.page.get_attribute(".chart-links a", "href")
    assert table is not None
    assert table.startswith("/console/datastreams/")
    paths = ["/console/devices"]
    if manage:
        paths += ["/console/devices/new", "/console/devices/import"]

    def with_charts(mode: str) -> None:
        for path in (detail, table):
            tab.goto(path)
            _charts(tab, mode)
            tab.check(mode)
        tab.goto("/console/quarantine")
        assert "AQ-BROWSER-1" in tab.page.inner_text("main")
        tab.page.click("details summary")
        tab.check(mode)
        tab.goto("/console/map")
        assert tab.page.locator(f'.site-plan [data-device="{dev.id}"]').count() == 1
        assert tab.page.locator(f'tbody a[href="{detail}"]').count() == 1
        tab.check(mode)

    return paths, with_charts


@pytest.mark.parametrize(
    ("username", "manage"), [("staff1", False), ("admin1", True), ("pm1", True)]
)
def test_data_plane_pages(
    visit: Callable[..., Visit],  # noqa: F811
    device: Registered,
    username: str,
    manage: bool,
) -> None:
    tab = visit()
    tab.login(username)
    assert tab.page.url == tab.url("/console")
    paths, with_charts = _pages(tab, device, manage=manage)
    tab.console.clear()
    _three_ways(tab, paths, with_charts)
    _assert_clean(tab)
