"""Parse SenML JSON (RFC 8428): resolve base fields, names and times; refuse valueless records."""

from __future__ import annotations

import math
import re

import orjson

from linli.adapters.base import ParseResult, PayloadError, Problem, Reading
from linli.adapters.checks import check_key, check_ts_ms, value_of

MAX_RECORDS = 10_000
# RFC 8428 §4.5.3: a resolved time below 2**28 s is relative to the current time.
RELATIVE_LIMIT_S = 2**28
_SEGMENT = re.compile(r"[:/]")
_VALUE_FIELDS = ("v", "vs", "vb", "vd", "s")
_BASE_FIELDS = ("bn", "bt", "bu", "bv", "bs", "bver")


def _number(record: dict[str, object], name: str) -> float | None:
    raw = record.get(name)
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise ValueError(f"{name} must be a number")
    return float(raw)


def _time_ms(resolved_s: float, received_ms: int) -> int:
    if abs(resolved_s) < RELATIVE_LIMIT_S:
        return received_ms + round(resolved_s * 1000)
    return round(resolved_s * 1000)


def _record(
    result: ParseResult,
    index: int,
    record: dict[str, object],
    base: dict[str, object],
    received_ms: int,
) -> None:
    bn = base.get("bn", "")
    name = f"{bn}{record.get('n', '')}"
    key = _SEGMENT.split(name)[-1] if name else ""
    item = f"[{index}] {name}"[:200] if name else f"[{index}]"
    reason = check_key(key)
    if reason is not None:
        result.problems.append(Problem(item, f"name: {reason}"))
        return
    present = [f for f in _VALUE_FIELDS if f in record]
    if not present:
        result.problems.append(Problem(item, "record has no value (v, vs, vb, vd or s)"))
        return
    if len(present) > 1:
        result.problems.append(Problem(item, "record has more than one value field"))
        return
    try:
        t = _number(record, "t") or 0.0
        bt = _number(base, "bt") or 0.0
        bv = _number(base, "bv") or 0.0
        bs = _number(base, "bs") or 0.0
    except ValueError as exc:
        result.problems.append(Problem(item, str(exc)))
        return
    if not math.isfinite(bt + t):
        # bt and t near the float limit add up to infinity (found by tests/fuzz).
        result.problems.append(Problem(item, "time is not a finite number"))
        return
    ts_ms = _time_ms(bt + t, received_ms)
    reason = check_ts_ms(ts_ms)
    if reason is not None:
        result.problems.append(Problem(item, reason))
        return
    field = present[0]
    raw = record[field]
    if field in ("v", "s"):
        if isinstance(raw, bool) or not isinstance(raw, int | float):
            result.problems.append(Problem(item, f"{field} must be a number"))
            return
        raw = raw + (bv if field == "v" else bs)
    elif field == "vb" and not isinstance(raw, bool):
        result.problems.append(Problem(item, "vb must be true or false"))
        return
    elif field in ("vs", "vd") and not isinstance(raw, str):
        result.problems.append(Problem(item, f"{field} must be text"))
        return
    value, reason = value_of(raw)
    if value is None:
        result.problems.append(Problem(item, reason or "unreadable value"))
        return
    result.readings.append(Reading(key, ts_ms, value))


def parse(payload: bytes, content_type: str, received_ms: int) -> ParseResult:
    """Readings of a SenML pack; each unusable record is reported as a Problem."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list) or not doc:
        raise PayloadError("a SenML pack is a non-empty JSON array of records")
    if len(doc) > MAX_RECORDS:
        raise PayloadError(f"more than {MAX_RECORDS} records")
    result = ParseResult()
    base: dict[str, object] = {}
    for index, record in enumerate(doc):
        if not isinstance(record, dict):
            result.problems.append(Problem(f"[{index}]", "a SenML record is a JSON object"))
            continue
        # Base fields apply to this record and every later one until changed (RFC 8428 §4.1).
        for field in _BASE_FIELDS:
            if field in record:
                base[field] = record[field]
        if not isinstance(base.get("bn", ""), str):
            raise PayloadError("bn must be text")
        if "n" in record and not isinstance(record["n"], str):
            result.problems.append(Problem(f"[{index}]", "n must be text"))
            continue
        if set(record) <= set(_BASE_FIELDS):
            continue  # a record of base fields only sets them for the records after it
        _record(result, index, record, base, received_ms)
    if not result.readings and not result.problems:
        result.problems.append(Problem("payload", "no record has a value"))
    return result
