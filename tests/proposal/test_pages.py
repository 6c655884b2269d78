"""Suggestion pages: public list and details without authors, the resident's form (one
question per screen in elder mode), support buttons, and the staff console."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.proposal.models import Proposal
from tests.conftest import World, csrf_of
from tests.proposal.conftest import make_proposal


def _post(client: TestClient, page: str, url: str, data: dict[str, str]) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_public_pages_show_no_author(client: TestClient, db: Session, world: World) -> None:
    pid = make_proposal(db, world)
    r = client.get("/proposals")
    assert r.status_code == 200
    assert "在小区门口加装休息长椅" in r.text
    r = client.get(f"/proposals/{pid}")
    assert r.status_code == 200
    assert "c1小区" in r.text
    assert "王" not in r.text
    assert "alice" not in r.text.lower()
    assert 'action="/proposals/' not in r.text  # anonymous: no support button
    assert client.get("/proposals/999999").status_code == 404
    r = client.get("/proposals?lang=en", headers={"accept-language": "en"})
    assert r.status_code == 200


def test_resident_proposes_supports_and_withdraws(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    alice = make_client("alice")
    r = _post(
        alice,
        "/me/proposals/new",
        "/me/proposals/new",
        {"place_id": str(world.places["c1-b1"]), "title": "x", "body": "short"},
    )
    assert r.status_code == 422  # type: ignore[attr-defined]
    assert db.scalars(select(Proposal)).first() is None
    r = _post(
        alice,
        "/me/proposals/new",
        "/me/proposals/new",
        {
            "place_id": str(world.places["c1-b1"]),
            "title": "楼道加装感应灯",
            "body": "晚上楼道太黑，建议加装感应灯。",
        },
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    target = r.headers["location"]  # type: ignore[attr-defined]
    assert "done=proposed" in target
    pid = int(target.split("/")[2].split("?")[0])
    page = alice.get(target).text
    assert "您提出了这条建议" in page or "You made this suggestion" in page
    assert f'action="/proposals/{pid}/support"' not in page  # not one's own
    bob = make_client("bob")
    assert f'action="/proposals/{pid}/support"' in bob.get(f"/proposals/{pid}").text
    r = _post(bob, f"/proposals/{pid}", f"/proposals/{pid}/support", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = bob.get(f"/proposals/{pid}").text
    assert f'action="/proposals/{pid}/unsupport"' in page
    r = _post(bob, f"/proposals/{pid}", f"/proposals/{pid}/unsupport", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(Proposal, pid).support_count == 0  # type: ignore[union-attr]
    # Another community's resident gets no button and cannot support.
    carol = make_client("carol")
    assert f'action="/proposals/{pid}/support"' not in carol.get(f"/proposals/{pid}").text
    r = _post(carol, f"/proposals/{pid}", f"/proposals/{pid}/support", {})
    assert r.status_code == 404  # type: ignore[attr-defined]


def test_elder_mode_asks_one_question_per_screen(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    alice = make_client("alice")
    _post(alice, "/", "/prefs", {"elder": "1", "next": "/"})
    page = alice.get("/me/proposals/new").text
    assert 'name="place_id"' in page
    assert 'id="f-title"' not in page
    assert 'id="f-body"' not in page
    token = csrf_of(page)
    place = str(world.places["c1"])
    r = alice.post(
        "/me/proposals/new", data={"csrf_token": token, "step": "place_id", "place_id": place}
    )
    assert r.status_code == 200
    assert 'id="f-title"' in r.text
    assert 'id="f-place_id"' not in r.text
    r = alice.post(
        "/me/proposals/new",
        data={"csrf_token": token, "step": "title", "place_id": place, "title": "x"},
    )
    assert r.status_code == 422
    assert 'id="f-title"' in r.text
    r = alice.post(
        "/me/proposals/new",
        data={"csrf_token": token, "step": "title", "place_id": place, "title": "增加垃圾分类指引"},
    )
    assert 'id="f-body"' in r.text
    assert 'id="f-title"' not in r.text
    assert db.scalars(select(Proposal)).first() is None
    r = alice.post(
        "/me/proposals/new",
        data={
            "csrf_token": token,
            "step": "body",
            "place_id": place,
            "title": "增加垃圾分类指引",
            "body": "很多老人不清楚怎么分类，建议在投放点贴图示。",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    stored = db.scalars(select(Proposal)).one()
    assert stored.title == "增加垃圾分类指引"
    assert stored.place_id == world.places["c1"]


def test_staff_console_answer_and_moderation(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    later = make_proposal(db, world, title="第一条建议：修路灯")
    due = make_proposal(db, world, title="第二条建议：加长椅", threshold=1)
    bob = make_client("bob")
    _post(bob, f"/proposals/{due}", f"/proposals/{due}/support", {})
    staff = make_client("staff1")
    page = staff.get("/console/proposals").text
    # The one with a deadline first.
    assert page.index("第二条建议") < page.index("第一条建议")
    assert bob.get("/console/proposals").status_code == 403
    assert make_client("staff2").get(f"/console/proposals/{due}").status_code == 404
    r = _post(
        staff, f"/console/proposals/{due}", f"/console/proposals/{due}/answer", {"text": "短"}
    )
    assert r.status_code == 422  # type: ignore[attr-defined]
    r = _post(
        staff,
        f"/console/proposals/{due}",
        f"/console/proposals/{due}/answer",
        {"text": "已安排下月在门口加装两张长椅。"},
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "已安排下月在门口加装两张长椅" in staff.get(f"/proposals/{due}").text
    r = _post(
        staff,
        f"/console/proposals/{later}",
        f"/console/proposals/{later}/hide",
        {"reason": "含有人身攻击"},
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    public = make_client().get(f"/proposals/{later}").text
    assert "含有人身攻击" in public
    assert "修路灯" not in public
    # The moderator still sees the text, and can show it again.
    assert "修路灯" in staff.get(f"/console/proposals/{later}").text
    r = _post(staff, f"/console/proposals/{later}", f"/console/proposals/{later}/restore", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    assert "修路灯" in make_client().get(f"/proposals/{later}").text


def test_author_withdraws_from_the_page(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    pid = make_proposal(db, world)
    bob = make_client("bob")
    assert f'action="/proposals/{pid}/withdraw"' not in bob.get(f"/proposals/{pid}").text
    r = _post(bob, f"/proposals/{pid}", f"/proposals/{pid}/withdraw", {})
    assert r.status_code == 403  # type: ignore[attr-defined]
    alice = make_client("alice")
    assert f'action="/proposals/{pid}/withdraw"' in alice.get(f"/proposals/{pid}").text
    r = _post(alice, f"/proposals/{pid}", f"/proposals/{pid}/withdraw", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    assert db.get(Proposal, pid).status == "withdrawn"  # type: ignore[union-attr]
    assert f'action="/proposals/{pid}/withdraw"' not in alice.get(f"/proposals/{pid}").text
