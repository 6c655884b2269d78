"""CAP 1.2 messages about incidents: valid against the OASIS schema, and only allow-listed fields.

Incidents are opened, changed and closed through the incident service, as staff and the
background rounds do; what left is read back from the disclosure log.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.core.time import utc_now
from linli.incident import linkage
from linli.incident import service as incident_service
from linli.incident.schemas import IncidentUpdate
from linli.notice import service as notice_service
from linli.notice.schemas import BroadcastCreate
from linli.sharing import service as sharing_service
from linli.sharing.models import Disclosure, DisclosureResident
from tests.conftest import World
from tests.sharing.conftest import FULL, actor_of, fire_facts, open_incident, recipient
from tests.standards.cap.test_cap import CAP, validate_cap

NS = {"c": CAP}
# Elements every message has, whatever the registry allows.
BASE_ELEMENTS = {
    "alert",
    "identifier",
    "sender",
    "sent",
    "status",
    "msgType",
    "scope",
    "restriction",
    "info",
    "language",
    "category",
    "event",
    "responseType",
    "urgency",
    "severity",
    "certainty",
}


def _disclosures(db: Session, recipient_id: int) -> list[Disclosure]:
    db.expire_all()
    query = select(Disclosure).where(Disclosure.recipient_id == recipient_id)
    return list(db.scalars(query.order_by(Disclosure.id)))


def _names(root: ET.Element) -> set[str]:
    return {e.tag.split("}", 1)[1] for e in root.iter()}


def _parameters(root: ET.Element) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    info = root.find("c:info", NS)
    assert info is not None
    for p in info.findall("c:parameter", NS):
        found.setdefault(p.findtext("c:valueName", "", NS), []).append(
            p.findtext("c:value", "", NS)
        )
    return found


def test_a_minimal_recipient_gets_a_valid_alert_with_nothing_optional(
    db: Session, world: World
) -> None:
    minimal = recipient(db, world, fields=[])
    incident = open_incident(db, world)
    [d] = _disclosures(db, minimal.id)
    root = validate_cap(d.payload.encode("utf-8"))
    assert _names(root) == BASE_ELEMENTS
    assert root.findtext("c:msgType", namespaces=NS) == "Alert"
    assert root.findtext("c:scope", namespaces=NS) == "Restricted"
    info = root.find("c:info", NS)
    assert info is not None
    assert info.findtext("c:category", namespaces=NS) == "Fire"
    assert info.findtext("c:severity", namespaces=NS) == "Extreme"
    assert info.findtext("c:urgency", namespaces=NS) == "Immediate"
    # Neither the title, the description, the place nor the position left.
    for secret in ("3号楼", "厨房", "浓烟", "31.23", "121.47", "c1小区"):
        assert secret not in d.payload
    assert d.fields == [*sharing_service.ALWAYS, "restriction", "language", "responseType"]
    assert d.subject_type == "incident"
    assert d.subject_id == incident.id
    assert d.channel == "feed"
    assert d.status == "available"
    assert d.legal_basis == "vital_interest"
    assert d.identifier == f"linli-incident-{incident.id}-{minimal.id}-1"


def test_allowed_fields_go_out_and_only_those(db: Session, world: World) -> None:
    some = recipient(db, world, fields=["headline", "area", "responders"], name="街道办")
    full = recipient(db, world, fields=FULL, name="消防")
    open_incident(db, world)
    [d_some] = _disclosures(db, some.id)
    root = validate_cap(d_some.payload.encode("utf-8"))
    assert _names(root) == BASE_ELEMENTS | {
        "headline",
        "area",
        "areaDesc",
        "parameter",
        "valueName",
        "value",
    }
    assert "3号楼厨房起火" in d_some.payload
    assert "浓烟" not in d_some.payload  # the description was not allowed
    assert root.find("c:info/c:area/c:circle", NS) is None  # nor the position
    assert set(_parameters(root)) == {"responders"}
    assert set(d_some.fields) - set(sharing_service.ALWAYS) == {
        "restriction",
        "language",
        "responseType",
        "headline",
        "area",
        "responders",
    }
    [d_full] = _disclosures(db, full.id)
    root = validate_cap(d_full.payload.encode("utf-8"))
    info = root.find("c:info", NS)
    assert info is not None
    assert info.findtext("c:description", namespaces=NS) == "浓烟，住户已撤离"
    assert info.findtext("c:area/c:circle", namespaces=NS) == "31.230400,121.473700 0.5"
    assert "c1社区" in (info.findtext("c:area/c:areaDesc", namespaces=NS) or "")
    assert (info.findtext("c:web", namespaces=NS) or "").endswith(
        f"/sharing/feeds/{full.id}/alerts/{d_full.id}.xml"
    )
    assert _parameters(root) == {
        "incidentStatus": ["reported"],
        "responders": ["0"],
        "helpRequests": ["0"],
    }
    # Contact fields were allowed but there was nobody asking for help: none went out.
    assert "contact_rooms" not in d_full.fields
    assert db.scalars(select(DisclosureResident)).first() is None


def test_contacts_go_out_only_when_allowed_and_residents_are_recorded(
    db: Session, world: World
) -> None:
    rescue = recipient(db, world, fields=["contact_rooms", "contact_names"], name="急救")
    plain = recipient(db, world, fields=["help_requests"], name="城管")
    staff = actor_of(db, world, "staff1")
    broadcast = notice_service.start_broadcast(
        db, staff, BroadcastCreate(place_id=world.places["c1-b1"], headline="燃气泄漏")
    )
    db.commit()
    notice_service.answer(db, actor_of(db, world, "alice"), broadcast.id, "need_help")
    db.commit()
    [incident] = incident_service.from_help_answers(db)
    db.commit()
    assert incident.type == "help_request"
    [d_rescue] = _disclosures(db, rescue.id)
    root = validate_cap(d_rescue.payload.encode("utf-8"))
    assert _parameters(root) == {"needsHelp": ["c1小区 1号楼 1单元 101 王小丽"]}
    assert {"contact_rooms", "contact_names"} <= set(d_rescue.fields)
    assert sharing_service.residents_in(db, d_rescue.id) == [world.residents["alice"]]
    [d_plain] = _disclosures(db, plain.id)
    assert "王小丽" not in d_plain.payload
    assert "101" not in d_plain.payload
    assert _parameters(validate_cap(d_plain.payload.encode("utf-8"))) == {"helpRequests": ["1"]}
    assert sharing_service.residents_in(db, d_plain.id) == []


def test_personal_fields_never_go_out_without_an_emergency_or_legal_basis(
    db: Session, world: World
) -> None:
    # The registry refuses the combination; a basis changed by hand in the database is caught
    # when the message is built as well.
    facts = fire_facts(
        world,
        incident_id=1,
        place_id=world.places["c1-b1"],
        place_path="/1/",
        title="t",
        room="101",
        area="a",
    )
    message = sharing_service._Message("linli-x-1", "Alert", utc_now(), (), "")
    body, fields, personal = sharing_service.build_alert(
        facts, ["contact_names", "contact_rooms"], "public_interest", message
    )
    validate_cap(body)
    assert not personal
    assert "王小丽".encode() not in body
    assert not set(fields) & set(sharing_service.PERSONAL)


def test_type_severity_and_place_decide_who_is_told(db: Session, world: World) -> None:
    fire_c1 = recipient(db, world, types=["fire"], min_severity=3, name="c1 fire")
    gas_c1 = recipient(db, world, types=["gas_leak"], name="c1 gas")
    fire_c2 = recipient(db, world, place="c2", types=["fire"], admin="district", name="c2 fire")
    district = recipient(db, world, place="district", types=["fire"], admin="district", name="区")
    open_incident(db, world, severity=2)  # below c1 fire's line
    assert _disclosures(db, fire_c1.id) == []
    assert len(_disclosures(db, district.id)) == 1  # the district takes every severity
    open_incident(db, world, severity=3)
    assert len(_disclosures(db, fire_c1.id)) == 1
    assert _disclosures(db, gas_c1.id) == []
    assert _disclosures(db, fire_c2.id) == []
    assert len(_disclosures(db, district.id)) == 2
    # A deactivated recipient is told nothing more.
    admin = actor_of(db, world, "admin1")
    sharing_service.deactivate_recipient(db, admin, fire_c1.id)
    db.commit()
    open_incident(db, world, severity=4)
    assert len(_disclosures(db, fire_c1.id)) == 1
    assert len(_disclosures(db, district.id)) == 3


def test_updates_refer_to_earlier_messages_and_closing_is_an_all_clear(
    db: Session, world: World
) -> None:
    police = recipient(db, world, fields=["incident_status"], min_severity=3)
    incident = open_incident(db, world, severity=3)
    staff = actor_of(db, world, "staff1")
    incident_service.update(db, staff, incident.id, IncidentUpdate(severity=4))
    db.commit()
    incident_service.close(db, staff, incident.id, "Fire out, nobody hurt.")
    db.commit()
    alert, update, all_clear = _disclosures(db, police.id)
    roots = [validate_cap(d.payload.encode("utf-8")) for d in (alert, update, all_clear)]
    assert [r.findtext("c:msgType", namespaces=NS) for r in roots] == ["Alert", "Update", "Update"]
    assert len({d.identifier for d in (alert, update, all_clear)}) == 3
    sender = roots[0].findtext("c:sender", namespaces=NS)
    first = f"{sender},{alert.identifier},{roots[0].findtext('c:sent', namespaces=NS)}"
    second = f"{sender},{update.identifier},{roots[1].findtext('c:sent', namespaces=NS)}"
    assert roots[0].find("c:references", NS) is None
    assert roots[1].findtext("c:references", namespaces=NS) == first
    assert roots[2].findtext("c:references", namespaces=NS) == f"{first} {second}"
    assert roots[1].findtext("c:info/c:severity", namespaces=NS) == "Extreme"
    info = roots[2].find("c:info", NS)
    assert info is not None
    assert info.findtext("c:responseType", namespaces=NS) == "AllClear"
    assert info.findtext("c:urgency", namespaces=NS) == "Past"
    assert _parameters(roots[2]) == {"incidentStatus": ["closed"]}
    # A recipient registered after the incident closed hears nothing of it.
    late = recipient(db, world, name="late")
    made = linkage.share(db, incident, "Update", utc_now())
    assert len(made) == 1  # another all-clear, to the police only
    assert _disclosures(db, late.id) == []
