"""JSON API of consents: my consents (give, withdraw), purposes, guardians, sensitive modules."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, ConfigDict, Field

from linli.core.i18n import gettext as _
from linli.core.validation import Id, PlainText
from linli.privacy import consent, purposes
from linli.privacy.consent_models import Consent, ImpactAssessment, SensitiveModule
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId

router = APIRouter(prefix="/api/v1", tags=["privacy"], dependencies=[CsrfChecked])

PurposeId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[a-z_]+$")]


class PurposeRead(BaseModel):
    """One purpose as the notice states it."""

    id: str
    name: str
    explanation: str
    necessity: str
    impact: str
    retention: str
    legal_basis: str
    optional: bool
    sensitive: bool
    changed_in: int


class NoticeRead(BaseModel):
    """The privacy notice's version and the purposes it declares."""

    notice_version: int
    notice_date: str
    purposes: list[PurposeRead]


class ConsentStateRead(BaseModel):
    """Where the resident stands on one optional purpose."""

    purpose: str
    name: str
    sensitive: bool
    state: str
    given_at: dt.datetime | None
    notice_version: int | None
    by_guardian: bool
    channel: str | None


class ConsentRead(BaseModel):
    """One stored consent record."""

    model_config = ConfigDict(from_attributes=True)

    id: int
    resident_id: int
    purpose: str
    notice_version: int
    channel: str
    actor_account_id: int | None
    guardian_resident_id: int | None
    guardian_account_id: int | None
    given_at: dt.datetime
    withdrawn_at: dt.datetime | None


class ConsentGive(BaseModel):
    """Give one consent: one purpose per request, never bundled."""

    model_config = ConfigDict(extra="forbid")

    purpose: str = Field(min_length=1, max_length=64, pattern=r"^[a-z_]+$")
    resident_id: Id | None = Field(default=None, description="a child's id, for a guardian")


class ConsentWithdraw(BaseModel):
    model_config = ConfigDict(extra="forbid")

    resident_id: Id | None = Field(default=None, description="a child's id, for a guardian")


class WithdrawResult(BaseModel):
    purpose: str
    withdrawn: bool
    removed: int


class GuardianLink(BaseModel):
    model_config = ConfigDict(extra="forbid")

    child_resident_id: Id
    guardian_account_id: Id


class AssessmentCreate(BaseModel):
    """A personal-information impact assessment (PIPL art. 55-56)."""

    model_config = ConfigDict(extra="forbid")

    community_id: Id
    module: str = Field(min_length=1, max_length=64)
    reference: PlainText = Field(min_length=1, max_length=64)
    assessed_on: dt.date
    summary: str = Field(min_length=10, max_length=4000)


class AssessmentRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    place_id: int
    module: str
    reference: str
    assessed_on: dt.date
    summary: str
    created_at: dt.datetime


class ModuleSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool
    assessment_id: Id | None = None


class ModuleRead(BaseModel):
    module: str
    enabled: bool
    assessment_id: int | None


def purpose_read(p: purposes.Purpose) -> PurposeRead:
    return PurposeRead(
        id=p.id,
        name=consent.name_of(p),
        explanation=_(p.explanation),
        necessity=_(p.necessity) if p.necessity else "",
        impact=_(p.impact) if p.impact else "",
        retention=_(p.retention),
        legal_basis=p.legal_basis,
        optional=p.optional,
        sensitive=p.sensitive,
        changed_in=p.changed_in,
    )


@router.get("/privacy/notice", response_model=NoticeRead)
def notice() -> NoticeRead:
    """The notice version and every purpose, with its basis and retention (public)."""
    return NoticeRead(
        notice_version=purposes.NOTICE_VERSION,
        notice_date=purposes.NOTICE_DATE,
        purposes=[purpose_read(p) for p in purposes.PURPOSES.values()],
    )


@router.get("/me/consents", response_model=list[ConsentStateRead])
def my_consents(db: Db, actor: LoggedIn, resident_id: QueryId = None) -> list[ConsentStateRead]:
    """My state on every optional purpose (or a child's, for a guardian)."""
    subject = consent.subject_for(db, actor, resident_id)
    return [
        ConsentStateRead(
            purpose=s.purpose.id,
            name=consent.name_of(s.purpose),
            sensitive=s.purpose.sensitive,
            state=s.state,
            given_at=s.given_at,
            notice_version=s.notice_version,
            by_guardian=s.by_guardian,
            channel=s.channel,
        )
        for s in consent.states(db, subject)
    ]


@router.post("/me/consents", response_model=ConsentRead, status_code=201)
def give(db: Db, actor: LoggedIn, body: ConsentGive) -> Consent:
    """Give consent to one optional purpose (audited as ``consent.given``)."""
    record = consent.give(db, actor, body.purpose, resident_id=body.resident_id)
    db.commit()
    return record


@router.post("/me/consents/{purpose}/withdraw", response_model=WithdrawResult)
def withdraw(
    db: Db, actor: LoggedIn, purpose: PurposeId, body: ConsentWithdraw | None = None
) -> WithdrawResult:
    """Withdraw a consent: processing stops and the purpose's data is deleted or anonymised."""
    removed = consent.withdraw(db, actor, purpose, resident_id=body.resident_id if body else None)
    db.commit()
    return WithdrawResult(purpose=purpose, withdrawn=True, removed=removed)


@router.post("/privacy/guardians", status_code=204)
def link_guardian(db: Db, actor: LoggedIn, body: GuardianLink) -> None:
    """Staff record an account as the guardian of a child under 14 (audited)."""
    consent.link_guardian(
        db,
        actor,
        child_resident_id=body.child_resident_id,
        guardian_account_id=body.guardian_account_id,
    )
    db.commit()


@router.post("/privacy/assessments", response_model=AssessmentRead, status_code=201)
def record_assessment(db: Db, actor: LoggedIn, body: AssessmentCreate) -> ImpactAssessment:
    """Record an impact assessment of a sensitive module (community administrators)."""
    row = consent.record_assessment(
        db,
        actor,
        community_id=body.community_id,
        module=body.module,
        reference=body.reference,
        assessed_on=body.assessed_on,
        summary=body.summary,
    )
    db.commit()
    return row


@router.get("/privacy/communities/{community_id}/modules", response_model=list[ModuleRead])
def list_modules(db: Db, actor: LoggedIn, community_id: PathId) -> list[ModuleRead]:
    """Every sensitive module of a community and whether it is on (off by default)."""
    rows = {m.module: m for m in consent.modules(db, actor, community_id)}
    return [_module_read(name, rows.get(name)) for name in purposes.SENSITIVE_MODULES]


@router.put("/privacy/communities/{community_id}/modules/{module}", response_model=ModuleRead)
def set_module(
    db: Db, actor: LoggedIn, community_id: PathId, module: PurposeId, body: ModuleSet
) -> ModuleRead:
    """Switch a sensitive module on (needs an assessment: 409 without) or off; audited."""
    row = consent.set_module(
        db,
        actor,
        community_id=community_id,
        module=module,
        enabled=body.enabled,
        assessment_id=body.assessment_id,
    )
    db.commit()
    return _module_read(module, row)


def _module_read(name: str, row: SensitiveModule | None) -> ModuleRead:
    return ModuleRead(
        module=name,
        enabled=bool(row and row.enabled),
        assessment_id=row.assessment_id if row else None,
    )
