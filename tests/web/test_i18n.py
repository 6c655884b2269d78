"""Every message has a Chinese translation, and pages come in the visitor's language."""

from __future__ import annotations

import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from fastapi.testclient import TestClient

from linli.web.errors import HTTP_TITLES
from tests.conftest import csrf_of

ROOT = Path(__file__).resolve().parents[2]
SRC = ROOT / "src" / "linli"
LOCALES = SRC / "web" / "locales"
# Expected failures carry messages that error pages and problem details translate.
ERROR_CLASSES = (
    "LinliError",
    "ValidationFailed",
    "NotAuthenticated",
    "PermissionDenied",
    "NotFound",
    "Conflict",
    "TooManyRequests",
    "CsrfFailed",
)
# Code whose errors reach only the command line, never a page or the API.
COMMAND_LINE_ONLY = ("cli.py", "demo/", "resident/importer.py", "core/")
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")

Msgid = str | tuple[str, ...]


def _extract(keywords: dict[str, object]) -> dict[Msgid, list[str]]:
    with (ROOT / "babel.cfg").open() as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    found: dict[Msgid, list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        SRC,
        method_map,
        options_map,
        keywords=keywords,  # type: ignore[arg-type]  # babel's keyword spec type is loose
    ):
        key: Msgid = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


def _messages_shown_to_people() -> dict[Msgid, list[str]]:
    """gettext calls everywhere, error messages from code that serves pages and the API."""
    found = _extract(dict(DEFAULT_KEYWORDS))
    errors = _extract(dict.fromkeys(ERROR_CLASSES))
    for msgid, places in errors.items():
        served = [p for p in places if not p.replace("\\", "/").startswith(COMMAND_LINE_ONLY)]
        if served:
            found.setdefault(msgid, []).extend(served)
    for title in HTTP_TITLES.values():
        found.setdefault(title, []).append("web/errors.py")
    return found


def _catalog(locale: str) -> Catalog:
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def test_every_message_shown_to_people_has_a_chinese_translation() -> None:
    catalog = _catalog("zh_Hans_CN")
    messages = _messages_shown_to_people()
    assert len(messages) > 300  # the extraction itself works
    missing = []
    for msgid, places in sorted(messages.items(), key=lambda kv: kv[1][0]):
        entry = catalog.get(msgid)
        strings = entry.string if entry is not None else ""
        values = strings if isinstance(strings, tuple) else (strings,)
        if entry is None or entry.fuzzy or not all(values):
            missing.append(f"{places[0]}: {msgid!r}")
    assert missing == [], "messages without a zh_Hans_CN translation:\n" + "\n".join(missing)


def test_translations_keep_every_placeholder() -> None:
    for locale in ("zh_Hans_CN", "en"):
        for message in _catalog(locale):
            if not message.id or not message.string:
                continue
            ids = message.id if isinstance(message.id, tuple) else (message.id,)
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            wanted = set(PLACEHOLDER.findall(ids[-1]))
            for text in strings:
                if not text:
                    continue  # untranslated: gettext falls back to the msgid
                assert set(PLACEHOLDER.findall(text)) == wanted, (locale, message.id)


def test_english_catalog_exists_for_every_chinese_message() -> None:
    zh = {m.id for m in _catalog("zh_Hans_CN") if m.id}
    en = {m.id for m in _catalog("en") if m.id}
    assert zh == en


def test_a_page_in_chinese_and_in_english(client: TestClient) -> None:
    zh = client.get("/help", headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    en = client.get("/help", headers={"Accept-Language": "en-GB,en;q=0.8"})
    assert zh.status_code == en.status_code == 200
    assert '<html lang="zh-Hans"' in zh.text
    assert '<html lang="en"' in en.text
    assert zh.headers["content-language"] == "zh-Hans"
    assert en.headers["content-language"] == "en"
    assert "<h1>帮助</h1>" in zh.text
    assert "<h1>Help</h1>" in en.text
    assert "找网格员" in zh.text
    assert "Find your grid worker" in en.text
    assert "Find your grid worker" not in zh.text
    # The switch offers the other language, marked with its own language.
    assert 'name="lang" value="en" class="switch" lang="en">English</button>' in zh.text
    assert 'lang="zh-Hans">简体中文</button>' in en.text


def test_a_chosen_language_wins_over_the_browser_setting(client: TestClient) -> None:
    page = client.get("/", headers={"Accept-Language": "zh-CN"})
    response = client.post(
        "/prefs",
        data={"lang": "en", "next": "/privacy", "csrf_token": csrf_of(page.text)},
        headers={"Accept-Language": "zh-CN"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    privacy = client.get("/privacy", headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en"' in privacy.text
    assert "How long we keep it" in privacy.text


def test_service_errors_are_translated_on_pages(client: TestClient) -> None:
    token = csrf_of(client.get("/login").text)
    data = {"username": "alice", "password": "not-the-password", "csrf_token": token}
    zh = client.post("/login", data=data, headers={"Accept-Language": "zh-CN"})
    en = client.post("/login", data=data, headers={"Accept-Language": "en"})
    assert "用户名或密码错误" in zh.text
    assert "Wrong username or password." in en.text
