"""Query options ($filter, $orderby, $top, $skip, $count, $select, $expand), parsed and checked."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode

from linli.standards.sta.filter import Node, QueryError, parse_filter, parse_orderby

DEFAULT_TOP = 100
MAX_TOP = 1000
MAX_SKIP = 10_000_000
MAX_EXPAND_DEPTH = 5
KNOWN = ("$filter", "$orderby", "$top", "$skip", "$count", "$select", "$expand", "$resultFormat")


@dataclass
class Options:
    """The query options of one collection or expanded navigation."""

    filter: Node | None = None
    orderby: list[tuple[Node, bool]] = field(default_factory=list)
    top: int = DEFAULT_TOP
    skip: int = 0
    count: bool = False
    select: list[str] | None = None
    expand: dict[str, Options] = field(default_factory=dict)
    raw: dict[str, str] = field(default_factory=dict)

    def query_string(self, *, skip: int) -> str:
        """These options as a query string, with ``$skip`` replaced (for ``@iot.nextLink``)."""
        params = {k: v for k, v in self.raw.items() if k not in ("$skip", "$top")}
        params["$top"] = str(self.top)
        params["$skip"] = str(skip)
        return urlencode(params, safe="$(),;='/:", quote_via=quote)


def _int(name: str, text: str, high: int) -> int:
    digits = text.strip()
    # isdigit() alone lets through "²" and other digits int() refuses (found by tests/fuzz).
    if not (digits.isascii() and digits.isdigit()):
        raise QueryError(f"{name} must be a whole number ≥ 0, not {text[:40]!r}")
    if len(digits.lstrip("0")) > len(str(high)):
        raise QueryError(f"{name} may be at most {high}")
    value = int(digits)
    if value > high:
        raise QueryError(f"{name} may be at most {high}")
    return value


def split_top(text: str, sep: str) -> list[str]:
    """Split at ``sep`` outside parentheses and quotes."""
    parts: list[str] = []
    depth = 0
    quoted = False
    start = 0
    for i, ch in enumerate(text):
        if ch == "'":
            quoted = not quoted
        elif quoted:
            continue
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth < 0:
                raise QueryError("unbalanced parentheses")
        elif ch == sep and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    if depth != 0 or quoted:
        raise QueryError("unbalanced parentheses or quotes")
    parts.append(text[start:])
    return parts


def parse_options(params: Mapping[str, str], *, depth: int = 0) -> Options:
    """Options from ``$name=value`` pairs; unknown ``$`` options are an error."""
    if depth > MAX_EXPAND_DEPTH:
        raise QueryError(f"$expand may nest at most {MAX_EXPAND_DEPTH} levels")
    opts = Options()
    for key, value in params.items():
        if not key.startswith("$"):
            continue
        if key not in KNOWN:
            raise QueryError(f"unknown query option {key}")
        opts.raw[key] = value
        if key == "$filter":
            opts.filter = parse_filter(value)
        elif key == "$orderby":
            opts.orderby = parse_orderby(value)
        elif key == "$top":
            opts.top = _int("$top", value, MAX_TOP)
        elif key == "$skip":
            opts.skip = _int("$skip", value, MAX_SKIP)
        elif key == "$count":
            if value not in ("true", "false"):
                raise QueryError("$count is true or false")
            opts.count = value == "true"
        elif key == "$select":
            names = [n.strip() for n in value.split(",")]
            if not all(names):
                raise QueryError("$select lists property names separated by commas")
            opts.select = names
        elif key == "$expand":
            opts.expand = parse_expand(value, depth=depth + 1)
        elif key == "$resultFormat" and value != "default":
            raise QueryError("only the default $resultFormat is supported (no dataArray)")
    return opts


def parse_expand(text: str, *, depth: int) -> dict[str, Options]:
    """``Nav($select=..;$expand=..),Nav/Nav2`` as options per navigation property."""
    if depth > MAX_EXPAND_DEPTH:
        raise QueryError(f"$expand may nest at most {MAX_EXPAND_DEPTH} levels")
    result: dict[str, Options] = {}
    for item in split_top(text, ","):
        item = item.strip()
        if not item:
            raise QueryError("$expand has an empty item")
        inner: dict[str, str] = {}
        head = item
        if "(" in item:
            head, _, rest = item.partition("(")
            if not rest.endswith(")"):
                raise QueryError(f"$expand item {item!r} does not end with ')'")
            for opt in split_top(rest[:-1], ";"):
                opt = opt.strip()
                if not opt:
                    continue
                name, eq, value = opt.partition("=")
                if not eq or not name.strip().startswith("$"):
                    raise QueryError(f"expected $option=value in $expand, found {opt!r}")
                inner[name.strip()] = value
        path = [p.strip() for p in head.split("/")]
        if not all(p.isidentifier() for p in path):
            raise QueryError(f"$expand names a navigation property, not {head!r}")
        first, rest_path = path[0], path[1:]
        if rest_path:
            nested_text = "/".join(rest_path)
            if inner:
                nested_text += "(" + ";".join(f"{k}={v}" for k, v in inner.items()) + ")"
            nested = Options()
            nested.expand = parse_expand(nested_text, depth=depth + 1)
            nested.raw["$expand"] = nested_text
            _merge(result, first, nested)
        else:
            _merge(result, first, parse_options(inner, depth=depth))
    return result


def _merge(into: dict[str, Options], name: str, opts: Options) -> None:
    existing = into.get(name)
    if existing is None:
        into[name] = opts
        return
    for key, value in opts.expand.items():
        _merge(existing.expand, key, value)
    merged = ",".join(x for x in (existing.raw.get("$expand"), opts.raw.get("$expand")) if x)
    if merged:
        existing.raw["$expand"] = merged
