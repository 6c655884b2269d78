"""Case tests: actors of the test world and a helper that files a case as a resident."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from linli.account import service as account_service
from linli.case import service as case_service
from linli.case.models import Case
from linli.case.schemas import CaseCreate
from linli.core.actor import Actor
from linli.privacy import consent
from tests.conftest import World


def actor(db: Session, world: World, username: str) -> Actor:
    """The actor of a test-world account, as a request would build it."""
    account = account_service.get_account(db, world.accounts[username])
    return account_service.build_actor(db, account, via="web")


def category_id(db: Session, code: str) -> int:
    case_service.ensure_categories(db)
    found = [c.id for c in case_service.categories(db) if c.code == code]
    assert found, code
    return found[0]


def file_case(
    db: Session,
    world: World,
    *,
    who: str = "alice",
    code: str = "light",
    place: str = "c1-b1",
    text: str = "1号楼楼道灯不亮",
    public: bool = True,
    lat: float | None = None,
    lon: float | None = None,
) -> Case:
    """A case reported by ``who`` and committed."""
    if lat is not None and who in world.residents:
        # A resident's map position needs their consent to precise location (P7).
        consent.seed(db, world.residents[who], "precise_location")
    case = case_service.report(
        db,
        actor(db, world, who),
        CaseCreate(
            category_id=category_id(db, code),
            place_id=world.places[place],
            description=text,
            is_public=public,
            lat=lat,
            lon=lon,
        ),
    )
    db.commit()
    return case


@pytest.fixture
def alice_consents_to_images(db: Session, world: World) -> None:
    """Alice's consent to attaching photos (a separate sensitive purpose, row P7)."""
    consent.seed(db, world.residents["alice"], "images")
    db.commit()
