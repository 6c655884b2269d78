"""Rule evaluators: pure state machines fed one reading at a time, live and in backtests alike.

Every rule kind turns readings into *signals*: ``raise`` when its condition has held long enough,
``update`` while it goes on (at most once a minute, carrying how many readings confirmed it), and
``clear`` when it has ended. Evaluators touch no database and no clock: time is the readings'
own timestamps (and, for missing data, the ``now`` of :meth:`Evaluator.tick`). Their state is a
small JSON-able dict, checkpointed with the alarms they raise, so a restart resumes exactly.

Readings must come in time order per source; one older than the last one seen is ignored (the
live pipeline and the backtest both do this, so they agree).
"""

from __future__ import annotations

import datetime as dt
import math
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo

import chinese_calendar

from linli.core.i18n import N_, gettext
from linli.rule.anomaly import AnomalyDetector, threshold_for

MINUTE_MS = 60_000
# While an alarm stays active, an update goes out at most this often.
UPDATE_EVERY_MS = 60_000
OPS = (">", ">=", "<", "<=")

SignalKind = Literal["raise", "update", "clear"]


class RuleError(ValueError):
    """A rule's parameters do not make sense; the message says what to fix.

    The message is a translatable id with ``%(name)s`` placeholders; ``str()`` gives it in
    English, :meth:`translated` in the current locale.
    """

    def __init__(self, message: str, **params: object) -> None:
        self.message_id = message
        self.params = params
        super().__init__(message % params if params else message)

    def translated(self) -> str:
        """The message in the current locale."""
        return gettext(self.message_id, **self.params)


@dataclass(frozen=True, slots=True)
class Signal:
    """A change of a rule's condition on one source."""

    kind: SignalKind
    started_ms: int
    ts_ms: int
    value: float | None
    # Readings folded in since the previous signal (for the alarm's count).
    readings: int = 1
    peak: float | None = None
    details: dict[str, Any] = field(default_factory=dict)


# --- parameters -----------------------------------------------------------------------------


def _num(params: dict[str, Any], key: str, default: float | None = None) -> float:
    raw = params.get(key, default)
    if raw is None:
        raise RuleError(N_("parameter '%(key)s' is required"), key=key)
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise RuleError(N_("parameter '%(key)s' must be a number"), key=key)
    try:
        number = float(raw)
    except ValueError:
        raise RuleError(N_("parameter '%(key)s' must be a number"), key=key) from None
    if not math.isfinite(number):
        raise RuleError(N_("parameter '%(key)s' must be a finite number"), key=key)
    return number


def _minutes(params: dict[str, Any], key: str, default: float = 0) -> int:
    minutes = _num(params, key, default)
    if minutes < 0 or minutes > 60 * 24 * 31:
        raise RuleError(N_("parameter '%(key)s' must be between 0 and 44640 minutes"), key=key)
    return int(minutes * MINUTE_MS)


def _op(params: dict[str, Any], key: str = "op") -> str:
    op = params.get(key, ">")
    if op not in OPS:
        raise RuleError(
            N_("parameter '%(key)s' must be one of %(ops)s"), key=key, ops=", ".join(OPS)
        )
    return str(op)


def _holds(op: str, value: float, limit: float) -> bool:
    if op == ">":
        return value > limit
    if op == ">=":
        return value >= limit
    if op == "<":
        return value < limit
    return value <= limit


def _beyond(op: str, a: float, b: float) -> bool:
    """True when ``a`` is further into the alarm side than ``b`` (for the peak)."""
    return a > b if op in (">", ">=") else a < b


# --- the common debounce --------------------------------------------------------------------


class _Debounce:
    """Raise after the condition held ``for_ms``; clear after it was off ``clear_for_ms``."""

    def __init__(self, for_ms: int, clear_for_ms: int) -> None:
        self.for_ms = for_ms
        self.clear_for_ms = clear_for_ms
        self.active = False
        self.pending_since: int | None = None
        self.clear_since: int | None = None
        self.started_ms = 0
        self.peak: float | None = None
        self.unreported = 0
        self.reported_ms = 0

    def step(
        self,
        ts: int,
        value: float | None,
        *,
        on: bool,
        off: bool,
        more_extreme: bool = False,
        details: dict[str, Any] | None = None,
    ) -> Signal | None:
        details = details or {}
        if not self.active:
            if not on:
                self.pending_since = None
                return None
            if self.pending_since is None:
                self.pending_since = ts
                self.peak = value
            elif more_extreme or self.peak is None:
                self.peak = value
            if ts - self.pending_since < self.for_ms:
                return None
            self.active = True
            self.started_ms = self.pending_since
            self.pending_since = None
            self.clear_since = None
            self.unreported = 0
            self.reported_ms = ts
            return Signal("raise", self.started_ms, ts, value, 1, self.peak, details)
        if more_extreme:
            self.peak = value
        self.unreported += 1
        if off:
            if self.clear_since is None:
                self.clear_since = ts
            if ts - self.clear_since >= self.clear_for_ms:
                ended = self.clear_since
                self._reset()
                return Signal("clear", self.started_ms, ended, value, 0, None, details)
        else:
            self.clear_since = None
        if ts - self.reported_ms >= UPDATE_EVERY_MS:
            count, self.unreported, self.reported_ms = self.unreported, 0, ts
            return Signal("update", self.started_ms, ts, value, count, self.peak, details)
        return None

    def _reset(self) -> None:
        self.active = False
        self.pending_since = None
        self.clear_since = None
        self.peak = None
        self.unreported = 0

    def dump(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "pending": self.pending_since,
            "clearing": self.clear_since,
            "started": self.started_ms,
            "peak": self.peak,
            "unreported": self.unreported,
            "reported": self.reported_ms,
        }

    def load(self, state: dict[str, Any]) -> None:
        self.active = bool(state.get("active", False))
        self.pending_since = state.get("pending")
        self.clear_since = state.get("clearing")
        self.started_ms = int(state.get("started", 0))
        self.peak = state.get("peak")
        self.unreported = int(state.get("unreported", 0))
        self.reported_ms = int(state.get("reported", 0))


# --- evaluators -----------------------------------------------------------------------------


class Evaluator(ABC):
    """One rule's condition on one source."""

    kind = ""

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        self.params = params
        self.interval_s = interval_s
        self.last_ts: int | None = None
        self.debounce = _Debounce(
            _minutes(params, "for_min", 0), _minutes(params, "clear_for_min", 0)
        )

    @property
    def active(self) -> bool:
        """True while the rule's alarm on this source is raised."""
        return self.debounce.active

    def feed(self, ts_ms: int, value: float) -> list[Signal]:
        """Fold in one reading; the signals it causes (usually none)."""
        if self.last_ts is not None and ts_ms <= self.last_ts:
            return []
        signals = self._before(ts_ms)
        self.last_ts = ts_ms
        signal = self._evaluate(ts_ms, value)
        if signal is not None:
            signals.append(signal)
        return signals

    def tick(self, now_ms: int) -> list[Signal]:
        """What the passing of time alone causes (missing data); most kinds: nothing."""
        return []

    def _before(self, ts_ms: int) -> list[Signal]:
        return []

    @abstractmethod
    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        """The signal this reading causes, after ``last_ts`` has moved to it."""

    def dump(self) -> dict[str, Any]:
        """The state to checkpoint (JSON-able)."""
        return {"last": self.last_ts, "d": self.debounce.dump(), **self._dump()}

    def load(self, state: dict[str, Any]) -> None:
        """Resume from :meth:`dump`'s output."""
        last = state.get("last")
        self.last_ts = None if last is None else int(last)
        self.debounce.load(state.get("d", {}))
        self._load(state)

    def _dump(self) -> dict[str, Any]:
        return {}

    def _load(self, state: dict[str, Any]) -> None:
        return None


class Threshold(Evaluator):
    """Value beyond a limit for a while; clears on the other side of a hysteresis limit."""

    kind = "threshold"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__(params, interval_s=interval_s)
        self.op = _op(params)
        self.limit = _num(params, "value")
        self.clear_limit = _num(params, "clear_value", self.limit)
        upward = self.op in (">", ">=")
        if (upward and self.clear_limit > self.limit) or (
            not upward and self.clear_limit < self.limit
        ):
            raise RuleError(N_("clear_value must lie on the normal side of value (hysteresis)"))

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        on = _holds(self.op, value, self.limit)
        if self.op in (">", ">="):
            off = value <= self.clear_limit if self.op == ">" else value < self.clear_limit
        else:
            off = value >= self.clear_limit if self.op == "<" else value > self.clear_limit
        peak = self.debounce.peak
        more = peak is None or _beyond(self.op, value, peak)
        return self.debounce.step(
            ts_ms,
            value,
            on=on,
            off=off,
            more_extreme=more,
            details={"limit": self.limit, "op": self.op},
        )


class Rate(Evaluator):
    """A jump: the value moved more than ``max_change`` within ``within_min`` minutes."""

    kind = "rate"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__(params, interval_s=interval_s)
        self.max_change = _num(params, "max_change")
        if self.max_change <= 0:
            raise RuleError(N_("max_change must be greater than 0"))
        self.within_ms = _minutes(params, "within_min", 5) or MINUTE_MS
        direction = params.get("direction", "both")
        if direction not in ("up", "down", "both"):
            raise RuleError(N_("direction must be up, down or both"))
        self.direction = str(direction)
        self.previous: list[float] = []  # [ts, value]

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        change = 0.0
        if self.previous and ts_ms - self.previous[0] <= self.within_ms:
            change = value - self.previous[1]
        self.previous = [float(ts_ms), value]
        if self.direction == "up":
            jump = change > self.max_change
        elif self.direction == "down":
            jump = -change > self.max_change
        else:
            jump = abs(change) > self.max_change
        return self.debounce.step(
            ts_ms,
            value,
            on=jump,
            off=not jump,
            details={"change": round(change, 6), "max_change": self.max_change},
        )

    def _dump(self) -> dict[str, Any]:
        return {"prev": self.previous}

    def _load(self, state: dict[str, Any]) -> None:
        self.previous = [float(x) for x in state.get("prev", [])]


class Flatline(Evaluator):
    """A stuck sensor: the value stayed within ``tolerance`` of itself for ``for_min``."""

    kind = "flatline"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        stuck = dict(params)
        self.stuck_ms = _minutes(params, "for_min", 60)
        if self.stuck_ms <= 0:
            raise RuleError(N_("for_min must be greater than 0 for a flatline rule"))
        stuck["for_min"] = 0
        super().__init__(stuck, interval_s=interval_s)
        self.params = params
        self.tolerance = _num(params, "tolerance", 0)
        if self.tolerance < 0:
            raise RuleError(N_("tolerance must not be negative"))
        self.reference: float | None = None
        self.since: int | None = None

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        if self.reference is None or abs(value - self.reference) > self.tolerance:
            self.reference = value
            self.since = ts_ms
        since = ts_ms if self.since is None else self.since
        stuck = ts_ms - since >= self.stuck_ms
        signal = self.debounce.step(
            ts_ms, value, on=stuck, off=not stuck, details={"stuck_since_ms": since}
        )
        if signal is not None and signal.kind == "raise":
            # The condition began when the value stopped moving.
            self.debounce.started_ms = since
            return Signal("raise", since, ts_ms, value, 1, value, signal.details)
        return signal

    def _dump(self) -> dict[str, Any]:
        return {"ref": self.reference, "since": self.since}

    def _load(self, state: dict[str, Any]) -> None:
        self.reference = state.get("ref")
        self.since = state.get("since")


class Missing(Evaluator):
    """A silent source: no reading for ``intervals`` × the device's reporting interval."""

    kind = "missing"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__({**params, "for_min": 0, "clear_for_min": 0}, interval_s=interval_s)
        self.params = params
        intervals = _num(params, "intervals", 3)
        if intervals < 1:
            raise RuleError(N_("intervals must be at least 1"))
        self.silence_ms = int(intervals * interval_s * 1000)

    def _gap_signal(self, now_ms: int) -> Signal | None:
        if self.last_ts is None or self.debounce.active:
            return None
        if now_ms - self.last_ts <= self.silence_ms:
            return None
        silent_from = self.last_ts
        self.debounce.active = True
        self.debounce.started_ms = silent_from
        self.debounce.reported_ms = now_ms
        return Signal(
            "raise",
            silent_from,
            silent_from + self.silence_ms,
            None,
            0,
            None,
            {"silent_since_ms": silent_from, "expected_interval_s": self.interval_s},
        )

    def tick(self, now_ms: int) -> list[Signal]:
        signal = self._gap_signal(now_ms)
        return [] if signal is None else [signal]

    def _before(self, ts_ms: int) -> list[Signal]:
        # A gap seen only when the next reading arrives (backtests, replays) raises too.
        signal = self._gap_signal(ts_ms)
        return [] if signal is None else [signal]

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        if not self.debounce.active:
            return None
        started = self.debounce.started_ms
        self.debounce._reset()
        return Signal("clear", started, ts_ms, value, 0, None, {"back_at_ms": ts_ms})


def _parse_hhmm(text: object) -> int:
    if not isinstance(text, str) or len(text) != 5 or text[2] != ":":
        raise RuleError(N_("time '%(text)s' must be HH:MM"), text=str(text)[:20])
    try:
        hours, minutes = int(text[:2]), int(text[3:])
    except ValueError:
        raise RuleError(N_("time '%(text)s' must be HH:MM"), text=str(text)[:20]) from None
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or hours * 60 + minutes > 24 * 60:
        raise RuleError(N_("time '%(text)s' must be HH:MM"), text=str(text)[:20])
    return hours * 60 + minutes


def is_workday(day: dt.date) -> bool:
    """A working day by the Chinese holiday calendar (Monday–Friday beyond its years)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


@dataclass(frozen=True, slots=True)
class Window:
    """A time window of a schedule rule and the limit that holds in it."""

    start: int  # minutes after local midnight
    end: int
    days: str  # all | workday | holiday
    limit: float
    clear_limit: float
    label: str

    def covers(self, local: dt.datetime) -> bool:
        """True when ``local`` falls in this window (a window may run past midnight)."""
        minute = local.hour * 60 + local.minute
        if self.start == self.end:
            inside = True
            day = local.date()
        elif self.start < self.end:
            inside = self.start <= minute < self.end
            day = local.date()
        else:
            inside = minute >= self.start or minute < self.end
            # After midnight the window belongs to the day it started on.
            day = local.date() if minute >= self.start else local.date() - dt.timedelta(days=1)
        if not inside:
            return False
        if self.days == "workday":
            return is_workday(day)
        if self.days == "holiday":
            return not is_workday(day)
        return True


class Schedule(Evaluator):
    """A limit that depends on the time of day and the calendar (e.g. day and night noise)."""

    kind = "schedule"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__(params, interval_s=interval_s)
        self.op = _op(params)
        self.zone = ZoneInfo(str(params.get("timezone", "Asia/Shanghai")))
        margin = _num(params, "clear_margin", 0)
        if margin < 0:
            raise RuleError(N_("clear_margin must not be negative"))
        raw = params.get("windows")
        if not isinstance(raw, list) or not raw:
            raise RuleError(N_("a schedule rule needs at least one time window"))
        windows: list[Window] = []
        for item in raw:
            if not isinstance(item, dict):
                raise RuleError(N_("each window needs start, end and value"))
            days = item.get("days", "all")
            if days not in ("all", "workday", "holiday"):
                raise RuleError(N_("window days must be all, workday or holiday"))
            limit = _num(item, "value")
            shift = -margin if self.op in (">", ">=") else margin
            windows.append(
                Window(
                    _parse_hhmm(item.get("start")),
                    _parse_hhmm(item.get("end")),
                    str(days),
                    limit,
                    limit + shift,
                    str(item.get("label", "")),
                )
            )
        self.windows = tuple(windows)

    def window_at(self, ts_ms: int) -> Window | None:
        """The first window covering the reading time (local time of the community)."""
        local = dt.datetime.fromtimestamp(ts_ms / 1000, tz=self.zone)
        for window in self.windows:
            if window.covers(local):
                return window
        return None

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        window = self.window_at(ts_ms)
        if window is None:
            on, off, details = False, True, {}
        else:
            on = _holds(self.op, value, window.limit)
            upward = self.op in (">", ">=")
            off = value <= window.clear_limit if upward else value >= window.clear_limit
            off = off and not on
            details = {"limit": window.limit, "op": self.op, "window": window.label}
        peak = self.debounce.peak
        more = peak is None or _beyond(self.op, value, peak)
        return self.debounce.step(ts_ms, value, on=on, off=off, more_extreme=more, details=details)


class Anomaly(Evaluator):
    """Unusual for this series' own history (see :mod:`linli.rule.anomaly`)."""

    kind = "anomaly"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        defaults = {"clear_for_min": 10, **params}
        super().__init__(defaults, interval_s=interval_s)
        self.params = params
        sensitivity = _num(params, "sensitivity", 0.5)
        if not 0 <= sensitivity <= 1:
            raise RuleError(N_("sensitivity must be between 0 and 1"))
        self.threshold = threshold_for(sensitivity)
        self.detector = AnomalyDetector()
        self.last_score = 0.0

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        score = self.detector.score(ts_ms, value)
        self.last_score = score
        on = score >= self.threshold
        return self.debounce.step(
            ts_ms,
            value,
            on=on,
            off=not on,
            details={"score": round(score, 4), "threshold": round(self.threshold, 4)},
        )

    def _dump(self) -> dict[str, Any]:
        return {"det": self.detector.to_state()}

    def _load(self, state: dict[str, Any]) -> None:
        det = state.get("det")
        if isinstance(det, dict):
            self.detector = AnomalyDetector.from_state(det)


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


# The MAD of a normal sample times this estimates its standard deviation.
MAD_TO_SIGMA = 1.4826
# The most readings a pressure_drop baseline keeps.
WINDOW_SAMPLES = 120


class PressureDrop(Evaluator):
    """A burst: the value fell well below its own recent baseline (see docs/rules.md).

    The baseline is the median of the readings of the last ``baseline_min`` minutes; the spread
    is their MAD scaled to a standard deviation. A reading is *low* when it lies more than
    ``max(min_drop, k × spread)`` below the baseline; ``readings`` low readings in a row raise.
    While an alarm is raised (or low readings are pending) the baseline is frozen, so a burst
    that goes on does not become the new normal. It clears once the value has been back within
    the margin of the frozen baseline for ``clear_for_min``.
    """

    kind = "pressure_drop"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__({**params, "for_min": 0}, interval_s=interval_s)
        self.params = params
        self.baseline_ms = _minutes(params, "baseline_min", 60)
        if self.baseline_ms < 5 * MINUTE_MS:
            raise RuleError(N_("baseline_min must be at least 5 minutes"))
        self.min_drop = _num(params, "min_drop", 30)
        if self.min_drop <= 0:
            raise RuleError(N_("min_drop must be greater than 0"))
        self.k = _num(params, "k", 6)
        if self.k < 0:
            raise RuleError(N_("k must not be negative"))
        needed = _num(params, "readings", 3)
        if needed < 1 or needed > 1000:
            raise RuleError(N_("readings must be between 1 and 1000"))
        self.needed = int(needed)
        self.min_samples = 5
        self.window: list[list[float]] = []  # [ts, value], oldest first
        self.low = 0
        self.low_since = 0
        self.frozen: list[float] = []  # [baseline, margin] while frozen

    def reference(self) -> tuple[float, float] | None:
        """The baseline and the drop margin now, or None while too few readings are known."""
        if self.frozen:
            return self.frozen[0], self.frozen[1]
        if len(self.window) < self.min_samples:
            return None
        values = [v for _, v in self.window]
        baseline = _median(values)
        spread = MAD_TO_SIGMA * _median([abs(v - baseline) for v in values])
        return baseline, max(self.min_drop, self.k * spread)

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        ref = self.reference()
        if ref is None:
            self._remember(ts_ms, value)
            return None
        baseline, margin = ref
        low = value < baseline - margin
        self.low = self.low + 1 if low else 0
        if self.low == 1:
            self.low_since = ts_ms
        on = self.low >= self.needed
        off = not low
        if low and not self.frozen:
            self.frozen = [baseline, margin]
        peak = self.debounce.peak
        signal = self.debounce.step(
            ts_ms,
            value,
            on=on,
            off=off,
            more_extreme=peak is None or value < peak,
            details={
                "baseline": round(baseline, 3),
                "drop": round(baseline - value, 3),
                "margin": round(margin, 3),
            },
        )
        if not self.debounce.active and self.low == 0:
            # Back to normal (or a lone low reading that did not last): follow the value again.
            self.frozen = []
            self._remember(ts_ms, value)
        if signal is not None and signal.kind == "raise":
            # The burst began with the first of the low readings.
            self.debounce.started_ms = self.low_since
            return Signal(
                "raise", self.low_since, ts_ms, value, self.low, signal.peak, signal.details
            )
        return signal

    def _remember(self, ts_ms: int, value: float) -> None:
        # At most WINDOW_SAMPLES readings are kept (fast sensors are thinned), so the
        # checkpointed state stays small.
        if self.window and ts_ms - self.window[-1][0] < self.baseline_ms / WINDOW_SAMPLES:
            return
        self.window.append([float(ts_ms), value])
        start = ts_ms - self.baseline_ms
        while self.window and self.window[0][0] <= start:
            self.window.pop(0)

    def _dump(self) -> dict[str, Any]:
        return {
            "win": self.window,
            "low": self.low,
            "low_since": self.low_since,
            "frozen": self.frozen,
        }

    def _load(self, state: dict[str, Any]) -> None:
        self.window = [[float(t), float(v)] for t, v in state.get("win", [])]
        self.low = int(state.get("low", 0))
        self.low_since = int(state.get("low_since", 0))
        self.frozen = [float(x) for x in state.get("frozen", [])]


class RateOfRise(Evaluator):
    """Water rising fast (low-spot flooding), or above a level: whichever comes first.

    The rise is the least-squares slope of the readings of the last ``within_min`` minutes (once
    they span at least half of it), per minute; it alarms above ``rise_per_min`` and clears
    below half of it. ``level`` (optional) is
    the plain level limit of the ``water_level_high`` template, with ``clear_level`` below it.
    """

    kind = "rate_of_rise"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__(params, interval_s=interval_s)
        self.rise = _num(params, "rise_per_min")
        if self.rise <= 0:
            raise RuleError(N_("rise_per_min must be greater than 0"))
        self.within_ms = _minutes(params, "within_min", 10)
        if self.within_ms < 2 * MINUTE_MS:
            raise RuleError(N_("within_min must be at least 2 minutes"))
        level = params.get("level")
        self.level = None if level is None else _num(params, "level")
        self.clear_level = self.level
        if self.level is not None:
            self.clear_level = _num(params, "clear_level", self.level)
            if self.clear_level > self.level:
                raise RuleError(N_("clear_level must not be above level"))
        self.window: list[list[float]] = []  # [ts, value], oldest first

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        start = ts_ms - self.within_ms
        while self.window and self.window[0][0] < start:
            self.window.pop(0)
        self.window.append([float(ts_ms), value])
        rate = self.rise_now()
        too_high = self.level is not None and value > self.level
        settled = self.clear_level is None or value <= self.clear_level
        on = rate > self.rise or too_high
        off = rate <= self.rise / 2 and settled
        peak = self.debounce.peak
        return self.debounce.step(
            ts_ms,
            value,
            on=on,
            off=off,
            more_extreme=peak is None or value > peak,
            details={
                "rise_per_min": round(rate, 4),
                "limit_per_min": self.rise,
                "level": self.level,
            },
        )

    def rise_now(self) -> float:
        """The least-squares slope per minute over the window (0 until it spans half of it)."""
        if len(self.window) < 3 or self.window[-1][0] - self.window[0][0] < self.within_ms / 2:
            return 0.0
        times = [(t - self.window[0][0]) / MINUTE_MS for t, _ in self.window]
        values = [v for _, v in self.window]
        mean_t = sum(times) / len(times)
        mean_v = sum(values) / len(values)
        spread = sum((t - mean_t) ** 2 for t in times)
        return sum((t - mean_t) * (v - mean_v) for t, v in zip(times, values, strict=True)) / spread

    def _dump(self) -> dict[str, Any]:
        return {"win": self.window}

    def _load(self, state: dict[str, Any]) -> None:
        self.window = [[float(t), float(v)] for t, v in state.get("win", [])]


class CoExposure(Evaluator):
    """Carbon monoxide by time-weighted exposure, with the alarm points of UL 2034.

    A dose ``D`` grows at ``1 / T(c)`` per minute and leaks with time constant ``leak_min``:
    ``dD/dt = 1/T(c) − D/τ``, with ``T(c) = t_ref_min × ((c_ref − c0) / (c − c0))^exponent``
    above ``c0`` (no dose at or below it). It alarms when ``D`` reaches 1, and clears after the
    concentration has been back at or below ``c0`` for ``clear_for_min``. Between readings the
    previous concentration holds (for at most ``hold_min``); each step is integrated exactly.
    Defaults: c0 30 ppm, 120 min at 70 ppm, exponent 1.43, τ 480 min, which alarms at 70 ppm
    after ≈ 138 min, 150 ppm ≈ 26 min, 400 ppm ≈ 5 min, and never at or below ≈ 45 ppm.
    """

    kind = "co_exposure"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__({"clear_for_min": 10, **params, "for_min": 0}, interval_s=interval_s)
        self.params = params
        self.c0 = _num(params, "c0", 30)
        self.c_ref = _num(params, "c_ref", 70)
        if self.c0 < 0 or self.c_ref <= self.c0:
            raise RuleError(N_("c_ref must be above c0 and c0 must not be negative"))
        self.t_ref = _num(params, "t_ref_min", 120)
        self.exponent = _num(params, "exponent", 1.43)
        self.leak = _num(params, "leak_min", 480)
        if self.t_ref <= 0 or self.leak <= 0 or not 0 < self.exponent <= 10:
            raise RuleError(N_("t_ref_min and leak_min must be greater than 0, exponent 0–10"))
        self.hold_ms = _minutes(params, "hold_min", 15) or MINUTE_MS
        self.scale = _num(params, "scale", 1)
        if self.scale <= 0:
            raise RuleError(N_("scale must be greater than 0"))
        self.dose = 0.0
        self.previous: float | None = None
        self.last_before: int | None = None

    def alarm_minutes(self, ppm: float) -> float:
        """Minutes to alarm from clean air at a steady ``ppm`` (infinity: never)."""
        if ppm <= self.c0:
            return math.inf
        target = self.t_ref * ((self.c_ref - self.c0) / (ppm - self.c0)) ** self.exponent
        if target >= self.leak:
            return math.inf
        return -self.leak * math.log(1 - target / self.leak)

    def _advance(self, minutes: float, ppm: float) -> None:
        decay = math.exp(-minutes / self.leak)
        rate = 0.0
        if ppm > self.c0:
            rate = ((ppm - self.c0) / (self.c_ref - self.c0)) ** self.exponent / self.t_ref
        self.dose = self.dose * decay + rate * self.leak * (1 - decay)

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        ppm = value * self.scale
        if self.previous is not None and self.last_before is not None:
            gap = ts_ms - self.last_before
            held = min(gap, self.hold_ms)
            self._advance(held / MINUTE_MS, self.previous)
            if gap > held:
                self._advance((gap - held) / MINUTE_MS, 0.0)
        self.previous = ppm
        self.last_before = ts_ms
        on = self.dose >= 1 and ppm > self.c0
        peak = self.debounce.peak
        return self.debounce.step(
            ts_ms,
            ppm,
            on=on,
            off=ppm <= self.c0,
            more_extreme=peak is None or ppm > peak,
            details={"dose": round(self.dose, 4), "ppm": round(ppm, 2)},
        )

    def _dump(self) -> dict[str, Any]:
        return {"dose": self.dose, "prev": self.previous, "prev_ts": self.last_before}

    def _load(self, state: dict[str, Any]) -> None:
        self.dose = float(state.get("dose", 0.0))
        prev = state.get("prev")
        self.previous = None if prev is None else float(prev)
        prev_ts = state.get("prev_ts")
        self.last_before = None if prev_ts is None else int(prev_ts)


@dataclass(frozen=True, slots=True)
class Condition:
    """One part of a combination: a property compared with a value."""

    property: str
    op: str
    value: float


class Combination(Evaluator):
    """Several conditions that hold at once within one place (all must hold).

    Fed with readings of several properties from the devices of the place; a property's
    condition holds when some device's latest fresh reading of it satisfies it.
    """

    kind = "combination"

    def __init__(self, params: dict[str, Any], *, interval_s: int = 60) -> None:
        super().__init__(params, interval_s=interval_s)
        raw = params.get("conditions")
        if not isinstance(raw, list) or len(raw) < 2:
            raise RuleError(N_("a combination needs at least two conditions"))
        conditions: list[Condition] = []
        for item in raw:
            if not isinstance(item, dict) or not isinstance(item.get("property"), str):
                raise RuleError(N_("each condition needs a property, an op and a value"))
            conditions.append(Condition(str(item["property"]), _op(item), _num(item, "value")))
        self.conditions = tuple(conditions)
        self.properties = frozenset(c.property for c in conditions)
        scope = params.get("scope", "building")
        if scope not in ("community", "compound", "building", "unit"):
            raise RuleError(N_("scope must be community, compound, building or unit"))
        self.scope = str(scope)
        self.max_age_ms = _minutes(params, "max_age_min", 60) or MINUTE_MS
        # stream key -> [property, value, ts]
        self.latest: dict[str, list[Any]] = {}

    def feed(self, ts_ms: int, value: float) -> list[Signal]:
        raise RuleError(N_("a combination is fed with feed_keyed (several properties)"))

    def feed_keyed(self, ts_ms: int, stream: str, prop: str, value: float) -> list[Signal]:
        """Fold in one reading of ``prop`` from ``stream`` (a device's datastream)."""
        if prop not in self.properties:
            return []
        if self.last_ts is not None and ts_ms < self.last_ts:
            return []
        self.last_ts = ts_ms
        self.latest[stream] = [prop, value, ts_ms]
        signal = self._evaluate(ts_ms, value)
        return [] if signal is None else [signal]

    def _evaluate(self, ts_ms: int, value: float) -> Signal | None:
        held = self._holding(ts_ms)
        on = held == len(self.conditions)
        return self.debounce.step(
            ts_ms, value, on=on, off=not on, details={"holding": held, "of": len(self.conditions)}
        )

    def _holding(self, now_ms: int) -> int:
        count = 0
        for cond in self.conditions:
            for prop, value, ts in self.latest.values():
                if (
                    prop == cond.property
                    and now_ms - ts <= self.max_age_ms
                    and _holds(cond.op, value, cond.value)
                ):
                    count += 1
                    break
        return count

    def _dump(self) -> dict[str, Any]:
        return {"latest": self.latest}

    def _load(self, state: dict[str, Any]) -> None:
        latest = state.get("latest", {})
        self.latest = (
            {str(k): list(v) for k, v in latest.items()} if isinstance(latest, dict) else {}
        )


EVALUATORS: dict[str, type[Evaluator]] = {
    cls.kind: cls
    for cls in (
        Threshold,
        Rate,
        Flatline,
        Missing,
        Schedule,
        Anomaly,
        Combination,
        PressureDrop,
        RateOfRise,
        CoExposure,
    )
}


def build(kind: str, params: dict[str, Any], *, interval_s: int = 60) -> Evaluator:
    """A fresh evaluator of ``kind``; raises RuleError for an unknown kind or bad parameters."""
    cls = EVALUATORS.get(kind)
    if cls is None:
        raise RuleError(N_("unknown rule kind '%(kind)s'"), kind=str(kind)[:40])
    if not isinstance(params, dict):
        raise RuleError(N_("parameters must be an object"))
    return cls(params, interval_s=interval_s)
