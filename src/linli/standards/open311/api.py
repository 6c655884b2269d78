"""Open311 GeoReport v2 at ``/open311/v2`` over the case domain, in JSON and XML.

Reading needs no login and shows only public cases, never who reported them nor their exact
location. Posting a request needs ``api_key``: a Linli API key of a resident account; the case
is filed as that resident, at their building. Errors use the spec's format (a list of
``code``/``description``) with the HTTP status. FixMyStreet's ``servicerequestupdates``
extension lists the public history of public cases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from linli.account import service as account_service
from linli.case import service as case_service
from linli.case.schemas import CaseCreate, CategoryRead
from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.errors import LinliError
from linli.core.time import utc_now
from linli.standards.open311 import render
from linli.web import ratelimit as limits
from linli.web.deps import Db, client_ip, settings_of

PREFIX = "/open311/v2"
SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
CHANGESET = "2026-11-29T00:00:00+00:00"
CLOSED = ("resolved", "closed", "referred", "duplicate")
OPEN = ("submitted", "triaged", "assigned", "in_progress")
DEFAULT_DAYS = 90
MAX_PAGE_SIZE = 200
DETAIL_ATTRIBUTE = "location_detail"
EARLIEST = dt.datetime(1900, 1, 1, tzinfo=dt.UTC)
LATEST = dt.datetime(9000, 1, 1, tzinfo=dt.UTC)

router = APIRouter(tags=["open311"])


class Open311Error(Exception):
    """A refusal answered in the spec's error format."""

    def __init__(self, status: int, description: str) -> None:
        super().__init__(description)
        self.status = status
        self.description = description


def _format(fmt: str) -> str:
    if fmt not in render.FORMATS:
        raise Open311Error(404, "format must be json or xml")
    return fmt


def _when(value: dt.datetime | None) -> str | None:
    return value.replace(microsecond=0).isoformat() if value is not None else None


def _parse_date(name: str, raw: str | None) -> dt.datetime | None:
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.strip().replace(" ", "+"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        # Year 1 or 9999 overflowed in UTC or 90 days away from it (found by tests/fuzz).
        value = value.astimezone(dt.UTC)
    except (ValueError, OverflowError) as exc:
        raise Open311Error(400, f"{name} must be an ISO 8601 date-time") from exc
    if not EARLIEST <= value <= LATEST:
        raise Open311Error(400, f"{name} must be between the years 1900 and 9000")
    return value


def _int(name: str, raw: str | None, default: int, low: int, high: int) -> int:
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise Open311Error(400, f"{name} must be a whole number") from exc
    if not low <= value <= high:
        raise Open311Error(400, f"{name} must be between {low} and {high}")
    return value


def _list(raw: str | None) -> list[str] | None:
    if raw is None or not raw.strip():
        return None
    return [p.strip() for p in raw.split(",") if p.strip()]


# --- documents ------------------------------------------------------------------------------


def status_of(status: str) -> str:
    """The base spec's status of a case status."""
    return "closed" if status in CLOSED else "open"


def status_notes(case: case_service.PublicCase) -> str:
    """What the status means, honestly: a referral or a duplicate is not a fix."""
    if case.status == "referred":
        return (
            f"Not handled by the community: referred to {case.referred_to or 'another body'}. "
            "The problem has not been fixed by Linli."
        )
    if case.status == "duplicate":
        target = f" {case.duplicate_of_ref}" if case.duplicate_of_ref else " another request"
        return f"Duplicate of{target}; followed there."
    if case.status == "resolved":
        return "Resolved by the team; the reporter may still reopen it."
    if case.status == "closed":
        return "Closed."
    return f"Open ({case.status.replace('_', ' ')})."


def _service(c: CategoryRead) -> dict[str, Any]:
    if c.sla_hours:
        due = f"{c.sla_hours} working hours"
    elif c.sla_days:
        due = f"{c.sla_days} working days"
    else:
        due = "no fixed deadline"
    return {
        "service_code": c.code,
        "service_name": c.name_en,
        "description": f"{c.name_en} ({c.name_zh}). Handled by {c.team.replace('_', ' ')}; {due}.",
        "metadata": True,
        "type": "realtime",
        "keywords": ", ".join([c.code, c.team]),
        "group": c.team,
    }


def _definition(c: CategoryRead) -> dict[str, Any]:
    return {
        "service_code": c.code,
        "attributes": [
            {
                "variable": True,
                "code": DETAIL_ATTRIBUTE,
                "datatype": "text",
                "required": False,
                "datatype_description": "Free text",
                "order": 1,
                "description": "Where exactly (floor, door, landmark)?",
            }
        ],
    }


def _request(case: case_service.PublicCase) -> dict[str, Any]:
    return {
        "service_request_id": case.ref,
        "status": status_of(case.status),
        "status_notes": status_notes(case),
        "service_name": case.category_name,
        "service_code": case.category_code,
        "description": case.description,
        "agency_responsible": case.team.replace("_", " "),
        "requested_datetime": _when(case.created_at),
        "updated_datetime": _when(case.updated_at),
        "expected_datetime": _when(case.due_at),
        "address": case.address or None,
    }


def _category(db: Session, code: str) -> CategoryRead:
    for c in case_service.categories(db):
        if c.code == code:
            return c
    raise Open311Error(404, f"unknown service_code {code}")


def _answer(fmt: str, build: Any) -> Response:
    try:
        root, value, status = build(_format(fmt))
    except Open311Error as exc:
        return render.errors(fmt if fmt in render.FORMATS else "json", exc.status, exc.description)
    return render.document(fmt, root, value, status)


# --- routes ---------------------------------------------------------------------------------


@router.get(PREFIX + "/discovery.{fmt}", response_class=Response)
def discovery(request: Request, fmt: str) -> Response:
    """Where the endpoint is, which version and which formats."""
    base = str(request.base_url).rstrip("/") + PREFIX
    return _answer(
        fmt,
        lambda _f: (
            "discovery",
            {
                "changeset": CHANGESET,
                "contact": "Your community service centre",
                "key_service": "Ask community staff for a Linli API key (a resident account).",
                "endpoints": [
                    {
                        "specification": SPECIFICATION,
                        "url": base,
                        "changeset": CHANGESET,
                        "type": "production",
                        "formats": [render.JSON_MEDIA_TYPE, render.XML_MEDIA_TYPE],
                    }
                ],
            },
            200,
        ),
    )


@router.get(PREFIX + "/services.{fmt}", response_class=Response)
def services(db: Db, fmt: str) -> Response:
    """The case categories one can report."""
    return _answer(
        fmt, lambda _f: ("services", [_service(c) for c in case_service.categories(db)], 200)
    )


@router.get(PREFIX + "/services/{service_code}.{fmt}", response_class=Response)
def service_definition(db: Db, service_code: str, fmt: str) -> Response:
    """A category's attributes."""
    return _answer(
        fmt, lambda _f: ("service_definition", _definition(_category(db, service_code)), 200)
    )


@router.get(PREFIX + "/requests.{fmt}", response_class=Response)
def requests_list(request: Request, db: Db, fmt: str) -> Response:
    """Public cases, newest first; ``service_request_id`` overrides the other filters."""
    q = request.query_params

    def build(_f: str) -> tuple[str, list[dict[str, Any]], int]:
        page = _int("page", q.get("page"), 1, 1, 100_000)
        size = _int("page_size", q.get("page_size"), 50, 1, MAX_PAGE_SIZE)
        refs = _list(q.get("service_request_id"))
        if refs is not None:
            rows, _total = case_service.public_cases(db, refs=refs[:MAX_PAGE_SIZE], limit=size)
            return "service_requests", [_request(c) for c in rows], 200
        start = _parse_date("start_date", q.get("start_date"))
        end = _parse_date("end_date", q.get("end_date"))
        if start is None and end is None:
            start = utc_now() - dt.timedelta(days=DEFAULT_DAYS)
        statuses: tuple[str, ...] | None = None
        wanted = _list(q.get("status"))
        if wanted is not None:
            if not set(wanted) <= {"open", "closed"}:
                raise Open311Error(400, "status must be open or closed")
            statuses = (OPEN if "open" in wanted else ()) + (CLOSED if "closed" in wanted else ())
        rows, _total = case_service.public_cases(
            db,
            category_codes=_list(q.get("service_code")),
            start=start,
            end=end,
            statuses=statuses,
            offset=(page - 1) * size,
            limit=size,
        )
        return "service_requests", [_request(c) for c in rows], 200

    return _answer(fmt, build)


@router.get(PREFIX + "/requests/{service_request_id}.{fmt}", response_class=Response)
def request_one(db: Db, service_request_id: str, fmt: str) -> Response:
    """One public case, as a list of one."""

    def build(_f: str) -> tuple[str, list[dict[str, Any]], int]:
        rows, _total = case_service.public_cases(db, refs=[service_request_id], limit=1)
        if not rows:
            raise Open311Error(404, f"no such service request {service_request_id}")
        return "service_requests", [_request(rows[0])], 200

    return _answer(fmt, build)


@router.get(PREFIX + "/tokens/{token}.{fmt}", response_class=Response)
def token_lookup(db: Db, token: str, fmt: str) -> Response:
    """Requests are filed at once, so a token is the request id itself."""

    def build(_f: str) -> tuple[str, list[dict[str, Any]], int]:
        if case_service.case_id_of(db, token) is None or token.isdigit():
            raise Open311Error(404, f"no such token {token}")
        return "service_requests", [{"service_request_id": token, "token": token}], 200

    return _answer(fmt, build)


@router.get(PREFIX + "/servicerequestupdates.{fmt}", response_class=Response)
def request_updates(request: Request, db: Db, fmt: str) -> Response:
    """FixMyStreet's extension: the public history of public cases in a time range."""
    q = request.query_params

    def build(_f: str) -> tuple[str, list[dict[str, Any]], int]:
        end = _parse_date("end_date", q.get("end_date")) or utc_now()
        start = _parse_date("start_date", q.get("start_date")) or end - dt.timedelta(
            days=DEFAULT_DAYS
        )
        rows = case_service.public_updates(db, start, end)
        items = [
            {
                "update_id": str(u.id),
                "service_request_id": u.case_ref,
                "status": status_of(u.status),
                "external_status_code": u.status,
                "updated_datetime": _when(u.at),
                "description": u.text or f"Case {u.kind.replace('_', ' ')}.",
                "media_url": "",
            }
            for u in rows
        ]
        return "service_request_updates", items, 200

    return _answer(fmt, build)


def _create(db: Session, request: Request, form: dict[str, str]) -> tuple[str, Any, int]:
    key = form.get("api_key", "")
    ip = client_ip(request)
    # Per address first: it also slows down guessing api_key values.
    limits.enforce(db, Actor(account_id=None, ip=ip, via="api"), ratelimit.CASE_REPORT_IP)
    if not key:
        raise Open311Error(403, "api_key is required to post a service request")
    actor = account_service.actor_from_api_key(
        db, key, ip=ip, cache_seconds=settings_of(request).auth_cache_seconds
    )
    if actor is None:
        raise Open311Error(403, "invalid or revoked api_key")
    limits.enforce(db, actor, ratelimit.CASE_REPORT_ACCOUNT)
    if actor.effective_resident_id is None:
        raise Open311Error(403, "api_key must belong to a resident account")
    code = form.get("service_code", "").strip()
    if not code:
        raise Open311Error(400, "service_code is required")
    category = _category(db, code)
    lat_raw, lon_raw = form.get("lat", "").strip(), form.get("long", "").strip()
    address = form.get("address_string", "").strip()
    if not (lat_raw and lon_raw) and not address:
        raise Open311Error(400, "a location is required: lat and long, or address_string")
    description = form.get("description", "").strip()
    if not description:
        raise Open311Error(400, "description is required")
    detail = form.get(f"attribute[{DETAIL_ATTRIBUTE}]", "").strip()
    text = description
    if detail:
        text += f"\n\nWhere exactly: {detail}"
    if address:
        text += f"\n\nAddress: {address}"
    try:
        lat = float(lat_raw) if lat_raw else None
        lon = float(lon_raw) if lon_raw else None
        data = CaseCreate(
            category_id=category.id,
            place_id=case_service.default_report_place(db, actor),
            description=text,
            lat=lat,
            lon=lon,
        )
    except ValueError as exc:
        messages = (
            [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
            if isinstance(exc, ValidationError)
            else ["lat and long must be numbers"]
        )
        raise Open311Error(400, "; ".join(messages)) from exc
    except LinliError as exc:
        raise Open311Error(400, exc.message) from exc
    try:
        case = case_service.report(db, actor, data)
    except LinliError as exc:
        db.rollback()
        status = exc.status_code if exc.status_code in (403, 404) else 400
        raise Open311Error(status, exc.message) from exc
    ref = case.ref
    db.commit()
    return (
        "service_requests",
        [
            {
                "service_request_id": ref,
                "token": ref,
                "service_notice": "Filed; staff will triage it.",
            }
        ],
        200,
    )


@router.post(PREFIX + "/requests.{fmt}", response_class=Response)
async def request_create(request: Request, db: Db, fmt: str) -> Response:
    """File a case as the resident whose API key is given (form-encoded, as the spec says)."""
    try:
        _format(fmt)
        raw = await request.form()
    except Open311Error as exc:
        return render.errors("json", exc.status, exc.description)
    except HTTPException as exc:  # a malformed multipart body, in the spec's format (tests/fuzz)
        return render.errors(fmt, exc.status_code, str(exc.detail))
    form = {k: v for k, v in raw.items() if isinstance(v, str)}
    try:
        root, value, status = await run_in_threadpool(_create, db, request, form)
    except Open311Error as exc:
        await run_in_threadpool(db.rollback)
        return render.errors(fmt, exc.status, exc.description)
    except ratelimit.RateLimited as exc:
        await run_in_threadpool(db.commit)  # the audit row of the refusal
        refused = render.errors(fmt, exc.status_code, exc.message)
        refused.headers["retry-after"] = str(exc.retry_after)
        return refused
    return render.document(fmt, root, value, status)
