"""Webhook delivery to a real HTTP receiver on a loopback port: signed, retried, never lost.

The receiver is the standard library's HTTP server in a thread; it checks the signature the
way docs/sharing.md tells a recipient to, and can be stopped and started again on its port.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.time import utc_now
from linli.sharing import service as sharing_service
from linli.sharing import tasks
from linli.sharing.models import Disclosure
from tests.conftest import World
from tests.sharing.conftest import open_incident, recipient
from tests.standards.cap.test_cap import validate_cap


@dataclass
class Received:
    key: str = ""
    bodies: list[bytes] = field(default_factory=list)
    deliveries: list[str] = field(default_factory=list)
    bad_signatures: int = 0
    content_types: list[str] = field(default_factory=list)


class Receiver:
    """A recipient's webhook endpoint that verifies every message's signature."""

    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.got = Received()
        self.server: ThreadingHTTPServer | None = None
        self.thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/cap"

    def start(self) -> None:
        got = self.got

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # the stdlib's handler name
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                stamp = self.headers.get("X-Linli-Timestamp", "")
                mac = hmac.new(got.key.encode(), stamp.encode() + b"." + body, hashlib.sha256)
                expected = "sha256=" + mac.hexdigest()
                presented = self.headers.get("X-Linli-Signature", "")
                if not hmac.compare_digest(expected, presented):
                    got.bad_signatures += 1
                    self.send_response(401)
                    self.end_headers()
                    return
                got.bodies.append(body)
                got.deliveries.append(self.headers.get("X-Linli-Delivery", ""))
                got.content_types.append(self.headers.get("Content-Type", ""))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None
        if self.thread is not None:
            self.thread.join(timeout=5)
            self.thread = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.stop()


def _rows(db: Session) -> list[Disclosure]:
    db.expire_all()
    return list(db.scalars(select(Disclosure).order_by(Disclosure.id)))


pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _later() -> dt.datetime:
    """A round's clock: just after the messages made now."""
    return utc_now() + dt.timedelta(seconds=1)


def test_a_webhook_receives_the_signed_message(
    app: FastAPI, db: Session, world: World, receiver: Receiver
) -> None:
    issued = recipient(db, world, fields=["headline"], webhook_url=receiver.url)
    assert issued.signing_key
    receiver.got.key = issued.signing_key
    receiver.start()
    open_incident(db, world)
    [pending] = _rows(db)
    assert (pending.channel, pending.status) == ("webhook", "pending")
    t0 = _later()
    assert tasks.run_once(app.state.sessionmaker, t0) == (1, 0)
    assert receiver.got.bad_signatures == 0
    assert receiver.got.deliveries == [str(pending.id)]
    assert receiver.got.content_types == ["application/cap+xml"]
    # Byte for byte what the log says was disclosed, and a valid CAP 1.2 alert.
    assert receiver.got.bodies == [pending.payload.encode("utf-8")]
    validate_cap(receiver.got.bodies[0])
    [sent] = _rows(db)
    assert (sent.status, sent.attempts, sent.sent_at) == ("sent", 1, t0)
    # Nothing is sent twice.
    assert tasks.run_once(app.state.sessionmaker, t0 + dt.timedelta(hours=2)) == (0, 0)
    assert len(receiver.got.bodies) == 1


def test_a_wrong_key_is_refused_by_the_receiver_and_retried(
    app: FastAPI, db: Session, world: World, receiver: Receiver
) -> None:
    recipient(db, world, webhook_url=receiver.url)
    receiver.got.key = "not-the-key"
    receiver.start()
    open_incident(db, world)
    assert tasks.run_once(app.state.sessionmaker, _later()) == (0, 1)
    assert receiver.got.bad_signatures == 1
    [row] = _rows(db)
    assert (row.status, row.attempts, row.last_error) == ("pending", 1, "HTTP 401")


def test_a_receiver_that_is_down_gets_everything_when_it_comes_back(
    app: FastAPI, db: Session, world: World, receiver: Receiver
) -> None:
    issued = recipient(db, world, webhook_url=receiver.url)
    assert issued.signing_key
    receiver.got.key = issued.signing_key
    first = open_incident(db, world, title="一号")
    second = open_incident(db, world, title="二号")
    maker = app.state.sessionmaker
    t0 = _later()
    # Down: nothing listens on the port. Each attempt waits twice as long as the one before.
    now = t0
    waits = []
    for attempt in range(1, 4):
        assert tasks.run_once(maker, now) == (0, 2)
        rows = _rows(db)
        assert {(r.status, r.attempts) for r in rows} == {("pending", attempt)}
        assert all(r.last_error for r in rows)
        next_at = rows[0].next_attempt_at
        assert next_at is not None
        waits.append(next_at - now)
        # Not due before its time.
        assert tasks.run_once(maker, next_at - dt.timedelta(seconds=1)) == (0, 0)
        now = next_at
    assert waits == [dt.timedelta(seconds=30), dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    assert sharing_service.backoff(9) == dt.timedelta(hours=1)  # capped
    # Back up on the same port: both messages arrive, once each.
    receiver.start()
    assert tasks.run_once(maker, now) == (2, 0)
    assert sorted(receiver.got.deliveries) == sorted(str(r.id) for r in _rows(db))
    assert {r.status for r in _rows(db)} == {"sent"}
    assert {first.id, second.id} == {r.subject_id for r in _rows(db)}


def test_after_ten_failed_attempts_a_message_is_failed_and_stays_in_the_feed(
    app: FastAPI, db: Session, world: World, receiver: Receiver
) -> None:
    recipient(db, world, webhook_url=receiver.url)
    open_incident(db, world)
    now = _later()
    for _attempt in range(sharing_service.MAX_ATTEMPTS):
        assert tasks.run_once(app.state.sessionmaker, now) == (0, 1)
        [row] = _rows(db)
        now = row.next_attempt_at or now
    [row] = _rows(db)
    assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 10, None)
    assert tasks.run_once(app.state.sessionmaker, now + dt.timedelta(days=1)) == (0, 0)
