"""Liveness, readiness against the migration head, and Prometheus metrics."""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from linli.app import create_app
from linli.config import Settings
from linli.core.migrate import SchemaOutOfDate, current_revision, head_revision
from tests.conftest import TEST_SECRET, World, bearer


def test_healthz_answers_without_login(client: TestClient) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok"}


def test_readyz_is_ok_at_the_migration_head(app: FastAPI, client: TestClient) -> None:
    r = client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ok"
    assert body["schema"] == head_revision(app.state.engine)
    assert body["schema"] == current_revision(app.state.engine)


def test_readyz_is_503_when_the_schema_falls_behind(app: FastAPI, client: TestClient) -> None:
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    r = client.get("/readyz")
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "unavailable"
    assert body["schema"] == "0000"
    assert body["needed"] == head_revision(app.state.engine)
    # Liveness is unaffected: the process is up, it just must not take traffic.
    assert client.get("/healthz").status_code == 200


def test_readyz_is_503_when_the_database_is_unreachable(settings: Settings, tmp_path: Path) -> None:
    broken = settings.model_copy(
        update={"database_url": f"sqlite:///{tmp_path / 'missing' / 'nowhere.db'}"}
    )
    app = create_app(broken, check_schema=False)
    try:
        with TestClient(app, raise_server_exceptions=False) as c:
            r = c.get("/readyz")
        assert r.status_code == 503
        assert r.json()["database"] == "unreachable"
        assert "nowhere.db" not in r.text  # no paths or connection strings in the answer
    finally:
        app.state.engine.dispose()


def test_create_app_refuses_an_empty_database(tmp_path: Path) -> None:
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'empty.db'}",
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
    )
    with pytest.raises(SchemaOutOfDate, match="linli db upgrade"):
        create_app(settings)


def test_create_app_refuses_a_schema_behind_the_code(app: FastAPI, settings: Settings) -> None:
    with app.state.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '0000'"))
    with pytest.raises(SchemaOutOfDate):
        create_app(settings)


def test_metrics_in_prometheus_text_format(client: TestClient, world: World) -> None:
    alice = world.residents["alice"]
    assert (
        client.get(f"/api/v1/residents/{alice}", headers=bearer(world, "staff1")).status_code == 200
    )
    client.get("/api/v1/residents/424242/nothing-here")
    r = client.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    body = r.text
    assert "# TYPE linli_http_requests_total counter" in body
    assert "linli_http_request_seconds_bucket" in body
    # Routes are labelled by template, so ids never become label values.
    assert 'route="/api/v1/residents/{resident_id}"' in body
    assert f'/api/v1/residents/{alice}"' not in body
    assert "424242" not in body
    assert 'route="unmatched"' in body
