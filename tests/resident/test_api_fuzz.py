"""Random bodies to the registration endpoints: never a server error, never a half-written row."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.audit.models import AuditEvent
from linli.resident.models import Household, Resident
from linli.resident.schemas import ID_CHECK, ID_WEIGHTS
from tests.conftest import World, bearer

FUZZ = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

AWKWARD_INTS = st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63, -(2**63) - 1, 10**40])
AWKWARD_TEXT = st.sampled_from(
    ["", " ", "\x00", "a\x00b", "\ud800", "\x1b[31m", "%", "_", "' OR 1=1 --", "𠀀" * 40, "x" * 600]
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    AWKWARD_INTS,
    st.floats(),
    st.text(max_size=40),
    AWKWARD_TEXT,
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3)
    ),
    max_leaves=6,
)
# Text a person could type (no control characters or lone surrogates).
typed_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=110
)


def valid_id_number(base17: str) -> str:
    total = sum(int(c) * w for c, w in zip(base17, ID_WEIGHTS, strict=True))
    return base17 + ID_CHECK[total % 11]


def mutated(base: st.SearchStrategy[dict[str, Any]], keys: list[str]) -> st.SearchStrategy[Any]:
    """A plausible body with up to two fields dropped or replaced by awkward values."""

    def apply(body: dict[str, Any], drop: set[str], over: dict[str, Any]) -> dict[str, Any]:
        out = {k: v for k, v in body.items() if k not in drop}
        out.update(over)
        return out

    return st.builds(
        apply,
        base,
        st.sets(st.sampled_from(keys), max_size=2),
        st.dictionaries(
            st.sampled_from(keys), json_values | AWKWARD_INTS | AWKWARD_TEXT, max_size=2
        ),
    )


def resident_bodies(world: World) -> st.SearchStrategy[Any]:
    households = st.sampled_from(sorted(world.households.values()))
    places = st.sampled_from(sorted(world.places.values()))
    base = st.fixed_dictionaries(
        {"name": typed_text},
        optional={
            "household_id": households,
            "place_id": places,
            "relation": st.sampled_from(["owner", "tenant", "family"]),
            "gender": st.sampled_from(["female", "male", "other"]),
            "phone": st.from_regex(r"\A1[3-9][0-9]{9}\Z") | st.from_regex(r"\A[0-9 -]{5,22}\Z"),
            "id_number": st.from_regex(r"\A[0-9]{17}\Z").map(valid_id_number),
            "date_of_birth": st.dates(dt.date(1900, 1, 1), dt.date(2030, 1, 1)).map(
                dt.date.isoformat
            ),
        },
    )
    keys = ["name", "household_id", "place_id", "relation", "gender", "phone", "id_number"]
    return st.one_of(base, mutated(base, [*keys, "date_of_birth"]), json_values)


def household_bodies(world: World) -> st.SearchStrategy[Any]:
    base = st.fixed_dictionaries(
        {"place_id": st.sampled_from(sorted(world.places.values())), "room": typed_text},
        optional={
            "floor": st.integers(-10, 300),
            "area_m2": st.decimals(0, 20000, places=2).map(str) | st.floats(0, 20000),
        },
    )
    return st.one_of(base, mutated(base, ["place_id", "room", "floor", "area_m2"]), json_values)


raw_bodies = st.one_of(
    st.binary(max_size=64),
    st.sampled_from([b"", b"{", b"[]", b"null", b"1e999999", b'{"name": NaN', b"\xff\xfe"]),
)


def post_json(client: TestClient, path: str, body: Any, headers: dict[str, str]) -> Any:
    """ASCII JSON (escapes lone surrogates; NaN and Infinity as Python's json writes them)."""
    raw = json.dumps(body, ensure_ascii=True).encode()
    return client.post(path, content=raw, headers={**headers, "content-type": "application/json"})


def snapshot(db: Session) -> tuple[int, int, int]:
    db.expire_all()
    row = db.execute(
        select(
            select(func.count()).select_from(Resident).scalar_subquery(),
            select(func.count()).select_from(Household).scalar_subquery(),
            select(func.count()).select_from(AuditEvent).scalar_subquery(),
        )
    ).one()
    db.rollback()  # end the read transaction so that the app's writes are never waited on
    return int(row[0]), int(row[1]), int(row[2])


def check(response: Any, before: tuple[int, int, int], after: tuple[int, int, int]) -> None:
    assert response.status_code < 500, response.text
    content_type = response.headers["content-type"]
    assert content_type.startswith(("application/json", "application/problem+json"))
    if response.status_code == 201:
        return
    # Refused: nothing but (possibly) the audit row of a refusal was stored.
    assert after[:2] == before[:2], response.text
    if after[2] != before[2]:
        assert response.status_code in (403, 404)


@FUZZ
@given(data=st.data())
def test_random_resident_bodies(
    client: TestClient, world: World, db: Session, data: st.DataObject
) -> None:
    body = data.draw(resident_bodies(world), label="body")
    before = snapshot(db)
    r = post_json(client, "/api/v1/residents", body, bearer(world, "staff1"))
    after = snapshot(db)
    check(r, before, after)
    if r.status_code == 201:
        assert after[0] == before[0] + 1
        assert after[2] == before[2] + 1  # resident.created
        stored = db.get(Resident, r.json()["id"])
        assert stored is not None
        assert stored.name == body["name"].strip()
        if stored.phone:
            assert stored.phone not in r.text


@FUZZ
@given(data=st.data())
def test_random_household_bodies(
    client: TestClient, world: World, db: Session, data: st.DataObject
) -> None:
    body = data.draw(household_bodies(world), label="body")
    before = snapshot(db)
    r = post_json(client, "/api/v1/households", body, bearer(world, "staff1"))
    after = snapshot(db)
    check(r, before, after)
    if r.status_code == 201:
        assert after[1] == before[1] + 1
        stored = db.get(Household, r.json()["id"])
        assert stored is not None
        assert stored.room == body["room"]


@FUZZ
@given(raw=raw_bodies, path=st.sampled_from(["/api/v1/residents", "/api/v1/households"]))
def test_malformed_json(
    client: TestClient, world: World, db: Session, raw: bytes, path: str
) -> None:
    before = snapshot(db)
    headers = {**bearer(world, "staff1"), "content-type": "application/json"}
    r = client.post(path, content=raw, headers=headers)
    after = snapshot(db)
    assert r.status_code in (400, 422), (raw, r.status_code, r.text)
    assert after == before


NASTY: list[Any] = [
    None,
    0,
    -1,
    2**31,
    2**63,
    10**40,
    1.5,
    float("inf"),
    float("nan"),
    True,
    "",
    " ",
    "\x00",
    "a\x00b",
    "\ud800",
    "\x1b[31m",
    "%",
    "x" * 600,
    [],
    {},
    {"$gt": ""},
]


def test_every_awkward_value_in_every_field(client: TestClient, world: World, db: Session) -> None:
    """The values that once caused server errors, deterministically, in every field."""
    staff1 = bearer(world, "staff1")
    person = ["household_id", "name", "relation", "gender", "phone", "id_number", "date_of_birth"]
    cases: list[tuple[str, dict[str, Any], list[str]]] = [
        ("/api/v1/residents", {"household_id": world.households["h1"], "name": "测试"}, person),
        ("/api/v1/residents", {"place_id": world.places["c1-b1u1"], "name": "测"}, ["place_id"]),
        (
            "/api/v1/households",
            {"place_id": world.places["c1-b1u1"], "room": "808"},
            ["place_id", "room", "floor", "area_m2"],
        ),
    ]
    tried = 0
    for path, base, keys in cases:
        for key in keys:
            for value in NASTY:
                before = snapshot(db)
                r = post_json(client, path, {**base, key: value}, staff1)
                check(r, before, snapshot(db))
                if r.status_code == 201:
                    model = Resident if "residents" in path else Household
                    assert db.get(model, r.json()["id"]) is not None
                    # Ids are never guessed from booleans, fractions or text.
                    assert not key.endswith("_id") or value is None, (key, value)
                tried += 1
    assert tried > 200


def test_fuzzing_leaves_a_verifiable_audit_chain(
    client: TestClient, world: World, db: Session
) -> None:
    body = {"household_id": world.households["h1"], "name": "张三", "phone": "13800001111"}
    r = client.post("/api/v1/residents", json=body, headers=bearer(world, "staff1"))
    assert r.status_code == 201
    r = client.post(
        "/api/v1/residents", content=json.dumps(body) + "}", headers=bearer(world, "staff1")
    )
    assert r.status_code == 422
    assert audit_service.verify(db).ok
