"""Logging out is always at hand (A12), and the browser keeps no personal data (A21, M7).

Every full HTML page a logged-in person can open shows a logout button: a form that posts to
/logout with a submit button that is not hidden. Pages are found from the app's routes, so a
new page is checked without being listed here. And in a real Chromium, after a resident has
looked at their own pages (their phone number shown in full among them), neither
``localStorage``, ``sessionStorage`` nor the cookies scripts can read hold their name, phone or
ID number.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from linli.case import service as case_service
from linli.core.db import make_engine, make_sessionmaker
from linli.web.errors import MACHINE_PREFIXES
from tests.conftest import _valid_id
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Visit,
    _assert_clean,
    browser,
    site,
    visit,
)

# What the test world (tests/conftest.py) records about alice.
ALICE_NAME = "王小丽"
ALICE_PHONE = "13812345678"
ALICE_ID_NUMBER = _valid_id("110101199003071234")

# Elements whose content is not rendered, whatever it holds.
NOT_RENDERED = frozenset({"template", "noscript", "script", "style"})
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


# --- logout on every page ---------------------------------------------------------------------


class _EndEventStreams:
    """Ends a text/event-stream response right after its headers.

    A stream lasts as long as its client, and the test client waits for the end of a response
    before it answers: this makes the stream's end look like the client going away, so a page
    walk can meet a stream and move on.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        ended = False

        async def guarded_send(message: Message) -> None:
            nonlocal ended
            if ended:
                return
            await send(message)
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/event-stream"):
                    ended = True
                    await send({"type": "http.response.body", "body": b"", "more_body": False})

        await self.app(scope, receive, guarded_send)


class _LogoutControls(HTMLParser):
    """Finds whether a document is a full page and whether it has a visible logout button."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.full_page = False
        self.visible_logout = False
        # Open elements, each with whether it hides what it holds.
        self._open: list[tuple[str, bool]] = []
        self._logout_form_depth: int | None = None
        self._button_text: list[str] | None = None

    def _hidden(self) -> bool:
        return any(hides for _tag, hides in self._open)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "html":
            self.full_page = True
        hides = (
            tag in NOT_RENDERED
            or "hidden" in a
            or a.get("aria-hidden") == "true"
            or (tag == "dialog" and "open" not in a)
            or (tag == "input" and a.get("type") == "hidden")
        )
        if tag == "form":
            posts_to_logout = (a.get("method") or "").lower() == "post" and (
                a.get("action") or ""
            ).split("?")[0] == "/logout"
            if posts_to_logout and not self._hidden() and not hides:
                self._logout_form_depth = len(self._open)
        in_logout_form = self._logout_form_depth is not None and not self._hidden() and not hides
        if in_logout_form and tag == "input" and a.get("type") == "submit":
            self.visible_logout = self.visible_logout or bool((a.get("value") or "").strip())
        if in_logout_form and tag == "button" and (a.get("type") or "submit") == "submit":
            self._button_text = []
        if tag not in VOID:
            self._open.append((tag, hides))

    def handle_endtag(self, tag: str) -> None:
        if tag == "button" and self._button_text is not None:
            if "".join(self._button_text).strip():
                self.visible_logout = True
            self._button_text = None
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break
        if self._logout_form_depth is not None and len(self._open) <= self._logout_form_depth:
            self._logout_form_depth = None

    def handle_data(self, data: str) -> None:
        if self._button_text is not None and not self._hidden():
            self._button_text.append(data)


def _page_paths(app: FastAPI) -> list[str]:
    """GET routes of Linli's own without path parameters that are not for programs.

    FastAPI's API documentation (Swagger UI and its OAuth redirect page) is not a Linli page.
    """
    paths = set()
    for route in app.routes:
        if not isinstance(route, Route) or "GET" not in (route.methods or set()):
            continue
        if "{" in route.path or route.path.startswith(MACHINE_PREFIXES):
            continue
        if not route.endpoint.__module__.startswith("linli."):
            continue
        paths.add(route.path)
    return sorted(paths)


def _pages_without_logout(client: TestClient, paths: list[str]) -> tuple[list[str], list[str]]:
    """(full HTML pages that were checked, those of them without a visible logout button)."""
    checked: list[str] = []
    lacking: list[str] = []
    for path in paths:
        response = client.get(path, follow_redirects=False)
        content_type = response.headers.get("content-type", "")
        downloaded = "attachment" in response.headers.get("content-disposition", "")
        if response.status_code != 200 or not content_type.startswith("text/html") or downloaded:
            continue
        parser = _LogoutControls()
        parser.feed(response.text)
        parser.close()
        if not parser.full_page:  # a fragment that htmx puts into a page that has the button
            continue
        checked.append(path)
        if not parser.visible_logout:
            lacking.append(path)
    return checked, lacking


def test_logout_is_on_every_page(app: FastAPI, make_client: Callable[..., TestClient]) -> None:
    app.add_middleware(_EndEventStreams)
    paths = _page_paths(app)
    problems: list[str] = []
    for username, home in (("alice", "/me"), ("staff1", "/console")):
        checked, lacking = _pages_without_logout(make_client(username), paths)
        # The walk reached the person's own pages: a login that silently failed would leave
        # only public pages, which have no logout and would all be skipped as refused.
        assert home in checked, f"{username}: {home} was not checked ({checked})"
        assert len(checked) >= 10, f"{username}: only {checked} were checked"
        problems += [f"{username}: {path}" for path in lacking]
    # The parser does see a missing button: the anonymous home page has none.
    anonymous, lacking = _pages_without_logout(make_client(), ["/"])
    assert anonymous == lacking == ["/"]
    assert problems == [], "pages without a visible logout button:\n" + "\n".join(problems)


# --- no personal data in browser storage ------------------------------------------------------

BROWSER_STATE = """() => {
  const dump = (store) => Object.keys(store).map(k => `${k}=${store.getItem(k)}`);
  return {local: dump(localStorage), session: dump(sessionStorage), cookie: document.cookie};
}"""


def _report_a_case(tab: Visit) -> str:
    """Reports a problem through the form; the case page's path."""
    engine = make_engine(tab.site.database)
    try:
        with make_sessionmaker(engine)() as db:
            case_service.ensure_categories(db)
            db.commit()
            category = case_service.categories(db)[0].id
    finally:
        engine.dispose()
    tab.goto("/cases/new")
    tab.page.select_option("#f-category_id", str(category))
    tab.page.fill("#f-description", "楼道灯坏了")
    tab.submit('main form button[type="submit"]')
    match = re.search(r"/cases/\d+", tab.page.url)
    assert match, tab.page.url
    return match.group(0)


@pytest.mark.browser
def test_no_personal_data_in_browser_storage(
    visit: Callable[..., Visit],  # noqa: F811
) -> None:
    tab = visit()
    tab.login("alice")
    seen: list[tuple[str, dict[str, Any]]] = []

    def look(path: str) -> None:
        seen.append((path, tab.page.evaluate(BROWSER_STATE)))

    for path in ("/me", "/me/data", "/me/privacy", "/me/profile"):
        tab.goto(path)
        look(path)
    tab.submit('form[action="/me/profile/reveal"] button[type="submit"]')
    # The page did show what must not be kept: the test would see it if a script stored it.
    shown = tab.page.inner_text("main")
    assert ALICE_PHONE in shown
    assert ALICE_ID_NUMBER in shown
    look("/me/profile (revealed)")
    case = _report_a_case(tab)
    look(case)
    tab.goto("/me/cases")
    look("/me/cases")
    assert case in tab.page.content()

    personal = (ALICE_NAME, ALICE_PHONE, ALICE_ID_NUMBER)
    leaks = [
        f"{path}: {where} holds {value!r}"
        for path, state in seen
        for where, held in (
            ("localStorage", state["local"]),
            ("sessionStorage", state["session"]),
            ("document.cookie", [state["cookie"]]),
        )
        for entry in held
        for value in personal
        if value in entry
    ]
    assert leaks == [], "\n".join(leaks)
    # The session cookie is HttpOnly: scripts see only the display preferences.
    cookies = {c["name"]: c for c in tab.page.context.cookies()}
    readable = {part.split("=", 1)[0].strip() for part in seen[-1][1]["cookie"].split(";")}
    http_only = {name for name, c in cookies.items() if c["httpOnly"]}
    assert http_only, f"no HttpOnly cookie after login: {sorted(cookies)}"
    assert not (http_only & readable), f"scripts read HttpOnly cookies: {http_only & readable}"
    _assert_clean(tab)
