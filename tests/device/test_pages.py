"""Console pages of devices: list and filters, registration with the token once, CSV import,
details with datastreams, and who may see and do what."""

from __future__ import annotations

import base64
import re

import httpx
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.device.models import Device
from tests.conftest import World, csrf_of
from tests.device.conftest import Devices


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    factory = make_client
    assert callable(factory)
    client = factory(who)
    assert isinstance(client, TestClient)
    client.cookies.set("linli_lang", lang)
    return client


def test_anonymous_is_sent_to_login(make_client: object, devices: Devices) -> None:
    c = _client(make_client, None)
    for url in (
        "/console/devices",
        "/console/devices/new",
        "/console/devices/import",
        f"/console/devices/{devices.ids['AQ-1']}",
    ):
        r = c.get(url, follow_redirects=False)
        assert r.status_code in (303, 401), url
        if r.status_code == 303:
            assert r.headers["location"].startswith("/login")


def test_resident_is_refused(make_client: object, devices: Devices) -> None:
    c = _client(make_client, "alice")
    assert c.get("/console/devices").status_code == 403
    assert c.get("/console/devices/new").status_code == 403
    assert c.get(f"/console/devices/{devices.ids['AQ-1']}").status_code == 403
    home = c.get("/me")
    assert 'href="/console/devices"' not in home.text


def test_list_shows_status_and_filters(make_client: object, world: World, devices: Devices) -> None:
    c = _client(make_client, "district")
    page = c.get("/console/devices")
    assert page.status_code == 200
    assert 'href="/console/devices"' in page.text  # the nav entry
    assert "AQ-1 station" in page.text
    assert "NZ-2 station" in page.text
    assert "Offline" in page.text
    assert "Never" in page.text
    noise = c.get("/console/devices?profile=noise")
    assert "NZ-2 station" in noise.text
    assert "AQ-1 station" not in noise.text
    c1 = c.get(f"/console/devices?place_id={world.places['c1']}")
    assert "AQ-1 station" in c1.text
    assert "NZ-2 station" not in c1.text
    bad = c.get("/console/devices?place_id=999999&connection=asleep")
    assert bad.status_code == 422
    zh = _client(make_client, "staff2", lang="zh_Hans_CN")
    listing = zh.get("/console/devices")
    assert "NZ-2 station" in listing.text
    assert "AQ-1 station" not in listing.text
    assert "噪声监测仪" in listing.text
    assert "离线" in listing.text
    assert "设备" in listing.text


def test_register_one_shows_the_token_once(
    make_client: object, world: World, devices: Devices, db: Session
) -> None:
    c = _client(make_client, "pm1")
    form = c.get("/console/devices/new")
    assert form.status_code == 200
    token = csrf_of(form.text)
    data = {
        "csrf_token": token,
        "uid": "SMK-9",
        "name": "3号楼烟感",
        "place_id": str(world.places["c1-b1"]),
        "profile": "smoke_detector",
        "latitude": "31.2",
        "longitude": "",
    }
    missing_csrf = c.post(
        "/console/devices/new", data={k: v for k, v in data.items() if k != "csrf_token"}
    )
    assert missing_csrf.status_code == 403
    bad = c.post("/console/devices/new", data={**data, "uid": "bad uid", "latitude": "north"})
    assert bad.status_code == 422
    assert 'aria-invalid="true"' in bad.text
    r = c.post("/console/devices/new", data=data)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    shown = re.search(r'<code class="token">(dt_[^<]+)</code>', r.text)
    assert shown
    assert "only time you can see" in r.text
    device = db.scalars(select(Device).where(Device.uid == "SMK-9")).one()
    detail = c.get(f"/console/devices/{device.id}")
    assert shown.group(1) not in detail.text
    again = c.post("/console/devices/new", data=data)
    assert again.status_code == 409
    elsewhere = c.post(
        "/console/devices/new", data={**data, "uid": "SMK-10", "place_id": str(world.places["c2"])}
    )
    assert elsewhere.status_code in (403, 422)
    assert db.scalar(select(func.count()).select_from(Device).where(Device.uid == "SMK-10")) == 0


def test_staff_of_another_community_cannot_open_or_change(
    make_client: object, devices: Devices, db: Session
) -> None:
    c = _client(make_client, "staff2")
    did = devices.ids["AQ-1"]
    assert c.get(f"/console/devices/{did}").status_code == 404
    page = c.get("/console/devices")
    token = csrf_of(page.text)
    assert c.post(f"/console/devices/{did}/disable", data={"csrf_token": token}).status_code == 404
    assert c.get("/console/devices/new").status_code == 403  # community_staff only views
    db.expire_all()
    device = db.get(Device, did)
    assert device is not None
    assert device.status == "active"


def test_detail_has_datastreams_and_manage_forms(
    make_client: object, devices: Devices, db: Session
) -> None:
    c = _client(make_client, "pm1")
    did = devices.ids["AQ-1"]
    page = c.get(f"/console/devices/{did}")
    assert page.status_code == 200
    assert "PM2.5" in page.text
    assert "µg/m³" in page.text
    token = csrf_of(page.text)
    r = c.post(
        f"/console/devices/{did}/disable", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303
    db.expire_all()
    device = db.get(Device, did)
    assert device is not None
    assert device.status == "disabled"
    assert "Disabled" in c.get(f"/console/devices/{did}").text
    rotated = c.post(f"/console/devices/{did}/token", data={"csrf_token": token})
    assert rotated.status_code == 200
    assert "dt_" in rotated.text
    viewer = _client(make_client, "grid1")
    seen = viewer.get(f"/console/devices/{did}")
    assert seen.status_code == 200
    assert "Issue a new token" not in seen.text


CSV_OK = (
    "uid,name,place_code,profile,latitude,longitude\n"
    "WL-1,低洼积水1,t-c1-compound,water_level,31.1,121.4\n"
    "EM-1,1号楼电表,t-c1-b1,electricity_meter,,\n"
)


def _upload(c: TestClient, content: str | bytes, token: str) -> httpx.Response:
    raw = content.encode() if isinstance(content, str) else content
    response: httpx.Response = c.post(
        "/console/devices/import",
        data={"csrf_token": token},
        files={"sheet": ("devices.csv", raw, "text/csv")},
    )
    return response


def test_csv_import_all_or_nothing(make_client: object, devices: Devices, db: Session) -> None:
    c = _client(make_client, "pm1")
    token = csrf_of(c.get("/console/devices/import").text)
    bad = (
        CSV_OK
        + "WL-1,again,t-c1-compound,water_level,,\n"  # duplicate uid in the file
        + "AQ-1,taken,t-c1-compound,air_quality,,\n"  # already registered
        + "X-1,elsewhere,t-c2,noise,,\n"  # not a place pm1 manages
        + "X-2,nowhere,no-such-place,noise,,\n"
        + "X-3,toaster,t-c1,toaster,95,\n"
    )
    r = _upload(c, bad, token)
    assert r.status_code == 422
    assert r.text.count("<tr>") >= 7  # header + six problems
    for text in (
        "already on an earlier line",
        "already registered",
        "cannot register devices at this place",
        "No place has this code",
        "Unknown device profile",
        "decimal degrees",
    ):
        assert text in r.text, text
    assert (
        db.scalar(select(func.count()).select_from(Device).where(Device.uid.in_(["WL-1", "EM-1"])))
        == 0
    )
    r = _upload(c, CSV_OK, token)
    assert r.status_code == 200, r.text
    link = re.search(
        r'href="data:text/csv;charset=utf-8;base64,([^"]+)" download="device-tokens.csv"', r.text
    )
    assert link
    tokens_csv = base64.b64decode(link.group(1)).decode("utf-8-sig")
    lines = tokens_csv.strip().splitlines()
    assert lines[0] == "uid,name,token"
    assert [line.split(",")[0] for line in lines[1:]] == ["WL-1", "EM-1"]
    stored = db.scalars(select(Device).where(Device.uid == "WL-1")).one()
    assert stored.latitude == 31.1
    assert _upload(c, b"\xff\xfe\x00garbage", token).status_code == 422
    assert _upload(c, "name,profile\nx,y\n", token).status_code == 422
    assert _upload(c, "", token).status_code == 422


def test_csv_import_refused_for_viewers(make_client: object, devices: Devices) -> None:
    c = _client(make_client, "staff1")
    token = csrf_of(c.get("/console/devices").text)
    assert _upload(c, CSV_OK, token).status_code == 403
