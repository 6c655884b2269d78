"""Fuzzing the sheet imports: the resident sheet (CSV / Excel, ``linli import residents``) and the
device CSV upload of the console. A sheet is imported whole, refused with row errors, or refused
as a file; never a crash, never part of a sheet stored."""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.device import service as device_service
from linli.device.models import Device
from linli.resident import importer
from linli.resident.models import Household, Resident
from linli.resident.schemas import ID_CHECK, ID_WEIGHTS
from tests.conftest import World, csrf_of, login

FAST = settings(max_examples=100, deadline=None, database=None)
DB = settings(
    max_examples=30,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
SQLITE_ONLY = pytest.mark.parametrize("database", ["sqlite"], indirect=True)
HEADER = "community,compound,building,unit,room,name,relation,gender,phone,id_number\n"

AWKWARD = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "=cmd|' /C calc'!A0",
        "1e999",
        "NaN",
        "sNaN",
        "-0",
        "²",
        "1101011980010100²X",  # passes isdigit() for 17 characters, int() refuses "²"
        "110101198002300011",  # 30 February
        "11010119800101001X",
        "１１０１０１１９８００１０１００１１",
        "1980-02-30",
        "99999999",
        "业主",
        "男",
        "t-c1",
        "t-c1-compound",
        "x" * 300,
    ]
)
cell_text = st.one_of(st.text(max_size=20), AWKWARD)


def _id_number(base17: str) -> str:
    total = sum(int(c) * w for c, w in zip(base17, ID_WEIGHTS, strict=True))
    return base17 + ID_CHECK[total % 11]


# --- reading files ---------------------------------------------------------------------------


@FAST
@given(raw=st.binary(max_size=400), suffix=st.sampled_from([".csv", ".txt", ".xlsx"]))
@example(raw=(HEADER + "t-c1,a,b,,1," + "x" * 200_000 + "\n").encode(), suffix=".csv")
@example(raw=b"PK\x03\x04" + b"\x00" * 60, suffix=".xlsx")
@example(raw=HEADER.encode("utf-16"), suffix=".csv")
def test_any_file_reads_as_a_sheet_or_an_import_file_error(raw: bytes, suffix: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"sheet{suffix}"
        path.write_bytes(raw)
        error: importer.ImportFileError | None = None
        try:
            sheet = importer.read_sheet(path)
        except importer.ImportFileError as exc:
            error = exc
    if error is not None:
        assert error.message
        return
    for number, row in sheet.rows:
        assert number >= 2
        assert set(row) <= set(importer.COLUMNS)
        assert all(isinstance(v, str) for v in row.values())


@FAST
@given(
    header=st.lists(
        st.one_of(
            st.sampled_from([a for aliases in importer.COLUMNS.values() for a in aliases]),
            st.text(max_size=8),
        ),
        max_size=8,
    ),
    rows=st.lists(st.lists(cell_text, max_size=10), max_size=4),
)
def test_csv_text_reads_as_a_sheet_or_an_import_file_error(
    header: list[str], rows: list[list[str]]
) -> None:
    out = io.StringIO()
    csv.writer(out).writerows([header, *rows])
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "sheet.csv"
        path.write_text(out.getvalue(), encoding="utf-8")
        with contextlib.suppress(importer.ImportFileError):
            importer.read_sheet(path)


def test_regressions_found_by_fuzzing(tmp_path: Path) -> None:
    # A cell above the csv module's 128 KiB limit leaked csv.Error.
    path = tmp_path / "big.csv"
    path.write_text(HEADER + "t-c1,a,b,,1," + "x" * 200_000 + "\n", encoding="utf-8")
    with pytest.raises(importer.ImportFileError, match=r"cannot read big\.csv as CSV"):
        importer.read_sheet(path)


# --- checking and importing rows -------------------------------------------------------------

row_values = st.dictionaries(st.sampled_from(sorted(importer.COLUMNS)), cell_text, max_size=9)


def _count(db: Session, model: type[Resident] | type[Household]) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


@SQLITE_ONLY
def test_fuzzed_rows_import_whole_or_report_errors(db: Session) -> None:
    @DB
    @given(rows=st.lists(row_values, min_size=1, max_size=4))
    @example(
        rows=[
            {
                "community": "t-c1",
                "compound": "a",
                "building": "b",
                "room": "1",
                "name": "n",
                "id_number": "1101011980010100²X",
            }
        ]
    )
    def run(rows: list[dict[str, str]]) -> None:
        sheet = importer.Sheet(headers={}, rows=list(enumerate(rows, start=2)))
        before = _count(db, Resident)
        try:
            report = importer.import_residents(db, sheet)
            numbers = {n for n, _row in sheet.rows}
            assert all(e.row in numbers and e.message for e in report.errors)
            if report.ok:
                assert report.residents_created == len(rows)
                assert _count(db, Resident) == before + len(rows)
        finally:
            db.rollback()

    run()


def test_regression_non_ascii_digit_in_an_id_number() -> None:
    sheet = importer.Sheet(headers={}, rows=[])
    row = {"community": "t-c1", "compound": "a", "building": "b", "room": "1", "name": "n"}
    parsed, errors = importer._check_row(sheet, 2, {**row, "id_number": "1101011980010100²X"})
    assert parsed is None
    assert [e.column for e in errors] == ["id_number"]


names = (
    st.text(
        alphabet=st.characters(categories=["L", "N"], include_characters=" ·,'\"-"),
        min_size=1,
        max_size=20,
    )
    .map(str.strip)
    .filter(lambda s: bool(s) and "/" not in s)
)
people = st.fixed_dictionaries(
    {
        "name": names,
        "relation": st.sampled_from(sorted(importer.RELATIONS)),
        "born": st.dates(dt.date(1900, 1, 1), dt.date(2020, 12, 31)),
        "male": st.booleans(),
        "with_id": st.booleans(),
        "phone": st.from_regex(r"1[3-9][0-9]{9}", fullmatch=True),
        "room": st.from_regex(r"[0-9]{1,4}[A-Z]?", fullmatch=True),
        "area": st.one_of(st.none(), st.decimals(Decimal("0.01"), Decimal("9999.99"), places=2)),
    }
)


def _resident_csv(place: tuple[str, str, str], rows: list[dict[str, Any]], chinese: bool) -> str:
    columns = list(importer.COLUMNS)
    columns.remove("path")
    columns.remove("floor")
    headers = [importer.COLUMNS[c][-1 if chinese else 0] for c in columns]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(headers)
    for i, r in enumerate(rows):
        born: dt.date = r["born"]
        digit = (2 * i + (1 if r["male"] else 0)) % 10
        base17 = f"440303{born:%Y%m%d}{i:02d}{digit}"
        cells = {
            "community": "t-c1",
            "compound": place[0],
            "building": place[1],
            "unit": place[2],
            "room": r["room"],
            "area_m2": str(r["area"] or ""),
            "name": r["name"],
            "relation": r["relation"],
            "gender": "" if r["with_id"] else ("male" if r["male"] else "female"),
            "phone": r["phone"][:3] + "-" + r["phone"][3:],
            "id_number": _id_number(base17) if r["with_id"] else "",
            "date_of_birth": "" if r["with_id"] else f"{born:%Y/%m/%d}",
        }
        writer.writerow([cells[c] for c in columns])
    return out.getvalue()


@SQLITE_ONLY
def test_valid_rows_round_trip_through_a_csv_file(db: Session, tmp_path: Path) -> None:
    @DB
    @given(
        place=st.tuples(names, names, st.one_of(st.just(""), names)),
        rows=st.lists(people, min_size=1, max_size=4, unique_by=lambda r: r["phone"]),
        chinese=st.booleans(),
    )
    def run(place: tuple[str, str, str], rows: list[dict[str, Any]], chinese: bool) -> None:
        path = tmp_path / "residents.csv"
        path.write_bytes(_resident_csv(place, rows, chinese).encode("utf-8-sig"))
        sheet = importer.read_sheet(path)
        last = db.scalar(select(func.max(Resident.id))) or 0
        try:
            report = importer.import_residents(db, sheet)
            assert report.ok, report.errors
            stored = db.scalars(select(Resident).where(Resident.id > last).order_by(Resident.id))
            got = [
                (s.name, s.relation, s.gender, s.phone, s.date_of_birth, s.id_number is not None)
                for s in stored
            ]
            want = [
                (
                    r["name"],
                    importer.RELATIONS[r["relation"]],
                    "male" if r["male"] else "female",
                    r["phone"],
                    r["born"].isoformat(),
                    r["with_id"],
                )
                for r in rows
            ]
            assert got == want
        finally:
            db.rollback()

    run()


# --- the device sheet, uploaded through the console -------------------------------------------

DEVICE_HEADER = "uid,name,place_code,profile,latitude,longitude"
device_rows = st.lists(
    st.tuples(
        st.one_of(st.from_regex(r"FZ-[0-9]{1,4}", fullmatch=True), cell_text),
        cell_text,
        st.sampled_from(["t-c1-compound", "t-c1-b1", "t-c2", "nowhere", ""]),
        st.sampled_from(["air_quality", "noise", "toaster", ""]),
        st.one_of(st.floats(), cell_text).map(str),
        st.one_of(st.floats(-180, 180), st.just("")).map(str),
    ),
    max_size=4,
)


def _device_sheet(header: str, rows: list[tuple[str, ...]]) -> bytes:
    out = io.StringIO()
    out.write(header + "\n")
    csv.writer(out).writerows(rows)
    return out.getvalue().encode()


@SQLITE_ONLY
def test_fuzzed_device_sheets_register_all_or_nothing(
    client: TestClient, world: World, db: Session
) -> None:
    device_service.ensure_catalog(db)
    db.commit()
    login(client, "pm1")
    token = csrf_of(client.get("/console/devices/import").text)
    valid = _device_sheet(
        DEVICE_HEADER, [("FZ-LIVE", "Fuzz", "t-c1-compound", "noise", "31.1", "")]
    )
    response = client.post(
        "/console/devices/import",
        data={"csrf_token": token},
        files={"sheet": ("devices.csv", valid, "text/csv")},
    )
    assert response.status_code == 200, response.text[:300]

    @DB
    @given(
        body=st.one_of(
            st.builds(_device_sheet, st.just(DEVICE_HEADER), device_rows),
            st.builds(_device_sheet, st.text(max_size=40), device_rows),
            st.binary(max_size=200),
        )
    )
    @example(body=(DEVICE_HEADER + "\nFZ-1," + "x" * 200_000 + ",t-c1,noise,,\n").encode())
    def run(body: bytes) -> None:
        db.rollback()
        before = int(db.scalar(select(func.count()).select_from(Device)) or 0)
        response = client.post(
            "/console/devices/import",
            data={"csrf_token": token},
            files={"sheet": ("devices.csv", body, "text/csv")},
        )
        db.rollback()
        after = int(db.scalar(select(func.count()).select_from(Device)) or 0)
        assert response.status_code in (200, 422), response.text[:300]
        assert response.headers["content-type"].startswith("text/html")
        if response.status_code == 422:
            assert after == before
        else:
            assert after > before

    run()


@SQLITE_ONLY
def test_regression_device_sheet_with_a_huge_cell(db: Session, world: World) -> None:
    from linli.device import importer as device_importer

    # A header cell above the csv module's 128 KiB limit leaked csv.Error (a 500 page).
    text = DEVICE_HEADER + "," + "x" * 200_000 + "\nFZ-1,n,t-c1,noise,,\n"
    report = device_importer.check(db, None, text.encode())  # type: ignore[arg-type]
    assert report.rows == []
    assert [e.line for e in report.errors] == [0]
