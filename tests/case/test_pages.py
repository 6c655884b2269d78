"""Case pages over HTTP: the report flow (one form; one question per screen in elder mode), the
public page that hides the reporter, the staff console, rating, and refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.case.models import Case
from tests.case.conftest import category_id, file_case
from tests.conftest import World, csrf_of

Client = Callable[..., TestClient]


def _location_id(response_location: str) -> int:
    match = re.search(r"/cases/(\d+)", response_location)
    assert match, response_location
    return int(match.group(1))


def test_report_in_one_form_then_staff_work_it_and_resident_rates(
    make_client: Client, db: Session, world: World
) -> None:
    light = category_id(db, "light")
    db.commit()
    alice = make_client("alice")
    page = alice.get("/cases/new")
    assert page.status_code == 200
    assert page.text.count("<select") == 2
    assert "<textarea" in page.text
    token = csrf_of(page.text)
    form = {"csrf_token": token, "step": "all", "category_id": str(light), "place_id": ""}
    r = alice.post("/cases/new", data=form | {"description": "x"})
    assert r.status_code == 422
    assert 'id="f-description-error"' in r.text
    assert 'id="f-place_id-error"' in r.text
    assert db.scalar(select(Case.id)) is None
    form |= {
        "place_id": str(world.places["c1-b1"]),
        "description": "3楼楼道灯不亮",
        "is_public": "1",
    }
    r = alice.post("/cases/new", data=form, follow_redirects=False)
    assert r.status_code == 303, r.text
    cid = _location_id(r.headers["location"])
    page = alice.get(r.headers["location"])
    assert "3楼楼道灯不亮" in page.text
    assert "王小丽" not in page.text

    staff = make_client("staff1")
    queue = staff.get("/console/cases")
    assert f'id="case-{cid}"' in queue.text
    console = staff.get(f"/console/cases/{cid}")
    token = csrf_of(console.text)
    assert "王小丽" not in console.text
    for action, data in (
        ("triage", {"category_id": str(light)}),
        ("assign", {"account_id": str(world.accounts["pm1"])}),
        ("note", {"text": "内部：明天去"}),
    ):
        r = staff.post(
            f"/console/cases/{cid}/{action}",
            data={"csrf_token": token, **data},
            follow_redirects=False,
        )
        assert r.status_code == 303, (action, r.text)
    r = staff.post(f"/console/cases/{cid}/resolve", data={"csrf_token": token, "text": ""})
    assert r.status_code == 422
    assert 'id="f-resolve-text-error"' in r.text
    r = staff.post(
        f"/console/cases/{cid}/resolve",
        data={"csrf_token": token, "text": "已更换灯泡"},
        follow_redirects=False,
    )
    assert r.status_code == 303

    page = alice.get(f"/cases/{cid}")
    assert "已更换灯泡" in page.text
    assert "内部" not in page.text
    assert f'action="/cases/{cid}/rating"' in page.text
    r = alice.post(
        f"/cases/{cid}/rating",
        data={"csrf_token": csrf_of(page.text), "rating": "5"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    db.expire_all()
    case = db.get(Case, cid)
    assert case is not None
    assert case.rating == 5
    assert case.status == "resolved"

    # Anyone, even without logging in, reads the public page; the reporter stays hidden.
    public = make_client().get(f"/cases/{cid}")
    assert public.status_code == 200
    assert "已更换灯泡" in public.text
    assert "王小丽" not in public.text
    assert "Alice" not in public.text


def test_elder_mode_asks_one_question_per_screen(
    make_client: Client, db: Session, world: World
) -> None:
    light = category_id(db, "light")
    db.commit()
    alice = make_client("alice")
    alice.cookies.set("linli_elder", "1")
    page = alice.get("/cases/new")
    asked = re.findall(r"<(select|textarea|input)(?![^>]*type=\"hidden\")[^>]*>", page.text)
    questions = [t for t in asked if t != "input"] + [t for t in asked if t == "input"]
    assert len([q for q in questions if q in ("select", "textarea")]) == 1
    token = csrf_of(page.text)
    values = {"csrf_token": token, "place_id": str(world.places["c1-b1"]), "is_public": "1"}
    r = alice.post("/cases/new", data=values | {"step": "category", "category_id": ""})
    assert r.status_code == 422
    assert "f-category_id-error" in r.text
    r = alice.post("/cases/new", data=values | {"step": "category", "category_id": str(light)})
    assert 'name="step" value="place"' in r.text
    assert r.text.count("<select") == 1
    assert "<textarea" not in r.text
    values["category_id"] = str(light)
    r = alice.post("/cases/new", data=values | {"step": "place"})
    assert 'name="step" value="description"' in r.text
    assert "<select" not in r.text
    r = alice.post("/cases/new", data=values | {"step": "description", "description": "灯坏了"})
    assert 'name="step" value="confirm"' in r.text
    assert "灯坏了" in r.text
    values["description"] = "灯坏了"
    r = alice.post("/cases/new", data=values | {"step": "confirm", "back": "1"})
    assert 'name="step" value="description"' in r.text
    r = alice.post("/cases/new", data=values | {"step": "confirm"}, follow_redirects=False)
    assert r.status_code == 303
    assert db.scalar(select(Case.description)) == "灯坏了"


def test_refusals_on_pages(make_client: Client, db: Session, world: World) -> None:
    private = file_case(db, world, code="noise", text="楼上噪声")
    assert make_client("staff2").get(f"/console/cases/{private.id}").status_code == 404
    assert make_client("bob").get(f"/cases/{private.id}").status_code == 404
    assert make_client().get(f"/cases/{private.id}").status_code == 404
    assert make_client("alice").get("/console/cases").status_code == 403
    assert make_client("staff1").get("/cases/new").status_code == 403
    mine = make_client("alice").get("/me/cases")
    assert "楼上噪声" not in mine.text or f"/cases/{private.id}" in mine.text
    assert f"/cases/{private.id}" in mine.text
    anon = make_client().get("/cases/new", follow_redirects=False)
    assert anon.status_code in (302, 303, 401)


def test_pages_in_english(make_client: Client, db: Session, world: World) -> None:
    case = file_case(db, world)
    alice = make_client("alice")
    alice.cookies.set("linli_lang", "en")
    page = alice.get(f"/cases/{case.id}")
    assert "History: you said, we did" in page.text
    page = make_client("staff1").get(f"/cases/{case.id}")
    assert "处理记录：您反映，我们办理" in page.text
