"""Sharing schemas: registry entries as the API and the pages accept and show them, and the
disclosure log as staff and residents read it."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from linli.core.validation import Id, MultilineText, PlainText

Kind = Literal["police", "fire", "medical", "city", "utility", "processor", "other"]
LegalBasis = Literal[
    "consent", "contract", "legal_duty", "vital_interest", "public_interest", "news"
]
FieldName = PlainText
IncidentType = PlainText
ProcessorChannel = Literal["email", "sms", "webhook", "wecom", "dingtalk"]


class RecipientCreate(BaseModel):
    """A new entry of the recipient registry."""

    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    name: PlainText = Field(min_length=1, max_length=100)
    kind: Kind
    purpose: MultilineText = Field(min_length=1, max_length=2000)
    legal_basis: LegalBasis
    allowed_fields: list[FieldName] = Field(default_factory=list, max_length=32)
    incident_types: list[IncidentType] = Field(default_factory=list, max_length=32)
    min_severity: int = Field(default=3, ge=1, le=4)
    webhook_url: str | None = Field(default=None, max_length=500)
    retention_days: int = Field(default=30, ge=1, le=3650)
    processor_channel: ProcessorChannel | None = None
    contract_reference: PlainText | None = Field(default=None, max_length=200)
    contact: PlainText | None = Field(default=None, max_length=200)
    contract_expires_at: dt.datetime | None = None
    in_country: bool | None = None
    # The emergency basis holds this many hours (default 72, at most 168), then lapses.
    emergency_hours: int | None = Field(default=None, ge=1, le=168)


class RecipientUpdate(BaseModel):
    """Change an entry (only the fields given). An empty webhook URL removes the webhook."""

    model_config = ConfigDict(str_strip_whitespace=True)

    name: PlainText | None = Field(default=None, min_length=1, max_length=100)
    kind: Kind | None = None
    purpose: MultilineText | None = Field(default=None, min_length=1, max_length=2000)
    legal_basis: LegalBasis | None = None
    allowed_fields: list[FieldName] | None = Field(default=None, max_length=32)
    incident_types: list[IncidentType] | None = Field(default=None, max_length=32)
    min_severity: int | None = Field(default=None, ge=1, le=4)
    webhook_url: str | None = Field(default=None, max_length=500)
    retention_days: int | None = Field(default=None, ge=1, le=3650)
    processor_channel: ProcessorChannel | None = None
    contract_reference: PlainText | None = Field(default=None, max_length=200)
    contact: PlainText | None = Field(default=None, max_length=200)
    contract_expires_at: dt.datetime | None = None
    in_country: bool | None = None
    # The emergency basis holds this many hours (default 72, at most 168), then lapses.
    emergency_hours: int | None = Field(default=None, ge=1, le=168)


class RecipientOut(BaseModel):
    """A registry entry without its secrets."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    name: str
    kind: str
    purpose: str
    legal_basis: str
    allowed_fields: list[str]
    incident_types: list[str]
    min_severity: int
    webhook_url: str | None
    retention_days: int
    active: bool
    processor_channel: str | None = None
    contract_reference: str = ""
    contact: str = ""
    contract_expires_at: dt.datetime | None = None
    in_country: bool = True
    basis_expires_at: dt.datetime | None = None
    basis_invoked_by: str = ""
    created_at: dt.datetime
    updated_at: dt.datetime


class RecipientIssued(RecipientOut):
    """An entry with the secrets made for it now: shown this once, never again."""

    signing_key: str | None = None
    feed_token: str | None = None


class DisclosureOut(BaseModel):
    """One line of the disclosure log: to whom, why, on what basis, which fields, when."""

    id: int
    recipient_id: int
    recipient_name: str
    recipient_kind: str
    place_id: int
    subject_type: str
    subject_id: int
    about: str
    headline: str
    purpose: str
    legal_basis: str
    fields: list[str]
    channel: str
    status: str
    attempts: int
    created_at: dt.datetime
    sent_at: dt.datetime | None
    emergency_until: dt.datetime | None = None


class ExportRequestCreate(BaseModel):
    """A request to download the resident sheet of a place for a registered recipient."""

    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    recipient_id: Id
    purpose: MultilineText = Field(min_length=1, max_length=2000)


class ExportDecision(BaseModel):
    """A second administrator's answer to an export request."""

    model_config = ConfigDict(str_strip_whitespace=True)

    approve: bool
    note: MultilineText = Field(default="", max_length=2000)


class ExportRequestOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    recipient_id: int
    kind: str
    purpose: str
    status: str
    requested_by_account_id: int | None
    decided_by_account_id: int | None
    decision_note: str
    created_at: dt.datetime
    decided_at: dt.datetime | None
    expires_at: dt.datetime | None
    downloaded_at: dt.datetime | None


BreachCategory = Literal[
    "identity",
    "contact",
    "household",
    "health",
    "whereabouts",
    "biometric",
    "minors",
    "account",
    "financial",
    "other",
]


class BreachCreate(BaseModel):
    """A personal-data incident as an administrator declares it."""

    model_config = ConfigDict(str_strip_whitespace=True)

    place_id: Id
    title: PlainText = Field(min_length=1, max_length=200)
    what_happened: MultilineText = Field(min_length=1, max_length=5000)
    cause: MultilineText = Field(default="", max_length=2000)
    possible_harm: MultilineText = Field(min_length=1, max_length=2000)
    categories: list[BreachCategory] = Field(min_length=1, max_length=10)
    people_affected: int = Field(ge=0, le=10_000_000)
    measures_taken: MultilineText = Field(min_length=1, max_length=5000)
    advice_to_people: MultilineText = Field(min_length=1, max_length=5000)
    contact: PlainText = Field(min_length=1, max_length=300)
    occurred_at: dt.datetime | None = None


class BreachOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    title: str
    what_happened: str
    cause: str
    possible_harm: str
    categories: list[str]
    people_affected: int
    measures_taken: str
    advice_to_people: str
    contact: str
    occurred_at: dt.datetime | None
    discovered_at: dt.datetime
    declared_at: dt.datetime


class BreachNotices(BaseModel):
    """The notice to the regulator and to the people concerned, in both languages."""

    breach: BreachOut
    regulator: dict[str, str]
    residents: dict[str, str]
