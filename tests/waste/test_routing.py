"""Collection routing (OR-Tools): capacities and time windows hold, every bin above threshold is
visited exactly once, and small cases match brute force."""

from __future__ import annotations

import itertools
import math

from linli.waste.fraud import haversine_m
from linli.waste.routing import SERVICE_MIN, Stop, Vehicle, solve

DEPOT = (31.2280, 121.4440)


def _stops(n: int, *, load: float = 40.0) -> list[Stop]:
    # A scattered, asymmetric layout so that the best order is not the obvious one.
    offsets = [(3, 1), (1, 4), (-2, 3), (4, -2), (-3, -1), (2, 2), (-1, -4), (0, 5)]
    return [
        Stop(
            id=i + 1,
            latitude=DEPOT[0] + 0.0009 * dy,
            longitude=DEPOT[1] + 0.0011 * dx,
            load_kg=load,
            load_l=round(load * 2),
        )
        for i, (dx, dy) in enumerate(offsets[:n])
    ]


def _truck(
    vid: int = 1, *, kg: float = 1000, litres: int = 5000, start: int = 360, end: int = 600
) -> Vehicle:
    return Vehicle(vid, kg, litres, DEPOT[0], DEPOT[1], start, end, speed_kmh=15)


def _d(a: tuple[float, float], b: tuple[float, float]) -> int:
    return round(haversine_m(a[0], a[1], b[0], b[1]))


def _tour(order: tuple[Stop, ...]) -> int:
    points = [DEPOT, *[(s.latitude, s.longitude) for s in order], DEPOT]
    return sum(_d(points[i], points[i + 1]) for i in range(len(points) - 1))


def test_one_truck_matches_the_brute_force_shortest_tour() -> None:
    stops = _stops(7)
    best = min(_tour(p) for p in itertools.permutations(stops))
    solution = solve(stops, [_truck()], time_limit_s=0.5)
    assert solution.unserved == []
    assert solution.distance_m == best
    assert sorted(v.stop_id for v in solution.routes[0].visits) == [s.id for s in stops]


def test_two_trucks_with_capacities_match_brute_force_and_respect_them() -> None:
    stops = _stops(6, load=50)
    trucks = [_truck(1, kg=150), _truck(2, kg=160)]
    best = math.inf
    for assignment in itertools.product((0, 1), repeat=len(stops)):
        groups = [
            tuple(s for s, a in zip(stops, assignment, strict=True) if a == t) for t in (0, 1)
        ]
        if any(sum(s.load_kg for s in g) > trucks[t].capacity_kg for t, g in enumerate(groups)):
            continue
        cost = sum(min(_tour(p) for p in itertools.permutations(g)) if g else 0 for g in groups)
        best = min(best, cost)
    solution = solve(stops, trucks, time_limit_s=0.5)
    assert solution.distance_m == best
    visited = [v.stop_id for r in solution.routes for v in r.visits]
    assert sorted(visited) == [s.id for s in stops]  # each exactly once
    for route, truck in zip(solution.routes, trucks, strict=True):
        assert route.load_kg <= truck.capacity_kg
        assert route.load_l <= truck.capacity_l


def test_time_windows_and_shifts_are_respected() -> None:
    stops = _stops(6)
    # Bin 4 may only be emptied in the first minutes of the shift, bin 2 only after 07:00.
    stops[3] = Stop(4, stops[3].latitude, stops[3].longitude, 40, 80, 360, 372)
    stops[1] = Stop(2, stops[1].latitude, stops[1].longitude, 40, 80, 420, 1440)
    solution = solve(stops, [_truck(start=360, end=600)], time_limit_s=0.5)
    assert solution.unserved == []
    route = solution.routes[0]
    arrivals = {v.stop_id: v.arrive_min for v in route.visits}
    assert 360 <= arrivals[4] <= 372
    assert arrivals[2] >= 420
    for stop in stops:
        assert stop.window_start_min <= arrivals[stop.id] <= stop.window_end_min
    assert route.start_min >= 360
    assert route.end_min <= 600
    # Arrival times follow the order: travel plus service time in between.
    times = [v.arrive_min for v in route.visits]
    assert all(b >= a + SERVICE_MIN for a, b in itertools.pairwise(times))


def test_a_bin_no_truck_can_take_is_reported_not_dropped_silently() -> None:
    stops = [*_stops(3), Stop(99, DEPOT[0] + 0.001, DEPOT[1], 5000, 100)]
    solution = solve(stops, [_truck(kg=500)], time_limit_s=0.3)
    assert solution.unserved == [99]
    assert sorted(v.stop_id for v in solution.routes[0].visits) == [1, 2, 3]
    assert solve(stops, [], time_limit_s=0.1).unserved == [1, 2, 3, 99]


def test_a_truck_takes_only_its_kinds_of_waste() -> None:
    stops = [
        Stop(
            s.id,
            s.latitude,
            s.longitude,
            s.load_kg,
            s.load_l,
            kind="food" if s.id % 2 else "residual",
        )
        for s in _stops(6)
    ]
    food = Vehicle(1, 1000, 5000, DEPOT[0], DEPOT[1], 360, 600, kinds=("food",))
    rest = Vehicle(2, 1000, 5000, DEPOT[0], DEPOT[1], 360, 600, kinds=("residual", "recyclable"))
    solution = solve(stops, [food, rest], time_limit_s=0.3)
    kind = {s.id: s.kind for s in stops}
    assert solution.unserved == []
    assert {kind[v.stop_id] for v in solution.routes[0].visits} == {"food"}
    assert {kind[v.stop_id] for v in solution.routes[1].visits} == {"residual"}
    # No truck for hazardous waste: reported as unserved.
    odd = [*stops, Stop(50, DEPOT[0] + 0.001, DEPOT[1], 5, 10, kind="hazardous")]
    assert solve(odd, [food, rest], time_limit_s=0.3).unserved == [50]
