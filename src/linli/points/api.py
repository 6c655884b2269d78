"""JSON API of the points domain: own balance and statement, rewards, redemptions, the
leaderboard, and the staff side (rules, settings, stock, hand-over, volunteering)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from linli.core.pagination import PageParams
from linli.core.validation import MAX_ID
from linli.points import service
from linli.points.schemas import (
    Adjustment,
    AwardResult,
    LeaderboardChoice,
    LeaderboardChoiceRead,
    LeaderboardRow,
    RedeemRequest,
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
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1/points", tags=["points"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
CommunityQuery = Annotated[int | None, Query(ge=1, le=MAX_ID)]
RequiredCommunity = Annotated[int, Query(ge=1, le=MAX_ID)]


# --- residents ------------------------------------------------------------------------------


@router.get("/me", response_model=Statement)
def my_statement(db: Db, actor: LoggedIn, paging: Paging) -> Statement:
    """The caller's household: balance (the sum of its ledger entries) and entries."""
    found = service.my_statement(db, actor, paging)
    db.commit()  # an assisted read is audited
    return found


@router.get("/me/redemptions", response_model=list[RedemptionRead])
def my_redemptions(db: Db, actor: LoggedIn) -> list[RedemptionRead]:
    return service.my_redemptions(db, actor)


@router.get("/me/leaderboard", response_model=LeaderboardChoiceRead)
def my_leaderboard_choice(db: Db, actor: LoggedIn) -> LeaderboardChoiceRead:
    """Whether the household is on the leaderboard, and the name it is shown by."""
    return service.my_leaderboard_choice(db, actor)


@router.put("/me/leaderboard", response_model=LeaderboardChoiceRead)
def set_leaderboard_choice(
    db: Db, actor: LoggedIn, body: LeaderboardChoice
) -> LeaderboardChoiceRead:
    """Opt the household in or out (it is out until it opts in)."""
    found = service.set_leaderboard_choice(db, actor, body)
    db.commit()
    return found


@router.get("/leaderboard", response_model=list[LeaderboardRow])
def leaderboard(
    db: Db, actor: LoggedIn, community_id: CommunityQuery = None
) -> list[LeaderboardRow]:
    """Households that opted in, by points earned; residents see their own community."""
    return service.leaderboard(db, actor, community_id)


@router.get("/rewards", response_model=list[RewardRead])
def list_rewards(db: Db, actor: LoggedIn, community_id: CommunityQuery = None) -> list[RewardRead]:
    """Residents: rewards on offer in their community. Staff: every reward of ``community_id``."""
    return service.list_rewards(db, actor, community_id)


@router.post("/redemptions", response_model=RedemptionRead, status_code=201)
def redeem(db: Db, actor: LoggedIn, body: RedeemRequest) -> RedemptionRead:
    """Reserve a reward: the points and one item are taken now. 409 when the balance or the
    stock is not enough."""
    found = service.redeem(db, actor, body.reward_id)
    db.commit()
    return found


@router.get("/redemptions/{redemption_id}", response_model=RedemptionRead)
def get_redemption(db: Db, actor: LoggedIn, redemption_id: PathId) -> RedemptionRead:
    return service.get_redemption(db, actor, redemption_id)


@router.post("/redemptions/{redemption_id}/cancel", response_model=RedemptionRead)
def cancel(db: Db, actor: LoggedIn, redemption_id: PathId) -> RedemptionRead:
    """Cancel a reserved redemption (staff or the household): points refunded, stock back."""
    found = service.cancel(db, actor, redemption_id)
    db.commit()
    return found


# --- staff ----------------------------------------------------------------------------------


@router.get("/redemptions", response_model=list[RedemptionRead])
def pending_redemptions(
    db: Db, actor: LoggedIn, community_id: RequiredCommunity
) -> list[RedemptionRead]:
    """Reserved rewards of a community waiting to be handed over."""
    return service.pending_redemptions(db, actor, community_id)


@router.post("/redemptions/{redemption_id}/confirm", response_model=RedemptionRead)
def confirm(db: Db, actor: LoggedIn, redemption_id: PathId) -> RedemptionRead:
    """Staff record that the reward was handed over."""
    found = service.confirm(db, actor, redemption_id)
    db.commit()
    return found


@router.post("/rewards", response_model=RewardRead, status_code=201)
def create_reward(db: Db, actor: LoggedIn, body: RewardCreate) -> RewardRead:
    found = service.create_reward(db, actor, body)
    db.commit()
    return found


@router.patch("/rewards/{reward_id}", response_model=RewardRead)
def update_reward(db: Db, actor: LoggedIn, reward_id: PathId, body: RewardUpdate) -> RewardRead:
    """Change a reward's name, cost or stock, or withdraw it."""
    found = service.update_reward(db, actor, reward_id, body)
    db.commit()
    return found


@router.get("/communities/{community_id}/rules", response_model=list[RuleRead])
def list_rules(db: Db, actor: LoggedIn, community_id: PathId) -> list[RuleRead]:
    """A community's earning rules (defaults seeded on first look)."""
    found = service.list_rules(db, actor, community_id)
    db.commit()
    return found


@router.put("/rules/{rule_id}", response_model=RuleRead)
def update_rule(db: Db, actor: LoggedIn, rule_id: PathId, body: RuleUpdate) -> RuleRead:
    found = service.update_rule(db, actor, rule_id, body)
    db.commit()
    return found


@router.get("/communities/{community_id}/settings", response_model=SettingsRead)
def get_settings(db: Db, actor: LoggedIn, community_id: PathId) -> SettingsRead:
    return service.get_settings(db, actor, community_id)


@router.put("/communities/{community_id}/settings", response_model=SettingsRead)
def update_settings(
    db: Db, actor: LoggedIn, community_id: PathId, body: SettingsUpdate
) -> SettingsRead:
    found = service.update_settings(db, actor, community_id, body)
    db.commit()
    return found


@router.post("/volunteering", response_model=AwardResult, status_code=201)
def record_volunteering(db: Db, actor: LoggedIn, body: VolunteeringAward) -> AwardResult:
    """Credit a household for hours of volunteering; the same ``token`` credits once."""
    found = service.record_volunteering(db, actor, body)
    db.commit()
    return found


@router.post("/adjustments", response_model=AwardResult, status_code=201)
def adjust(db: Db, actor: LoggedIn, body: Adjustment) -> AwardResult:
    """Correct a household's points with a reason it reads on its statement; 409 when a
    deduction would take the balance below zero; the same ``token`` posts once."""
    found = service.adjust(db, actor, body)
    db.commit()
    return found


@router.get("/households/{household_id}/statement", response_model=Statement)
def household_statement(db: Db, actor: LoggedIn, household_id: PathId, paging: Paging) -> Statement:
    """A household's statement for staff; every read is written to the audit log."""
    found = service.household_statement(db, actor, household_id, paging)
    db.commit()
    return found
