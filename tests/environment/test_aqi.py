"""The AQI engine against the tables of HJ 633—2026, HJ 633—2012 and the EPA TAD (2024)."""

from __future__ import annotations

import datetime as dt
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.core.errors import LinliError
from linli.environment import aqi
from linli.environment.aqi import POLLUTANTS, compute, iaqi, standard_for

MOLAR_VOLUME = 24.45


def ugm3(ppb: float, molar_mass: float) -> float:
    """A gas concentration in ppb as µg/m³ at 25 °C (for ppm and mg/m³ the same)."""
    return ppb * molar_mass / MOLAR_VOLUME


def cn(pollutant: str, value: float, standard: str = "cn-2026", mode: str = "daily") -> int | None:
    return iaqi(pollutant, value, standard=standard, mode=mode)


def us(pollutant: str, value: float) -> int | None:
    return iaqi(pollutant, value, standard="us-epa", mode="daily")


# --- China ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("standard", "pollutant", "value", "expected"),
    [
        # The values the revision is known for: PM2.5 IAQI 100 at 60, PM10 at 120.
        ("cn-2026", "pm25", 60, 100),
        ("cn-2026", "pm25", 75, 114),
        ("cn-2026", "pm25", 35, 50),
        ("cn-2026", "pm25", 115, 150),
        ("cn-2026", "pm10", 120, 100),
        ("cn-2026", "pm10", 50, 50),
        ("cn-2026", "pm10", 150, 112),  # ceil(100 + 50 × 30/130) = ceil(111.5)
        ("cn-2012", "pm25", 75, 100),
        ("cn-2012", "pm25", 76, 102),  # ceil(101.25): IAQI is rounded up
        ("cn-2012", "pm25", 0, 0),
        ("cn-2012", "pm25", 500, 500),
        ("cn-2012", "pm10", 150, 100),
        ("cn-2012", "pm10", 120, 85),
        # Breakpoints that both standards share (HJ 633—2012 Table 1).
        ("cn-2012", "so2", 150, 100),
        ("cn-2026", "so2", 475, 150),
        ("cn-2012", "no2", 80, 100),
        ("cn-2026", "no2", 940, 500),
        ("cn-2012", "co", 4, 100),
        ("cn-2026", "co", 60, 500),
        ("cn-2012", "o3", 160, 100),
        ("cn-2012", "o3", 265, 200),
        ("cn-2012", "o3", 266, 201),
        ("cn-2026", "o3", 800, 300),
    ],
)
def test_chinese_daily_sub_indices(
    standard: str, pollutant: str, value: float, expected: int
) -> None:
    assert cn(pollutant, value, standard) == expected


@pytest.mark.parametrize(
    ("pollutant", "value", "expected"),
    [
        ("so2", 150, 50),
        ("so2", 500, 100),
        ("so2", 800, 200),
        ("no2", 200, 100),
        ("no2", 3840, 500),
        ("co", 10, 100),
        ("co", 150, 500),
        ("o3", 200, 100),
        ("o3", 1200, 500),
        ("pm25", 60, 100),  # real-time PM is read on its 24-hour table
        ("pm10", 120, 100),
    ],
)
def test_chinese_hourly_sub_indices(pollutant: str, value: float, expected: int) -> None:
    assert cn(pollutant, value, "cn-2026", "hourly") == expected


def test_sulphur_dioxide_above_800_uses_the_24_hour_sub_index() -> None:
    # HJ 633 Table 1 note 2. Without a 24-hour value the 1-hour table's top (200) is kept.
    alone = compute({"so2": 900}, standard="cn-2012", mode="hourly")
    assert alone.iaqi["so2"] == 200
    with_day = compute({"so2": 900, "so2_24h": 500}, standard="cn-2012", mode="hourly")
    assert with_day.iaqi["so2"] == 154  # ceil(150 + 50 × 25/325)
    below = compute({"so2": 700, "so2_24h": 1000}, standard="cn-2012", mode="hourly")
    assert below.iaqi["so2"] == 167  # the 1-hour value rules at or below 800


def test_ozone_8_hour_above_800_uses_the_1_hour_sub_index() -> None:
    # HJ 633 Table 1 note 3.
    assert compute({"o3": 850}, standard="cn-2026").iaqi["o3"] == 300
    assert compute({"o3": 850, "o3_1h": 900}, standard="cn-2026").iaqi["o3"] == 350
    # Otherwise the daily O₃ sub-index is the larger of the 8-hour and 1-hour ones.
    assert compute({"o3": 150, "o3_1h": 210}, standard="cn-2026").iaqi["o3"] == 105
    assert compute({"o3": 150, "o3_1h": 100}, standard="cn-2026").iaqi["o3"] == 92
    assert compute({"o3_1h": 210}, standard="cn-2026").iaqi["o3"] == 105


def test_primary_pollutant_only_above_50_and_ties_name_all() -> None:
    clean = compute({"pm25": 30, "pm10": 40}, standard="cn-2012")
    assert clean.aqi == 43
    assert clean.primary == ()
    assert clean.level == 1
    assert clean.category == "Excellent"
    assert clean.colour == "#00E400"
    tie = compute({"pm25": 75, "pm10": 150, "no2": 20}, standard="cn-2012")
    assert tie.aqi == 100
    assert tie.primary == ("pm25", "pm10")
    assert tie.exceeding == ()
    assert tie.level == 2
    assert tie.category == "Good"
    assert tie.colour == "#FFFF00"
    polluted = compute({"pm25": 160, "o3": 100}, standard="cn-2026")
    assert polluted.primary == ("pm25",)
    assert polluted.exceeding == ("pm25",)
    assert polluted.aqi == 210
    assert polluted.level == 5
    assert polluted.category == "Heavily polluted"
    assert polluted.colour == "#99004C"


@pytest.mark.parametrize(
    ("value", "level", "category", "colour"),
    [
        (0, 1, "Excellent", "#00E400"),
        (50, 1, "Excellent", "#00E400"),
        (51, 2, "Good", "#FFFF00"),
        (101, 3, "Lightly polluted", "#FF7E00"),
        (151, 4, "Moderately polluted", "#FF0000"),
        (201, 5, "Heavily polluted", "#99004C"),
        (300, 5, "Heavily polluted", "#99004C"),
        (301, 6, "Severely polluted", "#7E0023"),
        (500, 6, "Severely polluted", "#7E0023"),
    ],
)
def test_chinese_levels(value: int, level: int, category: str, colour: str) -> None:
    band = aqi.level_of("cn-2026", value)
    assert (band.level, band.category, band.colour) == (level, category, colour)


def test_beyond_the_table_is_500_and_said_so() -> None:
    result = compute({"pm25": 650, "pm10": 90}, standard="cn-2026")
    assert result.aqi == 500
    assert result.beyond_index == ("pm25",)
    assert result.level == 6
    assert compute({"pm25": 500}, standard="cn-2026").beyond_index == ()


# --- United States ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pollutant", "value", "expected"),
    [
        # 2024 PM2.5 breakpoints.
        ("pm25", 9.0, 50),
        ("pm25", 9.1, 51),
        ("pm25", 12.0, 56),
        ("pm25", 35.4, 100),
        ("pm25", 35.45, 100),  # truncated to 35.4 before the table is read
        ("pm25", 35.5, 101),
        ("pm25", 55.4, 150),
        ("pm25", 125.4, 200),
        ("pm25", 225.4, 300),
        ("pm25", 325.4, 500),
        ("pm10", 54, 50),
        ("pm10", 154.9, 100),
        ("pm10", 155, 101),
        ("pm10", 604, 500),
        # Gases, given in µg/m³ (mg/m³ for CO) and converted at 25 °C.
        ("o3", ugm3(78, 48.00), 126),  # TAD worked example: 0.078 ppm 8-hour → 126
        ("o3", ugm3(54, 48.00), 50),
        ("o3", ugm3(70, 48.00), 100),
        ("o3", ugm3(200, 48.00), 300),
        ("co", ugm3(4.4, 28.01), 50),
        ("co", ugm3(9.4, 28.01), 100),
        ("co", ugm3(50.4, 28.01), 500),
        ("no2", ugm3(53, 46.01), 50),
        ("no2", ugm3(100, 46.01), 100),
        ("no2", ugm3(360, 46.01), 150),
        ("no2", ugm3(2049, 46.01), 500),
        ("so2", ugm3(35, 64.07), 50),
        ("so2", ugm3(75, 64.07), 100),
        ("so2", ugm3(304, 64.07), 200),
    ],
)
def test_epa_sub_indices(pollutant: str, value: float, expected: int) -> None:
    assert us(pollutant, value) == expected


def test_epa_sulphur_dioxide_above_304_ppb_uses_24_hours() -> None:
    one_hour = ugm3(400, 64.07)
    assert compute({"so2": one_hour}, standard="us-epa").iaqi["so2"] == 200
    day = ugm3(305, 64.07)
    assert compute({"so2": one_hour, "so2_24h": day}, standard="us-epa").iaqi["so2"] == 201
    low_day = ugm3(100, 64.07)
    assert compute({"so2": one_hour, "so2_24h": low_day}, standard="us-epa").iaqi["so2"] == 200


def test_epa_ozone_one_hour_counts_from_0_125_ppm() -> None:
    eight = ugm3(60, 48.00)  # 0.060 ppm → 67
    assert compute({"o3": eight}, standard="us-epa").iaqi["o3"] == 67
    assert compute({"o3": eight, "o3_1h": ugm3(100, 48.00)}, standard="us-epa").iaqi["o3"] == 67
    assert compute({"o3": eight, "o3_1h": ugm3(130, 48.00)}, standard="us-epa").iaqi["o3"] == 107
    # Above 0.200 ppm the 8-hour value defines no index: the 1-hour one does (300 without it).
    high = ugm3(250, 48.00)
    assert compute({"o3": high}, standard="us-epa").iaqi["o3"] == 300
    assert compute({"o3": high, "o3_1h": ugm3(450, 48.00)}, standard="us-epa").iaqi["o3"] == 346
    assert compute({"o3_1h": ugm3(100, 48.00)}, standard="us-epa").missing == POLLUTANTS


def test_epa_categories_and_primary_even_when_good() -> None:
    good = compute({"pm25": 5.0, "pm10": 20}, standard="us-epa")
    assert good.aqi == 28
    assert good.primary == ("pm25",)
    assert good.category == "US AQI: Good"
    assert good.colour == "#00E400"
    assert good.level == 1
    bands = [aqi.level_of("us-epa", v) for v in (100, 150, 200, 300, 301)]
    assert [b.category for b in bands] == [
        "Moderate",
        "Unhealthy for Sensitive Groups",
        "Unhealthy",
        "Very Unhealthy",
        "Hazardous",
    ]
    assert [b.colour for b in bands] == ["#FFFF00", "#FF7E00", "#FF0000", "#8F3F97", "#7E0023"]
    assert compute({"pm25": 400}, standard="us-epa").beyond_index == ("pm25",)


# --- missing data, humidity, choice of standard, bad input -----------------------------------


def test_missing_pollutants_are_named_and_no_value_gives_no_index() -> None:
    partial = compute({"pm25": 80, "pm10": None, "co": None}, standard="cn-2026")
    assert partial.aqi == 119
    assert partial.missing == ("pm10", "o3", "no2", "so2", "co")
    empty = compute({"pm25": None}, standard="cn-2026")
    assert empty.aqi is None
    assert empty.level is None
    assert empty.primary == ()
    assert empty.category == "No index"
    assert empty.missing == POLLUTANTS


@pytest.mark.parametrize(
    ("humidity", "flagged"), [(None, False), (0, False), (70, False), (70.1, True), (100, True)]
)
def test_humidity_above_70_is_flagged_never_corrected(
    humidity: float | None, flagged: bool
) -> None:
    result = compute({"pm25": 50}, standard="cn-2012", humidity=humidity)
    assert result.low_confidence is flagged
    assert result.iaqi["pm25"] == 69  # the same value, humid or not


def test_standard_by_date_and_community_choice() -> None:
    assert standard_for(dt.date(2026, 2, 28)) == "cn-2012"
    assert standard_for(dt.date(2026, 3, 1)) == "cn-2026"
    assert standard_for(dt.date(2026, 3, 1), "cn") == "cn-2026"
    assert standard_for(dt.date(2020, 1, 1), "us-epa") == "us-epa"
    with pytest.raises(LinliError):
        standard_for(dt.date(2026, 3, 1), "eu")


@pytest.mark.parametrize(
    ("values", "kwargs", "field"),
    [
        ({"pm25": 1.0}, {"standard": "cn-2030"}, "standard"),
        ({"pm25": 1.0}, {"standard": "cn-2026", "mode": "weekly"}, "mode"),
        ({"pm1": 1.0}, {"standard": "cn-2026"}, "pm1"),
        ({"pm25": -0.1}, {"standard": "cn-2026"}, "pm25"),
        ({"co": math.nan}, {"standard": "us-epa"}, "co"),
        ({"o3": math.inf}, {"standard": "cn-2012"}, "o3"),
        ({"pm25": 10.0}, {"standard": "cn-2026", "humidity": -1.0}, "humidity"),
        ({"pm25": 10.0}, {"standard": "cn-2026", "humidity": math.nan}, "humidity"),
    ],
)
def test_invalid_input_is_a_422_error(
    values: dict[str, float], kwargs: dict[str, object], field: str
) -> None:
    with pytest.raises(LinliError) as caught:
        compute(values, **kwargs)  # type: ignore[arg-type]  # kwargs mix str and float on purpose
    assert caught.value.status_code == 422
    assert caught.value.detail["field"] == field


def test_iaqi_checks_its_pollutant() -> None:
    with pytest.raises(LinliError):
        iaqi("dust", 1.0, standard="cn-2026", mode="daily")


# --- properties -------------------------------------------------------------------------------

concentration = st.floats(min_value=0, max_value=5000, allow_nan=False, allow_infinity=False)
maybe = st.one_of(st.none(), concentration)
combos = [(s, m) for s in aqi.STANDARDS for m in aqi.MODES]


@pytest.mark.parametrize(("standard", "mode"), combos)
@settings(max_examples=150, deadline=None)
@given(
    values=st.fixed_dictionaries(dict.fromkeys(POLLUTANTS, maybe)),
    which=st.sampled_from(POLLUTANTS),
    rise=concentration,
)
def test_the_index_never_falls_when_a_concentration_rises(
    standard: str, mode: str, values: dict[str, float | None], which: str, rise: float
) -> None:
    before = compute(values, standard=standard, mode=mode)
    higher = dict(values)
    higher[which] = (values[which] or 0.0) + rise
    after = compute(higher, standard=standard, mode=mode)
    for pollutant, index in before.iaqi.items():
        assert after.iaqi[pollutant] >= index
        assert 0 <= index <= 500
    if before.aqi is not None:
        assert after.aqi is not None
        assert after.aqi >= before.aqi
    assert after.aqi is not None
    assert 0 <= after.aqi <= 500
    assert after.level is not None
    assert 1 <= after.level <= 6


@pytest.mark.parametrize(("standard", "mode"), combos)
@settings(max_examples=100, deadline=None)
@given(pollutant=st.sampled_from(POLLUTANTS), low=concentration, high=concentration)
def test_each_sub_index_is_monotonic_and_bounded(
    standard: str, mode: str, pollutant: str, low: float, high: float
) -> None:
    low, high = min(low, high), max(low, high)
    a = iaqi(pollutant, low, standard=standard, mode=mode)
    b = iaqi(pollutant, high, standard=standard, mode=mode)
    assert a is not None
    assert b is not None
    assert 0 <= a <= b <= 500
