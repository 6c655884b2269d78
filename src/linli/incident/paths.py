"""The community's path graph: travel times, routes and the nearest point of a kind.

A site is an undirected :class:`networkx.Graph` whose nodes are strings with ``x`` and ``y`` in
metres on the site plan, and whose edges carry ``length_m``, ``speed_m_per_s`` and ``travel_s``
(the seconds to go along the edge). Shortest travel times are Dijkstra's algorithm over
``travel_s`` as networkx implements it (``single_source_dijkstra``, ``multi_source_dijkstra``).
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import networkx as nx

WALK_M_PER_S = 1.4
"""A brisk walk; the speed of a responder on foot along a path."""
CYCLE_M_PER_S = 4.0
"""A bicycle on the community's paths (used for the main roads of the demo site)."""
WEIGHT = "travel_s"

Node = str


@dataclass(frozen=True)
class Point:
    """A named place on the site plan: a building, a gate, the duty room, an AED cabinet."""

    name: str
    kind: str
    node: Node


@dataclass(frozen=True)
class Nearest:
    """The nearest of some targets from an origin: its node, the travel time and the route."""

    node: Node
    travel_s: float
    route: tuple[Node, ...]


@dataclass
class Site:
    """A path graph and its named points (by name)."""

    graph: nx.Graph
    points: dict[str, Point] = field(default_factory=dict)

    def of_kind(self, kind: str) -> list[Point]:
        """The points of one kind, by name."""
        return sorted((p for p in self.points.values() if p.kind == kind), key=lambda p: p.name)


def add_node(graph: nx.Graph, node: Node, x: float, y: float) -> None:
    """Add a node at (x, y) metres on the site plan."""
    graph.add_node(node, x=float(x), y=float(y))


def add_path(
    graph: nx.Graph,
    a: Node,
    b: Node,
    *,
    length_m: float | None = None,
    speed_m_per_s: float = WALK_M_PER_S,
) -> None:
    """Join two nodes by a path; its length defaults to the straight line between them."""
    if length_m is None:
        ax, ay = graph.nodes[a]["x"], graph.nodes[a]["y"]
        bx, by = graph.nodes[b]["x"], graph.nodes[b]["y"]
        length_m = math.hypot(ax - bx, ay - by)
    if length_m < 0 or speed_m_per_s <= 0:
        raise ValueError("a path needs a non-negative length and a positive speed")
    graph.add_edge(
        a,
        b,
        length_m=float(length_m),
        speed_m_per_s=float(speed_m_per_s),
        travel_s=float(length_m) / float(speed_m_per_s),
    )


def travel_times(graph: nx.Graph, origin: Node) -> dict[Node, float]:
    """Shortest travel seconds from ``origin`` to every node it can reach."""
    return dict(nx.single_source_dijkstra_path_length(graph, origin, weight=WEIGHT))


def travel_times_and_routes(
    graph: nx.Graph, origin: Node
) -> tuple[dict[Node, float], dict[Node, list[Node]]]:
    """Shortest travel seconds and node lists from ``origin`` to every reachable node."""
    lengths, routes = nx.single_source_dijkstra(graph, origin, weight=WEIGHT)
    return dict(lengths), dict(routes)


def travel_time(graph: nx.Graph, a: Node, b: Node) -> float:
    """Shortest travel seconds from ``a`` to ``b`` (``math.inf`` when unreachable)."""
    try:
        return float(nx.dijkstra_path_length(graph, a, b, weight=WEIGHT))
    except nx.NetworkXNoPath:
        return math.inf


def route(graph: nx.Graph, a: Node, b: Node) -> list[Node]:
    """The nodes of a fastest route from ``a`` to ``b`` (for drawing); empty when unreachable."""
    try:
        return list(nx.dijkstra_path(graph, a, b, weight=WEIGHT))
    except nx.NetworkXNoPath:
        return []


def coordinates(graph: nx.Graph, nodes: Iterable[Node]) -> list[tuple[float, float]]:
    """The (x, y) metres of nodes, e.g. a route to draw as a polyline."""
    return [(float(graph.nodes[n]["x"]), float(graph.nodes[n]["y"])) for n in nodes]


def nearest_times(graph: nx.Graph, sources: Iterable[Node]) -> dict[Node, float]:
    """Travel seconds from every node to the nearest of ``sources`` (multi-source Dijkstra)."""
    present = [s for s in sources if s in graph]
    if not present:
        return {}
    return dict(nx.multi_source_dijkstra_path_length(graph, set(present), weight=WEIGHT))


def nearest(graph: nx.Graph, origin: Node, targets: Iterable[Node]) -> Nearest | None:
    """The target fastest to reach from ``origin`` (ties: the smaller node name), or ``None``.

    The graph is undirected, so this is a multi-source Dijkstra from the targets that stops at
    ``origin``; the route is returned from ``origin`` to the target.
    """
    present = sorted({t for t in targets if t in graph})
    if origin not in graph or not present:
        return None
    lengths = travel_times(graph, origin)
    reachable = [(lengths[t], t) for t in present if t in lengths]
    if not reachable:
        return None
    travel_s, node = min(reachable)
    return Nearest(node=node, travel_s=travel_s, route=tuple(route(graph, origin, node)))


def grid_site_graph(
    rows: int,
    cols: int,
    *,
    spacing_m: float = 40.0,
    seed: int = 0,
    drop_share: float = 0.15,
) -> nx.Graph:
    """A generated site: a grid of path junctions ``j-<row>-<col>`` with some paths missing.

    Each path's length is the grid spacing stretched by up to 30 % (paths bend), a random
    ``drop_share`` of the paths is left out while the grid stays connected, and the outer ring
    is a road ridden by bicycle. The same arguments always give the same graph.
    """
    if rows < 1 or cols < 1:
        raise ValueError("a site grid needs at least one row and one column")
    rng = random.Random(seed)  # noqa: S311 - a reproducible site plan, not a secret
    graph = nx.Graph()
    for r in range(rows):
        for c in range(cols):
            add_node(graph, f"j-{r}-{c}", c * spacing_m, r * spacing_m)
    edges: list[tuple[Node, Node, bool]] = []
    for r in range(rows):
        for c in range(cols):
            if c + 1 < cols:
                edges.append((f"j-{r}-{c}", f"j-{r}-{c + 1}", r in (0, rows - 1)))
            if r + 1 < rows:
                edges.append((f"j-{r}-{c}", f"j-{r + 1}-{c}", c in (0, cols - 1)))
    for a, b, ring in edges:
        speed = CYCLE_M_PER_S if ring else WALK_M_PER_S
        add_path(graph, a, b, length_m=spacing_m * rng.uniform(1.0, 1.3), speed_m_per_s=speed)
    inner = [(a, b) for a, b, ring in edges if not ring]
    rng.shuffle(inner)
    for a, b in inner[: int(len(inner) * drop_share)]:
        data = dict(graph.edges[a, b])
        graph.remove_edge(a, b)
        if not nx.has_path(graph, a, b):
            graph.add_edge(a, b, **data)
    return graph


def demo_site_graph() -> Site:
    """The demo community's site plan: paths, 12 buildings, 2 gates, the duty room and 3 AEDs.

    A 5 × 6 grid of paths 40 m apart; each building, gate and the duty room stands a short spur
    away from a junction; the AED cabinets hang at the duty room, the east gate and building 9.
    """
    graph = grid_site_graph(5, 6, spacing_m=40.0, seed=20261204, drop_share=0.1)
    site = Site(graph=graph)

    def attach(name: str, kind: str, junction: Node, dx: float, dy: float) -> Point:
        node = f"{kind}:{name}"
        x, y = graph.nodes[junction]["x"], graph.nodes[junction]["y"]
        add_node(graph, node, x + dx, y + dy)
        add_path(graph, node, junction)
        point = Point(name=name, kind=kind, node=node)
        site.points[name] = point
        return point

    for number in range(1, 13):
        row, col = divmod(number - 1, 4)
        attach(f"building-{number}", "building", f"j-{row + 1}-{col + 1}", 12.0, 15.0)
    attach("south-gate", "gate", "j-0-2", 0.0, -10.0)
    attach("east-gate", "gate", "j-2-5", 10.0, 0.0)
    attach("duty-room", "duty_room", "j-0-3", 8.0, -12.0)
    spots: Mapping[str, Node] = {
        "aed-duty-room": "duty_room:duty-room",
        "aed-east-gate": "gate:east-gate",
        "aed-building-9": "building:building-9",
    }
    for name, at in spots.items():
        # An AED cabinet is on the wall of its building: the node of that building.
        site.points[name] = Point(name=name, kind="aed", node=at)
    return site
