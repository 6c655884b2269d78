"""Suggestion pages: the public list and details, the resident's form and support buttons,
and the staff console (awaiting an answer by deadline, the answer and moderation forms)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.errors import PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.proposal import service
from linli.proposal.schemas import AnswerCreate, HideCreate, ProposalCreate, ProposalFilter
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import CsrfChecked, CurrentActor, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20
STATUS_LABELS = {
    "open": N_("Collecting support"),
    "threshold_reached": N_("Awaiting the community's answer"),
    "answered": N_("Answered by the community"),
    "withdrawn": N_("Withdrawn by its author"),
    "hidden": N_("Hidden by the community"),
}
EVENT_LABELS = {
    "created": N_("Suggested"),
    "threshold_reached": N_("Enough support: an answer is owed"),
    "overdue": N_("Answer overdue"),
    "answered": N_("Answered by the community"),
    "hidden": N_("Hidden by the community"),
    "restored": N_("Shown again"),
    "withdrawn": N_("Withdrawn by its author"),
}
FILTERS = {
    "": N_("All suggestions"),
    "awaiting": N_("Waiting for an answer"),
    "answered": N_("Answered by the community"),
}
STEPS = ("place_id", "title", "body")
Done = Annotated[str, Query(max_length=16)]


def _common() -> dict[str, Any]:
    return {"status_labels": STATUS_LABELS, "event_labels": EVENT_LABELS}


# --- public ------------------------------------------------------------------------------


@router.get("/proposals")
def public_list(
    request: Request,
    db: Db,
    actor: CurrentActor,
    status: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Every suggestion, newest first, with its status, support and answer; no authors."""
    if status not in FILTERS:
        status = ""
    params = PageParams(page=page, size=PAGE_SIZE)
    flt = ProposalFilter.model_validate({"status": status or None})
    found = service.public_list(db, actor, flt, params)
    return view(
        request,
        "proposal/list.html",
        {
            **_common(),
            "rows": found.items,
            "pager": shell.pager(request, params, found.total),
            "status": status,
            "filters": [(k, _(v)) for k, v in FILTERS.items()],
            "can_propose": bool(service.proposal_places(db, actor)),
        },
    )


def _detail_page(
    request: Request,
    db: Session,
    actor: Actor,
    proposal_id: int,
    *,
    done: str = "",
    status_code: int = 200,
) -> Response:
    p = service.public_get(db, actor, proposal_id)
    path = service.place_path_of(db, proposal_id)
    return view(
        request,
        "proposal/detail.html",
        {
            **_common(),
            "p": p,
            "done": done,
            "may_support": service.may_support(db, actor, proposal_id),
            "may_answer": service.can_answer(actor, path),
        },
        status_code=status_code,
    )


@router.get("/proposals/{proposal_id}")
def public_detail(
    request: Request, db: Db, actor: CurrentActor, proposal_id: PathId, done: Done = ""
) -> Response:
    """One suggestion: its text (or why it was hidden), support, deadline, answer, history."""
    return _detail_page(request, db, actor, proposal_id, done=done)


@router.post("/proposals/{proposal_id}/support")
def support(db: Db, actor: LoggedIn, proposal_id: PathId) -> Response:
    """Support the suggestion, then come back to it."""
    limits.enforce(db, actor, ratelimit.PROPOSAL_SUPPORT_ACCOUNT)
    service.support(db, actor, proposal_id)
    db.commit()
    return RedirectResponse(f"/proposals/{proposal_id}?done=supported", status_code=303)


@router.post("/proposals/{proposal_id}/unsupport")
def unsupport(db: Db, actor: LoggedIn, proposal_id: PathId) -> Response:
    """Take one's support back, then come back to the suggestion."""
    service.withdraw_support(db, actor, proposal_id)
    db.commit()
    return RedirectResponse(f"/proposals/{proposal_id}?done=unsupported", status_code=303)


@router.post("/proposals/{proposal_id}/withdraw")
def withdraw(db: Db, actor: LoggedIn, proposal_id: PathId) -> Response:
    """The author takes the suggestion back."""
    service.withdraw(db, actor, proposal_id)
    db.commit()
    return RedirectResponse(f"/proposals/{proposal_id}?done=withdrawn", status_code=303)


# --- the resident's form ------------------------------------------------------------------


def _messages() -> dict[str, str]:
    return {
        "place_id": _("Choose one of the places in the list."),
        "title": _("Write a title of 4 to 200 characters."),
        "body": _("Describe your suggestion in 10 to 5000 characters."),
        "": _("Check the suggestion and try again."),
    }


def _check(
    form: dict[str, str], asked: tuple[str, ...], places: list[tuple[int, str]]
) -> dict[str, str]:
    """Errors of the fields asked so far (the others get stand-ins that pass)."""
    stand_in = {"place_id": "1", "title": "xxxx", "body": "x" * 10}
    data = {k: form[k] if k in asked else stand_in[k] for k in STEPS}
    errors: dict[str, str] = {}
    try:
        ProposalCreate.model_validate(data)
    except ValidationError as exc:
        errors = {k: v for k, v in shell.field_errors(exc, _messages()).items() if k in asked}
    known = {str(i) for i, _label in places}
    if "place_id" in asked and "place_id" not in errors and form["place_id"] not in known:
        errors["place_id"] = _messages()["place_id"]
    return errors


def _form_page(
    request: Request,
    places: list[tuple[int, str]],
    form: dict[str, str],
    *,
    step: str,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    return view(
        request,
        "proposal/new.html",
        {
            "places": places,
            "form": form,
            "step": step,
            "step_no": STEPS.index(step) + 1,
            "steps": len(STEPS),
            "errors": errors or {},
            # After a POST the language and elder switches come back to the form, not the POST.
            "next_path": "/me/proposals/new",
        },
        status_code=status_code,
    )


def _require_places(db: Session, actor: Actor) -> list[tuple[int, str]]:
    places = service.proposal_places(db, actor)
    if not places:
        raise PermissionDenied("Only residents can make and support suggestions.")
    return places


@router.get("/me/proposals/new")
def new_form(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The form for a new suggestion (in elder mode one question per screen)."""
    places = _require_places(db, actor)
    form = {"place_id": str(places[0][0]) if len(places) == 1 else "", "title": "", "body": ""}
    return _form_page(request, places, form, step=STEPS[0])


@router.post("/me/proposals/new")
def new_submit(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Annotated[str, Form(max_length=12)] = "",
    title: Annotated[str, Form(max_length=400)] = "",
    body: Annotated[str, Form(max_length=10000)] = "",
    step: Annotated[str, Form(max_length=16)] = "",
) -> Response:
    """Check the answers; in elder mode go to the next question, else make the suggestion."""
    places = _require_places(db, actor)
    form = {"place_id": place_id.strip(), "title": title.strip(), "body": body.strip()}
    elder = bool(getattr(request.state, "elder", False))
    asked = STEPS[: STEPS.index(step) + 1] if elder and step in STEPS else STEPS
    errors = _check(form, asked, places)
    if errors:
        first = next(s for s in STEPS if s in errors)
        return _form_page(
            request,
            places,
            form,
            step=first if elder else STEPS[0],
            errors=errors,
            status_code=422,
        )
    if len(asked) < len(STEPS):
        return _form_page(request, places, form, step=STEPS[len(asked)])
    limits.enforce(db, actor, ratelimit.PROPOSAL_CREATE_ACCOUNT)
    p = service.propose(db, actor, ProposalCreate.model_validate(form))
    db.commit()
    return RedirectResponse(f"/proposals/{p.id}?done=proposed", status_code=303)


# --- the staff console -------------------------------------------------------------------


def _require_staff(actor: Actor) -> None:
    if not service.may_answer_any(actor):
        raise PermissionDenied("You may not answer or moderate suggestions here.")


@router.get("/console/proposals")
def console(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Suggestions waiting for an answer, the nearest deadline first."""
    _require_staff(actor)
    params = PageParams(page=page, size=PAGE_SIZE)
    found = service.awaiting_answer(db, actor, params)
    return view(
        request,
        "proposal/console.html",
        {**_common(), "rows": found.items, "pager": shell.pager(request, params, found.total)},
    )


def _manage_page(
    request: Request,
    db: Session,
    actor: Actor,
    proposal_id: int,
    *,
    done: str = "",
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    _require_staff(actor)
    original = service.original(db, actor, proposal_id)
    return view(
        request,
        "proposal/manage.html",
        {
            **_common(),
            "p": service.get(db, actor, proposal_id),
            "original": original,
            "done": done,
            "errors": errors or {},
            "values": values or {},
            "next_path": f"/console/proposals/{proposal_id}",
        },
        status_code=status_code,
    )


@router.get("/console/proposals/{proposal_id}")
def manage(
    request: Request, db: Db, actor: LoggedIn, proposal_id: PathId, done: Done = ""
) -> Response:
    """Answer a suggestion, hide it with a reason, or show it again."""
    return _manage_page(request, db, actor, proposal_id, done=done)


@router.post("/console/proposals/{proposal_id}/answer")
def answer_submit(
    request: Request,
    db: Db,
    actor: LoggedIn,
    proposal_id: PathId,
    text: Annotated[str, Form(max_length=10000)] = "",
) -> Response:
    """Publish the community's answer."""
    _require_staff(actor)
    try:
        data = AnswerCreate.model_validate({"text": text})
    except ValidationError:
        errors = {"text": _("Write an answer of 10 to 5000 characters.")}
        return _manage_page(
            request, db, actor, proposal_id, errors=errors, values={"text": text}, status_code=422
        )
    service.answer(db, actor, proposal_id, data.text)
    db.commit()
    return RedirectResponse(f"/console/proposals/{proposal_id}?done=answered", status_code=303)


@router.post("/console/proposals/{proposal_id}/hide")
def hide_submit(
    request: Request,
    db: Db,
    actor: LoggedIn,
    proposal_id: PathId,
    reason: Annotated[str, Form(max_length=1000)] = "",
) -> Response:
    """Hide the suggestion's text; the reason is shown publicly instead."""
    _require_staff(actor)
    try:
        data = HideCreate.model_validate({"reason": reason})
    except ValidationError:
        errors = {"reason": _("Give a reason of 4 to 500 characters; it is shown publicly.")}
        return _manage_page(
            request,
            db,
            actor,
            proposal_id,
            errors=errors,
            values={"reason": reason},
            status_code=422,
        )
    service.hide(db, actor, proposal_id, data.reason)
    db.commit()
    return RedirectResponse(f"/console/proposals/{proposal_id}?done=hidden", status_code=303)


@router.post("/console/proposals/{proposal_id}/restore")
def restore_submit(db: Db, actor: LoggedIn, proposal_id: PathId) -> Response:
    """Show a hidden suggestion again."""
    _require_staff(actor)
    service.restore(db, actor, proposal_id)
    db.commit()
    return RedirectResponse(f"/console/proposals/{proposal_id}?done=restored", status_code=303)
