"""The live alarm stream (server-sent events) over a real HTTP connection to uvicorn."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.orm import Session

from linli.core.events import hub
from linli.web import sse
from tests.alarm.conftest import Setup, raise_alarm
from tests.conftest import PASSWORD, World, bearer

TIMEOUT = httpx.Timeout(10.0)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def server(app: FastAPI) -> Iterator[str]:
    """The app under uvicorn in a thread, on a loopback port (listening before it starts)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app, log_level="critical", access_log=False, lifespan="off", log_config=None
    )
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    assert httpx.get(f"{base}/healthz", timeout=TIMEOUT).status_code == 200
    yield base
    instance.should_exit = True
    thread.join(timeout=15)
    sock.close()


class Reader:
    """Reads a text/event-stream response line by line into events."""

    def __init__(self, response: httpx.Response) -> None:
        self.lines = response.iter_lines()

    def until_retry(self) -> str:
        for line in self.lines:
            if line.startswith("retry:"):
                return line
        raise AssertionError("the stream ended before its retry line")

    def next_block(self) -> list[str]:
        """The lines of the next event or comment (up to a blank line)."""
        block: list[str] = []
        for line in self.lines:
            if line == "":
                if block:
                    return block
                continue
            block.append(line)
        raise AssertionError("the stream ended")

    def next_event(self) -> tuple[str, dict[str, object]]:
        while True:
            block = self.next_block()
            if block[0].startswith(":"):
                continue  # a heartbeat
            fields = dict(line.split(": ", 1) for line in block)
            return fields["event"], json.loads(fields["data"])


def _wait_for_subscribers(count: int) -> None:
    deadline = time.monotonic() + 10
    while hub.subscribers("alarm") != count:
        assert time.monotonic() < deadline, f"{hub.subscribers('alarm')} subscribers, not {count}"
        time.sleep(0.01)


def test_api_stream_delivers_visible_alarm_changes_only(
    server: str, app: FastAPI, db: Session, world: World, setup: Setup
) -> None:
    db.close()
    before = hub.subscribers("alarm")
    with (
        httpx.Client(timeout=TIMEOUT) as client,
        client.stream(
            "GET", f"{server}/api/v1/alarms/stream", headers=bearer(world, "staff1")
        ) as r,
    ):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        assert r.headers["cache-control"] == "no-store"
        assert r.headers["x-accel-buffering"] == "no"
        # Subscribed before the headers were sent: nothing published from now on is missed.
        assert hub.subscribers("alarm") == before + 1
        reader = Reader(r)
        assert reader.until_retry() == f"retry: {sse.RETRY_MS}"
        # Streaming holds no database connection.
        assert app.state.engine.pool.checkedout() == 0
        # Another community's alarm first: if it leaked, it would be the first event read.
        other = raise_alarm(db, setup, "c2", device="NZ-2")
        mine = raise_alarm(db, setup, "c1-b1", device="SMK-1", title="烟雾报警")
        name, data = reader.next_event()
        assert name == "alarm"
        assert data["id"] == mine
        assert data["id"] != other
        assert data["change"] == "raised"
        assert data["severity"] == "critical"
        assert data["title"] == "烟雾报警"
        assert data["place_id"] == world.places["c1-b1"]
        assert data["device_id"] == setup.devices["SMK-1"]
        assert data["active"] is True
        assert data["acknowledged"] is False
        # A change made through the API arrives too.
        ack = httpx.post(
            f"{server}/api/v1/alarms/{mine}/acknowledge",
            headers=bearer(world, "grid1"),
            timeout=TIMEOUT,
        )
        assert ack.status_code == 200
        raise_alarm(db, setup, "c2", device="NZ-2", source="ds:c2-second")
        name, data = reader.next_event()
        assert (name, data["id"], data["change"], data["acknowledged"]) == (
            "alarm",
            mine,
            "acknowledged",
            True,
        )
        assert hub.subscribers("alarm") == before + 1
    # The client went away: the stream ends and unsubscribes.
    _wait_for_subscribers(before)


def test_stream_refuses_anonymous_and_residents(server: str, world: World) -> None:
    r = httpx.get(f"{server}/api/v1/alarms/stream", timeout=TIMEOUT)
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    r = httpx.get(f"{server}/api/v1/alarms/stream", headers=bearer(world, "bob"), timeout=TIMEOUT)
    assert r.status_code == 403


def test_console_stream_with_session_cookie_and_heartbeat(
    server: str, db: Session, setup: Setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sse, "HEARTBEAT_S", 0.2)
    db.close()
    with httpx.Client(base_url=server, timeout=TIMEOUT) as client:
        page = client.get("/login")
        match = CSRF.search(page.text)
        assert match is not None
        login = client.post(
            "/login",
            data={"username": "staff2", "password": PASSWORD, "csrf_token": match.group(1)},
        )
        assert login.status_code in (200, 303), login.text
        with client.stream("GET", "/console/alarms/stream") as r:
            assert r.status_code == 200
            assert r.headers["content-type"].startswith("text/event-stream")
            reader = Reader(r)
            reader.until_retry()
            assert reader.next_block() == [": keep-alive"]
            raise_alarm(db, setup, "c1-b1")
            theirs = raise_alarm(db, setup, "c2", device="NZ-2")
            name, data = reader.next_event()
            assert (name, data["id"]) == ("alarm", theirs)
