"""JSON API of polls: set up, open, close, vote, paper ballots, results and receipt checks."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path

from linli.core import ratelimit
from linli.core.pagination import Page, PageParams
from linli.poll import service
from linli.poll.schemas import (
    MyVote,
    PaperBallot,
    PollCreate,
    PollRead,
    PollResults,
    Receipt,
    ReceiptCheck,
    VoteCast,
)
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["polls"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
ReceiptToken = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/polls", response_model=Page[PollRead])
def list_polls(db: Db, actor: LoggedIn, paging: Paging) -> Page[PollRead]:
    """Polls the caller may see: staff over their places, residents where they live."""
    return service.list_polls(db, actor, paging)


@router.post("/polls", response_model=PollRead, status_code=201)
def create_poll(db: Db, actor: LoggedIn, body: PollCreate) -> PollRead:
    """Set up a draft poll at a place."""
    poll = service.create(db, actor, body)
    db.commit()
    return service.to_read(db, poll)


@router.get("/polls/{poll_id}", response_model=PollRead)
def get_poll(db: Db, actor: LoggedIn, poll_id: PathId) -> PollRead:
    return service.get(db, actor, poll_id)


@router.post("/polls/{poll_id}/open", response_model=PollRead)
def open_poll(db: Db, actor: LoggedIn, poll_id: PathId) -> PollRead:
    """Open a draft poll; the electorate is counted now."""
    poll = service.open_poll(db, actor, poll_id)
    db.commit()
    return service.to_read(db, poll)


@router.post("/polls/{poll_id}/close", response_model=PollRead)
def close_poll(db: Db, actor: LoggedIn, poll_id: PathId) -> PollRead:
    """Close an open poll; results are published to those who may see it."""
    poll = service.close_poll(db, actor, poll_id)
    db.commit()
    return service.to_read(db, poll)


@router.post("/polls/{poll_id}/vote", response_model=Receipt, status_code=201)
def vote(db: Db, actor: LoggedIn, poll_id: PathId, body: VoteCast) -> Receipt:
    """Cast one ballot; the receipt is shown only in this answer. 409 when already voted."""
    limits.enforce(db, actor, ratelimit.POLL_VOTE_ACCOUNT)
    receipt = service.vote(db, actor, poll_id, body.option_id)
    db.commit()
    return receipt


@router.post("/polls/{poll_id}/paper-ballots", response_model=Receipt, status_code=201)
def record_paper(db: Db, actor: LoggedIn, poll_id: PathId, body: PaperBallot) -> Receipt:
    """Staff record a paper or assisted ballot for a resident (audited, choice not logged)."""
    receipt = service.record_paper(db, actor, poll_id, body)
    db.commit()
    return receipt


@router.get("/polls/{poll_id}/my-vote", response_model=MyVote)
def my_vote(db: Db, actor: LoggedIn, poll_id: PathId) -> MyVote:
    """Whether the caller may vote and has voted (never the choice)."""
    answer = service.my_vote(db, actor, poll_id)
    db.commit()  # the audited eligibility read
    return answer


@router.get("/polls/{poll_id}/results", response_model=PollResults)
def results(db: Db, actor: LoggedIn, poll_id: PathId) -> PollResults:
    """Counts, weights, turnout and quorum; 409 until the poll is closed."""
    return service.results(db, actor, poll_id)


@router.get("/polls/{poll_id}/receipts/{receipt}", response_model=ReceiptCheck)
def check_receipt(db: Db, actor: LoggedIn, poll_id: PathId, receipt: ReceiptToken) -> ReceiptCheck:
    """Whether the ballot with this receipt is counted in the published tally."""
    return service.check_receipt(db, actor, poll_id, receipt)
