"""Encryption at rest for sensitive fields, and keyed digests for looking them up."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_PREFIX = "v1:"


class FieldCipher:
    """AES-256-GCM with a random nonce per value; the column name is bound as associated data."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("field key must be 32 bytes")
        self._aead = AESGCM(key)
        self._index_key = hashlib.blake2b(key, person=b"linli-blindidx", digest_size=32).digest()

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plaintext.encode(), context.encode())
        return _PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode()

    def decrypt(self, token: str, context: str) -> str:
        if not token.startswith(_PREFIX):
            raise ValueError("not an encrypted field value")
        raw = base64.urlsafe_b64decode(token[len(_PREFIX) :])
        return self._aead.decrypt(raw[:12], raw[12:], context.encode()).decode()

    def digest(self, value: str, context: str) -> str:
        """A keyed, deterministic digest so an exact value can be found without decrypting all."""
        mac = hmac.new(self._index_key, f"{context}\x00{value}".encode(), hashlib.sha256)
        return mac.hexdigest()[:32]


_cipher: FieldCipher | None = None


def configure_field_cipher(key: bytes) -> None:
    """Install the process-wide field key (done once by the composition root or the CLI)."""
    global _cipher
    _cipher = FieldCipher(key)


def field_cipher() -> FieldCipher:
    """The installed field cipher; refuses to guess a key."""
    if _cipher is None:
        raise RuntimeError("field encryption key not configured")
    return _cipher


class EncryptedString(TypeDecorator[str]):
    """A text column whose value is encrypted before it reaches the database."""

    impl = String(512)
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        return field_cipher().encrypt(value, self.context)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return field_cipher().decrypt(str(value), self.context)


def new_token(nbytes: int = 32) -> str:
    """A URL-safe random token from the system CSPRNG."""
    return secrets.token_urlsafe(nbytes)


def sha256_hex(value: str) -> str:
    """Digest for high-entropy secrets (session tokens, API keys, device tokens)."""
    return hashlib.sha256(value.encode()).hexdigest()
