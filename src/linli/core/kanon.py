"""Small-cell suppression for published aggregates (k-anonymity, issue "open data").

Every count of people or households that leaves the platform without a login, or is shown to
residents as a statistic, goes through :func:`suppress`: a count from 1 to ``k - 1`` is withheld
(``None``, shown as ``"<5"``), so that nobody can be singled out from a small group. Zero is
shown: it says nobody, about nobody. Values derived from a withheld count (a share, a sum of
floor areas, a mean) are withheld with it (:func:`derived`).
"""

from __future__ import annotations

from typing import TypeVar

K = 5
SUPPRESSED = "<5"

T = TypeVar("T")


def is_small(count: int, k: int = K) -> bool:
    """Whether ``count`` people or households are too few to publish (1 to k-1)."""
    return 0 < count < k


def suppress(count: int, k: int = K) -> int | None:
    """``count``, or None when it is too small to publish."""
    return None if is_small(count, k) else count


def derived(count: int, value: T, k: int = K) -> T | None:
    """``value`` (computed from ``count`` people), or None when ``count`` is withheld."""
    return None if is_small(count, k) else value


def shown(count: int | None, k: int = K) -> str:
    """The text for a published count: the number, or "<5" when withheld."""
    if count is None or is_small(count, k):
        return SUPPRESSED if k == K else f"<{k}"
    return str(count)
