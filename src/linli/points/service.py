"""Points use cases: earning under a community's rules, redeeming rewards, expiry, statements.

Every change of a balance is a ledger transaction whose entries sum to zero (see models); the
same source event is posted at most once (unique source, INSERT ... ON CONFLICT DO NOTHING).
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from linli.core.i18n import N_, _
from linli.core.pagination import PageParams
from linli.core.time import UTC, utc_now
from linli.place import service as place_service
from linli.points import permissions, repository
from linli.points.models import (
    ADJUSTMENT,
    ADJUSTMENTS,
    EARN,
    EXPIRED,
    EXPIRY,
    HOUSEHOLD,
    ISSUED,
    REDEEMED,
    REDEMPTION,
    REFUND,
    EarningRule,
    LeaderboardEntry,
    PointsSettings,
    Redemption,
    Reward,
)
from linli.points.schemas import (
    Adjustment,
    AwardResult,
    EntryRead,
    LeaderboardChoice,
    LeaderboardChoiceRead,
    LeaderboardRow,
    RedemptionRead,
    RewardCreate,
    RewardRead,
    RewardUpdate,
    RuleRead,
    RuleUpdate,
    SettingsRead,
    SettingsUpdate,
    Statement,
    VolunteeringAward,
)
from linli.privacy import consent
from linli.resident import service as resident_service


@dataclass(frozen=True)
class CommunityPlace:
    id: int
    path: str
    name: str


COMMUNITY_TZ = ZoneInfo("Asia/Shanghai")
DEFAULT_EXPIRY_MONTHS = 24


@dataclass(frozen=True)
class DefaultRule:
    code: str
    points_per_unit: int
    daily_cap: int | None
    label: str
    unit: str


DEFAULT_RULES = (
    DefaultRule("sorting_correct", 2, 10, N_("Correct sorting"), N_("disposal")),
    DefaultRule("vote_cast", 5, None, N_("Voted"), N_("vote")),
    DefaultRule("volunteering", 10, 40, N_("Volunteering"), N_("hour")),
)
RULE_LABELS = {r.code: r.label for r in DEFAULT_RULES}
RULE_UNITS = {r.code: r.unit for r in DEFAULT_RULES}


# --- places and accounts --------------------------------------------------------------------


def _community_id_or_none(db: Session, household_id: int) -> int | None:
    household = resident_service.get_household_record(db, household_id)
    community = place_service.community_of(db, place_service.get(db, household.place_id))
    return community.id if community is not None else None


def community_of_household(db: Session, household_id: int) -> int:
    """The community (社区) a household belongs to."""
    community_id = _community_id_or_none(db, household_id)
    if community_id is None:
        raise ValidationFailed(_("This household does not belong to a community."))
    return community_id


def household_key(household_id: int) -> str:
    return f"{HOUSEHOLD}:{household_id}"


def system_key(community_id: int, kind: str) -> str:
    return f"community:{community_id}:{kind}"


def _household_account(db: Session, community_id: int, household_id: int) -> int:
    return repository.open_account(
        db,
        key=household_key(household_id),
        community_id=community_id,
        kind=HOUSEHOLD,
        household_id=household_id,
        now=utc_now(),
    )


def _system_account(db: Session, community_id: int, kind: str) -> int:
    assert kind in (ISSUED, REDEEMED, EXPIRED, ADJUSTMENTS)
    return repository.open_account(
        db,
        key=system_key(community_id, kind),
        community_id=community_id,
        kind=kind,
        household_id=None,
        now=utc_now(),
    )


def _post(
    db: Session,
    *,
    community_id: int,
    household_id: int | None,
    kind: str,
    source_kind: str,
    source_id: str,
    occurred_at: dt.datetime,
    legs: list[tuple[int, int]],
    rule_code: str | None = None,
    quantity: Decimal | None = None,
    redemption_id: int | None = None,
    memo: str = "",
    recorded_by_account_id: int | None = None,
) -> int | None:
    """Write one balanced transaction; None (and nothing written) when its source was posted
    before. ``legs`` are (account id, signed amount)."""
    legs = [(account, amount) for account, amount in legs if amount != 0]
    if len(legs) < 2 or sum(amount for _account, amount in legs) != 0:
        raise ValueError("a ledger transaction needs two or more legs summing to zero")
    txn_id = repository.insert_transaction(
        db,
        community_id=community_id,
        household_id=household_id,
        kind=kind,
        source_kind=source_kind,
        source_id=source_id,
        rule_code=rule_code,
        quantity=quantity,
        redemption_id=redemption_id,
        memo=memo,
        occurred_at=occurred_at,
        recorded_at=utc_now(),
        recorded_by_account_id=recorded_by_account_id,
    )
    if txn_id is None:
        return None
    repository.add_entries(
        db,
        [
            {
                "transaction_id": txn_id,
                "account_id": account,
                "amount": amount,
                "occurred_at": occurred_at,
            }
            for account, amount in legs
        ],
    )
    return txn_id


# --- earning rules --------------------------------------------------------------------------


def ensure_rules(db: Session, community_id: int) -> None:
    """Seed the default earning rules of a community the first time they are needed."""
    present = {r.code for r in repository.rules(db, community_id)}
    missing = [r for r in DEFAULT_RULES if r.code not in present]
    if missing:
        repository.seed_rules(
            db,
            [
                {
                    "community_id": community_id,
                    "code": r.code,
                    "points_per_unit": r.points_per_unit,
                    "daily_cap": r.daily_cap,
                    "enabled": True,
                    "updated_at": utc_now(),
                }
                for r in missing
            ],
        )


def local_day_bounds(at: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """The UTC start and end of the community's local day (Asia/Shanghai) containing ``at``."""
    day = at.astimezone(COMMUNITY_TZ).date()
    start = dt.datetime.combine(day, dt.time(), tzinfo=COMMUNITY_TZ)
    end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=COMMUNITY_TZ)
    return start.astimezone(UTC), end.astimezone(UTC)


def points_for(points_per_unit: int, quantity: float | Decimal) -> int:
    """Whole points for ``quantity`` units, rounded half up (1.25 hours x 10 = 13)."""
    exact = Decimal(points_per_unit) * Decimal(str(quantity))
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def award(
    db: Session,
    *,
    household_id: int,
    rule_code: str,
    source_event_id: str,
    occurred_at: dt.datetime,
    quantity: float = 1.0,
) -> int:
    """Credit a household for an event under its community's earning rule ``rule_code``
    (e.g. "sorting_correct", "vote_cast", "volunteering"); returns the points credited:
    0 when the same (rule_code, source_event_id) has already earned, when the rule is off, or
    when the daily cap is reached. Never commits (the caller's boundary commits).

    Also 0 for a household that lies in no community (no programme runs there). An unknown
    household raises NotFound, an unknown ``rule_code`` ValidationFailed.

    The daily cap counts the household's points under this rule on the community's local day
    of ``occurred_at``; an award that would cross the cap is cut down to what is left.
    """
    return _award(
        db,
        household_id=household_id,
        rule_code=rule_code,
        source_event_id=source_event_id,
        occurred_at=occurred_at,
        quantity=quantity,
        recorded_by_account_id=None,
    )


def _award(
    db: Session,
    *,
    household_id: int,
    rule_code: str,
    source_event_id: str,
    occurred_at: dt.datetime,
    quantity: float,
    recorded_by_account_id: int | None,
) -> int:
    if occurred_at.tzinfo is None:
        raise ValueError("occurred_at must be timezone-aware")
    if not source_event_id or len(source_event_id) > 128:
        raise ValidationFailed(_("A source event id of 1 to 128 characters is required."))
    if quantity < 0:
        raise ValidationFailed(_("The quantity cannot be negative."))
    community_id = _community_id_or_none(db, household_id)
    if community_id is None:
        return 0  # no community, so no points programme (and never a failed vote or disposal)
    ensure_rules(db, community_id)
    rule = repository.rule(db, community_id, rule_code)
    if rule is None:
        raise ValidationFailed(_("There is no earning rule %(code)s.", code=rule_code))
    if not rule.enabled:
        return 0
    source_kind = f"rule:{rule_code}"
    account = _household_account(db, community_id, household_id)
    # Serialise postings for this household so that the duplicate and cap checks below see
    # every earlier award, including one committed by a concurrent request a moment ago.
    repository.lock_account(db, account)
    if repository.transaction_id(db, source_kind, source_event_id) is not None:
        return 0
    points = points_for(rule.points_per_unit, quantity)
    if rule.daily_cap is not None:
        start, end = local_day_bounds(occurred_at)
        earned = repository.earned_between(
            db,
            account_id=account,
            household_id=household_id,
            source_kind=source_kind,
            start=start,
            end=end,
        )
        points = min(points, rule.daily_cap - earned)
    if points <= 0:
        return 0
    issued = _system_account(db, community_id, ISSUED)
    txn = _post(
        db,
        community_id=community_id,
        household_id=household_id,
        kind=EARN,
        source_kind=source_kind,
        source_id=source_event_id,
        occurred_at=occurred_at,
        legs=[(issued, -points), (account, points)],
        rule_code=rule_code,
        quantity=Decimal(str(quantity)).quantize(Decimal("0.01")),
        recorded_by_account_id=recorded_by_account_id,
    )
    return points if txn is not None else 0


def balance_of_household(db: Session, household_id: int) -> int:
    """A household's points: the sum of its account's entries (0 before its first posting)."""
    account = repository.account_id_by_key(db, household_key(household_id))
    return repository.balance(db, account) if account is not None else 0


# --- who is asking --------------------------------------------------------------------------


@dataclass(frozen=True)
class Home:
    household_id: int
    community_id: int


def my_home(db: Session, actor: Actor) -> Home:
    """The household (and its community) whose points the acting resident works with."""
    rid = actor.effective_resident_id
    if rid is None:
        raise PermissionDenied(_("Points belong to residents' households."))
    household_id = resident_service.get_record(db, rid).household_id
    if household_id is None:
        raise NotFound(_("You are not registered in a household, so you have no points."))
    return Home(household_id=household_id, community_id=community_of_household(db, household_id))


def _community(db: Session, community_id: int) -> CommunityPlace:
    place = place_service.get(db, community_id)
    if place.kind != "community":
        raise NotFound(_("No such community."))
    return CommunityPlace(id=place.id, path=place.path, name=place.name)


def _managed_community(db: Session, actor: Actor, community_id: int) -> CommunityPlace:
    place = _community(db, community_id)
    if not permissions.can_manage(actor, place.path):
        raise PermissionDenied(_("You do not run the points programme of this community."))
    return place


def may_manage_any(actor: Actor) -> bool:
    return permissions.may_manage_any(actor)


def manageable_communities(db: Session, actor: Actor) -> list[tuple[int, str]]:
    """(id, name) of the communities whose points programme the actor runs."""
    paths = actor.paths_for(permissions.POINTS_ADMIN_ROLES)
    return [(p.id, p.name) for p in place_service.under(db, paths, kinds=("community",))]


def households_in(db: Session, actor: Actor, community_id: int) -> list[tuple[int, str]]:
    """(id, address) of the households of a community the actor runs (at most 200)."""
    community = _managed_community(db, actor, community_id)
    found, _total = resident_service.list_households(db, actor, params=PageParams(page=1, size=200))
    places = place_service.by_ids(db, sorted({h.place_id for h in found}))
    return [
        (h.id, h.address or f"#{h.id}")
        for h in found
        if h.place_id in places and places[h.place_id].path.startswith(community.path)
    ]


def household_label(db: Session, household_id: int) -> str:
    """The household's address, such as ``幸福小区 3号楼 2单元 301``."""
    household = resident_service.get_household_record(db, household_id)
    return resident_service.household_read(db, household).address


def masked_household_label(db: Session, household_id: int) -> str:
    """A household shown to neighbours: its building and the first digit of the room only."""
    household = resident_service.get_household_record(db, household_id)
    place = place_service.get(db, household.place_id)
    room = household.room
    masked = room[:1] + "*" * max(len(room) - 1, 2)
    return f"{place_service.label(db, place, from_kind='building')} {masked}".strip()


# --- statements -----------------------------------------------------------------------------


def source_label(kind: str, rule_code: str | None, memo: str) -> str:
    """Why points moved, in words a resident understands (translated)."""
    if kind == EARN:
        label = RULE_LABELS.get(rule_code or "")
        return _(label) if label else _("Earned: %(rule)s", rule=rule_code or "")
    if kind == REDEMPTION:
        return _("Redeemed: %(reward)s", reward=memo)
    if kind == REFUND:
        return _("Refunded: %(reward)s", reward=memo)
    if kind == EXPIRY:
        return _("Expired")
    return _("Adjustment: %(reason)s", reason=memo)


def _statement(db: Session, home: Home, paging: PageParams) -> Statement:
    account = repository.account_id_by_key(db, household_key(home.household_id))
    entries: list[EntryRead] = []
    total = 0
    balance = 0
    if account is not None:
        rows, total = repository.statement(db, account, offset=paging.offset, limit=paging.size)
        balance = repository.balance(db, account)
        entries = [
            EntryRead(
                id=entry.id,
                occurred_at=entry.occurred_at,
                amount=entry.amount,
                kind=txn.kind,
                source=source_label(txn.kind, txn.rule_code, txn.memo),
            )
            for entry, txn in rows
        ]
    return Statement(
        household_id=home.household_id,
        household_label=household_label(db, home.household_id),
        balance=balance,
        entries=entries,
        total=total,
        page=paging.page,
        size=paging.size,
    )


def my_statement(db: Session, actor: Actor, paging: PageParams) -> Statement:
    """The acting resident's household: balance and entries, newest first."""
    home = my_home(db, actor)
    if actor.is_assisting:
        _audit_statement_read(db, actor, home)
    return _statement(db, home, paging)


def _audit_statement_read(db: Session, actor: Actor, home: Home) -> None:
    audit_service.record(
        db,
        actor=actor,
        action="points.statement_viewed",
        subject_type="household",
        subject_id=home.household_id,
        place_id=home.community_id,
        reason="points statement",
    )


def household_statement(
    db: Session, actor: Actor, household_id: int, paging: PageParams
) -> Statement:
    """Staff read a household's statement; the read is audited as access to personal data."""
    try:
        community_id = community_of_household(db, household_id)
    except (NotFound, ValidationFailed):
        raise NotFound(_("No such household.")) from None
    place = _community(db, community_id)
    if not permissions.can_manage(actor, place.path):
        raise NotFound(_("No such household."))
    home = Home(household_id=household_id, community_id=community_id)
    _audit_statement_read(db, actor, home)
    return _statement(db, home, paging)


# --- rules and settings ---------------------------------------------------------------------


def _rule_read(rule: EarningRule) -> RuleRead:
    label = RULE_LABELS.get(rule.code)
    unit = RULE_UNITS.get(rule.code)
    return RuleRead(
        id=rule.id,
        community_id=rule.community_id,
        code=rule.code,
        label=_(label) if label else rule.code,
        unit=_(unit) if unit else "",
        points_per_unit=rule.points_per_unit,
        daily_cap=rule.daily_cap,
        enabled=rule.enabled,
    )


def list_rules(db: Session, actor: Actor, community_id: int) -> list[RuleRead]:
    """A community's earning rules (the defaults are seeded on first look)."""
    _managed_community(db, actor, community_id)
    ensure_rules(db, community_id)
    return [_rule_read(r) for r in repository.rules(db, community_id)]


def update_rule(db: Session, actor: Actor, rule_id: int, data: RuleUpdate) -> RuleRead:
    """Change points per unit, the daily cap, or switch a rule on or off (audited)."""
    rule = repository.rule_by_id(db, rule_id)
    if rule is None:
        raise NotFound(_("No such earning rule."))
    place = _community(db, rule.community_id)
    if not permissions.can_manage(actor, place.path):
        raise NotFound(_("No such earning rule."))
    before = {"points": rule.points_per_unit, "cap": rule.daily_cap, "on": rule.enabled}
    rule.points_per_unit = data.points_per_unit
    rule.daily_cap = data.daily_cap
    rule.enabled = data.enabled
    rule.updated_at = utc_now()
    rule.updated_by_account_id = actor.account_id
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="points.rule_changed",
        subject_type="points_rule",
        subject_id=rule.id,
        place_id=rule.community_id,
        detail={
            "code": rule.code,
            "before": before,
            "after": {"points": rule.points_per_unit, "cap": rule.daily_cap, "on": rule.enabled},
        },
    )
    return _rule_read(rule)


def expiry_months(db: Session, community_id: int) -> int:
    found = repository.settings(db, community_id)
    return found.expiry_months if found is not None else DEFAULT_EXPIRY_MONTHS


def get_settings(db: Session, actor: Actor, community_id: int) -> SettingsRead:
    _managed_community(db, actor, community_id)
    return SettingsRead(community_id=community_id, expiry_months=expiry_months(db, community_id))


def update_settings(
    db: Session, actor: Actor, community_id: int, data: SettingsUpdate
) -> SettingsRead:
    """Set after how many months earned points expire (audited)."""
    _managed_community(db, actor, community_id)
    found = repository.settings(db, community_id)
    if found is None:
        found = PointsSettings(community_id=community_id)
        db.add(found)
    found.expiry_months = data.expiry_months
    found.updated_at = utc_now()
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="points.settings_changed",
        subject_type="community",
        subject_id=community_id,
        place_id=community_id,
        detail={"expiry_months": data.expiry_months},
    )
    return SettingsRead(community_id=community_id, expiry_months=found.expiry_months)


# --- volunteering ---------------------------------------------------------------------------


def record_volunteering(db: Session, actor: Actor, data: VolunteeringAward) -> AwardResult:
    """Staff credit a household for hours of volunteering; the form's token is the source, so a
    form sent twice credits once (audited)."""
    try:
        community_id = community_of_household(db, data.household_id)
    except (NotFound, ValidationFailed):
        raise NotFound(_("No such household.")) from None
    _managed_community(db, actor, community_id)
    occurred_at = data.occurred_at or utc_now()
    if occurred_at.tzinfo is None:
        raise ValidationFailed(_("Give the time with its time zone."))
    if occurred_at > utc_now() + dt.timedelta(minutes=5):
        raise ValidationFailed(_("Volunteering cannot be recorded for the future."))
    points = _award(
        db,
        household_id=data.household_id,
        rule_code="volunteering",
        source_event_id=f"console:{data.token}",
        occurred_at=occurred_at,
        quantity=float(data.hours),
        recorded_by_account_id=actor.account_id,
    )
    audit_service.record(
        db,
        actor=actor,
        action="points.volunteering_recorded",
        subject_type="household",
        subject_id=data.household_id,
        place_id=community_id,
        detail={"hours": str(data.hours), "points": points},
    )
    return AwardResult(
        household_id=data.household_id,
        points=points,
        balance=balance_of_household(db, data.household_id),
    )


def adjust(db: Session, actor: Actor, data: Adjustment) -> AwardResult:
    """Staff correct a household's points (a new transaction against the community's
    adjustments account; nothing is edited). A deduction cannot take the balance below zero.
    The form's token is the source, so a form sent twice posts once (audited)."""
    if data.amount == 0:
        raise ValidationFailed(_("An adjustment adds or takes at least one point."))
    try:
        community_id = community_of_household(db, data.household_id)
    except (NotFound, ValidationFailed):
        raise NotFound(_("No such household.")) from None
    _managed_community(db, actor, community_id)
    account = _household_account(db, community_id, data.household_id)
    repository.lock_account(db, account)
    if data.amount < 0 and repository.balance(db, account) + data.amount < 0:
        raise Conflict(_("The household does not have that many points."))
    txn = _post(
        db,
        community_id=community_id,
        household_id=data.household_id,
        kind=ADJUSTMENT,
        source_kind=ADJUSTMENT,
        source_id=f"console:{data.token}",
        occurred_at=utc_now(),
        legs=[
            (_system_account(db, community_id, ADJUSTMENTS), -data.amount),
            (account, data.amount),
        ],
        memo=data.reason.strip(),
        recorded_by_account_id=actor.account_id,
    )
    audit_service.record(
        db,
        actor=actor,
        action="points.adjusted",
        subject_type="household",
        subject_id=data.household_id,
        place_id=community_id,
        detail={"amount": data.amount, "posted": txn is not None},
    )
    return AwardResult(
        household_id=data.household_id,
        points=data.amount if txn is not None else 0,
        balance=repository.balance(db, account),
    )


# --- rewards --------------------------------------------------------------------------------


def list_rewards(db: Session, actor: Actor, community_id: int | None = None) -> list[RewardRead]:
    """Staff: every reward of a community they run. Residents: the active rewards of theirs."""
    if community_id is not None and permissions.may_manage_any(actor):
        _managed_community(db, actor, community_id)
        found = repository.rewards(db, community_id, active_only=False)
    else:
        home = my_home(db, actor)
        if community_id is not None and community_id != home.community_id:
            raise NotFound(_("No such community."))
        found = repository.rewards(db, home.community_id, active_only=True)
    return [RewardRead.model_validate(r) for r in found]


def create_reward(db: Session, actor: Actor, data: RewardCreate) -> RewardRead:
    _managed_community(db, actor, data.community_id)
    now = utc_now()
    reward = Reward(
        community_id=data.community_id,
        name=data.name.strip(),
        description=data.description.strip(),
        cost=data.cost,
        stock=data.stock,
        active=data.active,
        created_at=now,
        updated_at=now,
    )
    db.add(reward)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="points.reward_created",
        subject_type="points_reward",
        subject_id=reward.id,
        place_id=reward.community_id,
        detail={"cost": reward.cost, "stock": reward.stock},
    )
    return RewardRead.model_validate(reward)


def _managed_reward(db: Session, actor: Actor, reward_id: int) -> Reward:
    reward = repository.reward(db, reward_id)
    if reward is None or not permissions.can_manage(
        actor, _community(db, reward.community_id).path
    ):
        raise NotFound(_("No such reward."))
    return reward


def update_reward(db: Session, actor: Actor, reward_id: int, data: RewardUpdate) -> RewardRead:
    """Change a reward: name, cost, stock on hand, or withdraw it (audited)."""
    reward = _managed_reward(db, actor, reward_id)
    changes = data.model_dump(exclude_none=True)
    stock = changes.pop("stock", None)
    for name, value in changes.items():
        setattr(reward, name, value.strip() if isinstance(value, str) else value)
    reward.updated_at = utc_now()
    db.flush()
    if stock is not None:
        # The new figure is applied as a change from the one staff saw, in one statement: an
        # item a resident reserved meanwhile stays taken instead of being written over.
        if not repository.adjust_stock(db, reward.id, stock - reward.stock):
            raise Conflict(_("This reward is out of stock."))
        db.refresh(reward)
        changes["stock"] = stock
    audit_service.record(
        db,
        actor=actor,
        action="points.reward_changed",
        subject_type="points_reward",
        subject_id=reward.id,
        place_id=reward.community_id,
        detail={k: v for k, v in changes.items() if k in ("cost", "stock", "active")},
    )
    return RewardRead.model_validate(reward)


def get_reward(db: Session, actor: Actor, reward_id: int) -> RewardRead:
    """One reward: staff of its community, or a resident of it while it is on offer."""
    reward = repository.reward(db, reward_id)
    if reward is not None:
        if permissions.can_manage(actor, _community(db, reward.community_id).path):
            return RewardRead.model_validate(reward)
        if actor.effective_resident_id is not None and reward.active:
            home = my_home(db, actor)
            if home.community_id == reward.community_id:
                return RewardRead.model_validate(reward)
    raise NotFound(_("No such reward."))


# --- redemptions ----------------------------------------------------------------------------


def _redemption_reads(db: Session, rows: list[Redemption]) -> list[RedemptionRead]:
    rewards = repository.rewards_by_ids(db, sorted({r.reward_id for r in rows}))
    labels: dict[int, str] = {}
    reads = []
    for r in rows:
        if r.household_id not in labels:
            labels[r.household_id] = household_label(db, r.household_id)
        reads.append(
            RedemptionRead(
                id=r.id,
                community_id=r.community_id,
                household_id=r.household_id,
                household_label=labels[r.household_id],
                reward_id=r.reward_id,
                reward_name=rewards[r.reward_id].name,
                cost=r.cost,
                status=r.status,
                via=r.via,
                created_at=r.created_at,
                decided_at=r.decided_at,
            )
        )
    return reads


def redeem(db: Session, actor: Actor, reward_id: int) -> RedemptionRead:
    """Reserve a reward for the acting resident's household: its points and one item of stock
    are taken now; staff hand it over (or cancel and refund) later.

    Concurrency: the household's account row is written first (the lock), so two redemptions
    of one household run one after the other and the second sees the first's debit; stock is
    taken by a conditional UPDATE (stock >= 1) whose row count says whether it succeeded.
    """
    home = my_home(db, actor)
    reward = repository.reward(db, reward_id)
    if reward is None or reward.community_id != home.community_id:
        raise NotFound(_("No such reward."))
    account = _household_account(db, home.community_id, home.household_id)
    repository.lock_account(db, account)
    db.refresh(reward)
    if not reward.active:
        raise Conflict(_("This reward is no longer offered."))
    if repository.balance(db, account) < reward.cost:
        raise Conflict(_("You do not have enough points for this reward."))
    if not repository.take_stock(db, reward.id):
        raise Conflict(_("This reward is out of stock."))
    now = utc_now()
    redemption = Redemption(
        community_id=home.community_id,
        household_id=home.household_id,
        reward_id=reward.id,
        cost=reward.cost,
        status="reserved",
        via="assisted" if actor.is_assisting else "online",
        requested_by_account_id=actor.account_id,
        created_at=now,
    )
    db.add(redemption)
    db.flush()
    _post(
        db,
        community_id=home.community_id,
        household_id=home.household_id,
        kind=REDEMPTION,
        source_kind=REDEMPTION,
        source_id=f"redemption:{redemption.id}",
        occurred_at=now,
        legs=[
            (account, -reward.cost),
            (_system_account(db, home.community_id, REDEEMED), reward.cost),
        ],
        redemption_id=redemption.id,
        memo=reward.name,
        recorded_by_account_id=actor.account_id,
    )
    # The balance is read again inside the transaction: it must never go below zero.
    if repository.balance(db, account) < 0:
        raise Conflict(_("You do not have enough points for this reward."))
    if actor.is_assisting:
        audit_service.record(
            db,
            actor=actor,
            action="points.redeemed",
            subject_type="points_redemption",
            subject_id=redemption.id,
            subject_resident_id=actor.effective_resident_id,
            place_id=home.community_id,
            detail={"via": "assisted", "cost": reward.cost},
        )
    return _redemption_reads(db, [redemption])[0]


def my_redemptions(db: Session, actor: Actor) -> list[RedemptionRead]:
    home = my_home(db, actor)
    rows = repository.redemptions(db, [Redemption.household_id == home.household_id], limit=100)
    return _redemption_reads(db, rows)


def pending_redemptions(db: Session, actor: Actor, community_id: int) -> list[RedemptionRead]:
    """Reserved rewards waiting to be handed over at the desk."""
    _managed_community(db, actor, community_id)
    rows = repository.redemptions(
        db,
        [Redemption.community_id == community_id, Redemption.status == "reserved"],
        limit=200,
    )
    return _redemption_reads(db, rows)


def get_redemption(db: Session, actor: Actor, redemption_id: int) -> RedemptionRead:
    """One redemption: to staff of its community, or to its own household."""
    found = repository.redemption(db, redemption_id)
    if found is not None:
        if permissions.can_manage(actor, _community(db, found.community_id).path):
            return _redemption_reads(db, [found])[0]
        if actor.effective_resident_id is not None:
            home = my_home(db, actor)
            if home.household_id == found.household_id:
                return _redemption_reads(db, [found])[0]
    raise NotFound(_("No such redemption."))


def confirm(db: Session, actor: Actor, redemption_id: int) -> RedemptionRead:
    """Staff hand a reserved reward over; the points were already taken at reservation."""
    found = repository.redemption(db, redemption_id)
    if found is None or not permissions.can_manage(actor, _community(db, found.community_id).path):
        raise NotFound(_("No such redemption."))
    if not repository.lock_redemption(db, found.id, "handed_over"):
        raise Conflict(_("This redemption is no longer waiting to be handed over."))
    db.refresh(found)
    found.decided_at = utc_now()
    found.decided_by_account_id = actor.account_id
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="points.reward_handed_over",
        subject_type="points_redemption",
        subject_id=found.id,
        place_id=found.community_id,
    )
    return _redemption_reads(db, [found])[0]


def cancel(db: Session, actor: Actor, redemption_id: int) -> RedemptionRead:
    """Cancel a reserved redemption (staff, or the household itself): the points come back as
    a refund transaction and the item goes back into stock."""
    found = repository.redemption(db, redemption_id)
    if found is None:
        raise NotFound(_("No such redemption."))
    staff = permissions.can_manage(actor, _community(db, found.community_id).path)
    if not staff:
        own = actor.effective_resident_id is not None and (
            my_home(db, actor).household_id == found.household_id
        )
        if not own:
            raise NotFound(_("No such redemption."))
    account = _household_account(db, found.community_id, found.household_id)
    repository.lock_account(db, account)
    if not repository.lock_redemption(db, found.id, "cancelled"):
        raise Conflict(_("This redemption is no longer waiting to be handed over."))
    db.refresh(found)
    now = utc_now()
    found.decided_at = now
    found.decided_by_account_id = actor.account_id
    repository.return_stock(db, found.reward_id)
    reward = repository.reward(db, found.reward_id)
    _post(
        db,
        community_id=found.community_id,
        household_id=found.household_id,
        kind=REFUND,
        source_kind=REFUND,
        source_id=f"redemption:{found.id}",
        occurred_at=now,
        legs=[
            (_system_account(db, found.community_id, REDEEMED), -found.cost),
            (account, found.cost),
        ],
        redemption_id=found.id,
        memo=reward.name if reward else "",
        recorded_by_account_id=actor.account_id,
    )
    db.flush()
    if staff or actor.is_assisting:
        audit_service.record(
            db,
            actor=actor,
            action="points.redemption_cancelled",
            subject_type="points_redemption",
            subject_id=found.id,
            place_id=found.community_id,
        )
    return _redemption_reads(db, [found])[0]


# --- expiry ---------------------------------------------------------------------------------


def months_before(at: dt.datetime, months: int) -> dt.datetime:
    """The same moment ``months`` calendar months earlier (day clamped to the month's end)."""
    index = at.year * 12 + (at.month - 1) - months
    year, month = divmod(index, 12)
    day = min(at.day, calendar.monthrange(year, month + 1)[1])
    return at.replace(year=year, month=month + 1, day=day)


def to_expire(entries: list[tuple[int, str, dt.datetime]], cutoff: dt.datetime) -> tuple[int, int]:
    """FIFO over one household account: (points to expire now, total of the expired lots).

    ``entries`` are (signed amount, transaction kind, time). Lots are credits that were earned
    or adjusted in; every debit (redemption, expiry, negative adjustment) uses up the oldest
    lots first, and a refund gives back what its redemption used. Lots earned at or before
    ``cutoff`` have expired: whatever of them is not used up yet expires now.
    """
    expired_lots = 0
    used = 0
    for amount, kind, at in entries:
        if amount > 0 and kind in (EARN, ADJUSTMENT):
            if at <= cutoff:
                expired_lots += amount
        else:
            used -= amount
    balance = sum(amount for amount, _kind, _at in entries)
    return max(0, min(expired_lots - used, balance)), expired_lots


def expire_points(db: Session, now: dt.datetime) -> int:
    """Write expiry transactions for points older than each community's expiry period.

    Idempotent: an expiry's source id names the account and the total of the expired lots it
    settles, so running again (or twice at once) writes nothing more. Returns points expired.
    """
    months_by_community = repository.expiry_months_by_community(db)
    expired_total = 0
    for account in repository.household_accounts(db):
        months = months_by_community.get(account.community_id, DEFAULT_EXPIRY_MONTHS)
        cutoff = months_before(now, months)
        amount, _lots = to_expire(repository.ledger_lines(db, account.id), cutoff)
        if amount <= 0:
            continue
        repository.lock_account(db, account.id)
        amount, lots = to_expire(repository.ledger_lines(db, account.id), cutoff)
        if amount <= 0:
            continue
        txn = _post(
            db,
            community_id=account.community_id,
            household_id=account.household_id,
            kind=EXPIRY,
            source_kind=EXPIRY,
            source_id=f"expiry:{account.id}:{lots}",
            occurred_at=now,
            legs=[
                (account.id, -amount),
                (_system_account(db, account.community_id, EXPIRED), amount),
            ],
            memo=f"{months}",
        )
        if txn is not None:
            expired_total += amount
    return expired_total


# --- leaderboard ----------------------------------------------------------------------------


def _shown_as(db: Session, household_id: int, display_name: str) -> str:
    return display_name or masked_household_label(db, household_id)


def my_leaderboard_choice(db: Session, actor: Actor) -> LeaderboardChoiceRead:
    home = my_home(db, actor)
    entry = repository.leaderboard_entry(db, home.household_id)
    name = entry.display_name if entry else ""
    return LeaderboardChoiceRead(
        opted_in=bool(entry and entry.opted_in),
        display_name=name,
        shown_as=_shown_as(db, home.household_id, name),
        masked_label=masked_household_label(db, home.household_id),
    )


def set_leaderboard_choice(
    db: Session, actor: Actor, data: LeaderboardChoice
) -> LeaderboardChoiceRead:
    """Opt the household in or out of the leaderboard (off until someone opts in)."""
    home = my_home(db, actor)
    entry = repository.leaderboard_entry(db, home.household_id)
    if entry is None:
        entry = LeaderboardEntry(household_id=home.household_id, community_id=home.community_id)
        db.add(entry)
    entry.opted_in = data.opted_in
    entry.display_name = data.display_name.strip()
    entry.updated_at = utc_now()
    db.flush()
    return my_leaderboard_choice(db, actor)


def _leave_leaderboard(db: Session, actor: Actor, resident_id: int) -> int:
    """Withdrawn consent to the points programme: take the household off the leaderboard."""
    household_id = resident_service.get_record(db, resident_id).household_id
    entry = repository.leaderboard_entry(db, household_id) if household_id else None
    if entry is None or not entry.opted_in:
        return 0
    entry.opted_in = False
    entry.display_name = ""
    entry.updated_at = utc_now()
    db.flush()
    return 1


consent.register_on_withdraw("points_programme", _leave_leaderboard)


def leaderboard(db: Session, actor: Actor, community_id: int | None = None) -> list[LeaderboardRow]:
    """Points earned by the households that opted in, highest first; never residents' names."""
    mine: int | None = None
    if community_id is not None and permissions.may_manage_any(actor):
        _managed_community(db, actor, community_id)
    else:
        home = my_home(db, actor)
        community_id = home.community_id
        mine = home.household_id
    entries = repository.opted_in(db, community_id)
    earned = repository.earned_by_households(db, [e.household_id for e in entries])
    ranked = sorted(entries, key=lambda e: (-earned.get(e.household_id, 0), e.household_id))
    return [
        LeaderboardRow(
            rank=i + 1,
            label=_shown_as(db, e.household_id, e.display_name),
            points=earned.get(e.household_id, 0),
            mine=e.household_id == mine,
        )
        for i, e in enumerate(ranked)
    ]
