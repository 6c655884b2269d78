"""Tables of the privacy domain: data-subject requests and processor download links."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.crypto import EncryptedString
from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

REQUEST_KINDS = ("access", "export", "portability", "correction", "deletion")
REQUEST_STATUSES = ("open", "done", "refused")


class PrivacyRequest(Base):
    """One request of a resident about their data (PIPL art. 45-47, 50), tracked to a deadline."""

    __tablename__ = "privacy_requests"
    __table_args__ = (Index("ix_privacy_requests_queue", "community_id", "status", "due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    resident_id: Mapped[int | None] = mapped_column(
        ForeignKey("residents.id", ondelete="SET NULL"), index=True
    )
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="SET NULL"))
    community_id: Mapped[int | None] = mapped_column(ForeignKey("places.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    via: Mapped[str] = mapped_column(String(16), default="self")
    # Correction: which verified field, the new value (encrypted) and why.
    field: Mapped[str | None] = mapped_column(String(32))
    new_value: Mapped[str | None] = mapped_column(EncryptedString("privacy_requests.new_value"))
    reason: Mapped[str] = mapped_column(Text, default="")
    refusal_reason: Mapped[str | None] = mapped_column(Text)
    # What an erasure did: table → {"deleted"|"anonymised"|"kept": n}; kept = legal hold.
    outcome: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    due_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    filed_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    handled_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )


class ExportLink(Base):
    """A single-use, expiring link a resident made for a processor they named (art. 45 ¶3)."""

    __tablename__ = "privacy_export_links"

    id: Mapped[int] = mapped_column(primary_key=True)
    resident_id: Mapped[int] = mapped_column(
        ForeignKey("residents.id", ondelete="CASCADE"), index=True
    )
    processor: Mapped[str] = mapped_column(String(100))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
