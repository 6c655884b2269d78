"""Consent per purpose: give, withdraw, check before processing; guardians; sensitive modules.

Domains that write data for an optional purpose call ``require(db, resident_id, purpose)``
first, and register an ``on_withdraw`` hook that deletes or anonymises that purpose's data, so
that withdrawing stops the processing and removes what it produced (PIPL art. 15, 47).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core import i18n
from linli.core.actor import ACCOUNT_ADMIN_ROLES, RESIDENT_ADMIN_ROLES, Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.masking import mask_name
from linli.core.time import utc_now
from linli.place import service as place_service
from linli.privacy import purposes
from linli.privacy.consent_models import (
    Consent,
    ConsentGuardian,
    ImpactAssessment,
    SensitiveModule,
)
from linli.resident import service as resident_service

GUARDIAN_AGE = 14  # PIPL art. 31: a child under 14 needs a guardian's consent
ADULT_AGE = 18
CHANNELS = ("web", "api", "assisted")

# A hook gets the session, the actor who withdrew and the resident; it deletes or anonymises
# that purpose's data of the resident and returns how many records it removed or changed.
WithdrawHook = Callable[[Session, Actor, int], int]
_ON_WITHDRAW: dict[str, list[WithdrawHook]] = {}


class ConsentRequired(PermissionDenied):
    """Processing for an optional purpose without the resident's live consent."""

    code = "consent_required"


class ConsentOutdated(Conflict):
    """A consent given under an older notice that changed this purpose: ask again (P5)."""

    code = "consent_outdated"


def register_on_withdraw(purpose_id: str, hook: WithdrawHook) -> None:
    """Let a domain delete or anonymise its data of a purpose when a resident withdraws."""
    purposes.get(purpose_id)  # KeyError for an undeclared purpose: fail at import time
    hooks = _ON_WITHDRAW.setdefault(purpose_id, [])
    if hook not in hooks:
        hooks.append(hook)


def withdraw_hooks(purpose_id: str) -> list[WithdrawHook]:
    return list(_ON_WITHDRAW.get(purpose_id, ()))


# --- reading ----------------------------------------------------------------------------------


def _purpose(purpose_id: str) -> purposes.Purpose:
    try:
        return purposes.get(purpose_id)
    except KeyError:
        raise NotFound(_("No such purpose: %(p)s.", p=purpose_id)) from None


def _unwithdrawn(db: Session, resident_id: int, purpose_id: str) -> list[Consent]:
    stmt = (
        select(Consent)
        .where(
            Consent.resident_id == resident_id,
            Consent.purpose == purpose_id,
            Consent.withdrawn_at.is_(None),
        )
        .order_by(Consent.id)
    )
    return list(db.scalars(stmt))


def _current(purpose: purposes.Purpose, record: Consent) -> bool:
    return record.notice_version >= purpose.changed_in


def _module_on_for(db: Session, resident_id: int, purpose: purposes.Purpose) -> bool:
    if purpose.module is None:
        return True
    community_id = resident_service.community_id_of(db, resident_id)
    return community_id is not None and module_enabled(db, community_id, purpose.module)


def has_live_consent(db: Session, resident_id: int, purpose_id: str) -> bool:
    """Whether processing for this purpose may run for this resident now.

    Core purposes rest on another legal basis and always may. An optional purpose needs a
    consent that is not withdrawn and was given under the notice version that last changed the
    purpose, and, for a sensitive module, the module switched on in the resident's community.
    """
    purpose = _purpose(purpose_id)
    if not purpose.needs_consent:
        return True
    if not _module_on_for(db, resident_id, purpose):
        return False
    return any(_current(purpose, c) for c in _unwithdrawn(db, resident_id, purpose_id))


def require(db: Session, resident_id: int, purpose_id: str) -> None:
    """Refuse (403, or 409 when the notice changed) processing without a live consent."""
    if has_live_consent(db, resident_id, purpose_id):
        return
    purpose = _purpose(purpose_id)
    name = name_of(purpose)
    detail = {"purpose": purpose_id, "consent_page": "/me/privacy"}
    if not _module_on_for(db, resident_id, purpose):
        raise ConsentRequired(
            _("%(name)s is not offered in this community.", name=name), detail=detail
        )
    if _unwithdrawn(db, resident_id, purpose_id):
        raise ConsentOutdated(
            _(
                "What “%(name)s” covers has changed: the resident needs to consent again "
                "(My privacy and consents).",
                name=name,
            ),
            detail=detail,
        )
    raise ConsentRequired(
        _(
            "This needs the resident's consent to “%(name)s” (My privacy and consents).",
            name=name,
        ),
        detail=detail,
    )


def name_of(purpose: purposes.Purpose) -> str:
    """The purpose's name in the language of the request."""
    return purpose.name_zh if i18n.get_locale().startswith("zh") else purpose.name_en


@dataclass(frozen=True)
class ConsentState:
    """Where a resident stands on one optional purpose."""

    purpose: purposes.Purpose
    # given, outdated (the notice changed since), not_given, withdrawn, unavailable (module off)
    state: str
    given_at: dt.datetime | None
    notice_version: int | None
    by_guardian: bool
    channel: str | None


def states(db: Session, resident_id: int) -> list[ConsentState]:
    """The resident's state on every optional purpose, in declaration order."""
    rows = list(
        db.scalars(select(Consent).where(Consent.resident_id == resident_id).order_by(Consent.id))
    )
    out: list[ConsentState] = []
    for purpose in purposes.optional():
        mine = [c for c in rows if c.purpose == purpose.id]
        live = [c for c in mine if c.withdrawn_at is None]
        last = live[-1] if live else (mine[-1] if mine else None)
        if not _module_on_for(db, resident_id, purpose):
            state = "unavailable"
        elif live:
            state = "given" if _current(purpose, live[-1]) else "outdated"
        elif mine:
            state = "withdrawn"
        else:
            state = "not_given"
        out.append(
            ConsentState(
                purpose=purpose,
                state=state,
                given_at=last.given_at if last else None,
                notice_version=last.notice_version if last else None,
                by_guardian=bool(last and (last.guardian_account_id or last.guardian_resident_id)),
                channel=last.channel if last else None,
            )
        )
    return out


def records(db: Session, resident_id: int) -> list[Consent]:
    """Every consent record of a resident, oldest first (for the history and exports)."""
    stmt = select(Consent).where(Consent.resident_id == resident_id).order_by(Consent.id)
    return list(db.scalars(stmt))


# --- who may decide -----------------------------------------------------------------------------


def _subject(actor: Actor, resident_id: int | None) -> int:
    own = actor.effective_resident_id
    if resident_id is None:
        if own is None:
            raise PermissionDenied(_("Consents are given by residents (or for them at the desk)."))
        return own
    return resident_id


def is_child(db: Session, resident_id: int) -> bool:
    age = resident_service.age_of(db, resident_id)
    return age is not None and age < GUARDIAN_AGE


def _linked_guardian(db: Session, child_id: int, account_id: int | None) -> bool:
    if account_id is None:
        return False
    stmt = select(ConsentGuardian.id).where(
        ConsentGuardian.child_resident_id == child_id,
        ConsentGuardian.guardian_account_id == account_id,
    )
    return db.scalars(stmt).first() is not None


def _household_guardian(db: Session, actor: Actor, child_id: int) -> int | None:
    """The acting resident, when an adult member of the child's household."""
    me = actor.effective_resident_id
    if me is None or me == child_id:
        return None
    if me not in resident_service.household_member_ids(db, child_id):
        return None
    age = resident_service.age_of(db, me)
    return me if age is None or age >= ADULT_AGE else None


def _decider(db: Session, actor: Actor, subject: int) -> tuple[int | None, int | None]:
    """(guardian resident, guardian account) when a guardian decides; (None, None) for oneself.

    Raises when the actor may not decide for ``subject``: a child under 14 cannot consent for
    themself, and nobody but the person (or a guardian of a child) can decide for anyone.
    """
    child = is_child(db, subject)
    if subject == actor.effective_resident_id and not child:
        return None, None
    if child:
        guardian = _household_guardian(db, actor, subject)
        if guardian is not None:
            return guardian, actor.account_id if not actor.is_assisting else None
        if not actor.is_assisting and _linked_guardian(db, subject, actor.account_id):
            return None, actor.account_id
        if subject == actor.effective_resident_id:
            raise PermissionDenied(
                _("A child under 14 cannot give this consent; a parent or guardian must.")
            )
    raise PermissionDenied(_("Only the person, or a guardian of a child, can decide this."))


def subject_for(db: Session, actor: Actor, resident_id: int | None) -> int:
    """Whose consents the actor may see and decide: their own, or a child's as guardian."""
    subject = _subject(actor, resident_id)
    resident_service.get_record(db, subject)
    if subject != actor.effective_resident_id:
        _decider(db, actor, subject)
    return subject


def _channel(actor: Actor) -> str:
    if actor.is_assisting:
        return "assisted"
    return "api" if actor.via == "api" else "web"


def _audit(
    db: Session, actor: Actor, action: str, subject: int, purpose_id: str, **detail: object
) -> None:
    audit_service.record(
        db,
        actor=actor,
        action=action,
        subject_type="consent",
        subject_id=purpose_id,
        subject_resident_id=subject,
        place_id=resident_service.get_record(db, subject).place_id,
        detail={"purpose": purpose_id, "channel": _channel(actor), **detail},
    )


# --- giving and withdrawing ---------------------------------------------------------------------


def give(db: Session, actor: Actor, purpose_id: str, *, resident_id: int | None = None) -> Consent:
    """Record a consent to one optional purpose (one record per purpose, never bundled).

    Idempotent: giving again while a current consent stands returns it.
    """
    purpose = _purpose(purpose_id)
    subject = _subject(actor, resident_id)
    resident_service.get_record(db, subject)
    if not purpose.needs_consent:
        raise Conflict(
            _("“%(name)s” is a core service and does not rest on consent.", name=name_of(purpose))
        )
    guardian_resident, guardian_account = _decider(db, actor, subject)
    if not _module_on_for(db, subject, purpose):
        raise Conflict(_("%(name)s is not offered in this community.", name=name_of(purpose)))
    for record in _unwithdrawn(db, subject, purpose_id):
        if _current(purpose, record):
            return record
    record = Consent(
        resident_id=subject,
        purpose=purpose_id,
        notice_version=purposes.NOTICE_VERSION,
        channel=_channel(actor),
        actor_account_id=actor.account_id,
        guardian_resident_id=guardian_resident,
        guardian_account_id=guardian_account,
        given_at=utc_now(),
    )
    db.add(record)
    db.flush()
    _audit(
        db,
        actor,
        "consent.given",
        subject,
        purpose_id,
        notice_version=purposes.NOTICE_VERSION,
        guardian=guardian_resident is not None or guardian_account is not None,
    )
    return record


def withdraw(db: Session, actor: Actor, purpose_id: str, *, resident_id: int | None = None) -> int:
    """Withdraw a consent: processing stops and the purpose's data is deleted or anonymised.

    Returns how many records the domains removed or changed. 409 when nothing stands to
    withdraw. A child under 14 may withdraw their own consent (it only stops processing).
    """
    purpose = _purpose(purpose_id)
    subject = _subject(actor, resident_id)
    resident_service.get_record(db, subject)
    if subject != actor.effective_resident_id:
        _decider(db, actor, subject)
    live = _unwithdrawn(db, subject, purpose_id)
    if not live:
        raise Conflict(_("There is no consent to “%(name)s” to withdraw.", name=name_of(purpose)))
    now = utc_now()
    for record in live:
        record.withdrawn_at = now
        record.withdrawn_by_account_id = actor.account_id
        record.withdrawn_channel = _channel(actor)
    db.flush()
    removed = sum(hook(db, actor, subject) for hook in withdraw_hooks(purpose_id))
    _audit(db, actor, "consent.withdrawn", subject, purpose_id, removed=removed)
    return removed


def seed(db: Session, resident_id: int, purpose_id: str) -> Consent:
    """A consent collected on paper at the desk, entered by a trusted command (demo, import)."""
    purpose = _purpose(purpose_id)
    for record in _unwithdrawn(db, resident_id, purpose_id):
        if _current(purpose, record):
            return record
    record = Consent(
        resident_id=resident_id,
        purpose=purpose_id,
        notice_version=purposes.NOTICE_VERSION,
        channel="assisted",
        given_at=utc_now(),
    )
    db.add(record)
    db.flush()
    return record


# --- guardians ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Child:
    """A child under 14 the actor may decide for."""

    resident_id: int
    name: str


def children_of(db: Session, actor: Actor) -> list[Child]:
    """Children under 14 of the acting resident's household, and those linked to the account."""
    found: list[int] = []
    me = actor.effective_resident_id
    if me is not None:
        found += [
            rid
            for rid in resident_service.household_member_ids(db, me)
            if rid != me and is_child(db, rid) and _household_guardian(db, actor, rid) is not None
        ]
    if actor.account_id is not None and not actor.is_assisting:
        stmt = select(ConsentGuardian.child_resident_id).where(
            ConsentGuardian.guardian_account_id == actor.account_id
        )
        found += [rid for rid in db.scalars(stmt) if is_child(db, rid)]
    seen = sorted(set(found))
    return [Child(rid, resident_service.display_name(db, rid, masked=False)) for rid in seen]


def link_guardian(
    db: Session, actor: Actor, *, child_resident_id: int, guardian_account_id: int
) -> ConsentGuardian:
    """Staff of the child's place record an account as the child's guardian (audited)."""
    record = resident_service.get_record(db, child_resident_id)
    path = resident_service.place_path_of(db, child_resident_id)
    if not actor.holds(RESIDENT_ADMIN_ROLES, path):
        raise PermissionDenied(_("You cannot link guardians for residents of this place."))
    if not is_child(db, child_resident_id):
        raise ValidationFailed(_("Only a child under 14 needs a guardian for consents."))
    stmt = select(ConsentGuardian).where(
        ConsentGuardian.child_resident_id == child_resident_id,
        ConsentGuardian.guardian_account_id == guardian_account_id,
    )
    existing = db.scalars(stmt).first()
    if existing is not None:
        return existing
    link = ConsentGuardian(
        child_resident_id=child_resident_id,
        guardian_account_id=guardian_account_id,
        linked_by_account_id=actor.account_id,
    )
    db.add(link)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="consent.guardian_linked",
        subject_type="resident",
        subject_id=child_resident_id,
        subject_resident_id=child_resident_id,
        place_id=record.place_id,
        detail={"guardian_account_id": guardian_account_id},
    )
    return link


def masked_name(db: Session, resident_id: int) -> str:
    return mask_name(resident_service.display_name(db, resident_id, masked=False))


# --- sensitive modules and impact assessments (P10, P11) ----------------------------------------


def _module(module: str) -> str:
    if module not in purposes.SENSITIVE_MODULES:
        raise NotFound(_("No such module: %(m)s.", m=module))
    return module


def _admin_community(db: Session, actor: Actor, community_id: int) -> int:
    place = place_service.get(db, community_id)
    if place.kind != "community":
        raise ValidationFailed(_("Sensitive modules are switched per community."))
    if not actor.holds(ACCOUNT_ADMIN_ROLES, place.path):
        raise PermissionDenied(_("Only the community's administrators can do this."))
    return place.id


def module_enabled(db: Session, community_id: int, module: str) -> bool:
    """Whether a sensitive module is on in a community (off by default: no row)."""
    stmt = select(SensitiveModule.enabled).where(
        SensitiveModule.place_id == community_id, SensitiveModule.module == module
    )
    return bool(db.scalars(stmt).first())


def record_assessment(
    db: Session,
    actor: Actor,
    *,
    community_id: int,
    module: str,
    reference: str,
    assessed_on: dt.date,
    summary: str,
) -> ImpactAssessment:
    """Record a personal-information impact assessment of a module in a community (audited)."""
    _module(module)
    place_id = _admin_community(db, actor, community_id)
    if not reference.strip() or len(summary.strip()) < 10:
        raise ValidationFailed(_("Give the assessment's reference and a summary of its findings."))
    row = ImpactAssessment(
        place_id=place_id,
        module=module,
        reference=reference.strip(),
        assessed_on=assessed_on,
        summary=summary.strip(),
        recorded_by_account_id=actor.account_id,
    )
    db.add(row)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="privacy.assessment_recorded",
        subject_type="privacy_impact_assessment",
        subject_id=row.id,
        place_id=place_id,
        detail={"module": module, "reference": row.reference},
    )
    return row


def assessments(db: Session, actor: Actor, community_id: int) -> list[ImpactAssessment]:
    place_id = _admin_community(db, actor, community_id)
    stmt = (
        select(ImpactAssessment)
        .where(ImpactAssessment.place_id == place_id)
        .order_by(ImpactAssessment.id)
    )
    return list(db.scalars(stmt))


def set_module(
    db: Session,
    actor: Actor,
    *,
    community_id: int,
    module: str,
    enabled: bool,
    assessment_id: int | None = None,
) -> SensitiveModule:
    """Switch a sensitive module on or off; on needs this community's assessment of it (409)."""
    _module(module)
    place_id = _admin_community(db, actor, community_id)
    assessment: ImpactAssessment | None = None
    if enabled:
        if assessment_id is not None:
            assessment = db.get(ImpactAssessment, assessment_id)
        if assessment is None or assessment.place_id != place_id or assessment.module != module:
            raise Conflict(
                _(
                    "Record a personal-information impact assessment of this module for this "
                    "community before switching it on."
                ),
                detail={"module": module},
            )
    stmt = select(SensitiveModule).where(
        SensitiveModule.place_id == place_id, SensitiveModule.module == module
    )
    row = db.scalars(stmt).first()
    if row is None:
        row = SensitiveModule(place_id=place_id, module=module)
        db.add(row)
    row.enabled = enabled
    if assessment is not None:
        row.assessment_id = assessment.id
    row.updated_by_account_id = actor.account_id
    row.updated_at = utc_now()
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="privacy.module_enabled" if enabled else "privacy.module_disabled",
        subject_type="privacy_module",
        subject_id=module,
        place_id=place_id,
        detail={"module": module, "assessment_id": row.assessment_id},
    )
    return row


def modules(db: Session, actor: Actor, community_id: int) -> list[SensitiveModule]:
    """The sensitive-module switches of a community that have been touched (others are off)."""
    place_id = _admin_community(db, actor, community_id)
    stmt = select(SensitiveModule).where(SensitiveModule.place_id == place_id)
    return list(db.scalars(stmt.order_by(SensitiveModule.module)))
