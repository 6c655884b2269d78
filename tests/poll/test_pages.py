"""Poll pages: a resident votes and gets a receipt, checks it, reads results; staff set up,
open, record a paper ballot and close; in both languages; public results only when public."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.poll.models import Ballot
from tests.conftest import World, csrf_of
from tests.poll.helpers import make_poll, option_ids


def _client(make_client: object, who: str | None, lang: str = "en") -> TestClient:
    client: TestClient = make_client(who)  # type: ignore[operator]  # the fixture's factory
    client.cookies.set("linli_lang", lang)
    return client


def test_resident_votes_gets_a_receipt_and_checks_it(
    make_client: object, world: World, db: Session
) -> None:
    poll = make_poll(db, world)
    yes, _no = option_ids(db, poll.id)
    c = _client(make_client, "alice")
    listing = c.get("/polls")
    assert listing.status_code == 200
    assert "Repaint the gates?" in listing.text
    page = c.get(f"/polls/{poll.id}")
    assert page.status_code == 200
    assert 'type="radio"' in page.text
    # No choice: the question again with an error text.
    r = c.post(f"/polls/{poll.id}/vote", data={"csrf_token": csrf_of(page.text)})
    assert r.status_code == 422
    assert 'role="alert"' in r.text
    r = c.post(f"/polls/{poll.id}/vote", data={"csrf_token": csrf_of(page.text), "option_id": yes})
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    match = re.search(r'<code id="receipt">([^<]+)</code>', r.text)
    assert match
    receipt = match.group(1)
    again = c.get(f"/polls/{poll.id}")
    assert "You have voted" in again.text
    assert 'type="radio"' not in again.text
    check = c.get(f"/polls/{poll.id}/check")
    r = c.post(
        f"/polls/{poll.id}/check", data={"csrf_token": csrf_of(check.text), "receipt": receipt}
    )
    assert "This ballot is counted." in r.text
    r = c.post(
        f"/polls/{poll.id}/check", data={"csrf_token": csrf_of(check.text), "receipt": "nope"}
    )
    assert "No ballot with this receipt is counted." in r.text


def test_staff_console_set_up_open_paper_ballot_close_in_chinese(
    make_client: object, world: World, db: Session
) -> None:
    c = _client(make_client, "staff1", lang="zh_Hans_CN")
    form = c.get("/console/polls/new")
    assert form.status_code == 200
    assert "新建投票" in form.text
    token = csrf_of(form.text)
    bad = c.post("/console/polls/new", data={"csrf_token": token, "title": "x", "options": "a"})
    assert bad.status_code == 422
    r = c.post(
        "/console/polls/new",
        data={
            "csrf_token": token,
            "place_id": str(world.places["c1"]),
            "title": "加装电梯？",
            "options": "同意\n不同意",
            "electorate": "one_per_household",
            "matter": "ordinary",
            "ballot_kind": "secret",
            "public_results": "1",
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    url = r.headers["location"]
    pid = int(url.rsplit("/", 1)[1])
    assert c.post(f"{url}/open", data={"csrf_token": token}, follow_redirects=False).is_redirect
    page = c.get(url)
    assert "记录纸质或协助投票" in page.text
    option = re.search(r'name="option_id" value="(\d+)"', page.text)
    assert option
    r = c.post(
        f"{url}/paper",
        data={
            "csrf_token": token,
            "resident_id": str(world.residents["bob"]),
            "option_id": option.group(1),
            "via": "paper",
        },
    )
    assert r.status_code == 200
    assert '<code id="receipt">' in r.text
    assert db.scalar(select(func.count()).select_from(Ballot)) == 1
    assert c.post(f"{url}/close", data={"csrf_token": token}, follow_redirects=False).is_redirect
    results = c.get(f"/polls/{pid}/results")
    assert results.status_code == 200
    assert "同意" in results.text
    # Public results: anyone may read them once closed.
    anonymous = _client(make_client, None)
    assert anonymous.get(f"/polls/{pid}/results").status_code == 200


def test_private_results_and_console_are_refused(
    make_client: object, world: World, db: Session
) -> None:
    poll = make_poll(db, world, public_results=False)
    anonymous = _client(make_client, None)
    r = anonymous.get(f"/polls/{poll.id}/results")
    assert r.status_code in (303, 401, 404)
    carol = _client(make_client, "carol")
    assert carol.get(f"/polls/{poll.id}").status_code == 404
    assert carol.get("/console/polls").status_code == 403
    alice = _client(make_client, "alice")
    # Still open: no results yet.
    assert alice.get(f"/polls/{poll.id}/results").status_code == 409
