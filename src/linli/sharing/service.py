"""Sharing use cases: the recipient registry, CAP 1.2 messages about incidents that carry only
the fields a recipient is allowed, their delivery, the recipients' feeds and the disclosure log.

Every message to a recipient is a :class:`~linli.sharing.models.Disclosure` stored byte for byte
before it leaves, so that residents and auditors see exactly what went out (docs/sharing.md).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import hmac
import io
import ipaddress
import socket
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.crypto import new_token, sha256_hex
from linli.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    ValidationFailed,
)
from linli.core.i18n import N_, _, get_locale, translations
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.core.xmltext import xml_text
from linli.place import service as place_service
from linli.resident import service as resident_service
from linli.sharing import permissions, repository
from linli.sharing.models import (
    DataBreach,
    Disclosure,
    DisclosureResident,
    ExportRequest,
    Recipient,
)
from linli.sharing.schemas import (
    BreachCreate,
    BreachNotices,
    BreachOut,
    DisclosureOut,
    ExportDecision,
    ExportRequestCreate,
    ExportRequestOut,
    RecipientCreate,
    RecipientIssued,
    RecipientOut,
    RecipientUpdate,
)
from linli.standards.cap import render

# --- the field catalogue ----------------------------------------------------------------------

# Sent in every message: what CAP 1.2 requires, none of it about a person.
ALWAYS = (
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "scope",
    "category",
    "event",
    "urgency",
    "severity",
    "certainty",
)
# Also in every message, as CAP asks of a restricted, bilingual, follow-up message.
STRUCTURAL = ("restriction", "references", "language", "responseType")
# Sent only to recipients whose registry entry allows them.
OPTIONAL = (
    "headline",
    "description",
    "instruction",
    "area",
    "geo",
    "incident_status",
    "responders",
    "help_requests",
    "web",
)
# Residents' personal data: only when allowed AND the legal basis is one of PERSONAL_BASES.
PERSONAL = ("contact_rooms", "contact_names")
PERSONAL_BASES = frozenset({"vital_interest", "legal_duty"})
# What a registry entry may list. Camera images and video are not in it: they cannot be allowed.
CATALOGUE = OPTIONAL + PERSONAL
# What an entrusted processor (a mail server, an SMS gateway, a chat robot) may be given.
PROCESSOR_FIELDS = ("email_address", "phone_number", "message_text", "message_data")
# What each notification channel's adapter puts in its payload (tests hold them to it).
CHANNEL_FIELDS: dict[str, tuple[str, ...]] = {
    "email": ("email_address", "message_text"),
    "sms": ("phone_number", "message_text"),
    "webhook": ("message_text", "message_data"),
    "wecom": ("message_text",),
    "dingtalk": ("message_text",),
}
# Columns of the resident sheet a bulk export may carry (personal: like PERSONAL).
SHEET_FIELDS = ("resident_names", "resident_rooms")
# Who may invoke the emergency basis (PIPL art. 13(4)), and for how long at most.
EMERGENCY_ROLES = frozenset({"community_admin", "district_admin"})
EMERGENCY_DEFAULT_HOURS = 72
EMERGENCY_MAX_HOURS = 168
# Disclosures that are not CAP messages (notifications through a processor, bulk exports):
# they are never in a recipient's feed.
NON_CAP_SUBJECTS = frozenset({"message", "notification", "export"})

FIELD_LABELS = {
    "headline": N_("Title of the incident"),
    "description": N_("Description of the incident"),
    "instruction": N_("Instruction"),
    "area": N_("Name of the place"),
    "geo": N_("Map position (circle around the place)"),
    "incident_status": N_("How far the response has got"),
    "responders": N_("Number of responders"),
    "help_requests": N_("Number of residents asking for help"),
    "web": N_("Link to the message"),
    "contact_rooms": N_("Rooms of residents who asked for help"),
    "contact_names": N_("Names of residents who asked for help"),
    "email_address": N_("E-mail address"),
    "phone_number": N_("Phone number"),
    "message_text": N_("Text of the message"),
    "message_data": N_("Reference numbers of the message (alarm, place)"),
    "resident_names": N_("Residents' names"),
    "resident_rooms": N_("Residents' rooms"),
}
BASIC_LABEL = N_("Kind, severity and time of the incident")
KIND_LABELS = {
    "police": N_("Police"),
    "fire": N_("Fire service"),
    "medical": N_("Emergency medical service"),
    "city": N_("City or district office"),
    "utility": N_("Utility company"),
    "processor": N_("Service provider"),
    "other": N_("Other"),
}
BASIS_LABELS = {
    "consent": N_("Your consent"),
    "contract": N_("A contract with you"),
    "legal_duty": N_("A duty set by law"),
    "vital_interest": N_("Protecting life, health or property in an emergency"),
    "public_interest": N_("Public health or safety"),
    "news": N_("Reporting in the public interest"),
}
STATUS_LABELS = {
    "pending": N_("Waiting to be delivered"),
    "sent": N_("Delivered"),
    "failed": N_("Not delivered"),
    "available": N_("Available in the recipient's feed"),
}
# Incident types a recipient may be sent, with their CAP 1.2 category.
INCIDENT_TYPES: dict[str, tuple[str, str]] = {
    "fire": (N_("Fire"), "Fire"),
    "gas_leak": (N_("Gas leak"), "Safety"),
    "flooding": (N_("Flooding"), "Met"),
    "pipe_burst": (N_("Burst water pipe"), "Infra"),
    "power_outage": (N_("Power cut"), "Infra"),
    "lift_entrapment": (N_("Person trapped in a lift"), "Rescue"),
    "cardiac": (N_("Cardiac emergency"), "Health"),
    "medical": (N_("Medical emergency"), "Health"),
    "fall": (N_("Fall"), "Health"),
    "help_request": (N_("Residents asking for help"), "Rescue"),
    "intrusion": (N_("Intrusion"), "Security"),
    "other": (N_("Other emergency"), "Other"),
}
CAP_SEVERITY = {1: "Minor", 2: "Moderate", 3: "Severe", 4: "Extreme"}
# Webhook delivery: attempts before giving up, and the back-off between them.
MAX_ATTEMPTS = 10
BACKOFF_BASE_S = 30
BACKOFF_CAP_S = 3600
FEED_LIMIT = 200
FEED_TOKEN_PREFIX = "lsf_"  # noqa: S105  # a label in front of random tokens, not a secret

_origin = "http://localhost"


def configure(base_url: str) -> None:
    """Set the public address messages link to and sign as (done once by the app factory)."""
    global _origin
    _origin = base_url.rstrip("/") or "http://localhost"


def sender() -> str:
    """The CAP ``sender`` of every message: ``linli@<host of the base URL>``."""
    return f"linli@{urlsplit(_origin).hostname or 'localhost'}"


def field_label(name: str) -> str:
    return _(FIELD_LABELS[name]) if name in FIELD_LABELS else name


def type_label(kind: str, locale: str | None = None) -> str:
    label = INCIDENT_TYPES.get(kind, (N_("Other emergency"), "Other"))[0]
    return translations(locale).gettext(label)


def fields_sent_labels(fields: Sequence[str]) -> list[str]:
    """What a disclosure carried, in words: the basic alert, then each optional field."""
    labels = [_(BASIC_LABEL)]
    labels += [field_label(f) for f in CATALOGUE if f in fields]
    return labels


# --- the registry -----------------------------------------------------------------------------


def _check_fields(fields: Iterable[str], legal_basis: str) -> list[str]:
    wanted = set(fields)
    extra = [f for f in (*PROCESSOR_FIELDS, *SHEET_FIELDS) if f in wanted]
    wanted -= set(extra)
    if set(extra) & set(SHEET_FIELDS) and legal_basis not in PERSONAL_BASES | {"contract"}:
        raise ValidationFailed(
            _("A list of residents may only be given under a duty set by law or a contract.")
        )
    unknown = sorted(wanted - set(CATALOGUE) - set(ALWAYS))
    if unknown:
        raise ValidationFailed(
            _(
                "These fields are not in the catalogue and can never be shared: %(names)s. "
                "Camera images and video are never shared.",
                names=", ".join(unknown),
            )
        )
    if wanted & set(PERSONAL) and legal_basis not in PERSONAL_BASES:
        raise ValidationFailed(
            _(
                "Residents' contact details may only be shared to protect life in an emergency "
                "or under a duty set by law."
            )
        )
    return [f for f in CATALOGUE if f in wanted] + extra


def _check_types(types: Iterable[str]) -> list[str]:
    wanted = set(types)
    unknown = sorted(wanted - set(INCIDENT_TYPES))
    if unknown:
        raise ValidationFailed(_("Unknown incident types: %(names)s.", names=", ".join(unknown)))
    return [t for t in INCIDENT_TYPES if t in wanted]


def _check_url(url: str | None) -> str | None:
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationFailed(
            _("Enter a web address that starts with https:// (or http:// on a private network).")
        )
    return url


def _out(recipient: Recipient) -> RecipientOut:
    return RecipientOut.model_validate(recipient)


def _visible(db: Session, actor: Actor, recipient_id: int) -> Recipient:
    recipient = repository.get_recipient(db, recipient_id)
    if recipient is None or not permissions.can_manage(actor, recipient.place_path):
        raise NotFound(_("No such recipient."))
    return recipient


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor gets the registry pages."""
    return permissions.may_manage_any(actor)


def may_read_log_any(actor: Actor) -> bool:
    """Whether the actor gets the disclosure log page."""
    return permissions.may_read_log_any(actor)


def places_for(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, label) of the places the actor may register recipients for."""
    places = place_service.under(
        db,
        permissions.managed_paths(actor),
        kinds=("district", "street_office", "community", "compound"),
    )
    return [(p.id, place_service.label(db, p, from_kind="district")) for p in places]


def place_label(db: Session, place_id: int) -> str:
    try:
        place = place_service.get(db, place_id)
    except NotFound:
        return f"#{place_id}"
    return place_service.label(db, place, from_kind="district")


def create_recipient(
    db: Session, actor: Actor, data: RecipientCreate, *, now: dt.datetime | None = None
) -> RecipientIssued:
    """Register a recipient; its feed token (and signing key with a webhook) are shown once."""
    now = now or utc_now()
    try:
        place = place_service.get(db, data.place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose one of the places in the list.")) from exc
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not register recipients for this place."))
    fields = _check_fields(data.allowed_fields, data.legal_basis)
    types = _check_types(data.incident_types)
    url = _check_url(data.webhook_url)
    token = FEED_TOKEN_PREFIX + new_token(32)
    key = new_token(32) if url else None
    emergency = _emergency(actor, data.legal_basis, data.emergency_hours, now)
    recipient = Recipient(
        processor_channel=data.processor_channel,
        contract_reference=data.contract_reference or "",
        contact=data.contact or "",
        contract_expires_at=data.contract_expires_at,
        in_country=True if data.in_country is None else data.in_country,
        basis_expires_at=emergency[0],
        basis_invoked_by=emergency[1],
        place_id=place.id,
        place_path=place.path,
        name=data.name,
        kind=data.kind,
        purpose=data.purpose,
        legal_basis=data.legal_basis,
        allowed_fields=fields,
        incident_types=types,
        min_severity=data.min_severity,
        webhook_url=url,
        signing_key=key,
        feed_token_digest=sha256_hex(token),
        retention_days=data.retention_days,
        active=True,
        created_by_account_id=actor.account_id,
        created_at=now,
        updated_at=now,
    )
    db.add(recipient)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="sharing.recipient.create",
        subject_type="share_recipient",
        subject_id=recipient.id,
        place_id=place.id,
        fields=fields,
        detail={"kind": data.kind, "legal_basis": data.legal_basis, "types": types},
    )
    _log_emergency(db, actor, recipient)
    return RecipientIssued(**_out(recipient).model_dump(), signing_key=key, feed_token=token)


def list_recipients(db: Session, actor: Actor, params: PageParams) -> Page[RecipientOut]:
    """Registry entries of the places the actor administers, active first."""
    rows, total = repository.recipients_page(
        db, permissions.visible_recipients(actor), offset=params.offset, limit=params.size
    )
    return Page(items=[_out(r) for r in rows], total=total, page=params.page, size=params.size)


def get_recipient(db: Session, actor: Actor, recipient_id: int) -> RecipientOut:
    return _out(_visible(db, actor, recipient_id))


def update_recipient(
    db: Session,
    actor: Actor,
    recipient_id: int,
    data: RecipientUpdate,
    *,
    now: dt.datetime | None = None,
) -> RecipientIssued:
    """Change an entry. A webhook added now gets a signing key, shown in the answer only."""
    now = now or utc_now()
    recipient = _visible(db, actor, recipient_id)
    given = data.model_fields_set
    basis = data.legal_basis if data.legal_basis is not None else recipient.legal_basis
    fields = data.allowed_fields if data.allowed_fields is not None else recipient.allowed_fields
    checked = _check_fields(fields, basis)
    types = _check_types(
        data.incident_types if data.incident_types is not None else recipient.incident_types
    )
    key: str | None = None
    if "webhook_url" in given:
        url = _check_url(data.webhook_url)
        recipient.webhook_url = url
        if url is None:
            recipient.signing_key = None
        elif recipient.signing_key is None:
            key = new_token(32)
            recipient.signing_key = key
    for name in (
        "name",
        "kind",
        "purpose",
        "min_severity",
        "retention_days",
        "processor_channel",
        "contract_reference",
        "contact",
        "contract_expires_at",
        "in_country",
    ):
        value = getattr(data, name)
        if value is not None:
            setattr(recipient, name, value)
    invoked = basis == "vital_interest" and (
        recipient.legal_basis != "vital_interest" or data.emergency_hours is not None
    )
    if invoked:
        recipient.basis_expires_at, recipient.basis_invoked_by = _emergency(
            actor, basis, data.emergency_hours, now
        )
    elif basis != "vital_interest":
        recipient.basis_expires_at, recipient.basis_invoked_by = None, ""
    recipient.legal_basis = basis
    recipient.allowed_fields = checked
    recipient.incident_types = types
    recipient.updated_at = now
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="sharing.recipient.update",
        subject_type="share_recipient",
        subject_id=recipient.id,
        place_id=recipient.place_id,
        fields=checked,
        detail={"changed": sorted(given)},
    )
    if invoked:
        _log_emergency(db, actor, recipient)
    return RecipientIssued(**_out(recipient).model_dump(), signing_key=key)


def _emergency(
    actor: Actor, basis: str, hours: int | None, now: dt.datetime
) -> tuple[dt.datetime | None, str]:
    """(expiry, role) of an invocation of the emergency basis; refused to other roles."""
    if basis != "vital_interest":
        return None, ""
    roles = sorted(actor.roles & EMERGENCY_ROLES)
    if not roles:
        raise PermissionDenied(
            _("Only a community or district administrator may invoke the emergency basis.")
        )
    span = min(hours or EMERGENCY_DEFAULT_HOURS, EMERGENCY_MAX_HOURS)
    return now + dt.timedelta(hours=span), roles[-1]


def _log_emergency(db: Session, actor: Actor, recipient: Recipient) -> None:
    if recipient.legal_basis != "vital_interest" or recipient.basis_expires_at is None:
        return
    audit_service.record(
        db,
        actor=actor,
        action="sharing.emergency.invoke",
        subject_type="share_recipient",
        subject_id=recipient.id,
        place_id=recipient.place_id,
        reason="PIPL art. 13(4)",
        detail={
            "role": recipient.basis_invoked_by,
            "expires_at": recipient.basis_expires_at.isoformat(),
        },
    )


def basis_in_force(recipient: Recipient, now: dt.datetime) -> str:
    """The recipient's legal basis at ``now``: a lapsed emergency basis carries nothing personal."""
    expires = recipient.basis_expires_at
    if recipient.legal_basis == "vital_interest" and expires is not None and now >= expires:
        return "vital_interest_lapsed"
    return recipient.legal_basis


def deactivate_recipient(
    db: Session, actor: Actor, recipient_id: int, *, now: dt.datetime | None = None
) -> RecipientOut:
    """Stop sending to a recipient and close its feed; its disclosures stay in the log."""
    recipient = _visible(db, actor, recipient_id)
    if recipient.active:
        recipient.active = False
        recipient.updated_at = now or utc_now()
        db.flush()
        audit_service.record(
            db,
            actor=actor,
            action="sharing.recipient.deactivate",
            subject_type="share_recipient",
            subject_id=recipient.id,
            place_id=recipient.place_id,
        )
    return _out(recipient)


# --- CAP messages about incidents -------------------------------------------------------------


@dataclass(frozen=True)
class IncidentFacts:
    """What an incident message may say: the incident domain fills it, this domain filters it."""

    incident_id: int
    place_id: int
    place_path: str
    type: str
    severity: int
    status: str
    title: str
    description: str
    area: str
    latitude: float | None
    longitude: float | None
    created_at: dt.datetime
    updated_at: dt.datetime
    responders: int
    help_requests: int
    # (resident id, name, room) of residents who asked for help.
    contacts: tuple[tuple[int, str, str], ...] = ()


def _sub(parent: ET.Element, name: str, text: str | None = None) -> ET.Element:
    child = ET.SubElement(parent, name)
    if text is not None:
        child.text = xml_text(text)
    return child


def _parameter(info: ET.Element, name: str, value: str) -> None:
    parameter = _sub(info, "parameter")
    _sub(parameter, "valueName", name)
    _sub(parameter, "value", value)


@dataclass(frozen=True)
class _Message:
    identifier: str
    msg_type: str
    sent: dt.datetime
    references: tuple[str, ...]
    web: str


def build_alert(
    facts: IncidentFacts, allowed: Iterable[str], legal_basis: str, message: _Message
) -> tuple[bytes, list[str], bool]:
    """A CAP 1.2 alert with only the allowed fields: (document, fields sent, personal sent)."""
    allow = set(allowed) & set(CATALOGUE)
    if legal_basis not in PERSONAL_BASES:
        allow -= set(PERSONAL)
    closed = facts.status == "closed"
    sent: list[str] = [*ALWAYS, "restriction", "language", "responseType"]
    root = ET.Element("alert", {"xmlns": render.CAP_NS})
    _sub(root, "identifier", message.identifier)
    _sub(root, "sender", sender())
    _sub(root, "sent", render.cap_time(message.sent))
    _sub(root, "status", "Actual")
    _sub(root, "msgType", message.msg_type)
    _sub(root, "scope", "Restricted")
    _sub(root, "restriction", f"Disclosed under legal basis {legal_basis}; do not pass on.")
    if message.references:
        _sub(root, "references", " ".join(message.references))
        sent.append("references")
    contacts_out = bool(facts.contacts) and bool(allow & set(PERSONAL))
    for language, locale in render.LANGUAGES:
        t = translations(locale)
        info = _sub(root, "info")
        _sub(info, "language", language)
        _sub(info, "category", INCIDENT_TYPES.get(facts.type, ("", "Other"))[1])
        _sub(info, "event", type_label(facts.type, locale))
        _sub(info, "responseType", "AllClear" if closed else "Monitor")
        urgency = "Immediate" if facts.severity >= 3 else "Expected"
        if closed:
            urgency = "Past"
        _sub(info, "urgency", urgency)
        _sub(info, "severity", CAP_SEVERITY.get(facts.severity, "Unknown"))
        _sub(info, "certainty", "Observed")
        if "headline" in allow and facts.title:
            _sub(info, "headline", facts.title)
        if "description" in allow and facts.description:
            _sub(info, "description", facts.description)
        if "instruction" in allow:
            text = (
                N_("The incident is over; nothing more needs to be done.")
                if closed
                else N_("Contact the community's duty office through Linli before going there.")
            )
            _sub(info, "instruction", t.gettext(text))
        if "web" in allow:
            _sub(info, "web", message.web)
        if "incident_status" in allow:
            _parameter(info, "incidentStatus", facts.status)
        if "responders" in allow:
            _parameter(info, "responders", str(facts.responders))
        if "help_requests" in allow:
            _parameter(info, "helpRequests", str(facts.help_requests))
        if contacts_out:
            for _rid, name, room in facts.contacts:
                pieces = []
                if "contact_rooms" in allow and room:
                    pieces.append(room)
                if "contact_names" in allow and name:
                    pieces.append(name)
                if pieces:
                    _parameter(info, "needsHelp", " ".join(pieces))
        has_geo = facts.latitude is not None and facts.longitude is not None
        if "area" in allow or ("geo" in allow and has_geo):
            area = _sub(info, "area")
            if "area" in allow:
                _sub(area, "areaDesc", facts.area)
            else:
                _sub(area, "areaDesc", t.gettext(N_("Around the incident")))
            if "geo" in allow and has_geo:
                circle = f"{facts.latitude:.6f},{facts.longitude:.6f} {render.CIRCLE_RADIUS_KM}"
                _sub(area, "circle", circle)
    for name in OPTIONAL:
        if name not in allow:
            continue
        if name == "headline" and not facts.title:
            continue
        if name == "description" and not facts.description:
            continue
        if name == "geo" and (facts.latitude is None or facts.longitude is None):
            continue
        sent.append(name)
    personal_sent = False
    if contacts_out:
        for name in PERSONAL:
            if name in allow:
                sent.append(name)
                personal_sent = True
    body: bytes = ET.tostring(root, encoding="utf-8", xml_declaration=True)
    return body, sent, personal_sent


def _matches(recipient: Recipient, facts: IncidentFacts, *, known: bool) -> bool:
    if facts.type not in recipient.incident_types:
        return False
    # Once told, a recipient hears how it ends even if the severity has dropped below its line.
    return known or facts.severity >= recipient.min_severity


def has_recipients_for(db: Session, place_path: str) -> bool:
    """Whether any active recipient is registered at this place or above it."""
    return bool(repository.active_recipients_at(db, permissions.ancestor_paths(place_path)))


def share_incident(
    db: Session,
    facts: IncidentFacts,
    *,
    msg_type: Literal["Alert", "Update"],
    now: dt.datetime | None = None,
) -> list[int]:
    """Send a CAP message about an incident to every recipient registered for it.

    A recipient registered at the incident's place or above, for its type and from its
    severity, gets an Alert the first time and an Update (referring to the earlier messages)
    after that; a closed incident is an Update with responseType AllClear and urgency Past,
    sent only to those who had heard of it. ``msg_type`` is what the caller means (Alert when
    the incident opens, Update on a change); a recipient that newly matches on an Update gets
    an Alert. Returns the ids of the disclosures made.
    """
    now = now or utc_now()
    made: list[int] = []
    paths = permissions.ancestor_paths(facts.place_path)
    for recipient in repository.active_recipients_at(db, paths):
        before = repository.earlier(db, recipient.id, "incident", facts.incident_id)
        if not _matches(recipient, facts, known=bool(before)):
            continue
        if not before and facts.status == "closed":
            continue
        # The history decides: the first message to a recipient is its Alert, later ones are
        # Updates (an "Update" for a recipient that newly matches opens with an Alert).
        kind = "Update" if before else "Alert"
        channel = "webhook" if recipient.webhook_url and recipient.signing_key else "feed"
        disclosure = Disclosure(
            recipient_id=recipient.id,
            place_id=facts.place_id,
            place_path=facts.place_path,
            subject_type="incident",
            subject_id=facts.incident_id,
            purpose=recipient.purpose,
            legal_basis=recipient.legal_basis,
            fields=[],
            channel=channel,
            identifier=f"linli-incident-{facts.incident_id}-{recipient.id}-{len(before) + 1}",
            payload="",
            status="pending" if channel == "webhook" else "available",
            attempts=0,
            next_attempt_at=now if channel == "webhook" else None,
            last_error="",
            created_at=now,
        )
        db.add(disclosure)
        db.flush()
        message = _Message(
            identifier=disclosure.identifier,
            msg_type=kind,
            sent=now,
            references=tuple(
                f"{sender()},{d.identifier},{render.cap_time(d.created_at)}" for d in before
            ),
            web=f"{_origin}/sharing/feeds/{recipient.id}/alerts/{disclosure.id}.xml",
        )
        body, fields, personal = build_alert(
            facts, recipient.allowed_fields, basis_in_force(recipient, now), message
        )
        if recipient.legal_basis == "vital_interest":
            disclosure.emergency_until = recipient.basis_expires_at
        disclosure.payload = body.decode("utf-8")
        disclosure.fields = fields
        if personal:
            for rid in sorted({c[0] for c in facts.contacts}):
                db.add(DisclosureResident(disclosure_id=disclosure.id, resident_id=rid))
        made.append(disclosure.id)
    db.flush()
    return made


# --- webhook delivery -------------------------------------------------------------------------


@dataclass(frozen=True)
class Delivery:
    """One webhook POST to make: where, with which key, what body."""

    disclosure_id: int
    url: str
    key: str
    payload: str
    attempts: int


def signature(key: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` + hex HMAC-SHA256 over ``<timestamp>.<body>`` with the recipient's key."""
    mac = hmac.new(key.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def due_deliveries(db: Session, now: dt.datetime, *, limit: int = 50) -> list[Delivery]:
    """Webhook messages whose (next) attempt is due."""
    return [
        Delivery(d.id, r.webhook_url or "", r.signing_key or "", d.payload, d.attempts)
        for d, r in repository.due(db, now, limit=limit)
        if r.webhook_url and r.signing_key
    ]


def backoff(attempts: int) -> dt.timedelta:
    """The wait after ``attempts`` failed attempts: doubling from 30 s, at most an hour."""
    seconds = BACKOFF_BASE_S * 2 ** max(0, min(attempts - 1, 20))
    return dt.timedelta(seconds=min(seconds, BACKOFF_CAP_S))


def record_delivery(
    db: Session, disclosure_id: int, *, ok: bool, error: str = "", now: dt.datetime
) -> None:
    """Store the outcome of one attempt: sent, or retried later, or failed after the last."""
    disclosure = repository.get_disclosure(db, disclosure_id)
    if disclosure is None or disclosure.status != "pending":
        return
    disclosure.attempts += 1
    if ok:
        disclosure.status = "sent"
        disclosure.sent_at = now
        disclosure.next_attempt_at = None
        disclosure.last_error = ""
    else:
        disclosure.last_error = error[:1000]
        if disclosure.attempts >= MAX_ATTEMPTS:
            disclosure.status = "failed"
            disclosure.next_attempt_at = None
        else:
            disclosure.next_attempt_at = now + backoff(disclosure.attempts)
    db.flush()


# --- the recipients' feeds --------------------------------------------------------------------


def feed_recipient(db: Session, recipient_id: int, authorization: str) -> Recipient:
    """The recipient whose feed token is presented (``Authorization: Bearer <token>``)."""
    scheme, _sep, token = authorization.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise NotAuthenticated(_("This feed needs its token."))
    # Looked up by digest: no comparison of secrets that could leak by timing.
    recipient = repository.recipient_by_token_digest(db, sha256_hex(token))
    if recipient is None or not recipient.active:
        raise NotAuthenticated(_("This feed needs its token."))
    if recipient.id != recipient_id:
        raise NotFound(_("No such feed."))
    return recipient


def feed_disclosures(db: Session, recipient: Recipient, now: dt.datetime) -> list[Disclosure]:
    """The recipient's messages still within its retention period, newest first."""
    since = now - dt.timedelta(days=recipient.retention_days)
    return repository.feed_of(db, recipient.id, since, limit=FEED_LIMIT, excluded=NON_CAP_SUBJECTS)


def feed_document(
    db: Session, recipient: Recipient, disclosure_id: int, now: dt.datetime
) -> Disclosure:
    """One of the recipient's messages within its retention period."""
    disclosure = repository.get_disclosure(db, disclosure_id)
    since = now - dt.timedelta(days=recipient.retention_days)
    if (
        disclosure is None
        or disclosure.recipient_id != recipient.id
        or disclosure.subject_type in NON_CAP_SUBJECTS
        or disclosure.created_at < since
    ):
        raise NotFound(_("No such alert."))
    return disclosure


@dataclass(frozen=True)
class Summary:
    """What a stored CAP message says at a glance, in one language."""

    identifier: str
    sender: str
    category: str
    event: str
    urgency: str
    severity: str
    certainty: str
    headline: str
    area: str


def summary(payload: str, locale: str | None = None) -> Summary:
    """Read back a stored message (our own output) in the viewer's language."""
    ns = {"c": render.CAP_NS}
    root = ET.fromstring(payload.encode("utf-8"))  # noqa: S314  # our own stored output
    language = "zh-CN" if (locale or get_locale()) == "zh_Hans_CN" else "en-US"
    infos = root.findall("c:info", ns)
    info = next((i for i in infos if i.findtext("c:language", namespaces=ns) == language), None)
    if info is None and infos:
        info = infos[0]

    def text(element: ET.Element | None, path: str) -> str:
        if element is None:
            return ""
        return element.findtext(path, default="", namespaces=ns)

    return Summary(
        identifier=text(root, "c:identifier"),
        sender=text(root, "c:sender"),
        category=text(info, "c:category"),
        event=text(info, "c:event"),
        urgency=text(info, "c:urgency"),
        severity=text(info, "c:severity"),
        certainty=text(info, "c:certainty"),
        headline=text(info, "c:headline"),
        area=text(info, "c:area/c:areaDesc"),
    )


def feed_entries(disclosures: Sequence[Disclosure], base: str) -> list[render.FeedEntry]:
    """Atom entries of stored messages, each linking to its document in the feed."""
    entries: list[render.FeedEntry] = []
    for d in disclosures:
        s = summary(d.payload, "zh_Hans_CN")
        alert = render.AlertData(
            identifier=s.identifier,
            sender=s.sender,
            sent=d.created_at,
            ended=None,
            category=s.category,
            event=s.event,
            urgency=s.urgency,
            severity=s.severity,
            certainty=s.certainty,
            headline=s.headline or s.event,
            instruction="",
            area=s.area or s.event,
            latitude=None,
            longitude=None,
            web="",
        )
        url = f"{base}/sharing/feeds/{d.recipient_id}/alerts/{d.id}.xml"
        entries.append(render.FeedEntry(alert, url))
    return entries


# --- the disclosure log -----------------------------------------------------------------------


def _log_rows(db: Session, rows: Sequence[Disclosure]) -> list[DisclosureOut]:
    recipients = repository.recipients_by_ids(db, {d.recipient_id for d in rows})
    out: list[DisclosureOut] = []
    for d in rows:
        r = recipients.get(d.recipient_id)
        s = _non_cap_summary(d) if d.subject_type in NON_CAP_SUBJECTS else summary(d.payload)
        out.append(
            DisclosureOut(
                id=d.id,
                recipient_id=d.recipient_id,
                recipient_name=r.name if r else f"#{d.recipient_id}",
                recipient_kind=r.kind if r else "other",
                place_id=d.place_id,
                subject_type=d.subject_type,
                subject_id=d.subject_id,
                about=s.event,
                headline=s.headline,
                purpose=d.purpose,
                legal_basis=d.legal_basis,
                fields=list(d.fields),
                channel=d.channel,
                status=d.status,
                attempts=d.attempts,
                created_at=d.created_at,
                sent_at=d.sent_at,
                emergency_until=d.emergency_until,
            )
        )
    return out


def disclosure_log(db: Session, actor: Actor, params: PageParams) -> Page[DisclosureOut]:
    """Disclosures about the places whose log the actor may read, newest first."""
    if not permissions.may_read_log_any(actor):
        raise PermissionDenied(_("You may not read the disclosure log."))
    rows, total = repository.disclosures_page(
        db, permissions.visible_disclosures(actor), offset=params.offset, limit=params.size
    )
    return Page(items=_log_rows(db, rows), total=total, page=params.page, size=params.size)


def my_disclosures(db: Session, actor: Actor, params: PageParams) -> Page[DisclosureOut]:
    """Disclosures that concern the resident: about their home or above it, or with their data."""
    rid = actor.effective_resident_id
    home: str | None = None
    if rid is not None:
        try:
            home = resident_service.place_path_of(db, rid)
        except NotFound:
            home = None
    rows, total = repository.disclosures_page(
        db, permissions.concerning(rid, home), offset=params.offset, limit=params.size
    )
    return Page(items=_log_rows(db, rows), total=total, page=params.page, size=params.size)


def residents_in(db: Session, disclosure_id: int) -> list[int]:
    """Ids of the residents whose own data went out in a disclosure."""
    return repository.residents_of(db, disclosure_id)


# --- entrusted processors of the notification channels ---------------------------------------

CHANNEL_LABELS = {
    "email": N_("E-mail"),
    "sms": N_("Text message"),
    "webhook": N_("Webhook"),
    "wecom": N_("WeCom group robot"),
    "dingtalk": N_("DingTalk group robot"),
    "file": N_("Downloaded file"),
}


def _non_cap_summary(d: Disclosure) -> Summary:
    if d.subject_type == "export":
        about = _("List of residents")
    else:
        about = _(CHANNEL_LABELS.get(d.channel, N_("Other")))
    # Only a message to the resident themself shows its subject; place-wide ones do not.
    headline = d.payload if d.subject_type == "message" else ""
    return Summary(d.identifier, sender(), "", about, "", "", "", headline, "")


@dataclass(frozen=True)
class Processor:
    """The registry entry a notification channel delivers through, as delivery needs it."""

    recipient_id: int
    fields: tuple[str, ...]


def processor_for(
    db: Session, channel: str, place_id: int | None, *, now: dt.datetime | None = None
) -> Processor | str:
    """The entrusted processor of ``channel`` for a place, or why nothing may be sent.

    The entry must be active, registered at the place or above, carry a contract reference
    that has not expired, and allow every field the channel's adapter sends.
    """
    now = now or utc_now()
    if place_id is None:
        return f"no place: cannot find the {channel} processor in the recipient registry"
    try:
        place = place_service.get(db, place_id)
    except NotFound:
        return f"no place: cannot find the {channel} processor in the recipient registry"
    found = repository.processors_at(db, channel, permissions.ancestor_paths(place.path))
    if not found:
        return (
            f"refused: no entrusted processor for channel {channel} is in the recipient "
            "registry; register it with its contract reference (LINLI_PROCESSORS)"
        )
    problems: list[str] = []
    for recipient in found:
        if not recipient.contract_reference:
            problems.append(f"processor {recipient.name!r} has no contract reference")
            continue
        if recipient.contract_expires_at is not None and recipient.contract_expires_at <= now:
            problems.append(f"the contract of processor {recipient.name!r} has expired")
            continue
        missing = [f for f in CHANNEL_FIELDS.get(channel, ()) if f not in recipient.allowed_fields]
        if missing:
            problems.append(
                f"processor {recipient.name!r} is not allowed the fields {', '.join(missing)}"
            )
            continue
        return Processor(recipient.id, CHANNEL_FIELDS.get(channel, ()))
    return "refused: " + "; ".join(problems)


def record_message(
    db: Session,
    *,
    processor_id: int,
    channel: str,
    place_id: int | None,
    notification_id: int,
    fields: Sequence[str],
    to_person: bool = False,
    resident_id: int | None = None,
    subject: str = "",
    now: dt.datetime | None = None,
) -> int | None:
    """Log one notification handed to a processor: to a person (``message``: the resident
    it was for sees it, their neighbours do not) or to a place's duty endpoint
    (``notification``: seen by everyone living there)."""
    now = now or utc_now()
    recipient = repository.get_recipient(db, processor_id)
    if recipient is None or place_id is None:
        return None
    try:
        place = place_service.get(db, place_id)
    except NotFound:
        return None
    personal = to_person or resident_id is not None
    disclosure = Disclosure(
        recipient_id=recipient.id,
        place_id=place.id,
        place_path=place.path,
        subject_type="message" if personal else "notification",
        subject_id=notification_id,
        purpose=recipient.purpose,
        legal_basis=recipient.legal_basis,
        fields=list(fields),
        channel=channel,
        identifier=f"linli-notification-{notification_id}",
        payload=subject[:300] if personal else "",
        status="sent",
        attempts=1,
        next_attempt_at=None,
        last_error="",
        created_at=now,
        sent_at=now,
    )
    db.add(disclosure)
    db.flush()
    if resident_id is not None:
        db.add(DisclosureResident(disclosure_id=disclosure.id, resident_id=resident_id))
    return disclosure.id


def sync_processors(
    db: Session, entries: Sequence[dict[str, object]], *, now: dt.datetime | None = None
) -> list[int]:
    """Register (or update) the processors named in configuration at every top-level place.

    Each entry: ``channel``, ``name``, ``contract_reference``, ``contact``, ``purpose``,
    optional ``legal_basis`` (default contract), ``retention_days``, ``in_country``.
    """
    now = now or utc_now()
    made: list[int] = []
    roots = place_service.children(db, None)
    for entry in entries:
        channel = str(entry.get("channel", ""))
        if channel not in CHANNEL_FIELDS:
            raise ValidationFailed(f"processor channel must be one of {', '.join(CHANNEL_FIELDS)}")
        for root in roots:
            existing = [
                r
                for r in repository.processors_at(db, channel, [root.path])
                if r.name == str(entry.get("name", channel))
            ]
            recipient = existing[0] if existing else None
            if recipient is None:
                recipient = Recipient(
                    place_id=root.id,
                    place_path=root.path,
                    kind="processor",
                    incident_types=[],
                    min_severity=4,
                    active=True,
                    created_at=now,
                )
                db.add(recipient)
            recipient.name = str(entry.get("name", channel))[:100]
            recipient.processor_channel = channel
            recipient.contract_reference = str(entry.get("contract_reference", ""))[:200]
            recipient.contact = str(entry.get("contact", ""))[:200]
            recipient.purpose = str(entry.get("purpose", "Delivering notifications"))
            recipient.legal_basis = str(entry.get("legal_basis", "contract"))
            recipient.allowed_fields = list(CHANNEL_FIELDS[channel])
            recipient.retention_days = int(str(entry.get("retention_days", 30)))
            recipient.in_country = bool(entry.get("in_country", True))
            recipient.updated_at = now
            db.flush()
            made.append(recipient.id)
    return made


# --- the in-country check --------------------------------------------------------------------

DEFAULT_ALLOWED_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "::1/128",
    "fc00::/7",
)


def host_of(url: str) -> str | None:
    """The host name or address literal of a URL (http, https, smtp, mqtt...)."""
    try:
        return urlsplit(url).hostname
    except ValueError:
        return None


def host_allowed(
    host: str, allowed_hosts: Sequence[str], allowed_networks: Sequence[str]
) -> tuple[bool, str]:
    """Whether a host is on the operator's list or every address it resolves to is in an
    allowed range: (ok, the addresses looked at or why it failed)."""
    name = host.lower().rstrip(".")
    for entry in allowed_hosts:
        entry = entry.lower().strip().rstrip(".")
        if entry and (name == entry or name.endswith("." + entry.lstrip("*."))):
            return True, "on the host allow-list"
    networks = [ipaddress.ip_network(n, strict=False) for n in allowed_networks]
    try:
        addresses = {ipaddress.ip_address(name)}
    except ValueError:
        try:
            infos = socket.getaddrinfo(name, None)
        except OSError as exc:
            return False, f"cannot be resolved ({exc.__class__.__name__})"
        addresses = {ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos}
    outside = sorted(str(a) for a in addresses if not any(a in n for n in networks))
    if outside:
        return False, "resolves outside the allowed ranges: " + ", ".join(outside)
    return True, ", ".join(sorted(str(a) for a in addresses))


def registry_endpoints(db: Session) -> list[tuple[str, str]]:
    """(what, URL) of the recipients' webhooks."""
    return [
        (f"recipient {r.name!r} webhook", r.webhook_url)
        for r in repository.active_with_webhooks(db)
        if r.webhook_url
    ]


def outbound_problems(
    endpoints: Sequence[tuple[str, str]],
    allowed_hosts: Sequence[str],
    allowed_networks: Sequence[str],
) -> list[str]:
    """One clear line per configured endpoint that is not allowed (empty: all in-country)."""
    problems: list[str] = []
    for what, url in endpoints:
        host = host_of(url)
        if not host:
            problems.append(f"{what}: no host in {url!r}")
            continue
        ok, why = host_allowed(host, allowed_hosts, allowed_networks or DEFAULT_ALLOWED_NETWORKS)
        if not ok:
            problems.append(
                f"{what}: {host} {why} (add it to LINLI_OUTBOUND_ALLOWED_HOSTS or "
                "LINLI_OUTBOUND_ALLOWED_NETWORKS if it is in the country)"
            )
    return problems


def processors_abroad(db: Session) -> list[str]:
    """Processors registered as not processing in the country."""
    return [
        f"processor {r.name!r} is registered as processing outside the country"
        for r in repository.processors_abroad(db)
    ]


# --- bulk exports with a second approver ------------------------------------------------------

EXPORT_VALID_HOURS = 24


def _export_out(row: ExportRequest) -> ExportRequestOut:
    return ExportRequestOut.model_validate(row)


def request_export(
    db: Session, actor: Actor, data: ExportRequestCreate, *, now: dt.datetime | None = None
) -> ExportRequestOut:
    """Ask to download the resident sheet of a place for a registered recipient."""
    now = now or utc_now()
    try:
        place = place_service.get(db, data.place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose one of the places in the list.")) from exc
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not export the residents of this place."))
    recipient = _visible(db, actor, data.recipient_id)
    if not recipient.active:
        raise ValidationFailed(_("This recipient is no longer active."))
    if not set(SHEET_FIELDS) & set(recipient.allowed_fields):
        raise ValidationFailed(_("This recipient may not receive a list of residents."))
    if not place.path.startswith(recipient.place_path):
        # A recipient receives the data of its own place and what lies below, nothing else.
        raise ValidationFailed(_("This recipient may not receive data of this place."))
    row = ExportRequest(
        place_id=place.id,
        place_path=place.path,
        recipient_id=recipient.id,
        kind="resident_sheet",
        purpose=data.purpose,
        status="pending",
        requested_by_account_id=actor.account_id,
        decision_note="",
        created_at=now,
    )
    db.add(row)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="sharing.export.request",
        subject_type="export_request",
        subject_id=row.id,
        place_id=place.id,
        detail={"recipient_id": recipient.id},
    )
    return _export_out(row)


def _export_visible(db: Session, actor: Actor, export_id: int) -> ExportRequest:
    row = repository.get_export(db, export_id)
    if row is None or not permissions.can_manage(actor, row.place_path):
        raise NotFound(_("No such export request."))
    return row


def list_exports(db: Session, actor: Actor) -> list[ExportRequestOut]:
    rows = repository.exports_where(db, permissions.visible_exports(actor), limit=100)
    return [_export_out(r) for r in rows]


def decide_export(
    db: Session,
    actor: Actor,
    export_id: int,
    data: ExportDecision,
    *,
    now: dt.datetime | None = None,
) -> ExportRequestOut:
    """A second administrator of the place approves or rejects a pending request."""
    now = now or utc_now()
    row = _export_visible(db, actor, export_id)
    if row.requested_by_account_id == actor.account_id:
        raise PermissionDenied(_("Another administrator must approve your export."))
    decided = repository.move_export(
        db,
        row.id,
        "pending",
        "approved" if data.approve else "rejected",
        decided_by_account_id=actor.account_id,
        decided_at=now,
        decision_note=data.note,
        expires_at=now + dt.timedelta(hours=EXPORT_VALID_HOURS) if data.approve else None,
    )
    if not decided:
        raise Conflict(_("This request has already been decided."))
    audit_service.record(
        db,
        actor=actor,
        action="sharing.export.approve" if data.approve else "sharing.export.reject",
        subject_type="export_request",
        subject_id=row.id,
        place_id=row.place_id,
    )
    return _export_out(row)


def download_export(
    db: Session, actor: Actor, export_id: int, *, now: dt.datetime | None = None
) -> tuple[str, str]:
    """The approved file, once, for its requester: (file name, CSV text). Logged as an audit
    event and as a disclosure that every resident in it sees."""
    now = now or utc_now()
    row = _export_visible(db, actor, export_id)
    if row.requested_by_account_id != actor.account_id:
        raise PermissionDenied(_("Only the person who asked for this export may download it."))
    if row.status == "downloaded":
        raise Conflict(_("This export has already been downloaded."))
    if row.status != "approved":
        raise Conflict(_("This export has not been approved by a second administrator."))
    if row.expires_at is not None and now >= row.expires_at:
        raise Conflict(_("The approval of this export has expired; ask again."))
    recipient = repository.get_recipient(db, row.recipient_id)
    if recipient is None or not recipient.active:
        raise ValidationFailed(_("This recipient is no longer active."))
    # Claimed first: of two downloads at the same time, only one gets the file.
    if not repository.move_export(db, row.id, "approved", "downloaded", downloaded_at=now):
        raise Conflict(_("This export has already been downloaded."))
    columns = [f for f in SHEET_FIELDS if f in recipient.allowed_fields]
    people = resident_service.living_under(db, row.place_path)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    header = {"resident_names": "name", "resident_rooms": "room"}
    writer.writerow([header[c] for c in columns])
    for _rid, _pid, name, room in people:
        values = {"resident_names": name, "resident_rooms": room}
        writer.writerow([values[c] for c in columns])
    disclosure = Disclosure(
        recipient_id=recipient.id,
        place_id=row.place_id,
        place_path=row.place_path,
        subject_type="export",
        subject_id=row.id,
        purpose=row.purpose,
        legal_basis=recipient.legal_basis,
        fields=columns,
        channel="file",
        identifier=f"linli-export-{row.id}",
        payload="",
        status="sent",
        attempts=1,
        last_error="",
        created_at=now,
        sent_at=now,
    )
    db.add(disclosure)
    db.flush()
    db.add_all(
        DisclosureResident(disclosure_id=disclosure.id, resident_id=rid)
        for rid in sorted({p[0] for p in people})
    )
    row.disclosure_id = disclosure.id
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="sharing.export.download",
        subject_type="export_request",
        subject_id=row.id,
        place_id=row.place_id,
        fields=columns,
        detail={"rows": len(people), "disclosure_id": disclosure.id},
    )
    return f"residents-{row.id}.csv", "\ufeff" + buffer.getvalue()


# --- personal-data incidents ------------------------------------------------------------------

BREACH_CATEGORY_LABELS = {
    "identity": N_("identity (name, ID number, date of birth)"),
    "contact": N_("contact details (phone, e-mail)"),
    "household": N_("household and address"),
    "health": N_("health data"),
    "whereabouts": N_("whereabouts"),
    "biometric": N_("biometric data"),
    "minors": N_("data of children under 14"),
    "account": N_("login accounts"),
    "financial": N_("financial data"),
    "other": N_("other personal data"),
}


def _breach_out(row: DataBreach) -> BreachOut:
    return BreachOut.model_validate(row)


def declare_breach(
    db: Session, actor: Actor, data: BreachCreate, *, now: dt.datetime | None = None
) -> BreachNotices:
    """Record a personal-data incident and produce its notices (PIPL art. 57)."""
    now = now or utc_now()
    try:
        place = place_service.get(db, data.place_id)
    except NotFound as exc:
        raise ValidationFailed(_("Choose one of the places in the list.")) from exc
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not declare incidents for this place."))
    row = DataBreach(
        place_id=place.id,
        place_path=place.path,
        title=data.title,
        what_happened=data.what_happened,
        cause=data.cause,
        possible_harm=data.possible_harm,
        categories=list(dict.fromkeys(data.categories)),
        people_affected=data.people_affected,
        measures_taken=data.measures_taken,
        advice_to_people=data.advice_to_people,
        contact=data.contact,
        occurred_at=data.occurred_at,
        discovered_at=now,
        declared_by_account_id=actor.account_id,
        declared_at=now,
    )
    db.add(row)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="sharing.breach.declare",
        subject_type="data_breach",
        subject_id=row.id,
        place_id=place.id,
        reason="PIPL art. 57",
        detail={"categories": row.categories, "people": row.people_affected},
    )
    return breach_notices(row)


def list_breaches(db: Session, actor: Actor) -> list[BreachOut]:
    rows = repository.breaches_where(db, permissions.visible_breaches(actor), limit=100)
    return [_breach_out(r) for r in rows]


def get_breach(db: Session, actor: Actor, breach_id: int) -> BreachNotices:
    row = repository.get_breach(db, breach_id)
    if row is None or not permissions.visible_breaches_path(actor, row.place_path):
        raise NotFound(_("No such incident."))
    return breach_notices(row)


def may_declare_any(actor: Actor) -> bool:
    return permissions.may_manage_any(actor)


def _notice(row: DataBreach, locale: str, *, regulator: bool) -> str:
    t = translations(locale)
    cats = "; ".join(t.gettext(BREACH_CATEGORY_LABELS[c]) for c in row.categories)
    when = row.occurred_at.isoformat() if row.occurred_at else t.gettext(N_("not yet known"))
    lines = [
        t.gettext(N_("Personal information incident: %(title)s")) % {"title": row.title},
        "",
        t.gettext(N_("What happened: %(text)s")) % {"text": row.what_happened},
        t.gettext(N_("When: %(when)s; found: %(found)s"))
        % {"when": when, "found": row.discovered_at.isoformat()},
        # PIPL art. 57 (1): the categories, the cause and the possible harm.
        t.gettext(N_("Kinds of personal information involved: %(cats)s")) % {"cats": cats},
        t.gettext(N_("Cause: %(text)s"))
        % {"text": row.cause or t.gettext(N_("under investigation"))},
        t.gettext(N_("Possible harm: %(text)s")) % {"text": row.possible_harm},
        # (2): what the handler did and what people can do themselves.
        t.gettext(N_("Measures taken: %(text)s")) % {"text": row.measures_taken},
        t.gettext(N_("What you can do to reduce the harm: %(text)s"))
        % {"text": row.advice_to_people},
        # (3): how to reach the handler.
        t.gettext(N_("Contact: %(text)s")) % {"text": row.contact},
    ]
    if regulator:
        lines.insert(
            1,
            t.gettext(
                N_(
                    "Notice to the authority performing personal information protection duties "
                    "(PIPL art. 57). People affected: %(n)s."
                )
            )
            % {"n": row.people_affected},
        )
    return "\n".join(lines)


def breach_notices(row: DataBreach) -> BreachNotices:
    """The notice to the regulator and the notice to residents, in Chinese and English."""
    return BreachNotices(
        breach=_breach_out(row),
        regulator={loc: _notice(row, loc, regulator=True) for loc in ("zh_Hans_CN", "en")},
        residents={loc: _notice(row, loc, regulator=False) for loc in ("zh_Hans_CN", "en")},
    )
