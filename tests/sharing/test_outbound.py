"""Outbound flows besides the CAP messages: the resident sheet exported only after a second
administrator approves it, notifications only through a registered processor, declared
personal-data incidents with their notices, and `linli check` of the outbound endpoints."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import time
from collections.abc import Awaitable, Callable

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from linli.cli import app as cli_app
from linli.config import Settings
from linli.notification import channels
from linli.notification.models import Notification
from linli.notification.tasks import DeliveryWorkers
from linli.sharing import service as sharing_service
from linli.sharing.models import Disclosure, DisclosureResident, ExportRequest, Recipient
from tests.conftest import TEST_SECRET, World, bearer
from tests.notification.conftest import Receiver, Smtp, add_endpoint, alarm, payload, set_email
from tests.sharing.conftest import (
    BREACH,
    account_with_role,
    recipient,
    second_admin,
    sheet_recipient,
)

DEADLINE = 30.0

# --- the resident sheet ------------------------------------------------------------------------


def test_an_export_needs_a_second_administrator_and_downloads_once(
    client: TestClient, db: Session, world: World
) -> None:
    # The recipient may have the rooms only: the file has no other column.
    entry = recipient(
        db, world, name="街道办事处", fields=["resident_rooms"], types=[], basis="legal_duty"
    )
    admin1 = bearer(world, "admin1")
    _approver, admin2 = second_admin(db, world, "c1")
    other = account_with_role(db, world, "admin-c2", "community_admin", "c2")
    body = {"place_id": world.places["c1"], "recipient_id": entry.id, "purpose": "Census"}

    for who in ("staff1", "alice", "auditor1"):
        r = client.post("/api/v1/sharing/exports", json=body, headers=bearer(world, who))
        assert r.status_code in (403, 404), (who, r.text)
    r = client.post("/api/v1/sharing/exports", json=body, headers=other)
    assert r.status_code == 403
    made = client.post("/api/v1/sharing/exports", json=body, headers=admin1)
    assert made.status_code == 201, made.text
    export_id = made.json()["id"]
    assert made.json()["status"] == "pending"
    file_url = f"/api/v1/sharing/exports/{export_id}/file"
    decide_url = f"/api/v1/sharing/exports/{export_id}/decision"

    # Not before approval, and never approved by the one who asked.
    assert client.get(file_url, headers=admin1).status_code == 409
    mine = client.post(decide_url, json={"approve": True}, headers=admin1)
    assert mine.status_code == 403
    assert "另一位管理员" in mine.json()["detail"]
    # An administrator of another community neither sees it nor decides it.
    assert client.get("/api/v1/sharing/exports", headers=other).json() == []
    assert client.post(decide_url, json={"approve": True}, headers=other).status_code == 404
    assert client.get(file_url, headers=other).status_code == 404
    pending = db.get(ExportRequest, export_id)
    assert pending is not None
    assert pending.status == "pending"

    ok = client.post(decide_url, json={"approve": True, "note": "Purpose checked"}, headers=admin2)
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "approved"
    assert client.post(decide_url, json={"approve": False}, headers=admin2).status_code == 409
    # The approver does not get the file: only the one who asked, once.
    assert client.get(file_url, headers=admin2).status_code == 403
    listed = client.get("/api/v1/sharing/exports", headers=admin2).json()
    assert [x["id"] for x in listed] == [export_id]

    got = client.get(file_url, headers=admin1)
    assert got.status_code == 200, got.text
    assert got.headers["cache-control"] == "no-store"
    assert got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == ["room"]
    assert sorted(r[0] for r in rows[1:]) == ["101", "101", "102"]  # alice, alan; bob
    assert "王" not in got.text
    assert "李" not in got.text
    again = client.get(file_url, headers=admin1)
    assert again.status_code == 409
    assert "已经下载过" in again.json()["detail"]

    db.expire_all()
    stored = db.get(ExportRequest, export_id)
    assert stored is not None
    assert stored.status == "downloaded"
    disclosure = db.get(Disclosure, stored.disclosure_id)
    assert disclosure is not None
    assert (disclosure.subject_type, disclosure.channel) == ("export", "file")
    assert disclosure.fields == ["resident_rooms"]
    concerned = db.scalars(
        select(DisclosureResident.resident_id).where(
            DisclosureResident.disclosure_id == disclosure.id
        )
    ).all()
    assert sorted(concerned) == sorted(world.residents[p] for p in ("alice", "alan", "bob"))

    # Alice sees it on her "what was shared about me" list; carol in c2 does not.
    seen = client.get("/api/v1/me/disclosures", headers=bearer(world, "alice")).json()["items"]
    [shown] = [d for d in seen if d["subject_type"] == "export"]
    assert shown["recipient_name"] == "街道办事处"
    assert shown["fields"] == ["resident_rooms"]
    assert shown["channel"] == "file"
    assert shown["purpose"] == "Census"
    carol = client.get("/api/v1/me/disclosures", headers=bearer(world, "carol")).json()
    assert carol["items"] == []
    # The recipient's CAP feed never carries the file.
    registered = db.get(Recipient, entry.id)
    assert registered is not None
    assert sharing_service.feed_disclosures(db, registered, disclosure.created_at) == []


def test_an_export_only_to_a_recipient_that_may_have_the_sheet_of_that_place(
    client: TestClient, db: Session, world: World
) -> None:
    admin1 = bearer(world, "admin1")
    cap_only = recipient(db, world, name="派出所", fields=["headline"])
    r = client.post(
        "/api/v1/sharing/exports",
        json={"place_id": world.places["c1"], "recipient_id": cap_only.id, "purpose": "x"},
        headers=admin1,
    )
    assert r.status_code == 422
    # Registered for one building, it may not have the whole community's sheet.
    building = sheet_recipient(db, world, place="c1-b1")
    r = client.post(
        "/api/v1/sharing/exports",
        json={"place_id": world.places["c1"], "recipient_id": building.id, "purpose": "x"},
        headers=admin1,
    )
    assert r.status_code == 422
    # The sheet is refused to a recipient without a duty by law or a contract.
    r = client.post(
        "/api/v1/sharing/recipients",
        json={
            "place_id": world.places["c1"],
            "name": "Survey company",
            "kind": "other",
            "purpose": "Market research",
            "legal_basis": "consent",
            "allowed_fields": ["resident_names"],
            "incident_types": [],
        },
        headers=admin1,
    )
    assert r.status_code == 422


# --- notifications through an entrusted processor -----------------------------------------------


async def _until(check: Callable[[], Awaitable[bool]], what: str) -> None:
    ends = time.monotonic() + DEADLINE
    while not await check():
        if time.monotonic() > ends:
            pytest.fail(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


def _workers(app: FastAPI, settings: Settings) -> DeliveryWorkers:
    return DeliveryWorkers(
        app.state.sessionmaker,
        settings,
        base_delay=0.05,
        max_delay=0.3,
        poll_interval=0.05,
        max_attempts=1000,
        jitter=0.0,
    )


def _statuses(app: FastAPI) -> dict[str, str]:
    with app.state.sessionmaker() as s:
        rows = s.execute(select(Notification.channel, Notification.status)).all()
        return {c: st for c, st in rows if c != "inapp"}


def _processors() -> list[dict[str, object]]:
    return [
        {"channel": c, "name": f"{c} provider", "contract_reference": f"DPA-{c}"}
        for c in sharing_service.CHANNEL_FIELDS
    ]


def test_what_each_channel_sends_is_what_its_processor_is_allowed() -> None:
    assert set(channels.PAYLOAD_FIELDS) == set(sharing_service.CHANNEL_FIELDS)
    for channel, parts in channels.PAYLOAD_FIELDS.items():
        used = {f for f in parts.values() if f}
        assert used == set(sharing_service.CHANNEL_FIELDS[channel]), channel
        assert used <= set(sharing_service.PROCESSOR_FIELDS)


def test_a_notification_through_a_processor_is_disclosed_with_its_fields_only(
    app: FastAPI,
    settings: Settings,
    client: TestClient,
    db: Session,
    world: World,
    smtp: Smtp,
    receiver: Receiver,
) -> None:
    with app.state.sessionmaker() as s:
        sharing_service.sync_processors(s, _processors())
        s.commit()
    receiver.start()
    set_email(db, world, "alice", "alice@example.org")
    add_endpoint(db, world, "c1", receiver.url)
    db.commit()
    mail_settings = settings.model_copy(update={"smtp_url": smtp.url})

    async def scenario() -> None:
        async with _workers(app, mail_settings):
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:9:raised"), db.commit()))

            async def delivered() -> bool:
                return _statuses(app) == {"email": "sent", "webhook": "sent"}

            await _until(delivered, "the e-mail and the webhook to be sent")

    asyncio.run(scenario())
    [mail] = smtp.inbox.received()
    assert mail["To"] == "alice@example.org"
    [hook] = receiver.snapshot()
    sent = payload(hook)
    # The webhook's payload is the documented one, each part in the registry's terms.
    assert set(sent) <= set(channels.PAYLOAD_FIELDS["webhook"])

    rows = {d.channel: d for d in db.scalars(select(Disclosure))}
    assert set(rows) == {"email", "webhook"}
    email, webhook = rows["email"], rows["webhook"]
    processors = {
        r.processor_channel: r
        for r in db.scalars(select(Recipient).where(Recipient.kind == "processor"))
    }
    assert email.recipient_id == processors["email"].id
    assert email.subject_type == "message"
    assert email.fields == ["email_address", "message_text"]
    assert webhook.subject_type == "notification"
    assert webhook.fields == ["message_text", "message_data"]
    mapped = {channels.PAYLOAD_FIELDS["webhook"][k] for k in sent} - {""}
    assert mapped <= set(webhook.fields)
    for d in (email, webhook):
        assert set(d.fields) <= set(processors[d.channel].allowed_fields)
        assert d.legal_basis == "contract"
        assert d.status == "sent"
    residents = db.scalars(
        select(DisclosureResident.resident_id).where(DisclosureResident.disclosure_id == email.id)
    ).all()
    assert list(residents) == [world.residents["alice"]]

    # Alice sees both; bob, in the same building, sees the duty message but not her e-mail.
    alice = client.get("/api/v1/me/disclosures", headers=bearer(world, "alice")).json()
    assert {(d["subject_type"], d["channel"]) for d in alice["items"]} == {
        ("message", "email"),
        ("notification", "webhook"),
    }
    [own] = [d for d in alice["items"] if d["channel"] == "email"]
    assert own["headline"] == "Smoke in building 1"
    assert own["recipient_name"] == "email provider"
    bob = client.get("/api/v1/me/disclosures", headers=bearer(world, "bob")).json()
    assert [(d["subject_type"], d["headline"]) for d in bob["items"]] == [("notification", "")]
    # The administrators' disclosure log has both.
    log = client.get("/api/v1/sharing/disclosures", headers=bearer(world, "admin1")).json()
    assert {d["channel"] for d in log["items"]} == {"email", "webhook"}


def test_without_a_registered_processor_nothing_is_sent_and_the_reason_says_why(
    app: FastAPI, settings: Settings, db: Session, world: World, smtp: Smtp
) -> None:
    set_email(db, world, "alice", "alice@example.org")
    db.commit()
    mail_settings = settings.model_copy(update={"smtp_url": smtp.url})

    async def scenario() -> None:
        async with _workers(app, mail_settings):
            await asyncio.to_thread(lambda: (alarm(db, world, "alarm:10:raised"), db.commit()))

            async def given_up() -> bool:
                return _statuses(app) == {"email": "dead"}

            await _until(given_up, "the e-mail to be refused")

    asyncio.run(scenario())
    assert smtp.inbox.received() == []
    row = db.scalars(select(Notification).where(Notification.channel == "email")).one()
    assert "no entrusted processor for channel email" in row.last_error
    assert "LINLI_PROCESSORS" in row.last_error
    assert row.attempts == 1  # refused for good, not retried
    assert db.scalars(select(Disclosure)).all() == []


def test_an_expired_contract_or_a_missing_field_stops_delivery(db: Session, world: World) -> None:
    sharing_service.sync_processors(db, _processors())
    c1 = world.places["c1"]
    assert not isinstance(sharing_service.processor_for(db, "sms", c1), str)
    entry = db.scalars(select(Recipient).where(Recipient.processor_channel == "sms")).one()
    entry.allowed_fields = ["message_text"]
    db.flush()
    refused = sharing_service.processor_for(db, "sms", c1)
    assert isinstance(refused, str)
    assert "phone_number" in refused
    entry.allowed_fields = ["phone_number", "message_text"]
    entry.contract_expires_at = entry.created_at
    db.flush()
    refused = sharing_service.processor_for(db, "sms", c1)
    assert isinstance(refused, str)
    assert "expired" in refused
    db.rollback()


def test_the_pages_show_processors_and_what_went_through_them(
    app: FastAPI, db: Session, world: World, make_client: Callable[[str], TestClient]
) -> None:
    made = sharing_service.sync_processors(db, _processors())
    email = db.scalars(select(Recipient).where(Recipient.processor_channel == "email")).one()
    sharing_service.record_message(
        db,
        processor_id=email.id,
        channel="email",
        place_id=world.places["c1-b1u1"],
        notification_id=41,
        fields=sharing_service.CHANNEL_FIELDS["email"],
        to_person=True,
        resident_id=world.residents["alice"],
        subject="Water off on Friday",
    )
    db.commit()
    alice = make_client("alice").get("/me/disclosures")
    assert alice.status_code == 200
    assert "email provider" in alice.text
    assert "Water off on Friday" in alice.text
    bob = make_client("bob").get("/me/disclosures")
    assert bob.status_code == 200
    assert "Water off on Friday" not in bob.text
    log = make_client("admin1").get("/console/sharing/disclosures")
    assert log.status_code == 200
    assert "email provider" in log.text
    # The processors of the configuration are registered at the top-level place: its
    # administrators keep them.
    account_with_role(db, world, "admin-city", "district_admin", "city")
    admin = make_client("admin-city")
    listed = admin.get("/console/sharing")
    assert listed.status_code == 200
    assert "sms provider" in listed.text
    detail = admin.get(f"/console/sharing/{made[0]}")
    assert detail.status_code == 200
    assert "email provider" in detail.text


# --- personal-data incidents ---------------------------------------------------------------------


def test_a_declared_breach_has_notices_for_the_regulator_and_residents_in_both_languages(
    client: TestClient, db: Session, world: World
) -> None:
    body = {**BREACH, "place_id": world.places["c1"]}
    for who in ("staff1", "alice", "auditor1", "staff2"):
        r = client.post("/api/v1/sharing/breaches", json=body, headers=bearer(world, who))
        assert r.status_code == 403, (who, r.text)
    other = account_with_role(db, world, "admin-c2", "community_admin", "c2")
    assert client.post("/api/v1/sharing/breaches", json=body, headers=other).status_code == 403

    made = client.post("/api/v1/sharing/breaches", json=body, headers=bearer(world, "admin1"))
    assert made.status_code == 201, made.text
    notices = made.json()
    assert set(notices["regulator"]) == set(notices["residents"]) == {"zh_Hans_CN", "en"}
    en_reg, zh_reg = notices["regulator"]["en"], notices["regulator"]["zh_Hans_CN"]
    en_res, zh_res = notices["residents"]["en"], notices["residents"]["zh_Hans_CN"]
    assert "PIPL art. 57" in en_reg
    assert "People affected: 3" in en_reg
    assert "People affected" not in en_res
    for text in (en_reg, en_res):
        assert BREACH["title"] in text
        assert "identity (name, ID number, date of birth)" in text
        assert BREACH["advice_to_people"] in text
        assert BREACH["contact"] in text
    for text in (zh_reg, zh_res):
        assert BREACH["title"] in text
        assert "个人信息" in text
        assert "What happened" not in text  # translated, not English
    assert "第五十七条" in zh_reg

    breach_id = notices["breach"]["id"]
    url = f"/api/v1/sharing/breaches/{breach_id}"
    assert client.get(url, headers=bearer(world, "auditor1")).status_code == 200
    for who in ("staff1", "alice", "staff2"):
        assert client.get(url, headers=bearer(world, who)).status_code == 404, who
    assert client.get(url, headers=other).status_code == 404
    listed = client.get("/api/v1/sharing/breaches", headers=bearer(world, "admin1")).json()
    assert [b["id"] for b in listed] == [breach_id]
    assert client.get("/api/v1/sharing/breaches", headers=other).json() == []


# --- `linli check` -------------------------------------------------------------------------------


def test_linli_check_names_an_endpoint_outside_the_allow_list(
    db: Session,
    world: World,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_endpoint(db, world, "c1", "http://203.0.113.7/hook")
    recipient(db, world, webhook_url="https://cap.police.example/alerts")
    for name in list(os.environ):
        if name.startswith("LINLI_") and not name.startswith("LINLI_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("LINLI_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("LINLI_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("LINLI_SECRET_KEY", TEST_SECRET)
    monkeypatch.setenv("LINLI_SMTP_URL", "smtp://127.0.0.1:2525")
    monkeypatch.setenv("LINLI_OUTBOUND_ALLOWED_HOSTS", json.dumps(["police.example"]))
    monkeypatch.setenv("COLUMNS", "200")

    outside = CliRunner().invoke(cli_app, ["check"])
    assert outside.exit_code == 1, outside.output
    lines = outside.stderr.strip().splitlines()
    assert any("'webhook of c1'" in line and "203.0.113.7" in line for line in lines)
    assert not any("police.example" in line or "SMTP" in line for line in lines)
    assert "1 outbound endpoint(s) outside the allowed list" in outside.stderr

    monkeypatch.setenv(
        "LINLI_OUTBOUND_ALLOWED_NETWORKS", json.dumps(["127.0.0.0/8", "203.0.113.0/24"])
    )
    inside = CliRunner().invoke(cli_app, ["check"])
    assert inside.exit_code == 0, inside.output
    assert "3 checked, all allowed" in inside.stdout

    # A processor registered as processing abroad is named too.
    sharing_service.sync_processors(
        db,
        [
            {
                "channel": "sms",
                "name": "Overseas SMS",
                "contract_reference": "X",
                "in_country": False,
            }
        ],
    )
    db.commit()
    abroad = CliRunner().invoke(cli_app, ["check"])
    assert abroad.exit_code == 1
    assert "'Overseas SMS' is registered as processing outside the country" in abroad.stderr
