"""Sharing tests: registry entries made as an administrator would, incidents opened by staff."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.core.actor import Actor
from linli.core.time import utc_now
from linli.incident import service as incident_service
from linli.incident.models import Incident
from linli.incident.schemas import IncidentCreate
from linli.sharing import service as sharing_service
from linli.sharing.schemas import (
    BreachCreate,
    ExportDecision,
    ExportRequestCreate,
    RecipientCreate,
    RecipientIssued,
)
from tests.conftest import PASSWORD, World
from tests.notification.conftest import receiver, smtp

__all__ = ["receiver", "smtp"]

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


SHEET = ["resident_rooms", "resident_names"]
BREACH: dict[str, Any] = {
    "title": "物业电脑被盗",
    "what_happened": "A laptop with the resident sheet of building 1 was stolen from the office.",
    "cause": "The office door was left open.",
    "possible_harm": "Names and rooms may be known to strangers.",
    "categories": ["identity", "household"],
    "people_affected": 3,
    "measures_taken": "Passwords changed; the police was told.",
    "advice_to_people": "Be wary of calls that name your room.",
    "contact": "社区居委会 021-5555 0101",
}


def sheet_recipient(db: Session, world: World, *, place: str = "c1") -> RecipientIssued:
    """A registry entry of ``place`` that may receive the resident sheet (a duty by law)."""
    return recipient(
        db, world, name="街道办事处", place=place, fields=SHEET, types=[], basis="legal_duty"
    )


def second_admin(db: Session, world: World, place: str = "c1") -> tuple[Actor, dict[str, str]]:
    """Another community administrator of ``place`` (an approver): actor and API key headers."""
    username = f"admin-{place}-second"
    headers = account_with_role(db, world, username, "community_admin", place)
    account = account_service.by_username(db, username)
    assert account is not None
    return account_service.build_actor(db, account, via="cli"), headers


def approved_export(
    db: Session, world: World, *, place: str = "c1", approver: Actor | None = None
) -> int:
    """An export of ``place``'s resident sheet asked for by admin1 and approved by another
    administrator of the place: admin1 may download it once."""
    entry = sheet_recipient(db, world, place=place)
    asked = sharing_service.request_export(
        db,
        actor_of(db, world, "admin1"),
        ExportRequestCreate(
            place_id=world.places[place], recipient_id=entry.id, purpose="Census by the street"
        ),
    )
    if approver is None:
        approver, _headers = second_admin(db, world, place)
    sharing_service.decide_export(
        db, approver, asked.id, ExportDecision(approve=True, note="Checked the purpose")
    )
    db.commit()
    return asked.id


def declared_breach(db: Session, world: World, *, place: str = "c1") -> int:
    """A personal-data incident of ``place`` declared by admin1."""
    notices = sharing_service.declare_breach(
        db,
        actor_of(db, world, "admin1"),
        BreachCreate.model_validate({**BREACH, "place_id": world.places[place]}),
    )
    db.commit()
    return notices.breach.id


def fire_facts(
    world: World,
    *,
    incident_id: int,
    place_id: int,
    place_path: str,
    title: str,
    room: str,
    area: str = "",
) -> sharing_service.IncidentFacts:
    """A fire where alice (of ``room``) asked for help: what a message about it is built from."""
    return sharing_service.IncidentFacts(
        incident_id=incident_id,
        place_id=place_id,
        place_path=place_path,
        type="fire",
        severity=4,
        status="reported",
        title=title,
        description="",
        area=area,
        latitude=None,
        longitude=None,
        created_at=utc_now(),
        updated_at=utc_now(),
        responders=0,
        help_requests=1,
        contacts=((world.residents["alice"], "王小丽", room),),
    )
