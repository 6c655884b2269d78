"""Tables of the privacy domain: the reports of the retention job."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now


class RetentionRun(Base):
    """One run of the retention job: as of when, and per table what it deleted or anonymised.

    ``report`` is a list of ``{"table", "rule", "action", "time_column", "cutoff", "deleted",
    "anonymised", "kept", "children", "note"}`` objects: counts and table names only, never a
    row's content.
    """

    __tablename__ = "retention_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    as_of: Mapped[dt.datetime] = mapped_column(UTCDateTime(), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    # schedule (the daily background job), cli or api
    trigger: Mapped[str] = mapped_column(String(16))
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    anonymised: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool] = mapped_column(Boolean, default=True)
    report: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
