"""`linli place create`: the first places of a fresh installation, before any account exists."""

from __future__ import annotations

from sqlalchemy import select
from tests.cli.conftest import Invoke

from linli.audit.models import AuditEvent
from linli.config import Settings
from linli.core.db import make_engine, make_sessionmaker, session_scope
from linli.place import service as place_service


def test_a_fresh_installation_gets_its_places_then_its_first_administrator(
    cli: Invoke, settings: Settings
) -> None:
    assert cli("place", "create", "bj", "--name", "北京市", "--kind", "city").exit_code == 0
    made = cli(
        "place", "create", "bj-dc", "--name", "东城区", "--kind", "district", "--parent", "bj"
    )
    assert made.exit_code == 0, made.output
    office = cli(
        "place",
        "create",
        "bj-dc-dhm",
        "--name",
        "东华门街道",
        "--kind",
        "street_office",
        "--parent",
        "bj-dc",
    )
    assert office.exit_code == 0, office.output
    assert "东华门街道 (bj-dc-dhm)" in office.stdout

    # Each refusal is one clear line, exit code 1, and adds nothing.
    refusals = {
        ("nowhere", "某地", "community", "no-such-parent"): "no place with code no-such-parent",
        ("bj-dc-dhm", "又一个", "community", "bj-dc"): "already exists",
        ("bj-x", "某区", "district", "bj-dc-dhm"): "cannot sit under",
        ("bj-y", "某处", "village", "bj"): "--kind must be one of",
        ("bad code!", "某处", "community", "bj-dc-dhm"): "code",
    }
    for (code, name, kind, parent), message in refusals.items():
        result = cli("place", "create", code, "--name", name, "--kind", kind, "--parent", parent)
        assert result.exit_code == 1, (code, result.output)
        assert message in result.output, (code, result.output)

    created = cli(
        "user",
        "create",
        "admin.district",
        "--name",
        "陈建华",
        "--role",
        "district_admin",
        "--place",
        "bj-dc-dhm",
        "--password-stdin",
        stdin="lantern-harbour-77\n",
    )
    assert created.exit_code == 0, created.output

    engine = make_engine(settings.effective_database_url)
    try:
        with session_scope(make_sessionmaker(engine)) as db:
            office_place = place_service.by_code(db, "bj-dc-dhm")
            assert office_place is not None
            assert [p.code for p in place_service.ancestors(db, office_place)] == [
                "bj",
                "bj-dc",
                "bj-dc-dhm",
            ]
            assert place_service.by_code(db, "nowhere") is None
            assert place_service.by_code(db, "bj-x") is None
            audited = db.scalars(
                select(AuditEvent.actor_username).where(AuditEvent.action == "place.created")
            ).all()
            assert audited == ["system", "system", "system"]
    finally:
        engine.dispose()
