"""Sharing tests: registry entries made as an administrator would, incidents opened by staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.core.actor import Actor
from linli.incident import service as incident_service
from linli.incident.models import Incident
from linli.incident.schemas import IncidentCreate
from linli.sharing import service as sharing_service
from linli.sharing.schemas import RecipientCreate, RecipientIssued
from tests.conftest import PASSWORD, World

MINIMAL: list[str] = []
FULL = [*sharing_service.OPTIONAL, *sharing_service.PERSONAL]


def actor_of(db: Session, world: World, username: str) -> Actor:
    """The actor of a seeded account, as a request would build it."""
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")


def account_with_role(
    db: Session, world: World, username: str, role: str, place: str
) -> dict[str, str]:
    """An extra account holding ``role`` on a place of the world: its API key headers."""
    account = account_service.create_account(
        db, None, AccountCreate(username=username, display_name=username.title(), password=PASSWORD)
    )
    account_service.grant_role(
        db, None, account_id=account.id, role=role, place_id=world.places[place]
    )
    actor = account_service.build_actor(db, account, via="cli")
    _key, plain = account_service.create_api_key(db, actor, account_id=account.id, name="tests")
    db.commit()
    return {"Authorization": f"Bearer {plain}"}


def recipient(
    db: Session,
    world: World,
    *,
    name: str = "派出所",
    place: str = "c1",
    fields: list[str] | None = None,
    types: list[str] | None = None,
    min_severity: int = 1,
    basis: str = "vital_interest",
    webhook_url: str | None = None,
    admin: str = "admin1",
    **extra: Any,
) -> RecipientIssued:
    """A registry entry made by an administrator of ``place``."""
    data = RecipientCreate(
        place_id=world.places[place],
        name=name,
        kind="police",
        purpose="Public safety response",
        legal_basis=basis,
        allowed_fields=MINIMAL if fields is None else fields,
        incident_types=["fire", "help_request"] if types is None else types,
        min_severity=min_severity,
        webhook_url=webhook_url,
        **extra,
    )
    issued = sharing_service.create_recipient(db, actor_of(db, world, admin), data)
    db.commit()
    return issued


def open_incident(
    db: Session,
    world: World,
    *,
    place: str = "c1-b1",
    type: str = "fire",
    severity: int = 4,
    title: str = "3号楼厨房起火",
    description: str = "浓烟，住户已撤离",
    staff: str = "staff1",
) -> Incident:
    """An incident opened by staff (which shares it at once)."""
    incident = incident_service.create(
        db,
        actor_of(db, world, staff),
        IncidentCreate(
            place_id=world.places[place],
            type=type,
            severity=severity,
            title=title,
            description=description,
            lat=31.2304,
            lon=121.4737,
        ),
    )
    db.commit()
    return incident
