"""Notification tests: a real SMTP server (aiosmtpd), a real HTTP receiver that can be down,
and helpers to write notifications the way other domains do (inside their transaction)."""

from __future__ import annotations

import hashlib
import hmac
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.notification import service
from linli.notification.models import Notification, NotificationEndpoint
from linli.notification.schemas import PreferencesUpdate
from linli.place import service as place_service
from tests.conftest import PASSWORD, World

WEBHOOK_SECRET = "whsec-0123456789abcdef"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- SMTP -------------------------------------------------------------------------------------


class _Inbox:
    """aiosmtpd handler keeping every accepted message."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        with self.lock:
            self.messages.append(message_from_bytes(envelope.content))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 OK"

    def received(self) -> list[Message]:
        with self.lock:
            return list(self.messages)


@dataclass
class Smtp:
    url: str
    inbox: _Inbox


@pytest.fixture
def smtp() -> Iterator[Smtp]:
    """An SMTP server on a free loopback port."""
    inbox = _Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield Smtp(f"smtp://127.0.0.1:{port}", inbox)
    controller.stop()


# --- HTTP receiver ----------------------------------------------------------------------------


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    """A webhook receiver: answers ``status`` (503 while "down") and records every request."""

    port: int
    status: int = 200
    reply: bytes = b'{"ok": true}'
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: ThreadingHTTPServer | None = None
    thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                with receiver.lock:
                    status, reply = receiver.status, receiver.reply
                    receiver.requests.append(
                        Received(
                            self.path, {k.lower(): v for k, v in self.headers.items()}, body, status
                        )
                    )
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def set_status(self, status: int) -> None:
        with self.lock:
            self.status = status

    def snapshot(self) -> list[Received]:
        with self.lock:
            return list(self.requests)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A receiver on a free port, not yet listening (call ``start()``)."""
    r = Receiver(free_port())
    yield r
    r.stop()


def signature_ok(secret: str, request: Received) -> bool:
    timestamp = request.headers["x-linli-timestamp"]
    expected = hmac.new(secret.encode(), timestamp.encode() + b"." + request.body, hashlib.sha256)
    return hmac.compare_digest(
        request.headers["x-linli-signature"], "sha256=" + expected.hexdigest()
    )


def payload(request: Received) -> dict[str, Any]:
    data: dict[str, Any] = orjson.loads(request.body)
    return data


# --- writing notifications ---------------------------------------------------------------------


def actor_of(world: World, username: str) -> Actor:
    return Actor(account_id=world.accounts[username], username=username)


def set_email(db: Session, world: World, username: str, email: str, **prefs: Any) -> None:
    service.update_preferences(
        db,
        actor_of(world, username),
        PreferencesUpdate(email=email, current_password=PASSWORD, **prefs),
    )


def add_endpoint(
    db: Session,
    world: World,
    place: str,
    url: str,
    *,
    channel: str = "webhook",
    secret: str | None = WEBHOOK_SECRET,
    min_severity: str = "minor",
    recipients: str | None = None,
) -> int:
    endpoint = NotificationEndpoint(
        place_id=world.places[place],
        channel=channel,
        name=f"{channel} of {place}",
        url=url,
        secret=secret,
        recipients=recipients,
        min_severity=min_severity,
    )
    db.add(endpoint)
    db.flush()
    return endpoint.id


def alarm(
    db: Session,
    world: World,
    key: str,
    *,
    to: tuple[str, ...] = ("alice",),
    place: str = "c1-b1u1",
    severity: str = "major",
    subject: str = "Smoke in building 1",
) -> list[Notification]:
    """What an alarm domain does: notify inside its own transaction (the caller commits)."""
    where = place_service.get(db, world.places[place])
    return service.notify(
        db,
        key=key,
        place_id=where.id,
        place_path=where.path,
        account_ids=[world.accounts[u] for u in to],
        category="alarm",
        severity=severity,
        subject=subject,
        body="Detector 3 reports smoke.",
        link="/console/alarms/1",
        data={"alarm_id": 1},
    )
