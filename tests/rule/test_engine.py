"""Rule evaluators: each kind raises, updates and clears as documented; state round-trips."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest

from linli.rule import engine
from linli.rule.engine import RuleError, Signal

MIN = 60_000
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z


def run(ev: engine.Evaluator, rows: list[tuple[int, float]]) -> list[Signal]:
    out: list[Signal] = []
    for ts, value in rows:
        out.extend(ev.feed(ts, value))
    return out


def kinds(signals: list[Signal]) -> list[str]:
    return [s.kind for s in signals if s.kind != "update"]


def test_threshold_waits_for_duration_and_clears_with_hysteresis() -> None:
    ev = engine.build("threshold", {"op": ">", "value": 75, "clear_value": 70, "for_min": 30})
    rows = [(T0 + i * MIN, 80.0) for i in range(31)]  # 30 minutes above
    signals = run(ev, rows)
    assert kinds(signals) == ["raise"]
    raised = signals[0]
    assert raised.started_ms == T0
    assert raised.ts_ms == T0 + 30 * MIN
    # 72 is below the limit but above the clear value: still active.
    assert kinds(run(ev, [(T0 + 31 * MIN, 72.0)])) == []
    assert ev.active
    cleared = run(ev, [(T0 + 32 * MIN, 69.0)])
    assert kinds(cleared) == ["clear"]
    assert cleared[0].ts_ms == T0 + 32 * MIN
    assert cleared[0].started_ms == T0


def test_threshold_short_excursion_does_not_raise() -> None:
    ev = engine.build("threshold", {"op": ">", "value": 75, "for_min": 30})
    rows = [(T0 + i * MIN, 90.0 if i < 20 else 50.0) for i in range(40)]
    assert run(ev, rows) == []


def test_threshold_below_and_peak() -> None:
    ev = engine.build("threshold", {"op": "<", "value": 20, "clear_value": 25})
    signals = run(ev, [(T0, 30.0), (T0 + MIN, 19.0), (T0 + 2 * MIN, 10.0), (T0 + 3 * MIN, 26.0)])
    assert kinds(signals) == ["raise", "clear"]
    assert signals[0].peak == 19.0


def test_updates_carry_counts_at_most_once_a_minute() -> None:
    ev = engine.build("threshold", {"op": ">", "value": 1})
    rows = [(T0 + i * 10_000, 5.0) for i in range(20)]  # every 10 s for 200 s
    signals = run(ev, rows)
    assert signals[0].kind == "raise"
    updates = [s for s in signals if s.kind == "update"]
    assert len(updates) == 3
    assert sum(u.readings for u in updates) == 18


def test_hysteresis_on_the_wrong_side_is_refused() -> None:
    with pytest.raises(RuleError, match="hysteresis"):
        engine.build("threshold", {"op": ">", "value": 10, "clear_value": 12})


@pytest.mark.parametrize(
    ("kind", "params", "message"),
    [
        ("threshold", {"op": ">"}, "'value' is required"),
        ("threshold", {"op": "!=", "value": 1}, "must be one of"),
        ("threshold", {"value": "abc"}, "must be a number"),
        ("threshold", {"value": 1, "for_min": -1}, "between 0"),
        ("rate", {"max_change": 0}, "greater than 0"),
        ("flatline", {"for_min": 0}, "greater than 0"),
        ("missing", {"intervals": 0}, "at least 1"),
        ("schedule", {"windows": []}, "at least one time window"),
        ("schedule", {"windows": [{"start": "25:00", "end": "06:00", "value": 1}]}, "HH:MM"),
        ("anomaly", {"sensitivity": 2}, "between 0 and 1"),
        ("combination", {"conditions": [{"property": "a", "value": 1}]}, "at least two"),
        ("nonsense", {}, "unknown rule kind"),
    ],
)
def test_bad_parameters_name_the_problem(kind: str, params: dict[str, Any], message: str) -> None:
    with pytest.raises(RuleError, match=message):
        engine.build(kind, params)


def test_rate_detects_a_jump() -> None:
    ev = engine.build("rate", {"max_change": 100, "within_min": 5})
    signals = run(
        ev, [(T0, 300.0), (T0 + MIN, 310.0), (T0 + 2 * MIN, 150.0), (T0 + 3 * MIN, 160.0)]
    )
    assert kinds(signals) == ["raise", "clear"]
    assert signals[0].details["change"] == -160.0
    # A change spread over more than the window is not a jump.
    ev = engine.build("rate", {"max_change": 100, "within_min": 5})
    assert run(ev, [(T0, 300.0), (T0 + 10 * MIN, 100.0)]) == []


def test_flatline_starts_when_the_value_stopped_moving() -> None:
    ev = engine.build("flatline", {"for_min": 60, "tolerance": 0})
    rows = [(T0 + i * MIN, float(i)) for i in range(10)]
    rows += [(T0 + (10 + i) * MIN, 9.0) for i in range(70)]
    signals = run(ev, rows)
    assert kinds(signals) == ["raise"]
    assert signals[0].started_ms == T0 + 9 * MIN
    assert kinds(run(ev, [(T0 + 90 * MIN, 12.0)])) == ["clear"]


def test_missing_raises_on_silence_and_clears_when_data_returns() -> None:
    ev = engine.build("missing", {"intervals": 3}, interval_s=60)
    run(ev, [(T0, 1.0)])
    assert ev.tick(T0 + 3 * MIN) == []
    raised = ev.tick(T0 + 3 * MIN + 1)
    assert kinds(raised) == ["raise"]
    assert raised[0].started_ms == T0
    assert ev.tick(T0 + 10 * MIN) == []  # raised once
    cleared = run(ev, [(T0 + 11 * MIN, 1.0)])
    assert kinds(cleared) == ["clear"]
    assert cleared[0].ts_ms == T0 + 11 * MIN


def test_missing_gap_seen_only_by_the_next_reading_raises_and_clears() -> None:
    ev = engine.build("missing", {"intervals": 2}, interval_s=60)
    signals = run(ev, [(T0, 1.0), (T0 + MIN, 1.0), (T0 + 10 * MIN, 1.0)])
    assert kinds(signals) == ["raise", "clear"]
    assert signals[0].started_ms == T0 + MIN
    assert signals[1].ts_ms == T0 + 10 * MIN


NOISE = {
    "op": ">",
    "for_min": 0,
    "clear_margin": 2,
    "windows": [
        {"start": "06:00", "end": "22:00", "value": 55, "label": "day"},
        {"start": "22:00", "end": "06:00", "value": 45, "label": "night"},
    ],
}


def _local(y: int, m: int, d: int, h: int, mi: int = 0) -> int:
    zone = dt.timezone(dt.timedelta(hours=8))
    return int(dt.datetime(y, m, d, h, mi, tzinfo=zone).timestamp() * 1000)


def test_schedule_day_and_night_limits() -> None:
    ev = engine.build("schedule", NOISE)
    # 50 dB(A) at 14:00 is within the day limit; at 23:00 it is above the night limit.
    assert run(ev, [(_local(2026, 3, 10, 14), 50.0)]) == []
    night = run(ev, [(_local(2026, 3, 10, 23), 50.0)])
    assert kinds(night) == ["raise"]
    assert night[0].details["window"] == "night"
    assert night[0].details["limit"] == 45
    # After midnight the night window still holds; 44 is within the 2 dB clear margin: stays.
    assert kinds(run(ev, [(_local(2026, 3, 11, 1), 44.0)])) == []
    assert kinds(run(ev, [(_local(2026, 3, 11, 2), 42.0)])) == ["clear"]


def test_schedule_working_days_follow_the_chinese_calendar() -> None:
    params = {
        "op": ">",
        "windows": [{"start": "08:00", "end": "18:00", "days": "holiday", "value": 50}],
    }
    ev = engine.build("schedule", params)
    assert isinstance(ev, engine.Schedule)
    # 2026-10-01 (National Day, a Thursday) is a holiday; 2026-10-13 (a Tuesday) a working day.
    assert ev.window_at(_local(2026, 10, 1, 10)) is not None
    assert ev.window_at(_local(2026, 10, 13, 10)) is None
    assert engine.is_workday(dt.date(2026, 10, 13))
    assert not engine.is_workday(dt.date(2026, 10, 1))
    # Beyond the calendar's years: Monday to Friday.
    assert engine.is_workday(dt.date(2040, 1, 2))
    assert not engine.is_workday(dt.date(2040, 1, 1))


def test_combination_needs_every_condition_in_time() -> None:
    params = {
        "for_min": 0,
        "max_age_min": 30,
        "conditions": [
            {"property": "water_level", "op": ">", "value": 30},
            {"property": "pump_running", "op": "<", "value": 0.5},
        ],
    }
    ev = engine.build("combination", params)
    assert isinstance(ev, engine.Combination)
    assert ev.feed_keyed(T0, "ds:1", "water_level", 40.0) == []
    raised = ev.feed_keyed(T0 + MIN, "ds:2", "pump_running", 0.0)
    assert kinds(raised) == ["raise"]
    assert kinds(ev.feed_keyed(T0 + 2 * MIN, "ds:2", "pump_running", 1.0)) == ["clear"]
    # A stale reading does not count.
    ev2 = engine.build("combination", params)
    assert isinstance(ev2, engine.Combination)
    ev2.feed_keyed(T0, "ds:1", "water_level", 40.0)
    assert ev2.feed_keyed(T0 + 31 * MIN, "ds:2", "pump_running", 0.0) == []


def test_older_readings_are_ignored() -> None:
    ev = engine.build("threshold", {"op": ">", "value": 1})
    assert kinds(run(ev, [(T0 + MIN, 5.0)])) == ["raise"]
    assert run(ev, [(T0, 0.0)]) == []
    assert ev.active


@pytest.mark.parametrize(
    ("kind", "params"),
    [
        ("threshold", {"op": ">", "value": 50, "clear_value": 40, "for_min": 3}),
        ("rate", {"max_change": 20, "within_min": 2}),
        ("flatline", {"for_min": 5, "tolerance": 0.5}),
        ("missing", {"intervals": 2}),
        ("schedule", NOISE),
        ("anomaly", {"sensitivity": 0.5}),
    ],
)
def test_resuming_from_a_checkpoint_gives_the_same_signals(
    kind: str, params: dict[str, Any]
) -> None:
    rows: list[tuple[int, float]] = []
    ts = T0
    for i in range(600):
        ts += MIN if i % 97 else 7 * MIN  # now and then a gap
        value = 30.0 + (i % 13) + (60.0 if 200 <= i < 215 else 0.0) + (i // 300) * 5
        if 400 <= i < 420:
            value = 33.0
        rows.append((ts, value))
    whole = run(engine.build(kind, params), rows)
    first = engine.build(kind, params)
    part = run(first, rows[:250])
    resumed = engine.build(kind, params)
    # Through JSON, as the checkpoint is stored.
    resumed.load(json.loads(json.dumps(first.dump())))
    part += run(resumed, rows[250:])
    assert part == whole
    assert any(s.kind == "raise" for s in whole)
