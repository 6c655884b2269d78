"""Queries of the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from sqlalchemy import Select, func, select, update
from sqlalchemy.orm import Session

from linli.audit.models import AuditChain, AuditEvent


def lock_chain_head(db: Session) -> str:
    """Take the chain-head lock (a row write) and return the last hash."""
    db.execute(update(AuditChain).where(AuditChain.id == 1).values(seq=AuditChain.seq + 1))
    return db.execute(select(AuditChain.last_hash).where(AuditChain.id == 1)).scalar_one()


def set_chain_head(db: Session, new_hash: str) -> None:
    db.execute(update(AuditChain).where(AuditChain.id == 1).values(last_hash=new_hash))


def chain_head_hash(db: Session) -> str:
    return db.execute(select(AuditChain.last_hash).where(AuditChain.id == 1)).scalar_one()


def add(db: Session, event: AuditEvent) -> None:
    db.add(event)
    db.flush()


def iter_in_order(db: Session, batch: int = 2000) -> Iterator[AuditEvent]:
    """Every event in chain order, loaded in batches."""
    last_id = 0
    while True:
        rows = list(
            db.scalars(
                select(AuditEvent)
                .where(AuditEvent.id > last_id)
                .order_by(AuditEvent.id)
                .limit(batch)
            )
        )
        if not rows:
            return
        yield from rows
        last_id = rows[-1].id


def search_statement(
    *,
    action: str | None = None,
    actor_username: str | None = None,
    subject_resident_id: int | None = None,
    since: dt.datetime | None = None,
    until: dt.datetime | None = None,
    place_ids: Select[int] | None = None,
) -> Select[AuditEvent]:
    stmt = select(AuditEvent)
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if actor_username:
        stmt = stmt.where(AuditEvent.actor_username == actor_username)
    if subject_resident_id is not None:
        stmt = stmt.where(AuditEvent.subject_resident_id == subject_resident_id)
    if since is not None:
        stmt = stmt.where(AuditEvent.at >= since)
    if until is not None:
        stmt = stmt.where(AuditEvent.at < until)
    if place_ids is not None:
        stmt = stmt.where(AuditEvent.place_id.in_(place_ids))
    return stmt


def page(
    db: Session, stmt: Select[AuditEvent], *, offset: int, limit: int
) -> tuple[list[AuditEvent], int]:
    total = db.execute(select(func.count()).select_from(stmt.subquery())).scalar_one()
    rows = list(db.scalars(stmt.order_by(AuditEvent.id.desc()).offset(offset).limit(limit)))
    return rows, total
