"""Bulk writer of ingested readings: observations, rollups, latest values, quarantine.

One transaction per group of batches, no statement per reading: observations go in with one
``executemany`` of ``INSERT ... ON CONFLICT DO NOTHING``; rollups (5 min, 1 h, 1 day), the
latest value of each datastream and each device's last-seen time are folded in memory first and
written with one statement per table. Only readings that were really inserted (not duplicates
of a stored (datastream, ts) key) reach the rollups, so a repeated message never counts twice.

A rollup's ``bucket`` is the start of its period in epoch milliseconds (UTC; days start at
00:00 UTC); ``last`` is the value with the greatest ``ts`` in the bucket.

:class:`BatchWriter` runs the writes on one thread and merges whatever batches are waiting into
one transaction (group commit); each batch's callback runs only after its commit.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Insert, bindparam, case, func, insert, select, table, update
from sqlalchemy import column as sql_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import DBAPIError, OperationalError

from linli.core.time import UTCDateTime, utc_now
from linli.telemetry.models import ROLLUP_PERIODS_S, Observation, QuarantinedPayload, Rollup

log = logging.getLogger("linli.telemetry.writer")

# (datastream id, ts ms, numeric value or None, text or None)
Row = tuple[int, int, float | None, str | None]

MAX_GROUP_ROWS = 20_000
RETRIES = 3
# The slow path looks up stored keys this many datastreams at a time (bound-parameter limits).
KEY_CHUNK = 400

# Lightweight tables for statements on the device domain's tables (reached by name, not model).
_devices = table("devices", sql_column("id"), sql_column("last_seen_at", UTCDateTime()))
_streams = table(
    "datastreams",
    sql_column("id"),
    sql_column("last_value"),
    sql_column("last_at_ms"),
    sql_column("first_at_ms"),
)


@dataclass(slots=True)
class Batch:
    """What one payload adds: its accepted readings and its quarantine entries."""

    rows: list[Row] = field(default_factory=list)
    device_id: int | None = None
    # (transport, device uid, device id, content type, reason, raw)
    quarantine: list[tuple[str, str, int | None, str, str, str]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class WriteResult:
    """How many of a batch's readings were stored and how many were already stored."""

    inserted: int
    duplicate: int


class ConcurrentWrite(RuntimeError):
    """Another writer stored some of the same keys between look-up and insert; retry."""


def bucket_start(ts_ms: int, period_s: int) -> int:
    """The start (epoch ms) of the rollup bucket of ``period_s`` holding ``ts_ms``."""
    return ts_ms - ts_ms % (period_s * 1000)


# --- statements -----------------------------------------------------------------------------


def _observation_insert(dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(Observation).on_conflict_do_nothing()
    return sqlite.insert(Observation).on_conflict_do_nothing()


def _rollup_upsert(dialect: str) -> Insert:
    base = postgresql.insert(Rollup) if dialect == "postgresql" else sqlite.insert(Rollup)
    stmt = base.values(
        datastream_id=bindparam("d"),
        period_s=bindparam("p"),
        bucket=bindparam("b"),
        count=bindparam("n"),
        min=bindparam("lo"),
        max=bindparam("hi"),
        sum=bindparam("s"),
        last=bindparam("v"),
        last_ts=bindparam("t"),
    )
    new = stmt.excluded
    least, greatest = (
        (func.least, func.greatest) if dialect == "postgresql" else (func.min, func.max)
    )
    return stmt.on_conflict_do_update(
        index_elements=[Rollup.datastream_id, Rollup.period_s, Rollup.bucket],
        set_={
            "count": Rollup.count + new.count,
            "min": least(Rollup.min, new.min),
            "max": greatest(Rollup.max, new.max),
            "sum": Rollup.sum + new.sum,
            "last": case((new.last_ts > Rollup.last_ts, new.last), else_=Rollup.last),
            "last_ts": greatest(Rollup.last_ts, new.last_ts),
        },
    )


def _latest_update(dialect: str) -> Any:
    greatest, least = (
        (func.greatest, func.least) if dialect == "postgresql" else (func.max, func.min)
    )
    c = _streams.c
    return (
        update(_streams)
        .where(c.id == bindparam("sid"))
        .values(
            last_value=case(
                (c.last_at_ms.is_(None), bindparam("v")),
                (bindparam("t") >= c.last_at_ms, bindparam("v")),
                else_=c.last_value,
            ),
            last_at_ms=greatest(func.coalesce(c.last_at_ms, bindparam("t")), bindparam("t")),
            first_at_ms=least(func.coalesce(c.first_at_ms, bindparam("f")), bindparam("f")),
        )
    )


_LAST_SEEN = (
    update(_devices).where(_devices.c.id == bindparam("did")).values(last_seen_at=bindparam("seen"))
)


class _Statements:
    """Statements of one dialect, compiled once (the SQLite insert to its driver string)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect
        self.insert = _observation_insert(dialect)
        self.insert_returning = self.insert.returning(Observation.datastream_id, Observation.ts)
        self.insert_sql = str(self.insert.compile(dialect=sqlite.dialect()))
        self.rollup = _rollup_upsert(dialect)
        self.latest = _latest_update(dialect)


_STATEMENTS: dict[str, _Statements] = {}


def _statements(conn: Connection) -> _Statements:
    name = conn.dialect.name
    found = _STATEMENTS.get(name)
    if found is None:
        found = _STATEMENTS[name] = _Statements(name)
    return found


# --- the write ------------------------------------------------------------------------------


def _stored_keys(conn: Connection, rows: Sequence[Row]) -> set[tuple[int, int]]:
    """Keys among ``rows`` that are already stored (one range query per chunk of datastreams)."""
    by_stream: dict[int, list[int]] = {}
    for sid, ts, _v, _t in rows:
        by_stream.setdefault(sid, []).append(ts)
    found: set[tuple[int, int]] = set()
    ids = sorted(by_stream)
    lo = min(r[1] for r in rows)
    hi = max(r[1] for r in rows)
    for i in range(0, len(ids), KEY_CHUNK):
        chunk = ids[i : i + KEY_CHUNK]
        stmt = select(Observation.datastream_id, Observation.ts).where(
            Observation.datastream_id.in_(chunk), Observation.ts >= lo, Observation.ts <= hi
        )
        found.update((int(a), int(b)) for a, b in conn.execute(stmt))
    wanted = {(r[0], r[1]) for r in rows}
    return found & wanted


def _insert(conn: Connection, st: _Statements, rows: list[Row], *, checked: bool) -> list[Row]:
    """Insert ``rows`` (distinct keys); return those that were new."""
    if not rows:
        return []
    if st.dialect == "postgresql":
        params = [{"datastream_id": r[0], "ts": r[1], "value": r[2], "text": r[3]} for r in rows]
        result = conn.execute(st.insert_returning, params)
        new = {(int(a), int(b)) for a, b in result}
        return rows if len(new) == len(rows) else [r for r in rows if (r[0], r[1]) in new]
    inserted = conn.exec_driver_sql(st.insert_sql, rows).rowcount
    if inserted == len(rows):
        return rows
    if checked:
        # The keys were looked up in this transaction: someone else wrote them since.
        raise ConcurrentWrite("observations written concurrently; retrying the batch")
    raise _SomeStored()


class _SomeStored(Exception):
    """Some keys of the optimistic insert were stored already; redo with a look-up."""


def _rollups(rows: Iterable[Row]) -> list[dict[str, Any]]:
    acc: dict[tuple[int, int, int], list[Any]] = {}
    for sid, ts, v, _t in rows:
        if v is None:
            continue
        for period in ROLLUP_PERIODS_S:
            key = (sid, period, ts - ts % (period * 1000))
            a = acc.get(key)
            if a is None:
                acc[key] = [1, v, v, v, v, ts]
                continue
            a[0] += 1
            if v < a[1]:
                a[1] = v
            if v > a[2]:
                a[2] = v
            a[3] += v
            if ts > a[5]:
                a[4] = v
                a[5] = ts
    return [
        {"d": d, "p": p, "b": b, "n": n, "lo": lo, "hi": hi, "s": s, "v": v, "t": t}
        for (d, p, b), (n, lo, hi, s, v, t) in acc.items()
    ]


def _latest(rows: Iterable[Row]) -> list[dict[str, Any]]:
    acc: dict[int, list[Any]] = {}
    for sid, ts, v, _t in rows:
        a = acc.get(sid)
        if a is None:
            acc[sid] = [ts, v, ts]
            continue
        if ts > a[0]:
            a[0] = ts
            a[1] = v
        if ts < a[2]:
            a[2] = ts
    return [{"sid": sid, "t": a[0], "v": a[1], "f": a[2]} for sid, a in acc.items()]


def _write_once(
    conn: Connection, batches: Sequence[Batch], *, look_up: bool, new_rows: list[Row]
) -> list[WriteResult]:
    st = _statements(conn)
    seen: set[tuple[int, int]] = set()
    candidates: list[Row] = []
    duplicates = [0] * len(batches)
    owners: list[int] = []
    for index, batch in enumerate(batches):
        for row in batch.rows:
            key = (row[0], row[1])
            if key in seen:
                duplicates[index] += 1
                continue
            seen.add(key)
            candidates.append(row)
            owners.append(index)
    if look_up and candidates:
        stored = _stored_keys(conn, candidates)
        if stored:
            kept = [
                (r, o)
                for r, o in zip(candidates, owners, strict=True)
                if (r[0], r[1]) not in stored
            ]
            for r, o in zip(candidates, owners, strict=True):
                if (r[0], r[1]) in stored:
                    duplicates[o] += 1
            candidates = [r for r, _o in kept]
            owners = [o for _r, o in kept]
    new = _insert(conn, st, candidates, checked=look_up)
    if len(new) != len(candidates):  # PostgreSQL: RETURNING told which ones were new
        new_keys = {(r[0], r[1]) for r in new}
        for r, o in zip(candidates, owners, strict=True):
            if (r[0], r[1]) not in new_keys:
                duplicates[o] += 1
    inserted = [len(b.rows) - duplicates[i] for i, b in enumerate(batches)]
    new_rows.extend(new)
    if new:
        conn.execute(st.rollup, _rollups(new))
        conn.execute(st.latest, _latest(new))
    seen_at = utc_now()
    device_ids = sorted({b.device_id for b in batches if b.device_id is not None})
    if device_ids:
        conn.execute(_LAST_SEEN, [{"did": d, "seen": seen_at} for d in device_ids])
    quarantine = [
        {
            "received_at": seen_at,
            "transport": q[0],
            "device_uid": q[1][:64],
            "device_id": q[2],
            "content_type": q[3][:100],
            "reason": q[4][:500],
            "raw": q[5],
        }
        for b in batches
        for q in b.quarantine
    ]
    if quarantine:
        conn.execute(insert(QuarantinedPayload), quarantine)
    return [WriteResult(inserted=n, duplicate=d) for n, d in zip(inserted, duplicates, strict=True)]


def write(
    engine: Engine, batches: Sequence[Batch], *, new_rows: list[Row] | None = None
) -> list[WriteResult]:
    """Store ``batches`` in one committed transaction; return what each one added.

    ``new_rows``, when given, receives the readings that were really stored (not duplicates).
    """
    look_up = False
    for attempt in range(RETRIES + 1):
        stored: list[Row] = []
        try:
            with engine.begin() as conn:
                results = _write_once(conn, batches, look_up=look_up, new_rows=stored)
            if new_rows is not None:
                new_rows.extend(stored)
            return results
        except _SomeStored:
            look_up = True
        except ConcurrentWrite:
            if attempt >= RETRIES:
                raise
            look_up = True
        except OperationalError as exc:
            # SQLite: a stale snapshot or a lock held too long by another process.
            if attempt >= RETRIES:
                raise
            log.warning("telemetry write failed, retrying: %s", exc.orig)
            time.sleep(0.05 * (attempt + 1))
    raise ConcurrentWrite("telemetry batch could not be written")


# --- the writer thread ----------------------------------------------------------------------

Done = Callable[[WriteResult | BaseException], None]
# Called on the writer thread with the readings of each committed group (rule evaluation).
Observer = Callable[[Sequence[Row]], None]


class BatchWriter:
    """A thread that writes submitted batches, merging those waiting into one transaction."""

    def __init__(self, engine: Engine, *, max_rows: int = MAX_GROUP_ROWS) -> None:
        self._engine = engine
        self._max_rows = max_rows
        self._queue: queue.SimpleQueue[tuple[Batch, Done] | None] = queue.SimpleQueue()
        self.observers: list[Observer] = []
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="linli-telemetry-writer", daemon=True
                )
                self._thread.start()

    def submit(self, batch: Batch, done: Done) -> None:
        """Queue ``batch``; ``done`` gets its result (or the error) after the commit."""
        if self._thread is None:
            self.start()
        self._queue.put((batch, done))

    def stop(self, timeout: float = 10) -> None:
        """Write what is queued, then end the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)

    def _run(self) -> None:
        stopping = False
        while not stopping:
            item = self._queue.get()
            if item is None:
                break
            group = [item]
            rows = len(item[0].rows)
            while rows < self._max_rows:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stopping = True
                    break
                group.append(nxt)
                rows += len(nxt[0].rows)
            self._write_group(group)

    def _write_group(self, group: list[tuple[Batch, Done]]) -> None:
        new_rows: list[Row] = []
        try:
            results: Sequence[WriteResult | BaseException] = write(
                self._engine, [b for b, _d in group], new_rows=new_rows
            )
        except (DBAPIError, ConcurrentWrite) as exc:
            if len(group) == 1:
                log.error("telemetry batch not stored: %s", exc)
                results = [exc]
            else:
                # One bad batch (a datastream deleted meanwhile ...) must not sink the others.
                results = []
                for batch, _done in group:
                    try:
                        results.append(write(self._engine, [batch], new_rows=new_rows)[0])
                    except (DBAPIError, ConcurrentWrite) as one:
                        log.error("telemetry batch not stored: %s", one)
                        results.append(one)
        if new_rows:
            # Rules see a reading only once it is stored: an alarm never rests on a lost one.
            for observer in self.observers:
                try:
                    observer(new_rows)
                except Exception:
                    log.exception("telemetry observer failed")
        for (_batch, done), result in zip(group, results, strict=True):
            try:
                done(result)
            except Exception:
                log.exception("telemetry acknowledgement failed")
