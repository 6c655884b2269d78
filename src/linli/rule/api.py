"""JSON API of alarm rules: templates, rules, export as a file, and backtests."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from linli.core.actor import Actor
from linli.core.errors import PermissionDenied, ValidationFailed
from linli.core.i18n import _
from linli.core.pagination import Page, PageParams
from linli.core.validation import MAX_ID
from linli.rule import service
from linli.rule.schemas import (
    BacktestRequest,
    BacktestResult,
    RuleCreate,
    RuleFile,
    RuleRead,
    RuleUpdate,
    TemplateRead,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn

router = APIRouter(prefix="/api/v1", tags=["rules"], dependencies=[CsrfChecked])
Paging = Annotated[PageParams, Depends()]
# ``:int`` keeps /rules/backtest (POST only) from being read as a rule id by the other methods.
RuleId = Annotated[int, Path(ge=1, le=MAX_ID)]

MAX_RULE_FILE_BYTES = 64 * 1024
MAX_CSV_BYTES = 32 * 1024 * 1024


def _require_view(actor: Actor) -> None:
    if not service.may_view_any(actor):
        raise PermissionDenied(_("You may not see rules."))


@router.get("/rule-templates", response_model=list[TemplateRead])
def list_templates(actor: LoggedIn) -> list[TemplateRead]:
    """The templates rules are made from, with their default parameters."""
    _require_view(actor)
    return service.templates()


@router.get("/rules", response_model=Page[RuleRead])
def list_rules(db: Db, actor: LoggedIn, paging: Paging) -> Page[RuleRead]:
    """Rules at the places the caller may see."""
    return service.list_rules(db, actor, paging)


@router.post("/rules", response_model=RuleRead, status_code=201)
def create_rule(db: Db, actor: LoggedIn, body: RuleCreate) -> RuleRead:
    """Make a rule from a template; it stays switched off unless ``enabled`` is true."""
    rule = service.create(db, actor, body)
    db.commit()
    return RuleRead.model_validate(rule)


@router.get("/rules/{rule_id:int}", response_model=RuleRead)
def get_rule(db: Db, actor: LoggedIn, rule_id: RuleId) -> RuleRead:
    return RuleRead.model_validate(service.get(db, actor, rule_id))


@router.patch("/rules/{rule_id:int}", response_model=RuleRead)
def update_rule(db: Db, actor: LoggedIn, rule_id: RuleId, body: RuleUpdate) -> RuleRead:
    """Change a rule; new parameters restart its evaluation and close its open alarms."""
    rule = service.update(db, actor, rule_id, body)
    db.commit()
    return RuleRead.model_validate(rule)


@router.delete("/rules/{rule_id:int}", status_code=204)
def delete_rule(db: Db, actor: LoggedIn, rule_id: RuleId) -> Response:
    """Delete a rule; its open alarms are cleared and stay in the history."""
    service.delete(db, actor, rule_id)
    db.commit()
    return Response(status_code=204)


@router.get("/rules/{rule_id:int}/export", response_model=RuleFile)
def export_rule(db: Db, actor: LoggedIn, rule_id: RuleId) -> JSONResponse:
    """The rule as a file for ``linli rules backtest`` (downloaded as rule-<id>.json)."""
    spec = service.export(db, actor, rule_id)
    return JSONResponse(
        spec.model_dump(mode="json"),
        headers={"Content-Disposition": f'attachment; filename="rule-{rule_id}.json"'},
    )


@router.post("/rules/{rule_id:int}/backtest", response_model=BacktestResult)
def backtest_rule(
    db: Db, actor: LoggedIn, rule_id: RuleId, body: BacktestRequest
) -> BacktestResult:
    """The alarms the rule would have raised over a datastream's stored readings."""
    return service.backtest_stored(
        db, actor, rule_id, datastream_id=body.datastream_id, days=body.days
    )


async def _read_capped(upload: UploadFile | None, limit: int, what: str) -> bytes:
    if upload is None:
        raise ValidationFailed(_("Choose a file for %(what)s.", what=what))
    raw = await upload.read(limit + 1)
    if len(raw) > limit:
        raise ValidationFailed(
            _("The file for %(what)s is larger than %(size)s KB.", what=what, size=limit // 1024)
        )
    return raw


def parse_rule_file(raw: bytes) -> RuleFile:
    """A rule file's content, or a 422 that says what is wrong with it."""
    try:
        return RuleFile.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or "-"
        raise ValidationFailed(
            _("The rule file is not valid: %(where)s: %(reason)s", where=where, reason=first["msg"])
        ) from None


def decode_csv(raw: bytes) -> str:
    """The text of an uploaded CSV (UTF-8, with or without a byte order mark)."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationFailed(_("The CSV file is not UTF-8 text.")) from None


@router.post("/rules/backtest", response_model=BacktestResult)
async def backtest_upload(
    request: Request,
    actor: LoggedIn,
    rule: Annotated[UploadFile | None, File(description="a rule file (linli rules export)")] = None,
    data: Annotated[UploadFile | None, File(description="CSV of timestamp,value rows")] = None,
    timezone: Annotated[str, Form(max_length=64)] = "Asia/Shanghai",
) -> BacktestResult:
    """The alarms a rule file would raise over an uploaded CSV of readings."""
    _require_view(actor)
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > MAX_RULE_FILE_BYTES + MAX_CSV_BYTES + 65536:
        raise ValidationFailed(_("The upload is too large."))
    spec = parse_rule_file(await _read_capped(rule, MAX_RULE_FILE_BYTES, "rule"))
    text = decode_csv(await _read_capped(data, MAX_CSV_BYTES, "data"))

    def run() -> BacktestResult:
        rows = service.parse_csv(text, timezone=timezone)
        return service.run_backtest(spec, rows)

    return await run_in_threadpool(run)
