"""JSON API of the audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime

from linli.audit import service
from linli.audit.schemas import AccessRead, AuditEventRead
from linli.core.pagination import Page, PageParams
from linli.core.validation import PlainText
from linli.web.deps import Db, LoggedIn, QueryId

router = APIRouter(prefix="/api/v1", tags=["audit"])
Paging = Annotated[PageParams, Depends()]


@router.get("/audit/events", response_model=Page[AuditEventRead])
def search_events(
    db: Db,
    actor: LoggedIn,
    paging: Paging,
    action: Annotated[PlainText | None, Query(max_length=64)] = None,
    actor_username: Annotated[PlainText | None, Query(max_length=64)] = None,
    subject_resident_id: QueryId = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
) -> Page[AuditEventRead]:
    """Search the log (auditors and administrators, within their places)."""
    rows, total = service.search(
        db,
        actor,
        params=paging,
        action=action,
        actor_username=actor_username,
        subject_resident_id=subject_resident_id,
        since=since,
        until=until,
    )
    items = [AuditEventRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)


@router.get("/me/access-log", response_model=Page[AccessRead])
def my_access_log(db: Db, actor: LoggedIn, paging: Paging) -> Page[AccessRead]:
    """Who looked at or changed my data, when and why."""
    rows, total = service.accesses_to_me(db, actor, params=paging)
    items = [AccessRead.model_validate(r) for r in rows]
    return Page(items=items, total=total, page=paging.page, size=paging.size)
