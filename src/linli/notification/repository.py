"""Queries of the notification outbox, endpoints and preferences."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from sqlalchemy import ColumnElement, Select, and_, func, or_, select, update
from sqlalchemy.orm import Session

from linli.notification.models import Notification, NotificationEndpoint, NotificationPreference


def existing_keys(db: Session, keys: list[str]) -> set[str]:
    """Which of ``keys`` are already in the outbox (one query)."""
    if not keys:
        return set()
    stmt = select(Notification.idempotency_key).where(Notification.idempotency_key.in_(keys))
    return set(db.scalars(stmt))


def preferences(db: Session, account_ids: list[int]) -> dict[int, NotificationPreference]:
    if not account_ids:
        return {}
    stmt = select(NotificationPreference).where(NotificationPreference.account_id.in_(account_ids))
    return {p.account_id: p for p in db.scalars(stmt)}


def preference(db: Session, account_id: int) -> NotificationPreference | None:
    return db.get(NotificationPreference, account_id)


def endpoints_at(db: Session, place_ids: list[int]) -> list[NotificationEndpoint]:
    """Enabled endpoints of these places."""
    if not place_ids:
        return []
    stmt = (
        select(NotificationEndpoint)
        .where(NotificationEndpoint.place_id.in_(place_ids), NotificationEndpoint.enabled.is_(True))
        .order_by(NotificationEndpoint.id)
    )
    return list(db.scalars(stmt))


def external_since(db: Session, account_ids: list[int], since: dt.datetime) -> dict[int, int]:
    """Messages outside the app (not suppressed) per account created since ``since``."""
    if not account_ids:
        return {}
    stmt = (
        select(Notification.account_id, func.count())
        .where(
            Notification.account_id.in_(account_ids),
            Notification.channel != "inapp",
            Notification.status != "suppressed",
            Notification.created_at > since,
        )
        .group_by(Notification.account_id)
    )
    return {int(a): int(n) for a, n in db.execute(stmt) if a is not None}


def _unread(account_id: int) -> ColumnElement[bool]:
    return and_(
        Notification.account_id == account_id,
        Notification.channel == "inapp",
        Notification.read_at.is_(None),
    )


def unread_counts(db: Session, account_ids: list[int]) -> dict[int, int]:
    if not account_ids:
        return {}
    stmt = (
        select(Notification.account_id, func.count())
        .where(
            Notification.account_id.in_(account_ids),
            Notification.channel == "inapp",
            Notification.read_at.is_(None),
        )
        .group_by(Notification.account_id)
    )
    found = {int(a): int(n) for a, n in db.execute(stmt) if a is not None}
    return {a: found.get(a, 0) for a in account_ids}


def inbox(
    db: Session, account_id: int, *, offset: int, limit: int, unread_only: bool = False
) -> tuple[list[Notification], int]:
    """A page of a person's in-app messages, newest first, and how many there are."""
    cond: ColumnElement[bool] = and_(
        Notification.account_id == account_id, Notification.channel == "inapp"
    )
    if unread_only:
        cond = _unread(account_id)
    total = db.scalar(select(func.count()).select_from(Notification).where(cond)) or 0
    stmt = (
        select(Notification)
        .where(cond)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def get(db: Session, notification_id: int) -> Notification | None:
    return db.get(Notification, notification_id)


def mark_all_read(db: Session, account_id: int, at: dt.datetime) -> int:
    stmt = update(Notification).where(_unread(account_id)).values(read_at=at)
    return int(db.connection().execute(stmt).rowcount)


def get_endpoint(db: Session, endpoint_id: int) -> NotificationEndpoint | None:
    return db.get(NotificationEndpoint, endpoint_id)


def endpoints_in(db: Session, place_ids: Select[int]) -> list[NotificationEndpoint]:
    stmt = (
        select(NotificationEndpoint)
        .where(NotificationEndpoint.place_id.in_(place_ids))
        .order_by(NotificationEndpoint.place_id, NotificationEndpoint.name, NotificationEndpoint.id)
    )
    return list(db.scalars(stmt))


def endpoint_names(db: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    stmt = select(NotificationEndpoint.id, NotificationEndpoint.name).where(
        NotificationEndpoint.id.in_(wanted)
    )
    return {int(i): str(n) for i, n in db.execute(stmt)}


def _endpoint_rows(place_ids: Select[int]) -> ColumnElement[bool]:
    endpoints = select(NotificationEndpoint.id).where(NotificationEndpoint.place_id.in_(place_ids))
    return Notification.endpoint_id.in_(endpoints)


def outbox(
    db: Session,
    place_ids: Select[int],
    *,
    status: str | None,
    channel: str | None,
    offset: int,
    limit: int,
) -> tuple[list[Notification], int]:
    """Messages to endpoints of these places, newest first."""
    cond = _endpoint_rows(place_ids)
    if status:
        cond = and_(cond, Notification.status == status)
    if channel:
        cond = and_(cond, Notification.channel == channel)
    total = db.scalar(select(func.count()).select_from(Notification).where(cond)) or 0
    stmt = (
        select(Notification)
        .where(cond)
        .order_by(Notification.created_at.desc(), Notification.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(db.scalars(stmt)), int(total)


def outbox_counts(db: Session, place_ids: Select[int]) -> list[tuple[str, str, int]]:
    """(channel, status, count) of messages outside the app caused in these places or sent to
    their endpoints."""
    cond = and_(
        Notification.channel != "inapp",
        or_(Notification.place_id.in_(place_ids), _endpoint_rows(place_ids)),
    )
    stmt = (
        select(Notification.channel, Notification.status, func.count())
        .where(cond)
        .group_by(Notification.channel, Notification.status)
        .order_by(Notification.channel, Notification.status)
    )
    return [(str(c), str(s), int(n)) for c, s, n in db.execute(stmt)]


# --- delivery -------------------------------------------------------------------------------


def due(
    db: Session,
    channel: str,
    now: dt.datetime,
    *,
    limit: int,
    busy_endpoints: Iterable[int] = (),
    busy_accounts: Iterable[int] = (),
) -> list[Notification]:
    """Pending messages of a channel whose time has come, oldest first, skipping destinations
    that are being served."""
    stmt = select(Notification).where(
        Notification.status == "pending",
        Notification.channel == channel,
        Notification.next_attempt_at <= now,
    )
    endpoints = sorted(set(busy_endpoints))
    accounts = sorted(set(busy_accounts))
    if endpoints:
        stmt = stmt.where(
            or_(Notification.endpoint_id.is_(None), Notification.endpoint_id.not_in(endpoints))
        )
    if accounts:
        stmt = stmt.where(
            or_(Notification.account_id.is_(None), Notification.account_id.not_in(accounts))
        )
    stmt = stmt.order_by(Notification.next_attempt_at, Notification.id).limit(limit)
    return list(db.scalars(stmt))


def claim(db: Session, notification_id: int, seen: dt.datetime, until: dt.datetime) -> bool:
    """Take a pending message for delivery: only one process can move it from ``seen``."""
    stmt = (
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            Notification.next_attempt_at == seen,
        )
        .values(next_attempt_at=until)
    )
    return int(db.connection().execute(stmt).rowcount) == 1


def finish(db: Session, notification_id: int, until: dt.datetime, **values: object) -> bool:
    """Record a delivery outcome for a message this process claimed (lease ``until``)."""
    stmt = (
        update(Notification)
        .where(
            Notification.id == notification_id,
            Notification.status == "pending",
            Notification.next_attempt_at == until,
        )
        .values(**values)
    )
    return int(db.connection().execute(stmt).rowcount) == 1


def enabled_endpoints(db: Session) -> list[NotificationEndpoint]:
    query = select(NotificationEndpoint).where(NotificationEndpoint.enabled.is_(True))
    return list(db.scalars(query.order_by(NotificationEndpoint.id)))
