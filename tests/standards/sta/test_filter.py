"""Unit tests of the $filter / $orderby parser: precedence, literals and errors."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from linli.standards.sta.filter import (
    Binary,
    Call,
    Geography,
    Literal,
    Prop,
    QueryError,
    Unary,
    parse_filter,
    parse_orderby,
)


def test_and_binds_tighter_than_or() -> None:
    node = parse_filter("a eq 1 or b eq 2 and c eq 3")
    assert isinstance(node, Binary)
    assert node.op == "or"
    assert isinstance(node.right, Binary)
    assert node.right.op == "and"


def test_arithmetic_precedence_and_left_associativity() -> None:
    node = parse_filter("result add 2 mul 3 sub 1 gt 10")
    assert isinstance(node, Binary)
    assert node.op == "gt"
    left = node.left
    assert isinstance(left, Binary)
    assert left.op == "sub"
    assert isinstance(left.left, Binary)
    assert left.left.op == "add"
    assert left.left.right == Binary("mul", Literal(2), Literal(3))


def test_not_covers_one_comparison_and_parentheses_group() -> None:
    node = parse_filter("not a eq 1 and b eq 2")
    assert isinstance(node, Binary)
    assert node.op == "and"
    assert node.left == Unary("not", Binary("eq", Prop(("a",)), Literal(1)))
    grouped = parse_filter("(a eq 1 or b eq 2) and c eq 3")
    assert isinstance(grouped, Binary)
    assert grouped.op == "and"
    assert isinstance(grouped.left, Binary)
    assert grouped.left.op == "or"


def test_literals() -> None:
    node = parse_filter("phenomenonTime ge 2024-01-02T03:04:05.5+08:00")
    assert isinstance(node, Binary)
    assert isinstance(node.right, Literal)
    assert node.right.value == dt.datetime(2024, 1, 1, 19, 4, 5, 500000, tzinfo=dt.UTC)
    text = parse_filter("name eq 'it''s'")
    assert isinstance(text, Binary)
    assert text.right == Literal("it's")
    negative = parse_filter("result gt -1.5e2")
    assert isinstance(negative, Binary)
    assert negative.right == Literal(-150.0)
    path = parse_filter("Datastream/Thing/name eq null")
    assert isinstance(path, Binary)
    assert path.left == Prop(("Datastream", "Thing", "name"))


def test_functions_and_geography() -> None:
    node = parse_filter("geo.distance(location, geography'POINT(116.4 39.9)') lt 0.1")
    assert isinstance(node, Binary)
    assert isinstance(node.left, Call)
    assert node.left.name == "geo.distance"
    arg = node.left.args[1]
    assert isinstance(arg, Literal)
    assert arg.value == Geography("POINT", ((116.4, 39.9),))
    within = parse_filter("st_within(location, geography'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))')")
    assert isinstance(within, Call)
    assert len(within.args) == 2
    assert parse_filter("startswith(tolower(name), 'air')") == Call(
        "startswith", (Call("tolower", (Prop(("name",)),)), Literal("air"))
    )


def test_orderby_keys() -> None:
    keys = parse_orderby("phenomenonTime desc, result, name asc")
    assert [(k, d) for k, d in keys] == [
        (Prop(("phenomenonTime",)), True),
        (Prop(("result",)), False),
        (Prop(("name",)), False),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("name eq", "ends too early"),
        ("name eq 'x", "unexpected character"),
        ("(name eq 'x'", "expected ')'"),
        ("name eq 'x')", "unexpected ')'"),
        ("frobnicate(name)", "unknown function"),
        ("substring(name)", "takes 2 to 3 arguments"),
        ("eq 1", "no left operand"),
        ("name eq 2024-13-01T00:00:00Z", "not a valid date"),
        ("st_within(location, geography'LINESTRING(0 0, 1 1)')", "only POINT and POLYGON"),
        ("a eq 1 " * 700, "longer than"),
        ("(" * 100 + "a eq 1" + ")" * 100, "nested too deeply"),
    ],
)
def test_errors_are_clear(text: str, message: str) -> None:
    with pytest.raises(QueryError, match=re.escape(message)):
        parse_filter(text)
