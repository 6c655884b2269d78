"""HTML pages of the account domain: my settings, assisted mode's end, account management."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from linli.account import service
from linli.account.schemas import AccountCreate, ApiKeyCreate
from linli.core.actor import ACCOUNT_ADMIN_ROLES, Actor
from linli.core.errors import LinliError, PermissionDenied, ValidationFailed
from linli.core.i18n import gettext as _
from linli.place import service as place_service
from linli.web import shell
from linli.web.deps import (
    CsrfChecked,
    Db,
    LoggedIn,
    PathId,
    session_cookie_name,
    set_session_cookie,
    settings_of,
)
from linli.web.shell import view

router = APIRouter(include_in_schema=False, dependencies=[CsrfChecked, shell.AssistContext])


# --- my settings ----------------------------------------------------------------------------


def _settings_page(
    request: Request, db: Db, actor: Actor, *, status_code: int = 200, **extra: Any
) -> Response:
    sessions = service.active_sessions(db, actor)
    keys = service.api_keys_of(db, actor) if actor.is_staff else []
    ctx: dict[str, Any] = {
        "sessions": sessions,
        "current_session_id": actor.session_id,
        "keys": keys,
        "key_name": "",
        "key_error": None,
        "new_key": None,
        "next_path": "/me/settings",
    }
    ctx.update(extra)
    return view(request, "account/settings.html", ctx, status_code=status_code)


@router.get("/me/settings")
def my_settings(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Language, elder mode and text size; where I am logged in; my API keys (staff)."""
    return _settings_page(request, db, actor)


@router.post("/me/settings/logout-everywhere")
def logout_everywhere(request: Request, db: Db, actor: LoggedIn) -> Response:
    """End every session of my account, this one included."""
    service.logout_everywhere(db, actor)
    db.commit()
    response = RedirectResponse("/?bye=everywhere", status_code=303)
    response.delete_cookie(session_cookie_name(settings_of(request)), path="/")
    return response


@router.post("/me/settings/api-keys")
def create_api_key(
    request: Request,
    db: Db,
    actor: LoggedIn,
    name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Issue an API key for other software; the key is shown on this response only."""
    if not actor.is_staff:
        raise PermissionDenied("API keys are for staff and the software they run")
    assert actor.account_id is not None
    try:
        body = ApiKeyCreate(name=name.strip())
    except ValidationError:
        error = _("Give the key a name of 1 to 100 characters, such as the program that uses it.")
        return _settings_page(request, db, actor, status_code=422, key_name=name, key_error=error)
    key, plain = service.create_api_key(db, actor, account_id=actor.account_id, name=body.name)
    db.commit()
    return _settings_page(request, db, actor, new_key=(key, plain))


@router.post("/me/settings/api-keys/{key_id}/revoke")
def revoke_api_key(request: Request, db: Db, actor: LoggedIn, key_id: PathId) -> Response:
    """Stop an API key from working."""
    service.revoke_api_key(db, actor, key_id)
    db.commit()
    return RedirectResponse("/me/settings#api-keys", status_code=303)


# --- assisted mode ----------------------------------------------------------------------------


@router.post("/console/assist/stop")
def stop_assist(request: Request, db: Db, actor: LoggedIn) -> Response:
    """Stop acting for a resident."""
    session = getattr(request.state, "auth_session", None)
    token = service.stop_assist(db, actor, session) if session is not None else None
    db.commit()
    response = RedirectResponse("/console/residents" if actor.is_staff else "/", status_code=303)
    if token is not None:
        set_session_cookie(response, settings_of(request), token)  # a new token (A10)
    return response


# --- console: accounts ------------------------------------------------------------------------


def _accounts_page(
    request: Request, db: Db, actor: Actor, *, status_code: int = 200, **extra: Any
) -> Response:
    accounts = service.manageable_accounts(db, actor)
    grants = {a.id: service.grants_of(db, a.id) for a in accounts}
    place_ids = sorted({g.place_id for gs in grants.values() for g in gs})
    places = place_service.by_ids(db, place_ids)
    admin_places = place_service.under(db, actor.paths_for(ACCOUNT_ADMIN_ROLES))
    ctx: dict[str, Any] = {
        "accounts": accounts,
        "grants": grants,
        "places": places,
        "place_options": [(p.id, p.name) for p in admin_places],
        "place_kinds": {p.id: p.kind for p in admin_places},
        "roles": service.grantable_roles(actor),
        "form": {},
        "errors": {},
        "grant_form": {},
        "grant_errors": {},
        "done": "",
        "next_path": "/console/accounts",
    }
    ctx.update(extra)
    return view(request, "account/accounts.html", ctx, status_code=status_code)


@router.get("/console/accounts")
def accounts(request: Request, db: Db, actor: LoggedIn, done: str = "") -> Response:
    """Accounts in the places this administrator manages."""
    shell.require_any(actor, ACCOUNT_ADMIN_ROLES, "you cannot manage accounts")
    messages = {
        "created": _("The account was created."),
        "granted": _("The role was granted."),
    }
    return _accounts_page(request, db, actor, done=messages.get(done, ""))


def _choice(value: str, allowed: set[str]) -> str | None:
    return value if value in allowed else None


@router.post("/console/accounts")
def create_account(
    request: Request,
    db: Db,
    actor: LoggedIn,
    username: Annotated[str, Form(max_length=200)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    resident_id: Annotated[str, Form(max_length=12)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Create a login and give it its first role on one of my places."""
    shell.require_any(actor, ACCOUNT_ADMIN_ROLES, "you cannot manage accounts")
    form = {
        "username": username,
        "display_name": display_name,
        "resident_id": resident_id,
        "role": role,
        "place_id": place_id,
    }
    errors: dict[str, str] = {}
    resident: int | None = None
    if resident_id.strip():
        if resident_id.strip().isdigit():
            resident = int(resident_id.strip())
        else:
            errors["resident_id"] = _("Enter the resident's number in digits, or leave it empty.")
    data: AccountCreate | None = None
    try:
        data = AccountCreate(
            username=username.strip(),
            display_name=display_name.strip(),
            password=password,
            resident_id=resident,
        )
    except ValidationError as exc:
        errors.update(
            shell.field_errors(
                exc,
                {
                    "username": _("Use 3 to 64 letters, digits or the signs . _ @ -"),
                    "display_name": _("Enter the person's name as it should be shown."),
                    "password": _("Enter a first password for this person."),
                    "resident_id": _("Enter the resident's number in digits, or leave it empty."),
                    "": _("Check the form."),
                },
            )
        )
    chosen_role = _choice(role, set(service.grantable_roles(actor)))
    if chosen_role is None:
        errors["role"] = _("Choose a role from the list.")
    options = {str(p.id) for p in place_service.under(db, actor.paths_for(ACCOUNT_ADMIN_ROLES))}
    chosen_place = _choice(place_id, options)
    if chosen_place is None:
        errors["place_id"] = _("Choose a place from the list.")
    if data is not None and service.by_username(db, data.username) is not None:
        errors["username"] = _("This username is taken; choose another.")
    if errors or data is None or chosen_role is None or chosen_place is None:
        return _accounts_page(request, db, actor, status_code=422, form=form, errors=errors)
    try:
        account = service.create_account(db, actor, data)
    except ValidationFailed as exc:  # the password policy
        db.rollback()
        errors["password"] = _(exc.message)
        return _accounts_page(request, db, actor, status_code=422, form=form, errors=errors)
    except LinliError as exc:
        if isinstance(exc, PermissionDenied):
            db.commit()  # nothing was created; keep the record of the refusal
        else:
            db.rollback()
        errors["resident_id" if resident is not None else ""] = _(exc.message)
        return _accounts_page(
            request, db, actor, status_code=exc.status_code, form=form, errors=errors
        )
    try:
        service.grant_role(
            db, actor, account_id=account.id, role=chosen_role, place_id=int(chosen_place)
        )
    except LinliError as exc:
        db.rollback()  # no account without its role
        errors["role"] = _(exc.message)
        return _accounts_page(
            request, db, actor, status_code=exc.status_code, form=form, errors=errors
        )
    db.commit()
    return RedirectResponse("/console/accounts?done=created", status_code=303)


@router.post("/console/accounts/grants")
def grant_role(
    request: Request,
    db: Db,
    actor: LoggedIn,
    account_id: Annotated[str, Form(max_length=12)] = "",
    role: Annotated[str, Form(max_length=32)] = "",
    place_id: Annotated[str, Form(max_length=12)] = "",
) -> Response:
    """Grant a role on one of my places to an account I manage."""
    shell.require_any(actor, ACCOUNT_ADMIN_ROLES, "you cannot manage accounts")
    grant_form = {"account_id": account_id, "role": role, "place_id": place_id}
    errors: dict[str, str] = {}
    managed = {str(a.id): a for a in service.manageable_accounts(db, actor)}
    target = managed.get(account_id)
    if target is None:
        errors["account_id"] = _("Choose an account from the list.")
    chosen_role = _choice(role, set(service.grantable_roles(actor)))
    if chosen_role is None:
        errors["role"] = _("Choose a role from the list.")
    options = {str(p.id) for p in place_service.under(db, actor.paths_for(ACCOUNT_ADMIN_ROLES))}
    chosen_place = _choice(place_id, options)
    if chosen_place is None:
        errors["place_id"] = _("Choose a place from the list.")
    if errors or target is None or chosen_role is None or chosen_place is None:
        return _accounts_page(
            request, db, actor, status_code=422, grant_form=grant_form, grant_errors=errors
        )
    try:
        service.grant_role(
            db, actor, account_id=target.id, role=chosen_role, place_id=int(chosen_place)
        )
    except LinliError as exc:
        db.commit()  # a refused grant is recorded
        return _accounts_page(
            request,
            db,
            actor,
            status_code=exc.status_code,
            grant_form=grant_form,
            grant_errors={"": _(exc.message)},
        )
    db.commit()
    return RedirectResponse("/console/accounts?done=granted", status_code=303)
