"""The `linli` command: demo, serve, database, accounts, imports, backups and audit checks."""

from __future__ import annotations

import functools
import logging
import os
import secrets
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn, ParamSpec, TypeVar, get_args

import typer
from pydantic import SecretStr, ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from linli import __version__
from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.audit import service as audit_service
from linli.case import service as case_service
from linli.config import (
    DEMO_KEY_PREFIX,
    ConfigError,
    Settings,
    check_production_key,
    get_settings,
    is_production_key,
)
from linli.core import backup as backup_core
from linli.core.actor import ROLES, SYSTEM
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.errors import LinliError, NotFound, ValidationFailed
from linli.core.logging import JsonFormatter
from linli.core.migrate import (
    check_current,
    current_revision,
    grant_app_role,
    head_revision,
    upgrade,
)
from linli.demo import seed
from linli.device import service as device_service
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate, PlaceKind
from linli.resident import importer

APP_FACTORY = "linli.app:create_app"
DEMO_KEY_FILE = "demo-secret"
MAX_ERRORS_SHOWN = 200

P = ParamSpec("P")
R = TypeVar("R")

out = Console(soft_wrap=True, highlight=False)
err = Console(stderr=True, soft_wrap=True, highlight=False)

app = typer.Typer(
    name="linli",
    help="Linli (邻里): run and look after a smart-community platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema (Alembic migrations).", no_args_is_help=True)
user_app = typer.Typer(help="Accounts.", no_args_is_help=True)
import_app = typer.Typer(help="Bulk imports from CSV or Excel.", no_args_is_help=True)
audit_app = typer.Typer(help="The tamper-evident audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(user_app, name="user")
app.add_typer(import_app, name="import")
bench_app = typer.Typer(help="Benchmarks; each prints one JSON object.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(bench_app, name="bench")
rules_app = typer.Typer(help="Alarm rules: export and backtest.", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
privacy_app = typer.Typer(help="Privacy: the retention job.", no_args_is_help=True)
app.add_typer(privacy_app, name="privacy")
place_app = typer.Typer(
    help="Places: the tree of areas the platform looks after.", no_args_is_help=True
)
app.add_typer(place_app, name="place")


# --- plumbing -------------------------------------------------------------------------------


def _fail(message: str) -> NoReturn:
    """Print a one-line error and leave with exit code 1."""
    err.print(f"error: {message}", markup=False)
    raise typer.Exit(1)


def _first_line(text: str) -> str:
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[0] if lines else "unknown error"


def _friendly(func: Callable[P, R]) -> Callable[P, R]:
    """Turn expected failures into a one-line message and exit code 1."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except LinliError as exc:
            _fail(exc.message)
        except ConfigError as exc:
            _fail(str(exc))
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"])
            _fail(f"{where}: {first['msg']}" if where else str(first["msg"]))
        except SQLAlchemyError as exc:
            cause = getattr(exc, "orig", None) or exc
            _fail(f"database error: {_first_line(str(cause))}")
        except OSError as exc:
            where = f": {exc.filename}" if exc.filename else ""
            _fail(f"{exc.strerror or exc}{where}")

    return wrapper


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    )


def _sqlite_file(settings: Settings) -> Path | None:
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def _existing_engine(settings: Settings) -> Engine:
    """An engine for a database that exists and is at the migration head."""
    path = _sqlite_file(settings)
    if path is not None and not path.is_file():
        raise NotFound(f"no database at {path}; run `linli db upgrade` first")
    engine = make_engine(settings.effective_database_url)
    try:
        check_current(engine)
    except BaseException:
        engine.dispose()
        raise
    return engine


@contextmanager
def _unit_of_work(settings: Settings) -> Iterator[Session]:
    """A session on an up-to-date database that commits when the block succeeds."""
    engine = _existing_engine(settings)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            yield db
    finally:
        engine.dispose()


def demo_secret(data_dir: Path) -> str:
    """The demo key of ``data_dir``: read from ``demo-secret``, or created there once (0600)."""
    path = data_dir / DEMO_KEY_FILE
    if path.is_file():
        key = path.read_text(encoding="utf-8").strip()
        if key:
            return key
    key = DEMO_KEY_PREFIX + secrets.token_urlsafe(32)
    seed.write_private_file(path, key + "\n")
    return key


def settings_with_key() -> Settings:
    """Settings for commands that touch encrypted fields; a demo data dir brings its own key."""
    settings = Settings()
    if not settings.secret_key.get_secret_value():
        path = settings.data_dir / DEMO_KEY_FILE
        if path.is_file():
            key = path.read_text(encoding="utf-8").strip()
            return Settings(demo_mode=True, secret_key=SecretStr(key))
    return settings


def make_log_formatter(kind: str = "json") -> logging.Formatter:
    """Linli's log formatter: JSON lines with UTC times, or plain text."""
    if kind == "json":
        formatter = JsonFormatter()
        formatter.converter = time.gmtime
        return formatter
    return logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")


def uvicorn_log_config(settings: Settings) -> dict[str, Any]:
    """Logging for the server (and each worker): everything to stderr in Linli's format."""
    quiet = {"handlers": [], "propagate": True}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "linli": {"()": f"{__name__}.make_log_formatter", "kind": settings.log_format}
        },
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "linli",
            }
        },
        "root": {"handlers": ["stderr"], "level": settings.log_level.upper()},
        "loggers": {name: dict(quiet) for name in ("uvicorn", "uvicorn.error", "uvicorn.access")},
    }


def _run_server(
    settings: Settings, *, host: str, port: int, workers: int, env: dict[str, str]
) -> None:
    """Start uvicorn on the application factory in this process (or its worker processes)."""
    import uvicorn

    os.environ.update(env)
    get_settings.cache_clear()
    uvicorn.run(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers if workers > 1 else None,
        log_config=uvicorn_log_config(settings),
        server_header=False,
    )


def _version(value: bool) -> None:
    if value:
        out.print(f"linli {__version__}", markup=False)
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
) -> None:
    """Linli (邻里): run and look after a smart-community platform."""


# --- demo and serve -------------------------------------------------------------------------


def prepare_demo(base: Settings) -> tuple[Settings, list[dict[str, str]]]:
    """Demo settings, an up-to-date database and the seeded community; returns the logins."""
    env_key = base.secret_key.get_secret_value()
    if env_key and is_production_key(env_key):
        raise ConfigError(
            "demo mode must not run with a production LINLI_SECRET_KEY; "
            "unset it for the demo or use `linli serve`"
        )
    base.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    key = env_key or demo_secret(base.data_dir)
    settings = Settings(demo_mode=True, secret_key=SecretStr(key))
    configure_field_cipher(settings.field_key())
    path = _sqlite_file(settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_database_url)
    try:
        with err.status("Preparing the database…"):
            upgrade(engine)
        with session_scope(make_sessionmaker(engine)) as db:
            if seed.is_seeded(db):
                seed.seed_devices(db, settings.data_dir)
                return settings, seed.read_credentials(settings.data_dir)
            with _progress() as progress:
                task = progress.add_task("Seeding the demo community", total=seed.HOUSEHOLDS)

                def advance(done: int, total: int) -> None:
                    progress.update(task, completed=done, total=total)

                credentials = seed.seed_demo(db, settings.data_dir, progress=advance)
        return settings, credentials
    finally:
        engine.dispose()


def _credentials_table(credentials: list[dict[str, str]]) -> Table:
    table = Table(title="Demo logins", title_justify="left")
    for column in ("role", "username", "password"):
        table.add_column(column, no_wrap=True)
    for entry in credentials:
        table.add_row(entry["role"], entry["username"], entry["password"])
    return table


@app.command()
@_friendly
def demo(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    simulator: Annotated[
        bool,
        typer.Option("--simulator/--no-simulator", help="Run the demo's device simulator."),
    ] = True,
    backfill: Annotated[
        bool,
        typer.Option(
            "--backfill/--no-backfill",
            help="On the first start, send the devices' last 26 hours before going live.",
        ),
    ] = True,
) -> None:
    """Create or upgrade the demo database, seed it once, print the logins and serve it."""
    settings, credentials = prepare_demo(Settings())
    url = f"http://{host}:{port}/"
    out.print(f"Linli demo at {url}", markup=False)
    if credentials:
        out.print(_credentials_table(credentials))
        out.print(
            f"These logins and an API key for each are in "
            f"{seed.credentials_path(settings.data_dir)}",
            markup=False,
        )
    else:
        err.print(
            f"warning: {seed.credentials_path(settings.data_dir)} is missing; the demo logins "
            "were shown when the database was first seeded",
            markup=False,
        )
    env = {"LINLI_DEMO_MODE": "true", "LINLI_SECRET_KEY": settings.secret_key.get_secret_value()}
    if simulator:
        _start_demo_simulator(
            settings.data_dir,
            f"http://{host}:{port}",
            database_url=settings.effective_database_url if backfill else None,
        )
    _run_server(settings, host=host, port=port, workers=1, env=env)


@app.command()
@_friendly
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(min=1, max=64, help="Worker processes.")] = 1,
) -> None:
    """Run the production server; refuses a weak key or an out-of-date schema."""
    settings = Settings()
    if settings.demo_mode:
        raise ConfigError("LINLI_DEMO_MODE is set; use `linli demo` for the demo")
    check_production_key(settings.secret_key.get_secret_value())
    settings.field_key()
    _existing_engine(settings).dispose()
    _run_server(settings, host=host, port=port, workers=workers, env={})


# --- database -------------------------------------------------------------------------------


@db_app.command("upgrade")
@_friendly
def db_upgrade() -> None:
    """Bring the database schema up to the code's migration head (as the schema's owner,
    LINLI_MIGRATION_DATABASE_URL, when that is set)."""
    settings = Settings()
    path = _sqlite_file(settings)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.effective_migration_database_url)
    try:
        with err.status("Migrating…"):
            upgrade(engine)
            # The built-in catalogue of observed properties and device profiles is data the
            # registry needs from the first day; adding what is missing is idempotent.
            with session_scope(make_sessionmaker(engine)) as db:
                device_service.ensure_catalog(db)
                case_service.ensure_categories(db)
        out.print(f"database schema at {current_revision(engine)} (head)", markup=False)
    finally:
        engine.dispose()


@db_app.command("current")
@_friendly
def db_current() -> None:
    """Show the schema revision of the database and the code's head."""
    settings = Settings()
    path = _sqlite_file(settings)
    if path is not None and not path.is_file():
        raise NotFound(f"no database at {path}; run `linli db upgrade` first")
    engine = make_engine(settings.effective_database_url)
    try:
        current, head = current_revision(engine), head_revision(engine)
    finally:
        engine.dispose()
    state = "up to date" if current == head else "needs `linli db upgrade`"
    out.print(f"current: {current or 'none'}  head: {head}  ({state})", markup=False)


@db_app.command("grant-app-role")
@_friendly
def db_grant_app_role(
    role: Annotated[str, typer.Argument(help="The PostgreSQL role the application logs in as.")],
) -> None:
    """Give the application's PostgreSQL role row access and nothing more (run as the owner,
    LINLI_MIGRATION_DATABASE_URL, after `linli db upgrade`; safe to repeat)."""
    from linli.privacy.links import APPEND_ONLY

    settings = Settings()
    engine = make_engine(settings.effective_migration_database_url)
    try:
        grants = grant_app_role(engine, role, append_only=APPEND_ONLY)
    finally:
        engine.dispose()
    out.print(
        f"{role}: read and write rows of {grants.tables} tables in "
        f"{grants.database}.{grants.schema}, no schema changes; read and append only: "
        f"{', '.join(grants.append_only) or 'none'}",
        markup=False,
    )


# --- accounts -------------------------------------------------------------------------------


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            _fail("no password on standard input")
        return password
    value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return value


def _check_role(value: str) -> str:
    if value not in ROLES:
        raise typer.BadParameter(f"unknown role {value}; use one of {', '.join(ROLES)}")
    return value


@user_app.command("create")
@_friendly
def user_create(
    username: Annotated[str, typer.Argument(help="Login name (letters, digits, . _ @ -).")],
    name: Annotated[str, typer.Option("--name", help="Name shown to others.")],
    role: Annotated[
        str, typer.Option("--role", callback=_check_role, help=f"One of: {', '.join(ROLES)}.")
    ],
    place: Annotated[str, typer.Option("--place", help="Code of the place the role covers.")],
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input.")
    ] = False,
) -> None:
    """Create an account and grant it a role on a place."""
    settings = Settings()
    password = _read_password(password_stdin)
    with _unit_of_work(settings) as db:
        target = place_service.by_code(db, place)
        if target is None:
            raise NotFound(f"no place with code {place}")
        account = account_service.create_account(
            db, None, AccountCreate(username=username, display_name=name, password=password)
        )
        account_service.grant_role(db, None, account_id=account.id, role=role, place_id=target.id)
        out.print(
            f"created {account.username}: {role} on {target.name} ({target.code})", markup=False
        )


# --- places ---------------------------------------------------------------------------------

PLACE_KINDS = get_args(PlaceKind)


@place_app.command("create")
@_friendly
def place_create(
    code: Annotated[str, typer.Argument(help="Short unique code (letters, digits, . _ -).")],
    name: Annotated[str, typer.Option("--name", help="Name shown to people, e.g. 东华门街道.")],
    kind: Annotated[str, typer.Option("--kind", help=f"One of: {', '.join(PLACE_KINDS)}.")],
    parent: Annotated[
        str | None, typer.Option("--parent", help="Code of the place it sits in (none: a root).")
    ] = None,
) -> None:
    """Add a place: the first ones (city, district, street office) before the first account."""
    if kind not in PLACE_KINDS:
        raise ValidationFailed(f"--kind must be one of: {', '.join(PLACE_KINDS)}")
    settings = Settings()
    with _unit_of_work(settings) as db:
        parent_id = None
        if parent is not None:
            above = place_service.by_code(db, parent)
            if above is None:
                raise NotFound(f"no place with code {parent}")
            parent_id = above.id
        place = place_service.create(
            db, None, PlaceCreate(parent_id=parent_id, kind=kind, name=name, code=code)
        )
        audit_service.record(
            db,
            actor=SYSTEM,
            action="place.created",
            subject_type="place",
            subject_id=place.id,
            place_id=place.id,
            detail={"code": place.code, "kind": place.kind},
        )
        out.print(f"created {place.kind} {place.name} ({place.code})", markup=False)


# --- import ---------------------------------------------------------------------------------


def _errors_table(errors: list[importer.RowError]) -> Table:
    table = Table(title="Rows that cannot be imported", title_justify="left")
    table.add_column("row", justify="right")
    table.add_column("column")
    table.add_column("problem", overflow="fold")
    for error in errors[:MAX_ERRORS_SHOWN]:
        table.add_row(str(error.row), error.column, error.message)
    return table


@import_app.command("residents")
@_friendly
def import_residents(
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8 or GB18030) or .xlsx file.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check and count, then write nothing.")
    ] = False,
) -> None:
    """Register households and residents from a sheet: all rows or none."""
    settings = settings_with_key()
    configure_field_cipher(settings.field_key())
    sheet = importer.read_sheet(file)
    if not sheet.rows:
        _fail(f"{file} has no rows below its header")
    engine = _existing_engine(settings)
    db = make_sessionmaker(engine)()
    try:
        with _progress() as progress:
            task = progress.add_task("Importing residents", total=len(sheet.rows))
            report = importer.import_residents(db, sheet, on_row=lambda: progress.advance(task))
        if not report.ok:
            db.rollback()
            out.print(_errors_table(report.errors))
            hidden = len(report.errors) - MAX_ERRORS_SHOWN
            if hidden > 0:
                out.print(f"… and {hidden} more", markup=False)
            rows = len({e.row for e in report.errors})
            _fail(f"{rows} of {report.rows} rows have problems; nothing was imported")
        summary = (
            f"{report.residents_created} residents, {report.households_created} new households, "
            f"{report.places_created} new places from {report.rows} rows"
        )
        if dry_run:
            db.rollback()
            out.print(f"dry run: would import {summary}; nothing was written", markup=False)
        else:
            db.commit()
            out.print(f"imported {summary}", markup=False)
    finally:
        db.close()
        engine.dispose()


# --- backup and restore ---------------------------------------------------------------------


@app.command("backup")
@_friendly
def backup_command(
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            help="A .tar.gz file or a new directory (default: <data dir>/backups/…tar.gz).",
        ),
    ] = None,
) -> None:
    """Copy the running database and the data directory consistently."""
    settings = Settings()
    target = output or backup_core.default_output(settings.data_dir)
    with err.status("Backing up…"):
        result = backup_core.backup(settings.effective_database_url, settings.data_dir, target)
    out.print(
        f"backup written to {result.path} ({result.database}, schema {result.schema or 'none'}, "
        f"{result.data_files} data files)",
        markup=False,
    )


@app.command("restore")
@_friendly
def restore_command(
    source: Annotated[Path, typer.Argument(help="A backup made by `linli backup`.")],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Replace an existing database.")] = False,
) -> None:
    """Put a backup back into the configured database and data directory (stop the server)."""
    settings = Settings()
    with err.status("Restoring…"):
        result = backup_core.restore(
            source, settings.effective_migration_database_url, settings.data_dir, overwrite=yes
        )
    out.print(
        f"restored the {result.database} database (schema {result.schema or 'none'}) and "
        f"{result.data_files} data files",
        markup=False,
    )
    engine = make_engine(settings.effective_database_url)
    try:
        head = head_revision(engine)
    finally:
        engine.dispose()
    if result.schema != head:
        out.print(f"the code needs schema {head}: run `linli db upgrade`", markup=False)


# --- audit and secrets ----------------------------------------------------------------------


@app.command("check")
@_friendly
def check() -> None:
    """Deployment check: every outbound endpoint (SMTP, MQTT, webhooks, SMS gateways, robots)
    must point inside the operator's allow-list; exit 1 with one line per one that does not."""
    from linli.notification import service as notification_service
    from linli.sharing import service as sharing_service

    settings = Settings()
    configure_field_cipher(settings.field_key())
    endpoints: list[tuple[str, str]] = []
    if settings.smtp_url:
        endpoints.append(("SMTP server (LINLI_SMTP_URL)", settings.smtp_url))
    if settings.mqtt_url:
        endpoints.append(("MQTT broker (LINLI_MQTT_URL)", settings.mqtt_url))
    with _unit_of_work(settings) as db:
        endpoints += notification_service.endpoint_addresses(db)
        endpoints += sharing_service.registry_endpoints(db)
        problems = sharing_service.processors_abroad(db)
    problems += sharing_service.outbound_problems(
        endpoints, settings.outbound_allowed_hosts, settings.outbound_allowed_networks
    )
    if problems:
        for line in problems:
            err.print(line, markup=False)
        _fail(f"{len(problems)} outbound endpoint(s) outside the allowed list")
    out.print(f"outbound endpoints ok: {len(endpoints)} checked, all allowed", markup=False)


@audit_app.command("verify")
@_friendly
def audit_verify() -> None:
    """Recompute the audit log's hash chain; exit 1 if any event was changed or removed."""
    with _unit_of_work(Settings()) as db, err.status("Checking the audit log…"):
        result = audit_service.verify(db)
    if result.ok:
        out.print(f"audit log ok: {result.checked} events, hash chain intact", markup=False)
        return
    where = f"event {result.first_bad_id}" if result.first_bad_id is not None else "the end"
    _fail(f"audit log tampered at {where}: {result.problem}")


@privacy_app.command("retention")
@_friendly
def privacy_retention(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Count what would go, then change nothing.")
    ] = False,
    now: Annotated[
        str | None,
        typer.Option("--now", help="Run as of this ISO 8601 time (default: now, UTC)."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
) -> None:
    """Delete or anonymise what has passed its retention period, and print the report."""
    import datetime as dt
    import json

    from linli.core.actor import SYSTEM
    from linli.core.time import utc_now
    from linli.privacy import retention

    as_of = utc_now()
    if now is not None:
        try:
            as_of = dt.datetime.fromisoformat(now)
        except ValueError:
            _fail(f"--now {now!r} is not an ISO 8601 time")
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
    settings = settings_with_key()
    configure_field_cipher(settings.field_key())
    with _unit_of_work(settings) as db, _progress() as progress:
        task = progress.add_task("Applying retention", total=len(retention.time_based_tables()))
        report = retention.run(
            db,
            now=as_of,
            dry_run=dry_run,
            actor=SYSTEM,
            trigger="cli",
            on_table=lambda _name: progress.advance(task),
        )
        if dry_run:
            db.rollback()
    if as_json:
        out.print(json.dumps(report.as_dict(), ensure_ascii=False), markup=False)
        return
    title = f"retention as of {as_of.isoformat()}" + (" (dry run)" if dry_run else "")
    table = Table(
        "table", "rule", "action", "cut-off", "deleted", "anonymised", "kept", title=title
    )
    for t in report.tables:
        table.add_row(
            t.table,
            t.rule,
            t.action,
            t.cutoff or "",
            str(t.deleted),
            str(t.anonymised),
            str(t.kept),
        )
    out.print(table)
    verb = "would delete" if dry_run else "deleted"
    verb2 = "would anonymise" if dry_run else "anonymised"
    out.print(f"{verb} {report.deleted} rows, {verb2} {report.anonymised}", markup=False)


@app.command()
def secret() -> None:
    """Print a fresh secret key fit for LINLI_SECRET_KEY."""
    while True:
        key = secrets.token_urlsafe(48)
        if is_production_key(key):
            break
    out.print(key, markup=False)


# --- rules ----------------------------------------------------------------------------------


@rules_app.command("export")
@_friendly
def rules_export(
    rule_id: Annotated[int, typer.Argument(min=1, help="The rule's id (see the console).")],
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="Write here instead of stdout.")
    ] = None,
) -> None:
    """Write a rule as a file that `linli rules backtest` reads."""
    from linli.rule import service as rule_service

    settings = settings_with_key()
    configure_field_cipher(settings.field_key())
    with _unit_of_work(settings) as db:
        rule = rule_service.get_record(db, rule_id)
        text = rule_service.rule_file(db, rule).model_dump_json(indent=2)
    if output is None:
        out.print(text, markup=False)
    else:
        output.write_text(text + "\n", encoding="utf-8")
        err.print(f"rule {rule_id} written to {output}", markup=False)


@rules_app.command("backtest")
@_friendly
def rules_backtest(
    rule_file: Annotated[Path, typer.Argument(help="A file written by `linli rules export`.")],
    data: Annotated[Path, typer.Argument(help="CSV with timestamp,value rows.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    timezone: Annotated[
        str, typer.Option(help="Time zone of timestamps without an offset.")
    ] = "Asia/Shanghai",
) -> None:
    """Print the alarms a rule would have raised over a CSV of readings, with start and end."""
    from linli.rule import service as rule_service
    from linli.rule.schemas import RuleFile

    spec = RuleFile.model_validate_json(rule_file.read_bytes())
    rows = rule_service.parse_csv(data.read_text(encoding="utf-8-sig"), timezone=timezone)
    result = rule_service.run_backtest(spec, rows)
    if as_json:
        out.print(result.model_dump_json(), markup=False)
        return
    table = Table(
        "#", "started", "ended", "peak", "readings", title=f"{spec.name}: {len(rows)} rows"
    )
    for number, alarm in enumerate(result.alarms, start=1):
        table.add_row(
            str(number),
            alarm.started_at.isoformat(),
            alarm.ended_at.isoformat() if alarm.ended_at else "(still active)",
            "" if alarm.peak is None else f"{alarm.peak:g}",
            str(alarm.readings),
        )
    out.print(table)
    out.print(f"{len(result.alarms)} alarms", markup=False)


def _bench_module(name: str) -> Any:
    """Load ``bench/<name>.py`` from the project checkout (benchmarks are not installed)."""
    import importlib.util

    for parent in Path(__file__).resolve().parents:
        candidate = parent / "bench" / f"{name}.py"
        if candidate.exists():
            spec = importlib.util.spec_from_file_location(f"linli_bench_{name}", candidate)
            assert spec is not None
            assert spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            return module
    _fail(f"bench/{name}.py not found: benchmarks run from a checkout of the project")


def _report(result: dict[str, Any], *, as_json: bool, record: Path | None) -> None:
    import datetime as dt
    import json

    line = json.dumps(result, ensure_ascii=False, sort_keys=True)
    if as_json:
        out.print(line, markup=False)
    else:
        table = Table("figure", "value")
        for key, value in result.items():
            table.add_row(key, str(value))
        out.print(table)
    if record is not None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        with record.open("a", encoding="utf-8") as fh:
            fh.write(f"\n- {stamp}, `linli bench {result['benchmark']}`: `{line}`\n")


@bench_app.command("api")
@_friendly
def bench_api(
    seconds: Annotated[int, typer.Option(min=1, max=600, help="Load time per server.")] = 10,
    clients: Annotated[int, typer.Option(min=1, max=1000, help="Concurrent connections.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Authenticated API read under concurrent clients vs a bare FastAPI endpoint (same run)."""
    module = _bench_module("api")
    with err.status("measuring the bare endpoint, then Linli …"):
        result = module.run(seconds=seconds, clients=clients)
    _report(result, as_json=as_json, record=record)


@app.command("ingest")
@_friendly
def ingest_command() -> None:
    """Run only MQTT ingestion (LINLI_MQTT_URL): an extra ingest worker beside the web server."""
    import signal
    import threading

    from linli.rule.runtime import RuleRuntime
    from linli.telemetry.mqtt import Subscriber
    from linli.telemetry.writer import BatchWriter

    settings = Settings()
    if not settings.mqtt_url:
        raise ConfigError("LINLI_MQTT_URL is not set; ingestion over MQTT needs a broker")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(make_log_formatter(settings.log_format))
    logging.basicConfig(level=settings.log_level.upper(), handlers=[handler], force=True)
    configure_field_cipher(settings.field_key())
    engine = _existing_engine(settings)
    writer = BatchWriter(engine)
    rules: RuleRuntime | None = None
    if settings.rules_enabled:
        # Rules run where readings are written; the runtime replays what it has not seen yet.
        rules = RuleRuntime(make_sessionmaker(engine))
        rules.start()
        writer.observers.append(rules.observe)
    subscriber = Subscriber(
        engine, settings.mqtt_url, shared_group=settings.mqtt_shared_group, writer=writer
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    subscriber.start()
    try:
        stop.wait()
    finally:
        subscriber.stop()
        writer.stop()
        if rules is not None:
            rules.stop()
        engine.dispose()


@bench_app.command("ingest")
@_friendly
def bench_ingest(
    transport: Annotated[str, typer.Option(help="http or mqtt.")] = "http",
    seconds: Annotated[int, typer.Option(min=1, max=600, help="Load time.")] = 10,
    single: Annotated[bool, typer.Option("--single", help="One reading per message.")] = False,
    rules: Annotated[
        bool, typer.Option("--rules/--no-rules", help="An alarm rule watching every device.")
    ] = True,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Ingestion rate and acknowledge latency (HTTP or MQTT) vs raw SQLite executemany."""
    if transport not in ("http", "mqtt"):
        _fail("--transport must be http or mqtt")
    module = _bench_module("ingest")
    with err.status(f"measuring ingestion over {transport} …"):
        result = module.run(transport=transport, seconds=seconds, single=single, rules=rules)
    _report(result, as_json=as_json, record=record)


@bench_app.command("alarms")
@_friendly
def bench_alarms(
    alarms: Annotated[
        int, typer.Option(min=1, max=10_000, help="Alarms to raise and clear.")
    ] = 200,
    background: Annotated[
        float, typer.Option(min=0, max=200_000, help="Background readings per second.")
    ] = 5000.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Latency from a reading to its alarm on an open console stream, under background load."""
    module = _bench_module("alarms")
    with err.status("raising and clearing alarms under background ingestion …"):
        result = module.run(alarms=alarms, background=background)
    _report(result, as_json=as_json, record=record)


@bench_app.command("chart")
@_friendly
def bench_chart(
    repeats: Annotated[int, typer.Option(min=5, max=1000, help="Timed calls per range.")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Server time of a chart over a year of 1-minute data, in process and over HTTP."""
    module = _bench_module("chart")
    with err.status("writing a year of readings, then timing the series …"):
        result = module.run(repeats=repeats)
    _report(result, as_json=as_json, record=record)


@bench_app.command("anomaly")
@_friendly
def bench_anomaly(
    nab: Annotated[
        Path, typer.Option(help="The NAB v1.1 directory (data/, labels/, config/, results/).")
    ] = Path("../shared/data/nab"),
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """The anomaly detector over NAB v1.1, scored per profile, with a check of the scorer."""
    if not (nab / "labels" / "combined_windows.json").is_file():
        _fail(f"{nab} is not a NAB directory (no labels/combined_windows.json); pass --nab DIR")
    module = _bench_module("anomaly")
    with err.status("scoring every NAB series row by row …"):
        result = module.run(nab)
    _report(result, as_json=as_json, record=record)


@bench_app.command("dispatch")
@_friendly
def bench_dispatch(
    incidents: Annotated[int, typer.Option(min=1, max=1000, help="Simultaneous incidents.")] = 50,
    responders: Annotated[int, typer.Option(min=1, max=5000, help="Responders.")] = 200,
    seed: Annotated[int, typer.Option(help="Random seed of the scenario.")] = 7,
    repeats: Annotated[int, typer.Option(min=1, max=100, help="Timed plans (median).")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Dispatch plan time and total travel vs the optimum of an exact solver (CP-SAT)."""
    module = _bench_module("dispatch")
    with err.status("planning the dispatch, then solving it exactly with CP-SAT …"):
        result = module.run(incidents=incidents, responders=responders, seed=seed, repeats=repeats)
    _report(result, as_json=as_json, record=record)


@bench_app.command("bursts")
@_friendly
def bench_bursts(
    small: Annotated[bool, typer.Option("--small", help="Only the four test scenarios.")] = False,
    seed: Annotated[int, typer.Option(help="Seed of the sensor noise.")] = 1,
    min_drop: Annotated[
        float | None, typer.Option(min=0.1, help="Override the rule's min_drop (kPa).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    record: Annotated[
        Path | None, typer.Option(help="Append the result to this file (docs/benchmarks.md).")
    ] = None,
) -> None:
    """Pipe-burst detection (pressure_drop) on labelled EPANET Net3 scenarios simulated by wntr."""
    module = _bench_module("bursts")
    with err.status("simulating the burst scenarios and running the rule …"):
        result = module.run(full=not small, seed=seed, min_drop=min_drop)
    _report(result, as_json=as_json, record=record)


# --- device simulator and MQTT broker files ---------------------------------------------------

mqtt_app = typer.Typer(help="Files for the MQTT broker (Mosquitto).", no_args_is_help=True)
app.add_typer(mqtt_app, name="mqtt")
SIMULATOR_START_TIMEOUT_S = 60.0


def _wait_until_up(base_url: str, deadline_s: float) -> bool:
    """Poll ``/healthz`` until the server answers or the deadline passes."""
    import urllib.request

    end = time.monotonic() + deadline_s
    while time.monotonic() < end:
        try:
            with urllib.request.urlopen(f"{base_url}/healthz", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.5)
    return False


def _start_demo_simulator(
    data_dir: Path, base_url: str, *, database_url: str | None = None
) -> None:
    """Run the simulator in a background thread once the demo server is up; with a
    ``database_url``, first backfill the devices' recent past if they have no readings yet."""
    import threading

    from linli.simulate.runner import HttpSender, backfill_if_new, load_devices, run
    from linli.simulate.signals import Simulator

    path = seed.devices_path(data_dir)
    if not path.exists():
        err.print(f"warning: {path} is missing; the simulator is not started", markup=False)
        return
    devices = load_devices(path)

    def work() -> None:
        if not _wait_until_up(base_url, SIMULATOR_START_TIMEOUT_S):
            logging.getLogger("linli.simulate").warning("server not up; simulator not started")
            return
        sender = HttpSender(base_url, {d.uid: d.token for d in devices})
        simulator = Simulator([(d.uid, d.profile) for d in devices])
        if database_url is not None:
            engine = make_engine(database_url)
            try:
                with session_scope(make_sessionmaker(engine)) as db:
                    backfill_if_new(
                        devices,
                        sender,
                        simulator,
                        db,
                        end_s=time.time(),
                        announce=lambda line: out.print(line, markup=False),
                    )
            except Exception:  # the live run goes on without the history
                logging.getLogger("linli.simulate").exception("simulator backfill failed")
            finally:
                engine.dispose()
        run(devices, sender, simulator=simulator)

    threading.Thread(target=work, name="linli-simulator", daemon=True).start()
    out.print(f"Simulating {len(devices)} devices over HTTP", markup=False)


@app.command("simulate")
@_friendly
def simulate_command(
    transport: Annotated[str, typer.Option(help="http or mqtt.")] = "http",
    speed: Annotated[
        float, typer.Option(min=0.01, max=10_000, help="How many times faster than real time.")
    ] = 1.0,
    url: Annotated[str, typer.Option(help="Base URL of the Linli server (HTTP).")] = (
        "http://127.0.0.1:8000"
    ),
    seed_value: Annotated[int, typer.Option("--seed", help="Random seed.")] = 7,
    messages: Annotated[
        int, typer.Option(min=0, help="Stop after this many messages (0: run until Ctrl-C).")
    ] = 0,
    devices_file: Annotated[
        Path | None, typer.Option(help="Devices and tokens (default: the demo's data dir).")
    ] = None,
) -> None:
    """Send the demo devices' readings, with occasional faults, through real ingestion."""
    import signal
    import threading

    from linli.simulate.runner import HttpSender, MqttSender, load_devices, run

    if transport not in ("http", "mqtt"):
        _fail("--transport must be http or mqtt")
    settings = Settings()
    path = devices_file or seed.devices_path(settings.data_dir)
    if not path.exists():
        _fail(f"{path} not found: run `linli demo` once to register the demo devices")
    devices = load_devices(path)
    tokens = {d.uid: d.token for d in devices}
    if transport == "mqtt":
        if not settings.mqtt_url:
            raise ConfigError("LINLI_MQTT_URL is not set; --transport mqtt needs a broker")
        sender: HttpSender | MqttSender = MqttSender(settings.mqtt_url, tokens)
    else:
        sender = HttpSender(url, tokens)
    stop = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    err.print(f"Simulating {len(devices)} devices over {transport} at ×{speed}", markup=False)
    counts = run(
        devices, sender, speed=speed, seed=seed_value, stop=stop, max_messages=messages or None
    )
    out.print(" ".join(f"{k}={v}" for k, v in sorted(counts.items())), markup=False)


@mqtt_app.command("acl")
@_friendly
def mqtt_acl(
    password_file: Annotated[Path, typer.Option(help="Mosquitto password_file to write.")],
    acl_file: Annotated[Path, typer.Option(help="Mosquitto acl_file to write.")],
    ingest_user: Annotated[str, typer.Option(help="The platform's own MQTT user.")] = (
        "linli-ingest"
    ),
    ingest_password: Annotated[
        str,
        typer.Option(
            envvar="LINLI_MQTT_INGEST_PASSWORD",
            help="Its password (default: the one in LINLI_MQTT_URL).",
        ),
    ] = "",
) -> None:
    """Write a password file and an ACL so that each device publishes only to its own topic."""
    from urllib.parse import unquote, urlsplit

    from linli.device import acl
    from linli.device import service as device_service

    settings = Settings()
    if not ingest_password and settings.mqtt_url:
        parts = urlsplit(settings.mqtt_url)
        if parts.password:
            ingest_password = unquote(parts.password)
            ingest_user = unquote(parts.username or ingest_user)
    if not ingest_password:
        _fail("give --ingest-password (or LINLI_MQTT_URL with a password) for the ingest user")
    if not acl.safe_user(ingest_user):
        _fail("the ingest user name may hold only letters, digits, '_', '.' and '-'")
    with _unit_of_work(settings) as db:
        entries = device_service.mqtt_password_entries(db)
    if any(uid == ingest_user for uid, _hash in entries):
        _fail(f"a device is called {ingest_user}; choose another --ingest-user")
    lines = [(ingest_user, acl.mosquitto_hash(ingest_password)), *entries]
    acl.write_private(password_file, acl.password_file(lines))
    acl.write_private(acl_file, acl.acl_file([uid for uid, _hash in entries], ingest_user))
    out.print(
        f"Wrote {len(entries)} devices and {ingest_user} to {password_file} and {acl_file}",
        markup=False,
    )


def main() -> None:
    """Entry point of the `linli` console script."""
    app()
