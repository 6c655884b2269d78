"""Console pages of incidents: the live board on the site plan, one incident, opening one."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.case import service as case_service
from linli.core.actor import Actor
from linli.core.errors import LinliError, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.validation import MAX_ID
from linli.incident import board as boards
from linli.incident import permissions, service
from linli.incident.schemas import FromCaseIn, IncidentCreate, IncidentUpdate
from linli.web import shell, sse
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

BOARD = "/console/incidents"
DONE = {
    "created": N_("The incident is open. Set its point on the site plan and send responders."),
    "located": N_("The point on the site plan is set."),
    "severity": N_("The severity is changed."),
    "commander": N_("The commander is set."),
    "dispatched": N_("The responders were asked to go; each answers on their phone."),
    "nobody": N_("Nobody was sent: no free responder has the skills this incident needs."),
    "status": N_("The status is changed."),
    "closed": N_("The incident is closed."),
    "warned": N_("The residents of the chosen buildings are asked whether they are safe."),
}
Text = Annotated[str, Form(max_length=10_000)]
Short = Annotated[str, Form(max_length=200)]


def _require_view(actor: Actor) -> None:
    if not actor.is_anonymous and not actor.roles & permissions.VIEW_ROLES:
        raise PermissionDenied(_("You may not see incidents."))


def _require_manage(actor: Actor) -> None:
    if not actor.is_anonymous and not actor.roles & permissions.MANAGE_ROLES:
        raise PermissionDenied(_("You may not open incidents."))


def _texts() -> dict[str, str]:
    """What the live region and status line say, for the board script to use."""
    return {
        "new": _("New incident: %(what)s", what="{what}"),
        "on": _("Live updates are on: the plan and the list change without reloading."),
        "off": _("Live updates are interrupted; trying again. Reload the page to be sure."),
        "gap": _("Some changes may be missing. Reload the page to see every incident."),
    }


def _board_context(db: Session, actor: Actor) -> dict[str, Any]:
    return {
        "board": boards.board(db, actor),
        "types": boards.TYPE_LABELS,
        "severities": boards.SEVERITY_LABELS,
        "statuses": boards.STATUS_LABELS,
        "responder_states": boards.RESPONDER_LABELS,
        "offer_states": boards.OFFER_LABELS,
        "point_label": boards.point_label,
    }


@router.get("/console/incidents")
def board(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The live incident board: the site plan with incidents, responders and routes."""
    _require_view(actor)
    ctx = _board_context(db, actor)
    ctx["texts"] = _texts()
    return view(request, "incident/board.html", ctx)


@router.get("/console/incidents/live")
def board_live(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The changing part of the board, fetched again by the page on every live event."""
    _require_view(actor)
    return view(request, "incident/_board_live.html", _board_context(db, actor))


@router.get("/console/incidents/stream")
async def board_stream(db: Db, actor: LoggedIn) -> StreamingResponse:
    """The board's server-sent events: changes to incidents and responders the actor sees."""
    _require_view(actor)
    paths = actor.paths_for(permissions.VIEW_ROLES)
    db.close()  # nothing more to read: no session is held while the stream lasts
    return await sse.stream(service.TOPIC, "incident", partial(service.event_visible, paths))


# --- opening an incident ----------------------------------------------------------------------


def _new_form(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    site = boards.site_of(db)
    return view(
        request,
        "incident/new.html",
        {
            "form": form,
            "errors": errors,
            "types": boards.type_options(),
            "severity_options": [(k, _(v)) for k, v in boards.SEVERITY_LABELS.items()],
            "places": boards.managed_places(db, actor),
            "points": boards.named_points(site),
        },
        status_code=status,
    )


@router.get("/console/incidents/new")
def new_incident(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The form to open an incident."""
    _require_manage(actor)
    return _new_form(request, db, actor, {"severity": "3"}, {})


@router.post("/console/incidents")
def create_incident(
    request: Request,
    db: Db,
    actor: LoggedIn,
    kind: Annotated[str, Form(alias="type", max_length=200)] = "",
    severity: Short = "",
    place_id: Short = "",
    node: Short = "",
    title: Text = "",
    description: Text = "",
) -> Response:
    """Open an incident, then show its page; the form comes back with its errors otherwise."""
    _require_manage(actor)
    form = {
        "type": kind,
        "severity": severity,
        "place_id": place_id,
        "node": node,
        "title": title,
        "description": description,
    }
    errors: dict[str, str] = {}
    if kind not in service.TYPES:
        errors["type"] = _("Choose what happened from the list.")
    if severity not in ("1", "2", "3", "4"):
        errors["severity"] = _("Choose a severity from the list.")
    places = {str(pid) for pid, _label in boards.managed_places(db, actor)}
    if place_id not in places:
        errors["place_id"] = _("Choose a place from the list.")
    if node and node not in {n for n, _label in boards.named_points(boards.site_of(db))}:
        errors["node"] = _("Choose a point of the site plan from the list.")
    messages = {
        "title": _("Write a short title of 1 to 200 characters."),
        "description": _("The description may have at most 5000 characters."),
        "": _("Check the form."),
    }
    data: IncidentCreate | None = None
    try:
        data = IncidentCreate.model_validate(
            {
                "place_id": int(place_id) if place_id in places else 1,
                "type": kind or "other",
                "severity": int(severity) if severity in ("1", "2", "3", "4") else 3,
                "title": title,
                "description": description,
                "node": node or None,
            }
        )
    except ValidationError as exc:
        for name, message in shell.field_errors(exc, messages).items():
            errors.setdefault(name or "title", message)
    if errors or data is None:
        return _new_form(request, db, actor, form, errors, 422)
    try:
        incident = service.create(db, actor, data)
    except LinliError as exc:
        db.rollback()
        return _new_form(request, db, actor, form, {"place_id": exc.message}, exc.status_code)
    db.commit()
    return RedirectResponse(f"{BOARD}/{incident.id}?done=created", status_code=303)


def _from_case_form(
    request: Request,
    db: Session,
    actor: Actor,
    case_id: int,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    case = case_service.get(db, actor, case_id)
    return view(
        request,
        "incident/from_case.html",
        {
            "case": case,
            "form": form,
            "errors": errors,
            "types": boards.type_options(),
            "severity_options": [(k, _(v)) for k, v in boards.SEVERITY_LABELS.items()],
        },
        status_code=status,
    )


@router.get("/console/incidents/from-case/{case_id}")
def from_case_form(request: Request, db: Db, actor: LoggedIn, case_id: PathId) -> Response:
    """The form to turn a resident's problem report into an incident."""
    _require_manage(actor)
    return _from_case_form(request, db, actor, case_id, {"severity": "3"}, {})


@router.post("/console/incidents/from-case/{case_id}")
def from_case_submit(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    kind: Annotated[str, Form(alias="type", max_length=200)] = "",
    severity: Short = "",
) -> Response:
    """Open the incident and show its page; the form comes back with its errors otherwise."""
    _require_manage(actor)
    form = {"type": kind, "severity": severity}
    errors: dict[str, str] = {}
    if kind not in service.TYPES:
        errors["type"] = _("Choose what happened from the list.")
    if severity not in ("1", "2", "3", "4"):
        errors["severity"] = _("Choose a severity from the list.")
    if errors:
        return _from_case_form(request, db, actor, case_id, form, errors, 422)
    try:
        incident = service.from_case(
            db, actor, case_id, FromCaseIn(type=kind, severity=int(severity))
        )
    except LinliError as exc:
        db.rollback()
        return _from_case_form(
            request, db, actor, case_id, form, {"": exc.message}, exc.status_code
        )
    db.commit()
    return RedirectResponse(f"{BOARD}/{incident.id}?done=created", status_code=303)


# --- one incident -----------------------------------------------------------------------------


def _page(
    request: Request,
    db: Session,
    actor: Actor,
    incident_id: int,
    *,
    status_code: int = 200,
    recommend: bool = False,
    done: str = "",
    error: str = "",
    form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    _require_view(actor)
    try:
        page = boards.incident_view(db, actor, incident_id, recommend=recommend)
    except NotFound:
        raise
    except LinliError as exc:
        # The planner's refusal (no point on the plan, a closed incident): shown, not raised.
        db.rollback()
        page = boards.incident_view(db, actor, incident_id)
        error, status_code = exc.message, exc.status_code
    return view(
        request,
        "incident/incident.html",
        {
            "page": page,
            "i": page.incident,
            "types": boards.TYPE_LABELS,
            "severities": boards.SEVERITY_LABELS,
            "severity_keys": boards.SEVERITY_KEYS,
            "statuses": boards.STATUS_LABELS,
            "responder_states": boards.RESPONDER_LABELS,
            "offer_states": boards.OFFER_LABELS,
            "severity_options": [(k, _(v)) for k, v in boards.SEVERITY_LABELS.items()],
            "done": _(DONE[done]) if done in DONE else "",
            "error": error,
            "form": form or {},
            "errors": errors or {},
            "point_label": boards.point_label,
        },
        status_code=status_code,
    )


@router.get("/console/incidents/{incident_id}")
def incident_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    incident_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """One incident: what, where, who is on the way, the actions and the timeline."""
    return _page(request, db, actor, incident_id, done=done)


def _act(
    request: Request,
    db: Session,
    actor: Actor,
    incident_id: int,
    change: Callable[[], str],
    form: dict[str, str] | None = None,
    field: str = "",
) -> Response:
    """Run a change; on success commit and go back to the page with its message, else show
    the page again with the service's refusal in words (nothing stored)."""
    _require_view(actor)
    try:
        done = change()
    except NotFound:
        raise
    except LinliError as exc:
        db.rollback()
        return _page(
            request,
            db,
            actor,
            incident_id,
            status_code=exc.status_code,
            error=exc.message,
            form=form,
            errors={field: exc.message} if field and exc.status_code == 422 else {},
        )
    db.commit()
    return RedirectResponse(f"{BOARD}/{incident_id}?done={done}", status_code=303)


def _refuse(message: str) -> LinliError:
    return ValidationFailed(message)


@router.post("/console/incidents/{incident_id}/point")
def set_point(
    request: Request, db: Db, actor: LoggedIn, incident_id: PathId, node: Short = ""
) -> Response:
    """Set where the incident is on the site plan (a named point)."""

    def change() -> str:
        if node not in {n for n, _label in boards.named_points(boards.site_of(db))}:
            raise _refuse(_("Choose a point of the site plan from the list."))
        service.update(db, actor, incident_id, IncidentUpdate(node=node))
        return "located"

    return _act(request, db, actor, incident_id, change, field="node")


@router.post("/console/incidents/{incident_id}/severity")
def set_severity(
    request: Request, db: Db, actor: LoggedIn, incident_id: PathId, severity: Short = ""
) -> Response:
    """Change the severity (CAP levels 1 to 4)."""

    def change() -> str:
        if severity not in ("1", "2", "3", "4"):
            raise _refuse(_("Choose a severity from the list."))
        service.update(db, actor, incident_id, IncidentUpdate(severity=int(severity)))
        return "severity"

    return _act(request, db, actor, incident_id, change, field="severity")


@router.post("/console/incidents/{incident_id}/commander")
def set_commander(
    request: Request, db: Db, actor: LoggedIn, incident_id: PathId, account_id: Short = ""
) -> Response:
    """Name the incident's commander (staff or a responder of the place)."""

    def change() -> str:
        if not account_id.isdigit() or not 1 <= int(account_id) <= MAX_ID:
            raise _refuse(_("Choose a commander from the list."))
        service.update(db, actor, incident_id, IncidentUpdate(commander_account_id=int(account_id)))
        return "commander"

    return _act(request, db, actor, incident_id, change, field="account_id")


@router.post("/console/incidents/{incident_id}/recommend")
def recommend(request: Request, db: Db, actor: LoggedIn, incident_id: PathId) -> Response:
    """Show who would best be sent now, with travel times and routes; nobody is told."""
    return _page(request, db, actor, incident_id, recommend=True)


@router.post("/console/incidents/{incident_id}/dispatch")
def dispatch(request: Request, db: Db, actor: LoggedIn, incident_id: PathId) -> Response:
    """Send the recommended responders: each gets an offer on their phone."""

    def change() -> str:
        sent = service.dispatch(db, actor, incident_id)
        return "dispatched" if sent else "nobody"

    return _act(request, db, actor, incident_id, change)


@router.post("/console/incidents/{incident_id}/status")
def advance(
    request: Request,
    db: Db,
    actor: LoggedIn,
    incident_id: PathId,
    status: Short = "",
    note: Text = "",
) -> Response:
    """Move the incident forward: responders sent, on scene, contained."""

    def change() -> str:
        if status not in ("dispatched", "on_scene", "contained"):
            raise _refuse(_("Choose the next status from the list."))
        if len(note) > 2000:
            raise _refuse(_("The note may have at most 2000 characters."))
        service.advance(db, actor, incident_id, status, note.strip())
        return "status"

    return _act(request, db, actor, incident_id, change, {"note": note}, "status")


@router.post("/console/incidents/{incident_id}/close")
def close(
    request: Request, db: Db, actor: LoggedIn, incident_id: PathId, after_action: Text = ""
) -> Response:
    """Close the incident with its after-action report."""

    def change() -> str:
        service.close(db, actor, incident_id, after_action)
        return "closed"

    return _act(
        request, db, actor, incident_id, change, {"after_action": after_action}, "after_action"
    )
