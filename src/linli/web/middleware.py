"""Per-request plumbing: request id, locale and display preferences, security headers, metrics."""

from __future__ import annotations

import time
import uuid

from prometheus_client import Counter, Histogram
from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request, cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
NO_STORE_PREFIXES = ("/me/", "/console", "/api/", "/login")
CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'none'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
STATIC_HEADERS = (
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "DENY"),
    ("content-security-policy", CSP),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(self)"),
)


def _route_label(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


def _no_store(path: str) -> bool:
    return path.startswith(NO_STORE_PREFIXES) or path == "/me"


class RequestContext:
    """Pure ASGI middleware (no extra task per request, unlike ``@app.middleware``).

    Attaches the request id, locale, elder mode, text size and the anonymous CSRF seed to the
    request state; adds security headers, ``no-store`` on personal pages and metrics; and turns
    an unexpected exception into the polite 500 answer, so that it carries the headers too.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        raw_headers = Headers(scope=scope)
        cookies = cookie_parser(raw_headers.get("cookie", ""))
        rid = (raw_headers.get("x-request-id") or uuid.uuid4().hex)[:64]
        token = request_id_var.set(rid)
        lang = cookies.get(LANG_COOKIE)
        locale = (
            lang if lang in i18n.LOCALES else i18n.negotiate(raw_headers.get("accept-language"))
        )
        i18n.set_locale(locale)
        size = cookies.get(SIZE_COOKIE, "normal")
        anon = cookies.get(ANON_CSRF_COOKIE)
        fresh_anon = not anon or len(anon) > 64
        state = scope.setdefault("state", {})
        state["elder"] = cookies.get(ELDER_COOKIE) == "1"
        state["text_size"] = size if size in TEXT_SIZES else "normal"
        state["anon_csrf"] = new_token(24) if fresh_anon else anon
        settings = scope["app"].state.settings
        path: str = scope["path"]
        method: str = scope["method"]
        started_response = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started_response
            if message["type"] == "http.response.start":
                started_response = True
                headers = MutableHeaders(scope=message)
                if fresh_anon:
                    secure = "; Secure" if settings.cookie_secure else ""
                    headers.append(
                        "set-cookie",
                        f"{ANON_CSRF_COOKIE}={state['anon_csrf']}; HttpOnly; Path=/; "
                        f"SameSite=lax{secure}",
                    )
                headers["x-request-id"] = rid
                for name, value in STATIC_HEADERS:
                    if name not in headers:
                        headers[name] = value
                if settings.cookie_secure and "strict-transport-security" not in headers:
                    headers["strict-transport-security"] = "max-age=31536000; includeSubDomains"
                if _no_store(path):
                    headers["cache-control"] = "no-store"
                if "content-language" not in headers:
                    headers["content-language"] = i18n.HTML_LANG[locale]
                route = _route_label(scope)
                REQUESTS.labels(method, route, str(message["status"])).inc()
                LATENCY.labels(method, route).observe(time.perf_counter() - started)
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            if started_response:
                raise
            response = await errors.handle_unexpected(Request(scope, receive), exc)
            await response(scope, receive, send_with_headers)
        finally:
            request_id_var.reset(token)
