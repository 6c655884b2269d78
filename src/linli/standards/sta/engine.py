"""Answer SensorThings reads: resolve a resource path, run the query in SQL, render JSON."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from linli.core.errors import NotFound
from linli.standards.sta.compile import Compiler
from linli.standards.sta.filter import QueryError
from linli.standards.sta.model import ENTITY_TYPES, Context, EntityType, Row, Source
from linli.standards.sta.options import Options

Condition = Callable[[Source], ColumnElement[bool]]
_SEGMENT = re.compile(r"^(?P<name>[A-Za-z$]+)(?:\((?P<id>\d{1,19}|'(?:[^']|'')*')\))?$")


@dataclass
class Target:
    """What a resource path names: a collection, one entity, or one of its properties."""

    et: EntityType
    conditions: list[Condition] = field(default_factory=list)
    single: bool = False
    prop: str | None = None
    raw_value: bool = False
    url: str = ""


def _parse_id(text: str) -> int | str:
    if text.startswith("'"):
        return text[1:-1].replace("''", "'")
    return int(text)


def _link(column: str, value: object) -> Condition:
    return lambda src: src.cols[column] == value


def _id_cond(et: EntityType, raw: int | str) -> Condition:
    def cond(src: Source) -> ColumnElement[bool]:
        return et.id_condition(src, raw)

    return cond


def run(db: Session, stmt: Select[Any]) -> list[Row]:
    """Execute a read; a database refusal of a valid-looking filter is the client's error."""
    try:
        return [dict(r) for r in db.execute(stmt).mappings()]
    except DBAPIError as exc:
        db.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "refused"
        raise QueryError(f"the query cannot be evaluated: {reason}") from None


def count(db: Session, stmt: Select[Any]) -> int:
    try:
        return int(db.scalar(select(func.count()).select_from(stmt.subquery())) or 0)
    except DBAPIError as exc:
        db.rollback()
        reason = str(exc.orig).splitlines()[0] if exc.orig is not None else "refused"
        raise QueryError(f"the query cannot be evaluated: {reason}") from None


class Reader:
    """Reads for one request."""

    def __init__(self, db: Session, ctx: Context) -> None:
        self.db = db
        self.ctx = ctx

    # --- paths ----------------------------------------------------------------------------

    def resolve(self, path: str) -> Target:
        """The target of a path such as ``Things(1)/Datastreams`` or ``Things(1)/name/$value``."""
        segments = [s for s in path.split("/") if s]
        if not segments:
            raise NotFound("no resource path")
        first = _SEGMENT.match(segments[0])
        if first is None or first.group("name") not in ENTITY_TYPES:
            raise NotFound(f"no entity set {segments[0]!r}")
        target = Target(ENTITY_TYPES[first.group("name")])
        target.url = f"{self.ctx.root}/{target.et.plural}"
        if first.group("id"):
            self._select_id(target, first.group("id"), segments[0])
        for index, segment in enumerate(segments[1:], start=1):
            if target.raw_value:
                raise NotFound("nothing follows $value")
            if target.prop is not None:
                if segment != "$value":
                    raise NotFound(f"{target.prop} has no part {segment!r}")
                target.raw_value = True
                continue
            match = _SEGMENT.match(segment)
            if match is None or not target.single:
                raise NotFound(f"cannot resolve {'/'.join(segments[: index + 1])!r}")
            name = match.group("name")
            nav = target.et.navs.get(name)
            if nav is not None:
                row = self.fetch_row(target)
                child = ENTITY_TYPES[nav.target]
                url = f"{target.et.self_link(row, self.ctx)}/{name}"
                target = Target(child, [_link(nav.child_key, row[nav.parent_key])], not nav.many)
                target.url = url
                if match.group("id"):
                    if not nav.many:
                        raise NotFound(f"{name} is a single entity; it takes no id")
                    self._select_id(target, match.group("id"), segment)
                continue
            if name in target.et.properties and not match.group("id"):
                target.prop = name
                continue
            raise NotFound(f"{target.et.plural} have no property or link {name!r}")
        return target

    def _select_id(self, target: Target, raw: str, segment: str) -> None:
        try:
            value = _parse_id(raw)
        except ValueError:
            raise NotFound(f"no entity {segment!r}") from None
        target.conditions.append(_id_cond(target.et, value))
        target.single = True

    def fetch_row(self, target: Target) -> Row:
        src = target.et.source(self.ctx)
        stmt = src.select().where(*[c(src) for c in target.conditions]).limit(1)
        rows = run(self.db, stmt)
        if not rows:
            raise NotFound(f"no such {target.et.singular}")
        return rows[0]

    # --- collections and entities ---------------------------------------------------------

    def collection(self, target: Target, opts: Options, url: str) -> dict[str, object]:
        """A page of a collection with ``@iot.count`` and ``@iot.nextLink`` as asked."""
        rows, total, more = self._page(target.et, target.conditions, opts)
        out: dict[str, object] = {}
        if total is not None:
            out["@iot.count"] = total
        if more:
            out["@iot.nextLink"] = f"{url}?{opts.query_string(skip=opts.skip + opts.top)}"
        out["value"] = [self.entity(target.et, row, opts) for row in rows]
        return out

    def single(self, target: Target, opts: Options) -> dict[str, object]:
        row = self.fetch_row(target)
        return self.entity(target.et, row, opts)

    def _page(
        self, et: EntityType, conditions: list[Condition], opts: Options
    ) -> tuple[list[Row], int | None, bool]:
        src = et.source(self.ctx)
        stmt = src.select().where(*[c(src) for c in conditions])
        compiler = Compiler(self.ctx, et, src)
        if opts.filter is not None:
            stmt = stmt.where(compiler.condition(opts.filter))
        total = count(self.db, stmt) if opts.count else None
        order: list[Any] = []
        for node, descending in opts.orderby:
            order.extend(compiler.order(node, descending=descending))
        order.extend(src.order_key)
        if opts.top == 0:
            return [], total, False
        rows = run(self.db, stmt.order_by(*order).offset(opts.skip).limit(opts.top + 1))
        return rows[: opts.top], total, len(rows) > opts.top

    def entity(self, et: EntityType, row: Row, opts: Options) -> dict[str, object]:
        """One entity as JSON: id and links, its (selected) properties, and expansions."""
        chosen = set(opts.select) if opts.select is not None else None
        if chosen is not None:
            allowed = set(et.properties) | set(et.navs) | {"id", "@iot.id", "@iot.selfLink"}
            unknown = sorted(chosen - allowed)
            if unknown:
                raise QueryError(f"$select: {et.plural} have no property {unknown[0]!r}")
        self_link = et.self_link(row, self.ctx)
        out: dict[str, object] = {}
        if chosen is None or chosen & {"id", "@iot.id"}:
            out["@iot.id"] = et.id_of(row)
        if chosen is None or chosen & {"id", "@iot.id", "@iot.selfLink"}:
            out["@iot.selfLink"] = self_link
        for key, value in et.render(row, self.ctx).items():
            if chosen is None or key in chosen:
                out[key] = value
        unknown_nav = sorted(set(opts.expand) - set(et.navs))
        if unknown_nav:
            raise QueryError(f"$expand: {et.plural} have no link {unknown_nav[0]!r}")
        for name in et.navs:
            if name in opts.expand:
                continue
            if chosen is None or name in chosen:
                out[f"{name}@iot.navigationLink"] = f"{self_link}/{name}"
        for name, sub in opts.expand.items():
            nav = et.navs[name]
            child = ENTITY_TYPES[nav.target]
            link = [_link(nav.child_key, row[nav.parent_key])]
            if nav.many:
                rows, total, more = self._page(child, link, sub)
                if total is not None:
                    out[f"{name}@iot.count"] = total
                if more:
                    next_qs = sub.query_string(skip=sub.skip + sub.top)
                    out[f"{name}@iot.nextLink"] = f"{self_link}/{name}?{next_qs}"
                out[name] = [self.entity(child, r, sub) for r in rows]
            else:
                src = child.source(self.ctx)
                stmt = src.select().where(*[c(src) for c in link]).limit(1)
                found = run(self.db, stmt)
                if found:
                    out[name] = self.entity(child, found[0], sub)
        return out

    def property_value(self, target: Target) -> object:
        row = self.fetch_row(target)
        assert target.prop is not None
        return target.et.render(row, self.ctx).get(target.prop)
