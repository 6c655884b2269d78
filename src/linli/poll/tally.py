"""Counting ballots: per-option counts and weights, turnout, and the Civil Code art. 278 rules.

Pure functions over plain numbers, so every rule can be checked on hand-computed examples.
Arithmetic is exact (``Fraction``): a threshold like "at least two thirds" must not be missed or
passed by a rounding error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction


@dataclass(frozen=True)
class OptionTally:
    """Ballots for one option: how many, and their total weight (area for owners)."""

    option_id: int
    votes: int
    weight: Decimal
    # owners_by_area: whether this option carries the matter (None for the other rules).
    passes: bool | None = None


@dataclass(frozen=True)
class Tally:
    """The counted result of a poll."""

    options: list[OptionTally]
    ballots: int
    weight: Decimal
    electorate_size: int
    electorate_area: Decimal
    # Share of the electorate that took part (0..1), by headcount and, for owners, by area.
    turnout: Fraction
    turnout_area: Fraction | None
    # owners_by_area only: participation of ≥ 2/3 of the area and ≥ 2/3 of the owners.
    quorum_area_met: bool | None
    quorum_heads_met: bool | None
    quorum_met: bool | None
    # The option that carries (owners_by_area) or has most votes (others); None on a tie or
    # when no option carries.
    winner_option_id: int | None


def _share(part: Decimal | int, whole: Decimal | int) -> Fraction:
    if not whole:
        return Fraction(0)
    return Fraction(part) / Fraction(whole)


def quorum(
    *, participating_heads: int, participating_area: Decimal, total_heads: int, total_area: Decimal
) -> tuple[bool, bool]:
    """Art. 278 ¶2 participation: (owners holding ≥ 2/3 of the area, ≥ 2/3 of the owners)."""
    area_ok = total_area > 0 and 3 * Fraction(participating_area) >= 2 * Fraction(total_area)
    heads_ok = total_heads > 0 and 3 * participating_heads >= 2 * total_heads
    return area_ok, heads_ok


def carries(
    *,
    matter: str,
    heads: int,
    area: Decimal,
    participating_heads: int,
    participating_area: Decimal,
) -> bool:
    """Art. 278 ¶2 consent on participating area and headcount.

    Ordinary matters: more than half of both; major matters (items 6 to 8: raising or using the
    maintenance fund, rebuilding, changing the use of common parts): at least three quarters.
    """
    if participating_heads <= 0 or participating_area <= 0:
        return False
    a, pa = Fraction(area), Fraction(participating_area)
    if matter == "major":
        return 4 * a >= 3 * pa and 4 * heads >= 3 * participating_heads
    return 2 * a > pa and 2 * heads > participating_heads


def count(
    *,
    electorate: str,
    matter: str,
    option_ids: Sequence[int],
    ballots: Iterable[tuple[int, Decimal]],
    electorate_size: int,
    electorate_area: Decimal,
) -> Tally:
    """Count ``ballots`` (option id, weight) for a poll with the given rule and electorate."""
    votes = dict.fromkeys(option_ids, 0)
    weights = dict.fromkeys(option_ids, Decimal(0))
    total_votes = 0
    total_weight = Decimal(0)
    for option_id, weight in ballots:
        if option_id not in votes:
            raise ValueError("a ballot for an option the poll does not have")
        votes[option_id] += 1
        weights[option_id] += weight
        total_votes += 1
        total_weight += weight
    by_area = electorate == "owners_by_area"
    options: list[OptionTally] = []
    for oid in option_ids:
        passes = (
            carries(
                matter=matter,
                heads=votes[oid],
                area=weights[oid],
                participating_heads=total_votes,
                participating_area=total_weight,
            )
            if by_area
            else None
        )
        options.append(OptionTally(oid, votes[oid], weights[oid], passes))
    q_area: bool | None = None
    q_heads: bool | None = None
    q: bool | None = None
    winner: int | None = None
    if by_area:
        q_area, q_heads = quorum(
            participating_heads=total_votes,
            participating_area=total_weight,
            total_heads=electorate_size,
            total_area=electorate_area,
        )
        q = q_area and q_heads
        carried = [o.option_id for o in options if o.passes]
        # Only with the quorum can a decision be taken; at most one option can carry.
        winner = carried[0] if q and len(carried) == 1 else None
    elif total_votes:
        top = max(votes.values())
        leaders = [oid for oid in option_ids if votes[oid] == top]
        winner = leaders[0] if len(leaders) == 1 else None
    return Tally(
        options=options,
        ballots=total_votes,
        weight=total_weight,
        electorate_size=electorate_size,
        electorate_area=electorate_area,
        turnout=_share(total_votes, electorate_size),
        turnout_area=_share(total_weight, electorate_area) if by_area else None,
        quorum_area_met=q_area,
        quorum_heads_met=q_heads,
        quorum_met=q,
        winner_option_id=winner,
    )
