"""Every query of the waste domain."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ColumnElement, select, true
from sqlalchemy.orm import Session

from linli.waste.models import (
    WasteAlarmRule,
    WasteCard,
    WasteCategory,
    WasteContainer,
    WasteDisposal,
    WasteGrade,
    WastePlan,
    WastePlanStop,
    WasteTruck,
)

DisposalRow = tuple[WasteDisposal, WasteContainer, WasteGrade | None]


def categories(db: Session, city_id: int) -> list[WasteCategory]:
    stmt = (
        select(WasteCategory)
        .where(WasteCategory.city_id == city_id)
        .order_by(WasteCategory.position, WasteCategory.id)
    )
    return list(db.scalars(stmt))


def container(db: Session, container_id: int) -> WasteContainer | None:
    return db.get(WasteContainer, container_id)


def container_by_device(db: Session, device_id: int) -> WasteContainer | None:
    stmt = select(WasteContainer).where(WasteContainer.device_id == device_id)
    return db.scalars(stmt).first()


def container_by_code(db: Session, community_id: int, code: str) -> WasteContainer | None:
    stmt = select(WasteContainer).where(
        WasteContainer.community_id == community_id, WasteContainer.code == code
    )
    return db.scalars(stmt).first()


def containers_by_ids(db: Session, ids: Iterable[int]) -> dict[int, WasteContainer]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = select(WasteContainer).where(WasteContainer.id.in_(wanted))
    return {c.id: c for c in db.scalars(stmt)}


def containers(
    db: Session, condition: ColumnElement[bool], *, community_id: int | None = None
) -> list[WasteContainer]:
    stmt = select(WasteContainer).where(condition)
    if community_id is not None:
        stmt = stmt.where(WasteContainer.community_id == community_id)
    return list(db.scalars(stmt.order_by(WasteContainer.community_id, WasteContainer.code)))


def linked_containers(db: Session, community_id: int | None = None) -> list[WasteContainer]:
    stmt = select(WasteContainer).where(
        WasteContainer.device_id.is_not(None), WasteContainer.active.is_(True)
    )
    if community_id is not None:
        stmt = stmt.where(WasteContainer.community_id == community_id)
    return list(db.scalars(stmt))


def cards_by_digest(db: Session, digests: Iterable[str]) -> dict[str, WasteCard]:
    wanted = sorted(set(digests))
    if not wanted:
        return {}
    stmt = select(WasteCard).where(WasteCard.card_digest.in_(wanted))
    return {c.card_digest: c for c in db.scalars(stmt)}


def cards_of_household(db: Session, household_id: int) -> list[WasteCard]:
    stmt = select(WasteCard).where(WasteCard.household_id == household_id).order_by(WasteCard.id)
    return list(db.scalars(stmt))


def card_count(db: Session, community_id: int) -> int:
    stmt = select(WasteCard.id).where(WasteCard.community_id == community_id)
    return len(list(db.scalars(stmt)))


def existing_events(
    db: Session, pairs: Iterable[tuple[int, str]]
) -> dict[tuple[int, str], WasteDisposal]:
    wanted = set(pairs)
    if not wanted:
        return {}
    stmt = select(WasteDisposal).where(
        WasteDisposal.container_id.in_(sorted({c for c, _e in wanted})),
        WasteDisposal.event_id.in_(sorted({e for _c, e in wanted})),
    )
    found = {(d.container_id, d.event_id): d for d in db.scalars(stmt)}
    return {k: v for k, v in found.items() if k in wanted}


def card_history(
    db: Session, card_ids: Iterable[int], start: dt.datetime, end: dt.datetime
) -> list[tuple[WasteDisposal, float, float]]:
    wanted = sorted(set(card_ids))
    if not wanted:
        return []
    stmt = (
        select(WasteDisposal, WasteContainer.latitude, WasteContainer.longitude)
        .join(WasteContainer, WasteContainer.id == WasteDisposal.container_id)
        .where(
            WasteDisposal.card_id.in_(wanted),
            WasteDisposal.occurred_at >= start,
            WasteDisposal.occurred_at <= end,
        )
    )
    return [(d, lat, lon) for d, lat, lon in db.execute(stmt).all()]


def grades_by_disposal(db: Session, disposal_ids: Iterable[int]) -> dict[int, WasteGrade]:
    wanted = sorted(set(disposal_ids))
    if not wanted:
        return {}
    stmt = select(WasteGrade).where(WasteGrade.disposal_id.in_(wanted))
    return {g.disposal_id: g for g in db.scalars(stmt)}


def disposal_rows(
    db: Session,
    *,
    condition: ColumnElement[bool] | None = None,
    household_id: int | None = None,
    container_id: int | None = None,
    card_id: int | None = None,
    flagged: bool | None = None,
    since: dt.datetime | None = None,
    limit: int = 100,
) -> list[DisposalRow]:
    stmt = (
        select(WasteDisposal, WasteContainer, WasteGrade)
        .join(WasteContainer, WasteContainer.id == WasteDisposal.container_id)
        .outerjoin(WasteGrade, WasteGrade.disposal_id == WasteDisposal.id)
        .where(condition if condition is not None else true())
    )
    if household_id is not None:
        stmt = stmt.where(WasteDisposal.household_id == household_id)
    if container_id is not None:
        stmt = stmt.where(WasteDisposal.container_id == container_id)
    if card_id is not None:
        stmt = stmt.where(WasteDisposal.card_id == card_id)
    if flagged is not None:
        stmt = stmt.where(WasteDisposal.flagged.is_(flagged))
    if since is not None:
        stmt = stmt.where(WasteDisposal.occurred_at >= since)
    stmt = stmt.order_by(WasteDisposal.occurred_at.desc(), WasteDisposal.id.desc()).limit(limit)
    return [(d, c, g) for d, c, g in db.execute(stmt).all()]


def disposals_between(
    db: Session, community_id: int, start: dt.datetime, end: dt.datetime
) -> list[tuple[int, str, dt.datetime, str | None]]:
    """(household, household place path, time, grade result) of a community's disposals."""
    stmt = (
        select(
            WasteDisposal.household_id,
            WasteDisposal.household_path,
            WasteDisposal.occurred_at,
            WasteGrade.result,
        )
        .outerjoin(WasteGrade, WasteGrade.disposal_id == WasteDisposal.id)
        .where(
            WasteDisposal.community_id == community_id,
            WasteDisposal.occurred_at >= start,
            WasteDisposal.occurred_at < end,
        )
    )
    return [(h, p, at, r) for h, p, at, r in db.execute(stmt).all()]


def trucks(db: Session, community_id: int, *, active_only: bool = False) -> list[WasteTruck]:
    stmt = select(WasteTruck).where(WasteTruck.community_id == community_id)
    if active_only:
        stmt = stmt.where(WasteTruck.active.is_(True))
    return list(db.scalars(stmt.order_by(WasteTruck.id)))


def trucks_by_ids(db: Session, ids: Iterable[int]) -> dict[int, WasteTruck]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {t.id: t for t in db.scalars(select(WasteTruck).where(WasteTruck.id.in_(wanted)))}


def latest_plan(db: Session, community_id: int) -> WastePlan | None:
    stmt = (
        select(WastePlan)
        .where(WastePlan.community_id == community_id)
        .order_by(WastePlan.id.desc())
        .limit(1)
    )
    return db.scalars(stmt).first()


def plan(db: Session, plan_id: int) -> WastePlan | None:
    return db.get(WastePlan, plan_id)


def plan_stops(db: Session, plan_id: int) -> list[WastePlanStop]:
    stmt = (
        select(WastePlanStop)
        .where(WastePlanStop.plan_id == plan_id)
        .order_by(WastePlanStop.truck_id, WastePlanStop.seq)
    )
    return list(db.scalars(stmt))


def alarm_rules(db: Session, community_id: int) -> WasteAlarmRule | None:
    return db.get(WasteAlarmRule, community_id)
