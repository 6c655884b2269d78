"""Fixtures of the notice tests: the actors of the seeded world as services see them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from tests.conftest import World


def actor_of(db: Session, world: World, username: str) -> Actor:
    """The actor of a seeded account, as a request would build it."""
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")
