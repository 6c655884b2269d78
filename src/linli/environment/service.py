"""Environment use cases: settings, the community's current status, trends and open data."""

from __future__ import annotations

import bisect
import datetime as dt
import json
import math
import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from linli.core.actor import Actor, Grant
from linli.core.errors import NotFound, PermissionDenied, ValidationFailed
from linli.core.time import UTC, to_local, utc_now
from linli.device import service as device_service
from linli.environment import aqi, averaging, noise, permissions, repository, water
from linli.environment.models import (
    AQI_OPTIONS,
    NOISE_ZONES,
    WATER_BODIES,
    PlaceSetting,
    WaterMonitor,
)
from linli.place import service as place_service
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate, RuleUpdate
from linli.telemetry import series as series_service
from linli.telemetry import service as telemetry_service

AIR, NOISE, WATER = "air_quality", "noise", "water_quality"
MONITOR_PROFILES = (AIR, NOISE, WATER)
HOUR_MS = 3_600_000
DAY_MS = 86_400_000
# At most this many readings of one datastream are read at once (a month of 1-minute data).
MAX_READINGS = 50_000
MAX_EXPORT_SPAN_MS = 31 * DAY_MS
WATER_KEYS = ("ph", "turbidity", "chlorine")
TREND_METRICS = ("aqi", *aqi.POLLUTANTS, "noise", *WATER_KEYS)
TREND_METRIC_PROFILE = {
    "aqi": AIR,
    **dict.fromkeys(aqi.POLLUTANTS, AIR),
    "noise": NOISE,
    **dict.fromkeys(WATER_KEYS, WATER),
}


# --- monitors -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Monitor:
    """An environment monitor of a community: where it stands and its datastreams by property."""

    device_id: int
    uid: str
    name: str
    profile: str
    place_id: int
    latitude: float | None
    longitude: float | None
    streams: dict[str, int]
    last_at_ms: int | None


# The monitors of a place when the caller has them already (one look-up per page).
Found = list[Monitor] | None


def _monitors(db: Session, place_path: str, known: Found) -> list[Monitor]:
    return known if known is not None else monitors(db, place_path)


def communities(db: Session) -> list[tuple[int, str]]:
    """Every community (社区) as (id, name): the public page offers each."""
    return [(p.id, p.name) for p in place_service.under(db, ["/"], kinds=("community",))]


def community(db: Session, place_id: int | None) -> tuple[int, str, str]:
    """The community to show as (id, name, path): the one asked for, else the first one."""
    if place_id is not None:
        try:
            place = place_service.get(db, place_id)
        except NotFound:
            raise NotFound("No such community.") from None
        if place.kind != "community":
            raise NotFound("No such community.")
        return place.id, place.name, place.path
    found = place_service.under(db, ["/"], kinds=("community",))
    if not found:
        raise NotFound("No such community.")
    first = min(found, key=lambda p: p.id)
    return first.id, first.name, first.path


def monitors(db: Session, place_path: str) -> list[Monitor]:
    """The air, noise and water monitors at or under a place (never a household's devices)."""
    streams: dict[int, dict[str, int]] = {}
    last: dict[int, int | None] = {}
    profile_of: dict[int, str] = {}
    for info in device_service.stream_infos(db):
        if info.profile_code not in MONITOR_PROFILES or not info.active:
            continue
        if not info.place_path.startswith(place_path):
            continue
        streams.setdefault(info.device_id, {})[info.property_key] = info.datastream_id
        profile_of[info.device_id] = info.profile_code
        previous = last.get(info.device_id)
        if info.last_at_ms is not None and (previous is None or info.last_at_ms > previous):
            last[info.device_id] = info.last_at_ms
        else:
            last.setdefault(info.device_id, previous)
    found = [
        Monitor(
            device_id=row.id,
            uid=row.uid,
            name=row.name,
            profile=profile_of[row.id],
            place_id=row.place_id,
            latitude=row.latitude,
            longitude=row.longitude,
            streams=streams[row.id],
            last_at_ms=last.get(row.id),
        )
        for row in device_service.status_rows(db, None)
        if row.id in streams
    ]
    return sorted(found, key=lambda m: (MONITOR_PROFILES.index(m.profile), m.uid))


# --- settings -------------------------------------------------------------------------------


def _chain(db: Session, place_id: int) -> list[int]:
    place = place_service.get(db, place_id)
    return [int(part) for part in place.path.strip("/").split("/") if part]


def aqi_option(db: Session, community_id: int) -> str:
    """The community's AQI standard option: "" (by date) or "us-epa"."""
    settings = repository.place_settings(db, _chain(db, community_id))
    for pid in reversed(_chain(db, community_id)):
        row = settings.get(pid)
        if row is not None and row.aqi_standard:
            return row.aqi_standard
    return ""


def standard_on(db: Session, community_id: int, day: dt.date) -> str:
    """The AQI standard that applies to the community's data of ``day``."""
    return aqi.standard_for(day, aqi_option(db, community_id) or None)


def zone_of(db: Session, place_id: int) -> str:
    """The acoustic zone class of a place: its own or the nearest ancestor's, else class 1."""
    chain = _chain(db, place_id)
    settings = repository.place_settings(db, chain)
    for pid in reversed(chain):
        row = settings.get(pid)
        if row is not None:
            return row.noise_zone
    return "1"


def water_body_of(db: Session, device_ids: list[int]) -> dict[int, str]:
    """Which water each monitor samples (tap water unless set otherwise)."""
    rows = repository.water_monitors(db, device_ids)
    return {d: rows[d].water_body if d in rows else "tap" for d in device_ids}


@dataclass(frozen=True, slots=True)
class SettingsView:
    """What the settings page shows: the community's option, each monitored place, each probe."""

    community_id: int
    community_name: str
    aqi_option: str
    zones: list[tuple[int, str, str, list[str]]]  # place id, name, class, monitor names
    waters: list[tuple[int, str, str]]  # device id, name, water body


def may_edit(db: Session, actor: Actor, community_id: int) -> bool:
    """Whether the actor may change this community's environment settings."""
    return permissions.can_edit(actor, place_service.get(db, community_id).path)


def editable_communities(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """The communities whose settings the actor may change."""
    paths = actor.paths_for(permissions.SETTINGS_ROLES)
    if not paths:
        return []
    return [(p.id, p.name) for p in place_service.under(db, paths, kinds=("community",))]


def settings_view(db: Session, actor: Actor, community_id: int) -> SettingsView:
    """The settings of a community the actor may change."""
    cid, name, path = community(db, community_id)
    if not permissions.can_edit(actor, path):
        raise PermissionDenied("You may not change the environment settings of this community.")
    found = monitors(db, path)
    noise_places: dict[int, list[str]] = {}
    for m in found:
        if m.profile == NOISE:
            noise_places.setdefault(m.place_id, []).append(m.name)
    places = place_service.by_ids(db, sorted(noise_places))
    zones = [
        (pid, place_service.label(db, places[pid], from_kind="community"), zone_of(db, pid), names)
        for pid, names in sorted(noise_places.items())
    ]
    probes = [m for m in found if m.profile == WATER]
    bodies = water_body_of(db, [m.device_id for m in probes])
    return SettingsView(
        community_id=cid,
        community_name=name,
        aqi_option=aqi_option(db, cid),
        zones=zones,
        waters=[(m.device_id, m.name, bodies[m.device_id]) for m in probes],
    )


def _setting_row(db: Session, place_id: int, actor: Actor | None) -> PlaceSetting:
    row = repository.place_setting(db, place_id)
    if row is None:
        row = PlaceSetting(place_id=place_id, aqi_standard="", noise_zone=zone_of(db, place_id))
        repository.add(db, row)
    row.updated_at = utc_now()
    row.updated_by_account_id = actor.account_id if actor is not None else None
    return row


def save_settings(
    db: Session,
    actor: Actor,
    community_id: int,
    *,
    aqi_standard: str,
    zones: Mapping[int, str],
    waters: Mapping[int, str],
) -> SettingsView:
    """Change a community's AQI option, its monitored places' zone classes and water bodies.

    The noise rules of every monitored place follow its class (see :func:`sync_noise_rules`).
    """
    view = settings_view(db, actor, community_id)
    if aqi_standard not in AQI_OPTIONS:
        raise ValidationFailed("Choose one of the air quality standards in the list.")
    if any(zone not in NOISE_ZONES for zone in zones.values()):
        raise ValidationFailed("Choose one of the acoustic zone classes in the list.")
    if any(body not in WATER_BODIES for body in waters.values()):
        raise ValidationFailed("Choose tap water, a lake or reservoir, or a river.")
    known_places = {pid for pid, *_rest in view.zones}
    known_probes = {did for did, *_rest in view.waters}
    if not set(zones) <= known_places or not set(waters) <= known_probes:
        raise ValidationFailed("Choose one of the places in the list.")
    _setting_row(db, view.community_id, actor).aqi_standard = aqi_standard
    for pid, zone in zones.items():
        _setting_row(db, pid, actor).noise_zone = zone
    rows = repository.water_monitors(db, sorted(waters))
    for did, body in waters.items():
        row = rows.get(did)
        if row is None:
            row = WaterMonitor(device_id=did, water_body=body)
            repository.add(db, row)
        row.water_body = body
        row.updated_at = utc_now()
        row.updated_by_account_id = actor.account_id
    db.flush()
    sync_noise_rules(db, actor, community_id=view.community_id)
    return settings_view(db, actor, community_id)


# --- noise rules ----------------------------------------------------------------------------


def _rule_actor(actor: Actor | None, place_id: int, place_path: str) -> Actor:
    """The actor that changes a rule: the staff member, or the system for a trusted caller."""
    if actor is not None:
        return actor
    grant = Grant(role="community_admin", place_id=place_id, place_path=place_path)
    return Actor(account_id=None, username="system", via="system", grants=(grant,))


def _ensure_rule(
    db: Session,
    actor: Actor | None,
    *,
    rule_id: int | None,
    place_id: int,
    place_path: str,
    name: str,
    params: dict[str, Any],
) -> int:
    if rule_id is not None:
        try:
            rule = rule_service.get_record(db, rule_id)
        except NotFound:
            rule = None
        if rule is not None:
            merged = {**rule.params, **params}
            if merged != rule.params or rule.name != name:
                rule_service.update(
                    db,
                    _rule_actor(actor, place_id, place_path),
                    rule.id,
                    RuleUpdate(params=merged, name=name),
                )
            return rule.id
    made = rule_service.create(
        db,
        actor,
        RuleCreate(
            template="noise_class_1",
            place_id=place_id,
            property_key="noise",
            profile_code="noise",
            params=params,
            name=name,
            enabled=True,
        ),
    )
    return made.id


def sync_noise_rules(db: Session, actor: Actor | None, *, community_id: int | None = None) -> int:
    """Make each monitored place's noise rules follow its acoustic zone class.

    Every place with a noise monitor gets two switched-on rules (made from the ``noise_class_1``
    template, for its noise monitors only): the GB 3096-2008 Table 1 day and night limits, and
    at night a sudden level above the night limit + 15 dB(A) (§5.4). A rule made earlier is
    updated, not duplicated. ``actor`` None is a trusted caller (the demo seed). Returns the
    number of places synchronised.
    """
    if community_id is not None:
        scope = [place_service.get(db, community_id).path]
    else:
        scope = [p.path for p in place_service.under(db, ["/"], kinds=("community",))]
    done = 0
    for path in scope:
        place_ids = sorted({m.place_id for m in monitors(db, path) if m.profile == NOISE})
        places = place_service.by_ids(db, place_ids)
        for pid in place_ids:
            place = places[pid]
            zone = zone_of(db, pid)
            row = _setting_row(db, pid, actor)
            row.noise_zone = zone
            night_limit = noise.limits(zone)[1]
            row.noise_rule_id = _ensure_rule(
                db,
                actor,
                rule_id=row.noise_rule_id,
                place_id=pid,
                place_path=place.path,
                name=f"GB 3096-2008 {zone} · {place.name}",
                params={"windows": noise.rule_windows(zone)},
            )
            row.noise_peak_rule_id = _ensure_rule(
                db,
                actor,
                rule_id=row.noise_peak_rule_id,
                place_id=pid,
                place_path=place.path,
                name=f"GB 3096-2008 §5.4 Lmax {night_limit + noise.NIGHT_LMAX_MARGIN_DB:g} · "
                f"{place.name}",
                params={"windows": noise.peak_rule_windows(zone), "for_min": 0},
            )
            done += 1
    db.flush()
    return done


# --- readings -------------------------------------------------------------------------------


def _readings(
    db: Session, stream_id: int | None, start_ms: int, end_ms: int
) -> list[tuple[int, float]]:
    if stream_id is None:
        return []
    return telemetry_service.numeric_readings(db, stream_id, start_ms, end_ms, MAX_READINGS)


def _view(monitor: Monitor, key: str) -> device_service.StreamView:
    return device_service.StreamView(
        id=monitor.streams[key],
        name=f"{monitor.name} · {key}",
        unit_display="",
        unit_ucum="",
        device_id=monitor.device_id,
        device_uid=monitor.uid,
        device_name=monitor.name,
        first_at_ms=None,
        last_at_ms=monitor.last_at_ms,
        last_value=None,
    )


def _binned(
    db: Session, monitor: Monitor, key: str, start_ms: int, end_ms: int, step_ms: int
) -> dict[int, float]:
    """Means of one property per bin of ``step_ms`` (keyed by the bin's start)."""
    if key not in monitor.streams:
        return {}
    points = max(2, min(series_service.MAX_POINTS, (end_ms - start_ms) // step_ms + 1))
    found = series_service.compute(db, _view(monitor, key), start_ms, end_ms, points)
    bins: dict[int, list[float]] = {}
    for ts, mean, _lo, _hi in found.points:
        bins.setdefault(ts - ts % step_ms, []).append(mean)
    return {b: statistics.fmean(vs) for b, vs in bins.items()}


def _mean(values: Iterable[float | None]) -> float | None:
    found = [v for v in values if v is not None and math.isfinite(v)]
    return statistics.fmean(found) if found else None


# --- air quality ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AirStatus:
    """The community's AQI for a period: the result, the inputs and the period they cover.

    ``provisional``: a rolling hour whose readings cover less than 45 minutes (GB 3095-2012
    Table 4 asks that much of a 1-hour mean), shown as such and never stored.
    """

    result: aqi.AqiResult
    concentrations: dict[str, float]
    humidity: float | None
    start_ms: int
    end_ms: int
    monitors: int
    provisional: bool = False


def _air_samples(
    db: Session, monitor: Monitor, start_ms: int, end_ms: int
) -> dict[str, list[tuple[int, float]]]:
    return {
        key: _readings(db, monitor.streams.get(key), start_ms, end_ms)
        for key in (*aqi.POLLUTANTS, "humidity")
        if key in monitor.streams
    }


def _community_inputs(per_monitor: list[Mapping[str, float | None]]) -> dict[str, float]:
    """The community's concentrations: the arithmetic mean over its monitors (HJ 663 §5.1)."""
    keys = {k for values in per_monitor for k in values}
    found: dict[str, float] = {}
    for key in keys:
        value = _mean(values.get(key) for values in per_monitor)
        if value is not None:
            found[key] = value
    return found


def _aqi_inputs(values: Mapping[str, float]) -> dict[str, float | None]:
    return {k: v for k, v in values.items() if k in aqi.POLLUTANTS or k in aqi.AUXILIARY}


def _local_day(ts_ms: int) -> dt.date:
    return to_local(dt.datetime.fromtimestamp(ts_ms / 1000, UTC)).date()


def _interval_s(db: Session) -> int:
    return device_service.profile_interval(db, AIR)


def hourly_air(
    db: Session, place_path: str, community_id: int, *, now_ms: int, known: Found = None
) -> AirStatus:
    """The hourly AQI of the last whole local hour before ``now_ms`` (HJ 633 real-time report).

    Each monitor's 1-hour means follow the standards' validity rules (see
    :mod:`linli.environment.averaging`); the community's value is their mean over the monitors.
    """
    air = [m for m in _monitors(db, place_path, known) if m.profile == AIR]
    standard = standard_on(db, community_id, _local_day(now_ms))
    interval = _interval_s(db)
    per_monitor: list[Mapping[str, float | None]] = []
    humidity: list[float | None] = []
    hour_end = now_ms - now_ms % HOUR_MS
    for monitor in air:
        samples = _air_samples(db, monitor, now_ms - 25 * HOUR_MS, now_ms)
        per_monitor.append(
            averaging.hourly_inputs(samples, now_ms, standard=standard, interval_s=interval)
        )
        rh = samples.get("humidity", [])
        humidity.append(_mean(v for t, v in rh if hour_end - HOUR_MS <= t < hour_end))
    values = _community_inputs(per_monitor)
    rh_mean = _mean(humidity)
    result = aqi.compute(_aqi_inputs(values), standard=standard, mode="hourly", humidity=rh_mean)
    return AirStatus(result, values, rh_mean, hour_end - HOUR_MS, hour_end, len(air))


def rolling_air(
    db: Session, place_path: str, community_id: int, *, now_ms: int, known: Found = None
) -> AirStatus:
    """The hourly-mode AQI of the 60 minutes up to ``now_ms``: the newest the page can show.

    The official hourly value (:func:`hourly_air`) changes once an hour; this one moves with
    every reading. It is provisional while the hour's readings cover less than 45 minutes.
    """
    air = [m for m in _monitors(db, place_path, known) if m.profile == AIR]
    standard = standard_on(db, community_id, _local_day(now_ms))
    interval_ms = _interval_s(db) * 1000
    start = now_ms - HOUR_MS
    per_monitor: list[Mapping[str, float | None]] = []
    humidity: list[float | None] = []
    covered = 0
    for monitor in air:
        samples = _air_samples(db, monitor, start, now_ms)
        per_monitor.append({k: _mean(v for _t, v in found) for k, found in samples.items()})
        humidity.append(per_monitor[-1].get("humidity"))
        stamps = sorted({t for found in samples.values() for t, _v in found})
        covered = max(covered, min(HOUR_MS, len(stamps) * interval_ms))
    values = _community_inputs(per_monitor)
    rh_mean = _mean(humidity)
    result = aqi.compute(_aqi_inputs(values), standard=standard, mode="hourly", humidity=rh_mean)
    provisional = covered < averaging.MIN_HOUR_COVERAGE_MS
    return AirStatus(result, values, rh_mean, start, now_ms, len(air), provisional)


def _local_midnight_ms(day: dt.date) -> int:
    local = dt.datetime.combine(day, dt.time(), tzinfo=noise.SHANGHAI)
    return int(local.timestamp() * 1000)


def daily_air(
    db: Session, place_path: str, community_id: int, day: dt.date, *, known: Found = None
) -> AirStatus:
    """The community's daily AQI of a local calendar day (24-hour means, O₃ maximum 8-hour)."""
    start = _local_midnight_ms(day)
    end = start + DAY_MS
    standard = standard_on(db, community_id, day)
    interval = _interval_s(db)
    air = [m for m in _monitors(db, place_path, known) if m.profile == AIR]
    per_monitor: list[Mapping[str, float | None]] = []
    humidity: list[float | None] = []
    # EPA O₃ windows reach into the next morning; the Chinese ones need the 8 hours before.
    reach = end + (8 * HOUR_MS if standard == "us-epa" else 0)
    for monitor in air:
        samples = _air_samples(db, monitor, start - 8 * HOUR_MS, reach)
        per_monitor.append(
            averaging.daily_inputs(samples, day, standard=standard, interval_s=interval)
        )
        humidity.append(_mean(v for t, v in samples.get("humidity", []) if start <= t < end))
    values = _community_inputs(per_monitor)
    rh_mean = _mean(humidity)
    result = aqi.compute(_aqi_inputs(values), standard=standard, mode="daily", humidity=rh_mean)
    return AirStatus(result, values, rh_mean, start, end, len(air))


# --- noise ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoiseStatus:
    """One noise monitor over the last 24 hours against its zone class."""

    monitor: Monitor
    levels: noise.PeriodLevels
    compliance: noise.Compliance
    latest: float | None


def noise_status(
    db: Session, place_path: str, *, now_ms: int, known: Found = None
) -> list[NoiseStatus]:
    """Ld, Ln and the night's highest level of each noise monitor over the last 24 hours."""
    found = []
    for monitor in _monitors(db, place_path, known):
        if monitor.profile != NOISE:
            continue
        samples = _readings(db, monitor.streams.get("noise"), now_ms - DAY_MS, now_ms)
        levels = noise.period_levels(samples)
        zone = zone_of(db, monitor.place_id)
        found.append(
            NoiseStatus(
                monitor,
                levels,
                noise.assess(zone, levels),
                samples[-1][1] if samples else None,
            )
        )
    return found


# --- water ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class WaterStatus:
    """One water monitor's latest hourly means against the standard for its water body."""

    monitor: Monitor
    body: str
    values: dict[str, float]
    tap: water.TapResult | None
    surface: water.SurfaceResult | None
    failures: tuple[water.Failure, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool | None:
        """True within the standard (class III or better for surface water); None: no data."""
        if not self.values:
            return None
        return not self.failures


def water_status(
    db: Session, place_path: str, *, now_ms: int, known: Found = None
) -> list[WaterStatus]:
    """Each water monitor's means over the last hour with readings, checked against its standard."""
    probes = [m for m in _monitors(db, place_path, known) if m.profile == WATER]
    bodies = water_body_of(db, [m.device_id for m in probes])
    found = []
    for monitor in probes:
        end = min(now_ms, (monitor.last_at_ms or now_ms) + 1)
        values: dict[str, float] = {}
        for key in WATER_KEYS:
            value = _mean(
                v for _t, v in _readings(db, monitor.streams.get(key), end - HOUR_MS, end)
            )
            if value is not None:
                values[key] = value
        body = bodies[monitor.device_id]
        if body == "tap":
            tap = water.check_tap(values)
            found.append(WaterStatus(monitor, body, values, tap, None, tap.failures))
        else:
            surface = water.surface_class(values, lake=body == "lake")
            found.append(WaterStatus(monitor, body, values, None, surface, surface.failures))
    return found


# --- trends ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Trend:
    """A chart's points, in the shape of the telemetry series API (so one chart script serves)."""

    metric: str
    start_ms: int
    end_ms: int
    step_ms: int
    resolution: str
    points: list[tuple[int, float, float, float]]


def _trend_step(start_ms: int, end_ms: int) -> int:
    # Hourly bins up to about eight days (a week at 168 points), daily beyond.
    return HOUR_MS if end_ms - start_ms <= 8 * DAY_MS else DAY_MS


def trend(
    db: Session, community_id: int | None, metric: str, *, start_ms: int, end_ms: int
) -> Trend:
    """The community's hourly or daily series of a metric: the AQI or a monitored property.

    Bins are the telemetry rollups' hourly (or daily) means, averaged over the monitors. The
    AQI is computed from the hourly means: hourly AQI for hourly bins, the daily AQI (24-hour
    means, O₃ maximum 8-hour mean) for daily bins, each by :mod:`linli.environment.averaging`.
    """
    if metric not in TREND_METRICS:
        raise ValidationFailed("Unknown environment metric.")
    if end_ms <= start_ms or end_ms - start_ms > 2 * 366 * DAY_MS:
        raise ValidationFailed("Choose a period of at most two years.")
    cid, _name, path = community(db, community_id)
    step = _trend_step(start_ms, end_ms)
    profile = TREND_METRIC_PROFILE[metric]
    chosen = [m for m in monitors(db, path) if m.profile == profile]
    if metric != "aqi":
        per = [_binned(db, m, metric, start_ms, end_ms, step) for m in chosen]
        keys = sorted({b for bins in per for b in bins})
        bins_out: list[tuple[int, float, float, float]] = []
        for b in keys:
            values = [bins[b] for bins in per if b in bins]
            bins_out.append((b, statistics.fmean(values), min(values), max(values)))
        return Trend(metric, start_ms, end_ms, step, str(step // 1000), bins_out)
    # Hourly means of the community (mean over monitors), from a day before for 24-hour rules.
    hourly: dict[str, list[tuple[int, float]]] = {}
    for key in aqi.POLLUTANTS:
        per = [_binned(db, m, key, start_ms - DAY_MS, end_ms, HOUR_MS) for m in chosen]
        hourly[key] = [
            (b, statistics.fmean(v))
            for b in sorted({b for bins in per for b in bins})
            if (v := [bins[b] for bins in per if b in bins])
        ]
    points: list[tuple[int, float, float, float]] = []
    if step == HOUR_MS:
        first = start_ms - start_ms % HOUR_MS
        for b in range(first, end_ms, HOUR_MS):
            found = _aqi_at(db, cid, hourly, b, hourly_mode=True)
            if found is not None:
                points.append((b, found, found, found))
        return Trend(metric, start_ms, end_ms, step, "3600", points)
    day = _local_day(start_ms)
    while _local_midnight_ms(day) < end_ms:
        found = _aqi_at(db, cid, hourly, _local_midnight_ms(day), hourly_mode=False)
        if found is not None:
            points.append((_local_midnight_ms(day), found, found, found))
        day += dt.timedelta(days=1)
    return Trend(metric, start_ms, end_ms, step, "86400", points)


def _slice(series: list[tuple[int, float]], start: int, end: int) -> list[tuple[int, float]]:
    keys = [t for t, _v in series]
    return series[bisect.bisect_left(keys, start) : bisect.bisect_left(keys, end)]


def _aqi_at(
    db: Session,
    community_id: int,
    hourly: Mapping[str, list[tuple[int, float]]],
    at_ms: int,
    *,
    hourly_mode: bool,
) -> float | None:
    """The AQI of the hour starting at ``at_ms`` or of the local day starting there.

    The hourly means are passed to the averaging rules as samples that each cover an hour.
    """
    day = _local_day(at_ms)
    standard = standard_on(db, community_id, day)
    if hourly_mode:
        end = at_ms + HOUR_MS
        window = {k: _slice(v, end - DAY_MS, end) for k, v in hourly.items()}
        inputs = averaging.hourly_inputs(window, end, standard=standard, interval_s=3600)
        result = aqi.compute(inputs, standard=standard, mode="hourly")
    else:
        window = {k: _slice(v, at_ms - DAY_MS, at_ms + 2 * DAY_MS) for k, v in hourly.items()}
        inputs = averaging.daily_inputs(window, day, standard=standard, interval_s=3600)
        result = aqi.compute(inputs, standard=standard, mode="daily")
    return float(result.aqi) if result.aqi is not None else None


def now_ms() -> int:
    """The current time in milliseconds since the epoch."""
    return series_service.now_ms()


# --- open data (FIWARE smart data models, key-values) ---------------------------------------

OBSERVATION_TYPES = {"air": AIR, "noise": NOISE, "water": WATER}
FIWARE_TYPES = {
    AIR: "AirQualityObserved",
    NOISE: "NoiseLevelObserved",
    WATER: "WaterQualityObserved",
}
# Column order of the CSV download (the FIWARE attribute names).
FIWARE_FIELDS = {
    AIR: (
        "id",
        "type",
        "dateObserved",
        "refDevice",
        "name",
        "location",
        "pm25",
        "pm10",
        "o3",
        "no2",
        "so2",
        "co",
        "temperature",
        "relativeHumidity",
        "airQualityIndex",
        "airQualityLevel",
        "reliability",
    ),
    NOISE: (
        "id",
        "type",
        "dateObservedFrom",
        "dateObservedTo",
        "refDevice",
        "name",
        "location",
        "LAeq",
        "LAeq_d",
        "LAmax",
        "measurand",
    ),
    WATER: (
        "id",
        "type",
        "dateObserved",
        "refDevice",
        "name",
        "location",
        "pH",
        "turbidity",
        "measurand",
    ),
}


def _iso(ts_ms: int) -> str:
    return series_service.iso_ms(ts_ms).replace(".000Z", "Z")


def _location(monitor: Monitor) -> dict[str, Any] | None:
    if monitor.latitude is None or monitor.longitude is None:
        return None
    return {"type": "Point", "coordinates": [monitor.longitude, monitor.latitude]}


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def _hour_groups(samples: list[tuple[int, float]]) -> dict[int, list[tuple[int, float]]]:
    groups: dict[int, list[tuple[int, float]]] = {}
    for ts, value in samples:
        # A reading stamped at the end of its interval belongs to the hour it ends.
        groups.setdefault((ts - 1) - (ts - 1) % HOUR_MS, []).append((ts, value))
    return groups


def _air_rows(
    db: Session, cid: int, monitor: Monitor, start: int, end: int
) -> list[dict[str, Any]]:
    # Readings are stamped at the end of their interval: an hour holds (start, end].
    samples = _air_samples(db, monitor, start + 1, end + 1)
    extra = {k: _readings(db, monitor.streams.get(k), start + 1, end + 1) for k in ("temperature",)}
    hours: dict[int, dict[str, list[tuple[int, float]]]] = {}
    for key, found in {**samples, **extra}.items():
        for hour, group in _hour_groups(found).items():
            hours.setdefault(hour, {})[key] = group
    expected = max(1, HOUR_MS // (60_000))
    rows = []
    for hour in sorted(hours):
        groups = hours[hour]
        means = {k: statistics.fmean(v for _t, v in g) for k, g in groups.items() if g}
        day = to_local(dt.datetime.fromtimestamp(hour / 1000, UTC)).date()
        result = aqi.compute(
            {k: v for k, v in means.items() if k in aqi.POLLUTANTS},
            standard=standard_on(db, cid, day),
            mode="hourly",
            humidity=means.get("humidity"),
        )
        coverage = min(1.0, max((len(g) for g in groups.values()), default=0) / expected)
        reliability = coverage * (0.5 if result.low_confidence else 1.0)
        rh = means.get("humidity")
        rows.append(
            {
                "id": f"urn:ngsi-ld:AirQualityObserved:{monitor.uid}:{_iso(hour + HOUR_MS)}",
                "type": "AirQualityObserved",
                "dateObserved": f"{_iso(hour)}/{_iso(hour + HOUR_MS)}",
                "refDevice": f"urn:ngsi-ld:Device:{monitor.uid}",
                "name": monitor.name,
                "location": _location(monitor),
                **{k: _round(means.get(k)) for k in aqi.POLLUTANTS},
                "temperature": _round(means.get("temperature")),
                "relativeHumidity": _round(rh / 100 if rh is not None else None, 3),
                "airQualityIndex": result.aqi,
                "airQualityLevel": result.category if result.aqi is not None else None,
                "reliability": round(reliability, 2),
            }
        )
    return rows


def _noise_rows(
    monitor: Monitor, samples: list[tuple[int, float]], zone: str
) -> list[dict[str, Any]]:
    rows = []
    days: dict[int, list[tuple[int, float]]] = {}
    for ts, value in samples:
        local = to_local(dt.datetime.fromtimestamp((ts - 1) / 1000, UTC))
        # A noise day runs 06:00 to 06:00 (GB 3096-2008 day then the night that follows it).
        day = (local - dt.timedelta(hours=noise.DAY_START_H)).date()
        begin = _local_midnight_ms(day) + noise.DAY_START_H * HOUR_MS
        days.setdefault(begin, []).append((ts, value))
    for begin in sorted(days):
        found = days[begin]
        levels = noise.period_levels(found)
        measurand = []
        if levels.ln is not None:
            measurand.append(f"LAeq_n, {levels.ln:.1f}, 2N, night level 22:00-06:00 (GB 3096-2008)")
        if levels.lden is not None:
            measurand.append(f"Lden, {levels.lden:.1f}, 2N, day-evening-night level")
        day_limit, night_limit = noise.limits(zone)
        measurand.append(f"zoneClass, {zone}, , GB 3096-2008 limits {day_limit:g}/{night_limit:g}")
        rows.append(
            {
                "id": f"urn:ngsi-ld:NoiseLevelObserved:{monitor.uid}:{_iso(begin)}",
                "type": "NoiseLevelObserved",
                "dateObservedFrom": _iso(begin),
                "dateObservedTo": _iso(begin + DAY_MS),
                "refDevice": f"urn:ngsi-ld:Device:{monitor.uid}",
                "name": monitor.name,
                "location": _location(monitor),
                "LAeq": _round(noise.laeq(found), 1),
                "LAeq_d": _round(levels.ld, 1),
                "LAmax": _round(noise.lmax(found), 1),
                "measurand": measurand,
            }
        )
    return rows


def _water_rows(
    db: Session, monitor: Monitor, start: int, end: int, body: str
) -> list[dict[str, Any]]:
    hours: dict[int, dict[str, float]] = {}
    for key in WATER_KEYS:
        found = _readings(db, monitor.streams.get(key), start + 1, end + 1)
        for hour, group in _hour_groups(found).items():
            hours.setdefault(hour, {})[key] = statistics.fmean(v for _t, v in group)
    rows = []
    for hour in sorted(hours):
        means = hours[hour]
        measurand = []
        if "chlorine" in means:
            measurand.append(f"freeChlorine, {means['chlorine']:.3f}, M1, free chlorine")
        if body == "tap":
            verdict = "GB 5749-2022 " + ("met" if water.check_tap(means).ok else "not met")
        else:
            grade = water.surface_class(means, lake=body == "lake").water_class or "-"
            verdict = f"GB 3838-2002 class {grade}"
        measurand.append(f"assessment, {verdict}, , {body}")
        rows.append(
            {
                "id": f"urn:ngsi-ld:WaterQualityObserved:{monitor.uid}:{_iso(hour + HOUR_MS)}",
                "type": "WaterQualityObserved",
                "dateObserved": f"{_iso(hour)}/{_iso(hour + HOUR_MS)}",
                "refDevice": f"urn:ngsi-ld:Device:{monitor.uid}",
                "name": monitor.name,
                "location": _location(monitor),
                "pH": _round(means.get("ph")),
                "turbidity": _round(means.get("turbidity")),
                "measurand": measurand,
            }
        )
    return rows


def observations(
    db: Session,
    *,
    kind: str,
    community_id: int | None,
    start_ms: int | None,
    end_ms: int | None,
) -> list[dict[str, Any]]:
    """Open data of a community's monitors as FIWARE entities (key-values), oldest first.

    Air and water: one entity per monitor and hour (hourly means, hourly AQI); noise: one per
    monitor and noise day (06:00 to 06:00) with LAeq, Ld and LAmax. Only community monitors,
    never a household's devices. Default period: the last 24 hours (7 days for noise).
    """
    if kind not in OBSERVATION_TYPES:
        raise ValidationFailed("Choose air, noise or water.")
    profile = OBSERVATION_TYPES[kind]
    # By default the whole hours of the last day (7 days of noise days).
    end = end_ms if end_ms is not None else now_ms() - now_ms() % HOUR_MS
    start = start_ms if start_ms is not None else end - (7 * DAY_MS if kind == "noise" else DAY_MS)
    if end <= start:
        raise ValidationFailed("The end of the period must be after its start.")
    if end - start > MAX_EXPORT_SPAN_MS:
        raise ValidationFailed("Choose a period of at most 31 days.")
    cid, _name, path = community(db, community_id)
    chosen = [m for m in monitors(db, path) if m.profile == profile]
    rows: list[dict[str, Any]] = []
    if profile == AIR:
        for monitor in chosen:
            rows.extend(_air_rows(db, cid, monitor, start, end))
        rows.sort(key=lambda r: (str(r["dateObserved"]), str(r["refDevice"])))
    elif profile == NOISE:
        for monitor in chosen:
            samples = _readings(db, monitor.streams.get("noise"), start, end)
            rows.extend(_noise_rows(monitor, samples, zone_of(db, monitor.place_id)))
        rows.sort(key=lambda r: (str(r["dateObservedFrom"]), str(r["refDevice"])))
    else:
        bodies = water_body_of(db, [m.device_id for m in chosen])
        for monitor in chosen:
            rows.extend(_water_rows(db, monitor, start, end, bodies[monitor.device_id]))
        rows.sort(key=lambda r: (str(r["dateObserved"]), str(r["refDevice"])))
    return rows


def csv_cell(value: Any) -> str:
    """A FIWARE attribute as one CSV cell (GeoJSON and lists as JSON text)."""
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


# --- the public status ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommunityStatus:
    """Everything the public page shows of one community (aggregates per monitor only)."""

    community_id: int
    name: str
    now_ms: int
    latest: AirStatus
    hourly: AirStatus
    today: AirStatus
    yesterday: AirStatus
    noise: list[NoiseStatus]
    water: list[WaterStatus]
    monitors: list[Monitor]


def status(db: Session, community_id: int | None, *, at_ms: int | None = None) -> CommunityStatus:
    """The community's air, noise and water now (``at_ms``, default the current time)."""
    cid, name, path = community(db, community_id)
    found = monitors(db, path)
    moment = at_ms if at_ms is not None else now_ms()
    today = _local_day(moment)
    return CommunityStatus(
        community_id=cid,
        name=name,
        now_ms=moment,
        latest=rolling_air(db, path, cid, now_ms=moment, known=found),
        hourly=hourly_air(db, path, cid, now_ms=moment, known=found),
        today=daily_air(db, path, cid, today, known=found),
        yesterday=daily_air(db, path, cid, today - dt.timedelta(days=1), known=found),
        noise=noise_status(db, path, now_ms=moment, known=found),
        water=water_status(db, path, now_ms=moment, known=found),
        monitors=found,
    )
