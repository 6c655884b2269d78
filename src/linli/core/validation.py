"""Input types shared by every schema: ids the database can hold and text without control bytes."""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field

# Primary keys are 32-bit INTEGER columns on PostgreSQL; anything larger cannot name a row.
MAX_ID = 2**31 - 1


def _not_bool(value: object) -> object:
    """``true`` is not the id 1 (lax integer parsing would take it as such)."""
    if isinstance(value, bool):
        raise ValueError("an id is a number, not true or false")
    return value


Id = Annotated[int, BeforeValidator(_not_bool), Field(ge=1, le=MAX_ID)]


# Control characters and lone surrogates (which cannot be encoded as UTF-8).
_REFUSED = frozenset({"Cc", "Cs"})


def plain_text(value: str) -> str:
    """Refuse control characters (NUL, escapes, ...); PostgreSQL cannot store NUL at all."""
    if any(unicodedata.category(ch) in _REFUSED for ch in value):
        raise ValueError("must not contain control characters")
    return value


def multiline_text(value: str) -> str:
    """Like ``plain_text`` but allows line breaks and tabs (reasons, notes)."""
    if any(unicodedata.category(ch) in _REFUSED and ch not in "\n\r\t" for ch in value):
        raise ValueError("must not contain control characters")
    return value


PlainText = Annotated[str, AfterValidator(plain_text)]
MultilineText = Annotated[str, AfterValidator(multiline_text)]
