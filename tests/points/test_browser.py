"""Points pages in a real Chromium: a resident redeems a reward (one question per screen) and
the statement, reward, leaderboard and console pages pass the site's checks (axe-core, target
sizes, elder-mode measurements, no sideways scrolling) in Chinese, in English and in elder
mode."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest

from linli.core.db import make_engine, make_sessionmaker
from linli.points import service as points_service
from linli.points.schemas import LeaderboardChoice
from tests.points.conftest import actor, earn, make_reward
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


@dataclass
class Seeded:
    reward: int
    household: int


@pytest.fixture(scope="module")
def seeded(site: Site) -> Iterator[Seeded]:  # noqa: F811
    engine = make_engine(site.database)
    maker = make_sessionmaker(engine)
    with maker() as db:
        h1 = site.world.households["h1"]
        earn(db, h1, 40, tag="browser")
        reward = make_reward(db, site.world, cost=10, stock=5, name="环保购物袋")
        points_service.set_leaderboard_choice(
            db, actor(db, site.world, "alice"), LeaderboardChoice(opted_in=True)
        )
        db.commit()
        seeded = Seeded(reward=reward, household=h1)
    yield seeded
    engine.dispose()


def test_resident_redeems_and_pages_are_accessible(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("alice")
    tab.goto(f"/me/points/rewards/{seeded.reward}")
    tab.submit('main form button[type="submit"]')
    assert "/me/points" in tab.page.url
    assert tab.page.locator(".notice").count() >= 1
    paths = [
        "/me/points",
        f"/me/points/rewards/{seeded.reward}",
        "/me/points/leaderboard",
        "/me/points/leaderboard/choice",
    ]
    _three_ways(tab, paths)
    _assert_clean(tab)


def test_staff_console_is_accessible(
    visit: Callable[..., Visit],  # noqa: F811
    seeded: Seeded,
) -> None:
    tab = visit()
    tab.login("staff1")
    paths = [
        "/console/points",
        "/console/points/rules",
        "/console/points/rewards",
        "/console/points/volunteering",
        f"/console/points/households/{seeded.household}",
    ]
    _three_ways(tab, paths)
    _assert_clean(tab)
