"""Averaging raw samples with the data-validity rules of GB 3095—2012 / HJ 663 and the EPA."""

from __future__ import annotations

import datetime as dt
import math
from zoneinfo import ZoneInfo

import pytest

from linli.environment import aqi, averaging
from linli.environment.averaging import (
    HOUR_MS,
    daily_inputs,
    daily_value_from_hourly,
    hourly_inputs,
    hourly_means,
    nowcast,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = dt.date(2026, 5, 1)
MIDNIGHT = int(dt.datetime(2026, 5, 1, tzinfo=SHANGHAI).timestamp() * 1000)
MINUTE = 60_000


def minutes(
    hour: int, count: int, value: float, *, start: int = MIDNIGHT
) -> list[tuple[int, float]]:
    """``count`` one-minute samples from the start of local ``hour``."""
    return [(start + hour * HOUR_MS + i * MINUTE, value) for i in range(count)]


def hours(values: dict[int, float], *, start: int = MIDNIGHT) -> list[tuple[int, float]]:
    """Full one-minute data for the given local hours (hour → value)."""
    return [s for hour, value in values.items() for s in minutes(hour, 60, value, start=start)]


# --- hourly means -----------------------------------------------------------------------------


def test_an_hour_needs_45_minutes_of_data() -> None:
    enough = hourly_means(minutes(0, 45, 10.0))
    short = hourly_means(minutes(0, 44, 10.0))
    assert enough == [(MIDNIGHT, 10.0)]
    assert short == [(MIDNIGHT, None)]


def test_coverage_follows_the_reporting_interval() -> None:
    every_5_min = [(MIDNIGHT + i * 5 * MINUTE, 20.0 + i) for i in range(9)]
    assert hourly_means(every_5_min, interval_s=300) == [(MIDNIGHT, 24.0)]
    assert hourly_means(every_5_min[:8], interval_s=300) == [(MIDNIGHT, None)]
    # Nine samples crowded into ten minutes cover ten minutes, not 45.
    crowded = [(MIDNIGHT + i * MINUTE, 1.0) for i in range(9)]
    assert hourly_means(crowded, interval_s=300) == [(MIDNIGHT, None)]


def test_hours_are_local_clock_hours() -> None:
    # 00:30 in Shanghai is 16:30 UTC the day before: it belongs to the local hour from 00:00.
    samples = [(MIDNIGHT + 30 * MINUTE + i * MINUTE, 5.0) for i in range(60)]
    result = hourly_means(samples)
    assert [h for h, _v in result] == [MIDNIGHT, MIDNIGHT + HOUR_MS]
    assert [v for _h, v in result] == [None, None]  # 30 minutes in each hour
    assert dt.datetime.fromtimestamp(result[0][0] / 1000, SHANGHAI).hour == 0
    kathmandu = hourly_means([(MIDNIGHT + i * MINUTE, 1.0) for i in range(120)], "Asia/Kathmandu")
    # UTC+05:45: the two hours cover 21:45–23:45 local, so 15, 60 and 45 minutes.
    assert [v for _h, v in kathmandu] == [None, 1.0, 1.0]


def test_hours_across_a_daylight_saving_change() -> None:
    # Berlin moves from 02:00 CET to 03:00 CEST at 01:00 UTC on 29 March 2026.
    utc = int(dt.datetime(2026, 3, 29, tzinfo=dt.UTC).timestamp() * 1000)
    result = hourly_means([(utc + i * MINUTE, 2.0) for i in range(120)], "Europe/Berlin")
    berlin = ZoneInfo("Europe/Berlin")
    local = [dt.datetime.fromtimestamp(h / 1000, berlin).strftime("%H:%M") for h, _v in result]
    assert local == ["01:00", "03:00"]
    assert [v for _h, v in result] == [2.0, 2.0]


def test_a_range_lists_every_hour_and_ignores_broken_samples() -> None:
    samples = [*minutes(1, 60, 8.0), (MIDNIGHT + 2 * HOUR_MS, math.nan)]
    listed = hourly_means(samples, start_ms=MIDNIGHT, end_ms=MIDNIGHT + 3 * HOUR_MS)
    assert listed == [(MIDNIGHT, None), (MIDNIGHT + HOUR_MS, 8.0), (MIDNIGHT + 2 * HOUR_MS, None)]
    assert hourly_means(minutes(0, 60, -0.5)) == [(MIDNIGHT, 0.0)]  # noise around zero


# --- daily values (China) ---------------------------------------------------------------------


def test_24_hour_mean_needs_20_valid_hours() -> None:
    twenty = hours({h: 10.0 + h for h in range(20)})
    nineteen = hours({h: 10.0 + h for h in range(19)})
    assert daily_inputs({"pm25": twenty}, DAY)["pm25"] == pytest.approx(19.5)
    assert daily_inputs({"pm25": nineteen}, DAY)["pm25"] is None
    assert daily_inputs({"pm25": twenty}, day_start_ms=MIDNIGHT)["pm25"] == pytest.approx(19.5)
    # Keys that are not pollutants (humidity, temperature) are left alone.
    assert set(daily_inputs({"pm25": twenty, "humidity": twenty}, DAY)) == {
        *aqi.POLLUTANTS,
        "o3_1h",
    }
    # Samples of the next day do not count.
    tomorrow = hours(dict.fromkeys(range(24), 99.0), start=MIDNIGHT + 24 * HOUR_MS)
    assert daily_inputs({"pm25": twenty + tomorrow}, DAY)["pm25"] == pytest.approx(19.5)


def test_ozone_daily_maximum_8_hour_mean() -> None:
    # 100 µg/m³ all day, 180 from 12:00 to 15:59: the best 8-hour window holds four hours of 180.
    values = {h: 180.0 if 12 <= h < 16 else 100.0 for h in range(24)}
    daily = daily_inputs({"o3": hours(values)}, DAY)
    assert daily["o3"] == pytest.approx(140.0)
    assert daily["o3_1h"] == pytest.approx(180.0)
    result = aqi.compute(daily, standard="cn-2026")
    assert result.iaqi["o3"] == 84  # the larger of 8-hour 140 → 84 and 1-hour 180 → 75


def test_an_8_hour_window_needs_6_hours_and_a_day_14_windows() -> None:
    # Data only from 00:00 to 13:59: windows ending 08:00 … 16:00 have ≥ 6 hours (9 windows).
    few = hours(dict.fromkeys(range(14), 100.0))
    assert daily_inputs({"o3": few}, DAY)["o3"] is None
    # … unless the maximum is above the 8-hour limit of 160 µg/m³ (HJ 663).
    high = hours(dict.fromkeys(range(14), 170.0))
    assert daily_inputs({"o3": high}, DAY)["o3"] == pytest.approx(170.0)
    # Data from 00:00 to 18:59: windows ending 08:00 … 21:00 are valid (14): enough.
    enough = hours(dict.fromkeys(range(19), 100.0))
    assert daily_inputs({"o3": enough}, DAY)["o3"] == pytest.approx(100.0)
    # A window with 5 hours does not count even when it is the highest.
    gappy = dict.fromkeys(range(24), 100.0) | dict.fromkeys(range(16, 21), 300.0)
    for h in (21, 22, 23):
        del gappy[h]
    # 16:00–23:59 has five hours of 300 only; 15:00–22:59 has six: (100 + 5 × 300) / 6.
    assert daily_inputs({"o3": hours(gappy)}, DAY)["o3"] == pytest.approx((100.0 + 1500.0) / 6)


def test_daily_value_from_hourly_matches_the_raw_path() -> None:
    values = {h: 50.0 + 3 * h for h in range(24)}
    raw = daily_inputs({"pm10": hours(values), "o3": hours(values)}, DAY)
    hourly = [(MIDNIGHT + h * HOUR_MS, v) for h, v in values.items()]
    for key in ("pm10", "o3", "o3_1h"):
        assert daily_value_from_hourly(key, hourly, day=DAY) == pytest.approx(raw[key])
    assert daily_value_from_hourly("pm10", hourly[:19], day_start_ms=MIDNIGHT) is None


# --- hourly values (China) --------------------------------------------------------------------


def test_hourly_inputs_take_the_last_complete_hour() -> None:
    so2 = hours({h: 100.0 + h for h in range(24)})
    pm = hours({14: 40.0, 15: 80.0})
    found = hourly_inputs({"so2": so2, "pm25": pm}, MIDNIGHT + 16 * HOUR_MS)
    assert found["pm25"] == 80.0
    assert found["so2"] == 115.0
    assert found["so2_24h"] is None  # only 16 hours so far
    assert found["o3"] is None
    # A time inside an hour is moved back to its start: 16:20 reports 15:00–16:00.
    assert hourly_inputs({"pm25": pm}, MIDNIGHT + 16 * HOUR_MS + 20 * MINUTE)["pm25"] == 80.0
    next_day = hourly_inputs({"so2": so2}, MIDNIGHT + 24 * HOUR_MS)
    assert next_day["so2_24h"] == pytest.approx(111.5)
    assert next_day["so2"] == 123.0


# --- United States ----------------------------------------------------------------------------


def test_nowcast() -> None:
    assert nowcast([10.0] * 12) == pytest.approx(10.0)
    # Weight factor min/max = 0.5: (20 + 0.5 × 10) / 1.5.
    assert nowcast([20.0, 10.0]) == pytest.approx(50 / 3)
    # A weight factor below 0.5 is raised to 0.5.
    assert nowcast([40.0, 10.0]) == pytest.approx((40 + 5) / 1.5)
    assert nowcast([30.0, 27.0, 24.0]) == pytest.approx(
        (30 + 0.8 * 27 + 0.64 * 24) / (1 + 0.8 + 0.64)
    )
    assert nowcast([None, None, 5.0, 5.0]) is None  # needs two of the three latest hours
    assert nowcast([None, 5.0, 5.0]) == pytest.approx(5.0)


def test_epa_daily_values() -> None:
    values = {h: 10.0 + h for h in range(24)}
    next_morning = hours(dict.fromkeys(range(8), 10.0), start=MIDNIGHT + 24 * HOUR_MS)
    series = {p: hours(values) for p in ("pm25", "no2", "so2", "co")}
    series["o3"] = hours(values) + next_morning
    found = daily_inputs(series, DAY, standard="us-epa")
    assert found["pm25"] == pytest.approx(21.5)  # 24-hour mean
    assert found["no2"] == found["so2"] == pytest.approx(33.0)  # daily maximum 1-hour
    # CO: windows start in the day; 18:00–01:59 still has six hours (75 %): 18…23 → 30.5.
    assert found["co"] == pytest.approx(30.5)
    assert found["o3"] == pytest.approx(29.5)  # windows start 07:00 … 23:00
    seventeen = {p: hours(dict.fromkeys(range(17), 10.0)) for p in ("pm25", "no2")}
    assert daily_inputs(seventeen, DAY, standard="us-epa") == dict.fromkeys(
        (*aqi.POLLUTANTS, "o3_1h"), None
    )


def test_epa_hourly_values() -> None:
    pm = hours(dict.fromkeys(range(12), 12.0))
    o3 = hours(dict.fromkeys(range(2, 8), 100.0))
    found = hourly_inputs({"pm25": pm, "o3": o3}, MIDNIGHT + 12 * HOUR_MS, standard="us-epa")
    assert found["pm25"] == pytest.approx(12.0)  # NowCast
    assert found["o3"] is None  # 04:00–11:59 has only four hours
    at_ten = hourly_inputs({"o3": o3}, MIDNIGHT + 10 * HOUR_MS, standard="us-epa")
    assert at_ten["o3"] == pytest.approx(100.0)  # 02:00–09:59: six hours


def test_module_constants_follow_the_rules() -> None:
    assert averaging.MIN_HOUR_COVERAGE_MS == 45 * MINUTE
    assert averaging.CN_MIN_HOURS_PER_DAY == 20
    assert averaging.CN_MIN_HOURS_PER_8H == 6
    assert averaging.CN_MIN_8H_PER_DAY == 14
