"""Pages of the environment domain."""

from __future__ import annotations

from fastapi import APIRouter

from linli.web import shell
from linli.web.deps import CsrfChecked

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])
