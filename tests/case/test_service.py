"""Case use cases against a real database: lifecycle, privacy, duplicates, escalation."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import time_machine
from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.case import service
from linli.case.models import Case, CaseEvent
from linli.case.schemas import CaseCreate, CaseFilter, SimilarQuery
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.pagination import PageParams
from linli.notification.models import Notification
from tests.case.conftest import actor, category_id, file_case
from tests.conftest import World

# Monday 16 November 2026, 10:00 in Shanghai.
MONDAY = dt.datetime(2026, 11, 16, 2, 0, tzinfo=dt.UTC)


def _notified(db: Session, world: World, username: str, case_id: int) -> list[Notification]:
    rows = db.scalars(
        select(Notification).where(
            Notification.account_id == world.accounts[username],
            Notification.channel == "inapp",
        )
    )
    return [n for n in rows if n.data.get("case_id") == case_id]


def test_report_routes_to_the_team_and_sets_the_deadline(db: Session, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = file_case(db, world)  # light: property manager, 2 working days
    assert case.status == "submitted"
    assert case.team == "property_manager"
    assert case.reporter_resident_id == world.residents["alice"]
    # 2 working days = 18 working hours: Wednesday 10:00 in Shanghai.
    assert case.due_at == dt.datetime(2026, 11, 18, 2, 0, tzinfo=dt.UTC)
    assert _notified(db, world, "pm1", case.id)
    assert not _notified(db, world, "staff2", case.id)
    # A noise complaint goes to community staff and is never public.
    noise = file_case(db, world, code="noise", text="楼上深夜噪声", public=True)
    assert noise.is_public is False
    assert _notified(db, world, "staff1", noise.id)


def test_bad_reports_store_nothing(db: Session, world: World) -> None:
    alice = actor(db, world, "alice")
    before = db.query(Case).count()
    for data in (
        {"category_id": 999_999, "place_id": world.places["c1-b1"], "description": "坏了"},
        {
            "category_id": category_id(db, "light"),
            "place_id": world.places["c2-b1"],
            "description": "别的社区",
        },
    ):
        with pytest.raises(ValidationFailed):
            service.report(db, alice, CaseCreate.model_validate(data))
        db.rollback()
    assert db.query(Case).count() == before


def test_full_lifecycle_with_public_history_and_rating(db: Session, world: World) -> None:
    case = file_case(db, world)
    staff1, alice, bob = (actor(db, world, u) for u in ("staff1", "alice", "bob"))
    with pytest.raises(PermissionDenied):
        service.triage(db, alice, case.id)
    service.triage(db, staff1, case.id)
    service.note(db, staff1, case.id, "内部：需要电工")
    service.assign(db, staff1, case.id, world.accounts["pm1"])
    with pytest.raises(ValidationFailed):
        service.assign(db, staff1, case.id, world.accounts["staff2"])
    service.start(db, actor(db, world, "pm1"), case.id)
    with pytest.raises(Conflict):  # not resolved yet
        service.rate(db, alice, case.id, 5)
    service.resolve(db, staff1, case.id, "已更换灯泡")
    db.commit()
    assert _notified(db, world, "alice", case.id)
    with pytest.raises(PermissionDenied):
        service.rate(db, bob, case.id, 1)
    service.rate(db, alice, case.id, 5, "很快")
    with pytest.raises(Conflict):
        service.rate(db, alice, case.id, 4)
    db.commit()
    # Bob sees the public history: the reply, no internal note, nobody's identity.
    public = service.get(db, bob, case.id)
    kinds = [e.kind for e in public.timeline]
    assert kinds == ["submitted", "triaged", "assigned", "started", "resolved", "rated"]
    assert "已更换灯泡" in [e.text for e in public.timeline]
    dumped = public.model_dump_json()
    assert "内部" not in dumped
    assert "reporter" not in dumped
    assert public.assignee_account_id is None
    assert public.mine is False
    assert "note" in [e.kind for e in service.get(db, staff1, case.id).timeline]
    assert service.get(db, alice, case.id).mine is True
    # Closed, then reopened by the reporter within 14 days; later than that, refused.
    service.close(db, alice, case.id)
    service.reopen(db, alice, case.id, "又坏了")
    assert case.status == "assigned"
    assert case.rating is None
    service.resolve(db, staff1, case.id, "再次修好")
    db.commit()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=15)
    with time_machine.travel(later), pytest.raises(Conflict):
        service.reopen(db, alice, case.id)


def test_referral_and_duplicate_are_honest(db: Session, world: World) -> None:
    staff1 = actor(db, world, "staff1")
    first = file_case(db, world, code="outage", text="停水了")
    second = file_case(db, world, who="bob", code="outage", text="我家也停水")
    service.refer(db, staff1, first.id, "自来水公司", "已转自来水公司抢修")
    service.mark_duplicate(db, staff1, second.id, first.id)
    db.commit()
    assert first.status == "referred"
    assert first.referred_to == "自来水公司"
    assert first.resolved_at is None
    assert second.status == "duplicate"
    assert second.duplicate_of_id == first.id
    third = file_case(db, world, code="outage", text="停电")
    with pytest.raises(ValidationFailed):
        service.mark_duplicate(db, staff1, third.id, third.id)


def test_visibility_private_cases_and_other_communities(db: Session, world: World) -> None:
    private = file_case(db, world, code="noise", text="楼上噪声")
    public = file_case(db, world)
    for outsider in ("bob", "carol", "staff2", "pm1"):
        with pytest.raises(NotFound):
            service.get(db, actor(db, world, outsider), private.id)
    assert service.get(db, actor(db, world, "staff1"), private.id).can_handle
    assert service.get(db, actor(db, world, "carol"), public.id).id == public.id
    with pytest.raises(PermissionDenied):
        service.queue(db, actor(db, world, "alice"), PageParams())
    mine = service.list_cases(db, actor(db, world, "alice"), CaseFilter(scope="mine"), PageParams())
    assert {c.id for c in mine.items} >= {private.id, public.id}
    bobs = service.list_cases(db, actor(db, world, "bob"), CaseFilter(), PageParams())
    assert private.id not in {c.id for c in bobs.items}


def test_follow_comment_and_notes(db: Session, world: World) -> None:
    case = file_case(db, world)
    bob = actor(db, world, "bob")
    assert service.follow(db, bob, case.id) is True
    assert service.follow(db, bob, case.id) is False
    service.comment(db, bob, case.id, "我也看到了")
    with pytest.raises(PermissionDenied):
        service.note(db, bob, case.id, "x")
    service.resolve(db, actor(db, world, "staff1"), case.id, "修好了")
    db.commit()
    assert _notified(db, world, "bob", case.id)
    assert service.unfollow(db, bob, case.id) is True
    assert service.get(db, bob, case.id).following is False


def test_duplicate_suggestions_same_building_or_near(db: Session, world: World) -> None:
    old = file_case(db, world, text="1号楼3层楼道灯不亮", lat=31.23, lon=121.47)
    other = file_case(db, world, code="rubbish", text="垃圾桶满了")
    far = file_case(db, world, code="light", place="c1", text="广场的灯坏了", lat=31.24, lon=121.47)
    q = SimilarQuery(
        category_id=category_id(db, "light"),
        place_id=world.places["c1-b1u1"],
        description="楼道灯不亮了",
    )
    found = service.similar(db, actor(db, world, "bob"), q)
    ids = [s.id for s in found]
    assert old.id in ids
    assert far.id not in ids
    assert other.id not in ids
    # Within 50 m by coordinates, even from the community square.
    near = SimilarQuery(
        category_id=category_id(db, "light"),
        place_id=world.places["c1"],
        description="路灯",
        lat=31.2302,
        lon=121.4701,
    )
    assert old.id in [s.id for s in service.similar(db, actor(db, world, "bob"), near)]
    assert service.text_similarity("楼道灯不亮", "楼道灯坏了") > 0.2


def test_escalation_of_overdue_cases_with_controlled_time(db: Session, world: World) -> None:
    with time_machine.travel(MONDAY, tick=False):
        case = file_case(db, world, code="water_leak", text="水管漏水")  # 4 working hours
    assert case.due_at == dt.datetime(2026, 11, 16, 6, 0, tzinfo=dt.UTC)
    with time_machine.travel(MONDAY + dt.timedelta(hours=3), tick=False):
        assert service.escalate_due(db) == 0
    with time_machine.travel(MONDAY + dt.timedelta(hours=5), tick=False):
        # The staff queue shows it first, overdue.
        fresh = file_case(db, world, code="light", text="灯坏了")
        page = service.queue(db, actor(db, world, "staff1"), PageParams())
        assert [c.id for c in page.items][:2] == [case.id, fresh.id]
        assert page.items[0].overdue is True
        assert service.escalate_due(db) == 1
        db.commit()
        assert service.escalate_due(db) == 0
    assert case.escalation_level == 1
    assert _notified(db, world, "admin1", case.id)
    assert not _notified(db, world, "district", case.id)
    # One working day later it goes to the district.
    with time_machine.travel(MONDAY + dt.timedelta(days=1, hours=5), tick=False):
        assert service.escalate_due(db) == 1
        db.commit()
    assert _notified(db, world, "district", case.id)
    events = db.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == case.id)).all()
    assert events.count("escalated") == 2


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "CameraMaker"
    exif[0x8825] = {2: (31.0, 14.0, 0.0), 4: (121.0, 28.0, 0.0)}
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    return out.getvalue()


@pytest.mark.usefixtures("alice_consents_to_images")
def test_photos_are_checked_and_stripped(db: Session, world: World) -> None:
    case = file_case(db, world)
    alice, bob = actor(db, world, "alice"), actor(db, world, "bob")
    raw = _jpeg_with_gps()
    assert b"CameraMaker" in raw
    photo = service.add_photo(db, alice, case.id, raw)
    db.commit()
    assert photo.content_type == "image/jpeg"
    assert b"CameraMaker" not in photo.data
    assert b"Exif" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as image:
        assert not image.getexif()
    with pytest.raises(PermissionDenied):
        service.add_photo(db, bob, case.id, raw)
    for bad in (b"<svg onload=alert(1)>", b"\xff\xd8\xff" + b"x" * 100):
        with pytest.raises(ValidationFailed):
            service.add_photo(db, alice, case.id, bad)
    private = file_case(db, world, code="noise", text="噪声")
    shot = service.add_photo(db, alice, private.id, raw)
    db.commit()
    with pytest.raises(NotFound):
        service.get_photo(db, bob, private.id, shot.id)
    assert service.get_photo(db, actor(db, world, "staff1"), private.id, shot.id).id == shot.id


def test_assisted_report_is_filed_for_the_resident(db: Session, world: World) -> None:
    staff1 = actor(db, world, "staff1")
    from dataclasses import replace

    helping = replace(staff1, on_behalf_of_resident_id=world.residents["bob"])
    case = service.report(
        db,
        helping,
        CaseCreate(
            category_id=category_id(db, "road"),
            place_id=world.places["c1-compound"],
            description="门口路面塌陷",
        ),
    )
    db.commit()
    assert case.reporter_resident_id == world.residents["bob"]
    assert case.filed_by_account_id == world.accounts["staff1"]
    assert case.reporter_account_id is None
    assert service.get(db, actor(db, world, "bob"), case.id).mine is True
