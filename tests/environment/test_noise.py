"""Noise levels: energy averages, day and night levels, Lden and GB 3096-2008 limits."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from linli.environment import noise

SH = noise.SHANGHAI
MIN = 60_000


def _at(hour: int, minute: int = 0, day: int = 2) -> int:
    return int(dt.datetime(2026, 6, day, hour, minute, tzinfo=SH).timestamp() * 1000)


def test_energy_mean_is_not_the_arithmetic_mean() -> None:
    # 60 and 70 dB for equal times: 10·lg((10^6 + 10^7)/2) = 67.4 dB, not 65.
    assert noise.energy_mean([60.0, 70.0]) == pytest.approx(67.40, abs=0.01)
    assert noise.energy_mean([55.0] * 5) == pytest.approx(55.0)
    assert noise.energy_mean([]) is None


def test_laeq_weights_irregular_readings_by_the_time_they_stand_for() -> None:
    # Readings each minute at 50 dB, then one 80 dB reading after a 10-minute silence: the gap
    # is not filled with the loud reading (it stands for one usual interval, a minute).
    quiet = [(i * MIN, 50.0) for i in range(10)]
    loud = [(20 * MIN, 80.0)]
    level = noise.laeq(quiet + loud)
    expected = 10 * math.log10((10 * 10**5 + 10**8) / 11)
    assert level == pytest.approx(expected, abs=0.01)
    # A reading half a minute after the previous one in a minute-spaced series counts half.
    stamps = [(0, 1.0), (MIN, 1.0), (2 * MIN, 1.0), (2 * MIN + 30_000, 1.0)]
    assert noise.durations(stamps) == [60_000.0, 60_000.0, 60_000.0, 30_000.0]


def test_day_and_night_levels_follow_gb_3096_periods() -> None:
    samples = [
        (_at(h, m) + MIN, 56.0 if 6 <= h < 22 else 44.0) for h in range(24) for m in range(0, 60, 5)
    ]
    levels = noise.period_levels(samples)
    assert levels.ld == pytest.approx(56.0)
    assert levels.ln == pytest.approx(44.0)
    assert levels.day_readings == 16 * 12
    assert levels.night_readings == 8 * 12
    # Lden with 06–18 / 18–22 / 22–06: (12·10^5.6 + 4·10^6.1 + 8·10^5.4) / 24.
    expected = 10 * math.log10((12 * 10**5.6 + 4 * 10**6.1 + 8 * 10**5.4) / 24)
    assert levels.lden == pytest.approx(expected, abs=0.01)
    compliance = noise.assess("1", levels)
    assert compliance.day_exceeds is True  # 56 > 55
    assert compliance.night_exceeds is False  # 44 ≤ 45
    assert compliance.ok is False
    assert noise.assess("2", levels).ok is True


@pytest.mark.parametrize(
    ("zone", "day", "night"),
    [("0", 50, 40), ("1", 55, 45), ("2", 60, 50), ("3", 65, 55), ("4a", 70, 55), ("4b", 70, 60)],
)
def test_zone_limits_are_table_1_of_gb_3096(zone: str, day: float, night: float) -> None:
    assert noise.limits(zone) == (day, night)
    windows = noise.rule_windows(zone)
    assert [w["value"] for w in windows] == [day, night]
    assert noise.peak_rule_windows(zone)[0]["value"] == night + 15


def test_a_sudden_night_noise_over_the_limit_plus_15_db_fails_on_its_own() -> None:
    night = [(_at(23, m), 42.0) for m in range(1, 60)] + [(_at(23, 30) + 1, 61.0)]
    levels = noise.period_levels(night)
    result = noise.assess("1", levels)
    assert result.night_exceeds is False  # the night's LAeq stays below 45
    assert levels.lmax_night == 61.0
    assert result.lmax_exceeds is True  # 61 > 45 + 15
    assert noise.assess("1", noise.period_levels([])).ok is None
