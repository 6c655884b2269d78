"""The public environment page and the settings page in a real Chromium: charts drawn from the
feed, and the site's checks (axe-core, target sizes, elder mode, no sideways scrolling) in
Chinese, in English and in elder mode."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import pytest

from linli.core.db import make_engine, make_sessionmaker
from linli.device import service as device_service
from tests.telemetry.seeding import add_device, add_readings
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Site,
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser

MIN = 60_000


@pytest.fixture(scope="module")
def monitors(site: Site) -> Iterator[None]:  # noqa: F811
    """An air station, a noise monitor and a tap-water probe in c1 with 26 hours of readings
    up to the server's present (whole minutes)."""
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    end = int(time.time() * 1000) // MIN * MIN
    stamps = list(range(end - 26 * 60 * MIN, end + 1, MIN))
    with maker() as db:
        compound = site.world.places["c1-compound"]
        specs = (
            ("aq-b1", "air_quality", 31.2291, 121.4453),
            ("nz-b1", "noise", 31.2296, 121.4462),
            ("wq-b1", "water_quality", 31.2287, 121.4447),
        )
        values = {
            "pm25": 130.0,
            "pm10": 150.0,
            "no2": 40.0,
            "o3": 80.0,
            "so2": 9.0,
            "co": 0.8,
            "humidity": 50.0,
            "temperature": 18.0,
            "noise": 50.0,
            "ph": 7.1,
            "turbidity": 0.4,
            "chlorine": 0.3,
        }
        for uid, profile, lat, lon in specs:
            _device, streams = add_device(db, compound, uid=uid, profile=profile, lat=lat, lon=lon)
            keys = {
                s.datastream_id: s.property_key
                for s in device_service.stream_infos(db)
                if s.datastream_id in streams
            }
            for stream_id, key in keys.items():
                add_readings(db, stream_id, [(t, values[key]) for t in stamps])
        db.commit()
    yield None
    engine.dispose()


def test_public_and_settings_pages(
    visit: Callable[..., Visit],  # noqa: F811
    site: Site,  # noqa: F811
    monitors: None,
) -> None:
    c1 = site.world.places["c1"]
    public = f"/environment?place={c1}"
    anyone = visit()
    anyone.goto(public)
    # PM2.5 130 µg/m³ is moderately polluted (HJ 633: IAQI 150–200 for 115–150 µg/m³).
    assert anyone.page.get_attribute(".aqi-figure", "data-aqi-level") == "4"

    def charts_drawn(mode: str) -> None:
        anyone.page.wait_for_selector(".chart-card .chart-plot canvas")
        status = anyone.page.text_content("#chart-status-aqi") or ""
        assert status.strip(), mode
        anyone.page.click('#charts-title ~ figure [data-range="7d"]')
        anyone.page.wait_for_function(
            "() => document.querySelector('#chart-status-aqi').textContent.length > 0"
        )

    _three_ways(anyone, [public], charts_drawn)
    _assert_clean(anyone)
    staff = visit()
    staff.login("staff1")
    _three_ways(staff, [f"/console/environment?place={c1}"])
    _assert_clean(staff)
