"""Rules (a condition over readings, made from a template) and their persisted evaluation state."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from linli.core.db import Base
from linli.core.time import UTCDateTime, utc_now

RULE_KINDS = (
    "threshold",
    "rate",
    "flatline",
    "missing",
    "schedule",
    "anomaly",
    "combination",
)
SEVERITIES = ("critical", "major", "minor", "warning")


class Rule(Base):
    """A condition watched on every matching datastream under a place (optionally one profile)."""

    __tablename__ = "rules"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # The template it was made from (see linli.rule.templates), for the console's form.
    template: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(20))
    # Watches devices at or under this place.
    place_id: Mapped[int] = mapped_column(ForeignKey("places.id", ondelete="RESTRICT"), index=True)
    # Only devices of this profile (code); empty: every profile reporting the property.
    profile_code: Mapped[str] = mapped_column(String(64), default="")
    # Observed property key; empty for combination rules (their conditions name properties).
    property_key: Mapped[str] = mapped_column(String(64), default="")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    severity: Mapped[str] = mapped_column(String(16), default="major")
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    # Minutes a critical alarm may stay unacknowledged before it goes to the next role.
    escalate_after_min: Mapped[int] = mapped_column(default=15)
    created_by_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL")
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)


class RuleState(Base):
    """The evaluation state of one rule on one source, checkpointed with the alarms it raised.

    ``source`` is ``ds:<datastream id>`` for rules over one series and ``place:<place id>`` for
    combinations. ``last_ts`` is the time of the last reading folded into ``state``: after a
    restart, readings stored since then are replayed so nothing is missed or counted twice.
    """

    __tablename__ = "rule_states"
    __table_args__ = ({"sqlite_with_rowid": False},)

    rule_id: Mapped[int] = mapped_column(
        ForeignKey("rules.id", ondelete="CASCADE"), primary_key=True
    )
    source: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_ts: Mapped[int] = mapped_column(BigInteger, default=0)
    state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime(), default=utc_now)
