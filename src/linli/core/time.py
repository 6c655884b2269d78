"""UTC-aware time and the column type that keeps it aware on every database."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

UTC = dt.UTC


def utc_now() -> dt.datetime:
    """The current time, UTC-aware."""
    return dt.datetime.now(UTC)


def to_local(value: dt.datetime, tz: str = "Asia/Shanghai") -> dt.datetime:
    """Convert an aware time to a community's time zone for display."""
    return value.astimezone(ZoneInfo(tz))


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timestamp stored as UTC and always read back UTC-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        assert isinstance(value, dt.datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)
