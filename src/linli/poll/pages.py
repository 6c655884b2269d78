"""Poll pages: residents' list, vote (one question per screen), receipt and its check, results
(public when the poll says so), and the staff console to set up, open, close, record paper
ballots and read results."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from linli.core import ratelimit
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.poll import service
from linli.poll.schemas import PaperBallot, PollCreate, PollResults
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import CsrfChecked, CurrentActor, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

Text = Annotated[str, Form()]
PAGE_SIZE = 50
NO_STORE = {"Cache-Control": "no-store"}

ELECTORATE_LABELS = {
    "adult_residents": N_("Every adult resident"),
    "one_per_household": N_("One vote per household"),
    "owners_by_area": N_("Owners, weighted by floor area (Civil Code art. 278)"),
}
MATTER_LABELS = {
    "ordinary": N_("Ordinary matter: more than half of the participating area and owners"),
    "major": N_("Major matter: at least three quarters of the participating area and owners"),
}
STATUS_LABELS = {"draft": N_("Draft"), "open": N_("Open for voting"), "closed": N_("Closed")}
VIA_LABELS = {"paper": N_("Paper ballot"), "assisted": N_("Assisted at the desk")}


def _labels() -> dict[str, dict[str, str]]:
    return {
        "electorate": {k: _(v) for k, v in ELECTORATE_LABELS.items()},
        "matter": {k: _(v) for k, v in MATTER_LABELS.items()},
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
        "via": {k: _(v) for k, v in VIA_LABELS.items()},
    }


def _require_manage(actor: LoggedIn) -> None:
    if not service.may_manage_any(actor):
        raise PermissionDenied(_("You may not manage polls."))


# --- residents ------------------------------------------------------------------------------


@router.get("/polls")
def poll_list(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The polls of the places where the resident lives."""
    found = service.list_polls(db, actor, PageParams(page=1, size=PAGE_SIZE))
    return view(request, "poll/list.html", {"polls": found.items, "pl": _labels()})


@router.get("/polls/{poll_id:int}")
def poll_page(request: Request, db: Db, actor: LoggedIn, poll_id: PathId) -> Response:
    """One poll: its one question and the choices, or that the resident has voted."""
    poll = service.get(db, actor, poll_id)
    mine = service.my_vote(db, actor, poll_id)
    db.commit()  # the audited eligibility read
    return view(
        request, "poll/vote.html", {"poll": poll, "mine": mine, "pl": _labels(), "error": ""}
    )


@router.post("/polls/{poll_id:int}/vote")
def poll_vote(
    request: Request, db: Db, actor: LoggedIn, poll_id: PathId, option_id: Text = ""
) -> Response:
    """Cast the ballot and show the receipt, once."""
    limits.enforce(db, actor, ratelimit.POLL_VOTE_ACCOUNT)
    poll = service.get(db, actor, poll_id)
    if not option_id.isdigit():
        mine = service.my_vote(db, actor, poll_id)
        db.rollback()
        return view(
            request,
            "poll/vote.html",
            {"poll": poll, "mine": mine, "pl": _labels(), "error": _("Choose one answer.")},
            status_code=422,
        )
    receipt = service.vote(db, actor, poll_id, int(option_id))
    db.commit()
    return view(
        request, "poll/receipt.html", {"poll": poll, "receipt": receipt.receipt}, headers=NO_STORE
    )


@router.get("/polls/{poll_id:int}/check")
def receipt_form(request: Request, db: Db, actor: LoggedIn, poll_id: PathId) -> Response:
    """A form to check that a receipt's ballot is counted."""
    poll = service.get(db, actor, poll_id)
    return view(request, "poll/check.html", {"poll": poll, "counted": None})


@router.post("/polls/{poll_id:int}/check")
def receipt_check(
    request: Request, db: Db, actor: LoggedIn, poll_id: PathId, receipt: Text = ""
) -> Response:
    """Whether the ballot with this receipt is among those counted."""
    poll = service.get(db, actor, poll_id)
    counted = service.check_receipt(db, actor, poll_id, receipt.strip()[:200]).counted
    return view(request, "poll/check.html", {"poll": poll, "counted": counted}, headers=NO_STORE)


@router.get("/polls/{poll_id:int}/results")
def results_page(request: Request, db: Db, actor: CurrentActor, poll_id: PathId) -> Response:
    """Results after close: to those who may see the poll, to everyone when it is public."""
    results: PollResults
    if actor.is_anonymous:
        results = service.public_results(db, poll_id)
    else:
        try:
            results = service.results(db, actor, poll_id)
        except LinliError as exc:
            if exc.status_code != 404:
                raise
            results = service.public_results(db, poll_id)
    return view(request, "poll/results.html", {"r": results, "pl": _labels()})


# --- staff console --------------------------------------------------------------------------


@router.get("/console/polls")
def console_list(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Polls of the staff member's places, drafts included."""
    _require_manage(actor)
    found = service.list_polls(db, actor, PageParams(page=1, size=PAGE_SIZE))
    return view(request, "poll/console_list.html", {"polls": found.items, "pl": _labels()})


def _new_form(
    request: Request, db: Db, actor: LoggedIn, values: dict[str, str], error: str, status: int
) -> Response:
    return view(
        request,
        "poll/console_new.html",
        {
            "places": service.manageable_places(db, actor),
            "values": values,
            "error": error,
            "pl": _labels(),
        },
        status_code=status,
    )


@router.get("/console/polls/new")
def console_new(request: Request, db: Db, actor: LoggedIn) -> Response:
    _require_manage(actor)
    return _new_form(request, db, actor, {}, "", 200)


@router.post("/console/polls/new")
def console_create(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Text = "",
    title: Text = "",
    description: Text = "",
    options: Text = "",
    electorate: Text = "adult_residents",
    matter: Text = "ordinary",
    ballot_kind: Text = "",
    public_results: Text = "",
) -> Response:
    """Set up a draft poll; on a mistake, the form again with the answers kept."""
    _require_manage(actor)
    values = {
        "place_id": place_id,
        "title": title,
        "description": description,
        "options": options,
        "electorate": electorate,
        "matter": matter,
        "ballot_kind": ballot_kind,
        "public_results": public_results,
    }
    is_secret = ballot_kind != "open"
    try:
        data = PollCreate.model_validate(
            {
                "place_id": place_id or 0,
                "title": title.strip(),
                "description": description.strip(),
                "options": [line for line in options.splitlines() if line.strip()],
                "electorate": electorate,
                "matter": matter,
                "secret": is_secret,
                "public_results": public_results == "1",
            }
        )
    except ValidationError:
        message = _(
            "Check the poll: a place, a title and two to twenty different answers, one a line."
        )
        return _new_form(request, db, actor, values, message, 422)
    poll = service.create(db, actor, data)
    db.commit()
    return RedirectResponse(f"/console/polls/{poll.id}", status_code=303)


@router.get("/console/polls/{poll_id:int}")
def console_poll(
    request: Request, db: Db, actor: LoggedIn, poll_id: PathId, done: str = ""
) -> Response:
    """One poll for staff: open, close, record a paper ballot, read results."""
    _require_manage(actor)
    poll = service.get(db, actor, poll_id)
    return view(
        request,
        "poll/console_poll.html",
        {
            "poll": poll,
            "pl": _labels(),
            "done": done if done in ("opened", "closed", "recorded") else "",
            "can_manage": service.can_manage(actor, poll, db),
        },
    )


@router.post("/console/polls/{poll_id:int}/open")
def console_open(db: Db, actor: LoggedIn, poll_id: PathId) -> Response:
    _require_manage(actor)
    service.open_poll(db, actor, poll_id)
    db.commit()
    return RedirectResponse(f"/console/polls/{poll_id}?done=opened", status_code=303)


@router.post("/console/polls/{poll_id:int}/close")
def console_close(db: Db, actor: LoggedIn, poll_id: PathId) -> Response:
    _require_manage(actor)
    service.close_poll(db, actor, poll_id)
    db.commit()
    return RedirectResponse(f"/console/polls/{poll_id}?done=closed", status_code=303)


@router.post("/console/polls/{poll_id:int}/paper")
def console_paper(
    request: Request,
    db: Db,
    actor: LoggedIn,
    poll_id: PathId,
    resident_id: Text = "",
    option_id: Text = "",
    via: Text = "paper",
) -> Response:
    """Record a paper or assisted ballot; the receipt is handed to the resident once."""
    _require_manage(actor)
    poll = service.get(db, actor, poll_id)
    try:
        data = PaperBallot.model_validate(
            {"resident_id": resident_id or 0, "option_id": option_id or 0, "via": via}
        )
    except ValidationError:
        return view(
            request,
            "poll/console_poll.html",
            {
                "poll": poll,
                "pl": _labels(),
                "done": "",
                "can_manage": True,
                "error": _("Give the resident's number and one answer."),
            },
            status_code=422,
        )
    receipt = service.record_paper(db, actor, poll_id, data)
    db.commit()
    return view(
        request, "poll/receipt.html", {"poll": poll, "receipt": receipt.receipt}, headers=NO_STORE
    )
