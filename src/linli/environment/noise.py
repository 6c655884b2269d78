"""Noise levels (pure): LAeq, day and night levels, Lden, and GB 3096-2008 compliance.

Readings are A-weighted sound levels in dB(A), each the equivalent level of the interval that
ends at its time stamp (a monitor reporting every minute sends 1-minute LAeq values).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from linli.core.i18n import N_

Sample = tuple[int, float]  # (epoch milliseconds, dB(A))

SHANGHAI = ZoneInfo("Asia/Shanghai")
HOUR_MS = 3_600_000
# GB 3096-2008 §3.6 / §3.7: 昼间 06:00–22:00, 夜间 22:00–06:00 (local time).
DAY_START_H = 6
NIGHT_START_H = 22
# Lden (Directive 2002/49/EC, Annex I): day 12 h, evening 4 h (+5 dB), night 8 h (+10 dB).
# The Directive lets the start of the day be chosen; starting it at 06:00 makes the evening end
# at 22:00, so that the Lden night is exactly the GB 3096-2008 night and day + evening is its day.
LDEN_DAY = (6, 18)
LDEN_EVENING = (18, 22)
LDEN_NIGHT = (22, 6)
EVENING_PENALTY_DB = 5.0
NIGHT_PENALTY_DB = 10.0
# GB 3096-2008 §5.4: a sudden noise at night may exceed the night limit by at most 15 dB(A).
NIGHT_LMAX_MARGIN_DB = 15.0

# GB 3096-2008 Table 1 (§5.1): (day, night) limits in dB(A) of each zone class.
ZONE_LIMITS: dict[str, tuple[float, float]] = {
    "0": (50.0, 40.0),
    "1": (55.0, 45.0),
    "2": (60.0, 50.0),
    "3": (65.0, 55.0),
    "4a": (70.0, 55.0),
    "4b": (70.0, 60.0),
}
ZONE_LABELS = {
    "0": N_("Class 0: convalescent areas needing special quiet"),
    "1": N_("Class 1: residential, medical, cultural and educational areas"),
    "2": N_("Class 2: mixed residential, commercial and industrial areas"),
    "3": N_("Class 3: industrial and warehouse areas"),
    "4a": N_("Class 4a: both sides of trunk roads and inland waterways"),
    "4b": N_("Class 4b: both sides of railway trunk lines"),
}


def energy_mean(levels: Sequence[float], weights: Sequence[float] | None = None) -> float | None:
    """The energy average 10·log10(Σ wᵢ·10^(Lᵢ/10) / Σ wᵢ) of levels, or None for none."""
    if not levels:
        return None
    ws = list(weights) if weights is not None else [1.0] * len(levels)
    total = sum(ws)
    if total <= 0:
        return None
    energy = sum(w * 10 ** (level / 10) for level, w in zip(levels, ws, strict=True))
    return 10 * math.log10(energy / total)


def durations(samples: Sequence[Sample]) -> list[float]:
    """How long each reading stands for, in ms, from the spacing of the readings.

    A reading covers the time since the previous one, but no longer than the usual spacing
    (the median): after a gap the monitor was silent, and silence is not a measured level.
    """
    if not samples:
        return []
    times = [t for t, _ in samples]
    gaps = [b - a for a, b in itertools.pairwise(times) if b > a]
    usual = statistics.median(gaps) if gaps else 60_000.0
    found = [usual]
    for a, b in itertools.pairwise(times):
        found.append(min(max(b - a, 0), usual))
    return [float(d) for d in found]


def laeq(samples: Sequence[Sample]) -> float | None:
    """LAeq of the readings, each weighted by the time it stands for (see :func:`durations`)."""
    ordered = sorted(samples)
    return energy_mean([v for _, v in ordered], durations(ordered))


def lmax(samples: Sequence[Sample]) -> float | None:
    """The highest reading (the monitor's own interval level stands in for LAFmax)."""
    return max((v for _, v in samples), default=None)


def _local_hour(ts_ms: int, zone: ZoneInfo) -> dt.datetime:
    return dt.datetime.fromtimestamp(ts_ms / 1000, tz=zone)


def _in_hours(hour: int, span: tuple[int, int]) -> bool:
    start, end = span
    return start <= hour < end if start < end else hour >= start or hour < end


def _select(samples: Sequence[Sample], span: tuple[int, int], zone: ZoneInfo) -> list[Sample]:
    # A reading stamped at the end of its interval belongs to the period that interval is in.
    return [(t, v) for t, v in samples if _in_hours(_local_hour(t - 1, zone).hour, span)]


@dataclass(frozen=True, slots=True)
class PeriodLevels:
    """Day level Ld, night level Ln, night Lmax and Lden of a set of readings."""

    ld: float | None
    ln: float | None
    lmax_night: float | None
    lden: float | None
    day_readings: int
    night_readings: int


def period_levels(samples: Sequence[Sample], zone: ZoneInfo = SHANGHAI) -> PeriodLevels:
    """Ld (06–22), Ln (22–06), the night's highest reading and Lden of the readings.

    Pass one day's readings (06:00 to 06:00 the next morning) for the levels of that day; over
    a longer span each level is the energy average of the whole span's periods.
    """
    ordered = sorted(samples)
    day = _select(ordered, (DAY_START_H, NIGHT_START_H), zone)
    night = _select(ordered, (NIGHT_START_H, DAY_START_H), zone)
    return PeriodLevels(
        ld=laeq(day),
        ln=laeq(night),
        lmax_night=lmax(night),
        lden=lden(ordered, zone),
        day_readings=len(day),
        night_readings=len(night),
    )


def lden(samples: Sequence[Sample], zone: ZoneInfo = SHANGHAI) -> float | None:
    """Day-evening-night level: 10·lg((12·10^(Ld/10) + 4·10^((Le+5)/10) + 8·10^((Ln+10)/10))/24).

    Periods 06–18, 18–22 and 22–06 local time (see ``LDEN_DAY``); None unless every period
    has readings.
    """
    ordered = sorted(samples)
    parts = [
        (laeq(_select(ordered, LDEN_DAY, zone)), 12, 0.0),
        (laeq(_select(ordered, LDEN_EVENING, zone)), 4, EVENING_PENALTY_DB),
        (laeq(_select(ordered, LDEN_NIGHT, zone)), 8, NIGHT_PENALTY_DB),
    ]
    if any(level is None for level, _, _ in parts):
        return None
    energy = sum(hours * 10 ** ((level + penalty) / 10) for level, hours, penalty in parts if level)
    return 10 * math.log10(energy / 24)


@dataclass(frozen=True, slots=True)
class Compliance:
    """A monitor's levels against the limits of its zone class; ``None`` fields: no data."""

    zone: str
    day_limit: float
    night_limit: float
    night_lmax_limit: float
    day_exceeds: bool | None
    night_exceeds: bool | None
    lmax_exceeds: bool | None

    @property
    def ok(self) -> bool | None:
        """True when every level with data is within its limit; None when there is no data."""
        flags = [
            f for f in (self.day_exceeds, self.night_exceeds, self.lmax_exceeds) if f is not None
        ]
        if not flags:
            return None
        return not any(flags)


def limits(zone: str) -> tuple[float, float]:
    """(day, night) limits of a zone class; raises KeyError for an unknown class."""
    return ZONE_LIMITS[zone]


def assess(zone: str, levels: PeriodLevels) -> Compliance:
    """Compare Ld and Ln with GB 3096-2008 Table 1 and the night Lmax with §5.4."""
    day_limit, night_limit = limits(zone)
    peak_limit = night_limit + NIGHT_LMAX_MARGIN_DB
    return Compliance(
        zone=zone,
        day_limit=day_limit,
        night_limit=night_limit,
        night_lmax_limit=peak_limit,
        day_exceeds=None if levels.ld is None else levels.ld > day_limit,
        night_exceeds=None if levels.ln is None else levels.ln > night_limit,
        lmax_exceeds=None if levels.lmax_night is None else levels.lmax_night > peak_limit,
    )


def rule_windows(zone: str) -> list[dict[str, object]]:
    """The time windows of a schedule rule that holds a monitor to its class's limits."""
    day_limit, night_limit = limits(zone)
    return [
        {"start": "06:00", "end": "22:00", "value": day_limit, "label": "day"},
        {"start": "22:00", "end": "06:00", "value": night_limit, "label": "night"},
    ]


def peak_rule_windows(zone: str) -> list[dict[str, object]]:
    """The night window of a rule on sudden noise above the night limit + 15 dB(A) (§5.4)."""
    night_limit = limits(zone)[1]
    return [
        {
            "start": "22:00",
            "end": "06:00",
            "value": night_limit + NIGHT_LMAX_MARGIN_DB,
            "label": "night Lmax",
        }
    ]
