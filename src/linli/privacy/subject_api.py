"""JSON API of data-subject rights: export, processor links, correction, deletion, the queue."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from linli.core import ratelimit
from linli.core.time import utc_now
from linli.privacy import subject
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, Staff
from linli.web.ratelimit import enforce

router = APIRouter(prefix="/api/v1", tags=["privacy"], dependencies=[CsrfChecked])


class RequestRead(BaseModel):
    """A data-subject request and where it stands."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    resident_id: int | None
    status: str
    via: str
    field: str | None
    reason: str
    refusal_reason: str | None
    received_at: dt.datetime
    due_at: dt.datetime
    answered_at: dt.datetime | None


class LinkCreate(BaseModel):
    processor: str = Field(min_length=2, max_length=100)
    hours: int = Field(default=subject.LINK_HOURS, ge=1, le=24 * 7)


class LinkCreated(BaseModel):
    id: int
    processor: str
    expires_at: dt.datetime
    url: str


class CorrectionCreate(BaseModel):
    field: Literal["name", "id_number", "date_of_birth", "household_id"]
    new_value: str = Field(min_length=1, max_length=100)
    reason: str = Field(min_length=2, max_length=500)


class Refusal(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


class Deletion(BaseModel):
    password: str = Field(default="", max_length=200)
    reason: str = Field(default="", max_length=500)


class StaffDeletion(BaseModel):
    reason: str = Field(min_length=2, max_length=500)


def download(document: dict[str, Any], fmt: str) -> Response:
    """The export as a JSON or ZIP attachment."""
    stamp = utc_now().date().isoformat()
    if fmt == "csv":
        return Response(
            subject.to_zip(document),
            media_type="application/zip",
            headers={"Content-Disposition": f'attachment; filename="linli-data-{stamp}.zip"'},
        )
    return Response(
        subject.to_json(document),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="linli-data-{stamp}.json"'},
    )


@router.get("/me/export")
def export_me(
    db: Db, actor: LoggedIn, format: Annotated[Literal["json", "csv"], Query()] = "json"
) -> Response:
    """Everything the platform holds about me, as JSON or a ZIP of CSV files."""
    enforce(db, actor, ratelimit.EXPORT_ACCOUNT)
    document = subject.record_export(db, actor, subject.own_resident(actor))
    db.commit()
    return download(document, format)


@router.post("/me/export-links", response_model=LinkCreated, status_code=201)
def create_link(request: Request, db: Db, actor: LoggedIn, body: LinkCreate) -> LinkCreated:
    """A single-use download link for a processor I name (shown once)."""
    enforce(db, actor, ratelimit.EXPORT_ACCOUNT)
    link, token = subject.create_link(db, actor, processor=body.processor, hours=body.hours)
    db.commit()
    url = str(request.url_for("redeem_export", token=token))
    return LinkCreated(id=link.id, processor=link.processor, expires_at=link.expires_at, url=url)


@router.delete("/me/export-links/{link_id}", status_code=204)
def revoke_link(db: Db, actor: LoggedIn, link_id: PathId) -> Response:
    subject.revoke_link(db, actor, link_id)
    db.commit()
    return Response(status_code=204)


@router.get("/me/privacy-requests", response_model=list[RequestRead])
def my_requests(db: Db, actor: LoggedIn) -> list[RequestRead]:
    return [RequestRead.model_validate(r) for r in subject.my_requests(db, actor)]


@router.post("/me/corrections", response_model=RequestRead, status_code=201)
def file_correction(db: Db, actor: LoggedIn, body: CorrectionCreate) -> RequestRead:
    """Ask staff to correct a verified field."""
    request = subject.file_correction(
        db, actor, field=body.field, new_value=body.new_value, reason=body.reason
    )
    db.commit()
    return RequestRead.model_validate(request)


@router.post("/me/deletion", response_model=RequestRead)
def delete_me(db: Db, actor: LoggedIn, body: Deletion) -> RequestRead:
    """Delete my account and my data (password re-check); what the law keeps has no name."""
    request = subject.delete_me(db, actor, password=body.password, reason=body.reason)
    db.commit()
    return RequestRead.model_validate(request)


@router.get("/privacy/requests", response_model=list[RequestRead])
def queue(db: Db, actor: Staff) -> list[RequestRead]:
    """Requests of my communities: overdue first."""
    return [RequestRead.model_validate(r) for r in subject.queue(db, actor)]


@router.post("/privacy/requests/{request_id}/approval", response_model=RequestRead)
def approve(db: Db, actor: Staff, request_id: PathId) -> RequestRead:
    request = subject.approve(db, actor, request_id)
    db.commit()
    return RequestRead.model_validate(request)


@router.post("/privacy/requests/{request_id}/refusal", response_model=RequestRead)
def refuse(db: Db, actor: Staff, request_id: PathId, body: Refusal) -> RequestRead:
    request = subject.refuse(db, actor, request_id, reason=body.reason)
    db.commit()
    return RequestRead.model_validate(request)


@router.post("/residents/{resident_id}/erasure", response_model=RequestRead)
def erase_resident(db: Db, actor: Staff, resident_id: PathId, body: StaffDeletion) -> RequestRead:
    """Delete a resident who left (staff of their community, with a reason)."""
    request = subject.delete_by_staff(db, actor, resident_id, reason=body.reason)
    db.commit()
    return RequestRead.model_validate(request)
