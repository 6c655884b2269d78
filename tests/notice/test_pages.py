"""Pages of notices and check-ins: residents read and answer, staff compose, start and watch."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.notice.models import EmergencyBroadcast, EmergencyResponse, Notice, NoticeRead
from tests.conftest import World, bearer, csrf_of


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    assert callable(make_client)
    client = make_client(who)
    assert isinstance(client, TestClient)
    client.cookies.set("linli_lang", lang)
    return client


def _start(client: TestClient, world: World) -> int:
    r = client.post(
        "/api/v1/emergencies",
        json={"place_id": world.places["c1"], "headline": "火警：请撤离", "instruction": "走楼梯"},
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 201
    return int(r.json()["id"])


def test_anonymous_is_sent_to_login(make_client: object, client: TestClient, world: World) -> None:
    bid = _start(client, world)
    c = _client(make_client, None)
    for url in (
        "/me/notices",
        f"/me/emergencies/{bid}",
        "/console/notices",
        "/console/notices/new",
        "/console/emergencies",
        f"/console/emergencies/{bid}",
    ):
        r = c.get(url, follow_redirects=False)
        assert r.status_code == 303, url
        assert r.headers["location"].startswith("/login")


def test_staff_write_a_notice_and_residents_read_it(
    make_client: object, db: Session, world: World
) -> None:
    staff = _client(make_client, "staff1")
    page = staff.get("/console/notices/new")
    assert page.status_code == 200
    token = csrf_of(page.text)
    # Errors: shown per field, nothing stored.
    r = staff.post(
        "/console/notices",
        data={"csrf_token": token, "place_id": "", "title": "", "category": "ads"},
    )
    assert r.status_code == 422
    assert 'id="f-title-error"' in r.text
    assert 'id="f-place_id-error"' in r.text
    db.expire_all()
    assert db.scalars(select(Notice)).all() == []
    r = staff.post(
        "/console/notices",
        data={
            "csrf_token": token,
            "place_id": str(world.places["c1-b1"]),
            "title": "明天停水",
            "body": "上午 9 点到 12 点停水。\n请提前储水。",
            "category": "maintenance",
            "pinned": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    listing = staff.get(r.headers["location"])
    assert "明天停水" in listing.text
    assert "0 of 2" in listing.text
    notice = db.scalars(select(Notice)).one()
    assert notice.pinned

    alice = _client(make_client, "alice", "zh_Hans_CN")
    mine = alice.get("/me/notices")
    assert mine.status_code == 200
    assert "明天停水" in mine.text
    detail = alice.get(f"/me/notices/{notice.id}")
    assert detail.status_code == 200
    assert "请提前储水。" in detail.text
    db.expire_all()
    assert len(db.scalars(select(NoticeRead)).all()) == 1
    assert "1 of 2" in staff.get("/console/notices").text
    carol = _client(make_client, "carol")
    assert "明天停水" not in carol.get("/me/notices").text
    assert carol.get(f"/me/notices/{notice.id}").status_code == 404


def test_resident_answers_on_the_answer_page(
    make_client: object, client: TestClient, db: Session, world: World
) -> None:
    bid = _start(client, world)
    alice = _client(make_client, "alice", "zh_Hans_CN")
    mine = alice.get("/me/notices")
    assert f"/me/emergencies/{bid}" in mine.text
    page = alice.get(f"/me/emergencies/{bid}")
    assert page.status_code == 200
    assert "火警：请撤离" in page.text
    token = csrf_of(page.text)
    r = alice.post(
        f"/me/emergencies/{bid}/answer",
        data={"csrf_token": token, "status": "need_help"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    row = db.scalars(
        select(EmergencyResponse).where(EmergencyResponse.resident_id == world.residents["alice"])
    ).one()
    assert row.status == "need_help"
    assert row.via == "self"
    # Without the token nothing changes.
    r = alice.post(f"/me/emergencies/{bid}/answer", data={"status": "safe"})
    assert r.status_code == 403
    db.expire_all()
    assert db.get(EmergencyResponse, row.id).status == "need_help"  # type: ignore[union-attr]
    carol = _client(make_client, "carol")
    assert carol.get(f"/me/emergencies/{bid}").status_code == 404


def test_staff_start_a_checkin_and_work_the_board(
    make_client: object, db: Session, world: World
) -> None:
    staff = _client(make_client, "staff1")
    page = staff.get("/console/emergencies/new")
    assert page.status_code == 200
    token = csrf_of(page.text)
    r = staff.post(
        "/console/emergencies",
        data={"csrf_token": token, "place_id": str(world.places["c2"]), "headline": "x"},
    )
    assert r.status_code == 403
    r = staff.post(
        "/console/emergencies",
        data={"csrf_token": token, "place_id": str(world.places["c1"]), "headline": ""},
    )
    assert r.status_code == 422
    assert 'id="f-headline-error"' in r.text
    db.expire_all()
    assert db.scalars(select(EmergencyBroadcast)).all() == []
    r = staff.post(
        "/console/emergencies",
        data={
            "csrf_token": token,
            "place_id": str(world.places["c1"]),
            "headline": "地震：请到空旷处",
            "cap_category": "Geo",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    board = staff.get(r.headers["location"])
    assert board.status_code == 200
    assert 'id="em-count-no_answer">3<' in board.text
    bid = db.scalars(select(EmergencyBroadcast.id)).one()
    alan = world.residents["alan"]
    r = staff.post(
        f"/console/emergencies/{bid}/responses",
        data={"csrf_token": token, "resident_id": str(alan), "status": "safe"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    fragment = staff.get(f"/console/emergencies/{bid}/visits")
    assert fragment.status_code == 200
    assert f'id="resident-{alan}" data-status="safe"' in fragment.text
    r = staff.post(
        f"/console/emergencies/{bid}/end", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    assert db.get(EmergencyBroadcast, bid) is not None


@pytest.mark.parametrize("who", ["alice", "pm1"])
def test_residents_and_other_roles_get_no_console(
    make_client: object, client: TestClient, world: World, who: str
) -> None:
    bid = _start(client, world)
    c = _client(make_client, who)
    for url in ("/console/notices", "/console/emergencies/new", f"/console/emergencies/{bid}"):
        assert c.get(url).status_code == 403, url


def test_other_community_staff_do_not_see_the_board(
    make_client: object, client: TestClient, world: World
) -> None:
    bid = _start(client, world)
    c = _client(make_client, "staff2")
    assert c.get(f"/console/emergencies/{bid}").status_code == 404
    assert c.get(f"/console/emergencies/{bid}/visits").status_code == 404
    assert c.get(f"/console/emergencies/{bid}/stream").status_code == 404
