"""Console pages of alarm rules: the list, making one from a template, viewing, changing,
switching, deleting and backtesting one."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from linli.core import i18n
from linli.core.actor import Actor
from linli.core.errors import LinliError, PermissionDenied
from linli.core.i18n import gettext as _
from linli.core.pagination import PageParams
from linli.device import service as device_service
from linli.place import service as place_service
from linli.rule import service
from linli.rule.schemas import BacktestResult, RuleCreate, RuleUpdate
from linli.rule.templates import BY_CODE, Template
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId
from linli.web.shell import N_, view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

PAGE_SIZE = 25
PLACE_KINDS = ("district", "street_office", "community", "compound", "building", "unit")
OPS = (">", ">=", "<", "<=")
SCOPES = ("community", "compound", "building", "unit")
SEVERITIES = ("critical", "major", "minor", "warning")
DAYS = ("all", "workday", "holiday")
DIRECTIONS = ("both", "up", "down")
# Rows of time windows and of conditions a form offers (filled ones plus blank ones to add).
MAX_ROWS = 12
BLANK_WINDOWS = 2
BLANK_CONDITIONS = 1
MAX_MINUTES = 60 * 24 * 31
HHMM = re.compile(r"^\d{2}:\d{2}$")

KIND_LABELS = {
    "threshold": N_("Limit"),
    "rate": N_("Sudden change"),
    "flatline": N_("Stuck value"),
    "missing": N_("Missing readings"),
    "schedule": N_("Limit by time of day"),
    "anomaly": N_("Unusual reading"),
    "combination": N_("Combination"),
    "pressure_drop": N_("Sudden pressure drop"),
    "rate_of_rise": N_("Fast rise"),
    "co_exposure": N_("Carbon monoxide exposure"),
}
SEVERITY_LABELS = {
    "critical": N_("Critical"),
    "major": N_("Major"),
    "minor": N_("Minor"),
    "warning": N_("Warning"),
}
OP_LABELS = {
    ">": N_("above"),
    ">=": N_("at or above"),
    "<": N_("below"),
    "<=": N_("at or below"),
}
DAY_LABELS = {
    "all": N_("Every day"),
    "workday": N_("Working days"),
    "holiday": N_("Rest days and holidays"),
}
DIRECTION_LABELS = {
    "both": N_("Up or down"),
    "up": N_("Up only"),
    "down": N_("Down only"),
}
# The parameters each kind's form shows, with how each is read (see _read_param).
PARAMS: dict[str, tuple[tuple[str, str], ...]] = {
    "threshold": (
        ("op", "op"),
        ("value", "number"),
        ("clear_value", "optional"),
        ("for_min", "minutes"),
        ("clear_for_min", "minutes"),
    ),
    "schedule": (("op", "op"), ("clear_margin", "nonnegative"), ("for_min", "minutes")),
    "rate": (("max_change", "positive"), ("within_min", "minutes"), ("direction", "direction")),
    "flatline": (("for_min", "duration"), ("tolerance", "nonnegative")),
    "missing": (("intervals", "intervals"),),
    "anomaly": (("sensitivity", "fraction"),),
    "combination": (("scope", "scope"), ("max_age_min", "duration"), ("for_min", "minutes")),
    "pressure_drop": (
        ("min_drop", "positive"),
        ("baseline_min", "duration"),
        ("readings", "intervals"),
        ("clear_for_min", "minutes"),
    ),
    "rate_of_rise": (
        ("rise_per_min", "positive"),
        ("within_min", "duration"),
        ("level", "optional"),
        ("clear_level", "optional"),
    ),
    "co_exposure": (("scale", "positive"),),
}


def _require_view(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_view_any(actor):
        raise PermissionDenied(_("You may not see rules."))


def _require_manage(actor: Actor) -> None:
    if not actor.is_anonymous and not service.may_manage_any(actor):
        raise PermissionDenied(_("You may not make rules."))


def _zh() -> bool:
    return i18n.get_locale().startswith("zh")


# --- labels ---------------------------------------------------------------------------------


def _property_labels(db: Session) -> dict[str, str]:
    zh = _zh()
    return {
        key: f"{p.name_zh if zh and p.name_zh else p.name} ({key})"
        for key, p in device_service.property_names(db).items()
    }


def _place_options(db: Session, actor: Actor) -> list[tuple[int, str]]:
    places = place_service.under(db, service.manageable_place_paths(actor), kinds=PLACE_KINDS)
    return [(p.id, place_service.label(db, p, from_kind="district")) for p in places]


def _profile_options(db: Session) -> list[tuple[str, str]]:
    zh = _zh()
    return [
        (p.code, p.name_zh if zh and p.name_zh else p.name) for p in device_service.profiles(db)
    ]


def _choices(labels: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(key, _(text)) for key, text in labels.items()]


def _option_lists(db: Session) -> dict[str, Any]:
    properties = _property_labels(db)
    return {
        "op_options": _choices(OP_LABELS),
        "day_options": _choices(DAY_LABELS),
        "direction_options": _choices(DIRECTION_LABELS),
        "scope_options": [(s, _(shell.LABELS["kind"][s])) for s in SCOPES],
        "severity_options": _choices(SEVERITY_LABELS),
        "property_options": sorted(properties.items()),
        "property_labels": properties,
        "kind_labels": KIND_LABELS,
        "severity_labels": SEVERITY_LABELS,
    }


# --- forms ----------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _number(raw: str) -> float | int | None:
    """A number typed by a person, or None when it is not one."""
    try:
        number = float(raw.strip())
    except ValueError:
        return None
    if not math.isfinite(number):
        return None
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


@dataclass
class ParamForm:
    """A rule's parameters as the form shows them (text as typed) and what is wrong with them."""

    values: dict[str, str] = field(default_factory=dict)
    windows: list[dict[str, str]] = field(default_factory=list)
    conditions: list[dict[str, str]] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)


def params_to_form(kind: str, params: Mapping[str, Any]) -> ParamForm:
    """The form of stored or template parameters, with blank rows to add windows or conditions."""
    form = ParamForm()
    for key, _how in PARAMS.get(kind, ()):
        form.values[key] = _text(params.get(key))
    if kind == "threshold" and not form.values["clear_value"]:
        form.values["clear_value"] = form.values["value"]
    for key, default in (("for_min", 0), ("clear_for_min", 0), ("clear_margin", 0)):
        if key in form.values and not form.values[key]:
            form.values[key] = str(default)
    if kind == "rate" and not form.values["direction"]:
        form.values["direction"] = "both"
    if kind == "schedule":
        for item in params.get("windows") or []:
            if isinstance(item, dict):
                form.windows.append(
                    {
                        "start": _text(item.get("start")),
                        "end": _text(item.get("end")),
                        "days": _text(item.get("days", "all")),
                        "value": _text(item.get("value")),
                        "label": _text(item.get("label", "")),
                    }
                )
    if kind == "combination":
        for item in params.get("conditions") or []:
            if isinstance(item, dict):
                form.conditions.append(
                    {
                        "property": _text(item.get("property")),
                        "op": _text(item.get("op", ">")),
                        "value": _text(item.get("value")),
                    }
                )
    return _with_blank_rows(kind, form)


def _with_blank_rows(kind: str, form: ParamForm) -> ParamForm:
    if kind == "schedule":
        blank = {"start": "", "end": "", "days": "all", "value": "", "label": ""}
        while (
            len(form.windows) < MAX_ROWS
            and sum(1 for w in form.windows if not any(w[k] for k in ("start", "end", "value")))
            < BLANK_WINDOWS
        ):
            form.windows.append(dict(blank))
    if kind == "combination":
        blank = {"property": "", "op": ">", "value": ""}
        while (
            len(form.conditions) < MAX_ROWS
            and sum(1 for c in form.conditions if not (c["property"] or c["value"]))
            < BLANK_CONDITIONS
        ):
            form.conditions.append(dict(blank))
    return form


def _read_param(how: str, raw: str) -> tuple[Any, str | None]:
    """(value, error) of one parameter field; value None means "leave it out"."""
    raw = raw.strip()
    if how == "op":
        return (raw, None) if raw in OPS else (None, _("Choose a comparison from the list."))
    if how == "direction":
        ok = raw in DIRECTIONS
        return (raw, None) if ok else (None, _("Choose a direction from the list."))
    if how == "scope":
        ok = raw in SCOPES
        return (raw, None) if ok else (None, _("Choose a kind of place from the list."))
    if how == "optional" and not raw:
        return None, None
    if how in ("minutes", "nonnegative") and not raw:
        return 0, None
    number = _number(raw)
    if number is None:
        return None, _("Enter a number, for example 75 or 2.5.")
    if how == "minutes" and not 0 <= number <= MAX_MINUTES:
        return None, _("Enter minutes from 0 to 44640.")
    if how == "duration" and not 0 < number <= MAX_MINUTES:
        return None, _("Enter minutes from 1 to 44640.")
    if how == "nonnegative" and number < 0:
        return None, _("Enter 0 or more.")
    if how == "positive" and number <= 0:
        return None, _("Enter a number greater than 0.")
    if how == "intervals" and number < 1:
        return None, _("Enter 1 or more.")
    if how == "fraction" and not 0 <= number <= 1:
        return None, _("Enter a number from 0 to 1, for example 0.5.")
    return number, None


def _hhmm(raw: str) -> bool:
    if not HHMM.match(raw):
        return False
    hours, minutes = int(raw[:2]), int(raw[3:])
    return hours * 60 + minutes <= 24 * 60 and minutes < 60


def form_to_params(
    kind: str, data: Mapping[str, str], base: Mapping[str, Any], properties: set[str]
) -> tuple[dict[str, Any], ParamForm]:
    """Parameters from a submitted form over ``base``; the form as typed carries the errors."""
    form = ParamForm()
    params: dict[str, Any] = dict(base)
    for key, how in PARAMS.get(kind, ()):
        raw = data.get(f"p_{key}", "")[:64]
        form.values[key] = raw
        value, error = _read_param(how, raw)
        if error:
            form.errors[key] = error
        elif value is None:
            params.pop(key, None)
        else:
            params[key] = value
    if kind == "threshold" and not form.errors:
        upward = params["op"] in (">", ">=")
        clear = params.get("clear_value", params["value"])
        if (upward and clear > params["value"]) or (not upward and clear < params["value"]):
            form.errors["clear_value"] = (
                _("For an upper limit the all-clear value must not be above the limit.")
                if upward
                else _("For a lower limit the all-clear value must not be below the limit.")
            )
    if kind == "schedule":
        params["windows"] = _read_windows(data, form)
    if kind == "combination":
        params["conditions"] = _read_conditions(data, form, properties)
    return params, _with_blank_rows(kind, form)


def _read_windows(data: Mapping[str, str], form: ParamForm) -> list[dict[str, Any]]:
    windows: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        if f"w{i}_start" not in data:
            break
        row = {k: data.get(f"w{i}_{k}", "").strip()[:64] for k in ("start", "end", "days", "value")}
        row["label"] = data.get(f"w{i}_label", "").strip()[:40]
        form.windows.append(row)
        if not (row["start"] or row["end"] or row["value"]):
            continue
        for part in ("start", "end"):
            if not _hhmm(row[part]):
                form.errors[f"w{i}_{part}"] = _("Enter a time as HH:MM, for example 06:00.")
        if row["days"] not in DAYS:
            form.errors[f"w{i}_days"] = _("Choose which days from the list.")
        limit = _number(row["value"])
        if limit is None:
            form.errors[f"w{i}_value"] = _("Enter a number, for example 75 or 2.5.")
        window: dict[str, Any] = {
            "start": row["start"],
            "end": row["end"],
            "days": row["days"],
            "value": limit,
        }
        if row["label"]:
            window["label"] = row["label"]
        windows.append(window)
    if not windows:
        form.errors["windows"] = _("Fill in at least one time window.")
    return windows


def _read_conditions(
    data: Mapping[str, str], form: ParamForm, properties: set[str]
) -> list[dict[str, Any]]:
    conditions: list[dict[str, Any]] = []
    for i in range(MAX_ROWS):
        if f"c{i}_property" not in data:
            break
        row = {k: data.get(f"c{i}_{k}", "").strip()[:64] for k in ("property", "op", "value")}
        form.conditions.append(row)
        if not (row["property"] or row["value"]):
            continue
        if row["property"] not in properties:
            form.errors[f"c{i}_property"] = _("Choose a measurement from the list.")
        if row["op"] not in OPS:
            form.errors[f"c{i}_op"] = _("Choose a comparison from the list.")
        value = _number(row["value"])
        if value is None:
            form.errors[f"c{i}_value"] = _("Enter a number, for example 75 or 2.5.")
        conditions.append({"property": row["property"], "op": row["op"], "value": value})
    if len(conditions) < 2:
        form.errors["conditions"] = _("Fill in at least two conditions.")
    return conditions


def _common(data: Mapping[str, str]) -> dict[str, str]:
    names = ("name", "description", "place_id", "property_key", "profile_code", "severity")
    common = {name: data.get(name, "").strip()[:2100] for name in names}
    common["escalate_after_min"] = data.get("escalate_after_min", "").strip()[:12]
    common["enabled"] = "1" if data.get("enabled") == "1" else ""
    return common


COMMON_MESSAGES = {
    "name": N_("Enter a name of at most 200 characters, without control characters."),
    "description": N_("The description is at most 2000 characters, without control characters."),
    "severity": N_("Choose a severity from the list."),
    "escalate_after_min": N_("Enter whole minutes from 1 to 1440."),
    "": N_("Check the form."),
}


def _schema_errors(exc: ValidationError) -> dict[str, str]:
    messages = {key: _(text) for key, text in COMMON_MESSAGES.items()}
    return shell.field_errors(exc, messages)


# --- the list -------------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleRow:
    """A rule as the list shows it."""

    id: int
    name: str
    kind: str
    place: str
    property: str
    severity: str
    enabled: bool


@router.get("/console/rules")
def rule_list(
    request: Request,
    db: Db,
    actor: LoggedIn,
    page: Annotated[int, Query(ge=1, le=100_000)] = 1,
    done: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """Rules of the actor's places: what each watches, where, how severe, whether it is on."""
    _require_view(actor)
    params = PageParams(page=page, size=PAGE_SIZE)
    found = service.list_rules(db, actor, params)
    places = place_service.by_ids(db, sorted({r.place_id for r in found.items}))
    properties = _property_labels(db)
    rows = [
        RuleRow(
            id=r.id,
            name=r.name,
            kind=_(KIND_LABELS.get(r.kind, r.kind)),
            place=place_service.label(db, places[r.place_id], from_kind="district")
            if r.place_id in places
            else "—",
            property=", ".join(
                properties.get(k, k) for k in _rule_properties(r.kind, r.property_key, r.params)
            ),
            severity=_(SEVERITY_LABELS.get(r.severity, r.severity)),
            enabled=r.enabled,
        )
        for r in found.items
    ]
    return view(
        request,
        "rule/list.html",
        {
            "rows": rows,
            "pager": shell.pager(request, params, found.total),
            "can_manage": service.may_manage_any(actor),
            "done": done,
        },
    )


def _rule_properties(kind: str, property_key: str, params: Mapping[str, Any]) -> list[str]:
    if kind != "combination":
        return [property_key] if property_key else []
    conditions = params.get("conditions")
    if not isinstance(conditions, list):
        return []
    return [str(c.get("property")) for c in conditions if isinstance(c, dict)]


# --- a new rule -----------------------------------------------------------------------------


def _template_cards() -> list[dict[str, str]]:
    return [
        {
            "code": t.code,
            "name": _(t.name),
            "hint": _(t.hint),
            "kind": _(KIND_LABELS.get(t.kind, t.kind)),
        }
        for t in BY_CODE.values()
    ]


def _new_form(
    request: Request,
    db: Session,
    actor: Actor,
    template: Template,
    *,
    common: dict[str, str],
    params: ParamForm,
    errors: dict[str, str],
    status_code: int = 200,
) -> Response:
    ctx: dict[str, Any] = {
        "template": template,
        "template_name": _(template.name),
        "template_hint": _(template.hint),
        "kind": template.kind,
        "form": common,
        "params": params,
        "errors": {**params.errors, **errors},
        "places": _place_options(db, actor),
        "profiles": _profile_options(db),
    }
    ctx.update(_option_lists(db))
    labels = ctx["property_labels"]
    ctx["choices"] = [(key, labels.get(key, key)) for key in template.choices]
    return view(request, "rule/new.html", ctx, status_code=status_code)


@router.get("/console/rules/new")
def rule_new(
    request: Request,
    db: Db,
    actor: LoggedIn,
    template: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Step 1: pick a template; step 2 (``?template=``): adjust its parameters and place."""
    _require_manage(actor)
    chosen = BY_CODE.get(template)
    if chosen is None:
        return view(
            request,
            "rule/templates.html",
            {"templates": _template_cards(), "unknown": bool(template)},
            status_code=404 if template else 200,
        )
    common = {
        "name": _(chosen.name),
        "description": "",
        "place_id": "",
        "property_key": chosen.property_key,
        "profile_code": chosen.profile_code,
        "severity": chosen.severity,
        "escalate_after_min": "15",
        "enabled": "",
    }
    return _new_form(
        request,
        db,
        actor,
        chosen,
        common=common,
        params=params_to_form(chosen.kind, chosen.params),
        errors={},
    )


async def _form_data(request: Request) -> dict[str, str]:
    form = await request.form()
    return {key: value for key, value in form.items() if isinstance(value, str)}


@router.post("/console/rules/new")
async def rule_create(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Make the rule; on a mistake, the form again with every answer kept."""
    _require_manage(actor)
    data = await _form_data(request)
    return await run_in_threadpool(_create_sync, request, db, actor, data)


def _create_sync(request: Request, db: Session, actor: Actor, data: dict[str, str]) -> Response:
    template = BY_CODE.get(data.get("template", ""))
    if template is None:
        return view(
            request,
            "rule/templates.html",
            {"templates": _template_cards(), "unknown": True},
            status_code=422,
        )
    common = _common(data)
    known = device_service.property_keys(db)
    params, param_form = form_to_params(template.kind, data, template.params, known)
    errors: dict[str, str] = {}
    places = {str(pid) for pid, _label in _place_options(db, actor)}
    if common["place_id"] not in places:
        errors["place_id"] = _("Choose a place from the list.")
    if template.kind != "combination":
        allowed = set(template.choices) or {template.property_key}
        if common["property_key"] not in allowed:
            errors["property_key"] = _("Choose a measurement from the list.")
    if common["profile_code"] and common["profile_code"] not in device_service.profile_codes(db):
        errors["profile_code"] = _("Choose a kind of device from the list.")
    if common["severity"] not in SEVERITIES:
        errors["severity"] = _("Choose a severity from the list.")
    body: RuleCreate | None = None
    try:
        body = RuleCreate.model_validate(
            {
                "template": template.code,
                # A place not in the list has its own message above.
                "place_id": common["place_id"] if common["place_id"] in places else 1,
                "name": common["name"] or None,
                "description": common["description"],
                "property_key": common["property_key"] or None,
                "profile_code": common["profile_code"],
                "params": params,
                "severity": common["severity"] or None,
                "enabled": common["enabled"] == "1",
                "escalate_after_min": common["escalate_after_min"] or "15",
            }
        )
    except ValidationError as exc:
        errors = {**_schema_errors(exc), **errors}
    if body is None or errors or param_form.errors:
        return _new_form(
            request,
            db,
            actor,
            template,
            common=common,
            params=param_form,
            errors=errors or {"": _("Check the form.")},
            status_code=422,
        )
    try:
        rule = service.create(db, actor, body)
    except LinliError as exc:
        return _new_form(
            request,
            db,
            actor,
            template,
            common=common,
            params=param_form,
            errors={"params": _(exc.message), "": _("Check the form.")},
            status_code=exc.status_code,
        )
    db.commit()
    return RedirectResponse(f"/console/rules/{rule.id}?done=created", status_code=303)


# --- one rule -------------------------------------------------------------------------------


DONE_MESSAGES = {
    "created": N_("The rule was made. Backtest it, then switch it on."),
    "saved": N_("The changes were saved."),
    "enabled": N_("The rule is on: it now watches new readings."),
    "disabled": N_("The rule is off."),
    "deleted": N_("The rule was deleted."),
}


def _detail(
    request: Request,
    db: Session,
    actor: Actor,
    rule_id: int,
    *,
    done: str = "",
    edit: tuple[dict[str, str], ParamForm, dict[str, str]] | None = None,
    backtest: dict[str, Any] | None = None,
    status_code: int = 200,
) -> Response:
    rule = service.get(db, actor, rule_id)
    place = place_service.get(db, rule.place_id)
    template = BY_CODE.get(rule.template)
    if edit is None:
        common = {
            "name": rule.name,
            "description": rule.description,
            "severity": rule.severity,
            "escalate_after_min": str(rule.escalate_after_min),
        }
        edit = (common, params_to_form(rule.kind, rule.params), {})
    common, param_form, errors = edit
    streams = service.backtest_streams(db, actor, rule_id)
    labels = _property_labels(db)
    ctx: dict[str, Any] = {
        "rule": rule,
        "kind": rule.kind,
        "template_name": _(template.name) if template else rule.template,
        "place_label": place_service.label(db, place, from_kind="district"),
        "properties": [
            labels.get(k, k) for k in _rule_properties(rule.kind, rule.property_key, rule.params)
        ],
        "profile_name": dict(_profile_options(db)).get(rule.profile_code, rule.profile_code),
        "can_manage": service.may_manage(db, actor, rule),
        "done": _(DONE_MESSAGES[done]) if done in DONE_MESSAGES else "",
        "form": common,
        "params": param_form,
        "errors": {**param_form.errors, **errors},
        "stream_options": [
            (
                s.datastream_id,
                f"{s.device_name} ({s.device_uid}) · {labels.get(s.property_key, s.property_key)}",
            )
            for s in streams
        ],
        "backtest": backtest or {"datastream_id": "", "days": "7", "errors": {}, "result": None},
    }
    ctx.update(_option_lists(db))
    return view(request, "rule/detail.html", ctx, status_code=status_code)


@router.get("/console/rules/{rule_id:int}")
def rule_detail(
    request: Request,
    db: Db,
    actor: LoggedIn,
    rule_id: PathId,
    done: Annotated[str, Query(max_length=16)] = "",
    datastream_id: Annotated[str, Query(max_length=12)] = "",
    days: Annotated[str, Query(max_length=6)] = "",
) -> Response:
    """One rule: what it watches, its settings, a backtest over stored readings, changes."""
    _require_view(actor)
    backtest: dict[str, Any] | None = None
    if datastream_id or days:
        backtest = _run_backtest(db, actor, rule_id, datastream_id, days)
    status = 422 if backtest and backtest["errors"] else 200
    return _detail(request, db, actor, rule_id, done=done, backtest=backtest, status_code=status)


def _run_backtest(
    db: Session, actor: Actor, rule_id: int, datastream_id: str, days: str
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    choices = {s.datastream_id for s in service.backtest_streams(db, actor, rule_id)}
    if not datastream_id.isdigit() or int(datastream_id) not in choices:
        errors["datastream_id"] = _("Choose a measurement from the list.")
    if not days.strip().isdigit() or not 1 <= int(days.strip()) <= 366:
        errors["days"] = _("Enter whole days from 1 to 366.")
    result: BacktestResult | None = None
    if not errors:
        try:
            result = service.backtest_stored(
                db, actor, rule_id, datastream_id=int(datastream_id), days=int(days.strip())
            )
        except LinliError as exc:
            errors["datastream_id"] = _(exc.message)
    return {"datastream_id": datastream_id, "days": days, "errors": errors, "result": result}


@router.post("/console/rules/{rule_id:int}")
async def rule_update(request: Request, db: Db, actor: LoggedIn, rule_id: PathId) -> Response:
    """Save changes to a rule's name, parameters, severity and escalation."""
    _require_manage(actor)
    data = await _form_data(request)
    return await run_in_threadpool(_update_sync, request, db, actor, rule_id, data)


def _update_sync(
    request: Request, db: Session, actor: Actor, rule_id: int, data: dict[str, str]
) -> Response:
    rule = service.get(db, actor, rule_id)
    if not service.may_manage(db, actor, rule):
        raise PermissionDenied(_("You may not change this rule."))
    common = _common(data)
    params, param_form = form_to_params(
        rule.kind, data, rule.params, device_service.property_keys(db)
    )
    errors: dict[str, str] = {}
    if common["severity"] not in SEVERITIES:
        errors["severity"] = _("Choose a severity from the list.")
    body: RuleUpdate | None = None
    try:
        body = RuleUpdate.model_validate(
            {
                "name": common["name"],
                "description": common["description"],
                "severity": common["severity"] or None,
                "escalate_after_min": common["escalate_after_min"] or None,
                "params": params,
            }
        )
    except ValidationError as exc:
        errors = {**_schema_errors(exc), **errors}
    if not common["name"]:
        errors["name"] = _(COMMON_MESSAGES["name"])
    if not common["escalate_after_min"]:
        errors["escalate_after_min"] = _(COMMON_MESSAGES["escalate_after_min"])
    errors.pop("params", None)
    if body is None or errors or param_form.errors:
        return _detail(
            request,
            db,
            actor,
            rule_id,
            edit=(common, param_form, {**errors, "": _("Check the form.")}),
            status_code=422,
        )
    try:
        service.update(db, actor, rule_id, body)
    except LinliError as exc:
        db.rollback()
        return _detail(
            request,
            db,
            actor,
            rule_id,
            edit=(common, param_form, {"params": _(exc.message), "": _("Check the form.")}),
            status_code=exc.status_code,
        )
    db.commit()
    return RedirectResponse(f"/console/rules/{rule_id}?done=saved", status_code=303)


@router.post("/console/rules/{rule_id:int}/switch")
async def rule_switch(request: Request, db: Db, actor: LoggedIn, rule_id: PathId) -> Response:
    """Switch a rule on or off."""
    _require_manage(actor)
    data = await _form_data(request)
    enabled = data.get("enabled") == "1"
    await run_in_threadpool(_switch_sync, db, actor, rule_id, enabled)
    state = "enabled" if enabled else "disabled"
    return RedirectResponse(f"/console/rules/{rule_id}?done={state}", status_code=303)


def _switch_sync(db: Session, actor: Actor, rule_id: int, enabled: bool) -> None:
    service.update(db, actor, rule_id, RuleUpdate(enabled=enabled))
    db.commit()


@router.get("/console/rules/{rule_id:int}/delete")
def rule_delete_confirm(request: Request, db: Db, actor: LoggedIn, rule_id: PathId) -> Response:
    """Ask before deleting a rule."""
    _require_manage(actor)
    rule = service.get(db, actor, rule_id)
    if not service.may_manage(db, actor, rule):
        raise PermissionDenied(_("You may not change this rule."))
    return view(request, "rule/delete.html", {"rule": rule})


@router.post("/console/rules/{rule_id:int}/delete")
def rule_delete(request: Request, db: Db, actor: LoggedIn, rule_id: PathId) -> Response:
    """Delete a rule; its open alarms are cleared and stay in the history."""
    _require_manage(actor)
    service.delete(db, actor, rule_id)
    db.commit()
    return RedirectResponse("/console/rules?done=deleted", status_code=303)
