"""The audit chain: it verifies, it exposes tampering, and the database refuses changes."""

from __future__ import annotations

import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.audit.models import AuditEvent
from linli.core.actor import SYSTEM
from linli.resident.models import Resident
from tests.conftest import PASSWORD, World, bearer


def make_some_history(client: TestClient, world: World) -> None:
    """A handful of ordinary actions, each of which writes audit rows."""
    staff1 = bearer(world, "staff1")
    client.post(
        f"/api/v1/residents/{world.residents['alice']}/reveal",
        json={"fields": ["phone"], "reason": "回访"},
        headers=staff1,
    )
    client.get(f"/api/v1/residents/{world.residents['bob']}", headers=staff1)
    client.post(
        "/api/v1/residents",
        json={"household_id": world.households["h2"], "name": "李小海"},
        headers=staff1,
    )
    client.post(
        f"/api/v1/residents/{world.residents['alice']}/reveal",
        json={"fields": ["phone"], "reason": "越权"},
        headers=bearer(world, "pm1"),
    )
    client.patch(
        "/api/v1/me/resident",
        json={"phone": "13800000000", "current_password": PASSWORD},
        headers=bearer(world, "bob"),
    )


def allow_tampering(db: Session) -> None:
    """What an attacker with direct access to the database files or a superuser login can do."""
    if db.get_bind().dialect.name == "sqlite":
        db.execute(text("DROP TRIGGER audit_events_no_update"))
        db.execute(text("DROP TRIGGER audit_events_no_delete"))
    else:
        db.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
    db.commit()


def event_ids(db: Session) -> list[int]:
    return list(db.scalars(select(AuditEvent.id).order_by(AuditEvent.id)))


def test_chain_verifies_after_a_series_of_actions(
    client: TestClient, world: World, db: Session
) -> None:
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    make_some_history(client, world)
    db.expire_all()
    total = db.scalar(select(func.count()).select_from(AuditEvent))
    assert total is not None
    assert before is not None
    assert total >= before + 5
    result = audit_service.verify(db)
    assert result.ok, result
    assert result.checked == total
    rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert rows[0].prev_hash == "0" * 64
    assert all(b.prev_hash == a.hash for a, b in itertools.pairwise(rows))
    assert all(r.at.tzinfo is not None for r in rows)


def test_changed_row_is_reported_as_the_first_bad_one(
    client: TestClient, world: World, db: Session
) -> None:
    make_some_history(client, world)
    allow_tampering(db)
    ids = event_ids(db)
    target = ids[len(ids) // 2]
    db.execute(
        text("UPDATE audit_events SET reason = 'nothing to see' WHERE id = :id"), {"id": target}
    )
    db.commit()
    result = audit_service.verify(db)
    assert not result.ok
    assert result.first_bad_id == target
    assert "hash" in result.problem


def test_changed_timestamp_or_actor_is_detected(
    client: TestClient, world: World, db: Session
) -> None:
    make_some_history(client, world)
    allow_tampering(db)
    ids = event_ids(db)
    db.execute(
        text("UPDATE audit_events SET actor_username = 'someone_else' WHERE id = :id"),
        {"id": ids[-2]},
    )
    db.execute(
        text("UPDATE audit_events SET actor_account_id = 999 WHERE id = :id"), {"id": ids[3]}
    )
    db.commit()
    result = audit_service.verify(db)
    assert (result.ok, result.first_bad_id) == (False, ids[3])


def test_removed_rows_are_detected(client: TestClient, world: World, db: Session) -> None:
    make_some_history(client, world)
    allow_tampering(db)
    ids = event_ids(db)
    db.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": ids[5]})
    db.commit()
    result = audit_service.verify(db)
    assert (result.ok, result.first_bad_id) == (False, ids[6])
    assert "link" in result.problem


def test_removed_tail_is_detected(client: TestClient, world: World, db: Session) -> None:
    make_some_history(client, world)
    allow_tampering(db)
    ids = event_ids(db)
    db.execute(text("DELETE FROM audit_events WHERE id >= :id"), {"id": ids[-2]})
    db.commit()
    result = audit_service.verify(db)
    assert not result.ok
    assert result.first_bad_id is None
    assert "missing" in result.problem


def test_rewritten_row_with_recomputed_hash_breaks_the_next_link(
    client: TestClient, world: World, db: Session
) -> None:
    make_some_history(client, world)
    allow_tampering(db)
    rows = db.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    victim = rows[4]
    victim.reason = "rewritten"
    victim.hash = audit_service.compute_hash(victim.prev_hash, victim)
    db.commit()
    result = audit_service.verify(db)
    assert (result.ok, result.first_bad_id) == (False, rows[5].id)


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET reason = 'changed'",
        "UPDATE audit_events SET hash = hash WHERE id = (SELECT MIN(id) FROM audit_events)",
        "DELETE FROM audit_events WHERE id = (SELECT MAX(id) FROM audit_events)",
        "DELETE FROM audit_events",
    ],
)
def test_database_refuses_to_change_or_delete_audit_rows(db: Session, statement: str) -> None:
    audit_service.record(db, actor=SYSTEM, action="test.event", reason="kept")
    db.commit()
    before = db.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text(statement))
    db.rollback()
    assert db.scalar(select(func.count()).select_from(AuditEvent)) == before
    assert db.scalar(select(func.count()).where(AuditEvent.reason == "changed")) == 0
    assert audit_service.verify(db).ok


def test_database_refuses_to_truncate_the_log_on_postgresql(db: Session) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("TRUNCATE exists on PostgreSQL only")
    with pytest.raises(DBAPIError, match="append-only"):
        db.execute(text("TRUNCATE audit_events"))
    db.rollback()
    assert (db.scalar(select(func.count()).select_from(AuditEvent)) or 0) > 0


def test_audit_rows_never_hold_the_personal_data_they_describe(
    client: TestClient, world: World, db: Session
) -> None:
    make_some_history(client, world)
    alice = db.get(Resident, world.residents["alice"])
    assert alice is not None
    assert alice.id_number
    dump = repr(db.execute(text("SELECT * FROM audit_events")).all())
    assert db.scalar(select(func.count()).where(AuditEvent.action == "resident.sensitive_read"))
    for value in (
        alice.id_number,
        "13812345678",
        "13987654321",
        "13800000000",
        "王小丽",
        "Pass-2026",
    ):
        assert value not in dump
