"""Console pages: a datastream's chart and table, refused data (escaped), the site plan."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from linli.device.models import Datastream, Device
from linli.telemetry.models import QuarantinedPayload
from tests.conftest import World
from tests.telemetry.seeding import MINUTE_MS, T0, add_device, add_readings

PAGES = ("/console/quarantine", "/console/map")


def _seed(db: Session, world: World) -> tuple[int, int]:
    dev, streams = add_device(db, world.places["c1-b1"], lat=31.2301, lon=121.4701)
    add_readings(db, streams[0], [(T0 + i * MINUTE_MS, 40.0 + i % 10) for i in range(1440)])
    db.execute(update(Device).where(Device.id == dev).values(last_seen_at=dt.datetime.now(dt.UTC)))
    last = T0 + 1439 * MINUTE_MS
    db.execute(
        update(Datastream)
        .where(Datastream.id == streams[0])
        .values(last_at_ms=last, last_value=49.0)
    )
    db.commit()
    return dev, streams[0]


def test_pages_need_a_device_role(make_client, db: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    _dev, sid = _seed(db, world)
    anonymous = make_client()
    for url in (*PAGES, f"/console/datastreams/{sid}"):
        r = anonymous.get(url, follow_redirects=False)
        assert r.status_code in (302, 303), url
        assert r.headers["location"].startswith("/login"), url
    alice = make_client("alice")
    for url in (*PAGES, f"/console/datastreams/{sid}"):
        assert alice.get(url).status_code == 403, url
    assert make_client("staff2").get(f"/console/datastreams/{sid}").status_code == 404


def test_datastream_page_has_chart_and_table(make_client, db: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    _dev, sid = _seed(db, world)
    staff = make_client("staff1")
    r = staff.get(f"/console/datastreams/{sid}?range=24h")
    assert r.status_code == 200, r.text
    html = r.text
    assert f'data-series-url="/api/v1/datastreams/{sid}/series"' in html
    assert '<script src="/static/js/charts.js' in html
    assert "<script>" not in html  # the CSP allows no inline script
    # The table's times are China Standard Time: the last reading (23:59 UTC) is 07:59 next day.
    assert "2026-01-02 07:" in html
    assert f"/api/v1/datastreams/{sid}/export?format=csv" in html
    assert staff.get(f"/console/datastreams/{sid}?range=5y").status_code == 422


def test_quarantine_shows_payloads_as_text(make_client, db: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    dev, _sid = _seed(db, world)
    evil = '<script>alert("x")</script>' + "A" * 2000
    db.execute(
        insert(QuarantinedPayload),
        [
            {
                "transport": "http",
                "device_uid": "noise-1",
                "device_id": dev,
                "reason": "bad <b>json</b>",
                "raw": evil,
                "content_type": "application/json",
                "received_at": dt.datetime(2026, 1, 1, 0, 0, tzinfo=dt.UTC),
            },
            {
                "transport": "mqtt",
                "device_uid": "stranger",
                "device_id": None,
                "reason": "unknown device",
                "raw": "{}",
                "content_type": "",
                "received_at": dt.datetime(2026, 1, 1, 0, 1, tzinfo=dt.UTC),
            },
        ],
    )
    db.commit()
    html = make_client("staff1").get("/console/quarantine").text
    # Payloads of unknown devices could come from any community: administrators only.
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "bad &lt;b&gt;json&lt;/b&gt;" in html
    assert "A" * 600 not in html.replace("A" * 601, "")  # exactly the first 600 characters
    assert "2026-01-01 08:00:00" in html
    assert "stranger" not in html
    other = make_client("staff2").get("/console/quarantine").text
    assert "noise-1" not in other
    for admin in ("admin1", "district"):
        seen = make_client(admin).get("/console/quarantine").text
        assert "stranger" in seen, admin
        assert "noise-1" in seen, admin


def test_site_plan_places_devices_by_status(make_client, db: Session, world: World) -> None:  # type: ignore[no-untyped-def]
    _seed(db, world)
    add_device(db, world.places["c1-b1"], uid="never-1", lat=31.2311, lon=121.4721)
    add_device(db, world.places["c1-b1"], uid="nowhere-1")
    add_device(db, world.places["c2-b1"], uid="other-1", lat=31.0, lon=121.0)
    db.commit()
    r = make_client("staff1").get("/console/map")
    assert r.status_code == 200, r.text
    html = r.text
    plan = html.split('<figure class="site-plan">', 1)[1].split("</figure>", 1)[0]
    assert plan.count('<circle class="m-online"') == 1
    assert plan.count('<polygon class="m-never"') == 1
    assert "nowhere-1" not in plan
    assert "nowhere-1" in html
    assert "other-1" not in html
    assert 'role="img"' in plan
    assert "<caption" in html
    assert "http" not in plan  # drawn here, no map tiles from elsewhere
