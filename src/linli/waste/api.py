"""JSON API of the waste domain."""

from __future__ import annotations

from fastapi import APIRouter

from linli.web.deps import CsrfChecked

router = APIRouter(prefix="/api/v1", tags=["waste"], dependencies=[CsrfChecked])
