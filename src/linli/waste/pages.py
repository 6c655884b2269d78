"""Waste pages: the console (bins, collection plan on the site plan, the driver's printable
sheet, rates with trend charts, flagged disposals), the inspector's phone page, and the
resident's "My sorting"."""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from sqlalchemy.exc import IntegrityError

from linli.core.actor import Actor
from linli.core.errors import Conflict, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.core.time import to_local, utc_now
from linli.waste import service
from linli.waste.schemas import ContainerRead, PlanRead
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId, QueryId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

ASSETS = Path(__file__).resolve().parent / "assets"
Text = Annotated[str, Form()]
MAP_W, MAP_H, MAP_PAD = 640, 420, 40
# Route colours (and dash patterns, so colour is not the only cue), one per truck.
ROUTE_STYLES = (("#0a6545", ""), ("#8a3b12", "10 6"), ("#1d4e89", "3 5"), ("#6b2d83", "14 4 3 4"))

GB_LABELS = {
    "recyclable": N_("Recyclable"),
    "hazardous": N_("Hazardous"),
    "food": N_("Food waste"),
    "residual": N_("Residual waste"),
}
STATUS_LABELS = {
    "ok": N_("OK"),
    "lidOpen": N_("Lid open"),
    "dropped": N_("Knocked over"),
    "moved": N_("Moved"),
    "vandalized": N_("Vandalized"),
    "burning": N_("Burning"),
    "unknown": N_("Unknown"),
}
FLAG_LABELS = {
    "weight_not_positive": N_("Weight of zero or less"),
    "weight_over_max": N_("Heavier than the bin takes at once"),
    "too_frequent": N_("Card swiped too often"),
    "impossible_travel": N_("Card used at two distant bins"),
}
GRADE_LABELS = {"correct": N_("Sorted correctly"), "incorrect": N_("Not sorted correctly")}
REASONS = (
    N_("Mixed with other waste"),
    N_("Bag not removed"),
    N_("Wrong bin"),
    N_("Other"),
)


def _labels() -> dict[str, dict[str, str]]:
    return {
        "gb": {k: _(v) for k, v in GB_LABELS.items()},
        "status": {k: _(v) for k, v in STATUS_LABELS.items()},
        "flag": {k: _(v) for k, v in FLAG_LABELS.items()},
        "grade": {k: _(v) for k, v in GRADE_LABELS.items()},
    }


def _require_view(actor: Actor) -> None:
    if not service.may_view_any(actor):
        raise PermissionDenied(_("Your role cannot see waste sorting."))


def _require_inspect(actor: Actor) -> None:
    if not service.may_inspect_any(actor):
        raise PermissionDenied(_("Your role cannot grade sorting."))


# --- assets (CSS and the chart script are served from this package) -------------------------


@router.get("/waste/assets/waste.css")
def waste_css() -> Response:
    return FileResponse(ASSETS / "waste.css", media_type="text/css")


@router.get("/waste/assets/waste-charts.js")
def waste_js() -> Response:
    return FileResponse(ASSETS / "waste-charts.js", media_type="text/javascript")


# --- console -------------------------------------------------------------------------------


@router.get("/console/waste")
def console_home(request: Request, db: Db, actor: LoggedIn, community: QueryId = None) -> Response:
    """The community's bins with fill level and status, and the way to plans, rates, fraud."""
    _require_view(actor)
    place = service.community_for(db, actor, community)
    service.refresh_from_telemetry(db, place.id)
    db.commit()
    bins = service.list_bins(db, actor, place.id)
    full = [b for b in bins if b.fill_level >= b.fill_threshold]
    return view(
        request,
        "waste/console.html",
        {
            "community": place,
            "communities": service.communities(db, actor),
            "bins": bins,
            "full": full,
            "burning": [b for b in bins if b.status == "burning"],
            "wl": _labels(),
            "can_manage": service.may_manage_community(db, actor, place.id),
        },
    )


def _project(
    bins: list[ContainerRead], plan: PlanRead | None
) -> tuple[dict[int, tuple[float, float]], dict[int, tuple[float, float]]]:
    """Bin and depot positions on the drawing, distances kept true (a local plan, north up)."""
    points: list[tuple[str, int, float, float]] = [
        ("b", b.id, b.latitude, b.longitude) for b in bins
    ]
    if plan is not None:
        points += [("d", r.truck_id, r.depot_latitude, r.depot_longitude) for r in plan.routes]
    bins_xy: dict[int, tuple[float, float]] = {}
    depots_xy: dict[int, tuple[float, float]] = {}
    if not points:
        return bins_xy, depots_xy
    lats = [p[2] for p in points]
    lons = [p[3] for p in points]
    squeeze = math.cos(math.radians((min(lats) + max(lats)) / 2))
    span_x = max((max(lons) - min(lons)) * squeeze, 1e-4)
    span_y = max(max(lats) - min(lats), 1e-4)
    scale = min((MAP_W - 2 * MAP_PAD) / span_x, (MAP_H - 2 * MAP_PAD) / span_y)
    off_x = (MAP_W - span_x * scale) / 2
    off_y = (MAP_H - span_y * scale) / 2
    for kind, key, lat, lon in points:
        x = round(off_x + (lon - min(lons)) * squeeze * scale, 1)
        y = round(MAP_H - (off_y + (lat - min(lats)) * scale), 1)
        (bins_xy if kind == "b" else depots_xy)[key] = (x, y)
    return bins_xy, depots_xy


@router.get("/console/waste/plan")
def plan_page(
    request: Request, db: Db, actor: LoggedIn, community: QueryId = None, done: str = ""
) -> Response:
    """The latest collection plan on the site plan, with each truck's ordered stops."""
    _require_view(actor)
    place = service.community_for(db, actor, community)
    plan = service.latest_plan(db, actor, place.id)
    bins = service.list_bins(db, actor, place.id)
    bins_xy, depots_xy = _project(bins, plan)
    lines = []
    if plan is not None:
        for n, route in enumerate(plan.routes):
            colour, dash = ROUTE_STYLES[n % len(ROUTE_STYLES)]
            chain = [depots_xy[route.truck_id]]
            chain += [bins_xy[s.bin_id] for s in route.stops if s.bin_id in bins_xy]
            chain.append(depots_xy[route.truck_id])
            lines.append(
                {
                    "route": route,
                    "colour": colour,
                    "dash": dash,
                    "points": " ".join(f"{x},{y}" for x, y in chain),
                    "depot": depots_xy[route.truck_id],
                }
            )
    planned = {s.bin_id: s.seq for r in (plan.routes if plan else []) for s in r.stops}
    return view(
        request,
        "waste/plan.html",
        {
            "community": place,
            "plan": plan,
            "bins": bins,
            "bins_xy": bins_xy,
            "planned": planned,
            "lines": lines,
            "width": MAP_W,
            "height": MAP_H,
            "wl": _labels(),
            "done": done == "planned",
            "can_manage": service.may_manage_community(db, actor, place.id),
            "unserved": [b for b in bins if plan is not None and b.id in plan.unserved],
        },
    )


@router.post("/console/waste/plan")
def plan_now(db: Db, actor: LoggedIn, community: Text = "") -> Response:
    """Plan collection now for the community; back to the plan page."""
    _require_view(actor)
    place = service.community_for(db, actor, int(community) if community.isdigit() else None)
    service.make_plan(db, actor, place.id)
    db.commit()
    return RedirectResponse(f"/console/waste/plan?community={place.id}&done=planned", 303)


@router.get("/console/waste/plans/{plan_id:int}/sheet")
def driver_sheet(
    request: Request, db: Db, actor: LoggedIn, plan_id: PathId, truck: QueryId = None
) -> Response:
    """The driver's printable sheet: stops in order with addresses, bin numbers and loads."""
    _require_view(actor)
    plan = service.get_plan(db, actor, plan_id)
    routes = [r for r in plan.routes if truck is None or r.truck_id == truck]
    return view(request, "waste/sheet.html", {"plan": plan, "routes": routes, "wl": _labels()})


@router.get("/console/waste/rates")
def rates_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    community: QueryId = None,
    start: str = "",
    end: str = "",
) -> Response:
    """Participation and correctness per building, with their daily trend as charts."""
    _require_view(actor)
    place = service.community_for(db, actor, community)
    today = to_local(utc_now()).date()
    error = ""
    try:
        last = shell.parse_day(end) or today
        first = shell.parse_day(start) or last - dt.timedelta(days=13)
        found = service.rates(db, actor, place.id, first, last)
    except (ValueError, ValidationFailed):
        error = _("Give the period as two dates, the first not after the last, at most a year.")
        last, first = today, today - dt.timedelta(days=13)
        found = service.rates(db, actor, place.id, first, last)
    chart = {
        "days": [
            int(dt.datetime.combine(p.day, dt.time(12), tzinfo=dt.UTC).timestamp())
            for p in found.trend
        ],
        "participation": [
            None if p.participation is None else round(p.participation * 100, 1)
            for p in found.trend
        ],
        "correctness": [
            None if p.correctness is None else round(p.correctness * 100, 1) for p in found.trend
        ],
    }
    return view(
        request,
        "waste/rates.html",
        {
            "community": place,
            "rates": found,
            "chart": json.dumps(chart),
            "error": error,
            "start": first.isoformat(),
            "end": last.isoformat(),
        },
        status_code=422 if error else 200,
    )


@router.get("/console/waste/fraud")
def fraud_page(request: Request, db: Db, actor: LoggedIn, community: QueryId = None) -> Response:
    """Disposals the anti-fraud rules flagged; they earned no points."""
    _require_view(actor)
    place = service.community_for(db, actor, community)
    return view(
        request,
        "waste/fraud.html",
        {"community": place, "rows": service.flagged(db, actor, place.id), "wl": _labels()},
    )


# --- the inspector's phone page ------------------------------------------------------------


@router.get("/console/sorting-check")
def inspect_page(
    request: Request,
    db: Db,
    actor: LoggedIn,
    bin: QueryId = None,  # the query parameter's name on the page
    card: str = "",
    done: str = "",
) -> Response:
    """Pick a bin or enter a card, then grade each of today's disposals with one tap."""
    _require_inspect(actor)
    card = card.strip()[:64]
    bins = service.list_bins(db, actor)
    rows = service.to_inspect(db, actor, bin_id=bin, card=card)
    chosen = next((b for b in bins if b.id == bin), None)
    return view(
        request,
        "waste/inspect.html",
        {
            "bins": bins,
            "chosen": chosen,
            "card": card,
            "rows": rows,
            "wl": _labels(),
            "reasons": [_(r) for r in REASONS],
            "done": done if done in ("correct", "incorrect") else "",
            "searched": bin is not None or bool(card),
        },
    )


@router.post("/console/sorting-check/{disposal_id:int}")
def inspect_grade(
    db: Db,
    actor: LoggedIn,
    disposal_id: PathId,
    result: Text = "",
    reason: Text = "",
    bin: Text = "",  # where to go back to
    card: Text = "",
) -> Response:
    """Store the inspector's grade and go back to the same list."""
    _require_inspect(actor)
    try:
        service.grade_one(db, actor, disposal_id, result, reason.strip())
        db.commit()
    except IntegrityError:  # another inspector graded it a moment ago
        db.rollback()
        raise Conflict(_("This disposal has already been graded.")) from None
    back = f"bin={bin}" if bin.isdigit() else ""
    if not back and card.strip():
        from urllib.parse import quote

        back = f"card={quote(card.strip()[:64])}"
    return RedirectResponse(f"/console/sorting-check?{back}&done={result}", 303)


# --- residents -----------------------------------------------------------------------------


@router.get("/me/sorting")
def my_sorting(request: Request, db: Db, actor: LoggedIn) -> Response:
    """The household's disposals, their grades and the points they earned."""
    rows = service.my_disposals(db, actor)
    return view(
        request,
        "waste/mine.html",
        {
            "rows": rows,
            "cards": service.my_cards(db, actor),
            "wl": _labels(),
            "points": sum(r.points for r in rows),
        },
    )
