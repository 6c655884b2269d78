"""Open311 GeoReport v2: a real client library against a real server, both formats, errors."""

from __future__ import annotations

import datetime as dt
from typing import Any

import georeport
import httpx
import pytest
import requests
import xmltodict
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from linli.case import service as case_service
from linli.case.models import Case
from linli.case.schemas import CaseCreate
from linli.core.time import utc_now
from linli.privacy import consent
from tests.case.conftest import actor, file_case
from tests.conftest import World
from tests.standards.open311.conftest import TIMEOUT, from_xml, plain

V2 = "/open311/v2"


def _same(client: TestClient, path: str, params: dict[str, str] | None = None) -> Any:
    """The JSON and XML answers of ``path`` carry the same data; returns the JSON."""
    j = client.get(f"{V2}/{path}.json", params=params)
    x = client.get(f"{V2}/{path}.xml", params=params)
    assert j.status_code == x.status_code
    assert j.headers["content-type"].startswith("application/json")
    assert x.headers["content-type"].startswith("text/xml")
    assert plain(j.json()) == plain(from_xml(x.content)), path
    return j.json()


def _cases(db: Session) -> int:
    db.expire_all()
    return int(db.scalar(select(func.count()).select_from(Case)) or 0)


@pytest.fixture
def categories(db: Session) -> None:
    case_service.ensure_categories(db)
    db.commit()


@pytest.mark.usefixtures("categories")
def test_georeport_client_creates_and_reads_back_in_json_and_xml(
    server: str, world: World, db: Session
) -> None:
    root = f"{server}{V2}"
    as_json = georeport.GeoReport(root, output_format="json")
    as_xml = georeport.GeoReport(root, output_format="xml")

    services = as_json.get_service_list()
    codes = [s["service_code"] for s in services]
    assert "light" in codes
    assert "water_leak" in codes
    xml_services = as_xml.get_service_list()
    assert plain(services) == plain(xml_services)
    light = next(s for s in services if s["service_code"] == "light")
    assert light["metadata"] is True
    assert light["type"] == "realtime"

    definition = as_json.get_service_definition("light")
    assert definition["attributes"][0]["code"] == "location_detail"
    assert as_xml.get_service_definition("light")["service_code"] == "light"

    # Alice sends a map position below: that needs her consent to precise location (P7).
    consent.seed(db, world.residents["alice"], "precise_location")
    db.commit()
    # georeport reads only; the POST is the spec's form-encoded request with the same transport.
    posted = requests.post(
        f"{root}/requests.json",
        data={
            "api_key": world.api_keys["alice"],
            "service_code": "light",
            "lat": "31.2304",
            "long": "121.4737",
            "description": "The stair light on floor 3 is out",
            "attribute[location_detail]": "floor 3, by the lift",
        },
        timeout=10,
    )
    assert posted.status_code == 200, posted.text
    (created,) = posted.json()
    ref = created["service_request_id"]
    assert created["token"] == ref

    one = as_json.get_service_request(ref)
    assert one["service_request_id"] == ref
    assert one["status"] == "open"
    assert one["service_code"] == "light"
    assert "floor 3, by the lift" in one["description"]
    # Never the reporter, nor the exact location.
    text = str(one)
    assert "alice" not in text.lower()
    assert "31.23" not in text
    assert "lat" not in one
    assert plain(one) == plain(as_xml.get_service_request(ref))

    listed = as_json.get_service_requests(service_request_id=ref)
    assert [r["service_request_id"] for r in listed] == [ref]
    assert plain(listed[0]) == plain(as_xml.get_service_requests(service_request_id=ref))

    token = httpx.get(f"{root}/tokens/{ref}.json", timeout=TIMEOUT).json()
    assert token == [{"service_request_id": ref, "token": ref}]

    # The XML reply to the POST carries the same data as the JSON reply.
    posted_xml = requests.post(
        f"{root}/requests.xml",
        data={
            "api_key": world.api_keys["alice"],
            "service_code": "rubbish",
            "address_string": "Building 1 bins",
            "description": "Bins not emptied since Monday",
        },
        timeout=10,
    )
    assert posted_xml.status_code == 200
    request = xmltodict.parse(posted_xml.content)["service_requests"]["request"]
    assert request["service_request_id"] == request["token"]
    assert as_json.get_service_request(request["service_request_id"])["service_code"] == "rubbish"


@pytest.mark.usefixtures("categories")
def test_discovery_services_and_definitions_agree_across_formats(client: TestClient) -> None:
    discovery = _same(client, "discovery")
    assert discovery["endpoints"][0]["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert "text/xml" in discovery["endpoints"][0]["formats"]
    services = _same(client, "services")
    assert {s["group"] for s in services} >= {"property_manager", "community_staff"}
    _same(client, "services/light")


@pytest.mark.usefixtures("categories")
def test_status_mapping_is_honest_about_referral_and_duplicates(
    client: TestClient, world: World, db: Session
) -> None:
    first = file_case(db, world, text="Lamp post out by gate 2")
    second = file_case(db, world, text="Lamp at gate 2 broken")
    third = file_case(db, world, code="outage", text="No water since morning")
    staff = actor(db, world, "staff1")
    case_service.mark_duplicate(db, staff, second.id, first.id)
    case_service.refer(db, staff, third.id, "Water company")
    db.commit()

    rows = {r["service_request_id"]: r for r in _same(client, "requests")}
    assert rows[first.ref]["status"] == "open"
    assert rows[second.ref]["status"] == "closed"
    assert first.ref in rows[second.ref]["status_notes"]
    assert rows[third.ref]["status"] == "closed"
    notes = rows[third.ref]["status_notes"]
    assert "referred to Water company" in notes
    assert "not been fixed" in notes

    closed = client.get(f"{V2}/requests.json", params={"status": "closed"}).json()
    assert {r["service_request_id"] for r in closed} == {second.ref, third.ref}
    opened = client.get(f"{V2}/requests.json", params={"status": "open"}).json()
    assert {r["service_request_id"] for r in opened} == {first.ref}
    outage = client.get(f"{V2}/requests.json", params={"service_code": "outage"}).json()
    assert [r["service_request_id"] for r in outage] == [third.ref]
    page = client.get(f"{V2}/requests.json", params={"page": "2", "page_size": "2"}).json()
    assert len(page) == 1
    future = (utc_now() + dt.timedelta(days=1)).isoformat()
    assert client.get(f"{V2}/requests.json", params={"start_date": future}).json() == []

    updates = _same(
        client,
        "servicerequestupdates",
        {"start_date": (utc_now() - dt.timedelta(hours=1)).isoformat()},
    )
    mine = [u for u in updates if u["service_request_id"] == third.ref]
    assert [u["status"] for u in mine] == ["open", "closed"]
    assert mine[-1]["external_status_code"] == "referred"


@pytest.mark.usefixtures("categories")
def test_private_cases_of_another_community_are_never_listed(
    client: TestClient, world: World, db: Session
) -> None:
    noise = file_case(db, world, who="carol", code="noise", place="c2", text="Loud music at 2am")
    hidden = file_case(db, world, who="carol", place="c2", text="Light in my stair", public=False)
    shown = file_case(db, world, who="carol", place="c2", text="Light by the gate")
    rows = client.get(f"{V2}/requests.json").json()
    refs = {r["service_request_id"] for r in rows}
    assert shown.ref in refs
    assert noise.ref not in refs
    assert hidden.ref not in refs
    by_id = client.get(
        f"{V2}/requests.json", params={"service_request_id": f"{noise.ref},{hidden.ref}"}
    )
    assert by_id.json() == []
    for ref in (noise.ref, hidden.ref):
        r = client.get(f"{V2}/requests/{ref}.json")
        assert r.status_code == 404
        assert r.json()[0]["code"] == 404
    updates = client.get(f"{V2}/servicerequestupdates.json").json()
    assert {u["service_request_id"] for u in updates} == {shown.ref}


@pytest.mark.usefixtures("categories")
@pytest.mark.parametrize(
    ("form", "status"),
    [
        ({"api_key": "lk_bogus_key"}, 403),
        ({}, 403),
        ({"service_code": "nope"}, 404),
        ({"description": ""}, 400),
        ({"lat": "", "long": "", "address_string": ""}, 400),
        ({"lat": "north", "long": "121.4"}, 400),
        ({"lat": "123", "long": "121.4"}, 400),
        ({"service_code": ""}, 400),
    ],
)
def test_bad_posts_answer_in_the_spec_error_format_and_store_nothing(
    client: TestClient, world: World, db: Session, form: dict[str, str], status: int
) -> None:
    base = {
        "api_key": world.api_keys["alice"],
        "service_code": "light",
        "lat": "31.2",
        "long": "121.4",
        "description": "The light is out",
    }
    data = {**base, **form}
    if not form:
        del data["api_key"]
    before = _cases(db)
    j = client.post(f"{V2}/requests.json", data=data)
    assert j.status_code == status, j.text
    (error,) = j.json()
    assert error["code"] == status
    assert error["description"]
    x = client.post(f"{V2}/requests.xml", data=data)
    assert x.status_code == status
    parsed = xmltodict.parse(x.content)["errors"]["error"]
    assert parsed == {"code": str(status), "description": error["description"]}
    assert _cases(db) == before


@pytest.mark.usefixtures("categories")
def test_only_resident_keys_may_post_and_reads_reject_bad_input(
    client: TestClient, world: World, db: Session
) -> None:
    r = client.post(
        f"{V2}/requests.json",
        data={
            "api_key": world.api_keys["staff1"],
            "service_code": "light",
            "address_string": "gate",
            "description": "The light is out",
        },
    )
    assert r.status_code == 403
    assert "resident" in r.json()[0]["description"]
    assert client.get(f"{V2}/services/nope.json").status_code == 404
    x = client.get(f"{V2}/services/nope.xml")
    assert x.status_code == 404
    assert b"<errors><error><code>404</code>" in x.content
    assert client.get(f"{V2}/services.html").status_code == 404
    for params in ({"start_date": "yesterday"}, {"status": "fixed"}, {"page_size": "0"}):
        bad = client.get(f"{V2}/requests.json", params=params)
        assert bad.status_code == 400
        assert bad.json()[0]["code"] == 400
    assert client.get(f"{V2}/tokens/1.json").status_code == 404
    assert client.get(f"{V2}/tokens/NOPE.json").status_code == 404


@pytest.mark.usefixtures("categories")
def test_a_case_filed_in_linli_is_read_through_open311(
    client: TestClient, world: World, db: Session
) -> None:
    case = case_service.report(
        db,
        actor(db, world, "bob"),
        CaseCreate(
            category_id=next(c.id for c in case_service.categories(db) if c.code == "lift"),
            place_id=world.places["c1-b1"],
            description="Lift stuck on floor 5",
        ),
    )
    db.commit()
    (one,) = _same(client, f"requests/{case.ref}")
    assert one["service_code"] == "lift"
    assert one["expected_datetime"]
    assert "bob" not in str(one).lower()


# The POSTs that the Open311 client libraries which create requests send, field for field:
# - node-open311 (npm ``open311`` 0.0.12): api_key in the form, ``attributes`` spread into
#   ``attribute[code]`` fields, jurisdiction_id in the query string, to requests.json or .xml;
# - mySociety FixMyStreet's Open311 client: requests.xml with jurisdiction_id, the reporter's
#   email, names and phone, and attribute[...] fields in the form;
# - ``open311`` 1.1 for Python: urlencode(kwargs) as the body of requests.json.
# None of them installs here (Python 2 only; a GitHub-only dependency and a native module that
# no longer builds; a Perl application, not a package), so their requests are replayed as sent.
CLIENT_POSTS = [
    pytest.param(
        "json",
        {"jurisdiction_id": "linli.example"},
        {
            "service_code": "light",
            "lat": "31.2304",
            "long": "121.4737",
            "description": "Corridor light flickers",
            "attribute[location_detail]": "floor 5",
        },
        id="node-open311-json",
    ),
    pytest.param(
        "xml",
        {"jurisdiction_id": "linli.example"},
        {
            "service_code": "water_leak",
            "address_string": "Building 1, unit 1",
            "description": "Water on the stairs",
            "attribute[location_detail]": "ground floor",
        },
        id="node-open311-xml",
    ),
    pytest.param(
        "xml",
        {},
        {
            "jurisdiction_id": "linli.example",
            "service_code": "rubbish",
            "lat": "31.2304",
            "long": "121.4737",
            "description": "Bins overflowing",
            "email": "reporter@example.org",
            "first_name": "Mei",
            "last_name": "Wang",
            "phone": "13800000000",
            "attribute[location_detail]": "north gate",
        },
        id="fixmystreet-xml",
    ),
    pytest.param(
        "json",
        {},
        {"service_code": "light", "address_string": "Building 1", "description": "Lobby light out"},
        id="open311-python-json",
    ),
]


@pytest.mark.usefixtures("categories")
@pytest.mark.parametrize(("fmt", "query", "form"), CLIENT_POSTS)
def test_the_posts_of_known_clients_create_cases_and_keep_contact_fields_out(
    server: str, world: World, db: Session, fmt: str, query: dict[str, str], form: dict[str, str]
) -> None:
    root = f"{server}{V2}"
    # Some clients send a map position: that needs alice's consent to precise location (P7).
    consent.seed(db, world.residents["alice"], "precise_location")
    db.commit()
    before = _cases(db)
    posted = requests.post(
        f"{root}/requests.{fmt}",
        params=query,
        data={"api_key": world.api_keys["alice"], **form},
        timeout=10,
    )
    assert posted.status_code == 200, posted.text
    if fmt == "json":
        (reply,) = posted.json()
    else:
        reply = xmltodict.parse(posted.content)["service_requests"]["request"]
    ref = reply["service_request_id"]
    assert _cases(db) == before + 1

    # Read back through the client library, in both formats, with the same data.
    as_json = georeport.GeoReport(root, output_format="json").get_service_request(ref)
    as_xml = georeport.GeoReport(root, output_format="xml").get_service_request(ref)
    assert plain(as_json) == plain(as_xml)
    assert as_json["service_code"] == form["service_code"]
    assert as_json["status"] == "open"
    assert form["description"] in as_json["description"]
    # The reporter is the api_key's resident: contact fields a client sends are not stored
    # and never published.
    case = db.scalar(select(Case).where(Case.ref == ref))
    assert case is not None
    stored = " ".join(str(v) for v in vars(case).values())
    for field in ("email", "first_name", "last_name", "phone"):
        if field in form:
            assert form[field] not in stored
            assert form[field] not in str(as_json)
