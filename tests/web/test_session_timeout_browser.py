"""The session-timeout warning in a real browser (A11; WCAG 2.2.1 Timing Adjustable).

The server here ends a session after one idle minute and warns 50 seconds before: the dialog
opens about ten seconds after a page loads, says how long is left, and "Stay logged in" pushes the
deadline back by a full minute. The status calls the dialog makes never count as activity.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Visit,
    _assert_clean,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser

IDLE_SECONDS = 60
WARN_SECONDS = 50
# The dialog opens IDLE - WARN seconds after the last activity; wait with a good margin.
OPENS_WITHIN_MS = (IDLE_SECONDS - WARN_SECONDS + 20) * 1000


@pytest.fixture(scope="module")
def site_settings() -> dict[str, Any]:
    return {"session_idle_minutes": 1, "session_warning_seconds": WARN_SECONDS}


def _status(tab: Visit) -> dict[str, int]:
    got = tab.page.evaluate(
        "() => fetch('/me/session/status', {headers: {Accept: 'application/json'}})"
        ".then(r => r.text())"
    )
    return dict(json.loads(got))


def test_the_warning_opens_before_the_idle_timeout_and_staying_extends(
    visit: Callable[..., Visit],  # noqa: F811
) -> None:
    tab = visit()
    tab.login("alice")
    dialog = tab.page.locator("dialog#session-timeout")
    assert not dialog.is_visible()
    dialog.wait_for(state="visible", timeout=OPENS_WITHIN_MS)
    # Focus is on the one simple action; the words say why and how long is left.
    assert tab.page.evaluate("() => document.activeElement.hasAttribute('data-stay')")
    assert "退出登录" in dialog.locator("#st-text").inner_text()
    assert "秒" in dialog.locator(".st-left").inner_text()
    tab.check("zh", narrow=False)
    # Asking how long is left does not count as activity.
    before = _status(tab)["idle_seconds"]
    assert before <= WARN_SECONDS
    assert _status(tab)["idle_seconds"] <= before

    tab.page.click("dialog#session-timeout button[data-stay]")
    dialog.wait_for(state="hidden")
    assert _status(tab)["idle_seconds"] > WARN_SECONDS
    # Escape is an answer too: it counts as "stay logged in", not as a way to hide the warning.
    dialog.wait_for(state="visible", timeout=OPENS_WITHIN_MS)
    tab.page.keyboard.press("Escape")
    dialog.wait_for(state="hidden")
    assert _status(tab)["idle_seconds"] > WARN_SECONDS
    _assert_clean(tab)


def test_elder_mode_english_and_logging_out_from_the_warning(
    visit: Callable[..., Visit],  # noqa: F811
) -> None:
    tab = visit()
    tab.login("bob")
    tab.switch_elder(True)
    tab.switch_language("en")
    dialog = tab.page.locator("dialog#session-timeout")
    dialog.wait_for(state="visible", timeout=OPENS_WITHIN_MS)
    assert "logged out in" in dialog.locator("#st-text").inner_text()
    tab.check("elder", narrow=True)
    tab.submit("dialog#session-timeout form button[type=submit]")
    assert tab.page.locator("header.site a[href='/login']").count() == 1
    _assert_clean(tab)
