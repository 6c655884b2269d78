"""With the demo data, the console shows a collection route over exactly the full bins."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from linli.config import Settings
from linli.demo import seed
from tests.conftest import login

pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def test_the_demo_shows_a_collection_route_for_the_full_bins(
    client: TestClient, db: Session, settings: Settings
) -> None:
    credentials = seed.seed_demo(db, settings.data_dir)
    db.commit()
    community = db.execute(text("SELECT id FROM places WHERE code = 'demo-c1'")).scalar_one()
    full = {
        code
        for code, level, threshold in db.execute(
            text(
                "SELECT code, fill_level, fill_threshold FROM waste_containers "
                "WHERE community_id = :c"
            ),
            {"c": community},
        )
        if level >= threshold
    }
    assert len(full) >= 4
    manager = next(c for c in credentials if c["role"] == "property_manager")
    login(client, manager["username"], manager["password"])
    page = client.get(f"/console/waste/plan?community={community}")
    assert page.status_code == 200
    assert "<polyline" in page.text
    stops = re.findall(r"<li>\d\d:\d\d · (\S+) ", page.text)
    assert sorted(stops) == sorted(full)  # every full bin once, nothing else
    api = client.get(
        f"/api/v1/waste/plans/latest?community_id={community}",
        headers={"Authorization": f"Bearer {manager['api_key']}"},
    ).json()
    assert api["unserved"] == []
    assert sorted(s["code"] for r in api["routes"] for s in r["stops"]) == sorted(full)
    # Sorting has happened: rates and My sorting have something to show.
    rates = client.get(f"/console/waste/rates?community={community}")
    assert rates.status_code == 200
    flagged = db.execute(text("SELECT count(*) FROM waste_disposals WHERE flagged")).scalar_one()
    assert flagged >= 2
