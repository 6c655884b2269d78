"""The delivery workers against real receivers: an SMTP server (aiosmtpd) and an HTTP server on
loopback that is down for a while. Deadlines, never fixed sleeps."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.config import Settings
from linli.notification import channels
from linli.notification.models import Notification
from linli.notification.tasks import DeliveryWorkers, backoff, retry_window
from tests.conftest import World
from tests.notification.conftest import (
    WEBHOOK_SECRET,
    Receiver,
    Smtp,
    add_endpoint,
    alarm,
    payload,
    set_email,
    signature_ok,
)

DEADLINE = 30.0


@pytest.fixture(autouse=True)
def processors(app: FastAPI) -> None:
    """Every channel's processor is in the recipient registry with a contract, as a real
    deployment's LINLI_PROCESSORS registers them (delivery refuses to send otherwise)."""
    from linli.sharing import service as sharing_service

    entries: list[dict[str, object]] = [
        {"channel": c, "name": f"{c} provider", "contract_reference": f"DPA-{c}"}
        for c in sharing_service.CHANNEL_FIELDS
    ]
    with app.state.sessionmaker() as s:
        sharing_service.sync_processors(s, entries)
        s.commit()


async def until(check: Callable[[], Awaitable[bool]], what: str, timeout: float = DEADLINE) -> None:
    """Poll ``check`` until it holds; fail with ``what`` after ``timeout`` seconds."""
    ends = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > ends:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _workers(app: FastAPI, settings: Settings, **tunables: float) -> DeliveryWorkers:
    options: dict[str, float] = {
        "base_delay": 0.05,
        "max_delay": 0.3,
        "poll_interval": 0.05,
        "max_attempts": 1000,
        "jitter": 0.0,
    }
    options.update(tunables)
    return DeliveryWorkers(
        app.state.sessionmaker,
        settings,
        base_delay=options["base_delay"],
        max_delay=options["max_delay"],
        poll_interval=options["poll_interval"],
        max_attempts=int(options["max_attempts"]),
        jitter=options["jitter"],
    )


def _statuses(app: FastAPI, channel: str) -> list[str]:
    with app.state.sessionmaker() as s:
        stmt = select(Notification.status).where(Notification.channel == channel)
        return list(s.scalars(stmt.order_by(Notification.id)))


def test_email_goes_through_a_real_smtp_server(
    app: FastAPI, settings: Settings, db: Session, world: World, smtp: Smtp
) -> None:
    mail_settings = settings.model_copy(update={"smtp_url": smtp.url})
    set_email(db, world, "alice", "alice@example.org")
    db.commit()

    async def scenario() -> None:
        async with _workers(app, mail_settings):
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:7:raised"), db.commit()))

            async def delivered() -> bool:
                return _statuses(app, "email") == ["sent"]

            await until(delivered, "the e-mail to be sent")

    asyncio.run(scenario())
    [mail] = smtp.inbox.received()
    assert mail["To"] == "alice@example.org"
    assert mail["From"] == "linli@testserver"
    assert mail["Subject"] == "Smoke in building 1"
    key = f"alarm:7:raised:email:a{world.accounts['alice']}"
    assert mail["X-Linli-Idempotency-Key"] == key
    assert mail["Message-ID"] == channels.message_id(key, mail_settings)
    assert "http://testserver/console/alarms/1" in mail.get_payload()
    row = db.scalars(select(Notification).where(Notification.channel == "email")).one()
    assert row.sent_at is not None
    assert row.attempts == 0


def test_webhook_is_signed_and_a_permanent_refusal_is_a_dead_letter(
    app: FastAPI, settings: Settings, db: Session, world: World, receiver: Receiver
) -> None:
    receiver.start()
    endpoint = add_endpoint(db, world, "c1", receiver.url)
    db.commit()

    async def scenario() -> None:
        async with _workers(app, settings):
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:8:raised"), db.commit()))

            async def sent() -> bool:
                return _statuses(app, "webhook") == ["sent"]

            await until(sent, "the webhook to be delivered")
            receiver.set_status(410)  # gone: retrying cannot help
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:9:raised"), db.commit()))

            async def dead() -> bool:
                return _statuses(app, "webhook") == ["sent", "dead"]

            await until(dead, "the refused webhook to become a dead letter")

    asyncio.run(scenario())
    first, second = receiver.snapshot()
    assert signature_ok(WEBHOOK_SECRET, first)
    assert not signature_ok("another-secret-value", first)
    body = payload(first)
    assert first.headers["idempotency-key"] == body["id"] == f"alarm:8:raised:webhook:e{endpoint}"
    assert body["event"] == "alarm:8:raised"
    assert body["severity"] == "major"
    assert body["link"] == "http://testserver/console/alarms/1"
    assert body["data"] == {"alarm_id": 1}
    assert abs(int(first.headers["x-linli-timestamp"]) - time.time()) < 300
    assert second.status == 410
    db.expire_all()
    dead = db.scalars(select(Notification).where(Notification.status == "dead")).one()
    assert dead.attempts == 1
    assert "HTTP 410" in dead.last_error


def test_a_receiver_that_is_down_gets_everything_exactly_once_while_email_flows(
    app: FastAPI,
    settings: Settings,
    db: Session,
    world: World,
    smtp: Smtp,
    receiver: Receiver,
) -> None:
    """Not listening, then answering 503, then up: each message arrives once; mail never waits."""
    mail_settings = settings.model_copy(update={"smtp_url": smtp.url})
    set_email(db, world, "alice", "alice@example.org")
    add_endpoint(db, world, "c1", receiver.url)
    db.commit()
    count = 6

    async def scenario() -> None:
        async with _workers(app, mail_settings):
            for i in range(count):
                await asyncio.to_thread(
                    lambda i=i: (alarm(db, world, f"alarm:{100 + i}:raised"), db.commit())
                )

            async def mail_done() -> bool:
                return len(smtp.inbox.received()) == count

            # Nothing listens at the endpoint, yet every e-mail goes out.
            await until(mail_done, "every e-mail while the webhook is down")
            assert "sent" not in _statuses(app, "webhook")

            async def tried_often() -> bool:
                with app.state.sessionmaker() as s:
                    head = s.scalars(
                        select(Notification.attempts)
                        .where(Notification.channel == "webhook")
                        .order_by(Notification.id)
                    ).first()
                return head is not None and head >= 3

            await until(tried_often, "several failed attempts")
            # Now it answers, but with 503 for a while.
            receiver.set_status(503)
            receiver.start()

            async def refused_some() -> bool:
                return sum(1 for r in receiver.snapshot() if r.status == 503) >= 2

            await until(refused_some, "503 answers")
            receiver.set_status(200)

            async def all_in() -> bool:
                return _statuses(app, "webhook") == ["sent"] * count

            await until(all_in, "every webhook after the receiver came back")

    asyncio.run(scenario())
    accepted = Counter(r.headers["idempotency-key"] for r in receiver.snapshot() if r.status == 200)
    assert len(accepted) == count
    assert set(accepted.values()) == {1}, accepted
    assert all(signature_ok(WEBHOOK_SECRET, r) for r in receiver.snapshot())
    # Messages behind a failing one wait for its retry instead of each probing the receiver.
    refused = [r for r in receiver.snapshot() if r.status != 200]
    assert len(refused) < 4 * 4, len(refused)
    assert len(smtp.inbox.received()) == count
    assert len({m["Message-ID"] for m in smtp.inbox.received()}) == count


def test_two_sets_of_workers_never_send_a_message_twice(
    app: FastAPI, settings: Settings, db: Session, world: World, receiver: Receiver
) -> None:
    receiver.start()
    add_endpoint(db, world, "c1", receiver.url)
    add_endpoint(db, world, "c1-compound", receiver.url + "?second")
    db.commit()
    count = 20

    async def scenario() -> None:
        async with _workers(app, settings), _workers(app, settings):
            await asyncio.to_thread(
                lambda: (
                    [alarm(db, world, f"alarm:{200 + i}:raised", to=()) for i in range(count)],
                    db.commit(),
                )
            )

            async def all_in() -> bool:
                return _statuses(app, "webhook") == ["sent"] * (2 * count)

            await until(all_in, "every webhook")

    asyncio.run(scenario())
    keys = Counter(r.headers["idempotency-key"] for r in receiver.snapshot())
    assert len(keys) == 2 * count
    assert set(keys.values()) == {1}


def test_backoff_grows_caps_and_spreads() -> None:
    assert backoff(1, 2.0, 1800.0, jitter=0.0) == 2.0
    assert backoff(5, 2.0, 1800.0, jitter=0.0) == 32.0
    assert backoff(30, 2.0, 1800.0, jitter=0.0) == 1800.0
    spread = {backoff(3, 2.0, 1800.0) for _ in range(20)}
    assert all(6.4 <= d <= 8.0 for d in spread)
    assert len(spread) > 1
    # The default tunables retry for about a day before a message becomes a dead letter.
    assert 23 * 3600 < retry_window(2.0, 1800.0, 57) < 25 * 3600


def test_robots_and_sms_gateway_get_their_formats(
    app: FastAPI, settings: Settings, db: Session, world: World, receiver: Receiver
) -> None:
    receiver.reply = b'{"errcode": 0, "errmsg": "ok"}'
    receiver.start()
    base = f"http://127.0.0.1:{receiver.port}"
    add_endpoint(db, world, "c1", f"{base}/wecom?key=k1", channel="wecom", secret=None)
    add_endpoint(
        db, world, "c1", f"{base}/ding?access_token=t1", channel="dingtalk", secret="SECabc"
    )
    add_endpoint(
        db, world, "c1", f"{base}/sms", channel="sms", secret="gw-token", recipients="13800001111"
    )
    db.commit()

    async def scenario() -> None:
        async with _workers(app, settings):
            await asyncio.to_thread(
                lambda: (alarm(db, world, "alarm:300:raised", to=()), db.commit())
            )

            async def all_in() -> bool:
                return (
                    sorted(
                        _statuses(app, "wecom") + _statuses(app, "dingtalk") + _statuses(app, "sms")
                    )
                    == ["sent"] * 3
                )

            await until(all_in, "robots and SMS")

    asyncio.run(scenario())
    by_path = {r.path.split("?")[0]: r for r in receiver.snapshot()}
    wecom = payload(by_path["/wecom"])
    assert wecom["msgtype"] == "text"
    assert "Smoke in building 1" in wecom["text"]["content"]
    ding = by_path["/ding"]
    assert payload(ding)["msgtype"] == "text"
    query = dict(part.split("=", 1) for part in ding.path.split("?", 1)[1].split("&"))
    assert query["access_token"] == "t1"
    timestamp = int(query["timestamp"])
    assert channels.dingtalk_url(f"{base}/ding?access_token=t1", "SECabc", timestamp).endswith(
        f"&sign={query['sign']}"
    )
    sms = by_path["/sms"]
    assert sms.headers["authorization"] == "Bearer gw-token"
    assert payload(sms)["to"] == ["13800001111"]
    assert "Smoke in building 1" in payload(sms)["text"]


def test_a_robot_error_code_is_a_failure(
    app: FastAPI, settings: Settings, db: Session, world: World, receiver: Receiver
) -> None:
    receiver.reply = b'{"errcode": 93000, "errmsg": "invalid webhook url"}'
    receiver.start()
    add_endpoint(db, world, "c1", receiver.url + "?key=bad", channel="wecom", secret=None)
    db.commit()

    async def scenario() -> None:
        async with _workers(app, settings):
            await asyncio.to_thread(
                lambda: (alarm(db, world, "alarm:301:raised", to=()), db.commit())
            )

            async def dead() -> bool:
                return _statuses(app, "wecom") == ["dead"]

            await until(dead, "the robot's refusal")

    asyncio.run(scenario())
    db.expire_all()
    row = db.scalars(select(Notification).where(Notification.channel == "wecom")).one()
    assert "93000" in row.last_error
