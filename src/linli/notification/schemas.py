"""Notification schemas: a person's inbox and preferences, endpoints, the outbox as staff see it."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from linli.core.validation import Id, PlainText

Severity = Literal["critical", "major", "minor", "warning"]
EndpointChannel = Literal["webhook", "sms", "wecom", "dingtalk"]
Status = Literal["pending", "sent", "dead", "suppressed"]

# Most severe first; a message goes where its severity is at least the configured least one.
SEVERITY_RANK: dict[str, int] = {"critical": 4, "major": 3, "minor": 2, "warning": 1}

CLOCK = r"^(|([01][0-9]|2[0-3]):[0-5][0-9])$"
EMAIL = re.compile(r"^[^@\s<>\"',;]{1,64}@[A-Za-z0-9.-]{1,189}\.[A-Za-z]{2,}$")
PHONE = re.compile(r"^\+?[0-9]{5,20}$")
# URLs and numbers are encrypted into 512-character columns: keep the plain text well below.
MAX_URL = 300
MAX_RECIPIENTS_TEXT = 300


class NotificationRead(BaseModel):
    """A message in a person's inbox (the bell)."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    category: str
    severity: str
    subject: str
    body: str
    link: str
    created_at: dt.datetime
    read_at: dt.datetime | None


class UnreadCount(BaseModel):
    unread: int


class ReadAllResult(BaseModel):
    marked: int = Field(description="how many messages were marked read")
    unread: int


def _check_email(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if value == "":
        return ""
    if len(value) > 254 or not EMAIL.match(value):
        raise ValueError("not an e-mail address")
    return value


class PreferencesRead(BaseModel):
    """How a person is told: e-mail, quiet hours, least severity for e-mail, daily cap."""

    email: str | None
    email_enabled: bool
    quiet_start: str
    quiet_end: str
    min_severity: str
    daily_cap: int


class PreferencesUpdate(BaseModel):
    """Fields left out stay as they are; an empty e-mail address removes it. A change of the
    e-mail address needs ``current_password`` (re-authentication, A13)."""

    model_config = ConfigDict(extra="forbid")

    email: str | None = Field(default=None, max_length=254)
    current_password: str | None = Field(default=None, max_length=1024, repr=False)
    email_enabled: bool | None = None
    quiet_start: str | None = Field(default=None, pattern=CLOCK)
    quiet_end: str | None = Field(default=None, pattern=CLOCK)
    min_severity: Severity | None = None
    daily_cap: int | None = Field(default=None, ge=0, le=1000)

    _email = field_validator("email")(_check_email)

    @model_validator(mode="after")
    def _quiet_pair(self) -> PreferencesUpdate:
        if (self.quiet_start is None) != (self.quiet_end is None):
            raise ValueError("give both ends of the quiet hours, or neither")
        if self.quiet_start is not None and (self.quiet_start == "") != (self.quiet_end == ""):
            raise ValueError("give both ends of the quiet hours, or neither")
        return self


def _check_url(value: str) -> str:
    value = value.strip()
    if not re.match(r"^https?://[^\s/?#]+[^\s]*$", value):
        raise ValueError("must be an http:// or https:// address")
    return value


def _check_recipients(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = [v.strip().replace(" ", "").replace("-", "") for v in value if v.strip()]
    for number in cleaned:
        if not PHONE.match(number):
            raise ValueError("phone numbers are 5 to 20 digits, optionally starting with +")
    if len(",".join(cleaned)) > MAX_RECIPIENTS_TEXT:
        raise ValueError("too many phone numbers")
    return cleaned


class EndpointCreate(BaseModel):
    """A webhook, SMS gateway or group robot that receives the alarms of a place's subtree."""

    model_config = ConfigDict(extra="forbid")

    place_id: Id
    channel: EndpointChannel
    name: PlainText = Field(min_length=1, max_length=100)
    url: str = Field(min_length=8, max_length=MAX_URL)
    secret: str | None = Field(
        default=None,
        max_length=200,
        description="HMAC key (webhook, DingTalk signing) or gateway token; never shown again",
    )
    recipients: list[str] | None = Field(default=None, description="SMS: numbers to text")
    min_severity: Severity = "minor"
    enabled: bool = True

    _url = field_validator("url")(_check_url)
    _recipients = field_validator("recipients")(_check_recipients)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is None or value.strip() == "":
            return None
        if any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
            raise ValueError("a secret has no spaces or control characters")
        return value

    @model_validator(mode="after")
    def _per_channel(self) -> EndpointCreate:
        if self.channel == "webhook" and (self.secret is None or len(self.secret) < 16):
            raise ValueError("a webhook needs a signing secret of at least 16 characters")
        if self.channel == "sms" and not self.recipients:
            raise ValueError("an SMS gateway needs at least one phone number")
        if self.channel == "sms" and not self.secret:
            raise ValueError("an SMS gateway needs its access token")
        return self


class EndpointUpdate(BaseModel):
    """Fields left out stay as they are."""

    model_config = ConfigDict(extra="forbid")

    name: PlainText | None = Field(default=None, min_length=1, max_length=100)
    url: str | None = Field(default=None, min_length=8, max_length=MAX_URL)
    secret: str | None = Field(default=None, max_length=200)
    recipients: list[str] | None = None
    min_severity: Severity | None = None
    enabled: bool | None = None

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return None if value is None else _check_url(value)

    _recipients = field_validator("recipients")(_check_recipients)

    @field_validator("secret")
    @classmethod
    def _secret(cls, value: str | None) -> str | None:
        if value is not None and any(ord(ch) < 33 or ord(ch) == 127 for ch in value):
            raise ValueError("a secret has no spaces or control characters")
        return value


class EndpointRead(BaseModel):
    """An endpoint as the API shows it: secrets, tokens and phone numbers only as hints."""

    id: int
    place_id: int
    channel: str
    name: str
    url_hint: str = Field(description="scheme and host only; the address may hold a token")
    has_secret: bool
    secret_hint: str = Field(description="the last characters of the secret, masked")
    recipients_hint: list[str] = Field(description="SMS numbers, masked")
    min_severity: str
    enabled: bool
    created_at: dt.datetime


class OutboxRow(BaseModel):
    """A message to an endpoint, as staff see it (messages to people stay private)."""

    id: int
    channel: str
    endpoint_id: int | None
    endpoint_name: str
    category: str
    severity: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str
    created_at: dt.datetime
    sent_at: dt.datetime | None


class OutboxCount(BaseModel):
    channel: str
    status: str
    count: int


class OutboxPage(BaseModel):
    """One page of endpoint messages with the counts by channel and status."""

    items: list[OutboxRow]
    total: int
    page: int
    size: int
    counts: list[OutboxCount]


class InboxEvent(BaseModel):
    """What the bell hears after a change commits."""

    unread: int
    subject: str = ""
    link: str = ""
    data: dict[str, Any] = Field(default_factory=dict)
