"""The schema made by the migrations is the schema the models describe, on both backends."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from fastapi import FastAPI
from sqlalchemy import inspect
from sqlalchemy.engine import Engine

# Every model module, so that Base.metadata knows all tables.
import linli.account.models
import linli.alarm.models
import linli.audit.models
import linli.case.models
import linli.core.ratelimit_models
import linli.device.models
import linli.environment.models
import linli.incident.models
import linli.notice.models
import linli.notification.models
import linli.place.models
import linli.points.models
import linli.poll.models
import linli.privacy.consent_models
import linli.privacy.retention_models
import linli.privacy.subject_models
import linli.proposal.models
import linli.resident.models
import linli.rule.models
import linli.sharing.models
import linli.telemetry.models
import linli.waste.models  # noqa: F401
from linli.core.crypto import EncryptedString
from linli.core.db import Base, make_engine
from linli.core.migrate import alembic_config, current_revision, head_revision, upgrade
from linli.core.time import UTCDateTime

CUSTOM_TYPES = (UTCDateTime, EncryptedString)


def _is_custom_type_only(diff: Any) -> bool:
    """A type difference that is only the custom decorator against its own implementation."""
    if not (isinstance(diff, list) and diff and diff[0][0] == "modify_type"):
        return False
    _op, _schema, _table, _column, _info, _old, new = diff[0]
    return isinstance(new, CUSTOM_TYPES)


def differences(engine: Engine) -> list[Any]:
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": False}
        )
        diffs = compare_metadata(context, Base.metadata)
    return [d for d in diffs if not _is_custom_type_only(d)]


def test_models_match_the_migrated_schema(app: FastAPI) -> None:
    assert differences(app.state.engine) == []


def test_migrated_schema_has_every_table_and_index(app: FastAPI) -> None:
    inspector = inspect(app.state.engine)
    tables = set(inspector.get_table_names())
    assert set(Base.metadata.tables) <= tables
    assert "alembic_version" in tables
    for table in Base.metadata.tables.values():
        found = {ix["name"] for ix in inspector.get_indexes(table.name)}
        wanted = {ix.name for ix in table.indexes}
        assert wanted <= found, (table.name, wanted - found)
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        assert columns == set(table.columns.keys()), table.name


def test_downgrade_to_nothing_and_upgrade_again(app: FastAPI, tmp_path: Path) -> None:
    engine = app.state.engine
    if engine.dialect.name == "sqlite":
        # On SQLite the 0001 downgrade cannot drop ``places`` while rows refer to their parent
        # (DROP TABLE deletes row by row under foreign keys): go down from an empty database.
        engine = make_engine(f"sqlite:///{tmp_path / 'empty.db'}")
        upgrade(engine)
    head = head_revision(engine)
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "base")
    assert current_revision(engine) is None
    leftover = set(inspect(engine).get_table_names()) - {"alembic_version"}
    assert leftover == set()
    upgrade(engine)
    assert current_revision(engine) == head
    assert differences(engine) == []
    if engine is not app.state.engine:
        engine.dispose()
