"""Routes of the SensorThings API 1.1 at ``/sta/v1.1``."""

from __future__ import annotations

import html
import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from linli.core.actor import Actor
from linli.core.errors import NotFound, ValidationFailed
from linli.core.validation import MAX_ID
from linli.standards.sta import tables, writes
from linli.standards.sta.auth import sta_actor, unauthorized
from linli.standards.sta.engine import Reader
from linli.standards.sta.model import ENTITY_TYPES, Context, format_id
from linli.standards.sta.options import parse_options
from linli.web.deps import Db, PathId

PREFIX = "/sta/v1.1"
MAX_BODY = 1_000_000
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
]

router = APIRouter(tags=["sensorthings"])
StaActor = Annotated[Actor, Depends(sta_actor)]


def _context(request: Request, db: Db, actor: Actor) -> Context:
    site = str(request.base_url).rstrip("/")
    return Context(actor=actor, dialect=db.get_bind().dialect.name, root=site + PREFIX)


@router.get(PREFIX, include_in_schema=False)
@router.get(PREFIX + "/")
def service_root(request: Request) -> JSONResponse:
    """The service root: the entity sets and the conformance classes served."""
    root = str(request.base_url).rstrip("/") + PREFIX
    return JSONResponse(
        {
            "value": [{"name": name, "url": f"{root}/{name}"} for name in ENTITY_TYPES],
            "serverSettings": {"conformance": CONFORMANCE},
        }
    )


@router.get(PREFIX + "/sensor-descriptions/{sensor_id}", response_class=HTMLResponse)
def sensor_description(db: Db, sensor_id: PathId) -> HTMLResponse:
    """The human-readable description a Sensor's ``metadata`` links to."""
    profile = db.get(tables.DeviceProfile, sensor_id)
    if profile is None:
        raise NotFound("no such Sensor")
    keys = ", ".join(html.escape(k) for k in profile.properties)
    body = (
        f"<!doctype html><html lang=en><meta charset=utf-8><title>{html.escape(profile.name)}"
        f"</title><h1>{html.escape(profile.name)} ({html.escape(profile.code)})</h1>"
        f"<p>{html.escape(profile.description or profile.name_zh)}</p>"
        f"<p>Observes: {keys}. Reports every {profile.expected_interval_s} s.</p></html>"
    )
    return HTMLResponse(body)


@router.get(PREFIX + "/{path:path}")
def read(request: Request, db: Db, actor: StaActor, path: str) -> Response:
    """Any read: a collection, an entity, a navigation, a property or its ``$value``."""
    ctx = _context(request, db, actor)
    reader = Reader(db, ctx)
    target = reader.resolve(path)
    opts = parse_options(dict(request.query_params))
    if target.prop is not None:
        value = reader.property_value(target)
        if target.raw_value:
            text = value if isinstance(value, str) else json.dumps(value)
            return PlainTextResponse("" if value is None else text)
        return JSONResponse({target.prop: value})
    if target.single:
        return JSONResponse(reader.single(target, opts))
    url = f"{ctx.root}/{path.strip('/')}"
    return JSONResponse(reader.collection(target, opts, url))


async def _json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if len(raw) > MAX_BODY:
        raise ValidationFailed(f"the body is larger than {MAX_BODY} bytes")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ValidationFailed("the body is not JSON") from None
    if not isinstance(body, dict):
        raise ValidationFailed("the body must be a JSON object")
    return body


@router.post(PREFIX + "/{path:path}")
async def create(request: Request, db: Db, actor: StaActor, path: str) -> Response:
    """Create an Observation (of a Datastream) or, for device admins, a Thing with Datastreams."""
    if actor.is_anonymous:
        raise unauthorized("creating entities needs HTTP Basic credentials or an API key")
    body = await _json_body(request)
    root = str(request.base_url).rstrip("/") + PREFIX
    segments = [s for s in path.split("/") if s]
    if segments == ["Observations"] or (
        len(segments) == 2
        and segments[1] == "Observations"
        and segments[0].startswith("Datastreams(")
    ):
        path_ds: int | None = None
        if len(segments) == 2:
            inner = segments[0][len("Datastreams(") : -1]
            if not inner.isdigit() or not 1 <= int(inner) <= MAX_ID:
                raise NotFound("no such Datastream")
            path_ds = int(inner)
        ds_id = writes.observation_datastream(body, path_ds)

        def store() -> tuple[int, int]:
            return writes.create_observation(db, actor, body, datastream_id=ds_id)

        key = await run_in_threadpool(store)
        location = f"{root}/Observations({format_id(f'{key[0]}-{key[1]}')})"
        return await run_in_threadpool(_created, request, db, actor, location, path_of(location))
    if segments == ["Things"]:

        def register() -> int:
            thing_id = writes.create_thing(db, actor, body)
            db.commit()
            return thing_id

        thing_id = await run_in_threadpool(register)
        location = f"{root}/Things({thing_id})"
        return await run_in_threadpool(_created, request, db, actor, location, path_of(location))
    raise ValidationFailed(
        "only Observations (also under Datastreams(n)/Observations) and Things can be created"
    )


def path_of(location: str) -> str:
    return location.split(PREFIX + "/", 1)[1]


def _created(request: Request, db: Db, actor: Actor, location: str, path: str) -> Response:
    ctx = _context(request, db, actor)
    reader = Reader(db, ctx)
    entity = reader.single(reader.resolve(path), parse_options({}))
    return JSONResponse(entity, status_code=201, headers={"Location": location})
