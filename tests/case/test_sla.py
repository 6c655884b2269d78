"""Deadlines on the Chinese working-day calendar, around National Day 2026."""

from __future__ import annotations

import datetime as dt

import pytest

from linli.case import sla

Z = sla.ZONE


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=Z)  # type: ignore[misc]  # year, month, day, hour, minute


def test_national_day_holiday_is_skipped() -> None:
    # Wednesday 30 September 2026, 15:00; 1–7 October are holidays.
    assert sla.due(local(2026, 9, 30, 15, 0), days=1) == local(2026, 10, 8, 15, 0)
    assert sla.due(local(2026, 9, 30, 15, 0), hours=4) == local(2026, 10, 8, 10, 0)
    # Reported during the holiday: counting starts at 09:00 on the first working day.
    assert sla.due(local(2026, 10, 3, 11, 0), hours=2) == local(2026, 10, 8, 11, 0)


def test_weekend_make_up_working_day_counts() -> None:
    # Sunday 20 September 2026 is a make-up working day; Saturday 19th is not.
    assert sla.is_workday(dt.date(2026, 9, 20))
    assert not sla.is_workday(dt.date(2026, 9, 19))
    assert sla.due(local(2026, 9, 19, 15, 0), hours=4) == local(2026, 9, 20, 13, 0)


def test_an_ordinary_weekend_and_the_evening() -> None:
    # Friday 13 November 2026 at 17:00, 2 working hours: 1 h on Friday, 1 h on Monday.
    assert sla.due(local(2026, 11, 13, 17, 0), hours=2) == local(2026, 11, 16, 10, 0)
    # After hours: the next working morning.
    assert sla.due(local(2026, 11, 16, 20, 0), hours=1) == local(2026, 11, 17, 10, 0)
    assert sla.due(local(2026, 11, 16, 7, 0), hours=1) == local(2026, 11, 16, 10, 0)


def test_outside_the_calendar_years_monday_to_friday() -> None:
    # 2031 is beyond chinese_calendar: Friday 3 January → Monday 6 January.
    assert not sla.is_workday(dt.date(2031, 1, 4))
    assert sla.due(local(2031, 1, 3, 10, 0), days=1) == local(2031, 1, 6, 10, 0)


def test_working_hours_between_and_bad_input() -> None:
    assert sla.working_hours_between(local(2026, 9, 30, 17, 0), local(2026, 10, 8, 10, 0)) == 2
    assert sla.working_hours_between(local(2026, 10, 8, 10, 0), local(2026, 9, 30, 17, 0)) == -2
    with pytest.raises(ValueError, match="hours or days"):
        sla.due(local(2026, 9, 30, 17, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        sla.due(dt.datetime(2026, 9, 30, 17, 0), hours=1)  # noqa: DTZ001  # naive on purpose
