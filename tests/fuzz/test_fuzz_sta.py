"""Fuzzing the SensorThings query options: ``$filter`` / ``$orderby`` text, ``$expand``, ``$top``
and the rest parse or raise QueryError, generated syntax trees survive a round trip through text
and compile, and over HTTP a query is answered 200 or 400, never 5xx."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from linli.standards.sta.filter import (
    MAX_HEIGHT,
    Binary,
    Call,
    Literal,
    Node,
    Prop,
    QueryError,
    Unary,
    parse_filter,
    parse_orderby,
    tokenize,
)
from linli.standards.sta.options import MAX_TOP, parse_options
from tests.conftest import World, bearer
from tests.telemetry.test_ingest_http import make_device

FAST = settings(max_examples=100, deadline=None, database=None)
HTTP = settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
ROOT = "/sta/v1.1"

# --- text ------------------------------------------------------------------------------------

VOCABULARY = [
    "(", ")", ",", "-", "not", "and", "or", "eq", "ne", "gt", "ge", "lt", "le", "add", "sub",
    "mul", "div", "mod", "asc", "desc", "true", "false", "null", "name", "id", "@iot.id",
    "result", "phenomenonTime", "Datastream/name", "Thing/Datastreams/name", "properties/uid",
    "location", "1", "-2", "3.5", "1e400", "9" * 30, "'a'", "'it''s'", "'", "2024-01-02",
    "2024-02-30T25:00:00Z", "2024-01-02T03:04:05.5+08:00", "12:30:00", "99:99:99",
    "geography'POINT(1 2)'", "geography'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))'",
    "geography'POINT(200 2)'", "geography'LINESTRING(1 2)'", "substringof", "startswith",
    "length", "substring", "geo.distance", "st_within", "now", "year", "round", "concat",
    "unknownfn", "\u00e9", "\x00",
]  # fmt: skip
token_soup = st.lists(st.sampled_from(VOCABULARY), max_size=25).map(" ".join)
query_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="()',-. 0123456789:TZeqandornt/@", max_size=80),
    token_soup,
)


@FAST
@given(text=query_text)
@example(text="a or " * 799 + "a")  # a RecursionError when compiled (and when hashed)
@example(text="1 add " * 660 + "1")
@example(text="(" * 100 + "a eq 1" + ")" * 100)
@example(text="not " * 100 + "true")
@example(text="- " * 100 + "1")
def test_filter_text_parses_or_raises_query_error(text: str) -> None:
    for parse in (parse_filter, parse_orderby):
        error: QueryError | None = None
        try:
            node = parse(text)
        except QueryError as exc:
            error = exc
        if error is not None:
            assert error.status_code == 400
            assert str(error)
            continue
        assert height(node) <= MAX_HEIGHT
        hash(repr(node))  # the tree can be walked without exhausting the stack


def height(node: object) -> int:
    """The height of a syntax tree (or of the (node, descending) list of $orderby)."""
    if isinstance(node, list):
        return max(height(n) for n, _desc in node)
    if isinstance(node, Unary):
        return 1 + height(node.operand)
    if isinstance(node, Binary):
        return 1 + max(height(node.left), height(node.right))
    if isinstance(node, Call):
        return 1 + max((height(a) for a in node.args), default=0)
    return 1


@FAST
@given(text=query_text)
def test_tokenize_never_crashes(text: str) -> None:
    try:
        tokens = tokenize(text)
    except QueryError:
        return
    assert tokens[-1].kind == "end"


option_names = st.sampled_from(
    ["$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand", "$resultFormat"]
)
option_values = st.one_of(
    query_text,
    st.sampled_from(["0", "1000", "1001", "²", "٣", " 5 ", "-1", "9" * 5000, "true", "default"]),
    st.sampled_from(
        [
            "Datastreams($select=name;$expand=Observations($top=2))",
            "Datastreams/Observations",
            "Datastreams(",
            "Datastreams($filter=name eq ')')",
            "a(b(c(d(e(f(g(h))))))))",
            "Datastreams($expand=" * 10 + "Thing" + ")" * 10,
            "1abc",
            "Datastreams($top)",
        ]
    ),
)


@FAST
@given(params=st.dictionaries(st.one_of(option_names, st.text(max_size=8)), option_values))
@example(params={"$top": "²"})  # isdigit() but not int(): ValueError
@example(params={"$skip": "9" * 5000})  # int()'s 4300-digit limit: ValueError
@example(params={"$expand": "Datastreams($top=²)"})
def test_query_options_parse_or_raise_query_error(params: dict[str, str]) -> None:
    error: QueryError | None = None
    try:
        opts = parse_options(params)
    except QueryError as exc:
        error = exc
    if error is not None:
        assert str(error)
        return
    assert 0 <= opts.top <= MAX_TOP
    assert opts.skip >= 0
    opts.query_string(skip=opts.skip + opts.top)


def test_regressions_found_by_fuzzing() -> None:
    with pytest.raises(QueryError, match="whole number"):
        parse_options({"$top": "²"})
    with pytest.raises(QueryError, match="at most"):
        parse_options({"$skip": "9" * 5000})
    with pytest.raises(QueryError, match="nested too deeply"):
        parse_filter("a or " * 799 + "a")
    # A long but flat list of alternatives is still fine.
    node = parse_filter(" or ".join(f"id eq {i}" for i in range(100)))
    assert isinstance(node, Binary)


# --- syntax trees: render, parse back, compile -----------------------------------------------

THING_NUMS = [("id",), ("properties", "place")]
THING_STRS = [("name",), ("description",), ("properties", "uid"), ("properties", "profile")]
ints = st.integers(-(2**53), 2**53)
small_ints = st.integers(-1000, 10**6)
floats = st.floats(allow_nan=False, allow_infinity=False, width=64).filter(lambda x: abs(x) < 1e300)
str_literals = st.text(max_size=12).map(Literal)


def _num_tree(props: list[tuple[str, ...]]) -> st.SearchStrategy[Node]:
    leaves: st.SearchStrategy[Node] = st.one_of(
        st.one_of(small_ints, ints).map(Literal),
        floats.map(Literal),
        st.sampled_from(props).map(Prop),
    )
    strs = _str_tree(THING_STRS)

    def extend(child: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        return st.one_of(
            st.builds(Binary, st.sampled_from(["add", "sub", "mul"]), child, child),
            st.builds(
                Binary,
                st.sampled_from(["div", "mod"]),
                child,
                st.integers(1, 1000).map(Literal),
            ),
            st.builds(lambda a: Unary("-", a), child),
            st.builds(lambda a: Call("round", (a,)), child),
            st.builds(lambda a: Call("floor", (a,)), child),
            st.builds(lambda s: Call("length", (s,)), strs),
            st.builds(lambda s, t: Call("indexof", (s, t)), strs, strs),
        )

    return st.recursive(leaves, extend, max_leaves=6)


def _str_tree(props: list[tuple[str, ...]]) -> st.SearchStrategy[Node]:
    leaves: st.SearchStrategy[Node] = st.one_of(str_literals, st.sampled_from(props).map(Prop))

    def extend(child: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        return st.one_of(
            st.builds(lambda a: Call("tolower", (a,)), child),
            st.builds(lambda a: Call("toupper", (a,)), child),
            st.builds(lambda a: Call("trim", (a,)), child),
            st.builds(lambda a, b: Call("concat", (a, b)), child, child),
            st.builds(
                lambda a, n: Call("substring", (a, n)), child, st.integers(0, 5).map(Literal)
            ),
        )

    return st.recursive(leaves, extend, max_leaves=4)


def _conditions() -> st.SearchStrategy[Node]:
    nums, strs = _num_tree(THING_NUMS), _str_tree(THING_STRS)
    comparisons = st.sampled_from(["eq", "ne", "gt", "ge", "lt", "le"])
    leaves: st.SearchStrategy[Node] = st.one_of(
        st.builds(Binary, comparisons, nums, nums),
        st.builds(Binary, comparisons, strs, strs),
        st.builds(
            lambda fn, s, t: Call(fn, (t, s) if fn == "substringof" else (s, t)),
            st.sampled_from(["startswith", "endswith", "contains", "substringof"]),
            strs,
            strs,
        ),
        st.builds(lambda op, p: Binary(op, Prop(p), Literal(None)), st.sampled_from(["eq", "ne"]),
                  st.sampled_from(THING_STRS)),
        st.booleans().map(Literal),
    )  # fmt: skip

    def extend(child: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        return st.one_of(
            st.builds(Binary, st.sampled_from(["and", "or"]), child, child),
            st.builds(lambda a: Unary("not", a), child),
        )

    return st.recursive(leaves, extend, max_leaves=5)


conditions = _conditions()


def render(node: Node) -> str:
    """The node as $filter text, fully parenthesised so that it parses back to itself."""
    if isinstance(node, Literal):
        value = node.value
        if value is None:
            return "null"
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        if isinstance(value, dt.datetime):
            return value.isoformat()
        assert isinstance(value, str)
        return "'" + value.replace("'", "''") + "'"
    if isinstance(node, Prop):
        return "/".join(node.path)
    if isinstance(node, Unary):
        return (
            f"{node.op} ({render(node.operand)})"
            if node.op == "not"
            else f"-({render(node.operand)})"
        )
    if isinstance(node, Binary):
        return f"({render(node.left)} {node.op} {render(node.right)})"
    assert isinstance(node, Call)
    return f"{node.name}({', '.join(render(a) for a in node.args)})"


@FAST
@given(node=conditions)
def test_rendered_trees_parse_back_to_themselves(node: Node) -> None:
    assert parse_filter(render(node)) == node


@FAST
@given(
    moment=st.datetimes(
        min_value=dt.datetime(1000, 1, 1),  # noqa: DTZ001  (naive bounds; zone given below)
        max_value=dt.datetime(9999, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
    op=st.sampled_from(["eq", "lt", "ge"]),
)
def test_datetime_literals_round_trip(moment: dt.datetime, op: str) -> None:
    node = Binary(op, Prop(("phenomenonTime",)), Literal(moment))
    assert parse_filter(render(node)) == node


# --- through HTTP ----------------------------------------------------------------------------


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_fuzzed_queries_over_http_give_200_or_400(
    client: TestClient, app: FastAPI, world: World
) -> None:
    dev = make_device(app, world, "fuzz-sta")
    now = int(time.time() * 1000)
    readings = [{"ts": now - i * 60_000, "values": {"pm25": i, "no2": i / 2}} for i in range(5)]
    stored = client.post("/api/v1/telemetry", json=readings, headers=dev.auth())
    assert stored.json()["accepted"] == 10
    auth = bearer(world, "staff1")
    assert client.get(f"{ROOT}/Things", headers=auth).json()["value"]

    @HTTP
    @given(node=conditions)
    def valid_trees_compile(node: Node) -> None:
        response = client.get(f"{ROOT}/Things", params={"$filter": render(node)}, headers=auth)
        body = response.json()
        if response.status_code == 400:
            # SQLite refuses some arithmetic (an integer overflow inside floor(), say): the
            # engine answers that as the client's error, which is the contract.
            assert body["detail"].startswith("the query cannot be evaluated"), body
            return
        assert response.status_code == 200, (render(node), response.text)
        assert isinstance(body["value"], list)

    @HTTP
    @given(
        entity=st.sampled_from(["Things", "Datastreams", "Observations", "Locations"]),
        params=st.dictionaries(option_names, option_values, max_size=3),
    )
    @example(entity="Things", params={"$filter": "a or " * 799 + "a"})
    @example(entity="Things", params={"$top": "²"})
    @example(entity="Observations", params={"$filter": "result add " * 120 + "1 gt 0"})
    @example(entity="Things", params={"$filter": " or ".join(f"id eq {i}" for i in range(100))})
    def fuzzed_options(entity: str, params: dict[str, str]) -> None:
        response = client.get(f"{ROOT}/{entity}", params=params, headers=auth)
        assert response.status_code in (200, 400), (params, response.text)
        body: dict[str, Any] = response.json()
        if response.status_code == 400:
            assert body["status"] == 400
            assert body["detail"]

    valid_trees_compile()
    fuzzed_options()
