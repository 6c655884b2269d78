"""Jinja2 environment: shell templates plus each domain's ``templates/`` folder, with gettext."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from linli.alarm import service as alarm_service
from linli.case import service as case_service
from linli.core import i18n
from linli.core.time import to_local
from linli.notice import service as notice_service
from linli.poll import service as poll_service
from linli.proposal import service as proposal_service
from linli.rule import service as rule_service

PACKAGE_DIR = Path(__file__).resolve().parent.parent
DOMAINS_WITH_TEMPLATES = (
    "place",
    "resident",
    "account",
    "audit",
    "device",
    "telemetry",
    "alarm",
    "notification",
    "rule",
    "notice",
    "proposal",
    "case",
    "poll",
    "environment",
    "waste",
    "points",
    "incident",
    "sharing",
    "privacy",
)


def build_environment() -> Environment:
    dirs = [PACKAGE_DIR / "web" / "templates"]
    dirs += [PACKAGE_DIR / d / "templates" for d in DOMAINS_WITH_TEMPLATES]
    env = Environment(
        loader=FileSystemLoader([str(d) for d in dirs if d.exists()]),
        autoescape=select_autoescape(["html", "xml"]),
        extensions=["jinja2.ext.i18n"],
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(  # type: ignore[attr-defined]  # added by the i18n extension
        lambda message: i18n.translations().gettext(message),
        lambda singular, plural, n: i18n.translations().ngettext(singular, plural, n),
        newstyle=True,
    )
    # Whether the navigation offers the rule pages to an actor.
    env.globals["may_view_rules"] = rule_service.may_view_any
    # Whether the navigation offers the alarm pages to an actor.
    env.globals["may_view_alarms"] = alarm_service.may_view_any
    # Whether the navigation offers the console's suggestion pages to an actor.
    env.globals["may_answer_proposals"] = proposal_service.may_answer_any
    # Whether the navigation offers the staff case queue to an actor.
    env.globals["may_work_cases"] = case_service.may_work_any
    # Whether the navigation offers the notice composer and emergency board to an actor.
    env.globals["may_manage_notices"] = notice_service.may_manage_any
    # Whether the navigation offers the poll console to an actor.
    env.globals["may_manage_polls"] = poll_service.may_manage_any
    env.filters["localtime"] = lambda value, fmt="%Y-%m-%d %H:%M": (
        to_local(value).strftime(fmt) if value else ""
    )
    return env


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
    headers: Mapping[str, str] | None = None,
) -> HTMLResponse:
    """Render a page with the shell's context (actor, locale, elder mode, CSRF token)."""
    from linli.web.deps import csrf_token_for

    env: Environment = request.app.state.templates
    ctx: dict[str, Any] = {
        "request": request,
        "actor": getattr(request.state, "actor", None),
        "locale": i18n.get_locale(),
        "html_lang": i18n.HTML_LANG[i18n.get_locale()],
        "locales": i18n.LOCALE_NAMES,
        "elder": getattr(request.state, "elder", False),
        "text_size": getattr(request.state, "text_size", "normal"),
        "csrf_token": csrf_token_for(request),
        "path": request.url.path,
        "static_version": request.app.state.static_version,
    }
    if context:
        ctx.update(context)
    html = env.get_template(template).render(ctx)
    return HTMLResponse(html, status_code=status_code, headers=headers)
