"""Sharing pages in a real Chromium: the registry and the log for an administrator, the list of
what left for a resident, each in Chinese, in English and in elder mode (axe-core, elder-mode
measurements, no sideways scrolling)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from linli.core.db import make_engine, make_sessionmaker
from tests.sharing.conftest import open_incident, recipient
from tests.web.test_browser import (  # noqa: F401  # browser, site and visit are fixtures
    Site,
    Visit,
    _assert_clean,
    _three_ways,
    browser,
    site,
    visit,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def recipient_id(site: Site) -> Iterator[int]:  # noqa: F811
    """A recipient allowed the title and the rooms of residents, and one incident sent to it."""
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        made = recipient(db, site.world, fields=["headline", "contact_rooms"], name="幸福派出所")
        open_incident(db, site.world, title="1号楼厨房起火")
    yield made.id
    engine.dispose()


def test_sharing_pages_for_an_administrator_and_a_resident(
    visit: Callable[..., Visit],  # noqa: F811
    recipient_id: int,
) -> None:
    admin = visit()
    admin.login("admin1")

    def refused_form(mode: str) -> None:
        admin.goto("/console/sharing/new")
        admin.page.fill("#f-name", "")
        admin.submit('form[action="/console/sharing"] button[type="submit"]')
        assert admin.page.locator("#f-place_id-error").count() == 1
        admin.check(mode)

    _three_ways(
        admin,
        [
            "/console/sharing",
            "/console/sharing/new",
            f"/console/sharing/{recipient_id}",
            "/console/sharing/disclosures",
        ],
        refused_form,
    )
    admin.goto("/console/sharing/disclosures")
    assert "1号楼厨房起火" in admin.page.inner_text("main")
    _assert_clean(admin)

    resident = visit()
    resident.login("alice")
    _three_ways(resident, ["/me/disclosures"])
    assert "幸福派出所" in resident.page.inner_text("main")
    _assert_clean(resident)
