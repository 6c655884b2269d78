"""Secret scan of the repository (checklist row A25): no private keys, cloud keys, literal secret
keys, passwords in URLs or high-entropy values in environment files in any file git tracks; and
no key or debug mode by default. The refusal to start with a missing, placeholder or demo key
is tested in test_config.py."""

from __future__ import annotations

import math
import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import pytest

from linli.app import create_app
from linli.config import KNOWN_WEAK_KEYS, Settings
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]

PRIVATE_KEY = re.compile("-----BEGIN" r"[A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----")
AWS_ACCESS_KEY = re.compile(r"\b(?:AKIA|ASIA|AGPA|AIDA|AROA|AIPA|ANPA|ANVA)[A-Z0-9]{16}\b")
# A name that says "secret" or "key to something", assigned a literal: `secret_key = "..."`,
# `LINLI_SECRET_KEY=...`, `"secret": "..."`, `aws_secret_access_key: ...`.
ASSIGNMENT = re.compile(
    r"""(?ix)
    (?P<name>\b[a-z0-9_]*(?:secret|secret_key|data_key|signing_key|private_key|access_key))\b
    ['"]?\s*(?::=|=|:)\s*
    (?:(?P<quote>['"])(?P<quoted>[^'"\n]*)(?P=quote)|(?P<bare>[^\s'"#,;)\]}]+))
    """
)
URL_PASSWORD = re.compile(
    r"\b[a-z][a-z0-9+.-]*://(?P<user>[^\s/:@'\"<>]+):(?P<password>[^\s/@'\"<>]*)@[^\s/'\"<>]+"
)
ENV_LINE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*(?P<value>.*)$")
# Shorter values are examples: Linli refuses keys under 32 characters anyway.
MIN_SECRET_LENGTH = 16
MIN_TOKEN_LENGTH = 20
MIN_ENTROPY_BITS = 3.5
# Words that stand for a secret in documentation and usage strings.
PLACEHOLDER_WORDS = frozenset({"pass", "password", "passwd", "pw", "pwd", "secret", "token", "key"})

# Literal secrets that may stay, each for a stated reason: (path, name) of the assignment.
ALLOWED: dict[tuple[str, str], str] = {
    ("tests/conftest.py", "TEST_SECRET"): (
        "the suite's own key; it only ever protects the throwaway databases the tests create"
    ),
    ("tests/notification/conftest.py", "WEBHOOK_SECRET"): (
        "signs webhooks to the suite's own loopback receiver"
    ),
    ("tests/notification/test_api.py", "secret"): (
        "a webhook secret in a request body, sent to the test app only"
    ),
}


@dataclass(frozen=True)
class Finding:
    """One suspected secret; the value itself is never kept, so a report cannot leak it."""

    path: str
    line: int
    rule: str
    name: str = ""

    def __str__(self) -> str:
        named = f" ({self.name})" if self.name else ""
        return f"{self.path}:{self.line}: {self.rule}{named}"


def is_placeholder(value: str) -> bool:
    """Empty, elided, a variable or template, or a key Linli refuses to run with."""
    value = value.strip().strip("'\"")
    if not value or value.lower() in KNOWN_WEAK_KEYS or value.lower() in PLACEHOLDER_WORDS:
        return True
    if value[0] in "$<{[%" or value.startswith("demo-"):
        return True
    return set(value) <= set(".…*xX-_")


def entropy(value: str) -> float:
    """Shannon entropy in bits per character."""
    total = len(value)
    return -sum(n / total * math.log2(n / total) for n in Counter(value).values())


def is_env_file(path: str) -> bool:
    name = path.rsplit("/", 1)[-1]
    return name.startswith(".env") or name.endswith(".env") or name == "environment"


def scan_text(path: str, text: str) -> list[Finding]:
    """Every suspected secret in one file's text (``path`` as reported, relative to the root)."""
    found: list[Finding] = []
    python = path.endswith(".py")
    env_file = is_env_file(path)
    for number, line in enumerate(text.splitlines(), start=1):
        if PRIVATE_KEY.search(line):
            found.append(Finding(path, number, "private key"))
        if AWS_ACCESS_KEY.search(line):
            found.append(Finding(path, number, "AWS access key id"))
        for match in ASSIGNMENT.finditer(line):
            value = match.group("quoted")
            if value is None and not python:  # in Python a bare word is a name, not a value
                value = match.group("bare")
            if value and len(value) >= MIN_SECRET_LENGTH and not is_placeholder(value):
                found.append(Finding(path, number, "literal secret", match.group("name")))
        for match in URL_PASSWORD.finditer(line):
            if not is_placeholder(match.group("password")):
                found.append(Finding(path, number, "password in URL"))
        if env_file and (env := ENV_LINE.match(line)):
            value = env.group("value").split(" #", 1)[0].strip().strip("'\"")
            if (
                "://" not in value  # an address: its password, if any, is checked above
                and len(value) >= MIN_TOKEN_LENGTH
                and not is_placeholder(value)
                and entropy(value) >= MIN_ENTROPY_BITS
            ):
                found.append(Finding(path, number, "high-entropy value", env.group("name")))
    return found


def scan_file(root: Path, relative: str) -> list[Finding]:
    """Suspected secrets in one file; binary files (and files gone from the tree) have none."""
    try:
        data = (root / relative).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return []
    if b"\0" in data[:8192]:
        return []
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return []
    return scan_text(relative, text)


def tracked_files(root: Path) -> list[str]:
    git = shutil.which("git")
    if git is None or not (root / ".git").exists():
        pytest.skip("not a git checkout: nothing tracked to scan")
    listing = subprocess.run(
        [git, "ls-files", "-z"], cwd=root, capture_output=True, check=True, timeout=60
    )
    return [name for name in listing.stdout.decode().split("\0") if name]


def scan(root: Path, files: Iterable[str]) -> list[Finding]:
    return [finding for relative in files for finding in scan_file(root, relative)]


def test_no_secrets_in_the_repository() -> None:
    files = tracked_files(ROOT)
    assert len(files) > 100  # the listing itself worked
    findings = scan(ROOT, files)
    unexpected = [f for f in findings if (f.path, f.name) not in ALLOWED]
    assert unexpected == [], "secrets in tracked files:\n" + "\n".join(map(str, unexpected))
    # An allowance that matches nothing any more goes, so the list stays short and true.
    used = {(f.path, f.name) for f in findings}
    assert set(ALLOWED) <= used, f"stale allowances: {sorted(set(ALLOWED) - used)}"


def test_the_scan_reports_a_private_key_and_a_secret_key(tmp_path: Path) -> None:
    # Assembled here so that this file itself holds neither.
    begin, end = "-----BEGIN " + "RSA PRIVATE KEY-----", "-----END " + "RSA PRIVATE KEY-----"
    planted = {
        "deploy/id_rsa": f"{begin}\nMIIEowIBAAKCAQEA7Vq0cT1n2Y3x\n{end}\n",
        "deploy/linli.service": (
            "[Service]\n"
            "Environment=LINLI_SECRET_KEY=" + "q7Vx2mLp9Rk4" + "Tw8Zc1Nf6Hb3Jd5Ys0Ge" + "\n"
            "Environment=LINLI_DATA_KEY=\n"
            "Environment=LINLI_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test\n"
        ),
        "deploy/.env": (
            "LINLI_SECRET_KEY=$(linli secret)\n"
            "LINLI_SMTP_URL=smtp://linli:" + "Harbour-Gate-77" + "@mail.internal:587\n"
            "MAP_TOKEN=" + "pk.eyJ1Ijoi" + "bGlubGkiLCJhIjoiY2s5" + "\n"
        ),
        "docs/setup.md": "export LINLI_SECRET_KEY=...   # from `linli secret`\n",
    }
    for relative, content in planted.items():
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / relative).write_text(content, encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0" + begin.encode())

    findings = scan(tmp_path, [*planted, "logo.png"])
    assert sorted(map(str, findings)) == [
        "deploy/.env:2: password in URL",
        "deploy/.env:3: high-entropy value (MAP_TOKEN)",
        "deploy/id_rsa:1: private key",
        "deploy/linli.service:2: literal secret (LINLI_SECRET_KEY)",
    ]


def test_production_runs_without_debug_and_without_a_key_in_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No key ships as a default, and no setting turns on tracebacks in answers."""
    assert Settings.model_fields["secret_key"].default.get_secret_value() == ""
    assert Settings.model_fields["data_key"].default.get_secret_value() == ""
    monkeypatch.setenv("LINLI_DEBUG", "true")  # not a Linli setting: it must change nothing
    settings = Settings(
        database_url=f"sqlite:///{tmp_path / 'x.db'}",
        data_dir=tmp_path,
        secret_key=TEST_SECRET,
    )
    assert not settings.demo_mode
    assert settings.log_level == "INFO"
    app = create_app(settings, check_schema=False)
    try:
        assert app.debug is False
    finally:
        app.state.engine.dispose()
