"""HTTP tests of /sta/v1.1: entity sets, navigation, query options, paging, visibility, writes."""

from __future__ import annotations

import base64
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text
from sqlalchemy.orm import Session

from tests.conftest import PASSWORD, World, bearer
from tests.standards.sta.conftest import MINUTE, T0, StaWorld

ROOT = "/sta/v1.1"


def get(client: TestClient, url: str, **kw: Any) -> dict[str, Any]:
    response = client.get(ROOT + url, **kw)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def basic(username: str, secret: str) -> dict[str, str]:
    token = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def ids(body: dict[str, Any]) -> list[Any]:
    return [e["@iot.id"] for e in body["value"]]


def test_service_root_lists_the_eight_sets(client: TestClient) -> None:
    body = get(client, "")
    names = [v["name"] for v in body["value"]]
    assert names == [
        "Things",
        "Locations",
        "HistoricalLocations",
        "Datastreams",
        "Sensors",
        "ObservedProperties",
        "Observations",
        "FeaturesOfInterest",
    ]
    assert body["value"][0]["url"] == "http://testserver/sta/v1.1/Things"
    assert any("request-data" in c for c in body["serverSettings"]["conformance"])


def test_anonymous_sees_only_public_devices(client: TestClient, sta: StaWorld) -> None:
    things = get(client, "/Things")
    assert sorted(ids(things)) == sorted([sta.devices["noise-pub"], sta.devices["gauge-nowhere"]])
    thing = things["value"][0]
    assert thing["@iot.selfLink"].endswith(f"/Things({thing['@iot.id']})")
    assert thing["Datastreams@iot.navigationLink"].endswith("/Datastreams")
    private = sta.streams["air-priv/pm25"]
    assert client.get(f"{ROOT}/Datastreams({private})").status_code == 404
    assert client.get(f"{ROOT}/Datastreams({private})/Observations").status_code == 404
    obs = get(client, "/Observations?$top=1000")
    assert {o["@iot.id"].split("-")[0] for o in obs["value"]} == {
        str(sta.streams["noise-pub/noise"]),
        str(sta.streams["gauge-nowhere/water_level"]),
    }
    expanded = get(client, "/Things?$expand=Datastreams($expand=Observations)")
    for t in expanded["value"]:
        assert t["@iot.id"] != sta.devices["air-priv"]
    # Locations and features only of public devices that have coordinates.
    assert ids(get(client, "/Locations")) == [sta.devices["noise-pub"]]
    assert ids(get(client, "/FeaturesOfInterest")) == [sta.devices["noise-pub"]]


def test_staff_see_their_places_and_not_other_communities(
    client: TestClient, world: World, sta: StaWorld
) -> None:
    staff1 = get(client, "/Things", headers=bearer(world, "staff1"))
    assert sta.devices["air-priv"] in ids(staff1)
    assert sta.devices["noise-c2"] not in ids(staff1)
    staff2 = get(client, "/Things", headers=bearer(world, "staff2"))
    assert sta.devices["air-priv"] not in ids(staff2)
    assert sta.devices["noise-c2"] in ids(staff2)
    private = sta.streams["air-priv/pm25"]
    url = f"{ROOT}/Datastreams({private})/Observations"
    assert client.get(url, headers=bearer(world, "staff2")).status_code == 404
    assert client.get(url, headers=bearer(world, "staff1")).status_code == 200
    # A resident sees what the public sees.
    alice = get(client, "/Things", headers=bearer(world, "alice"))
    assert sorted(ids(alice)) == sorted(ids(get(client, "/Things")))
    # Basic authentication with a password and with an API key as the password.
    pw = get(client, "/Things", headers=basic("staff2", PASSWORD))
    assert sta.devices["noise-c2"] in ids(pw)
    key = get(client, "/Things", headers=basic("staff2", world.api_keys["staff2"]))
    assert ids(key) == ids(pw)
    wrong = client.get(ROOT + "/Things", headers=basic("staff2", "nope-nope"))
    assert wrong.status_code == 401
    assert wrong.headers["www-authenticate"].startswith("Basic realm=")
    other_key = client.get(ROOT + "/Things", headers=basic("staff2", world.api_keys["staff1"]))
    assert other_key.status_code == 401


def test_navigation_property_and_value(client: TestClient, sta: StaWorld) -> None:
    thing = sta.devices["noise-pub"]
    stream = sta.streams["noise-pub/noise"]
    streams = get(client, f"/Things({thing})/Datastreams")
    assert ids(streams) == [stream]
    ds = streams["value"][0]
    assert ds["unitOfMeasurement"]["symbol"] == "dB(A)"
    assert ds["unitOfMeasurement"]["definition"].startswith("http://unitsofmeasure.org/")
    assert ds["observationType"].endswith("OM_Measurement")
    assert ds["phenomenonTime"] == "2023-11-14T22:13:20.000Z/2023-11-14T22:22:20.000Z"
    oid = f"{stream}-{T0}"
    obs = get(client, f"/Observations('{oid}')")
    assert obs["@iot.id"] == oid
    assert obs["phenomenonTime"] == "2023-11-14T22:13:20.000Z"
    assert obs["result"] == 40.0
    assert get(client, f"/Observations('{oid}')/Datastream")["@iot.id"] == stream
    assert get(client, f"/Observations('{oid}')/FeatureOfInterest")["@iot.id"] == thing
    assert get(client, f"/Datastreams({stream})/Thing")["@iot.id"] == thing
    assert get(client, f"/Datastreams({stream})/Sensor")["properties"]["code"] == "noise"
    assert get(client, f"/Datastreams({stream})/ObservedProperty")["name"] == "Sound level"
    assert get(client, f"/Things({thing})/Locations")["value"][0]["location"] == {
        "type": "Point",
        "coordinates": [116.4074, 39.9042],
    }
    assert len(get(client, f"/Things({thing})/HistoricalLocations")["value"]) == 1
    assert get(client, f"/Things({thing})/name") == {"name": "Device noise-pub"}
    raw = client.get(f"{ROOT}/Things({thing})/name/$value")
    assert raw.status_code == 200
    assert raw.text == "Device noise-pub"
    assert raw.headers["content-type"].startswith("text/plain")
    assert get(client, f"/Things({thing})/Datastreams({stream})")["@iot.id"] == stream
    for bad in ("/Things(999999)", "/Nothing", "/Things(1)/Nope", "/Observations('x')"):
        response = client.get(ROOT + bad)
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"


def test_top_skip_count_orderby_and_next_link(client: TestClient, sta: StaWorld) -> None:
    stream = sta.streams["noise-pub/noise"]
    url = f"/Datastreams({stream})/Observations?$top=4&$count=true&$orderby=phenomenonTime desc"
    page = get(client, url)
    assert page["@iot.count"] == 10
    assert [o["result"] for o in page["value"]] == [49.0, 48.0, 47.0, 46.0]
    seen = [o["@iot.id"] for o in page["value"]]
    while "@iot.nextLink" in page:
        nxt = page["@iot.nextLink"]
        assert nxt.startswith("http://testserver/sta/v1.1/")
        page = client.get(nxt).json()
        seen += [o["@iot.id"] for o in page["value"]]
    assert len(seen) == len(set(seen)) == 10
    skipped = get(client, f"/Datastreams({stream})/Observations?$skip=8&$orderby=result")
    assert [o["result"] for o in skipped["value"]] == [48.0, 49.0]
    multi = get(client, "/Observations?$orderby=result desc,phenomenonTime asc&$top=3")
    assert [o["result"] for o in multi["value"]] == [49.0, 48.0, 47.0]
    assert get(client, "/Things?$top=0&$count=true") == {"@iot.count": 2, "value": []}
    assert client.get(ROOT + "/Things?$top=1001").status_code == 400
    assert client.get(ROOT + "/Things?$top=-1").status_code == 400
    assert client.get(ROOT + "/Things?$frobnicate=1").status_code == 400


def test_select_and_nested_expand(client: TestClient, sta: StaWorld) -> None:
    thing = sta.devices["noise-pub"]
    only = get(client, f"/Things({thing})?$select=name")
    assert only == {"name": "Device noise-pub"}
    with_id = get(client, "/Things?$select=id,name")
    assert set(with_id["value"][0]) == {"@iot.id", "@iot.selfLink", "name"}
    url = (
        f"/Things({thing})?$expand=Datastreams($select=name;"
        "$expand=Observations($top=3;$orderby=phenomenonTime desc))"
    )
    body = get(client, url)
    ds = body["Datastreams"][0]
    assert set(ds) == {"name", "Observations", "Observations@iot.nextLink"}
    assert [o["result"] for o in ds["Observations"]] == [49.0, 48.0, 47.0]
    assert "$skip=3" in ds["Observations@iot.nextLink"]
    path = get(client, f"/Things({thing})?$expand=Datastreams/ObservedProperty,Locations")
    assert path["Datastreams"][0]["ObservedProperty"]["name"] == "Sound level"
    assert len(path["Locations"]) == 1
    one = get(client, f"/Datastreams({sta.streams['noise-pub/noise']})?$expand=Thing,Sensor")
    assert one["Thing"]["@iot.id"] == thing
    assert one["Sensor"]["name"] == "Noise monitor"
    counted = get(client, "/Things?$expand=Datastreams($count=true;$top=1)")
    gauge = next(t for t in counted["value"] if t["@iot.id"] == sta.devices["gauge-nowhere"])
    assert gauge["Datastreams@iot.count"] == 2
    assert len(gauge["Datastreams"]) == 1
    assert client.get(ROOT + "/Things?$select=nope").status_code == 400
    assert client.get(ROOT + "/Things?$expand=Nope").status_code == 400
    assert client.get(ROOT + "/Things?$expand=Datastreams($top=x)").status_code == 400


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("/Observations?$filter=result gt 47", [48.0, 49.0]),
        ("/Observations?$filter=result ge 48 and result lt 49", [48.0]),
        ("/Observations?$filter=result eq 40 or result eq 41", [40.0, 41.0]),
        ("/Observations?$filter=not (result lt 49)", [49.0]),
        ("/Observations?$filter=result add 1 eq 42", [41.0]),
        ("/Observations?$filter=result sub 1 eq 42 or result mul 2 eq 90", [43.0, 45.0]),
        ("/Observations?$filter=result div 7 eq 7", [49.0]),
        ("/Observations?$filter=round(result) mod 10 eq 9", [49.0]),
        ("/Observations?$filter=floor(result div 10) eq 4 and ceiling(result) eq 41", [41.0]),
        ("/Observations?$filter=phenomenonTime ge 2023-11-14T22:21:20Z", [48.0, 49.0]),
        ("/Observations?$filter=resultTime lt 2023-11-14T22:14:20.000Z", [40.0]),
        ("/Observations?$filter=minute(phenomenonTime) eq 22", [49.0]),
        (
            "/Observations?$filter=year(phenomenonTime) eq 2023 and month(phenomenonTime) eq 11"
            " and day(phenomenonTime) eq 14 and hour(phenomenonTime) eq 22"
            " and second(phenomenonTime) eq 20 and minute(phenomenonTime) eq 13",
            [40.0],
        ),
        ("/Observations?$filter=date(phenomenonTime) eq 2023-11-14 and result gt 48", [49.0]),
        ("/Observations?$filter=time(phenomenonTime) eq 22:14:20 ", [41.0]),
        ("/Observations?$filter=phenomenonTime lt now() and result gt 48", [49.0]),
        ("/Observations?$filter=Datastream/@iot.id eq {noise} and result gt 48", [49.0]),
        ("/Observations?$filter=Datastream/ObservedProperty/name eq 'Sound level'", "ten"),
        ("/Observations?$filter=Datastream/Thing/properties/uid eq 'x'", []),
    ],
)
def test_filter_on_observations(
    client: TestClient, sta: StaWorld, url: str, expected: list[float] | str
) -> None:
    url = url.replace("{noise}", str(sta.streams["noise-pub/noise"]))
    stream = sta.streams["noise-pub/noise"]
    scoped = (
        url
        if "Datastream/" in url
        else url.replace("/Observations", f"/Datastreams({stream})/Observations", 1)
    )
    body = get(client, scoped + "&$orderby=result")
    results = [o["result"] for o in body["value"]]
    if expected == "ten":
        assert len(results) == 10
    else:
        assert results == expected


@pytest.mark.parametrize(
    ("flt", "names"),
    [
        ("name eq 'Device noise-pub'", ["Device noise-pub"]),
        ("name ne 'Device noise-pub'", ["Device gauge-nowhere"]),
        ("substringof('gauge', name)", ["Device gauge-nowhere"]),
        ("startswith(name, 'Device n') and endswith(name, '-pub')", ["Device noise-pub"]),
        ("length(name) eq 16", ["Device noise-pub"]),
        ("indexof(name, 'noise') eq 7", ["Device noise-pub"]),
        ("substring(name, 7) eq 'noise-pub'", ["Device noise-pub"]),
        ("substring(name, 7, 5) eq 'gauge'", ["Device gauge-nowhere"]),
        ("tolower(toupper(name)) eq 'device noise-pub'", ["Device noise-pub"]),
        ("trim(concat(' x', name)) eq 'xDevice noise-pub'", ["Device noise-pub"]),
        ("properties/profile eq 'water_level'", ["Device gauge-nowhere"]),
        (
            "st_within(location, geography'POLYGON((116 39, 117 39, 117 40, 116 40, 116 39))')",
            ["Device noise-pub"],
        ),
        (
            "st_within(Locations/location, geography'POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))')",
            [],
        ),
        ("geo.distance(location, geography'POINT(116.4 39.9)') lt 0.01", ["Device noise-pub"]),
        ("geo.distance(location, geography'POINT(121.47 31.23)') lt 0.01", []),
        ("st_equals(location, geography'POINT(116.4074 39.9042)')", ["Device noise-pub"]),
    ],
)
def test_filter_on_things(client: TestClient, sta: StaWorld, flt: str, names: list[str]) -> None:
    body = get(client, "/Things", params={"$filter": flt, "$orderby": "name desc"})
    assert [t["name"] for t in body["value"]] == names


def test_geospatial_polygon_that_is_not_a_box(
    client: TestClient, world: World, sta: StaWorld
) -> None:
    # A triangle whose bounding box holds both c1 devices but whose area holds only one.
    triangle = "POLYGON((116.40 39.90, 116.43 39.90, 116.40 39.92, 116.40 39.90))"
    near = "geography'POINT(116.4074 39.9042)'"
    for entity, prop in (("Things", "location"), ("Locations", "location")):
        body = get(
            client,
            f"/{entity}",
            params={"$filter": f"st_within({prop}, geography'{triangle}')"},
            headers=bearer(world, "staff1"),
        )
        assert ids(body) == [sta.devices["noise-pub"]]
    features = get(
        client,
        "/FeaturesOfInterest",
        params={"$filter": f"geo.distance(feature, {near}) lt 0.02", "$orderby": "id"},
        headers=bearer(world, "staff1"),
    )
    assert ids(features) == [sta.devices["noise-pub"], sta.devices["air-priv"]]


def test_filters_on_other_sets(client: TestClient, sta: StaWorld) -> None:
    assert [
        d["name"]
        for d in get(
            client,
            "/Datastreams",
            params={
                "$filter": "phenomenonTime gt 2023-11-14T00:00:00Z"
                " and unitOfMeasurement/symbol eq 'cm'"
            },
        )["value"]
    ] == ["Device gauge-nowhere · Water level"]
    sensors = get(client, "/Sensors", params={"$filter": "properties/code eq 'noise'"})
    assert [s["name"] for s in sensors["value"]] == ["Noise monitor"]
    props = get(
        client, "/ObservedProperties", params={"$filter": "definition eq 'urn:linli:property:pm25'"}
    )
    assert ids(props) == [sta.properties["pm25"]]
    hist = get(client, "/HistoricalLocations", params={"$filter": "time gt 2000-01-01T00:00:00Z"})
    assert ids(hist) == [sta.devices["noise-pub"]]
    text_obs = get(client, "/Observations", params={"$filter": "result eq 'dry'"})
    assert [o["result"] for o in text_obs["value"]] == ["dry"]
    by_id = get(
        client,
        "/Observations",
        params={"$filter": f"id eq '{sta.streams['noise-pub/noise']}-{T0 + MINUTE}'"},
    )
    assert [o["result"] for o in by_id["value"]] == [41.0]


@pytest.mark.parametrize(
    "flt",
    [
        "name eq",
        "name eq 5",
        "result gt 'a' and",
        "nope eq 1",
        "Datastreams/name eq 'x'",
        "name",
        "year(name) eq 1",
        "geo.distance(location, geography'POLYGON((0 0, 1 0, 1 1, 0 0))') lt 1",
        "location eq 1",
        "length(1) eq 1",
        "name eq 'a' and 1",
    ],
)
def test_invalid_filter_is_400_with_a_message(client: TestClient, sta: StaWorld, flt: str) -> None:
    response = client.get(ROOT + "/Things", params={"$filter": flt})
    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["detail"]


def test_post_observation_through_the_ingestion_path(
    client: TestClient, world: World, sta: StaWorld, db: Session
) -> None:
    stream = sta.streams["air-priv/pm25"]
    body = {
        "phenomenonTime": "2024-01-01T00:00:00Z",
        "result": 12.5,
        "Datastream": {"@iot.id": stream},
    }
    anonymous = client.post(ROOT + "/Observations", json=body)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert (
        client.post(ROOT + "/Observations", json=body, headers=bearer(world, "staff1")).status_code
        == 403
    )
    assert (
        client.post(ROOT + "/Observations", json=body, headers=bearer(world, "admin1")).status_code
        == 201
    )
    # admin1 stored it above; a repeat of the same instant is a conflict, not a second row.
    again = client.post(ROOT + "/Observations", json=body, headers=basic("pm1", PASSWORD))
    assert again.status_code == 409
    created = client.post(
        f"{ROOT}/Datastreams({stream})/Observations",
        json={"phenomenonTime": "2024-01-01T00:01:00Z", "result": 13},
        headers=basic("pm1", world.api_keys["pm1"]),
    )
    assert created.status_code == 201, created.text
    oid = f"{stream}-{1704067260000}"
    assert created.headers["location"].endswith(f"/Observations('{oid}')")
    assert created.json()["result"] == 13.0
    flat = client.post(
        ROOT + "/Observations",
        json={"phenomenonTime": "2024-01-01T00:02:00Z", "result": 14, "Datastream@iot.id": stream},
        headers=bearer(world, "admin1"),
    )
    assert flat.status_code == 201
    rows = db.execute(
        text(
            "SELECT ts, value FROM observations"
            " WHERE datastream_id = :d AND ts >= 1704067200000 ORDER BY ts"
        ),
        {"d": stream},
    ).all()
    assert [(int(t), v) for t, v in rows] == [
        (1704067200000, 12.5),
        (1704067260000, 13.0),
        (1704067320000, 14.0),
    ]
    last = db.execute(
        text("SELECT last_value, last_at_ms FROM datastreams WHERE id = :d"), {"d": stream}
    ).one()
    assert (last[0], int(last[1])) == (14.0, 1704067320000)
    other = client.post(ROOT + "/Observations", json=body, headers=bearer(world, "district"))
    assert other.status_code == 409
    c2 = sta.streams["noise-c2/noise"]
    denied = client.post(
        ROOT + "/Observations",
        json={"result": 1, "Datastream": {"@iot.id": c2}},
        headers=bearer(world, "admin1"),
    )
    assert denied.status_code == 403
    for bad in (
        {"result": 1},
        {"result": {"x": 1}, "Datastream": {"@iot.id": stream}},
        {"result": 1e9, "Datastream": {"@iot.id": stream}},
        {"result": 1, "phenomenonTime": "yesterday", "Datastream": {"@iot.id": stream}},
        {"Datastream": {"@iot.id": stream}},
    ):
        response = client.post(ROOT + "/Observations", json=bad, headers=bearer(world, "admin1"))
        assert response.status_code == 422, (bad, response.text)
    missing = client.post(
        ROOT + "/Observations",
        json={"result": 1, "Datastream": {"@iot.id": 999999}},
        headers=bearer(world, "admin1"),
    )
    assert missing.status_code == 404


def test_post_thing_with_datastreams(
    client: TestClient, world: World, sta: StaWorld, db: Session
) -> None:
    body = {
        "name": "Corner noise",
        "description": "ignored: the Sensor describes it",
        "properties": {"uid": "corner-1", "place": world.places["c1-b1"], "public": True},
        "Locations": [
            {
                "name": "corner",
                "encodingType": "application/geo+json",
                "location": {"type": "Point", "coordinates": [116.41, 39.905]},
            }
        ],
        "Datastreams": [
            {
                "name": "Corner sound level",
                "unitOfMeasurement": {"name": "decibel", "symbol": "dB", "definition": "x"},
                "observationType": "OM_Measurement",
                "Sensor": {"@iot.id": sta.profiles["noise"]},
                "ObservedProperty": {"@iot.id": sta.properties["noise"]},
            }
        ],
    }
    assert client.post(ROOT + "/Things", json=body).status_code == 401
    assert (
        client.post(ROOT + "/Things", json=body, headers=bearer(world, "staff1")).status_code == 403
    )
    created = client.post(ROOT + "/Things", json=body, headers=basic("admin1", PASSWORD))
    assert created.status_code == 201, created.text
    thing_id = created.json()["@iot.id"]
    assert created.headers["location"].endswith(f"/Things({thing_id})")
    streams = get(client, f"/Things({thing_id})/Datastreams")
    assert [d["name"] for d in streams["value"]] == ["Corner sound level"]
    loc = get(client, f"/Things({thing_id})/Locations")["value"][0]["location"]
    assert loc["coordinates"] == [116.41, 39.905]
    uid = db.execute(text("SELECT uid FROM devices WHERE id = :i"), {"i": thing_id}).scalar()
    assert uid == "corner-1"
    duplicate = client.post(ROOT + "/Things", json=body, headers=bearer(world, "admin1"))
    assert duplicate.status_code == 409
    elsewhere = dict(body, properties={"uid": "c2-x", "place": world.places["c2"]})
    assert (
        client.post(ROOT + "/Things", json=elsewhere, headers=bearer(world, "admin1")).status_code
        == 403
    )
    wrong_prop = dict(body, properties={"uid": "corner-2", "place": world.places["c1"]})
    wrong_prop["Datastreams"] = [
        dict(body["Datastreams"][0], ObservedProperty={"@iot.id": sta.properties["pm25"]})
    ]
    assert (
        client.post(ROOT + "/Things", json=wrong_prop, headers=bearer(world, "admin1")).status_code
        == 422
    )
    assert (
        client.post(ROOT + "/Things", content=b"[1]", headers=bearer(world, "admin1")).status_code
        == 422
    )
    assert (
        client.post(ROOT + "/Sensors", json={}, headers=bearer(world, "admin1")).status_code == 422
    )


FILTER_ATOMS = st.sampled_from(
    [
        "name",
        "result",
        "phenomenonTime",
        "id",
        "@iot.id",
        "location",
        "Datastream/name",
        "'x'",
        "'it''s'",
        "1",
        "-2.5",
        "1e400",
        "null",
        "true",
        "2024-01-01T00:00:00Z",
        "2024-01-01",
        "12:00:00",
        "geography'POINT(1 2)'",
        "geography'POLYGON((0 0,1 0,1 1,0 0))'",
        "eq",
        "ne",
        "gt",
        "and",
        "or",
        "not",
        "add",
        "div",
        "mod",
        "(",
        ")",
        ",",
        "'",
        "substringof(",
        "year(",
        "geo.distance(",
        "st_within(",
        "round(",
        "now()",
        "concat(",
        "indexof(",
        "substring(",
        "\x00",
        "é",
        "9" * 30,
        "/",
        "$",
        "-",
    ]
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(FILTER_ATOMS, min_size=1, max_size=9),
    st.sampled_from(["Things", "Observations", "Datastreams", "Locations"]),
)
def test_fuzzed_filters_never_give_5xx(
    client: TestClient, sta: StaWorld, atoms: list[str], entity: str
) -> None:
    response = client.get(
        f"{ROOT}/{entity}", params={"$filter": " ".join(atoms), "$orderby": atoms[0]}
    )
    assert response.status_code < 500, (atoms, response.text)
