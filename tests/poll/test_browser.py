"""Poll pages in a real Chromium: a resident votes (one question per screen) and gets a receipt;
the list, vote, receipt check and results pages and the staff console pass the site's checks
(axe-core, target sizes, elder-mode measurements, no sideways scrolling) in Chinese, in
English and in elder mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from linli.core.db import make_engine, make_sessionmaker
from linli.poll import service as poll_service
from tests.poll.helpers import actor, make_poll, option_ids
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
    open_poll: int
    closed_poll: int
    draft_poll: int


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        open_poll = make_poll(db, site.world)
        closed = make_poll(db, site.world, public_results=True)
        staff = actor(db, site.world, "staff1")
        poll_service.vote(db, actor(db, site.world, "bob"), closed.id, option_ids(db, closed.id)[0])
        poll_service.close_poll(db, staff, closed.id)
        draft = make_poll(db, site.world, open_it=False)
        db.commit()
        seeded = Seeded(open_poll.id, closed.id, draft.id)
    yield seeded
    engine.dispose()


def test_resident_votes_and_pages_are_accessible(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("alice")
    tab.goto(f"/polls/{seeded.open_poll}")
    tab.page.locator('input[name="option_id"]').first.check()
    tab.submit('main form button[type="submit"]')
    receipt = tab.page.inner_text("#receipt").strip()
    assert len(receipt) >= 20
    tab.check("zh")
    paths = [
        "/polls",
        f"/polls/{seeded.open_poll}",
        f"/polls/{seeded.open_poll}/check",
        f"/polls/{seeded.closed_poll}/results",
    ]

    def check_receipt(mode: str) -> None:
        tab.goto(f"/polls/{seeded.open_poll}/check")
        tab.page.fill("#f-receipt", receipt)
        tab.submit('main form button[type="submit"]')
        assert tab.page.locator(".notice").count() >= 1
        tab.check(mode)

    _three_ways(tab, paths, check_receipt)
    _assert_clean(tab)


def test_staff_console_is_accessible(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("staff1")
    paths = [
        "/console/polls",
        "/console/polls/new",
        f"/console/polls/{seeded.draft_poll}",
        f"/console/polls/{seeded.open_poll}",
        f"/console/polls/{seeded.closed_poll}",
        f"/polls/{seeded.closed_poll}/results",
    ]
    _three_ways(tab, paths)
    _assert_clean(tab)
