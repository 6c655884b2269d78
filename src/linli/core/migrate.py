"""Apply and check Alembic migrations; the schema is never made any other way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from linli.core.errors import LinliError


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
