"""Console pages of warnings to residents: warn from an incident, the printable door-to-door
list and the evacuation-needs register (docs/warnings.md)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import LinliError
from linli.core.i18n import gettext as _
from linli.core.validation import MAX_ID
from linli.incident import warnings
from linli.incident.warnings import NeedsIn, WarnIn
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

ANSWER_LABELS = {
    "need_help": N_("Needs help"),
    "no_answer": N_("No answer yet"),
    "not_asked": N_("Not asked yet"),
    "safe": N_("Safe"),
}
BROADCAST_STATES = {"active": N_("Active"), "ended": N_("Ended")}
DONE = {
    "saved": N_("The resident's needs were saved."),
    "cleared": N_("The resident was taken off the register."),
}
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=200)]


def _done(done: str) -> str:
    return _(DONE[done]) if done in DONE else ""


# --- warning residents ------------------------------------------------------------------------


def _warn_page(
    request: Request,
    db: Session,
    actor: Actor,
    incident_id: int,
    form: dict[str, Any],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    options = warnings.warn_form(db, actor, incident_id)
    if "instruction" not in form:
        form["instruction"] = options.instruction
    if "headline" not in form:
        form["headline"] = options.title
    return view(
        request,
        "incident/warn.html",
        {
            "o": options,
            "form": form,
            "errors": errors,
            "status": warnings.warning_status(db, actor, incident_id),
            "states": BROADCAST_STATES,
        },
        status_code=status,
    )


@router.get("/console/incidents/{incident_id}/warn")
def warn_page(request: Request, db: Db, actor: LoggedIn, incident_id: PathId) -> Response:
    """The warning form (buildings or a radius, headline, instruction) and what was sent."""
    return _warn_page(request, db, actor, incident_id, {"mode": "places", "place_ids": []}, {})


@router.post("/console/incidents/{incident_id}/warn")
async def warn_submit(request: Request, db: Db, actor: LoggedIn, incident_id: PathId) -> Response:
    raw = await request.form()
    mode = str(raw.get("mode", "places"))
    place_ids = [str(v) for v in raw.getlist("place_ids")][:200]
    form: dict[str, Any] = {
        "mode": mode if mode in ("places", "radius") else "places",
        "place_ids": place_ids,
        "radius_m": str(raw.get("radius_m", ""))[:20],
        "headline": str(raw.get("headline", ""))[:1000],
        "instruction": str(raw.get("instruction", ""))[:5000],
    }
    messages = {
        "place_ids": _("Tick at least one building."),
        "radius_m": _("Enter a radius in metres, from 1 to 5000."),
        "headline": _("Write what happened in 1 to 160 characters."),
        "instruction": _("The instruction may have at most 2000 characters."),
        "": _("Check the form."),
    }
    errors: dict[str, str] = {}
    ids = [int(v) for v in place_ids if v.isdigit() and 1 <= int(v) <= MAX_ID]
    radius: str | None = form["radius_m"].strip() or None
    if form["mode"] == "radius":
        ids = []
        if radius is None:
            errors["radius_m"] = messages["radius_m"]
    else:
        radius = None
        if not ids:
            errors["place_ids"] = messages["place_ids"]
    if errors:
        return _warn_page(request, db, actor, incident_id, form, errors, 422)
    try:
        data = WarnIn.model_validate(
            {
                "place_ids": ids,
                "radius_m": radius,
                "headline": form["headline"],
                "instruction": form["instruction"],
            }
        )
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        return _warn_page(request, db, actor, incident_id, form, errors, 422)
    try:
        warnings.warn(db, actor, incident_id, data)
    except LinliError as exc:
        if exc.status_code == 404:
            raise
        db.rollback()
        key = "radius_m" if form["mode"] == "radius" else "place_ids"
        return _warn_page(
            request, db, actor, incident_id, form, {key: _(exc.message)}, exc.status_code
        )
    db.commit()
    return RedirectResponse(f"/console/incidents/{incident_id}?done=warned", status_code=303)


# --- the door-to-door list --------------------------------------------------------------------


@router.get("/console/incidents/{incident_id}/door-to-door")
def door_to_door_page(request: Request, db: Db, actor: LoggedIn, incident_id: PathId) -> Response:
    """The printable list of residents to visit; the view is audited."""
    found = warnings.door_to_door(db, actor, incident_id)
    db.commit()
    return view(
        request,
        "incident/door_to_door.html",
        {
            "d": found,
            "answers": ANSWER_LABELS,
            "needs": warnings.NEED_LABELS,
        },
    )


# --- the evacuation-needs register ------------------------------------------------------------


def _register_page(
    request: Request,
    db: Session,
    actor: Actor,
    place_id: int | None,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    done: str = "",
    status: int = 200,
) -> Response:
    rows = warnings.evacuation_register(db, actor, place_id)
    residents = warnings.register_residents(db, actor, place_id)
    db.commit()  # the audit row of this read
    return view(
        request,
        "incident/evacuation_needs.html",
        {
            "rows": rows,
            "residents": residents,
            "needs": warnings.NEED_LABELS,
            "need_options": [(k, _(v)) for k, v in warnings.NEED_LABELS.items()],
            "form": form or {"needs": []},
            "errors": errors or {},
            "done": _done(done),
            "place_id": place_id,
        },
        status_code=status,
    )


@router.get("/console/evacuation-needs")
def register_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: QueryId = None,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The register: who needs help to leave, and the form to record or change it."""
    return _register_page(request, db, actor, place_id, done=done)


@router.post("/console/evacuation-needs")
async def register_submit(request: Request, db: Db, actor: LoggedIn) -> Response:
    raw = await request.form()
    resident_id = str(raw.get("resident_id", ""))[:12]
    needs = [str(v) for v in raw.getlist("needs")][:20]
    note = str(raw.get("note", ""))[:2000]
    form: dict[str, Any] = {"resident_id": resident_id, "needs": needs, "note": note}
    messages = {
        "resident_id": _("Choose a resident from the list."),
        "needs": _("Choose needs from the list."),
        "note": _("The note may have at most 500 characters."),
        "": _("Check the form."),
    }
    if not resident_id.isdigit() or not 1 <= int(resident_id) <= MAX_ID:
        return _register_page(
            request,
            db,
            actor,
            None,
            form=form,
            errors={"resident_id": messages["resident_id"]},
            status=422,
        )
    try:
        data = NeedsIn.model_validate({"needs": needs, "note": note})
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        return _register_page(request, db, actor, None, form=form, errors=errors, status=422)
    try:
        warnings.set_needs(db, actor, int(resident_id), data)
    except LinliError as exc:
        db.rollback()
        return _register_page(
            request,
            db,
            actor,
            None,
            form=form,
            errors={"resident_id": _(exc.message)},
            status=exc.status_code,
        )
    db.commit()
    done = "saved" if data.needs else "cleared"
    return RedirectResponse(f"/console/evacuation-needs?done={done}", status_code=303)


@router.post("/console/evacuation-needs/{resident_id}/clear")
def register_clear(db: Db, actor: LoggedIn, resident_id: PathId) -> Response:
    warnings.clear_needs(db, actor, resident_id)
    db.commit()
    return RedirectResponse("/console/evacuation-needs?done=cleared", status_code=303)
