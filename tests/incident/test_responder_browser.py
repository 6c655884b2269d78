"""The responder's phone page and the registers in a real Chromium.

A responder keeps the phone page open on a phone-sized screen; a cardiac arrest is dispatched to
them and the offer appears without a reload, with the route, its map and the nearest AED; they
accept and report arriving. The pages pass the site's checks (axe-core, target sizes, elder-mode
measurements, no sideways scrolling) in Chinese, English and elder mode.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session, sessionmaker

from linli.account import service as account_service
from linli.account.schemas import AccountCreate
from linli.core.db import make_engine, make_sessionmaker
from linli.core.events import hub
from linli.incident import service
from linli.incident.models import Responder
from linli.incident.schemas import EquipmentCreate, IncidentCreate, ResponderCreate
from tests.conftest import PASSWORD
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    PHONE,
    Site,
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@dataclass
class Seeded:
    responder: int
    maker: sessionmaker[Session]


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    """A first-aider of c1 near building 10, and AEDs at the east gate and the duty room."""
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        staff = account_service.build_actor(
            db, account_service.get_account(db, site.world.accounts["staff1"]), via="cli"
        )
        account = account_service.create_account(
            db, None, AccountCreate(username="medic9", display_name="急救员小周", password=PASSWORD)
        )
        account_service.grant_role(
            db, None, account_id=account.id, role="responder", place_id=site.world.places["c1"]
        )
        responder = service.register_responder(
            db,
            staff,
            ResponderCreate(
                account_id=account.id,
                place_id=site.world.places["c1"],
                display_name="急救员小周",
                kind="volunteer",
                skills=["first_aid"],
                node="building:building-10",
            ),
        )
        for name, node in (("东门AED", "gate:east-gate"), ("值班室AED", "duty_room:duty-room")):
            service.add_equipment(
                db,
                staff,
                EquipmentCreate(place_id=site.world.places["c1"], kind="aed", name=name, node=node),
            )
        db.commit()
        seeded = Seeded(responder.id, maker)
    yield seeded
    engine.dispose()


def _listening(count: int) -> None:
    """Wait until the page's event stream is subscribed (the server runs in this process)."""
    deadline = time.monotonic() + 15
    while hub.subscribers(service.TOPIC) < count:
        assert time.monotonic() < deadline, "the phone page never opened its event stream"
        time.sleep(0.02)


def _dispatch_cardiac(seeded: Seeded, site: Site) -> int:  # noqa: F811
    with seeded.maker() as db:
        staff = account_service.build_actor(
            db, account_service.get_account(db, site.world.accounts["staff1"]), via="cli"
        )
        incident = service.create(
            db,
            staff,
            IncidentCreate(
                place_id=site.world.places["c1-b1"],
                type="cardiac",
                severity=4,
                title="9号楼老人心脏骤停",
                node="building:building-9",
            ),
        )
        offers = service.dispatch(db, staff, incident.id)
        db.commit()
        assert [o.responder_id for o in offers] == [seeded.responder]
        return offers[0].id


def _status(seeded: Seeded) -> str:
    with seeded.maker() as db:
        responder = db.get(Responder, seeded.responder)
        assert responder is not None
        return responder.status


def test_a_responder_answers_a_cardiac_dispatch_on_the_phone(
    visit: Callable[..., Visit],  # noqa: F811
    site: Site,  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit(PHONE)
    tab.login("medic9")
    before = hub.subscribers(service.TOPIC)
    tab.goto("/me/responder")
    page = tab.page
    assert page.locator("#no-offers").count() == 1
    tab.check("zh")
    _listening(before + 1)
    page.evaluate("() => { window.notReloaded = true; }")

    offer_id = _dispatch_cardiac(seeded, site)
    offer = f"#offer-{offer_id}"
    page.wait_for_selector(f'{offer}[data-status="offered"]')
    assert page.evaluate("() => window.notReloaded") is True
    page.wait_for_function(
        "() => document.getElementById('responder-announce').textContent.length > 0"
    )
    assert "9号楼老人心脏骤停" in page.inner_text(f"{offer} h3")
    # The nearest ready AED, the route as named steps and its drawing on the site plan.
    assert "东门AED" in page.inner_text(f"{offer}-aed")
    steps = page.locator(f"#offer-{offer_id}-route li").all_inner_texts()
    assert steps[0].startswith("10号楼")
    assert steps[-1].startswith("9号楼")
    assert page.locator(f"{offer} svg.route-map polyline.map-route").count() == 1
    assert page.locator(f"{offer} svg.route-map .map-aed").count() == 1
    tab.check("zh")

    tab.submit(f"{offer} button.go-accept")
    assert "done=accepted" in page.url
    assert page.locator(f'{offer}[data-status="accepted"]').count() == 1
    tab.check("zh")
    tab.submit(f"{offer} button.go-scene")
    assert "done=on_scene" in page.url
    assert _status(seeded) == "on_scene"
    assert page.locator(f'#responder-{seeded.responder}[data-status="on_scene"]').count() == 1

    # The same page in English and in elder mode (every target at least 60 x 60 px).
    tab.switch_language("en")
    assert "Nearest AED" in page.inner_text(f"{offer}-aed")
    tab.check("en")
    tab.switch_language("zh_Hans_CN")
    tab.switch_elder(True)
    assert page.locator(f"{offer} button.go-scene").count() == 1
    box = page.locator(f"{offer} button.go-scene").bounding_box()
    assert box is not None
    assert box["height"] >= 60
    assert box["width"] >= 60
    tab.check("elder")
    tab.submit(f"{offer} button.secondary")
    assert _status(seeded) == "available"
    tab.check("elder")
    _assert_clean(tab)


def test_the_registers_in_both_languages_and_elder_mode(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    staff = visit()
    staff.login("staff1")

    def bad_forms(mode: str) -> None:
        staff.goto("/console/responders")
        staff.submit('#add-responder button[type="submit"]')
        assert staff.page.locator("#f-display_name-error").count() == 1
        staff.check(mode)
        staff.goto("/console/equipment")
        staff.submit('#add-equipment button[type="submit"]')
        assert staff.page.locator("#f-name-error").count() == 1
        staff.check(mode)

    _three_ways(staff, ["/console/responders", "/console/equipment"], bad_forms)
    _assert_clean(staff)
