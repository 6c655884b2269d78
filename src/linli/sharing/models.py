"""Recipients outside the platform (police, city offices, utilities, processors) with what they
may receive, and every disclosure made to them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.crypto import EncryptedString
from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

KINDS = ("police", "fire", "medical", "city", "utility", "processor", "other")
# PIPL art. 13 bases for processing without consent, and consent itself.
LEGAL_BASES = ("consent", "contract", "legal_duty", "vital_interest", "public_interest", "news")
CHANNELS = ("webhook", "feed", "email", "sms", "wecom", "dingtalk", "file")
DELIVERY_STATUSES = ("pending", "sent", "failed", "available")
EXPORT_STATUSES = ("pending", "approved", "rejected", "downloaded")


class Recipient(Base):
    """Someone outside the platform that receives data: who, why, on what basis, which fields."""

    __tablename__ = "share_recipients"
    __table_args__ = (Index("ix_share_recipients_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The place whose data it may receive (a community, a street office...) and all below.
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    purpose: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(String(32))
    # The only fields it may receive (see the sharing service's field catalogue).
    allowed_fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Which incidents it is sent (types) and from what severity (CAP 1..4).
    incident_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    min_severity: Mapped[int] = mapped_column(default=1)
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The key its webhook deliveries are signed with (HMAC-SHA256), encrypted at rest.
    signing_key: Mapped[str | None] = mapped_column(EncryptedString("share_recipients.signing_key"))
    # The digest of the token that opens its CAP feed.
    feed_token_digest: Mapped[str | None] = mapped_column(String(64), unique=True)
    retention_days: Mapped[int] = mapped_column(default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Entrusted processors (kind "processor"): the notification channel they carry, the
    # contract that binds them (PIPL art. 21), whom to call, until when they may process.
    processor_channel: Mapped[str | None] = mapped_column(String(16))
    contract_reference: Mapped[str] = mapped_column(String(200), default="")
    contact: Mapped[str] = mapped_column(String(200), default="")
    contract_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Whether it stores and processes in the country (PIPL art. 38-40: nothing leaves).
    in_country: Mapped[bool] = mapped_column(Boolean, default=True)
    # The emergency basis (PIPL art. 13(4)) holds only until then, and who invoked it.
    basis_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    basis_invoked_by: Mapped[str] = mapped_column(String(32), default="")
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class Disclosure(Base):
    """One message to one recipient: what it was about, which fields left, and its delivery."""

    __tablename__ = "disclosures"
    __table_args__ = (
        Index("ix_disclosures_place_path", "place_path"),
        Index("ix_disclosures_subject", "subject_type", "subject_id"),
        Index("ix_disclosures_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("share_recipients.id", ondelete="RESTRICT"), index=True
    )
    # The place the disclosed record is about: residents living under it are concerned.
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int]
    purpose: Mapped[str] = mapped_column(Text, default="")
    legal_basis: Mapped[str] = mapped_column(String(32))
    fields: Mapped[list[str]] = mapped_column(JSON, default=list)
    channel: Mapped[str] = mapped_column(String(16))
    # The message as sent (a CAP 1.2 alert): what the recipient got, byte for byte.
    identifier: Mapped[str] = mapped_column(String(160))
    payload: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # Under the emergency basis: until when it was invoked (shown to residents afterwards).
    emergency_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class DisclosureResident(Base):
    """A resident whose own personal data was in a disclosure (beyond their place's)."""

    __tablename__ = "disclosure_residents"
    __table_args__ = (UniqueConstraint("disclosure_id", "resident_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    disclosure_id: Mapped[int] = mapped_column(
        ForeignKey("disclosures.id", ondelete="CASCADE"), index=True
    )
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )


class ExportRequest(Base):
    """A staff member's request to download residents' personal data in bulk: a second
    administrator approves it, then the requester downloads the file once (PIPL art. 51)."""

    __tablename__ = "export_requests"
    __table_args__ = (Index("ix_export_requests_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    # The registry entry the file is for: its allowed fields are the file's columns.
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("share_recipients.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32), default="resident_sheet")
    purpose: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    decided_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    decision_note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    downloaded_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    disclosure_id: Mapped[int | None] = mapped_column(
        ForeignKey("disclosures.id", ondelete="SET NULL")
    )


class DataBreach(Base):
    """A personal-data incident declared by an administrator, with what PIPL art. 57 asks the
    notices to the regulator and to the people concerned to say."""

    __tablename__ = "data_breaches"
    __table_args__ = (Index("ix_data_breaches_place_path", "place_path"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"))
    place_path: Mapped[str] = mapped_column(String(512))
    title: Mapped[str] = mapped_column(String(200))
    what_happened: Mapped[str] = mapped_column(Text, default="")
    cause: Mapped[str] = mapped_column(Text, default="")
    possible_harm: Mapped[str] = mapped_column(Text, default="")
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    people_affected: Mapped[int] = mapped_column(default=0)
    measures_taken: Mapped[str] = mapped_column(Text, default="")
    advice_to_people: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[str] = mapped_column(String(300), default="")
    occurred_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    discovered_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    declared_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    declared_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
