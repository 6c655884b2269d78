"""JSON API of notices and emergency check-ins."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from linli.core.pagination import Page, PageParams
from linli.notice import service
from linli.notice.schemas import (
    AnswerCreate,
    Board,
    BoardRow,
    BroadcastCreate,
    BroadcastOut,
    NoticeCreate,
    NoticeOut,
    ReceiptCounts,
    StaffAnswerCreate,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["notices"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]


@router.get("/notices", response_model=Page[NoticeOut])
def list_notices(db: Db, actor: LoggedIn, paging: Paging) -> Page[NoticeOut]:
    """Notices for the caller, pinned first: addressed to their home, or (staff) of their places."""
    return service.list_notices(db, actor, paging)


@router.post("/notices", response_model=NoticeOut, status_code=201)
def publish_notice(db: Db, actor: LoggedIn, body: NoticeCreate) -> NoticeOut:
    """Publish or schedule a notice to everyone living under a place (staff of that place)."""
    notice = NoticeOut.model_validate(service.publish_notice(db, actor, body))
    db.commit()
    return notice


@router.get("/notices/{notice_id}", response_model=NoticeOut)
def get_notice(db: Db, actor: LoggedIn, notice_id: PathId) -> NoticeOut:
    """One notice (without marking it read)."""
    return service.get_notice(db, actor, notice_id)


@router.post("/notices/{notice_id}/read", response_model=NoticeOut)
def mark_read(db: Db, actor: LoggedIn, notice_id: PathId) -> NoticeOut:
    """Record that the caller has read the notice (idempotent)."""
    notice = service.mark_read(db, actor, notice_id)
    db.commit()
    return notice


@router.get("/notices/{notice_id}/receipts", response_model=ReceiptCounts)
def receipts(db: Db, actor: LoggedIn, notice_id: PathId) -> ReceiptCounts:
    """How many residents' accounts under the notice's place have read it (staff)."""
    return service.receipts(db, actor, notice_id)


@router.get("/emergencies", response_model=list[BroadcastOut])
def list_emergencies(db: Db, actor: LoggedIn) -> list[BroadcastOut]:
    """Check-ins the caller was asked by or (staff) runs, newest first."""
    return service.list_broadcasts(db, actor)


@router.post("/emergencies", response_model=BroadcastOut, status_code=201)
def start_emergency(db: Db, actor: LoggedIn, body: BroadcastCreate) -> BroadcastOut:
    """Start an emergency check-in: every resident under the place is asked, at once."""
    broadcast = BroadcastOut.model_validate(service.start_broadcast(db, actor, body))
    db.commit()
    return broadcast


@router.get("/emergencies/{emergency_id}", response_model=BroadcastOut)
def get_emergency(db: Db, actor: LoggedIn, emergency_id: PathId) -> BroadcastOut:
    """One check-in, with the caller's own answer when they were asked."""
    return service.get_broadcast(db, actor, emergency_id)


@router.post("/emergencies/{emergency_id}/answer", response_model=BoardRow)
def answer(db: Db, actor: LoggedIn, emergency_id: PathId, body: AnswerCreate) -> BoardRow:
    """The caller's own answer: ``safe`` or ``need_help``. 409 once the check-in has ended."""
    row = service.answer(db, actor, emergency_id, body.status, body.note)
    db.commit()
    return row


@router.post("/emergencies/{emergency_id}/responses", response_model=BoardRow)
def record_answer(
    db: Db, actor: LoggedIn, emergency_id: PathId, body: StaffAnswerCreate
) -> BoardRow:
    """Staff record a resident's answer after a visit or a call (audited)."""
    row = service.record_answer(db, actor, emergency_id, body.resident_id, body.status, body.note)
    db.commit()
    return row


@router.post("/emergencies/{emergency_id}/end", response_model=BroadcastOut)
def end_emergency(db: Db, actor: LoggedIn, emergency_id: PathId) -> BroadcastOut:
    """End the check-in: answers are closed and the CAP alert becomes a Cancel."""
    broadcast = BroadcastOut.model_validate(service.end_broadcast(db, actor, emergency_id))
    db.commit()
    return broadcast


@router.get("/emergencies/{emergency_id}/board", response_model=Board)
def emergency_board(db: Db, actor: LoggedIn, emergency_id: PathId) -> Board:
    """Counts of answers and who must be visited: need help first, then no answer (staff)."""
    return service.board(db, actor, emergency_id)
