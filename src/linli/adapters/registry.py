"""Finds payload adapters by their folder's manifest.toml and parses payloads with them.

Adding a format is adding a folder ``adapters/<name>/`` with a ``manifest.toml`` and a
``parse.py`` whose ``parse(payload, content_type, received_ms)`` returns a ParseResult.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from linli.adapters.base import ParseResult, PayloadError, Problem, Reading

ParseFunction = Callable[[bytes, str, int], ParseResult]

ADAPTERS_DIR = Path(__file__).resolve().parent
MAX_PAYLOAD_BYTES = 1_048_576
# Content types too generic to choose an adapter by; the device's own adapter decides.
GENERIC_CONTENT_TYPES = frozenset(
    {"", "application/json", "text/plain", "application/octet-stream", "text/csv"}
)
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class UnknownAdapter(LookupError):
    """No adapter folder answers to that name."""


@dataclass(frozen=True, slots=True)
class Adapter:
    """One adapter folder: its manifest's facts and its parse function."""

    name: str
    title: str
    description: str
    content_types: tuple[str, ...]
    aliases: tuple[str, ...]
    keys: dict[str, str] = field(default_factory=dict)
    parse: ParseFunction | None = None


def _load(folder: Path) -> Adapter:
    with (folder / "manifest.toml").open("rb") as fh:
        manifest = tomllib.load(fh)
    name = str(manifest.get("name", folder.name))
    if name != folder.name or not _NAME.match(name):
        raise RuntimeError(f"adapter folder {folder.name} declares the name {name!r}")
    module = importlib.import_module(f"linli.adapters.{folder.name}.parse")
    func = getattr(module, "parse", None)
    if not callable(func):
        raise RuntimeError(f"adapter {name} has no parse() in parse.py")
    keys = manifest.get("keys", {})
    return Adapter(
        name=name,
        title=str(manifest.get("title", name)),
        description=str(manifest.get("description", "")),
        content_types=tuple(str(c).lower() for c in manifest.get("content_types", [])),
        aliases=tuple(str(a) for a in manifest.get("aliases", [])),
        keys={str(k): str(v) for k, v in keys.items()},
        parse=func,
    )


@cache
def adapters() -> dict[str, Adapter]:
    """Every adapter folder found next to this module, by name (discovered once)."""
    found: dict[str, Adapter] = {}
    for folder in sorted(ADAPTERS_DIR.iterdir()):
        if folder.is_dir() and (folder / "manifest.toml").is_file():
            adapter = _load(folder)
            found[adapter.name] = adapter
    return found


@cache
def _index() -> tuple[dict[str, Adapter], dict[str, Adapter]]:
    by_name: dict[str, Adapter] = {}
    by_type: dict[str, Adapter] = {}
    for adapter in adapters().values():
        by_name[adapter.name] = adapter
        for alias in adapter.aliases:
            by_name.setdefault(alias, adapter)
        for ctype in adapter.content_types:
            if ctype not in GENERIC_CONTENT_TYPES:
                by_type.setdefault(ctype, adapter)
    return by_name, by_type


def names() -> list[str]:
    """The names of the installed adapters."""
    return sorted(adapters())


def get(name: str) -> Adapter:
    """The adapter called ``name`` (or one of its aliases)."""
    adapter = _index()[0].get(name)
    if adapter is None:
        raise UnknownAdapter(f"no payload adapter called {name!r}")
    return adapter


def base_content_type(content_type: str) -> str:
    """``application/senml+json`` of ``Application/SenML+JSON; charset=utf-8``."""
    return content_type.split(";", 1)[0].strip().lower()


def choose(adapter_name: str, content_type: str) -> Adapter:
    """The adapter for a payload: a specific content type wins over the device's adapter."""
    by_type = _index()[1].get(base_content_type(content_type))
    return by_type if by_type is not None else get(adapter_name)


def parse(adapter_name: str, payload: bytes, content_type: str, received_ms: int) -> ParseResult:
    """Parse a payload into readings with the right adapter; PayloadError if it is unreadable."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise PayloadError(f"payload larger than {MAX_PAYLOAD_BYTES} bytes")
    adapter = choose(adapter_name, content_type)
    assert adapter.parse is not None  # set by _load
    result = adapter.parse(payload, content_type, received_ms)
    if adapter.keys:
        result.readings = [
            Reading(adapter.keys.get(r.key, r.key), r.ts_ms, r.value) for r in result.readings
        ]
    return result


__all__ = [
    "Adapter",
    "ParseResult",
    "PayloadError",
    "Problem",
    "Reading",
    "UnknownAdapter",
    "adapters",
    "choose",
    "get",
    "names",
    "parse",
]
