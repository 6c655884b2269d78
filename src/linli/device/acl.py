"""Mosquitto password and ACL files: each device may publish only to its own telemetry topic.

Password entries use Mosquitto 2's ``$7$`` format (PBKDF2-SHA512, as ``mosquitto_passwd``
writes them): ``user:$7$<iterations>$<base64 salt>$<base64 hash>``.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
from collections.abc import Iterable
from pathlib import Path

MOSQUITTO_ITERATIONS = 101  # mosquitto_passwd's default; the secret is a 192-bit random token
SALT_BYTES = 12
TOPIC_PREFIX = "linli/devices"
DEFAULT_INGEST_USER = "linli-ingest"
# Usernames and topics must not smuggle separators or wildcards into the files.
_SAFE_USER = re.compile(r"^[A-Za-z0-9_.\-]{1,64}$")


def telemetry_topic(uid: str) -> str:
    """The only topic a device may publish to."""
    return f"{TOPIC_PREFIX}/{uid}/telemetry"


def mosquitto_hash(password: str, *, salt: bytes | None = None, iterations: int = 0) -> str:
    """A Mosquitto 2 ``$7$`` password hash of ``password``."""
    salt = salt if salt is not None else os.urandom(SALT_BYTES)
    rounds = iterations or MOSQUITTO_ITERATIONS
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, rounds)
    return f"$7${rounds}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_mosquitto_hash(password: str, encoded: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (used by tests and checks)."""
    parts = encoded.split("$")
    if len(parts) != 5 or parts[1] != "7" or not parts[2].isdigit():
        return False
    salt = base64.b64decode(parts[3])
    return mosquitto_hash(password, salt=salt, iterations=int(parts[2])) == encoded


def safe_user(name: str) -> bool:
    """Whether ``name`` can be written as a username and a topic level."""
    return bool(_SAFE_USER.match(name))


def password_file(entries: Iterable[tuple[str, str]]) -> str:
    """The text of a password file from (username, ``$7$`` hash) pairs."""
    lines = [f"{user}:{hashed}" for user, hashed in entries if safe_user(user)]
    return "\n".join(lines) + "\n"


def acl_file(device_uids: Iterable[str], ingest_user: str) -> str:
    """The text of an ACL file: devices publish to their own topic, ingestion reads them all."""
    out = [
        "# Written by `linli mqtt acl`; regenerate after registering devices.",
        f"user {ingest_user}",
        f"topic read {TOPIC_PREFIX}/+/telemetry",
        "",
        "# Each device may publish only to its own telemetry topic.",
    ]
    for uid in device_uids:
        if safe_user(uid):
            out += [f"user {uid}", f"topic write {telemetry_topic(uid)}", ""]
    return "\n".join(out)


def write_private(path: Path, content: str) -> None:
    """Write ``content`` readable by its owner only (0600), replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        os.fchmod(fh.fileno(), 0o600)
        fh.write(content)
    os.replace(tmp, path)
