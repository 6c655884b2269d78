"""The alarm console pages without a browser: board, detail, forms, plan, live row, languages."""

from __future__ import annotations

import re
from collections.abc import Callable

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linli.alarm.models import Alarm, AlarmEvent
from tests.alarm.conftest import Setup, raise_alarm
from tests.conftest import World, csrf_of


def test_board_lists_open_alarms_with_severity_in_words(
    make_client: Callable[..., TestClient], db: Session, world: World, setup: Setup
) -> None:
    crit = raise_alarm(db, setup, "c1-b1", device="SMK-1", title="烟雾浓度过高")
    minor = raise_alarm(db, setup, "c1-b1u1", severity="minor", title="噪声偏高")
    other = raise_alarm(db, setup, "c2", title="别的社区的报警")
    staff = make_client("staff1")
    page = staff.get("/console/alarms", headers={"Accept-Language": "zh-CN"})
    assert page.status_code == 200
    html = page.text
    assert f'id="alarm-{crit}"' in html
    assert f'id="alarm-{minor}"' in html
    assert f'id="alarm-{other}"' not in html
    assert "别的社区的报警" not in html
    # Newest first.
    assert html.index(f'id="alarm-{minor}"') < html.index(f'id="alarm-{crit}"')
    assert "紧急" in html  # severity as text, not colour alone
    assert "SMK-1 探测器" in html
    assert 'data-stream="/console/alarms/stream"' in html
    assert 'aria-live="polite"' in html
    assert f'action="/console/alarms/{crit}/acknowledge"' in html
    assert 'href="/console/alarms"' in html  # the navigation entry
    en = staff.get("/console/alarms", headers={"Accept-Language": "en"}).text
    assert "Critical" in en
    assert "紧急" not in en
    assert "Alarm board" in en
    filtered = staff.get("/console/alarms?severity=minor").text
    assert f'id="alarm-{minor}"' in filtered
    assert f'id="alarm-{crit}"' not in filtered
    bad = staff.get("/console/alarms?severity=huge&place_id=abc")
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    outside = staff.get(f"/console/alarms?place_id={world.places['c2']}")
    assert outside.status_code == 422


def test_acknowledge_from_the_board_without_javascript(
    make_client: Callable[..., TestClient], db: Session, world: World, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1", device="SMK-1")
    staff = make_client("staff1")
    board = staff.get("/console/alarms?severity=critical").text
    token = csrf_of(board)
    r = staff.post(
        f"/console/alarms/{aid}/acknowledge",
        data={"csrf_token": token, "next": "/console/alarms?severity=critical"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert r.headers["location"] == "/console/alarms?severity=critical&done=acknowledged"
    after = staff.get(r.headers["location"]).text
    assert f'action="/console/alarms/{aid}/acknowledge"' not in after
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.acknowledged_by_account_id == world.accounts["staff1"]
    # Twice: a polite 409 page; a foreign "next" is not followed.
    again = staff.post(
        f"/console/alarms/{aid}/acknowledge",
        data={"csrf_token": token, "next": "https://evil.example/"},
        follow_redirects=False,
    )
    assert again.status_code == 409
    other = raise_alarm(db, setup, "c1-b1")
    r = staff.post(
        f"/console/alarms/{other}/acknowledge",
        data={"csrf_token": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert r.headers["location"] == f"/console/alarms/{other}?done=acknowledged"
    # Without the token nothing happens.
    third = raise_alarm(db, setup, "c1-b1")
    r = staff.post(f"/console/alarms/{third}/acknowledge", data={}, follow_redirects=False)
    assert r.status_code == 403
    db.expire_all()
    stored = db.get(Alarm, third)
    assert stored is not None
    assert stored.acknowledged_at is None


def test_detail_comment_and_refusals(
    make_client: Callable[..., TestClient], db: Session, world: World, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1", device="SMK-1", details={"above": 70})
    staff = make_client("staff1")
    page = staff.get(f"/console/alarms/{aid}")
    assert page.status_code == 200
    assert 'id="timeline"' in page.text
    token = csrf_of(page.text)
    r = staff.post(f"/console/alarms/{aid}/comments", data={"csrf_token": token, "text": "   "})
    assert r.status_code == 422
    assert 'id="f-text-error"' in r.text
    r = staff.post(
        f"/console/alarms/{aid}/comments",
        data={"csrf_token": token, "text": "物业已到场"},
        follow_redirects=False,
    )
    assert r.status_code == 303
    shown = staff.get(r.headers["location"]).text
    assert "物业已到场" in shown
    assert "Staff1" in shown  # who wrote it
    texts = db.query(AlarmEvent.text).filter(AlarmEvent.alarm_id == aid).all()
    assert ("物业已到场",) in texts
    # The auditor reads it without the forms; staff of c2 and a resident get nothing.
    auditor = make_client("auditor1")
    seen = auditor.get(f"/console/alarms/{aid}")
    assert seen.status_code == 200
    assert "物业已到场" in seen.text
    assert f'action="/console/alarms/{aid}/acknowledge"' not in seen.text
    assert f'action="/console/alarms/{aid}/comments"' not in seen.text
    assert make_client("staff2").get(f"/console/alarms/{aid}").status_code == 404
    resident = make_client("alice")
    assert resident.get("/console/alarms").status_code == 403
    assert resident.get("/console/alarms/plan").status_code == 403
    assert 'href="/console/alarms"' not in resident.get("/me").text


def test_live_row_follows_the_board_filters(
    make_client: Callable[..., TestClient], db: Session, setup: Setup
) -> None:
    aid = raise_alarm(db, setup, "c1-b1", device="SMK-1", title="水浸报警")
    staff = make_client("staff1")
    row = staff.get(f"/console/alarms/{aid}/row")
    assert row.status_code == 200
    assert row.text.strip().startswith(f'<tr id="alarm-{aid}"')
    assert "水浸报警" in row.text
    assert 'name="csrf_token"' in row.text
    assert staff.get(f"/console/alarms/{aid}/row?severity=minor").status_code == 204
    assert staff.get(f"/console/alarms/{aid}/row?status=cleared").status_code == 204
    assert make_client("staff2").get(f"/console/alarms/{aid}/row").status_code == 404


def test_plan_places_devices_and_counts_up_the_tree(
    make_client: Callable[..., TestClient], db: Session, world: World, setup: Setup
) -> None:
    raise_alarm(db, setup, "c1-b1", device="SMK-1", severity="major")
    raise_alarm(db, setup, "c1-b1", device="SMK-1", severity="warning")
    raise_alarm(db, setup, "c1-b1u1", device="SMK-2", severity="critical")
    raise_alarm(db, setup, "c2", device="NZ-2", severity="critical")
    staff = make_client("staff1")
    page = staff.get("/console/alarms/plan")
    assert page.status_code == 200
    html = page.text
    # SMK-1 has a position: a marker labelled by its worst alarm (major beats warning).
    marker = re.search(
        rf'<g class="plan-device" data-device="{setup.devices["SMK-1"]}" data-severity="(\w*)"',
        html,
    )
    assert marker is not None
    assert marker.group(1) == "major"
    # SMK-2 has none: listed beside the plan; c2's device is not shown at all.
    assert f'data-device="{setup.devices["SMK-2"]}" data-severity' not in html
    assert "SMK-2 探测器" in html
    assert "NZ-2" not in html
    # The building's alarms count on its compound and community.
    tree = html[html.index('class="tree alarm-tree"') :]
    for place in ("c1", "c1-compound", "c1-b1"):
        link = f'href="/console/alarms?place_id={world.places[place]}"'
        assert link in tree, place
        entry = tree[tree.index(link) :]
        counts = entry[: entry.index("</span>", entry.index("tree-count sev-text-critical"))]
        assert "1" in counts
    assert f'place_id={world.places["c2"]}"' not in tree
    assert f'place_id={world.places["city"]}"' not in tree


def test_odd_filters_are_form_errors_not_server_errors(
    make_client: Callable[..., TestClient], setup: Setup
) -> None:
    staff = make_client("staff1")
    for query in ("place_id=0", "place_id=9999999999", "place_id=-1", "status=closed"):
        r = staff.get(f"/console/alarms?{query}")
        assert r.status_code == 422, (query, r.status_code)
    assert staff.get("/console/alarms?place_id=" + "9" * 13).status_code == 422
