"""Use cases of residents and households: register, list masked, reveal with audit."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.crypto import field_cipher
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.masking import mask_name, mask_phone
from linli.core.pagination import PageParams
from linli.core.time import utc_now
from linli.place import service as place_service
from linli.resident import permissions, repository
from linli.resident.models import Household, Resident
from linli.resident.schemas import (
    HouseholdCreate,
    HouseholdRead,
    ResidentCreate,
    ResidentRead,
    ResidentRevealed,
    ResidentUpdate,
    normalize_phone,
)

SENSITIVE_FIELDS = ("phone", "id_number", "date_of_birth")
HOUSEHOLD_PLACE_KINDS = ("unit", "building")


def _digest(value: str | None, context: str) -> str | None:
    return field_cipher().digest(value, context) if value else None


def age_group(birth_year: int | None, today: dt.date | None = None) -> str | None:
    """A coarse age band for lists (no exact age): child, adult, 60+, 80+."""
    if birth_year is None:
        return None
    age = (today or utc_now().date()).year - birth_year
    if age < 14:
        return "child"
    if age >= 80:
        return "80+"
    if age >= 60:
        return "60+"
    return "adult"


# --- households -----------------------------------------------------------------------------


def create_household(db: Session, actor: Actor | None, data: HouseholdCreate) -> Household:
    """Register a dwelling in a unit or building; ``actor`` None is a trusted command."""
    place = place_service.get(db, data.place_id)
    if place.kind not in HOUSEHOLD_PLACE_KINDS:
        raise ValidationFailed("a household belongs to a unit or a building")
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied("you cannot register households here")
    if repository.household_by_room(db, data.place_id, data.room) is not None:
        raise Conflict(f"room {data.room} is already registered there")
    household = Household(
        place_id=data.place_id, room=data.room, floor=data.floor, area_m2=data.area_m2
    )
    db.add(household)
    db.flush()
    return household


def get_household_record(db: Session, household_id: int) -> Household:
    household = repository.get_household(db, household_id)
    if household is None:
        raise NotFound("no such household")
    return household


def household_by_room(db: Session, place_id: int, room: str) -> Household | None:
    return repository.household_by_room(db, place_id, room)


def household_read(db: Session, household: Household) -> HouseholdRead:
    read = HouseholdRead.model_validate(household)
    place = place_service.get(db, household.place_id)
    read.address = f"{place_service.label(db, place)} {household.room}".strip()
    return read


def list_households(
    db: Session, actor: Actor, *, params: PageParams
) -> tuple[list[HouseholdRead], int]:
    own = _own_household_id(db, actor)
    stmt = permissions.visible_households(actor, own)
    rows, total = repository.households_page(db, stmt, offset=params.offset, limit=params.size)
    return [household_read(db, h) for h in rows], total


def get_household(db: Session, actor: Actor, household_id: int) -> HouseholdRead:
    own = _own_household_id(db, actor)
    stmt = permissions.visible_households(actor, own).where(Household.id == household_id)
    household = db.scalars(stmt).first()
    if household is None:
        raise NotFound("no such household")
    return household_read(db, household)


# --- residents ------------------------------------------------------------------------------


def create_resident(db: Session, actor: Actor | None, data: ResidentCreate) -> Resident:
    """Register a person; sensitive fields are encrypted and indexed by keyed digest."""
    household: Household | None = None
    if data.household_id is not None:
        household = get_household_record(db, data.household_id)
        place_id = household.place_id
    elif data.place_id is not None:
        place_id = data.place_id
    else:
        raise ValidationFailed("a resident needs a household or a place")
    place = place_service.get(db, place_id)
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied("you cannot register residents here")
    id_digest = _digest(data.id_number, "residents.id_number")
    if id_digest and repository.by_id_digest(db, id_digest) is not None:
        raise Conflict("a resident with this ID number is already registered")
    resident = Resident(
        place_id=place_id,
        household_id=household.id if household else None,
        relation=data.relation,
        name=data.name,
        gender=data.gender,
        phone=data.phone,
        phone_digest=_digest(data.phone, "residents.phone"),
        id_number=data.id_number,
        id_number_digest=id_digest,
        date_of_birth=data.date_of_birth.isoformat() if data.date_of_birth else None,
        birth_year=data.date_of_birth.year if data.date_of_birth else None,
    )
    db.add(resident)
    db.flush()
    if actor is not None:
        audit_service.record(
            db,
            actor=actor,
            action="resident.created",
            subject_type="resident",
            subject_id=resident.id,
            subject_resident_id=resident.id,
            place_id=place_id,
        )
    return resident


def get_record(db: Session, resident_id: int) -> Resident:
    """The stored resident, for other domains' checks (no personal data leaves here)."""
    resident = repository.get(db, resident_id)
    if resident is None:
        raise NotFound("no such resident")
    return resident


def place_path_of(db: Session, resident_id: int) -> str:
    return place_service.get(db, get_record(db, resident_id).place_id).path


def community_id_of(db: Session, resident_id: int) -> int | None:
    place = place_service.get(db, get_record(db, resident_id).place_id)
    community = place_service.community_of(db, place)
    return community.id if community else None


def display_name(db: Session, resident_id: int, *, masked: bool = True) -> str:
    name = get_record(db, resident_id).name
    return mask_name(name) if masked else name


def _own_household_id(db: Session, actor: Actor) -> int | None:
    rid = actor.effective_resident_id
    if rid is None:
        return None
    resident = repository.get(db, rid)
    return resident.household_id if resident else None


def to_read(db: Session, resident: Resident, *, mask: bool = True) -> ResidentRead:
    address = ""
    if resident.household_id is not None:
        household = get_household_record(db, resident.household_id)
        address = household_read(db, household).address
    return ResidentRead(
        id=resident.id,
        place_id=resident.place_id,
        household_id=resident.household_id,
        relation=resident.relation,
        name=mask_name(resident.name) if mask else resident.name,
        gender=resident.gender,
        phone=mask_phone(resident.phone) if resident.phone else None,
        age_group=age_group(resident.birth_year),
        address=address,
    )


def list_residents(
    db: Session,
    actor: Actor,
    *,
    params: PageParams,
    name: str | None = None,
    phone: str | None = None,
    place_id: int | None = None,
) -> tuple[list[ResidentRead], int]:
    """Residents visible to the actor, masked. ``phone`` finds an exact number by digest."""
    stmt = permissions.visible_residents(actor, _own_household_id(db, actor))
    if name:
        stmt = stmt.where(Resident.name.contains(name.strip(), autoescape=True))
    if phone:
        try:
            # Digests are of the stored (normalised) form: 138-1234-5678 finds 13812345678.
            wanted = normalize_phone(phone)
        except ValueError as exc:
            raise ValidationFailed("phone must be 7 to 15 digits") from exc
        stmt = stmt.where(Resident.phone_digest == _digest(wanted, "residents.phone"))
    if place_id is not None:
        place = place_service.get(db, place_id)
        stmt = stmt.where(Resident.place_id.in_(place_service.ids_under([place.path])))
    rows, total = repository.page(db, stmt, offset=params.offset, limit=params.size)
    me = actor.effective_resident_id
    return [to_read(db, r, mask=r.id != me) for r in rows], total


def _visible(db: Session, actor: Actor, resident_id: int) -> Resident:
    stmt = permissions.visible_residents(actor, _own_household_id(db, actor))
    resident = db.scalars(stmt.where(Resident.id == resident_id)).first()
    if resident is None:
        raise NotFound("no such resident")
    return resident


def get_resident(db: Session, actor: Actor, resident_id: int) -> ResidentRead:
    """One resident, masked. A staff member's view of someone else is recorded."""
    resident = _visible(db, actor, resident_id)
    if actor.effective_resident_id != resident_id and actor.is_staff:
        audit_service.record(
            db,
            actor=actor,
            action="resident.viewed",
            subject_type="resident",
            subject_id=resident_id,
            subject_resident_id=resident_id,
            place_id=resident.place_id,
        )
    return to_read(db, resident, mask=actor.effective_resident_id != resident_id)


def reveal(
    db: Session, actor: Actor, resident_id: int, *, fields: list[str], reason: str
) -> ResidentRevealed:
    """Show sensitive fields in full; each reveal is audited with its reason (never the value).

    A refused reveal is audited too: 403 for someone who works at the resident's place without
    a reveal role, 404 for anyone to whom the resident is not visible at all.
    """
    unknown = set(fields) - set(SENSITIVE_FIELDS)
    if unknown:
        raise ValidationFailed(f"not a sensitive field: {', '.join(sorted(unknown))}")
    resident = get_record(db, resident_id)
    place = place_service.get(db, resident.place_id)
    visible = db.scalars(
        permissions.visible_residents(actor, _own_household_id(db, actor)).where(
            Resident.id == resident_id
        )
    ).first()
    if visible is None or not permissions.can_reveal(actor, place.path, resident_id):
        audit_service.record(
            db,
            actor=actor,
            action="permission.denied",
            outcome="denied",
            subject_type="resident",
            subject_id=resident_id,
            subject_resident_id=resident_id,
            place_id=resident.place_id,
            fields=fields,
            reason=reason,
            detail={"wanted": "reveal"},
        )
        if visible is None and not permissions.works_at(actor, place.path):
            raise NotFound("no such resident")
        raise PermissionDenied("your role cannot reveal personal data")
    audit_service.record(
        db,
        actor=actor,
        action="resident.sensitive_read",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=resident.place_id,
        fields=fields,
        reason=reason,
    )
    values = {f: getattr(resident, f) for f in fields}
    return ResidentRevealed(id=resident.id, name=resident.name, fields=values, reason=reason)


def my_household(db: Session, actor: Actor) -> tuple[HouseholdRead | None, list[ResidentRead]]:
    """The acting resident's household and its members (own record unmasked by name)."""
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied("this page is for residents")
    me = get_record(db, rid)
    if me.household_id is None:
        return None, [to_read(db, me, mask=False)]
    household = get_household_record(db, me.household_id)
    people = [to_read(db, r, mask=r.id != rid) for r in repository.members(db, household.id)]
    return household_read(db, household), people


def update_me(db: Session, actor: Actor, data: ResidentUpdate) -> ResidentRead:
    """Change my own details; a new phone number needs the password again (A13), except for
    a resident assisted at the desk, where the staff member's login stands for it."""
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied("this page is for residents")
    me = get_record(db, rid)
    changed = {"phone"} & data.model_fields_set
    if "phone" in changed and data.phone != me.phone:
        from linli.account import service as account_service  # account builds on resident

        password = data.current_password or ""
        account_service.reauthenticate(db, actor, password, purpose="phone", at_desk=True)
    if "phone" in changed:
        me.phone = data.phone
        me.phone_digest = _digest(data.phone, "residents.phone")
    me.updated_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="resident.updated",
        subject_type="resident",
        subject_id=rid,
        subject_resident_id=rid,
        place_id=me.place_id,
        fields=sorted(changed),
    )
    return to_read(db, me, mask=False)


def count(db: Session) -> int:
    return repository.count(db)


def living_under(db: Session, place_path: str) -> list[tuple[int, int, str, str]]:
    """(resident id, place id, masked name, room) of everyone living at or under a place.

    For emergency check-ins (the notice domain); no sensitive field is read.
    """
    from sqlalchemy import select

    stmt = (
        select(Resident.id, Resident.place_id, Resident.name, Household.room)
        .outerjoin(Household, Household.id == Resident.household_id)
        .where(Resident.place_id.in_(place_service.ids_under([place_path])))
        .order_by(Resident.id)
    )
    return [(rid, pid, mask_name(name), room or "") for rid, pid, name, room in db.execute(stmt)]


# --- electorates (for votes) ----------------------------------------------------------------

ADULT_AGE = 18


@dataclass(frozen=True)
class VoterFacts:
    """What a poll's eligibility rule needs about one resident, and nothing more.

    ``is_adult`` is computed here from the encrypted date of birth, which never leaves this
    module; a resident without a recorded date of birth counts as an adult.
    """

    resident_id: int
    household_id: int | None
    is_adult: bool
    is_owner: bool
    area_m2: Decimal | None


def _adult(date_of_birth: str | None, today: dt.date) -> bool:
    if not date_of_birth:
        return True
    born = dt.date.fromisoformat(date_of_birth)
    age = today.year - born.year - ((today.month, today.day) < (born.month, born.day))
    return age >= ADULT_AGE


def age_of(db: Session, resident_id: int, today: dt.date | None = None) -> int | None:
    """Age in whole years from the encrypted date of birth (None when it is not recorded).

    For age gates (guardian consent under 14); the date itself never leaves this module.
    """
    born_iso = get_record(db, resident_id).date_of_birth
    if not born_iso:
        return None
    born = dt.date.fromisoformat(born_iso)
    day = today or utc_now().date()
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def household_member_ids(db: Session, resident_id: int) -> list[int]:
    """Ids of the residents sharing this resident's household (itself included)."""
    me = get_record(db, resident_id)
    if me.household_id is None:
        return [me.id]
    return [r.id for r in repository.members(db, me.household_id)]


def voter_facts(
    db: Session,
    actor: Actor,
    *,
    place_path: str,
    place_id: int,
    purpose: str,
    resident_id: int | None = None,
    today: dt.date | None = None,
) -> list[VoterFacts]:
    """Residents living at or under ``place_path`` (optionally one of them) with the facts a
    vote's electorate rule needs. Reading the dates of birth is audited with ``purpose``."""
    from sqlalchemy import select

    stmt = (
        select(
            Resident.id,
            Resident.household_id,
            Resident.relation,
            Resident.date_of_birth,
            Household.area_m2,
        )
        .outerjoin(Household, Household.id == Resident.household_id)
        .where(Resident.place_id.in_(place_service.ids_under([place_path])))
        .order_by(Resident.id)
    )
    if resident_id is not None:
        stmt = stmt.where(Resident.id == resident_id)
    rows = db.execute(stmt).all()
    audit_service.record(
        db,
        actor=actor,
        action="resident.eligibility_read",
        subject_type="place",
        subject_id=place_id,
        subject_resident_id=resident_id,
        place_id=place_id,
        fields=["date_of_birth"],
        reason=purpose[:200],
    )
    day = today or utc_now().date()
    return [
        VoterFacts(
            resident_id=rid,
            household_id=hid,
            is_adult=_adult(dob, day),
            is_owner=relation == "owner",
            area_m2=area,
        )
        for rid, hid, relation, dob, area in rows
    ]


# --- evacuation (for the incident domain) ---------------------------------------------------


@dataclass(frozen=True)
class Dweller:
    """Who lives where, for door-to-door checks: masked name, room, year of birth (ordinary
    data) and how many residents share the household (0 when not in a household)."""

    resident_id: int
    place_id: int
    name: str
    room: str
    birth_year: int | None
    household_size: int


def dwellers_under(db: Session, place_paths: list[str]) -> list[Dweller]:
    """Everyone living at or under any of ``place_paths``; no sensitive field is read."""
    from sqlalchemy import func, select

    if not place_paths:
        return []
    sizes = (
        select(Resident.household_id, func.count(Resident.id).label("size"))
        .where(Resident.household_id.is_not(None))
        .group_by(Resident.household_id)
        .subquery()
    )
    stmt = (
        select(
            Resident.id,
            Resident.place_id,
            Resident.name,
            Household.room,
            Resident.birth_year,
            sizes.c.size,
        )
        .outerjoin(Household, Household.id == Resident.household_id)
        .outerjoin(sizes, sizes.c.household_id == Resident.household_id)
        .where(Resident.place_id.in_(place_service.ids_under(place_paths)))
        .order_by(Resident.id)
    )
    return [
        Dweller(rid, pid, mask_name(name), room or "", born, int(size or 0))
        for rid, pid, name, room, born, size in db.execute(stmt)
    ]


CORRECTABLE_FIELDS = ("name", "id_number", "date_of_birth", "household_id")


def apply_correction(
    db: Session, actor: Actor, resident_id: int, *, field: str, value: str
) -> None:
    """Change a verified field after staff approved the resident's correction request."""
    if field not in CORRECTABLE_FIELDS:
        raise ValidationFailed(f"not a verified field: {field}")
    resident = get_record(db, resident_id)
    place = place_service.get(db, resident.place_id)
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied("you cannot change residents here")
    # The same checks as a registration: the schema validates the new value.
    if field == "name":
        resident.name = ResidentCreate(place_id=resident.place_id, name=value).name
    elif field == "id_number":
        checked = ResidentCreate(place_id=resident.place_id, name="x", id_number=value).id_number
        digest = _digest(checked, "residents.id_number")
        other = repository.by_id_digest(db, digest) if digest else None
        if other is not None and other.id != resident_id:
            raise Conflict("a resident with this ID number is already registered")
        resident.id_number = checked
        resident.id_number_digest = digest
    elif field == "date_of_birth":
        born = ResidentCreate(
            place_id=resident.place_id, name="x", date_of_birth=dt.date.fromisoformat(value)
        ).date_of_birth
        resident.date_of_birth = born.isoformat() if born else None
        resident.birth_year = born.year if born else None
    else:
        household = get_household_record(db, int(value))
        resident.household_id = household.id
        resident.place_id = household.place_id
    resident.updated_at = utc_now()
    audit_service.record(
        db,
        actor=actor,
        action="resident.corrected",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=resident.place_id,
        fields=[field],
    )
