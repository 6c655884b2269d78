"""Register households and residents in bulk from a CSV or Excel sheet (`linli import residents`).

The sheet format is described in docs/operations.md. Reading and checking every row comes first;
then each row is written through the services. Nothing is committed here: the caller commits
only when the report has no errors, so a sheet is imported whole or not at all.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from linli.core.errors import LinliError, ValidationFailed
from linli.place import service as place_service
from linli.place.schemas import PlaceCreate, PlaceKind
from linli.resident import service as resident_service
from linli.resident.schemas import HouseholdCreate, Relation, ResidentCreate

# Canonical column → the headers accepted for it (compared after normalising, see _normalise).
COLUMNS: dict[str, tuple[str, ...]] = {
    "community": ("community", "community_code", "社区", "社区编码", "社区代码"),
    "path": ("path", "location", "位置", "楼栋路径"),
    "compound": ("compound", "小区"),
    "building": ("building", "楼栋", "楼号"),
    "unit": ("unit", "单元"),
    "room": ("room", "房号", "房间号", "门牌号"),
    "floor": ("floor", "楼层"),
    "area_m2": ("area_m2", "area", "面积", "建筑面积"),
    "name": ("name", "姓名"),
    "relation": ("relation", "关系", "身份"),
    "gender": ("gender", "sex", "性别"),
    "phone": ("phone", "mobile", "电话", "手机", "手机号", "联系电话"),
    "id_number": ("id_number", "身份证号", "身份证号码", "证件号码"),
    "date_of_birth": ("date_of_birth", "birth_date", "dob", "出生日期"),
}
REQUIRED = ("community", "room", "name")
LOCATION_COLUMNS = ("compound", "building", "unit")
MAX_PLACE_NAME = 200

RELATIONS: dict[str, Relation] = {
    "owner": "owner",
    "业主": "owner",
    "户主": "owner",
    "tenant": "tenant",
    "租户": "tenant",
    "租客": "tenant",
    "family": "family",
    "家属": "family",
    "家庭成员": "family",
}
GENDERS = {
    "male": "male",
    "m": "male",
    "男": "male",
    "female": "female",
    "f": "female",
    "女": "female",
    "other": "other",
    "其他": "other",
}
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d")
PATH_SEPARATORS = re.compile(r"\s*[/›>]\s*")
_UNITS_IN_HEADER = re.compile(r"[（(][^)）]*[)）]")

_HEADER_INDEX = {alias: canonical for canonical, aliases in COLUMNS.items() for alias in aliases}


class ImportFileError(ValidationFailed):
    """The file as a whole cannot be read as a resident sheet."""


@dataclass(frozen=True)
class RowError:
    """A problem: sheet row (the header is row 1), column as the file names it, what is wrong."""

    row: int
    column: str
    message: str


@dataclass
class Sheet:
    """The rows of a sheet as text, keyed by canonical column name."""

    headers: dict[str, str]
    rows: list[tuple[int, dict[str, str]]]

    def header(self, column: str) -> str:
        """The column's header as the file spells it (or the canonical name)."""
        return self.headers.get(column, column)


@dataclass
class ImportReport:
    """What an import did (or, on a dry run or with errors, would have done)."""

    rows: int = 0
    places_created: int = 0
    households_created: int = 0
    residents_created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """No row failed."""
        return not self.errors


@dataclass(frozen=True)
class _Row:
    """A row that passed every check that needs no database."""

    number: int
    community: str
    location: tuple[str, ...]
    household: HouseholdCreate
    resident: ResidentCreate


# --- reading --------------------------------------------------------------------------------


def _normalise(header: str) -> str:
    text = _UNITS_IN_HEADER.sub("", header).strip().lower()
    return re.sub(r"[\s\-]+", "_", text)


def _cell_text(value: object) -> str:
    """A cell as text: Excel numbers lose a trailing ``.0``, dates become ``YYYY-MM-DD``."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _decode(raw: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 as older Chinese spreadsheets save it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise ImportFileError("the file is neither UTF-8 nor GB18030 text") from exc


def _csv_records(path: Path) -> Iterator[list[object]]:
    try:
        yield from csv.reader(io.StringIO(_decode(path.read_bytes()), newline=""))
    except csv.Error as exc:  # e.g. a cell above the csv module's size limit (tests/fuzz)
        raise ImportFileError(f"cannot read {path.name} as CSV: {exc}") from None


def _xlsx_records(path: Path) -> Iterator[list[object]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or foreign file
        raise ImportFileError(f"cannot read {path.name} as an Excel workbook") from exc
    try:
        sheet = workbook.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        workbook.close()


def _map_headers(cells: list[str]) -> list[str | None]:
    """Canonical column for each header cell; refuses unknown, repeated or missing columns."""
    mapped: list[str | None] = []
    unknown: list[str] = []
    seen: set[str] = set()
    for cell in cells:
        if not cell:
            mapped.append(None)
            continue
        canonical = _HEADER_INDEX.get(_normalise(cell))
        if canonical is None:
            unknown.append(cell)
        elif canonical in seen:
            raise ImportFileError(f"column {cell} appears twice")
        else:
            seen.add(canonical)
        mapped.append(canonical)
    if unknown:
        raise ImportFileError(f"unknown column(s): {', '.join(unknown)}; see docs/operations.md")
    missing = [c for c in REQUIRED if c not in seen]
    if "path" in seen and seen & set(LOCATION_COLUMNS):
        raise ImportFileError("give either a path column or compound/building/unit columns")
    if "path" not in seen:
        missing += [c for c in ("compound", "building") if c not in seen]
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(missing)}")
    return mapped


def read_sheet(path: Path) -> Sheet:
    """Read a .csv or .xlsx file into text rows; raises ImportFileError when it cannot."""
    if not path.is_file():
        raise ImportFileError(f"no such file: {path}")
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        records: Iterable[list[object]] = _xlsx_records(path)
    elif suffix in (".csv", ".txt"):
        records = _csv_records(path)
    else:
        raise ImportFileError(
            f"cannot import {suffix or 'a file without extension'}; use .csv or .xlsx"
        )
    iterator = iter(records)
    header_cells = next(iterator, None)
    if header_cells is None:
        raise ImportFileError("the file is empty")
    headers = [_cell_text(c) for c in header_cells]
    mapped = _map_headers(headers)
    names = {c: h for c, h in zip(mapped, headers, strict=True) if c is not None}
    rows: list[tuple[int, dict[str, str]]] = []
    for number, record in enumerate(iterator, start=2):
        texts = [_cell_text(v) for v in record]
        if not any(texts):
            continue
        row = {c: t for c, t in zip(mapped, texts, strict=False) if c is not None}
        rows.append((number, row))
    return Sheet(headers=names, rows=rows)


# --- checking -------------------------------------------------------------------------------


def _parse_date(text: str) -> dt.date:
    for fmt in DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()  # noqa: DTZ007  (a calendar date)
        except ValueError:
            continue
    raise ValueError("use a date such as 1980-05-17")


def _location(row: dict[str, str]) -> tuple[str, ...] | str:
    """(compound, building[, unit]) or a message saying what is wrong."""
    if "path" in row or not any(row.get(c) for c in LOCATION_COLUMNS):
        parts = tuple(p for p in PATH_SEPARATORS.split(row.get("path", "")) if p)
        if len(parts) not in (2, 3):
            return "write compound/building or compound/building/unit"
    else:
        compound, building, unit = (row.get(c, "") for c in LOCATION_COLUMNS)
        if not compound or not building:
            return "compound and building are required"
        parts = (compound, building, unit) if unit else (compound, building)
    if any(len(p) > MAX_PLACE_NAME for p in parts):
        return f"a place name has at most {MAX_PLACE_NAME} characters"
    return parts


def _pydantic_errors(
    sheet: Sheet, number: int, exc: ValidationError, errors: list[RowError]
) -> None:
    for err in exc.errors():
        column = str(err["loc"][0]) if err["loc"] else ""
        message = str(err["msg"]).removeprefix("Value error, ")
        errors.append(RowError(number, sheet.header(column), message))


def _check_identity(
    sheet: Sheet, number: int, data: dict[str, Any], errors: list[RowError]
) -> None:
    """Fill birth date and gender from the ID number, or flag when they contradict it."""
    id_number = str(data.get("id_number") or "").strip().upper()
    # isascii(): "²" passes isdigit() but not int() (found by tests/fuzz).
    if len(id_number) != 18 or not (id_number[:17].isascii() and id_number[:17].isdigit()):
        return  # the schema reports a malformed number
    try:
        from_id = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        errors.append(
            RowError(number, sheet.header("id_number"), "the birth date in it is invalid")
        )
        return
    born = data.get("date_of_birth")
    if born is None:
        data["date_of_birth"] = from_id
    elif born != from_id:
        errors.append(
            RowError(number, sheet.header("date_of_birth"), "does not match the ID number")
        )
    id_gender = "male" if int(id_number[16]) % 2 else "female"
    gender = data.get("gender")
    if gender is None:
        data["gender"] = id_gender
    elif gender in ("male", "female") and gender != id_gender:
        errors.append(RowError(number, sheet.header("gender"), "does not match the ID number"))


def _check_row(
    sheet: Sheet, number: int, row: dict[str, str]
) -> tuple[_Row | None, list[RowError]]:
    errors: list[RowError] = []

    def fail(column: str, message: str) -> None:
        errors.append(RowError(number, sheet.header(column), message))

    for column in REQUIRED:
        if not row.get(column):
            fail(column, "is required")
    location = _location(row)
    if isinstance(location, str):
        fail("path" if "path" in sheet.headers else "building", location)

    # The real place is known only when writing; 1 stands in so the rest can be checked now.
    household_data: dict[str, Any] = {"place_id": 1, "room": row.get("room", "")}
    if row.get("floor"):
        household_data["floor"] = row["floor"]
    if row.get("area_m2"):
        try:
            household_data["area_m2"] = Decimal(row["area_m2"])
        except InvalidOperation:
            fail("area_m2", "must be a number of square metres")
    resident_data: dict[str, Any] = {
        "name": row.get("name", ""),
        "phone": row.get("phone") or None,
        "id_number": row.get("id_number") or None,
    }
    relation = row.get("relation", "").strip().lower()
    if relation:
        if relation in RELATIONS:
            resident_data["relation"] = RELATIONS[relation]
        else:
            fail("relation", "use owner, tenant or family (业主, 租户, 家属)")
    gender = row.get("gender", "").strip().lower()
    if gender:
        if gender in GENDERS:
            resident_data["gender"] = GENDERS[gender]
        else:
            fail("gender", "use male, female or other (男, 女, 其他)")
    if row.get("date_of_birth"):
        try:
            resident_data["date_of_birth"] = _parse_date(row["date_of_birth"])
        except ValueError as exc:
            fail("date_of_birth", str(exc))
    _check_identity(sheet, number, resident_data, errors)

    household: HouseholdCreate | None = None
    resident: ResidentCreate | None = None
    try:
        household = HouseholdCreate.model_validate(household_data)
    except ValidationError as exc:
        _pydantic_errors(sheet, number, exc, errors)
    try:
        resident = ResidentCreate.model_validate(resident_data)
    except ValidationError as exc:
        _pydantic_errors(sheet, number, exc, errors)
    if errors or household is None or resident is None or isinstance(location, str):
        return None, errors
    return _Row(number, row["community"], location, household, resident), []


# --- writing --------------------------------------------------------------------------------


class _Places:
    """Finds or creates the compound, building and unit of each row, remembering what it saw."""

    KINDS: tuple[PlaceKind, ...] = ("compound", "building", "unit")

    def __init__(self, db: Session) -> None:
        self.db = db
        self.created = 0
        self._communities: dict[str, tuple[int, str] | None] = {}
        self._children: dict[int, dict[tuple[str, str], int]] = {}

    def community(self, code: str) -> tuple[int, str]:
        """(place id, code) of the community with ``code``."""
        if code not in self._communities:
            place = place_service.by_code(self.db, code)
            found = place is not None and place.kind == "community"
            self._communities[code] = (place.id, place.code) if place and found else None
        known = self._communities[code]
        if known is None:
            raise ValidationFailed(f"no community with code {code}")
        return known

    def _child(self, parent_id: int, kind: str, name: str) -> int | None:
        if parent_id not in self._children:
            self._children[parent_id] = {
                (p.kind, p.name): p.id for p in place_service.children(self.db, parent_id)
            }
        return self._children[parent_id].get((kind, name))

    def _new_code(self, community_code: str, names: tuple[str, ...]) -> str:
        digest = hashlib.blake2b("\x00".join(names).encode(), digest_size=5).hexdigest()
        base = f"{community_code[:40]}.{digest}"
        code, n = base, 1
        while place_service.by_code(self.db, code) is not None:
            n += 1
            code = f"{base}-{n}"
        return code

    def dwelling_place(self, community_code: str, location: tuple[str, ...]) -> int:
        """The id of the unit (or building) that the location names, creating what is missing."""
        parent_id, code = self.community(community_code)
        for depth, (kind, name) in enumerate(zip(self.KINDS, location, strict=False), start=1):
            found = self._child(parent_id, kind, name)
            if found is None:
                place = place_service.create(
                    self.db,
                    None,
                    PlaceCreate(
                        parent_id=parent_id,
                        kind=kind,
                        name=name,
                        code=self._new_code(code, location[:depth]),
                    ),
                )
                self.created += 1
                found = place.id
                self._children[parent_id][(kind, name)] = found
            parent_id = found
        return parent_id


def import_residents(
    db: Session, sheet: Sheet, *, on_row: Callable[[], None] | None = None
) -> ImportReport:
    """Check and write every row in the caller's transaction; commit only if the report is ok."""
    report = ImportReport(rows=len(sheet.rows))
    places = _Places(db)
    checked: list[_Row] = []
    first_seen: dict[str, int] = {}
    for number, row in sheet.rows:
        parsed, errors = _check_row(sheet, number, row)
        if row.get("community"):
            try:
                places.community(row["community"])
            except ValidationFailed as exc:
                errors.append(RowError(number, sheet.header("community"), exc.message))
                parsed = None
        report.errors.extend(errors)
        if parsed is None:
            if on_row is not None:
                on_row()
            continue
        id_number = parsed.resident.id_number
        if id_number is not None:
            if id_number in first_seen:
                report.errors.append(
                    RowError(
                        number,
                        sheet.header("id_number"),
                        f"the same ID number is on row {first_seen[id_number]}",
                    )
                )
                if on_row is not None:
                    on_row()
                continue
            first_seen[id_number] = number
        checked.append(parsed)

    households: dict[tuple[int, str], int] = {}
    location_header = sheet.header("path" if "path" in sheet.headers else "building")
    for item in checked:
        try:
            column = location_header
            place_id = places.dwelling_place(item.community, item.location)
            key = (place_id, item.household.room)
            if key not in households:
                column = sheet.header("room")
                existing = resident_service.household_by_room(db, place_id, item.household.room)
                if existing is None:
                    existing = resident_service.create_household(
                        db, None, item.household.model_copy(update={"place_id": place_id})
                    )
                    report.households_created += 1
                households[key] = existing.id
            column = sheet.header("id_number")
            resident_service.create_resident(
                db, None, item.resident.model_copy(update={"household_id": households[key]})
            )
            report.residents_created += 1
        except LinliError as exc:
            report.errors.append(RowError(item.number, column, exc.message))
        except ValidationError as exc:  # a place name the place schema refuses
            message = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            report.errors.append(RowError(item.number, column, message))
        if on_row is not None:
            on_row()
    report.places_created = places.created
    report.errors.sort(key=lambda e: e.row)
    return report
