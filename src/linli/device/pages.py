"""Console pages of the device registry: list, register one, import a sheet, device details."""

from __future__ import annotations

import base64
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.core import i18n
from linli.core.actor import Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.device import importer, service
from linli.device.schemas import Connection, DeviceCreate, DeviceIssued, DeviceSummary
from linli.place import service as place_service
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 25
PLACE_KINDS = ("community", "compound", "building", "unit")
CONNECTIONS: tuple[Connection, ...] = ("online", "offline", "disabled")
NO_STORE = {"Cache-Control": "no-store"}


def _require_view(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_view_devices(actor):
        raise PermissionDenied("your role cannot see devices")


def _require_manage(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_register_devices(actor):
        raise PermissionDenied("your role cannot register devices")


def _place_options(db: Session, paths: list[str]) -> list[tuple[int, str]]:
    places = place_service.under(db, paths, kinds=PLACE_KINDS)
    return [(p.id, place_service.label(db, p, from_kind="community")) for p in places]


def _profile_options(db: Session) -> list[tuple[str, str]]:
    zh = shell_locale_is_zh()
    return [(p.code, p.name_zh if zh and p.name_zh else p.name) for p in service.profiles(db)]


def shell_locale_is_zh() -> bool:
    """Whether the page is being rendered in Chinese (to pick catalogue names)."""
    return i18n.get_locale().startswith("zh")


@router.get("/console/devices")
def device_list(
    request: Request,
    db: Db,
    actor: LoggedIn,
    place_id: Annotated[str, Query(max_length=12)] = "",
    profile: Annotated[str, Query(max_length=64)] = "",
    connection: Annotated[str, Query(max_length=16)] = "",
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
) -> Response:
    """Devices of the actor's places with status and last reading, filtered by place or kind."""
    _require_view(actor)
    places = _place_options(db, service.viewable_place_paths(actor))
    profiles = _profile_options(db)
    errors: dict[str, str] = {}
    place_filter: int | None = None
    if place_id:
        if place_id.isdigit() and int(place_id) in {pid for pid, _label in places}:
            place_filter = int(place_id)
        else:
            errors["place_id"] = _("Choose one of the places in the list.")
    if profile and profile not in {code for code, _label in profiles}:
        errors["profile"] = _("Choose one of the kinds of device in the list.")
    status: Connection | None = None
    for option in CONNECTIONS:
        if connection == option:
            status = option
    if connection and status is None:
        errors["connection"] = _("Choose one of the statuses in the list.")
    params = PageParams(page=page, size=PAGE_SIZE)
    items: list[DeviceSummary] = []
    total = 0
    if not errors:
        items, total = service.list_devices(
            db,
            actor,
            params=params,
            place_id=place_filter,
            profile=profile or None,
            connection=status,
        )
    return view(
        request,
        "device/list.html",
        {
            "items": items,
            "pager": shell.pager(request, params, total),
            "places": places,
            "profiles": profiles,
            "place_id": place_id,
            "profile": profile,
            "connection": connection,
            "errors": errors,
            "filtered": bool(place_id or profile or connection),
            "can_register": service.may_register_devices(actor),
            "zh": shell_locale_is_zh(),
        },
        status_code=422 if errors else 200,
    )


def _new_form(
    request: Request, db: Session, actor: Actor, *, status_code: int = 200, **extra: Any
) -> Response:
    ctx: dict[str, Any] = {
        "places": _place_options(db, service.manageable_place_paths(actor)),
        "profiles": _profile_options(db),
        "form": {},
        "errors": {},
    }
    ctx.update(extra)
    return view(request, "device/new.html", ctx, status_code=status_code)


@router.get("/console/devices/new")
def device_new(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The form to register one device."""
    _require_manage(actor)
    return _new_form(request, db, actor)


@router.post("/console/devices/new")
def device_create(
    request: Request,
    db: Db,
    actor: LoggedIn,
    uid: Annotated[str, Form(max_length=200)] = "",
    name: Annotated[str, Form(max_length=400)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
    profile: Annotated[str, Form(max_length=64)] = "",
    latitude: Annotated[str, Form(max_length=40)] = "",
    longitude: Annotated[str, Form(max_length=40)] = "",
    firmware: Annotated[str, Form(max_length=200)] = "",
    is_public: Annotated[str, Form(max_length=4)] = "",
) -> Response:
    """Register one device and show its token once."""
    _require_manage(actor)
    form = {
        "uid": uid,
        "name": name,
        "place_id": place_id,
        "profile": profile,
        "latitude": latitude,
        "longitude": longitude,
        "firmware": firmware,
        "is_public": is_public == "1",
    }
    messages = {
        "uid": _("Use 1 to 64 letters, digits, '_', '.' or '-', for example AQ-001."),
        "name": _("Enter a name, for example Air station by the east gate."),
        "place_id": _("Choose where the device is."),
        "profile": _("Choose what kind of device it is."),
        "latitude": _("Enter the latitude in decimal degrees (-90 to 90), or leave it empty."),
        "longitude": _("Enter the longitude in decimal degrees (-180 to 180), or leave it empty."),
        "firmware": _("Firmware is at most 64 characters."),
        "": _("Check the form."),
    }
    try:
        data = DeviceCreate.model_validate(
            {
                "uid": uid.strip(),
                "name": name.strip(),
                "place_id": place_id or None,
                "profile": profile,
                "latitude": latitude.strip() or None,
                "longitude": longitude.strip() or None,
                "firmware": firmware.strip(),
                "is_public": is_public == "1",
            }
        )
    except ValidationError as exc:
        errors = shell.field_errors(exc, messages)
        return _new_form(request, db, actor, status_code=422, form=form, errors=errors)
    try:
        issued = service.register(db, actor, data)
    except LinliError as exc:
        field = {409: "uid", 403: "place_id"}.get(exc.status_code, "profile")
        errors = {field: _(exc.message)}
        return _new_form(request, db, actor, status_code=exc.status_code, form=form, errors=errors)
    db.commit()
    return view(
        request, "device/issued.html", {"issued": [issued], "again": True}, headers=NO_STORE
    )


@router.get("/console/devices/import")
def device_import_form(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The form to upload a CSV sheet of devices."""
    _require_manage(actor)
    return view(request, "device/import.html", {"errors": [], "columns": importer.COLUMNS})


@router.post("/console/devices/import")
async def device_import(
    request: Request,
    db: Db,
    actor: LoggedIn,
    sheet: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Check a sheet; if every row is right, register them all and offer the tokens once."""
    _require_manage(actor)
    raw = await sheet.read(importer.MAX_BYTES + 1) if sheet is not None else b""
    if not raw:
        errors = [importer.RowError(0, "", importer.N_("Choose a CSV file to upload."))]
        return view(
            request,
            "device/import.html",
            {"errors": errors, "columns": importer.COLUMNS},
            status_code=422,
        )
    return await run_in_threadpool(_import_sync, request, db, actor, raw)


def _import_sync(request: Request, db: Session, actor: Actor, raw: bytes) -> Response:
    report = importer.check(db, actor, raw)
    if report.errors:
        return view(
            request,
            "device/import.html",
            {"errors": report.errors, "columns": importer.COLUMNS},
            status_code=422,
        )
    issued: list[DeviceIssued] = importer.apply(db, actor, report)
    db.commit()
    csv_text = importer.tokens_csv(issued)
    href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(
        ("\ufeff" + csv_text).encode()
    ).decode("ascii")
    return view(
        request,
        "device/issued.html",
        {"issued": issued, "download": href, "again": False},
        headers=NO_STORE,
    )


def _detail(request: Request, db: Session, actor: Actor, device_id: int, **extra: Any) -> Response:
    device = service.get_device(db, actor, device_id)
    streams = service.datastreams(db, actor, device_id)
    ctx: dict[str, Any] = {
        "d": device,
        "datastreams": streams,
        "can_manage": service.may_manage_device(db, actor, device_id),
        "zh": shell_locale_is_zh(),
        "done": "",
    }
    ctx.update(extra)
    return view(request, "device/detail.html", ctx)


@router.get("/console/devices/{device_id}")
def device_detail(
    request: Request,
    db: Db,
    actor: LoggedIn,
    device_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """One device: where it is, its status, its datastreams with their latest values."""
    _require_view(actor)
    return _detail(request, db, actor, device_id, done=done)


@router.post("/console/devices/{device_id}/disable")
def device_disable(request: Request, db: Db, actor: LoggedIn, device_id: PathId) -> Response:
    """Stop accepting the device's readings."""
    _require_view(actor)
    service.set_enabled(db, actor, device_id, enabled=False)
    db.commit()
    return RedirectResponse(f"/console/devices/{device_id}?done=disabled", status_code=303)


@router.post("/console/devices/{device_id}/enable")
def device_enable(request: Request, db: Db, actor: LoggedIn, device_id: PathId) -> Response:
    """Accept the device's readings again."""
    _require_view(actor)
    service.set_enabled(db, actor, device_id, enabled=True)
    db.commit()
    return RedirectResponse(f"/console/devices/{device_id}?done=enabled", status_code=303)


@router.post("/console/devices/{device_id}/token")
def device_rotate(request: Request, db: Db, actor: LoggedIn, device_id: PathId) -> Response:
    """Issue a new token and show it once; the old token stops working."""
    _require_view(actor)
    issued = service.rotate_token(db, actor, device_id)
    db.commit()
    return view(
        request, "device/issued.html", {"issued": [issued], "again": False}, headers=NO_STORE
    )
