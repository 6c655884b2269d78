"""Notices and emergency check-ins in a real Chromium: a live board, answers, accessibility.

A check-in is started while the staff board is open; a resident answers in their own browser
and the board's counts and lists change without a reload. Every page of the domain passes the
site's checks (axe-core, target sizes, elder-mode measurements, no sideways scrolling) in
Chinese, in English and in elder mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from linli.account import service as account_service
from linli.core.db import make_engine, make_sessionmaker
from linli.core.events import hub
from linli.notice import service as notice_service
from linli.notice.schemas import BroadcastCreate, NoticeCreate
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
    notice: int
    broadcast: int
    maker: Callable[[], object]


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        staff = account_service.build_actor(
            db, account_service.get_account(db, site.world.accounts["staff1"]), via="cli"
        )
        notice = notice_service.publish_notice(
            db,
            staff,
            NoticeCreate(
                place_id=site.world.places["c1"],
                title="本周六社区义诊",
                body="上午九点在活动室。\n请带上医保卡。",
                pinned=True,
            ),
        )
        broadcast = notice_service.start_broadcast(
            db,
            staff,
            BroadcastCreate(
                place_id=site.world.places["c1"],
                headline="燃气泄漏：请确认平安",
                instruction="请关闭燃气阀门，打开窗户。",
            ),
        )
        db.commit()
        seeded = Seeded(notice.id, broadcast.id, maker)
    yield seeded
    engine.dispose()


def _listening(count: int) -> None:
    """Wait until the board's event stream is subscribed (the server runs in this process)."""
    deadline = time.monotonic() + 15
    while hub.subscribers(notice_service.TOPIC) < count:
        assert time.monotonic() < deadline, "the board never opened its event stream"
        time.sleep(0.02)


def test_the_open_board_counts_answers_live(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    board = visit()
    board.login("staff1")
    before = hub.subscribers(notice_service.TOPIC)
    board.goto(f"/console/emergencies/{seeded.broadcast}")
    page = board.page
    safe_before = int(page.inner_text("#em-count-safe"))
    waiting_before = int(page.inner_text("#em-count-no_answer"))
    _listening(before + 1)
    page.evaluate("() => { window.notReloaded = true; }")

    # The resident answers in their own browser, in elder mode, with one big button.
    resident = visit()
    resident.login("alice", elder=False)
    resident.switch_elder(True)
    resident.goto(f"/me/emergencies/{seeded.broadcast}")
    assert "燃气泄漏：请确认平安" in resident.page.inner_text("h1")
    resident.check("elder")
    resident.submit("button.answer-safe")
    assert "done=answered" in resident.page.url
    assert resident.page.locator("#my-answer").count() == 1
    resident.check("elder")

    page.wait_for_function(
        f"() => document.getElementById('em-count-safe').textContent.trim() === '{safe_before + 1}'"
    )
    assert int(page.inner_text("#em-count-no_answer")) == waiting_before - 1
    alice = seeded_resident(board, "alice")
    page.wait_for_selector(f'#resident-{alice}[data-status="safe"]')
    assert page.evaluate("() => window.notReloaded") is True
    page.wait_for_function("() => document.getElementById('em-announce').textContent.length > 0")

    # Staff record a neighbour's answer from the board: a plain form.
    bob = seeded_resident(board, "bob")
    board.submit(f'#resident-{bob} button[value="need_help"]')
    assert "done=recorded" in page.url
    assert page.locator(f'#resident-{bob}[data-status="need_help"]').count() == 1
    board.check("zh-live")
    _assert_clean(board)
    _assert_clean(resident)


def seeded_resident(tab: Visit, key: str) -> int:
    return tab.site.world.residents[key]


def test_notice_pages_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    resident = visit()
    resident.login("bob")
    _three_ways(
        resident,
        ["/me/notices", f"/me/notices/{seeded.notice}", f"/me/emergencies/{seeded.broadcast}"],
    )
    _assert_clean(resident)
    staff = visit()
    staff.login("staff1")

    def bad_form(mode: str) -> None:
        staff.goto("/console/notices/new")
        staff.submit('main form button[type="submit"]')
        assert staff.page.locator("#f-title-error").count() == 1
        staff.check(mode)

    _three_ways(
        staff,
        [
            "/console/notices",
            "/console/notices/new",
            "/console/emergencies",
            "/console/emergencies/new",
            f"/console/emergencies/{seeded.broadcast}",
        ],
        bad_form,
    )
    _assert_clean(staff)
