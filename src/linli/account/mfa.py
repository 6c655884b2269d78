"""Two-step verification: TOTP (RFC 6238) secrets and single-use recovery codes (A28, A13)."""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass

import pyotp
import segno
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import passwords
from linli.account.models import Account, AuthSession, MfaCredential, MfaRecoveryCode
from linli.audit import service as audit_service
from linli.core.actor import Actor
from linli.core.crypto import sha256_hex
from linli.core.errors import Conflict, NotAuthenticated, NotFound, ValidationFailed
from linli.core.time import utc_now

ISSUER = "Linli"
STEP_SECONDS = 30
# A code of the previous or next 30-second step is accepted too (phone clocks drift).
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read aloud and typed


@dataclass(frozen=True)
class Enrolment:
    """What the enrolment page shows: the secret as text, its otpauth URI and QR (SVG)."""

    secret: str
    uri: str
    qr_svg: str


def credential(db: Session, account_id: int) -> MfaCredential | None:
    return db.scalars(select(MfaCredential).where(MfaCredential.account_id == account_id)).first()


def is_enrolled(db: Session, account_id: int) -> bool:
    """Whether the account has a confirmed second factor."""
    found = credential(db, account_id)
    return found is not None and found.confirmed_at is not None


def recovery_codes_left(db: Session, account_id: int) -> int:
    stmt = select(MfaRecoveryCode).where(
        MfaRecoveryCode.account_id == account_id, MfaRecoveryCode.used_at.is_(None)
    )
    return len(list(db.scalars(stmt)))


def _account_of(db: Session, actor: Actor) -> Account:
    if actor.account_id is None:
        raise NotAuthenticated("please log in")
    account = db.get(Account, actor.account_id)
    if account is None:
        raise NotFound("no such account")
    return account


def qr_svg(uri: str) -> str:
    """The QR code of ``uri`` as an inline SVG element (made here: no CDN, no script)."""
    svg: str = segno.make(uri, error="m").svg_inline(scale=5, border=2, dark="#000", light="#fff")
    return svg


def begin_enrolment(db: Session, actor: Actor) -> Enrolment:
    """A secret to scan (kept unconfirmed until a code from it is entered)."""
    account = _account_of(db, actor)
    found = credential(db, account.id)
    if found is not None and found.confirmed_at is not None:
        raise Conflict("two-step verification is already on")
    if found is None:
        found = MfaCredential(account_id=account.id, secret=pyotp.random_base32())
        db.add(found)
        db.flush()
    uri = pyotp.TOTP(found.secret).provisioning_uri(name=account.username, issuer_name=ISSUER)
    return Enrolment(secret=found.secret, uri=uri, qr_svg=qr_svg(uri))


def _normal(code: str) -> str:
    return "".join(ch for ch in code.lower() if ch.isalnum())


def _check_totp(found: MfaCredential, code: str) -> bool:
    """A current code that was not used before (each time step counts once)."""
    digits = _normal(code)
    if len(digits) != 6 or not digits.isascii() or not digits.isdigit():
        return False
    totp = pyotp.TOTP(found.secret)
    now_step = int(utc_now().timestamp()) // STEP_SECONDS
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if found.last_step is not None and step <= found.last_step:
            continue
        if hmac.compare_digest(totp.at(step * STEP_SECONDS), digits):
            found.last_step = step
            return True
    return False


def _use_recovery_code(db: Session, account_id: int, code: str) -> bool:
    digest = sha256_hex(_normal(code))
    stmt = select(MfaRecoveryCode).where(
        MfaRecoveryCode.account_id == account_id, MfaRecoveryCode.used_at.is_(None)
    )
    for row in db.scalars(stmt):
        if hmac.compare_digest(row.code_hash, digest):
            row.used_at = utc_now()
            return True
    return False


def _new_recovery_codes(db: Session, account_id: int) -> list[str]:
    for old in db.scalars(select(MfaRecoveryCode).where(MfaRecoveryCode.account_id == account_id)):
        db.delete(old)
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(10))  # about 50 bits
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.add(MfaRecoveryCode(account_id=account_id, code_hash=sha256_hex(raw)))
    return codes


def confirm_enrolment(
    db: Session, actor: Actor, session: AuthSession | None, code: str
) -> list[str]:
    """Turn two-step verification on with a code from the new secret; returns the recovery
    codes (shown once, stored as digests). The current session counts as verified."""
    account = _account_of(db, actor)
    found = credential(db, account.id)
    if found is None or found.confirmed_at is not None:
        raise Conflict("start the set-up again")
    if not _check_totp(found, code):
        _failed(db, actor, account.id, "enrolment")
        raise ValidationFailed("the code is not right; enter the 6 digits the app shows now")
    found.confirmed_at = utc_now()
    codes = _new_recovery_codes(db, account.id)
    if session is not None:
        session.mfa_verified_at = found.confirmed_at
    audit_service.record(
        db,
        actor=actor,
        action="auth.mfa_enrolled",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=account.resident_id,
    )
    return codes


def _failed(db: Session, actor: Actor, account_id: int, step: str) -> None:
    audit_service.record(
        db,
        actor=actor,
        action="auth.mfa_failed",
        outcome="denied",
        subject_type="account",
        subject_id=account_id,
        detail={"step": step},
    )


def verify_login(db: Session, session: AuthSession, code: str, *, ip: str | None) -> bool:
    """Finish a login waiting for its second factor with a TOTP or recovery code.

    On success the session is fully authenticated (the caller gives it a new token); on
    failure an ``auth.mfa_failed`` event is written and False returned.
    """
    account = db.get(Account, session.account_id)
    found = credential(db, session.account_id)
    if account is None or found is None or found.confirmed_at is None:
        return False
    actor = Actor(account_id=account.id, username=account.username, ip=ip, via="web")
    used = "totp"
    ok = _check_totp(found, code)
    if not ok and _use_recovery_code(db, account.id, code):
        ok, used = True, "recovery_code"
    if not ok:
        _failed(db, actor, account.id, "login")
        return False
    session.mfa_pending = False
    session.mfa_verified_at = utc_now()
    session.last_seen_at = session.mfa_verified_at
    audit_service.record(
        db,
        actor=actor,
        action="auth.mfa_verified",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=account.resident_id,
        detail={"with": used},
    )
    return True


def disable(
    db: Session, actor: Actor, session: AuthSession | None, *, password: str, code: str
) -> None:
    """Turn two-step verification off: needs the password again and a current or recovery
    code (re-authentication, A13). Staff roles then wait for a new enrolment."""
    account = _account_of(db, actor)
    found = credential(db, account.id)
    if found is None or found.confirmed_at is None:
        raise Conflict("two-step verification is not on")
    if not passwords.verify_password(account.password_hash, password):
        _failed(db, actor, account.id, "disable")
        raise NotAuthenticated("wrong password")
    if not (_check_totp(found, code) or _use_recovery_code(db, account.id, code)):
        _failed(db, actor, account.id, "disable")
        raise ValidationFailed("the code is not right; enter the 6 digits the app shows now")
    db.delete(found)
    for old in db.scalars(select(MfaRecoveryCode).where(MfaRecoveryCode.account_id == account.id)):
        db.delete(old)
    if session is not None:
        session.mfa_verified_at = None
    audit_service.record(
        db,
        actor=actor,
        action="auth.mfa_disabled",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=account.resident_id,
    )


def regenerate_recovery_codes(db: Session, actor: Actor, *, password: str) -> list[str]:
    """New recovery codes (the old ones stop working); needs the password again (A13)."""
    account = _account_of(db, actor)
    if not is_enrolled(db, account.id):
        raise Conflict("two-step verification is not on")
    if not passwords.verify_password(account.password_hash, password):
        _failed(db, actor, account.id, "recovery_codes")
        raise NotAuthenticated("wrong password")
    codes = _new_recovery_codes(db, account.id)
    audit_service.record(
        db,
        actor=actor,
        action="auth.mfa_recovery_codes_renewed",
        subject_type="account",
        subject_id=account.id,
        subject_resident_id=account.resident_id,
    )
    return codes
