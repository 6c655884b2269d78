"""Notification pages: the messages page and its preferences form, the console, and the bell's
event stream on a real server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator

import httpx
import orjson
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.events import hub
from linli.notification.models import Notification, NotificationEndpoint
from tests.conftest import PASSWORD, World, bearer, csrf_of
from tests.notification.conftest import add_endpoint, alarm


def test_messages_page_lists_marks_and_saves_preferences(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    alarm(db, world, "alarm:1:raised", to=("alice", "bob"))
    db.commit()
    alice = make_client("alice")
    page = alice.get("/me/notifications", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    assert "Smoke in building 1" in page.text
    assert "1 条未读消息" in page.text
    assert 'data-bell="/me/notifications/stream"' in page.text
    token = csrf_of(page.text)
    row = db.scalars(
        select(Notification.id).where(
            Notification.account_id == world.accounts["alice"], Notification.channel == "inapp"
        )
    ).one()
    r = alice.post(
        f"/me/notifications/{row}/read", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert "0 条未读消息" in alice.get("/me/notifications").text
    # Bob's message cannot be marked by Alice.
    bobs = db.scalars(
        select(Notification.id).where(Notification.account_id == world.accounts["bob"])
    ).one()
    r = alice.post(f"/me/notifications/{bobs}/read", data={"csrf_token": token})
    assert r.status_code == 404
    # A mistake comes back at its field; a good form is saved.
    r = alice.post(
        "/me/notifications/preferences",
        data={"csrf_token": token, "email": "nope", "quiet_start": "22:00", "quiet_end": "07:00"},
    )
    assert r.status_code == 422
    assert 'id="f-email-error"' in r.text
    r = alice.post(
        "/me/notifications/preferences",
        data={"csrf_token": token, "quiet_start": "22:00", "quiet_end": ""},
    )
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    r = alice.post(
        "/me/notifications/preferences",
        data={
            "csrf_token": token,
            "email": "alice@example.org",
            "password": PASSWORD,
            "email_enabled": "1",
            "quiet_start": "22:00",
            "quiet_end": "07:00",
            "min_severity": "major",
            "daily_cap": "3",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    saved = alice.get("/api/v1/notification-preferences").json()
    assert saved["email"] == "alice@example.org"
    assert saved["daily_cap"] == 3
    # Without the form's token nothing changes.
    r = alice.post("/me/notifications/read-all", data={})
    assert r.status_code == 403


def test_pages_need_a_login(client: TestClient) -> None:
    for path in ("/me/notifications", "/console/notifications", "/me/notifications/stream"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code in (303, 401), (path, r.status_code)


def test_console_for_staff_only_and_endpoint_form(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    assert make_client("alice").get("/console/notifications").status_code == 403
    staff = make_client("staff1")
    page = staff.get("/console/notifications", headers={"Accept-Language": "en"})
    assert page.status_code == 200
    assert "Messages to endpoints" in page.text
    assert 'action="/console/notifications/endpoints"' not in page.text  # no admin forms
    admin = make_client("admin1")
    admin.headers["Accept-Language"] = "en"
    page = admin.get("/console/notifications")
    token = csrf_of(page.text)
    r = admin.post(
        "/console/notifications/endpoints",
        data={
            "csrf_token": token,
            "channel": "webhook",
            "place_id": str(world.places["c1"]),
            "name": "Hook",
            "url": "https://x.example.org/h",
            "secret": "short",
        },
    )
    assert r.status_code == 422
    assert "at least 16 characters" in r.text
    r = admin.post(
        "/console/notifications/endpoints",
        data={
            "csrf_token": token,
            "channel": "wecom",
            "place_id": str(world.places["c1"]),
            "name": "Duty robot",
            "url": "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K-123",
            "min_severity": "major",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    shown = admin.get("/console/notifications").text
    assert "Duty robot" in shown
    assert "K-123" not in shown
    endpoint = db.scalars(select(NotificationEndpoint.id)).one()
    r = make_client("staff2").post(
        f"/console/notifications/endpoints/{endpoint}/delete", data={"csrf_token": token}
    )
    assert r.status_code == 403  # another session's token
    # A dead letter shows with its reason and a retry button for the admin.
    alarm(db, world, "alarm:9:raised", to=())
    db.commit()
    row = db.scalars(select(Notification)).one()
    row.status, row.last_error = "dead", "robot error 93000: invalid webhook url"
    db.commit()
    page = admin.get("/console/notifications")
    assert "robot error 93000" in page.text
    r = admin.post(
        f"/console/notifications/{row.id}/retry",
        data={"csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    assert db.get(Notification, row.id).status == "pending"  # type: ignore[union-attr]
    staff2 = make_client("staff2")
    assert "robot error" not in staff2.get("/console/notifications").text


# --- the bell's stream on a real server ---------------------------------------------------------


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="off", log_config=None
    )
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=15)
    sock.close()


def _events(lines: Iterator[str]) -> Iterator[dict[str, object]]:
    for line in lines:
        if line.startswith("data: "):
            yield orjson.loads(line[6:])


def test_the_bell_stream_counts_live_and_ends_with_the_client(
    server: str, db: Session, world: World
) -> None:
    add_endpoint(db, world, "c1", "http://127.0.0.1:9/hook")
    alarm(db, world, "alarm:20:raised", to=("alice",))
    db.commit()
    topic = f"inbox:{world.accounts['alice']}"
    with httpx.Client(base_url=server, timeout=20) as client:
        assert client.get("/me/notifications/stream").status_code in (303, 401)
        with client.stream(
            "GET", "/me/notifications/stream", headers=bearer(world, "alice")
        ) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["cache-control"] == "no-store"
            events = _events(response.iter_lines())
            assert next(events) == {"unread": 1}
            # Bob's message is not Alice's business; hers arrives after the commit.
            alarm(db, world, "alarm:21:raised", to=("bob",))
            db.commit()
            alarm(db, world, "alarm:22:raised", to=("alice",), subject="Gas alarm")
            db.commit()
            live = next(events)
            assert live["unread"] == 2
            assert live["subject"] == "Gas alarm"
    ends = time.monotonic() + 15
    while hub.subscribers(topic):
        assert time.monotonic() < ends, "the stream outlived its client"
        time.sleep(0.02)
