"""The rights pages (R1-R4): they render in both languages and elder mode, carry CSRF tokens,
and the self-service deletion takes two steps with the password. SQLite only: the pages do not
depend on the database engine (tests/privacy/test_subject.py runs the logic on both)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PASSWORD, World, csrf_of


@pytest.fixture(params=["sqlite"])
def database(request: pytest.FixtureRequest, sqlite_template: Any, tmp_path: Any) -> Any:
    import shutil

    from sqlalchemy.engine import make_url

    from tests.conftest import Template

    src = make_url(sqlite_template.url).database
    target = tmp_path / "linli.db"
    shutil.copyfile(src, target)
    return Template("sqlite", f"sqlite:///{target}", sqlite_template.world)


def test_rights_pages_and_two_step_deletion(make_client: Any, world: World) -> None:
    alice: TestClient = make_client("alice")
    for lang in ("zh", "en"):
        home = alice.get("/")
        alice.post(
            "/prefs",
            data={"elder": "1", "lang": lang, "next": "/", "csrf_token": csrf_of(home.text)},
        )
        data = alice.get("/me/data")
        assert data.status_code == 200
        assert "/me/data/export?format=json" in data.text
        requests = alice.get("/me/requests")
        assert requests.status_code == 200
        assert 'name="csrf_token"' in requests.text
        assert ("我的数据申请" if lang == "zh" else "My data requests") in requests.text
        assert "elder" in requests.text
    download = alice.get("/me/data/export?format=csv")
    assert download.headers["content-type"] == "application/zip"
    made = alice.post(
        "/me/requests/links",
        data={"processor": "某律所", "hours": "24", "csrf_token": csrf_of(requests.text)},
    )
    assert made.status_code == 201
    assert "/privacy/exports/" in made.text
    staff = make_client("staff1")
    queue = staff.get("/console/privacy-requests")
    assert queue.status_code == 200
    erased = staff.post(
        "/console/privacy-requests/erase",
        data={
            "resident_id": world.residents["alan"],
            "reason": "搬走了",
            "csrf_token": csrf_of(queue.text),
        },
        follow_redirects=False,
    )
    assert erased.status_code == 303
    assert make_client("bob").get("/console/privacy-requests").status_code == 403

    step1 = alice.get("/me/deletion")
    assert step1.status_code == 200
    assert 'type="password"' in step1.text
    unconfirmed = alice.post(
        "/me/deletion", data={"password": PASSWORD, "csrf_token": csrf_of(step1.text)}
    )
    assert unconfirmed.status_code == 422
    done = alice.post(
        "/me/deletion",
        data={"password": PASSWORD, "confirm": "yes", "csrf_token": csrf_of(step1.text)},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert alice.get("/me/requests", follow_redirects=False).status_code in (302, 303, 401)


def test_staff_delete_a_resident_who_moved_away(client: TestClient, world: World) -> None:
    """R4 by staff: a reason is required, staff of another community cannot, and the resident
    is gone from the search afterwards."""
    from tests.conftest import bearer

    carol = world.residents["carol"]
    url = f"/api/v1/residents/{carol}/erasure"
    assert client.post(
        url, json={"reason": "搬走了"}, headers=bearer(world, "staff1")
    ).status_code in (
        403,
        404,
    )
    assert client.post(url, json={"reason": ""}, headers=bearer(world, "staff2")).status_code == 422
    done = client.post(url, json={"reason": "搬走了"}, headers=bearer(world, "staff2"))
    assert done.status_code == 200, done.text
    assert done.json()["via"] == "staff"
    found = client.get("/api/v1/residents?name=张三芳", headers=bearer(world, "staff2"))
    assert found.json()["total"] == 0
