"""Apply and check Alembic migrations; the schema is never made any other way.

On PostgreSQL the schema can belong to a role of its own, the one that runs the migrations, while
the application connects as a role that only reads and writes rows (:func:`grant_app_role`).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

from linli.core.errors import LinliError, NotFound

VERSION_TABLE = "alembic_version"  # Alembic's default: where the schema's revision is kept


class SchemaOutOfDate(LinliError):
    """The database schema is not at the code's migration head."""

    status_code = 503
    code = "schema_out_of_date"


def migrations_dir() -> Path:
    """The ``migrations/`` folder beside ``src/`` (the project is installed editable)."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "migrations"
        if (candidate / "env.py").exists():
            return candidate
    raise RuntimeError("migrations folder not found next to the linli package")


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(migrations_dir()))
    cfg.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=False))
    return cfg


def head_revision(engine: Engine) -> str | None:
    return ScriptDirectory.from_config(alembic_config(engine)).get_current_head()


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema up to ``revision``."""
    cfg = alembic_config(engine)
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


def check_current(engine: Engine) -> None:
    """Raise SchemaOutOfDate unless the database is at the migration head."""
    head = head_revision(engine)
    current = current_revision(engine)
    if current != head:
        raise SchemaOutOfDate(
            f"database schema is at {current or 'nothing'}, the code needs {head}; "
            "run `linli db upgrade`"
        )


class DatabaseRoleRefused(LinliError):
    """A role that cannot be made the application's least-privilege role as asked."""

    code = "database_role_refused"


@dataclass(frozen=True)
class AppRoleGrants:
    """What :func:`grant_app_role` gave: where, and which tables were held back to reading."""

    database: str
    schema: str
    tables: int
    append_only: tuple[str, ...]


def _scalar(conn: Connection, sql: str, **params: object) -> object:
    return conn.execute(text(sql), params).scalar()


def grant_app_role(
    engine: Engine, role: str, *, append_only: Collection[str] = ()
) -> AppRoleGrants:
    """Make ``role`` the application's PostgreSQL role: connect, use the schema, read and write
    rows and use sequences, also in tables later migrations add, and nothing else (no DDL, no
    TRUNCATE). ``append_only`` tables and the migration version table it may only read (and
    append to, for the former). Runs on ``engine``, the role that owns the schema; safe to repeat,
    and it narrows whatever the role had before."""
    if engine.dialect.name != "postgresql":
        raise DatabaseRoleRefused("database roles exist only on PostgreSQL")
    with engine.begin() as conn:
        owner = str(_scalar(conn, "SELECT current_user"))
        database = str(_scalar(conn, "SELECT current_database()"))
        schema = str(_scalar(conn, "SELECT current_schema()"))
        found = conn.execute(
            text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
        ).first()
        if found is None:
            raise NotFound(f"no database role {role}; create it first (CREATE ROLE ... LOGIN)")
        if role == owner:
            raise DatabaseRoleRefused(
                f"{role} is the role that owns the schema; give the application a role of its "
                "own and point LINLI_MIGRATION_DATABASE_URL at the owner"
            )
        if found.rolsuper:
            raise DatabaseRoleRefused(f"{role} is a superuser; the application needs a plain role")
        if _scalar(conn, "SELECT pg_has_role(:role, current_user, 'USAGE')", role=role):
            raise DatabaseRoleRefused(f"{role} is a member of {owner} and so may change the schema")
        tables = set(
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname = :schema"),
                {"schema": schema},
            ).scalars()
        )
        if VERSION_TABLE not in tables:
            raise DatabaseRoleRefused(
                f"no migrated schema in {database}.{schema}; run `linli db upgrade` first"
            )
        foreign = conn.execute(
            text(
                "SELECT tablename FROM pg_tables "
                "WHERE schemaname = :schema AND tableowner <> current_user ORDER BY tablename"
            ),
            {"schema": schema},
        ).scalars()
        strangers = list(foreign)
        if strangers:
            raise DatabaseRoleRefused(
                f"{owner} does not own {', '.join(strangers[:3])}; run this as the role that "
                "ran the migrations (LINLI_MIGRATION_DATABASE_URL)"
            )
        quote = conn.dialect.identifier_preparer.quote_identifier
        who, db, sch = quote(role), quote(database), quote(schema)
        held_back = tuple(sorted(t for t in append_only if t in tables))
        statements = [
            # Start from nothing, so a repeat also takes back what was given by hand.
            f"REVOKE ALL ON ALL TABLES IN SCHEMA {sch} FROM {who}",
            f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {sch} FROM {who}",
            f"REVOKE CREATE ON SCHEMA {sch} FROM {who}",
            f"REVOKE CREATE ON DATABASE {db} FROM {who}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} REVOKE ALL ON TABLES FROM {who}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} REVOKE ALL ON SEQUENCES FROM {who}",
            f"GRANT CONNECT ON DATABASE {db} TO {who}",
            f"GRANT USAGE ON SCHEMA {sch} TO {who}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA {sch} TO {who}",
            f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {sch} TO {who}",
            # Tables and sequences that later migrations create as this owner.
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} "
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {who}",
            f"ALTER DEFAULT PRIVILEGES IN SCHEMA {sch} GRANT USAGE, SELECT ON SEQUENCES TO {who}",
            f"REVOKE INSERT, UPDATE, DELETE ON {quote(VERSION_TABLE)} FROM {who}",
        ]
        statements += [f"REVOKE UPDATE, DELETE ON {quote(t)} FROM {who}" for t in held_back]
        for statement in statements:
            conn.execute(text(statement))
        if _scalar(
            conn, "SELECT has_schema_privilege(:role, :schema, 'CREATE')", role=role, schema=schema
        ):
            raise DatabaseRoleRefused(
                f"{role} may still create objects in schema {schema} (granted to PUBLIC, as "
                f"before PostgreSQL 15); as a superuser run REVOKE CREATE ON SCHEMA {schema} "
                "FROM PUBLIC, then this again"
            )
        if _scalar(
            conn, "SELECT has_database_privilege(:role, :db, 'CREATE')", role=role, db=database
        ):
            raise DatabaseRoleRefused(
                f"{role} may still create schemas in {database} (granted to PUBLIC); "
                f"run REVOKE CREATE ON DATABASE {database} FROM PUBLIC, then this again"
            )
    return AppRoleGrants(
        database=database, schema=schema, tables=len(tables), append_only=held_back
    )
