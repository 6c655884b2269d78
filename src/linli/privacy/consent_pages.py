"""HTML pages of consents: 我的隐私与授权 (my purposes, a child's as guardian, at the desk)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from linli.core.actor import Actor
from linli.core.errors import LinliError
from linli.core.i18n import gettext as _
from linli.privacy import consent, purposes
from linli.web import shell
from linli.web.deps import CsrfChecked, Db, LoggedIn
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])


def _rows(db: Db, resident_id: int) -> list[dict[str, Any]]:
    return [
        {
            "id": s.purpose.id,
            "name": consent.name_of(s.purpose),
            "explanation": _(s.purpose.explanation),
            "necessity": _(s.purpose.necessity) if s.purpose.necessity else "",
            "impact": _(s.purpose.impact) if s.purpose.impact else "",
            "retention": _(s.purpose.retention),
            "sensitive": s.purpose.sensitive,
            "state": s.state,
            "given_at": s.given_at,
            "by_guardian": s.by_guardian,
        }
        for s in consent.states(db, resident_id)
    ]


def _page(
    request: Request,
    db: Db,
    actor: Actor,
    *,
    message: str = "",
    error: str = "",
    status_code: int = 200,
) -> Response:
    me = actor.effective_resident_id
    ctx: dict[str, Any] = {
        "rows": _rows(db, me) if me is not None else [],
        "is_resident": me is not None,
        "children": [
            {"id": c.resident_id, "name": c.name, "rows": _rows(db, c.resident_id)}
            for c in consent.children_of(db, actor)
        ],
        "notice_version": purposes.NOTICE_VERSION,
        "message": message,
        "error": error,
    }
    return view(request, "consent.html", ctx, status_code=status_code)


@router.get("/me/privacy")
def my_privacy(request: Request, db: Db, actor: LoggedIn, done: str = "") -> Response:
    """我的隐私与授权: each optional purpose, its state and one button to give or withdraw."""
    messages = {
        "given": _("Your consent is recorded. You can withdraw it here at any time."),
        "withdrawn": _("Your consent is withdrawn. The data it covered has been deleted."),
    }
    return _page(request, db, actor, message=messages.get(done, ""))


def _child(resident_id: str) -> int | None:
    return int(resident_id) if resident_id.isdigit() and len(resident_id) < 10 else None


@router.post("/me/privacy/give")
def give(
    request: Request,
    db: Db,
    actor: LoggedIn,
    purpose: Annotated[str, Form(max_length=64)],
    resident_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Give one consent (one purpose per button; nothing is pre-ticked)."""
    try:
        consent.give(db, actor, purpose, resident_id=_child(resident_id))
    except LinliError as exc:
        db.rollback()
        return _page(request, db, actor, error=exc.message, status_code=exc.status_code)
    db.commit()
    return RedirectResponse("/me/privacy?done=given", status_code=303)


@router.post("/me/privacy/withdraw")
def withdraw(
    request: Request,
    db: Db,
    actor: LoggedIn,
    purpose: Annotated[str, Form(max_length=64)],
    resident_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Withdraw one consent from the same screen, in one step."""
    try:
        consent.withdraw(db, actor, purpose, resident_id=_child(resident_id))
    except LinliError as exc:
        db.rollback()
        return _page(request, db, actor, error=exc.message, status_code=exc.status_code)
    db.commit()
    return RedirectResponse("/me/privacy?done=withdrawn", status_code=303)
