"""Households (dwellings) and residents (people)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import ForeignKey, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.crypto import EncryptedString
from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

RELATIONS = ("owner", "tenant", "family")


class Household(Base):
    """A dwelling in a unit (or building) of a compound."""

    __tablename__ = "households"
    __table_args__ = (UniqueConstraint("place_id", "room"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    room: Mapped[str] = mapped_column(String(32))
    floor: Mapped[int | None]
    area_m2: Mapped[Decimal | None] = mapped_column(Numeric(8, 2))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Resident(Base):
    """A person living in the community.

    Ordinary: name, relation, household. Sensitive (encrypted at rest, every read audited):
    phone, ID number and date of birth. The ``*_digest`` columns are keyed digests so that an
    exact phone or ID number can be found without decrypting every row.
    """

    __tablename__ = "residents"
    __table_args__ = (
        Index("ix_residents_phone_digest", "phone_digest"),
        Index("ix_residents_id_number_digest", "id_number_digest", unique=True),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    household_id: Mapped[int | None] = mapped_column(
        ForeignKey("households.id", ondelete="RESTRICT"), index=True
    )
    relation: Mapped[str] = mapped_column(String(16), default="family")
    name: Mapped[str] = mapped_column(String(100), index=True)
    gender: Mapped[str | None] = mapped_column(String(8))
    phone: Mapped[str | None] = mapped_column(EncryptedString("residents.phone"))
    phone_digest: Mapped[str | None] = mapped_column(String(32))
    id_number: Mapped[str | None] = mapped_column(EncryptedString("residents.id_number"))
    id_number_digest: Mapped[str | None] = mapped_column(String(32))
    date_of_birth: Mapped[str | None] = mapped_column(EncryptedString("residents.date_of_birth"))
    # Year of birth alone (ordinary data) lets lists show age groups without decrypting.
    birth_year: Mapped[int | None]
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime(), default=utc_now, onupdate=utc_now
    )
