"""`linli import residents`: CSV and Excel sheets are imported whole, or not at all."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import text
from typer.testing import Result

from linli.config import Settings
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.resident import service as resident_service
from linli.resident.schemas import ID_CHECK, ID_WEIGHTS

Invoke = Callable[..., Result]

CHINESE_HEADER = "社区,小区,楼栋,单元,房号,楼层,面积(m²),姓名,关系,性别,手机,身份证号,出生日期"


def make_id(born: dt.date, sequence: int, region: str = "310104") -> str:
    """A valid 18-character ID number (odd sequence: male, even: female)."""
    body = f"{region}{born:%Y%m%d}{sequence:03d}"
    total = sum(int(c) * w for c, w in zip(body, ID_WEIGHTS, strict=True))
    return body + ID_CHECK[total % 11]


WANG = make_id(dt.date(1968, 3, 14), 123)
ZHOU = make_id(dt.date(1970, 7, 2), 246)
WANG_JR = make_id(dt.date(2012, 9, 30), 311)
CHEN = make_id(dt.date(1995, 1, 5), 482, region="320102")


def _good_rows(community: str) -> list[str]:
    return [
        f"{community},幸福小区,1号楼,2单元,301,3,88.5,王建国,业主,男,13812345678,{WANG},1968-03-14",
        f"{community},幸福小区,1号楼,2单元,301,3,88.5,周丽,家属,女,13987654321,{ZHOU},1970/07/02",
        f"{community},幸福小区,1号楼,2单元,301,3,88.5,王小明,家属,,,{WANG_JR},",
        f"{community},幸福小区,1号楼,1单元,502,5,64,陈佳,租户,女,15800001111,{CHEN},",
    ]


def _scalar(settings: Settings, sql: str) -> object:
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            return conn.execute(text(sql)).scalar_one()
    finally:
        engine.dispose()


def _counts(settings: Settings) -> tuple[object, ...]:
    return tuple(
        _scalar(settings, f"SELECT count(*) FROM {table}")
        for table in ("places", "households", "residents")
    )


def test_import_csv_with_chinese_headers_and_bom(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    sheet = tmp_path / "residents.csv"
    sheet.write_text("\n".join([CHINESE_HEADER, *_good_rows(community)]) + "\n", "utf-8-sig")

    result = cli("import", "residents", str(sheet))

    assert result.exit_code == 0, result.output
    assert "imported 4 residents, 2 new households, 4 new places" in result.stdout
    assert _counts(settings) == (4 + 4, 2, 4)
    # Encrypted at rest: no phone or ID number appears in the stored rows.
    engine = make_engine(settings.effective_database_url)
    try:
        with engine.connect() as conn:
            raw = " ".join(
                str(value) for row in conn.execute(text("SELECT * FROM residents")) for value in row
            )
        assert "13812345678" not in raw
        assert WANG not in raw
        assert "1968-03-14" not in raw
        with session_scope(make_sessionmaker(engine)) as db:
            assert resident_service.count(db) == 4
            rows = db.execute(text("SELECT id FROM residents ORDER BY id")).scalars().all()
            people = [resident_service.get_record(db, rid) for rid in rows]
            wang, zhou, junior, chen = people
            assert (wang.name, wang.relation, wang.gender) == ("王建国", "owner", "male")
            assert wang.phone == "13812345678"
            assert wang.id_number == WANG
            assert zhou.date_of_birth == "1970-07-02"
            assert zhou.relation == "family"
            # Birth date and gender come from the ID number when the sheet leaves them blank.
            assert junior.date_of_birth == "2012-09-30"
            assert junior.gender == "male"
            assert junior.phone is None
            assert wang.household_id == zhou.household_id == junior.household_id
            assert chen.household_id != wang.household_id
            assert chen.relation == "tenant"
            household = resident_service.get_household_record(db, wang.household_id or 0)
            assert (household.room, household.floor, str(household.area_m2)) == ("301", 3, "88.50")
    finally:
        engine.dispose()


def test_import_xlsx_with_english_headers_and_typed_cells(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Community", "Path", "Room", "Floor", "Area (m2)", "Name", "Relation",
                  "Gender", "Phone", "ID number", "Date of birth"])  # fmt: skip
    sheet.append([community, "阳光花园/5号楼", 1201, 12, 120.25, "刘洋", "owner", "male",
                  18600001234, WANG, dt.date(1968, 3, 14)])  # fmt: skip
    sheet.append([community, "阳光花园 / 5号楼", 1201, 12, 120.25, "孙悦", "family", "female",
                  None, ZHOU, None])  # fmt: skip
    sheet.append([None] * 11)  # blank rows are skipped
    sheet.append([community, "阳光花园/6号楼/1单元", "101", 1.0, None, "陈佳", "tenant", "F",
                  "158-0000-1111", CHEN, "1995-01-05"])  # fmt: skip
    path = tmp_path / "residents.xlsx"
    book.save(path)

    result = cli("import", "residents", str(path))

    assert result.exit_code == 0, result.output
    assert _counts(settings) == (4 + 4, 2, 3)
    kinds = _scalar(
        settings,
        "SELECT group_concat(p.kind) FROM households h JOIN places p ON p.id = h.place_id",
    )
    assert sorted(str(kinds).split(",")) == ["building", "unit"]
    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            ids = db.execute(text("SELECT id FROM residents ORDER BY id")).scalars().all()
            liu, sun, chen = (resident_service.get_record(db, i) for i in ids)
            assert liu.phone == "18600001234"
            assert liu.date_of_birth == "1968-03-14"
            assert sun.household_id == liu.household_id
            assert sun.phone is None
            assert chen.phone == "15800001111"
            assert chen.gender == "female"
    finally:
        engine.dispose()


def test_import_gb18030_csv(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    sheet = tmp_path / "gbk.csv"
    sheet.write_bytes(
        "\n".join(["社区,位置,房号,姓名", f"{community},和平新村/3号楼/1单元,201,欧阳娜娜"]).encode(
            "gb18030"
        )
    )
    result = cli("import", "residents", str(sheet))
    assert result.exit_code == 0, result.output
    assert _scalar(settings, "SELECT name FROM residents") == "欧阳娜娜"


def test_one_bad_row_writes_nothing_and_is_reported(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    bad_id = WANG[:-1] + ("0" if WANG[-1] != "0" else "1")
    rows = _good_rows(community)
    rows.insert(2, f"{community},幸福小区,2号楼,1单元,101,1,70,赵强,业主,男,13700000000,{bad_id},")
    sheet = tmp_path / "residents.csv"
    sheet.write_text("\n".join([CHINESE_HEADER, *rows]) + "\n", "utf-8")
    before = _counts(settings)

    result = cli("import", "residents", str(sheet))

    assert result.exit_code == 1
    table_rows = [line for line in result.stdout.splitlines() if "身份证号" in line]
    assert len(table_rows) == 1
    assert " 4 " in table_rows[0]
    assert "not a valid 18-character ID number" in table_rows[0]
    assert result.stderr.strip() == "error: 1 of 5 rows have problems; nothing was imported"
    assert _counts(settings) == before


def test_conflicts_found_while_writing_roll_everything_back(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    first = tmp_path / "first.csv"
    first.write_text("\n".join([CHINESE_HEADER, _good_rows(community)[0]]) + "\n", "utf-8")
    assert cli("import", "residents", str(first)).exit_code == 0
    before = _counts(settings)
    second = tmp_path / "second.csv"
    lines = [
        CHINESE_HEADER,
        f"{community},新苑,9号楼,1单元,101,1,70,钱芳,业主,女,,{ZHOU},",
        f"{community},新苑,9号楼,1单元,102,1,70,王建国,业主,男,,{WANG},",
        f"{community},新苑,9号楼,1单元,103,1,70,孙杰,业主,男,,{WANG_JR},",
        f"{community},新苑,9号楼,1单元,104,1,70,孙杰,业主,男,,{WANG_JR},",
        "nowhere,新苑,9号楼,1单元,105,1,70,李雷,业主,男,,,",
    ]
    second.write_text("\n".join(lines) + "\n", "utf-8")

    result = cli("import", "residents", str(second))

    assert result.exit_code == 1
    assert "already registered" in result.stdout
    assert "the same ID number is on row 4" in result.stdout
    assert "no community with code nowhere" in result.stdout
    assert "3 of 5 rows" in result.stderr
    assert _counts(settings) == before


def test_dry_run_counts_and_writes_nothing(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path
) -> None:
    sheet = tmp_path / "residents.csv"
    sheet.write_text("\n".join([CHINESE_HEADER, *_good_rows(community)]) + "\n", "utf-8")
    before = _counts(settings)
    result = cli("import", "residents", str(sheet), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "would import 4 residents" in result.stdout
    assert _counts(settings) == before


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("社区,小区,楼栋,房号,姓名,血型\n", "unknown column(s): 血型"),
        ("社区,小区,房号,姓名\n", "missing column(s): building"),
        ("社区,位置,楼栋,房号,姓名\n", "either a path column"),
        ("社区,位置,房号,姓名\n", "no rows below its header"),
    ],
)
def test_sheet_level_problems_are_one_line(
    cli: Invoke, settings: Settings, community: str, tmp_path: Path, content: str, said: str
) -> None:
    sheet = tmp_path / "residents.csv"
    sheet.write_text(content, "utf-8")
    result = cli("import", "residents", str(sheet))
    assert result.exit_code == 1
    assert said in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_unsupported_or_missing_file(cli: Invoke, settings: Settings, tmp_path: Path) -> None:
    other = tmp_path / "residents.ods"
    other.write_bytes(b"PK")
    assert "use .csv or .xlsx" in cli("import", "residents", str(other)).stderr
    missing = cli("import", "residents", str(tmp_path / "nope.csv"))
    assert missing.exit_code == 1
    assert "no such file" in missing.stderr
