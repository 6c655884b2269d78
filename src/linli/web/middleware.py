"""Per-request plumbing: request id, locale and display preferences, security headers, metrics."""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from prometheus_client import Counter, Histogram

from linli.core import i18n
from linli.core.crypto import new_token
from linli.core.logging import request_id_var
from linli.web import errors
from linli.web.deps import ANON_CSRF_COOKIE

LANG_COOKIE = "linli_lang"
ELDER_COOKIE = "linli_elder"
SIZE_COOKIE = "linli_size"
TEXT_SIZES = ("normal", "large", "largest")
PREF_MAX_AGE = 365 * 24 * 3600

REQUESTS = Counter(
    "linli_http_requests_total", "HTTP requests handled", ["method", "route", "status"]
)
LATENCY = Histogram(
    "linli_http_request_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
)

# Pages and APIs that can show personal data must never be cached.
NO_STORE_PREFIXES = ("/me", "/console", "/api/", "/login")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)


def _route_label(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


async def request_context(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    """Attach request id, locale, elder mode and the anonymous CSRF seed; add security headers."""
    rid = request.headers.get("x-request-id") or uuid.uuid4().hex
    token = request_id_var.set(rid[:64])
    started = time.perf_counter()
    lang = request.cookies.get(LANG_COOKIE)
    locale = (
        lang if lang in i18n.LOCALES else i18n.negotiate(request.headers.get("accept-language"))
    )
    i18n.set_locale(locale)
    request.state.elder = request.cookies.get(ELDER_COOKIE) == "1"
    size = request.cookies.get(SIZE_COOKIE, "normal")
    request.state.text_size = size if size in TEXT_SIZES else "normal"
    anon = request.cookies.get(ANON_CSRF_COOKIE)
    fresh_anon = not anon or len(anon) > 64
    request.state.anon_csrf = new_token(24) if fresh_anon else anon
    try:
        response = await call_next(request)
    except Exception as exc:
        # Answer here rather than in the outermost handler, so that a 500 still carries the
        # security headers, the request id and a metrics sample.
        response = await errors.handle_unexpected(request, exc)
    finally:
        request_id_var.reset(token)
    settings = request.app.state.settings
    if fresh_anon:
        response.set_cookie(
            ANON_CSRF_COOKIE,
            request.state.anon_csrf,
            httponly=True,
            samesite="lax",
            secure=settings.cookie_secure,
            path="/",
        )
    headers = response.headers
    headers["x-request-id"] = rid[:64]
    headers.setdefault("x-content-type-options", "nosniff")
    headers.setdefault("referrer-policy", "same-origin")
    headers.setdefault("x-frame-options", "DENY")
    headers.setdefault("content-security-policy", CSP)
    headers.setdefault("permissions-policy", "camera=(), microphone=(), geolocation=(self)")
    if settings.cookie_secure:
        headers.setdefault("strict-transport-security", "max-age=31536000; includeSubDomains")
    if request.url.path.startswith(NO_STORE_PREFIXES):
        headers["cache-control"] = "no-store"
    headers.setdefault("content-language", i18n.HTML_LANG[locale])
    route = _route_label(request)
    REQUESTS.labels(request.method, route, str(response.status_code)).inc()
    LATENCY.labels(request.method, route).observe(time.perf_counter() - started)
    return response
