"""Rule templates: the starting points staff pick in the console (data, not code).

Each names a kind, the property it watches (empty: staff choose), default parameters and a
severity. Names and hints are message ids, translated where they are shown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from linli.core.i18n import N_


@dataclass(frozen=True, slots=True)
class Template:
    """A ready-made rule that staff adjust and switch on."""

    code: str
    kind: str
    name: str
    hint: str
    property_key: str
    params: dict[str, Any]
    severity: str
    profile_code: str = ""
    # Properties the staff member may pick when ``property_key`` is empty.
    choices: tuple[str, ...] = field(default_factory=tuple)


# GB 3096-2008, class 1 areas (residential, medical, cultural and educational): 55 dB(A) by day
# (06:00–22:00) and 45 dB(A) at night (22:00–06:00).
NOISE_CLASS_1 = {
    "op": ">",
    "for_min": 10,
    "clear_margin": 2,
    "windows": [
        {"start": "06:00", "end": "22:00", "value": 55, "label": "day"},
        {"start": "22:00", "end": "06:00", "value": 45, "label": "night"},
    ],
}

# A burst: a sudden drop against the recent baseline (docs/rules.md, "Emergency sensing"). The
# defaults found every burst of ≥ 20 kPa at the nearest sensor of EPANET Net3 (bench/bursts.py).
PIPE_BURST = {"baseline_min": 60, "min_drop": 20, "k": 6, "readings": 3, "clear_for_min": 15}

# UL 2034 alarm points via the time-weighted dose of the co_exposure kind; the catalogue's
# ``co`` is in mg/m³, × 0.873 gives ppm at 25 °C and 101.325 kPa (24.45 / 28.01).
CO_UL2034 = {
    "c0": 30,
    "c_ref": 70,
    "t_ref_min": 120,
    "exponent": 1.43,
    "leak_min": 480,
    "scale": 0.873,
    "clear_for_min": 10,
}

TEMPLATES: tuple[Template, ...] = (
    Template(
        "pm25_high",
        "threshold",
        N_("PM2.5 too high"),
        N_("PM2.5 above 75 µg/m³ (China's 24-hour grade II limit) for 30 minutes."),
        "pm25",
        {"op": ">", "value": 75, "clear_value": 70, "for_min": 30},
        "major",
    ),
    Template(
        "water_level_high",
        "threshold",
        N_("Standing water"),
        N_("Water level above 20 cm; clears below 15 cm."),
        "water_level",
        {"op": ">", "value": 20, "clear_value": 15, "for_min": 0},
        "critical",
    ),
    Template(
        "smoke",
        "threshold",
        N_("Smoke detected"),
        N_("A smoke detector reports smoke."),
        "smoke",
        {"op": ">=", "value": 1, "clear_value": 0, "for_min": 0},
        "critical",
    ),
    Template(
        "bin_full",
        "threshold",
        N_("Bin nearly full"),
        N_("Fill level above 90 % for 10 minutes."),
        "fill_level",
        {"op": ">", "value": 90, "clear_value": 60, "for_min": 10},
        "minor",
    ),
    Template(
        "battery_low",
        "threshold",
        N_("Battery low"),
        N_("Battery below 20 %; clears above 25 %."),
        "battery",
        {"op": "<", "value": 20, "clear_value": 25, "for_min": 0},
        "warning",
    ),
    Template(
        "noise_class_1",
        "schedule",
        N_("Noise above GB 3096-2008 class 1"),
        N_("55 dB(A) by day (06:00–22:00) and 45 dB(A) at night, for 10 minutes."),
        "noise",
        NOISE_CLASS_1,
        "minor",
    ),
    Template(
        "pressure_jump",
        "rate",
        N_("Sudden pressure change"),
        N_("Pipe pressure moves more than 100 kPa within 5 minutes (burst or valve)."),
        "pressure",
        {"max_change": 100, "within_min": 5, "direction": "both"},
        "major",
    ),
    Template(
        "stuck_sensor",
        "flatline",
        N_("Stuck sensor"),
        N_("The value has not changed at all for 2 hours."),
        "",
        {"for_min": 120, "tolerance": 0},
        "warning",
        choices=("pm25", "noise", "temperature", "humidity", "pressure", "water_level"),
    ),
    Template(
        "device_silent",
        "missing",
        N_("Device silent"),
        N_("No reading for 3 of the device's reporting intervals."),
        "",
        {"intervals": 3},
        "warning",
        choices=("pm25", "noise", "water_level", "pressure", "smoke", "fill_level", "ph"),
    ),
    Template(
        "unusual_reading",
        "anomaly",
        N_("Unusual reading"),
        N_("Unlike this sensor's own history (sensitivity 0–1)."),
        "",
        {"sensitivity": 0.5},
        "minor",
        choices=("pm25", "noise", "pressure", "water_level", "power", "turbidity"),
    ),
    Template(
        "flood_pump_off",
        "combination",
        N_("Flooding with the pump off"),
        N_("Water level above 30 cm while the pump of the same building is off."),
        "",
        {
            "scope": "building",
            "max_age_min": 30,
            "for_min": 0,
            "conditions": [
                {"property": "water_level", "op": ">", "value": 30},
                {"property": "pump_running", "op": "<", "value": 0.5},
            ],
        },
        "critical",
    ),
    Template(
        "pipe_burst",
        "pressure_drop",
        N_("Pipe burst (pressure drop)"),
        N_(
            "Pressure 20 kPa (or 6 × its usual spread) below the median of the last hour for "
            "3 readings in a row."
        ),
        "pressure",
        PIPE_BURST,
        "critical",
    ),
    Template(
        "water_rising",
        "rate_of_rise",
        N_("Water rising in a low spot"),
        N_("Water level rising faster than 0.5 cm a minute over 10 minutes, or above 20 cm."),
        "water_level",
        {"rise_per_min": 0.5, "within_min": 10, "level": 20, "clear_level": 15, "clear_for_min": 5},
        "critical",
    ),
    Template(
        "co_alarm",
        "co_exposure",
        N_("Carbon monoxide (UL 2034 alarm points)"),
        N_(
            "Time-weighted CO exposure: alarms at 70 ppm within 60–240 min, 150 ppm within "
            "10–50 min, 400 ppm within 4–15 min; never at 30 ppm."
        ),
        "co",
        CO_UL2034,
        "critical",
    ),
)

# Combustible gas and manhole covers: readings in % LEL and degrees of tilt (the catalogue's
# ``gas_lel`` and ``cover_tilt``).
GAS_AND_COVER: tuple[Template, ...] = (
    Template(
        "gas_lel_warning",
        "threshold",
        N_("Combustible gas (low alarm)"),
        N_("Combustible gas above 10 % LEL for 1 minute; clears below 5 % LEL."),
        "gas_lel",
        {"op": ">=", "value": 10, "clear_value": 5, "for_min": 1},
        "major",
    ),
    Template(
        "gas_lel_alarm",
        "threshold",
        N_("Combustible gas (high alarm)"),
        N_("Combustible gas at 25 % LEL or more (GB 15322 / GB 50493 upper alarm setting)."),
        "gas_lel",
        {"op": ">=", "value": 25, "clear_value": 10, "for_min": 0},
        "critical",
    ),
    Template(
        "manhole_tilt",
        "threshold",
        N_("Manhole cover tilted"),
        N_("The cover tilts more than 15° for 2 minutes (lifted, displaced or missing)."),
        "cover_tilt",
        {"op": ">", "value": 15, "clear_value": 5, "for_min": 2, "clear_for_min": 5},
        "major",
    ),
)

TEMPLATES += GAS_AND_COVER
BY_CODE = {t.code: t for t in TEMPLATES}
