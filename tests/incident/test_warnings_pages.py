"""Pages of warnings: the warning form, the printable door-to-door list and the register, in
both languages and elder mode, for the roles allowed and refused to the others."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from httpx import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.audit.models import AuditEvent
from linli.core.db import make_engine, make_sessionmaker
from linli.incident.models import EvacuationNeed, IncidentBroadcast
from tests.conftest import World, csrf_of
from tests.incident.conftest import responder_account
from tests.incident.test_warnings import Site, _incident, _site
from tests.web.test_browser import Site as LiveSite
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

SQLITE = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
Clients = Callable[..., TestClient]


def _post(client: TestClient, page: str, url: str, data: dict[str, object]) -> Response:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def _views(db: Session, outcome: str = "ok") -> int:
    query = select(AuditEvent).where(
        AuditEvent.action == "evacuation.door_to_door", AuditEvent.outcome == outcome
    )
    return len(list(db.scalars(query)))


@SQLITE
def test_warn_form_sends_and_shows_the_answers(
    make_client: Clients, db: Session, world: World
) -> None:
    homes: Site = _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    staff = make_client("staff1")
    page = f"/console/incidents/{incident_id}/warn"
    r = staff.get(page)
    assert r.status_code == 200, r.text
    assert "2号楼" in r.text
    assert "3号楼" in r.text
    assert f'name="place_ids" value="{homes.b2}"' in r.text
    assert "楼梯" in r.text  # the fire instruction, prefilled in Chinese
    assert "该事件尚未发出预警" in r.text
    en = staff.get(page, headers={"Accept-Language": "en"})
    assert "Leave the building by the stairs" in en.text
    # Nothing ticked: the form again with the error, nothing sent.
    bad = _post(staff, page, page, {"mode": "places", "headline": "火警"})
    assert bad.status_code == 422
    assert "请至少勾选一栋楼" in bad.text
    done = _post(
        staff,
        page,
        page,
        {"mode": "places", "place_ids": [str(homes.b2), str(homes.b3)], "headline": "1号楼起火"},
    )
    assert done.status_code == 303
    location = done.headers["location"]
    assert location == f"/console/incidents/{incident_id}?done=warned"
    assert len(list(db.scalars(select(IncidentBroadcast)))) == 2
    r = staff.get(page)
    assert "预警的回复情况" in r.text
    assert "2号楼" in r.text
    # By radius.
    done = _post(staff, page, page, {"mode": "radius", "radius_m": "45", "headline": "扩大"})
    assert done.status_code == 303
    assert len(list(db.scalars(select(IncidentBroadcast)))) == 4
    too_small = _post(staff, page, page, {"mode": "radius", "radius_m": "", "headline": "x"})
    assert too_small.status_code == 422
    # Residents, the property manager and another community never see the form.
    for user in ("alice", "pm1", "staff2"):
        assert make_client(user).get(page).status_code == 404, user


@SQLITE
def test_warn_by_radius_needs_a_point(make_client: Clients, db: Session, world: World) -> None:
    _site(db, world)
    incident_id = _incident(db, world, place="c1-compound")
    staff = make_client("staff1")
    page = f"/console/incidents/{incident_id}/warn"
    assert 'id="mode-radius" name="mode" value="radius" disabled' in staff.get(page).text
    r = _post(staff, page, page, {"mode": "radius", "radius_m": "50", "headline": "火警"})
    assert r.status_code == 409
    assert "请先在平面图上设置事件位置" in r.text


@SQLITE
def test_door_to_door_page_languages_elder_mode_and_roles(
    make_client: Clients, db: Session, world: World
) -> None:
    _site(db, world)
    incident_id = _incident(db, world, node="building:building-1")
    responder_account(db, world, "medic")
    db.commit()
    url = f"/console/incidents/{incident_id}/door-to-door"
    staff = make_client("staff1")
    _post(
        staff,
        f"/console/incidents/{incident_id}/warn",
        f"/console/incidents/{incident_id}/warn",
        {"mode": "radius", "radius_m": "60", "headline": "火警"},
    )
    before = _views(db)
    zh = staff.get(url)
    assert zh.status_code == 200, zh.text
    assert "逐户走访名单" in zh.text
    assert "残障" in zh.text
    assert "独居老人" in zh.text
    assert "301" in zh.text
    assert "201" in zh.text
    assert "孙先生" not in zh.text  # names are masked
    en = staff.get(url, headers={"Accept-Language": "en"})
    assert "Door-to-door list" in en.text
    assert "Disability" in en.text
    assert 'src="/static/js/print-page.js' in en.text
    assert "<script>" not in en.text
    _post(staff, url, "/prefs", {"elder": "1", "next": url})
    elder = staff.get(url)
    assert 'class="elder' in elder.text
    assert "残障" in elder.text
    medic = make_client("medic")
    assert medic.get(url).status_code == 200
    assert make_client("grid1").get(url).status_code == 200
    assert make_client("district").get(url).status_code == 403
    for user in ("pm1", "alice", "auditor1", "staff2"):
        r = make_client(user).get(url)
        assert r.status_code == 404, user
        assert "残障" not in r.text
    # zh, en, the page the elder switch was pressed on, elder, medic, grid1; the refusal.
    assert _views(db) == before + 6
    assert _views(db, "denied") == 1


@SQLITE
def test_register_page_sets_and_clears(make_client: Clients, db: Session, world: World) -> None:
    homes = _site(db, world)
    grid = make_client("grid1")
    page = "/console/evacuation-needs"
    r = grid.get(page)
    assert r.status_code == 200
    assert "疏散需求" in r.text
    assert "根据年龄和户内人数" in r.text
    # 赵 (derived: no clear button) and 孙 (on the register: a clear button).
    assert f'id="evac-{homes.zhao}"' in r.text
    assert f'action="/console/evacuation-needs/{homes.sun}/clear"' in r.text
    assert f'action="/console/evacuation-needs/{homes.zhao}/clear"' not in r.text
    alan = world.residents["alan"]
    done = _post(
        grid, page, page, {"resident_id": str(alan), "needs": ["mobility", "sight"], "note": "拐杖"}
    )
    assert done.status_code == 303
    entry = db.scalars(select(EvacuationNeed).where(EvacuationNeed.resident_id == alan)).one()
    assert (entry.needs, entry.note) == (["mobility", "sight"], "拐杖")
    en = grid.get(f"{page}?done=saved", headers={"Accept-Language": "en"})
    assert "Cannot walk far or use stairs" in en.text
    assert "needs were saved." in en.text
    bad = _post(grid, page, page, {"resident_id": str(alan), "needs": ["flying"]})
    assert bad.status_code == 422
    foreign = _post(
        grid, page, page, {"resident_id": str(world.residents["carol"]), "needs": ["other"]}
    )
    assert foreign.status_code == 404
    cleared = _post(grid, page, f"{page}/{alan}/clear", {})
    assert cleared.status_code == 303
    db.expire_all()
    assert (
        db.scalars(select(EvacuationNeed).where(EvacuationNeed.resident_id == alan)).first() is None
    )
    actions = [a.action for a in db.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert {"evacuation.view", "evacuation.set", "evacuation.clear"} <= set(actions)
    for user in ("pm1", "alice", "auditor1"):
        assert make_client(user).get(page).status_code == 403, user


@pytest.mark.browser
def test_warning_pages_in_a_browser(
    visit: Callable[..., Visit],  # noqa: F811
    site: LiveSite,  # noqa: F811
) -> None:
    """Warn by ticking a building, then the three pages in Chinese, English and elder mode:
    axe-core, target sizes, elder-mode measurements and no sideways scrolling."""
    engine = make_engine(site.database)
    with make_sessionmaker(engine)() as db:
        seeded = _site(db, site.world)
        incident_id = _incident(db, site.world, node="building:building-1")
    engine.dispose()
    tab = visit()
    tab.login("staff1")
    warn = f"/console/incidents/{incident_id}/warn"
    tab.goto(warn)
    tab.page.check(f"#g-place_ids-{seeded.b2}")
    tab.submit('main form.warn-form button[type="submit"]')
    assert tab.page.url.endswith(f"/console/incidents/{incident_id}?done=warned")

    def bad_form(mode: str) -> None:
        tab.goto(warn)
        tab.submit('main form.warn-form button[type="submit"]')
        assert tab.page.locator("#g-place_ids-error").count() == 1
        tab.check(mode)

    paths = [warn, f"/console/incidents/{incident_id}/door-to-door", "/console/evacuation-needs"]
    _three_ways(tab, paths, bad_form)
    tab.goto(paths[1])
    assert tab.page.locator("button[data-print]").is_visible()
    assert tab.page.locator("table.door-list tbody tr").count() == 1
    _assert_clean(tab)
