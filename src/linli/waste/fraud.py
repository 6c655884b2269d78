"""Anti-fraud checks on disposal events (pure: no database).

Three rules, each a reason code stored on the disposal; a flagged disposal earns no points:

* ``weight_not_positive`` / ``weight_over_max``: a weight of zero or less, or more than the
  bin accepts in one disposal, cannot be real.
* ``too_frequent``: the same card swiped more than ``burst_count`` times within
  ``burst_minutes`` (a card passed around, or a bin being farmed for points).
* ``impossible_travel``: the same card used at two bins further apart than a person can walk
  in the time between the two events (distance / time above ``max_speed_mps``).
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass

EARTH_RADIUS_M = 6_371_008.8  # mean Earth radius (IUGG)


@dataclass(frozen=True, slots=True)
class Limits:
    """Where plausible behaviour ends."""

    burst_count: int = 5
    burst_minutes: int = 10
    # 2.5 m/s = 9 km/h: faster than anyone walks between bins carrying rubbish.
    max_speed_mps: float = 2.5
    # Bins this close count as one spot (GPS error, bins standing side by side).
    min_distance_m: float = 60.0
    # How far back in a card's history the travel rule looks.
    travel_window_minutes: int = 120


DEFAULT_LIMITS = Limits()


@dataclass(frozen=True, slots=True)
class Swipe:
    """A disposal as the checks see it."""

    key: Hashable
    card_id: int
    bin_id: int
    at: dt.datetime
    latitude: float
    longitude: float


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres between two WGS 84 points."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def weight_flags(weight_kg: float, max_disposal_kg: float) -> list[str]:
    """Reason codes for a weight no disposal can have."""
    if weight_kg <= 0:
        return ["weight_not_positive"]
    if weight_kg > max_disposal_kg:
        return ["weight_over_max"]
    return []


def check(
    new: Iterable[Swipe], history: Iterable[Swipe], limits: Limits = DEFAULT_LIMITS
) -> dict[Hashable, list[str]]:
    """Reason codes for each new swipe judged against the card's history and the other new ones.

    Only the new swipes are judged; the history is what was stored before.
    """
    fresh = list(new)
    by_card: dict[int, list[Swipe]] = defaultdict(list)
    for s in [*history, *fresh]:
        by_card[s.card_id].append(s)
    for swipes in by_card.values():
        swipes.sort(key=lambda s: s.at)
    burst = dt.timedelta(minutes=limits.burst_minutes)
    travel = dt.timedelta(minutes=limits.travel_window_minutes)
    found: dict[Hashable, list[str]] = {}
    for s in fresh:
        swipes = by_card[s.card_id]
        times = [x.at for x in swipes]
        flags: list[str] = []
        # Swipes in (at - window, at]: this one and those just before it.
        lo = bisect.bisect_right(times, s.at - burst)
        hi = bisect.bisect_right(times, s.at)
        if hi - lo > limits.burst_count:
            flags.append("too_frequent")
        start = bisect.bisect_left(times, s.at - travel)
        end = bisect.bisect_right(times, s.at + travel)
        for other in swipes[start:end]:
            if other.key == s.key or other.bin_id == s.bin_id:
                continue
            distance = haversine_m(s.latitude, s.longitude, other.latitude, other.longitude)
            if distance <= limits.min_distance_m:
                continue
            seconds = abs((s.at - other.at).total_seconds())
            if seconds == 0 or distance / seconds > limits.max_speed_mps:
                flags.append("impossible_travel")
                break
        if flags:
            found[s.key] = flags
    return found
