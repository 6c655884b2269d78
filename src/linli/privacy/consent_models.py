"""Tables of the privacy domain: consent records, guardians, impact assessments, module switches."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now


class Consent(Base):
    """One consent of one resident to one purpose (PIPL art. 14), under one notice version.

    Never updated except to record its withdrawal; giving again after a withdrawal or after a
    notice change adds a new row, so the history stays readable.
    """

    __tablename__ = "consents"
    __table_args__ = (Index("ix_consents_resident_id_purpose", "resident_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(ForeignKey("residents.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(64))
    notice_version: Mapped[int] = mapped_column(Integer)
    # web, api or assisted (staff at the desk acting for the resident, who is present).
    channel: Mapped[str] = mapped_column(String(16))
    actor_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    # Set when a guardian gave the consent for a resident under 14.
    guardian_resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL")
    )
    guardian_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    given_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    withdrawn_channel: Mapped[str | None] = mapped_column(String(16))


class ConsentGuardian(Base):
    """An account that staff linked as the guardian of a child (besides the household's adults)."""

    __tablename__ = "consent_guardians"
    __table_args__ = (UniqueConstraint("child_resident_id", "guardian_account_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    child_resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    guardian_account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    linked_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class ImpactAssessment(Base):
    """A personal-information impact assessment (PIPL art. 55-56) of a module in a community."""

    __tablename__ = "privacy_impact_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    module: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str] = mapped_column(String(64))
    assessed_on: Mapped[dt.date] = mapped_column(Date)
    summary: Mapped[str] = mapped_column(Text)
    recorded_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class SensitiveModule(Base):
    """Whether a module that processes sensitive data is on in a community (off when no row)."""

    __tablename__ = "privacy_modules"
    __table_args__ = (UniqueConstraint("place_id", "module"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="CASCADE"))
    module: Mapped[str] = mapped_column(String(64))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("privacy_impact_assessments.id", ondelete="RESTRICT")
    )
    updated_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
