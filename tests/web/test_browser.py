"""Every page in a real Chromium, as people use it.

For each kind of user, every page they can reach is checked in Chinese, in English and in elder
mode (长辈版), switched through the header buttons: axe-core finds no serious or critical WCAG
2.2 AA violation; controls are at least 44 x 44 px; elder mode keeps every text at 18 px or more
with line height of at least 1.3 and every control at least 60 x 60 px; the largest text size
makes body text 30 px or more; and nothing scrolls sideways at 320 px width.
"""

from __future__ import annotations

import shutil
import socket
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy.engine import make_url

from linli.app import create_app
from linli.config import Settings
from tests.conftest import PASSWORD, TEST_SECRET, Template, World

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
# htmx is copied from node_modules by `make venv`; pages work without it.
HTMX = ROOT / "src" / "linli" / "web" / "static" / "vendor" / "htmx.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
NARROW = {"width": 320, "height": 800}
WAIT_MS = 15_000
# Chromium logs a page answered with one of these as a console error; they are expected here
# (a refused page, a form sent back with its errors, a wrong password).
EXPECTED_STATUS_LOGS = tuple(
    f"Failed to load resource: the server responded with a status of {code} "
    for code in (401, 403, 422)
)

AXE_RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa']},
    resultTypes: ['violations'],
  });
  return result.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => `${v.impact} ${v.id} (${v.help}): ` +
               v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""

# Elder-mode rules (MIIT 2021 §1.1, §1.2, §2.1): measured on what is actually rendered.
ELDER_RULES = """() => {
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 &&
           s.visibility !== 'hidden' && s.display !== 'none';
  };
  const name = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    ' "' + (el.innerText || el.value || '').trim().slice(0, 40) + '"';
  for (const el of document.body.querySelectorAll('*')) {
    if (['SCRIPT', 'STYLE', 'OPTION', 'TEMPLATE', 'NOSCRIPT'].includes(el.tagName)) continue;
    const ownText = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || !shown(el)) continue;
    const s = getComputedStyle(el);
    const size = parseFloat(s.fontSize);
    const line = s.lineHeight === 'normal' ? 0 : parseFloat(s.lineHeight);
    if (size < 18) problems.push(`text ${size}px < 18px: ${name(el)}`);
    if (line / size < 1.3) {
      problems.push(`line height ${s.lineHeight} < 1.3 x ${size}px: ${name(el)}`);
    }
  }
  for (const p of document.querySelectorAll('main p')) {
    if (!shown(p) || !p.nextElementSibling) continue;
    const s = getComputedStyle(p);
    if (parseFloat(s.marginBottom) + 0.5 < 1.3 * parseFloat(s.lineHeight)) {
      problems.push(`paragraph spacing ${s.marginBottom} < 1.3 x ${s.lineHeight}: ${name(p)}`);
    }
  }
  const controls = 'a, button, input, select, textarea, [role=button]';
  for (const el of document.body.querySelectorAll(controls)) {
    if (el.type === 'hidden' || !shown(el)) continue;
    const r = el.getBoundingClientRect();
    if (r.width < 59.5 || r.height < 59.5) {
      problems.push(`target ${Math.round(r.width)}x${Math.round(r.height)} < 60x60: ${name(el)}`);
    }
  }
  return problems;
}"""

# Normal mode: controls at least 44 x 44 px. A link inside a sentence is exempt (WCAG 2.5.8);
# a checkbox counts together with its label, which toggles it too.
NORMAL_TARGETS = """() => {
  const problems = [];
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    const s = getComputedStyle(el);
    return r.width > 1 && r.height > 1 && r.bottom > 0 && r.right > 0 &&
           s.visibility !== 'hidden' && s.display !== 'none';
  };
  for (const el of document.body.querySelectorAll('a, button, input, select, textarea')) {
    if (el.type === 'hidden' || !shown(el)) continue;
    if (el.tagName === 'A' &&
        [...el.parentElement.childNodes].some(n => n.nodeType === 3 && n.textContent.trim())) {
      continue;
    }
    let r = el.getBoundingClientRect();
    if ((el.type === 'checkbox' || el.type === 'radio') && el.labels.length) {
      const l = el.labels[0].getBoundingClientRect();
      r = {width: Math.max(r.right, l.right) - Math.min(r.left, l.left),
           height: Math.max(r.bottom, l.bottom) - Math.min(r.top, l.top)};
    }
    if (r.width < 43.5 || r.height < 43.5) {
      const text = (el.innerText || el.value || '').trim().slice(0, 40);
      problems.push(`target ${Math.round(r.width)}x${Math.round(r.height)} < 44x44: ` +
                    `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''} "${text}"`);
    }
  }
  return problems;
}"""

SIDEWAYS = """() => {
  const d = document.documentElement;
  return d.scrollWidth > d.clientWidth ? `${d.scrollWidth}px wide at ${d.clientWidth}px` : '';
}"""

BODY_SIZE = "() => parseFloat(getComputedStyle(document.body).fontSize)"


# --- the server and the browser ---------------------------------------------------------------


@dataclass
class Site:
    """A running Linli on a loopback port, with the test world's ids."""

    base: str
    world: World
    database: str = ""  # the server's SQLAlchemy URL, for tests that add data beside the pages


@pytest.fixture(scope="module")
def site(
    sqlite_template: Template,
    tmp_path_factory: pytest.TempPathFactory,
    site_settings: dict[str, Any],
) -> Iterator[Site]:
    """A real uvicorn server in a thread, on a copy of the SQLite test template."""
    data_dir = tmp_path_factory.mktemp("browser")
    source = make_url(sqlite_template.url).database
    assert source is not None
    shutil.copyfile(source, data_dir / "linli.db")
    settings = Settings(
        database_url=f"sqlite:///{data_dir / 'linli.db'}",
        data_dir=data_dir,
        secret_key=TEST_SECRET,  # type: ignore[arg-type]  # pydantic coerces str to SecretStr
        base_url="http://127.0.0.1",
        log_format="text",
        # Staff log in with a password only here; tests/account/test_mfa.py covers the second step.
        mfa_required_for_staff=False,
        **site_settings,
    )
    app = create_app(settings)
    # Listening before the server starts: early requests wait in the backlog, no polling.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="off", log_config=None
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    with urllib.request.urlopen(f"{base}/healthz", timeout=30) as response:  # noqa: S310  # loopback
        assert response.status == 200
    yield Site(base, sqlite_template.world, settings.database_url)
    server.should_exit = True
    thread.join(timeout=15)
    sock.close()
    app.state.engine.dispose()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's Chromium is not installed (apt-get install chromium)")
    if not AXE.exists():
        pytest.skip("axe-core is missing: run `npm ci` (node_modules/axe-core/axe.min.js)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class Visit:
    """One person's browser tab, and what went wrong on the way."""

    page: Any
    site: Site
    problems: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return self.site.base + path

    def goto(self, path: str) -> None:
        response = self.page.goto(self.url(path), wait_until="load")
        assert response is not None
        if response.status >= 500:
            self.problems.append(f"{path}: HTTP {response.status}")

    def submit(self, selector: str) -> None:
        """Press a submit button as a person would and wait for the next page."""
        with self.page.expect_navigation(wait_until="load"):
            self.page.click(selector)

    def lang(self) -> str:
        return str(self.page.evaluate("() => document.documentElement.lang"))

    def check(self, mode: str, *, narrow: bool = True) -> None:
        """Accessibility (axe), elder-mode measurements and reflow of the current page.

        axe runs in Chinese and in elder mode; the English page is the same template with other
        words (every message has both translations: tests/web/test_i18n.py), so its structure,
        names and contrast are those already checked, and axe is the slowest part of a visit.
        Target sizes, elder-mode rules and reflow are measured in every mode.
        """
        where = f"[{mode}] {self.page.url.removeprefix(self.site.base)}"
        if mode != "en":
            self.problems += [f"{where}: {v}" for v in self.page.evaluate(AXE_RUN)]
        rules = ELDER_RULES if mode.startswith("elder") else NORMAL_TARGETS
        self.problems += [f"{where}: {p}" for p in self.page.evaluate(rules)]
        if narrow:
            size = self.page.viewport_size
            self.page.set_viewport_size(NARROW)
            sideways = self.page.evaluate(SIDEWAYS)
            if sideways:
                self.problems.append(f"{where}: scrolls sideways at 320px: {sideways}")
            self.page.set_viewport_size(size)
        self.problems += [f"{where}: console: {c}" for c in self.console]
        self.console.clear()

    def visit_all(self, paths: list[str], mode: str) -> None:
        for path in paths:
            self.goto(path)
            self.check(mode)

    def switch_language(self, code: str) -> None:
        self.submit(f'header.site button[name="lang"][value="{code}"]')

    def switch_elder(self, on: bool) -> None:
        self.submit(f'header.site button[name="elder"][value="{"1" if on else "0"}"]')

    def login(self, username: str, *, elder: bool = False) -> None:
        self.goto("/login")
        self.page.fill("#f-username", username)
        if elder:  # one question per screen
            self.submit('main form button[type="submit"]')
            self.page.fill("#f-password", PASSWORD)
        else:
            self.page.fill("#f-password", PASSWORD)
        self.submit('main form button[type="submit"]')


def _console_error(tab: Visit, message: Any) -> None:
    if message.type != "error" or message.text.startswith(EXPECTED_STATUS_LOGS):
        return
    where = f"{message.text} {message.location.get('url', '')}"
    if not HTMX.exists() and "/static/vendor/htmx.min.js" in where:
        return  # not installed here; the pages do not need it
    tab.console.append(message.text)


def _only_loopback(route: Any) -> None:
    if route.request.url.startswith(("http://127.0.0.1:", "data:", "about:")):
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def visit(browser: Any, site: Site) -> Iterator[Callable[..., Visit]]:
    contexts: list[Any] = []

    def open_tab(viewport: dict[str, int] = DESKTOP) -> Visit:
        context = browser.new_context(locale="zh-CN", viewport=viewport)
        context.add_init_script(path=str(AXE))
        context.route("**/*", _only_loopback)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        page = context.new_page()
        tab = Visit(page, site)
        page.on("console", lambda m: _console_error(tab, m))
        page.on("pageerror", lambda e: tab.console.append(str(e)))
        return tab

    yield open_tab
    for context in contexts:
        context.close()


def _three_ways(tab: Visit, paths: list[str], extra: Callable[[str], None] | None = None) -> None:
    """Check ``paths`` in Chinese, in English and in elder mode, switching like a person."""
    assert tab.lang() == "zh-Hans"
    tab.visit_all(paths, "zh")
    if extra:
        extra("zh")
    tab.switch_language("en")
    assert tab.lang() == "en"
    tab.visit_all(paths, "en")
    if extra:
        extra("en")
    tab.switch_language("zh_Hans_CN")
    tab.switch_elder(True)
    assert tab.page.evaluate("() => document.documentElement.className").startswith("elder")
    tab.page.set_viewport_size(PHONE)
    tab.visit_all(paths, "elder")
    if extra:
        extra("elder")


def _assert_clean(tab: Visit) -> None:
    assert tab.problems == [], "\n".join(tab.problems)


# --- the tests -------------------------------------------------------------------------------


FOCUSED = """() => {
  const el = document.activeElement;
  const r = el.getBoundingClientRect();
  const s = getComputedStyle(el);
  return [el.className || el.id, r.top >= 0 && r.bottom <= innerHeight, s.outlineStyle];
}"""


def test_public_pages_and_elder_login(visit: Callable[..., Visit]) -> None:
    tab = visit()
    tab.goto("/")
    # Keyboard: the first Tab shows the skip link with a focus ring; Enter moves to the content.
    tab.page.keyboard.press("Tab")
    assert tab.page.evaluate(FOCUSED) == ["skip", True, "solid"]
    tab.page.keyboard.press("Enter")
    assert tab.page.evaluate(FOCUSED)[0] == "main"

    def wrong_password(mode: str) -> None:
        tab.goto("/login")
        tab.page.fill("#f-username", "bob")
        if mode == "elder":
            tab.submit('main form button[type="submit"]')
        tab.page.fill("#f-password", "not-bobs-password")
        tab.submit('main form button[type="submit"]')
        assert tab.page.locator('[role="alert"]').count() >= 1
        tab.check(mode)

    _three_ways(tab, ["/", "/login", "/privacy", "/help"], wrong_password)
    # Elder mode asks for the username, then the password, and lands on the resident's home.
    tab.login("bob", elder=True)
    assert tab.page.url == tab.url("/me")
    tab.check("elder")
    _assert_clean(tab)


def test_resident_pages(visit: Callable[..., Visit]) -> None:
    tab = visit()
    tab.login("alice")
    assert tab.page.url == tab.url("/me")
    pages = ["/me", "/me/profile", "/me/data", "/me/settings", "/console"]

    def states(mode: str) -> None:
        tab.goto("/me/profile")
        tab.page.fill("#f-phone", "12ab")
        tab.submit('form[action="/me/profile/phone"] button[type="submit"]')
        assert tab.page.locator("#f-phone-error").count() == 1
        tab.check(mode)
        tab.submit('form[action="/me/profile/reveal"] button[type="submit"]')
        tab.check(mode)

    _three_ways(tab, pages, states)
    # The largest text size, chosen in the settings.
    tab.goto("/me/settings")
    tab.submit('main button[name="size"][value="largest"]')
    for path in pages:
        tab.goto(path)
        size = tab.page.evaluate(BODY_SIZE)
        if size < 30:
            tab.problems.append(f"[largest] {path}: body text {size}px < 30px")
        tab.check("elder-largest")
    _assert_clean(tab)


def test_staff_pages_reveal_and_assisted_mode(visit: Callable[..., Visit]) -> None:
    tab = visit()
    tab.login("staff1")
    assert tab.page.url == tab.url("/console")
    alice = tab.site.world.residents["alice"]
    detail = f"/console/residents/{alice}"
    pages = [
        "/console",
        "/console/residents",
        f"/console/residents?place_id={tab.site.world.places['c1-b1']}",
        detail,
        "/console/places",
        "/me/settings",
    ]

    def states(mode: str) -> None:
        tab.goto("/console/residents")
        tab.page.fill("#f-name", "王")
        tab.submit('form[role="search"] button[type="submit"]')
        assert tab.page.locator("tbody tr").count() == 2
        tab.check(mode)
        tab.page.fill("#f-phone", "12ab")
        tab.submit('form[role="search"] button[type="submit"]')
        assert tab.page.locator("#f-phone-error").count() == 1
        tab.check(mode)
        tab.goto(detail)
        tab.page.check('input[name="fields"][value="phone"]')
        tab.submit('form[action$="/reveal"] button[type="submit"]')  # no reason given
        assert tab.page.locator("#reveal-reason-error").count() == 1
        tab.check(mode)
        tab.page.fill("#reveal-reason", "回电确认漏水报修")
        tab.submit('form[action$="/reveal"] button[type="submit"]')
        assert "13812345678" in tab.page.inner_text("main")
        tab.check(mode)
        tab.page.check("#assist-present")
        tab.page.fill("#assist-reason", "居民到服务站办理")
        tab.submit('form[action$="/assist"] button[type="submit"]')
        assert tab.page.url == tab.url("/me")
        assert tab.page.locator(".assist-banner").count() == 1
        tab.check(mode)
        for path in ("/me/profile", "/me/data"):
            tab.goto(path)
            tab.check(mode)
        tab.submit('.assist-banner button[type="submit"]')
        assert tab.page.locator(".assist-banner").count() == 0

    _three_ways(tab, pages, states)
    _assert_clean(tab)


def test_admin_and_auditor_pages(visit: Callable[..., Visit]) -> None:
    admin = visit()
    admin.login("admin1")

    def bad_account(mode: str) -> None:
        admin.goto("/console/accounts")
        admin.page.fill("#f-username", "x")
        admin.submit('form[action="/console/accounts"] button[type="submit"]')
        assert admin.page.locator("#f-username-error").count() == 1
        admin.check(mode)

    _three_ways(admin, ["/console", "/console/accounts", "/console/audit"], bad_account)
    _assert_clean(admin)

    auditor = visit()
    auditor.login("auditor1")
    _three_ways(auditor, ["/console", "/console/audit", "/console/audit?action=resident."])
    _assert_clean(auditor)
