"""Register devices in bulk from a CSV sheet: check every row first, then write all or nothing.

Columns: ``uid,name,place_code,profile,latitude,longitude`` (latitude, longitude optional;
an optional ``firmware`` column is read too). The format is described in docs/devices.md.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field

from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.actor import Actor
from linli.core.errors import PermissionDenied
from linli.device import service
from linli.device.schemas import DeviceCreate, DeviceIssued
from linli.place import service as place_service

COLUMNS = ("uid", "name", "place_code", "profile", "latitude", "longitude")
REQUIRED = ("uid", "name", "place_code", "profile")
OPTIONAL = ("latitude", "longitude", "firmware")
MAX_ROWS = 5000
MAX_BYTES = 2_000_000


def N_(message: str) -> str:  # noqa: N802  # the gettext convention for "mark only"
    """Mark a message for translation where it is shown."""
    return message


@dataclass(frozen=True)
class RowError:
    """What is wrong in one row (line 1 is the header) and which column."""

    line: int
    column: str
    message: str


@dataclass
class ImportReport:
    """The devices a sheet would register, or the reasons it cannot be imported."""

    rows: list[DeviceCreate] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _decode(raw: bytes) -> str | None:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _number(value: str, low: float, high: float) -> float | None:
    """The number in ``value`` within [low, high]; ValueError when it is not one."""
    if not value.strip():
        return None
    number = float(value)
    if not low <= number <= high:
        raise ValueError("out of range")
    return number


def check(db: Session, actor: Actor, raw: bytes) -> ImportReport:
    """Read and check every row of a sheet without writing anything."""
    report = ImportReport()
    if len(raw) > MAX_BYTES:
        report.errors.append(RowError(0, "", N_("The file is larger than 2 MB.")))
        return report
    text = _decode(raw)
    if text is None:
        report.errors.append(RowError(0, "", N_("Save the sheet as CSV in UTF-8 and try again.")))
        return report
    try:
        return _check_text(db, actor, text, report)
    except csv.Error:  # e.g. a cell above the csv module's size limit (found by tests/fuzz)
        report.rows = []
        report.errors.append(RowError(0, "", N_("Save the sheet as CSV in UTF-8 and try again.")))
        return report


def _check_text(db: Session, actor: Actor, text: str, report: ImportReport) -> ImportReport:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append(
            RowError(1, ",".join(missing), N_("The first line must name the columns."))
        )
        return report
    reader.fieldnames = header
    profiles = {p.code for p in service.profiles(db)}
    places: dict[str, tuple[int, str] | None] = {}
    seen: dict[str, int] = {}
    rows: list[tuple[int, dict[str, str]]] = []
    for line, record in enumerate(reader, start=2):
        values = {k: (v or "").strip() for k, v in record.items() if isinstance(k, str)}
        if not any(values.values()):
            continue
        rows.append((line, values))
        if len(rows) > MAX_ROWS:
            report.errors.append(RowError(line, "", N_("A sheet may hold at most 5000 devices.")))
            return report
    if not rows:
        report.errors.append(RowError(0, "", N_("The sheet has no devices.")))
        return report
    taken = service.existing_uids(db, [v.get("uid", "") for _line, v in rows])
    for line, values in rows:
        errors: list[RowError] = []
        uid = values.get("uid", "")
        if uid in seen:
            errors.append(RowError(line, "uid", N_("This uid is already on an earlier line.")))
        elif uid in taken:
            errors.append(
                RowError(line, "uid", N_("A device with this uid is already registered."))
            )
        seen.setdefault(uid, line)
        code = values.get("place_code", "")
        if code not in places:
            place = place_service.by_code(db, code) if code else None
            places[code] = (place.id, place.path) if place is not None else None
        found = places[code]
        place_id = 0
        if found is None:
            errors.append(RowError(line, "place_code", N_("No place has this code.")))
        elif not service.may_manage_place(actor, found[1]):
            errors.append(
                RowError(line, "place_code", N_("You cannot register devices at this place."))
            )
        else:
            place_id = found[0]
        if values.get("profile", "") not in profiles:
            errors.append(RowError(line, "profile", N_("Unknown device profile.")))
        coords: dict[str, float | None] = {}
        for column, limit in (("latitude", 90.0), ("longitude", 180.0)):
            try:
                coords[column] = _number(values.get(column, ""), -limit, limit)
            except ValueError:
                errors.append(RowError(line, column, N_("Enter a number in decimal degrees.")))
        if not errors:
            try:
                report.rows.append(
                    DeviceCreate(
                        uid=uid,
                        name=values.get("name", ""),
                        place_id=place_id,
                        profile=values["profile"],
                        latitude=coords.get("latitude"),
                        longitude=coords.get("longitude"),
                        firmware=values.get("firmware", ""),
                    )
                )
            except ValidationError as exc:
                for err in exc.errors():
                    column = str(err["loc"][0]) if err.get("loc") else ""
                    errors.append(RowError(line, column, _FIELD_MESSAGES.get(column, _OTHER)))
        report.errors.extend(errors)
    if report.errors:
        report.rows = []
    return report


_OTHER = N_("Check this value.")
_FIELD_MESSAGES = {
    "uid": N_("Use 1-64 letters, digits, '_', '.' or '-' for the uid."),
    "name": N_("Enter a name of at most 200 characters."),
    "firmware": N_("Firmware is at most 64 characters."),
}


def apply(db: Session, actor: Actor, report: ImportReport) -> list[DeviceIssued]:
    """Register the checked rows (the caller commits); returns each device with its token."""
    if report.errors:
        raise PermissionDenied("a sheet with errors cannot be imported")
    return [service.register(db, actor, row) for row in report.rows]


def tokens_csv(issued: list[DeviceIssued]) -> str:
    """The uid, name and token of each new device, as CSV text to download once."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(("uid", "name", "token"))
    for device in issued:
        writer.writerow((device.uid, device.name, device.token))
    return out.getvalue()
