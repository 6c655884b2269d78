"""Rule use cases: make rules from templates, change and switch them, export and backtest them."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import event
from sqlalchemy.orm import Session

from linli.alarm import service as alarm_service
from linli.audit import service as audit_service
from linli.core.actor import SYSTEM, Actor
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.core.time import utc_now
from linli.device import service as device_service
from linli.place import service as place_service
from linli.rule import engine, permissions, repository
from linli.rule.models import Rule
from linli.rule.schemas import (
    BacktestAlarm,
    BacktestResult,
    RuleCreate,
    RuleFile,
    RuleRead,
    RuleUpdate,
    TemplateRead,
)
from linli.rule.templates import BY_CODE, TEMPLATES
from linli.telemetry import service as telemetry_service

# Called after a commit that changed rules (the live engine reloads).
CHANGE_LISTENERS: list[Callable[[], None]] = []
MAX_BACKTEST_ROWS = 2_000_000
MAX_STORED_BACKTEST_DAYS = 366


def _note_rule_change(session: Session, _context: Any, _instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Rule):
            session.info["linli_rules_changed"] = True
            return


def _after_commit(session: Session) -> None:
    if session.info.pop("linli_rules_changed", False):
        for listener in list(CHANGE_LISTENERS):
            listener()


def _after_rollback(session: Session) -> None:
    session.info.pop("linli_rules_changed", None)


event.listen(Session, "before_flush", _note_rule_change)
event.listen(Session, "after_commit", _after_commit)
event.listen(Session, "after_soft_rollback", lambda s, _t: _after_rollback(s))


# --- templates and validation ---------------------------------------------------------------


def templates() -> list[TemplateRead]:
    """The templates staff start from, translated."""
    return [
        TemplateRead(
            code=t.code,
            kind=t.kind,
            name=_(t.name),
            hint=_(t.hint),
            property_key=t.property_key,
            params=t.params,
            severity=t.severity,
            choices=list(t.choices),
        )
        for t in TEMPLATES
    ]


def check_params(kind: str, params: dict[str, Any], *, interval_s: int = 60) -> None:
    """Raise ValidationFailed with the reason when the parameters cannot make a rule."""
    try:
        engine.build(kind, params, interval_s=interval_s)
    except engine.RuleError as exc:
        raise ValidationFailed(
            _("The rule's parameters are not valid: %(reason)s", reason=exc.translated())
        ) from None
    except (TypeError, ValueError, KeyError, ZoneInfoNotFoundError):
        raise ValidationFailed(_("The rule's parameters are not valid.")) from None


def _properties_known(db: Session, keys: Iterable[str]) -> None:
    known = device_service.property_keys(db)
    for key in keys:
        if key not in known:
            raise ValidationFailed(_("Unknown observed property: %(key)s", key=key))


# --- reads ----------------------------------------------------------------------------------


def _visible_rule(db: Session, actor: Actor, rule_id: int) -> tuple[Rule, str]:
    rule = repository.get(db, rule_id)
    if rule is None:
        raise NotFound(_("No such rule."))
    place = place_service.get(db, rule.place_id)
    if not permissions.can_view(actor, place.path):
        raise NotFound(_("No such rule."))
    return rule, place.path


def get_record(db: Session, rule_id: int) -> Rule:
    """A rule by id without a visibility check (trusted callers: the command line)."""
    rule = repository.get(db, rule_id)
    if rule is None:
        raise NotFound(_("No such rule."))
    return rule


def get(db: Session, actor: Actor, rule_id: int) -> Rule:
    """A rule the actor may see."""
    return _visible_rule(db, actor, rule_id)[0]


def list_rules(db: Session, actor: Actor, params: PageParams) -> Page[RuleRead]:
    """Rules at the places the actor may see."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied(_("You may not see rules."))
    rows, total = repository.listed(
        db, permissions.visible(actor), offset=params.offset, limit=params.size
    )
    return Page(
        items=[RuleRead.model_validate(r) for r in rows],
        total=total,
        page=params.page,
        size=params.size,
    )


def may_manage(db: Session, actor: Actor, rule: Rule) -> bool:
    """Whether the actor may change this rule."""
    return permissions.can_manage(actor, place_service.get(db, rule.place_id).path)


def may_view_any(actor: Actor) -> bool:
    """Whether the actor gets the rule pages."""
    return permissions.may_view_any(actor)


def may_manage_any(actor: Actor) -> bool:
    """Whether the actor may make rules somewhere."""
    return permissions.may_manage_any(actor)


def manageable_place_paths(actor: Actor) -> list[str]:
    """Place paths under which the actor may make rules."""
    return actor.paths_for(permissions.RULE_ADMIN_ROLES)


# --- changes --------------------------------------------------------------------------------


def create(db: Session, actor: Actor | None, data: RuleCreate) -> Rule:
    """A new rule from a template, with the actor's adjustments; switched off unless asked.

    ``actor`` None is a trusted caller (the demo seed, the command line).
    """
    template = BY_CODE.get(data.template)
    if template is None:
        raise ValidationFailed(_("Unknown rule template: %(code)s", code=data.template))
    place = place_service.get(db, data.place_id)
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not make rules at this place."))
    property_key = data.property_key if data.property_key is not None else template.property_key
    params = {**template.params, **(data.params or {})}
    if template.kind == "combination":
        property_key = ""
        conditions = params.get("conditions")
        if isinstance(conditions, list):
            _properties_known(
                db, [str(c.get("property")) for c in conditions if isinstance(c, dict)]
            )
    elif not property_key:
        raise ValidationFailed(_("Choose the property this rule watches."))
    else:
        _properties_known(db, [property_key])
    if data.profile_code and data.profile_code not in device_service.profile_codes(db):
        raise ValidationFailed(_("Unknown device profile: %(code)s", code=data.profile_code))
    check_params(template.kind, params)
    now = utc_now()
    rule = Rule(
        name=data.name or _(template.name),
        description=data.description,
        template=template.code,
        kind=template.kind,
        place_id=place.id,
        profile_code=data.profile_code,
        property_key=property_key,
        params=params,
        severity=data.severity or template.severity,
        enabled=data.enabled,
        escalate_after_min=data.escalate_after_min,
        created_by_account_id=actor.account_id if actor is not None else None,
        created_at=now,
        updated_at=now,
    )
    db.add(rule)
    db.flush()
    audit_service.record(
        db,
        actor=actor or SYSTEM,
        action="rule.create",
        subject_type="rule",
        subject_id=rule.id,
        place_id=place.id,
        detail={"template": template.code, "enabled": rule.enabled},
    )
    return rule


def _manageable(db: Session, actor: Actor, rule_id: int) -> Rule:
    rule, path = _visible_rule(db, actor, rule_id)
    if not permissions.can_manage(actor, path):
        raise PermissionDenied(_("You may not change this rule."))
    return rule


def _restart(db: Session, actor: Actor, rule: Rule, reason: str) -> None:
    """Forget the rule's state and close its open alarms: it starts afresh."""
    repository.drop_states(db, rule.id)
    alarm_service.clear_for_rule(db, rule.id, reason=reason, actor=actor)


def update(db: Session, actor: Actor, rule_id: int, data: RuleUpdate) -> Rule:
    """Change a rule; a change of its parameters restarts its evaluation."""
    rule = _manageable(db, actor, rule_id)
    changed = data.model_dump(exclude_unset=True)
    if "params" in changed and data.params is not None:
        params = {**data.params}
        check_params(rule.kind, params)
        if params != rule.params:
            rule.params = params
            _restart(db, actor, rule, _("The rule was changed."))
    for name in ("name", "description", "severity", "escalate_after_min"):
        value = changed.get(name)
        if value is not None:
            setattr(rule, name, value)
    if data.enabled is not None and data.enabled != rule.enabled:
        rule.enabled = data.enabled
        if not data.enabled:
            _restart(db, actor, rule, _("The rule was switched off."))
    rule.updated_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="rule.update",
        subject_type="rule",
        subject_id=rule.id,
        place_id=rule.place_id,
        detail={"fields": sorted(changed)},
    )
    return rule


def delete(db: Session, actor: Actor, rule_id: int) -> None:
    """Delete a rule; its open alarms are cleared and stay in the history."""
    rule = _manageable(db, actor, rule_id)
    _restart(db, actor, rule, _("The rule was deleted."))
    audit_service.record(
        db,
        actor=actor,
        action="rule.delete",
        subject_type="rule",
        subject_id=rule.id,
        place_id=rule.place_id,
    )
    db.delete(rule)


# --- for the live engine --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LiveRule:
    """An enabled rule as the engine needs it."""

    id: int
    name: str
    kind: str
    place_id: int
    place_path: str
    profile_code: str
    property_key: str
    params: dict[str, Any]
    severity: str
    escalate_after_min: int
    updated_at: dt.datetime


def live_rules(db: Session) -> list[LiveRule]:
    """Every enabled rule with its place path."""
    rules = repository.enabled(db)
    places = place_service.by_ids(db, sorted({r.place_id for r in rules}))
    return [
        LiveRule(
            id=r.id,
            name=r.name,
            kind=r.kind,
            place_id=r.place_id,
            place_path=places[r.place_id].path if r.place_id in places else "/",
            profile_code=r.profile_code,
            property_key=r.property_key,
            params=dict(r.params),
            severity=r.severity,
            escalate_after_min=r.escalate_after_min,
            updated_at=r.updated_at,
        )
        for r in rules
    ]


def saved_states(
    db: Session, rule_ids: list[int]
) -> dict[tuple[int, str], tuple[int, dict[str, Any]]]:
    """Checkpointed states by (rule id, source): (last ts, state)."""
    return {k: (s.last_ts, dict(s.state)) for k, s in repository.states(db, rule_ids).items()}


def save_states(db: Session, items: list[tuple[int, str, int, dict[str, Any]]]) -> None:
    """Checkpoint states (rule id, source, last ts, state) in the caller's transaction."""
    repository.save_states(db, items)


def state_count(db: Session) -> int:
    """How many (rule, source) states are stored."""
    return repository.state_count(db)


# --- export and backtest --------------------------------------------------------------------


def export(db: Session, actor: Actor, rule_id: int) -> RuleFile:
    """The rule as a file that ``linli rules backtest`` reads."""
    rule = get(db, actor, rule_id)
    return rule_file(db, rule)


def rule_file(db: Session, rule: Rule) -> RuleFile:
    """A rule's file form (interval from its profile when it names one)."""
    interval = device_service.profile_interval(db, rule.profile_code) if rule.profile_code else 60
    return RuleFile(
        name=rule.name,
        kind=rule.kind,
        template=rule.template,
        property_key=rule.property_key,
        profile_code=rule.profile_code,
        params=dict(rule.params),
        severity=rule.severity,
        interval_s=interval,
    )


def parse_csv(text: str, *, timezone: str = "Asia/Shanghai") -> list[tuple[int, float, str]]:
    """Rows of a ``timestamp,value[,property]`` CSV as (epoch ms, value, property), in order.

    Timestamps are ISO 8601 (without an offset: the given time zone) or epoch seconds or
    milliseconds. A bad row is an error naming its line: a backtest over half the data would
    mislead.
    """
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationFailed(_("Unknown time zone: %(zone)s", zone=timezone)) from None
    reader = csv.reader(io.StringIO(text))
    rows: list[tuple[int, float, str]] = []
    for number, record in enumerate(reader, start=1):
        if not record or not "".join(record).strip():
            continue
        if number == 1 and record[0].strip().lower() in ("timestamp", "time", "ts"):
            continue
        if len(record) < 2:
            raise ValidationFailed(_("Line %(line)s: expected timestamp,value", line=number))
        ts = _parse_ts(record[0].strip(), zone)
        if ts is None:
            raise ValidationFailed(
                _(
                    "Line %(line)s: unreadable timestamp %(value)s",
                    line=number,
                    value=record[0][:40],
                )
            )
        try:
            value = float(record[1])
        except ValueError:
            raise ValidationFailed(
                _("Line %(line)s: the value is not a number", line=number)
            ) from None
        if not math.isfinite(value):
            raise ValidationFailed(_("Line %(line)s: the value is not a number", line=number))
        prop = record[2].strip() if len(record) > 2 else ""
        rows.append((ts, value, prop))
        if len(rows) > MAX_BACKTEST_ROWS:
            raise ValidationFailed(_("Too many rows for one backtest."))
    return rows


def _parse_ts(text: str, zone: ZoneInfo) -> int | None:
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if math.isfinite(number):
        # Seconds until the year 5138; milliseconds beyond.
        return int(number if number > 1e11 else number * 1000)
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return int(moment.timestamp() * 1000)


def _ms_to_dt(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def run_backtest(spec: RuleFile, rows: Sequence[tuple[int, float, str]]) -> BacktestResult:
    """Feed ``rows`` (in time order) through the rule's evaluator: the alarms it would raise.

    The same evaluator runs live; alarms open, update and close by the same signals, so a
    backtest and a live run over the same readings give the same alarms.
    """
    keyed = []
    for ts, value, prop in rows:
        key = prop or spec.property_key
        keyed.append((ts, value, key, f"csv:{key}"))
    return _backtest(spec, keyed)


def _backtest(spec: RuleFile, rows: Sequence[tuple[int, float, str, str]]) -> BacktestResult:
    """Rows are (ts, value, property, stream key): the key tells a combination's devices apart."""
    params = dict(spec.params)
    if spec.kind == "schedule":
        params.setdefault("timezone", spec.timezone)
    try:
        evaluator = engine.build(spec.kind, params, interval_s=spec.interval_s)
    except engine.RuleError as exc:
        raise ValidationFailed(
            _("The rule's parameters are not valid: %(reason)s", reason=exc.translated())
        ) from None
    except (TypeError, ValueError, KeyError, ZoneInfoNotFoundError):
        raise ValidationFailed(_("The rule's parameters are not valid.")) from None
    alarms: list[BacktestAlarm] = []
    current: dict[str, Any] | None = None

    def apply(signals: list[engine.Signal]) -> None:
        nonlocal current
        for signal in signals:
            if signal.kind == "raise" and current is None:
                current = {
                    "started_ms": signal.started_ms,
                    "raised_ms": signal.ts_ms,
                    "peak": signal.peak,
                    "readings": signal.readings,
                }
            elif signal.kind == "update" and current is not None:
                current["readings"] += signal.readings
                if signal.peak is not None:
                    current["peak"] = signal.peak
            elif signal.kind == "clear" and current is not None:
                alarms.append(_backtest_alarm(current, signal.ts_ms, spec.severity))
                current = None

    for ts, value, prop, stream in rows:
        if isinstance(evaluator, engine.Combination):
            apply(evaluator.feed_keyed(ts, stream, prop, value))
        else:
            apply(evaluator.feed(ts, value))
    if current is not None:
        alarms.append(_backtest_alarm(current, None, spec.severity))
    return BacktestResult(rule=spec.name, rows=len(rows), alarms=alarms)


def _backtest_alarm(current: dict[str, Any], ended: int | None, severity: str) -> BacktestAlarm:
    return BacktestAlarm(
        started_ms=current["started_ms"],
        ended_ms=ended,
        started_at=_ms_to_dt(current["started_ms"]),
        ended_at=None if ended is None else _ms_to_dt(ended),
        raised_ms=current["raised_ms"],
        peak=current["peak"],
        readings=current["readings"],
        severity=severity,
    )


def watched_properties(rule: Rule) -> list[str]:
    """The observed properties a rule reads (a combination's: those of its conditions)."""
    if rule.kind != "combination":
        return [rule.property_key] if rule.property_key else []
    conditions = rule.params.get("conditions")
    if not isinstance(conditions, list):
        return []
    return sorted(
        {str(c["property"]) for c in conditions if isinstance(c, dict) and c.get("property")}
    )


def backtest_streams(db: Session, actor: Actor, rule_id: int) -> list[device_service.StreamChoice]:
    """The datastreams the rule would watch that the actor may read (backtest choices)."""
    rule, path = _visible_rule(db, actor, rule_id)
    return device_service.streams_under(
        db,
        actor,
        place_path=path,
        property_keys=watched_properties(rule),
        profile_code=rule.profile_code,
    )


def _scope_places(db: Session, place_ids: Iterable[int], scope: str) -> dict[int, int | None]:
    """For each place, its ancestor (or itself) of the kind ``scope``, if any."""
    places = place_service.by_ids(db, sorted(set(place_ids)))
    chain_ids = {int(x) for p in places.values() for x in p.path.strip("/").split("/") if x}
    chain = place_service.by_ids(db, sorted(chain_ids))
    found: dict[int, int | None] = {}
    for pid, place in places.items():
        found[pid] = None
        for part in place.path.strip("/").split("/"):
            if part and int(part) in chain and chain[int(part)].kind == scope:
                found[pid] = int(part)
    return found


def _stored(db: Session, stream_id: int, start: int, end: int) -> list[tuple[int, float]]:
    readings: list[tuple[int, float]] = []
    cursor = start
    while True:
        batch = telemetry_service.numeric_readings(db, stream_id, cursor, end, 50_000)
        readings.extend(batch)
        if not batch or len(readings) > MAX_BACKTEST_ROWS:
            break
        cursor = batch[-1][0] + 1
    return readings


def backtest_stored(
    db: Session, actor: Actor, rule_id: int, *, datastream_id: int, days: int
) -> BacktestResult:
    """Backtest a rule over a datastream's stored readings of the last ``days`` days.

    The datastream must be one the rule watches. For a combination, it picks the place (of the
    rule's scope, e.g. the building) whose devices' readings are fed together, as live.
    """
    rule = get(db, actor, rule_id)
    if not 1 <= days <= MAX_STORED_BACKTEST_DAYS:
        raise ValidationFailed(_("Choose between 1 and 366 days."))
    stream = device_service.readable_stream(db, actor, datastream_id)
    choices = backtest_streams(db, actor, rule_id)
    chosen = next((c for c in choices if c.datastream_id == stream.id), None)
    if chosen is None:
        raise ValidationFailed(_("This rule does not watch that datastream."))
    members = [chosen]
    if rule.kind == "combination":
        scope = str(rule.params.get("scope", "building"))
        scopes = _scope_places(db, [c.place_id for c in choices], scope)
        group = scopes.get(chosen.place_id)
        members = [c for c in choices if scopes.get(c.place_id) == group]
    # As live: the watched device's own reporting interval (missing-data rules).
    spec = rule_file(db, rule).model_copy(update={"interval_s": chosen.interval_s})
    end = int(utc_now().timestamp() * 1000) + 1
    start = end - days * 86_400_000
    rows: list[tuple[int, float, str, str]] = []
    for member in members:
        key = f"ds:{member.datastream_id}"
        rows.extend(
            (ts, v, member.property_key, key)
            for ts, v in _stored(db, member.datastream_id, start, end)
        )
        if len(rows) > MAX_BACKTEST_ROWS:
            raise ValidationFailed(_("Too many rows for one backtest."))
    rows.sort(key=lambda row: row[0])
    return _backtest(spec, rows)


def has_rule(db: Session, *, template: str, place_id: int, property_key: str) -> bool:
    """Whether a rule from this template already watches this property at this place."""
    return repository.exists(db, template=template, place_id=place_id, property_key=property_key)
