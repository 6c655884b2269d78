"""Use cases of identity: accounts, login and sessions, API keys, grants, assisted mode."""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass, replace

from sqlalchemy.orm import Session

from linli.account import cache, mfa, passwords, permissions, repository
from linli.account.models import Account, ApiKey, AuthSession, LoginAttempt, RoleGrant
from linli.account.schemas import AccountCreate, PreferencesUpdate
from linli.audit import service as audit_service
from linli.config import Settings
from linli.core.actor import ACCOUNT_ADMIN_ROLES, ROLES, STAFF_ROLES, SYSTEM, Actor, Grant
from linli.core.crypto import new_token, sha256_hex
from linli.core.errors import (
    Conflict,
    NotAuthenticated,
    NotFound,
    PermissionDenied,
    TooManyRequests,
    ValidationFailed,
)
from linli.core.time import utc_now
from linli.place import service as place_service
from linli.resident import service as resident_service

API_KEY_PREFIX = "lk_"
SESSION_TOUCH_SECONDS = 60


# --- accounts -------------------------------------------------------------------------------


def create_account(db: Session, actor: Actor | None, data: AccountCreate) -> Account:
    """Create a login. ``actor`` None means a trusted command (``linli user create``, seeding)."""
    if actor is not None and not permissions.can_manage_accounts(actor):
        raise PermissionDenied("you cannot create accounts")
    username = data.username.strip().lower()
    if repository.by_username(db, username) is not None:
        raise Conflict(f"the username {username} is taken")
    passwords.check_policy(data.password, context=[username, data.display_name])
    if data.resident_id is not None:
        resident = resident_service.get_record(db, data.resident_id)  # must exist
        # Linking a login to a person gives its holder that person's data: only an
        # administrator of the resident's own place may do it.
        path = resident_service.place_path_of(db, data.resident_id)
        if actor is not None and not actor.holds(ACCOUNT_ADMIN_ROLES, path):
            audit_service.record(
                db,
                actor=actor,
                action="permission.denied",
                outcome="denied",
                subject_type="resident",
                subject_id=data.resident_id,
                subject_resident_id=data.resident_id,
                place_id=resident.place_id,
                detail={"wanted": "account.create"},
            )
            raise PermissionDenied("this resident lives outside your places")
        if repository.by_resident(db, data.resident_id) is not None:
            raise Conflict("this resident already has an account")
    account = Account(
        username=username,
        display_name=data.display_name,
        password_hash=passwords.hash_password(data.password),
        resident_id=data.resident_id,
    )
    db.add(account)
    db.flush()
    audit_service.record(
        db,
        actor=actor or SYSTEM,
        action="account.created",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=data.resident_id,
    )
    return account


def get_account(db: Session, account_id: int) -> Account:
    account = repository.get(db, account_id)
    if account is None:
        raise NotFound("no such account")
    return account


def by_username(db: Session, username: str) -> Account | None:
    return repository.by_username(db, username.strip().lower())


def set_password(db: Session, actor: Actor, account_id: int, password: str) -> None:
    """Change a password and end the account's other sessions."""
    account = get_account(db, account_id)
    if actor.account_id != account_id:
        _require_admin_over(db, actor, account_id)
    passwords.check_policy(password, context=[account.username, account.display_name])
    account.password_hash = passwords.hash_password(password)
    repository.revoke_sessions(db, account_id, utc_now())
    audit_service.record(
        db,
        actor=actor,
        action="account.password_changed",
        subject_type="account",
        subject_id=account_id,
        subject_resident_id=account.resident_id,
    )


def set_active(db: Session, actor: Actor, account_id: int, *, active: bool) -> None:
    """Disable or re-enable an account; disabling ends all its sessions."""
    account = get_account(db, account_id)
    _require_admin_over(db, actor, account_id)
    account.is_active = active
    if not active:
        repository.revoke_sessions(db, account_id, utc_now())
    audit_service.record(
        db,
        actor=actor,
        action="account.enabled" if active else "account.disabled",
        subject_type="account",
        subject_id=account_id,
    )


def set_preferences(db: Session, actor: Actor, data: PreferencesUpdate) -> Account:
    if actor.account_id is None:
        raise NotAuthenticated("log in to save preferences")
    account = get_account(db, actor.account_id)
    if data.locale is not None:
        account.locale = data.locale
    if data.elder_mode is not None:
        account.elder_mode = data.elder_mode
    if data.text_size is not None:
        account.text_size = data.text_size
    return account


# --- grants ---------------------------------------------------------------------------------


def grant_role(
    db: Session, actor: Actor | None, *, account_id: int, role: str, place_id: int
) -> RoleGrant:
    """Grant ``role`` on a place (covering its subtree)."""
    if role not in ROLES:
        raise ValidationFailed(f"unknown role {role}")
    place = place_service.get(db, place_id)
    if actor is not None and not permissions.can_grant(actor, role, place.path):
        audit_service.record(
            db,
            actor=actor,
            action="permission.denied",
            outcome="denied",
            subject_type="role_grant",
            subject_id=account_id,
            place_id=place_id,
            detail={"role": role},
        )
        raise PermissionDenied("you cannot grant this role on this place")
    get_account(db, account_id)
    existing = repository.find_grant(db, account_id, role, place_id)
    if existing is not None:
        return existing
    grant = RoleGrant(
        account_id=account_id,
        role=role,
        place_id=place_id,
        granted_by_account_id=actor.account_id if actor else None,
    )
    db.add(grant)
    db.flush()
    # A change of privilege ends the account's sessions (A10): its next login gets a new token.
    repository.revoke_sessions(db, account_id, utc_now())
    audit_service.record(
        db,
        actor=actor or SYSTEM,
        action="role.granted",
        subject_type="account",
        subject_id=account_id,
        place_id=place_id,
        detail={"role": role},
    )
    return grant


def revoke_grant(db: Session, actor: Actor, grant_id: int) -> None:
    grant = db.get(RoleGrant, grant_id)
    if grant is None:
        raise NotFound("no such grant")
    place = place_service.get(db, grant.place_id)
    if not permissions.can_grant(actor, grant.role, place.path):
        audit_service.record(
            db,
            actor=actor,
            action="permission.denied",
            outcome="denied",
            subject_type="role_grant",
            subject_id=grant.account_id,
            place_id=grant.place_id,
            detail={"role": grant.role, "wanted": "revoke"},
        )
        raise PermissionDenied("you cannot revoke this grant")
    db.delete(grant)
    repository.revoke_sessions(db, grant.account_id, utc_now())
    audit_service.record(
        db,
        actor=actor,
        action="role.revoked",
        subject_type="account",
        subject_id=grant.account_id,
        place_id=grant.place_id,
        detail={"role": grant.role},
    )


def grants_of(db: Session, account_id: int) -> list[RoleGrant]:
    return repository.grants_of(db, account_id)


def _require_admin_over(db: Session, actor: Actor, account_id: int) -> None:
    """The actor administers everything the account holds: each of its grants (as one who may
    grant that role there) and the resident it belongs to. Holding one grant in the actor's
    places is not enough, or an admin could grant a stranger a small role and then take over
    their account with all its other powers."""
    account = get_account(db, account_id)
    covered: list[bool] = []
    for grant in repository.grants_of(db, account_id):
        place = place_service.get(db, grant.place_id)
        covered.append(permissions.can_grant(actor, grant.role, place.path))
    if account.resident_id is not None:
        path = resident_service.place_path_of(db, account.resident_id)
        covered.append(actor.holds(ACCOUNT_ADMIN_ROLES, path))
    if covered and all(covered):
        return
    audit_service.record(
        db,
        actor=actor,
        action="permission.denied",
        outcome="denied",
        subject_type="account",
        subject_id=account_id,
        subject_resident_id=account.resident_id,
        detail={"wanted": "manage_account"},
    )
    raise PermissionDenied("this account is outside your places")


def manageable_accounts(db: Session, actor: Actor) -> list[Account]:
    """Accounts holding grants inside the actor's administered places."""
    paths = actor.paths_for(ACCOUNT_ADMIN_ROLES)
    if not paths:
        raise PermissionDenied("you cannot manage accounts")
    ids = repository.accounts_with_grants_under(db, place_service.ids_under(paths))
    return repository.list_accounts(db, ids)


# --- building the actor ---------------------------------------------------------------------


def build_actor(
    db: Session,
    account: Account,
    *,
    via: str,
    session: AuthSession | None = None,
    ip: str | None = None,
) -> Actor:
    grants = repository.grants_of(db, account.id)
    places = place_service.by_ids(db, sorted({g.place_id for g in grants}))
    held = tuple(
        Grant(role=g.role, place_id=g.place_id, place_path=places[g.place_id].path)
        for g in grants
        if g.place_id in places
    )
    on_behalf = session.on_behalf_of_resident_id if session else None
    if on_behalf is not None:
        # Assisted mode lasts only while the right to assist this resident does.
        path = resident_service.place_path_of(db, on_behalf)
        if not permissions.can_assist(Actor(account_id=account.id, grants=held), path):
            on_behalf = None
    return Actor(
        account_id=account.id,
        username=account.username,
        display_name=account.display_name,
        resident_id=account.resident_id,
        grants=held,
        on_behalf_of_resident_id=on_behalf,
        via=via,
        session_id=session.id if session else None,
        ip=ip,
    )


def without_staff_roles(actor: Actor) -> Actor:
    """The actor with only its resident and caregiver roles: what a staff member's browser
    session may do before it has proved a second factor (A28)."""
    return replace(
        actor,
        grants=tuple(g for g in actor.grants if g.role not in STAFF_ROLES),
        on_behalf_of_resident_id=None,
    )


# --- login and sessions ---------------------------------------------------------------------


@dataclass
class LoginResult:
    """A new session: the cookie token (shown once) and the session row."""

    token: str
    session: AuthSession
    account: Account
    # The password was right but a second factor is still due (the session grants nothing yet).
    mfa_pending: bool = False


def login(
    db: Session,
    settings: Settings,
    *,
    username: str,
    password: str,
    ip: str | None,
    user_agent: str | None,
) -> LoginResult:
    """Check a password and open a session; throttle repeated failures per account.

    Attempts and their audit rows are written even when the login fails; the caller commits
    before turning the raised error into a response.
    """
    # Control characters cannot be part of a username (and PostgreSQL cannot store NUL);
    # dropping them also keeps "bob\x00" from dodging bob's throttle.
    name = "".join(ch for ch in username if ch.isprintable()).strip().lower()[:64]
    now = utc_now()
    window_start = now - dt.timedelta(minutes=settings.login_failure_window_minutes)
    anonymous = Actor(account_id=None, username=name, ip=ip, via="web")
    failures = repository.recent_failures(db, name, window_start)
    if failures >= settings.login_max_failures:
        oldest = repository.oldest_recent_failure(db, name, window_start) or now
        retry = oldest + dt.timedelta(minutes=settings.login_failure_window_minutes) - now
        audit_service.record(
            db,
            actor=anonymous,
            action="auth.login_throttled",
            outcome="denied",
            subject_type="account",
            subject_id=name,
        )
        raise TooManyRequests(
            "too many failed logins for this account; try again later",
            retry_after=max(1, int(retry.total_seconds())),
        )
    account = repository.by_username(db, name)
    ok = passwords.verify_password(account.password_hash if account else None, password)
    if not ok or account is None or not account.is_active:
        db.add(LoginAttempt(username=name, at=now, success=False, ip=ip))
        audit_service.record(
            db,
            actor=anonymous,
            action="auth.login_failed",
            outcome="denied",
            subject_type="account",
            subject_id=name,
            detail={"reason": "disabled" if account is not None and ok else "bad_credentials"},
        )
        raise NotAuthenticated("wrong username or password")
    if account.password_hash and passwords.needs_rehash(account.password_hash):
        account.password_hash = passwords.hash_password(password)
    db.add(LoginAttempt(username=name, at=now, success=True, ip=ip))
    account.last_login_at = now
    pending = mfa.is_enrolled(db, account.id)
    token = new_token()
    session = AuthSession(
        token_hash=sha256_hex(token),
        account_id=account.id,
        csrf_secret=new_token(24),
        created_at=now,
        last_seen_at=now,
        expires_at=now + dt.timedelta(hours=settings.session_absolute_hours),
        ip=ip,
        user_agent=(user_agent or "")[:256],
        mfa_pending=pending,
    )
    db.add(session)
    db.flush()
    audit_service.record(
        db,
        actor=Actor(account_id=account.id, username=account.username, ip=ip),
        action="auth.login",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=account.resident_id,
        detail={"second_factor": "pending"} if pending else None,
    )
    return LoginResult(token=token, session=session, account=account, mfa_pending=pending)


def rotate_session_token(session: AuthSession) -> str:
    """Give a session a new token (privilege change, second factor, assisted mode); the old
    token stops working at once. The caller sets the returned token as the cookie."""
    token = new_token()
    session.token_hash = sha256_hex(token)
    return token


def session_state(settings: Settings, session: AuthSession) -> tuple[int, int]:
    """(seconds until the idle timeout, seconds until the absolute timeout) of a session."""
    now = utc_now()
    idle_end = session.last_seen_at + dt.timedelta(minutes=settings.session_idle_minutes)
    return (
        max(0, int((idle_end - now).total_seconds())),
        max(0, int((session.expires_at - now).total_seconds())),
    )


def touch_session(session: AuthSession) -> None:
    """Count now as activity (the "stay logged in" button)."""
    session.last_seen_at = utc_now()


def session_from_token(
    db: Session, settings: Settings, token: str, *, touch: bool = True, pending: bool = False
) -> tuple[AuthSession, Account] | None:
    """The live session for a cookie token, or None (expired, idle, revoked, disabled, or
    still waiting for its second factor). ``pending`` finds only sessions waiting for the
    second factor instead; ``touch`` False reads without counting as activity."""
    if not token or len(token) > 200:
        return None
    session = repository.session_by_token_hash(db, sha256_hex(token))
    if session is None or session.revoked_at is not None:
        return None
    if session.mfa_pending != pending:
        return None
    now = utc_now()
    idle_limit = dt.timedelta(minutes=settings.session_idle_minutes)
    if session.expires_at <= now or now - session.last_seen_at > idle_limit:
        return None
    account = repository.get(db, session.account_id)
    if account is None or not account.is_active:
        return None
    if touch and (now - session.last_seen_at).total_seconds() > SESSION_TOUCH_SECONDS:
        session.last_seen_at = now
    return session, account


def logout(db: Session, actor: Actor, session: AuthSession) -> None:
    session.revoked_at = utc_now()
    audit_service.record(
        db, actor=actor, action="auth.logout", subject_type="session", subject_id=session.id
    )


def logout_everywhere(db: Session, actor: Actor) -> int:
    """End every session of the acting account (this one included)."""
    if actor.account_id is None:
        raise NotAuthenticated("not logged in")
    count = repository.revoke_sessions(db, actor.account_id, utc_now())
    audit_service.record(
        db,
        actor=actor,
        action="auth.logout_everywhere",
        subject_type="account",
        subject_id=actor.account_id,
        detail={"sessions": count},
    )
    return count


def active_sessions(db: Session, actor: Actor) -> list[AuthSession]:
    if actor.account_id is None:
        raise NotAuthenticated("not logged in")
    return repository.active_sessions(db, actor.account_id, utc_now())


# --- API keys -------------------------------------------------------------------------------


def create_api_key(db: Session, actor: Actor, *, account_id: int, name: str) -> tuple[ApiKey, str]:
    """Issue a key; the plain key is returned once and only its digest is stored."""
    if actor.account_id != account_id:
        _require_admin_over(db, actor, account_id)
    prefix = new_token(6)[:8].replace("-", "x").replace("_", "y")
    secret = new_token(32)
    key = ApiKey(account_id=account_id, name=name, prefix=prefix, secret_hash=sha256_hex(secret))
    db.add(key)
    db.flush()
    audit_service.record(
        db,
        actor=actor,
        action="apikey.created",
        subject_type="api_key",
        subject_id=key.id,
        detail={"account_id": account_id},
    )
    return key, f"{API_KEY_PREFIX}{prefix}_{secret}"


def revoke_api_key(db: Session, actor: Actor, key_id: int) -> None:
    key = db.get(ApiKey, key_id)
    if key is None:
        raise NotFound("no such API key")
    if actor.account_id != key.account_id:
        _require_admin_over(db, actor, key.account_id)
    key.revoked_at = utc_now()
    audit_service.record(
        db, actor=actor, action="apikey.revoked", subject_type="api_key", subject_id=key.id
    )


def api_keys_of(db: Session, actor: Actor) -> list[ApiKey]:
    if actor.account_id is None:
        raise NotAuthenticated("not logged in")
    return repository.api_keys_of(db, actor.account_id)


def remembered_api_key_actor(presented: str, *, ip: str | None) -> Actor | None:
    """The actor behind an API key if this process looked it up moments ago (no database)."""
    actor = cache.api_key_actors.get(sha256_hex(presented))
    return replace(actor, ip=ip) if actor is not None else None


def actor_from_api_key(
    db: Session, presented: str, *, ip: str | None, cache_seconds: float
) -> Actor | None:
    """The actor behind an API key (remembered for ``cache_seconds``), or None."""
    digest = sha256_hex(presented)
    actor = cache.api_key_actors.get(digest)
    if actor is None:
        account = account_from_api_key(db, presented)
        if account is None:
            return None
        actor = build_actor(db, account, via="api")
        cache.api_key_actors.put(digest, actor, cache_seconds)
    return replace(actor, ip=ip)


def account_from_api_key(db: Session, presented: str) -> Account | None:
    """The active account behind an API key, or None."""
    if not presented.startswith(API_KEY_PREFIX):
        return None
    prefix, sep, secret = presented[len(API_KEY_PREFIX) :].partition("_")
    if not sep or not secret:
        return None
    key = repository.api_key_by_prefix(db, prefix)
    if key is None or key.revoked_at is not None:
        return None
    if not hmac.compare_digest(key.secret_hash, sha256_hex(secret)):
        return None
    account = repository.get(db, key.account_id)
    if account is None or not account.is_active:
        return None
    now = utc_now()
    if key.last_used_at is None or (now - key.last_used_at).total_seconds() > SESSION_TOUCH_SECONDS:
        key.last_used_at = now
    return account


# --- assisted mode --------------------------------------------------------------------------


def start_assist(
    db: Session, actor: Actor, session: AuthSession, *, resident_id: int, present: bool, reason: str
) -> str:
    """Let a staff member act for a resident who is present; every action is recorded as such.

    Returns the session's new token: the browser must get it as its cookie."""
    if not present:
        raise ValidationFailed("assisted mode needs the resident to be present and asking for help")
    if len(reason.strip()) < 2:
        raise ValidationFailed("say why the resident asked for help")
    if session.account_id != actor.account_id:
        raise PermissionDenied("this is not your session")
    place_id = resident_service.get_record(db, resident_id).place_id
    path = resident_service.place_path_of(db, resident_id)
    if not permissions.can_assist(actor, path):
        audit_service.record(
            db,
            actor=actor,
            action="permission.denied",
            outcome="denied",
            subject_type="resident",
            subject_id=resident_id,
            subject_resident_id=resident_id,
            place_id=place_id,
            reason=reason,
            detail={"wanted": "assist"},
        )
        raise PermissionDenied("you cannot assist residents of this place")
    session.on_behalf_of_resident_id = resident_id
    # Acting for someone else is a change of privilege: a new token (A10).
    token = rotate_session_token(session)
    audit_service.record(
        db,
        actor=actor,
        action="assist.started",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=place_id,
        reason=reason,
    )
    return token


def stop_assist(db: Session, actor: Actor, session: AuthSession) -> str | None:
    """Stop acting for a resident; returns the session's new token (None: nothing changed)."""
    resident_id = session.on_behalf_of_resident_id
    if resident_id is None:
        return None
    session.on_behalf_of_resident_id = None
    token = rotate_session_token(session)
    audit_service.record(
        db,
        actor=actor,
        action="assist.ended",
        subject_type="resident",
        subject_id=resident_id,
        subject_resident_id=resident_id,
        place_id=resident_service.get_record(db, resident_id).place_id,
    )
    return token


def grantable_roles(actor: Actor) -> list[str]:
    """The roles this actor may grant somewhere in their places, in the canonical order."""
    allowed: set[str] = set()
    for grant in actor.grants:
        allowed |= permissions.GRANTABLE_BY.get(grant.role, frozenset())
    return [role for role in ROLES if role in allowed]


def holders_over(db: Session, place_path: str, roles: frozenset[str] | set[str]) -> list[int]:
    """Active accounts holding one of ``roles`` on the place at ``place_path`` or an ancestor."""
    place_ids = [int(p) for p in place_path.strip("/").split("/") if p]
    return repository.holders(db, place_ids, sorted(roles))


@dataclass(frozen=True, slots=True)
class Contact:
    """How to reach an account: whether it is active, and its e-mail address."""

    account_id: int
    active: bool
    email: str | None


def contacts(db: Session, account_ids: list[int]) -> dict[int, Contact]:
    """Contacts of these accounts in one query (missing ids are left out)."""
    if not account_ids:
        return {}
    return {
        a.id: Contact(account_id=a.id, active=a.is_active, email=a.email)
        for a in repository.list_accounts(db, sorted(set(account_ids)))
    }


def set_email(db: Session, actor: Actor, email: str | None) -> bool:
    """Set or remove the actor's own e-mail address (audited without the address)."""
    if actor.account_id is None:
        raise NotAuthenticated("log in to save preferences")
    account = get_account(db, actor.account_id)
    email = (email or "").strip() or None
    if email == account.email:
        return False
    account.email = email
    audit_service.record(
        db,
        actor=actor,
        action="account.email_changed" if email else "account.email_removed",
        subject_type="account",
        subject_id=account.id,
        fields=["email"],
    )
    return True


def accounts_of_residents(db: Session, resident_ids: list[int]) -> dict[int, int]:
    """Active account id of each of these residents that has a login (resident id → account id).

    For reaching residents of an area (the notice domain's emergency check-ins).
    """
    from sqlalchemy import select

    if not resident_ids:
        return {}
    stmt = select(Account.resident_id, Account.id).where(
        Account.resident_id.in_(sorted(set(resident_ids))), Account.is_active.is_(True)
    )
    return {int(rid): int(aid) for rid, aid in db.execute(stmt) if rid is not None}


def password_matches(db: Session, account_id: int, password: str) -> bool:
    """Whether ``password`` is the account's: the identity re-check before a deletion."""
    account = get_account(db, account_id)
    return passwords.verify_password(account.password_hash, password)


def reauthenticate(
    db: Session, actor: Actor, password: str, *, purpose: str, at_desk: bool = False
) -> None:
    """The password again before a change of contact details (A13); a miss is audited.

    ``at_desk``: the change is to the resident a staff member assists in person; the staff
    member's own login stands for it, as the resident's password is not theirs to know.
    """
    if actor.account_id is None:
        raise NotAuthenticated("log in first")
    if at_desk and actor.is_assisting:
        return
    if password and password_matches(db, actor.account_id, password):
        return
    audit_service.record(
        db,
        actor=actor,
        action="auth.reauth_failed",
        outcome="denied",
        subject_type="account",
        subject_id=actor.account_id,
        detail={"step": purpose, "given": bool(password)},
    )
    if not password:
        raise PermissionDenied("enter your current password to make this change")
    raise PermissionDenied("the password is not right")
