"""`linli backup` / `linli restore`: a consistent copy while the database is written to."""

from __future__ import annotations

import os
import secrets
import sqlite3
import tarfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from typer.testing import Result

from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine
from linli.core.migrate import upgrade
from linli.demo import seed

Invoke = Callable[..., Result]

TABLES = ("places", "households", "residents", "accounts", "role_grants", "audit_events")
POSTGRES_URL = os.environ.get("LINLI_TEST_POSTGRES_URL", "")


def _counts(url: str) -> dict[str, int]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return {
                t: int(conn.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in TABLES
            }
    finally:
        engine.dispose()


def _small_world(cli: Invoke, community: str, tmp_path: Path) -> None:
    """A few residents (through the importer) and an account (through `user create`)."""
    sheet = tmp_path / "people.csv"
    sheet.write_text(
        "community,path,room,name,phone\n"
        f"{community},幸福小区/1号楼/1单元,101,王芳,13811112222\n"
        f"{community},幸福小区/1号楼/1单元,102,李强,13833334444\n",
        "utf-8",
    )
    assert cli("import", "residents", str(sheet)).exit_code == 0
    made = cli(
        "user", "create", "staff.one", "--name", "张静", "--role", "community_staff",
        "--place", community, "--password-stdin", stdin="lantern-harbour-77\n",
    )  # fmt: skip
    assert made.exit_code == 0, made.output


class Writer(threading.Thread):
    """Appends numbered rows, one transaction each, on its own connection until stopped."""

    def __init__(self, database: Path) -> None:
        super().__init__(daemon=True)
        self.database = database
        self.written = 0
        self.stop = threading.Event()
        self.warmed_up = threading.Event()
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            conn = sqlite3.connect(self.database, timeout=10)
            try:
                while not self.stop.is_set():
                    with conn:
                        conn.execute("INSERT INTO probe (n, pad) VALUES (?, ?)",
                                     (self.written + 1, "x" * 200))  # fmt: skip
                    self.written += 1
                    if self.written == 200:
                        self.warmed_up.set()
            finally:
                conn.close()
        except BaseException as exc:  # reported by the test
            self.error = exc
            self.warmed_up.set()


def _start_writer(database: Path) -> Writer:
    with sqlite3.connect(database) as conn:
        conn.execute("CREATE TABLE probe (n INTEGER PRIMARY KEY, pad TEXT)")
    conn.close()
    thread = Writer(database)
    thread.start()
    return thread


def test_backup_while_writing_then_restore_into_a_fresh_data_dir(
    cli: Invoke,
    settings: Settings,
    community: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _small_world(cli, community, tmp_path)
    (settings.data_dir / "uploads").mkdir()
    (settings.data_dir / "uploads" / "notice.txt").write_text("停水通知", "utf-8")
    source_counts = _counts(settings.effective_database_url)
    archive = tmp_path / "backups" / "linli.tar.gz"
    writer = _start_writer(settings.data_dir / "linli.db")
    try:
        assert writer.warmed_up.wait(timeout=30)
        assert writer.error is None
        before = writer.written
        result = cli("backup", "--output", str(archive))
        after = writer.written
    finally:
        writer.stop.set()
        writer.join(timeout=10)
    assert writer.error is None
    assert result.exit_code == 0, result.output
    assert after > before, "the writer was not running during the backup"
    with tarfile.open(archive) as tar:
        names = set(tar.getnames())
    assert {"manifest.json", "database.sqlite3", "data/uploads/notice.txt"} <= names
    assert not any(n.startswith("data/linli.db") for n in names)

    fresh = tmp_path / "restored"
    monkeypatch.setenv("LINLI_DATA_DIR", str(fresh))
    restored = cli("restore", str(archive))
    assert restored.exit_code == 0, restored.output

    url = Settings().effective_database_url
    assert _counts(url) == source_counts
    with sqlite3.connect(fresh / "linli.db") as conn:
        count, highest = conn.execute("SELECT count(*), max(n) FROM probe").fetchone()
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    conn.close()
    # A snapshot of one moment: no gaps, and between the counts seen before and after.
    assert count == highest
    assert before <= count <= after
    assert (fresh / "uploads" / "notice.txt").read_text("utf-8") == "停水通知"
    verified = cli("audit", "verify")
    assert verified.exit_code == 0
    assert f"{source_counts['audit_events']} events" in verified.stdout

    refused = cli("restore", str(archive))
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr
    assert cli("restore", str(archive), "--yes").exit_code == 0
    assert _counts(url) == source_counts


def test_backup_to_a_directory_keeps_the_demo_key(
    cli: Invoke, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed.write_private_file(settings.data_dir / "demo-secret", "demo-abc\n")
    (settings.data_dir / "exports").mkdir()
    (settings.data_dir / "exports" / "report.csv").write_text("a,b\n", "utf-8")
    target = tmp_path / "snapshot"
    made = cli("backup", "-o", str(target))
    assert made.exit_code == 0, made.output
    assert (target / "manifest.json").is_file()
    assert (target / "database.sqlite3").is_file()
    again = cli("backup", "-o", str(target))
    assert again.exit_code == 1
    assert "already exists" in again.stderr

    fresh = tmp_path / "other"
    monkeypatch.setenv("LINLI_DATA_DIR", str(fresh))
    assert cli("restore", str(target)).exit_code == 0
    assert (fresh / "demo-secret").read_text() == "demo-abc\n"
    assert (fresh / "exports" / "report.csv").is_file()
    assert _counts(Settings().effective_database_url) == _counts(settings.effective_database_url)


def test_restore_refuses_what_is_not_a_backup(cli: Invoke, data_dir: Path, tmp_path: Path) -> None:
    stray = tmp_path / "notes.tar.gz"
    with tarfile.open(stray, "w:gz") as tar:
        readme = tmp_path / "README"
        readme.write_text("hello", "utf-8")
        tar.add(readme, arcname="README")
    result = cli("restore", str(stray))
    assert result.exit_code == 1
    assert "manifest" in result.stderr
    plain = cli("restore", str(readme))
    assert plain.exit_code == 1
    assert "not a Linli backup" in plain.stderr
    assert not (data_dir / "linli.db").exists()


def test_backup_without_a_database_is_a_one_line_error(cli: Invoke, data_dir: Path) -> None:
    result = cli("backup", "-o", str(data_dir.parent / "x.tar.gz"))
    assert result.exit_code == 1
    assert "no database" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.fixture
def postgres_urls() -> Iterator[tuple[str, str]]:
    """Two empty, uniquely named PostgreSQL databases on the test server."""
    if not POSTGRES_URL:
        pytest.skip("LINLI_TEST_POSTGRES_URL is not set")
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    names = [f"linli_cli_{secrets.token_hex(4)}" for _ in range(2)]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        base = make_url(POSTGRES_URL)
        urls = [base.set(database=n).render_as_string(hide_password=False) for n in names]
        yield urls[0], urls[1]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def test_postgres_backup_and_restore(
    cli: Invoke,
    data_dir: Path,
    postgres_urls: tuple[str, str],
    make_community: Callable[[str], str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    source, target = postgres_urls
    monkeypatch.setenv("LINLI_SECRET_KEY", secrets.token_urlsafe(48))
    monkeypatch.setenv("LINLI_DATABASE_URL", source)
    data_dir.mkdir()
    engine = make_engine(source)
    upgrade(engine)
    engine.dispose()
    configure_field_cipher(Settings().field_key())
    _small_world(cli, make_community(source), tmp_path)
    (data_dir / "uploads.txt").write_text("ok", "utf-8")
    assert _counts(source)["residents"] == 2
    archive = tmp_path / "pg.tar.gz"
    made = cli("backup", "-o", str(archive))
    assert made.exit_code == 0, made.output
    with tarfile.open(archive) as tar:
        assert "database.pgdump" in tar.getnames()

    monkeypatch.setenv("LINLI_DATABASE_URL", target)
    monkeypatch.setenv("LINLI_DATA_DIR", str(tmp_path / "pg-restored"))
    restored = cli("restore", str(archive))
    assert restored.exit_code == 0, restored.output
    assert _counts(target) == _counts(source)
    assert (tmp_path / "pg-restored" / "uploads.txt").is_file()
    assert cli("audit", "verify").exit_code == 0
    refused = cli("restore", str(archive))
    assert refused.exit_code == 1
    assert "--yes" in refused.stderr
    assert cli("restore", str(archive), "--yes").exit_code == 0
    assert _counts(target) == _counts(source)


def test_default_backups_land_in_the_data_dir_and_are_not_nested(
    cli: Invoke, settings: Settings
) -> None:
    first = cli("backup")
    second = cli("backup")
    assert first.exit_code == 0, first.output
    assert second.exit_code == 0, second.output
    made = sorted((settings.data_dir / "backups").glob("linli-backup-*.tar.gz"))
    assert len(made) == 2
    latest = Path(second.stdout.split("backup written to ", 1)[1].split(" (", 1)[0])
    assert latest in made
    with tarfile.open(latest) as tar:
        assert not any(name.startswith("data/backups") for name in tar.getnames())
