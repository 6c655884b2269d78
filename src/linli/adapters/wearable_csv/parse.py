"""Parse a wristband's ``HR=72;SPO2=97;STEPS=1200;FALL=0;BAT=81;T=1764380000`` lines."""

from __future__ import annotations

import math

from linli.adapters.base import ParseResult, PayloadError, Problem, Reading
from linli.adapters.checks import check_ts_ms

# The keys this vendor sends (renamed to catalogue keys by the registry from manifest.toml).
KNOWN = frozenset({"HR", "SPO2", "STEPS", "FALL", "BAT"})
MAX_LINES = 10_000


def _line(result: ParseResult, number: int, line: str, received_ms: int) -> None:
    pairs: list[tuple[str, str]] = []
    ts_ms = received_ms
    for part in line.split(";"):
        part = part.strip()
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key, raw = key.strip().upper(), raw.strip()
        if not sep or not key:
            result.problems.append(Problem(f"line {number}: {part[:40]}", "expected KEY=value"))
            continue
        if key == "T":
            # More than 12 digits is no time in 2000-2100; int() of thousands raises.
            if not raw.isdigit() or len(raw) > 12:
                result.problems.append(Problem(f"line {number}: T", "T must be epoch seconds"))
                return
            ts_ms = int(raw) * 1000
            reason = check_ts_ms(ts_ms)
            if reason is not None:
                result.problems.append(Problem(f"line {number}: T", reason))
                return
            continue
        pairs.append((key, raw))
    for key, raw in pairs:
        item = f"line {number}: {key[:40]}"
        if key not in KNOWN:
            result.problems.append(Problem(item, "unknown key for this wristband"))
            continue
        try:
            value = float(raw)
        except ValueError:
            result.problems.append(Problem(item, "value is not a number"))
            continue
        if not math.isfinite(value):
            result.problems.append(Problem(item, "value is not a finite number"))
            continue
        result.readings.append(Reading(key, ts_ms, value))


def parse(payload: bytes, content_type: str, received_ms: int) -> ParseResult:
    """Readings of one or more wristband lines; a bad pair becomes a Problem."""
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise PayloadError("wristband lines are plain ASCII text") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise PayloadError("empty payload")
    if len(lines) > MAX_LINES:
        raise PayloadError(f"more than {MAX_LINES} lines")
    result = ParseResult()
    for number, line in enumerate(lines, start=1):
        _line(result, number, line, received_ms)
    return result
