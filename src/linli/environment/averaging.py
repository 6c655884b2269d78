"""Averages that the AQI is computed from, with each standard's data-validity rules.

Raw samples are ``(ts_ms, value)`` pairs (milliseconds since the epoch, UTC; the value in the
units of :mod:`linli.environment.aqi`). Hours and days are those of the community's time zone
(Asia/Shanghai unless given).

Functions:

* :func:`hourly_means` — the arithmetic mean of each local clock hour. An hour counts only when
  its samples cover at least 45 minutes (GB 3095—2012 Table 4 and HJ 663—2013: a 1-hour mean
  needs at least 45 minutes of sampling). A sample covers ``interval_s`` seconds from its time
  stamp (the device's reporting interval, 60 s unless given), clipped to the hour.
* :func:`daily_inputs` — what :func:`linli.environment.aqi.compute` needs in ``daily`` mode,
  from raw samples: ``daily_inputs({"pm25": samples, ...}, day)`` (or ``day_start_ms=...``).
* :func:`daily_value_from_hourly` — the same for one pollutant from hourly means already made.
* :func:`hourly_inputs` — what it needs in ``hourly`` mode for the hour that ends at
  ``end_ms``: ``hourly_inputs({"pm25": samples, ...}, end_ms)``.
* All take ``standard=`` (``cn-2026`` unless given; ``cn-2012`` has the same rules, ``us-epa``
  its own) and ``interval_s=`` (the devices' reporting interval).
* :func:`moving_8h`, :func:`nowcast` — the building blocks, public for charts and tests.

China (``cn-2026``, ``cn-2012``; GB 3095—2012 §7 Table 4 and HJ 663—2013):

* 24-hour mean of PM2.5, PM10, NO₂, SO₂, CO: at least 20 valid hourly means in the local day.
* O₃ 8-hour moving mean: at least 6 valid hourly means in its 8 hours; the mean is labelled by
  the hour it ends at.
* O₃ daily maximum 8-hour mean: the 8-hour means ending 08:00 … 24:00 of the day (all inside
  the day); at least 14 of them valid — or fewer when the maximum is still above the 8-hour limit
  of GB 3095 (160 µg/m³), since more data could only raise it (HJ 663—2013).
* O₃ daily maximum 1-hour mean (``o3_1h``): the largest valid hourly mean of a day with at least
  20 valid hours (the rule for a daily value).
* Hourly mode: the 1-hour means of the hour, and ``so2_24h``, the mean of the 24 hours ending
  then (at least 20 valid), for the rule that a 1-hour SO₂ above 800 µg/m³ is reported by its
  24-hour sub-index.

United States (``us-epa``; TAD 2024 and 40 CFR 50, with the 75 % completeness used there):

* PM2.5, PM10: 24-hour mean, at least 18 valid hours.
* O₃: daily maximum 8-hour mean of the 17 windows starting 07:00 … 23:00 (the last ones reach
  into the next morning), at least 13 valid, or fewer when the maximum is above 0.070 ppm.
* CO: daily maximum 8-hour mean of the windows starting in the day, at least 18 valid.
* NO₂, SO₂: daily maximum 1-hour mean, at least 18 valid hours.
* Hourly mode: PM2.5 and PM10 NowCast (12 hours, weight factor at least 0.5, two of the three
  latest hours needed), O₃ and CO the 8-hour mean ending at the hour, NO₂ and SO₂ the 1-hour mean,
  ``so2_24h`` the 24-hour mean ending at the hour.

Values are never corrected or filled: a period that fails its rule is ``None`` and the AQI
reports the pollutant as missing. Non-finite samples are ignored. A mean below zero (instrument
noise around zero) is reported as 0.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo

from linli.environment.aqi import POLLUTANTS

Sample = tuple[int, float]
Hourly = list[tuple[int, float | None]]

HOUR_MS = 3_600_000
QUARTER_MS = 900_000
DEFAULT_TZ = "Asia/Shanghai"
MIN_HOUR_COVERAGE_MS = 45 * 60_000
CN_MIN_HOURS_PER_DAY = 20
CN_MIN_HOURS_PER_8H = 6
CN_MIN_8H_PER_DAY = 14
CN_O3_8H_LIMIT = 160.0  # µg/m³, GB 3095—2012 grade II
US_MIN_HOURS_PER_DAY = 18
US_MIN_HOURS_PER_8H = 6
US_MIN_8H_PER_DAY = 13
US_O3_8H_STANDARD_UGM3 = 0.070 * 1000 * 48.00 / 24.45  # 0.070 ppm as µg/m³ at 25 °C
NOWCAST_HOURS = 12
NOWCAST_MIN_WEIGHT = 0.5


def _hour_start(ts_ms: int, zone: ZoneInfo) -> int:
    local = dt.datetime.fromtimestamp(ts_ms / 1000, zone)
    floored = local.replace(minute=0, second=0, microsecond=0)
    return int(floored.timestamp() * 1000)


def _day_bounds(day: dt.date, tz: str) -> tuple[int, int]:
    zone = ZoneInfo(tz)
    start = dt.datetime.combine(day, dt.time(0), tzinfo=zone)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=zone)
    return int(start.timestamp() * 1000), int(end.timestamp() * 1000)


def _covered_ms(stamps: list[int], hour: int, interval_ms: int) -> int:
    """Length of the union of [ts, ts + interval) over the stamps, clipped to the hour."""
    end_of_hour = hour + HOUR_MS
    covered = 0
    reach = hour
    for ts in stamps:
        start = max(ts, reach)
        stop = min(ts + interval_ms, end_of_hour)
        if stop > start:
            covered += stop - start
            reach = stop
    return covered


def hourly_means(
    samples: Iterable[Sample],
    tz: str = DEFAULT_TZ,
    *,
    interval_s: int = 60,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> Hourly:
    """Mean of each local clock hour, None where the samples cover less than 45 minutes.

    Without ``start_ms``/``end_ms`` the hours run from the first sample's to the last one's;
    with them, every hour that starts in ``[start_ms, end_ms)`` is listed, empty ones as None.
    """
    zone = ZoneInfo(tz)
    interval_ms = max(1, int(interval_s * 1000))
    by_hour: dict[int, list[Sample]] = {}
    # Every UTC offset and transition falls on a quarter hour, so one time-zone lookup per
    # quarter hour serves all its samples.
    hour_of_quarter: dict[int, int] = {}
    for ts, value in samples:
        if not math.isfinite(value):
            continue
        quarter = int(ts) // QUARTER_MS
        hour = hour_of_quarter.get(quarter)
        if hour is None:
            hour = hour_of_quarter[quarter] = _hour_start(quarter * QUARTER_MS, zone)
        by_hour.setdefault(hour, []).append((int(ts), float(value)))
    if start_ms is None or end_ms is None:
        if not by_hour:
            return []
        first, last = min(by_hour), max(by_hour)
    else:
        first, last = _hour_start(start_ms, zone), end_ms - 1
        if first < start_ms:
            first += HOUR_MS
    hours: Hourly = []
    hour = first
    while hour <= last:
        bucket = sorted(by_hour.get(hour, []))
        if bucket and _covered_ms([ts for ts, _v in bucket], hour, interval_ms) >= (
            MIN_HOUR_COVERAGE_MS
        ):
            hours.append((hour, max(0.0, sum(v for _ts, v in bucket) / len(bucket))))
        else:
            hours.append((hour, None))
        hour += HOUR_MS
    return hours


def _valid(values: Iterable[float | None]) -> list[float]:
    return [v for v in values if v is not None]


def _window(hourly: Mapping[int, float | None], start: int, end: int) -> list[float | None]:
    return [hourly.get(h) for h in range(start, end, HOUR_MS)]


def mean_of(values: Sequence[float | None], minimum: int) -> float | None:
    """Mean of the valid values, None when fewer than ``minimum`` are valid."""
    valid = _valid(values)
    if len(valid) < minimum or not valid:
        return None
    return max(0.0, sum(valid) / len(valid))


def moving_8h(hourly: Mapping[int, float | None], end_ms: int, minimum: int) -> float | None:
    """Mean of the 8 hours ending at ``end_ms``, None with fewer than ``minimum`` valid hours."""
    return mean_of(_window(hourly, end_ms - 8 * HOUR_MS, end_ms), minimum)


def nowcast(latest_first: Sequence[float | None]) -> float | None:
    """EPA NowCast of PM from up to 12 hourly means, the most recent first (TAD 2024)."""
    recent = list(latest_first[:NOWCAST_HOURS])
    if len(_valid(recent[:3])) < 2:
        return None
    valid = _valid(recent)
    highest, lowest = max(valid), min(valid)
    weight = 1.0 if highest <= 0 else max(lowest / highest, NOWCAST_MIN_WEIGHT)
    total = 0.0
    weights = 0.0
    for age, value in enumerate(recent):
        if value is None:
            continue
        total += weight**age * value
        weights += weight**age
    return max(0.0, total / weights)


def _max_or_none(values: Sequence[float | None], minimum: int, exempt_above: float) -> float | None:
    """Largest valid value; with fewer than ``minimum`` valid, only if above ``exempt_above``."""
    valid = _valid(values)
    if not valid:
        return None
    highest = max(valid)
    if len(valid) >= minimum or highest > exempt_above:
        return highest
    return None


def _hourly_map(
    samples: Iterable[Sample], tz: str, interval_s: int, start: int, end: int
) -> dict[int, float | None]:
    return dict(hourly_means(samples, tz, interval_s=interval_s, start_ms=start, end_ms=end))


def _the_day(day: dt.date | None, day_start_ms: int | None, tz: str) -> dt.date:
    if day is not None:
        return day
    if day_start_ms is None:
        raise TypeError("give the day or the time its local midnight starts")
    return dt.datetime.fromtimestamp(day_start_ms / 1000, ZoneInfo(tz)).date()


def daily_value_from_hourly(
    pollutant: str,
    hourly: Iterable[tuple[int, float | None]],
    *,
    day: dt.date | None = None,
    day_start_ms: int | None = None,
    tz: str = DEFAULT_TZ,
    standard: str = "cn-2026",
) -> float | None:
    """The daily value of one pollutant (or ``o3_1h``) from its hourly means.

    ``hourly`` is ``(hour_start_ms, mean or None)`` as from :func:`hourly_means`; give ``day``
    or ``day_start_ms`` (any time in the local day). None when the day fails its rule.
    """
    start, end = _day_bounds(_the_day(day, day_start_ms, tz), tz)
    by_hour = dict(hourly)
    day_hours = _window(by_hour, start, end)
    epa = standard == "us-epa"
    per_day = US_MIN_HOURS_PER_DAY if epa else CN_MIN_HOURS_PER_DAY
    if pollutant == "o3":
        return _o3_daily_8h(by_hour, start, epa)
    if pollutant == "o3_1h":
        return _max_or_none(day_hours, per_day, math.inf)
    if not epa or pollutant in ("pm25", "pm10"):
        return mean_of(day_hours, per_day)
    if pollutant == "co":
        windows = [
            moving_8h(by_hour, start + (k + 8) * HOUR_MS, US_MIN_HOURS_PER_8H)
            for k in range(len(day_hours))
        ]
        return _max_or_none(windows, US_MIN_HOURS_PER_DAY, math.inf)
    return _max_or_none(day_hours, per_day, math.inf)  # NO₂, SO₂: daily maximum 1-hour mean


def daily_inputs(
    series_by_pollutant: Mapping[str, Iterable[Sample]],
    day: dt.date | None = None,
    tz: str = DEFAULT_TZ,
    *,
    day_start_ms: int | None = None,
    standard: str = "cn-2026",
    interval_s: int = 60,
) -> dict[str, float | None]:
    """Daily values of a local day for :func:`~linli.environment.aqi.compute` (mode ``daily``).

    Give ``day`` or ``day_start_ms``. Keys: the six pollutants and ``o3_1h``; a pollutant
    without samples or failing its rule is None; other keys of the mapping are ignored. For
    ``us-epa`` O₃ needs the samples of the next morning too (its windows start up to 23:00).
    """
    the_day = _the_day(day, day_start_ms, tz)
    start, end = _day_bounds(the_day, tz)
    result: dict[str, float | None] = {}
    for pollutant in POLLUTANTS:
        samples = list(series_by_pollutant.get(pollutant, ()))
        if not samples:
            result[pollutant] = None
            continue
        hourly = _hourly_map(samples, tz, interval_s, start, end + 24 * HOUR_MS)
        items = list(hourly.items())
        for key in ("o3", "o3_1h") if pollutant == "o3" else (pollutant,):
            result[key] = daily_value_from_hourly(key, items, day=the_day, tz=tz, standard=standard)
    result.setdefault("o3_1h", None)
    return result


def _o3_daily_8h(hourly: Mapping[int, float | None], start: int, epa: bool) -> float | None:
    if epa:
        # 17 windows starting 07:00 … 23:00 (40 CFR 50 Appendix U).
        ends = [start + (7 + k + 8) * HOUR_MS for k in range(17)]
        windows = [moving_8h(hourly, e, US_MIN_HOURS_PER_8H) for e in ends]
        return _max_or_none(windows, US_MIN_8H_PER_DAY, US_O3_8H_STANDARD_UGM3)
    # 17 windows ending 08:00 … 24:00 (HJ 663—2013).
    ends = [start + (8 + k) * HOUR_MS for k in range(17)]
    windows = [moving_8h(hourly, e, CN_MIN_HOURS_PER_8H) for e in ends]
    return _max_or_none(windows, CN_MIN_8H_PER_DAY, CN_O3_8H_LIMIT)


def hourly_inputs(
    series_by_pollutant: Mapping[str, Iterable[Sample]],
    end_ms: int,
    tz: str = DEFAULT_TZ,
    *,
    standard: str = "cn-2026",
    interval_s: int = 60,
) -> dict[str, float | None]:
    """Values for :func:`~linli.environment.aqi.compute` (mode ``hourly``) for the hour that
    ends at ``end_ms`` (moved back to a whole local hour when it is not one).

    Keys: the six pollutants and ``so2_24h``; the samples of the 24 hours before are enough;
    other keys of the mapping are ignored.
    """
    zone = ZoneInfo(tz)
    end = _hour_start(end_ms, zone)
    start = end - 24 * HOUR_MS
    epa = standard == "us-epa"
    result: dict[str, float | None] = {"so2_24h": None}
    for pollutant in POLLUTANTS:
        samples = list(series_by_pollutant.get(pollutant, ()))
        if not samples:
            result[pollutant] = None
            continue
        hourly = _hourly_map(samples, tz, interval_s, start, end)
        if epa and pollutant in ("pm25", "pm10"):
            latest_first = [hourly.get(end - (k + 1) * HOUR_MS) for k in range(NOWCAST_HOURS)]
            result[pollutant] = nowcast(latest_first)
        elif epa and pollutant in ("o3", "co"):
            result[pollutant] = moving_8h(hourly, end, US_MIN_HOURS_PER_8H)
        else:
            result[pollutant] = hourly.get(end - HOUR_MS)
        if pollutant == "so2":
            minimum = US_MIN_HOURS_PER_DAY if epa else CN_MIN_HOURS_PER_DAY
            result["so2_24h"] = mean_of(_window(hourly, start, end), minimum)
    return result
