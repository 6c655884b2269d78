"""Errors as RFC 9457 problem details for programs and friendly pages for people."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from linli.core.errors import LinliError, NotAuthenticated
from linli.core.i18n import gettext as _
from linli.web.templating import render

log = logging.getLogger("linli.errors")

MACHINE_PREFIXES = (
    "/api/",
    "/sta/",
    "/open311/",
    "/cap/",
    "/sharing/feeds/",
    "/metrics",
    "/healthz",
    "/readyz",
)
HTTP_TITLES = {
    400: "Bad request",
    401: "Please log in",
    403: "Not allowed",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Too large",
    415: "Unsupported media type",
    422: "Check your input",
    429: "Too many attempts",
    500: "Something went wrong",
    503: "Temporarily unavailable",
}


def wants_json(request: Request) -> bool:
    return request.url.path.startswith(MACHINE_PREFIXES)


def problem(
    request: Request,
    status: int,
    detail: str,
    *,
    code: str = "",
    extra: dict[str, object] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body: dict[str, object] = {
        "type": f"https://linli.invalid/problems/{code}" if code else "about:blank",
        "title": _(HTTP_TITLES.get(status, "Error")),
        "status": status,
        "detail": detail,
        "instance": request.url.path,
    }
    if extra:
        body.update(extra)
    return JSONResponse(
        body, status_code=status, media_type="application/problem+json", headers=headers
    )


def error_page(
    request: Request, status: int, message: str, headers: Mapping[str, str] | None = None
) -> Response:
    return render(
        request,
        "error.html",
        {"status": status, "title": _(HTTP_TITLES.get(status, "Error")), "message": message},
        status_code=status,
        headers=headers,
    )


async def handle_linli_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LinliError)
    headers: dict[str, str] = {}
    retry = exc.detail.get("retry_after")
    if retry is not None:
        headers["retry-after"] = str(retry)
    message = _(exc.message)
    if wants_json(request):
        return problem(
            request, exc.status_code, message, code=exc.code, extra=exc.detail, headers=headers
        )
    if isinstance(exc, NotAuthenticated) and request.method == "GET":
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)
    return error_page(request, exc.status_code, message, headers)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {
            "loc": [str(p) for p in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": e.get("type", ""),
        }
        for e in exc.errors()
    ]
    if wants_json(request):
        return problem(
            request,
            422,
            _("the request is not valid"),
            code="validation_failed",
            extra={"errors": errors},
        )
    return error_page(
        request, 422, _("Some answers are missing or not valid; go back and check them.")
    )


async def handle_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    message = _(HTTP_TITLES.get(exc.status_code, "Error"))
    if wants_json(request):
        return problem(request, exc.status_code, str(exc.detail), headers=exc.headers)
    return error_page(request, exc.status_code, message, exc.headers)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    message = _("Something went wrong on our side. It has been logged; please try again later.")
    if wants_json(request):
        return problem(request, 500, message, code="internal_error")
    try:
        return error_page(request, 500, message)
    except Exception:  # the page shell itself failed; answer in plain text
        return Response(message, status_code=500, media_type="text/plain; charset=utf-8")


# The refusals every JSON operation can answer with, whatever the route: a bad or missing
# credential, a permission check, an object that is not there (or not the caller's to see), a
# state conflict, invalid input and the rate limits. They are declared once here so the schema
# tells clients (and the schema conformance tests) what the handlers above really send.
PROBLEM_STATUSES = (400, 401, 403, 404, 409, 422, 429)
PROBLEM_SCHEMA: dict[str, object] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "required": ["type", "title", "status", "detail", "instance"],
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string"},
    },
}


def _document_problems(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """app.openapi with the shared problem answers added to every operation."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        ref = {"$ref": "#/components/schemas/Problem"}
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                responses = operation.setdefault("responses", {})
                for status in PROBLEM_STATUSES:
                    declared = responses.get(str(status), {})
                    # FastAPI's default 422 names its own body; the handler sends a problem.
                    if "HTTPValidationError" in str(declared) or not declared:
                        responses[str(status)] = {
                            "description": HTTP_TITLES[status],
                            "content": {"application/problem+json": {"schema": ref}},
                        }
        app.openapi_schema = schema
        return schema

    return openapi


def install(app: FastAPI) -> None:
    app.openapi = _document_problems(app)  # type: ignore[method-assign]  # FastAPI's hook
    app.add_exception_handler(LinliError, handle_linli_error)
    app.add_exception_handler(RequestValidationError, handle_validation_error)
    app.add_exception_handler(StarletteHTTPException, handle_http_error)
    app.add_exception_handler(Exception, handle_unexpected)
