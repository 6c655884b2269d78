"""Errors as problem details, a generic 500, and the security headers on every kind of answer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from linli.app import create_app
from linli.config import Settings
from tests.conftest import World, bearer

SECRET_DETAIL = "secret-internal-detail /srv/linli/src/linli/db.py password=hunter2"


def assert_problem(response: object, status: int) -> dict[str, object]:
    from httpx import Response

    assert isinstance(response, Response)
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body = response.json()
    assert isinstance(body, dict)
    for key in ("type", "title", "status", "detail"):
        assert key in body, key
        assert body[key], key
    assert body["status"] == status
    assert isinstance(body["title"], str)
    assert isinstance(body["detail"], str)
    return body


def test_problem_details_for_401_403_404_422(client: TestClient, world: World) -> None:
    body = assert_problem(client.get("/api/v1/me"), 401)
    assert body["type"] == "https://linli.invalid/problems/not_authenticated"
    assert body["instance"] == "/api/v1/me"
    body = assert_problem(client.get("/api/v1/audit/events", headers=bearer(world, "alice")), 403)
    assert str(body["type"]).endswith("/permission_denied")
    body = assert_problem(
        client.get("/api/v1/residents/424242", headers=bearer(world, "staff1")), 404
    )
    assert str(body["type"]).endswith("/not_found")
    assert_problem(client.get("/api/v1/no-such-thing", headers=bearer(world, "staff1")), 404)
    r = client.post(
        "/api/v1/residents",
        json={"household_id": world.households["h1"], "name": "王五", "phone": "13812345678999x"},
        headers=bearer(world, "staff1"),
    )
    body = assert_problem(r, 422)
    assert str(body["type"]).endswith("/validation_failed")
    errors = body["errors"]
    assert isinstance(errors, list)
    assert errors
    assert errors[0]["loc"] == ["body", "phone"]
    assert "13812345678999x" not in r.text  # the rejected value is not echoed back
    body = assert_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer nope"}), 401)


def test_english_titles_follow_the_language(client: TestClient) -> None:
    r = client.get("/api/v1/me", headers={"Accept-Language": "en"})
    assert r.json()["title"] == "Please log in"
    r = client.get("/api/v1/me", headers={"Accept-Language": "zh-CN"})
    assert r.json()["title"] != "Please log in"


@pytest.fixture
def exploding_app(settings: Settings) -> Iterator[FastAPI]:
    app = create_app(settings)

    def api_boom() -> None:
        raise RuntimeError(SECRET_DETAIL)

    def page_boom() -> None:
        raise KeyError(SECRET_DETAIL)

    app.add_api_route("/api/v1/test-boom", api_boom)
    app.add_api_route("/console/test-boom", page_boom)
    yield app
    app.state.engine.dispose()


def test_unexpected_error_gives_a_generic_500(
    exploding_app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    with TestClient(exploding_app, raise_server_exceptions=False) as c:
        r = c.get("/api/v1/test-boom", headers={"x-request-id": "req-500-test"})
        body = assert_problem(r, 500)
        assert str(body["type"]).endswith("/internal_error")
        page = c.get("/console/test-boom")
    for response in (r, page):
        assert response.status_code == 500
        for leak in (SECRET_DETAIL, "hunter2", "Traceback", "RuntimeError", "KeyError", ".py"):
            assert leak not in response.text
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["cache-control"] == "no-store"
    assert page.headers["content-type"].startswith("text/html")
    assert r.headers["x-request-id"] == "req-500-test"
    # The details go to the log instead, with the request id.
    logged = [rec for rec in caplog.records if rec.name == "linli.errors"]
    assert logged
    assert logged[0].exc_info is not None


PATHS = ["/", "/login", "/healthz", "/api/v1/me", "/api/v1/residents", "/me", "/console", "/nope"]


def test_security_headers_on_every_kind_of_response(client: TestClient, world: World) -> None:
    for headers in ({}, bearer(world, "staff1")):
        for path in PATHS:
            r = client.get(path, headers=headers, follow_redirects=False)
            csp = r.headers.get("content-security-policy", "")
            assert "frame-ancestors 'none'" in csp, path
            assert "default-src 'self'" in csp, path
            assert r.headers.get("x-content-type-options") == "nosniff", path
            assert r.headers.get("referrer-policy") in ("same-origin", "no-referrer"), path
            assert r.headers.get("x-frame-options") == "DENY", path
            assert r.headers.get("x-request-id"), path
            if path.startswith(("/me", "/console", "/api/")):
                assert r.headers.get("cache-control") == "no-store", (path, r.status_code)
    # Plain HTTP deployments do not send HSTS (browsers ignore it there anyway).
    assert "strict-transport-security" not in client.get("/").headers


def test_personal_data_responses_are_never_cached(client: TestClient, world: World) -> None:
    alice = world.residents["alice"]
    staff1 = bearer(world, "staff1")
    for r in (
        client.get(f"/api/v1/residents/{alice}", headers=staff1),
        client.post(
            f"/api/v1/residents/{alice}/reveal",
            json={"fields": ["phone"], "reason": "回访"},
            headers=staff1,
        ),
        client.get("/api/v1/me/access-log", headers=bearer(world, "alice")),
        client.get("/api/v1/households", headers=staff1),
    ):
        assert r.status_code == 200
        assert r.headers["cache-control"] == "no-store"
