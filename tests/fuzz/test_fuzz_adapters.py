"""Fuzzing the device payload adapters (ThingsBoard JSON, SenML, wristband lines), the ingestion
pipeline, the MQTT topic parser and HTTP ingestion: readings or a PayloadError, never a crash."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.adapters import registry
from linli.adapters.base import ParseResult, PayloadError, Reading
from linli.adapters.checks import KEY, MAX_TEXT, MAX_TS_MS, MIN_TS_MS
from linli.device.service import DeviceRef, StreamRef
from linli.telemetry import ingest
from linli.telemetry.models import Observation, QuarantinedPayload
from linli.telemetry.mqtt import uid_of
from tests.conftest import World
from tests.telemetry.test_ingest_http import make_device

RECEIVED = 1_767_225_600_000  # 2026-01-01T00:00:00Z
ADAPTERS = ("json_tb", "senml", "wearable_csv")
CONTENT_TYPES = (
    "",
    "application/json",
    "application/senml+json",
    "text/x-wearable-csv",
    "text/plain; charset=utf-8",
    "Application/SenML+JSON; charset=utf-8",
)
# The manifest renames of each adapter: what a generated name becomes in a reading.
RENAMES = {name: registry.get(name).keys for name in ADAPTERS}

FAST = settings(max_examples=100, deadline=None, database=None)
# HTTP examples share one app and database (function-scoped fixtures are set up once per test,
# which is what we want: rows are counted before and after each example).
HTTP = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

keys = st.from_regex(r"[A-Za-z0-9_.\-]{1,64}", fullmatch=True)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
texts = st.text(max_size=MAX_TEXT)
ts_ms = st.integers(MIN_TS_MS, MAX_TS_MS - 1)
# JSON scalars, including the awkward ones: huge integers, NaN/Infinity tokens, long text.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, -(2**63) - 1, 10**400, 0.0, -0.0, 1e308, -1e308, 5e-324]),
    st.floats(),
    st.text(max_size=30),
    st.sampled_from(["", "x" * 300, "\x00", "\u202e", "1e999"]),
)
json_keys = st.one_of(
    st.text(max_size=10),
    st.sampled_from(["ts", "values", "n", "bn", "bt", "bv", "bs", "v", "vs", "vb", "vd", "s", "t"]),
)
json_docs = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(json_keys, children, max_size=5)
    ),
    max_leaves=12,
)


def dumps(doc: Any) -> bytes:
    """JSON text of any generated value (Python's json writes NaN, Infinity and big ints)."""
    return json.dumps(doc).encode()


def check_result(result: ParseResult) -> None:
    """What every ParseResult promises: valid keys, times and values; problems as text."""
    for reading in result.readings:
        assert isinstance(reading, Reading)
        assert KEY.match(reading.key), reading
        assert reading.ts_ms is None or MIN_TS_MS <= reading.ts_ms < MAX_TS_MS, reading
        value = reading.value
        assert isinstance(value, bool | float | str), reading
        if isinstance(value, float):
            assert math.isfinite(value)
        if isinstance(value, str):
            assert len(value) <= MAX_TEXT
    for problem in result.problems:
        assert isinstance(problem.item, str)
        assert isinstance(problem.reason, str)
        assert problem.reason


def parse_or_refuse(adapter: str, payload: bytes, content_type: str = "") -> ParseResult | None:
    error: PayloadError | None = None
    try:
        result = registry.parse(adapter, payload, content_type, RECEIVED)
    except PayloadError as exc:
        error = exc
    if error is not None:
        assert str(error)
        return None
    check_result(result)
    return result


# --- never a crash --------------------------------------------------------------------------


@FAST
@given(adapter=st.sampled_from(ADAPTERS), payload=st.binary(max_size=300))
@example(adapter="wearable_csv", payload=b"HR=72;T=" + b"9" * 5000)  # int() digit limit
@example(adapter="senml", payload=b'[{"n":"x","v":1,"t":1e308,"bt":1e308}]')  # inf time
def test_arbitrary_bytes_parse_or_raise_payload_error(adapter: str, payload: bytes) -> None:
    parse_or_refuse(adapter, payload)


@FAST
@given(
    adapter=st.sampled_from(ADAPTERS), doc=json_docs, content_type=st.sampled_from(CONTENT_TYPES)
)
def test_structured_but_wrong_json_parses_or_raises_payload_error(
    adapter: str, doc: Any, content_type: str
) -> None:
    parse_or_refuse(adapter, dumps(doc), content_type)


senml_records = st.dictionaries(
    st.sampled_from(
        ["n", "bn", "bt", "bv", "bs", "bver", "bu", "u", "v", "vs", "vb", "vd", "s", "t"]
    ),
    json_scalars,
    max_size=6,
)


@FAST
@given(records=st.lists(senml_records, min_size=1, max_size=8))
@example(records=[{"bt": 1e308, "t": 1e308, "n": "x", "v": 1}])
@example(records=[{"bt": -1e308, "t": -1e308, "n": "x", "v": 1}])
def test_senml_records_of_wrong_fields_never_crash(records: list[dict[str, Any]]) -> None:
    parse_or_refuse("senml", dumps(records))


wearable_lines = st.lists(
    st.lists(
        st.tuples(
            st.sampled_from(["HR", "SPO2", "STEPS", "FALL", "BAT", "T", "hr", "X", ""]),
            st.sampled_from(["=", "", "=="]),
            st.one_of(
                st.text(alphabet="0123456789.-+eEnaifINF x", max_size=20), st.just("9" * 5000)
            ),
        ),
        max_size=6,
    ),
    min_size=1,
    max_size=5,
)


@FAST
@given(lines=wearable_lines, newline=st.sampled_from(["\n", "\r\n", "\r", "\x0b", "\x1e"]))
def test_wearable_lines_of_wrong_pairs_never_crash(
    lines: list[list[tuple[str, str, str]]], newline: str
) -> None:
    text = newline.join(";".join(f"{k}{sep}{v}" for k, sep, v in line) for line in lines)
    parse_or_refuse("wearable_csv", text.encode("ascii"))


def test_regressions_found_by_fuzzing() -> None:
    # An hour-long T made int() raise ValueError (Python's 4300-digit limit).
    result = registry.parse("wearable_csv", b"HR=72;T=" + b"9" * 5000, "", RECEIVED)
    assert result.readings == []
    assert result.problems[0].item == "line 1: T"
    # bt + t overflowing to infinity made round() raise OverflowError.
    pack = b'[{"n":"x","v":1,"t":1e308,"bt":1e308}]'
    result = registry.parse("senml", pack, "application/senml+json", RECEIVED)
    assert result.readings == []
    assert result.problems[0].reason == "time is not a finite number"


# --- round trips ----------------------------------------------------------------------------


values = st.one_of(st.booleans(), finite, texts)


def expected_value(value: bool | float | str) -> bool | float | str:
    return value if isinstance(value, bool | str) else float(value)


@FAST
@given(
    items=st.lists(
        st.tuples(ts_ms, st.dictionaries(keys, values, min_size=1, max_size=5)),
        min_size=1,
        max_size=5,
    )
)
def test_json_tb_timed_items_round_trip(items: list[tuple[int, dict[str, Any]]]) -> None:
    payload = orjson.dumps([{"ts": ts, "values": vals} for ts, vals in items])
    result = registry.parse("json_tb", payload, "application/json", RECEIVED)
    assert result.problems == []
    assert result.readings == [
        Reading(k, ts, expected_value(v)) for ts, vals in items for k, v in vals.items()
    ]


@FAST
@given(flat=st.dictionaries(keys.filter(lambda k: k not in ("ts", "values")), values, min_size=1))
def test_json_tb_flat_values_round_trip_stamped_on_receipt(flat: dict[str, Any]) -> None:
    result = registry.parse("json_tb", orjson.dumps(flat), "", RECEIVED)
    assert result.problems == []
    assert result.readings == [Reading(k, RECEIVED, expected_value(v)) for k, v in flat.items()]


senml_value = st.one_of(
    st.tuples(st.just("v"), finite.filter(lambda x: abs(x) < 1e300)),
    st.tuples(st.just("vs"), texts),
    st.tuples(st.just("vb"), st.booleans()),
)


@FAST
@given(
    prefix=st.sampled_from(["", "urn:dev:mac:0024befffe804ff1:", "dev/"]),
    base_s=st.integers(MIN_TS_MS // 1000 + 86_400, MAX_TS_MS // 1000 - 86_400),
    base_value=st.sampled_from([0.0, 0.5, -10.0]),
    records=st.lists(
        st.tuples(keys, st.integers(-86_400_000, 86_400_000), senml_value), min_size=1, max_size=6
    ),
)
def test_senml_records_round_trip(
    prefix: str,
    base_s: int,
    base_value: float,
    records: list[tuple[str, int, tuple[str, Any]]],
) -> None:
    pack: list[dict[str, Any]] = [{"bn": prefix, "bt": base_s, "bv": base_value}]
    pack += [{"n": n, "t": offset_ms / 1000, field: v} for n, offset_ms, (field, v) in records]
    result = registry.parse("senml", orjson.dumps(pack), "application/senml+json", RECEIVED)
    assert result.problems == []
    renames = RENAMES["senml"]
    expected = [
        Reading(
            renames.get(n, n),
            base_s * 1000 + offset_ms,
            v + base_value if field == "v" else v,
        )
        for n, offset_ms, (field, v) in records
    ]
    assert result.readings == expected


@FAST
@given(
    lines=st.lists(
        st.tuples(
            st.one_of(st.none(), st.integers(MIN_TS_MS // 1000, MAX_TS_MS // 1000 - 1)),
            st.dictionaries(
                st.sampled_from(sorted(RENAMES["wearable_csv"])), finite, min_size=1, max_size=5
            ),
        ),
        min_size=1,
        max_size=5,
    )
)
def test_wearable_lines_round_trip(lines: list[tuple[int | None, dict[str, float]]]) -> None:
    text = "\n".join(
        ";".join([f"{k}={v!r}" for k, v in pairs.items()] + ([f"T={t}"] if t is not None else []))
        for t, pairs in lines
    )
    result = registry.parse("wearable_csv", text.encode(), "text/x-wearable-csv", RECEIVED)
    assert result.problems == []
    renames = RENAMES["wearable_csv"]
    assert result.readings == [
        Reading(renames[k], RECEIVED if t is None else t * 1000, v)
        for t, pairs in lines
        for k, v in pairs.items()
    ]


# --- the ingestion pipeline and the MQTT topic ----------------------------------------------

DEVICE = DeviceRef(
    id=1,
    uid="fuzz-1",
    active=True,
    adapter="json_tb",
    place_id=1,
    streams={
        "pm25": StreamRef(1, "pm25", 0.0, 1000.0),
        "temperature": StreamRef(2, "temperature", -50.0, 80.0),
        "note": StreamRef(3, "note", None, None),
    },
)


@FAST
@given(
    payload=st.one_of(st.binary(max_size=200), json_docs.map(dumps)),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_prepare_gives_a_checked_batch_or_unreadable(payload: bytes, content_type: str) -> None:
    unreadable: ingest.Unreadable | None = None
    try:
        prepared = ingest.prepare(DEVICE, payload, content_type, RECEIVED, transport="http")
    except ingest.Unreadable as exc:
        unreadable = exc
    if unreadable is not None:
        (entry,) = unreadable.batch.quarantine
        assert entry[4] == unreadable.reason
        assert "\x00" not in entry[5]
        assert unreadable.batch.rows == []
        return
    streams = {s.id: s for s in DEVICE.streams.values()}
    for stream_id, ts, value, _text in prepared.batch.rows:
        stream = streams[stream_id]
        assert value is not None
        assert math.isfinite(value)
        assert stream.min_value is None or value >= stream.min_value
        assert stream.max_value is None or value <= stream.max_value
        assert MIN_TS_MS <= ts <= RECEIVED + ingest.MAX_FUTURE_MS
    assert len(prepared.batch.quarantine) <= ingest.MAX_QUARANTINE_PER_PAYLOAD
    for entry in prepared.batch.quarantine:
        assert "\x00" not in entry[5]
    assert all(set(r) == {"item", "reason"} for r in prepared.rejected)


@FAST
@given(
    topic=st.one_of(
        st.text(max_size=60), st.builds("linli/devices/{}/telemetry".format, st.text(max_size=20))
    )
)
def test_mqtt_topic_gives_a_uid_or_none(topic: str) -> None:
    uid = uid_of(topic)
    if uid is not None:
        assert uid
        assert "/" not in uid
        assert topic == f"linli/devices/{uid}/telemetry"


@FAST
@given(uid=keys)
def test_mqtt_topic_round_trip(uid: str) -> None:
    assert uid_of(f"linli/devices/{uid}/telemetry") == uid


# --- through HTTP ---------------------------------------------------------------------------


def _counts(db: Session) -> tuple[int, int]:
    db.rollback()  # a fresh snapshot: the writer thread commits on its own connection
    observations = db.scalar(select(func.count()).select_from(Observation)) or 0
    quarantined = db.scalar(select(func.count()).select_from(QuarantinedPayload)) or 0
    return int(observations), int(quarantined)


good_items = st.dictionaries(
    st.sampled_from(["pm25", "pm10", "temperature", "humidity", "noise", "bogus"]),
    st.one_of(finite, st.booleans(), st.text(max_size=5)),
    min_size=1,
    max_size=4,
)
http_bodies = st.one_of(
    st.binary(max_size=200),
    json_docs.map(dumps),
    good_items.map(dumps),
    st.lists(st.fixed_dictionaries({"ts": st.integers(), "values": good_items}), max_size=3).map(
        dumps
    ),
)


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_fuzzed_http_bodies_give_4xx_or_a_report_never_5xx(
    client: TestClient, app: FastAPI, db: Session, world: World
) -> None:
    dev = make_device(app, world, "fuzz-aq")

    @HTTP
    @given(body=http_bodies, content_type=st.sampled_from(CONTENT_TYPES))
    @example(
        body=b'[{"n":"pm25","v":1,"t":1e308,"bt":1e308}]', content_type="application/senml+json"
    )
    @example(body=b"HR=1;T=" + b"1" * 5000, content_type="text/x-wearable-csv")
    def run(body: bytes, content_type: str) -> None:
        observations, quarantined = _counts(db)
        headers = {**dev.auth(), "content-type": content_type}
        response = client.post("/api/v1/telemetry", content=body, headers=headers)
        after_obs, after_q = _counts(db)
        assert response.status_code in (200, 400), response.text
        answer = response.json()
        if response.status_code == 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert answer["status"] == 400
            assert after_obs == observations  # nothing stored but the quarantined payload
            assert after_q == quarantined + 1
            return
        assert after_obs - observations == answer["accepted"]
        assert answer["rejected"] == len(answer["rejected_items"])
        assert after_q - quarantined == min(answer["rejected"], ingest.MAX_QUARANTINE_PER_PAYLOAD)

    run()
