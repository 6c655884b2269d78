"""Waste pages in a real Chromium: an inspector grades a disposal with one tap on the phone page,
and the console, route, driver's sheet, rates, flagged list and My sorting pass the site's checks
(axe-core, target sizes, elder-mode measurements, no sideways scrolling) in Chinese, in English
and in elder mode."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator

import pytest

from linli.core.db import make_engine, make_sessionmaker
from linli.core.time import utc_now
from linli.waste import service as waste_service
from linli.waste.schemas import DisposalItem, GradeInline, StatusUpdate
from tests.waste.helpers import CARDS, Site, make_site
from tests.web.test_browser import Site as Server
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def seeded(site: Server) -> Iterator[tuple[Site, int]]:  # noqa: F811
    engine = make_engine(site.database)
    with make_sessionmaker(engine)() as db:
        bins = make_site(db, site.world)
        now = utc_now()
        system = waste_service.Sender()
        for key, level in (("smart", 92), ("far", 85)):
            waste_service.update_status(
                db, system, StatusUpdate(bin_id=bins.bins[key], fill_level=level)
            )
        items = [
            DisposalItem(
                event_id=f"b{n}",
                card=CARDS[hh],
                bin_id=bins.bins["smart"],
                weight_kg=weight,
                occurred_at=now - dt.timedelta(minutes=30 - n),
                grade=GradeInline(result="correct") if n == 0 else None,
            )
            for n, (hh, weight) in enumerate((("h1", 1.2), ("h2", 2.5), ("h1", 45.0)))
        ]
        waste_service.ingest(db, system, items)
        plan = waste_service.make_plan(db, None, site.world.places["c1"], time_limit_s=0.2)
        db.commit()
        yield bins, plan.id
    engine.dispose()


def test_inspector_grades_and_waste_pages_are_accessible(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: tuple[Site, int],
) -> None:
    bins, plan_id = seeded
    tab = visit({"width": 360, "height": 740})
    tab.login("pm1")
    tab.goto(f"/console/sorting-check?bin={bins.bins['smart']}")
    tab.submit('main .grade-form button[value="correct"]')
    assert tab.page.locator(".notice").count() == 1
    tab.check("zh")
    paths = [
        "/console/waste",
        "/console/waste/plan",
        f"/console/waste/plans/{plan_id}/sheet",
        "/console/waste/rates",
        "/console/sorting-check",
        f"/console/sorting-check?bin={bins.bins['smart']}",
    ]
    _three_ways(tab, paths)
    resident = visit()
    resident.login("alice")
    _three_ways(resident, ["/me/sorting"])
    _assert_clean(tab)
    _assert_clean(resident)
