"""The personal-data inventory (checklist M1): every column of every table is declared once, no
declaration is stale, personal-looking columns are personal or justified, sensitive and
encrypted columns have a purpose, a retention and a legal basis, and the summary in
docs/privacy.md is the one the inventory renders. The checker is also run on throwaway schemas
to show that it fails when it should."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

import linli
from linli.core.crypto import EncryptedString
from linli.core.db import Base
from linli.privacy import inventory as inv
from linli.privacy.inventory import (
    Category,
    LegalBasis,
    Problem,
    RetentionKind,
    Subject,
    TableDeclaration,
    check,
    days,
    declaration,
    not_personal,
    personal,
    personal_columns,
    retention_of,
    sensitive_columns,
    system,
    table,
)

ROOT = Path(__file__).resolve().parents[2]


ENV = (ROOT / "migrations" / "env.py").read_text(encoding="utf-8")
# Import the models exactly as the migrations do, so the inventory covers the real schema.
MIGRATED_MODULES = sorted(set(re.findall(r"^import (linli\.[\w.]+)", ENV, re.MULTILINE)))
for _name in MIGRATED_MODULES:
    importlib.import_module(_name)


def _problems(*kinds: str) -> list[str]:
    return [str(p) for p in check(Base.metadata) if p.kind in kinds]


# --- the application's schema ----------------------------------------------------------------


def test_every_models_module_is_registered_like_the_migrations_do() -> None:
    on_disk = {
        f"linli.{info.name}.models"
        for info in pkgutil.iter_modules(linli.__path__)
        if info.ispkg and (ROOT / "src" / "linli" / info.name / "models.py").exists()
    }
    assert on_disk <= set(MIGRATED_MODULES)
    assert len(Base.metadata.tables) >= 70


def test_every_column_of_every_table_is_classified_exactly_once() -> None:
    assert _problems("undeclared", "duplicate") == []


def test_no_declaration_names_a_table_or_column_that_does_not_exist() -> None:
    assert _problems("stale") == []


def test_columns_personal_by_nature_are_declared_personal_or_justified() -> None:
    assert _problems("looks_personal") == []


def test_sensitive_and_encrypted_columns_have_purpose_retention_basis_and_protection() -> None:
    assert _problems("incomplete", "unencrypted") == []
    encrypted = [
        (name, col.name)
        for name, tbl in Base.metadata.tables.items()
        for col in tbl.columns
        if isinstance(col.type, EncryptedString)
    ]
    assert ("residents", "id_number") in encrypted
    for name, column in encrypted + [(c.table, c.column) for c in sensitive_columns()]:
        found = declaration(name, column)
        assert found.purpose, (name, column)
        assert found.retention, (name, column)
        assert found.legal_basis, (name, column)
    for col in sensitive_columns():
        is_encrypted = (col.table, col.column) in encrypted
        assert is_encrypted or len(col.reason) > 20, (col.table, col.column)


def test_the_whole_check_passes() -> None:
    assert [str(p) for p in check(Base.metadata)] == []


def test_each_table_is_declared_under_the_domain_of_its_model() -> None:
    for mapper in Base.registry.mappers:
        module = mapper.class_.__module__
        domain = module.split(".")[1]
        for tbl in mapper.tables:
            assert inv.table_declaration(tbl.name).domain == domain, tbl.name


def test_categories_that_are_sensitive_by_nature_are_declared_sensitive() -> None:
    always = {Category.HEALTH, Category.MINORS, Category.BIOMETRIC}
    for col in personal_columns():
        if col.category in always:
            assert col.sensitive, f"{col.table}.{col.column}"
    # A table of no one's data has no purpose, basis or retention to declare.
    for decl in inv.INVENTORY:
        if decl.subject is Subject.NONE and not any(
            declaration(decl.name, c).personal for c in decl.column_names()
        ):
            assert decl.retention is None
            assert decl.legal_basis is None


def test_reviewed_classifications() -> None:
    """The decisions a reviewer would look for first."""
    assert declaration("residents", "id_number").sensitive
    assert declaration("residents", "date_of_birth").category is Category.MINORS
    assert declaration("residents", "name").personal
    assert not declaration("residents", "name").sensitive
    needs = declaration("evacuation_needs", "needs")
    assert needs.sensitive
    assert needs.category is Category.HEALTH
    assert "evacuation.view" in needs.reason
    assert declaration("observations", "value").sensitive
    assert declaration("waste_disposals", "weight_kg").personal
    assert declaration("auth_sessions", "ip").category is Category.ONLINE_ID
    assert declaration("auth_sessions", "user_agent").category is Category.ONLINE_ID
    assert declaration("case_photos", "data").category is Category.FREE_TEXT
    assert declaration("poll_voters", "voter_key").category is Category.CIVIC
    # Ballots are stored apart from the roll: nothing in them is personal.
    assert not any(declaration("poll_ballots", c).personal for c in ("id", "weight"))
    assert declaration("poll_ballots", "id").reason
    # Credentials are encrypted too, but are not anyone's personal data.
    assert not declaration("notification_endpoints", "secret").personal
    assert declaration("notification_endpoints", "recipients").category is Category.CONTACT


def test_lookups_for_export_deletion_and_retention_jobs() -> None:
    audit = retention_of("audit_events")
    assert audit is not None
    assert audit.kind is RetentionKind.LEGAL_HOLD
    assert audit.years == 3
    assert str(audit).startswith("legal hold: 3 years")
    assert retention_of("places") is None
    observations = retention_of("observations")
    assert observations is not None
    assert observations.kind is RetentionKind.CONFIGURED
    assert inv.table_declaration("observations").enforced_by == "linli.telemetry.tasks.purge"
    ident = declaration("residents", "id_number")
    assert ident.legal_basis is LegalBasis.LEGAL_DUTY  # a column override
    assert declaration("residents", "name").legal_basis is LegalBasis.CONTRACT  # the table's
    assert str(declaration("login_attempts", "ip").retention) == "30 days"
    pcs = {(c.table, c.column) for c in personal_columns()}
    assert ("accounts", "email") in pcs
    assert ("places", "name") not in pcs
    assert {(c.table, c.column) for c in sensitive_columns()} <= pcs
    with pytest.raises(KeyError):
        declaration("residents", "no_such_column")
    with pytest.raises(KeyError):
        retention_of("no_such_table")


def test_docs_summary_is_the_one_the_inventory_renders() -> None:
    doc = (ROOT / "docs" / "privacy.md").read_text(encoding="utf-8")
    assert inv.DOC_BEGIN in doc, "docs/privacy.md lost its data-inventory markers"
    assert inv.replace_generated(doc) == doc, (
        "docs/privacy.md is out of date: run "
        "`.venv/bin/python -m linli.privacy.inventory docs/privacy.md`"
    )
    for decl in inv.INVENTORY:
        assert f"`{decl.name}`" in doc


def test_inventory_module_imports_no_domain() -> None:
    source = Path(inv.__file__).read_text(encoding="utf-8")
    modules: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            modules += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.append(node.module)
    linli_modules = [m for m in modules if m.startswith("linli")]
    assert linli_modules == ["linli.core.crypto"]


# --- the checker fails when it should (throwaway schemas) -------------------------------------


def _pets(md: MetaData, *extra: Column[object]) -> Table:
    return Table(
        "pets",
        md,
        Column("id", Integer, primary_key=True),
        Column("species", String(20)),
        *extra,
    )


def _plain(*groups: inv.Columns) -> TableDeclaration:
    """The pets table with no purpose, retention or basis (a table of no one's data)."""
    return table("pets", "pet", Subject.HOUSEHOLD, "a pet", system("id species"), *groups)


def _with(*groups: inv.Columns) -> TableDeclaration:
    """The pets table with a purpose, retention and basis for its personal columns."""
    return table(
        "pets",
        "pet",
        Subject.HOUSEHOLD,
        "a pet registered by a household",
        system("id species"),
        *groups,
        purpose="pet registration",
        retention=days(30),
        legal_basis=LegalBasis.CONTRACT,
    )


def _kinds(problems: list[Problem]) -> list[tuple[str, str, str]]:
    return [(p.kind, p.table, p.column) for p in problems]


def test_checker_reports_an_undeclared_phone_column_and_says_where_to_declare_it() -> None:
    md = MetaData()
    _pets(md, Column("owner_phone", String(20)))
    problems = check(md, [_plain()])
    assert _kinds(problems) == [("undeclared", "pets", "owner_phone")]
    message = str(problems[0])
    assert "pets.owner_phone" in message
    assert "looks personal" in message
    assert inv.INVENTORY_FILE in message
    assert "table('pets', ...)" in message
    # Declared, it passes.
    assert check(md, [_with(personal(Category.CONTACT, "owner_phone"))]) == []


def test_checker_reports_an_undeclared_table() -> None:
    md = MetaData()
    _pets(md)
    problems = check(md, [])
    assert _kinds(problems) == [("undeclared", "pets", "")]
    assert "id, species" in str(problems[0])
    assert check(md, [_plain()]) == []


def test_checker_reports_stale_tables_and_columns() -> None:
    md = MetaData()
    _pets(md)
    gone = table("vets", "pet", Subject.NONE, "gone", system("id"))
    problems = check(md, [_plain(system("microchip")), gone])
    assert _kinds(problems) == [("stale", "vets", ""), ("stale", "pets", "microchip")]


def test_checker_reports_a_column_classified_twice() -> None:
    md = MetaData()
    _pets(md)
    problems = check(md, [_plain(system("species"))])
    assert _kinds(problems) == [("duplicate", "pets", "species")]
    assert _kinds(check(md, [_plain(), _plain()])) == [("duplicate", "pets", "")]


@pytest.mark.parametrize(
    ("column", "hint"),
    [
        (Column("owner_name", String(40)), "'name'"),
        (Column("latitude", String(20)), "'latitude'"),
        (Column("user_agent", String(200)), "'user_agent'"),
        (Column("keeper", Integer, ForeignKey("residents.id")), "residents"),
        (Column("photo_blob", LargeBinary), "file"),
        (Column("secret_word", EncryptedString("pets.secret_word")), "EncryptedString"),
    ],
)
def test_checker_refuses_not_personal_for_personal_looking_columns_without_reason(
    column: Column[object], hint: str
) -> None:
    md = MetaData()
    Table("residents", md, Column("id", Integer, primary_key=True))
    _pets(md, column, Column("owner", String(40)))
    residents = table("residents", "resident", Subject.NONE, "stub", system("id"))
    owner = personal(Category.IDENTITY, "owner")
    problems = check(md, [residents, _with(owner, system(column.name))])
    assert _kinds(problems) == [("looks_personal", "pets", column.name)]
    assert hint in str(problems[0])
    justified = _with(owner, not_personal("a reviewed reason", column.name))
    assert check(md, [residents, justified]) == []


def test_checker_wants_purpose_retention_and_basis_for_personal_and_encrypted_columns() -> None:
    md = MetaData()
    _pets(md, Column("chip", EncryptedString("pets.chip")), Column("owner", String(40)))
    bare = table(
        "pets",
        "pet",
        Subject.HOUSEHOLD,
        "a pet",
        system("id", "species"),
        not_personal("a chip number is the pet's", "chip"),
        personal(Category.IDENTITY, "owner"),
    )
    problems = check(md, [bare])
    assert _kinds(problems) == [("incomplete", "pets", "chip"), ("incomplete", "pets", "owner")]
    assert "purpose, retention, legal basis" in str(problems[1])
    # A column may carry what the table lacks.
    owner_only = table(
        "pets",
        "pet",
        Subject.HOUSEHOLD,
        "a pet",
        system("id", "species"),
        personal(Category.IDENTITY, "chip"),
        personal(
            Category.IDENTITY,
            "owner",
            purpose="p",
            retention=days(1),
            legal_basis=LegalBasis.CONSENT,
        ),
    )
    assert _kinds(check(md, [owner_only])) == [("incomplete", "pets", "chip")]


def test_checker_wants_sensitive_columns_encrypted_or_a_reason() -> None:
    md = MetaData()
    _pets(md, Column("allergies", Text), Column("vaccines", EncryptedString("pets.v")))
    plain = _with(personal(Category.HEALTH, "allergies", "vaccines", sensitive=True))
    assert _kinds(check(md, [plain])) == [("unencrypted", "pets", "allergies")]
    reasoned = _with(
        personal(Category.HEALTH, "vaccines", sensitive=True),
        personal(Category.HEALTH, "allergies", sensitive=True, unencrypted_because="read in bulk"),
    )
    assert check(md, [reasoned]) == []


def test_checker_refuses_retention_on_a_table_of_no_ones_data() -> None:
    md = MetaData()
    _pets(md)
    assert _kinds(check(md, [_with()])) == [("stale", "pets", "")]
    # An encrypted credential needs them even when it is nobody's personal data.
    md = MetaData()
    _pets(md, Column("api_token", EncryptedString("pets.api_token")))
    credential = not_personal("a credential", "api_token")
    assert check(md, [_with(credential)]) == []
    assert _kinds(check(md, [_plain(credential)])) == [("incomplete", "pets", "api_token")]
