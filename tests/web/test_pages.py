"""The HTML pages over HTTP: who may see which page, and what each form stores."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.account.models import Account, AuthSession, RoleGrant
from linli.audit.models import AuditEvent
from linli.resident.models import Resident
from tests.conftest import PASSWORD, World, csrf_of

MakeClient = Callable[..., TestClient]

PUBLIC_PAGES = ("/", "/login", "/privacy", "/help")
PRIVATE_PAGES = (
    "/me",
    "/me/profile",
    "/me/data",
    "/me/settings",
    "/console",
    "/console/residents",
    "/console/accounts",
    "/console/audit",
    "/console/places",
)


def _events(db: Session, action: str) -> list[AuditEvent]:
    db.expire_all()
    return list(db.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def _phone(db: Session, resident_id: int) -> str | None:
    db.expire_all()
    resident = db.get(Resident, resident_id)
    assert resident is not None
    return resident.phone


def _post(client: TestClient, page: str, url: str, data: dict[str, object]) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


# --- who sees what --------------------------------------------------------------------------


# Rendering for visitors does not depend on the database engine: SQLite only.
ONE_ENGINE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


@ONE_ENGINE
@pytest.mark.parametrize("path", PUBLIC_PAGES)
def test_anonymous_visitor_gets_the_public_pages_with_help_and_elder_switch(
    client: TestClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    html = page.text
    assert '<html lang="zh-Hans"' in html
    assert "长辈版" in html
    assert 'action="/prefs"' in html
    assert 'name="csrf_token"' in html
    # Consistent help (WCAG 3.2.6): hotline and grid worker in the footer of every page.
    footer = html.split('<footer class="site">', 1)[1]
    assert "12345" in footer
    assert "找网格员" in footer
    assert 'href="/privacy"' in footer
    assert 'class="skip" href="#main"' in html


@ONE_ENGINE
@pytest.mark.parametrize("path", PRIVATE_PAGES)
def test_anonymous_visitor_is_sent_to_login(client: TestClient, path: str) -> None:
    response = client.get(path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/login?next={path}"


@ONE_ENGINE
@pytest.mark.parametrize(
    "path", ["/console", "/console/residents", "/console/accounts", "/console/audit"]
)
def test_resident_gets_a_friendly_refusal_in_the_console(
    make_client: MakeClient, path: str
) -> None:
    alice = make_client("alice")
    page = alice.get(path)
    assert page.status_code == 403
    assert 'role="alert"' in page.text
    assert 'href="/me"' in page.text  # a way back to what they can use
    assert "王*" not in page.text
    assert "13812345678" not in page.text


def test_navigation_follows_the_roles(make_client: MakeClient) -> None:
    def nav(html: str) -> str:
        return html.split('<nav class="site-nav"', 1)[1].split("</nav>", 1)[0]

    alice = nav(make_client("alice").get("/me").text)
    assert 'href="/me/data"' in alice
    assert 'href="/console"' not in alice
    staff = nav(make_client("staff1").get("/console").text)
    assert 'href="/console/residents"' in staff
    assert 'href="/console/accounts"' not in staff
    admin = nav(make_client("admin1").get("/console").text)
    assert 'href="/console/accounts"' in admin
    assert 'href="/console/audit"' in admin
    auditor = nav(make_client("auditor1").get("/console").text)
    assert 'href="/console/audit"' in auditor
    assert 'href="/console/residents"' not in auditor


def test_staff_without_a_resident_record_is_refused_my_home(make_client: MakeClient) -> None:
    page = make_client("staff1").get("/me")
    assert page.status_code == 403
    assert 'href="/console"' in page.text


# --- resident area --------------------------------------------------------------------------


def test_my_home_shows_my_name_and_masks_the_other_members(make_client: MakeClient) -> None:
    page = make_client("alice").get("/me")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "王小丽" in page.text  # herself
    assert "王**" in page.text
    assert "王大明" not in page.text
    assert "李" not in page.text  # bob lives next door
    assert "1号楼" in page.text
    assert "101" in page.text


def test_changing_my_phone_is_stored_and_recorded(
    make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    response = _post(
        alice, "/me/profile", "/me/profile/phone", {"phone": "139 0000 1111", "password": PASSWORD}
    )
    assert response.status_code == 303
    assert _phone(db, world.residents["alice"]) == "13900001111"
    assert [e.fields for e in _events(db, "resident.updated")] == ["phone"]
    page = alice.get("/me/profile?done=phone")
    assert "139****1111" in page.text


def test_a_bad_phone_is_explained_next_to_the_field_and_kept(
    make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    response = _post(alice, "/me/profile", "/me/profile/phone", {"phone": "12ab"})
    assert response.status_code == 422
    html = response.text
    assert re.search(r'id="f-phone-error" role="alert"', html)
    assert re.search(r'<input id="f-phone"[^>]*aria-describedby="[^"]*f-phone-error', html)
    assert 'value="12ab"' in html
    assert _phone(db, world.residents["alice"]) == "13812345678"
    assert _events(db, "resident.updated") == []


def test_i_can_see_my_own_details_in_full_and_that_it_is_recorded(
    make_client: MakeClient, db: Session
) -> None:
    alice = make_client("alice")
    assert "13812345678" not in alice.get("/me/profile").text
    response = _post(alice, "/me/profile", "/me/profile/reveal", {})
    assert response.status_code == 200
    assert "13812345678" in response.text
    assert len(_events(db, "resident.sensitive_read")) == 1


def test_who_has_seen_my_information_lists_a_staff_look(
    make_client: MakeClient, world: World
) -> None:
    staff = make_client("staff1")
    assert staff.get(f"/console/residents/{world.residents['alice']}").status_code == 200
    page = make_client("alice").get("/me/data")
    assert page.status_code == 200
    assert "staff1" in page.text
    assert "查看了记录" in page.text


def test_my_data_is_paginated(make_client: MakeClient, world: World) -> None:
    staff = make_client("staff1")
    for _ in range(22):
        staff.get(f"/console/residents/{world.residents['alice']}")
    alice = make_client("alice")
    first = alice.get("/me/data")
    assert 'rel="next"' in first.text
    second = alice.get("/me/data?page=2")
    assert second.status_code == 200
    assert 'rel="prev"' in second.text


# --- console: residents ---------------------------------------------------------------------


def test_staff_list_holds_only_their_community_masked(make_client: MakeClient) -> None:
    page = make_client("staff1").get("/console/residents")
    assert page.status_code == 200
    html = page.text
    assert "王**" in html
    assert "李**" in html
    assert "张**" not in html  # carol lives in the other community
    assert "王小丽" not in html
    assert "13812345678" not in html
    assert "138****5678" in html


def test_staff_search_by_exact_phone_and_by_name_keeps_them_out_of_urls(
    make_client: MakeClient,
) -> None:
    staff = make_client("staff1")

    def search(**fields: str) -> str:
        response = _post(staff, "/console/residents", "/console/residents", fields)
        assert response.status_code == 200
        return response.text

    by_phone = search(phone="139-8765-4321")
    assert "李**" in by_phone
    assert "王**" not in by_phone
    by_name = search(name="王")
    assert "王**" in by_name
    assert "李**" not in by_name
    assert "张**" not in search(phone="15011112222")  # carol's phone, other community
    assert 'method="get" action="/console/residents"' not in staff.get("/console/residents").text
    bad = _post(staff, "/console/residents", "/console/residents", {"phone": "12ab"})
    assert bad.status_code == 422
    assert 'id="f-phone-error" role="alert"' in bad.text


def test_search_results_page_on_by_post(make_client: MakeClient, world: World) -> None:
    from linli.resident import pages as resident_pages

    staff = make_client("staff1")
    size = resident_pages.PAGE_SIZE
    resident_pages.PAGE_SIZE = 2
    try:
        c1 = str(world.places["c1"])
        first = _post(
            staff, "/console/residents", "/console/residents", {"name": "*", "place_id": c1}
        )
        assert "没有符合条件的居民" in first.text  # "*" is a character, not a wildcard
        first = _post(staff, "/console/residents", "/console/residents", {"place_id": c1})
        assert '<input type="hidden" name="page" value="2">' in first.text
        assert f'name="place_id" value="{c1}"' in first.text
        assert "?page=" not in first.text
        second = _post(
            staff, "/console/residents", "/console/residents", {"place_id": c1, "page": "2"}
        )
        assert second.text.count('<th scope="row">') == 1
        assert '<input type="hidden" name="page" value="1">' in second.text
        listing = staff.get(f"/console/residents?place_id={world.places['c1']}")
        assert f"place_id={world.places['c1']}&amp;page=2" in listing.text
    finally:
        resident_pages.PAGE_SIZE = size


def test_staff_of_another_community_cannot_open_a_resident(
    make_client: MakeClient, world: World
) -> None:
    staff2 = make_client("staff2")
    assert staff2.get(f"/console/residents/{world.residents['alice']}").status_code == 404


def test_a_reveal_shows_the_value_once_and_writes_an_audit_row(
    make_client: MakeClient, world: World, db: Session
) -> None:
    staff = make_client("staff1")
    page = f"/console/residents/{world.residents['alice']}"
    response = _post(
        staff, page, f"{page}/reveal", {"fields": ["phone"], "reason": "回电确认漏水报修"}
    )
    assert response.status_code == 200
    assert "13812345678" in response.text
    assert "110101" not in response.text  # not asked for
    events = _events(db, "resident.sensitive_read")
    assert len(events) == 1
    event = events[0]
    assert (event.actor_username, event.fields, event.reason) == (
        "staff1",
        "phone",
        "回电确认漏水报修",
    )
    assert event.subject_resident_id == world.residents["alice"]
    assert "13812345678" not in event.detail
    # The next look is masked again.
    assert "13812345678" not in staff.get(page).text


def test_a_reveal_without_a_reason_is_refused(
    make_client: MakeClient, world: World, db: Session
) -> None:
    staff = make_client("staff1")
    page = f"/console/residents/{world.residents['alice']}"
    response = _post(staff, page, f"{page}/reveal", {"fields": ["phone"], "reason": " "})
    assert response.status_code == 422
    html = response.text
    assert "13812345678" not in html
    assert re.search(r'id="reveal-reason-error" role="alert"', html)
    assert re.search(r'aria-describedby="[^"]*reveal-reason-error', html)
    assert 'value="phone" checked' in html  # the choice is kept
    assert _events(db, "resident.sensitive_read") == []


def test_a_reveal_without_fields_is_refused(make_client: MakeClient, world: World) -> None:
    staff = make_client("staff1")
    page = f"/console/residents/{world.residents['alice']}"
    response = _post(staff, page, f"{page}/reveal", {"reason": "回电确认漏水报修"})
    assert response.status_code == 422
    assert "回电确认漏水报修" in response.text  # the reason is kept


def test_a_role_without_reveal_rights_gets_no_form_and_a_recorded_refusal(
    make_client: MakeClient, world: World, db: Session
) -> None:
    district = make_client("district")
    page = f"/console/residents/{world.residents['alice']}"
    html = district.get(page).text
    assert "/reveal" not in html
    response = _post(district, page, f"{page}/reveal", {"fields": ["phone"], "reason": "看看"})
    assert response.status_code == 403
    assert "13812345678" not in response.text
    assert 'role="alert"' in response.text
    assert [e.outcome for e in _events(db, "permission.denied")] == ["denied"]


# --- assisted mode --------------------------------------------------------------------------


def test_assisted_mode_shows_the_banner_and_the_residents_home_until_stopped(
    make_client: MakeClient, world: World, db: Session
) -> None:
    staff = make_client("staff1")
    page = f"/console/residents/{world.residents['alice']}"
    response = _post(staff, page, f"{page}/assist", {"present": "1", "reason": "居民到服务站办理"})
    assert response.status_code == 303
    assert response.headers["location"] == "/me"
    home = staff.get("/me")
    assert home.status_code == 200
    assert "正在代 王** 办理" in home.text
    assert "王小丽" in home.text
    assert "101" in home.text
    assert [e.reason for e in _events(db, "assist.started")] == ["居民到服务站办理"]
    # Every page carries the banner while assisting.
    assert "正在代 王** 办理" in staff.get("/console").text
    stop = _post(staff, "/me", "/console/assist/stop", {})
    assert stop.status_code == 303
    assert "正在代" not in staff.get("/console").text
    assert staff.get("/me").status_code == 403
    assert len(_events(db, "assist.ended")) == 1


def test_assisted_mode_needs_the_resident_present_and_a_reason(
    make_client: MakeClient, world: World, db: Session
) -> None:
    staff = make_client("staff1")
    page = f"/console/residents/{world.residents['alice']}"
    response = _post(staff, page, f"{page}/assist", {"reason": "帮忙"})
    assert response.status_code == 422
    assert re.search(r'id="assist-present-error" role="alert"', response.text)
    response = _post(staff, page, f"{page}/assist", {"present": "1", "reason": ""})
    assert response.status_code == 422
    assert re.search(r'id="assist-reason-error" role="alert"', response.text)
    assert _events(db, "assist.started") == []
    assert "正在代" not in staff.get("/console").text


# --- preferences ----------------------------------------------------------------------------


def test_preference_switches_set_cookies_for_a_visitor(client: TestClient) -> None:
    response = _post(client, "/", "/prefs", {"elder": "1", "next": "/help"})
    assert response.status_code == 303
    assert response.headers["location"] == "/help"
    assert client.cookies.get("linli_elder") == "1"
    page = client.get("/help").text
    assert 'class="elder size-normal"' in page
    assert "标准版" in page  # the way back
    _post(client, "/help", "/prefs", {"lang": "en", "next": "/help"})
    _post(client, "/help", "/prefs", {"size": "largest", "next": "/help"})
    page = client.get("/help").text
    assert '<html lang="en" class="elder size-largest">' in page


def test_preferences_persist_to_the_account_and_come_back_at_login(
    make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    for change in ({"lang": "en"}, {"elder": "1"}, {"size": "large"}):
        response = _post(alice, "/me/settings", "/prefs", {**change, "next": "/me/settings"})
        assert response.status_code == 303
    db.expire_all()
    account = db.get(Account, world.accounts["alice"])
    assert account is not None
    assert (account.locale, account.elder_mode, account.text_size) == ("en", True, "large")
    fresh = make_client()  # another browser: no cookies yet
    token = csrf_of(fresh.get("/login").text)
    response = fresh.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert fresh.cookies.get("linli_lang") == "en"
    assert fresh.cookies.get("linli_elder") == "1"
    assert '<html lang="en" class="elder size-large">' in fresh.get("/me").text


def test_elder_mode_login_asks_one_question_per_screen(client: TestClient) -> None:
    client.cookies.set("linli_elder", "1")
    first = client.get("/login").text
    assert 'name="username"' in first
    assert 'name="password"' not in first
    token = csrf_of(first)
    second = client.post("/login", data={"username": "alice", "csrf_token": token})
    assert second.status_code == 200
    assert 'name="password"' in second.text
    assert 'type="hidden" name="username"' in second.text
    assert '<input id="f-username"' not in second.text
    empty = client.post(
        "/login", data={"username": "alice", "step": "password", "csrf_token": token}
    )
    assert empty.status_code == 422
    assert 'id="f-password-error" role="alert"' in empty.text
    done = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == "/me"


def test_login_form_supports_password_managers_and_explains_errors(client: TestClient) -> None:
    html = client.get("/login").text
    assert 'autocomplete="username"' in html
    assert 'autocomplete="current-password"' in html
    assert "onpaste" not in html
    token = csrf_of(html)
    wrong = client.post(
        "/login", data={"username": "alice", "password": "not-her-password", "csrf_token": token}
    )
    assert wrong.status_code == 401
    assert 'role="alert"' in wrong.text
    assert "用户名或密码错误" in wrong.text
    assert 'value="alice"' in wrong.text


# --- settings -------------------------------------------------------------------------------


def test_settings_list_sessions_and_log_out_everywhere(
    make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    other = make_client("alice")
    page = alice.get("/me/settings")
    assert page.status_code == 200
    assert page.text.count("<dt>登录时间</dt>") == 2
    assert "长辈版" in page.text
    assert 'name="size" value="largest"' in page.text
    assert "API" not in page.text  # keys are for staff
    response = _post(alice, "/me/settings", "/me/settings/logout-everywhere", {})
    assert response.status_code == 303
    assert "您已在所有设备上退出登录" in alice.get(response.headers["location"]).text
    for c in (alice, other):
        assert c.get("/me", follow_redirects=False).status_code == 303
    db.expire_all()
    live = db.scalar(
        select(func.count())
        .select_from(AuthSession)
        .where(AuthSession.account_id == world.accounts["alice"], AuthSession.revoked_at.is_(None))
    )
    assert live == 0


def test_staff_create_an_api_key_shown_once(make_client: MakeClient) -> None:
    staff = make_client("staff1")
    response = _post(staff, "/me/settings", "/me/settings/api-keys", {"name": "巡检程序"})
    assert response.status_code == 200
    match = re.search(r"<code>(lk_[A-Za-z0-9_-]+)</code>", response.text)
    assert match
    key = match.group(1)
    assert staff.get("/api/v1/me", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    assert key not in staff.get("/me/settings").text


# --- console: accounts, audit, places -------------------------------------------------------


def test_admin_creates_an_account_with_a_role(
    make_client: MakeClient, world: World, db: Session
) -> None:
    admin = make_client("admin1")
    page = admin.get("/console/accounts")
    assert page.status_code == 200
    assert "staff1" in page.text
    assert "staff2" not in page.text
    response = _post(
        admin,
        "/console/accounts",
        "/console/accounts",
        {
            "username": "grid9",
            "display_name": "新网格员",
            "password": "Grid-Worker-Pass-9",
            "role": "grid_worker",
            "place_id": str(world.places["c1"]),
        },
    )
    assert response.status_code == 303
    db.expire_all()
    account = db.scalar(select(Account).where(Account.username == "grid9"))
    assert account is not None
    grants = list(db.scalars(select(RoleGrant).where(RoleGrant.account_id == account.id)))
    assert [(g.role, g.place_id) for g in grants] == [("grid_worker", world.places["c1"])]
    listing = admin.get(response.headers["location"]).text
    assert "grid9" in listing
    assert 'role="status"' in listing


def test_account_form_errors_keep_the_input_but_not_the_password(
    make_client: MakeClient, world: World, db: Session
) -> None:
    admin = make_client("admin1")
    response = _post(
        admin,
        "/console/accounts",
        "/console/accounts",
        {
            "username": "staff1",
            "display_name": "重名",
            "password": "short",
            "role": "district_admin",
            "place_id": str(world.places["c2"]),
        },
    )
    assert response.status_code == 422
    html = response.text
    for name in ("username", "role", "place_id"):
        assert f'id="f-{name}-error" role="alert"' in html
    assert 'value="重名"' in html
    assert "short" not in html
    assert db.scalar(select(func.count()).where(Account.display_name == "重名")) == 0


def test_admin_grants_a_role_only_on_own_places(
    make_client: MakeClient, world: World, db: Session
) -> None:
    admin = make_client("admin1")
    granted = _post(
        admin,
        "/console/accounts",
        "/console/accounts/grants",
        {
            "account_id": str(world.accounts["pm1"]),
            "role": "grid_worker",
            "place_id": str(world.places["c1-compound"]),
        },
    )
    assert granted.status_code == 303
    assert "角色已授予" in admin.get(granted.headers["location"]).text
    elsewhere = _post(
        admin,
        "/console/accounts",
        "/console/accounts/grants",
        {
            "account_id": str(world.accounts["pm1"]),
            "role": "grid_worker",
            "place_id": str(world.places["c2"]),
        },
    )
    assert elsewhere.status_code == 422
    assert 'id="g-place-error" role="alert"' in elsewhere.text
    db.expire_all()
    roles = db.scalars(
        select(RoleGrant.place_id).where(
            RoleGrant.account_id == world.accounts["pm1"], RoleGrant.role == "grid_worker"
        )
    )
    assert list(roles) == [world.places["c1-compound"]]


def test_staff_cannot_manage_accounts(make_client: MakeClient) -> None:
    assert make_client("staff1").get("/console/accounts").status_code == 403


def test_audit_search_for_auditors_with_filters(make_client: MakeClient, world: World) -> None:
    auditor = make_client("auditor1")
    make_client("staff1").get(f"/console/residents/{world.residents['alice']}")
    page = auditor.get("/console/audit", params={"action": "resident.", "username": "staff1"})
    assert page.status_code == 200
    assert "resident.viewed" in page.text
    assert "role.granted" not in page.text
    assert "auth.login" not in page.text
    bad = auditor.get("/console/audit", params={"since": "yesterday"})
    assert bad.status_code == 422
    assert 'id="f-since-error" role="alert"' in bad.text
    assert make_client("staff1").get("/console/audit").status_code == 403


def test_places_tree_shows_only_the_staff_members_places(make_client: MakeClient) -> None:
    page = make_client("staff1").get("/console/places")
    assert page.status_code == 200
    assert "c1社区" in page.text
    assert "c2社区" not in page.text
    assert "/console/residents?place_id=" in page.text


def test_console_dashboard_counts_what_the_role_may_see(make_client: MakeClient) -> None:
    page = make_client("staff1").get("/console")
    assert page.status_code == 200
    assert re.search(r'<p class="stat">3</p>', page.text)  # alice, alan, bob


def test_form_post_without_csrf_token_changes_nothing(
    make_client: MakeClient, world: World, db: Session
) -> None:
    alice = make_client("alice")
    response = alice.post("/me/profile/phone", data={"phone": "13900001111", "password": PASSWORD})
    assert response.status_code == 403
    assert _phone(db, world.residents["alice"]) == "13812345678"


@pytest.mark.parametrize(
    "target", ["https://evil.example/", "//evil.example/", "/\\evil.example/", "/\tx", "me"]
)
def test_switches_and_login_never_send_people_to_another_site(
    client: TestClient, target: str
) -> None:
    response = _post(client, "/", "/prefs", {"elder": "1", "next": target})
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "next": target, "csrf_token": token},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/me"
