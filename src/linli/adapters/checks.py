"""Checks every adapter applies to keys, times and values, so formats agree on what is valid."""

from __future__ import annotations

import math
import re

KEY = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")
MAX_TEXT = 255
# Readings from before 2000-01-01 or after 2100-01-01 (ms) are clock errors, not data.
MIN_TS_MS = 946_684_800_000
MAX_TS_MS = 4_102_444_800_000


def check_key(key: object) -> str | None:
    """A reason to refuse ``key`` as a property key, or None when it is fine."""
    if not isinstance(key, str) or not KEY.match(key):
        return "key must be 1-64 letters, digits, '_', '.' or '-'"
    return None


def check_ts_ms(ts: object) -> str | None:
    """A reason to refuse ``ts`` as a time in epoch milliseconds, or None."""
    if isinstance(ts, bool) or not isinstance(ts, int):
        return "ts must be an integer number of milliseconds since 1970"
    if not MIN_TS_MS <= ts < MAX_TS_MS:
        return "ts is outside 2000-2100 (milliseconds expected)"
    return None


def value_of(raw: object) -> tuple[float | str | bool | None, str | None]:
    """A reading value from a decoded JSON value, or None with the reason it is refused."""
    if isinstance(raw, bool):
        return raw, None
    if isinstance(raw, int | float):
        try:
            number = float(raw)
        except OverflowError:
            return None, "value is too large"
        if not math.isfinite(number):
            return None, "value is not a finite number"
        return number, None
    if isinstance(raw, str):
        if len(raw) > MAX_TEXT:
            return None, f"text value longer than {MAX_TEXT} characters"
        return raw, None
    if raw is None:
        return None, "value is null"
    return None, "value must be a number, text or true/false"
