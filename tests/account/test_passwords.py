"""The password store and policy (checklist rows A1-A4): Argon2id, length, common words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from linli.account import passwords
from linli.account.models import Account
from linli.core.errors import ValidationFailed
from tests.conftest import PASSWORD, World, login

SRC = Path(__file__).resolve().parents[2] / "src" / "linli"

# Printable text without surrogates; spaces and CJK allowed, as a passphrase may have them.
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=0, max_size=300)


def _phc(password_hash: str) -> dict[str, str]:
    """The parts of a PHC string ``$argon2id$v=19$m=65536,t=3,p=4$salt$hash``."""
    _, variant, version, params, salt, digest = password_hash.split("$")
    fields = dict(item.split("=") for item in params.split(","))
    return {"variant": variant, "version": version, "salt": salt, "hash": digest, **fields}


def test_passwords_are_stored_as_argon2id_above_the_owasp_minimum() -> None:
    stored = passwords.hash_password("a long and private passphrase")
    phc = _phc(stored)
    assert phc["variant"] == "argon2id"
    assert phc["version"] == "v=19"
    # OWASP: m >= 19 MiB, t >= 2, p >= 1.
    assert int(phc["m"]) >= 19 * 1024
    assert int(phc["t"]) >= 2
    assert int(phc["p"]) >= 1
    # A random salt: the same password never gives the same string twice.
    assert passwords.hash_password("a long and private passphrase") != stored
    assert passwords.verify_password(stored, "a long and private passphrase")
    assert not passwords.verify_password(stored, "a long and private passphrasE")
    assert not passwords.verify_password(None, "anything at all")
    assert not passwords.verify_password("not a hash", "anything at all")


@pytest.mark.parametrize("database", ["sqlite"], indirect=True)
def test_a_weaker_stored_hash_is_upgraded_at_the_next_login(
    client: TestClient, db: Session, world: World
) -> None:
    weak = PasswordHasher.from_parameters(CHEAPEST).hash(PASSWORD)
    account = db.get(Account, world.accounts["alice"])
    assert account is not None
    account.password_hash = weak
    db.commit()
    assert passwords.needs_rehash(weak)
    login(client, "alice")
    db.expire_all()
    upgraded = db.scalars(select(Account.password_hash).where(Account.username == "alice")).one()
    assert upgraded != weak
    assert not passwords.needs_rehash(upgraded)
    assert int(_phc(upgraded)["m"]) >= 19 * 1024


def test_no_md5_or_sha1_anywhere_in_the_code() -> None:
    """Row A2: neither digest is used for anything, security or not, so none can creep in."""
    weak = re.compile(r"\b(md5|sha1|sha-1|sha_1)\b", re.IGNORECASE)
    offenders = [
        f"{path.relative_to(SRC)}:{number}"
        for path in SRC.rglob("*.py")
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if weak.search(line)
    ]
    assert offenders == []


@settings(max_examples=150, deadline=None)
@given(password=TEXT)
def test_the_length_rule_is_the_only_shape_rule(password: str) -> None:
    """Rows A3 and A5: at least 10 characters, at most 256, no composition rules, no truncation."""
    try:
        passwords.check_policy(password)
    except ValidationFailed:
        refused = True
    else:
        refused = False
    too_short = len(password) < passwords.MIN_LENGTH
    too_long = len(password) > passwords.MAX_LENGTH
    few = len(set(password)) < 5
    common = password.lower() in passwords.COMMON
    assert refused == (too_short or too_long or few or common)


def test_long_passphrases_are_kept_whole() -> None:
    """Row A3: 64 characters and more are accepted, and every character counts."""
    phrase = "我家住在三号楼二单元,门口有一棵很老的槐树, and the postman knows my dog's name!" * 2
    assert 64 <= len(phrase) <= passwords.MAX_LENGTH
    passwords.check_policy(phrase)
    stored = passwords.hash_password(phrase)
    assert passwords.verify_password(stored, phrase)
    assert not passwords.verify_password(stored, phrase[:-1])
    assert not passwords.verify_password(stored, phrase[:72])


@pytest.mark.parametrize(
    ("password", "context"),
    [
        ("password123", ()),
        ("WOAINI1314", ()),
        ("1qaz2wsx3edc", ()),
        ("wangxiaoli-is-home", ("wangxiaoli",)),
        ("call 13812345678 now", ("13812345678",)),
        ("my home is 1234 garden", ("garden",)),
        ("aaaaaaaaaaaaaa", ()),
        ("short", ()),
        ("x" * 257, ()),
    ],
)
def test_common_repetitive_and_context_passwords_are_refused(
    password: str, context: tuple[str, ...]
) -> None:
    """Row A4: common passwords and the person's own name, username or phone are refused."""
    with pytest.raises(ValidationFailed):
        passwords.check_policy(password, context=context)
