"""The live anomaly detector: range, spikes, flat series, state round trip and causality."""

from __future__ import annotations

import json
import math
import random

import pytest

from linli.rule.anomaly import AnomalyDetector, AnomalyParams, threshold_for

FIVE_MINUTES_MS = 300_000
START_MS = 1_735_689_600_000
SPIKE_AT = 2_500


def _periodic(rows: int, seed: int = 7) -> list[float]:
    """A daily cycle at 5-minute cadence with Gaussian noise."""
    rng = random.Random(seed)
    return [20.0 + 5.0 * math.sin(2 * math.pi * i / 288) + rng.gauss(0.0, 0.5) for i in range(rows)]


def _scores(values: list[float], detector: AnomalyDetector | None = None) -> list[float]:
    detector = detector if detector is not None else AnomalyDetector()
    return [detector.score(START_MS + i * FIVE_MINUTES_MS, v) for i, v in enumerate(values)]


def test_scores_are_between_zero_and_one() -> None:
    values = _periodic(3_000)
    values[1_000] = 1e9
    values[2_000] = -1e9
    assert all(0.0 <= s <= 1.0 for s in _scores(values))


def test_clear_spike_scores_above_the_default_threshold() -> None:
    values = _periodic(3_000)
    values[SPIKE_AT] += 15.0
    scores = _scores(values)
    threshold = threshold_for(0.5)
    assert scores[SPIKE_AT] >= threshold
    ordinary = scores[1_000:SPIKE_AT]
    assert sum(s >= threshold for s in ordinary) <= 0.01 * len(ordinary)


def test_constant_series_does_not_alarm_then_a_change_does() -> None:
    values = [42.0] * 1_000 + [43.0]
    scores = _scores(values)
    assert max(scores[:1_000]) == 0.0
    assert scores[-1] >= threshold_for(0.5)


def test_tiny_and_huge_scales_behave_alike() -> None:
    base = _periodic(2_000)
    base[1_500] += 15.0
    for scale in (1e-9, 1.0, 1e12):
        scores = _scores([v * scale for v in base])
        assert scores[1_500] >= threshold_for(0.5)


def test_irregular_timestamps_and_non_finite_values() -> None:
    rng = random.Random(3)
    detector = AnomalyDetector()
    ts = START_MS
    for value in _periodic(500):
        ts += rng.randint(1, 3_600_000)
        assert 0.0 <= detector.score(ts, value) <= 1.0
    assert detector.score(ts + 1, math.nan) == 0.0
    assert detector.score(ts + 2, math.inf) == 0.0


def test_state_round_trip_gives_identical_scores() -> None:
    values = _periodic(4_000, seed=11)
    values[3_000] += 20.0
    values[3_500:] = [v + 8.0 for v in values[3_500:]]
    straight = _scores(values)
    for cut in (0, 50, 1_234, 2_999):
        first = AnomalyDetector()
        head = _scores(values[:cut], first)
        state = json.loads(json.dumps(first.to_state()))
        resumed = AnomalyDetector.from_state(state)
        tail = [
            resumed.score(START_MS + i * FIVE_MINUTES_MS, values[i])
            for i in range(cut, len(values))
        ]
        assert head + tail == straight


def test_state_stays_small() -> None:
    detector = AnomalyDetector()
    _scores(_periodic(20_000), detector)
    assert len(json.dumps(detector.to_state())) < 8_000


def test_state_with_other_parameters_is_refused() -> None:
    detector = AnomalyDetector()
    _scores(_periodic(300), detector)
    with pytest.raises(ValueError, match="spans"):
        AnomalyDetector.from_state(detector.to_state(), AnomalyParams(spans=(1, 12)))


def test_scores_are_causal() -> None:
    values = _periodic(2_000, seed=5)
    k = 1_200
    altered = values[:k] + [v * 3.0 + 100.0 for v in values[k:]]
    assert _scores(values)[:k] == _scores(altered)[:k]


def test_threshold_mapping() -> None:
    assert threshold_for(0.5) == pytest.approx(0.5004)
    assert threshold_for(0.0) > threshold_for(0.5) > threshold_for(1.0)
    assert threshold_for(1.0) > 0.0
    assert threshold_for(0.0) < 1.0
    with pytest.raises(ValueError, match="sensitivity"):
        threshold_for(1.5)
