"""The personal-data inventory: every column of every table, declared once (PIPL art. 6, 19).

Each table says what its rows are about (``subject``), why the platform keeps them
(``purpose``), for how long (``retention``) and on what legal basis; each column is either
personal (a category, whether it is *sensitive* in the sense of PIPL art. 28, optionally its own
purpose, retention or basis) or explicitly not personal. ``check(metadata)`` compares the
inventory with a SQLAlchemy ``MetaData`` and lists what is missing, stale or incomplete; the
test suite runs it on the application's metadata so that a new column fails the build until it
is declared here.

This module is data: it imports no domain (the test imports the models), touches no database,
and export, deletion and retention jobs read it through ``declaration``, ``personal_columns``,
``sensitive_columns`` and ``retention_of``.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from sqlalchemy import Column, LargeBinary, MetaData

from linli.core.crypto import EncryptedString

INVENTORY_FILE = "src/linli/privacy/inventory.py"


class Subject(StrEnum):
    """Whom or what a table's rows are about."""

    RESIDENT = "resident"
    HOUSEHOLD = "household"
    ACCOUNT = "account"  # a login: a resident's or a staff member's
    DEVICE = "device"
    PLACE = "place"
    ORGANISATION = "organisation"  # a recipient outside the platform
    NONE = "none"  # configuration, reference data, system bookkeeping


class Category(StrEnum):
    """What kind of personal data a column holds."""

    IDENTITY = "identity"  # name, gender, ID number, date or year of birth
    CONTACT = "contact"  # phone, e-mail
    HOUSEHOLD = "household"  # dwelling, room, floor, relation to the household, address
    HEALTH = "health"  # wearable readings, disability, evacuation needs
    WHEREABOUTS = "whereabouts"  # where a person is or goes
    BIOMETRIC = "biometric"  # faces, fingerprints: none stored today
    MINORS = "minors"  # data of a child under 14 as such
    CIVIC = "civic"  # votes, proposals, supports: civic participation
    POINTS = "points"  # the points ledger: financial-like
    ACCOUNT = "account"  # login, roles, preferences, who did what
    ONLINE_ID = "online_id"  # IP address, user agent, session digests
    ACTIVITY = "activity"  # what a person or household did: disposals, reads, answers
    SERVICE = "service"  # requests and complaints a person files
    CORRESPONDENCE = "correspondence"  # messages sent to a person
    FREE_TEXT = "free_text"  # notes, descriptions, photos that may contain personal data


class LegalBasis(StrEnum):
    """PIPL art. 13: consent, or one of the bases for processing without it."""

    CONSENT = "consent"
    CONTRACT = "contract"  # art. 13(2): needed for a contract with the person (services)
    LEGAL_DUTY = "legal_duty"  # art. 13(3): a statutory duty or obligation
    VITAL_INTEREST = "vital_interest"  # art. 13(4): health and safety in an emergency
    PUBLIC_INTEREST = "public_interest"  # art. 13(5): news, supervision in the public interest


class RetentionKind(StrEnum):
    """How a retention period is measured."""

    DAYS = "days"  # deleted N days after the row's own time
    LEGAL_HOLD = "legal_hold"  # kept N years because a law says so, then deleted
    WHILE_ACCOUNT = "while_account"  # deleted with the account
    WHILE_RESIDENT = "while_resident"  # deleted or anonymised when the resident leaves
    WHILE_HOUSEHOLD = "while_household"  # deleted or anonymised when the household leaves
    WITH_PARENT = "with_parent"  # as long as the row it belongs to (``ref``)
    WHILE_REGISTERED = "while_registered"  # while the thing (``ref``) is registered
    CONFIGURED = "configured"  # a period stored in a column (``ref``), default ``days``


@dataclass(frozen=True)
class Retention:
    """How long data is kept; ``str()`` gives the wording used in the docs."""

    kind: RetentionKind
    days: int | None = None
    years: int | None = None
    ref: str = ""
    law: str = ""

    def __str__(self) -> str:
        match self.kind:
            case RetentionKind.DAYS:
                return f"{self.days} days"
            case RetentionKind.LEGAL_HOLD:
                return f"legal hold: {self.years} years ({self.law})"
            case RetentionKind.WHILE_ACCOUNT:
                return "while the account exists"
            case RetentionKind.WHILE_RESIDENT:
                return "while the resident is registered"
            case RetentionKind.WHILE_HOUSEHOLD:
                return "while the household is registered"
            case RetentionKind.WITH_PARENT:
                return f"as long as its {self.ref} row"
            case RetentionKind.WHILE_REGISTERED:
                return f"while the {self.ref} is registered"
            case RetentionKind.CONFIGURED:
                return f"configured in {self.ref} (default {self.days} days)"


def days(n: int) -> Retention:
    """Deleted ``n`` days after the row's own time."""
    return Retention(RetentionKind.DAYS, days=n)


def legal_hold(years: int, law: str) -> Retention:
    """Kept ``years`` years because ``law`` requires it."""
    return Retention(RetentionKind.LEGAL_HOLD, years=years, law=law)


def with_parent(table: str) -> Retention:
    """Kept as long as the row of ``table`` it belongs to."""
    return Retention(RetentionKind.WITH_PARENT, ref=table)


def while_registered(thing: str) -> Retention:
    """Kept while ``thing`` (a device, an endpoint) stays registered."""
    return Retention(RetentionKind.WHILE_REGISTERED, ref=thing)


def configured(column: str, default_days: int) -> Retention:
    """A period stored per row in ``column`` (table.column), ``default_days`` when unset."""
    return Retention(RetentionKind.CONFIGURED, days=default_days, ref=column)


WHILE_ACCOUNT = Retention(RetentionKind.WHILE_ACCOUNT)
WHILE_RESIDENT = Retention(RetentionKind.WHILE_RESIDENT)
WHILE_HOUSEHOLD = Retention(RetentionKind.WHILE_HOUSEHOLD)


@dataclass(frozen=True)
class Personal:
    """A column holding personal data; empty purpose, retention or basis: the table's."""

    category: Category
    sensitive: bool = False
    purpose: str = ""
    retention: Retention | None = None
    legal_basis: LegalBasis | None = None
    # Why a sensitive column is stored in plain (sensitive data is encrypted by default).
    unencrypted_because: str = ""
    note: str = ""


@dataclass(frozen=True)
class NotPersonal:
    """A column holding no personal data; ``reason`` is required when its name looks personal."""

    reason: str = ""


Classification = Personal | NotPersonal
Columns = tuple[tuple[str, Classification], ...]


@dataclass(frozen=True)
class TableDeclaration:
    """One table: what it is about, why and how long it is kept, and every column."""

    name: str
    domain: str
    subject: Subject
    about: str
    columns: Columns
    purpose: str = ""
    retention: Retention | None = None
    legal_basis: LegalBasis | None = None
    # The job that enforces the retention today; empty: declared, not yet enforced.
    enforced_by: str = ""

    def column_names(self) -> list[str]:
        return [name for name, _ in self.columns]

    def classification(self, column: str) -> Classification | None:
        for name, value in self.columns:
            if name == column:
                return value
        return None


@dataclass(frozen=True)
class ColumnDeclaration:
    """A column's classification with the table's defaults filled in."""

    table: str
    column: str
    personal: bool
    category: Category | None
    sensitive: bool
    purpose: str
    retention: Retention | None
    legal_basis: LegalBasis | None
    reason: str  # not personal: why; personal: why it is not encrypted (sensitive only)
    note: str


# --- builders: keep the declarations below short --------------------------------------------


def _split(names: tuple[str, ...]) -> list[str]:
    return [name for group in names for name in group.split()]


def system(*names: str) -> Columns:
    """Keys, bookkeeping and configuration: obviously not personal ("id created_at")."""
    return tuple((name, NotPersonal()) for name in _split(names))


def not_personal(reason: str, *names: str) -> Columns:
    """Not personal although the name may suggest it; ``reason`` says why."""
    return tuple((name, NotPersonal(reason)) for name in _split(names))


def personal(
    category: Category,
    *names: str,
    sensitive: bool = False,
    purpose: str = "",
    retention: Retention | None = None,
    legal_basis: LegalBasis | None = None,
    unencrypted_because: str = "",
    note: str = "",
) -> Columns:
    """Personal columns (space-separated names) of one category sharing the same overrides."""
    value = Personal(
        category, sensitive, purpose, retention, legal_basis, unencrypted_because, note
    )
    return tuple((name, value) for name in _split(names))


def table(
    name: str,
    domain: str,
    subject: Subject,
    about: str,
    *groups: Columns,
    purpose: str = "",
    retention: Retention | None = None,
    legal_basis: LegalBasis | None = None,
    enforced_by: str = "",
) -> TableDeclaration:
    """A table declaration; a column listed in two groups is reported by ``check``."""
    columns = tuple(item for group in groups for item in group)
    return TableDeclaration(
        name, domain, subject, about, columns, purpose, retention, legal_basis, enforced_by
    )


# --- shared wording ------------------------------------------------------------------------

P, S, A, H = Category.IDENTITY, Category.CONTACT, Category.ACCOUNT, Category.HOUSEHOLD
CONSENT, CONTRACT = LegalBasis.CONSENT, LegalBasis.CONTRACT
LEGAL_DUTY, VITAL = LegalBasis.LEGAL_DUTY, LegalBasis.VITAL_INTEREST
PUBLIC = LegalBasis.PUBLIC_INTEREST

THING_NAME = "the name of a thing (a place, kind, category, device or rule), not of a person"
STAFF_TEXT = "text written by staff for everyone (a public description), not about a person"
SITE_POSITION = "where a fixed thing stands (a bin, a depot, a place), not where a person is"
CREDENTIAL = "a credential of software or an organisation, not data about a person"
ACTOR = "which staff member or resident did it: accountability for the record"
TELEMETRY_PLAIN = (
    "numeric time series read on the ingestion and rule hot paths (no per-row decryption); "
    "readable only through device visibility (staff of the device's place), purged by "
    "telemetry.tasks.purge"
)
AUDIT_LAW = "PIPL art. 56 records; Cybersecurity Law art. 21 logs"
EVACUATION_AUDIT = (
    "a JSON list filtered and read by the door-to-door lists, so kept in plain; only "
    "EVACUATION_ROLES over the resident's place see it and every view, change and clearing "
    "is audited (evacuation.view, evacuation.door_to_door, evacuation.set, evacuation.clear "
    "in linli.incident.warnings)"
)
WEARABLE_NOTE = "health data when the device is a care wearable (heart rate, SpO2, falls)"

# --- the inventory ---------------------------------------------------------------------------

INVENTORY: tuple[TableDeclaration, ...] = (
    # core ------------------------------------------------------------------------------------
    table(
        "rate_limit_hits",
        "core",
        Subject.ACCOUNT,
        "one counted action in a rate-limit bucket",
        system("id"),
        personal(
            Category.ONLINE_ID,
            "bucket at",
            note="the limit's name and a keyed digest of the IP, account or address, never "
            "the value in clear",
        ),
        purpose="limiting abuse (password guessing, flooding) per IP address or account",
        retention=days(1),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.core.ratelimit.hit (a key's rows older than its window, on its "
        "next hit)",
    ),
    # place -----------------------------------------------------------------------------------
    table(
        "places",
        "place",
        Subject.PLACE,
        "the tree of city, district, street office, community, compound, building, unit",
        system("id parent_id kind code path created_at"),
        not_personal(THING_NAME, "name"),
        not_personal(SITE_POSITION, "latitude longitude"),
    ),
    # resident --------------------------------------------------------------------------------
    table(
        "households",
        "resident",
        Subject.HOUSEHOLD,
        "a dwelling and the people registered in it",
        system("id created_at"),
        personal(H, "place_id room floor area_m2"),
        purpose="community services to the household (notices, repairs, fees, voting by area)",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONTRACT,
    ),
    table(
        "residents",
        "resident",
        Subject.RESIDENT,
        "a person living in the community",
        system("id created_at updated_at"),
        personal(H, "place_id household_id relation"),
        personal(P, "name gender"),
        personal(S, "phone", note="encrypted and masked by project choice; not art. 28"),
        personal(
            S,
            "phone_digest",
            note="keyed HMAC digest: finds an exact phone without decrypting every row",
        ),
        personal(
            P,
            "id_number",
            sensitive=True,
            legal_basis=LEGAL_DUTY,
            purpose="real-name registration of residents; de-duplicating imports",
        ),
        personal(
            P,
            "id_number_digest",
            sensitive=True,
            legal_basis=LEGAL_DUTY,
            unencrypted_because=(
                "a keyed HMAC-SHA-256 digest whose key is derived from the data key (never in "
                "the database): useless without the key, and deterministic so an exact ID "
                "number can be found"
            ),
        ),
        personal(
            Category.MINORS,
            "date_of_birth",
            sensitive=True,
            note="reveals a child under 14 (PIPL art. 28, 31)",
        ),
        personal(
            Category.MINORS,
            "birth_year",
            sensitive=True,
            unencrypted_because=(
                "the year alone, kept plain so lists can show age groups without decrypting; "
                "lists never show it, only the age group"
            ),
            note="a year of birth tells a child under 14 roughly: treated as sensitive here",
        ),
        purpose="knowing who lives where to serve, reach and protect residents",
        retention=WHILE_RESIDENT,
        legal_basis=CONTRACT,
    ),
    # account ---------------------------------------------------------------------------------
    table(
        "accounts",
        "account",
        Subject.ACCOUNT,
        "a login of a resident or a staff member",
        system("id created_at"),
        personal(A, "username password_hash resident_id is_active last_login_at"),
        personal(P, "display_name"),
        personal(S, "email", purpose="e-mail notifications the person chose"),
        personal(
            A,
            "locale elder_mode text_size",
            note="display preferences; elder mode may hint at age or eyesight",
        ),
        purpose="signing in and acting in the platform",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "role_grants",
        "account",
        Subject.ACCOUNT,
        "a role held by an account on a place",
        system("id place_id created_at"),
        personal(A, "account_id role granted_by_account_id"),
        purpose="deciding who may see and do what",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "auth_sessions",
        "account",
        Subject.ACCOUNT,
        "a server-side login session",
        system("id csrf_secret expires_at revoked_at mfa_pending mfa_verified_at"),
        personal(A, "account_id on_behalf_of_resident_id"),
        personal(Category.ONLINE_ID, "token_hash created_at last_seen_at ip user_agent"),
        purpose="keeping a person signed in; showing them their sessions; security",
        retention=days(30),
        legal_basis=CONTRACT,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "mfa_credentials",
        "account",
        Subject.ACCOUNT,
        "an account's second factor: a TOTP secret, encrypted at rest",
        system("id created_at confirmed_at last_step"),
        not_personal(
            "a random key shared with the person's app; it says nothing about them", "secret"
        ),
        personal(A, "account_id"),
        purpose="two-step verification at login (security of the accounts)",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "mfa_recovery_codes",
        "account",
        Subject.ACCOUNT,
        "a single-use recovery code of the second factor, kept as a digest",
        system("id code_hash created_at used_at"),
        personal(A, "account_id"),
        purpose="logging in when the phone with the authenticator app is lost",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "api_keys",
        "account",
        Subject.ACCOUNT,
        "a key another program uses in an account's name",
        system("id prefix secret_hash created_at revoked_at"),
        not_personal("the key's label, chosen by its owner for a program", "name"),
        personal(A, "account_id last_used_at"),
        purpose="letting a person's or a service's software use the API",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "login_attempts",
        "account",
        Subject.ACCOUNT,
        "one password login attempt",
        system("id success"),
        personal(A, "username at"),
        personal(Category.ONLINE_ID, "ip"),
        purpose="throttling password guessing (security of the accounts)",
        retention=days(30),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    # audit -----------------------------------------------------------------------------------
    table(
        "audit_events",
        "audit",
        Subject.ACCOUNT,
        "who did what to which record, when, from where and why (never the data itself)",
        system("id place_id fields prev_hash hash"),
        personal(A, "actor_account_id actor_username on_behalf_of_resident_id at action outcome"),
        personal(Category.ACTIVITY, "subject_type subject_id subject_resident_id"),
        personal(Category.ONLINE_ID, "ip"),
        personal(Category.FREE_TEXT, "reason detail"),
        purpose="accountability for access to personal data; showing residents who saw theirs",
        retention=legal_hold(3, AUDIT_LAW),
        legal_basis=LEGAL_DUTY,
    ),
    table(
        "audit_chain",
        "audit",
        Subject.NONE,
        "the head of the audit hash chain",
        system("id seq last_hash"),
    ),
    # device ----------------------------------------------------------------------------------
    table(
        "observed_properties",
        "device",
        Subject.NONE,
        "a quantity sensors observe",
        system("id key definition unit_ucum unit_display min_value max_value"),
        not_personal(THING_NAME, "name name_zh"),
        not_personal(STAFF_TEXT, "description"),
    ),
    table(
        "device_profiles",
        "device",
        Subject.NONE,
        "a kind of device",
        system("id code adapter properties expected_interval_s retention_days"),
        system("created_at"),
        not_personal(THING_NAME, "name name_zh"),
        not_personal(STAFF_TEXT, "description"),
    ),
    table(
        "devices",
        "device",
        Subject.DEVICE,
        "one physical device at a place",
        system(
            "id uid place_id profile_id status token_hash mqtt_password_hash firmware battery",
            "is_public last_seen_at created_at",
        ),
        not_personal(
            "where staff installed the device, entered by hand; never a tracked position",
            "latitude longitude",
        ),
        personal(
            Category.FREE_TEXT, "name", note="staff may name a care wearable after its wearer"
        ),
        purpose="operating the device fleet",
        retention=while_registered("device"),
        legal_basis=CONTRACT,
    ),
    table(
        "datastreams",
        "device",
        Subject.DEVICE,
        "the readings of one property from one device, with the latest value",
        system(
            "id device_id property_id unit_ucum unit_display retention_days first_at_ms created_at"
        ),
        not_personal(THING_NAME, "name"),
        personal(
            Category.HEALTH,
            "last_value last_at_ms",
            sensitive=True,
            unencrypted_because=TELEMETRY_PLAIN,
            note=WEARABLE_NOTE,
        ),
        purpose="monitoring the community and the residents who chose a care wearable",
        retention=configured("datastreams.retention_days, device_profiles.retention_days", 365),
        legal_basis=CONSENT,
        enforced_by="linli.telemetry.tasks.purge",
    ),
    # telemetry -------------------------------------------------------------------------------
    table(
        "observations",
        "telemetry",
        Subject.DEVICE,
        "one reading of a datastream",
        system("datastream_id"),
        personal(
            Category.HEALTH,
            "ts value text",
            sensitive=True,
            unencrypted_because=TELEMETRY_PLAIN,
            note=WEARABLE_NOTE,
        ),
        purpose="monitoring the community and the residents who chose a care wearable",
        retention=configured("datastreams.retention_days, device_profiles.retention_days", 365),
        legal_basis=CONSENT,
        enforced_by="linli.telemetry.tasks.purge",
    ),
    table(
        "rollups",
        "telemetry",
        Subject.DEVICE,
        "count, min, max, sum and last of a datastream over one period",
        system("datastream_id period_s bucket last_ts"),
        personal(
            Category.HEALTH,
            "count min max sum last",
            sensitive=True,
            unencrypted_because=TELEMETRY_PLAIN,
            note=WEARABLE_NOTE,
        ),
        purpose="charts and trends over long periods",
        retention=configured("datastreams.retention_days (× the rollup factor)", 365),
        legal_basis=CONSENT,
        enforced_by="linli.telemetry.tasks.purge",
    ),
    table(
        "quarantine",
        "telemetry",
        Subject.DEVICE,
        "a payload or reading that was refused",
        system("id received_at transport device_uid device_id content_type"),
        not_personal("the refusal reason written by the ingestion code", "reason"),
        personal(
            Category.HEALTH,
            "raw",
            sensitive=True,
            unencrypted_because=(
                "the payload exactly as received, kept only for staff to diagnose a device; "
                "readable only by staff of the device's place"
            ),
            note=WEARABLE_NOTE,
        ),
        purpose="diagnosing misbehaving devices",
        retention=days(30),
        legal_basis=CONSENT,
        enforced_by="linli.privacy.retention",
    ),
    # rule ------------------------------------------------------------------------------------
    table(
        "rules",
        "rule",
        Subject.NONE,
        "a condition watched on readings under a place",
        system(
            "id template kind place_id profile_code property_key params severity enabled",
            "escalate_after_min created_at updated_at",
        ),
        not_personal(THING_NAME, "name"),
        not_personal(STAFF_TEXT, "description"),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="accountability for the rule",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "rule_states",
        "rule",
        Subject.DEVICE,
        "the evaluation state of a rule on one source",
        system("rule_id source last_ts updated_at"),
        personal(
            Category.HEALTH,
            "state",
            sensitive=True,
            unencrypted_because=(
                "recent values held by the rule runtime between readings, read and written on "
                "the ingestion hot path; replaced at each checkpoint, never exported"
            ),
            note=WEARABLE_NOTE,
        ),
        purpose="raising alarms (falls, abnormal heart rate) without missing a reading",
        retention=with_parent("rules"),
        legal_basis=CONSENT,
    ),
    # alarm -----------------------------------------------------------------------------------
    table(
        "alarms",
        "alarm",
        Subject.DEVICE,
        "an alarm raised by a rule",
        system(
            "id rule_id source severity place_id place_path device_id datastream_id started_ms",
            "ended_ms raised_at cleared_at acknowledged_at count last_ms escalation_level",
            "escalated_at",
        ),
        not_personal("generated from the rule's name", "title"),
        personal(A, "acknowledged_by_account_id", note=ACTOR),
        personal(
            Category.HEALTH,
            "value peak details",
            sensitive=True,
            unencrypted_because=(
                "read on the alarm hot path and in lists of staff of the device's place only"
            ),
            note=WEARABLE_NOTE,
        ),
        purpose="responding to alarms, including a care wearable's fall or heart alarms",
        retention=days(730),
        legal_basis=CONSENT,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "alarm_events",
        "alarm",
        Subject.DEVICE,
        "one entry of an alarm's timeline",
        system("id alarm_id kind at by_person"),
        personal(A, "account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "text"),
        personal(
            Category.HEALTH,
            "value",
            sensitive=True,
            unencrypted_because="as alarms.value: staff of the device's place only",
            note=WEARABLE_NOTE,
        ),
        purpose="responding to alarms and accounting for the response",
        retention=with_parent("alarms"),
        legal_basis=CONSENT,
    ),
    # notification ----------------------------------------------------------------------------
    table(
        "notifications",
        "notification",
        Subject.ACCOUNT,
        "one message to one person or endpoint",
        system(
            "id idempotency_key channel endpoint_id place_id category severity status attempts",
            "next_attempt_at last_error created_at sent_at",
        ),
        personal(A, "account_id"),
        personal(Category.CORRESPONDENCE, "subject body link data read_at"),
        purpose="telling people about alarms, cases, notices that concern them",
        retention=days(180),
        legal_basis=CONTRACT,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "notification_endpoints",
        "notification",
        Subject.PLACE,
        "a place's webhook, SMS gateway or group robot",
        system("id place_id channel min_severity enabled created_at"),
        not_personal(THING_NAME, "name"),
        not_personal(CREDENTIAL, "url secret"),
        personal(S, "recipients", note="duty phone numbers of staff"),
        purpose="reaching the staff on duty",
        retention=while_registered("endpoint"),
        legal_basis=CONTRACT,
    ),
    table(
        "notification_preferences",
        "notification",
        Subject.ACCOUNT,
        "how one person wants to be told",
        system("updated_at"),
        personal(A, "account_id email_enabled quiet_start quiet_end min_severity"),
        personal(A, "daily_cap"),
        purpose="respecting how the person wants to be told",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    # case ------------------------------------------------------------------------------------
    table(
        "case_categories",
        "case",
        Subject.NONE,
        "a kind of problem and who handles it",
        system("id code team sla_hours sla_days is_public active"),
        not_personal(THING_NAME, "name_en name_zh"),
    ),
    table(
        "cases",
        "case",
        Subject.RESIDENT,
        "a problem a resident or staff member reported",
        system(
            "id ref category_id team place_id place_path status due_at escalation_level",
            "escalated_at duplicate_of_id referred_to resolved_at closed_at is_public",
            "created_at updated_at",
        ),
        personal(Category.SERVICE, "reporter_resident_id reporter_account_id rating"),
        personal(A, "filed_by_account_id assignee_account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "title description rating_comment"),
        personal(
            Category.WHEREABOUTS,
            "lat lon",
            note="where the reported problem is, often near the reporter's home; one point, "
            "not a track, so not sensitive",
        ),
        purpose="handling residents' requests and complaints",
        retention=days(1095),
        legal_basis=CONTRACT,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "case_events",
        "case",
        Subject.RESIDENT,
        "one entry of a case's timeline",
        system("id case_id kind at by_staff public status"),
        personal(A, "account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "text"),
        purpose="handling residents' requests and complaints",
        retention=with_parent("cases"),
        legal_basis=CONTRACT,
    ),
    table(
        "case_followers",
        "case",
        Subject.ACCOUNT,
        "an account told about a case's progress",
        system("id case_id created_at"),
        personal(Category.SERVICE, "account_id"),
        purpose="telling followers about progress",
        retention=with_parent("cases"),
        legal_basis=CONSENT,
    ),
    table(
        "case_photos",
        "case",
        Subject.RESIDENT,
        "a photo attached to a case, re-encoded without EXIF",
        system("id case_id content_type size created_at"),
        personal(A, "account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "data", note="a photo may show people, plates, homes"),
        purpose="showing the problem to whoever fixes it",
        retention=with_parent("cases"),
        legal_basis=CONTRACT,
    ),
    # proposal --------------------------------------------------------------------------------
    table(
        "proposal_settings",
        "proposal",
        Subject.NONE,
        "support threshold and answer time at a place",
        system("place_id place_path threshold answer_days updated_at"),
    ),
    table(
        "proposals",
        "proposal",
        Subject.RESIDENT,
        "a resident's suggestion to the community (author never shown publicly)",
        system(
            "id place_id place_path status status_before_hidden support_count threshold",
            "answer_days created_at threshold_reached_at answer_due_at overdue_at answered_at",
            "moderated_at",
        ),
        personal(Category.CIVIC, "author_resident_id author_account_id author_area_id"),
        personal(Category.FREE_TEXT, "title body"),
        personal(A, "answered_by moderated_by", note=ACTOR),
        not_personal(STAFF_TEXT, "answer"),
        personal(Category.FREE_TEXT, "moderation_reason"),
        purpose="residents' participation in community affairs",
        retention=days(1825),
        legal_basis=PUBLIC,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "proposal_supports",
        "proposal",
        Subject.RESIDENT,
        "one resident's support of a proposal",
        system("id proposal_id created_at"),
        personal(Category.CIVIC, "resident_id account_id"),
        purpose="counting supports, one per resident",
        retention=with_parent("proposals"),
        legal_basis=PUBLIC,
    ),
    table(
        "proposal_events",
        "proposal",
        Subject.NONE,
        "one entry of a proposal's public history",
        system("id proposal_id kind at"),
        personal(A, "account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "text"),
        purpose="the public history of a proposal",
        retention=with_parent("proposals"),
        legal_basis=PUBLIC,
    ),
    # poll ------------------------------------------------------------------------------------
    table(
        "polls",
        "poll",
        Subject.NONE,
        "a question put to the electorate of a place",
        system(
            "id place_id place_path title electorate matter secret public_results opens_at",
            "closes_at status electorate_size electorate_area ballots_cast created_at",
            "opened_at closed_at",
        ),
        not_personal(STAFF_TEXT, "description"),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="accountability for the poll",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "poll_options",
        "poll",
        Subject.NONE,
        "one answer a voter may choose",
        system("id poll_id position label"),
    ),
    table(
        "poll_voters",
        "poll",
        Subject.RESIDENT,
        "the voter roll: who took part (never what they chose in a secret poll)",
        system("id poll_id"),
        personal(Category.CIVIC, "voter_key voted_at via"),
        personal(
            Category.CIVIC,
            "option_id",
            note="filled only in open (not secret) polls, where the choice is public",
        ),
        personal(A, "recorded_by_account_id", note=ACTOR),
        purpose="one vote per voter; quorum checks (Civil Code art. 278)",
        retention=days(1825),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "poll_ballots",
        "poll",
        Subject.NONE,
        "what was chosen, stored apart from the roll",
        system("poll_id option_id"),
        not_personal(
            "ballots are kept apart from the roll on purpose: no voter column, no time, a "
            "random key, no foreign key to residents or households (see linli.poll.models)",
            "id",
        ),
        not_personal(
            "SHA-256 of the receipt only the voter holds: it lets the voter find their own "
            "ballot, nobody else",
            "receipt_hash",
        ),
        not_personal(
            "1, or the floor area in owners_by_area polls; an unusual area could single out a "
            "flat (a residual risk named in docs/privacy.md)",
            "weight",
        ),
    ),
    # notice ----------------------------------------------------------------------------------
    table(
        "notices",
        "notice",
        Subject.PLACE,
        "an announcement to everyone under a place",
        system(
            "id place_id place_path title body category pinned publish_at expires_at created_at"
        ),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="accountability for the notice",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "notice_reads",
        "notice",
        Subject.ACCOUNT,
        "a read receipt: this account opened this notice",
        system("id"),
        personal(Category.ACTIVITY, "notice_id account_id read_at"),
        purpose="showing staff who has not read an important notice (to reach them otherwise)",
        retention=with_parent("notices"),
        legal_basis=CONTRACT,
    ),
    table(
        "emergency_broadcasts",
        "notice",
        Subject.PLACE,
        "an emergency check-in sent to everyone under a place",
        system(
            "id identifier place_id place_path headline instruction cap_category event urgency",
            "severity certainty status sent_at ended_at",
        ),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="accountability for the broadcast",
        retention=WHILE_ACCOUNT,
        legal_basis=VITAL,
    ),
    table(
        "emergency_responses",
        "notice",
        Subject.RESIDENT,
        "one resident's answer to a check-in: safe, needs help, no answer",
        system("id broadcast_id"),
        personal(Category.ACTIVITY, "resident_id status answered_at via"),
        personal(H, "place_id"),
        personal(A, "recorded_by_account_id", note=ACTOR),
        personal(Category.FREE_TEXT, "note"),
        purpose="finding residents who need help in an emergency",
        retention=days(365),
        legal_basis=VITAL,
        enforced_by="linli.privacy.retention",
    ),
    # environment -----------------------------------------------------------------------------
    table(
        "environment_place_settings",
        "environment",
        Subject.PLACE,
        "how a place's environment is judged",
        system("id place_id aqi_standard noise_zone noise_rule_id noise_peak_rule_id updated_at"),
        personal(A, "updated_by_account_id", note=ACTOR),
        purpose="accountability for the setting",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "environment_water_monitors",
        "environment",
        Subject.DEVICE,
        "which water a water-quality monitor samples",
        system("id device_id water_body updated_at"),
        personal(A, "updated_by_account_id", note=ACTOR),
        purpose="accountability for the setting",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    # waste -----------------------------------------------------------------------------------
    table(
        "waste_categories",
        "waste",
        Subject.NONE,
        "a city's local name for a sorting class",
        system("id city_id code gb_class position"),
        not_personal(THING_NAME, "name"),
    ),
    table(
        "waste_containers",
        "waste",
        Subject.PLACE,
        "a bin at a place",
        system(
            "id community_id place_id place_path device_id code gb_class category_code",
            "capacity_l max_load_kg max_disposal_kg fill_level fill_threshold fill_at status",
            "status_at last_emptied_at window_start_min window_end_min active created_at",
        ),
        not_personal(THING_NAME, "name"),
        not_personal(SITE_POSITION, "address latitude longitude"),
    ),
    table(
        "waste_cards",
        "waste",
        Subject.HOUSEHOLD,
        "a household's disposal card or QR code (only a keyed digest of its id)",
        system("id community_id kind active created_at"),
        personal(H, "household_id household_path card_digest hint"),
        purpose="crediting a household's sorted waste",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    table(
        "waste_disposals",
        "waste",
        Subject.HOUSEHOLD,
        "one disposal by a household at a bin",
        system("id event_id community_id received_at via"),
        personal(H, "household_id household_path card_id"),
        personal(
            Category.ACTIVITY,
            "container_id gb_class category_code weight_kg occurred_at fraud flagged",
        ),
        purpose="sorting rates and points for households that joined the programme",
        retention=days(730),
        legal_basis=CONSENT,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "waste_grades",
        "waste",
        Subject.HOUSEHOLD,
        "whether a disposal was sorted correctly",
        system("id source graded_at"),
        personal(Category.ACTIVITY, "disposal_id result"),
        personal(Category.FREE_TEXT, "reason"),
        personal(Category.POINTS, "points"),
        personal(A, "graded_by_account_id", note=ACTOR),
        purpose="sorting feedback and points",
        retention=with_parent("waste_disposals"),
        legal_basis=CONSENT,
    ),
    table(
        "waste_trucks",
        "waste",
        Subject.NONE,
        "a collection truck",
        system(
            "id community_id capacity_kg capacity_l shift_start_min shift_end_min speed_kmh",
            "gb_classes active",
        ),
        not_personal(THING_NAME, "name depot_name"),
        not_personal("the number plate of a sanitation truck, not of a private car", "plate"),
        not_personal(SITE_POSITION, "depot_latitude depot_longitude"),
    ),
    table(
        "waste_plans",
        "waste",
        Subject.NONE,
        "a collection plan",
        system("id community_id created_at status distance_m unserved summary"),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="accountability for the plan",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "waste_plan_stops",
        "waste",
        Subject.NONE,
        "one stop of a truck's route",
        system("id plan_id truck_id container_id seq arrive_min load_kg load_l"),
    ),
    table(
        "waste_alarm_rules",
        "waste",
        Subject.NONE,
        "the rules a community's bin alarms are raised under",
        system("community_id full_rule_id burning_rule_id"),
    ),
    # points ----------------------------------------------------------------------------------
    table(
        "points_accounts",
        "points",
        Subject.HOUSEHOLD,
        "a household's points account (or a community's system account)",
        system("id community_id kind lock_seq created_at"),
        personal(Category.POINTS, "key household_id"),
        purpose="the points programme households joined",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    table(
        "points_transactions",
        "points",
        Subject.HOUSEHOLD,
        "one business event of the append-only points ledger",
        system("id community_id recorded_at"),
        personal(
            Category.POINTS,
            "household_id kind source_kind source_id rule_code quantity redemption_id occurred_at",
        ),
        personal(Category.FREE_TEXT, "memo"),
        personal(A, "recorded_by_account_id", note=ACTOR),
        purpose="the points programme households joined",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    table(
        "points_entries",
        "points",
        Subject.HOUSEHOLD,
        "one leg of a points transaction",
        system("id transaction_id"),
        personal(Category.POINTS, "account_id amount occurred_at"),
        purpose="the points programme households joined",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    table(
        "points_settings",
        "points",
        Subject.NONE,
        "a community's points expiry",
        system("community_id expiry_months updated_at"),
    ),
    table(
        "points_rules",
        "points",
        Subject.NONE,
        "how many points an event earns",
        system("id community_id code points_per_unit daily_cap enabled"),
        system("updated_at"),
        personal(A, "updated_by_account_id", note=ACTOR),
        purpose="accountability for the rule",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "points_rewards",
        "points",
        Subject.NONE,
        "something a household can redeem points for",
        system("id community_id cost stock active created_at updated_at"),
        not_personal(THING_NAME, "name"),
        not_personal(STAFF_TEXT, "description"),
    ),
    table(
        "points_redemptions",
        "points",
        Subject.HOUSEHOLD,
        "a household's claim on a reward",
        system("id community_id via decided_at"),
        personal(Category.POINTS, "household_id reward_id cost status created_at"),
        personal(A, "requested_by_account_id decided_by_account_id", note=ACTOR),
        purpose="the points programme households joined",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    table(
        "points_leaderboard",
        "points",
        Subject.HOUSEHOLD,
        "a household's opt-in to the leaderboard and the name shown there",
        system("community_id updated_at"),
        personal(Category.POINTS, "household_id opted_in"),
        personal(P, "display_name", note="chosen by the household; shown only when opted in"),
        purpose="the leaderboard the household opted into",
        retention=WHILE_HOUSEHOLD,
        legal_basis=CONSENT,
    ),
    # incident --------------------------------------------------------------------------------
    table(
        "incidents",
        "incident",
        Subject.PLACE,
        "an emergency at a place",
        system(
            "id place_id place_path type severity node status source dedup_key created_at",
            "updated_at closed_at",
        ),
        not_personal(
            "where the emergency is (a building, a flooded road), for dispatch", "lat lon"
        ),
        personal(Category.FREE_TEXT, "title description after_action"),
        personal(A, "commander_account_id created_by_account_id", note=ACTOR),
        purpose="handling emergencies and learning from them",
        retention=days(1825),
        legal_basis=VITAL,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "incident_events",
        "incident",
        Subject.PLACE,
        "one line of an incident's timeline",
        system("id incident_id kind at"),
        personal(Category.FREE_TEXT, "text data"),
        personal(A, "actor_account_id", note=ACTOR),
        purpose="handling emergencies and accounting for the response",
        retention=with_parent("incidents"),
        legal_basis=VITAL,
    ),
    table(
        "incident_alarms",
        "incident",
        Subject.NONE,
        "an alarm folded into an incident",
        system("id incident_id alarm_id linked_at"),
    ),
    table(
        "incident_help_answers",
        "incident",
        Subject.RESIDENT,
        "a resident's 'I need help' answer folded into an incident",
        system("id incident_id linked_at"),
        personal(Category.ACTIVITY, "response_id"),
        purpose="sending help to residents who asked for it",
        retention=with_parent("incidents"),
        legal_basis=VITAL,
    ),
    table(
        "responders",
        "incident",
        Subject.ACCOUNT,
        "someone who answers incidents: skills, shift and live status",
        system("id place_id place_path updated_at"),
        personal(A, "account_id kind skills on_shift shift_start shift_end"),
        personal(P, "display_name"),
        personal(
            Category.WHEREABOUTS,
            "status node",
            note="the responder's current post on the site plan while on duty; no history",
        ),
        purpose="dispatching the nearest suitable responder",
        retention=WHILE_ACCOUNT,
        legal_basis=CONTRACT,
    ),
    table(
        "incident_equipment",
        "incident",
        Subject.NONE,
        "a piece of emergency equipment",
        system("id place_id place_path kind node condition updated_at"),
        not_personal(THING_NAME, "name"),
    ),
    table(
        "dispatch_offers",
        "incident",
        Subject.ACCOUNT,
        "one slot of an incident offered to one responder, and the answer",
        system("id incident_id skill slot_index"),
        personal(Category.ACTIVITY, "responder_id status offered_at answered_at"),
        personal(
            Category.WHEREABOUTS, "travel_s", note="travel time from the responder's position"
        ),
        purpose="dispatching responders and accounting for the response",
        retention=with_parent("incidents"),
        legal_basis=CONTRACT,
    ),
    table(
        "incident_site_points",
        "incident",
        Subject.PLACE,
        "where a place stands on the community's site plan",
        system("id place_id place_path node updated_at"),
    ),
    table(
        "incident_broadcasts",
        "incident",
        Subject.NONE,
        "an emergency broadcast sent because of an incident",
        system("id incident_id broadcast_id target radius_m created_at"),
    ),
    table(
        "evacuation_needs",
        "incident",
        Subject.RESIDENT,
        "a resident who needs help to leave in an emergency",
        system("id updated_at"),
        personal(H, "resident_id place_id place_path"),
        personal(
            Category.HEALTH,
            "needs",
            sensitive=True,
            unencrypted_because=EVACUATION_AUDIT,
            note="elderly alone, disability, mobility, sight, hearing: health and disability",
        ),
        personal(
            Category.HEALTH,
            "note",
            sensitive=True,
            unencrypted_because=EVACUATION_AUDIT,
            note="free text about the need",
        ),
        personal(A, "recorded_by_account_id", note=ACTOR),
        purpose="getting residents who cannot leave alone out in an emergency",
        retention=WHILE_RESIDENT,
        legal_basis=CONSENT,
    ),
    # privacy: retention --------------------------------------------------------------------
    table(
        "retention_runs",
        "privacy",
        Subject.NONE,
        "one run of the retention job: per table, rows deleted or anonymised (counts only)",
        system("id as_of started_at finished_at trigger deleted anonymised ok report"),
    ),
    # sharing ---------------------------------------------------------------------------------
    table(
        "share_recipients",
        "sharing",
        Subject.ORGANISATION,
        "an organisation outside the platform that receives data (recipient registry)",
        system(
            "id place_id place_path kind purpose legal_basis allowed_fields incident_types",
            "min_severity feed_token_digest retention_days active created_at updated_at",
            "processor_channel contract_expires_at in_country basis_expires_at basis_invoked_by",
        ),
        not_personal("an organisation's name (a police station, a utility)", "name"),
        not_personal(
            "an organisation's contract number and its duty desk or office address",
            "contract_reference contact",
        ),
        not_personal(CREDENTIAL, "webhook_url signing_key"),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="the recipient registry (PIPL art. 23) and accountability for it",
        retention=WHILE_ACCOUNT,
        legal_basis=LEGAL_DUTY,
    ),
    table(
        "disclosures",
        "sharing",
        Subject.PLACE,
        "one message to one recipient: what it was about and which fields left",
        system(
            "id recipient_id place_id place_path subject_type subject_id purpose legal_basis",
            "fields channel identifier status attempts next_attempt_at last_error created_at",
            "sent_at emergency_until",
        ),
        personal(
            Category.FREE_TEXT,
            "payload",
            note="the message as sent; may hold names and rooms of residents who asked for help",
        ),
        purpose="the disclosure log residents can read (PIPL art. 23, 44-45)",
        retention=legal_hold(3, "PIPL art. 56 records"),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "disclosure_residents",
        "sharing",
        Subject.RESIDENT,
        "a resident whose own data was in a disclosure",
        system("id disclosure_id"),
        personal(Category.ACTIVITY, "resident_id"),
        purpose="showing residents what was disclosed about them",
        retention=with_parent("disclosures"),
        legal_basis=LEGAL_DUTY,
    ),
    table(
        "export_requests",
        "sharing",
        Subject.PLACE,
        "a staff request to download residents' data in bulk, approved by a second administrator",
        system(
            "id place_id place_path recipient_id kind status created_at decided_at expires_at",
            "downloaded_at disclosure_id",
        ),
        not_personal(STAFF_TEXT, "purpose decision_note"),
        personal(A, "requested_by_account_id decided_by_account_id", note=ACTOR),
        purpose="four-eyes control and accountability of bulk exports (PIPL art. 51)",
        retention=legal_hold(3, "PIPL art. 56 records"),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "data_breaches",
        "sharing",
        Subject.PLACE,
        "a declared personal-data incident and what its notices say (PIPL art. 57)",
        system(
            "id place_id place_path categories people_affected occurred_at discovered_at",
            "declared_at",
        ),
        not_personal(
            "staff's account of an incident, its measures and the duty contact, not about a person",
            "title what_happened cause possible_harm measures_taken advice_to_people contact",
        ),
        personal(A, "declared_by_account_id", note=ACTOR),
        purpose="handling and notifying personal-data incidents (PIPL art. 57)",
        retention=legal_hold(3, "PIPL art. 56 records"),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    # privacy: data-subject requests -----------------------------------------------------------
    table(
        "privacy_requests",
        "privacy",
        Subject.RESIDENT,
        "a resident's request to see, take, correct or delete their data, with its deadline",
        system("id kind community_id status via field received_at due_at answered_at outcome"),
        personal(Category.SERVICE, "resident_id account_id"),
        personal(
            P,
            "new_value",
            sensitive=True,
            note="the corrected value of a verified field (may be an ID number), encrypted",
        ),
        personal(Category.FREE_TEXT, "reason refusal_reason"),
        personal(A, "filed_by_account_id handled_by_account_id", note=ACTOR),
        purpose="answering data-subject requests in time and proving it (PIPL art. 50)",
        retention=legal_hold(3, "PIPL art. 50, 56 records"),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "privacy_export_links",
        "privacy",
        Subject.RESIDENT,
        "a single-use, expiring download of a resident's data for a processor they named",
        system("id token_digest created_at expires_at used_at revoked_at"),
        personal(Category.SERVICE, "resident_id"),
        not_personal("the name of the organisation the resident chose", "processor"),
        personal(A, "created_by_account_id", note=ACTOR),
        purpose="handing a resident's data to the processor they designate (PIPL art. 45)",
        retention=WHILE_RESIDENT,
        legal_basis=LEGAL_DUTY,
    ),
    # privacy: consent ----------------------------------------------------------------------
    table(
        "consents",
        "privacy",
        Subject.RESIDENT,
        "one resident's consent to one optional purpose, under one version of the notice",
        system("id"),
        personal(
            Category.ACTIVITY,
            "resident_id purpose notice_version channel given_at withdrawn_at withdrawn_channel",
        ),
        personal(
            A,
            "actor_account_id guardian_account_id withdrawn_by_account_id",
            note=ACTOR,
        ),
        personal(H, "guardian_resident_id", note="the household adult who consented for a child"),
        purpose="proving what each resident consented to and when (PIPL art. 14-15)",
        retention=legal_hold(3, "PIPL art. 56 records"),
        legal_basis=LEGAL_DUTY,
        enforced_by="linli.privacy.retention",
    ),
    table(
        "consent_guardians",
        "privacy",
        Subject.RESIDENT,
        "an account that staff recorded as the guardian of a child under 14",
        system("id created_at"),
        personal(H, "child_resident_id guardian_account_id"),
        personal(A, "linked_by_account_id", note=ACTOR),
        purpose="letting a guardian decide consents for a child under 14 (PIPL art. 31)",
        retention=WHILE_RESIDENT,
        legal_basis=LEGAL_DUTY,
    ),
    table(
        "privacy_impact_assessments",
        "privacy",
        Subject.PLACE,
        "a personal-information impact assessment of a module in a community",
        system("id place_id module reference assessed_on summary created_at"),
        personal(A, "recorded_by_account_id", note=ACTOR),
        purpose="accountability for the assessment (PIPL art. 55-56)",
        retention=WHILE_ACCOUNT,
        legal_basis=LEGAL_DUTY,
    ),
    table(
        "privacy_modules",
        "privacy",
        Subject.PLACE,
        "whether a module processing sensitive data is on in a community",
        system("id place_id module enabled assessment_id updated_at"),
        personal(A, "updated_by_account_id", note=ACTOR),
        purpose="accountability for the setting",
        retention=WHILE_ACCOUNT,
        legal_basis=LEGAL_DUTY,
    ),
)


# --- lookups for export, deletion and retention jobs -----------------------------------------


def _index(inventory: Iterable[TableDeclaration]) -> dict[str, TableDeclaration]:
    return {decl.name: decl for decl in inventory}


_TABLES = _index(INVENTORY)


def table_declaration(name: str) -> TableDeclaration:
    """The declaration of table ``name``; KeyError if it is not declared."""
    return _TABLES[name]


def _resolve(decl: TableDeclaration, column: str, value: Classification) -> ColumnDeclaration:
    if isinstance(value, NotPersonal):
        return ColumnDeclaration(
            decl.name,
            column,
            False,
            None,
            False,
            decl.purpose,
            decl.retention,
            decl.legal_basis,
            value.reason,
            "",
        )
    return ColumnDeclaration(
        decl.name,
        column,
        True,
        value.category,
        value.sensitive,
        value.purpose or decl.purpose,
        value.retention or decl.retention,
        value.legal_basis or decl.legal_basis,
        value.unencrypted_because,
        value.note,
    )


def declaration(table: str, column: str) -> ColumnDeclaration:
    """How ``table.column`` is classified, with the table's defaults filled in (KeyError if not
    declared)."""
    decl = _TABLES[table]
    value = decl.classification(column)
    if value is None:
        raise KeyError(f"{table}.{column}")
    return _resolve(decl, column, value)


def _all(inventory: Iterable[TableDeclaration]) -> Iterator[ColumnDeclaration]:
    for decl in inventory:
        for column, value in decl.columns:
            yield _resolve(decl, column, value)


def personal_columns() -> list[ColumnDeclaration]:
    """Every column declared personal, table by table."""
    return [c for c in _all(INVENTORY) if c.personal]


def sensitive_columns() -> list[ColumnDeclaration]:
    """Every column declared sensitive (PIPL art. 28)."""
    return [c for c in _all(INVENTORY) if c.sensitive]


def retention_of(table: str) -> Retention | None:
    """The table's retention; None when the table holds no personal data (KeyError if the
    table is not declared)."""
    return _TABLES[table].retention


# --- the check the build runs ----------------------------------------------------------------

# Name parts that suggest personal data; a column so named must be declared personal or carry
# a reason why it is not.
_PERSONAL_WORDS = frozenset(
    {
        "name",
        "username",
        "phone",
        "mobile",
        "email",
        "address",
        "room",
        "note",
        "notes",
        "comment",
        "description",
        "lat",
        "lon",
        "lng",
        "latitude",
        "longitude",
        "ip",
        "photo",
        "gender",
        "plate",
    }
)
_PERSONAL_PHRASES = ("id_number", "user_agent", "birth", "resident_id", "account_id")
_PERSON_TABLES = frozenset({"residents", "accounts", "households"})


def looks_personal(column: Column[object]) -> str:
    """Why a column probably holds personal data (its name, type or what it points at), or ""."""
    name = column.name.lower()
    if isinstance(column.type, EncryptedString):
        return "it is encrypted (EncryptedString)"
    if isinstance(column.type, LargeBinary):
        return "it holds a file (photos, documents)"
    for fk in column.foreign_keys:
        target = fk.target_fullname.split(".")[0]
        if target in _PERSON_TABLES:
            return f"it points at {target}"
    for phrase in _PERSONAL_PHRASES:
        if phrase in name:
            return f"its name contains {phrase!r}"
    words = set(re.split(r"[^a-z0-9]+", name))
    hits = sorted(words & _PERSONAL_WORDS)
    if hits:
        return f"its name contains {hits[0]!r}"
    return ""


ProblemKind = Literal[
    "undeclared", "duplicate", "stale", "looks_personal", "incomplete", "unencrypted"
]


@dataclass(frozen=True)
class Problem:
    """One way the inventory and the schema disagree; ``kind`` groups them for tests."""

    kind: ProblemKind
    table: str
    column: str
    message: str

    def __str__(self) -> str:
        return self.message


def check(metadata: MetaData, inventory: Iterable[TableDeclaration] = INVENTORY) -> list[Problem]:
    """Everything wrong between ``metadata`` and ``inventory``: empty when they agree."""
    declared = list(inventory)
    problems: list[Problem] = []
    where = f"in {INVENTORY_FILE}"
    counts = Counter(decl.name for decl in declared)
    for name, n in sorted(counts.items()):
        if n > 1:
            problems.append(
                Problem("duplicate", name, "", f"table {name} is declared {n} times {where}")
            )
    by_name = _index(declared)
    for name in sorted(set(by_name) - set(metadata.tables)):
        problems.append(
            Problem(
                "stale",
                name,
                "",
                f"table {name} is declared {where} but no model defines it: remove or rename "
                "its declaration",
            )
        )
    for name, tbl in sorted(metadata.tables.items()):
        decl = by_name.get(name)
        if decl is None:
            problems.append(
                Problem(
                    "undeclared",
                    name,
                    "",
                    f"table {name} is not in the personal-data inventory: add "
                    f"table({name!r}, ...) to INVENTORY {where} and classify each of its "
                    f"columns ({', '.join(tbl.columns.keys())})",
                )
            )
            continue
        problems.extend(_check_table(decl, tbl.columns, where))
    return problems


def _check_table(
    decl: TableDeclaration, columns: Iterable[Column[object]], where: str
) -> list[Problem]:
    problems: list[Problem] = []
    name = decl.name
    real = {c.name: c for c in columns}
    counts = Counter(decl.column_names())
    for column, n in sorted(counts.items()):
        if n > 1:
            problems.append(
                Problem(
                    "duplicate",
                    name,
                    column,
                    f"{name}.{column} is classified {n} times in table({name!r}, ...) {where}",
                )
            )
    for column in sorted(set(counts) - set(real)):
        problems.append(
            Problem(
                "stale",
                name,
                column,
                f"{name}.{column} is declared {where} but the table has no such column: "
                "remove or rename it",
            )
        )
    # Personal or encrypted columns need the table's purpose, retention and basis.
    has_personal = False
    for column, col in real.items():
        value = decl.classification(column)
        if value is None:
            hint = looks_personal(col)
            guess = f" (it looks personal: {hint})" if hint else ""
            problems.append(
                Problem(
                    "undeclared",
                    name,
                    column,
                    f"{name}.{column} is not in the personal-data inventory{guess}: classify "
                    f"it in table({name!r}, ...) {where} with personal(...), system(...) or "
                    "not_personal(reason, ...)",
                )
            )
            continue
        resolved = _resolve(decl, column, value)
        encrypted = isinstance(col.type, EncryptedString)
        if not resolved.personal:
            hint = looks_personal(col)
            if hint and not resolved.reason:
                problems.append(
                    Problem(
                        "looks_personal",
                        name,
                        column,
                        f"{name}.{column} is declared not personal but {hint}: declare it "
                        "personal, or give the reason with not_personal(reason, ...) "
                        f"{where}",
                    )
                )
        if resolved.personal or encrypted:
            has_personal = True
            missing = [
                label
                for label, present in (
                    ("purpose", resolved.purpose),
                    ("retention", resolved.retention),
                    ("legal basis", resolved.legal_basis),
                )
                if not present
            ]
            if missing:
                problems.append(
                    Problem(
                        "incomplete",
                        name,
                        column,
                        f"{name}.{column} has no {', '.join(missing)}: set it on "
                        f"table({name!r}, ...) or on the column {where}",
                    )
                )
        if resolved.sensitive and not encrypted and not resolved.reason:
            problems.append(
                Problem(
                    "unencrypted",
                    name,
                    column,
                    f"{name}.{column} is sensitive but stored in plain: use EncryptedString "
                    f"or say why not with unencrypted_because=... {where}",
                )
            )
    if not has_personal and (decl.retention or decl.legal_basis or decl.purpose):
        problems.append(
            Problem(
                "stale",
                name,
                "",
                f"table {name} has no personal or encrypted column but declares a purpose, "
                f"retention or legal basis {where}: remove them",
            )
        )
    return problems


# --- the summary in docs/privacy.md ----------------------------------------------------------

DOC_BEGIN = "<!-- data-inventory:begin (generated by linli.privacy.inventory; do not edit) -->"
DOC_END = "<!-- data-inventory:end -->"


def render_markdown(inventory: Iterable[TableDeclaration] = INVENTORY) -> str:
    """The per-domain summary of docs/privacy.md, from the inventory."""
    by_domain: dict[str, list[TableDeclaration]] = {}
    for decl in inventory:
        by_domain.setdefault(decl.domain, []).append(decl)
    out: list[str] = []
    for domain in sorted(by_domain):
        decls = sorted(by_domain[domain], key=lambda d: d.name)
        out += [
            f"#### {domain}",
            "",
            "| table | subject | personal columns | sensitive | purpose | basis | retention |",
            "|---|---|---|---|---|---|---|",
        ]
        plain: list[str] = []
        for decl in decls:
            resolved = [_resolve(decl, c, v) for c, v in decl.columns]
            pers = [c.column for c in resolved if c.personal]
            if not pers:
                plain.append(f"`{decl.name}`")
                continue
            sens = [c.column for c in resolved if c.sensitive]
            retention = str(decl.retention) if decl.retention else "-"
            if decl.enforced_by:
                retention += f"; enforced by `{decl.enforced_by}`"
            basis = decl.legal_basis.value if decl.legal_basis else "-"
            out.append(
                f"| `{decl.name}` | {decl.subject.value} | {', '.join(pers)} | "
                f"{', '.join(sens) or '-'} | {decl.purpose or '-'} | {basis} | {retention} |"
            )
        if len(out) and out[-1] == "|---|---|---|---|---|---|---|":
            out = out[:-4]  # a domain without personal data: no empty table
        else:
            out.append("")
        if plain:
            out += [f"No personal data: {', '.join(plain)}.", ""]
    return "\n".join(out)


def replace_generated(text: str, inventory: Iterable[TableDeclaration] = INVENTORY) -> str:
    """``text`` with the part between the markers replaced by a fresh ``render_markdown``."""
    head, sep, rest = text.partition(DOC_BEGIN)
    _old, sep2, tail = rest.partition(DOC_END)
    if not sep or not sep2:
        raise ValueError("the data-inventory markers are missing")
    return f"{head}{DOC_BEGIN}\n{render_markdown(inventory)}{DOC_END}{tail}"


def main(argv: list[str]) -> int:
    """``python -m linli.privacy.inventory docs/privacy.md`` rewrites the generated table."""
    if len(argv) != 1:
        sys.stderr.write("usage: python -m linli.privacy.inventory docs/privacy.md\n")
        return 2
    with open(argv[0], encoding="utf-8") as f:
        text = f.read()
    with open(argv[0], "w", encoding="utf-8") as f:
        f.write(replace_generated(text))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
