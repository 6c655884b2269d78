"""Collection routes: a capacitated vehicle routing problem with time windows (pure).

Solved with Google OR-Tools' routing library (``pywrapcp.RoutingModel``): each truck starts and
ends at its own depot, carries at most its capacity in kilograms and in litres, works within its
shift, takes only the kinds of waste it is meant for (a food-waste truck takes no residual
waste), and may reach each bin only inside the bin's collection window. Distances are great-circle
distances between coordinates; travel time is distance at the truck's speed plus a fixed service
time per bin. Every bin must be visited once; a bin is left out only when no truck can take it
(a large penalty per dropped bin makes that the last resort), and is then reported as unserved.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.constraint_solver import pywrapcp, routing_enums_pb2

from linli.waste.fraud import haversine_m

SERVICE_MIN = 3  # emptying one bin into the truck
DROP_PENALTY = 10_000_000  # metres: more than any detour, so bins are dropped only if infeasible
LOAD_SCALE = 10  # kilograms are solved in tenths


@dataclass(frozen=True, slots=True)
class Stop:
    """A bin to empty."""

    id: int
    latitude: float
    longitude: float
    load_kg: float
    load_l: int
    window_start_min: int = 0
    window_end_min: int = 1440
    kind: str = ""


@dataclass(frozen=True, slots=True)
class Vehicle:
    """A truck with its depot and shift (minutes after local midnight)."""

    id: int
    capacity_kg: float
    capacity_l: int
    depot_latitude: float
    depot_longitude: float
    shift_start_min: int
    shift_end_min: int
    speed_kmh: float = 15.0
    # The kinds of stop (GB classes) this vehicle may take; empty: any.
    kinds: tuple[str, ...] = ()


@dataclass(slots=True)
class Visit:
    stop_id: int
    arrive_min: int
    load_kg: float
    load_l: int


@dataclass(slots=True)
class Route:
    vehicle_id: int
    visits: list[Visit] = field(default_factory=list)
    distance_m: int = 0
    start_min: int = 0
    end_min: int = 0

    @property
    def load_kg(self) -> float:
        return round(sum(v.load_kg for v in self.visits), 1)

    @property
    def load_l(self) -> int:
        return sum(v.load_l for v in self.visits)


@dataclass(slots=True)
class Solution:
    routes: list[Route]
    unserved: list[int]

    @property
    def distance_m(self) -> int:
        return sum(r.distance_m for r in self.routes)


def _minutes(distance_m: int, speed_kmh: float) -> int:
    return math.ceil(distance_m / (speed_kmh * 1000 / 60))


def solve(stops: list[Stop], vehicles: list[Vehicle], *, time_limit_s: float = 2.0) -> Solution:
    """Routes for ``vehicles`` that empty ``stops`` with the least total distance found."""
    if not vehicles:
        return Solution(routes=[], unserved=[s.id for s in stops])
    if not stops:
        return Solution(routes=[Route(v.id) for v in vehicles], unserved=[])
    depots = [(v.depot_latitude, v.depot_longitude) for v in vehicles]
    points = depots + [(s.latitude, s.longitude) for s in stops]
    n_depots = len(depots)
    dist = [[round(haversine_m(*a, *b)) for b in points] for a in points]
    manager = pywrapcp.RoutingIndexManager(
        len(points), len(vehicles), list(range(n_depots)), list(range(n_depots))
    )
    model = pywrapcp.RoutingModel(manager)

    def distance(i: int, j: int) -> int:
        return dist[int(manager.IndexToNode(i))][int(manager.IndexToNode(j))]

    model.SetArcCostEvaluatorOfAllVehicles(model.RegisterTransitCallback(distance))

    def stop_of(index: int) -> Stop | None:
        node = manager.IndexToNode(index)
        return stops[node - n_depots] if node >= n_depots else None

    def kg(index: int) -> int:
        stop = stop_of(index)
        return round(stop.load_kg * LOAD_SCALE) if stop else 0

    def litres(index: int) -> int:
        stop = stop_of(index)
        return stop.load_l if stop else 0

    model.AddDimensionWithVehicleCapacity(
        model.RegisterUnaryTransitCallback(kg),
        0,
        [math.floor(v.capacity_kg * LOAD_SCALE) for v in vehicles],
        True,
        "kg",
    )
    model.AddDimensionWithVehicleCapacity(
        model.RegisterUnaryTransitCallback(litres), 0, [v.capacity_l for v in vehicles], True, "l"
    )

    def timer(speed_kmh: float) -> Callable[[int, int], int]:
        def travel(i: int, j: int) -> int:
            service = SERVICE_MIN if manager.IndexToNode(i) >= n_depots else 0
            return service + _minutes(distance(i, j), speed_kmh)

        return travel

    callbacks = [model.RegisterTransitCallback(timer(v.speed_kmh)) for v in vehicles]
    model.AddDimensionWithVehicleTransits(callbacks, 1440, 1440, False, "time")
    time = model.GetDimensionOrDie("time")
    for node, stop in enumerate(stops, start=n_depots):
        index = manager.NodeToIndex(node)
        time.CumulVar(index).SetRange(stop.window_start_min, stop.window_end_min)
        model.AddDisjunction([index], DROP_PENALTY)
        allowed = [v for v, veh in enumerate(vehicles) if not veh.kinds or stop.kind in veh.kinds]
        if len(allowed) < len(vehicles):
            # -1: the stop may still be left out (and reported) when no allowed truck can take it.
            model.VehicleVar(index).SetValues([-1, *allowed])
    for v, vehicle in enumerate(vehicles):
        time.CumulVar(model.Start(v)).SetRange(vehicle.shift_start_min, vehicle.shift_end_min)
        time.CumulVar(model.End(v)).SetRange(vehicle.shift_start_min, vehicle.shift_end_min)
        model.AddVariableMinimizedByFinalizer(time.CumulVar(model.End(v)))
        model.AddVariableMaximizedByFinalizer(time.CumulVar(model.Start(v)))

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = (
        routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    )
    params.time_limit.FromMilliseconds(max(1, round(time_limit_s * 1000)))
    assignment = model.SolveWithParameters(params)
    if assignment is None:
        return Solution(routes=[Route(v.id) for v in vehicles], unserved=[s.id for s in stops])
    routes: list[Route] = []
    served: set[int] = set()
    for v, vehicle in enumerate(vehicles):
        route = Route(vehicle.id)
        index = model.Start(v)
        route.start_min = assignment.Min(time.CumulVar(index))
        while not model.IsEnd(index):
            nxt = assignment.Value(model.NextVar(index))
            route.distance_m += distance(index, nxt)
            here = stop_of(nxt)
            if here is not None:
                served.add(here.id)
                route.visits.append(
                    Visit(
                        stop_id=here.id,
                        arrive_min=assignment.Min(time.CumulVar(nxt)),
                        load_kg=round(here.load_kg, 1),
                        load_l=here.load_l,
                    )
                )
            index = nxt
        route.end_min = assignment.Min(time.CumulVar(index))
        if not route.visits:
            route.distance_m = 0
            route.end_min = route.start_min
        routes.append(route)
    return Solution(routes=routes, unserved=[s.id for s in stops if s.id not in served])
