"""Compile a parsed ``$filter`` / ``$orderby`` into SQLAlchemy expressions over a source."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Float,
    Integer,
    Numeric,
    String,
    and_,
    case,
    cast,
    false,
    func,
    literal,
    not_,
    or_,
    select,
    true,
)

from linli.core.time import utc_now
from linli.standards.sta.filter import (
    ARITHMETIC,
    COMPARISONS,
    Binary,
    Call,
    Geography,
    Literal,
    Node,
    Prop,
    QueryError,
    TimeOfDay,
    Unary,
    tokenize,
)
from linli.standards.sta.model import (
    ENTITY_TYPES,
    Context,
    EntityType,
    Expr,
    Source,
    Val,
    parse_observation_id,
)

DAY_MS = 86_400_000
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_DATE_PARTS = {
    "year": ("%Y", "year"),
    "month": ("%m", "month"),
    "day": ("%d", "day"),
    "hour": ("%H", "hour"),
    "minute": ("%M", "minute"),
    "second": ("%S", "second"),
}


def _ms(moment: dt.datetime) -> int:
    return (moment - EPOCH) // dt.timedelta(milliseconds=1)


def _lit(kind: str, value: object) -> Val:
    sql_type: Any = {"num": Float if isinstance(value, float) else BigInteger, "str": String}
    if kind == "bool":
        return Val("bool", (true() if value else false(),), value, True)
    if kind == "time":
        return Val("time", (literal(value, BigInteger),), value, True)
    return Val(kind, (literal(value, sql_type[kind]),), value, True)


class Compiler:
    """Turns syntax trees into typed SQL values for one entity set's source."""

    def __init__(self, ctx: Context, et: EntityType, src: Source) -> None:
        self.ctx = ctx
        self.et = et
        self.src = src

    # --- entry points ---------------------------------------------------------------------

    def condition(self, node: Node) -> ColumnElement[bool]:
        val = self.value(node)
        if val.kind != "bool":
            raise QueryError("$filter must be a condition (true or false), not a value")
        return val.expr

    def order(self, node: Node, *, descending: bool) -> list[Any]:
        """Sort keys; empty values sort last in both directions on every database."""
        val = self.value(node)
        if val.kind in ("geo", "null") or val.is_literal:
            raise QueryError("$orderby needs a property or an expression over properties")
        exprs = [val.exprs[0]] if val.kind == "interval" else list(val.exprs)
        keys = [e.desc() if descending else e.asc() for e in exprs]
        if val.kind in ("time", "obsid"):
            return keys  # never empty; a plain key lets the primary key index serve the sort
        return [k.nulls_last() for k in keys]

    # --- values ---------------------------------------------------------------------------

    def value(self, node: Node) -> Val:
        if isinstance(node, Literal):
            return self.literal(node.value)
        if isinstance(node, Prop):
            return self.prop(node.path)
        if isinstance(node, Unary):
            operand = self.value(node.operand)
            if node.op == "not":
                if operand.kind != "bool":
                    raise QueryError("not needs a condition")
                return Val("bool", (not_(operand.expr),))
            if operand.kind != "num":
                raise QueryError("- needs a number")
            if operand.is_literal and isinstance(operand.literal, int | float):
                return _lit("num", -operand.literal)
            return Val("num", (-operand.expr,))
        if isinstance(node, Binary):
            return self.binary(node)
        return self.call(node)

    def literal(self, value: object) -> Val:
        if value is None:
            return Val("null", (literal(None),), None, True)
        if isinstance(value, bool):
            return _lit("bool", value)
        if isinstance(value, int | float):
            return _lit("num", value)
        if isinstance(value, str):
            return _lit("str", value)
        if isinstance(value, dt.datetime):
            return _lit("time", _ms(value))
        if isinstance(value, TimeOfDay):
            return _lit("num", value.ms)
        if isinstance(value, Geography):
            return Val("geolit", (literal(None),), value, True)
        raise QueryError("unsupported literal")

    def prop(self, path: tuple[str, ...]) -> Val:
        key = "/".join(path)
        if key == "@iot.id":
            key = "id"
        found = self.src.props.get(key)
        if found is not None:
            return found
        nav = self.et.navs.get(path[0])
        if nav is None or len(path) < 2:
            raise QueryError(f"{self.et.plural} have no property {key!r}")
        if nav.many:
            raise QueryError(
                f"filtering through the collection {nav.name!r} is not supported; "
                f"filter {nav.target} instead"
            )
        target = ENTITY_TYPES[nav.target]
        if path[1:] in (("id",), ("@iot.id",)) and not target.observation_ids:
            return Val("num", (self.src.cols[nav.parent_key],))
        inner_src = target.source(self.ctx)
        inner = Compiler(self.ctx, target, inner_src).prop(path[1:])
        link = inner_src.cols[nav.child_key] == self.src.cols[nav.parent_key]
        exprs = tuple(
            select(e).select_from(inner_src.froms).where(*inner_src.where, link).scalar_subquery()
            for e in inner.exprs
        )
        return Val(inner.kind, exprs)

    # --- operators ------------------------------------------------------------------------

    def binary(self, node: Binary) -> Val:
        left = self.value(node.left)
        right = self.value(node.right)
        if node.op in ("and", "or"):
            if left.kind != "bool" or right.kind != "bool":
                raise QueryError(f"{node.op} needs conditions on both sides")
            combine = and_ if node.op == "and" else or_
            return Val("bool", (combine(left.expr, right.expr),))
        if node.op in ARITHMETIC:
            return self.arithmetic(node.op, left, right)
        assert node.op in COMPARISONS
        return Val("bool", (self.compare(node.op, left, right),))

    def arithmetic(self, op: str, left: Val, right: Val) -> Val:
        left, right = _numeric_result(left), _numeric_result(right)
        if left.kind != "num" or right.kind != "num":
            raise QueryError(f"{op} needs numbers on both sides")
        a, b = left.expr, right.expr
        if op == "add":
            return Val("num", (a + b,))
        if op == "sub":
            return Val("num", (a - b,))
        if op == "mul":
            return Val("num", (a * b,))
        if right.is_literal and right.literal == 0:
            raise QueryError(f"{op} by zero")
        if op == "div":
            return Val("num", (a / b,))
        if self.ctx.dialect == "sqlite":
            return Val("num", (a % b,))
        return Val("num", (func.mod(cast(a, Numeric), cast(b, Numeric)),))

    def compare(self, op: str, left: Val, right: Val) -> ColumnElement[bool]:
        if right.kind in ("result", "obsid", "interval") and left.kind not in (
            "result",
            "obsid",
            "interval",
        ):
            flipped = {"gt": "lt", "ge": "le", "lt": "gt", "le": "ge"}.get(op, op)
            return self.compare(flipped, right, left)
        if left.kind == "geo" or right.kind in ("geo", "geolit") or left.kind == "geolit":
            raise QueryError("locations are compared with st_within, st_equals or geo.distance")
        if right.kind == "null" or left.kind == "null":
            other = left if right.kind == "null" else right
            if op not in ("eq", "ne"):
                raise QueryError("null can only be compared with eq or ne")
            conds = [e.is_(None) for e in other.exprs] if other.kind != "null" else [true()]
            both = and_(*conds) if other.kind == "result" else conds[0]
            return both if op == "eq" else not_(both)
        if left.kind == "result":
            if right.kind == "str":
                return _op(op, left.exprs[1], right.expr)
            if right.kind == "num":
                return _op(op, left.exprs[0], right.expr)
            if right.kind == "bool":
                return _op(op, left.exprs[1], literal("true" if right.literal else "false"))
            raise QueryError("result is compared with a number or a string")
        if left.kind == "obsid":
            if op not in ("eq", "ne") or not (right.kind == "str" and right.is_literal):
                raise QueryError("Observation ids are compared with eq or ne and a quoted id")
            try:
                ds_id, ts = parse_observation_id(str(right.literal))
            except Exception:
                return false() if op == "eq" else true()
            same = and_(left.exprs[0] == ds_id, left.exprs[1] == ts)
            return same if op == "eq" else not_(same)
        right = self._coerce_time(left, right)
        left = self._coerce_time(right, left)
        if left.kind == "interval":
            if right.kind != "time":
                raise QueryError("a time interval is compared with a date and time")
            start, end = left.exprs
            t = right.expr
            if op == "eq":
                return and_(start == t, end == t)
            if op == "ne":
                return or_(start != t, end != t)
            if op in ("gt", "ge"):
                return _op(op, start, t)
            return _op(op, end, t)
        if left.kind != right.kind:
            raise QueryError(f"cannot compare a {_kind(left)} with a {_kind(right)}")
        if left.kind == "bool" and op not in ("eq", "ne"):
            raise QueryError("true and false are compared with eq or ne")
        return _op(op, left.expr, right.expr)

    def _coerce_time(self, other: Val, val: Val) -> Val:
        """A quoted date and time compared with a time becomes a time."""
        if other.kind in ("time", "interval") and val.kind == "str" and val.is_literal:
            tokens = tokenize(str(val.literal))
            if len(tokens) == 2 and isinstance(tokens[0].value, dt.datetime):
                return _lit("time", _ms(tokens[0].value))
            raise QueryError(f"{val.literal!r} is not a date and time")
        return val

    # --- functions ------------------------------------------------------------------------

    def call(self, node: Call) -> Val:
        name = node.name
        args = [self.value(a) for a in node.args]
        if name in ("now", "mindatetime", "maxdatetime"):
            moment = {
                "now": utc_now(),
                "mindatetime": dt.datetime(1, 1, 1, tzinfo=dt.UTC),
                "maxdatetime": dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
            }[name]
            return _lit("time", _ms(moment))
        if name in ("substringof", "contains", "endswith", "startswith"):
            return self._string_test(name, args)
        if name == "length":
            return Val("num", (func.length(self._str(args[0], name)),))
        if name == "indexof":
            s, t = self._str(args[0], name), self._str(args[1], name)
            if self.ctx.dialect == "sqlite":
                return Val("num", (func.instr(s, t) - 1,))
            return Val("num", (func.strpos(s, t) - 1,))
        if name == "substring":
            s = self._str(args[0], name)
            start = self._num(args[1], name)
            if len(args) == 3:
                count = self._num(args[2], name)
                return Val("str", (func.substr(s, cast(start, Integer) + 1, cast(count, Integer)),))
            return Val("str", (func.substr(s, cast(start, Integer) + 1),))
        if name in ("tolower", "toupper", "trim"):
            fn = {"tolower": func.lower, "toupper": func.upper, "trim": func.trim}[name]
            return Val("str", (fn(self._str(args[0], name)),))
        if name == "concat":
            return Val("str", (self._str(args[0], name).concat(self._str(args[1], name)),))
        if name in _DATE_PARTS:
            return Val("num", (self._date_part(name, self._time(args[0], name)),))
        if name == "fractionalseconds":
            return Val("num", ((self._time(args[0], name) % 1000) / 1000.0,))
        if name == "date":
            t = self._time(args[0], name)
            return Val("time", (t - t % DAY_MS,))
        if name == "time":
            return Val("num", (self._time(args[0], name) % DAY_MS,))
        if name in ("round", "floor", "ceiling"):
            x = self._num(args[0], name)
            fn = {"round": func.round, "floor": func.floor, "ceiling": func.ceil}[name]
            return Val("num", (fn(x),))
        return self._geo_call(name, args)

    def _string_test(self, name: str, args: list[Val]) -> Val:
        if name == "substringof":
            needle_val, hay_val = args[0], args[1]
        else:
            hay_val, needle_val = args[0], args[1]
        hay = self._str(hay_val, name)
        needle = self._str(needle_val, name)
        literal_text = needle_val.literal if needle_val.is_literal else None
        if isinstance(literal_text, str):
            if name == "startswith":
                return Val("bool", (hay.startswith(literal_text, autoescape=True),))
            if name == "endswith":
                return Val("bool", (hay.endswith(literal_text, autoescape=True),))
            return Val("bool", (hay.contains(literal_text, autoescape=True),))
        position = (
            func.instr(hay, needle) if self.ctx.dialect == "sqlite" else func.strpos(hay, needle)
        )
        if name == "startswith":
            return Val("bool", (func.substr(hay, 1, func.length(needle)) == needle,))
        if name == "endswith":
            tail = func.substr(hay, func.length(hay) - func.length(needle) + 1)
            return Val("bool", (tail == needle,))
        return Val("bool", (position > 0,))

    def _date_part(self, name: str, ms: Expr) -> Expr:
        fmt, field_name = _DATE_PARTS[name]
        if self.ctx.dialect == "sqlite":
            seconds = ms / 1000
            return cast(func.strftime(fmt, seconds, "unixepoch"), Integer)
        moment = func.timezone("UTC", func.to_timestamp(ms / 1000.0))
        return cast(func.floor(func.extract(field_name, moment)), Integer)

    def _geo_call(self, name: str, args: list[Val]) -> Val:
        geo, shape = args
        if geo.kind == "geolit" and shape.kind == "geo":
            geo, shape = shape, geo
        if geo.kind != "geo" or shape.kind != "geolit":
            raise QueryError(f"{name} takes a location property and a geography'...' literal")
        assert isinstance(shape.literal, Geography)
        lat, lon = geo.exprs
        g = shape.literal
        if name in ("geo.distance", "st_distance"):
            if g.kind != "POINT":
                raise QueryError(f"{name} measures to a POINT")
            x, y = g.points[0]
            dx, dy = lon - x, lat - y
            return Val("num", (func.sqrt(dx * dx + dy * dy),))
        if g.kind == "POINT":
            x, y = g.points[0]
            same = and_(lon == x, lat == y)
            if name == "st_disjoint":
                return Val("bool", (not_(same),))
            return Val("bool", (same,))
        if name == "st_equals":
            return Val("bool", (false(),))
        inside = _within(lat, lon, g)
        if name == "st_disjoint":
            return Val("bool", (not_(inside),))
        return Val("bool", (inside,))

    # --- argument checks ------------------------------------------------------------------

    def _str(self, val: Val, fn: str) -> Expr:
        if val.kind == "result":
            return val.exprs[1]
        if val.kind != "str":
            raise QueryError(f"{fn} needs text, not a {_kind(val)}")
        return val.expr

    def _num(self, val: Val, fn: str) -> Expr:
        if val.kind == "result":
            return val.exprs[0]
        if val.kind != "num":
            raise QueryError(f"{fn} needs a number, not a {_kind(val)}")
        return val.expr

    def _time(self, val: Val, fn: str) -> Expr:
        if val.kind == "interval":
            return val.exprs[0]
        if val.kind != "time":
            raise QueryError(f"{fn} needs a date and time, not a {_kind(val)}")
        return val.expr


def _within(lat: Expr, lon: Expr, polygon: Geography) -> ColumnElement[bool]:
    """Point in polygon in plain SQL: a bounding-box test, then ray casting over the edges."""
    xs = [p[0] for p in polygon.points]
    ys = [p[1] for p in polygon.points]
    box = and_(lon >= min(xs), lon <= max(xs), lat >= min(ys), lat <= max(ys))
    crossings: list[Expr] = []
    ring = list(polygon.points)
    if ring[0] != ring[-1]:
        ring.append(ring[0])
    for (xi, yi), (xj, yj) in itertools.pairwise(ring):
        if yi == yj:
            continue
        low, high = min(yi, yj), max(yi, yj)
        slope = (xj - xi) / (yj - yi)
        crosses = and_(lat >= low, lat < high, lon < (lat - yi) * slope + xi)
        crossings.append(case((crosses, 1), else_=0))
    if not crossings:
        return false()
    total: Expr = crossings[0]
    for c in crossings[1:]:
        total = total + c
    return and_(box, total % 2 == 1)


def _numeric_result(val: Val) -> Val:
    """A result in arithmetic stands for its numeric value."""
    return Val("num", (val.exprs[0],)) if val.kind == "result" else val


def _op(op: str, a: Expr, b: Expr) -> ColumnElement[bool]:
    result: ColumnElement[bool]
    if op == "eq":
        result = a == b
    elif op == "ne":
        result = a != b
    elif op == "gt":
        result = a > b
    elif op == "ge":
        result = a >= b
    elif op == "lt":
        result = a < b
    else:
        result = a <= b
    return result


def _kind(val: Val) -> str:
    return {
        "num": "number",
        "str": "text",
        "bool": "condition",
        "time": "date and time",
        "interval": "time interval",
        "geo": "location",
        "geolit": "geography",
        "result": "result",
        "obsid": "Observation id",
        "null": "null",
    }.get(val.kind, val.kind)
