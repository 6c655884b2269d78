"""Shared set-up for poll tests: actors, areas and birth dates, polls at c1."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import update
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor
from linli.poll import repository
from linli.poll import service as poll_service
from linli.poll.models import Poll
from linli.poll.schemas import PollCreate
from linli.resident import service as resident_service
from linli.resident.models import Household
from linli.resident.schemas import ResidentCreate
from tests.conftest import World


def actor(db: Session, world: World, username: str) -> Actor:
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="cli")


def set_area(db: Session, household_id: int, area: str | None) -> None:
    db.execute(
        update(Household)
        .where(Household.id == household_id)
        .values(area_m2=Decimal(area) if area else None)
    )


def add_people(db: Session, world: World) -> dict[str, int]:
    """A child and an adult tenant in c1 (h1 and h2), with dates of birth."""
    people = {
        "kid": ("h1", "王小宝", "family", dt.date(2016, 5, 1)),
        "ted": ("h2", "李租客", "tenant", dt.date(1985, 3, 2)),
    }
    ids = {}
    for key, (hh, name, relation, born) in people.items():
        r = resident_service.create_resident(
            db,
            None,
            ResidentCreate(
                household_id=world.households[hh],
                name=name,
                relation=relation,  # type: ignore[arg-type]  # literal checked by pydantic
                date_of_birth=born,
            ),
        )
        ids[key] = r.id
    return ids


def make_poll(
    db: Session,
    world: World,
    *,
    electorate: str = "adult_residents",
    matter: str = "ordinary",
    secret: bool = True,
    public_results: bool = False,
    place: str = "c1",
    open_it: bool = True,
) -> Poll:
    staff = actor(db, world, "staff1" if place.startswith("c1") else "staff2")
    poll = poll_service.create(
        db,
        staff,
        PollCreate(
            place_id=world.places[place],
            title="Repaint the gates?",
            options=["Yes", "No"],
            electorate=electorate,  # type: ignore[arg-type]  # literal checked by pydantic
            matter=matter,  # type: ignore[arg-type]  # literal checked by pydantic
            secret=secret,
            public_results=public_results,
        ),
    )
    if open_it:
        poll_service.open_poll(db, staff, poll.id)
    db.commit()
    return poll


def option_ids(db: Session, poll_id: int) -> list[int]:
    return [o.id for o in repository.options(db, poll_id)]
