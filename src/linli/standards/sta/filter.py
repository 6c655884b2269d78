"""A parser of the OData subset SensorThings uses in ``$filter`` and ``$orderby`` (Pratt style)."""

from __future__ import annotations

import datetime as dt
import math
import re
from dataclasses import dataclass

from linli.core.errors import LinliError

MAX_LENGTH = 4000
MAX_DEPTH = 64
# A chain ``a or b or c ...`` nests its tree one level per operator without any parentheses;
# this bounds the tree's height (counted generously) so that compiling it cannot exhaust the
# stack (a RecursionError found by tests/fuzz).
MAX_HEIGHT = 128


class QueryError(LinliError):
    """A query option that cannot be understood; the message says where."""

    status_code = 400
    code = "bad_query"


@dataclass(frozen=True)
class Literal:
    """A constant: number, string, boolean, null, date/time or a geography."""

    value: object


@dataclass(frozen=True)
class Geography:
    """A WKT POINT or POLYGON (outer ring only), as (x, y) = (longitude, latitude) pairs."""

    kind: str
    points: tuple[tuple[float, float], ...]


@dataclass(frozen=True)
class TimeOfDay:
    """A time literal (``12:30:00``), as milliseconds after midnight."""

    ms: int


@dataclass(frozen=True)
class Prop:
    """A property, possibly reached through to-one navigations (``Datastream/name``)."""

    path: tuple[str, ...]


@dataclass(frozen=True)
class Unary:
    """``not x`` or ``-x``."""

    op: str
    operand: Node


@dataclass(frozen=True)
class Binary:
    """A comparison, logical or arithmetic operator applied to two operands."""

    op: str
    left: Node
    right: Node


@dataclass(frozen=True)
class Call:
    """A function call such as ``substringof('a', name)`` or ``geo.distance(location, ...)``."""

    name: str
    args: tuple[Node, ...]


Node = Literal | Prop | Unary | Binary | Call

COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
ARITHMETIC = frozenset({"add", "sub", "mul", "div", "mod"})
# Binding powers: or < and < eq/ne < gt/ge/lt/le < add/sub < mul/div/mod < not/negation.
BINDING = {
    "or": 10,
    "and": 20,
    "eq": 30,
    "ne": 30,
    "gt": 35,
    "ge": 35,
    "lt": 35,
    "le": 35,
    "add": 40,
    "sub": 40,
    "mul": 50,
    "div": 50,
    "mod": 50,
}
NOT_BINDING = 25  # ``not a eq 1 and b`` is ``(not (a eq 1)) and b``
NEG_BINDING = 60

FUNCTIONS: dict[str, tuple[int, int]] = {
    "substringof": (2, 2),
    "endswith": (2, 2),
    "startswith": (2, 2),
    "contains": (2, 2),
    "length": (1, 1),
    "indexof": (2, 2),
    "substring": (2, 3),
    "tolower": (1, 1),
    "toupper": (1, 1),
    "trim": (1, 1),
    "concat": (2, 2),
    "year": (1, 1),
    "month": (1, 1),
    "day": (1, 1),
    "hour": (1, 1),
    "minute": (1, 1),
    "second": (1, 1),
    "fractionalseconds": (1, 1),
    "date": (1, 1),
    "time": (1, 1),
    "now": (0, 0),
    "mindatetime": (0, 0),
    "maxdatetime": (0, 0),
    "round": (1, 1),
    "floor": (1, 1),
    "ceiling": (1, 1),
    "geo.distance": (2, 2),
    "st_distance": (2, 2),
    "st_within": (2, 2),
    "st_intersects": (2, 2),
    "geo.intersects": (2, 2),
    "st_contains": (2, 2),
    "st_equals": (2, 2),
    "st_disjoint": (2, 2),
}

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<geo>geography'(?P<geobody>[^']*)')
  | (?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<date>\d{4}-\d{2}-\d{2})
  | (?P<time>\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?)
  | (?P<number>-?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][+-]?\d+)?)
  | (?P<string>'(?:[^']|'')*')
  | (?P<name>@?[A-Za-z_][A-Za-z0-9_.]*(?:/[A-Za-z_@][A-Za-z0-9_.@]*)*)
  | (?P<punct>[(),])
  | (?P<minus>-)
    """,
    re.VERBOSE,
)


@dataclass(frozen=True)
class Token:
    """One lexical unit with its position in the text (for error messages)."""

    kind: str
    text: str
    pos: int
    value: object = None


def _parse_datetime(text: str, pos: int) -> dt.datetime:
    try:
        value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise QueryError(f"not a valid date and time at position {pos}: {text}") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC)


_WKT = re.compile(
    r"^\s*(POINT|POLYGON)\s*\(\s*(\(?)([-0-9.eE\s,]+)(\)?)\s*\)\s*$",
    re.IGNORECASE,
)


def parse_wkt(body: str, pos: int = 0) -> Geography:
    """A WKT POINT or single-ring POLYGON as longitude/latitude pairs."""
    match = _WKT.match(body)
    if not match:
        raise QueryError(f"only POINT and POLYGON geographies are supported (position {pos})")
    kind = match.group(1).upper()
    points: list[tuple[float, float]] = []
    for pair in match.group(3).split(","):
        parts = pair.split()
        if len(parts) != 2:
            raise QueryError(f"a coordinate needs two numbers (position {pos})")
        try:
            x, y = float(parts[0]), float(parts[1])
        except ValueError:
            raise QueryError(f"not a number in a coordinate (position {pos})") from None
        if not (-180 <= x <= 180 and -90 <= y <= 90):
            raise QueryError(f"coordinate out of range (position {pos})")
        points.append((x, y))
    if kind == "POINT" and (len(points) != 1 or match.group(2)):
        raise QueryError(f"a POINT has one coordinate pair (position {pos})")
    if kind == "POLYGON" and (len(points) < 4 or not match.group(2)):
        raise QueryError(f"a POLYGON ring needs at least four points (position {pos})")
    return Geography(kind, tuple(points))


def tokenize(text: str) -> list[Token]:
    """Split a query option into tokens; unknown characters are an error."""
    if len(text) > MAX_LENGTH:
        raise QueryError(f"the expression is longer than {MAX_LENGTH} characters")
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise QueryError(f"unexpected character {text[pos]!r} at position {pos}")
        kind = match.lastgroup or ""
        raw = match.group(0)
        if kind == "geobody":
            kind = "geo"
        if kind == "ws":
            pos = match.end()
            continue
        value: object = None
        if kind == "geo":
            value = parse_wkt(match.group("geobody"), pos)
        elif kind == "datetime":
            value = _parse_datetime(raw, pos)
        elif kind == "date":
            value = _parse_datetime(raw + "T00:00:00Z", pos)
        elif kind == "time":
            hh, mm, ss = raw.split(":")
            if int(hh) > 23 or int(mm) > 59 or float(ss) >= 60:
                raise QueryError(f"not a valid time at position {pos}: {raw}")
            value = TimeOfDay(int((int(hh) * 3600 + int(mm) * 60 + float(ss)) * 1000))
        elif kind == "number":
            is_float = any(c in raw for c in ".eE")
            try:
                value = float(raw) if is_float else int(raw)
            except (ValueError, OverflowError):
                raise QueryError(f"not a valid number at position {pos}: {raw}") from None
            if isinstance(value, float) and not math.isfinite(value):
                raise QueryError(f"not a finite number at position {pos}")
            if isinstance(value, int) and abs(value) > 2**63 - 1:
                raise QueryError(f"number too large at position {pos}")
        elif kind == "string":
            value = raw[1:-1].replace("''", "'")
        tokens.append(Token(kind, raw, pos, value))
        pos = match.end()
    tokens.append(Token("end", "", len(text)))
    return tokens


class Parser:
    """Recursive descent with operator precedence (Pratt) over the tokens of one expression."""

    def __init__(self, text: str) -> None:
        self.tokens = tokenize(text)
        self.index = 0
        self.depth = 0
        self.height = 0

    @property
    def current(self) -> Token:
        return self.tokens[self.index]

    def advance(self) -> Token:
        token = self.tokens[self.index]
        if token.kind != "end":
            self.index += 1
        return token

    def expect(self, text: str) -> None:
        token = self.advance()
        if token.text != text:
            found = token.text or "the end"
            raise QueryError(f"expected {text!r} at position {token.pos}, found {found!r}")

    def _operator(self) -> str | None:
        token = self.current
        if token.kind == "name" and token.text in BINDING:
            return token.text
        return None

    def _grow(self) -> None:
        self.height += 1
        if self.height > MAX_HEIGHT:
            raise QueryError("the expression is nested too deeply")

    def expression(self, min_binding: int = 0) -> Node:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise QueryError("the expression is nested too deeply")
        self._grow()
        grown = 1
        left = self.prefix()
        while True:
            op = self._operator()
            if op is None or BINDING[op] <= min_binding:
                break
            self.advance()
            self._grow()  # each operator of a chain puts the tree so far one level deeper
            grown += 1
            right = self.expression(BINDING[op])
            left = Binary(op, left, right)
        self.depth -= 1
        self.height -= grown
        return left

    def prefix(self) -> Node:
        token = self.advance()
        if token.kind == "end":
            raise QueryError("the expression ends too early")
        if token.kind == "punct" and token.text == "(":
            inner = self.expression()
            self.expect(")")
            return inner
        if token.kind == "minus":
            return Unary("-", self.expression(NEG_BINDING))
        if token.kind in ("number", "string", "datetime", "date", "geo"):
            return Literal(token.value)
        if token.kind == "time":
            return Literal(token.value)
        if token.kind != "name":
            raise QueryError(f"unexpected {token.text!r} at position {token.pos}")
        word = token.text
        if word == "not":
            return Unary("not", self.expression(NOT_BINDING))
        if word in ("true", "false"):
            return Literal(word == "true")
        if word == "null":
            return Literal(None)
        if word in BINDING:
            raise QueryError(f"operator {word!r} at position {token.pos} has no left operand")
        if self.current.text == "(" and self.current.kind == "punct":
            return self.call(word, token.pos)
        return Prop(tuple(word.split("/")))

    def call(self, name: str, pos: int) -> Node:
        lowered = name.lower()
        if lowered not in FUNCTIONS:
            raise QueryError(f"unknown function {name!r} at position {pos}")
        self.expect("(")
        args: list[Node] = []
        if not (self.current.kind == "punct" and self.current.text == ")"):
            args.append(self.expression())
            while self.current.kind == "punct" and self.current.text == ",":
                self.advance()
                args.append(self.expression())
        self.expect(")")
        low, high = FUNCTIONS[lowered]
        if not low <= len(args) <= high:
            raise QueryError(f"{name} takes {low if low == high else f'{low} to {high}'} arguments")
        return Call(lowered, tuple(args))

    def finish(self) -> None:
        token = self.current
        if token.kind != "end":
            raise QueryError(f"unexpected {token.text!r} at position {token.pos}")


def parse_filter(text: str) -> Node:
    """The syntax tree of a ``$filter`` expression."""
    if not text.strip():
        raise QueryError("$filter is empty")
    parser = Parser(text)
    node = parser.expression()
    parser.finish()
    return node


def parse_orderby(text: str) -> list[tuple[Node, bool]]:
    """``$orderby`` as (expression, descending) pairs, in order."""
    if not text.strip():
        raise QueryError("$orderby is empty")
    parser = Parser(text)
    keys: list[tuple[Node, bool]] = []
    while True:
        node = parser.expression()
        descending = False
        token = parser.current
        if token.kind == "name" and token.text.lower() in ("asc", "desc"):
            descending = token.text.lower() == "desc"
            parser.advance()
        keys.append((node, descending))
        if parser.current.kind == "punct" and parser.current.text == ",":
            parser.advance()
            continue
        break
    parser.finish()
    return keys
