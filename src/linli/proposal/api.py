"""JSON API of suggestions: list, details, propose, support, withdraw, answer, moderate."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from linli.core import ratelimit
from linli.core.pagination import Page, PageParams
from linli.proposal import service
from linli.proposal.schemas import (
    AnswerCreate,
    HideCreate,
    ProposalCreate,
    ProposalDetail,
    ProposalFilter,
    ProposalRead,
    SettingRead,
    SettingUpdate,
)
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["proposals"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
Filters = Annotated[ProposalFilter, Depends()]


def _detail(db: Db, actor: LoggedIn, proposal_id: int) -> ProposalDetail:
    return service.get(db, actor, proposal_id)


@router.get("/proposals", response_model=Page[ProposalRead])
def list_proposals(db: Db, actor: LoggedIn, paging: Paging, filters: Filters) -> Page[ProposalRead]:
    """Suggestions of the places the caller belongs to or works for, newest first.

    ``status=awaiting`` lists those still owed an answer. The author is never shown.
    """
    return service.list_proposals(db, actor, filters, paging)


@router.post("/proposals", response_model=ProposalDetail, status_code=201)
def propose(db: Db, actor: LoggedIn, body: ProposalCreate) -> ProposalDetail:
    """Make a suggestion for one's community or a place in it (residents of that place)."""
    limits.enforce(db, actor, ratelimit.PROPOSAL_CREATE_ACCOUNT)
    p = service.propose(db, actor, body)
    db.commit()
    return _detail(db, actor, p.id)


@router.get("/proposal-settings", response_model=list[SettingRead])
def list_settings(db: Db, actor: LoggedIn) -> list[SettingRead]:
    """Thresholds and answer deadlines set for places the caller belongs to or works for."""
    return [SettingRead.model_validate(s) for s in service.list_rules(db, actor)]


@router.put("/proposal-settings", response_model=SettingRead)
def set_settings(db: Db, actor: LoggedIn, body: SettingUpdate) -> SettingRead:
    """Set the support threshold and the answer deadline (working days) for new suggestions."""
    setting = SettingRead.model_validate(service.set_rules(db, actor, body))
    db.commit()
    return setting


@router.get("/proposals/{proposal_id}", response_model=ProposalDetail)
def get_proposal(db: Db, actor: LoggedIn, proposal_id: PathId) -> ProposalDetail:
    """One suggestion with its public history."""
    return service.get(db, actor, proposal_id)


@router.post("/proposals/{proposal_id}/support", response_model=ProposalDetail)
def support(db: Db, actor: LoggedIn, proposal_id: PathId) -> ProposalDetail:
    """Support a suggestion (once per resident; 409 the second time)."""
    limits.enforce(db, actor, ratelimit.PROPOSAL_SUPPORT_ACCOUNT)
    service.support(db, actor, proposal_id)
    db.commit()
    return _detail(db, actor, proposal_id)


@router.delete("/proposals/{proposal_id}/support", response_model=ProposalDetail)
def withdraw_support(db: Db, actor: LoggedIn, proposal_id: PathId) -> ProposalDetail:
    """Take one's support back."""
    service.withdraw_support(db, actor, proposal_id)
    db.commit()
    return _detail(db, actor, proposal_id)


@router.post("/proposals/{proposal_id}/withdraw", response_model=ProposalDetail)
def withdraw(db: Db, actor: LoggedIn, proposal_id: PathId) -> ProposalDetail:
    """The author withdraws an unanswered suggestion."""
    service.withdraw(db, actor, proposal_id)
    db.commit()
    return _detail(db, actor, proposal_id)


@router.post("/proposals/{proposal_id}/answer", response_model=ProposalDetail)
def answer(db: Db, actor: LoggedIn, proposal_id: PathId, body: AnswerCreate) -> ProposalDetail:
    """The community's public answer (community staff and administrators of the place)."""
    service.answer(db, actor, proposal_id, body.text)
    db.commit()
    return _detail(db, actor, proposal_id)


@router.post("/proposals/{proposal_id}/hide", response_model=ProposalDetail)
def hide(db: Db, actor: LoggedIn, proposal_id: PathId, body: HideCreate) -> ProposalDetail:
    """Hide abusive content; the reason is shown publicly in its place."""
    service.hide(db, actor, proposal_id, body.reason)
    db.commit()
    return _detail(db, actor, proposal_id)


@router.post("/proposals/{proposal_id}/restore", response_model=ProposalDetail)
def restore(db: Db, actor: LoggedIn, proposal_id: PathId) -> ProposalDetail:
    """Show a hidden suggestion again."""
    service.restore(db, actor, proposal_id)
    db.commit()
    return _detail(db, actor, proposal_id)
