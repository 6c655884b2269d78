"""Queries of rules and their evaluation state."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, delete, func, select
from sqlalchemy.orm import Session

from linli.core.time import utc_now
from linli.rule.models import Rule, RuleState


def get(db: Session, rule_id: int) -> Rule | None:
    return db.get(Rule, rule_id)


def listed(
    db: Session, where: ColumnElement[bool], *, offset: int, limit: int
) -> tuple[list[Rule], int]:
    total = db.scalar(select(func.count()).select_from(Rule).where(where)) or 0
    rows = db.scalars(select(Rule).where(where).order_by(Rule.id).offset(offset).limit(limit))
    return list(rows), int(total)


def enabled(db: Session) -> list[Rule]:
    return list(db.scalars(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.id)))


def states(db: Session, rule_ids: list[int]) -> dict[tuple[int, str], RuleState]:
    if not rule_ids:
        return {}
    rows = db.scalars(select(RuleState).where(RuleState.rule_id.in_(rule_ids)))
    return {(s.rule_id, s.source): s for s in rows}


def save_states(db: Session, items: list[tuple[int, str, int, dict[str, Any]]]) -> None:
    """Insert or replace states (rule id, source, last ts, state); rules deleted meanwhile skip."""
    if not items:
        return
    keys = {(r, s) for r, s, _t, _x in items}
    rule_ids = sorted({r for r, _s in keys})
    alive = set(db.scalars(select(Rule.id).where(Rule.id.in_(rule_ids))))
    found = states(db, sorted(alive))
    for rule_id, source, last_ts, state in items:
        if rule_id not in alive:
            continue
        row = found.get((rule_id, source))
        if row is None:
            row = RuleState(rule_id=rule_id, source=source)
            db.add(row)
            found[(rule_id, source)] = row
        row.last_ts = last_ts
        row.state = state
        row.updated_at = utc_now()


def drop_states(db: Session, rule_id: int) -> None:
    db.execute(delete(RuleState).where(RuleState.rule_id == rule_id))


def state_count(db: Session) -> int:
    return int(db.scalar(select(func.count()).select_from(RuleState)) or 0)


def exists(db: Session, *, template: str, place_id: int, property_key: str) -> bool:
    stmt = select(Rule.id).where(
        Rule.template == template, Rule.place_id == place_id, Rule.property_key == property_key
    )
    return db.scalar(stmt.limit(1)) is not None
