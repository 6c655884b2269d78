"""Waste use cases: bins and cards, disposal ingestion and grading (with points and anti-fraud),
bin status and alarms, collection plans, participation and correctness rates, the demo data."""

from __future__ import annotations

import datetime as dt
import random
from collections import defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from typing import Protocol
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from linli.alarm import service as alarm_service
from linli.audit import service as audit_service
from linli.core.actor import SYSTEM, Actor
from linli.core.crypto import field_cipher
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import _
from linli.core.time import utc_now
from linli.device import service as device_service
from linli.place import service as place_service
from linli.points import service as points_service
from linli.resident import service as resident_service
from linli.rule import service as rule_service
from linli.rule.schemas import RuleCreate
from linli.telemetry import service as telemetry_service
from linli.waste import fraud, permissions, repository, routing
from linli.waste.models import (
    WasteAlarmRule,
    WasteCard,
    WasteCategory,
    WasteContainer,
    WasteDisposal,
    WasteGrade,
    WastePlan,
    WastePlanStop,
    WasteTruck,
)
from linli.waste.schemas import (
    BatchResult,
    CardCreate,
    CardRead,
    ContainerCreate,
    ContainerRead,
    DisposalItem,
    DisposalRead,
    GradeItem,
    ItemResult,
    PlanRead,
    RateRow,
    Rates,
    RouteRead,
    StatusUpdate,
    StopRead,
    TrendPoint,
    TruckCreate,
    TruckRead,
)

TZ = ZoneInfo("Asia/Shanghai")


class Place(Protocol):
    """What this domain reads of a place (the place domain's record)."""

    id: int
    kind: str
    name: str
    code: str
    path: str
    latitude: float | None
    longitude: float | None


CARD_CONTEXT = "waste_card"
POINTS_RULE = "sorting_correct"
FUTURE_SLACK = dt.timedelta(minutes=10)
# A bin buffers events while offline; older ones are refused, or old days' caps could be farmed.
MAX_AGE = dt.timedelta(days=7)
EMPTIED_BELOW = 20.0  # a fill level falling below this from above half: the bin was emptied

# City vocabularies: (code, local name, GB/T 19095-2019 class), in the order bins show them.
# Shanghai (上海市生活垃圾管理条例, 2019) and Beijing (北京市生活垃圾管理条例, 2020 revision)
# name the food and residual classes differently; other cities use the national names.
VOCABULARIES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "上海市": (
        ("recyclable", "可回收物", "recyclable"),
        ("hazardous", "有害垃圾", "hazardous"),
        ("wet", "湿垃圾", "food"),
        ("dry", "干垃圾", "residual"),
    ),
    "北京市": (
        ("recyclable", "可回收物", "recyclable"),
        ("hazardous", "有害垃圾", "hazardous"),
        ("kitchen", "厨余垃圾", "food"),
        ("other", "其他垃圾", "residual"),
    ),
}
NATIONAL = (
    ("recyclable", "可回收物", "recyclable"),
    ("hazardous", "有害垃圾", "hazardous"),
    ("food", "厨余垃圾", "food"),
    ("residual", "其他垃圾", "residual"),
)


# --- places and vocabularies -----------------------------------------------------------------


def _community(db: Session, place: Place) -> Place:
    community = place_service.community_of(db, place_service.get(db, place.id))
    if community is None:
        raise ValidationFailed(_("Choose a place inside a community."))
    return community


def city_of(db: Session, place: Place) -> Place | None:
    """The city a place lies in (its vocabulary is the city's)."""
    for candidate in reversed(place_service.ancestors(db, place_service.get(db, place.id))):
        if candidate.kind == "city":
            return candidate
    return None


def ensure_vocabulary(db: Session, place: Place) -> list[WasteCategory]:
    """The sorting vocabulary of the city of ``place``, created from the built-in lists once."""
    city = city_of(db, place)
    if city is None:
        city = place_service.ancestors(db, place_service.get(db, place.id))[0]
    found = repository.categories(db, city.id)
    if found:
        return found
    for position, (code, name, gb) in enumerate(VOCABULARIES.get(city.name, NATIONAL)):
        db.add(WasteCategory(city_id=city.id, code=code, name=name, gb_class=gb, position=position))
    db.flush()
    return repository.categories(db, city.id)


def resolve_category(vocabulary: list[WasteCategory], text: str) -> WasteCategory | None:
    """A local code, a local name or a GB class → the city's category."""
    for c in vocabulary:
        if text in (c.code, c.name):
            return c
    for c in vocabulary:
        if text == c.gb_class:
            return c
    return None


def vocabulary_for(db: Session, actor: Actor, community_id: int) -> list[WasteCategory]:
    return ensure_vocabulary(db, community_for(db, actor, community_id))


def communities(db: Session, actor: Actor) -> list[Place]:
    """The communities where the actor may see bins."""
    paths = actor.paths_for(permissions.VIEW_ROLES)
    if not paths:
        return []
    found = {p.id: p for p in place_service.under(db, paths, kinds=("community",))}
    for grant in actor.grants:
        if grant.role in permissions.VIEW_ROLES and grant.place_id not in found:
            community = place_service.community_of(db, place_service.get(db, grant.place_id))
            if community is not None:
                found[community.id] = community
    return [found[k] for k in sorted(found)]


def community_for(db: Session, actor: Actor, community_id: int | None) -> Place:
    """The community asked for (or the actor's first), if the actor may see its bins."""
    mine = communities(db, actor)
    if not mine:
        raise PermissionDenied(_("Your role cannot see waste sorting."))
    if community_id is None:
        return mine[0]
    for place in mine:
        if place.id == community_id:
            return place
    raise NotFound(_("No such community."))


def _managed_community(db: Session, actor: Actor | None, community_id: int) -> Place:
    try:
        place = place_service.get(db, community_id)
    except NotFound:
        raise NotFound(_("No such community.")) from None
    if place.kind != "community":
        raise ValidationFailed(_("Choose a community."))
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not manage waste collection here."))
    return place


# --- bins, cards, trucks -----------------------------------------------------------------------


def container_read(c: WasteContainer) -> ContainerRead:
    return ContainerRead.model_validate(c)


def create_container(db: Session, actor: Actor | None, data: ContainerCreate) -> WasteContainer:
    """A new bin at a place; ``actor`` None is a trusted caller (the demo seed)."""
    place = place_service.get(db, data.place_id)
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You may not manage waste collection here."))
    community = _community(db, place)
    category = resolve_category(ensure_vocabulary(db, place), data.category)
    if category is None:
        raise ValidationFailed(_("Unknown waste category: %(code)s", code=data.category))
    if repository.container_by_code(db, community.id, data.code) is not None:
        raise Conflict(_("A bin with this number already exists in the community."))
    if data.device_id is not None:
        if actor is not None and not device_service.may_manage_device(db, actor, data.device_id):
            raise NotFound(_("No such device."))
        if repository.container_by_device(db, data.device_id) is not None:
            raise Conflict(_("This device is already linked to a bin."))
        device_service.get_record(db, data.device_id)
    container = WasteContainer(
        community_id=community.id,
        place_id=place.id,
        place_path=place.path,
        device_id=data.device_id,
        code=data.code,
        name=data.name,
        address=data.address or place_service.label(db, place),
        latitude=data.latitude,
        longitude=data.longitude,
        gb_class=category.gb_class,
        category_code=category.code,
        capacity_l=data.capacity_l,
        max_load_kg=data.max_load_kg,
        max_disposal_kg=data.max_disposal_kg,
        fill_level=0.0,
        fill_threshold=data.fill_threshold,
        status="ok",
        window_start_min=data.window_start_min,
        window_end_min=data.window_end_min,
        active=True,
    )
    db.add(container)
    db.flush()
    audit_service.record(
        db,
        actor=actor or SYSTEM,
        action="waste.bin.create",
        subject_type="waste_container",
        subject_id=container.id,
        place_id=place.id,
    )
    return container


def list_bins(db: Session, actor: Actor, community_id: int | None = None) -> list[ContainerRead]:
    """The bins the actor may see (of one community when asked)."""
    if not permissions.may_view_any(actor):
        raise PermissionDenied(_("Your role cannot see waste sorting."))
    rows = repository.containers(
        db, permissions.visible_containers(actor), community_id=community_id
    )
    return [container_read(c) for c in rows]


def card_digest(card: str) -> str:
    """The keyed digest a card or QR id is stored and looked up by (never the id itself)."""
    return field_cipher().digest(card.strip(), CARD_CONTEXT)


def register_card(db: Session, actor: Actor | None, data: CardCreate) -> WasteCard:
    """Give a household a card or QR code; only its keyed digest and last characters are kept."""
    try:
        household = resident_service.get_household_record(db, data.household_id)
    except NotFound:
        raise NotFound(_("No such household.")) from None
    place = place_service.get(db, household.place_id)
    if actor is not None and not permissions.can_manage(actor, place.path):
        raise NotFound(_("No such household."))
    community = _community(db, place)
    digest = card_digest(data.card)
    if repository.cards_by_digest(db, [digest]):
        raise Conflict(_("This card is already registered."))
    card = WasteCard(
        community_id=community.id,
        household_id=household.id,
        household_path=place.path,
        card_digest=digest,
        kind=data.kind,
        hint=data.card.strip()[-4:],
        active=True,
    )
    db.add(card)
    db.flush()
    return card


def card_read(card: WasteCard) -> CardRead:
    return CardRead.model_validate(card)


def create_truck(db: Session, actor: Actor | None, data: TruckCreate) -> WasteTruck:
    community = _managed_community(db, actor, data.community_id)
    truck = WasteTruck(
        community_id=community.id,
        name=data.name,
        plate=data.plate,
        capacity_kg=data.capacity_kg,
        capacity_l=data.capacity_l,
        depot_name=data.depot_name,
        depot_latitude=data.depot_latitude,
        depot_longitude=data.depot_longitude,
        shift_start_min=data.shift_start_min,
        shift_end_min=data.shift_end_min,
        speed_kmh=data.speed_kmh,
        gb_classes=list(data.gb_classes),
        active=True,
    )
    db.add(truck)
    db.flush()
    return truck


def list_trucks(db: Session, actor: Actor, community_id: int | None) -> list[TruckRead]:
    community = community_for(db, actor, community_id)
    return [TruckRead.model_validate(t) for t in repository.trucks(db, community.id)]


# --- who is sending ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Sender:
    """A smart bin (its device), a staff member (API key or page), or the system (``None``s)."""

    device_id: int | None = None
    actor: Actor | None = None


def _sender_bin(db: Session, sender: Sender) -> WasteContainer | None:
    if sender.device_id is None:
        return None
    found = repository.container_by_device(db, sender.device_id)
    if found is None or not found.active:
        raise Conflict(_("This device is not linked to an active bin."))
    return found


def _bins_for(
    db: Session, sender: Sender, wanted: Iterable[int | None], *, inspect: bool
) -> tuple[WasteContainer | None, dict[int, WasteContainer]]:
    """The sending bin (device), and the bins named in the items that the sender may use."""
    own = _sender_bin(db, sender)
    if own is not None:
        return own, {own.id: own}
    found = repository.containers_by_ids(db, [w for w in wanted if w is not None])
    actor = sender.actor
    if actor is None:
        return None, found
    check = permissions.can_inspect if inspect else permissions.can_manage
    return None, {k: c for k, c in found.items() if c.active and check(actor, c.place_path)}


def _pick_bin(
    own: WasteContainer | None, allowed: dict[int, WasteContainer], bin_id: int | None
) -> WasteContainer | str:
    if own is not None:
        if bin_id is not None and bin_id != own.id:
            return "bin_mismatch"
        return own
    if bin_id is None:
        return "bin_id_required"
    return allowed.get(bin_id) or "unknown_bin"


def require_sender(sender: Sender) -> None:
    """Staff only: a role that may report disposals somewhere."""
    if (
        sender.device_id is None
        and sender.actor is not None
        and not permissions.may_inspect_any(sender.actor)
    ):
        raise PermissionDenied(_("Your role cannot report waste disposals."))


# --- disposals and grades ----------------------------------------------------------------------


def source_event_id(disposal: WasteDisposal) -> str:
    """The points ledger's key for a disposal: the bin and the bin's own event id."""
    return f"waste:{disposal.container_id}:{disposal.event_id}"


def _grade(
    db: Session,
    disposal: WasteDisposal,
    *,
    result: str,
    reason: str,
    source: str,
    account_id: int | None,
) -> int:
    """Store a grade; a correct one on an unflagged disposal credits the household."""
    grade = WasteGrade(
        disposal_id=disposal.id,
        result=result,
        reason=reason if result == "incorrect" else "",
        source=source,
        graded_by_account_id=account_id,
        graded_at=utc_now(),
        points=0,
    )
    db.add(grade)
    db.flush()
    if result == "correct" and not disposal.flagged:
        grade.points = points_service.award(
            db,
            household_id=disposal.household_id,
            rule_code=POINTS_RULE,
            source_event_id=source_event_id(disposal),
            occurred_at=disposal.occurred_at,
        )
    return grade.points


def ingest(
    db: Session, sender: Sender, items: list[DisposalItem], *, now: dt.datetime | None = None
) -> BatchResult:
    """Store a batch of disposal events once each; answer per item.

    The same (bin, event id) sent again is a duplicate and changes nothing (a grade sent with
    it is applied only if the disposal has none yet, so replaying grades is harmless too).
    Lookups are done per batch, not per item.
    """
    require_sender(sender)
    moment = now or utc_now()
    own, allowed = _bins_for(db, sender, [i.bin_id for i in items], inspect=False)
    results: list[ItemResult] = [
        ItemResult(index=n, event_id=i.event_id, status="rejected") for n, i in enumerate(items)
    ]
    digests = {n: card_digest(i.card) for n, i in enumerate(items)}
    cards = repository.cards_by_digest(db, digests.values())
    vocabularies: dict[int, list[WasteCategory]] = {}
    chosen: list[tuple[int, DisposalItem, WasteContainer, WasteCard, WasteCategory]] = []
    for n, item in enumerate(items):
        picked = _pick_bin(own, allowed, item.bin_id)
        if isinstance(picked, str):
            results[n].reason = picked
            continue
        card = cards.get(digests[n])
        if card is None or not card.active or card.community_id != picked.community_id:
            results[n].reason = "unknown_card"
            continue
        if item.occurred_at > moment + FUTURE_SLACK:
            results[n].reason = "time_in_future"
            continue
        if item.occurred_at < moment - MAX_AGE:
            results[n].reason = "too_old"
            continue
        if picked.id not in vocabularies:
            vocabularies[picked.id] = ensure_vocabulary(db, place_service.get(db, picked.place_id))
        category = resolve_category(vocabularies[picked.id], item.category or picked.category_code)
        if category is None:
            results[n].reason = "unknown_category"
            continue
        chosen.append((n, item, picked, card, category))
    stored = repository.existing_events(db, [(b.id, i.event_id) for _n, i, b, _c, _k in chosen])
    seen: set[tuple[int, str]] = set()
    fresh: list[tuple[int, DisposalItem, WasteDisposal]] = []
    replayed: list[tuple[int, DisposalItem, WasteDisposal]] = []
    for n, item, bin_, card, category in chosen:
        key = (bin_.id, item.event_id)
        if key in stored or key in seen:
            results[n].status = "duplicate"
            if key in stored:
                replayed.append((n, item, stored[key]))
            continue
        seen.add(key)
        flags = fraud.weight_flags(item.weight_kg, bin_.max_disposal_kg)
        disposal = WasteDisposal(
            container_id=bin_.id,
            event_id=item.event_id,
            community_id=bin_.community_id,
            card_id=card.id,
            household_id=card.household_id,
            household_path=card.household_path,
            gb_class=category.gb_class,
            category_code=category.code,
            weight_kg=item.weight_kg,
            occurred_at=item.occurred_at.astimezone(dt.UTC),
            received_at=moment,
            via="device" if sender.device_id is not None else "api",
            fraud=flags,
            flagged=bool(flags),
        )
        results[n].status = "accepted"
        fresh.append((n, item, disposal))
    _check_fraud(db, [(d, allowed.get(d.container_id) or own) for _n, _i, d in fresh])
    db.add_all([d for _n, _i, d in fresh])
    db.flush()
    graded = repository.grades_by_disposal(db, [d.id for _n, _i, d in replayed])
    account_id = sender.actor.account_id if sender.actor is not None else None
    source = "bin" if sender.device_id is not None else "inspector"
    for n, item, disposal in [*fresh, *replayed]:
        results[n].flags = list(disposal.fraud)
        if item.grade is None or disposal.id in graded:
            continue
        results[n].points = _grade(
            db,
            disposal,
            result=item.grade.result,
            reason=item.grade.reason,
            source=source,
            account_id=account_id,
        )
    return _summary(results)


def _summary(results: list[ItemResult]) -> BatchResult:
    return BatchResult(
        accepted=sum(r.status == "accepted" for r in results),
        duplicate=sum(r.status == "duplicate" for r in results),
        rejected=sum(r.status == "rejected" for r in results),
        items=results,
    )


def _check_fraud(
    db: Session,
    fresh: list[tuple[WasteDisposal, WasteContainer | None]],
    limits: fraud.Limits = fraud.DEFAULT_LIMITS,
) -> None:
    """Flag new disposals that break the frequency or travel rules (one history query)."""
    placed = [(d, b) for d, b in fresh if b is not None]
    if not placed:
        return
    span = dt.timedelta(minutes=max(limits.travel_window_minutes, limits.burst_minutes))
    start = min(d.occurred_at for d, _b in placed) - span
    end = max(d.occurred_at for d, _b in placed) + span
    history = [
        fraud.Swipe(("old", d.id), d.card_id, d.container_id, d.occurred_at, lat, lon)
        for d, lat, lon in repository.card_history(db, {d.card_id for d, _b in placed}, start, end)
    ]
    keyed: dict[Hashable, WasteDisposal] = {}
    new: list[fraud.Swipe] = []
    for n, (d, b) in enumerate(placed):
        key: Hashable = ("new", n)
        keyed[key] = d
        new.append(
            fraud.Swipe(key, d.card_id, d.container_id, d.occurred_at, b.latitude, b.longitude)
        )
    for key, flags in fraud.check(new, history, limits).items():
        d = keyed[key]
        d.fraud = [*d.fraud, *[f for f in flags if f not in d.fraud]]
        d.flagged = True


def grade_items(db: Session, sender: Sender, items: list[GradeItem]) -> BatchResult:
    """Grades of stored disposals from a bin or an inspector; replays change nothing."""
    require_sender(sender)
    own, allowed = _bins_for(db, sender, [i.bin_id for i in items], inspect=True)
    results = [
        ItemResult(index=n, event_id=i.event_id, status="rejected") for n, i in enumerate(items)
    ]
    wanted: list[tuple[int, GradeItem, WasteContainer]] = []
    for n, item in enumerate(items):
        picked = _pick_bin(own, allowed, item.bin_id)
        if isinstance(picked, str):
            results[n].reason = picked
        else:
            wanted.append((n, item, picked))
    stored = repository.existing_events(db, [(b.id, i.event_id) for _n, i, b in wanted])
    graded = {
        k: g.result
        for k, g in repository.grades_by_disposal(db, [d.id for d in stored.values()]).items()
    }
    account_id = sender.actor.account_id if sender.actor is not None else None
    source = "bin" if sender.device_id is not None else "inspector"
    for n, item, bin_ in wanted:
        disposal = stored.get((bin_.id, item.event_id))
        if disposal is None:
            results[n].reason = "unknown_event"
            continue
        results[n].flags = list(disposal.fraud)
        existing = graded.get(disposal.id)
        if existing is not None:
            if existing == item.result:
                results[n].status = "duplicate"
            else:
                results[n].reason = "already_graded"
            continue
        results[n].status = "accepted"
        results[n].points = _grade(
            db,
            disposal,
            result=item.result,
            reason=item.reason,
            source=source,
            account_id=account_id,
        )
        graded[disposal.id] = item.result  # a second grade in the same batch is a replay
    return _summary(results)


def grade_one(db: Session, actor: Actor, disposal_id: int, result: str, reason: str) -> int:
    """An inspector's grade from the phone page; 409 when the disposal is graded already."""
    rows = repository.disposal_rows(db, condition=WasteDisposal.id == disposal_id, limit=1)
    if not rows or not permissions.can_inspect(actor, rows[0][1].place_path):
        raise NotFound(_("No such disposal."))
    disposal, _bin, grade = rows[0]
    if grade is not None:
        raise Conflict(_("This disposal has already been graded."))
    if result not in ("correct", "incorrect"):
        raise ValidationFailed(_("Choose correct or incorrect."))
    return _grade(
        db,
        disposal,
        result=result,
        reason=reason[:200],
        source="inspector",
        account_id=actor.account_id,
    )


def _disposal_read(row: repository.DisposalRow) -> DisposalRead:
    d, c, g = row
    return DisposalRead(
        id=d.id,
        bin_id=c.id,
        bin_code=c.code,
        bin_name=c.name,
        event_id=d.event_id,
        household_id=d.household_id,
        gb_class=d.gb_class,
        category_code=d.category_code,
        weight_kg=d.weight_kg,
        occurred_at=d.occurred_at,
        flags=list(d.fraud),
        grade=g.result if g is not None else None,
        grade_reason=g.reason if g is not None else "",
        points=g.points if g is not None else 0,
    )


def my_disposals(db: Session, actor: Actor, *, limit: int = 100) -> list[DisposalRead]:
    """The disposals and grades of the acting resident's household."""
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied(_("Only residents have their own sorting record."))
    household_id = resident_service.get_record(db, rid).household_id
    if household_id is None:
        return []
    return [
        _disposal_read(r)
        for r in repository.disposal_rows(db, household_id=household_id, limit=limit)
    ]


def my_cards(db: Session, actor: Actor) -> list[CardRead]:
    rid = actor.effective_resident_id
    if rid is None:
        return []
    household_id = resident_service.get_record(db, rid).household_id
    if household_id is None:
        return []
    return [card_read(c) for c in repository.cards_of_household(db, household_id)]


def flagged(
    db: Session, actor: Actor, community_id: int | None, *, limit: int = 200
) -> list[DisposalRead]:
    """Disposals the anti-fraud rules flagged, newest first."""
    community = community_for(db, actor, community_id)
    rows = repository.disposal_rows(
        db,
        condition=(WasteDisposal.community_id == community.id)
        & permissions.visible_containers(actor),
        flagged=True,
        limit=limit,
    )
    return [_disposal_read(r) for r in rows]


def to_inspect(
    db: Session,
    actor: Actor,
    *,
    bin_id: int | None = None,
    card: str = "",
    community_id: int | None = None,
    now: dt.datetime | None = None,
) -> list[DisposalRead]:
    """Today's disposals at a bin or by a card, for an inspector to grade."""
    if not permissions.may_inspect_any(actor):
        raise PermissionDenied(_("Your role cannot grade sorting."))
    since = (now or utc_now()) - dt.timedelta(hours=24)
    condition = permissions.visible_containers(actor)
    if bin_id is not None:
        rows = repository.disposal_rows(db, condition=condition, container_id=bin_id, since=since)
    elif card.strip():
        found = repository.cards_by_digest(db, [card_digest(card)]).get(card_digest(card))
        if found is None:
            return []
        rows = repository.disposal_rows(db, condition=condition, card_id=found.id, since=since)
    else:
        return []
    return [_disposal_read(r) for r in rows if permissions.can_inspect(actor, r[1].place_path)]


# --- status and alarms -------------------------------------------------------------------------


def ensure_alarm_rules(db: Session, community_id: int) -> WasteAlarmRule:
    """The two rules a community's bin alarms are raised under (made once, switched off for
    the telemetry engine: the waste domain raises and clears their alarms itself)."""
    found = repository.alarm_rules(db, community_id)
    if found is not None:
        return found
    device_service.ensure_catalog(db)
    full = rule_service.create(
        db,
        None,
        RuleCreate(
            template="bin_full",
            place_id=community_id,
            property_key="fill_level",
            name=_("Bin above its fill threshold"),
            description=_("Raised by the waste domain with each bin's own threshold."),
            enabled=False,
        ),
    )
    burning = rule_service.create(
        db,
        None,
        RuleCreate(
            template="smoke",
            place_id=community_id,
            property_key="smoke",
            name=_("Bin burning"),
            description=_("Raised at once when a bin reports the FIWARE status burning."),
            severity="critical",
            enabled=False,
        ),
    )
    row = WasteAlarmRule(
        community_id=community_id, full_rule_id=full.id, burning_rule_id=burning.id
    )
    db.add(row)
    db.flush()
    return row


def _ms(at: dt.datetime) -> int:
    return int(at.timestamp() * 1000)


def _signal(
    container: WasteContainer,
    at: dt.datetime,
    *,
    rule_id: int,
    rule_name: str,
    severity: str,
    title: str,
    raised: bool,
    value: float | None,
) -> alarm_service.SignalItem:
    return alarm_service.SignalItem(
        rule_id=rule_id,
        rule_name=rule_name,
        severity=severity,
        source=f"waste-bin:{container.id}",
        place_id=container.place_id,
        place_path=container.place_path,
        device_id=container.device_id,
        datastream_id=None,
        title=title,
        kind="raise" if raised else "clear",
        started_ms=_ms(at),
        ts_ms=_ms(at),
        value=value,
        details={
            "bin": container.code,
            "status": container.status,
            "fill_threshold": container.fill_threshold,
        },
    )


def apply_status(
    db: Session,
    container: WasteContainer,
    *,
    fill_level: float | None,
    status: str | None,
    at: dt.datetime,
) -> None:
    """Record a fill level and/or status, and raise or clear the bin's alarms."""
    if fill_level is not None:
        if container.fill_level >= 50 and fill_level < EMPTIED_BELOW:
            container.last_emptied_at = at
        container.fill_level = round(fill_level, 1)
        container.fill_at = at
    if status is not None and status != container.status:
        container.status = status
        container.status_at = at
    rules = ensure_alarm_rules(db, container.community_id)
    signals: list[alarm_service.SignalItem] = []
    if fill_level is not None:
        full = container.fill_level >= container.fill_threshold
        signals.append(
            _signal(
                container,
                at,
                rule_id=rules.full_rule_id,
                rule_name=_("Bin above its fill threshold"),
                severity="minor",
                title=_(
                    "Bin %(code)s is %(level)s%% full",
                    code=container.code,
                    level=round(container.fill_level),
                ),
                raised=full,
                value=container.fill_level,
            )
        )
    if status is not None:
        signals.append(
            _signal(
                container,
                at,
                rule_id=rules.burning_rule_id,
                rule_name=_("Bin burning"),
                severity="critical",
                title=_("Bin %(code)s is burning", code=container.code),
                raised=container.status == "burning",
                value=None,
            )
        )
    alarm_service.apply(db, signals)


def update_status(
    db: Session, sender: Sender, data: StatusUpdate, *, now: dt.datetime | None = None
) -> WasteContainer:
    """A fill level and/or status from the bin itself or from staff."""
    if (
        sender.device_id is None
        and sender.actor is not None
        and not permissions.may_view_any(sender.actor)
    ):
        raise PermissionDenied(_("You may not manage waste collection here."))
    own, allowed = _bins_for(db, sender, [data.bin_id], inspect=False)
    picked = _pick_bin(own, allowed, data.bin_id)
    if isinstance(picked, str):
        if picked == "bin_id_required":
            raise ValidationFailed(_("Say which bin (bin_id)."))
        raise NotFound(_("No such bin."))
    at = data.at or now or utc_now()
    apply_status(db, picked, fill_level=data.fill_level, status=data.status, at=at)
    return picked


def refresh_from_telemetry(db: Session, community_id: int | None = None) -> int:
    """Take the newest fill level each linked smart bin sent as telemetry; how many changed."""
    bins = {b.device_id: b for b in repository.linked_containers(db, community_id)}
    if not bins:
        return 0
    changed = 0
    for info in device_service.stream_infos(db):
        bin_ = bins.get(info.device_id)
        if bin_ is None or info.property_key != "fill_level" or info.last_at_ms is None:
            continue
        if bin_.fill_at is not None and info.last_at_ms <= _ms(bin_.fill_at):
            continue
        rows = telemetry_service.numeric_readings(
            db, info.datastream_id, info.last_at_ms, info.last_at_ms + 1, 1
        )
        if not rows:
            continue
        ts, value = rows[-1]
        at = dt.datetime.fromtimestamp(ts / 1000, tz=dt.UTC)
        apply_status(db, bin_, fill_level=max(0.0, min(100.0, value)), status=None, at=at)
        changed += 1
    return changed


# --- collection plans --------------------------------------------------------------------------


def _hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def make_plan(
    db: Session, actor: Actor | None, community_id: int, *, time_limit_s: float | None = None
) -> WastePlan:
    """Routes for the community's trucks over every bin at or above its fill threshold."""
    community = _managed_community(db, actor, community_id)
    refresh_from_telemetry(db, community.id)
    trucks = repository.trucks(db, community.id, active_only=True)
    if not trucks:
        raise ValidationFailed(_("Add a collection truck before planning routes."))
    full = [
        c
        for c in repository.containers(
            db, WasteContainer.active.is_(True), community_id=community.id
        )
        if c.fill_level >= c.fill_threshold
    ]
    stops = [
        routing.Stop(
            id=c.id,
            latitude=c.latitude,
            longitude=c.longitude,
            load_kg=c.max_load_kg * c.fill_level / 100,
            load_l=round(c.capacity_l * c.fill_level / 100),
            window_start_min=c.window_start_min,
            window_end_min=c.window_end_min,
            kind=c.gb_class,
        )
        for c in full
    ]
    vehicles = [
        routing.Vehicle(
            id=t.id,
            capacity_kg=t.capacity_kg,
            capacity_l=t.capacity_l,
            depot_latitude=t.depot_latitude,
            depot_longitude=t.depot_longitude,
            shift_start_min=t.shift_start_min,
            shift_end_min=t.shift_end_min,
            speed_kmh=t.speed_kmh,
            kinds=tuple(t.gb_classes),
        )
        for t in trucks
    ]
    # Guided local search runs for the whole limit: scale it with the size of the problem.
    limit = time_limit_s if time_limit_s is not None else min(2.0, 0.2 + 0.02 * len(stops))
    solution = routing.solve(stops, vehicles, time_limit_s=limit)
    plan = WastePlan(
        community_id=community.id,
        created_at=utc_now(),
        created_by_account_id=actor.account_id if actor is not None else None,
        status="planned",
        distance_m=solution.distance_m,
        unserved=solution.unserved,
        summary={
            "bins": len(full),
            "routes": {
                str(r.vehicle_id): {
                    "distance_m": r.distance_m,
                    "start_min": r.start_min,
                    "end_min": r.end_min,
                }
                for r in solution.routes
            },
        },
    )
    db.add(plan)
    db.flush()
    for route in solution.routes:
        for seq, visit in enumerate(route.visits, start=1):
            db.add(
                WastePlanStop(
                    plan_id=plan.id,
                    truck_id=route.vehicle_id,
                    container_id=visit.stop_id,
                    seq=seq,
                    arrive_min=visit.arrive_min,
                    load_kg=visit.load_kg,
                    load_l=visit.load_l,
                )
            )
    db.flush()
    audit_service.record(
        db,
        actor=actor or SYSTEM,
        action="waste.plan.create",
        subject_type="waste_plan",
        subject_id=plan.id,
        place_id=community.id,
        detail={"bins": len(full), "unserved": len(solution.unserved)},
    )
    return plan


def plan_read(db: Session, plan: WastePlan) -> PlanRead:
    stops = repository.plan_stops(db, plan.id)
    bins = repository.containers_by_ids(db, [s.container_id for s in stops])
    trucks = repository.trucks_by_ids(db, [int(k) for k in plan.summary.get("routes", {})])
    by_truck: dict[int, list[WastePlanStop]] = defaultdict(list)
    for s in stops:
        by_truck[s.truck_id].append(s)
    routes: list[RouteRead] = []
    for key, info in plan.summary.get("routes", {}).items():
        truck = trucks.get(int(key))
        if truck is None:
            continue
        mine = by_truck.get(truck.id, [])
        routes.append(
            RouteRead(
                truck_id=truck.id,
                truck_name=truck.name,
                plate=truck.plate,
                depot_name=truck.depot_name,
                depot_latitude=truck.depot_latitude,
                depot_longitude=truck.depot_longitude,
                distance_m=int(info.get("distance_m", 0)),
                load_kg=round(sum(s.load_kg for s in mine), 1),
                load_l=sum(s.load_l for s in mine),
                capacity_kg=truck.capacity_kg,
                capacity_l=truck.capacity_l,
                start=_hhmm(int(info.get("start_min", truck.shift_start_min))),
                end=_hhmm(int(info.get("end_min", truck.shift_start_min))),
                stops=[
                    StopRead(
                        seq=s.seq,
                        bin_id=s.container_id,
                        code=bins[s.container_id].code,
                        name=bins[s.container_id].name,
                        address=bins[s.container_id].address,
                        latitude=bins[s.container_id].latitude,
                        longitude=bins[s.container_id].longitude,
                        gb_class=bins[s.container_id].gb_class,
                        fill_level=bins[s.container_id].fill_level,
                        arrive=_hhmm(s.arrive_min),
                        load_kg=s.load_kg,
                        load_l=s.load_l,
                    )
                    for s in mine
                    if s.container_id in bins
                ],
            )
        )
    return PlanRead(
        id=plan.id,
        community_id=plan.community_id,
        created_at=plan.created_at,
        distance_m=plan.distance_m,
        bins_above_threshold=int(plan.summary.get("bins", 0)),
        unserved=list(plan.unserved),
        routes=routes,
    )


def latest_plan(db: Session, actor: Actor, community_id: int | None) -> PlanRead | None:
    community = community_for(db, actor, community_id)
    plan = repository.latest_plan(db, community.id)
    return plan_read(db, plan) if plan is not None else None


def get_plan(db: Session, actor: Actor, plan_id: int) -> PlanRead:
    plan = repository.plan(db, plan_id)
    if plan is None:
        raise NotFound(_("No such collection plan."))
    community = place_service.get(db, plan.community_id)
    if not permissions.can_view(actor, community.path):
        raise NotFound(_("No such collection plan."))
    return plan_read(db, plan)


def may_manage_community(db: Session, actor: Actor, community_id: int) -> bool:
    return permissions.can_manage(actor, place_service.get(db, community_id).path)


def may_view_any(actor: Actor) -> bool:
    return permissions.may_view_any(actor)


def may_inspect_any(actor: Actor) -> bool:
    return permissions.may_inspect_any(actor)


# --- rates -------------------------------------------------------------------------------------


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def local_day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=TZ).astimezone(dt.UTC)


def rates(
    db: Session, actor: Actor, community_id: int | None, start: dt.date, end: dt.date
) -> Rates:
    """Participation (households with a disposal / households) and correctness (correct /
    graded) per building over the local days ``start``..``end``, and a daily trend."""
    if end < start:
        raise ValidationFailed(_("The period must end on or after its first day."))
    if (end - start).days > 366:
        raise ValidationFailed(_("Choose a period of at most a year."))
    community = community_for(db, actor, community_id)
    buildings = place_service.under(db, [community.path], kinds=("building",))
    homes = resident_service.living_under(db, community.path)
    home_places = place_service.by_ids(db, sorted({pid for _r, pid, _n, _room in homes}))
    households_of: dict[int, set[tuple[int, str]]] = defaultdict(set)
    all_households: set[tuple[int, str]] = set()

    def building_of(path: str) -> int | None:
        for b in buildings:
            if path.startswith(b.path):
                return b.id
        return None

    for _rid, pid, _name, room in homes:
        place = home_places.get(pid)
        if place is None or not room:
            continue
        all_households.add((pid, room))
        b = building_of(place.path)
        if b is not None:
            households_of[b].add((pid, room))
    rows = repository.disposals_between(
        db, community.id, local_day_start(start), local_day_start(end + dt.timedelta(days=1))
    )
    took_part: dict[int | None, set[int]] = defaultdict(set)
    graded: dict[int | None, int] = defaultdict(int)
    correct: dict[int | None, int] = defaultdict(int)
    day_households: dict[dt.date, set[int]] = defaultdict(set)
    day_graded: dict[dt.date, int] = defaultdict(int)
    day_correct: dict[dt.date, int] = defaultdict(int)
    day_count: dict[dt.date, int] = defaultdict(int)
    for household_id, path, at, result in rows:
        b = building_of(path)
        day = at.astimezone(TZ).date()
        for key in (b, -1):
            took_part[key].add(household_id)
            if result is not None:
                graded[key] += 1
                correct[key] += result == "correct"
        day_households[day].add(household_id)
        day_count[day] += 1
        if result is not None:
            day_graded[day] += 1
            day_correct[day] += result == "correct"

    def row(place_id: int, name: str, key: int, households: int) -> RateRow:
        return RateRow(
            place_id=place_id,
            name=name,
            households=households,
            participating=len(took_part[key]),
            participation=_ratio(len(took_part[key]), households),
            graded=graded[key],
            correct=correct[key],
            correctness=_ratio(correct[key], graded[key]),
        )

    total_households = len(all_households)
    days = [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
    return Rates(
        community_id=community.id,
        start=start,
        end=end,
        total=row(community.id, community.name, -1, total_households),
        buildings=[
            row(b.id, place_service.label(db, b), b.id, len(households_of[b.id])) for b in buildings
        ],
        trend=[
            TrendPoint(
                day=d,
                participation=_ratio(len(day_households[d]), total_households),
                correctness=_ratio(day_correct[d], day_graded[d]),
                disposals=day_count[d],
            )
            for d in days
        ],
    )


# --- demo --------------------------------------------------------------------------------------

DEMO_COMMUNITIES = ("demo-c1", "demo-c2")
# (local code, fill level %) of the bins at each compound; several above the 80 % threshold.
DEMO_COMPOUND_BINS = (("wet", 92.0), ("dry", 86.0), ("recyclable", 45.0))
DEMO_SMART_FILLS = (88.0, 35.0, 95.0)
DEMO_SMART_CODES = ("wet", "dry", "recyclable")


def seed_demo(
    db: Session, *, now: dt.datetime | None = None, time_limit_s: float | None = None
) -> int:
    """Bins (linked to the demo smart bins), cards, trucks, a week of disposals and grades, and a
    collection plan, for each demo community that has no bins yet; returns how many bins."""
    moment = now or utc_now()
    made = 0
    rng = random.Random(19095)  # noqa: S311  (made-up disposals, reproducible on purpose)
    for code in DEMO_COMMUNITIES:
        community = place_service.by_code(db, code)
        if community is None or repository.containers(
            db, WasteContainer.id > 0, community_id=community.id
        ):
            continue
        bins = _demo_bins(db, community)
        made += len(bins)
        _demo_trucks(db, community)
        _demo_activity(db, community, bins, rng, moment)
        make_plan(db, None, community.id, time_limit_s=time_limit_s)
    return made


def _demo_bins(db: Session, community: Place) -> list[WasteContainer]:
    short = (community.code or "").removeprefix("demo-")
    bins: list[WasteContainer] = []
    for n in range(3):
        ref = device_service.ref_by_uid(db, f"demo-{short}-BN{n + 1:02d}")
        if ref is None:
            continue
        device = device_service.get_record(db, ref.id)
        bin_ = create_container(
            db,
            None,
            ContainerCreate(
                place_id=device.place_id,
                code=f"BN{n + 1:02d}",
                name=device.name,
                latitude=device.latitude or community.latitude or 0.0,
                longitude=device.longitude or community.longitude or 0.0,
                category=DEMO_SMART_CODES[n],
                capacity_l=660,
                max_load_kg=250,
                device_id=device.id,
            ),
        )
        bin_.fill_level = DEMO_SMART_FILLS[n]
        bins.append(bin_)
    compounds = place_service.under(db, [community.path], kinds=("compound",))
    for ci, compound in enumerate(compounds):
        lat = compound.latitude or community.latitude or 0.0
        lon = compound.longitude or community.longitude or 0.0
        for bi, (category, fill) in enumerate(DEMO_COMPOUND_BINS):
            bin_ = create_container(
                db,
                None,
                ContainerCreate(
                    place_id=compound.id,
                    code=f"G{ci + 1}-{bi + 1}",
                    name=f"{compound.name} {bi + 1}号投放点",
                    latitude=round(lat + 0.0004 * (bi - 1), 6),
                    longitude=round(lon - 0.0005 * (bi + 1) * (1 if ci % 2 else -1), 6),
                    category=category,
                    capacity_l=240,
                    max_load_kg=100,
                    # A school-run rule: this point may only be emptied before 07:30.
                    window_end_min=450 if bi == 0 and ci == 0 else 1440,
                ),
            )
            bin_.fill_level = fill
            bins.append(bin_)
    for bin_ in bins:
        bin_.fill_at = utc_now()
    db.flush()
    return bins


def _demo_trucks(db: Session, community: Place) -> None:
    lat = (community.latitude or 0.0) - 0.0025
    lon = (community.longitude or 0.0) - 0.002
    for name, plate, kg, litres, classes in (
        ("湿垃圾收运车", "沪A·D3021", 900.0, 3000, ["food"]),
        (
            "干垃圾及可回收物收运车",
            "沪A·D3022",
            700.0,
            2400,
            ["residual", "recyclable", "hazardous"],
        ),
    ):
        create_truck(
            db,
            None,
            TruckCreate(
                community_id=community.id,
                name=name,
                plate=plate,
                capacity_kg=kg,
                capacity_l=litres,
                depot_name="街道垃圾中转站",
                depot_latitude=round(lat, 6),
                depot_longitude=round(lon, 6),
                shift_start_min=6 * 60,
                shift_end_min=10 * 60,
                gb_classes=classes,
            ),
        )


def _demo_activity(
    db: Session,
    community: Place,
    bins: list[WasteContainer],
    rng: random.Random,
    moment: dt.datetime,
) -> None:
    homes = resident_service.living_under(db, community.path)
    paths = {p.id: p.path for p in place_service.by_ids(db, sorted({h[1] for h in homes})).values()}
    households: dict[int, str] = {}
    for rid, pid, _name, _room in homes:
        household_id = resident_service.get_record(db, rid).household_id
        if household_id is not None and pid in paths:
            households.setdefault(household_id, paths[pid])
    cards: dict[int, str] = {}
    for household_id, path in households.items():
        card = f"{(community.code or '').upper()}-{household_id:06d}"
        db.add(
            WasteCard(
                community_id=community.id,
                household_id=household_id,
                household_path=path,
                card_digest=card_digest(card),
                kind="card",
                hint=card[-4:],
                active=True,
            )
        )
        cards[household_id] = card
    db.flush()
    items: list[DisposalItem] = []
    grades: list[GradeItem] = []
    counter = 0
    for days_ago in range(7, -1, -1):
        day = (moment - dt.timedelta(days=days_ago)).astimezone(TZ).date()
        for card in cards.values():
            if rng.random() > 0.15:
                continue
            counter += 1
            at = local_day_start(day) + dt.timedelta(minutes=rng.randint(6 * 60 + 30, 21 * 60))
            if at > moment:
                continue
            bin_ = rng.choice(bins)
            event = f"demo-{counter:06d}"
            items.append(
                DisposalItem(
                    event_id=event,
                    card=card,
                    bin_id=bin_.id,
                    weight_kg=round(rng.uniform(0.3, 3.5), 2),
                    occurred_at=at,
                )
            )
            if rng.random() < 0.35:
                result = "correct" if rng.random() < 0.85 else "incorrect"
                grades.append(
                    GradeItem(
                        bin_id=bin_.id,
                        event_id=event,
                        result=result,
                        reason="" if result == "correct" else "湿垃圾中混有塑料袋",
                    )
                )
    # Two examples for the anti-fraud list: an impossible weight and a card swiped six times.
    if cards and bins:
        household_id, card = next(iter(cards.items()))
        at = moment - dt.timedelta(hours=3)
        items.append(
            DisposalItem(
                event_id="demo-heavy", card=card, bin_id=bins[0].id, weight_kg=80.0, occurred_at=at
            )
        )
        for n in range(6):
            items.append(
                DisposalItem(
                    event_id=f"demo-burst-{n}",
                    card=card,
                    bin_id=bins[-1].id,
                    weight_kg=0.5,
                    occurred_at=at + dt.timedelta(minutes=30 + n),
                )
            )
    system = Sender()
    for start in range(0, len(items), 500):
        ingest(db, system, items[start : start + 500], now=moment)
    for start in range(0, len(grades), 500):
        grade_items(db, system, grades[start : start + 500])
