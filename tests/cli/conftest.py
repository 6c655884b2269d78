"""Fixtures of the command-line tests: a clean LINLI_ environment and a migrated database."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner, Result

from linli.cli import app
from linli.config import Settings
from linli.core.crypto import configure_field_cipher
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.core.migrate import upgrade
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate

Invoke = Callable[..., Result]


def _invoke(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(app, list(args), input=stdin)


@pytest.fixture
def cli() -> Invoke:
    """Run `linli ...` in this process with the current environment: ``cli("db", "upgrade")``."""
    return _invoke


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh data directory and no other LINLI_ setting from the outside environment."""
    for name in list(os.environ):
        if name.startswith("LINLI_") and not name.startswith("LINLI_TEST_"):
            monkeypatch.delenv(name)
    path = tmp_path / "var"
    monkeypatch.setenv("LINLI_DATA_DIR", str(path))
    monkeypatch.setenv("COLUMNS", "200")  # rich tables stay on one line per row
    return path


@pytest.fixture
def settings(data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Production-like settings with a strong key; the database is migrated."""
    monkeypatch.setenv("LINLI_SECRET_KEY", secrets.token_urlsafe(48))
    data_dir.mkdir(parents=True)
    current = Settings()
    configure_field_cipher(current.field_key())
    engine = make_engine(current.effective_database_url)
    upgrade(engine)
    engine.dispose()
    return current


@pytest.fixture
def db(settings: Settings) -> Iterator[Session]:
    """A session on the migrated database; commit explicitly to make data visible."""
    engine = make_engine(settings.effective_database_url)
    session = make_sessionmaker(engine)()
    try:
        yield session
    finally:
        session.close()
        engine.dispose()


def create_community(url: str) -> str:
    """City › district › street office › community ``test-c1`` in the database at ``url``."""
    engine = make_engine(url)
    try:
        with session_scope(make_sessionmaker(engine)) as session:
            parent: int | None = None
            for kind, name, code in (
                ("city", "上海市", "test-city"),
                ("district", "测试区", "test-district"),
                ("street_office", "测试街道", "test-street"),
                ("community", "测试社区", "test-c1"),
            ):
                place = place_service.create(
                    session,
                    None,
                    PlaceCreate.model_validate(
                        {"parent_id": parent, "kind": kind, "name": name, "code": code}
                    ),
                )
                parent = place.id
    finally:
        engine.dispose()
    return "test-c1"


@pytest.fixture
def make_community() -> Callable[[str], str]:
    """Add a community (and its ancestors) to the database at a URL; returns its code."""
    return create_community


@pytest.fixture
def community(settings: Settings) -> str:
    """The community ``test-c1`` in the migrated database; returns its code."""
    return create_community(settings.effective_database_url)
