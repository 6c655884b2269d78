"""Incident tests: responder accounts, critical alarms raised as the rule engine does, a clock."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator

import pytest
import time_machine
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.alarm import service as alarm_service
from linli.alarm.service import SignalItem
from linli.core.actor import Actor
from linli.incident import service
from linli.incident.schemas import ResponderCreate
from linli.place import service as place_service
from linli.rule.models import Rule
from tests.conftest import PASSWORD, World

START = dt.datetime(2026, 7, 15, 2, 0, tzinfo=dt.UTC)
_sources = itertools.count(1)


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    with time_machine.travel(START, tick=False) as traveller:
        yield traveller


def actor_of(db: Session, world: World, username: str) -> Actor:
    """The actor of a seeded account, as a request would build it."""
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")


def responder_account(db: Session, world: World, username: str, community: str = "c1") -> int:
    """An account holding the responder role on a community (added to ``world.accounts``)."""
    account = account_service.create_account(
        db, None, AccountCreate(username=username, display_name=username.title(), password=PASSWORD)
    )
    account_service.grant_role(
        db, None, account_id=account.id, role="responder", place_id=world.places[community]
    )
    world.accounts[username] = account.id
    return account.id


def register(
    db: Session,
    world: World,
    username: str,
    skills: list[str],
    node: str,
    *,
    community: str = "c1",
    on_shift: bool = True,
) -> int:
    """A responder account on the register of ``community`` at a node of the demo site plan."""
    account_id = responder_account(db, world, username, community)
    staff = actor_of(db, world, "staff1" if community == "c1" else "staff2")
    responder = service.register_responder(
        db,
        staff,
        ResponderCreate(
            account_id=account_id,
            place_id=world.places[community],
            display_name=username.title(),
            skills=skills,
            node=node,
            on_shift=on_shift,
        ),
    )
    return responder.id


def alarm_rule(db: Session, world: World, template: str, property_key: str) -> int:
    rule = Rule(
        name=template,
        template=template,
        kind="threshold",
        place_id=world.places["district"],
        property_key=property_key,
        params={"above": 30},
        severity="critical",
        enabled=False,
    )
    db.add(rule)
    db.flush()
    return rule.id


def raise_alarm(
    db: Session, world: World, rule_id: int, place: str, *, severity: str = "critical"
) -> int:
    """Raise an alarm through the alarm service, as the live rule engine does."""
    place_id = world.places[place]
    item = SignalItem(
        rule_id=rule_id,
        rule_name="rule",
        severity=severity,
        source=f"ds:{next(_sources)}",
        place_id=place_id,
        place_path=place_service.get(db, place_id).path,
        device_id=None,
        datastream_id=None,
        title="水位过高",
        kind="raise",
        started_ms=1_760_000_000_000,
        ts_ms=1_760_000_000_000,
        value=42.0,
    )
    return alarm_service.apply(db, [item])[0].id


def api_key(db: Session, world: World, username: str) -> dict[str, str]:
    """A bearer header for an account made in a test (seeded ones: ``tests.conftest.bearer``)."""
    actor = actor_of(db, world, username)
    _key, plain = account_service.create_api_key(
        db, actor, account_id=world.accounts[username], name="tests"
    )
    return {"Authorization": f"Bearer {plain}"}


def c1_objects(db: Session, world: World) -> dict[str, int]:
    """An incident (on the site plan), a responder and an AED of community c1, committed."""
    from linli.incident.schemas import EquipmentCreate, IncidentCreate

    staff = actor_of(db, world, "staff1")
    incident = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"],
            type="fall",
            title="老人摔倒",
            node="building:building-1",
        ),
    )
    responder_id = register(db, world, "medic1", ["first_aid"], "building:building-2")
    aed = service.add_equipment(
        db,
        staff,
        EquipmentCreate(
            place_id=world.places["c1"], kind="aed", name="AED", node="duty_room:duty-room"
        ),
    )
    db.commit()
    return {"incident_id": incident.id, "responder_id": responder_id, "equipment_id": aed.id}
