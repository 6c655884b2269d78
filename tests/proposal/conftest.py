"""Proposal tests: actors of the test world, extra residents, and a suggestion made by alice."""

from __future__ import annotations

import itertools

from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.core.actor import Actor, Grant
from linli.place import service as place_service
from linli.proposal import service
from linli.proposal.schemas import ProposalCreate, SettingUpdate
from linli.resident import service as resident_service
from linli.resident.schemas import ResidentCreate
from tests.conftest import World

_names = itertools.count(1)


def actor_of(db: Session, world: World, username: str) -> Actor:
    return account_service.build_actor(
        db, account_service.get_account(db, world.accounts[username]), via="cli"
    )


def neighbours(db: Session, world: World, count: int, *, community: str = "c1") -> list[Actor]:
    """Residents of a household of ``community`` acting for themselves (no accounts needed)."""
    household = world.households["h2" if community == "c1" else "h3"]
    place = place_service.get(db, world.places[community])
    made = []
    for _i in range(count):
        r = resident_service.create_resident(
            db, None, ResidentCreate(household_id=household, name=f"邻居{next(_names)}")
        )
        made.append(
            Actor(
                account_id=None,
                username=f"r{r.id}",
                resident_id=r.id,
                grants=(Grant("resident", place.id, place.path),),
            )
        )
    db.commit()
    return made


def make_proposal(
    db: Session,
    world: World,
    *,
    username: str = "alice",
    place: str = "c1",
    title: str = "在小区门口加装休息长椅",
    threshold: int | None = None,
) -> int:
    """A suggestion by ``username``; ``threshold`` sets the place's rule first (as admin1)."""
    if threshold is not None:
        service.set_rules(
            db,
            actor_of(db, world, "admin1"),
            SettingUpdate(place_id=world.places[place], threshold=threshold, answer_days=3),
        )
    p = service.propose(
        db,
        actor_of(db, world, username),
        ProposalCreate(
            place_id=world.places[place],
            title=title,
            body="老人出门散步没有地方坐，建议在门口加两张长椅。",
        ),
    )
    db.commit()
    return p.id
