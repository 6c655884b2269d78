"""JSON API of identity: me, preferences, API keys, sessions, accounts and grants."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from linli.account import service
from linli.account.schemas import (
    AccountCreate,
    AccountRead,
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyRead,
    GrantCreate,
    GrantRead,
    MeRead,
    PreferencesUpdate,
    SessionRead,
)
from linli.web.deps import CsrfChecked, Db, LoggedIn, PathId

router = APIRouter(prefix="/api/v1", tags=["accounts"], dependencies=[CsrfChecked])


@router.get("/me", response_model=MeRead)
def me(db: Db, actor: LoggedIn) -> MeRead:
    assert actor.account_id is not None
    account = service.get_account(db, actor.account_id)
    grants = [GrantRead.model_validate(g) for g in service.grants_of(db, account.id)]
    return MeRead(
        **AccountRead.model_validate(account).model_dump(),
        grants=grants,
        on_behalf_of_resident_id=actor.on_behalf_of_resident_id,
    )


@router.patch("/me/preferences", response_model=AccountRead)
def update_preferences(db: Db, actor: LoggedIn, body: PreferencesUpdate) -> AccountRead:
    account = service.set_preferences(db, actor, body)
    db.commit()
    return AccountRead.model_validate(account)


@router.get("/me/sessions", response_model=list[SessionRead])
def my_sessions(db: Db, actor: LoggedIn) -> list[SessionRead]:
    return [SessionRead.model_validate(s) for s in service.active_sessions(db, actor)]


@router.post("/me/logout-everywhere", status_code=204)
def logout_everywhere(db: Db, actor: LoggedIn) -> Response:
    service.logout_everywhere(db, actor)
    db.commit()
    return Response(status_code=204)


@router.get("/me/api-keys", response_model=list[ApiKeyRead])
def my_api_keys(db: Db, actor: LoggedIn) -> list[ApiKeyRead]:
    return [ApiKeyRead.model_validate(k) for k in service.api_keys_of(db, actor)]


@router.post("/me/api-keys", response_model=ApiKeyCreated, status_code=201)
def create_api_key(db: Db, actor: LoggedIn, body: ApiKeyCreate) -> ApiKeyCreated:
    assert actor.account_id is not None
    key, plain = service.create_api_key(db, actor, account_id=actor.account_id, name=body.name)
    db.commit()
    return ApiKeyCreated(**ApiKeyRead.model_validate(key).model_dump(), key=plain)


@router.delete("/me/api-keys/{key_id}", status_code=204)
def revoke_api_key(db: Db, actor: LoggedIn, key_id: PathId) -> Response:
    service.revoke_api_key(db, actor, key_id)
    db.commit()
    return Response(status_code=204)


@router.get("/accounts", response_model=list[AccountRead])
def list_accounts(db: Db, actor: LoggedIn) -> list[AccountRead]:
    return [AccountRead.model_validate(a) for a in service.manageable_accounts(db, actor)]


@router.post("/accounts", response_model=AccountRead, status_code=201)
def create_account(db: Db, actor: LoggedIn, body: AccountCreate, request: Request) -> AccountRead:
    account = service.create_account(db, actor, body)
    db.commit()
    return AccountRead.model_validate(account)


@router.post("/accounts/{account_id}/grants", response_model=GrantRead, status_code=201)
def grant_role(db: Db, actor: LoggedIn, account_id: PathId, body: GrantCreate) -> GrantRead:
    grant = service.grant_role(
        db, actor, account_id=account_id, role=body.role, place_id=body.place_id
    )
    db.commit()
    return GrantRead.model_validate(grant)


@router.delete("/grants/{grant_id}", status_code=204)
def revoke_grant(db: Db, actor: LoggedIn, grant_id: PathId) -> Response:
    service.revoke_grant(db, actor, grant_id)
    db.commit()
    return Response(status_code=204)
