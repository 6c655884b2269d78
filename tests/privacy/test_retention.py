"""The retention job (checklist M2): with controlled time it deletes or anonymises exactly the
rows past their declared period, reports what it did, changes nothing in a dry run, is a no-op the
second time, and leaves the audit chain verifiable."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from linli.audit import service as audit_service
from linli.core.db import Base
from linli.privacy import inventory, retention
from linli.privacy.inventory import RetentionKind
from tests.conftest import World, bearer

NOW = dt.datetime(2031, 6, 1, 12, 0, tzinfo=dt.UTC)
T = Base.metadata.tables


def _ago(days: float) -> dt.datetime:
    return NOW - dt.timedelta(days=days)


def _add(db: Session, table: str, **values: Any) -> int:
    result = db.execute(insert(T[table]).values(**values).returning(T[table].c.id))
    return int(result.scalar_one())


def _ids(db: Session, table: str) -> set[int]:
    return set(db.scalars(select(T[table].c.id)))


def _count(db: Session, table: str) -> int:
    return int(db.execute(select(func.count()).select_from(T[table])).scalar_one())


def _seed(db: Session, world: World) -> dict[str, int]:
    """Rows just past and just within their periods in several tables."""
    ids: dict[str, int] = {}
    place = world.places["c1-b1"]
    acc = world.accounts["alice"]
    resident = world.residents["alice"]
    for key, age in (("la_old", 31), ("la_new", 29)):
        ids[key] = _add(db, "login_attempts", username="alice", at=_ago(age), success=False)
    for key, age in (("n_old", 181), ("n_new", 179)):
        ids[key] = _add(
            db,
            "notifications",
            idempotency_key=key,
            channel="web",
            account_id=acc,
            category="notice",
            severity="info",
            subject="s",
            body="b",
            link="",
            data={},
            status="sent",
            attempts=0,
            next_attempt_at=_ago(age),
            last_error="",
            created_at=_ago(age),
        )
    alarm = {
        "source": "x",
        "severity": "warning",
        "title": "t",
        "place_id": place,
        "place_path": "/",
        "started_ms": 0,
        "last_ms": 0,
        "count": 1,
        "escalation_level": 0,
        "acknowledged_by_account_id": acc,
        "value": 120.0,
        "details": {"hr": 120},
    }
    ids["al_old"] = _add(db, "alarms", raised_at=_ago(731), cleared_at=_ago(730), **alarm)
    ids["al_linked"] = _add(db, "alarms", raised_at=_ago(731), cleared_at=_ago(730), **alarm)
    ids["al_active"] = _add(db, "alarms", raised_at=_ago(900), **alarm)
    ids["al_new"] = _add(db, "alarms", raised_at=_ago(729), cleared_at=_ago(700), **alarm)
    for key in ("al_old", "al_linked"):
        ids[f"ae_{key}"] = _add(
            db, "alarm_events", alarm_id=ids[key], kind="ack", at=_ago(730), account_id=acc,
            text="seen by Wang", value=120.0, by_person=True,
        )  # fmt: skip
    incident = {
        "place_id": place,
        "place_path": "/",
        "type": "medical",
        "severity": 2,
        "title": "fall",
        "description": "",
        "status": "open",
        "source": "alarm",
        "dedup_key": "k",
        "after_action": "",
        "created_at": _ago(700),
        "updated_at": _ago(700),
    }
    ids["inc"] = _add(db, "incidents", **incident)
    _add(db, "incident_alarms", incident_id=ids["inc"], alarm_id=ids["al_linked"], linked_at=NOW)
    category = _add(db, "case_categories", code="leak", team="property", name_en="Leak",
                    name_zh="漏水", sla_hours=24)  # fmt: skip
    case = {
        "category_id": category,
        "team": "property",
        "place_id": place,
        "place_path": "/",
        "title": "Leak at my flat",
        "description": "Wang Xiaoli, room 101",
        "reporter_resident_id": resident,
        "reporter_account_id": acc,
        "lat": 31.2,
        "lon": 121.4,
        "status": "closed",
    }
    ids["c_old"] = _add(db, "cases", ref="C-OLD", closed_at=_ago(1096), **case)
    ids["c_new"] = _add(db, "cases", ref="C-NEW", closed_at=_ago(1094), **case)
    ids["c_open"] = _add(db, "cases", ref="C-OPEN", **{**case, "status": "submitted"})
    for key in ("c_old", "c_new"):
        _add(db, "case_photos", case_id=ids[key], account_id=acc, content_type="image/png",
             size=1, data=b"x")  # fmt: skip
        _add(db, "case_events", case_id=ids[key], kind="comment", account_id=acc, text="hi")
    broadcast = {"place_id": place, "place_path": "/", "headline": "flood"}
    b_old = _add(db, "emergency_broadcasts", identifier="b-old", sent_at=_ago(366), **broadcast)
    b_new = _add(db, "emergency_broadcasts", identifier="b-new", sent_at=_ago(364), **broadcast)
    answers = (("er_old", b_old, "alice"), ("er_kept", b_old, "bob"), ("er_new", b_new, "alice"))
    for key, b, who in answers:
        ids[key] = _add(
            db, "emergency_responses", broadcast_id=b, resident_id=world.residents[who],
            place_id=place,
            status="safe", note="",
        )  # fmt: skip
    _add(db, "incident_help_answers", incident_id=ids["inc"], response_id=ids["er_kept"],
         linked_at=NOW)  # fmt: skip
    db.commit()
    return ids


def _snapshot(db: Session) -> dict[str, Any]:
    tables = ("login_attempts", "notifications", "alarms", "alarm_events", "cases")
    state: dict[str, Any] = {t: sorted(_ids(db, t)) for t in tables}
    state |= {t: sorted(_ids(db, t)) for t in ("case_photos", "emergency_responses")}
    state["cases_text"] = sorted(db.execute(select(T["cases"].c.id, T["cases"].c.title)).all())
    return state


def test_retention_deletes_and_anonymises_exactly_the_expired_rows(
    db: Session, world: World, client: TestClient, make_client: Any
) -> None:
    ids = _seed(db, world)
    before = _snapshot(db)
    audit_before = _count(db, "audit_events")

    dry = retention.run(db, now=NOW, dry_run=True)
    db.rollback()
    assert _snapshot(db) == before
    assert _count(db, "retention_runs") == 0
    assert _count(db, "audit_events") == audit_before

    report = retention.run(db, now=NOW, trigger="test")
    db.commit()
    by_table = {t.table: t for t in report.tables}
    # The dry run announced exactly what the run did.
    assert [(t.table, t.deleted, t.anonymised, t.kept) for t in dry.tables] == [
        (t.table, t.deleted, t.anonymised, t.kept) for t in report.tables
    ]

    assert _ids(db, "login_attempts") == {ids["la_new"]}
    assert by_table["login_attempts"].deleted == 1
    assert by_table["login_attempts"].cutoff == (NOW - dt.timedelta(days=30)).isoformat()
    assert _ids(db, "notifications") == {ids["n_new"]}
    assert by_table["notifications"].deleted == 1

    # Alarms: the cleared old one goes with its timeline; the one an incident refers to is
    # anonymised; an active or recent one stays.
    assert _ids(db, "alarms") == {ids["al_linked"], ids["al_active"], ids["al_new"]}
    assert by_table["alarms"].deleted == 1
    assert by_table["alarms"].anonymised == 1
    assert by_table["alarms"].children == {"alarm_events": 2}
    linked = db.execute(select(T["alarms"]).where(T["alarms"].c.id == ids["al_linked"])).one()
    assert linked.acknowledged_by_account_id is None
    assert linked.value is None
    assert linked.details == {}
    event = db.execute(select(T["alarm_events"])).one()
    assert event.alarm_id == ids["al_linked"]
    assert (event.account_id, event.text, event.value) == (None, "", None)

    # Cases: the old closed case is anonymised, its photos gone; recent and open ones intact.
    assert _ids(db, "cases") >= {ids["c_old"], ids["c_new"], ids["c_open"]}
    assert by_table["cases"].anonymised == 1
    old = db.execute(select(T["cases"]).where(T["cases"].c.id == ids["c_old"])).one()
    assert (old.reporter_resident_id, old.reporter_account_id, old.lat) == (None, None, None)
    assert (old.title, old.description) == ("—", "")
    assert old.ref == "C-OLD"
    assert old.status == "closed"
    for key in ("c_new", "c_open"):
        row = db.execute(select(T["cases"]).where(T["cases"].c.id == ids[key])).one()
        assert row.title == "Leak at my flat"
        assert row.reporter_resident_id == world.residents["alice"]
    photos = set(db.scalars(select(T["case_photos"].c.case_id)))
    assert photos == {ids["c_new"]}

    # Emergency answers are dated by their broadcast; one an incident refers to stays.
    assert _ids(db, "emergency_responses") == {ids["er_kept"], ids["er_new"]}
    assert by_table["emergency_responses"].deleted == 1
    assert by_table["emergency_responses"].kept == 1

    # Delegated and kept tables are reported, not touched.
    assert by_table["observations"].action == "delegated"
    assert by_table["audit_events"].action == "kept"

    # The report is stored and audited; the audit chain still verifies.
    assert report.deleted == sum(t.deleted for t in report.tables) == 4
    assert report.anonymised == 2
    runs = retention.last_runs(db)
    assert [r.id for r in runs] == [report.run_id]
    assert runs[0].deleted == 4
    assert runs[0].anonymised == 2
    assert runs[0].as_of == NOW
    stored = {r["table"]: r for r in runs[0].report}
    assert stored["alarms"]["anonymised"] == 1
    events, _n = (
        db.execute(
            select(T["audit_events"].c.action, T["audit_events"].c.detail).where(
                T["audit_events"].c.action == "privacy.retention_run"
            )
        ).all(),
        0,
    )
    assert len(events) == 1
    assert json.loads(events[0].detail)["deleted"] == 4
    assert audit_service.verify(db).ok

    # A second run as of the same time does nothing.
    again = retention.run(db, now=NOW, trigger="test")
    db.commit()
    assert (again.deleted, again.anonymised) == (0, 0)
    assert all(not t.children for t in again.tables)

    # The reports are for administrators only.
    url = "/api/v1/privacy/retention-runs"
    assert client.get(url).status_code == 401
    assert client.get(url, headers=bearer(world, "alice")).status_code == 403
    assert client.get(url, headers=bearer(world, "staff1")).status_code == 403
    response = client.get(url, headers=bearer(world, "admin1"))
    assert response.status_code == 200
    body = response.json()
    assert [r["deleted"] for r in body] == [0, 4]
    page = make_client("admin1").get("/console/privacy/retention")
    assert page.status_code == 200
    assert "<code>login_attempts</code>" in page.text
    assert make_client("staff1").get("/console/privacy/retention").status_code == 403


def test_every_time_based_table_has_a_time_column_and_a_rule() -> None:
    metadata = Base.metadata.tables
    for name in retention.time_based_tables():
        assert name in retention.TIME_COLUMNS, f"{name}: add its time column to TIME_COLUMNS"
        column = retention.TIME_COLUMNS[name]
        if "." in column:
            parent, col = column.split(".", 1)
            assert col in metadata[parent].c
        else:
            assert column in metadata[name].c, f"{name}.{column} does not exist"
        handled = name in retention.PLANS or name in retention.DELEGATED
        assert handled or name in retention.KEPT, f"{name}: no plan, delegation or reason"
        decl = inventory.table_declaration(name)
        if name in retention.PLANS:
            assert decl.enforced_by == "linli.privacy.retention", name
        elif name in retention.DELEGATED:
            assert decl.enforced_by, name
    # Every anonymised column exists and may hold the anonymised value.
    for plan in retention.PLANS.values():
        for column, value in plan.anonymise.items():
            assert value is not None or metadata[plan.table].c[column].nullable, column
    kinds = {inventory.retention_of(n).kind for n in retention.time_based_tables()}  # type: ignore[union-attr]
    assert RetentionKind.DAYS in kinds


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_cli_runs_as_of_a_time_with_a_dry_run(db: Session, world: World, settings: Any) -> None:
    from linli.cli import app as cli_app

    ids = _seed(db, world)
    env = {
        "LINLI_DATABASE_URL": settings.database_url,
        "LINLI_SECRET_KEY": settings.secret_key.get_secret_value(),
        "LINLI_DATA_DIR": str(settings.data_dir),
    }
    runner = CliRunner()
    dry = runner.invoke(
        cli_app,
        ["privacy", "retention", "--dry-run", "--now", NOW.isoformat(), "--json"],
        env=env,
    )
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.stdout)
    assert report["dry_run"] is True
    assert report["deleted"] == 4
    db.expire_all()
    assert ids["la_old"] in _ids(db, "login_attempts")
    real = runner.invoke(cli_app, ["privacy", "retention", "--now", NOW.isoformat()], env=env)
    assert real.exit_code == 0, real.output
    assert "deleted 4 rows, anonymised 2" in real.stdout
    db.expire_all()
    assert ids["la_old"] not in _ids(db, "login_attempts")
    bad = runner.invoke(cli_app, ["privacy", "retention", "--now", "yesterday"], env=env)
    assert bad.exit_code == 1
    # The daily job's own unit of work: nothing left to do, and its run is stored too.
    scheduled = retention.run_once(sessionmaker(bind=db.get_bind()), now=NOW)
    assert (scheduled.deleted, scheduled.anonymised) == (0, 0)
    db.expire_all()
    assert [r.trigger for r in retention.last_runs(db)] == ["schedule", "cli"]
