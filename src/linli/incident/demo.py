"""The demo street's emergency set-up and its simulated responders.

:func:`seed` (idempotent, run at every demo start) puts the demo communities' compounds and
buildings on the site plan, registers responders (the ``responder.c1`` login and simulated
colleagues with their own accounts), the equipment, and a few residents who need help to leave
their home in an emergency. :func:`step` plays the simulated responders: they accept an offer
after a short while, walk their route to the incident one junction per step, and report on scene.
Nothing here runs outside the demo.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.core.actor import Actor, Grant
from linli.core.time import utc_now
from linli.incident import paths, repository
from linli.incident.models import (
    DispatchOffer,
    Equipment,
    EvacuationNeed,
    Incident,
    Responder,
    SitePoint,
)
from linli.incident.service import _demo_site, _event, _queue
from linli.place import service as place_service
from linli.resident import service as resident_service

log = logging.getLogger("linli.incident")

# Where each demo place stands on the site plan (paths.demo_site_graph()).
SITE_POINTS: dict[str, str] = {
    "demo-c1": "duty_room:duty-room",
    "demo-c1-xf": "j-1-2",
    "demo-c1-yg": "j-2-2",
    "demo-c1-xf-b1": "building:building-1",
    "demo-c1-xf-b2": "building:building-2",
    "demo-c1-xf-b3": "building:building-3",
    "demo-c1-xf-b4": "building:building-4",
    "demo-c1-yg-b5": "building:building-5",
    "demo-c1-yg-b6": "building:building-6",
    "demo-c2": "duty_room:duty-room",
    "demo-c2-hp": "j-2-3",
    "demo-c2-bj": "j-3-1",
    "demo-c2-hp-b1": "building:building-7",
    "demo-c2-hp-b2": "building:building-8",
    "demo-c2-hp-b3": "building:building-9",
    "demo-c2-bj-b4": "building:building-10",
}


@dataclass(frozen=True)
class DemoResponder:
    """A responder of the demo: ``simulated`` ones answer and move by themselves."""

    username: str
    display_name: str
    community: str
    kind: str
    skills: tuple[str, ...]
    node: str
    shift: tuple[str, str] | None = None
    simulated: bool = True


RESPONDERS: tuple[DemoResponder, ...] = (
    DemoResponder(
        "responder.c1",
        "赵勇",
        "demo-c1",
        "staff",
        ("plumbing", "first_aid"),
        "duty_room:duty-room",
        simulated=False,
    ),
    DemoResponder(
        "plumber.c1.qian", "钱师傅", "demo-c1", "staff", ("plumbing",), "gate:south-gate"
    ),
    DemoResponder(
        "plumber.c1.sun", "孙师傅", "demo-c1", "staff", ("plumbing", "electrical"), "j-3-4"
    ),
    DemoResponder(
        "guard.c1.zhou",
        "周保安",
        "demo-c1",
        "guard",
        ("security", "first_aid", "fire_warden"),
        "gate:east-gate",
    ),
    DemoResponder(
        "guard.c1.wu",
        "吴保安",
        "demo-c1",
        "guard",
        ("security", "fire_warden"),
        "gate:south-gate",
        shift=("20:00", "08:00"),
    ),
    DemoResponder(
        "volunteer.c1.zheng",
        "郑阿姨",
        "demo-c1",
        "volunteer",
        ("first_aid",),
        "building:building-5",
    ),
    DemoResponder(
        "volunteer.c1.feng", "冯医生", "demo-c1", "volunteer", ("first_aid",), "building:building-9"
    ),
    DemoResponder(
        "electrician.c1.chen",
        "陈电工",
        "demo-c1",
        "staff",
        ("electrical", "lift", "gas"),
        "duty_room:duty-room",
    ),
    DemoResponder("plumber.c2.he", "何师傅", "demo-c2", "staff", ("plumbing",), "gate:east-gate"),
    DemoResponder(
        "guard.c2.lv", "吕保安", "demo-c2", "guard", ("security", "first_aid"), "gate:south-gate"
    ),
)

# (community code, kind, name, node)
EQUIPMENT: tuple[tuple[str, str, str, str], ...] = (
    ("demo-c1", "aed", "AED 值班室", "duty_room:duty-room"),
    ("demo-c1", "aed", "AED 东门", "gate:east-gate"),
    ("demo-c1", "pump", "移动排水泵", "j-1-0"),
    ("demo-c1", "sandbags", "沙袋 40 袋", "gate:south-gate"),
    ("demo-c1", "extinguisher", "灭火器 3 号楼", "building:building-3"),
    ("demo-c2", "aed", "AED 9 号点位", "building:building-9"),
    ("demo-c2", "pump", "移动排水泵", "gate:east-gate"),
)

# How long a simulated responder takes to answer an offer.
ANSWER_AFTER = dt.timedelta(seconds=20)


def _places(db: Session) -> dict[str, tuple[int, str]]:
    found: dict[str, tuple[int, str]] = {}
    for code in {*SITE_POINTS, *(r.community for r in RESPONDERS), *(e[0] for e in EQUIPMENT)}:
        place = place_service.by_code(db, code)
        if place is not None:
            found[code] = (place.id, place.path)
    return found


def seed(db: Session) -> int:
    """Add what is missing of the demo's site points, responders, equipment and evacuation
    needs; returns how many rows were made (the caller commits)."""
    places = _places(db)
    if "demo-c1" not in places:
        return 0
    now = utc_now()
    made = 0
    known = set(db.scalars(select(SitePoint.place_id)))
    for code, node in SITE_POINTS.items():
        if code in places and places[code][0] not in known:
            pid, path = places[code]
            db.add(SitePoint(place_id=pid, place_path=path, node=node, updated_at=now))
            made += 1
    for plan in RESPONDERS:
        if plan.community not in places:
            continue
        pid, path = places[plan.community]
        account = account_service.by_username(db, plan.username)
        if account is None:
            # A simulated colleague: an account nobody knows the password of.
            account = account_service.create_account(
                db,
                None,
                AccountCreate(
                    username=plan.username,
                    display_name=plan.display_name,
                    password=secrets.token_urlsafe(24),
                ),
            )
            account_service.grant_role(
                db, None, account_id=account.id, role="responder", place_id=pid
            )
        if repository.responder_of(db, account.id, pid) is None:
            db.add(
                Responder(
                    account_id=account.id,
                    place_id=pid,
                    place_path=path,
                    display_name=plan.display_name,
                    kind=plan.kind,
                    skills=sorted(plan.skills),
                    status="available",
                    node=plan.node,
                    on_shift=True,
                    shift_start=plan.shift[0] if plan.shift else None,
                    shift_end=plan.shift[1] if plan.shift else None,
                    updated_at=now,
                )
            )
            made += 1
    if not db.scalars(select(Equipment.id).limit(1)).first():
        for code, kind, name, node in EQUIPMENT:
            if code in places:
                pid, path = places[code]
                db.add(
                    Equipment(
                        place_id=pid,
                        place_path=path,
                        kind=kind,
                        name=name,
                        node=node,
                        condition="ready",
                        updated_at=now,
                    )
                )
                made += 1
    made += _seed_needs(db, places, now)
    db.flush()
    return made


def _seed_needs(db: Session, places: dict[str, tuple[int, str]], now: dt.datetime) -> int:
    """Two residents of each building of compound 1 flagged as needing help to leave."""
    if db.scalars(select(EvacuationNeed.id).limit(1)).first():
        return 0
    made = 0
    kinds = (["disability", "mobility"], ["sight"])
    for code in ("demo-c1-xf-b1", "demo-c1-xf-b2", "demo-c1-xf-b3", "demo-c1-xf-b4"):
        if code not in places:
            continue
        residents = resident_service.living_under(db, places[code][1])
        for needs, (rid, pid, _name, _room) in zip(kinds, residents[3:5], strict=False):
            place = place_service.get(db, pid)
            db.add(
                EvacuationNeed(
                    resident_id=rid,
                    place_id=pid,
                    place_path=place.path,
                    needs=needs,
                    note="",
                    updated_at=now,
                )
            )
            made += 1
    return made


# --- the simulated responders -----------------------------------------------------------------


def _simulated_accounts(db: Session) -> dict[int, str]:
    names = {r.username for r in RESPONDERS if r.simulated}
    found: dict[int, str] = {}
    for username in names:
        account = account_service.by_username(db, username)
        if account is not None:
            found[account.id] = username
    return found


def step(db: Session, now: dt.datetime | None = None) -> int:
    """One move of the simulated responders; returns how many things they did.

    A pending offer older than :data:`ANSWER_AFTER` is accepted; a responder who accepted walks
    the fastest route towards the incident, reaching the next junction once the path's travel
    time has gone by (one junction per step at most), and at the incident's point reports on
    scene (the incident moves on scene with the first arrival).
    """
    from linli.incident import service

    now = now or utc_now()
    accounts = _simulated_accounts(db)
    if not accounts:
        return 0
    site = _demo_site()
    done = 0
    query = select(DispatchOffer).where(DispatchOffer.status.in_(("offered", "accepted")))
    for offer in db.scalars(query.order_by(DispatchOffer.id)).all():
        responder = db.get(Responder, offer.responder_id)
        incident = db.get(Incident, offer.incident_id)
        if responder is None or incident is None or responder.account_id not in accounts:
            continue
        actor = Actor(
            account_id=responder.account_id,
            username=accounts[responder.account_id],
            via="system",
            grants=(Grant("responder", responder.place_id, responder.place_path),),
        )
        if offer.status == "offered":
            if now - offer.offered_at >= ANSWER_AFTER:
                service.answer(db, actor, offer.id, accept=True, now=now)
                done += 1
            continue
        if responder.status != "dispatched" or incident.node is None or responder.node is None:
            continue
        route = paths.route(site.graph, responder.node, incident.node)
        if len(route) <= 1:
            continue
        # On foot at the path's speed: the next junction once its edge's time has gone by.
        edge_s = float(site.graph.edges[route[0], route[1]][paths.WEIGHT])
        if (now - responder.updated_at).total_seconds() < edge_s:
            continue
        responder.node = route[1]
        responder.updated_at = now
        arrived = route[1] == incident.node
        if arrived:
            responder.status = "on_scene"
            _event(
                db,
                incident,
                "arrived",
                actor=actor,
                text=responder.display_name,
                data={"responder_id": responder.id},
                at=now,
            )
            if incident.status == "dispatched":
                incident.status = "on_scene"
                _event(
                    db,
                    incident,
                    "status",
                    actor=actor,
                    data={"from": "dispatched", "to": "on_scene"},
                    at=now,
                )
        _queue(
            db,
            {
                "responder_id": responder.id,
                "place_path": responder.place_path,
                "kind": "responder",
                "status": responder.status,
            },
        )
        done += 1
    db.flush()
    return done
