"""HTML pages of cases: reporting a problem (one question per screen in elder mode), my reports,
the public case page with its history, and the staff queue with the forms to work a case."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.case import service
from linli.case.photos import MAX_BYTES
from linli.case.schemas import CaseCreate, CaseFilter, SimilarQuery
from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.errors import LinliError, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.privacy import consent
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import CsrfChecked, CurrentActor, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 25
QUEUE = "/console/cases"
STEPS = ("category", "place", "description", "confirm")
STATUS_LABELS = {
    "submitted": N_("Submitted"),
    "triaged": N_("Accepted"),
    "assigned": N_("Assigned"),
    "in_progress": N_("Being handled"),
    "resolved": N_("Resolved"),
    "closed": N_("Closed"),
    "referred": N_("Referred elsewhere"),
    "duplicate": N_("Duplicate"),
}
EVENT_LABELS = {
    "submitted": N_("Reported"),
    "triaged": N_("Accepted by staff"),
    "assigned": N_("Given to someone to handle"),
    "started": N_("Work started"),
    "resolved": N_("Resolved — what was done"),
    "closed": N_("Closed"),
    "reopened": N_("Reopened"),
    "duplicate": N_("Marked as the same problem as"),
    "referred": N_("Referred — not handled by the community"),
    "rated": N_("Rated by the reporter"),
    "comment": N_("Comment"),
    "note": N_("Internal note"),
    "escalated": N_("Overdue — sent higher up"),
}
TEAM_LABELS = {
    "property_manager": N_("Property company"),
    "community_staff": N_("Community staff"),
    "grid_worker": N_("Grid worker"),
    "utility": N_("Utility company (through community staff)"),
}
RATING_LABELS = {
    5: N_("5 — very satisfied"),
    4: N_("4 — satisfied"),
    3: N_("3 — neither"),
    2: N_("2 — dissatisfied"),
    1: N_("1 — very dissatisfied"),
}
DONE_MESSAGES = {
    "reported": N_("Thank you. Your report has been sent to the people who handle it."),
    "rated": N_("Thank you for your rating."),
    "commented": N_("Your comment is on the case's history."),
    "followed": N_("You will be told about this case's progress."),
    "unfollowed": N_("You no longer follow this case."),
    "reopened": N_("The case is open again."),
    "photo": N_("The photo was added."),
    "triaged": N_("The case is accepted."),
    "assigned": N_("The case is assigned."),
    "started": N_("The case is marked as being handled."),
    "resolved": N_("The case is resolved; the reporter has been told."),
    "referred": N_("The case is marked as referred."),
    "duplicate": N_("The case is marked as a duplicate."),
    "noted": N_("Your note is on the internal history."),
    "closed": N_("The case is closed."),
}


def _category_options(db: Session) -> list[tuple[int, str]]:
    return [(c.id, service.category_name(c)) for c in service.categories(db)]


def _place_options(db: Session, actor: Actor) -> list[tuple[int, str]]:
    return [(p.id, p.label) for p in service.report_places(db, actor)]


def _require_reporter(actor: Actor) -> None:
    if not actor.is_anonymous and actor.effective_resident_id is None:
        raise PermissionDenied(
            _("Only residents report problems here; staff start assisted mode for a resident.")
        )


def _require_queue(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_work_any(actor):
        raise PermissionDenied(_("You may not see the case queue."))


def _int(raw: str) -> int | None:
    raw = raw.strip()
    return int(raw) if raw.isdigit() and len(raw) < 10 else None


# --- reporting ------------------------------------------------------------------------------


def _report_form(
    request: Request,
    db: Session,
    actor: Actor,
    *,
    step: str,
    values: dict[str, str],
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    similar: list[Any] = []
    if step == "confirm":
        category_id, place_id = _int(values["category_id"]), _int(values["place_id"])
        if category_id and place_id:
            try:
                similar = service.similar(
                    db,
                    actor,
                    SimilarQuery(
                        category_id=category_id,
                        place_id=place_id,
                        description=values["description"][:4000],
                    ),
                )
            except (LinliError, ValidationError):
                similar = []
    categories = dict(_category_options(db))
    places = dict(_place_options(db, actor))
    ctx: dict[str, Any] = {
        "step": step,
        "step_no": STEPS.index(step) + 1 if step in STEPS else 0,
        "steps": len(STEPS),
        "values": values,
        "errors": errors or {},
        "category_options": list(categories.items()),
        "place_options": list(places.items()),
        "category_label": categories.get(_int(values["category_id"]) or 0, ""),
        "place_label": places.get(_int(values["place_id"]) or 0, ""),
        "similar": similar,
        "statuses": STATUS_LABELS,
        "max_mb": MAX_BYTES // (1024 * 1024),
    }
    return view(request, "case/report.html", ctx, status_code=status_code)


def _blank_values(db: Session, actor: Actor) -> dict[str, str]:
    places = _place_options(db, actor)
    # The building (second from the unit) is the usual place of a shared problem.
    default = places[1][0] if len(places) > 1 else (places[0][0] if places else "")
    return {"category_id": "", "place_id": str(default), "description": "", "is_public": "1"}


@router.get("/cases/new")
def report_page(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Report a problem: one form, or in elder mode one question per screen."""
    _require_reporter(actor)
    step = "category" if request.state.elder else "all"
    return _report_form(request, db, actor, step=step, values=_blank_values(db, actor))


def _check_step(db: Session, actor: Actor, step: str, values: dict[str, str]) -> dict[str, str]:
    errors: dict[str, str] = {}
    checks = step in ("all", "confirm")
    if (checks or step == "category") and _int(values["category_id"]) not in dict(
        _category_options(db)
    ):
        errors["category_id"] = _("Choose what kind of problem it is.")
    if (checks or step == "place") and _int(values["place_id"]) not in dict(
        _place_options(db, actor)
    ):
        errors["place_id"] = _("Choose where the problem is.")
    text = values["description"].strip()
    if (checks or step == "description") and not 2 <= len(text) <= 4000:
        errors["description"] = _("Describe the problem in 2 to 4000 characters.")
    return errors


@router.post("/cases/new")
async def report_submit(
    request: Request,
    db: Db,
    actor: LoggedIn,
    step: Annotated[str, Form(max_length=16)] = "all",
    category_id: Annotated[str, Form(max_length=12)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
    description: Annotated[str, Form(max_length=8000)] = "",
    is_public: Annotated[str, Form(max_length=4)] = "",
    back: Annotated[str, Form(max_length=4)] = "",
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Take one answer (elder mode) or the whole form; file the case at the end."""
    _require_reporter(actor)
    values = {
        "category_id": category_id,
        "place_id": place_id,
        "description": description,
        "is_public": "1" if is_public else "",
    }
    if step not in (*STEPS, "all"):
        step = "category"
    if back and step in STEPS and STEPS.index(step) > 0:
        return _report_form(request, db, actor, step=STEPS[STEPS.index(step) - 1], values=values)
    errors = _check_step(db, actor, step, values)
    if errors:
        if step == "confirm":  # a value went wrong on the way: ask that question again
            first = next(s for s in STEPS if _check_step(db, actor, s, values))
            step = first
            errors = _check_step(db, actor, first, values)
        return _report_form(
            request, db, actor, step=step, values=values, errors=errors, status_code=422
        )
    if step in STEPS[:-1]:
        return _report_form(request, db, actor, step=STEPS[STEPS.index(step) + 1], values=values)
    limits.enforce(db, actor, ratelimit.CASE_REPORT_ACCOUNT)
    data = await photo.read(MAX_BYTES + 1) if photo is not None and photo.filename else b""
    try:
        body = CaseCreate(
            category_id=int(category_id),
            place_id=int(place_id),
            description=description.strip(),
            is_public=bool(is_public),
        )
        case = service.report(db, actor, body)
        if data:
            service.add_photo(db, actor, case.id, data)
    except (ValidationError, ValidationFailed, consent.ConsentRequired) as exc:
        db.rollback()
        message = exc.message if isinstance(exc, LinliError) else _("Check the form.")
        return _report_form(
            request,
            db,
            actor,
            step=step,
            values=values,
            errors={"photo" if data else "": message},
            status_code=422,
        )
    db.commit()
    return RedirectResponse(f"/cases/{case.id}?done=reported", status_code=303)


# --- my reports and the case page -----------------------------------------------------------


@router.get("/me/cases")
def my_cases(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """The problems I reported, and the cases I follow."""
    params = PageParams(page=page, size=PAGE_SIZE)
    mine = service.list_cases(db, actor, CaseFilter(scope="mine"), params)
    following = service.list_cases(
        db, actor, CaseFilter(scope="following"), PageParams(size=PAGE_SIZE)
    )
    followed = [c for c in following.items if not c.mine]
    ctx = {
        "items": mine.items,
        "followed": followed,
        "pager": shell.pager(request, params, mine.total),
        "statuses": STATUS_LABELS,
        "can_report": actor.effective_resident_id is not None,
    }
    return view(request, "case/mine.html", ctx)


def _case_context(db: Session, actor: Actor, case_id: int) -> dict[str, Any]:
    detail = service.get(db, actor, case_id)
    categories = service.category_map(db)
    category = categories.get(detail.category_id)
    photos = service.photo_ids(db, actor, case_id)
    duplicate_of = None
    if detail.duplicate_of_id:
        try:
            duplicate_of = service.get(db, actor, detail.duplicate_of_id)
        except NotFound:
            duplicate_of = None
    return {
        "c": detail,
        "category": service.category_name(category) if category else "",
        "team": TEAM_LABELS.get(detail.team, detail.team),
        "place": service.place_label(db, detail.place_id),
        "photos": photos,
        "statuses": STATUS_LABELS,
        "events": EVENT_LABELS,
        "ratings": [(k, _(v)) for k, v in RATING_LABELS.items()],
        "duplicate_of": duplicate_of,
        "logged_in": not actor.is_anonymous,
    }


def _case_page(
    request: Request,
    db: Session,
    actor: Actor,
    case_id: int,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _case_context(db, actor, case_id)
    ctx["done"] = _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else ""
    ctx["errors"] = errors or {}
    c = ctx["c"]
    ctx["similar"] = []
    if c.mine and c.status in ("submitted", "triaged") and done == "reported":
        query = SimilarQuery(
            category_id=c.category_id, place_id=c.place_id, description=c.description
        )
        ctx["similar"] = [s for s in service.similar(db, actor, query) if s.id != c.id]
    return view(request, "case/detail.html", ctx, status_code=status_code)


@router.get("/cases/{case_id}")
def case_page(
    request: Request,
    db: Db,
    actor: CurrentActor,
    case_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """A case and its public history ("you said, we did"); the reporter is never shown."""
    response = _case_page(request, db, actor, case_id, done=done)
    if not actor.is_anonymous:
        response.headers["Cache-Control"] = "no-store"
    return response


def _back_to_case(case_id: int, done: str) -> Response:
    return RedirectResponse(f"/cases/{case_id}?done={done}#history", status_code=303)


@router.post("/cases/{case_id}/rating")
def case_rate(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    rating: Annotated[str, Form(max_length=4)] = "",
    comment: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The reporter rates the resolution."""
    value = _int(rating)
    if value is None or not 1 <= value <= 5 or len(comment) > 2000:
        errors = {"rating": _("Choose how satisfied you are, from 1 to 5.")}
        return _case_page(request, db, actor, case_id, errors=errors, status_code=422)
    service.rate(db, actor, case_id, value, comment)
    db.commit()
    return _back_to_case(case_id, "rated")


@router.post("/cases/{case_id}/comments")
def case_comment(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    text: Annotated[str, Form(max_length=8000)] = "",
) -> Response:
    """A public comment."""
    if not 1 <= len(text.strip()) <= 4000:
        errors = {"text": _("Write a comment of 1 to 4000 characters.")}
        return _case_page(request, db, actor, case_id, errors=errors, status_code=422)
    service.comment(db, actor, case_id, text)
    db.commit()
    return _back_to_case(case_id, "commented")


@router.post("/cases/{case_id}/follow")
def case_follow(
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    on: Annotated[str, Form(max_length=2)] = "1",
) -> Response:
    """Follow or stop following the case."""
    if on == "1":
        service.follow(db, actor, case_id)
    else:
        service.unfollow(db, actor, case_id)
    db.commit()
    return _back_to_case(case_id, "followed" if on == "1" else "unfollowed")


@router.post("/cases/{case_id}/reopen")
def case_reopen(
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    text: Annotated[str, Form(max_length=4000)] = "",
) -> Response:
    """The problem is back."""
    service.reopen(db, actor, case_id, text)
    db.commit()
    return _back_to_case(case_id, "reopened")


@router.post("/cases/{case_id}/close")
def case_close(db: Db, actor: LoggedIn, case_id: PathId) -> Response:
    """The reporter (or staff) closes a resolved case."""
    service.close(db, actor, case_id)
    db.commit()
    return _back_to_case(case_id, "closed")


@router.post("/cases/{case_id}/photos")
async def case_photo(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    photo: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Add a photo (JPEG or PNG, metadata removed)."""
    data = await photo.read(MAX_BYTES + 1) if photo is not None else b""
    try:
        if not data:
            raise ValidationFailed(_("Choose a photo to add."))
        service.add_photo(db, actor, case_id, data)
    except (ValidationFailed, consent.ConsentRequired) as exc:
        db.rollback()
        return _case_page(
            request, db, actor, case_id, errors={"photo": exc.message}, status_code=422
        )
    db.commit()
    return _back_to_case(case_id, "photo")


@router.get("/cases/{case_id}/photos/{photo_id}")
def case_photo_file(db: Db, actor: CurrentActor, case_id: PathId, photo_id: PathId) -> Response:
    """A photo, only to those who may see the case."""
    photo = service.get_photo(db, actor, case_id, photo_id)
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )


# --- the staff console ----------------------------------------------------------------------


@router.get("/console/cases")
def queue_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Open cases by SLA risk: overdue first, then the nearest deadline."""
    _require_queue(actor)
    params = PageParams(page=page, size=PAGE_SIZE)
    result = service.queue(db, actor, params)
    categories = service.category_map(db)
    ctx = {
        "items": result.items,
        "pager": shell.pager(request, params, result.total),
        "statuses": STATUS_LABELS,
        "categories": {k: service.category_name(v) for k, v in categories.items()},
        "places": {c.place_id: service.place_label(db, c.place_id) for c in result.items},
    }
    return view(request, "case/queue.html", ctx)


def _console_page(
    request: Request,
    db: Session,
    actor: Actor,
    case_id: int,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    ctx = _case_context(db, actor, case_id)
    c = ctx["c"]
    if not c.can_handle and not service.may_work_any(actor):
        raise NotFound(_("No such case."))
    people = service.assignable_ids(db, actor, case_id) if c.can_handle else []
    assigned = [c.assignee_account_id] if c.assignee_account_id else []
    names = service.account_names(db, people + assigned)
    ctx.update(
        done=_(DONE_MESSAGES[done]) if done in DONE_MESSAGES else "",
        errors=errors or {},
        values=values or {},
        people=[(pid, names[pid]) for pid in people],
        assignee=names.get(c.assignee_account_id or 0, ""),
        category_options=_category_options(db),
        is_open=c.status in ("submitted", "triaged", "assigned", "in_progress"),
    )
    return view(request, "case/console.html", ctx, status_code=status_code)


@router.get("/console/cases/{case_id}")
def console_case(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """One case for staff: the full history with internal notes, and the forms to work it."""
    _require_queue(actor)
    return _console_page(request, db, actor, case_id, done=done)


@router.post("/console/cases/{case_id}/{action}")
def console_action(
    request: Request,
    db: Db,
    actor: LoggedIn,
    case_id: PathId,
    action: str,
    text: Annotated[str, Form(max_length=8000)] = "",
    account_id: Annotated[str, Form(max_length=12)] = "",
    category_id: Annotated[str, Form(max_length=12)] = "",
    referred_to: Annotated[str, Form(max_length=400)] = "",
    duplicate_of: Annotated[str, Form(max_length=24)] = "",
) -> Response:
    """Triage, assign, start, resolve, refer, mark duplicate, add a note, close, reopen."""
    _require_queue(actor)
    values = {"text": text, "referred_to": referred_to, "duplicate_of": duplicate_of}
    error_field = {"resolve": "text", "refer": "referred_to"}.get(action, action)
    try:
        if action == "triage":
            service.triage(db, actor, case_id, category_id=_int(category_id))
        elif action == "assign":
            person = _int(account_id)
            if person is None:
                raise ValidationFailed(_("Choose someone who works on cases at this place."))
            service.assign(db, actor, case_id, person)
        elif action == "start":
            service.start(db, actor, case_id)
        elif action == "resolve":
            if not 1 <= len(text.strip()) <= 4000:
                raise ValidationFailed(_("Write what was done; the reply is shown publicly."))
            service.resolve(db, actor, case_id, text)
        elif action == "refer":
            if not 1 <= len(referred_to.strip()) <= 200:
                raise ValidationFailed(_("Say to whom the case was referred."))
            service.refer(db, actor, case_id, referred_to, text[:4000])
        elif action == "duplicate":
            other = service.case_id_of(db, duplicate_of)
            if other is None:
                raise ValidationFailed(
                    _("Enter the number of an existing case, such as C2611-1A2B3C.")
                )
            service.mark_duplicate(db, actor, case_id, other)
        elif action == "note":
            if not 1 <= len(text.strip()) <= 4000:
                raise ValidationFailed(_("Write a note of 1 to 4000 characters."))
            service.note(db, actor, case_id, text)
        elif action == "close":
            service.close(db, actor, case_id)
        elif action == "reopen":
            service.reopen(db, actor, case_id, text[:4000])
        else:
            raise NotFound(_("No such page."))
    except ValidationFailed as exc:
        db.rollback()
        return _console_page(
            request,
            db,
            actor,
            case_id,
            errors={error_field: exc.message},
            values=values,
            status_code=422,
        )
    db.commit()
    done = {
        "start": "started",
        "resolve": "resolved",
        "refer": "referred",
        "note": "noted",
        "close": "closed",
        "reopen": "reopened",
    }.get(action, action if action != "triage" else "triaged")
    if action == "assign":
        done = "assigned"
    return RedirectResponse(f"{QUEUE}/{case_id}?done={done}", status_code=303)
