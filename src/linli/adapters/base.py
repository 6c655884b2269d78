"""What every adapter returns: typed readings and per-item problems. Adapters touch nothing else."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Reading:
    """One value of one observed property (``key``) at ``ts_ms`` (None: time of receipt)."""

    key: str
    ts_ms: int | None
    value: float | str | bool


@dataclass(frozen=True, slots=True)
class Problem:
    """An item of a payload that could not be read, with where and why."""

    item: str
    reason: str


@dataclass(slots=True)
class ParseResult:
    """The readings found in a payload and the items that were refused."""

    readings: list[Reading] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


class PayloadError(ValueError):
    """The payload as a whole cannot be read (not JSON, wrong shape ...)."""
