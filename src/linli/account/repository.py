"""Queries of accounts, grants, sessions, API keys and login attempts."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Select, bindparam, func, select, update
from sqlalchemy.orm import Session

from linli.account.models import Account, ApiKey, AuthSession, LoginAttempt, RoleGrant


def get(db: Session, account_id: int) -> Account | None:
    return db.get(Account, account_id)


def by_username(db: Session, username: str) -> Account | None:
    return db.scalars(select(Account).where(Account.username == username)).first()


def by_resident(db: Session, resident_id: int) -> Account | None:
    return db.scalars(select(Account).where(Account.resident_id == resident_id)).first()


# Statements on the authentication path are built once: building a select() costs more than
# running it on SQLite.
_GRANTS_OF = (
    select(RoleGrant).where(RoleGrant.account_id == bindparam("account_id")).order_by(RoleGrant.id)
)
_SESSION_BY_TOKEN = select(AuthSession).where(AuthSession.token_hash == bindparam("token_hash"))
_API_KEY_BY_PREFIX = select(ApiKey).where(ApiKey.prefix == bindparam("prefix"))


def grants_of(db: Session, account_id: int) -> list[RoleGrant]:
    return list(db.scalars(_GRANTS_OF, {"account_id": account_id}))


def find_grant(db: Session, account_id: int, role: str, place_id: int) -> RoleGrant | None:
    stmt = select(RoleGrant).where(
        RoleGrant.account_id == account_id, RoleGrant.role == role, RoleGrant.place_id == place_id
    )
    return db.scalars(stmt).first()


def session_by_token_hash(db: Session, token_hash: str) -> AuthSession | None:
    return db.scalars(_SESSION_BY_TOKEN, {"token_hash": token_hash}).first()


def active_sessions(db: Session, account_id: int, now: dt.datetime) -> list[AuthSession]:
    stmt = select(AuthSession).where(
        AuthSession.account_id == account_id,
        AuthSession.revoked_at.is_(None),
        AuthSession.expires_at > now,
    )
    return list(db.scalars(stmt.order_by(AuthSession.id)))


def revoke_sessions(db: Session, account_id: int, now: dt.datetime) -> int:
    result = db.execute(
        update(AuthSession)
        .where(AuthSession.account_id == account_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def api_key_by_prefix(db: Session, prefix: str) -> ApiKey | None:
    return db.scalars(_API_KEY_BY_PREFIX, {"prefix": prefix}).first()


def api_keys_of(db: Session, account_id: int) -> list[ApiKey]:
    return list(db.scalars(select(ApiKey).where(ApiKey.account_id == account_id)))


def recent_failures(db: Session, username: str, since: dt.datetime) -> int:
    stmt = select(func.count(LoginAttempt.id)).where(
        LoginAttempt.username == username,
        LoginAttempt.success.is_(False),
        LoginAttempt.at >= since,
    )
    return int(db.execute(stmt).scalar_one())


def oldest_recent_failure(db: Session, username: str, since: dt.datetime) -> dt.datetime | None:
    stmt = select(func.min(LoginAttempt.at)).where(
        LoginAttempt.username == username,
        LoginAttempt.success.is_(False),
        LoginAttempt.at >= since,
    )
    value = db.execute(stmt).scalar_one_or_none()
    if value is not None and value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value


def list_accounts(db: Session, account_ids: list[int] | None = None) -> list[Account]:
    stmt = select(Account).order_by(Account.username)
    if account_ids is not None:
        stmt = stmt.where(Account.id.in_(account_ids))
    return list(db.scalars(stmt))


def accounts_with_grants_under(db: Session, place_ids: Select[int]) -> list[int]:
    stmt = select(RoleGrant.account_id).where(RoleGrant.place_id.in_(place_ids)).distinct()
    return [int(x) for x in db.scalars(stmt)]


def holders(db: Session, place_ids: list[int], roles: list[str]) -> list[int]:
    """Active accounts holding one of ``roles`` on one of ``place_ids``."""
    if not place_ids or not roles:
        return []
    stmt = (
        select(RoleGrant.account_id)
        .join(Account, Account.id == RoleGrant.account_id)
        .where(
            RoleGrant.place_id.in_(place_ids),
            RoleGrant.role.in_(roles),
            Account.is_active.is_(True),
        )
        .distinct()
        .order_by(RoleGrant.account_id)
    )
    return [int(a) for a in db.scalars(stmt)]
