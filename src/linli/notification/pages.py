"""Notification pages: a person's messages and preferences, the live bell (server-sent events),
and the staff console of the outbox and endpoints."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.events import Event, hub
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.notification import service
from linli.notification.schemas import EndpointCreate, EndpointUpdate, PreferencesUpdate
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20
# A comment line every so often keeps proxies from closing a quiet stream and notices a
# client that has gone away.
HEARTBEAT_SECONDS = 15.0
# Streams end after a while; the browser reconnects by itself (and lands on any worker).
MAX_STREAM_SECONDS = 30 * 60.0
SEVERITIES = ("critical", "major", "minor", "warning")
SEVERITY_LABELS = {
    "critical": N_("Critical"),
    "major": N_("Major"),
    "minor": N_("Minor"),
    "warning": N_("Warning"),
}
CHANNEL_LABELS = {
    "inapp": N_("In the app"),
    "email": N_("E-mail"),
    "webhook": N_("Webhook"),
    "sms": N_("SMS"),
    "wecom": N_("WeCom group robot"),
    "dingtalk": N_("DingTalk group robot"),
}
STATUS_LABELS = {
    "pending": N_("Waiting to be sent"),
    "sent": N_("Sent"),
    "dead": N_("Failed for good"),
    "suppressed": N_("Not sent (daily limit)"),
}


def _labels() -> dict[str, dict[str, str]]:
    return {
        "severity": {k: _(v) for k, v in SEVERITY_LABELS.items()},
        "channel": {k: _(v) for k, v in CHANNEL_LABELS.items()},
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
    }


# --- a person's messages ----------------------------------------------------------------------


def _inbox_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    params = PageParams(page=page, size=PAGE_SIZE)
    items, total = service.inbox(db, actor, params=params)
    prefs = service.get_preferences(db, actor)
    values = form or {
        "email": prefs.email or "",
        "email_enabled": prefs.email_enabled,
        "quiet_start": prefs.quiet_start,
        "quiet_end": prefs.quiet_end,
        "min_severity": prefs.min_severity,
        "daily_cap": str(prefs.daily_cap),
    }
    return view(
        request,
        "notification/inbox.html",
        {
            "items": items,
            "unread": service.unread_count(db, actor),
            "pager": shell.pager(request, params, total),
            "page": page,
            "form": values,
            "errors": errors or {},
            "done": done,
            "nlabels": _labels(),
            "severities": [(s, _(SEVERITY_LABELS[s])) for s in reversed(SEVERITIES)],
            # The header's language and elder switches come back here, not to the form's URL.
            "next_path": "/me/notifications",
        },
        status_code=status_code,
    )


@router.get("/me/notifications")
def inbox(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The person's messages, newest first, and how they want to be told."""
    return _inbox_page(request, db, actor, page=page, done=done)


@router.post("/me/notifications/read-all")
def read_all(db: Db, actor: LoggedIn) -> Response:
    service.mark_all_read(db, actor)
    db.commit()
    return RedirectResponse("/me/notifications?done=read", status_code=303)


@router.post("/me/notifications/{notification_id}/read")
def read_one(
    db: Db,
    actor: LoggedIn,
    notification_id: PathId,
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> Response:
    service.mark_read(db, actor, notification_id)
    db.commit()
    return RedirectResponse(f"/me/notifications?page={page}#n-{notification_id}", status_code=303)


@router.post("/me/notifications/preferences")
def save_preferences(
    request: Request,
    db: Db,
    actor: LoggedIn,
    email: Annotated[str, Form(max_length=400)] = "",
    email_enabled: Annotated[str, Form(max_length=4)] = "",
    quiet_start: Annotated[str, Form(max_length=16)] = "",
    quiet_end: Annotated[str, Form(max_length=16)] = "",
    min_severity: Annotated[str, Form(max_length=16)] = "warning",
    daily_cap: Annotated[str, Form(max_length=8)] = "20",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Save the preferences form; a mistake comes back with a message at the field. A new
    e-mail address needs the password again (A13)."""
    form = {
        "email": email,
        "email_enabled": email_enabled == "1",
        "quiet_start": quiet_start,
        "quiet_end": quiet_end,
        "min_severity": min_severity,
        "daily_cap": daily_cap,
    }
    messages = {
        "email": _("Enter an e-mail address such as name@example.com, or leave it empty."),
        "quiet_start": _("Enter a time such as 22:00."),
        "quiet_end": _("Enter a time such as 07:00."),
        "min_severity": _("Choose one of the levels in the list."),
        "daily_cap": _("Enter a number from 0 to 1000."),
        "": _("Give both the start and the end of the quiet hours, or neither."),
    }
    try:
        data = PreferencesUpdate.model_validate(
            {
                "email": email.strip(),
                "email_enabled": email_enabled == "1",
                "quiet_start": quiet_start.strip()[:5],
                "quiet_end": quiet_end.strip()[:5],
                "min_severity": min_severity,
                "daily_cap": daily_cap.strip() or "0",
                "current_password": password,
            }
        )
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        return _inbox_page(request, db, actor, form=form, errors=errors, status_code=422)
    try:
        service.update_preferences(db, actor, data)
    except PermissionDenied as exc:
        db.commit()  # keep the audit row of the failed re-check; nothing else has changed
        if password:
            missed = _("That is not your password. Enter the password you log in with.")
        else:
            missed = _("Enter your password to change the e-mail address.")
        errors = {"password": missed}
        return _inbox_page(
            request, db, actor, form=form, errors=errors, status_code=exc.status_code
        )
    db.commit()
    return RedirectResponse("/me/notifications?done=saved#preferences", status_code=303)


# --- the bell ---------------------------------------------------------------------------------


def _sse(event: str, data: dict[str, Any]) -> bytes:
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _count_and_release(db: Session, actor: Actor) -> int:
    try:
        return service.unread_count(db, actor)
    finally:
        db.close()  # a stream lasts long: do not hold a database connection meanwhile


async def _events(db: Session, actor: Actor) -> AsyncIterator[bytes]:
    topic = service.INBOX_TOPIC.format(actor.account_id)
    ends = time.monotonic() + MAX_STREAM_SECONDS
    async with hub.subscribe(topic) as queue:
        # Subscribed before counting: nothing that commits from now on is missed.
        unread = await run_in_threadpool(_count_and_release, db, actor)
        yield b"retry: 5000\n" + _sse("count", {"unread": unread})
        while time.monotonic() < ends:
            try:
                async with asyncio.timeout(HEARTBEAT_SECONDS):
                    item: Event = await queue.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            yield _sse("count", {**item.data, "gap": item.gap})


@router.get("/me/notifications/stream")
async def stream(db: Db, actor: LoggedIn) -> Response:
    """Server-sent events: the unread count now, then after every change to the inbox."""
    return StreamingResponse(
        _events(db, actor),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


# --- the console ------------------------------------------------------------------------------


def _require_view(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_view_outbox(actor):
        raise PermissionDenied("your role cannot see the notification outbox")


def _console_page(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    status: str = "dead",
    page: int = 1,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status_code: int = 200,
) -> Response:
    params = PageParams(page=page, size=PAGE_SIZE)
    outbox = service.outbox(db, actor, params=params, status=status or None)
    counts: dict[str, dict[str, int]] = {}
    for c in outbox.counts:
        counts.setdefault(c.channel, {})[c.status] = c.count
    return view(
        request,
        "notification/console.html",
        {
            "outbox": outbox,
            "counts": counts,
            "status": status,
            "pager": shell.pager(request, params, outbox.total),
            "endpoints": service.list_endpoints(db, actor),
            "can_manage": service.may_manage_endpoints(actor),
            "places": service.manageable_places(db, actor),
            "form": form or {},
            "errors": errors or {},
            "done": done,
            "nlabels": _labels(),
            "severities": [(s, _(SEVERITY_LABELS[s])) for s in SEVERITIES],
            "endpoint_channels": ("webhook", "wecom", "dingtalk", "sms"),
            "next_path": f"/console/notifications?status={status}",
        },
        status_code=status_code,
    )


@router.get("/console/notifications")
def console(
    request: Request,
    db: Db,
    actor: LoggedIn,
    status: Annotated[str, Query(pattern="^(|pending|sent|dead)$")] = "dead",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """Outbox counts, messages to endpoints (the dead letters first) and the endpoints."""
    _require_view(actor)
    return _console_page(request, db, actor, status=status, page=page, done=done)


@router.post("/console/notifications/{notification_id}/retry")
def console_retry(db: Db, actor: LoggedIn, notification_id: PathId) -> Response:
    _require_view(actor)
    limits.enforce(db, actor, ratelimit.NOTIFICATION_RETRY_ACCOUNT)
    service.retry(db, actor, notification_id)
    db.commit()
    return RedirectResponse("/console/notifications?done=retried", status_code=303)


@router.post("/console/notifications/endpoints")
def console_add_endpoint(
    request: Request,
    db: Db,
    actor: LoggedIn,
    channel: Annotated[str, Form(max_length=16)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    url: Annotated[str, Form(max_length=1000)] = "",
    secret: Annotated[str, Form(max_length=400)] = "",
    recipients: Annotated[str, Form(max_length=1000)] = "",
    min_severity: Annotated[str, Form(max_length=16)] = "minor",
) -> Response:
    """Add an endpoint from the form of its channel."""
    _require_view(actor)
    form = {
        "channel": channel,
        "place_id": place_id,
        "name": name,
        "url": url,
        "recipients": recipients,
        "min_severity": min_severity,
    }
    messages = {
        "place_id": _("Choose the place whose alarms go here."),
        "name": _("Enter a name, for example Duty room robot."),
        "url": _("Enter the address, starting with https:// or http://."),
        "secret": _("Check the secret: no spaces, at most 200 characters."),
        "recipients": _("Enter phone numbers separated by commas, for example 13800001111."),
        "min_severity": _("Choose one of the levels in the list."),
        "": _(
            "Check the form: a webhook needs a secret of at least 16 characters, an SMS "
            "gateway its token and at least one phone number."
        ),
    }
    numbers = [n for n in recipients.replace("，", ",").replace("\n", ",").split(",") if n.strip()]
    try:
        data = EndpointCreate.model_validate(
            {
                "channel": channel,
                "place_id": place_id or None,
                "name": name.strip(),
                "url": url.strip(),
                "secret": secret.strip() or None,
                "recipients": numbers or None,
                "min_severity": min_severity,
            }
        )
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        errors["channel"] = channel
        return _console_page(request, db, actor, form=form, errors=errors, status_code=422)
    try:
        service.create_endpoint(db, actor, data)
    except LinliError as exc:
        errors = {"channel": channel, "place_id": _(exc.message)}
        return _console_page(
            request, db, actor, form=form, errors=errors, status_code=exc.status_code
        )
    db.commit()
    return RedirectResponse("/console/notifications?done=added#endpoints", status_code=303)


@router.post("/console/notifications/endpoints/{endpoint_id}/enabled")
def console_toggle_endpoint(
    db: Db,
    actor: LoggedIn,
    endpoint_id: PathId,
    enabled: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Switch an endpoint on or off."""
    _require_view(actor)
    service.update_endpoint(db, actor, endpoint_id, EndpointUpdate(enabled=enabled == "1"))
    db.commit()
    return RedirectResponse("/console/notifications?done=changed#endpoints", status_code=303)


@router.post("/console/notifications/endpoints/{endpoint_id}/delete")
def console_delete_endpoint(db: Db, actor: LoggedIn, endpoint_id: PathId) -> Response:
    _require_view(actor)
    service.delete_endpoint(db, actor, endpoint_id)
    db.commit()
    return RedirectResponse("/console/notifications?done=removed#endpoints", status_code=303)
