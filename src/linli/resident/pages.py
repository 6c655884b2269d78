"""HTML pages of the resident domain: my home and details, and the console's resident pages."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from linli.account import service as account_service
from linli.account.schemas import AssistStart
from linli.core.actor import ASSIST_ROLES, RESIDENT_ADMIN_ROLES, Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.place import service as place_service
from linli.resident import permissions, service
from linli.resident.schemas import ResidentRead, ResidentRevealed, ResidentUpdate, RevealRequest
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, set_session_cookie, settings_of
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20
OWN_RECORD_REASON = "own record"
LISTED_PLACE_KINDS = ("community", "compound", "building", "unit")


def _own_id(actor: Actor) -> int:
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied("this page is for residents")
    return rid


def _require_resident_staff(actor: Actor) -> None:
    shell.require_any(actor, RESIDENT_ADMIN_ROLES, "your role cannot see residents")


# --- my home and my details ---------------------------------------------------------------


@router.get("/me")
def my_home(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The resident's household: address and members (other members' names masked)."""
    household, people = service.my_household(db, actor)
    return view(
        request,
        "resident/me.html",
        {"household": household, "people": people, "me_id": actor.effective_resident_id},
    )


def _profile(
    request: Request,
    db: Db,
    actor: Actor,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    rid = _own_id(actor)
    me = service.get_resident(db, actor, rid)
    ctx: dict[str, Any] = {
        "me": me,
        "phone": "",
        "error": None,
        "password_error": None,
        "revealed": None,
        # At the desk the staff member's login stands for the resident's password.
        "ask_password": not actor.is_assisting,
    }
    ctx.update(extra)
    ctx.setdefault("next_path", "/me/profile")
    return view(request, "resident/profile.html", ctx, status_code=status_code)


@router.get("/me/profile")
def my_profile(request: Request, db: Db, actor: LoggedIn, done: str = "") -> Response:
    """My own details, with a form to change my phone number."""
    return _profile(request, db, actor, done=done == "phone")


@router.post("/me/profile/phone")
def change_phone(
    request: Request,
    db: Db,
    actor: LoggedIn,
    phone: Annotated[str, Form(max_length=40)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """Change my phone number; my password is asked again (A13), except at the desk."""
    _own_id(actor)
    if not phone.strip():
        error = _("Enter your new phone number.")
        return _profile(request, db, actor, status_code=422, phone=phone, error=error)
    try:
        data = ResidentUpdate(phone=phone, current_password=password)
    except ValidationError:
        error = _("Enter a phone number of 7 to 15 digits, for example 13800000000.")
        return _profile(request, db, actor, status_code=422, phone=phone, error=error)
    try:
        service.update_me(db, actor, data)
    except PermissionDenied as exc:
        db.commit()  # keep the audit row of the failed re-check; nothing else has changed
        if password:
            missed = _("That is not your password. Enter the password you log in with.")
        else:
            missed = _("Enter your password to change your phone number.")
        return _profile(
            request, db, actor, status_code=exc.status_code, phone=phone, password_error=missed
        )
    db.commit()
    return RedirectResponse("/me/profile?done=phone", status_code=303)


@router.post("/me/profile/reveal")
def reveal_mine(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Show my own phone, ID number and date of birth in full (recorded like any reveal)."""
    rid = _own_id(actor)
    revealed = service.reveal(
        db, actor, rid, fields=list(service.SENSITIVE_FIELDS), reason=OWN_RECORD_REASON
    )
    db.commit()
    return _profile(request, db, actor, revealed=revealed)


# --- console: residents ---------------------------------------------------------------------


def _place_options(db: Db, actor: Actor) -> list[tuple[int, str]]:
    places = place_service.under(
        db, actor.paths_for(RESIDENT_ADMIN_ROLES), kinds=LISTED_PLACE_KINDS
    )
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


@router.get("/console/residents")
def resident_list(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Annotated[str, Query(max_length=12)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Residents of the actor's places, masked and paginated (optionally of one place)."""
    return _resident_list(request, db, actor, place_id=place_id, page=page)


@router.post("/console/residents")
def resident_search(
    request: Request,
    db: Db,
    actor: LoggedIn,
    name: Annotated[str, Form(max_length=100)] = "",
    phone: Annotated[str, Form(max_length=40)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
    page: Annotated[int, Form(ge=1, le=100_000)] = 1,
) -> Response:
    """Search by name or exact phone. A form post, so that no name or number lands in a URL,
    a browser history or a server log."""
    return _resident_list(
        request, db, actor, name=name, phone=phone, place_id=place_id, page=page, posted=True
    )


def _resident_list(
    request: Request,
    db: Db,
    actor: Actor,
    *,
    name: str = "",
    phone: str = "",
    place_id: str = "",
    page: int = 1,
    posted: bool = False,
) -> Response:
    _require_resident_staff(actor)
    options = _place_options(db, actor)
    errors: dict[str, str] = {}
    phone_query: str | None = None
    if phone.strip():
        try:
            phone_query = ResidentUpdate(phone=phone).phone
        except ValidationError:
            errors["phone"] = _("Enter the whole phone number, 7 to 15 digits.")
    place_filter: int | None = None
    if place_id:
        if place_id.isdigit() and int(place_id) in {pid for pid, _label in options}:
            place_filter = int(place_id)
        else:
            errors["place_id"] = _("Choose one of the places in the list.")
    params = PageParams(page=page, size=PAGE_SIZE)
    items: list[ResidentRead] = []
    total = 0
    if not errors:
        items, total = service.list_residents(
            db,
            actor,
            params=params,
            name=name.strip() or None,
            phone=phone_query,
            place_id=place_filter,
        )
    return view(
        request,
        "resident/list.html",
        {
            "items": items,
            "pager": shell.pager(request, params, total),
            "posted": posted,
            "name": name,
            "phone": phone,
            "place_id": place_id,
            "places": options,
            "errors": errors,
            "searched": bool(name or phone or place_id),
            "next_path": "/console/residents",
        },
        status_code=422 if errors else 200,
    )


def _detail(
    request: Request,
    db: Db,
    actor: Actor,
    resident_id: int,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    read = service.get_resident(db, actor, resident_id)
    db.commit()  # keep the record of this view
    path = service.place_path_of(db, resident_id)
    ctx: dict[str, Any] = {
        "r": read,
        "can_reveal": permissions.can_reveal(actor, path, resident_id),
        "can_assist": actor.holds(ASSIST_ROLES, path) and not actor.is_assisting,
        "sensitive_fields": service.SENSITIVE_FIELDS,
        "reveal_fields": [],
        "reveal_reason": "",
        "reveal_errors": {},
        "assist_reason": "",
        "assist_present": False,
        "assist_errors": {},
        "revealed": None,
        "next_path": f"/console/residents/{resident_id}",
    }
    ctx.update(extra)
    return view(request, "resident/detail.html", ctx, status_code=status_code)


@router.get("/console/residents/{resident_id}")
def resident_detail(request: Request, db: Db, actor: LoggedIn, resident_id: PathId) -> Response:
    """One resident, masked, with the reveal and assisted-mode forms."""
    _require_resident_staff(actor)
    return _detail(request, db, actor, resident_id)


@router.post("/console/residents/{resident_id}/reveal")
def resident_reveal(
    request: Request,
    db: Db,
    actor: LoggedIn,
    resident_id: PathId,
    fields: Annotated[list[str] | None, Form(max_length=10)] = None,
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Show chosen sensitive fields once, after recording who asked and why."""
    _require_resident_staff(actor)
    chosen = [f for f in (fields or []) if f]
    form = {"reveal_fields": chosen, "reveal_reason": reason}
    try:
        body = RevealRequest.model_validate({"fields": chosen, "reason": reason.strip()})
    except ValidationError as exc:
        errors = shell.field_errors(
            exc,
            {
                "fields": _("Choose at least one item to show."),
                "reason": _("Say why you need to see this (at least 2 characters)."),
                "": _("Check the form."),
            },
        )
        return _detail(
            request, db, actor, resident_id, status_code=422, reveal_errors=errors, **form
        )
    revealed: ResidentRevealed | None = None
    try:
        revealed = service.reveal(
            db, actor, resident_id, fields=list(body.fields), reason=body.reason
        )
    except PermissionDenied as exc:
        db.commit()  # the refusal is recorded too
        errors = {"": _(exc.message)}
        return _detail(
            request, db, actor, resident_id, status_code=403, reveal_errors=errors, **form
        )
    db.commit()
    return _detail(request, db, actor, resident_id, revealed=revealed)


@router.post("/console/residents/{resident_id}/assist")
def resident_assist(
    request: Request,
    db: Db,
    actor: LoggedIn,
    resident_id: PathId,
    present: Annotated[str, Form(max_length=4)] = "",
    reason: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Start acting for a resident who is present and asks for help (assisted mode)."""
    _require_resident_staff(actor)
    form = {"assist_reason": reason, "assist_present": present == "1"}
    errors: dict[str, str] = {}
    if present != "1":
        errors["present"] = _("Tick this box only when the resident is here and asks for help.")
    try:
        body = AssistStart(
            resident_id=resident_id, resident_present=present == "1", reason=reason.strip()
        )
    except ValidationError:
        errors["reason"] = _("Say why you are helping (at least 2 characters).")
    session = getattr(request.state, "auth_session", None)
    if session is None:
        raise PermissionDenied("assisted mode needs a browser session")
    if errors:
        return _detail(
            request, db, actor, resident_id, status_code=422, assist_errors=errors, **form
        )
    try:
        token = account_service.start_assist(
            db,
            actor,
            session,
            resident_id=resident_id,
            present=body.resident_present,
            reason=body.reason,
        )
    except LinliError as exc:
        db.commit()  # a refusal is recorded
        return _detail(
            request,
            db,
            actor,
            resident_id,
            status_code=exc.status_code,
            assist_errors={"": _(exc.message)},
            **form,
        )
    db.commit()
    response = RedirectResponse("/me", status_code=303)
    set_session_cookie(response, settings_of(request), token)  # a new token (A10)
    return response
