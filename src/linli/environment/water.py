"""Water quality (pure): tap water against GB 5749-2022, surface water classes of GB 3838-2002.

Parameter keys are the catalogue's observed properties where they exist (``ph``,
``turbidity``, ``chlorine`` = free chlorine) and short names for laboratory parameters.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from linli.core.i18n import N_

PARAMETER_LABELS = {
    "ph": N_("pH"),
    "turbidity": N_("Turbidity"),
    "chlorine": N_("Free chlorine"),
    "total_chlorine": N_("Total chlorine"),
    "colour": N_("Colour"),
    "hardness": N_("Total hardness"),
    "codmn": N_("Permanganate index (CODMn)"),
    "ammonia": N_("Ammonia nitrogen (NH3-N)"),
    "tds": N_("Total dissolved solids"),
    "do": N_("Dissolved oxygen"),
    "cod": N_("Chemical oxygen demand (COD)"),
    "bod5": N_("Five-day biochemical oxygen demand (BOD5)"),
    "tp": N_("Total phosphorus"),
    "tn": N_("Total nitrogen"),
    "fluoride": N_("Fluoride"),
    "petroleum": N_("Petroleum"),
    "fecal_coliform": N_("Faecal coliforms"),
}
UNITS = {
    "ph": "",
    "turbidity": "NTU",
    "colour": "",
    "fecal_coliform": "MPN/L",
}

# GB 5749-2022 Table 1 (water quality regular indicators) and Table 2 (disinfectant regular
# indicators), for the parameters an online monitor or a routine test reports:
# key: (lowest allowed, highest allowed), None for no bound.
TAP_LIMITS: dict[str, tuple[float | None, float | None]] = {
    "ph": (6.5, 8.5),  # Table 1: 不小于 6.5 且不大于 8.5
    "turbidity": (None, 1.0),  # Table 1: 1 NTU (3 NTU only for small rural supplies)
    "colour": (None, 15.0),  # Table 1: 15 (platinum-cobalt units)
    "hardness": (None, 450.0),  # Table 1: total hardness as CaCO3, mg/L
    "codmn": (None, 3.0),  # Table 1: permanganate index as O2, mg/L
    "ammonia": (None, 0.5),  # Table 1: ammonia as N, mg/L
    "tds": (None, 1000.0),  # Table 1: mg/L
    # Table 2, free chlorine: at most 2 mg/L anywhere, at least 0.05 mg/L at the tap (the end
    # of the network, 末梢水); a monitor in a building's secondary supply samples tap water.
    "chlorine": (0.05, 2.0),
    # Table 2, total chlorine (chloramine disinfection): at most 3 mg/L, at least 0.05 at the tap.
    "total_chlorine": (0.05, 3.0),
}

# GB 3838-2002 Table 1 (basic items): the limit of classes I, II, III, IV and V.
# "min": the value must be at least the limit (dissolved oxygen); otherwise at most.
CLASSES = ("I", "II", "III", "IV", "V")
SURFACE_LIMITS: dict[str, tuple[str, tuple[float, float, float, float, float]]] = {
    "do": ("min", (7.5, 6.0, 5.0, 3.0, 2.0)),  # class I: 90 % saturation or 7.5 mg/L
    "codmn": ("max", (2.0, 4.0, 6.0, 10.0, 15.0)),
    "cod": ("max", (15.0, 15.0, 20.0, 30.0, 40.0)),
    "bod5": ("max", (3.0, 3.0, 4.0, 6.0, 10.0)),
    "ammonia": ("max", (0.15, 0.5, 1.0, 1.5, 2.0)),
    "tp": ("max", (0.02, 0.1, 0.2, 0.3, 0.4)),  # rivers
    "tn": ("max", (0.2, 0.5, 1.0, 1.5, 2.0)),  # lakes and reservoirs only
    "fluoride": ("max", (1.0, 1.0, 1.0, 1.5, 1.5)),
    "petroleum": ("max", (0.05, 0.05, 0.05, 0.5, 1.0)),
    "fecal_coliform": ("max", (200.0, 2000.0, 10000.0, 20000.0, 40000.0)),
}
# Table 1, total phosphorus in lakes and reservoirs (湖、库).
LAKE_TP = (0.01, 0.025, 0.05, 0.1, 0.2)
# Table 1, pH 6–9 for every class: outside it the water meets no class.
SURFACE_PH = (6.0, 9.0)
WORSE_THAN_V = "worse than V"
CLASS_LABELS = {
    "I": N_("Class I"),
    "II": N_("Class II"),
    "III": N_("Class III"),
    "IV": N_("Class IV"),
    "V": N_("Class V"),
    WORSE_THAN_V: N_("Worse than class V"),
}


@dataclass(frozen=True, slots=True)
class Failure:
    """A parameter outside its limit: the value, the limit and on which side."""

    parameter: str
    value: float
    limit: float
    # "above": the value exceeds a maximum; "below": it falls short of a minimum.
    side: str
    # For surface water: the class this parameter alone reaches.
    reached: str = ""


@dataclass(frozen=True, slots=True)
class TapResult:
    """Tap water against GB 5749-2022: ok when every reported parameter is within limits."""

    ok: bool
    checked: tuple[str, ...]
    failures: tuple[Failure, ...]


def check_tap(values: Mapping[str, float]) -> TapResult:
    """Check the reported parameters of tap water against GB 5749-2022 Tables 1 and 2."""
    failures: list[Failure] = []
    checked: list[str] = []
    for key in sorted(values):
        if key not in TAP_LIMITS:
            continue
        value = values[key]
        low, high = TAP_LIMITS[key]
        checked.append(key)
        if low is not None and value < low:
            failures.append(Failure(key, value, low, "below"))
        elif high is not None and value > high:
            failures.append(Failure(key, value, high, "above"))
    return TapResult(ok=not failures, checked=tuple(checked), failures=tuple(failures))


@dataclass(frozen=True, slots=True)
class SurfaceResult:
    """Surface water class by GB 3838-2002: the worst parameter decides.

    ``water_class`` is "I" to "V", ``WORSE_THAN_V`` (劣 V 类), or "" when no parameter with a
    limit was reported. ``failures`` lists the parameters that keep the water from class III
    (the class for centralised drinking water sources and swimming) or from any class.
    """

    water_class: str
    per_parameter: dict[str, str]
    failures: tuple[Failure, ...]


def _class_of(value: float, sense: str, bounds: tuple[float, ...]) -> int:
    """Index 0–4 of the best class the value meets, 5 for none."""
    for index, bound in enumerate(bounds):
        if (value >= bound) if sense == "min" else (value <= bound):
            return index
    return len(bounds)


def surface_class(
    values: Mapping[str, float], *, lake: bool = False, target: str = "III"
) -> SurfaceResult:
    """The GB 3838-2002 class of surface water, and the parameters worse than ``target``.

    ``lake``: a lake or reservoir (its own total phosphorus limits; total nitrogen counts). For
    rivers total nitrogen is not a classifying item (Table 1 names it for lakes and reservoirs).
    """
    target_index = CLASSES.index(target)
    per: dict[str, str] = {}
    failures: list[Failure] = []
    worst = -1
    for key in sorted(values):
        value = values[key]
        if key == "ph":
            low, high = SURFACE_PH
            index = 0 if low <= value <= high else len(CLASSES)
            if index:
                below = value < low
                limit = low if below else high
                side = "below" if below else "above"
                failures.append(Failure(key, value, limit, side, WORSE_THAN_V))
        elif key in SURFACE_LIMITS:
            if key == "tn" and not lake:
                continue
            sense, bounds = SURFACE_LIMITS[key]
            if key == "tp" and lake:
                bounds = LAKE_TP
            index = _class_of(value, sense, bounds)
            if index > target_index:
                limit = bounds[target_index]
                reached = CLASSES[index] if index < len(CLASSES) else WORSE_THAN_V
                failures.append(
                    Failure(key, value, limit, "below" if sense == "min" else "above", reached)
                )
        else:
            continue
        per[key] = CLASSES[index] if index < len(CLASSES) else WORSE_THAN_V
        worst = max(worst, index)
    found = "" if worst < 0 else (CLASSES[worst] if worst < len(CLASSES) else WORSE_THAN_V)
    return SurfaceResult(water_class=found, per_parameter=per, failures=tuple(failures))
