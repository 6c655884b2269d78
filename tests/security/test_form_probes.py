"""Stored-XSS, SQL-injection and CSRF probes against every form and page.

Every form route of the app (a page POST) is sent by an actor it is meant for, with every text
field holding a script, an event-handler attribute and a quoted SQL fragment. Then every page
(the GET routes outside the machine prefixes, path parameters filled with c1's seeded objects)
is read by the resident, the community's staff and its administrator:

- no page may carry the probe unescaped (stored XSS), and at least some must carry it escaped,
  so the test shows that the probes were stored and shown;
- no request, probe or read, may end in a 5xx (an SQL fragment in a value breaks nothing);
- every form route refuses the same post without its anti-forgery token (403), changing nothing.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session
from starlette.routing import Route

from tests.conftest import World, csrf_of
from tests.security.test_authz_matrix import (
    STREAMS,
    USERS,
    fill,
    fingerprint,
    is_machine,
    policy,
)

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)

SCRIPT = "<script>alert(1)</script>"
HANDLER = "<img src=x onerror=alert(2)>"
SQL = "' OR '1'='1'; --"
PROBE = f'"{SCRIPT}{HANDLER}{SQL}'
ESCAPED = "&lt;script&gt;alert(1)&lt;/script&gt;"

# Forms that end the caller's session or the seeded world rather than store something: logging
# out, deleting or erasing alice, switching a second factor, taking over a resident's session.
SKIP = {
    "POST /login",
    "POST /login/mfa",
    "POST /logout",
    "POST /me/settings/logout-everywhere",
    "POST /me/deletion",
    "POST /console/privacy-requests/erase",
    "POST /me/security/mfa",
    "POST /me/security/mfa/disable",
    "POST /me/security/mfa/recovery-codes",
    "POST /console/residents/{resident_id}/assist",
    "POST /console/assist/stop",
}
# Who sends a form, in order of preference among those the policy allows.
SENDERS = ("staff", "admin", "resident", "neighbour")
# Fields that name an object or a choice: they keep a valid value, the others carry the probe.
CHOICE = re.compile(r"(_id|^id|^place|^kind|^role|^category|^status|^severity|^lang)$")


def probe_form(route: APIRoute, ids: dict[str, object]) -> dict[str, str]:
    data: dict[str, str] = {}
    for param in route.dependant.body_params:
        name = param.alias
        if name in ids:
            data[name] = str(ids[name])
        elif CHOICE.search(name):
            data[name] = "1"
        else:
            data[name] = PROBE
    return data


def page_routes(app: FastAPI) -> list[tuple[str, Route]]:
    found = []
    for route in app.routes:
        if not isinstance(route, APIRoute | Route) or is_machine(route.path):
            continue
        if not route.endpoint.__module__.startswith("linli."):
            continue
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((f"{method} {route.path}", route))
    return found


def sender(allowed: frozenset[str]) -> str | None:
    return next((a for a in SENDERS if a in allowed), None)


def test_forms_store_no_script_break_nothing_and_need_their_token(
    app: FastAPI,
    db: Session,
    world: World,
    ids: dict[str, object],
    make_client: Callable[..., TestClient],
) -> None:
    table = policy()
    routes = page_routes(app)
    sessions: dict[str, tuple[TestClient, str]] = {}
    for actor in SENDERS:
        c = make_client(USERS[actor])
        sessions[actor] = (c, csrf_of(c.get("/").text))
    failures: list[str] = []
    sent = 0
    for key, route in routes:
        method, path = key.split(" ", 1)
        if method == "GET" or key in SKIP or not isinstance(route, APIRoute):
            continue
        actor = sender(table.get(key, frozenset()))
        if actor is None:
            continue
        client, token = sessions[actor]
        url = fill(path, ids)
        data = probe_form(route, ids)
        # Without the token: refused, and nothing changes.
        before = fingerprint(db)
        r = client.request(method, url, data=data, follow_redirects=False)
        if r.status_code != 403:
            failures.append(f"{key} as {actor} without a token: {r.status_code}")
        after = fingerprint(db)
        changed = [t for t in before if before[t] != after.get(t)]
        if changed:
            failures.append(f"{key} as {actor} without a token changed {changed}")
        # With it: whatever the answer, never a 5xx.
        r = client.request(method, url, data=data | {"csrf_token": token}, follow_redirects=False)
        sent += 1
        if r.status_code >= 500:
            failures.append(f"{key} as {actor}: {r.status_code}")
        elif SCRIPT in r.text or HANDLER in r.text:
            failures.append(f"{key} as {actor}: the answer carries the probe unescaped")
    assert sent > 50, f"only {sent} forms were probed"

    shown_escaped = 0
    for actor in ("resident", "staff", "admin"):
        reader = make_client(USERS[actor])
        for key, _route in routes:
            method, path = key.split(" ", 1)
            if method != "GET" or key in STREAMS:
                continue
            r = reader.get(fill(path, ids), follow_redirects=False)
            if r.status_code >= 500:
                failures.append(f"{key} as {actor}: {r.status_code}")
                continue
            text = r.text if "html" in r.headers.get("content-type", "") else ""
            if SCRIPT in text or HANDLER in text:
                failures.append(f"{key} as {actor}: the probe is on the page unescaped")
            if ESCAPED in text:
                shown_escaped += 1
    assert not failures, "\n".join(failures)
    assert shown_escaped >= 10, f"the probes were shown (escaped) on only {shown_escaped} pages"
