"""Searching the audit log over HTTP: auditors see their places only; residents see accesses."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.conftest import World, bearer


def reveal(client: TestClient, world: World, who: str, resident: str, reason: str) -> None:
    r = client.post(
        f"/api/v1/residents/{world.residents[resident]}/reveal",
        json={"fields": ["phone"], "reason": reason},
        headers=bearer(world, who),
    )
    assert r.status_code == 200, r.text


def search(client: TestClient, world: World, who: str, query: str = "") -> list[dict[str, object]]:
    r = client.get(f"/api/v1/audit/events?size=200{query}", headers=bearer(world, who))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == len(body["items"])
    items: list[dict[str, object]] = body["items"]
    return items


def test_auditor_of_c1_sees_c1_events_but_not_c2_events(client: TestClient, world: World) -> None:
    reveal(client, world, "staff1", "alice", "c1 回访")
    reveal(client, world, "staff2", "carol", "c2 回访")
    seen = search(client, world, "auditor1", "&action=resident.sensitive_read")
    assert [(e["actor_username"], e["subject_resident_id"]) for e in seen] == [
        ("staff1", world.residents["alice"])
    ]
    assert seen[0]["reason"] == "c1 回访"
    assert "ip" not in seen[0]
    assert "detail" not in seen[0]
    everything = search(client, world, "auditor1")
    assert everything
    c2_ids = {world.places[k] for k in ("c2", "c2-compound", "c2-b1", "c2-b1u1")}
    assert all(e["place_id"] not in c2_ids for e in everything)
    assert all(e["subject_resident_id"] != world.residents["carol"] for e in everything)
    assert (
        search(client, world, "auditor1", f"&subject_resident_id={world.residents['carol']}") == []
    )
    assert search(client, world, "auditor1", "&actor_username=staff2") == []
    # The district admin sees both communities.
    district = search(client, world, "district", "&action=resident.sensitive_read")
    assert {e["actor_username"] for e in district} == {"staff1", "staff2"}


def test_search_filters_by_time_with_aware_datetimes(client: TestClient, world: World) -> None:
    reveal(client, world, "staff1", "alice", "回访")
    assert search(client, world, "auditor1", "&since=2000-01-01T00:00:00Z")
    assert search(client, world, "auditor1", "&until=2000-01-01T00:00:00%2B08:00") == []
    r = client.get(
        "/api/v1/audit/events?since=2000-01-01T00:00:00", headers=bearer(world, "auditor1")
    )
    assert r.status_code == 422  # a time without a zone is ambiguous


def test_wildcards_in_the_action_filter_are_literal(client: TestClient, world: World) -> None:
    reveal(client, world, "staff1", "alice", "回访")
    assert search(client, world, "auditor1", "&action=resident.") != []
    assert search(client, world, "auditor1", "&action=%25") == []
    assert search(client, world, "auditor1", "&action=_") == []


def test_residents_and_ordinary_staff_cannot_search_the_log(
    client: TestClient, world: World
) -> None:
    for who in ("alice", "carol", "staff1", "pm1", "grid1"):
        r = client.get("/api/v1/audit/events", headers=bearer(world, who))
        assert r.status_code == 403, who
        assert r.headers["content-type"].startswith("application/problem+json")
        assert r.json()["type"].endswith("/permission_denied")


def test_access_log_shows_only_accesses_to_the_callers_own_data(
    client: TestClient, world: World
) -> None:
    reveal(client, world, "staff1", "alice", "回访")
    reveal(client, world, "staff2", "carol", "回访")
    client.get(f"/api/v1/residents/{world.residents['alice']}", headers=bearer(world, "district"))
    alice = client.get("/api/v1/me/access-log", headers=bearer(world, "alice")).json()
    actions = {(e["action"], e["actor_username"]) for e in alice["items"]}
    assert ("resident.sensitive_read", "staff1") in actions
    assert ("resident.viewed", "district") in actions
    assert all(e["actor_username"] != "staff2" for e in alice["items"])
    carol = client.get("/api/v1/me/access-log", headers=bearer(world, "carol")).json()
    assert {e["actor_username"] for e in carol["items"] if e["action"] != "account.created"} <= {
        "staff2",
        "carol",
    }
    # Staff without a resident record have no access log of their own.
    assert client.get("/api/v1/me/access-log", headers=bearer(world, "staff1")).status_code == 403
