"""The dispatch planner: optimality by brute force, constraints, severity, re-dispatch, AEDs."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterator, Mapping, Sequence

import networkx as nx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from linli.incident.dispatch import (
    RESPONSE_PLANS,
    Incident,
    OfferStatus,
    Plan,
    Responder,
    ResponderStatus,
    ResponsePlan,
    Severity,
    Slot,
    accept,
    decline,
    dispatch_model,
    expire,
    plan_dispatch,
    redispatch,
)
from linli.incident.paths import add_node, add_path, demo_site_graph, grid_site_graph, nearest

T0 = dt.datetime(2026, 12, 4, 8, 0, tzinfo=dt.UTC)
SMALL_PLANS: Mapping[str, ResponsePlan] = {
    "fall": ResponsePlan("fall", (("first_aid", 1),)),
    "pipe_burst": ResponsePlan("pipe_burst", (("plumbing", 2),)),
    "fire": ResponsePlan("fire", (("fire_warden", 1), ("first_aid", 1))),
}
SKILLS = ("first_aid", "plumbing", "fire_warden")


def _case(seed: int) -> tuple[nx.Graph, list[Incident], list[Responder]]:
    """A random small case: ≤ 7 responders, ≤ 3 incidents, ≤ 5 slots."""
    rng = random.Random(seed)
    graph = grid_site_graph(3, 4, spacing_m=30.0, seed=seed, drop_share=0.3)
    nodes = sorted(graph.nodes)
    if rng.random() < 0.2:  # sometimes a building nobody can reach
        add_node(graph, "island", 999.0, 999.0)
        nodes.append("island")
    incidents: list[Incident] = []
    slots = 0
    for k in range(rng.randint(1, 3)):
        kind = rng.choice(sorted(SMALL_PLANS))
        size = sum(n for _, n in SMALL_PLANS[kind].needs)
        if slots + size > 5:
            break
        slots += size
        incidents.append(
            Incident(
                id=k + 1,
                type=kind,
                severity=rng.randint(1, 3),
                node=rng.choice(nodes),
                created=T0 + dt.timedelta(minutes=k),
            )
        )
    responders = [
        Responder(
            id=k + 1,
            node=rng.choice(nodes),
            skills=frozenset(rng.sample(SKILLS, rng.randint(1, 2))),
            status=rng.choice([ResponderStatus.AVAILABLE] * 4 + list(ResponderStatus)),
            on_shift=rng.random() > 0.15,
        )
        for k in range(rng.randint(0, 7))
    ]
    return graph, incidents, responders


def _brute_force(
    graph: nx.Graph, incidents: Sequence[Incident], responders: Sequence[Responder]
) -> tuple[tuple[int, ...], int]:
    """The best (served slots per severity from the highest down, −travel in ms) over all plans."""
    slots: list[tuple[str, Incident]] = [
        (skill, incident)
        for incident in incidents
        for skill, count in SMALL_PLANS[incident.type].needs
        for _ in range(count)
    ]
    times = {
        i.id: nx.single_source_dijkstra_path_length(graph, i.node, weight="travel_s")
        for i in incidents
    }
    usable = [r for r in responders if r.status == "available" and r.on_shift]
    severities = sorted({i.severity for i in incidents}, reverse=True)

    def plans(k: int, used: frozenset[int]) -> Iterator[list[tuple[int, int]]]:
        if k == len(slots):
            yield []
            return
        yield from plans(k + 1, used)  # slot k left open
        skill, incident = slots[k]
        for r in usable:
            if r.id in used or skill not in r.skills or r.node not in times[incident.id]:
                continue
            ms = round(times[incident.id][r.node] * 1000)
            for rest in plans(k + 1, used | {r.id}):
                yield [(incident.severity, ms), *rest]

    best: tuple[tuple[int, ...], int] | None = None
    for chosen in plans(0, frozenset()):
        key = (
            tuple(sum(1 for s, _ in chosen if s == tier) for tier in severities),
            -sum(ms for _, ms in chosen),
        )
        if best is None or key > best:
            best = key
    assert best is not None
    return best


def _key(plan: Plan, incidents: Sequence[Incident]) -> tuple[tuple[int, ...], int]:
    severity = {i.id: i.severity for i in incidents}
    tiers = sorted(set(severity.values()), reverse=True)
    served = tuple(
        sum(1 for a in plan.assignments if severity[a.slot.incident_id] == t) for t in tiers
    )
    return served, -sum(round(a.travel_s * 1000) for a in plan.assignments)


def _check_constraints(
    plan: Plan, graph: nx.Graph, incidents: Sequence[Incident], responders: Sequence[Responder]
) -> None:
    by_id = {r.id: r for r in responders}
    at = {i.id: i.node for i in incidents}
    used = [a.responder_id for a in plan.assignments]
    assert len(used) == len(set(used)), "a responder fills at most one slot"
    slots = [a.slot for a in plan.assignments] + list(plan.unfilled)
    assert len(slots) == len(set(slots)), "a slot is filled at most once"
    for a in plan.assignments:
        responder = by_id[a.responder_id]
        assert a.slot.skill in responder.skills
        assert responder.status is ResponderStatus.AVAILABLE
        assert responder.on_shift
        assert a.route[0] == responder.node
        assert a.route[-1] == at[a.slot.incident_id]
        assert a.travel_s == pytest.approx(
            nx.dijkstra_path_length(graph, responder.node, at[a.slot.incident_id], "travel_s")
        )


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=10**9))
def test_plan_is_optimal_against_brute_force(seed: int) -> None:
    graph, incidents, responders = _case(seed)
    plan = plan_dispatch(graph, incidents, responders, response_plans=SMALL_PLANS)
    assert plan.quantum_ms == 1
    _check_constraints(plan, graph, incidents, responders)
    assert _key(plan, incidents) == _brute_force(graph, incidents, responders)


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=0, max_value=10**9), st.integers(min_value=0, max_value=40))
def test_skills_and_availability_are_respected_at_scale(seed: int, extra: int) -> None:
    rng = random.Random(seed)
    graph = grid_site_graph(6, 6, seed=seed)
    nodes = sorted(graph.nodes)
    skills = sorted({s for p in RESPONSE_PLANS.values() for s, _ in p.needs})
    incidents = [
        Incident(k, rng.choice(sorted(RESPONSE_PLANS)), rng.randint(1, 4), rng.choice(nodes), T0)
        for k in range(rng.randint(1, 12))
    ]
    responders = [
        Responder(
            k,
            rng.choice(nodes),
            frozenset(rng.sample(skills, rng.randint(1, 3))),
            rng.choice(list(ResponderStatus)),
            rng.random() > 0.2,
        )
        for k in range(5 + extra)
    ]
    plan = plan_dispatch(graph, incidents, responders)
    _check_constraints(plan, graph, incidents, responders)
    # Nobody left idle could fill an open slot of the same incident type in a way that adds
    # a served slot: every open slot's skill is missing among the unused usable responders.
    used = {a.responder_id for a in plan.assignments}
    idle_skills = {s for r in responders if r.dispatchable and r.id not in used for s in r.skills}
    assert not any(slot.skill in idle_skills for slot in plan.unfilled)


def _line(n: int) -> nx.Graph:
    """Nodes n0 … n{n-1} on a line, 14 m (10 s on foot) apart."""
    graph = nx.Graph()
    for k in range(n):
        add_node(graph, f"n{k}", 14.0 * k, 0.0)
    for k in range(n - 1):
        add_path(graph, f"n{k}", f"n{k + 1}")
    return graph


def test_higher_severity_is_served_first_even_if_far_away() -> None:
    graph = _line(10)
    minor = Incident(1, "fall", Severity.MINOR, "n0", T0)
    extreme = Incident(2, "fall", Severity.EXTREME, "n9", T0 + dt.timedelta(minutes=5))
    medic = Responder(1, "n0", frozenset({"first_aid"}))
    plan = plan_dispatch(graph, [minor, extreme], [medic])
    assert [(a.slot.incident_id, a.responder_id) for a in plan.assignments] == [(2, 1)]
    assert plan.assignments[0].travel_s == pytest.approx(90.0)
    assert plan.unfilled == (Slot(1, "first_aid", 0),)


def test_one_more_severe_slot_beats_many_lower_ones() -> None:
    graph = _line(5)
    fire = Incident(1, "fire", Severity.SEVERE, "n4", T0)
    falls = [Incident(k, "fall", Severity.MODERATE, "n0", T0) for k in (2, 3)]
    # Responder 1 is the only first aider who could complete the fire; 2 and 3 are medics too.
    responders = [
        Responder(1, "n0", frozenset({"first_aid"})),
        Responder(2, "n0", frozenset({"first_aid"})),
        Responder(3, "n4", frozenset({"fire_warden"})),
        Responder(4, "n4", frozenset({"fire_warden"})),
    ]
    plan = plan_dispatch(graph, [fire, *falls], responders)
    served = {a.slot for a in plan.assignments}
    assert {s for s in served if s.incident_id == 1} == {
        Slot(1, "fire_warden", 0),
        Slot(1, "fire_warden", 1),
        Slot(1, "first_aid", 0),
    }
    assert len([s for s in served if s.incident_id != 1]) == 1


def test_unknown_incident_type_is_refused() -> None:
    with pytest.raises(ValueError, match="no response plan"):
        plan_dispatch(_line(2), [Incident(1, "meteor", 4, "n0", T0)], [])
    with pytest.raises(ValueError, match="not on the path graph"):
        plan_dispatch(_line(2), [Incident(1, "fall", 4, "n7", T0)], [])


def test_exact_weights_hold_when_travel_times_are_large() -> None:
    # Travel of days in seconds forces coarser quanta; the severity order still holds.
    graph = nx.Graph()
    add_node(graph, "a", 0.0, 0.0)
    add_node(graph, "b", 1.0, 0.0)
    add_path(graph, "a", "b", length_m=1e9)
    incidents = [Incident(k, "fall", 1 + k % 4, "a" if k % 2 else "b", T0) for k in range(1, 61)]
    responders = [Responder(k, "a", frozenset({"first_aid"})) for k in range(1, 31)]
    plan = plan_dispatch(graph, incidents, responders)
    assert plan.quantum_ms > 1
    served = sorted(i.severity for i in incidents if plan.for_incident(i.id))
    assert served == [3] * 15 + [4] * 15


@pytest.fixture
def pipe() -> tuple[nx.Graph, Incident, list[Responder]]:
    """A pipe burst at n0 needing two plumbers; plumbers at n1, n2, n3, n4 and an off-duty one."""
    graph = _line(6)
    incident = Incident(7, "pipe_burst", Severity.MODERATE, "n0", T0)
    responders = [Responder(k, f"n{k}", frozenset({"plumbing"})) for k in (1, 2, 3, 4)]
    responders.append(Responder(9, "n0", frozenset({"plumbing"}), status=ResponderStatus.OFF_DUTY))
    return graph, incident, responders


def test_decline_redispatches_to_the_next_best_and_keeps_the_others(
    pipe: tuple[nx.Graph, Incident, list[Responder]],
) -> None:
    graph, incident, responders = pipe
    first = plan_dispatch(graph, [incident], responders)
    assert sorted(a.responder_id for a in first.assignments) == [1, 2]
    offers = accept(
        first.offers(T0), incident_id=7, responder_id=2, at=T0 + dt.timedelta(minutes=1)
    )
    offers = decline(offers, incident_id=7, responder_id=1, at=T0 + dt.timedelta(minutes=2))
    result = redispatch(
        graph,
        [incident],
        responders,
        offers,
        now=T0 + dt.timedelta(minutes=2),
        timeout=dt.timedelta(minutes=5),
    )
    assert result.timed_out == ()
    assert [(o.responder_id, o.slot) for o in result.new] == [(3, Slot(7, "plumbing", 0))]
    assert result.new[0].travel_s == pytest.approx(30.0)
    assert result.new[0].offered_at == T0 + dt.timedelta(minutes=2)
    assert [(o.responder_id, o.status) for o in result.plan.held] == [(2, OfferStatus.ACCEPTED)]
    # The accepted responder 2 was not moved, though 2 is nearer than 3.
    assert [o.responder_id for o in result.offers if o.holds_slot] == [2, 3]

    # Responder 3 declines too: responder 4 is next; 1 and 3 are never offered it again.
    offers = decline(result.offers, incident_id=7, responder_id=3, at=T0 + dt.timedelta(minutes=3))
    again = redispatch(
        graph,
        [incident],
        responders,
        offers,
        now=T0 + dt.timedelta(minutes=3),
        timeout=dt.timedelta(minutes=5),
    )
    assert [o.responder_id for o in again.new] == [4]
    offers = decline(again.offers, incident_id=7, responder_id=4, at=T0 + dt.timedelta(minutes=4))
    last = redispatch(
        graph,
        [incident],
        responders,
        offers,
        now=T0 + dt.timedelta(minutes=4),
        timeout=dt.timedelta(minutes=5),
    )
    assert last.new == ()
    assert last.plan.unfilled == (Slot(7, "plumbing", 0),)
    offered = [o.responder_id for o in last.offers]
    assert offered.count(1) == offered.count(3) == offered.count(4) == 1
    assert 9 not in offered  # off duty


def test_a_declined_responder_may_still_serve_another_incident(
    pipe: tuple[nx.Graph, Incident, list[Responder]],
) -> None:
    graph, incident, responders = pipe
    fall = Incident(8, "fall", Severity.MINOR, "n5", T0)
    medic = [Responder(5, "n0", frozenset({"first_aid"}))]
    offers = plan_dispatch(graph, [fall], medic).offers(T0)
    offers = decline(offers, incident_id=8, responder_id=5, at=T0)
    result = redispatch(
        graph,
        [fall, incident],
        [*responders, *medic],
        offers,
        now=T0,
        timeout=dt.timedelta(minutes=5),
    )
    assert 5 not in [o.responder_id for o in result.new]
    medic_too = Incident(10, "fall", Severity.MINOR, "n1", T0)
    result = redispatch(
        graph, [fall, medic_too], medic, offers, now=T0, timeout=dt.timedelta(minutes=5)
    )
    assert [(o.responder_id, o.slot.incident_id) for o in result.new] == [(5, 10)]


def test_timeout_redispatches_only_after_n_minutes(
    pipe: tuple[nx.Graph, Incident, list[Responder]],
) -> None:
    graph, incident, responders = pipe
    offers = plan_dispatch(graph, [incident], responders).offers(T0)
    offers = accept(offers, incident_id=7, responder_id=1, at=T0 + dt.timedelta(minutes=1))
    timeout = dt.timedelta(minutes=5)
    early = redispatch(
        graph,
        [incident],
        responders,
        offers,
        now=T0 + dt.timedelta(minutes=4, seconds=59),
        timeout=timeout,
    )
    assert early.new == ()
    assert early.timed_out == ()
    late = redispatch(graph, [incident], responders, offers, now=T0 + timeout, timeout=timeout)
    assert [(o.responder_id, o.status) for o in late.timed_out] == [(2, OfferStatus.TIMED_OUT)]
    assert [o.responder_id for o in late.new] == [3]
    assert [o.responder_id for o in late.offers if o.status is OfferStatus.ACCEPTED] == [1]
    # The silent responder is not offered the incident again, even when the next one declines.
    offers = decline(late.offers, incident_id=7, responder_id=3, at=T0 + timeout)
    after = redispatch(graph, [incident], responders, offers, now=T0 + timeout, timeout=timeout)
    assert [o.responder_id for o in after.new] == [4]


def test_answers_need_a_pending_offer(pipe: tuple[nx.Graph, Incident, list[Responder]]) -> None:
    graph, incident, responders = pipe
    offers = plan_dispatch(graph, [incident], responders).offers(T0)
    with pytest.raises(ValueError, match="no pending offer"):
        decline(offers, incident_id=7, responder_id=4, at=T0)
    offers = expire(offers, now=T0 + dt.timedelta(minutes=9), timeout=dt.timedelta(minutes=5))
    assert {o.status for o in offers} == {OfferStatus.TIMED_OUT}
    with pytest.raises(ValueError, match="no pending offer"):
        accept(offers, incident_id=7, responder_id=1, at=T0)


def test_cardiac_event_always_carries_the_nearest_aed() -> None:
    site = demo_site_graph()
    aeds = [p.node for p in site.of_kind("aed")]
    home = site.points["building-1"].node
    cardiac = Incident(1, "cardiac", Severity.EXTREME, home, T0)
    burst = Incident(2, "pipe_burst", Severity.MODERATE, site.points["building-5"].node, T0)
    # No responder at all: the AED is still shown.
    plan = plan_dispatch(site.graph, [cardiac, burst], [], aed_nodes=aeds)
    assert set(plan.aeds) == {1}
    found = plan.aeds[1]
    assert found is not None
    expected = min((nx.dijkstra_path_length(site.graph, home, a, "travel_s"), a) for a in aeds)
    assert (found.travel_s, found.node) == pytest.approx(expected)
    assert found.route[0] == home
    assert found.route[-1] == found.node
    # Without AED cabinets the plan says so rather than leaving the incident out.
    assert plan_dispatch(site.graph, [cardiac], []).aeds == {1: None}
    assert nearest(site.graph, home, []) is None


def test_model_exposes_the_same_problem_to_other_solvers() -> None:
    graph, incidents, responders = _case(11)
    model = dispatch_model(graph, incidents, responders, response_plans=SMALL_PLANS)
    plan = plan_dispatch(graph, incidents, responders, response_plans=SMALL_PLANS)
    assert len(model.slots) == len(plan.assignments) + len(plan.unfilled)
    for (i, j), cost in model.cost.items():
        assert model.slots[j].skill in model.responders[i].skills
        assert cost == round(model.travel_s[(i, j)] * 1000)


def test_offers_keep_their_responders_busy_until_the_incident_closes(
    pipe: tuple[nx.Graph, Incident, list[Responder]],
) -> None:
    graph, incident, responders = pipe
    offers = plan_dispatch(graph, [incident], responders).offers(T0)
    offers = accept(offers, incident_id=7, responder_id=1, at=T0)  # 2 is still deciding
    burst = Incident(8, "pipe_burst", Severity.EXTREME, "n1", T0 + dt.timedelta(minutes=1))
    plan = plan_dispatch(graph, [incident, burst], responders, offers=offers)
    # Even the more severe new burst does not take 1 (accepted) or 2 (pending) away.
    assert sorted(a.responder_id for a in plan.assignments) == [3, 4]
    assert {a.slot.incident_id for a in plan.assignments} == {8}
    assert sorted(o.responder_id for o in plan.held) == [1, 2]
    # Once incident 7 is closed (no longer passed in), its offers hold nobody.
    plan = plan_dispatch(graph, [burst], responders, offers=offers)
    assert sorted(a.responder_id for a in plan.assignments) == [1, 2]
    assert plan.held == ()
