"""Pages of notices and emergency check-ins: residents read and answer, staff compose and watch."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.core.validation import MAX_ID
from linli.notice import service
from linli.notice.schemas import BroadcastCreate, NoticeCreate
from linli.web import shell, sse
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 20
CATEGORY_LABELS = {
    "general": N_("General"),
    "maintenance": N_("Maintenance"),
    "safety": N_("Safety"),
    "event": N_("Community event"),
    "health": N_("Health"),
}
ANSWER_LABELS = {
    "safe": N_("Safe"),
    "need_help": N_("Needs help"),
    "no_answer": N_("No answer yet"),
}
CAP_CATEGORY_LABELS = {
    "Safety": N_("Public safety"),
    "Fire": N_("Fire"),
    "Met": N_("Weather"),
    "Geo": N_("Earthquake or landslide"),
    "Health": N_("Health"),
    "Infra": N_("Water, power or gas"),
    "Env": N_("Pollution"),
    "Other": N_("Other"),
}
DONE = {
    "published": N_("The notice was published."),
    "started": N_("The check-in was sent to every resident of the area."),
    "recorded": N_("The answer was recorded."),
    "ended": N_("The check-in has ended."),
    "answered": N_("Thank you. Your answer was sent to the community."),
}
Text = Annotated[str, Form()]


def _staff(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_manage_any(actor):
        raise PermissionDenied(_("You may not publish notices."))


def _done(done: str) -> str:
    return _(DONE[done]) if done in DONE else ""


# --- residents ------------------------------------------------------------------------------


@router.get("/me/notices")
def my_notices(request: Request, db: Db, actor: LoggedIn, page: int = 1) -> Response:
    params = PageParams(page=max(1, min(page, 10_000)), size=PAGE_SIZE)
    found = service.list_notices(db, actor, params)
    checkins = [
        b for b in service.list_broadcasts(db, actor) if b.status == "active" and b.my_status
    ]
    return view(
        request,
        "notice/mine.html",
        {
            "notices": found.items,
            "pager": shell.pager(request, params, found.total),
            "checkins": checkins,
            "categories": CATEGORY_LABELS,
            "answers": ANSWER_LABELS,
        },
    )


@router.get("/me/notices/{notice_id}")
def my_notice(request: Request, db: Db, actor: LoggedIn, notice_id: PathId) -> Response:
    # Opening the notice is the read receipt.
    notice = service.mark_read(db, actor, notice_id)
    db.commit()
    return view(
        request,
        "notice/detail.html",
        {
            "n": notice,
            "categories": CATEGORY_LABELS,
            "place": service.place_label(db, notice.place_id),
        },
    )


def _answer_page(
    request: Request,
    db: Session,
    actor: Actor,
    emergency_id: int,
    *,
    done: str = "",
    status: int = 200,
) -> Response:
    b = service.get_broadcast(db, actor, emergency_id)
    return view(
        request,
        "notice/answer.html",
        {
            "b": b,
            "place": service.place_label(db, b.place_id),
            "answers": ANSWER_LABELS,
            "done": _done(done),
        },
        status_code=status,
    )


@router.get("/me/emergencies/{emergency_id}")
def answer_page(
    request: Request, db: Db, actor: LoggedIn, emergency_id: PathId, done: str = ""
) -> Response:
    return _answer_page(request, db, actor, emergency_id, done=done)


@router.post("/me/emergencies/{emergency_id}/answer")
def answer_submit(
    request: Request, db: Db, actor: LoggedIn, emergency_id: PathId, status: Text = ""
) -> Response:
    if status not in ("safe", "need_help"):
        return _answer_page(request, db, actor, emergency_id, status=422)
    service.answer(db, actor, emergency_id, status)
    db.commit()
    return RedirectResponse(f"/me/emergencies/{emergency_id}?done=answered", status_code=303)


# --- staff: notices -------------------------------------------------------------------------


@router.get("/console/notices")
def notices_console(
    request: Request, db: Db, actor: LoggedIn, page: int = 1, done: str = ""
) -> Response:
    _staff(actor)
    params = PageParams(page=max(1, min(page, 10_000)), size=PAGE_SIZE)
    found = service.list_notices(db, actor, params)
    receipts = {n.id: service.receipts(db, actor, n.id) for n in found.items}
    return view(
        request,
        "notice/console.html",
        {
            "notices": found.items,
            "receipts": receipts,
            "pager": shell.pager(request, params, found.total),
            "categories": CATEGORY_LABELS,
            "done": _done(done),
        },
    )


def _composer(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return view(
        request,
        "notice/new.html",
        {
            "form": form,
            "errors": errors,
            "places": service.target_places(db, actor),
            "categories": [(k, _(v)) for k, v in CATEGORY_LABELS.items()],
        },
        status_code=status,
    )


@router.get("/console/notices/new")
def notice_new(request: Request, db: Db, actor: LoggedIn) -> Response:
    _staff(actor)
    return _composer(request, db, actor, {"category": "general"}, {})


@router.post("/console/notices")
def notice_create(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Text = "",
    title: Text = "",
    body: Text = "",
    category: Text = "general",
    pinned: Text = "",
    publish_at: Text = "",
    expires_at: Text = "",
) -> Response:
    _staff(actor)
    form = {
        "place_id": place_id,
        "title": title,
        "body": body,
        "category": category,
        "pinned": pinned,
        "publish_at": publish_at,
        "expires_at": expires_at,
    }
    messages = {
        "place_id": _("Choose a place from the list."),
        "title": _("Write a title of 1 to 200 characters."),
        "body": _("The text may have at most 5000 characters."),
        "category": _("Choose a kind of notice from the list."),
        "publish_at": _("Enter a date and time, or leave it empty to publish now."),
        "expires_at": _("Enter a date and time after the publication, or leave it empty."),
        "": _("Check the form."),
    }
    try:
        data = NoticeCreate.model_validate(
            {
                "place_id": place_id or None,
                "title": title,
                "body": body,
                "category": category,
                "pinned": pinned == "1",
                "publish_at": publish_at or None,
                "expires_at": expires_at or None,
            }
        )
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        return _composer(request, db, actor, form, errors, 422)
    try:
        service.publish_notice(db, actor, data)
    except LinliError as exc:
        return _composer(request, db, actor, form, {"place_id": _(exc.message)}, exc.status_code)
    db.commit()
    return RedirectResponse("/console/notices?done=published", status_code=303)


# --- staff: emergencies ---------------------------------------------------------------------


@router.get("/console/emergencies")
def emergencies_console(request: Request, db: Db, actor: LoggedIn, done: str = "") -> Response:
    _staff(actor)
    managed = [b for b in service.list_broadcasts(db, actor) if b.my_status is None]
    return view(
        request,
        "notice/emergencies.html",
        {
            "broadcasts": managed,
            "places": {b.place_id: service.place_label(db, b.place_id) for b in managed},
            "done": _done(done),
        },
    )


def _start_form(
    request: Request,
    db: Session,
    actor: Actor,
    form: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    return view(
        request,
        "notice/start.html",
        {
            "form": form,
            "errors": errors,
            "places": service.target_places(db, actor),
            "categories": [(k, _(v)) for k, v in CAP_CATEGORY_LABELS.items()],
        },
        status_code=status,
    )


@router.get("/console/emergencies/new")
def emergency_new(request: Request, db: Db, actor: LoggedIn) -> Response:
    _staff(actor)
    return _start_form(request, db, actor, {"cap_category": "Safety"}, {})


@router.post("/console/emergencies")
def emergency_create(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Text = "",
    headline: Text = "",
    instruction: Text = "",
    cap_category: Text = "Safety",
) -> Response:
    _staff(actor)
    form = {
        "place_id": place_id,
        "headline": headline,
        "instruction": instruction,
        "cap_category": cap_category,
    }
    messages = {
        "place_id": _("Choose a place from the list."),
        "headline": _("Write what happened in 1 to 160 characters."),
        "instruction": _("The instruction may have at most 2000 characters."),
        "cap_category": _("Choose a kind of emergency from the list."),
        "": _("Check the form."),
    }
    if cap_category not in CAP_CATEGORY_LABELS:
        cap_category = "invalid"
    try:
        data = BroadcastCreate.model_validate(
            {
                "place_id": place_id or None,
                "headline": headline,
                "instruction": instruction,
                "cap_category": cap_category,
            }
        )
    except ValidationError as exc:
        return _start_form(request, db, actor, form, shell.field_errors(exc, messages), 422)
    try:
        broadcast = service.start_broadcast(db, actor, data)
    except LinliError as exc:
        return _start_form(request, db, actor, form, {"place_id": _(exc.message)}, exc.status_code)
    db.commit()
    return RedirectResponse(f"/console/emergencies/{broadcast.id}?done=started", status_code=303)


@router.get("/console/emergencies/{emergency_id}")
def emergency_board(
    request: Request, db: Db, actor: LoggedIn, emergency_id: PathId, done: str = ""
) -> Response:
    _staff(actor)
    board = service.board(db, actor, emergency_id)
    return view(
        request,
        "notice/board.html",
        {
            "board": board,
            "place": service.place_label(db, board.broadcast.place_id),
            "answers": ANSWER_LABELS,
            "done": _done(done),
            "texts": {
                "on": _("Live: answers appear here as they come in."),
                "off": _("The live connection was lost; reload the page to see new answers."),
                "changed": _(
                    "Answers updated: %(safe)s safe, %(help)s need help, %(none)s no answer."
                )
                % {"safe": "{safe}", "help": "{need_help}", "none": "{no_answer}"},
            },
        },
    )


@router.get("/console/emergencies/{emergency_id}/visits")
def emergency_visits(request: Request, db: Db, actor: LoggedIn, emergency_id: PathId) -> Response:
    """The lists of the board, for live refresh."""
    _staff(actor)
    board = service.board(db, actor, emergency_id)
    return view(request, "notice/_visits.html", {"board": board, "answers": ANSWER_LABELS})


@router.get("/console/emergencies/{emergency_id}/stream")
async def emergency_stream(db: Db, actor: LoggedIn, emergency_id: PathId) -> StreamingResponse:
    _staff(actor)
    service.counts(db, actor, emergency_id)  # 404 unless the actor manages it
    paths = service.managed_paths(actor)
    db.close()  # no session is held while the stream lasts
    return await sse.stream(
        service.TOPIC, "emergency", partial(service.event_visible, paths, emergency_id)
    )


@router.post("/console/emergencies/{emergency_id}/responses")
def emergency_record(
    db: Db,
    actor: LoggedIn,
    emergency_id: PathId,
    resident_id: Text = "",
    status: Text = "",
) -> Response:
    _staff(actor)
    if (
        not resident_id.isdigit()
        or not 1 <= int(resident_id) <= MAX_ID
        or status not in ("safe", "need_help")
    ):
        return RedirectResponse(f"/console/emergencies/{emergency_id}", status_code=303)
    service.record_answer(db, actor, emergency_id, int(resident_id), status)
    db.commit()
    return RedirectResponse(f"/console/emergencies/{emergency_id}?done=recorded", status_code=303)


@router.post("/console/emergencies/{emergency_id}/end")
def emergency_end(db: Db, actor: LoggedIn, emergency_id: PathId) -> Response:
    _staff(actor)
    service.end_broadcast(db, actor, emergency_id)
    db.commit()
    return RedirectResponse(f"/console/emergencies/{emergency_id}?done=ended", status_code=303)
