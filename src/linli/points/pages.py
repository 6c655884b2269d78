"""Points pages: the resident's statement, rewards (one question per screen), redemptions and
leaderboard choice; the staff console for rules, rewards and stock, hand-over, volunteering
and a household's statement."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from linli.core.errors import PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.points import service
from linli.points.schemas import (
    Adjustment,
    LeaderboardChoice,
    RewardCreate,
    RewardUpdate,
    RuleUpdate,
    SettingsUpdate,
    Statement,
    VolunteeringAward,
)
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

Text = Annotated[str, Form()]
PAGE_SIZE = 30
NO_STORE = {"Cache-Control": "no-store"}

STATUS_LABELS = {
    "reserved": N_("Waiting to be collected"),
    "handed_over": N_("Handed over"),
    "cancelled": N_("Cancelled, points refunded"),
}
DONE_MESSAGES = {
    "redeemed": N_("The reward is reserved for you. Collect it at the community desk."),
    "cancelled": N_("The redemption is cancelled and your points are back."),
    "saved": N_("Your choice is saved."),
    "confirmed": N_("Recorded as handed over."),
    "refunded": N_("Cancelled; the points are refunded."),
    "rule": N_("The earning rule is saved."),
    "settings": N_("The expiry period is saved."),
    "reward": N_("The reward is saved."),
}


def _statuses() -> dict[str, str]:
    return {k: _(v) for k, v in STATUS_LABELS.items()}


def _done(done: str) -> str:
    return _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else ""


def _require_manage(actor: LoggedIn) -> None:
    if not service.may_manage_any(actor):
        raise PermissionDenied(_("You may not run the points programme."))


def _paging(page: int) -> PageParams:
    return PageParams(page=max(1, min(page, 100_000)), size=PAGE_SIZE)


# --- residents ------------------------------------------------------------------------------


@router.get("/me/points")
def my_points(request: Request, db: Db, actor: LoggedIn, page: int = 1, done: str = "") -> Response:
    """Balance, entries with dates and reasons, rewards on offer and my redemptions."""
    paging = _paging(page)
    statement = service.my_statement(db, actor, paging)
    db.commit()  # an assisted read is audited
    return view(
        request,
        "points/me.html",
        {
            "s": statement,
            "pager": shell.pager(request, paging, statement.total),
            "rewards": service.list_rewards(db, actor),
            "redemptions": service.my_redemptions(db, actor),
            "choice": service.my_leaderboard_choice(db, actor),
            "statuses": _statuses(),
            "done": _done(done),
        },
        headers=NO_STORE,
    )


@router.get("/me/points/rewards/{reward_id:int}")
def reward_page(request: Request, db: Db, actor: LoggedIn, reward_id: PathId) -> Response:
    """One question: redeem this reward for its points?"""
    reward = service.get_reward(db, actor, reward_id)
    balance = service.my_statement(db, actor, PageParams(page=1, size=1)).balance
    db.commit()
    return view(request, "points/redeem.html", {"reward": reward, "balance": balance})


@router.post("/me/points/rewards/{reward_id:int}")
def reward_redeem(db: Db, actor: LoggedIn, reward_id: PathId) -> Response:
    service.redeem(db, actor, reward_id)
    db.commit()
    return RedirectResponse("/me/points?done=redeemed", status_code=303)


@router.post("/me/points/redemptions/{redemption_id:int}/cancel")
def my_cancel(db: Db, actor: LoggedIn, redemption_id: PathId) -> Response:
    service.cancel(db, actor, redemption_id)
    db.commit()
    return RedirectResponse("/me/points?done=cancelled", status_code=303)


@router.get("/me/points/leaderboard")
def leaderboard_page(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The community's leaderboard: households that chose to be on it, never names."""
    return view(
        request,
        "points/leaderboard.html",
        {
            "rows": service.leaderboard(db, actor),
            "choice": service.my_leaderboard_choice(db, actor),
        },
    )


@router.get("/me/points/leaderboard/choice")
def choice_page(request: Request, db: Db, actor: LoggedIn, step: str = "") -> Response:
    """Opt in or out; in elder mode first the yes/no question, then the name on its own."""
    choice = service.my_leaderboard_choice(db, actor)
    elder = bool(getattr(request.state, "elder", False))
    return view(
        request,
        "points/choice.html",
        {
            "choice": choice,
            "step": ("name" if step == "name" else "join") if elder else "all",
            "error": "",
        },
    )


@router.post("/me/points/leaderboard/choice")
def choice_save(
    request: Request,
    db: Db,
    actor: LoggedIn,
    opted_in: Text = "",
    display_name: Text = "",
    step: Text = "all",
) -> Response:
    choice = service.my_leaderboard_choice(db, actor)
    if step == "join" and opted_in == "1":
        # Elder mode: the yes is kept for the next screen, which asks for the name alone.
        service.set_leaderboard_choice(
            db, actor, LeaderboardChoice(opted_in=True, display_name=choice.display_name)
        )
        db.commit()
        return RedirectResponse("/me/points/leaderboard/choice?step=name", status_code=303)
    wanted = choice.opted_in if step == "name" else opted_in == "1"
    try:
        data = LeaderboardChoice(opted_in=wanted, display_name=display_name.strip())
    except ValidationError:
        return view(
            request,
            "points/choice.html",
            {
                "choice": choice,
                "step": step if step in ("all", "name") else "all",
                "error": _("A name of at most 20 characters, without special characters."),
            },
            status_code=422,
        )
    service.set_leaderboard_choice(db, actor, data)
    db.commit()
    return RedirectResponse("/me/points?done=saved", status_code=303)


# --- staff console --------------------------------------------------------------------------


def _community(
    db: Db, actor: LoggedIn, community_id: int | None
) -> tuple[int, list[tuple[int, str]]]:
    """The community the console shows (the first the actor runs unless one is chosen)."""
    communities = service.manageable_communities(db, actor)
    if community_id is not None:
        return community_id, communities
    if not communities:
        raise PermissionDenied(_("You do not run the points programme of any community."))
    return communities[0][0], communities


def _back(path: str, community_id: int, done: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?community_id={community_id}&done={done}", status_code=303)


@router.get("/console/points")
def console_home(
    request: Request, db: Db, actor: LoggedIn, community_id: QueryId = None, done: str = ""
) -> Response:
    """Rewards waiting to be handed over, and the way to the rest of the programme."""
    _require_manage(actor)
    cid, communities = _community(db, actor, community_id)
    pending = service.pending_redemptions(db, actor, cid)
    db.commit()  # the default rules may have been seeded
    return view(
        request,
        "points/console.html",
        {
            "cid": cid,
            "communities": communities,
            "pending": pending,
            "rows": service.leaderboard(db, actor, cid),
            "households": service.households_in(db, actor, cid),
            "done": _done(done),
        },
    )


@router.post("/console/points/redemptions/{redemption_id:int}/confirm")
def console_confirm(db: Db, actor: LoggedIn, redemption_id: PathId) -> Response:
    _require_manage(actor)
    found = service.confirm(db, actor, redemption_id)
    db.commit()
    return _back("/console/points", found.community_id, "confirmed")


@router.post("/console/points/redemptions/{redemption_id:int}/cancel")
def console_cancel(db: Db, actor: LoggedIn, redemption_id: PathId) -> Response:
    _require_manage(actor)
    found = service.cancel(db, actor, redemption_id)
    db.commit()
    return _back("/console/points", found.community_id, "refunded")


@router.get("/console/points/rules")
def console_rules(
    request: Request, db: Db, actor: LoggedIn, community_id: QueryId = None, done: str = ""
) -> Response:
    """Earning rules (points per unit, daily cap, on/off) and the expiry period."""
    _require_manage(actor)
    cid, communities = _community(db, actor, community_id)
    rules = service.list_rules(db, actor, cid)
    db.commit()
    return view(
        request,
        "points/console_rules.html",
        {
            "cid": cid,
            "communities": communities,
            "rules": rules,
            "settings": service.get_settings(db, actor, cid),
            "done": _done(done),
            "error": _("Give a whole number of months, 1 to 120.") if done == "invalid" else "",
        },
    )


@router.post("/console/points/rules/{rule_id:int}")
def console_rule_save(
    request: Request,
    db: Db,
    actor: LoggedIn,
    rule_id: PathId,
    community_id: Text = "",
    points_per_unit: Text = "",
    daily_cap: Text = "",
    enabled: Text = "",
) -> Response:
    _require_manage(actor)
    try:
        data = RuleUpdate.model_validate(
            {
                "points_per_unit": points_per_unit.strip() or "x",
                "daily_cap": daily_cap.strip() or None,
                "enabled": enabled == "1",
            }
        )
    except ValidationError:
        cid = int(community_id) if community_id.isdigit() else None
        cid, communities = _community(db, actor, cid)
        return view(
            request,
            "points/console_rules.html",
            {
                "cid": cid,
                "communities": communities,
                "rules": service.list_rules(db, actor, cid),
                "settings": service.get_settings(db, actor, cid),
                "done": "",
                "error": _("Points and the daily cap are whole numbers, 0 or more."),
            },
            status_code=422,
        )
    rule = service.update_rule(db, actor, rule_id, data)
    db.commit()
    return _back("/console/points/rules", rule.community_id, "rule")


@router.post("/console/points/settings")
def console_settings_save(
    db: Db, actor: LoggedIn, community_id: Text = "", expiry_months: Text = ""
) -> Response:
    _require_manage(actor)
    cid = int(community_id) if community_id.isdigit() and len(community_id) < 10 else 0
    try:
        data = SettingsUpdate.model_validate({"expiry_months": expiry_months.strip() or "x"})
    except ValidationError:
        return _back("/console/points/rules", cid, "invalid")
    service.update_settings(db, actor, cid, data)
    db.commit()
    return _back("/console/points/rules", cid, "settings")


@router.get("/console/points/rewards")
def console_rewards(
    request: Request, db: Db, actor: LoggedIn, community_id: QueryId = None, done: str = ""
) -> Response:
    """The rewards catalogue with its stock; add a reward or change one."""
    _require_manage(actor)
    cid, communities = _community(db, actor, community_id)
    return view(
        request,
        "points/console_rewards.html",
        {
            "cid": cid,
            "communities": communities,
            "rewards": service.list_rewards(db, actor, cid),
            "done": _done(done),
            "error": "invalid" if done == "invalid" else "",
        },
    )


@router.post("/console/points/rewards")
def console_reward_create(
    db: Db,
    actor: LoggedIn,
    community_id: Text = "",
    name: Text = "",
    description: Text = "",
    cost: Text = "",
    stock: Text = "",
) -> Response:
    _require_manage(actor)
    cid = int(community_id) if community_id.isdigit() and len(community_id) < 10 else 0
    try:
        data = RewardCreate.model_validate(
            {
                "community_id": cid,
                "name": name.strip(),
                "description": description.strip(),
                "cost": cost.strip() or "x",
                "stock": stock.strip() or "x",
            }
        )
    except ValidationError:
        return _back("/console/points/rewards", cid, "invalid")
    service.create_reward(db, actor, data)
    db.commit()
    return _back("/console/points/rewards", cid, "reward")


@router.post("/console/points/rewards/{reward_id:int}")
def console_reward_update(
    db: Db,
    actor: LoggedIn,
    reward_id: PathId,
    community_id: Text = "",
    cost: Text = "",
    stock: Text = "",
    active: Text = "",
) -> Response:
    _require_manage(actor)
    cid = int(community_id) if community_id.isdigit() and len(community_id) < 10 else 0
    try:
        data = RewardUpdate.model_validate(
            {"cost": cost.strip() or "x", "stock": stock.strip() or "x", "active": active == "1"}
        )
    except ValidationError:
        return _back("/console/points/rewards", cid, "invalid")
    found = service.update_reward(db, actor, reward_id, data)
    db.commit()
    return _back("/console/points/rewards", found.community_id, "reward")


@router.get("/console/points/volunteering")
def console_volunteering(
    request: Request, db: Db, actor: LoggedIn, community_id: QueryId = None
) -> Response:
    """Record hours of volunteering for a household (a new form token every time)."""
    _require_manage(actor)
    cid, communities = _community(db, actor, community_id)
    return view(
        request,
        "points/console_volunteering.html",
        {
            "cid": cid,
            "communities": communities,
            "households": service.households_in(db, actor, cid),
            "token": secrets.token_urlsafe(16),
            "result": None,
            "error": "",
        },
    )


@router.post("/console/points/volunteering")
def console_volunteering_save(
    request: Request,
    db: Db,
    actor: LoggedIn,
    community_id: Text = "",
    household_id: Text = "",
    hours: Text = "",
    token: Text = "",
) -> Response:
    _require_manage(actor)
    wanted = int(community_id) if community_id.isdigit() and len(community_id) < 10 else None
    cid, communities = _community(db, actor, wanted)
    try:
        data = VolunteeringAward.model_validate(
            {"household_id": household_id or 0, "hours": hours.strip() or "x", "token": token}
        )
    except ValidationError:
        return view(
            request,
            "points/console_volunteering.html",
            {
                "cid": cid,
                "communities": communities,
                "households": service.households_in(db, actor, cid),
                "token": token if len(token) <= 64 else secrets.token_urlsafe(16),
                "result": None,
                "error": _("Choose a household and give the hours (more than 0, at most 24)."),
            },
            status_code=422,
        )
    result = service.record_volunteering(db, actor, data)
    db.commit()
    return view(
        request,
        "points/console_volunteering.html",
        {
            "cid": cid,
            "communities": communities,
            "households": service.households_in(db, actor, cid),
            "token": secrets.token_urlsafe(16),
            "result": result,
            "error": "",
        },
    )


@router.get("/console/points/household")
def console_find_household(actor: LoggedIn, household_id: str = "") -> Response:
    """The statement lookup form sends the number here; go to its statement page."""
    _require_manage(actor)
    value = household_id.strip()
    if not value.isdigit() or len(value) > 9 or int(value) < 1:
        return RedirectResponse("/console/points", status_code=303)
    return RedirectResponse(f"/console/points/households/{int(value)}", status_code=303)


@router.get("/console/points/households/{household_id:int}")
def console_statement(
    request: Request, db: Db, actor: LoggedIn, household_id: PathId, page: int = 1, done: str = ""
) -> Response:
    """A household's statement; every look is written to the audit log."""
    _require_manage(actor)
    paging = _paging(page)
    statement = service.household_statement(db, actor, household_id, paging)
    db.commit()
    return _statement_view(request, statement, paging, error="", done=done == "adjusted")


def _statement_view(
    request: Request, statement: Statement, paging: PageParams, *, error: str, done: bool
) -> Response:
    return view(
        request,
        "points/console_statement.html",
        {
            "s": statement,
            "pager": shell.pager(request, paging, statement.total),
            "token": secrets.token_urlsafe(16),
            "error": error,
            "done": _("The adjustment is recorded.") if done else "",
        },
        status_code=422 if error else 200,
        headers=NO_STORE,
    )


@router.post("/console/points/households/{household_id:int}/adjust")
def console_adjust(
    request: Request,
    db: Db,
    actor: LoggedIn,
    household_id: PathId,
    amount: Text = "",
    reason: Text = "",
    token: Text = "",
) -> Response:
    """Add or take points with a reason; the household reads the reason on its statement."""
    _require_manage(actor)
    try:
        data = Adjustment.model_validate(
            {
                "household_id": household_id,
                "amount": amount.strip() or "x",
                "reason": reason.strip(),
                "token": token,
            }
        )
    except ValidationError:
        paging = _paging(1)
        statement = service.household_statement(db, actor, household_id, paging)
        db.commit()
        message = _("Give a whole number of points (negative to take) and a reason.")
        return _statement_view(request, statement, paging, error=message, done=False)
    service.adjust(db, actor, data)
    db.commit()
    return RedirectResponse(
        f"/console/points/households/{household_id}?done=adjusted", status_code=303
    )
