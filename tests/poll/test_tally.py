"""Counting rules on hand-computed examples: counts, weights, turnout, art. 278 quorum and
thresholds."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from linli.poll import tally

D = Decimal


def test_plain_counts_turnout_and_plurality() -> None:
    t = tally.count(
        electorate="adult_residents",
        matter="ordinary",
        option_ids=[1, 2, 3],
        ballots=[(1, D(1)), (2, D(1)), (1, D(1))],
        electorate_size=10,
        electorate_area=D(0),
    )
    assert [(o.option_id, o.votes, o.weight) for o in t.options] == [
        (1, 2, D(2)),
        (2, 1, D(1)),
        (3, 0, D(0)),
    ]
    assert t.ballots == 3
    assert t.turnout == Fraction(3, 10)
    assert t.turnout_area is None
    assert t.quorum_met is None
    assert t.winner_option_id == 1
    assert all(o.passes is None for o in t.options)


def test_a_tie_has_no_winner_and_no_ballots_no_winner() -> None:
    tie = tally.count(
        electorate="one_per_household",
        matter="ordinary",
        option_ids=[1, 2],
        ballots=[(1, D(1)), (2, D(1))],
        electorate_size=2,
        electorate_area=D(0),
    )
    assert tie.winner_option_id is None
    assert tie.turnout == 1
    empty = tally.count(
        electorate="adult_residents",
        matter="ordinary",
        option_ids=[1, 2],
        ballots=[],
        electorate_size=0,
        electorate_area=D(0),
    )
    assert empty.winner_option_id is None
    assert empty.turnout == 0


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValueError, match="option"):
        tally.count(
            electorate="adult_residents",
            matter="ordinary",
            option_ids=[1],
            ballots=[(9, D(1))],
            electorate_size=1,
            electorate_area=D(0),
        )


# Ten owners, 1000 m² in all: A 200, B 150, C..J 81.25 each (8 × 81.25 = 650).
AREAS = {"A": D(200), "B": D(150), **{k: D("81.25") for k in "CDEFGHIJ"}}


def _owners(votes: dict[str, int], matter: str = "ordinary") -> tally.Tally:
    return tally.count(
        electorate="owners_by_area",
        matter=matter,
        option_ids=[1, 2],
        ballots=[(opt, AREAS[k]) for k, opt in votes.items()],
        electorate_size=10,
        electorate_area=D(1000),
    )


def test_double_quorum_met_exactly_at_two_thirds_of_area_and_heads() -> None:
    # 7 owners (≥ 2/3 of 10 = 6.67) holding A+B+5×81.25 = 756.25 m² (≥ 666.67).
    t = _owners(dict.fromkeys(["A", "B", "C", "D", "E", "F", "G"], 1))
    assert t.quorum_heads_met is True
    assert t.quorum_area_met is True
    assert t.quorum_met is True
    assert t.turnout == Fraction(7, 10)
    assert t.turnout_area == Fraction(75625, 100000)


def test_quorum_fails_on_heads_even_with_enough_area() -> None:
    # 6 owners (< 6.67) with A+B+4×81.25 = 675 m² (≥ 666.67): area met, headcount not.
    t = _owners(dict.fromkeys(["A", "B", "C", "D", "E", "F"], 1))
    assert t.quorum_area_met is True
    assert t.quorum_heads_met is False
    assert t.quorum_met is False
    assert t.winner_option_id is None


def test_quorum_fails_on_area_even_with_enough_heads() -> None:
    # 7 small owners: 7 × 81.25 = 568.75 m² < 666.67.
    t = _owners(dict.fromkeys(["C", "D", "E", "F", "G", "H", "I"], 1))
    assert t.quorum_heads_met is True
    assert t.quorum_area_met is False
    assert t.quorum_met is False


def test_quorum_boundary_is_inclusive_with_exact_arithmetic() -> None:
    area_ok, heads_ok = tally.quorum(
        participating_heads=2, participating_area=D(2), total_heads=3, total_area=D(3)
    )
    assert (area_ok, heads_ok) == (True, True)
    area_ok, heads_ok = tally.quorum(
        participating_heads=1, participating_area=D("1.99"), total_heads=3, total_area=D(3)
    )
    assert (area_ok, heads_ok) == (False, False)


def test_ordinary_matter_needs_more_than_half_of_participating_area_and_heads() -> None:
    # Participants: A,B,C,D,E,F,G,H (8 heads, 837.5 m²).
    # Yes: A,B,C (3 heads, 431.25 m² > 418.75) — area majority but not headcount: fails.
    votes = {"A": 1, "B": 1, "C": 1, "D": 2, "E": 2, "F": 2, "G": 2, "H": 2}
    t = _owners(votes)
    assert t.quorum_met is True
    yes, no = t.options
    assert yes.weight == D("431.25")
    assert yes.passes is False
    # No: 5 heads (> 4) but 406.25 m² (< 418.75): fails too. Nothing carries.
    assert no.votes == 5
    assert no.passes is False
    assert t.winner_option_id is None
    # Yes: A,B,C,D,E (5 heads, 512.5 m²): both majorities.
    t = _owners({"A": 1, "B": 1, "C": 1, "D": 1, "E": 1, "F": 2, "G": 2, "H": 2})
    assert t.options[0].passes is True
    assert t.winner_option_id == 1


def test_exactly_half_is_not_a_majority() -> None:
    assert not tally.carries(
        matter="ordinary", heads=2, area=D(50), participating_heads=4, participating_area=D(100)
    )
    assert tally.carries(
        matter="ordinary",
        heads=3,
        area=D("50.01"),
        participating_heads=4,
        participating_area=D(100),
    )


def test_major_matter_needs_three_quarters_of_participating_area_and_heads() -> None:
    assert tally.carries(
        matter="major", heads=3, area=D(75), participating_heads=4, participating_area=D(100)
    )
    assert not tally.carries(
        matter="major",
        heads=3,
        area=D("74.99"),
        participating_heads=4,
        participating_area=D(100),
    )
    assert not tally.carries(
        matter="major", heads=5, area=D(90), participating_heads=7, participating_area=D(100)
    )
    # All ten take part; yes: 8 owners, A+B+6×81.25 = 837.5 m² ≥ 750 and 8 ≥ 7.5 heads.
    votes = dict.fromkeys(AREAS, 2)
    for k in ["A", "B", "C", "D", "E", "F", "G", "H"]:
        votes[k] = 1
    t = _owners(votes, matter="major")
    assert t.options[0].weight == D("837.5")
    assert t.options[0].passes is True
    assert t.winner_option_id == 1
    # The same split on 7 yes heads (drop H to no): 7 < 7.5 heads fails the major matter,
    # though it still carries as an ordinary one.
    votes["H"] = 2
    assert _owners(votes, matter="major").options[0].passes is False
    assert _owners(votes, matter="ordinary").options[0].passes is True


def test_a_carrying_option_without_quorum_is_no_decision() -> None:
    t = _owners({"A": 1, "B": 1, "C": 1})
    assert t.options[0].passes is True
    assert t.quorum_met is False
    assert t.winner_option_id is None
