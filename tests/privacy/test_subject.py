"""Data-subject rights (checklist R1-R5, R8): the link map covers every table about a person;
a resident seeded with data in every module exports it all and, after deletion, no search and
no column of any table finds their name, phone or ID number."""

from __future__ import annotations

import datetime as dt
import io
import json
import zipfile
from typing import Any

import time_machine
from fastapi.testclient import TestClient
from sqlalchemy import JSON, LargeBinary, String, Text, insert, select
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.audit import service as audit_service
from linli.core.crypto import field_cipher
from linli.core.db import Base
from linli.core.pagination import PageParams
from linli.place import service as place_service
from linli.privacy import inventory
from linli.privacy.links import BY_TABLE, UNLINKED
from linli.privacy.subject import due_after
from linli.resident import repository as resident_repository
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate, ResidentCreate
from tests.conftest import PASSWORD, World, _valid_id, bearer, csrf_of, login

NAME = "欧阳测试"
PHONE = "13700001111"
ID_BASE = "11010119850101123"
PERSON_SUBJECTS = {
    inventory.Subject.RESIDENT,
    inventory.Subject.HOUSEHOLD,
    inventory.Subject.ACCOUNT,
}
MODULES_WITH_RESIDENT_DATA = {
    "resident",
    "account",
    "audit",
    "case",
    "proposal",
    "poll",
    "notice",
    "waste",
    "points",
    "notification",
    "incident",
    "sharing",
    "privacy",
}


def test_every_table_about_a_person_is_linked() -> None:
    """A table about a resident, household or account with personal columns is in the link map
    (or explicitly unlinkable): export and erasure cannot miss it."""
    import tests.privacy.test_inventory  # noqa: F401  # imports every model like migrations do

    missing = []
    for name in Base.metadata.tables:
        try:
            decl = inventory.table_declaration(name)
        except KeyError:
            continue
        personal = any(
            c.personal for c in (inventory.declaration(name, n) for n in decl.column_names())
        )
        linked = name in BY_TABLE or name in UNLINKED
        if decl.subject in PERSON_SUBJECTS and personal and not linked:
            missing.append(name)
    assert not missing, f"declare these in src/linli/privacy/links.py: {missing}"
    for link in BY_TABLE.values():
        table = Base.metadata.tables.get(link.table)
        if table is None:
            continue
        for column, _key in link.owner + link.actor:
            assert column in table.c, f"{link.table}.{column}"


def _ins(db: Session, table: str, **values: Any) -> int:
    t = Base.metadata.tables[table]
    result = db.execute(insert(t).values(**values))
    pk = result.inserted_primary_key
    return int(pk[0]) if pk and pk[0] is not None else 0


def _seed(db: Session, world: World) -> tuple[int, int]:
    """A resident alone in a new household with data in every module: (resident, account)."""
    unit = world.places["c1-b1u1"]
    c1 = world.places["c1"]
    path = place_service.get(db, unit).path
    c1_path = place_service.get(db, c1).path
    hh = resident_service.create_household(
        db, None, HouseholdCreate(place_id=unit, room="909", floor=9)
    )
    r = resident_service.create_resident(
        db,
        None,
        ResidentCreate(
            household_id=hh.id,
            name=NAME,
            phone=PHONE,
            id_number=_valid_id(ID_BASE),
            date_of_birth=dt.date(1985, 1, 1),
            relation="owner",
        ),
    )
    acc = account_service.create_account(
        db,
        None,
        AccountCreate(username="oyang", display_name="欧阳", password=PASSWORD, resident_id=r.id),
    )
    account_service.grant_role(db, None, account_id=acc.id, role="resident", place_id=c1)
    rid, aid, hid = r.id, acc.id, hh.id
    now = dt.datetime.now(dt.UTC)
    # notification
    _ins(
        db,
        "notifications",
        idempotency_key="k-priv-1",
        channel="in_app",
        account_id=aid,
        subject=f"给{NAME}的消息",
        body=f"电话 {PHONE}",
    )
    _ins(db, "notification_preferences", account_id=aid, email_enabled=False)
    # case + photo
    cat = _ins(db, "case_categories", code="privtest", team="property", name_en="x", name_zh="x")
    case = _ins(
        db,
        "cases",
        ref="C-PRIV-1",
        category_id=cat,
        team="property",
        place_id=unit,
        place_path=path,
        title="楼道灯坏了",
        description=f"联系{NAME} {PHONE}",
        reporter_resident_id=rid,
        reporter_account_id=aid,
        rating_comment="很好",
    )
    _ins(db, "case_events", case_id=case, kind="comment", account_id=aid, text=f"我是{NAME}")
    _ins(
        db,
        "case_photos",
        case_id=case,
        account_id=aid,
        content_type="image/png",
        size=3,
        data=b"png",
    )
    _ins(db, "case_followers", case_id=case, account_id=aid)
    # proposal
    prop = _ins(
        db,
        "proposals",
        place_id=c1,
        place_path=c1_path,
        title="加装电梯",
        body=f"{NAME}提议",
        author_resident_id=rid,
        author_account_id=aid,
    )
    _ins(db, "proposal_supports", proposal_id=prop, resident_id=rid, account_id=aid)
    # poll
    poll = _ins(db, "polls", place_id=c1, place_path=c1_path, title="投票", electorate="residents")
    opt = _ins(db, "poll_options", poll_id=poll, label="同意")
    _ins(db, "poll_voters", poll_id=poll, voter_key=f"resident:{rid}", voted_at=now, option_id=opt)
    # notice
    notice = _ins(db, "notices", place_id=c1, place_path=c1_path, title="停水通知")
    _ins(db, "notice_reads", notice_id=notice, account_id=aid, read_at=now)
    bc = _ins(
        db,
        "emergency_broadcasts",
        identifier="eb-priv",
        place_id=c1,
        place_path=c1_path,
        headline="台风",
    )
    resp = _ins(
        db,
        "emergency_responses",
        broadcast_id=bc,
        resident_id=rid,
        place_id=unit,
        status="need_help",
        note=f"{NAME}腿脚不便",
    )
    # incident
    inc = _ins(
        db,
        "incidents",
        place_id=unit,
        place_path=path,
        type="flood",
        title="积水",
        description=f"{NAME}家门口",
    )
    _ins(db, "incident_help_answers", incident_id=inc, response_id=resp)
    _ins(
        db,
        "incident_events",
        incident_id=inc,
        kind="note",
        text=f"联系 {PHONE}",
        data={"who": NAME},
    )
    _ins(
        db,
        "evacuation_needs",
        resident_id=rid,
        place_id=unit,
        place_path=path,
        needs=["mobility"],
        note="需要轮椅",
    )
    responder = _ins(
        db, "responders", account_id=aid, place_id=c1, place_path=c1_path, display_name=NAME
    )
    _ins(db, "dispatch_offers", incident_id=inc, responder_id=responder, skill="first_aid")
    # waste
    container = _ins(
        db,
        "waste_containers",
        community_id=c1,
        place_id=unit,
        place_path=path,
        code="B-priv",
        name="桶",
        latitude=0.0,
        longitude=0.0,
        gb_class="other",
        category_code="other",
        capacity_l=240,
        max_load_kg=100,
    )
    card = _ins(
        db,
        "waste_cards",
        community_id=c1,
        household_id=hid,
        household_path=path,
        card_digest="d" * 32,
        hint="1234",
    )
    disp = _ins(
        db,
        "waste_disposals",
        container_id=container,
        event_id="ev-priv",
        community_id=c1,
        card_id=card,
        household_id=hid,
        household_path=path,
        gb_class="other",
        category_code="other",
        weight_kg=1.0,
        occurred_at=now,
    )
    _ins(db, "waste_grades", disposal_id=disp, result="correct", source="staff")
    # points
    pacc = _ins(
        db,
        "points_accounts",
        key=f"household:{hid}",
        community_id=c1,
        kind="household",
        household_id=hid,
    )
    txn = _ins(
        db,
        "points_transactions",
        community_id=c1,
        household_id=hid,
        kind="earn",
        source_kind="manual",
        source_id="1",
        memo="垃圾分类奖励",
        occurred_at=now,
    )
    _ins(db, "points_entries", transaction_id=txn, account_id=pacc, amount=5, occurred_at=now)
    _ins(
        db,
        "points_leaderboard",
        household_id=hid,
        community_id=c1,
        opted_in=True,
        display_name=f"{NAME}家",
    )
    # sharing: a disclosure that named the resident
    rec = _ins(
        db,
        "share_recipients",
        place_id=c1,
        place_path=c1_path,
        name="派出所",
        kind="police",
        legal_basis="legal_duty",
    )
    disc = _ins(
        db,
        "disclosures",
        recipient_id=rec,
        place_id=unit,
        place_path=path,
        subject_type="incident",
        subject_id=inc,
        legal_basis="legal_duty",
        channel="feed",
        identifier="d-priv",
        payload=f"<alert>{NAME} {PHONE}</alert>",
    )
    _ins(db, "disclosure_residents", disclosure_id=disc, resident_id=rid)
    # account: a session, an API key, a failed login
    _ins(db, "login_attempts", username="oyang", success=False, ip="10.0.0.9")
    staff = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff1"]), via="cli"
    )
    resident_service.get_resident(db, staff, rid)  # an access about them (audit)
    db.commit()
    return rid, aid


def _texts(db: Session) -> list[tuple[str, str, str]]:
    """Every text and JSON value of every table, encrypted ones decrypted."""
    found = []
    for name, table in Base.metadata.tables.items():
        cols = [
            c
            for c in table.columns
            if isinstance(c.type, String | Text | JSON) or hasattr(c.type, "context")
        ]
        cols = [c for c in cols if not isinstance(c.type, LargeBinary)]
        if not cols:
            continue
        for row in db.execute(select(*cols)):
            for c, v in zip(cols, row, strict=True):
                if v is not None:
                    found.append(
                        (
                            name,
                            c.name,
                            v if isinstance(v, str) else json.dumps(v, ensure_ascii=False),
                        )
                    )
    return found


def _send_csrf(client: TestClient) -> TestClient:
    """Send the session's anti-forgery token with every request, as the pages' script does."""
    client.headers["X-CSRF-Token"] = csrf_of(client.get("/").text)
    return client


def test_export_then_delete_leaves_nothing_findable(
    app: Any, client: TestClient, db: Session, world: World
) -> None:
    """R1 + R4 on SQLite and PostgreSQL: the export holds records of every module; after the
    self-service deletion (password re-check) neither the staff search by name, phone or ID
    number nor a scan of every column finds the resident."""
    rid, aid = _seed(db, world)
    id_number = _valid_id(ID_BASE)
    login(client, "oyang")
    _send_csrf(client)
    response = client.get("/api/v1/me/export?format=json")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert doc["format"] == "linli.subject-export/1"
    assert doc["subject"]["resident_id"] == rid
    assert set(doc["modules"]) >= MODULES_WITH_RESIDENT_DATA, set(doc["modules"])
    person = doc["modules"]["resident"]["residents"][0]
    assert person["phone"] == PHONE
    assert person["id_number"] == id_number
    assert "password_hash" not in doc["modules"]["account"]["accounts"][0]
    assert "token_hash" not in doc["modules"]["account"]["auth_sessions"][0]
    assert any(e["action"] == "resident.viewed" for e in doc["modules"]["audit"]["audit_events"])
    assert doc["modules"]["sharing"]["disclosures"][0]["identifier"] == "d-priv"
    zipped = client.get("/api/v1/me/export?format=csv")
    with zipfile.ZipFile(io.BytesIO(zipped.content)) as archive:
        assert "export.json" in archive.namelist()
        assert "case/cases.csv" in archive.namelist()

    wrong = client.post("/api/v1/me/deletion", json={"password": "not-it"})
    assert wrong.status_code == 403
    done = client.post("/api/v1/me/deletion", json={"password": PASSWORD})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done"
    assert done.json()["kind"] == "deletion"
    assert client.get("/api/v1/me/export").status_code == 401  # sessions revoked

    db.expire_all()
    staff = account_service.build_actor(
        db, account_service.get_account(db, world.accounts["staff1"]), via="cli"
    )
    params = PageParams(page=1, size=50)
    assert resident_service.list_residents(db, staff, params=params, name=NAME)[1] == 0
    assert resident_service.list_residents(db, staff, params=params, phone=PHONE)[1] == 0
    digest = field_cipher().digest(id_number, "residents.id_number")
    assert resident_repository.by_id_digest(db, digest) is None
    api = client.get(f"/api/v1/residents?name={NAME}", headers=bearer(world, "staff1"))
    assert api.status_code == 200
    assert api.json()["total"] == 0
    leaks = [(t, c) for t, c, v in _texts(db) if NAME in v or PHONE in v or id_number in v]
    assert not leaks, leaks
    account = account_service.get_account(db, aid)
    assert not account.is_active
    assert account.password_hash is None
    # what the law keeps is still there, without identifiers
    points = Base.metadata.tables["points_transactions"]
    assert db.execute(select(points.c.memo)).all() == [("垃圾分类奖励",)]
    assert audit_service.verify(db).ok


def test_links_corrections_and_the_queue(
    client: TestClient, make_client: Any, db: Session, world: World
) -> None:
    """R2, R3, R5, R8 (SQLite and PostgreSQL): a one-time processor link downloads once, then
    410; a correction filed at the desk in assisted mode is approved by staff and applied; a
    refusal needs a reason; the queue shows overdue first."""
    alice = _send_csrf(make_client("alice"))
    made = alice.post("/api/v1/me/export-links", json={"processor": "某律师事务所", "hours": 1})
    assert made.status_code == 201, made.text
    url = made.json()["url"].replace("http://testserver", "")
    anon = make_client()
    first = anon.get(url)
    assert first.status_code == 200
    assert first.json()["subject"]["resident_id"] == world.residents["alice"]
    assert anon.get(url).status_code == 410
    second = alice.post("/api/v1/me/export-links", json={"processor": "某公司", "hours": 1}).json()
    with time_machine.travel(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)):
        assert anon.get(second["url"].replace("http://testserver", "")).status_code == 410

    # assisted mode: grid1 files a correction for bob at the desk
    grid = make_client("grid1")
    bob = world.residents["bob"]
    page = grid.get(f"/console/residents/{bob}")
    start = grid.post(
        f"/console/residents/{bob}/assist",
        data={"present": "1", "reason": "老人来窗口", "csrf_token": csrf_of(page.text)},
        follow_redirects=False,
    )
    assert start.status_code in (200, 303), start.text
    filed = grid.post(
        "/me/requests/corrections",
        data={
            "field": "name",
            "new_value": "李四河",
            "reason": "登记时写错",
            "csrf_token": csrf_of(grid.get("/me/requests").text),
        },
        follow_redirects=False,
    )
    assert filed.status_code == 303, filed.text
    staff = _send_csrf(make_client("staff1"))
    queue = staff.get("/api/v1/privacy/requests").json()
    mine = [q for q in queue if q["kind"] == "correction"]
    assert mine
    assert mine[0]["via"] == "assisted"
    assert (
        staff.post(
            f"/api/v1/privacy/requests/{mine[0]['id']}/refusal", json={"reason": ""}
        ).status_code
        == 422
    )
    ok = staff.post(f"/api/v1/privacy/requests/{mine[0]['id']}/approval")
    assert ok.status_code == 200
    assert ok.json()["status"] == "done"
    db.expire_all()
    assert resident_service.get_record(db, world.residents["bob"]).name == "李四河"
    assert staff.get("/console/privacy-requests").status_code == 200
    assert make_client("carol").get("/api/v1/privacy/requests").status_code == 403


def test_due_dates_count_working_days() -> None:
    """R5: 15 working days, skipping the National Day week."""
    received = dt.datetime(2026, 9, 30, 2, 0, tzinfo=dt.UTC)
    due = due_after(received)
    # Plain weekdays would give 21 October; the National Day holidays push it to the 27th.
    assert due.date() == dt.date(2026, 10, 27)
