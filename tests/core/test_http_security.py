"""Every JSON API route, generated from the OpenAPI schema: anonymous, CSRF, methods, tenants."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.account.models import ApiKey, RoleGrant
from linli.audit.models import AuditEvent
from linli.resident.models import Household, Resident
from tests.conftest import World, bearer, csrf_of

STATE_CHANGING = ("post", "put", "patch", "delete")
PATH_PARAM = re.compile(r"\{([a-z_]+)\}")


# Open data anyone may read without logging in: community-level environment figures and the
# AQI calculator. Everything else under /api/v1 needs a login.
PUBLIC_API = {
    ("get", "/api/v1/environment/aqi"),
    ("get", "/api/v1/environment/status"),
    ("get", "/api/v1/environment/trends"),
    ("get", "/api/v1/environment/observations.json"),
    ("get", "/api/v1/environment/observations.csv"),
    ("get", "/api/v1/privacy/notice"),
}


def api_operations(app: FastAPI, *, public: bool = False) -> list[tuple[str, str]]:
    """(method, path template) of every /api/v1 operation in the OpenAPI schema that needs a
    login (or, with ``public``, of the public ones)."""
    ops = [
        (method, path)
        for path, item in app.openapi()["paths"].items()
        if path.startswith("/api/v1/")
        for method in item
        if ((method, path) in PUBLIC_API) == public
    ]
    if public:
        return ops
    assert len(ops) >= 20, "the API schema lost routes"
    return ops


def fill(path: str, values: dict[str, int]) -> str:
    return PATH_PARAM.sub(lambda m: str(values.get(m.group(1), 1)), path)


def counts(db: Session) -> tuple[int, ...]:
    """Row counts of the tables a state-changing API route could touch."""
    db.expire_all()
    models: tuple[Any, ...] = (AuditEvent, Resident, Household, RoleGrant, ApiKey)
    return tuple(int(db.scalar(select(func.count()).select_from(m)) or 0) for m in models)


def test_every_api_route_answers_401_problem_to_anonymous(app: FastAPI, client: TestClient) -> None:
    seen = 0
    for method, path in api_operations(app):
        kwargs: dict[str, Any] = {"json": {}} if method in STATE_CHANGING else {}
        r = client.request(method.upper(), fill(path, {}), **kwargs)
        assert r.status_code == 401, (method, path, r.status_code, r.text)
        assert r.headers["content-type"].startswith("application/problem+json"), (method, path)
        body = r.json()
        assert body["status"] == 401
        assert body["type"].endswith("/not_authenticated"), (method, path, body)
        seen += 1
    assert seen >= 20


def test_the_public_routes_are_exactly_the_listed_ones_and_answer_anonymous(
    app: FastAPI, client: TestClient
) -> None:
    public = api_operations(app, public=True)
    assert sorted(public) == sorted(PUBLIC_API)
    for method, path in public:
        assert method == "get"
        r = client.get(path, params={"pm25": "60"} if path.endswith("/aqi") else None)
        assert r.status_code < 500, (path, r.status_code, r.text)
        assert r.status_code != 401, path
    assert client.get("/api/v1/environment/aqi", params={"pm25": "60"}).status_code == 200


def test_an_expired_or_forged_session_cookie_is_anonymous(app: FastAPI, client: TestClient) -> None:
    client.cookies.set("linli_session", "forged-token-that-was-never-issued")
    for method, path in api_operations(app):
        kwargs: dict[str, Any] = {"json": {}} if method in STATE_CHANGING else {}
        r = client.request(method.upper(), fill(path, {}), **kwargs)
        assert r.status_code == 401, (method, path, r.status_code)


def test_cookie_requests_without_csrf_token_change_nothing(
    app: FastAPI, make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    admin = make_client("admin1")
    ids = {
        "key_id": 1,
        "account_id": world.accounts["bob"],
        "grant_id": 1,
        "resident_id": world.residents["alice"],
    }
    before = counts(db)
    tried = 0
    for method, path in api_operations(app):
        if method not in STATE_CHANGING:
            continue
        if path.endswith("/telemetry"):
            # Device ingestion takes a device token only, never a cookie: nothing to forge.
            r = admin.request(method.upper(), fill(path, {"device_token": "x"}), json={})
            assert r.status_code == 401, (method, path, r.status_code)
            continue
        r = admin.request(method.upper(), fill(path, ids), json={})
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert r.json()["type"].endswith("/csrf_failed")
        # A token from another session or a made-up one is refused just the same.
        r = admin.request(
            method.upper(), fill(path, ids), json={}, headers={"X-CSRF-Token": "0" * 64}
        )
        assert r.status_code == 403, (method, path)
        tried += 1
    assert tried >= 10
    assert counts(db) == before
    # The session itself still works, and with its token a change goes through.
    token = csrf_of(admin.get("/").text)
    r = admin.patch(
        "/api/v1/me/preferences", json={"elder_mode": True}, headers={"X-CSRF-Token": token}
    )
    assert r.status_code == 200, r.text
    assert r.json()["elder_mode"] is True


def test_csrf_token_of_one_session_does_not_work_for_another(
    make_client: Callable[..., TestClient],
) -> None:
    alice = make_client("alice")
    bob = make_client("bob")
    alice_token = csrf_of(alice.get("/").text)
    r = bob.patch(
        "/api/v1/me/preferences", json={"elder_mode": True}, headers={"X-CSRF-Token": alice_token}
    )
    assert r.status_code == 403
    assert bob.get("/api/v1/me").json()["elder_mode"] is False


def test_wrong_method_gives_405_and_no_state_changes_via_get(
    app: FastAPI, client: TestClient, world: World, db: Session
) -> None:
    before = counts(db)
    headers = bearer(world, "admin1")
    templates = {path for _m, path in api_operations(app)}
    allowed: dict[str, set[str]] = {}
    for method, path in api_operations(app):
        allowed.setdefault(path, set()).add(method)
    checked = 0
    for path in sorted(templates):
        url = fill(path, {"resident_id": world.residents["alice"]})
        if "get" not in allowed[path]:
            r = client.get(url, headers=headers)
            assert r.status_code == 405, (path, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
            assert r.headers["allow"]
            checked += 1
        if "put" not in allowed[path]:
            assert client.put(url, headers=headers, json={}).status_code == 405, path
    assert checked >= 5
    assert client.get("/api/v1/me/logout-everywhere", headers=headers).status_code == 405
    assert counts(db) == before


# --- cross-tenant matrix ------------------------------------------------------------------


def c1_objects(world: World, device: tuple[int, int], rule: int, alarm: int = 1) -> dict[str, int]:
    """An object of community c1 for each path parameter of the API."""
    return {
        "place_id": world.places["c1-b1"],
        "resident_id": world.residents["alice"],
        "household_id": world.households["h1"],
        "device_id": device[0],
        "datastream_id": device[1],
        "rule_id": rule,
        "alarm_id": alarm,
    }


def test_other_community_staff_never_read_c1_objects(
    app: FastAPI,
    client: TestClient,
    world: World,
    c1_device: tuple[int, int],
    c1_rule: int,
    c1_alarm: int,
    c1_poll: int,
    c1_proposal: int,
    c1_case: tuple[int, int],
    c1_notice: tuple[int, int],
    c1_redemption: int,
    c1_incident: dict[str, int],
    c1_recipient: int,
    c1_export: int,
    c1_breach: int,
) -> None:
    ids = c1_objects(world, c1_device, c1_rule, c1_alarm)
    ids |= c1_incident
    ids |= {"recipient_id": c1_recipient, "export_id": c1_export, "breach_id": c1_breach}
    ids |= {"redemption_id": c1_redemption, "community_id": world.places["c1"]}
    ids |= {"notice_id": c1_notice[0], "emergency_id": c1_notice[1]}
    ids |= {"case_id": c1_case[0], "photo_id": c1_case[1]}
    ids |= {"poll_id": c1_poll, "receipt": 1}
    ids |= {"proposal_id": c1_proposal}
    routes = [
        path for method, path in api_operations(app) if method == "get" and PATH_PARAM.search(path)
    ]
    assert len(routes) >= 3
    for path in routes:
        params = PATH_PARAM.findall(path)
        missing = [p for p in params if p not in ids]
        assert not missing, f"add {missing} of {path} to the cross-tenant matrix"
        url = fill(path, ids)
        # The object exists and c1 staff may read it: the refusals below mean something.
        # The sharing registry is kept by administrators only (least privilege); an approved
        # export's file is for admin1 who asked for it, once (the outsiders come after that).
        # A community's sensitive modules are switched by its administrators only too.
        admin_only = ("/api/v1/sharing/", "/api/v1/privacy/communities/")
        owner = "admin1" if path.startswith(admin_only) else "staff1"
        own = client.get(url, headers=bearer(world, owner))
        assert own.status_code == 200, (path, own.text)
        # Other tenants; in c1, a resident of another household and a role without resident
        # access (both may see c1's places, not its people).
        outsiders = ["staff2", "carol"]
        if path.startswith(
            ("/api/v1/devices/", "/api/v1/datastreams/", "/api/v1/rules/", "/api/v1/alarms/")
        ):
            # Devices, their rules and alarms belong to the property manager's work too;
            # residents see none of them.
            outsiders += ["bob"]
        elif not path.startswith(("/api/v1/places/", "/api/v1/proposals/")):
            # Places and suggestions are public within their community (never their authors).
            outsiders += ["bob", "pm1"]
        if path.startswith("/api/v1/sharing/breaches/"):
            # c1's auditor reviews its declared incidents; its staff do not see them.
            outsiders += ["staff1"]
        elif path.startswith("/api/v1/sharing/"):
            # c1's own staff and auditor do not keep its recipient registry either.
            outsiders += ["staff1", "auditor1"]
        elif path.startswith("/api/v1/privacy/communities/"):
            outsiders += ["staff1"]
        for outsider in outsiders:
            r = client.get(url, headers=bearer(world, outsider))
            assert r.status_code in (403, 404), (outsider, path, r.status_code, r.text)
            assert "王" not in r.text
            assert "1381234" not in r.text


def test_other_community_staff_cannot_change_c1_objects(
    client: TestClient, world: World, db: Session
) -> None:
    before = counts(db)
    staff2 = bearer(world, "staff2")
    alice = world.residents["alice"]
    r = client.post(
        f"/api/v1/residents/{alice}/reveal",
        json={"fields": ["phone"], "reason": "checking"},
        headers=staff2,
    )
    assert r.status_code in (403, 404)
    assert "13812345678" not in r.text
    r = client.post(
        f"/api/v1/accounts/{world.accounts['alice']}/grants",
        json={"role": "community_staff", "place_id": world.places["c1"]},
        headers=staff2,
    )
    assert r.status_code == 403
    grant_id = db.scalars(
        select(RoleGrant.id).where(RoleGrant.account_id == world.accounts["staff1"])
    ).one()
    assert client.delete(f"/api/v1/grants/{grant_id}", headers=staff2).status_code == 403
    key_id = db.scalars(
        select(ApiKey.id).where(ApiKey.account_id == world.accounts["staff1"])
    ).one()
    assert client.delete(f"/api/v1/me/api-keys/{key_id}", headers=staff2).status_code in (403, 404)
    assert client.get("/api/v1/me", headers=bearer(world, "staff1")).status_code == 200
    r = client.post(
        "/api/v1/residents",
        json={"household_id": world.households["h1"], "name": "外人"},
        headers=staff2,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/households",
        json={"place_id": world.places["c1-b1u1"], "room": "999"},
        headers=staff2,
    )
    assert r.status_code == 403
    r = client.post(
        "/api/v1/places",
        json={
            "parent_id": world.places["c1-compound"],
            "kind": "building",
            "name": "x",
            "code": "x",
        },
        headers=staff2,
    )
    assert r.status_code == 403
    after = counts(db)
    # Only audit rows (the recorded refusals) may have been added.
    assert after[1:] == before[1:]


def test_huge_or_negative_ids_are_client_errors(client: TestClient, world: World) -> None:
    headers = bearer(world, "staff1")
    for value in ("0", "-1", str(2**31), str(2**63), str(10**30)):
        for path in ("residents", "households", "places"):
            r = client.get(f"/api/v1/{path}/{value}", headers=headers)
            assert r.status_code in (404, 422), (path, value, r.status_code)
    for query in (
        "page=99999999999999999999",
        "size=0",
        "size=201",
        "place_id=99999999999999999999",
        "place_id=true",
        "name=%00",
        "phone=%00",
    ):
        r = client.get(f"/api/v1/residents?{query}", headers=headers)
        assert r.status_code in (400, 422), (query, r.status_code)
    # Undecodable bytes become replacement characters: a search that finds nothing.
    r = client.get("/api/v1/residents?name=%ED%A0%80%FF", headers=headers)
    assert r.status_code == 200
    assert r.json()["total"] == 0
    auditor = bearer(world, "auditor1")
    for query in ("action=%00", "actor_username=a%00", "subject_resident_id=-5", "page=0"):
        r = client.get(f"/api/v1/audit/events?{query}", headers=auditor)
        assert r.status_code == 422, (query, r.status_code)


def test_sharing_feeds_take_only_a_feed_token(
    client: TestClient, db: Session, world: World, c1_recipient: int
) -> None:
    """The recipients' CAP feeds are not public and not for sessions or API keys (401)."""
    from tests.conftest import login

    paths = [
        f"/sharing/feeds/{c1_recipient}/alerts.atom",
        f"/sharing/feeds/{c1_recipient}/alerts/1.xml",
    ]
    for path in paths:
        for headers in ({}, bearer(world, "admin1"), {"Authorization": "Bearer lsf_forged"}):
            r = client.get(path, headers=headers)
            assert r.status_code == 401, (path, headers, r.status_code)
            assert r.headers["content-type"].startswith("application/problem+json")
    login(client, "admin1")
    for path in paths:
        assert client.get(path).status_code == 401, path
        assert client.post(path).status_code == 405, path
