"""Escalation: a critical alarm nobody takes goes to the community admin, then the district."""

from __future__ import annotations

import datetime as dt

import time_machine
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.alarm import tasks as alarm_tasks
from linli.alarm.models import Alarm, AlarmEvent
from linli.notification.models import Notification
from tests.alarm.conftest import Setup, raise_alarm
from tests.conftest import World

T0 = dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)


def _inapp(db: Session, alarm_id: int) -> dict[int, list[int]]:
    """In-app messages about an alarm: account id -> escalation levels it was told about."""
    db.expire_all()
    found: dict[int, list[int]] = {}
    for row in db.scalars(
        select(Notification).where(Notification.channel == "inapp").order_by(Notification.id)
    ):
        if row.data.get("alarm_id") == alarm_id and row.account_id is not None:
            found.setdefault(row.account_id, []).append(int(row.data["level"]))
    return found


def test_unacknowledged_critical_alarm_goes_up_after_its_delay(
    app: FastAPI, db: Session, world: World, setup: Setup
) -> None:
    with time_machine.travel(T0, tick=False):
        aid = raise_alarm(db, setup, "c1-b1", details={"escalate_after_min": 10})
        minor = raise_alarm(db, setup, "c1-b1", severity="minor")
    acc = world.accounts
    # Raised: the people on duty in c1 are told at once, not the admins.
    told = _inapp(db, aid)
    assert set(told) == {acc["staff1"], acc["grid1"], acc["pm1"]}
    maker = app.state.sessionmaker

    assert alarm_tasks.escalate(maker, now=T0 + dt.timedelta(minutes=9)) == 0
    assert alarm_tasks.escalate(maker, now=T0 + dt.timedelta(minutes=11)) == 1
    db.expire_all()
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    assert alarm.escalation_level == 1
    assert alarm.escalated_at == T0 + dt.timedelta(minutes=11)
    events = db.scalars(
        select(AlarmEvent).where(AlarmEvent.alarm_id == aid).order_by(AlarmEvent.id)
    ).all()
    assert [e.kind for e in events] == ["raised", "escalated"]
    assert events[1].text == "community_admin"
    told = _inapp(db, aid)
    assert told[acc["admin1"]] == [1]
    assert acc["district"] not in told
    assert acc["staff2"] not in told
    # Running again changes nothing; the minor alarm never escalates.
    assert alarm_tasks.escalate(maker, now=T0 + dt.timedelta(minutes=12)) == 0
    # Ten more minutes without anyone taking it: the district admin.
    assert alarm_tasks.escalate(maker, now=T0 + dt.timedelta(minutes=22)) == 1
    told = _inapp(db, aid)
    assert told[acc["district"]] == [2]
    assert told[acc["admin1"]] == [1]
    # The top of the ladder: nothing further.
    assert alarm_tasks.escalate(maker, now=T0 + dt.timedelta(hours=5)) == 0
    db.expire_all()
    for alarm_id, level in ((aid, 2), (minor, 0)):
        stored = db.get(Alarm, alarm_id)
        assert stored is not None
        assert stored.escalation_level == level


def test_an_acknowledged_alarm_does_not_escalate(
    app: FastAPI, db: Session, world: World, setup: Setup
) -> None:
    with time_machine.travel(T0, tick=False):
        aid = raise_alarm(db, setup, "c1-b1")
    alarm = db.get(Alarm, aid)
    assert alarm is not None
    alarm.acknowledged_at = T0 + dt.timedelta(minutes=1)
    db.commit()
    assert alarm_tasks.escalate(app.state.sessionmaker, now=T0 + dt.timedelta(hours=1)) == 0
    assert world.accounts["admin1"] not in _inapp(db, aid)
