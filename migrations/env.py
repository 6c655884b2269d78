"""Alembic environment: runs on the connection or URL that linli.core.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

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
import linli.waste.models  # noqa: F401  (registers tables on the metadata)
from linli.core.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}),
        prefix="sqlalchemy.",
        poolclass=pool.NullPool,
    )
    with engine.connect() as conn:
        context.configure(
            connection=conn,
            target_metadata=target_metadata,
            render_as_batch=conn.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
