"""Points pages: a resident's statement and redemption (one question per screen), the
leaderboard choice in elder mode, and the staff console in both languages."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.points import service as points_service
from linli.points.models import LeaderboardEntry, Redemption
from tests.conftest import World, csrf_of
from tests.points.conftest import actor, earn, make_reward

# Page rendering does not depend on the backend; the service tests cover both.
pytestmark = pytest.mark.parametrize("database", ["sqlite"], indirect=True)


def _post(client: TestClient, page: str, url: str, data: dict[str, str]) -> object:
    token = csrf_of(client.get(page).text)
    return client.post(url, data={**data, "csrf_token": token}, follow_redirects=False)


def test_resident_sees_the_statement_and_redeems(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    earn(db, world.households["h1"], 20)
    reward_id = make_reward(db, world, cost=15, stock=1, name="节能灯")
    db.commit()
    alice = make_client("alice")
    alice.cookies.set("linli_lang", "en")
    page = alice.get("/me/points")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert "Your household has 20 points." in page.text
    assert "Volunteering" in page.text
    assert f'href="/me/points/rewards/{reward_id}"' in page.text
    assert 'href="/me/points"' in page.text  # the navigation entry
    question = alice.get(f"/me/points/rewards/{reward_id}")
    assert "Exchange 15 points for “节能灯”?" in question.text
    r = _post(alice, f"/me/points/rewards/{reward_id}", f"/me/points/rewards/{reward_id}", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    page = alice.get("/me/points?done=redeemed")
    assert "Redeemed: 节能灯" in page.text
    assert "Waiting to be collected" in page.text
    assert "Your household has 5 points." in page.text
    # Another resident of the community sees their own (empty) statement, not alice's.
    bob = make_client("bob")
    bob.cookies.set("linli_lang", "en")
    assert "Your household has 0 points." in bob.get("/me/points").text
    assert bob.get(f"/me/points/rewards/{reward_id}").status_code == 200
    carol = make_client("carol")
    assert carol.get(f"/me/points/rewards/{reward_id}").status_code == 404
    redemption = db.scalars(select(Redemption)).one()
    r = _post(carol, "/me/points", f"/me/points/redemptions/{redemption.id}/cancel", {})
    assert r.status_code == 404  # type: ignore[attr-defined]


def test_elder_mode_leaderboard_choice_one_question_per_screen(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    alice = make_client("alice")
    _post(alice, "/", "/prefs", {"elder": "1", "next": "/"})
    page = alice.get("/me/points/leaderboard/choice").text
    assert 'name="opted_in"' in page
    assert 'name="display_name"' not in page
    r = _post(
        alice,
        "/me/points/leaderboard/choice",
        "/me/points/leaderboard/choice",
        {"step": "join", "opted_in": "1"},
    )
    assert r.headers["location"] == "/me/points/leaderboard/choice?step=name"  # type: ignore[attr-defined]
    page = alice.get("/me/points/leaderboard/choice?step=name").text
    assert 'name="display_name"' in page
    assert 'name="opted_in"' not in page
    r = _post(
        alice,
        "/me/points/leaderboard/choice?step=name",
        "/me/points/leaderboard/choice",
        {"step": "name", "display_name": "x" * 21},
    )
    assert r.status_code == 422  # type: ignore[attr-defined]
    r = _post(
        alice,
        "/me/points/leaderboard/choice?step=name",
        "/me/points/leaderboard/choice",
        {"step": "name", "display_name": "绿色家庭"},
    )
    assert r.status_code == 303  # type: ignore[attr-defined]
    db.expire_all()
    entry = db.get(LeaderboardEntry, world.households["h1"])
    assert entry is not None
    assert (entry.opted_in, entry.display_name) == (True, "绿色家庭")
    assert "绿色家庭" in alice.get("/me/points/leaderboard").text


def test_staff_console_in_chinese_and_outsiders_refused(
    make_client: Callable[..., TestClient], db: Session, world: World
) -> None:
    earn(db, world.households["h1"], 20)
    reward_id = make_reward(db, world, cost=10, stock=3)
    found = points_service.redeem(db, actor(db, world, "alice"), reward_id)
    db.commit()
    staff = make_client("staff1")
    staff.cookies.set("linli_lang", "zh_Hans_CN")
    home = staff.get("/console/points")
    assert home.status_code == 200
    assert "积分与奖品" in home.text
    assert f"/console/points/redemptions/{found.id}/confirm" in home.text
    r = _post(staff, "/console/points", f"/console/points/redemptions/{found.id}/confirm", {})
    assert r.status_code == 303  # type: ignore[attr-defined]
    rules = staff.get("/console/points/rules")
    assert rules.status_code == 200
    assert 'name="daily_cap"' in rules.text
    rewards = staff.get("/console/points/rewards")
    assert 'name="stock"' in rewards.text
    vol = staff.get("/console/points/volunteering")
    token = vol.text.split('name="token" value="')[1].split('"')[0]
    data = {"household_id": str(world.households["h2"]), "hours": "2", "token": token}
    r = _post(staff, "/console/points/volunteering", "/console/points/volunteering", data)
    assert r.status_code == 200  # type: ignore[attr-defined]
    r = _post(staff, "/console/points/volunteering", "/console/points/volunteering", data)
    assert points_service.balance_of_household(db, world.households["h2"]) == 20
    statement = staff.get(f"/console/points/households/{world.households['h1']}")
    assert statement.status_code == 200
    assert "志愿服务" in statement.text
    token = statement.text.split('name="token" value="')[1].split('"')[0]
    url = f"/console/points/households/{world.households['h1']}"
    r = _post(staff, url, f"{url}/adjust", {"amount": "-3", "reason": "登记有误", "token": token})
    assert r.status_code == 303  # type: ignore[attr-defined]
    after = staff.get(r.headers["location"]).text  # type: ignore[attr-defined]
    assert "调整已记录" in after
    assert "调整：登记有误" in after
    r = _post(staff, url, f"{url}/adjust", {"amount": "abc", "reason": "", "token": token})
    assert r.status_code == 422  # type: ignore[attr-defined]
    for who in ("staff2", "alice", "pm1"):
        other = make_client(who)
        assert other.get(f"/console/points/households/{world.households['h1']}").status_code in (
            403,
            404,
        )
    assert make_client("alice").get("/console/points").status_code == 403
