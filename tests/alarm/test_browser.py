"""The alarm board and site plan in a real Chromium: live updates without reload, accessibility.

Alarms are raised server-side while the board is open (as the rule engine would) and must
appear, be announced and update in place without a reload. The board, an alarm's details and
the site plan pass the site's checks (axe-core, target sizes, elder-mode measurements, no
console error, no sideways scrolling) in Chinese, in English and in elder mode.
"""

from __future__ import annotations

import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from sqlalchemy.orm import Session

from linli.core.db import make_engine, make_sessionmaker
from linli.core.events import hub
from tests.alarm.conftest import Setup, make_setup, raise_alarm
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Site,
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@dataclass
class Seeded:
    """The devices, the rule and the alarms present before the pages are opened."""

    setup: Setup
    critical: int
    minor: int
    other: int
    db: Callable[[], Session]


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        setup = make_setup(db, site.world)
        critical = raise_alarm(db, setup, "c1-b1u1", device="SMK-2", title="燃气泄漏")
        minor = raise_alarm(db, setup, "c1-b1", device="SMK-1", severity="minor", title="噪声偏高")
        other = raise_alarm(db, setup, "c2", device="NZ-2", title="c2 的报警")
    yield Seeded(setup, critical, minor, other, maker)
    engine.dispose()


def _raise(seeded: Seeded, place: str, **kwargs: Any) -> int:
    with seeded.db() as db:
        return raise_alarm(db, seeded.setup, place, **kwargs)


def _listening(count: int) -> None:
    """Wait until the page's event stream is subscribed (the server runs in this process)."""
    deadline = time.monotonic() + 15
    while hub.subscribers("alarm") < count:
        assert time.monotonic() < deadline, "the page never opened its event stream"
        time.sleep(0.02)


def _acknowledge_by_api(tab: Visit, alarm_id: int) -> None:
    request = urllib.request.Request(  # noqa: S310  # loopback
        f"{tab.site.base}/api/v1/alarms/{alarm_id}/acknowledge",
        headers={"Authorization": f"Bearer {tab.site.world.api_keys['grid1']}"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # loopback
        assert response.status == 200


def test_new_alarms_appear_on_the_open_board_without_reload(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("staff1")
    before = hub.subscribers("alarm")
    tab.goto("/console/alarms")
    page = tab.page
    assert page.locator(f"#alarm-{seeded.critical}").count() == 1
    assert page.locator(f"#alarm-{seeded.other}").count() == 0
    _listening(before + 1)
    page.evaluate("() => { window.notReloaded = true; }")

    # Another community's alarm, then one of c1: only the second comes, at the top.
    foreign = _raise(seeded, "c2", device="NZ-2", title="别处的报警")
    fresh = _raise(seeded, "c1-b1", device="SMK-1", severity="major", title="水浸报警 B1")
    page.wait_for_selector(f"#alarm-{fresh}")
    assert page.evaluate("() => window.notReloaded") is True
    assert page.locator("#alarm-rows tr").first.get_attribute("id") == f"alarm-{fresh}"
    assert page.locator(f"#alarm-{foreign}").count() == 0
    assert "水浸报警 B1" in page.inner_text(f"#alarm-{fresh}")
    assert "重要" in page.inner_text(f"#alarm-{fresh}")  # severity in words
    page.wait_for_function(
        "() => document.getElementById('alarm-announce').textContent.includes('水浸报警 B1')"
    )
    assert page.get_attribute("#alarm-announce", "aria-live") == "polite"

    # Acknowledged elsewhere: the row changes in place, the button goes.
    assert page.locator(f"#alarm-{seeded.critical} .ack-form").count() == 1
    _acknowledge_by_api(tab, seeded.critical)
    page.wait_for_selector(f"#alarm-{seeded.critical} .ack-form", state="detached")
    assert page.evaluate("() => window.notReloaded") is True
    tab.check("zh-live")

    # The button works as a plain form too.
    tab.submit(f"#alarm-{fresh} .ack-form button")
    assert "done=acknowledged" in page.url
    assert page.locator(f"#alarm-{fresh} .ack-form").count() == 0
    assert page.locator('[role="status"]').count() >= 1
    _assert_clean(tab)


def test_site_plan_marks_devices_live(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("admin1")
    before = hub.subscribers("alarm")
    tab.goto("/console/alarms/plan")
    page = tab.page
    device = seeded.setup.devices["SMK-1"]
    marker = f'.alarm-plan [data-device="{device}"]'
    assert page.locator(marker).count() == 1
    assert page.locator(f'.alarm-plan [data-device="{seeded.setup.devices["NZ-2"]}"]').count() == 0
    _listening(before + 1)
    page.evaluate("() => { window.notReloaded = true; }")
    _raise(seeded, "c1-b1", device="SMK-1", severity="critical", title="烟雾报警")
    page.wait_for_selector(f'{marker}[data-severity="critical"]')
    assert page.evaluate("() => window.notReloaded") is True
    assert "紧急" in page.inner_text(".alarm-plan")
    tab.check("zh-live")
    _assert_clean(tab)


def test_alarm_pages_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("staff1")
    paths = [
        "/console/alarms",
        "/console/alarms?status=all&severity=critical",
        f"/console/alarms/{seeded.critical}",
        "/console/alarms/plan",
    ]

    def comment(mode: str) -> None:
        tab.goto(f"/console/alarms/{seeded.minor}")
        tab.page.fill("#f-text", "")
        tab.submit('form[action$="/comments"] button[type="submit"]')
        assert tab.page.locator("#f-text-error").count() == 1
        tab.check(mode)
        tab.page.fill("#f-text", f"已到现场查看（{mode}）")
        tab.submit('form[action$="/comments"] button[type="submit"]')
        assert f"已到现场查看（{mode}）" in tab.page.inner_text("#timeline + ol")
        tab.check(mode)

    _three_ways(tab, paths, comment)
    _assert_clean(tab)
