"""Pages of two-step verification: enrolment, the login's second step, recovery codes, turning
it off, and the session-timeout endpoints used by the warning dialog."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response

from linli.account import mfa
from linli.account import service as account_service
from linli.core import ratelimit
from linli.core.actor import Actor
from linli.core.errors import LinliError, NotAuthenticated, TooManyRequests
from linli.core.i18n import gettext as _
from linli.web import ratelimit as limits
from linli.web import shell
from linli.web.deps import (
    MFA_ENROL_PATH,
    SESSION_STATUS_PATH,
    CsrfChecked,
    CurrentActor,
    Db,
    LoggedIn,
    client_ip,
    session_cookie_name,
    set_session_cookie,
    settings_of,
)
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])

LOGIN_MFA_PATH = "/login/mfa"


def _safe_next(target: str) -> str:
    from linli.web.pages import safe_next  # the login page's rule for "next"

    return safe_next(target, "")


# --- my two-step verification -----------------------------------------------------------------


def _mfa_page(
    request: Request, db: Db, actor: Actor, *, status_code: int = 200, **extra: Any
) -> Response:
    assert actor.account_id is not None
    enrolled = mfa.is_enrolled(db, actor.account_id)
    ctx: dict[str, Any] = {
        "enrolled": enrolled,
        "enrolment": None,
        "codes": None,
        "codes_left": mfa.recovery_codes_left(db, actor.account_id) if enrolled else 0,
        "error": None,
        "error_field": "",
        "required": bool(getattr(request.state, "mfa_enrolment_needed", False)),
        "done": "",
        "next_path": MFA_ENROL_PATH,
    }
    if not enrolled:
        ctx["enrolment"] = mfa.begin_enrolment(db, actor)
        db.commit()  # the unconfirmed secret must survive until the code comes back
    ctx.update(extra)
    return view(request, "account/mfa.html", ctx, status_code=status_code)


@router.get(MFA_ENROL_PATH)
def my_mfa(request: Request, db: Db, actor: LoggedIn, done: str = "") -> Response:
    """Two-step verification: set it up (secret as text and QR code) or manage it."""
    messages = {"off": _("Two-step verification is off.")}
    return _mfa_page(request, db, actor, done=messages.get(done, ""))


def _refused(request: Request, db: Db, actor: Actor, exc: LinliError, field: str) -> Response:
    """The page again with the refusal next to ``field``; the failed attempt and its audit row
    are kept, and a rate-limit refusal says when to try again."""
    db.commit()
    response = _mfa_page(
        request, db, actor, status_code=exc.status_code, error=_(exc.message), error_field=field
    )
    if isinstance(exc, TooManyRequests):
        response.headers["retry-after"] = str(exc.retry_after)
    return response


def _code_limit(db: Db, actor: Actor, account_id: int) -> None:
    limits.enforce(db, actor, ratelimit.MFA_CODE_ACCOUNT, key=f"account:{account_id}")


@router.post(MFA_ENROL_PATH)
def confirm_mfa(
    request: Request,
    db: Db,
    actor: LoggedIn,
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Confirm the set-up with a code from the app; shows the recovery codes once."""
    assert actor.account_id is not None
    session = getattr(request.state, "auth_session", None)
    try:
        _code_limit(db, actor, actor.account_id)
        codes = mfa.confirm_enrolment(db, actor, session, code)
    except LinliError as exc:
        return _refused(request, db, actor, exc, "code")
    token = account_service.rotate_session_token(session) if session is not None else None
    db.commit()
    response = _mfa_page(
        request, db, actor, codes=codes, required=False, done=_("Two-step verification is on.")
    )
    if token is not None:
        set_session_cookie(response, settings_of(request), token)
    return response


@router.post(MFA_ENROL_PATH + "/recovery-codes")
def renew_recovery_codes(
    request: Request,
    db: Db,
    actor: LoggedIn,
    password: Annotated[str, Form(max_length=1024)] = "",
) -> Response:
    """New recovery codes; the old ones stop working. Asks for the password again."""
    try:
        codes = mfa.regenerate_recovery_codes(db, actor, password=password)
    except LinliError as exc:
        return _refused(request, db, actor, exc, "renew-password")
    db.commit()
    return _mfa_page(request, db, actor, codes=codes, done=_("Here are your new recovery codes."))


@router.post(MFA_ENROL_PATH + "/disable")
def disable_mfa(
    request: Request,
    db: Db,
    actor: LoggedIn,
    password: Annotated[str, Form(max_length=1024)] = "",
    code: Annotated[str, Form(max_length=32)] = "",
) -> Response:
    """Turn two-step verification off: the password and a current code are asked again."""
    assert actor.account_id is not None
    session = getattr(request.state, "auth_session", None)
    try:
        _code_limit(db, actor, actor.account_id)
        mfa.disable(db, actor, session, password=password, code=code)
    except LinliError as exc:
        field = "off-password" if isinstance(exc, NotAuthenticated) else "off-code"
        return _refused(request, db, actor, exc, field)
    token = account_service.rotate_session_token(session) if session is not None else None
    db.commit()
    response = RedirectResponse(MFA_ENROL_PATH + "?done=off", status_code=303)
    if token is not None:
        set_session_cookie(response, settings_of(request), token)
    return response


# --- the login's second step ------------------------------------------------------------------


def _pending(request: Request, db: Db) -> Any:
    settings = settings_of(request)
    token = request.cookies.get(session_cookie_name(settings), "")
    return account_service.session_from_token(db, settings, token, pending=True)


def _login_code_page(
    request: Request, next_target: str, *, status_code: int = 200, error: str | None = None
) -> Response:
    return view(
        request,
        "account/mfa_login.html",
        {"next": next_target, "error": error, "next_path": LOGIN_MFA_PATH},
        status_code=status_code,
    )


@router.get(LOGIN_MFA_PATH)
def login_code_form(request: Request, db: Db, actor: CurrentActor, next: str = "") -> Response:
    """Second step of a login: the code from the authenticator app (or a recovery code)."""
    if _pending(request, db) is None:
        return RedirectResponse("/login", status_code=303)
    return _login_code_page(request, _safe_next(next))


@router.post(LOGIN_MFA_PATH)
def login_code_submit(
    request: Request,
    db: Db,
    actor: CurrentActor,
    code: Annotated[str, Form(max_length=32)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    """Check the code; the session becomes a full login with a new token."""
    found = _pending(request, db)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    session, account = found
    target = _safe_next(next)
    try:
        _code_limit(db, actor, account.id)
    except TooManyRequests as exc:
        db.commit()  # keep the record of the refusal
        return view(
            request,
            "account/mfa_login.html",
            {"next": target, "error": _(exc.message), "next_path": LOGIN_MFA_PATH},
            status_code=429,
            headers={"retry-after": str(exc.retry_after)},
        )
    if not code.strip():
        return _login_code_page(request, target, status_code=422, error=_("Enter the code."))
    if not mfa.verify_login(db, session, code, ip=client_ip(request)):
        db.commit()
        return _login_code_page(
            request, target, status_code=401, error=_("The code is not right; try again.")
        )
    token = account_service.rotate_session_token(session)
    db.commit()
    staff = account_service.build_actor(db, account, via="web").is_staff
    response = RedirectResponse(target or ("/console" if staff else "/me"), status_code=303)
    set_session_cookie(response, settings_of(request), token)
    return response


# --- session timeout (the warning dialog's two calls) -----------------------------------------


@router.get(SESSION_STATUS_PATH)
def session_status(request: Request, actor: LoggedIn) -> Response:
    """Seconds left before the idle and the absolute timeout; reading does not extend them."""
    session = getattr(request.state, "auth_session", None)
    if session is None:
        raise NotAuthenticated("please log in")
    idle, absolute = account_service.session_state(settings_of(request), session)
    return JSONResponse({"idle_seconds": idle, "absolute_seconds": absolute})


@router.post("/me/session/extend")
def session_extend(request: Request, db: Db, actor: LoggedIn) -> Response:
    """ "Stay logged in": counts as activity (up to the absolute limit)."""
    session = getattr(request.state, "auth_session", None)
    if session is None:
        raise NotAuthenticated("please log in")
    account_service.touch_session(session)
    db.commit()
    idle, absolute = account_service.session_state(settings_of(request), session)
    return JSONResponse({"idle_seconds": idle, "absolute_seconds": absolute})
