"""JSON API of cases: report, read, the staff queue, the lifecycle, follow, comment, photos."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from linli.case import service
from linli.case.photos import MAX_BYTES
from linli.case.schemas import (
    AssignBody,
    CaseCreate,
    CaseDetail,
    CaseEventRead,
    CaseFilter,
    CaseRead,
    CategoryRead,
    DuplicateBody,
    OptionalReply,
    RateBody,
    ReferBody,
    ReplyBody,
    SimilarCase,
    SimilarQuery,
    TriageBody,
)
from linli.core import ratelimit
from linli.core.errors import ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.pagination import Page, PageParams
from linli.web import ratelimit as limits
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["cases"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
Filters = Annotated[CaseFilter, Depends()]


def _read(db: Db, actor: LoggedIn, case_id: int) -> CaseRead:
    detail = service.get(db, actor, case_id)
    return CaseRead.model_validate(detail.model_dump(exclude={"timeline", "following"}))


@router.get("/case-categories", response_model=list[CategoryRead])
def list_categories(db: Db, actor: LoggedIn) -> list[CategoryRead]:
    """The kinds of problem a case can be, with the team and the deadline of each."""
    return service.categories(db)


@router.get("/cases", response_model=Page[CaseRead])
def list_cases(db: Db, actor: LoggedIn, paging: Paging, filters: Filters) -> Page[CaseRead]:
    """Cases the caller may see: their own, public ones, and those they work on."""
    return service.list_cases(db, actor, filters, paging)


@router.get("/cases/queue", response_model=Page[CaseRead])
def case_queue(db: Db, actor: LoggedIn, paging: Paging) -> Page[CaseRead]:
    """The staff queue: open cases, overdue first, then by the nearest deadline."""
    return service.queue(db, actor, paging)


@router.post("/similar-cases", response_model=list[SimilarCase])
def similar_cases(db: Db, actor: LoggedIn, body: SimilarQuery) -> list[SimilarCase]:
    """Open cases that may be the same problem (suggestions; reporting is never refused)."""
    return service.similar(db, actor, body)


@router.post("/cases", response_model=CaseRead, status_code=201)
def report_case(db: Db, actor: LoggedIn, body: CaseCreate) -> CaseRead:
    """Report a problem (a resident, or staff for a resident in assisted mode)."""
    limits.enforce(db, actor, ratelimit.CASE_REPORT_ACCOUNT)
    case = service.report(db, actor, body)
    read = service.to_read(actor, case)
    db.commit()
    return read


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(db: Db, actor: LoggedIn, case_id: PathId) -> CaseDetail:
    """One case with its history; internal notes only for those who handle it."""
    return service.get(db, actor, case_id)


@router.post("/cases/{case_id}/triage", response_model=CaseRead)
def triage(db: Db, actor: LoggedIn, case_id: PathId, body: TriageBody) -> CaseRead:
    """Accept a new case, correcting its category or whether it is public."""
    service.triage(db, actor, case_id, category_id=body.category_id, is_public=body.is_public)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/assign", response_model=CaseRead)
def assign(db: Db, actor: LoggedIn, case_id: PathId, body: AssignBody) -> CaseRead:
    """Give the case to someone who works on cases at its place."""
    service.assign(db, actor, case_id, body.account_id)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/start", response_model=CaseRead)
def start(db: Db, actor: LoggedIn, case_id: PathId) -> CaseRead:
    """Work on the case has begun."""
    service.start(db, actor, case_id)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/resolve", response_model=CaseRead)
def resolve(db: Db, actor: LoggedIn, case_id: PathId, body: ReplyBody) -> CaseRead:
    """Resolve with a public reply saying what was done."""
    service.resolve(db, actor, case_id, body.text)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/close", response_model=CaseRead)
def close(db: Db, actor: LoggedIn, case_id: PathId) -> CaseRead:
    """Close a resolved case."""
    service.close(db, actor, case_id)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/reopen", response_model=CaseRead)
def reopen(db: Db, actor: LoggedIn, case_id: PathId, body: OptionalReply) -> CaseRead:
    """The problem is back (the reporter within 14 days of resolution, or staff)."""
    service.reopen(db, actor, case_id, body.text)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/duplicate", response_model=CaseRead)
def duplicate(db: Db, actor: LoggedIn, case_id: PathId, body: DuplicateBody) -> CaseRead:
    """Mark the case as a duplicate of another."""
    service.mark_duplicate(db, actor, case_id, body.duplicate_of_id)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/refer", response_model=CaseRead)
def refer(db: Db, actor: LoggedIn, case_id: PathId, body: ReferBody) -> CaseRead:
    """Not ours: referred to another body (shown as referred, not as fixed)."""
    service.refer(db, actor, case_id, body.referred_to, body.text)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/rating", response_model=CaseRead)
def rate(db: Db, actor: LoggedIn, case_id: PathId, body: RateBody) -> CaseRead:
    """The reporter's satisfaction with the resolution (1–5), once."""
    service.rate(db, actor, case_id, body.rating, body.comment)
    db.commit()
    return _read(db, actor, case_id)


@router.post("/cases/{case_id}/comments", response_model=CaseEventRead, status_code=201)
def add_comment(db: Db, actor: LoggedIn, case_id: PathId, body: ReplyBody) -> CaseEventRead:
    """A public comment on a case the caller may see."""
    entry = CaseEventRead.model_validate(service.comment(db, actor, case_id, body.text))
    db.commit()
    return entry


@router.post("/cases/{case_id}/notes", response_model=CaseEventRead, status_code=201)
def add_note(db: Db, actor: LoggedIn, case_id: PathId, body: ReplyBody) -> CaseEventRead:
    """An internal note for those who handle the case."""
    entry = CaseEventRead.model_validate(service.note(db, actor, case_id, body.text))
    db.commit()
    return entry


@router.put("/cases/{case_id}/follow", status_code=204)
def follow(db: Db, actor: LoggedIn, case_id: PathId) -> Response:
    """Follow the case's progress."""
    service.follow(db, actor, case_id)
    db.commit()
    return Response(status_code=204)


@router.delete("/cases/{case_id}/follow", status_code=204)
def unfollow(db: Db, actor: LoggedIn, case_id: PathId) -> Response:
    """Stop following the case."""
    service.unfollow(db, actor, case_id)
    db.commit()
    return Response(status_code=204)


@router.get("/cases/{case_id}/photos", response_model=list[int])
def list_photos(db: Db, actor: LoggedIn, case_id: PathId) -> list[int]:
    """Ids of the case's photos."""
    return service.photo_ids(db, actor, case_id)


@router.post("/cases/{case_id}/photos", response_model=int, status_code=201)
async def add_photo(request: Request, db: Db, actor: LoggedIn, case_id: PathId) -> int:
    """Add a JPEG or PNG photo (body: the image bytes, at most 5 MB); metadata is removed."""
    data = await request.body()
    if len(data) > MAX_BYTES:
        raise ValidationFailed(_("A photo may be at most 5 MB."))
    photo = service.add_photo(db, actor, case_id, data)
    db.commit()
    return photo.id


@router.get(
    "/cases/{case_id}/photos/{photo_id}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "image/png": {}}}},
)
def get_photo(db: Db, actor: LoggedIn, case_id: PathId, photo_id: PathId) -> Response:
    """A photo, only to those who may see its case."""
    photo = service.get_photo(db, actor, case_id, photo_id)
    return Response(
        photo.data,
        media_type=photo.content_type,
        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"},
    )
