"""Suggestion pages in a real Chromium: a resident proposes (one question per screen in elder
mode) and supports, staff answer; every page passes axe, in Chinese, English and elder mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from linli.core.db import make_engine, make_sessionmaker
from tests.proposal.conftest import make_proposal
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
    """A suggestion that is owed an answer and one whose text is hidden."""

    due: int
    hidden: int


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    from linli.proposal import service
    from tests.proposal.conftest import actor_of

    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        due = make_proposal(db, site.world, title="小区门口加装长椅", threshold=1)
        service.support(db, actor_of(db, site.world, "bob"), due)
        hidden = make_proposal(db, site.world, title="不当内容")
        service.hide(db, actor_of(db, site.world, "staff1"), hidden, "含有人身攻击")
        db.commit()
    yield Seeded(due, hidden)
    engine.dispose()


def test_resident_pages_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("bob")
    paths = ["/proposals", f"/proposals/{seeded.due}", f"/proposals/{seeded.hidden}"]

    def propose(mode: str) -> None:
        tab.goto("/me/proposals/new")
        tab.check(mode)
        if mode == "elder":
            # One question per screen: the place, then the title, then the text.
            assert tab.page.locator("#f-title").count() == 0
            tab.page.select_option("#f-place_id", index=1)
            tab.submit('main form button[type="submit"]')
            tab.check(mode)
            tab.page.fill("#f-title", "x")
            tab.submit('main form button[type="submit"]')
            assert tab.page.locator("#f-title-error").count() == 1
            tab.check(mode)
            tab.page.fill("#f-title", f"增加夜间照明（{mode}）")
            tab.submit('main form button[type="submit"]')
            assert tab.page.locator("#f-title").count() == 0
            tab.check(mode)
        else:
            tab.submit('main form button[type="submit"]')
            assert tab.page.locator("#f-title-error").count() == 1
            tab.check(mode)
            tab.page.select_option("#f-place_id", index=1)
            tab.page.fill("#f-title", f"增加夜间照明（{mode}）")
        tab.page.fill("#f-body", "晚上小路太黑，建议增加几盏路灯。")
        tab.submit('main form button[type="submit"]')
        assert f"增加夜间照明（{mode}）" in tab.page.inner_text("h1")
        tab.check(mode)

    _three_ways(tab, paths, propose)
    _assert_clean(tab)


def test_staff_pages_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("staff1")
    paths = [
        "/console/proposals",
        f"/console/proposals/{seeded.due}",
        f"/console/proposals/{seeded.hidden}",
    ]

    def answer_error(mode: str) -> None:
        tab.goto(f"/console/proposals/{seeded.due}")
        tab.page.fill("#f-text", "短")
        tab.submit('form[action$="/answer"] button[type="submit"]')
        assert tab.page.locator("#f-text-error").count() == 1
        tab.check(mode)

    _three_ways(tab, paths, answer_error)
    tab.page.fill("#f-text", "已安排下月在门口加装两张长椅。")
    tab.submit('form[action$="/answer"] button[type="submit"]')
    tab.goto(f"/proposals/{seeded.due}")
    assert "已安排下月在门口加装两张长椅" in tab.page.inner_text("main")
    tab.check("elder")
    _assert_clean(tab)
