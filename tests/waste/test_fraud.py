"""Anti-fraud rules on disposal events (pure)."""

from __future__ import annotations

import datetime as dt

from linli.waste.fraud import Limits, Swipe, check, haversine_m, weight_flags

T = dt.datetime(2026, 11, 30, 1, 0, tzinfo=dt.UTC)
A = (31.2300, 121.4450)
B = (31.2400, 121.4450)  # 1.11 km north of A


def _s(
    key: str, minutes: float, where: tuple[float, float] = A, card: int = 1, bin_id: int = 1
) -> Swipe:
    return Swipe(key, card, bin_id, T + dt.timedelta(minutes=minutes), where[0], where[1])


def test_haversine_is_right_for_a_known_distance() -> None:
    assert abs(haversine_m(*A, *B) - 1112) < 2


def test_weights() -> None:
    assert weight_flags(0, 20) == ["weight_not_positive"]
    assert weight_flags(-1, 20) == ["weight_not_positive"]
    assert weight_flags(20.5, 20) == ["weight_over_max"]
    assert weight_flags(20, 20) == []


def test_too_frequent_counts_history_and_the_window_edge() -> None:
    history = [_s(f"h{n}", n) for n in range(5)]  # minutes 0..4
    assert check([_s("new", 5)], history) == {"new": ["too_frequent"]}
    # Ten minutes after the first, the first no longer counts: 5 in the window is allowed.
    assert check([_s("new", 10)], history) == {}
    assert check([_s("new", 5, card=2)], history) == {}  # another card
    assert check([_s("new", 5)], history, Limits(burst_count=6)) == {}


def test_impossible_travel_between_distant_bins() -> None:
    history = [_s("h", 0, A, bin_id=1)]
    # 1.1 km in 5 minutes is 3.7 m/s: faster than walking.
    assert check([_s("n", 5, B, bin_id=2)], history) == {"n": ["impossible_travel"]}
    # In 10 minutes it is 1.85 m/s: a brisk walk.
    assert check([_s("n", 10, B, bin_id=2)], history) == {}
    # The same bin, or bins side by side, never count.
    assert check([_s("n", 0, A, bin_id=1)], history) == {}
    assert check([_s("n", 0, (A[0] + 0.0003, A[1]), bin_id=3)], history) == {}
    # Two new swipes at once at distant bins: both are flagged.
    both = check([_s("x", 0, A, bin_id=1), _s("y", 0, B, bin_id=2)], [])
    assert both == {"x": ["impossible_travel"], "y": ["impossible_travel"]}
