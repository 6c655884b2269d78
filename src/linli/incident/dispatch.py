"""Dispatch planning: which available responders to send to which open incidents.

Pure functions over values (no database): the incident service turns its rows into
:class:`Responder`, :class:`Incident` and :class:`Offer` values, calls :func:`plan_dispatch` or
:func:`redispatch`, stores the new offers and notifies the responders.

The model (docs/dispatch.md): each open incident expands into *slots*, one per responder its
response plan asks for (``fire``: two ``fire_warden`` slots and one ``first_aid`` slot). A
responder fills at most one slot and only a slot whose skill they have. The plan maximises the
served slots tier by tier from the most severe incidents down (lexicographically), then minimises
the total travel time over the site's path graph. Both goals are folded into one integer cost
per (responder, slot) pair with exact severity weights, and the assignment is solved exactly by
:func:`scipy.optimize.linear_sum_assignment`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from enum import IntEnum, StrEnum

import networkx as nx
import numpy as np
from scipy.optimize import linear_sum_assignment

from linli.incident.paths import WEIGHT, Nearest, Node, nearest

# Integers up to 2**53 are exact in float64; the assignment solver adds and subtracts costs, so
# every partial sum must stay below this bound for the severity weights to remain exact.
EXACT_LIMIT = 2**52
QUANTA_MS = (1, 10, 100, 1000, 10_000, 100_000)


class ResponderStatus(StrEnum):
    """What a responder is doing; only ``available`` responders on shift are dispatched."""

    AVAILABLE = "available"
    DISPATCHED = "dispatched"
    ON_SCENE = "on_scene"
    OFF_DUTY = "off_duty"


class Severity(IntEnum):
    """Incident severity, the four levels of CAP 1.2 ``severity`` (higher is served first)."""

    MINOR = 1
    MODERATE = 2
    SEVERE = 3
    EXTREME = 4


class OfferStatus(StrEnum):
    """The state of one offer of a slot to a responder on their phone."""

    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    TIMED_OUT = "timed_out"


@dataclass(frozen=True)
class Responder:
    """A responder or volunteer: where they are now and what they can do."""

    id: int
    node: Node
    skills: frozenset[str]
    status: ResponderStatus = ResponderStatus.AVAILABLE
    on_shift: bool = True

    @property
    def dispatchable(self) -> bool:
        """Available and on shift."""
        return self.status is ResponderStatus.AVAILABLE and self.on_shift


@dataclass(frozen=True)
class Incident:
    """An open incident at a node of the path graph."""

    id: int
    type: str
    severity: int
    node: Node
    created: datetime


@dataclass(frozen=True)
class ResponsePlan:
    """What an incident type needs: (skill, count) pairs, and whether an AED is brought."""

    incident_type: str
    needs: tuple[tuple[str, int], ...]
    needs_aed: bool = False

    def slot_skills(self) -> list[tuple[str, int]]:
        """(skill, index) of every slot, e.g. ``[("plumbing", 0), ("plumbing", 1)]``."""
        return [(skill, i) for skill, count in self.needs for i in range(count)]


RESPONSE_PLANS: Mapping[str, ResponsePlan] = {
    p.incident_type: p
    for p in (
        ResponsePlan("cardiac", (("first_aid", 2),), needs_aed=True),
        ResponsePlan("fire", (("fire_warden", 2), ("first_aid", 1))),
        ResponsePlan("pipe_burst", (("plumbing", 2),)),
        ResponsePlan("fall", (("first_aid", 1),)),
        ResponsePlan("gas_leak", (("gas", 1), ("fire_warden", 1))),
        ResponsePlan("intrusion", (("security", 2),)),
        ResponsePlan("lift_entrapment", (("lift", 1), ("first_aid", 1))),
        ResponsePlan("power_outage", (("electrical", 1),)),
    )
}
"""The default response plans; a community may pass its own to the planner."""


@dataclass(frozen=True, order=True)
class Slot:
    """One responder position of an incident: its skill and the position's index."""

    incident_id: int
    skill: str
    index: int


@dataclass(frozen=True)
class Offer:
    """A slot offered to a responder, and their answer."""

    slot: Slot
    responder_id: int
    offered_at: datetime
    travel_s: float
    status: OfferStatus = OfferStatus.OFFERED
    answered_at: datetime | None = None

    @property
    def holds_slot(self) -> bool:
        """Pending or accepted: the slot is taken and the responder is busy with it."""
        return self.status in (OfferStatus.OFFERED, OfferStatus.ACCEPTED)


@dataclass(frozen=True)
class Assignment:
    """A planned (responder, slot) pair, with the travel time and route to the incident."""

    slot: Slot
    responder_id: int
    travel_s: float
    route: tuple[Node, ...]

    def offer(self, at: datetime) -> Offer:
        """The offer to send to the responder's phone."""
        return Offer(self.slot, self.responder_id, at, self.travel_s)


@dataclass(frozen=True)
class Plan:
    """The planner's answer: new assignments, offers kept, slots left open and AEDs."""

    assignments: tuple[Assignment, ...]
    held: tuple[Offer, ...]
    unfilled: tuple[Slot, ...]
    aeds: Mapping[int, Nearest | None]
    """For every incident whose plan needs an AED: the nearest one, or ``None`` if none."""
    quantum_ms: int = 1

    @property
    def total_travel_s(self) -> float:
        """Total travel time of the new assignments."""
        return sum(a.travel_s for a in self.assignments)

    def for_incident(self, incident_id: int) -> list[Assignment]:
        """The new assignments of one incident."""
        return [a for a in self.assignments if a.slot.incident_id == incident_id]

    def offers(self, at: datetime) -> tuple[Offer, ...]:
        """The new assignments as offers sent at ``at``."""
        return tuple(a.offer(at) for a in self.assignments)


@dataclass
class DispatchModel:
    """The assignment problem the planner solves, exposed so that other solvers can check it.

    Row ``i`` is ``responders[i]``, column ``j`` is ``slots[j]``; ``cost[(i, j)]`` is the travel
    time in whole quanta of ``quantum_ms`` for every feasible pair (skill, availability,
    reachability, not declined). ``weight[j]`` is the severity weight of slot ``j``. The model
    minimises ``Σ cost − weight`` over chosen pairs, each row and column used at most once.
    """

    responders: list[Responder]
    slots: list[Slot]
    severity: list[int]
    cost: dict[tuple[int, int], int]
    travel_s: dict[tuple[int, int], float]
    weight: list[int]
    quantum_ms: int
    held: tuple[Offer, ...]
    incident_nodes: dict[int, Node]
    predecessors: dict[Node, dict[Node, list[Node]]] = field(repr=False)

    def objective(self, pairs: Iterable[tuple[int, int]]) -> int:
        """The integer objective of a set of feasible pairs (lower is better)."""
        return sum(self.cost[p] - self.weight[p[1]] for p in pairs)


def _route(preds: Mapping[Node, list[Node]], start: Node) -> tuple[Node, ...]:
    """Follow Dijkstra's predecessors from ``start`` back to the source."""
    nodes = [start]
    while preds.get(nodes[-1]):
        nodes.append(preds[nodes[-1]][0])
    return tuple(nodes)


def _slots(
    incidents: Sequence[Incident], response_plans: Mapping[str, ResponsePlan]
) -> list[tuple[Slot, Incident]]:
    out: list[tuple[Slot, Incident]] = []
    for incident in incidents:
        plan = response_plans.get(incident.type)
        if plan is None:
            raise ValueError(f"no response plan for incident type {incident.type!r}")
        out.extend((Slot(incident.id, s, i), incident) for s, i in plan.slot_skills())
    # Most severe first, then oldest: the order only breaks ties between equal-cost plans.
    out.sort(key=lambda si: (-si[1].severity, si[1].created, si[0]))
    return out


def _weights(severity: list[int], bound: int) -> list[int]:
    """Exact lexicographic weights: one more slot of a tier beats everything below it.

    With tiers t0 < t1 < … and n_k open slots in tier k: W_0 = bound and
    W_k = Σ_{j<k} n_j·W_j + bound, where ``bound`` exceeds any difference in total travel.
    """
    tiers = sorted(set(severity))
    counts = {t: severity.count(t) for t in tiers}
    by_tier: dict[int, int] = {}
    below = 0
    for tier in tiers:
        by_tier[tier] = below + bound
        below += counts[tier] * by_tier[tier]
    return [by_tier[s] for s in severity]


def dispatch_model(
    graph: nx.Graph,
    incidents: Sequence[Incident],
    responders: Sequence[Responder],
    *,
    offers: Sequence[Offer] = (),
    response_plans: Mapping[str, ResponsePlan] = RESPONSE_PLANS,
) -> DispatchModel:
    """Build the assignment problem for the open slots of ``incidents``.

    Offers that hold a slot (pending or accepted) keep it, and their responder is not used
    elsewhere; a responder who declined or let an offer time out is never offered that incident
    again. Only responders that are available and on shift are candidates.
    """
    open_ids = {i.id for i in incidents}
    held = tuple(o for o in offers if o.holds_slot and o.slot.incident_id in open_ids)
    held_slots = {o.slot for o in held}
    busy = {o.responder_id for o in held}
    refused = {
        (o.slot.incident_id, o.responder_id)
        for o in offers
        if o.status in (OfferStatus.DECLINED, OfferStatus.TIMED_OUT)
    }
    expanded = [(s, i) for s, i in _slots(incidents, response_plans) if s not in held_slots]
    candidates = sorted(
        (r for r in responders if r.dispatchable and r.id not in busy), key=lambda r: r.id
    )
    skills_needed = {s.skill for s, _ in expanded}
    candidates = [r for r in candidates if r.skills & skills_needed]

    predecessors: dict[Node, dict[Node, list[Node]]] = {}
    distances: dict[Node, dict[Node, float]] = {}
    for node in sorted({i.node for _, i in expanded}):
        if node not in graph:
            raise ValueError(f"incident node {node!r} is not on the path graph")
        preds, dist = nx.dijkstra_predecessor_and_distance(graph, node, weight=WEIGHT)
        predecessors[node], distances[node] = preds, dist

    travel: dict[tuple[int, int], float] = {}
    for j, (slot, incident) in enumerate(expanded):
        dist = distances[incident.node]
        for i, responder in enumerate(candidates):
            if slot.skill not in responder.skills or (incident.id, responder.id) in refused:
                continue
            t = dist.get(responder.node)
            if t is not None and math.isfinite(t):
                travel[(i, j)] = float(t)

    severity = [i.severity for _, i in expanded]
    pairs = min(len(candidates), len(expanded))
    longest_ms = max(travel.values(), default=0.0) * 1000.0
    for quantum in QUANTA_MS:
        cost = {p: round(t * 1000.0 / quantum) for p, t in travel.items()}
        bound = pairs * max(cost.values(), default=0) + 1
        weight = _weights(severity, bound)
        if pairs * (max(weight, default=0) + longest_ms / quantum + 1) < EXACT_LIMIT:
            break
    else:
        raise ValueError("the dispatch problem is too large for exact severity weights")
    return DispatchModel(
        responders=candidates,
        slots=[s for s, _ in expanded],
        severity=severity,
        cost=cost,
        travel_s=travel,
        weight=weight,
        quantum_ms=quantum,
        held=held,
        incident_nodes={i.id: i.node for i in incidents},
        predecessors=predecessors,
    )


def solve(model: DispatchModel) -> list[tuple[int, int]]:
    """The optimal feasible (row, column) pairs of a model, by linear_sum_assignment.

    Feasible pairs cost ``travel − weight`` (< 0); infeasible pairs cost 0, the same as leaving
    both unmatched. The solver returns a matching of min(rows, columns) pairs; dropping its
    infeasible pairs gives a partial matching of the same cost, and every partial matching of
    feasible pairs can be completed by pairs costing ≤ 0, so the minimum over complete matchings
    is the minimum over partial ones: the result is optimal for the model.
    """
    if not model.cost:
        return []
    matrix = np.zeros((len(model.responders), len(model.slots)), dtype=np.float64)
    for (i, j), c in model.cost.items():
        matrix[i, j] = c - model.weight[j]
    rows, cols = linear_sum_assignment(matrix)
    return sorted((int(i), int(j)) for i, j in zip(rows, cols, strict=True) if (i, j) in model.cost)


def plan_from(
    model: DispatchModel,
    pairs: Iterable[tuple[int, int]],
    *,
    incidents: Sequence[Incident] = (),
    aed_nodes: Iterable[Node] = (),
    response_plans: Mapping[str, ResponsePlan] = RESPONSE_PLANS,
    graph: nx.Graph | None = None,
) -> Plan:
    """Turn chosen pairs of a model into a :class:`Plan` with routes and AEDs."""
    assignments = []
    taken: set[int] = set()
    for i, j in sorted(pairs, key=lambda p: p[1]):
        slot, responder = model.slots[j], model.responders[i]
        preds = model.predecessors[model.incident_nodes[slot.incident_id]]
        route = _route(preds, responder.node)
        assignments.append(Assignment(slot, responder.id, model.travel_s[(i, j)], route))
        taken.add(j)
    aeds: dict[int, Nearest | None] = {}
    targets = sorted(set(aed_nodes))
    for incident in incidents:
        plan = response_plans.get(incident.type)
        if plan is not None and plan.needs_aed and graph is not None:
            aeds[incident.id] = nearest(graph, incident.node, targets)
    return Plan(
        assignments=tuple(assignments),
        held=model.held,
        unfilled=tuple(s for j, s in enumerate(model.slots) if j not in taken),
        aeds=aeds,
        quantum_ms=model.quantum_ms,
    )


def plan_dispatch(
    graph: nx.Graph,
    incidents: Sequence[Incident],
    responders: Sequence[Responder],
    *,
    offers: Sequence[Offer] = (),
    aed_nodes: Iterable[Node] = (),
    response_plans: Mapping[str, ResponsePlan] = RESPONSE_PLANS,
) -> Plan:
    """The optimal dispatch of available responders to the open slots of ``incidents``.

    ``offers`` is the dispatch history of these incidents (kept offers are not moved; refused
    pairs are not offered again). ``aed_nodes`` are the AED cabinets; every incident whose
    response plan needs an AED gets the nearest one in :attr:`Plan.aeds`.
    """
    model = dispatch_model(
        graph, incidents, responders, offers=offers, response_plans=response_plans
    )
    return plan_from(
        model,
        solve(model),
        incidents=incidents,
        aed_nodes=aed_nodes,
        response_plans=response_plans,
        graph=graph,
    )


def _answer(
    offers: Sequence[Offer],
    incident_id: int,
    responder_id: int,
    status: OfferStatus,
    at: datetime,
) -> tuple[Offer, ...]:
    out = list(offers)
    for k, offer in enumerate(out):
        if (
            offer.status is OfferStatus.OFFERED
            and offer.slot.incident_id == incident_id
            and offer.responder_id == responder_id
        ):
            out[k] = replace(offer, status=status, answered_at=at)
            return tuple(out)
    raise ValueError("no pending offer of this incident to this responder")


def accept(
    offers: Sequence[Offer], *, incident_id: int, responder_id: int, at: datetime
) -> tuple[Offer, ...]:
    """The responder accepts their pending offer of the incident."""
    return _answer(offers, incident_id, responder_id, OfferStatus.ACCEPTED, at)


def decline(
    offers: Sequence[Offer], *, incident_id: int, responder_id: int, at: datetime
) -> tuple[Offer, ...]:
    """The responder declines their pending offer; they will not be offered the incident again."""
    return _answer(offers, incident_id, responder_id, OfferStatus.DECLINED, at)


def expire(offers: Sequence[Offer], *, now: datetime, timeout: timedelta) -> tuple[Offer, ...]:
    """Mark pending offers not answered within ``timeout`` of being sent as timed out."""
    return tuple(
        replace(o, status=OfferStatus.TIMED_OUT, answered_at=now)
        if o.status is OfferStatus.OFFERED and now - o.offered_at >= timeout
        else o
        for o in offers
    )


@dataclass(frozen=True)
class Redispatch:
    """The outcome of a re-dispatch: the whole offer history after it and what changed."""

    offers: tuple[Offer, ...]
    timed_out: tuple[Offer, ...]
    new: tuple[Offer, ...]
    plan: Plan


def redispatch(
    graph: nx.Graph,
    incidents: Sequence[Incident],
    responders: Sequence[Responder],
    offers: Sequence[Offer],
    *,
    now: datetime,
    timeout: timedelta,
    aed_nodes: Iterable[Node] = (),
    response_plans: Mapping[str, ResponsePlan] = RESPONSE_PLANS,
) -> Redispatch:
    """After a decline (recorded with :func:`decline`) or at a timeout check: fill freed slots.

    Offers pending for ``timeout`` or longer time out; then the open slots (declined, timed out
    or never filled) are planned again with every accepted or still-pending offer kept in place,
    so no responder already on the way is moved, and no responder is offered an incident they
    declined or let time out.
    """
    expired = expire(offers, now=now, timeout=timeout)
    timed_out = tuple(
        after
        for before, after in zip(offers, expired, strict=True)
        if after.status is not before.status
    )
    plan = plan_dispatch(
        graph,
        incidents,
        responders,
        offers=expired,
        aed_nodes=aed_nodes,
        response_plans=response_plans,
    )
    new = plan.offers(now)
    return Redispatch(offers=expired + new, timed_out=timed_out, new=new, plan=plan)
