"""Configuration: no well-known or missing secret keys outside demo mode."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from linli.app import create_app
from linli.config import ConfigError, Settings, is_production_key
from linli.core.crypto import configure_field_cipher, field_cipher
from tests.conftest import TEST_SECRET

WEAK = [
    "",
    "changeme",
    "CHANGEME",
    "secret",
    "linli",
    "please-change-me",
    "demo-" + "x" * 40,
    "short-key",
]


@pytest.fixture(autouse=True)
def keep_field_cipher() -> Iterator[None]:
    """Tests here install other keys; put the suite's key back afterwards."""
    yield
    configure_field_cipher(Settings(secret_key=TEST_SECRET).field_key())


def settings_with(tmp_path: Path, key: str, **extra: object) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        data_dir=tmp_path,
        secret_key=key,
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize("key", WEAK)
def test_create_app_refuses_missing_or_known_keys(tmp_path: Path, key: str) -> None:
    with pytest.raises(ConfigError):
        create_app(settings_with(tmp_path, key), check_schema=False)
    assert not is_production_key(key)


def test_a_weak_key_is_refused_even_with_a_separate_data_key(tmp_path: Path) -> None:
    before = field_cipher()
    data_key = base64.urlsafe_b64encode(bytes(range(32))).decode().rstrip("=")
    with pytest.raises(ConfigError):
        create_app(settings_with(tmp_path, "changeme", data_key=data_key), check_schema=False)
    assert field_cipher() is before  # nothing was installed on the way to the refusal


def test_keys_are_read_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LINLI_SECRET_KEY", "changeme")
    monkeypatch.setenv("LINLI_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    with pytest.raises(ConfigError, match="known default"):
        create_app(Settings(), check_schema=False)
    monkeypatch.delenv("LINLI_SECRET_KEY")
    with pytest.raises(ConfigError, match="not set"):
        create_app(Settings(), check_schema=False)


def test_demo_mode_accepts_its_generated_key_but_not_none(tmp_path: Path) -> None:
    demo_key = "demo-" + "k" * 40
    app = create_app(settings_with(tmp_path, demo_key, demo_mode=True), check_schema=False)
    app.state.engine.dispose()
    with pytest.raises(ConfigError):
        create_app(settings_with(tmp_path, "", demo_mode=True), check_schema=False)


def test_data_key_must_be_32_bytes(tmp_path: Path) -> None:
    short = base64.urlsafe_b64encode(b"too short").decode()
    with pytest.raises(ConfigError, match="32 bytes"):
        create_app(settings_with(tmp_path, TEST_SECRET, data_key=short), check_schema=False)


def test_a_strong_key_is_accepted(tmp_path: Path) -> None:
    assert is_production_key(TEST_SECRET)
    app = create_app(settings_with(tmp_path, TEST_SECRET), check_schema=False)
    app.state.engine.dispose()
