"""Places form a tree; ``path`` (``/1/4/9/``) makes subtree queries one indexed prefix match."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

PLACE_KINDS = ("city", "district", "street_office", "community", "compound", "building", "unit")


class Place(Base):
    """One node of the community tree."""

    __tablename__ = "places"
    __table_args__ = (Index("ix_places_path", "path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    kind: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200))
    code: Mapped[str] = mapped_column(String(64), unique=True)
    path: Mapped[str] = mapped_column(String(512), default="")
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
