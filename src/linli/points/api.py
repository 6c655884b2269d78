"""JSON API of the points domain."""

from __future__ import annotations

from fastapi import APIRouter

from linli.web.deps import CsrfChecked

router = APIRouter(prefix="/api/v1", tags=["points"], dependencies=[CsrfChecked])
