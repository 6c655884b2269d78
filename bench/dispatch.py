"""Dispatch plan time and quality: simultaneous incidents on a generated community graph.

A seeded scenario: a 20 × 20 grid of paths 30 m apart (``grid_site_graph``, some inner paths
missing, the outer ring a bicycle road), responders at random junctions with one or two skills
(a few off duty or already busy), and incidents of the default response plans at random
junctions with random CAP severities. ``plan_ms`` is the median wall time of
``plan_dispatch`` (shortest paths, model and assignment). The same model is then solved by a
different exact solver, OR-Tools CP-SAT (0/1 variables per feasible pair, at most one slot per
responder and one responder per slot, the same integer objective), giving ``optimal_travel_s``;
``gap`` = (total − optimal) / optimal. A greedy nearest-first heuristic (most severe slot
first, nearest free eligible responder) is measured for context.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
from typing import Any

from ortools.sat.python import cp_model

from linli.incident.dispatch import (
    DispatchModel,
    Incident,
    Responder,
    ResponderStatus,
    dispatch_model,
    plan_dispatch,
    solve,
)
from linli.incident.paths import grid_site_graph

SKILLS = ("first_aid", "fire_warden", "plumbing", "security", "gas", "lift", "electrical")
SKILL_WEIGHTS = (10, 5, 4, 4, 1, 1, 2)
TYPE_WEIGHTS = {
    "cardiac": 3,
    "fall": 4,
    "fire": 2,
    "pipe_burst": 3,
    "gas_leak": 1,
    "intrusion": 2,
    "lift_entrapment": 1,
    "power_outage": 2,
}
GRID = 20
SPACING_M = 30.0


def scenario(
    incidents: int, responders: int, seed: int
) -> tuple[Any, list[Incident], list[Responder]]:
    """The seeded graph, incidents and responders."""
    graph = grid_site_graph(GRID, GRID, spacing_m=SPACING_M, seed=seed)
    rng = random.Random(seed)  # noqa: S311  (a reproducible scenario)
    nodes = sorted(graph.nodes)
    start = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
    types = sorted(TYPE_WEIGHTS)
    out_incidents = [
        Incident(
            id=k + 1,
            type=rng.choices(types, [TYPE_WEIGHTS[t] for t in types])[0],
            severity=rng.randint(1, 4),
            node=rng.choice(nodes),
            created=start + dt.timedelta(seconds=rng.randint(0, 600)),
        )
        for k in range(incidents)
    ]
    statuses = [ResponderStatus.AVAILABLE] * 18 + [
        ResponderStatus.OFF_DUTY,
        ResponderStatus.DISPATCHED,
    ]
    out_responders = [
        Responder(
            id=k + 1,
            node=rng.choice(nodes),
            skills=frozenset(rng.choices(SKILLS, SKILL_WEIGHTS, k=rng.randint(1, 2))),
            status=rng.choice(statuses),
            on_shift=rng.random() > 0.05,
        )
        for k in range(responders)
    ]
    return graph, out_incidents, out_responders


def cp_sat_optimum(model: DispatchModel, time_limit_s: float) -> tuple[list[tuple[int, int]], str]:
    """Solve the same model with CP-SAT; return the chosen pairs and the solver status."""
    cp = cp_model.CpModel()
    x = {pair: cp.new_bool_var(f"x_{pair[0]}_{pair[1]}") for pair in model.cost}
    rows: dict[int, list[Any]] = {}
    columns: dict[int, list[Any]] = {}
    for (i, j), var in x.items():
        rows.setdefault(i, []).append(var)
        columns.setdefault(j, []).append(var)
    for group in (*rows.values(), *columns.values()):
        if len(group) > 1:
            cp.add_at_most_one(group)
    cp.minimize(sum((model.cost[p] - model.weight[p[1]]) * v for p, v in x.items()))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = time_limit_s
    solver.parameters.num_workers = 1
    status = solver.solve(cp)
    chosen = sorted(p for p, v in x.items() if solver.value(v))
    return chosen, solver.status_name(status)


def greedy(model: DispatchModel) -> list[tuple[int, int]]:
    """Most severe slot first (the model's column order), nearest free eligible responder."""
    used: set[int] = set()
    chosen = []
    for j in range(len(model.slots)):
        options = [
            (model.travel_s[(i, j)], i)
            for i in range(len(model.responders))
            if (i, j) in model.travel_s and i not in used
        ]
        if options:
            _, i = min(options)
            used.add(i)
            chosen.append((i, j))
    return chosen


def _served(model: DispatchModel, pairs: list[tuple[int, int]]) -> dict[str, int]:
    counts = {str(s): 0 for s in sorted(set(model.severity), reverse=True)}
    for _, j in pairs:
        counts[str(model.severity[j])] += 1
    return counts


def run(
    *, incidents: int = 50, responders: int = 200, seed: int = 7, repeats: int = 5
) -> dict[str, Any]:
    """Time the planner, compare its travel with CP-SAT's optimum and a greedy baseline."""
    graph, incident_list, responder_list = scenario(incidents, responders, seed)
    timings = []
    for _ in range(repeats):
        began = time.perf_counter()
        plan = plan_dispatch(graph, incident_list, responder_list)
        timings.append((time.perf_counter() - began) * 1000)
    model = dispatch_model(graph, incident_list, responder_list)
    pairs = solve(model)
    began = time.perf_counter()
    optimum, status = cp_sat_optimum(model, time_limit_s=120.0)
    optimal_ms = (time.perf_counter() - began) * 1000
    baseline = greedy(model)

    def travel(chosen: list[tuple[int, int]]) -> float:
        return sum(model.travel_s[p] for p in chosen)

    total = plan.total_travel_s
    optimal = travel(optimum)
    greedy_total = travel(baseline)
    return {
        "benchmark": "dispatch",
        "conditions": (
            f"{GRID}×{GRID} path grid {SPACING_M:g} m apart, seed {seed}; "
            "optimum by OR-Tools CP-SAT (1 worker) on the same model"
        ),
        "cpu_count": os.cpu_count(),
        "incidents": incidents,
        "responders": responders,
        "candidates": len(model.responders),
        "slots": len(model.slots),
        "feasible_pairs": len(model.cost),
        "seed": seed,
        "repeats": repeats,
        "plan_ms": round(statistics.median(timings), 2),
        "plan_max_ms": round(max(timings), 2),
        "total_travel_s": round(total, 3),
        "optimal_travel_s": round(optimal, 3),
        "gap": round((total - optimal) / optimal, 6) + 0.0 if optimal else 0.0,
        "optimal_status": status,
        "optimal_ms": round(optimal_ms, 1),
        "same_objective": model.objective(pairs) == model.objective(optimum),
        "served": _served(model, pairs),
        "optimal_served": _served(model, optimum),
        "greedy_travel_s": round(greedy_total, 3),
        "greedy_served": _served(model, baseline),
        "greedy_gap": round((greedy_total - optimal) / optimal, 6) if optimal else 0.0,
        "unfilled": len(plan.unfilled),
        "quantum_ms": model.quantum_ms,
    }
