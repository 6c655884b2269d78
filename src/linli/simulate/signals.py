"""Believable readings for each kind of demo device, with faults, from a seeded RNG (pure)."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import orjson

DAY_S = 86_400.0
SENML = "application/senml+json"
JSON = "application/json"
TEXT = "text/plain"


@dataclass(frozen=True, slots=True)
class Message:
    """One payload as a device sends it."""

    uid: str
    body: bytes
    content_type: str
    fault: str = ""


@dataclass
class DeviceState:
    """What a simulated device remembers between messages."""

    uid: str
    profile: str
    phase: float
    energy_kwh: float = 0.0
    fill: float = 10.0
    steps: float = 0.0
    stuck_for: int = 0
    stuck_body: bytes = b""
    gap_for: int = 0
    last: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FaultRates:
    """Chance per message of each fault."""

    stuck: float = 0.004
    gap: float = 0.004
    spike: float = 0.004
    malformed: float = 0.003
    # A flash flood at each water level gauge: this long, once per period (simulated seconds),
    # at a different moment for each gauge; 0 turns it off.
    flood_every_s: float = 900.0
    flood_s: float = 150.0
    # A water main bursts by the first pressure gauge of community 1: this long after the live
    # run starts, for this long (simulated seconds), the pressure falls by ``burst_kpa``;
    # ``burst_s`` 0 turns it off. The history sent before the live run has no burst.
    burst_after_s: float = 240.0
    burst_s: float = 1_500.0
    burst_kpa: float = 110.0


BURST_GAUGE = "demo-c1-PP01"


def _daily(t_s: float, peak_hour: float) -> float:
    """A daily cycle in [-1, 1] peaking at ``peak_hour`` (local time, UTC+8)."""
    hour = ((t_s / 3600.0) + 8.0) % 24.0
    return math.cos((hour - peak_hour) / 24.0 * 2 * math.pi)


class Simulator:
    """Generates the next message of each device; the same seed gives the same story."""

    def __init__(
        self, devices: list[tuple[str, str]], *, seed: int = 7, faults: FaultRates | None = None
    ) -> None:
        self.rng = random.Random(seed)  # noqa: S311  (simulated data, reproducible on purpose)
        self.faults = faults or FaultRates()
        self.states = {
            uid: DeviceState(uid, profile, phase=self.rng.random()) for uid, profile in devices
        }
        # A pollution episode: (start, end) in simulated seconds, chosen as time goes by.
        self.episode: tuple[float, float] = (0.0, 0.0)
        # The simulated time of the first air reading: a pollution episode is scheduled just
        # after it so that a fresh demo shows the AQI climbing through its levels. The runner
        # anchors it to the start of the live run when the past was backfilled first.
        self.opening: float | None = None
        # The simulated time the live run started (the runner sets it): the burst's clock.
        self.live_start: float | None = None

    def _episode_factor(self, t_s: float) -> float:
        start, end = self.episode
        if t_s > end and self.rng.random() < 0.002:
            self.episode = (t_s, t_s + self.rng.uniform(3, 12) * 3600)
            start, end = self.episode
        if start <= t_s <= end:
            middle = (start + end) / 2
            return 1.0 + 2.5 * (1 - abs(t_s - middle) / ((end - start) / 2))
        return 1.0

    def _opening_plume(self, t_s: float) -> float:
        """0 to 1: a pollution episode from 2 to 100 minutes after the first air reading."""
        if self.opening is None:
            self.opening = t_s
        minutes = (t_s - self.opening) / 60.0
        if minutes < 2 or minutes > 100:
            return 0.0
        if minutes < 10:
            return (minutes - 2) / 8.0
        return 1.0 if minutes < 60 else (100 - minutes) / 40.0

    def next_message(self, uid: str, now_ms: int, *, sim_s: float | None = None) -> Message | None:
        """The device's payload stamped ``now_ms`` with values of simulated time ``sim_s``
        (default: the same instant), or None while it is silent (a gap)."""
        state = self.states[uid]
        rng = self.rng
        if state.gap_for > 0:
            state.gap_for -= 1
            return None
        if rng.random() < self.faults.gap:
            state.gap_for = rng.randint(3, 15)
            return None
        if state.stuck_for > 0:
            state.stuck_for -= 1
            return Message(uid, state.stuck_body, self._content_type(state), "stuck")
        values = self._values(state, sim_s if sim_s is not None else now_ms / 1000.0)
        fault = ""
        if rng.random() < self.faults.spike and values:
            key = rng.choice(sorted(values))
            values[key] = values[key] * rng.choice((10.0, -5.0)) + 999
            fault = "spike"
        body = self._encode(state, values, now_ms)
        if rng.random() < self.faults.malformed:
            return Message(
                uid, body[: max(1, len(body) // 2)], self._content_type(state), "malformed"
            )
        if rng.random() < self.faults.stuck:
            state.stuck_for = rng.randint(5, 20)
            state.stuck_body = body
        return Message(uid, body, self._content_type(state), fault)

    @staticmethod
    def _content_type(state: DeviceState) -> str:
        return {"water_quality": SENML, "wearable": TEXT}.get(state.profile, JSON)

    def _values(self, state: DeviceState, t: float) -> dict[str, float]:
        rng = self.rng
        g = rng.gauss
        profile = state.profile
        if profile == "air_quality":
            traffic = 0.5 + 0.5 * _daily(t, 8.5) + 0.4 * max(0.0, _daily(t, 18.5))
            ep = self._episode_factor(t)
            plume = self._opening_plume(t)
            sun = max(0.0, _daily(t, 14.0))
            return {
                "pm25": max(1.0, (18 + 22 * traffic) * ep + 190 * plume + g(0, 3)),
                "pm10": max(2.0, (35 + 30 * traffic) * ep + 230 * plume + g(0, 5)),
                "no2": max(1.0, 20 + 35 * traffic + g(0, 4)),
                "o3": max(1.0, 30 + 110 * sun + g(0, 8)),
                "co": max(0.1, 0.4 + 0.5 * traffic * ep + 1.2 * plume + g(0, 0.05)),
                "so2": max(0.5, 6 + 4 * traffic + g(0, 1)),
                "temperature": 14 + 7 * _daily(t, 15.0) + g(0, 0.3),
                "humidity": min(100.0, max(10.0, 65 - 15 * _daily(t, 15.0) + g(0, 2))),
            }
        if profile == "noise":
            hour = (t / 3600 + 8) % 24
            day = 1 if 6 <= hour < 22 else 0
            # Late-night renovation next to the first monitor of each community, 23:00–23:40.
            late = 11.0 if state.uid.endswith("NZ01") and 23 <= hour < 23 + 2 / 3 else 0.0
            return {"noise": (58 if day else 42) + late + 5 * _daily(t, 17) + g(0, 2.5)}
        if profile == "water_quality":
            return {
                "ph": 7.2 + 0.15 * _daily(t, 4) + g(0, 0.03),
                "turbidity": max(0.05, 0.6 + g(0, 0.1)),
                "chlorine": max(0.05, 0.45 - 0.1 * _daily(t, 19) + g(0, 0.02)),
            }
        if profile == "water_level":
            rain = max(0.0, math.sin((t / DAY_S + state.phase) * 2 * math.pi / 3.0)) ** 8
            level = max(0.0, 30 * rain + g(0, 0.4))
            every = self.faults.flood_every_s
            if every > 0 and (t + state.phase * every) % every < self.faults.flood_s:
                level = max(level, 32 + g(0, 1.5))  # a drain blocks: water stands
            return {"water_level": level, "battery": 90 - state.phase * 20}
        if profile == "pipe_pressure":
            demand = 0.5 + 0.5 * max(_daily(t, 7.5), _daily(t, 19.5))
            pressure = 320 - 60 * demand + g(0, 4)
            if state.uid == BURST_GAUGE and self.live_start is not None:
                since = t - self.live_start - self.faults.burst_after_s
                if 0 <= since < self.faults.burst_s:
                    pressure -= self.faults.burst_kpa  # the main is open to the ground
            return {"pressure": pressure}
        if profile == "smoke_detector":
            smoke = 1.0 if self.rng.random() < 0.0005 else 0.0
            return {"smoke": smoke, "battery": 95 - state.phase * 30, "temperature": 22 + g(0, 0.5)}
        if profile == "smart_bin":
            busy = 0.5 + 0.5 * max(_daily(t, 8.0), _daily(t, 20.0))
            state.fill = min(100.0, state.fill + busy * 1.5 + abs(g(0, 0.5)))
            if state.fill >= 95 or (rng.random() < 0.01 and state.fill > 60):
                state.fill = 5.0  # emptied by the collection crew
            swipe = 1.0 if rng.random() < 0.3 * busy else 0.0
            return {"fill_level": state.fill, "card_swipe": swipe, "battery": 80 + 10 * state.phase}
        if profile == "electricity_meter":
            power = max(200.0, 4000 + 3000 * max(_daily(t, 20.0), 0) + g(0, 200))
            state.energy_kwh += power / 1000 * (15 / 60)
            return {"energy": round(state.energy_kwh, 3), "power": power}
        if profile == "pump_controller":
            every = self.faults.flood_every_s or 900.0
            # Now and then a pump trips and stays off for a while (about a third of them).
            tripped = state.phase < 0.34 and (t + state.phase * every) % (2 * every) < every / 2
            running = 0.0 if tripped else 1.0
            return {"pump_running": running, "power": running * (750 + g(0, 20))}
        if profile == "gas_detector":
            # A kitchen-corridor detector: a trace of gas and CO while people cook.
            cooking = max(0.0, _daily(t, 18.5))
            return {
                "gas_lel": max(0.0, 0.5 + 1.5 * cooking + g(0, 0.3)),
                "co": max(0.1, 0.5 + 1.0 * cooking + g(0, 0.1)),
                "battery": 85 - 10 * state.phase,
            }
        if profile == "manhole_cover":
            return {"cover_tilt": abs(g(0, 0.6)), "battery": 90 - 10 * state.phase}
        if profile == "wearable":
            awake = 6 <= ((t / 3600 + 8) % 24) < 21
            state.steps += max(0.0, g(40, 20)) if awake else 0.0
            fall = 1.0 if rng.random() < 0.0008 else 0.0
            return {
                "heart_rate": (74 if awake else 62) + g(0, 4),
                "spo2": min(100.0, 97 + g(0, 1)),
                "steps": state.steps,
                "fall": fall,
                "battery": max(5.0, 90 - state.phase * 50),
            }
        return {}

    @staticmethod
    def _encode(state: DeviceState, values: dict[str, float], now_ms: int) -> bytes:
        rounded = {k: round(v, 2) for k, v in values.items()}
        if state.profile == "water_quality":
            pack: list[dict[str, object]] = [{"bn": f"{state.uid}/", "bt": now_ms / 1000}]
            pack += [{"n": k, "v": v} for k, v in rounded.items()]
            return orjson.dumps(pack)
        if state.profile == "wearable":
            names = {
                "heart_rate": "HR",
                "spo2": "SPO2",
                "steps": "STEPS",
                "fall": "FALL",
                "battery": "BAT",
            }
            pairs = [f"{names[k]}={round(v)}" for k, v in rounded.items()]
            return (";".join(pairs) + f";T={now_ms // 1000}").encode()
        if state.profile == "noise":
            return orjson.dumps(rounded)  # the flat form: stamped on receipt
        if state.profile == "water_level":
            return orjson.dumps([{"ts": now_ms, "values": rounded}])
        return orjson.dumps({"ts": now_ms, "values": rounded})
