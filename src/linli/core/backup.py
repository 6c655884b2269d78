"""Consistent backups of a running installation (database and data directory) and their restore.

A backup is a ``.tar.gz`` file or a directory holding ``manifest.json``, the database
(``database.sqlite3`` copied with SQLite's online backup API, or ``database.pgdump`` written by
``pg_dump --format=custom``) and ``data/``: the rest of the data directory.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from linli.core.db import SQLITE_BUSY_TIMEOUT_MS, make_engine
from linli.core.errors import LinliError
from linli.core.migrate import current_revision
from linli.core.time import utc_now

FORMAT = "linli-backup"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
SQLITE_NAME = "database.sqlite3"
PGDUMP_NAME = "database.pgdump"
DATA_NAME = "data"
# Backups written into the data directory itself are never copied into the next backup.
BACKUPS_DIR = "backups"
# Files SQLite keeps next to a live database; they are copied through the backup API instead.
SQLITE_SIDE_FILES = ("", "-wal", "-shm", "-journal")


class BackupError(LinliError):
    """A backup or restore that cannot be done as asked."""

    status_code = 409
    code = "backup_failed"


@dataclass(frozen=True)
class BackupResult:
    """Where a backup went and what it holds."""

    path: Path
    database: str
    schema: str | None
    data_files: int


@dataclass(frozen=True)
class RestoreResult:
    """What a restore put back."""

    database: str
    schema: str | None
    data_files: int


def default_output(data_dir: Path, now: dt.datetime | None = None) -> Path:
    """``<data dir>/backups/linli-backup-<UTC time>.tar.gz`` (with ``-2``... if taken)."""
    stamp = (now or utc_now()).strftime("%Y%m%dT%H%M%SZ")
    path = data_dir / BACKUPS_DIR / f"linli-backup-{stamp}.tar.gz"
    n = 1
    while path.exists():
        n += 1
        path = path.with_name(f"linli-backup-{stamp}-{n}.tar.gz")
    return path


def is_archive(path: Path) -> bool:
    """Whether ``path`` names a tar.gz archive rather than a directory."""
    return path.name.endswith((".tar.gz", ".tgz"))


def _dialect(url: URL) -> str:
    name = url.get_backend_name()
    if name in ("sqlite", "postgresql"):
        return name
    raise BackupError(f"backups support SQLite and PostgreSQL, not {name}")


def sqlite_path(url: URL) -> Path:
    """The file of a SQLite URL; in-memory databases cannot be backed up."""
    database = url.database
    if not database or database == ":memory:" or database.startswith("file::memory:"):
        raise BackupError("an in-memory SQLite database has nothing to back up")
    return Path(database).resolve()


def _libpq(url: URL) -> tuple[str, dict[str, str]]:
    """A libpq connection URI without the password, and an environment that carries it."""
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _pg_tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise BackupError(f"{name} not found; install the PostgreSQL client tools")
    return found


def _run(argv: list[str], env: dict[str, str]) -> None:
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        detail = lines[-1] if lines else f"exit status {done.returncode}"
        raise BackupError(f"{Path(argv[0]).name} failed: {detail}")


def _schema_of(database_url: str) -> str | None:
    engine = make_engine(database_url)
    try:
        return current_revision(engine)
    finally:
        engine.dispose()


# --- backup ---------------------------------------------------------------------------------


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live database: one backup step under a single read transaction."""
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    with (
        closing(sqlite3.connect(source, timeout=timeout)) as src,
        closing(sqlite3.connect(target)) as dst,
    ):
        # pages=-1 copies everything in one step, so concurrent writers never force a restart.
        src.backup(dst, pages=-1)
        check = dst.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise BackupError("the copied database failed its integrity check")
        # A standalone file: no -wal beside it is needed to read it.
        dst.execute("PRAGMA journal_mode=DELETE")


def _excluded(data_dir: Path, database: Path | None, output: Path, staging: Path) -> set[Path]:
    skip = {output.resolve(), staging.resolve(), (data_dir / BACKUPS_DIR).resolve()}
    if database is not None:
        skip |= {Path(f"{database}{suffix}") for suffix in SQLITE_SIDE_FILES}
    return skip


def _data_files(data_dir: Path, skip: set[Path]) -> Iterator[Path]:
    """Regular files of the data directory, minus the live database and the backup itself."""
    if not data_dir.is_dir():
        return
    for root, dirs, files in os.walk(data_dir):
        here = Path(root)
        dirs[:] = sorted(d for d in dirs if (here / d).resolve() not in skip)
        for name in sorted(files):
            path = here / name
            if path.resolve() in skip or path.is_symlink() or not path.is_file():
                continue
            yield path


def backup(database_url: str, data_dir: Path, output: Path) -> BackupResult:
    """Copy the database and the data directory into ``output`` (a .tar.gz or a new directory)."""
    url = make_url(database_url)
    dialect = _dialect(url)
    data_dir = data_dir.resolve()
    output = output.resolve()
    if output.exists() and (is_archive(output) or any(output.iterdir())):
        raise BackupError(f"{output} already exists; choose another output")
    database = sqlite_path(url) if dialect == "sqlite" else None
    if database is not None and not database.is_file():
        raise BackupError(f"no database at {database}")
    schema = _schema_of(database_url)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".linli-backup-", dir=output.parent) as tmp:
        staging = Path(tmp) / "backup"
        staging.mkdir()
        if database is not None:
            _copy_sqlite(database, staging / SQLITE_NAME)
        else:
            libpq, env = _libpq(url)
            pg_dump = _pg_tool("pg_dump")
            dump = str(staging / PGDUMP_NAME)
            _run([pg_dump, "--format=custom", "--no-owner", f"--file={dump}", libpq], env)
        count = 0
        for path in _data_files(data_dir, _excluded(data_dir, database, output, Path(tmp))):
            target = staging / DATA_NAME / path.relative_to(data_dir)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(path, target)
            count += 1
        manifest = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "created_at": utc_now().isoformat(timespec="seconds"),
            "database": dialect,
            "schema": schema,
            "data_files": count,
        }
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        if is_archive(output):
            partial = Path(tmp) / "backup.tar.gz"
            with tarfile.open(partial, "w:gz") as tar:
                for entry in sorted(staging.iterdir()):
                    tar.add(entry, arcname=entry.name)
            os.chmod(partial, 0o600)
            os.replace(partial, output)
        else:
            if output.exists():
                output.rmdir()
            shutil.move(staging, output)
            os.chmod(output, 0o700)
    return BackupResult(path=output, database=dialect, schema=schema, data_files=count)


# --- restore --------------------------------------------------------------------------------


@contextmanager
def _unpacked(source: Path) -> Iterator[Path]:
    """The backup's folder: the directory itself, or an archive extracted to a temporary one."""
    if source.is_dir():
        yield source
        return
    if not source.is_file() or not is_archive(source):
        raise BackupError(f"{source} is not a Linli backup (.tar.gz or directory)")
    with tempfile.TemporaryDirectory(prefix=".linli-restore-") as tmp:
        try:
            with tarfile.open(source, "r:gz") as tar:
                tar.extractall(tmp, filter="data")
        except (tarfile.TarError, OSError) as exc:
            raise BackupError(f"cannot read {source.name}: {exc}") from exc
        yield Path(tmp)


def _manifest(folder: Path) -> dict[str, object]:
    path = folder / MANIFEST
    try:
        loaded = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise BackupError("the backup has no readable manifest.json") from exc
    if not isinstance(loaded, dict) or loaded.get("format") != FORMAT:
        raise BackupError("manifest.json does not describe a Linli backup")
    if loaded.get("version") != FORMAT_VERSION:
        raise BackupError(f"backup format version {loaded.get('version')} is not supported")
    return loaded


def _restore_sqlite(copy: Path, target: Path, *, overwrite: bool) -> None:
    if not copy.is_file():
        raise BackupError(f"the backup lacks {SQLITE_NAME}")
    if target.exists() and target.stat().st_size > 0 and not overwrite:
        raise BackupError(f"a database already exists at {target}; pass --yes to replace it")
    target.parent.mkdir(parents=True, exist_ok=True)
    timeout = SQLITE_BUSY_TIMEOUT_MS / 1000
    # Through the backup API, so that the -wal of a database being replaced stays coherent.
    with (
        closing(sqlite3.connect(copy)) as src,
        closing(sqlite3.connect(target, timeout=timeout)) as dst,
    ):
        src.backup(dst, pages=-1)
        dst.execute("PRAGMA journal_mode=WAL")


def _restore_postgres(dump: Path, database_url: str, *, overwrite: bool) -> None:
    if not dump.is_file():
        raise BackupError(f"the backup lacks {PGDUMP_NAME}")
    engine = make_engine(database_url)
    try:
        has_tables = bool(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    if has_tables and not overwrite:
        raise BackupError("the target database is not empty; pass --yes to replace it")
    libpq, env = _libpq(make_url(database_url))
    argv = [_pg_tool("pg_restore"), "--no-owner", "--exit-on-error", "--single-transaction"]
    if has_tables:
        argv += ["--clean", "--if-exists"]
    _run([*argv, f"--dbname={libpq}", str(dump)], env)


def restore(source: Path, database_url: str, data_dir: Path, *, overwrite: bool) -> RestoreResult:
    """Put a backup back: the database at ``database_url`` and the files into ``data_dir``."""
    url = make_url(database_url)
    dialect = _dialect(url)
    with _unpacked(source.resolve()) as folder:
        manifest = _manifest(folder)
        if manifest.get("database") != dialect:
            raise BackupError(
                f"the backup holds a {manifest.get('database')} database "
                f"but the configured database is {dialect}"
            )
        if dialect == "sqlite":
            _restore_sqlite(folder / SQLITE_NAME, sqlite_path(url), overwrite=overwrite)
        else:
            _restore_postgres(folder / PGDUMP_NAME, database_url, overwrite=overwrite)
        count = 0
        files = folder / DATA_NAME
        if files.is_dir():
            for path in sorted(p for p in files.rglob("*") if p.is_file()):
                target = data_dir / path.relative_to(files)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)
                count += 1
    schema = manifest.get("schema")
    return RestoreResult(database=dialect, schema=str(schema) if schema else None, data_files=count)
