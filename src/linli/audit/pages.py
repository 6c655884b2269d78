"""HTML pages of the audit domain: who has seen my information, and the audit log search."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from linli.audit import service
from linli.audit.models import AuditEvent
from linli.core.actor import Actor
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, settings_of
from linli.web.shell import LABELS, N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20

# What each recorded action means, in words a resident understands.
ACTION_LABELS = {
    "auth.login": N_("Logged in"),
    "auth.logout": N_("Logged out"),
    "auth.logout_everywhere": N_("Logged out everywhere"),
    "auth.login_failed": N_("A login failed"),
    "auth.login_throttled": N_("Logins were paused after too many failures"),
    "account.created": N_("Created a login"),
    "account.password_changed": N_("Changed a password"),
    "account.enabled": N_("Enabled a login"),
    "account.disabled": N_("Disabled a login"),
    "role.granted": N_("Granted a role"),
    "role.revoked": N_("Took back a role"),
    "apikey.created": N_("Created an API key"),
    "apikey.revoked": N_("Revoked an API key"),
    "resident.created": N_("Registered the resident"),
    "resident.viewed": N_("Looked at the record (details partly hidden)"),
    "resident.sensitive_read": N_("Saw personal details in full"),
    "resident.updated": N_("Changed the details"),
    "assist.started": N_("Started acting for the resident, in person"),
    "assist.ended": N_("Stopped acting for the resident"),
    "permission.denied": N_("Was refused"),
    "ratelimit.refused": N_("Was stopped for trying too often"),
    "subject.exported": N_("Downloaded a copy of the data"),
    "subject.link_created": N_("Made a one-time download link for an organisation"),
    "subject.link_downloaded": N_("The organisation downloaded the data"),
    "subject.link_revoked": N_("Revoked a download link"),
    "subject.correction_requested": N_("Asked for a correction"),
    "subject.correction_approved": N_("Approved a correction"),
    "subject.request_refused": N_("Refused a request"),
    "resident.corrected": N_("Corrected the details"),
    "subject.erased": N_("Deleted the personal data"),
}

# Filters of the audit search: action prefixes with a label.
ACTION_FILTERS = (
    ("auth.", N_("Logins and logouts")),
    ("resident.", N_("Resident records")),
    ("resident.sensitive_read", N_("Personal details shown in full")),
    ("assist.", N_("Assisted mode")),
    ("account.", N_("Accounts")),
    ("role.", N_("Roles")),
    ("apikey.", N_("API keys")),
    ("permission.denied", N_("Refused actions")),
)


def action_label(action: str) -> str:
    """The translated meaning of an audit action, or the action itself if unknown."""
    label = ACTION_LABELS.get(action)
    return _(label) if label else action


def fields_label(fields: str) -> str:
    """``phone,id_number`` as translated words."""
    names = [f for f in fields.split(",") if f]
    return _(", ").join(_(LABELS["field"][f]) if f in LABELS["field"] else f for f in names)


def _who(event: AuditEvent, actor: Actor) -> str:
    if event.actor_account_id is not None and event.actor_account_id == actor.account_id:
        return _("You") if not actor.is_assisting else event.actor_username
    if event.actor_account_id is None and event.actor_username in ("", "system"):
        return _("The system")
    return event.actor_username


@router.get("/me/data")
def my_data(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """谁看过我的信息: every recorded look at or change of my information."""
    params = PageParams(page=page, size=PAGE_SIZE)
    events, total = service.accesses_to_me(db, actor, params=params)
    rows: list[dict[str, Any]] = [
        {
            "at": e.at,
            "who": _who(e, actor),
            "what": action_label(e.action),
            "fields": fields_label(e.fields),
            "reason": e.reason,
            "refused": e.outcome != "ok",
            "assisted": e.on_behalf_of_resident_id is not None,
        }
        for e in events
    ]
    return view(
        request,
        "audit/my_data.html",
        {"rows": rows, "pager": shell.pager(request, params, total)},
    )


def _day_start(day: dt.date, tz: str) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=ZoneInfo(tz))


@router.get("/console/audit")
def audit_search(
    request: Request,
    db: Db,
    actor: LoggedIn,
    action: Annotated[str, Query(max_length=64)] = "",
    username: Annotated[str, Query(max_length=64)] = "",
    since: Annotated[str, Query(max_length=10)] = "",
    until: Annotated[str, Query(max_length=10)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Search the audit log by action, username and dates (auditors and administrators)."""
    shell.require_any(
        actor, shell.AUDIT_ROLES, "only auditors and administrators can search the audit log"
    )
    tz = settings_of(request).timezone
    errors: dict[str, str] = {}
    known_actions = {prefix for prefix, _label in ACTION_FILTERS}
    if action and action not in known_actions:
        errors["action"] = _("Choose a kind of event from the list.")
    since_at = until_at = None
    try:
        day = shell.parse_day(since)
        since_at = _day_start(day, tz) if day else None
    except ValueError:
        errors["since"] = _("Enter a date like 2026-03-01.")
    try:
        day = shell.parse_day(until)
        until_at = _day_start(day + dt.timedelta(days=1), tz) if day else None
    except ValueError:
        errors["until"] = _("Enter a date like 2026-03-31.")
    params = PageParams(page=page, size=PAGE_SIZE)
    events: list[AuditEvent] = []
    total = 0
    if not errors:
        events, total = service.search(
            db,
            actor,
            params=params,
            action=action or None,
            actor_username=username.strip().lower() or None,
            since=since_at,
            until=until_at,
        )
    rows = [
        {
            "event": e,
            "what": action_label(e.action),
            "fields": fields_label(e.fields),
        }
        for e in events
    ]
    return view(
        request,
        "audit/search.html",
        {
            "rows": rows,
            "pager": shell.pager(request, params, total),
            "filters": [(prefix, _(label)) for prefix, label in ACTION_FILTERS],
            "action": action,
            "username": username,
            "since": since,
            "until": until,
            "errors": errors,
        },
        status_code=422 if errors else 200,
    )
