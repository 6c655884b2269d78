"""The incident console pages without a browser: board, incident page, forms, refusals."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.incident import service
from linli.incident.models import DispatchOffer, Incident, IncidentBroadcast, SitePoint
from linli.incident.schemas import IncidentCreate
from linli.notice import service as notice_service
from linli.notice.schemas import BroadcastCreate
from linli.place import service as place_service
from tests.conftest import World, csrf_of
from tests.incident.conftest import actor_of, register

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _incident(
    db: Session,
    world: World,
    *,
    place: str = "c1-b1",
    kind: str = "fall",
    title: str = "老人摔倒",
    node: str | None = "building:building-1",
    severity: int = 3,
) -> int:
    staff = actor_of(db, world, "staff1" if place.startswith("c1") else "staff2")
    incident = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places[place], type=kind, title=title, node=node, severity=severity
        ),
    )
    db.commit()
    return incident.id


def _count(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Incident)) or 0)


def test_board_shows_open_incidents_on_the_plan_for_staff_and_responders(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    mine = _incident(db, world, kind="fire", title="厨房起火", severity=4)
    unplaced = _incident(db, world, title="无位置", node=None, severity=2)
    other = _incident(db, world, place="c2-b1", title="别的社区的事件")
    medic = register(db, world, "medic1", ["first_aid"], "building:building-2")
    db.commit()
    staff = make_client("staff1")
    page = staff.get("/console/incidents", headers=ZH)
    assert page.status_code == 200
    html = page.text
    assert f'id="incident-row-{mine}"' in html
    assert f'class="inc-marker" data-incident="{mine}" data-severity="extreme"' in html
    assert f'id="incident-row-{unplaced}"' in html
    assert f'data-incident="{unplaced}" data-severity' not in html  # no marker without a point
    assert f'incident-row-{other}"' not in html
    assert "别的社区的事件" not in html
    # Most severe first; severity and type in words, not colour alone.
    assert html.index(f'incident-row-{mine}"') < html.index(f'incident-row-{unplaced}"')
    assert "火灾" in html
    assert "极其严重" in html
    assert f'href="/console/incidents/{mine}"' in html
    assert f'data-responder="{medic}" data-status="available"' in html
    assert 'data-stream="/console/incidents/stream"' in html
    assert 'aria-live="polite"' in html
    assert 'href="/console/incidents/new"' in html
    assert 'href="/console/incidents"' in html  # the navigation entry
    assert "1号楼" in html  # the plan's buildings are labelled
    en = staff.get("/console/incidents", headers=EN).text
    assert "Fire · Extreme" in en
    assert "Incident board" in en
    assert "极其严重" not in en
    live = staff.get("/console/incidents/live")
    assert live.status_code == 200
    assert f'id="incident-row-{mine}"' in live.text
    assert "<html" not in live.text
    # A responder sees the board of their community, without the manager's link.
    responder = make_client("medic1")
    seen = responder.get("/console/incidents")
    assert seen.status_code == 200
    assert f'id="incident-row-{mine}"' in seen.text
    assert 'href="/console/incidents/new"' not in seen.text
    assert responder.get(f"/console/incidents/{mine}").status_code == 200
    assert responder.get("/console/incidents/new").status_code == 403


def test_residents_and_other_communities_are_refused(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    incident_id = _incident(db, world, title="c1 的事件")
    anonymous = make_client()
    r = anonymous.get("/console/incidents", follow_redirects=False)
    assert r.status_code in (303, 307)
    for user in ("alice", "pm1", "auditor1"):
        client = make_client(user)
        for path in (
            "/console/incidents",
            "/console/incidents/live",
            "/console/incidents/stream",
            f"/console/incidents/{incident_id}",
            "/console/incidents/new",
        ):
            r = client.get(path)
            assert r.status_code == 403, (user, path, r.status_code)
            assert "c1 的事件" not in r.text
    staff2 = make_client("staff2")
    assert staff2.get(f"/console/incidents/{incident_id}").status_code == 404
    board = staff2.get("/console/incidents")
    assert board.status_code == 200
    assert "c1 的事件" not in board.text
    token = csrf_of(board.text)
    r = staff2.post(
        f"/console/incidents/{incident_id}/close",
        data={"csrf_token": token, "after_action": "不是我的"},
    )
    assert r.status_code == 404
    assert staff2.get("/console/incidents/99999").status_code == 404
    db.expire_all()
    stored = db.get(Incident, incident_id)
    assert stored is not None
    assert stored.status == "reported"


def test_create_form_checks_every_field_and_stores_nothing_on_error(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    staff = make_client("staff1")
    form = staff.get("/console/incidents/new", headers=ZH)
    assert form.status_code == 200
    assert "燃气泄漏" in form.text  # types with translated labels
    assert 'value="building:building-3"' in form.text  # named points of the site plan
    assert f'value="{world.places["c1-b1"]}"' in form.text
    assert f'value="{world.places["c2-b1"]}"' not in form.text
    token = csrf_of(form.text)
    before = _count(db)
    bad = staff.post(
        "/console/incidents",
        data={
            "csrf_token": token,
            "type": "meteor",
            "severity": "9",
            "place_id": str(world.places["c2-b1"]),
            "node": "nowhere",
            "title": "",
        },
        headers=ZH,
    )
    assert bad.status_code == 422
    for name in ("type", "severity", "place_id", "node", "title"):
        assert f'id="f-{name}-error"' in bad.text, name
    assert 'aria-invalid="true"' in bad.text
    assert _count(db) == before
    # Without the token nothing happens either.
    r = staff.post("/console/incidents", data={"type": "fire"}, follow_redirects=False)
    assert r.status_code == 403
    assert _count(db) == before
    ok = staff.post(
        "/console/incidents",
        data={
            "csrf_token": token,
            "type": "pipe_burst",
            "severity": "3",
            "place_id": str(world.places["c1-b1"]),
            "node": "building:building-3",
            "title": "地下室水管爆裂",
            "description": "水已漫到走廊",
        },
        follow_redirects=False,
    )
    assert ok.status_code == 303
    match = re.fullmatch(r"/console/incidents/(\d+)\?done=created", ok.headers["location"])
    assert match
    db.expire_all()
    stored = db.get(Incident, int(match.group(1)))
    assert stored is not None
    assert (stored.type, stored.node, stored.title) == (
        "pipe_burst",
        "building:building-3",
        "地下室水管爆裂",
    )
    page = staff.get(ok.headers["location"], headers=ZH)
    assert page.status_code == 200
    assert "水管爆裂" in page.text
    assert "事件已开启" in page.text  # the timeline's first row, in words


def test_dispatch_advance_and_close_through_the_forms(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    incident_id = _incident(db, world, kind="fall", title="老人摔倒", node="building:building-1")
    no_point = _incident(db, world, kind="fall", title="无位置", node=None)
    register(db, world, "medic1", ["first_aid"], "building:building-2")
    db.commit()
    staff = make_client("staff1")
    url = f"/console/incidents/{incident_id}"
    page = staff.get(url, headers=ZH)
    assert page.status_code == 200
    token = csrf_of(page.text)
    assert f'action="{url}/dispatch"' in page.text
    assert f'href="{url}/warn"' in page.text
    assert f'href="{url}/door-to-door"' in page.text
    # Recommend: who would go and how long it takes; nobody is told.
    rec = staff.post(f"{url}/recommend", data={"csrf_token": token}, headers=ZH)
    assert rec.status_code == 200
    assert "Medic1" in rec.text
    assert "推荐派出的人员" in rec.text
    assert 'class="inc-route is-planned"' in rec.text
    db.expire_all()
    assert db.scalar(select(func.count()).select_from(DispatchOffer)) == 0
    # Without a point on the plan: the service's refusal in words, not a server error.
    refused = staff.post(
        f"/console/incidents/{no_point}/dispatch", data={"csrf_token": token}, headers=ZH
    )
    assert refused.status_code == 409
    assert 'id="incident-error"' in refused.text
    assert "派遣前请先在小区平面图上标出事件位置" in refused.text
    # Dispatch: an offer is stored, the board draws the route.
    r = staff.post(f"{url}/dispatch", data={"csrf_token": token}, follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == f"{url}?done=dispatched"
    after = staff.get(r.headers["location"], headers=ZH).text
    assert 'data-offer="' in after
    assert "等待答复" in after
    board = staff.get("/console/incidents").text
    assert re.search(rf'class="inc-route is-offered" data-route="{incident_id}-\d+"', board)
    # Forward only; a backward move is refused with a message.
    r = staff.post(
        f"{url}/status",
        data={"csrf_token": token, "status": "on_scene", "note": "已到达"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    back = staff.post(f"{url}/status", data={"csrf_token": token, "status": "dispatched"})
    assert back.status_code == 409
    assert 'id="incident-error"' in back.text
    # Closing needs the report.
    empty = staff.post(f"{url}/close", data={"csrf_token": token, "after_action": "  "})
    assert empty.status_code == 422
    assert 'id="f-after_action-error"' in empty.text
    db.expire_all()
    stored = db.get(Incident, incident_id)
    assert stored is not None
    assert stored.status == "on_scene"
    r = staff.post(
        f"{url}/close",
        data={"csrf_token": token, "after_action": "已送医，楼道照明需修理"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    closed = staff.get(url, headers=ZH).text
    timeline = closed[closed.index('id="timeline"') :]
    for label in ("事件已开启", "已请响应人员前往", "状态变更", "事后报告"):
        assert label in timeline, label
    assert "Staff1" in timeline  # who did it
    assert f'action="{url}/dispatch"' not in closed  # no actions on a closed incident
    db.expire_all()
    stored = db.get(Incident, incident_id)
    assert stored is not None
    assert stored.status == "closed"
    assert f'incident-row-{incident_id}"' not in staff.get("/console/incidents").text


def test_point_severity_and_commander_forms(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    incident_id = _incident(db, world, node=None)
    staff = make_client("staff1")
    url = f"/console/incidents/{incident_id}"
    token = csrf_of(staff.get(url).text)
    bad = staff.post(f"{url}/point", data={"csrf_token": token, "node": "j-9-9"})
    assert bad.status_code == 422
    assert 'id="f-point-node-error"' in bad.text
    for path, data in (
        ("point", {"node": "gate:east-gate"}),
        ("severity", {"severity": "4"}),
        ("commander", {"account_id": str(world.accounts["admin1"])}),
    ):
        r = staff.post(f"{url}/{path}", data={"csrf_token": token, **data}, follow_redirects=False)
        assert r.status_code == 303, (path, r.text)
    wrong = staff.post(
        f"{url}/commander", data={"csrf_token": token, "account_id": str(world.accounts["alice"])}
    )
    assert wrong.status_code == 422
    db.expire_all()
    stored = db.get(Incident, incident_id)
    assert stored is not None
    assert (stored.node, stored.severity, stored.commander_account_id) == (
        "gate:east-gate",
        4,
        world.accounts["admin1"],
    )
    en = staff.get(url, headers=EN).text
    assert "Point on the site plan set" in en
    assert "East gate" in en


def test_warned_buildings_are_the_affected_area_on_the_board(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    incident_id = _incident(db, world, kind="gas_leak", title="燃气泄漏")
    b1 = place_service.get(db, world.places["c1-b1"])
    db.add(SitePoint(place_id=b1.id, place_path=b1.path, node="building:building-3"))
    staff = actor_of(db, world, "staff1")
    broadcast = notice_service.start_broadcast(
        db, staff, BroadcastCreate(place_id=b1.id, headline="燃气泄漏，请撤离")
    )
    db.add(IncidentBroadcast(incident_id=incident_id, broadcast_id=broadcast.id))
    db.commit()
    client = make_client("staff1")
    html = client.get("/console/incidents", headers=ZH).text
    assert 'is-affected" data-node="building:building-3"' in html
    assert 'is-affected" data-node="building:building-1"' not in html
    assert "3号楼" in html[html.index("已通知的楼栋") :]
    page = client.get(f"/console/incidents/{incident_id}", headers=ZH).text
    assert 'is-affected" data-node="building:building-3"' in page
