"""Labelled pipe-burst scenarios from EPANET's Net3 (bundled with wntr), and the pressure_drop rule.

Each scenario runs wntr's WNTRSimulator (pressure-dependent demand) over the network's own
demand patterns at a 5-minute hydraulic step; a burst is a leak (orifice of ``area`` m²,
discharge coefficient 0.75) that opens at junction ``junction`` at ``start_h`` and stays open.
Pressures at the sensor junctions are converted from metres of head to kPa, rounded to 0.1 kPa
and given Gaussian noise (σ = ``NOISE_KPA``, seeded), then fed to the ``pressure_drop`` evaluator
one reading at a time, as the live rule engine would.

A burst counts as found when the evaluator raises at the sensor nearest to it (shortest pipe
length) at or after the burst started; the delay is from the start of the burst to the raise.
Any raise before a burst (or in a burst-free scenario) is a false alarm.
"""

from __future__ import annotations

import statistics
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NamedTuple

import networkx as nx
import numpy as np
import wntr

from linli.rule import engine

NETWORK = "Net3.inp"
STEP_S = 300
KPA_PER_M = 9.80665
NOISE_KPA = 1.0
# Junctions away from the pump stations, spread over the network.
SENSORS = ("121", "139", "179", "209", "247", "193")
# The pressure_drop template's defaults (kPa).
PARAMS: dict[str, Any] = {
    "baseline_min": 60,
    "min_drop": 20,
    "k": 6,
    "readings": 3,
    "clear_for_min": 15,
}
EPOCH_MS = 1_767_225_600_000  # 2026-01-01T00:00Z; readings are timed from here


class Scenario(NamedTuple):
    """One simulated run: a burst of ``area`` m² at ``junction`` from ``start_h`` (or none)."""

    name: str
    days: float
    junction: str = ""
    start_h: float = 0.0
    area: float = 0.0

    @property
    def burst(self) -> bool:
        return bool(self.junction)


class Series(NamedTuple):
    """The pressure readings of one sensor in one scenario, with the scenario's label."""

    scenario: Scenario
    sensor: str
    nearest: bool
    readings: list[tuple[int, float]]


# The small set the tests run: bursts at three places and times, plus a burst-free two days.
SMALL = (
    Scenario("no-burst", 2),
    Scenario("burst-123-night", 2, "123", 27, 0.02),
    Scenario("burst-169-morning", 2, "169", 31, 0.02),
    Scenario("burst-211-evening", 2, "211", 43, 0.01),
)
# The benchmark adds more places, times and sizes, and a second burst-free run.
FULL = (
    *SMALL,
    Scenario("no-burst-3d", 3),
    Scenario("burst-193-noon", 2, "193", 36, 0.015),
    Scenario("burst-35-night", 2, "35", 26, 0.02),
    Scenario("burst-247-morning", 2, "247", 32, 0.005),
    Scenario("burst-115-evening", 2, "115", 44, 0.02),
    Scenario("burst-123-large", 2, "123", 38, 0.04),
    Scenario("burst-169-small", 2, "169", 29, 0.01),
    Scenario("burst-35-noon", 2, "35", 36, 0.01),
)


def network_path() -> Path:
    """The bundled example network (part of the wntr package; nothing is downloaded)."""
    path = Path(wntr.__path__[0]) / "library" / "networks" / NETWORK
    if not path.is_file():
        raise FileNotFoundError(path)
    return path


def _model(days: float) -> Any:
    with warnings.catch_warnings():
        # Net3's pump curves are fitted exactly; scipy only notes it cannot estimate the error.
        warnings.filterwarnings("ignore", message="Covariance of the parameters")
        wn = wntr.network.WaterNetworkModel(str(network_path()))
    wn.options.time.duration = int(days * 86400)
    wn.options.time.hydraulic_timestep = STEP_S
    wn.options.time.report_timestep = STEP_S
    wn.options.hydraulic.demand_model = "PDD"
    return wn


def nearest_sensor(junction: str) -> str:
    """The sensor with the shortest pipe-length path to ``junction``."""
    wn = _model(1)
    graph = nx.Graph()
    for _name, link in wn.links():
        length = float(getattr(link, "length", 1.0))
        graph.add_edge(link.start_node_name, link.end_node_name, weight=length)
    lengths = nx.single_source_dijkstra_path_length(graph, junction, weight="weight")
    return min(SENSORS, key=lambda s: lengths.get(s, float("inf")))


def simulate(scenario: Scenario, *, seed: int = 1) -> Iterator[Series]:
    """The sensors' noisy pressure series (kPa) for one scenario."""
    wn = _model(scenario.days)
    if scenario.burst:
        wn.get_node(scenario.junction).add_leak(
            wn,
            area=scenario.area,
            discharge_coeff=0.75,
            start_time=int(scenario.start_h * 3600),
            end_time=int(scenario.days * 86400),
        )
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Covariance of the parameters")
        results = wntr.sim.WNTRSimulator(wn).run_sim()
    pressure = results.node["pressure"]
    rng = np.random.default_rng(seed)
    nearest = nearest_sensor(scenario.junction) if scenario.burst else ""
    for sensor in SENSORS:
        kpa = pressure[sensor].to_numpy() * KPA_PER_M
        noisy = np.round(kpa + rng.normal(0, NOISE_KPA, len(kpa)), 1)
        times = [EPOCH_MS + int(s) * 1000 for s in pressure.index]
        yield Series(
            scenario, sensor, sensor == nearest, list(zip(times, noisy.tolist(), strict=True))
        )


def raises(series: Series, params: dict[str, Any] | None = None) -> list[int]:
    """When the pressure_drop rule raises on the series (ms)."""
    evaluator = engine.build("pressure_drop", params or PARAMS, interval_s=STEP_S)
    found = []
    for ts, value in series.readings:
        for signal in evaluator.feed(ts, value):
            if signal.kind == "raise":
                found.append(signal.ts_ms)
    return found


def _drop(series: Series, start_ms: int) -> float:
    """Mean pressure of the half hour before the burst minus that of the half hour after."""
    half_hour = 1_800_000
    before = [v for t, v in series.readings if start_ms - half_hour <= t < start_ms]
    after = [v for t, v in series.readings if start_ms <= t < start_ms + half_hour]
    if not before or not after:
        return 0.0
    return round(statistics.fmean(before) - statistics.fmean(after), 1)


def score(
    scenarios: tuple[Scenario, ...], params: dict[str, Any] | None = None, *, seed: int = 1
) -> dict[str, Any]:
    """Detections, delays and false alarms over the scenarios."""
    delays: list[float] = []
    missed: list[str] = []
    false_alarms = 0
    sensor_days = 0.0
    per_scenario: dict[str, Any] = {}
    for scenario in scenarios:
        start_ms = EPOCH_MS + int(scenario.start_h * 3_600_000)
        outcome: dict[str, Any] = {"false_alarms": 0}
        for series in simulate(scenario, seed=seed):
            found = raises(series, params)
            clean_until = start_ms if scenario.burst else EPOCH_MS + int(scenario.days * 86.4e6)
            early = [t for t in found if t < clean_until]
            false_alarms += len(early)
            outcome["false_alarms"] += len(early)
            sensor_days += (clean_until - EPOCH_MS) / 86.4e6
            if series.nearest:
                late = [t for t in found if t >= start_ms]
                outcome["sensor"] = series.sensor
                outcome["drop_kpa"] = _drop(series, start_ms)
                if late:
                    delay = (late[0] - start_ms) / 60_000
                    delays.append(delay)
                    outcome["delay_min"] = delay
                else:
                    missed.append(scenario.name)
        per_scenario[scenario.name] = outcome
    bursts = sum(1 for s in scenarios if s.burst)
    return {
        "scenarios": len(scenarios),
        "bursts": bursts,
        "detected": len(delays),
        "missed": missed,
        "detection_delay_median_min": statistics.median(delays) if delays else None,
        "detection_delay_max_min": max(delays) if delays else None,
        "false_alarms": false_alarms,
        "false_alarm_rate": round(false_alarms / sensor_days, 4) if sensor_days else 0.0,
        "sensor_days": round(sensor_days, 2),
        "per_scenario": per_scenario,
    }


def run(*, full: bool = True, seed: int = 1, min_drop: float | None = None) -> dict[str, Any]:
    """The benchmark: every scenario of FULL (or SMALL), scored with the template defaults."""
    started = time.perf_counter()
    params = dict(PARAMS) if min_drop is None else {**PARAMS, "min_drop": min_drop}
    result = score(FULL if full else SMALL, params, seed=seed)
    return {
        "benchmark": "bursts",
        **result,
        "seconds": round(time.perf_counter() - started, 1),
        "conditions": (
            f"EPANET {NETWORK} from wntr {wntr.__version__}, WNTRSimulator with pressure-"
            f"dependent demand, {STEP_S // 60}-min step, sensors {', '.join(SENSORS)}, "
            f"noise σ {NOISE_KPA} kPa (seed {seed}); pressure_drop {params}; "
            "false-alarm rate per sensor-day before each burst and over burst-free runs"
        ),
    }
