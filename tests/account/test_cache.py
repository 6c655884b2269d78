"""The per-process cache of API-key actors: committed changes clear it at once."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from linli.account.cache import api_key_actors
from linli.app import create_app
from linli.config import Settings
from tests.conftest import World, bearer


def _revoke_behind_the_apps_back(db: Session, world: World, username: str) -> None:
    """What another process of a scaled-out deployment does: change the row directly."""
    prefix = world.api_keys[username].split("_")[1]
    db.execute(
        text("UPDATE api_keys SET revoked_at = CURRENT_TIMESTAMP WHERE prefix = :p"), {"p": prefix}
    )
    db.commit()


def test_revoking_through_the_service_takes_effect_at_once(
    client: TestClient, world: World
) -> None:
    alice = bearer(world, "alice")
    assert client.get("/api/v1/me", headers=alice).status_code == 200
    key_id = client.get("/api/v1/me/api-keys", headers=alice).json()[0]["id"]
    assert client.delete(f"/api/v1/me/api-keys/{key_id}", headers=alice).status_code == 204
    assert client.get("/api/v1/me", headers=alice).status_code == 401


def test_granting_a_role_is_seen_by_the_next_request(client: TestClient, world: World) -> None:
    bob = bearer(world, "bob")
    before = client.get("/api/v1/me", headers=bob).json()["grants"]
    r = client.post(
        f"/api/v1/accounts/{world.accounts['bob']}/grants",
        json={"role": "caregiver", "place_id": world.places["c1"]},
        headers=bearer(world, "admin1"),
    )
    assert r.status_code == 201, r.text
    after = client.get("/api/v1/me", headers=bob).json()["grants"]
    assert len(after) == len(before) + 1


def test_a_change_by_another_process_is_seen_after_the_cache_time(
    client: TestClient, db: Session, world: World
) -> None:
    carol = bearer(world, "carol")
    assert client.get("/api/v1/me", headers=carol).status_code == 200
    _revoke_behind_the_apps_back(db, world, "carol")
    # Within LINLI_AUTH_CACHE_SECONDS this process still knows the key ...
    assert client.get("/api/v1/me", headers=carol).status_code == 200
    # ... and once the entry is gone it looks again and refuses.
    api_key_actors.clear()
    assert client.get("/api/v1/me", headers=carol).status_code == 401


def test_cache_can_be_turned_off(settings: Settings, db: Session, world: World) -> None:
    app = create_app(settings.model_copy(update={"auth_cache_seconds": 0}))
    with TestClient(app) as c:
        staff = bearer(world, "staff1")
        assert c.get("/api/v1/me", headers=staff).status_code == 200
        _revoke_behind_the_apps_back(db, world, "staff1")
        assert c.get("/api/v1/me", headers=staff).status_code == 401
    app.state.engine.dispose()
