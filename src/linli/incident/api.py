"""JSON API of incidents, responders and dispatch."""

from __future__ import annotations

from fastapi import APIRouter

from linli.web.deps import CsrfChecked

router = APIRouter(prefix="/api/v1", tags=["incidents"], dependencies=[CsrfChecked])
