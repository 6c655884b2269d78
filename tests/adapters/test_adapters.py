"""Adapters turn recorded payloads into readings, and refuse malformed items one by one."""

from __future__ import annotations

from pathlib import Path

import pytest

from linli.adapters import registry
from linli.adapters.base import ParseResult, PayloadError, Reading

PAYLOADS = Path(__file__).parent / "payloads"
RECEIVED = 1_764_390_000_000
JSON = "application/json"
SENML = "application/senml+json"


def parse(adapter: str, name: str, content_type: str = JSON) -> ParseResult:
    return registry.parse(adapter, (PAYLOADS / name).read_bytes(), content_type, RECEIVED)


def reasons(result: ParseResult) -> dict[str, str]:
    return {p.item: p.reason for p in result.problems}


def test_registry_discovers_each_folder_by_its_manifest() -> None:
    assert registry.names() == ["json_tb", "senml", "wearable_csv"]
    assert registry.get("json").name == "json_tb"  # alias kept for older profiles
    assert registry.get("wearable-csv").name == "wearable_csv"
    assert registry.choose("json_tb", "Application/SenML+JSON; charset=utf-8").name == "senml"
    assert registry.choose("wearable_csv", "application/json").name == "wearable_csv"
    with pytest.raises(registry.UnknownAdapter):
        registry.get("nope")


def test_every_catalogue_profile_names_an_installed_adapter() -> None:
    from linli.device import catalog

    for code, profile in catalog.PROFILES.items():
        assert registry.get(profile[2]).name == profile[2], code


def test_json_flat_values_are_stamped_with_the_time_of_receipt() -> None:
    result = parse("json_tb", "json_tb_flat.json")
    assert result.problems == []
    assert result.readings == [
        Reading("pm25", RECEIVED, 35.2),
        Reading("pm10", RECEIVED, 61.0),
        Reading("temperature", RECEIVED, 21.5),
        Reading("online", RECEIVED, True),
        Reading("firmware", RECEIVED, "1.4.2"),
    ]


def test_json_timed_and_array_forms() -> None:
    timed = parse("json_tb", "json_tb_timed.json")
    assert timed.readings == [
        Reading("pm25", 1_764_380_000_000, 12.5),
        Reading("no2", 1_764_380_000_000, 40.0),
    ]
    array = parse("json_tb", "json_tb_array.json")
    assert [(r.ts_ms, r.value) for r in array.readings] == [
        (1_764_380_000_000, 55.1),
        (1_764_380_060_000, 57.3),
        (RECEIVED, 58.0),
    ]


def test_json_bad_items_are_refused_one_by_one() -> None:
    result = parse("json_tb", "json_tb_mixed_bad.json")
    assert result.readings == [
        Reading("pm25", 1_764_380_000_000, 10.0),
        Reading("co", RECEIVED, 0.4),
    ]
    problems = reasons(result)
    assert problems["[1].ts"].startswith("ts must be an integer")
    assert problems["[2].pm25"] == "value is null"
    assert problems["[2].pm10"].startswith("value must be")
    assert "[2].bad key!" in problems
    assert problems["[3]"] == "expected a JSON object"
    assert "milliseconds expected" in problems["[4].ts"]  # seconds sent instead of ms


@pytest.mark.parametrize(
    "name",
    [
        "json_tb_truncated.json",
        "json_tb_scalar.json",
        "json_tb_nan.json",
        "json_tb_empty_array.json",
    ],
)
def test_json_unreadable_payloads_raise(name: str) -> None:
    with pytest.raises(PayloadError):
        parse("json_tb", name)


def test_senml_rfc_example_resolves_names_units_and_times() -> None:
    result = parse("json_tb", "senml_rfc_example.json", SENML)  # content type chooses SenML
    assert result.problems == []
    base_ms = 1_320_067_464_000
    assert result.readings == [
        Reading("humidity", base_ms, 20.0),
        Reading("lon", base_ms, 24.30621),
        Reading("temperature", base_ms + 60_000, 23.1),
        Reading("ph", base_ms - 1000, 7.2),
    ]


def test_senml_absolute_and_relative_times() -> None:
    absolute = parse("senml", "senml_water_quality.json", SENML)
    assert [(r.key, r.ts_ms, r.value) for r in absolute.readings] == [
        ("ph", 1_764_380_000_000, 7.3),
        ("turbidity", 1_764_380_000_000, 1.8),
        ("chlorine", 1_764_380_030_000, 0.42),
    ]
    relative = parse("senml", "senml_relative.json", SENML)
    assert [(r.key, r.ts_ms) for r in relative.readings] == [
        ("ph", RECEIVED - 60_000),
        ("turbidity", RECEIVED),
    ]


def test_senml_refuses_records_without_a_usable_value() -> None:
    result = parse("senml", "senml_values_bad.json", SENML)
    t0 = 1_764_380_000_000
    assert result.readings == [
        Reading("ph", t0, 7.0),  # v plus the base value bv
        Reading("alarm", t0, True),
        Reading("note", t0, "sensor cleaned"),
    ]
    problems = reasons(result)
    assert problems["[3] wq-03/turbidity"].startswith("record has no value")
    assert problems["[4] wq-03/chlorine"] == "v must be a number"
    assert problems["[5] wq-03/ph"] == "record has more than one value field"
    assert problems["[6] wq-03/ph"] == "vb must be true or false"
    assert problems["[7]"] == "a SenML record is a JSON object"
    assert problems["[8] wq-03/chlorine"] == "t must be a number"
    single = parse("senml", "senml_single_valueless.json", SENML)
    assert single.readings == []
    assert single.problems[0].reason.startswith("record has no value")


@pytest.mark.parametrize("name", ["senml_truncated.json", "senml_bad_base.json"])
def test_senml_unreadable_payloads_raise(name: str) -> None:
    with pytest.raises(PayloadError):
        parse("senml", name, SENML)


def test_wearable_vendor_keys_become_catalogue_keys() -> None:
    result = parse("wearable_csv", "wearable_line.txt", "text/plain")
    t = 1_764_380_000_000
    assert result.problems == []
    assert result.readings == [
        Reading("heart_rate", t, 72.0),
        Reading("spo2", t, 97.0),
        Reading("steps", t, 1200.0),
        Reading("fall", t, 0.0),
        Reading("battery", t, 81.0),
    ]
    several = parse("wearable-csv", "wearable_lines.txt", "text/plain")
    assert [(r.key, r.ts_ms) for r in several.readings][-2:] == [
        ("heart_rate", RECEIVED),
        ("fall", RECEIVED),
    ]
    assert ("spo2", t + 60_000, 96.0) in [(r.key, r.ts_ms, r.value) for r in several.readings]


def test_wearable_bad_pairs_and_lines() -> None:
    result = parse("wearable_csv", "wearable_bad.txt", "text/plain")
    assert [(r.key, r.value) for r in result.readings] == [
        ("spo2", 97.0),
        ("fall", 1.0),
        ("battery", 50.0),
    ]
    problems = reasons(result)
    assert problems["line 1: HR"] == "value is not a number"
    assert problems["line 1: TEMP"] == "unknown key for this wristband"
    assert problems["line 1: garbage"] == "expected KEY=value"
    assert problems["line 2: T"] == "T must be epoch seconds"
    assert problems["line 3: HR"] == "value is not a finite number"


@pytest.mark.parametrize("name", ["wearable_binary.txt", "wearable_empty.txt"])
def test_wearable_unreadable_payloads_raise(name: str) -> None:
    with pytest.raises(PayloadError):
        parse("wearable_csv", name, "text/plain")


def test_oversized_payload_is_refused_before_parsing() -> None:
    with pytest.raises(PayloadError):
        registry.parse("json_tb", b" " * (registry.MAX_PAYLOAD_BYTES + 1), JSON, RECEIVED)


@pytest.mark.parametrize("adapter", ["json_tb", "senml", "wearable_csv"])
@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"\x00\x01",
        b"{}",
        b"[[[]]]",
        b'{"ts": 1e400, "values": {}}',
        b"9" * 400,
        b"\xef\xbb\xbf{",
    ],
)
def test_garbage_gives_a_payload_error_or_problems_never_a_crash(
    adapter: str, payload: bytes
) -> None:
    try:
        result = registry.parse(adapter, payload, JSON, RECEIVED)
    except PayloadError:
        return
    assert all(isinstance(r, Reading) for r in result.readings)
