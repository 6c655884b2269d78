"""The rule console in a real Chromium: the list, both steps of a new rule, a rule's page with a
backtest, and a form sent back with a mistake, in Chinese, in English and in elder mode, each
checked with axe-core, the target-size and elder-mode measurements and for sideways scrolling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.device import service as device_service
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate
from tests.rule.seed import PM25_EPISODE, actor_of, device, recent, store
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


@pytest.fixture(scope="module")
def seeded(site: Site) -> tuple[int, int]:  # noqa: F811
    """A c1 air station with a PM2.5 episode, and a PM2.5 rule: (rule id, pm25 stream id)."""
    engine = make_engine(site.database)
    with session_scope(make_sessionmaker(engine)) as db:
        device_service.ensure_catalog(db)
        db.commit()
        streams = device(db, site.world, uid="AQ-RULES-1", profile="air_quality", place="c1-b1")
        store(db, streams["pm25"], recent(PM25_EPISODE))
        rule = rule_service.create(
            db,
            actor_of(db, site.world),
            RuleCreate(template="pm25_high", place_id=site.world.places["c1"]),
        )
        db.flush()
        ids = (rule.id, streams["pm25"])
    engine.dispose()
    return ids


def test_rule_console_pages(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: tuple[int, int],
) -> None:
    rule_id, stream = seeded
    tab = visit()
    tab.login("admin1")
    paths = [
        "/console/rules",
        "/console/rules/new",
        "/console/rules/new?template=noise_class_1",
        "/console/rules/new?template=flood_pump_off",
        "/console/rules/new?template=unusual_reading",
        f"/console/rules/{rule_id}",
        f"/console/rules/{rule_id}?datastream_id={stream}&days=2",
    ]

    def with_states(mode: str) -> None:
        page: Any = tab.page
        # Step 1 to step 2 by following a template card, as a person would.
        tab.goto("/console/rules/new")
        tab.submit('main .tiles a[href="/console/rules/new?template=pm25_high"]')
        assert page.locator("#f-p_value").count() == 1
        # A mistake comes back next to its field, with the typed values kept.
        page.fill("#f-p_value", "lots")
        tab.submit('main form button[type="submit"]')
        assert page.locator("#f-p_value-error").count() == 1
        assert page.locator("#f-place_id-error").count() == 1
        assert page.input_value("#f-p_value") == "lots"
        tab.check(mode)
        # The backtest found the episode.
        tab.goto(f"/console/rules/{rule_id}?datastream_id={stream}&days=2")
        assert page.locator("#alarms-caption").count() == 1
        assert page.locator("tbody tr").count() == 1

    _three_ways(tab, paths, with_states)
    _assert_clean(tab)
