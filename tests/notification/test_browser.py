"""The bell and the notification pages in a real Chromium: the unread count changes live when a
notification commits, and the pages pass the site's checks (axe-core, target sizes, elder-mode
measurements, no sideways scrolling) in Chinese, in English and in elder mode."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from linli.core.db import make_engine, make_sessionmaker, session_scope
from tests.notification.conftest import alarm
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


def _notify(server: Site, key: str, to: tuple[str, ...], severity: str = "major") -> None:
    engine = make_engine(server.database)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            alarm(db, server.world, key, to=to, severity=severity)
    finally:
        engine.dispose()


def test_bell_counts_live_and_notification_pages(visit: Callable[..., Visit]) -> None:  # noqa: F811
    tab = visit()
    tab.login("bob")
    bell = "header.site a[data-bell]"
    tab.page.wait_for_selector(f'{bell}[data-unread="0"]')
    _notify(tab.site, "browser:1", ("bob",))
    # No reload: the count arrives over the event stream.
    tab.page.wait_for_selector(f'{bell}[data-unread="1"]')
    assert "1" in tab.page.inner_text(bell)
    tab.check("zh")

    def states(mode: str) -> None:
        tab.goto("/me/notifications")
        tab.page.fill("#f-email", "not-an-address")
        tab.submit('form[action="/me/notifications/preferences"] button[type="submit"]')
        assert tab.page.locator("#f-email-error").count() == 1
        tab.check(mode)

    _three_ways(tab, ["/me/notifications"], states)
    # Reading everything brings the bell back to no count.
    tab.goto("/me/notifications")
    tab.submit('form[action="/me/notifications/read-all"] button[type="submit"]')
    tab.page.wait_for_selector(f'{bell}[data-unread="0"]')
    assert tab.page.locator(f"{bell} .bell-count").count() == 0
    tab.check("elder")
    _assert_clean(tab)


def test_notification_console(visit: Callable[..., Visit]) -> None:  # noqa: F811
    admin = visit()
    admin.login("admin1")

    def bad_endpoint(mode: str) -> None:
        admin.goto("/console/notifications")
        admin.page.fill("#webhook-name", "Duty room")
        admin.page.fill("#webhook-url", "not a url")
        admin.submit('input[name="channel"][value="webhook"] ~ .actions button[type="submit"]')
        assert admin.page.locator("#webhook-url-error").count() == 1
        admin.check(mode)

    _three_ways(admin, ["/console/notifications", "/console/notifications?status="], bad_endpoint)
    _assert_clean(admin)
