"""The live rule engine: evaluates rules on readings as they are stored, keeps state in memory.

The telemetry writer hands every committed group of new readings to :meth:`RuleRuntime.observe`
(on its own thread). A reading of a datastream no rule watches costs one dictionary look-up.
Signals go to a worker thread that applies them to alarms and checkpoints the states that made
them, in one transaction, so an alarm and the state that says it is raised never disagree.
Other states are checkpointed every few seconds.

After a restart the engine loads the checkpoints and replays the readings stored since each
one's last reading time: a condition that was building up goes on, an alarm raised before the
restart is neither lost nor raised twice (one open alarm per rule and source, and the state
knows it is raised).
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from linli.alarm import service as alarm_service
from linli.device import service as device_service
from linli.rule import engine, service
from linli.telemetry import service as telemetry_service

log = logging.getLogger("linli.rule")

CHECKPOINT_EVERY_S = 5.0
TICK_EVERY_S = 2.0
# A restart replays at most this much stored history per source.
REPLAY_MAX_MS = 7 * 86_400_000
REPLAY_BATCH = 20_000

Row = tuple[int, int, float | None, str | None]


@dataclass(eq=False)
class Binding:
    """One rule watching one source (a datastream, or a place for combinations)."""

    rule: service.LiveRule
    source: str
    evaluator: engine.Evaluator
    place_id: int
    place_path: str
    device_id: int | None
    datastream_id: int | None
    title: str
    dirty: bool = False
    # Combination: stream id -> property key.
    members: dict[int, str] = field(default_factory=dict)
    # How far behind the wall clock the newest reading's time was when it arrived: readings
    # sent late (a device catching up on stored history) mean the device is talking, not silent.
    arrival_lag_ms: int = 0


@dataclass(slots=True)
class _Work:
    signals: list[alarm_service.SignalItem]
    states: list[tuple[int, str, int, dict[str, Any]]]
    done: threading.Event | None = None
    published: Callable[[float], None] | None = None


def _matches(rule: service.LiveRule, info: device_service.StreamInfo) -> bool:
    if not info.place_path.startswith(rule.place_path):
        return False
    return not rule.profile_code or rule.profile_code == info.profile_code


class RuleRuntime:
    """Rules evaluated in memory on the readings the telemetry writer stores."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self._sessions = sessions
        self._lock = threading.RLock()
        self._by_stream: dict[int, list[Binding]] = {}
        self._bindings: dict[tuple[int, str], Binding] = {}
        self._timed: list[Binding] = []
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._stop = threading.Event()
        self._reload_wanted = threading.Event()
        self._threads: list[threading.Thread] = []
        self._last_checkpoint = time.monotonic()
        self._listener = self.request_reload
        self.signals_applied = 0

    # --- life ---------------------------------------------------------------------------

    def start(self) -> None:
        """Load rules, states and the readings to replay; start the worker and the ticker.

        When the database cannot be reached, the ticker tries again every few seconds (no
        reading can be stored meanwhile either, so none is missed).
        """
        try:
            self.reload()
        except SQLAlchemyError as exc:
            log.warning("rules not loaded yet, retrying: %s", exc)
            self._reload_wanted.set()
        service.CHANGE_LISTENERS.append(self._listener)
        device_service.CHANGE_LISTENERS.append(self._on_device_change)
        for name, target in (("linli-rule-alarms", self._work), ("linli-rule-tick", self._tick)):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)

    def stop(self) -> None:
        """Checkpoint every state and stop the threads."""
        if self._listener in service.CHANGE_LISTENERS:
            service.CHANGE_LISTENERS.remove(self._listener)
        if self._on_device_change in device_service.CHANGE_LISTENERS:
            device_service.CHANGE_LISTENERS.remove(self._on_device_change)
        self.checkpoint(everything=True)
        self._stop.set()
        self._queue.put(None)
        for thread in self._threads:
            thread.join(10)
        self._threads.clear()

    def _on_device_change(self, _device_id: int) -> None:
        self.request_reload()

    def request_reload(self) -> None:
        """Rules or devices changed: rebuild the bindings soon (on the ticker thread)."""
        self._reload_wanted.set()

    # --- bindings -----------------------------------------------------------------------

    def reload(self) -> None:
        """Rebuild bindings from the enabled rules and the datastreams; keep running state.

        New bindings that have a checkpoint catch up on the readings stored since, first
        outside the lock (they are not yet visible to :meth:`observe`), then, once swapped in,
        under the lock for whatever arrived meanwhile: no reading is skipped or seen twice.
        """
        with self._sessions() as db:
            rules = service.live_rules(db)
            infos = device_service.stream_infos(db)
            saved = service.saved_states(db, [r.id for r in rules])
        with self._lock:
            old = dict(self._bindings)
        bindings: dict[tuple[int, str], Binding] = {}
        fresh: list[Binding] = []
        for rule in rules:
            for binding in self._bind(rule, infos):
                key = (rule.id, binding.source)
                previous = old.get(key)
                if previous is not None and previous.rule.updated_at == rule.updated_at:
                    previous.members = binding.members
                    bindings[key] = previous
                    continue
                state = saved.get(key)
                if state is not None:
                    binding.evaluator.load(state[1])
                    if binding.evaluator.last_ts is None:
                        binding.evaluator.last_ts = state[0] or None
                fresh.append(binding)
                bindings[key] = binding
        resumed = [b for b in fresh if (b.rule.id, b.source) in saved]
        self._replay(resumed, locked=False)
        by_stream: dict[int, list[Binding]] = {}
        for binding in bindings.values():
            if binding.members:
                for sid in binding.members:
                    by_stream.setdefault(sid, []).append(binding)
            elif binding.datastream_id is not None:
                by_stream.setdefault(binding.datastream_id, []).append(binding)
        with self._lock:
            self._replay(resumed, locked=True)
            self._bindings = bindings
            self._by_stream = by_stream
            self._timed = [b for b in bindings.values() if isinstance(b.evaluator, engine.Missing)]
            # A first checkpoint for new sources: after a crash, replay starts from here.
            first = [self._snapshot(b) for b in fresh if (b.rule.id, b.source) not in saved]
        if first:
            self._queue.put(_Work([], first))

    def _bind(
        self, rule: service.LiveRule, infos: list[device_service.StreamInfo]
    ) -> list[Binding]:
        params = dict(rule.params)
        if rule.kind == "combination":
            return self._bind_combination(rule, params, infos)
        out: list[Binding] = []
        for info in infos:
            if info.property_key != rule.property_key or not info.active:
                continue
            if not _matches(rule, info):
                continue
            try:
                evaluator = engine.build(rule.kind, params, interval_s=info.interval_s)
            except engine.RuleError as exc:
                log.warning("rule %s cannot run: %s", rule.id, exc)
                return []
            # A new binding starts with the next reading, not with the stored history.
            evaluator.last_ts = info.last_at_ms
            out.append(
                Binding(
                    rule=rule,
                    source=f"ds:{info.datastream_id}",
                    evaluator=evaluator,
                    place_id=info.place_id,
                    place_path=info.place_path,
                    device_id=info.device_id,
                    datastream_id=info.datastream_id,
                    title=f"{rule.name} · {info.device_name}",
                )
            )
        return out

    def _bind_combination(
        self,
        rule: service.LiveRule,
        params: dict[str, Any],
        infos: list[device_service.StreamInfo],
    ) -> list[Binding]:
        try:
            probe = engine.build("combination", params)
        except engine.RuleError as exc:
            log.warning("rule %s cannot run: %s", rule.id, exc)
            return []
        assert isinstance(probe, engine.Combination)
        groups: dict[int, list[device_service.StreamInfo]] = {}
        for info in infos:
            if info.property_key not in probe.properties or not info.active:
                continue
            if not _matches(rule, info):
                continue
            scope_id = info.place_kinds.get(probe.scope)
            if scope_id is not None:
                groups.setdefault(scope_id, []).append(info)
        out: list[Binding] = []
        for place_id, members in groups.items():
            first = members[0]
            # The scope place's path is the device path cut after the scope's id.
            marker = f"/{place_id}/"
            path = first.place_path[: first.place_path.index(marker) + len(marker)]
            evaluator = engine.build("combination", params)
            known = [m.last_at_ms for m in members if m.last_at_ms is not None]
            evaluator.last_ts = max(known) if known else None
            out.append(
                Binding(
                    rule=rule,
                    source=f"place:{place_id}",
                    evaluator=evaluator,
                    place_id=place_id,
                    place_path=path,
                    device_id=None,
                    datastream_id=None,
                    title=rule.name,
                    members={m.datastream_id: m.property_key for m in members},
                )
            )
        return out

    def _replay(self, bindings: list[Binding], *, locked: bool) -> None:
        """Feed each binding the readings stored after the last one it has seen."""
        if not bindings:
            return
        now_ms = int(time.time() * 1000)
        replayed = 0
        with self._sessions() as db:
            for binding in bindings:
                since = max(binding.evaluator.last_ts or 0, now_ms - REPLAY_MAX_MS)
                streams = binding.members or (
                    {binding.datastream_id: ""} if binding.datastream_id is not None else {}
                )
                rows: list[tuple[int, float, int]] = []
                for sid in streams:
                    cursor = since + 1
                    while True:
                        batch = telemetry_service.numeric_readings(
                            db, sid, cursor, now_ms + 600_000, REPLAY_BATCH
                        )
                        rows.extend((ts, v, sid) for ts, v in batch)
                        if len(batch) < REPLAY_BATCH:
                            break
                        cursor = batch[-1][0] + 1
                rows.sort()
                signals: list[alarm_service.SignalItem] = []
                for ts, value, sid in rows:
                    signals.extend(self._feed(binding, sid, ts, value))
                replayed += len(rows)
                if signals:
                    self._queue.put(_Work(signals, [self._snapshot(binding)]))
        if replayed:
            log.info("rules caught up on %d stored readings", replayed, extra={"locked": locked})

    # --- evaluation ---------------------------------------------------------------------

    def _feed(
        self, binding: Binding, sid: int, ts: int, value: float
    ) -> list[alarm_service.SignalItem]:
        evaluator = binding.evaluator
        if isinstance(evaluator, engine.Combination):
            prop = binding.members.get(sid, "")
            signals = evaluator.feed_keyed(ts, f"ds:{sid}", prop, value)
        else:
            signals = evaluator.feed(ts, value)
        binding.dirty = True
        return [self._item(binding, s) for s in signals]

    def _item(self, binding: Binding, signal: engine.Signal) -> alarm_service.SignalItem:
        details = dict(signal.details)
        if signal.kind == "raise":
            details["escalate_after_min"] = binding.rule.escalate_after_min
        return alarm_service.SignalItem(
            rule_id=binding.rule.id,
            rule_name=binding.rule.name,
            severity=binding.rule.severity,
            source=binding.source,
            place_id=binding.place_id,
            place_path=binding.place_path,
            device_id=binding.device_id,
            datastream_id=binding.datastream_id,
            title=binding.title,
            kind=signal.kind,
            started_ms=signal.started_ms,
            ts_ms=signal.ts_ms,
            value=signal.value,
            readings=signal.readings,
            peak=signal.peak,
            details=details,
        )

    def _snapshot(self, binding: Binding) -> tuple[int, str, int, dict[str, Any]]:
        binding.dirty = False
        last = binding.evaluator.last_ts or 0
        return (binding.rule.id, binding.source, last, binding.evaluator.dump())

    def observe(self, rows: Sequence[Row]) -> None:
        """Evaluate the rules watching these newly stored readings (the writer's thread)."""
        by_stream = self._by_stream
        if not by_stream:
            return
        watched = [r for r in rows if r[0] in by_stream and r[2] is not None]
        if not watched:
            return
        watched.sort(key=lambda r: r[1])
        signals: list[alarm_service.SignalItem] = []
        changed: dict[int, Binding] = {}
        arrived_ms = int(time.time() * 1000)
        with self._lock:
            for sid, ts, value, _text in watched:
                assert value is not None
                for binding in self._by_stream.get(sid, ()):
                    produced = self._feed(binding, sid, ts, value)
                    binding.arrival_lag_ms = max(0, arrived_ms - ts)
                    if produced:
                        signals.extend(produced)
                        changed[id(binding)] = binding
            states = [self._snapshot(b) for b in changed.values()]
        if signals:
            self._queue.put(_Work(signals, states))

    def tick(self, now_ms: int | None = None) -> None:
        """What the passing of time causes (silent devices); runs on the ticker thread.

        On the wall clock (no ``now_ms``) a source is judged by when its readings arrived: one
        catching up on old readings is silent only once nothing has arrived for the silence
        period. An explicit ``now_ms`` is a simulated clock and is taken as it is.
        """
        wall = now_ms is None
        now_ms = now_ms if now_ms is not None else int(time.time() * 1000)
        signals: list[alarm_service.SignalItem] = []
        states: list[tuple[int, str, int, dict[str, Any]]] = []
        with self._lock:
            for binding in self._timed:
                at = now_ms - binding.arrival_lag_ms if wall else now_ms
                produced = [self._item(binding, s) for s in binding.evaluator.tick(at)]
                if produced:
                    signals.extend(produced)
                    states.append(self._snapshot(binding))
        if signals:
            self._queue.put(_Work(signals, states))

    def checkpoint(self, *, everything: bool = False) -> None:
        """Queue the states that changed since they were last saved."""
        with self._lock:
            states = [self._snapshot(b) for b in self._bindings.values() if b.dirty or everything]
        if states:
            self._queue.put(_Work([], states))
        self._last_checkpoint = time.monotonic()

    def flush(self, timeout: float = 10) -> bool:
        """Wait until everything queued so far is stored (tests, shutdown, benchmarks)."""
        done = threading.Event()
        self._queue.put(_Work([], [], done=done))
        if not self._threads:
            self._drain_once(block=False)
        return done.wait(timeout)

    # --- threads ------------------------------------------------------------------------

    def _tick(self) -> None:
        while not self._stop.wait(TICK_EVERY_S):
            try:
                if self._reload_wanted.is_set():
                    self._reload_wanted.clear()
                    self.reload()
                self.tick()
                if time.monotonic() - self._last_checkpoint >= CHECKPOINT_EVERY_S:
                    self.checkpoint()
            except Exception:
                log.exception("rule ticker failed")

    def _work(self) -> None:
        while True:
            if not self._drain_once(block=True):
                return

    def _drain_once(self, *, block: bool) -> bool:
        try:
            first = self._queue.get() if block else self._queue.get_nowait()
        except queue.Empty:
            return True
        if first is None:
            self._drain_rest()
            return False
        items = [first]
        stopping = False
        while True:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is None:
                stopping = True
                break
            items.append(nxt)
        self._store(items)
        return not stopping

    def _drain_rest(self) -> None:
        items: list[_Work] = []
        while True:
            try:
                nxt = self._queue.get_nowait()
            except queue.Empty:
                break
            if nxt is not None:
                items.append(nxt)
        if items:
            self._store(items)

    def _store(self, items: list[_Work]) -> None:
        """Apply the signals and save the states of ``items`` in one transaction.

        A busy database is waited out (retried with backoff for as long as it takes: nothing
        is dropped). Any other failure is retried a few times, then the items are stored one
        by one so that a single bad signal cannot hold up the rest; that one is logged and
        left out, with its state, so a restart evaluates its readings again.
        """
        try:
            self._store_together(items, attempts=3)
        except Exception:
            for work in items:
                try:
                    self._store_together([work], attempts=3)
                except Exception:
                    log.exception(
                        "rule signals could not be stored; left for the next restart",
                        extra={"signals": len(work.signals)},
                    )
        finally:
            for work in items:
                if work.done is not None:
                    work.done.set()

    def _store_together(self, items: list[_Work], *, attempts: int) -> None:
        signals = [s for w in items for s in w.signals]
        latest: dict[tuple[int, str], tuple[int, str, int, dict[str, Any]]] = {}
        for work in items:
            for state in work.states:
                latest[(state[0], state[1])] = state
        if not signals and not latest:
            return
        failures = 0
        delay = 0.05
        while True:
            try:
                with self._sessions() as db:
                    if signals:
                        alarm_service.apply(db, signals)
                    service.save_states(db, list(latest.values()))
                    db.commit()
                self.signals_applied += len(signals)
                return
            except OperationalError as exc:
                # Busy or briefly unreachable: keep trying, the signals must not be lost.
                log.warning("rule signals waiting for the database: %s", exc.orig)
                if self._stop.is_set() and failures >= attempts:
                    raise
            except Exception:
                if failures + 1 >= attempts:
                    raise
            failures += 1
            time.sleep(delay)
            delay = min(delay * 2, 5.0)
