"""The privacy notice and the consent form as a resident meets them (checklist rows P1, P6): the
notice names who is responsible, every purpose, the categories, how long and how to use one's
rights, and is linked from every page; no optional consent is pre-ticked or bundled; saying no
is not met with the question again, and core services keep working. SQLite only: the pages do
not depend on the database engine (tests/privacy/test_consent.py runs the logic on both)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from linli.core import i18n
from linli.privacy import purposes
from linli.web.middleware import ELDER_COOKIE, LANG_COOKIE
from tests.case.conftest import category_id
from tests.conftest import Template, World, bearer, csrf_of

Client = Callable[..., TestClient]
ZH = "zh_Hans_CN"
# Pages a resident uses day to day, and the public ones.
RESIDENT_PAGES = ["/me", "/me/privacy", "/me/cases", "/me/notices", "/cases/new", "/me/data", "/"]
PUBLIC_PAGES = ["/", "/login", "/help", "/environment", "/privacy"]
# Where the notice sends people to use their rights.
RIGHTS_PAGES = ["/me/privacy", "/me/data", "/me/data/export", "/me/profile", "/me/requests"]
DELETION_PAGE = "/me/deletion"
CONTACT = (
    "Contact: the community service centre (社区服务站), in person or through the service "
    "hotline 12345."
)


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest, sqlite_template: Template, tmp_path: Path) -> Template:
    src = make_url(sqlite_template.url).database
    assert src is not None
    target = tmp_path / "linli.db"
    shutil.copyfile(src, target)
    return Template("sqlite", f"sqlite:///{target}", sqlite_template.world)


# --- reading pages --------------------------------------------------------------------------


@dataclass
class Form:
    action: str
    inputs: list[dict[str, str]] = field(default_factory=list)
    buttons: list[str] = field(default_factory=list)

    def values(self, name: str) -> list[str]:
        return [i.get("value", "") for i in self.inputs if i.get("name") == name]


class Page(HTMLParser):
    """What a person meets on a page: its text, links, forms, dialogs and status messages."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.text_parts: list[str] = []
        self.links: list[str] = []
        self.footer_links: list[str] = []
        self.forms: list[Form] = []
        self.dialogs: list[str] = []
        self.messages: list[str] = []
        self.html_class = ""
        self._skip = 0
        self._footer = 0
        self._form: Form | None = None
        self._button: list[str] | None = None
        self._message: list[str] | None = None
        self._message_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "html":
            self.html_class = a.get("class", "")
        if tag in ("script", "style"):
            self._skip += 1
        if tag == "footer":
            self._footer += 1
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
            if self._footer:
                self.footer_links.append(a["href"])
        if tag == "form":
            self._form = Form(action=a.get("action", ""))
            self.forms.append(self._form)
        if tag in ("input", "select", "textarea") and self._form is not None:
            self._form.inputs.append({"tag": tag, **a})
        if tag == "button":
            self._button = []
        if tag == "dialog" or a.get("role") in ("dialog", "alertdialog"):
            self.dialogs.append(a.get("id", tag))
        if tag == "div":
            if self._message is not None:
                self._message_depth += 1
            elif "notice" in a.get("class", "").split():
                self._message, self._message_depth = [], 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._skip -= 1
        if tag == "footer":
            self._footer -= 1
        if tag == "form":
            self._form = None
        if tag == "button" and self._button is not None:
            if self._form is not None:
                self._form.buttons.append(" ".join("".join(self._button).split()))
            self._button = None
        if tag == "div" and self._message is not None:
            self._message_depth -= 1
            if self._message_depth == 0:
                self.messages.append(" ".join("".join(self._message).split()))
                self._message = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text_parts.append(data)
        for collecting in (self._button, self._message):
            if collecting is not None:
                collecting.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.text_parts).split())

    def checked(self) -> list[dict[str, str]]:
        """Check boxes and radio buttons that are ticked before anyone touches them."""
        return [
            i
            for form in self.forms
            for i in form.inputs
            if i.get("type") in ("checkbox", "radio") and "checked" in i
        ]


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


def in_language(client: TestClient, lang: str, elder: bool = False) -> TestClient:
    client.cookies.set(LANG_COOKIE, lang)
    client.cookies.set(ELDER_COOKIE, "1" if elder else "0")
    return client


def tr(locale: str, message: str) -> str:
    return i18n.translations(locale).gettext(message)


def name_of(purpose: purposes.Purpose, locale: str) -> str:
    return purpose.name_zh if locale == ZH else purpose.name_en


# --- P1: the notice -------------------------------------------------------------------------


def test_privacy_notice_names_purposes_retention_and_rights(
    make_client: Client, world: World
) -> None:
    anonymous = make_client()
    default = anonymous.get("/privacy")
    assert default.status_code == 200
    assert '<html lang="zh-Hans"' in default.text  # Chinese unless someone chooses otherwise
    for locale, elder in ((ZH, False), ("en", False), (ZH, True), ("en", True)):
        response = in_language(make_client(), locale, elder).get("/privacy")
        assert response.status_code == 200
        page = parse(response.text)
        text = page.text
        assert ("elder" in page.html_class.split()) is elder
        # Who is responsible and how to reach them.
        assert ("居委会" if locale == ZH else "residents' committee") in text
        assert "12345" in text
        assert tr(locale, CONTACT) in text
        # Every purpose in the code, with what it is for and how long its data is kept.
        for purpose in purposes.PURPOSES.values():
            assert name_of(purpose, locale) in text, purpose.id
            assert tr(locale, purpose.explanation) in text, purpose.id
            assert tr(locale, purpose.retention) in text, purpose.id
        # The parts PIPL art. 17 asks for: methods, categories, retention, rights.
        for heading in (
            "Who handles your information",
            "Why we use it",
            "What we keep",
            "How we get it",
            "How long we keep it",
            "Who else gets it",
            "Your rights and how to use them",
        ):
            assert tr(locale, heading) in text, heading
        for category in (("手机号", "身份证号"), ("phone number", "ID number"))[locale != ZH]:
            assert category in text
        assert tr(locale, "Privacy notice version %(v)s.") % {"v": purposes.NOTICE_VERSION} in text
        # How to use the rights: the pages themselves are linked.
        for target in [*RIGHTS_PAGES, DELETION_PAGE]:
            assert any(link.split("?")[0] == target for link in page.links), target
        if locale != ZH:
            for phrase in ("give or withdraw", "Correct it", "Delete your account"):
                assert phrase.lower() in text.lower(), phrase

    # The notice is reachable from the footer of every page, before and after logging in.
    for path in PUBLIC_PAGES:
        response = anonymous.get(path)
        assert response.status_code == 200, path
        assert "/privacy" in parse(response.text).footer_links, path
    alice = make_client("alice")
    for path in RESIDENT_PAGES:
        response = alice.get(path)
        assert response.status_code == 200, path
        assert "/privacy" in parse(response.text).footer_links, path
    # The links of the notice lead somewhere for a resident.
    for target in RIGHTS_PAGES:
        response = alice.get(target + ("?format=json" if target.endswith("/export") else ""))
        assert response.status_code == 200, target
    assert alice.get(DELETION_PAGE).status_code == 200


# --- P6: nothing pre-ticked, nothing bundled ------------------------------------------------


def test_no_optional_consent_is_pre_ticked_or_bundled(make_client: Client, world: World) -> None:
    optional = {p.id for p in purposes.optional()}
    core = {p.id for p in purposes.core()}
    for locale, elder in ((ZH, False), ("en", True)):
        alice = in_language(make_client("alice"), locale, elder)
        response = alice.get("/me/privacy")
        assert response.status_code == 200
        page = parse(response.text)
        # Nothing is ticked for the resident: each purpose is its own button, pressed or not.
        assert page.checked() == []
        assert all(i.get("type") not in ("checkbox", "radio") for f in page.forms for i in f.inputs)
        consent_forms = [f for f in page.forms if f.action.startswith("/me/privacy/")]
        offered = [p for f in consent_forms for p in f.values("purpose")]
        # One form per purpose, each for exactly one optional purpose; no "agree to all".
        assert all(len(f.values("purpose")) == 1 for f in consent_forms)
        assert len(offered) == len(set(offered))
        assert set(offered) <= optional
        assert not set(offered) & core
        assert {"images", "precise_location", "evacuation_needs", "points_programme"} <= set(
            offered
        )
        assert all(f.action == "/me/privacy/give" for f in consent_forms)
        assert all(len(f.buttons) == 1 for f in consent_forms)
        # Every optional purpose is shown as not given until the resident gives it.
        assert page.text.count(tr(locale, "Not given")) == len(offered)

    # Logging in and reporting carry no consent: agreeing to use the service agrees to nothing
    # optional, and no form ticks an optional purpose on the person's behalf.
    anonymous = make_client()
    login_page = parse(anonymous.get("/login").text)
    assert login_page.checked() == []
    assert all(i.get("type") != "checkbox" for f in login_page.forms for i in f.inputs)
    report = parse(make_client("alice").get("/cases/new").text)
    names = {i.get("name", "") for f in report.forms for i in f.inputs}
    assert not names & (optional | {"consent", "purpose", "agree", "terms"})
    # The one ticked box publishes the problem, never the name: it is not a use of the person.
    assert [i.get("name") for i in report.checked()] == ["is_public"]
    # The leaderboard (points programme) is off unless chosen: the "no" is what is selected.
    choice = parse(make_client("alice").get("/me/points/leaderboard/choice").text)
    assert [(i.get("name"), i.get("value")) for i in choice.checked()] == [("opted_in", "0")]


# --- P6: no is not asked again --------------------------------------------------------------


def consent_prompts(path: str, page: Page) -> list[str]:
    """Anything on a page that asks for a consent, besides the consent page's own cards."""
    found = [f"dialog {d}" for d in page.dialogs if d != "session-timeout"]
    if path != "/me/privacy":
        found += [
            f"form {f.action}"
            for f in page.forms
            if "consent" in f.action or f.action.startswith("/me/privacy")
        ]
    found += [
        f"message {m}"
        for m in page.messages
        if any(word in m.lower() for word in ("consent", "同意", "授权"))
    ]
    return found


def test_declining_does_not_prompt_again(
    make_client: Client, client: TestClient, db: Session, world: World
) -> None:
    # alice says yes to photos and then changes her mind; bob never says yes to anything.
    alice = make_client("alice")
    token = csrf_of(alice.get("/me/privacy").text)
    given = alice.post(
        "/me/privacy/give",
        data={"purpose": "images", "csrf_token": token},
        follow_redirects=False,
    )
    assert given.status_code == 303
    withdrawn = alice.post(
        "/me/privacy/withdraw",
        data={"purpose": "images", "csrf_token": token},
        follow_redirects=False,
    )
    assert withdrawn.status_code == 303
    bob = make_client("bob")
    offered = len(
        [f for f in parse(bob.get("/me/privacy").text).forms if f.action == "/me/privacy/give"]
    )

    for person in (alice, bob):
        for _visit in range(3):
            for path in RESIDENT_PAGES:
                response = person.get(path)
                assert response.status_code == 200, path
                page = parse(response.text)
                assert consent_prompts(path, page) == [], path
                if path == "/me/privacy":
                    # The same cards, one per purpose: not an extra plea for the declined one.
                    gives = [f for f in page.forms if f.action == "/me/privacy/give"]
                    assert len(gives) == offered
                    assert page.text.count(tr(ZH, "Withdrawn")) == int(person is alice)
    states = client.get("/api/v1/me/consents", headers=bearer(world, "alice")).json()
    assert {s["purpose"]: s["state"] for s in states}["images"] == "withdrawn"

    # Core services work without any optional consent: a report, and the notices.
    published = client.post(
        "/api/v1/notices",
        json={"place_id": world.places["c1"], "title": "停水通知", "body": "周三上午停水"},
        headers=bearer(world, "staff1"),
    )
    assert published.status_code == 201, published.text
    light = category_id(db, "light")
    db.commit()
    for person, text in ((alice, "2号楼门口路灯不亮"), (bob, "楼道灯闪烁")):
        report_page = person.get("/cases/new")
        assert consent_prompts("/cases/new", parse(report_page.text)) == []
        filed = person.post(
            "/cases/new",
            data={
                "csrf_token": csrf_of(report_page.text),
                "step": "all",
                "category_id": str(light),
                "place_id": str(world.places["c1-b1"]),
                "description": text,
            },
            follow_redirects=False,
        )
        assert filed.status_code == 303, filed.text
        case = person.get(filed.headers["location"])
        assert case.status_code == 200
        assert text in case.text
        assert consent_prompts("/cases", parse(case.text)) == []
        notices = person.get("/me/notices")
        assert notices.status_code == 200
        assert "停水通知" in notices.text
        assert consent_prompts("/me/notices", parse(notices.text)) == []
