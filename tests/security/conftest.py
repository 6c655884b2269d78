"""Fixtures shared by the security tests (tests/security/ and tests/core/test_http_security.py):
objects of community c1 of every kind whose id appears in a route's path, and one seeded world
holding all of them with the ids of each path parameter."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.alarm import service as alarm_service
from linli.device import service as device_service
from linli.device.models import Datastream
from linli.device.schemas import DeviceCreate
from linli.place import service as place_service
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate
from tests.conftest import World, bearer


@pytest.fixture
def c1_device(db: Session, world: World) -> tuple[int, int]:
    """A device of community c1 (not public) and its first datastream."""
    device_service.ensure_catalog(db)
    device, _token = device_service.create_device(
        db,
        None,
        DeviceCreate(
            uid="t-c1-noise", name="c1 noise", place_id=world.places["c1-compound"], profile="noise"
        ),
    )
    stream = db.scalars(
        select(Datastream.id).where(Datastream.device_id == device.id).order_by(Datastream.id)
    ).first()
    assert stream is not None
    db.commit()
    return device.id, stream


@pytest.fixture
def c1_rule(db: Session, world: World, c1_device: tuple[int, int]) -> int:
    """A rule of community c1 (made by its administrator)."""
    account = account_service.get_account(db, world.accounts["admin1"])
    actor = account_service.build_actor(db, account, via="cli")
    rule = rule_service.create(
        db, actor, RuleCreate(template="noise_class_1", place_id=world.places["c1"])
    )
    db.commit()
    return rule.id


@pytest.fixture
def c1_alarm(db: Session, world: World, c1_device: tuple[int, int], c1_rule: int) -> int:
    """An open alarm of community c1, raised on its device as the rule engine does."""
    place = world.places["c1-compound"]
    item = alarm_service.SignalItem(
        rule_id=c1_rule,
        rule_name="noise",
        severity="major",
        source=f"ds:{c1_device[1]}",
        place_id=place,
        place_path=place_service.get(db, place).path,
        device_id=c1_device[0],
        datastream_id=c1_device[1],
        title="c1 noise",
        kind="raise",
        started_ms=1_760_000_000_000,
        ts_ms=1_760_000_000_000,
        value=75.0,
    )
    alarm = alarm_service.apply(db, [item])[0]
    db.commit()
    return alarm.id


@pytest.fixture
def c1_poll(db: Session, world: World) -> int:
    """A closed poll of a building of c1 where bob does not live (residents see only theirs)."""
    from linli.place.schemas import PlaceCreate
    from linli.poll import service as poll_service
    from linli.poll.schemas import PollCreate
    from linli.resident import service as resident_service
    from linli.resident.schemas import HouseholdCreate, ResidentCreate

    b2 = place_service.create(
        db,
        None,
        PlaceCreate(
            parent_id=world.places["c1-compound"], kind="building", name="2号楼", code="t-c1-b2"
        ),
    )
    hh = resident_service.create_household(db, None, HouseholdCreate(place_id=b2.id, room="301"))
    resident_service.create_resident(
        db, None, ResidentCreate(household_id=hh.id, name="赵六", relation="owner")
    )
    staff = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff1"]), via="cli"
    )
    poll = poll_service.create(
        db, staff, PollCreate(place_id=b2.id, title="Lift repair?", options=["Yes", "No"])
    )
    poll_service.open_poll(db, staff, poll.id)
    poll_service.close_poll(db, staff, poll.id)
    db.commit()
    return poll.id


@pytest.fixture
def c1_proposal(db: Session, world: World) -> int:
    """A suggestion of community c1, made by its resident alice."""
    from tests.proposal.conftest import make_proposal

    return make_proposal(db, world)


@pytest.fixture
def c1_redemption(db: Session, world: World) -> int:
    """A reward redemption of alice's household in community c1."""
    from tests.points.conftest import make_redemption

    return make_redemption(db, world)


@pytest.fixture
def c1_incident(db: Session, world: World) -> dict[str, int]:
    """An incident, a responder and an AED of community c1."""
    from tests.incident.conftest import c1_objects as incident_objects

    return incident_objects(db, world)


@pytest.fixture
def c1_case(db: Session, world: World) -> tuple[int, int]:
    """A private case of community c1 (a noise complaint by alice) and a photo of it."""
    from linli.case import service as case_service
    from linli.privacy import consent
    from tests.case.conftest import actor, file_case

    case = file_case(db, world, code="noise", text="c1 楼上噪声")
    consent.seed(db, world.residents["alice"], "images")  # photos need alice's consent (P7)
    photo = case_service.add_photo(db, actor(db, world, "alice"), case.id, _tiny_png())
    db.commit()
    return case.id, photo.id


def _tiny_png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(out, format="PNG")
    return out.getvalue()


@pytest.fixture
def c1_recipient(db: Session, world: World) -> int:
    """A recipient of c1's incidents in the sharing registry (kept by c1's administrator)."""
    from tests.sharing.conftest import recipient

    return recipient(db, world).id


@pytest.fixture
def c1_export(db: Session, world: World) -> int:
    """An export of c1's resident sheet asked for by admin1 and approved by a second
    administrator of c1: only admin1 may download it, once."""
    from tests.sharing.conftest import approved_export

    return approved_export(db, world)


@pytest.fixture
def c1_breach(db: Session, world: World) -> int:
    """A personal-data incident of c1 declared by its administrator."""
    from tests.sharing.conftest import declared_breach

    return declared_breach(db, world)


@pytest.fixture
def c1_notice(db: Session, world: World) -> tuple[int, int]:
    """A notice and an emergency check-in of a building of c1 where bob does not live."""
    from linli.notice import service as notice_service
    from linli.notice.schemas import BroadcastCreate, NoticeCreate
    from linli.place.schemas import PlaceCreate
    from linli.resident import service as resident_service
    from linli.resident.schemas import HouseholdCreate, ResidentCreate

    b3 = place_service.create(
        db,
        None,
        PlaceCreate(
            parent_id=world.places["c1-compound"], kind="building", name="3号楼", code="t-c1-b3"
        ),
    )
    hh = resident_service.create_household(db, None, HouseholdCreate(place_id=b3.id, room="501"))
    resident_service.create_resident(
        db, None, ResidentCreate(household_id=hh.id, name="钱七", relation="owner")
    )
    staff = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff1"]), via="cli"
    )
    notice = notice_service.publish_notice(db, staff, NoticeCreate(place_id=b3.id, title="停电"))
    broadcast = notice_service.start_broadcast(
        db, staff, BroadcastCreate(place_id=b3.id, headline="火警")
    )
    db.commit()
    return notice.id, broadcast.id


def _open_poll_and_notices(db: Session, world: World) -> dict[str, int]:
    """An open poll (alice has voted), a notice and an emergency check-in of alice's building."""
    from linli.notice import service as notice_service
    from linli.notice.schemas import BroadcastCreate, NoticeCreate
    from linli.poll import service as poll_service
    from linli.poll.schemas import PollCreate

    staff = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff1"]), via="cli"
    )
    b1 = world.places["c1-b1"]
    poll = poll_service.create(
        db, staff, PollCreate(place_id=b1, title="Paint the stairs?", options=["Yes", "No"])
    )
    poll_service.open_poll(db, staff, poll.id)
    db.commit()
    alice = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["alice"]), via="cli"
    )
    option = poll_service.get(db, staff, poll.id).options[0].id
    receipt = poll_service.vote(db, alice, poll.id, option)
    notice = notice_service.publish_notice(db, staff, NoticeCreate(place_id=b1, title="停水"))
    broadcast = notice_service.start_broadcast(
        db, staff, BroadcastCreate(place_id=b1, headline="燃气泄漏")
    )
    db.commit()
    return {
        "poll_id": poll.id,
        "receipt": receipt.receipt,  # type: ignore[dict-item]  # the one text id
        "notice_id": notice.id,
        "emergency_id": broadcast.id,
    }


@pytest.fixture
def seeded(
    db: Session,
    world: World,
    c1_device: tuple[int, int],
    c1_rule: int,
    c1_alarm: int,
    c1_proposal: int,
    c1_case: tuple[int, int],
    c1_redemption: int,
    c1_incident: dict[str, int],
    c1_recipient: int,
) -> dict[str, object]:
    """One object of community c1 for every path parameter of every route, alice's where an
    object has an owner; the value to put in the path for each parameter name."""
    from linli.account.models import ApiKey, RoleGrant
    from linli.case.models import Case
    from linli.notification.models import Notification
    from linli.points.models import Redemption
    from tests.notification.conftest import add_endpoint
    from tests.notification.conftest import alarm as notify

    ids: dict[str, object] = dict(_open_poll_and_notices(db, world))
    notify(db, world, "authz-matrix", to=("alice",))
    endpoint = add_endpoint(db, world, "c1", "http://127.0.0.1:9/hook")
    db.commit()
    alice = world.accounts["alice"]
    note = db.scalars(
        select(Notification.id).where(Notification.account_id == alice).order_by(Notification.id)
    ).first()
    key = db.scalars(select(ApiKey.id).where(ApiKey.account_id == alice)).first()
    grant = db.scalars(select(RoleGrant.id).where(RoleGrant.account_id == alice)).first()
    reward = db.scalars(select(Redemption.reward_id).where(Redemption.id == c1_redemption)).one()
    case = db.get(Case, c1_case[0])
    assert case is not None
    ids |= {
        "place_id": world.places["c1-b1"],
        "community_id": world.places["c1"],
        "resident_id": world.residents["alice"],
        "household_id": world.households["h1"],
        "account_id": alice,
        "key_id": key,
        "grant_id": grant,
        "device_id": c1_device[0],
        "datastream_id": c1_device[1],
        "rule_id": c1_rule,
        "alarm_id": c1_alarm,
        "proposal_id": c1_proposal,
        "case_id": c1_case[0],
        "photo_id": c1_case[1],
        "redemption_id": c1_redemption,
        "reward_id": reward,
        "recipient_id": c1_recipient,
        "notification_id": note,
        "endpoint_id": endpoint,
        **c1_incident,
    }
    assert all(v is not None for v in ids.values()), ids
    return ids


@pytest.fixture
def ids(
    client: TestClient,
    db: Session,
    world: World,
    seeded: dict[str, object],
    c1_export: int,
    c1_breach: int,
) -> dict[str, object]:
    """The seeded objects, and alice's privacy requests: a download link for a processor and
    a correction waiting for staff."""
    alice = bearer(world, "alice")
    link = client.post("/api/v1/me/export-links", json={"processor": "某某体检中心"}, headers=alice)
    assert link.status_code == 201, link.text
    correction = client.post(
        "/api/v1/me/corrections",
        json={"field": "name", "new_value": "王晓丽", "reason": "登记时写错了"},
        headers=alice,
    )
    assert correction.status_code == 201, correction.text
    from linli.waste import service as waste_service
    from linli.waste.schemas import ContainerCreate

    made = waste_service.create_container(
        db,
        None,
        ContainerCreate(
            place_id=world.places["c1-b1"],
            code="authz-bin",
            name="1号楼厨余桶",
            latitude=39.9,
            longitude=116.4,
            category="厨余垃圾",
            capacity_l=240,
            max_load_kg=100,
        ),
    )
    db.commit()
    return seeded | {
        "bin_id": made.id,
        "export_id": c1_export,
        "breach_id": c1_breach,
        "link_id": link.json()["id"],
        "request_id": correction.json()["id"],
    }
