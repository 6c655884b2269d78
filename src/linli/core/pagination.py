"""Paginated lists for the API."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, Field

T = TypeVar("T")

MAX_PAGE_SIZE = 200
MAX_PAGE = 100_000


class PageParams(BaseModel):
    """Which page of a list to return."""

    page: int = Field(default=1, ge=1, le=MAX_PAGE)
    size: int = Field(default=50, ge=1, le=MAX_PAGE_SIZE)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


class Page(BaseModel, Generic[T]):
    """One page of a list with the total count."""

    items: list[T]
    total: int
    page: int
    size: int
