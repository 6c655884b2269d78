"""A problem report end to end in a real Chromium: a resident reports it, staff triage, assign
and resolve it, the resident rates it. Every page passes the site's checks (axe-core, target
sizes, no sideways scrolling) in Chinese, in English, and in elder mode, where the report asks
one question per screen."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import select

from linli.case import service as case_service
from linli.case.models import Case
from linli.core.db import make_engine, make_sessionmaker
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    PHONE,
    Site,
    Visit,
    _assert_clean,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def categories(site: Site) -> Iterator[dict[str, int]]:  # noqa: F811
    engine = make_engine(site.database)
    with make_sessionmaker(engine)() as db:
        case_service.ensure_categories(db)
        db.commit()
        found = {c.code: c.id for c in case_service.categories(db)}
    yield found
    engine.dispose()


def _case(site: Site, case_id: int) -> Case:  # noqa: F811
    engine = make_engine(site.database)
    try:
        with make_sessionmaker(engine)() as db:
            case = db.scalars(select(Case).where(Case.id == case_id)).one()
            db.expunge(case)
            return case
    finally:
        engine.dispose()


def _case_id(tab: Visit) -> int:
    match = re.search(r"/cases/(\d+)", tab.page.url)
    assert match, tab.page.url
    return int(match.group(1))


def test_report_triage_assign_resolve_and_rate(
    visit: Callable[..., Visit],  # noqa: F811
    categories: dict[str, int],
) -> None:
    resident = visit()
    resident.login("alice")
    resident.goto("/me/cases")
    resident.check("zh")
    resident.page.click('main a.button[href="/cases/new"]')
    resident.page.wait_for_url("**/cases/new")
    resident.check("zh")
    # A mistake first: the error is text, tied to the field.
    resident.submit('main form button[type="submit"]')
    assert resident.page.locator("#f-category_id-error").count() == 1
    resident.check("zh")
    resident.page.select_option("#f-category_id", str(categories["light"]))
    resident.page.fill("#f-description", "3楼楼道灯不亮两天了")
    resident.submit('main form button[type="submit"]')
    case_id = _case_id(resident)
    assert "3楼楼道灯不亮两天了" in resident.page.inner_text("main")
    assert resident.page.locator('[role="status"]').count() >= 1
    resident.check("zh")

    staff = visit()
    staff.login("staff1")
    staff.goto("/console/cases")
    staff.check("zh")
    staff.page.click(f"#case-{case_id} a")
    staff.page.wait_for_url(f"**/console/cases/{case_id}")
    staff.check("zh")
    staff.submit('form[action$="/triage"] button')
    assert "done=triaged" in staff.page.url
    staff.page.select_option("#f-account_id", label="Pm1")
    staff.submit('form[action$="/assign"] button')
    assert "done=assigned" in staff.page.url
    staff.submit('form[action$="/resolve"] button')  # empty reply: refused, said in words
    assert staff.page.locator("#f-resolve-text-error").count() == 1
    staff.check("zh")
    staff.page.fill("#f-resolve-text", "已更换灯泡，请查看")
    staff.submit('form[action$="/resolve"] button')
    assert "done=resolved" in staff.page.url
    staff.check("zh")
    case = _case(staff.site, case_id)
    assert case.status == "resolved"
    assert case.assignee_account_id == staff.site.world.accounts["pm1"]

    resident.goto(f"/cases/{case_id}")
    assert "已更换灯泡，请查看" in resident.page.inner_text("#history + ol")
    resident.check("zh")
    resident.page.select_option("#f-rating", "5")
    resident.submit('form[action$="/rating"] button')
    assert "done=rated" in resident.page.url
    resident.check("zh")
    assert _case(resident.site, case_id).rating == 5

    # The same pages in English.
    resident.switch_language("en")
    resident.goto(f"/cases/{case_id}")
    assert "you said, we did" in resident.page.inner_text("main")
    resident.check("en")
    resident.goto("/me/cases")
    resident.check("en")
    staff.switch_language("en")
    staff.goto(f"/console/cases/{case_id}")
    staff.check("en")
    staff.goto("/console/cases")
    staff.check("en")
    _assert_clean(resident)
    _assert_clean(staff)


def test_elder_mode_report_one_question_per_screen(
    visit: Callable[..., Visit],  # noqa: F811
    categories: dict[str, int],
) -> None:
    tab = visit(PHONE)
    tab.login("bob")
    tab.switch_elder(True)
    assert tab.page.evaluate("() => document.documentElement.className").startswith("elder")
    tab.goto("/cases/new")
    questions = "main form :is(select, textarea, input:not([type=hidden]))"
    for step in ("category", "place", "description"):
        assert tab.page.locator(questions).count() == 1, step
        tab.check("elder")
        if step == "category":
            tab.page.select_option("#f-category_id", str(categories["rubbish"]))
        elif step == "description":
            tab.page.fill("#f-description", "2号垃圾桶满了没人清")
        tab.submit('main form button[type="submit"]')
    assert tab.page.locator(questions).count() == 0
    assert "2号垃圾桶满了没人清" in tab.page.inner_text("main")
    tab.check("elder")
    tab.submit('main form button[type="submit"]')
    case_id = _case_id(tab)
    tab.check("elder")
    assert _case(tab.site, case_id).reporter_resident_id == tab.site.world.residents["bob"]
    tab.goto("/me/cases")
    tab.check("elder")
    _assert_clean(tab)
