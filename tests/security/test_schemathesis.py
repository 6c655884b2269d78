"""Schemathesis over the whole JSON API, in process (ASGI), as community staff of c1 (API key)
against the seeded SQLite world: valid data never gives a 5xx and the answers match the declared
status codes and schemas; invalid data is refused with a 4xx.

Every operation gets a few examples of each kind, derandomized (the same examples every run), so
the run is repeatable and short. The failures of all operations are collected and reported
together.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.generation import GenerationMode
from schemathesis.specs.openapi.checks import (
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import World, bearer

pytestmark = [
    pytest.mark.parametrize("database", ["sqlite"], indirect=True),
]

EXAMPLES = 4
# Server-sent event streams never end; device ingestion and the recipients' feeds take their own
# tokens (fuzzed in tests/fuzz and tested in tests/core/test_http_security.py); the SensorThings
# catch-all path is fuzzed by tests/fuzz/test_fuzz_sta.py with meaningful queries.
EXCLUDED = (
    "/stream",
    "/telemetry",
    "/sharing/feeds/",
    "/sta/v1.1/{path}",
)

POSITIVE_CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
NEGATIVE_CHECKS = [not_a_server_error, negative_data_rejection]


def run_operation(operation: Any, mode: GenerationMode, headers: dict[str, str]) -> list[str]:
    checks = POSITIVE_CHECKS if mode is GenerationMode.POSITIVE else NEGATIVE_CHECKS
    found: list[str] = []

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def probe(case: Any) -> None:
        response = case.call(headers=headers)
        try:
            case.validate_response(response, checks=checks)
        # FailureGroup is a BaseExceptionGroup, not an Exception: name it so it is collected.
        except (Exception, FailureGroup) as exc:
            found.append(f"{operation.label} [{mode.value}] {str(exc)[:600]}")

    try:
        probe()
    except Unsatisfiable:
        # An operation without parameters or body (GET /api/v1/me, ...) has no invalid input to
        # send; the positive examples cover it.
        assert mode is GenerationMode.NEGATIVE, operation.label
    except Exception as exc:
        found.append(f"{operation.label} [{mode.value}] could not generate: {str(exc)[:300]}")
    return found


def test_schemathesis_over_the_api(app: FastAPI, world: World, seeded: dict[str, object]) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    headers = bearer(world, "staff1")
    failures: list[str] = []
    ran = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if any(part in operation.path for part in EXCLUDED):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            failures += run_operation(operation, mode, headers)
        ran += 1
    assert ran >= 150, ran
    assert not failures, f"{len(failures)} failures:\n" + "\n\n".join(failures)
