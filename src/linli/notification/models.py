"""The notification outbox, the endpoints it delivers to, and each person's preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.crypto import EncryptedString
from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

CHANNELS = ("inapp", "email", "webhook", "sms", "wecom", "dingtalk")
# Channels that go to an endpoint configured for a place rather than to a person.
ENDPOINT_CHANNELS = ("webhook", "sms", "wecom", "dingtalk")
STATUSES = ("pending", "sent", "dead", "suppressed")


class Notification(Base):
    """One message to one recipient over one channel: written in the transaction that caused it.

    ``idempotency_key`` is unique: the same event for the same recipient and channel is one row,
    however often the cause is retried, and deliveries carry the key so a receiver can drop a
    repeat.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        Index("ix_notifications_due", "status", "channel", "next_attempt_at"),
        Index("ix_notifications_account", "account_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(200), unique=True)
    channel: Mapped[str] = mapped_column(String(16))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"))
    endpoint_id: Mapped[int | None] = mapped_column(
        ForeignKey("notification_endpoints.id", ondelete="CASCADE"), index=True
    )
    # Where the cause happened: staff see outbox counts of the places they hold.
    place_id: Mapped[int | None] = mapped_column(
        ForeignKey("places.id", ondelete="SET NULL"), index=True
    )
    category: Mapped[str] = mapped_column(String(32), default="alarm")
    severity: Mapped[str] = mapped_column(String(16), default="minor")
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text, default="")
    link: Mapped[str] = mapped_column(String(500), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    sent_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())
    # In-app messages: when the person opened them.
    read_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime())


class NotificationEndpoint(Base):
    """A place's webhook, SMS gateway or group robot that gets the alarms under that place."""

    __tablename__ = "notification_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(100))
    # Robot URLs carry their access token in the query string: encrypted at rest like secrets.
    url: Mapped[str] = mapped_column(EncryptedString("notification_endpoints.url"))
    # HMAC key (webhook, DingTalk signing) or gateway token; encrypted at rest.
    secret: Mapped[str | None] = mapped_column(EncryptedString("notification_endpoints.secret"))
    # SMS: the numbers to text (duty phones), comma separated; encrypted at rest.
    recipients: Mapped[str | None] = mapped_column(
        EncryptedString("notification_endpoints.recipients")
    )
    # Least severe level sent here (critical < major < minor < warning).
    min_severity: Mapped[str] = mapped_column(String(16), default="minor")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class NotificationPreference(Base):
    """How one person wants to be told: channels, quiet hours, least severity, daily cap."""

    __tablename__ = "notification_preferences"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Quiet hours in the community's time zone, "HH:MM"; equal or empty: none.
    quiet_start: Mapped[str] = mapped_column(String(5), default="")
    quiet_end: Mapped[str] = mapped_column(String(5), default="")
    min_severity: Mapped[str] = mapped_column(String(16), default="warning")
    # Most messages outside the app per day (critical alarms are always sent).
    daily_cap: Mapped[int] = mapped_column(default=20)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
