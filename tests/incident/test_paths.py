"""The community path graph: shortest travel times, routes, nearest points, the demo site."""

from __future__ import annotations

import math

import networkx as nx
import pytest

from linli.incident.paths import (
    CYCLE_M_PER_S,
    WALK_M_PER_S,
    add_node,
    add_path,
    coordinates,
    demo_site_graph,
    grid_site_graph,
    nearest,
    nearest_times,
    route,
    travel_time,
    travel_times,
)


@pytest.fixture
def square() -> nx.Graph:
    """A hand-checked graph (travel seconds on the edges):

    a --10-- b --10-- c
    |                 |
    5                 30 (by bicycle: 120 m at 4 m/s)
    |                 |
    d ------ 7 ------ e        f (isolated)
    """
    g = nx.Graph()
    for name, x, y in [("a", 0, 0), ("b", 14, 0), ("c", 28, 0), ("d", 0, 7), ("e", 9.8, 0)]:
        add_node(g, name, x, y)
    add_node(g, "f", 500, 500)
    add_path(g, "a", "b")  # 14 m at 1.4 m/s = 10 s, length from the coordinates
    add_path(g, "b", "c")  # 10 s
    add_path(g, "a", "d")  # 7 m = 5 s
    add_path(g, "d", "e", length_m=9.8)  # 7 s
    add_path(g, "c", "e", length_m=120.0, speed_m_per_s=CYCLE_M_PER_S)  # 30 s
    return g


def test_edges_carry_length_speed_and_travel_time(square: nx.Graph) -> None:
    edge = square.edges["a", "b"]
    assert edge["length_m"] == pytest.approx(14.0)
    assert edge["speed_m_per_s"] == WALK_M_PER_S
    assert edge["travel_s"] == pytest.approx(10.0)
    assert square.edges["c", "e"]["travel_s"] == pytest.approx(30.0)


def test_shortest_travel_times_match_the_hand_computed_ones(square: nx.Graph) -> None:
    times = travel_times(square, "a")
    assert times == pytest.approx({"a": 0.0, "b": 10.0, "c": 20.0, "d": 5.0, "e": 12.0})
    assert "f" not in times
    # e → c: through a and b (12 + 20 = 32 s) loses to the bicycle road (30 s).
    assert travel_time(square, "e", "c") == pytest.approx(30.0)
    assert travel_time(square, "a", "f") == math.inf


def test_routes_follow_the_fastest_paths(square: nx.Graph) -> None:
    assert route(square, "d", "c") == ["d", "a", "b", "c"]
    assert route(square, "e", "c") == ["e", "c"]
    assert route(square, "a", "f") == []
    assert coordinates(square, ["a", "d"]) == [(0.0, 0.0), (0.0, 7.0)]


def test_nearest_target_and_multi_source_times(square: nx.Graph) -> None:
    found = nearest(square, "e", ["b", "c"])
    assert found is not None
    assert found.node == "b"
    assert found.travel_s == pytest.approx(22.0)
    assert found.route == ("e", "d", "a", "b")
    assert nearest(square, "e", ["f"]) is None
    assert nearest(square, "e", ["nowhere"]) is None
    assert nearest(square, "a", ["a", "c"]) == nearest(square, "a", ["a"])
    assert nearest_times(square, ["b", "e"]) == pytest.approx(
        {"b": 0.0, "e": 0.0, "a": 10.0, "c": 10.0, "d": 7.0}
    )
    assert nearest_times(square, []) == {}


def test_negative_lengths_are_refused(square: nx.Graph) -> None:
    with pytest.raises(ValueError, match="non-negative"):
        add_path(square, "a", "c", length_m=-1.0)


def test_generated_grid_is_deterministic_and_connected() -> None:
    first = grid_site_graph(6, 7, seed=3)
    again = grid_site_graph(6, 7, seed=3)
    other = grid_site_graph(6, 7, seed=4)
    assert nx.is_connected(first)
    assert first.number_of_nodes() == 42
    assert first.number_of_edges() < 6 * 6 + 5 * 7  # some inner paths are missing
    assert sorted(first.edges(data="travel_s")) == sorted(again.edges(data="travel_s"))
    assert sorted(first.edges(data="travel_s")) != sorted(other.edges(data="travel_s"))
    ring = first.edges["j-0-0", "j-0-1"]
    assert ring["speed_m_per_s"] == CYCLE_M_PER_S


def test_demo_site_has_buildings_gates_duty_room_and_aeds() -> None:
    site = demo_site_graph()
    assert nx.is_connected(site.graph)
    kinds = {p.kind for p in site.points.values()}
    assert kinds == {"building", "gate", "duty_room", "aed"}
    assert len(site.of_kind("building")) == 12
    assert [p.name for p in site.of_kind("aed")] == [
        "aed-building-9",
        "aed-duty-room",
        "aed-east-gate",
    ]
    for point in site.points.values():
        assert point.node in site.graph
    # Deterministic: the demo and the tests see the same plan.
    assert sorted(site.graph.edges(data="travel_s")) == sorted(
        demo_site_graph().graph.edges(data="travel_s")
    )
    # From the duty room, its own AED is the nearest, at no travel at all.
    duty = site.points["duty-room"].node
    found = nearest(site.graph, duty, [p.node for p in site.of_kind("aed")])
    assert found is not None
    assert (found.node, found.travel_s) == (duty, 0.0)
