"""The retention job's last runs, for administrators: a JSON API and a console page."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict

from linli.core.actor import ACCOUNT_ADMIN_ROLES, Actor
from linli.core.errors import PermissionDenied
from linli.privacy import retention
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn

router = APIRouter(tags=["privacy"], dependencies=[CsrfChecked])


class RetentionRunRead(BaseModel):
    """One stored run: totals and the per-table report (counts only)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    as_of: dt.datetime
    started_at: dt.datetime
    finished_at: dt.datetime
    trigger: str
    deleted: int
    anonymised: int
    ok: bool
    report: list[dict[str, Any]]


def _require_admin(actor: Actor) -> None:
    if not actor.roles & ACCOUNT_ADMIN_ROLES:
        raise PermissionDenied("only administrators can read the retention reports")


@router.get("/api/v1/privacy/retention-runs", response_model=list[RetentionRunRead])
def list_runs(
    db: Db, actor: LoggedIn, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[RetentionRunRead]:
    """The last runs of the retention job, newest first (administrators)."""
    _require_admin(actor)
    return [RetentionRunRead.model_validate(r) for r in retention.last_runs(db, limit=limit)]


@router.get(
    "/console/privacy/retention", include_in_schema=False, dependencies=[shell.AssistContext]
)
def runs_page(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The last runs of the retention job with their per-table reports (administrators)."""
    _require_admin(actor)
    return shell.view(request, "privacy/retention_runs.html", {"runs": retention.last_runs(db)})
