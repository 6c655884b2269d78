"""Audit events. Rows are never updated or deleted (database triggers refuse it)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now


class AuditEvent(Base):
    """Who did what to which record, when, from where and why — never the personal data itself.

    ``hash`` = SHA-256 over the previous row's hash and this row's canonical content, so that
    any change, removal or insertion in the middle of the log breaks the chain.
    """

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_subject_resident_id", "subject_resident_id", "at"),
        Index("ix_audit_events_action_at", "action", "at"),
        Index("ix_audit_events_actor_account_id", "actor_account_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    action: Mapped[str] = mapped_column(String(64))
    outcome: Mapped[str] = mapped_column(String(16), default="ok")
    actor_account_id: Mapped[int | None]
    actor_username: Mapped[str] = mapped_column(String(64), default="")
    on_behalf_of_resident_id: Mapped[int | None]
    subject_type: Mapped[str] = mapped_column(String(32), default="")
    subject_id: Mapped[str] = mapped_column(String(64), default="")
    subject_resident_id: Mapped[int | None]
    place_id: Mapped[int | None]
    fields: Mapped[str] = mapped_column(String(256), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


GENESIS_HASH = "0" * 64


class AuditChain(Base):
    """The chain head: one row whose lock serialises appends so the chain never forks."""

    __tablename__ = "audit_chain"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int]
    last_hash: Mapped[str] = mapped_column(String(64))
