"""Shared set-up for points tests: actors, earned points, rewards and a redemption at c1."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from linli.core.time import UTC
from linli.points import service as points_service
from linli.points.schemas import RewardCreate
from tests.conftest import World

EARNED_AT = dt.datetime(2026, 1, 5, 2, 0, tzinfo=UTC)


def actor(db: Session, world: World, username: str) -> Actor:
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")


def earn(
    db: Session,
    household_id: int,
    points: int,
    *,
    at: dt.datetime | None = None,
    tag: str = "seed",
) -> None:
    """Credit ``points`` (a multiple of 10) as volunteering hours, one hour per award."""
    when = at or EARNED_AT
    for i in range(points // 10):
        got = points_service.award(
            db,
            household_id=household_id,
            rule_code="volunteering",
            source_event_id=f"{tag}:{household_id}:{i}",
            occurred_at=when + dt.timedelta(days=i),
        )
        assert got == 10


def make_reward(
    db: Session, world: World, *, cost: int = 10, stock: int = 5, name: str = "环保袋"
) -> int:
    staff = actor(db, world, "staff1")
    reward = points_service.create_reward(
        db,
        staff,
        RewardCreate(community_id=world.places["c1"], name=name, cost=cost, stock=stock),
    )
    return reward.id


def make_redemption(db: Session, world: World) -> int:
    """Alice's household earns 30 points and reserves a c1 reward; committed."""
    earn(db, world.households["h1"], 30)
    reward_id = make_reward(db, world)
    found = points_service.redeem(db, actor(db, world, "alice"), reward_id)
    db.commit()
    return found.id
