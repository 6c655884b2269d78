"""Deadlines on the Chinese working-day calendar: working hours 09:00–18:00, Asia/Shanghai.

A working day counts ``DAY_HOURS`` working hours, so "1 working day" reported on a Friday at
10:00 is due on the next working day at 10:00, and a report on a holiday starts counting at
09:00 of the next working day. Beyond the years ``chinese_calendar`` knows (2004–2026) the
calendar falls back to Monday–Friday.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import chinese_calendar

ZONE = ZoneInfo("Asia/Shanghai")
DAY_START = dt.time(9, 0)
DAY_END = dt.time(18, 0)
DAY_HOURS = 9
# A deadline further than this is refused (a typo in a category, not a real SLA).
MAX_DAYS = 400


def is_workday(day: dt.date) -> bool:
    """A working day by the Chinese holiday calendar (Monday–Friday beyond its years)."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5


def _next_start(day: dt.date) -> dt.datetime:
    """09:00 local of the first working day after ``day``."""
    nxt = day + dt.timedelta(days=1)
    for _ in range(MAX_DAYS):
        if is_workday(nxt):
            break
        nxt += dt.timedelta(days=1)
    return dt.datetime.combine(nxt, DAY_START, tzinfo=ZONE)


def due(start: dt.datetime, *, hours: int | None = None, days: int | None = None) -> dt.datetime:
    """The UTC moment when ``hours`` (or ``days`` × 9) working hours after ``start`` have passed."""
    if start.tzinfo is None:
        raise ValueError("start must be timezone-aware")
    total = (hours or 0) + (days or 0) * DAY_HOURS
    if total <= 0:
        raise ValueError("an SLA needs hours or days")
    remaining = dt.timedelta(hours=total)
    cursor = start.astimezone(ZONE)
    for _ in range(MAX_DAYS * 2):
        day = cursor.date()
        begin = dt.datetime.combine(day, DAY_START, tzinfo=ZONE)
        end = dt.datetime.combine(day, DAY_END, tzinfo=ZONE)
        if not is_workday(day) or cursor >= end:
            cursor = _next_start(day)
            continue
        cursor = max(cursor, begin)
        available = end - cursor
        if remaining <= available:
            return (cursor + remaining).astimezone(dt.UTC)
        remaining -= available
        cursor = _next_start(day)
    raise ValueError("SLA too long")


def working_hours_between(start: dt.datetime, end: dt.datetime) -> float:
    """Working hours from ``start`` to ``end`` (negative when ``end`` is earlier)."""
    if end < start:
        return -working_hours_between(end, start)
    total = dt.timedelta()
    cursor = start.astimezone(ZONE)
    stop = end.astimezone(ZONE)
    for _ in range(MAX_DAYS * 2):
        if cursor >= stop:
            break
        day = cursor.date()
        begin = dt.datetime.combine(day, DAY_START, tzinfo=ZONE)
        finish = dt.datetime.combine(day, DAY_END, tzinfo=ZONE)
        if is_workday(day) and cursor < finish:
            lo = max(cursor, begin)
            hi = min(finish, stop)
            if hi > lo:
                total += hi - lo
        cursor = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(0), tzinfo=ZONE)
    return total.total_seconds() / 3600
