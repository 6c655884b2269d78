"""Parse ThingsBoard-style JSON telemetry: flat key-values, timed values, or an array of them."""

from __future__ import annotations

import orjson

from linli.adapters.base import ParseResult, PayloadError, Problem, Reading
from linli.adapters.checks import check_key, check_ts_ms, value_of

MAX_ITEMS = 10_000


def _values(result: ParseResult, where: str, values: dict[str, object], ts_ms: int) -> None:
    for key, raw in values.items():
        item = f"{where}{key}"
        reason = check_key(key)
        if reason is None:
            value, reason = value_of(raw)
            if value is not None:
                result.readings.append(Reading(key, ts_ms, value))
                continue
        result.problems.append(Problem(item[:200], reason or "unreadable"))


def _item(result: ParseResult, where: str, item: object, received_ms: int) -> None:
    if not isinstance(item, dict):
        result.problems.append(Problem(where.rstrip(".") or "payload", "expected a JSON object"))
        return
    if "values" in item and set(item) <= {"ts", "values"}:
        values = item["values"]
        ts = item.get("ts", received_ms)
        reason = check_ts_ms(ts)
        if reason is not None:
            result.problems.append(Problem(f"{where}ts", reason))
        elif not isinstance(values, dict):
            result.problems.append(Problem(f"{where}values", "values must be a JSON object"))
        elif isinstance(ts, int):
            _values(result, where, values, ts)
        return
    _values(result, where, item, received_ms)


def parse(payload: bytes, content_type: str, received_ms: int) -> ParseResult:
    """Readings of a ThingsBoard-style payload; a bad item becomes a Problem, not an error."""
    try:
        doc = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"not valid JSON: {exc}") from None
    result = ParseResult()
    if isinstance(doc, list):
        if not doc:
            raise PayloadError("empty JSON array")
        if len(doc) > MAX_ITEMS:
            raise PayloadError(f"more than {MAX_ITEMS} items")
        for index, item in enumerate(doc):
            _item(result, f"[{index}].", item, received_ms)
    elif isinstance(doc, dict):
        if not doc:
            raise PayloadError("empty JSON object")
        _item(result, "", doc, received_ms)
    else:
        raise PayloadError("expected a JSON object or an array of objects")
    return result
