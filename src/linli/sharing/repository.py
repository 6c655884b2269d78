"""Every query of the sharing domain."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from linli.sharing.models import (
    DataBreach,
    Disclosure,
    DisclosureResident,
    ExportRequest,
    Recipient,
)


def get_recipient(db: Session, recipient_id: int) -> Recipient | None:
    return db.get(Recipient, recipient_id)


def recipient_by_token_digest(db: Session, digest: str) -> Recipient | None:
    return db.scalars(select(Recipient).where(Recipient.feed_token_digest == digest)).first()


def recipients_page(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Recipient], int]:
    total = int(db.scalar(select(func.count()).select_from(Recipient).where(where)) or 0)
    query = (
        select(Recipient)
        .where(where)
        .order_by(Recipient.active.desc(), Recipient.name, Recipient.id)
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(query)), total


def active_recipients_at(db: Session, paths: list[str]) -> list[Recipient]:
    """Active recipients registered at one of ``paths`` (a place and its ancestors)."""
    if not paths:
        return []
    query = select(Recipient).where(Recipient.active.is_(True), Recipient.place_path.in_(paths))
    return list(db.scalars(query.order_by(Recipient.id)))


def recipients_by_ids(db: Session, ids: set[int]) -> dict[int, Recipient]:
    if not ids:
        return {}
    return {r.id: r for r in db.scalars(select(Recipient).where(Recipient.id.in_(ids)))}


def get_disclosure(db: Session, disclosure_id: int) -> Disclosure | None:
    return db.get(Disclosure, disclosure_id)


def earlier(db: Session, recipient_id: int, subject_type: str, subject_id: int) -> list[Disclosure]:
    """Messages already made for this recipient about this subject, oldest first."""
    query = select(Disclosure).where(
        Disclosure.recipient_id == recipient_id,
        Disclosure.subject_type == subject_type,
        Disclosure.subject_id == subject_id,
    )
    return list(db.scalars(query.order_by(Disclosure.id)))


def disclosures_page(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Disclosure], int]:
    total = int(db.scalar(select(func.count()).select_from(Disclosure).where(where)) or 0)
    query = (
        select(Disclosure)
        .where(where)
        .order_by(Disclosure.created_at.desc(), Disclosure.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(query)), total


def feed_of(
    db: Session, recipient_id: int, since: dt.datetime, *, limit: int, excluded: frozenset[str]
) -> list[Disclosure]:
    """A recipient's messages made at or after ``since``, newest first, except those about
    the ``excluded`` kinds of subject."""
    query = (
        select(Disclosure)
        .where(
            Disclosure.recipient_id == recipient_id,
            Disclosure.created_at >= since,
            Disclosure.subject_type.not_in(excluded),
        )
        .order_by(Disclosure.created_at.desc(), Disclosure.id.desc())
        .limit(limit)
    )
    return list(db.scalars(query))


def due(db: Session, now: dt.datetime, *, limit: int) -> list[tuple[Disclosure, Recipient]]:
    """Webhook messages waiting for a (first or next) attempt, of active recipients."""
    query = (
        select(Disclosure, Recipient)
        .join(Recipient, Recipient.id == Disclosure.recipient_id)
        .where(
            Disclosure.status == "pending",
            Disclosure.channel == "webhook",
            Disclosure.next_attempt_at <= now,
            Recipient.active.is_(True),
        )
        .order_by(Disclosure.next_attempt_at, Disclosure.id)
        .limit(limit)
    )
    return [(d, r) for d, r in db.execute(query)]


def residents_of(db: Session, disclosure_id: int) -> list[int]:
    query = select(DisclosureResident.resident_id).where(
        DisclosureResident.disclosure_id == disclosure_id
    )
    return list(db.scalars(query.order_by(DisclosureResident.resident_id)))


def processors_at(db: Session, channel: str, paths: list[str]) -> list[Recipient]:
    """Active processor entries of a notification channel registered at one of ``paths``,
    the nearest place first."""
    if not paths:
        return []
    query = select(Recipient).where(
        Recipient.active.is_(True),
        Recipient.kind == "processor",
        Recipient.processor_channel == channel,
        Recipient.place_path.in_(paths),
    )
    rows = list(db.scalars(query.order_by(Recipient.id)))
    return sorted(rows, key=lambda r: -len(r.place_path))


def active_with_webhooks(db: Session) -> list[Recipient]:
    query = select(Recipient).where(Recipient.active.is_(True), Recipient.webhook_url.is_not(None))
    return list(db.scalars(query.order_by(Recipient.id)))


def processors_abroad(db: Session) -> list[Recipient]:
    query = select(Recipient).where(
        Recipient.active.is_(True), Recipient.kind == "processor", Recipient.in_country.is_(False)
    )
    return list(db.scalars(query.order_by(Recipient.id)))


def get_export(db: Session, export_id: int) -> ExportRequest | None:
    return db.get(ExportRequest, export_id)


def move_export(
    db: Session, export_id: int, from_status: str, to_status: str, **values: object
) -> bool:
    """Change an export request's status only if it still has ``from_status``: of two
    concurrent decisions or downloads, one wins."""
    stmt = (
        update(ExportRequest)
        .where(ExportRequest.id == export_id, ExportRequest.status == from_status)
        .values(status=to_status, **values)
        .execution_options(synchronize_session=False)
    )
    done = int(db.connection().execute(stmt).rowcount) == 1
    row = db.get(ExportRequest, export_id)
    if row is not None:
        db.refresh(row)
    return done


def exports_where(db: Session, where: ColumnElement[bool], *, limit: int) -> list[ExportRequest]:
    query = select(ExportRequest).where(where).order_by(ExportRequest.id.desc()).limit(limit)
    return list(db.scalars(query))


def get_breach(db: Session, breach_id: int) -> DataBreach | None:
    return db.get(DataBreach, breach_id)


def breaches_where(db: Session, where: ColumnElement[bool], *, limit: int) -> list[DataBreach]:
    query = select(DataBreach).where(where).order_by(DataBreach.id.desc()).limit(limit)
    return list(db.scalars(query))
