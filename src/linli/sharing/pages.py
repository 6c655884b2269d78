"""Pages of data sharing: administrators keep the recipient registry, staff with a duty read the
disclosure log, residents see what was shared about them ("what left the platform")."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.sharing import service
from linli.sharing.schemas import DisclosureOut, RecipientCreate, RecipientIssued, RecipientUpdate
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20
NO_STORE = {"Cache-Control": "no-store"}
DONE = {
    "saved": N_("The recipient was saved."),
    "deactivated": N_("The recipient was deactivated. Nothing more is sent to it."),
}
Text = Annotated[str, Form()]
Many = Annotated[list[str] | None, Form(max_length=40)]
PageNo = Annotated[int, Query(ge=1, le=100_000)]


def _managers_only(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_manage_any(actor):
        raise PermissionDenied(_("Only administrators keep the list of recipients."))


def _done(done: str) -> str:
    return _(DONE[done]) if done in DONE else ""


def _labels() -> dict[str, Any]:
    return {
        "kinds": service.KIND_LABELS,
        "bases": service.BASIS_LABELS,
        "field_labels": service.FIELD_LABELS,
        "statuses": service.STATUS_LABELS,
        "types": {k: label for k, (label, _cat) in service.INCIDENT_TYPES.items()},
    }


def _rows(items: list[DisclosureOut]) -> list[dict[str, Any]]:
    return [
        {"d": d, "fields": service.fields_sent_labels(d.fields), "personal": _personal(d)}
        for d in items
    ]


def _personal(d: DisclosureOut) -> bool:
    return any(f in service.PERSONAL for f in d.fields)


# --- residents ------------------------------------------------------------------------------


@router.get("/me/disclosures")
def my_disclosures(request: Request, db: Db, actor: LoggedIn, page: PageNo = 1) -> Response:
    """What left the platform about my home or with my data, to whom and why."""
    params = PageParams(page=page, size=PAGE_SIZE)
    found = service.my_disclosures(db, actor, params)
    return view(
        request,
        "sharing/mine.html",
        {"rows": _rows(found.items), "pager": shell.pager(request, params, found.total)}
        | _labels(),
    )


# --- staff: the disclosure log ----------------------------------------------------------------


@router.get("/console/sharing/disclosures")
def disclosure_log(request: Request, db: Db, actor: LoggedIn, page: PageNo = 1) -> Response:
    """Every disclosure about the actor's places (administrators, auditors, police liaison)."""
    params = PageParams(page=page, size=PAGE_SIZE)
    found = service.disclosure_log(db, actor, params)
    return view(
        request,
        "sharing/log.html",
        {
            "rows": _rows(found.items),
            "pager": shell.pager(request, params, found.total),
            "may_manage": service.may_manage_any(actor),
        }
        | _labels(),
    )


# --- staff: the registry ----------------------------------------------------------------------


@router.get("/console/sharing")
def registry(
    request: Request, db: Db, actor: LoggedIn, page: PageNo = 1, done: str = ""
) -> Response:
    _managers_only(actor)
    params = PageParams(page=page, size=PAGE_SIZE)
    found = service.list_recipients(db, actor, params)
    return view(
        request,
        "sharing/list.html",
        {
            "recipients": found.items,
            "places": {r.place_id: service.place_label(db, r.place_id) for r in found.items},
            "pager": shell.pager(request, params, found.total),
            "done": _done(done),
        }
        | _labels(),
    )


def _form_page(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, Any],
    errors: dict[str, str],
    *,
    recipient_id: int | None = None,
    status: int = 200,
) -> Response:
    return view(
        request,
        "sharing/form.html",
        {
            "form": form,
            "errors": errors,
            "recipient_id": recipient_id,
            "places": service.places_for(db, actor),
            "kind_options": [(k, _(v)) for k, v in service.KIND_LABELS.items()],
            "basis_options": [(k, _(v)) for k, v in service.BASIS_LABELS.items()],
            "field_options": [(f, _(service.FIELD_LABELS[f])) for f in service.OPTIONAL],
            "personal_options": [(f, _(service.FIELD_LABELS[f])) for f in service.PERSONAL],
            "type_options": [(k, _(v[0])) for k, v in service.INCIDENT_TYPES.items()],
            "severity_options": [
                ("1", _("Minor and above")),
                ("2", _("Moderate and above")),
                ("3", _("Severe and above")),
                ("4", _("Extreme only")),
            ],
        },
        status_code=status,
    )


MESSAGES = {
    "place_id": N_("Choose a place from the list."),
    "name": N_("Write a name of 1 to 100 characters."),
    "kind": N_("Choose a kind of recipient from the list."),
    "purpose": N_("Say what the recipient uses the data for (up to 2000 characters)."),
    "legal_basis": N_("Choose a legal basis from the list."),
    "min_severity": N_("Choose a severity from the list."),
    "webhook_url": N_("Enter a web address of at most 500 characters, or leave it empty."),
    "retention_days": N_("Enter a number of days from 1 to 3650."),
    "": N_("Check the form."),
}


def _form(
    place_id: str,
    name: str,
    kind: str,
    purpose: str,
    legal_basis: str,
    allowed_fields: list[str] | None,
    incident_types: list[str] | None,
    min_severity: str,
    webhook_url: str,
    retention_days: str,
) -> dict[str, Any]:
    return {
        "place_id": place_id,
        "name": name,
        "kind": kind,
        "purpose": purpose,
        "legal_basis": legal_basis,
        "allowed_fields": list(allowed_fields or []),
        "incident_types": list(incident_types or []),
        "min_severity": min_severity,
        "webhook_url": webhook_url,
        "retention_days": retention_days,
    }


def _payload(form: dict[str, Any]) -> dict[str, Any]:
    return {
        "place_id": form["place_id"] or None,
        "name": form["name"],
        "kind": form["kind"],
        "purpose": form["purpose"],
        "legal_basis": form["legal_basis"],
        "allowed_fields": form["allowed_fields"],
        "incident_types": form["incident_types"],
        "min_severity": form["min_severity"] or None,
        "webhook_url": form["webhook_url"] or None,
        "retention_days": form["retention_days"] or None,
    }


def _errors(exc: ValidationError) -> dict[str, str]:
    return shell.field_errors(exc, {k: _(v) for k, v in MESSAGES.items()})


def _issued_page(request: Request, issued: RecipientIssued) -> Response:
    return view(request, "sharing/issued.html", {"r": issued}, headers=NO_STORE)


@router.get("/console/sharing/new")
def recipient_new(request: Request, db: Db, actor: LoggedIn) -> Response:
    _managers_only(actor)
    form = _form("", "", "police", "", "vital_interest", [], [], "3", "", "30")
    return _form_page(request, db, actor, form, {})


@router.post("/console/sharing")
def recipient_create(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Text = "",
    name: Text = "",
    kind: Text = "",
    purpose: Text = "",
    legal_basis: Text = "",
    allowed_fields: Many = None,
    incident_types: Many = None,
    min_severity: Text = "",
    webhook_url: Text = "",
    retention_days: Text = "",
) -> Response:
    _managers_only(actor)
    form = _form(
        place_id,
        name,
        kind,
        purpose,
        legal_basis,
        allowed_fields,
        incident_types,
        min_severity,
        webhook_url,
        retention_days,
    )
    payload = _payload(form)
    payload = {k: v for k, v in payload.items() if v is not None or k == "webhook_url"}
    try:
        data = RecipientCreate.model_validate(payload)
    except ValidationError as exc:
        return _form_page(request, db, actor, form, _errors(exc), status=422)
    try:
        issued = service.create_recipient(db, actor, data)
    except LinliError as exc:
        return _form_page(request, db, actor, form, {"": _(exc.message)}, status=exc.status_code)
    db.commit()
    return _issued_page(request, issued)


@router.get("/console/sharing/{recipient_id}")
def recipient_edit(request: Request, db: Db, actor: LoggedIn, recipient_id: PathId) -> Response:
    _managers_only(actor)
    r = service.get_recipient(db, actor, recipient_id)
    form = _form(
        str(r.place_id),
        r.name,
        r.kind,
        r.purpose,
        r.legal_basis,
        r.allowed_fields,
        r.incident_types,
        str(r.min_severity),
        r.webhook_url or "",
        str(r.retention_days),
    )
    return _form_page(request, db, actor, form, {}, recipient_id=r.id)


@router.post("/console/sharing/{recipient_id}")
def recipient_update(
    request: Request,
    db: Db,
    actor: LoggedIn,
    recipient_id: PathId,
    name: Text = "",
    kind: Text = "",
    purpose: Text = "",
    legal_basis: Text = "",
    allowed_fields: Many = None,
    incident_types: Many = None,
    min_severity: Text = "",
    webhook_url: Text = "",
    retention_days: Text = "",
) -> Response:
    _managers_only(actor)
    current = service.get_recipient(db, actor, recipient_id)
    form = _form(
        str(current.place_id),
        name,
        kind,
        purpose,
        legal_basis,
        allowed_fields,
        incident_types,
        min_severity,
        webhook_url,
        retention_days,
    )
    payload = _payload(form)
    del payload["place_id"]
    try:
        data = RecipientUpdate.model_validate(payload)
    except ValidationError as exc:
        errors = _errors(exc)
        return _form_page(request, db, actor, form, errors, recipient_id=recipient_id, status=422)
    try:
        issued = service.update_recipient(db, actor, recipient_id, data)
    except LinliError as exc:
        return _form_page(
            request,
            db,
            actor,
            form,
            {"": _(exc.message)},
            recipient_id=recipient_id,
            status=exc.status_code,
        )
    db.commit()
    if issued.signing_key:
        return _issued_page(request, issued)
    return RedirectResponse("/console/sharing?done=saved", status_code=303)


@router.post("/console/sharing/{recipient_id}/deactivate")
def recipient_deactivate(db: Db, actor: LoggedIn, recipient_id: PathId) -> Response:
    _managers_only(actor)
    service.deactivate_recipient(db, actor, recipient_id)
    db.commit()
    return RedirectResponse("/console/sharing?done=deactivated", status_code=303)
