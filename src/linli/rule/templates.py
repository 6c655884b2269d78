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
)

BY_CODE = {t.code: t for t in TEMPLATES}
