"""Duty shifts: the pure on-duty rule (midnight wrap) and applying shifts to the register."""

from __future__ import annotations

import datetime as dt

import pytest
import time_machine
from fastapi import FastAPI
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.errors import PermissionDenied, ValidationFailed
from linli.incident import service, shifts, tasks
from linli.incident.models import Responder
from linli.incident.schemas import IncidentCreate, ResponderCreate, ResponderStatusIn
from tests.conftest import World
from tests.incident.conftest import START, actor_of, register

SHANGHAI = dt.timezone(dt.timedelta(hours=8))  # Asia/Shanghai has no daylight saving time


def local(day: int, hour: int, minute: int = 0, second: int = 0) -> dt.datetime:
    """A UTC-aware instant given as local (Shanghai) wall-clock time in July 2026."""
    return dt.datetime(2026, 7, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(dt.UTC)


def hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


MINUTES = st.integers(min_value=0, max_value=24 * 60 - 1)


@given(start=MINUTES, end=MINUTES, at=MINUTES, second=st.integers(0, 59))
def test_on_duty_is_the_time_since_the_start_shorter_than_the_shift(
    start: int, end: int, at: int, second: int
) -> None:
    moment = dt.time(at // 60, at % 60, second)
    length = (end - start) % (24 * 60) or 24 * 60  # equal ends: a 24-hour shift
    expected = (at - start) % (24 * 60) < length
    assert shifts.on_duty(hhmm(start), hhmm(end), moment) is expected
    if start != end:
        # The day splits into the shift and its complement: exactly one of them holds.
        assert shifts.on_duty(hhmm(end), hhmm(start), moment) is not expected


def test_on_duty_examples_and_malformed_times() -> None:
    night = ("20:00", "08:00")
    assert shifts.on_duty(*night, dt.time(23, 0))
    assert shifts.on_duty(*night, dt.time(0, 0))
    assert shifts.on_duty(*night, dt.time(7, 59, 59))
    assert not shifts.on_duty(*night, dt.time(8, 0))
    assert not shifts.on_duty(*night, dt.time(19, 59))
    assert shifts.on_duty(*night, dt.time(20, 0))
    assert shifts.on_duty("08:00", "20:00", dt.time(12, 0))
    assert not shifts.on_duty("08:00", "20:00", dt.time(20, 0))
    assert shifts.on_duty("06:00", "06:00", dt.time(5, 59))
    for bad in ("24:00", "8:00", "08:60", "0800", "", "08:00 "):
        with pytest.raises(ValueError, match="HH:MM"):
            shifts.parse_hhmm(bad)
    # The latest start or end at or before a moment, in local time.
    assert shifts.last_boundary(*night, local(15, 9)) == local(15, 8)
    assert shifts.last_boundary(*night, local(15, 7)) == local(14, 20)
    assert shifts.last_boundary(*night, local(15, 20)) == local(15, 20)


def test_shift_fields_of_the_schemas_come_in_pairs() -> None:
    base = {"account_id": 1, "place_id": 1, "display_name": "甲"}
    assert ResponderCreate.model_validate(base).shift_start is None
    ok = ResponderCreate.model_validate({**base, "shift_start": "20:00", "shift_end": "08:00"})
    assert (ok.shift_start, ok.shift_end) == ("20:00", "08:00")
    for bad in ({"shift_start": "20:00"}, {"shift_start": "25:00", "shift_end": "08:00"}):
        with pytest.raises(ValidationError):
            ResponderCreate.model_validate({**base, **bad})
    with pytest.raises(ValidationError):
        ResponderStatusIn.model_validate({"shift_end": "8:00", "shift_start": "20:00"})


def _state(db: Session, responder_id: int) -> tuple[bool, str]:
    db.expire_all()
    responder = db.get(Responder, responder_id)
    assert responder is not None
    return responder.on_shift, responder.status


@pytest.mark.usefixtures("clock")
def test_shifts_put_responders_on_and_off_duty_by_the_clock(
    app: FastAPI, db: Session, world: World, clock: time_machine.Traveller
) -> None:
    staff = actor_of(db, world, "staff1")
    day = register(db, world, "dayguard", ["security"], "gate:south-gate")
    night = register(db, world, "nightguard", ["security"], "gate:east-gate")
    busy = register(db, world, "medic", ["first_aid"], "building:building-2")
    free = register(db, world, "noshift", ["first_aid"], "building:building-3")
    now = START  # 10:00 in Shanghai
    assert now == local(15, 10)
    # A shift is applied as soon as it is set: the night guard is off duty in the morning.
    shifts.set_shift(db, staff, day, "08:00", "20:00", now=now)
    shifts.set_shift(db, staff, night, "20:00", "08:00", now=now)
    shifts.set_shift(db, staff, busy, "08:00", "20:00", now=now)
    db.commit()
    assert _state(db, day) == (True, "available")
    assert _state(db, night) == (False, "off_duty")
    assert shifts.apply_shifts(db, local(15, 12)) == 0

    # The medic is sent to a fall just before the end of the shift.
    clock.move_to(local(15, 19, 50))
    incident = service.create(
        db,
        staff,
        IncidentCreate(
            place_id=world.places["c1-b1"], type="fall", title="摔倒", node="building:building-1"
        ),
        now=local(15, 19, 50),
    )
    offers = service.dispatch(db, staff, incident.id, now=local(15, 19, 50))
    assert [o.responder_id for o in offers] == [busy]
    db.commit()

    # 20:00: the day shift ends, the night shift starts; whoever is busy finishes first.
    assert shifts.apply_shifts(db, local(15, 20, 0, 30)) == 3
    db.commit()
    assert _state(db, day) == (False, "off_duty")
    assert _state(db, night) == (True, "available")
    assert _state(db, busy) == (False, "dispatched")
    assert _state(db, free) == (True, "available")  # no shift: left alone
    assert shifts.apply_shifts(db, local(15, 20, 1)) == 0  # once per boundary

    # The incident closes: the medic is freed, then goes off duty at the next round.
    service.close(db, staff, incident.id, "扶起送医", now=local(15, 20, 30))
    assert _state(db, busy) == (False, "available")
    assert shifts.apply_shifts(db, local(15, 20, 31)) == 1
    assert _state(db, busy) == (False, "off_duty")

    # The night guard goes off duty by hand at 23:00 and stays off until the next boundary.
    guard = actor_of(db, world, "nightguard")
    clock.move_to(local(15, 23))
    service.set_responder_status(db, guard, night, ResponderStatusIn(status="off_duty"))
    db.commit()
    assert shifts.apply_shifts(db, local(15, 23, 30)) == 0
    assert _state(db, night) == (False, "off_duty")
    # Overtime: the day guard comes on duty by hand after the shift; nobody undoes it.
    service.set_responder_status(
        db, actor_of(db, world, "dayguard"), day, ResponderStatusIn(status="available")
    )
    db.commit()
    assert shifts.apply_shifts(db, local(15, 23, 45)) == 0
    assert _state(db, day) == (True, "available")

    # The next morning's round, run by the incident task: the day shift starts at 08:00 and
    # the night shift ends (the night guard is already off); the day guard is still on.
    clock.move_to(local(16, 8, 0, 10))
    assert tasks.run_once(app.state.sessionmaker, now=local(16, 8, 0, 10)) == (0, 0)
    assert _state(db, busy) == (True, "available")
    assert _state(db, night) == (False, "off_duty")
    assert _state(db, day) == (True, "available")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
@pytest.mark.usefixtures("clock")
def test_who_may_set_a_shift(db: Session, world: World) -> None:
    medic = register(db, world, "medic", ["first_aid"], "building:building-2")
    register(db, world, "colleague", ["first_aid"], "building:building-3")
    with pytest.raises(PermissionDenied):
        shifts.set_shift(db, actor_of(db, world, "colleague"), medic, "08:00", "20:00")
    with pytest.raises(ValidationFailed):
        shifts.set_shift(db, actor_of(db, world, "staff1"), medic, "08:00", None)
    with pytest.raises(ValidationFailed):
        shifts.set_shift(db, actor_of(db, world, "staff1"), medic, "8:00", "20:00")
    # The responder themselves may set their own shift, and clear it.
    own = actor_of(db, world, "medic")
    assert shifts.set_shift(db, own, medic, "09:00", "17:00").shift_start == "09:00"
    cleared = shifts.set_shift(db, own, medic, None, None)
    assert (cleared.shift_start, cleared.shift_end) == (None, None)
