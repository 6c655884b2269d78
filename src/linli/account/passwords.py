"""Password hashing (Argon2id) and the password policy."""

from __future__ import annotations

from collections.abc import Sequence

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from linli.core.errors import ValidationFailed

# argon2-cffi's defaults (argon2id, 64 MiB, t=3, p=4) exceed the OWASP minimum.
_hasher = PasswordHasher()

MIN_LENGTH = 10
MAX_LENGTH = 256
COMMON = frozenset(
    {
        "1234567890",
        "12345678910",
        "123456789a",
        "1qaz2wsx3edc",
        "a123456789",
        "aa12345678",
        "abc1234567",
        "abcdefghij",
        "iloveyou12",
        "password12",
        "password123",
        "qwertyuiop",
        "woaini1314",
        "woaini520",
        "zxcvbnm123",
        "0000000000",
        "1111111111",
        "5201314520",
        "1234qwer!@#$",
        "p@ssw0rd123",
    }
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """Check a password; an account without a password never matches."""
    if not password_hash:
        # Spend comparable time so unknown users are not told apart by timing.
        _hasher.hash(password)
        return False
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def check_policy(password: str, *, context: Sequence[str] = ()) -> None:
    """Refuse short, very long, common or context-derived passwords (no composition rules)."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(f"the password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(f"the password must have at most {MAX_LENGTH} characters")
    if len(set(password)) < 5:
        raise ValidationFailed("the password repeats too few different characters")
    lowered = password.lower()
    if lowered in COMMON:
        raise ValidationFailed("this password is too common; choose another")
    for word in context:
        word = word.strip().lower()
        if len(word) >= 4 and word in lowered:
            raise ValidationFailed("the password must not contain your name, username or phone")
