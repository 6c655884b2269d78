"""Air Quality Index (AQI) for China (HJ 633—2026, HJ 633—2012) and the United States (EPA, 2024).

Everything here is a pure function over concentrations; averaging of raw samples lives in
:mod:`linli.environment.averaging`.

Units of the input, for every standard: µg/m³ for PM2.5, PM10, O₃, NO₂ and SO₂, mg/m³ for CO
(the units of GB 3095—2012 and of Chinese monitors). For ``us-epa`` the gases are converted to
the units of the EPA table at 25 °C and 101.325 kPa (molar volume 24.45 L/mol): O₃ and CO to
ppm, NO₂ and SO₂ to ppb.

What each concentration means depends on the mode:

* ``daily``  — PM2.5, PM10, NO₂, SO₂, CO: 24-hour mean; O₃: the day's maximum 8-hour moving
  mean. An optional ``o3_1h`` (the day's maximum 1-hour mean) is counted too: the O₃ sub-index
  is the larger of the two, and where the 8-hour value is above the 8-hour table (CN: above
  800 µg/m³, EPA: above 0.200 ppm) only the 1-hour value is used, as both standards say.
* ``hourly`` — CN real-time report (HJ 633 §5): 1-hour means of every pollutant, PM2.5 and
  PM10 read on their 24-hour table (the standard gives no other). An optional ``so2_24h``
  serves the rule that a 1-hour SO₂ above 800 µg/m³ is not indexed and the 24-hour sub-index is
  reported instead. For ``us-epa`` the EPA index is defined on each pollutant's own averaging
  period, so hourly mode takes the latest such values (NowCast PM, 8-hour O₃ and CO, 1-hour
  NO₂ and SO₂; see :func:`linli.environment.averaging.hourly_inputs`) on the same table as daily.

Where a rule points to a value that was not supplied, the sub-index is held at the top of the
table that was left (CN SO₂ 1-h: 200, O₃ 8-h: 300; EPA SO₂ 1-h: 200, O₃ 8-h: 300), which is a
lower bound of the true sub-index and keeps the index from falling when a concentration rises.
A concentration above the last breakpoint is reported as 500 and named in ``beyond_index``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

from linli.core.errors import ValidationFailed
from linli.core.i18n import N_

STANDARDS = ("cn-2026", "cn-2012", "us-epa")
MODES = ("hourly", "daily")
POLLUTANTS = ("pm25", "pm10", "o3", "no2", "so2", "co")
# Extra averages some rules need: the daily maximum 1-hour O₃ and, in hourly mode, the 24-hour SO₂.
AUXILIARY = ("o3_1h", "so2_24h")
CN_2026_FROM = dt.date(2026, 3, 1)
HUMIDITY_LIMIT = 70.0  # % RH above which low-cost optical PM sensors over-read (hygroscopic growth)
TOP = 500

POLLUTANT_LABELS = {
    "pm25": N_("PM2.5"),
    "pm10": N_("PM10"),
    "o3": N_("Ozone (O₃)"),
    "no2": N_("Nitrogen dioxide (NO₂)"),
    "so2": N_("Sulphur dioxide (SO₂)"),
    "co": N_("Carbon monoxide (CO)"),
}
STANDARD_LABELS = {
    "cn-2026": N_("China, HJ 633—2026 (from 1 March 2026)"),
    "cn-2012": N_("China, HJ 633—2012 (before 1 March 2026)"),
    "us-epa": N_("United States EPA (2024)"),
}
MODE_LABELS = {"daily": N_("Daily (24-hour)"), "hourly": N_("Hourly (real-time)")}

# --- tables -----------------------------------------------------------------------------------

Segment = tuple[Fraction, Fraction, int, int]  # concentration low, high, index low, high


def _cn(*concentrations: float | str) -> tuple[Segment, ...]:
    """A Chinese table: IAQI 0, 50, 100, 150, 200, 300, 400, 500 at the given breakpoints."""
    indices = (0, 50, 100, 150, 200, 300, 400, 500)
    points = [Fraction(str(c)) for c in concentrations]
    return tuple(
        (points[i], points[i + 1], indices[i], indices[i + 1]) for i in range(len(points) - 1)
    )


def _us(*rows: tuple[str, str, int, int]) -> tuple[Segment, ...]:
    return tuple((Fraction(lo), Fraction(hi), ilo, ihi) for lo, hi, ilo, ihi in rows)


# HJ 633—2012 Table 1 (µg/m³; CO mg/m³). The 1-hour SO₂ table stops at 800 (IAQI 200) and the
# 8-hour O₃ table at 800 (IAQI 300): notes 2 and 3 of the table.
CN_2012: dict[str, tuple[Segment, ...]] = {
    "so2_24h": _cn(0, 50, 150, 475, 800, 1600, 2100, 2620),
    "so2_1h": _cn(0, 150, 500, 650, 800),
    "no2_24h": _cn(0, 40, 80, 180, 280, 565, 750, 940),
    "no2_1h": _cn(0, 100, 200, 700, 1200, 2340, 3090, 3840),
    "pm10_24h": _cn(0, 50, 150, 250, 350, 420, 500, 600),
    "co_24h": _cn(0, 2, 4, 14, 24, 36, 48, 60),
    "co_1h": _cn(0, 5, 10, 35, 60, 90, 120, 150),
    "o3_1h": _cn(0, 160, 200, 300, 400, 800, 1000, 1200),
    "o3_8h": _cn(0, 100, 160, 215, 265, 800),
    "pm25_24h": _cn(0, 35, 75, 115, 150, 250, 350, 500),
}
# HJ 633—2026: IAQI 100 at PM2.5 60 µg/m³ and PM10 120 µg/m³ (the 24-hour limits of the revised
# GB 3095); every other breakpoint is carried over from HJ 633—2012 (see docs/environment.md).
CN_2026: dict[str, tuple[Segment, ...]] = {
    **CN_2012,
    "pm10_24h": _cn(0, 50, 120, 250, 350, 420, 500, 600),
    "pm25_24h": _cn(0, 35, 60, 115, 150, 250, 350, 500),
}
# EPA Technical Assistance Document for the Reporting of Daily Air Quality (EPA-454/B-24-002,
# May 2024), Table 6, with the 2024 PM2.5 breakpoints and one Hazardous range (301–500).
US_EPA: dict[str, tuple[Segment, ...]] = {
    "o3_8h": _us(
        ("0.000", "0.054", 0, 50),
        ("0.055", "0.070", 51, 100),
        ("0.071", "0.085", 101, 150),
        ("0.086", "0.105", 151, 200),
        ("0.106", "0.200", 201, 300),
    ),
    "o3_1h": _us(
        ("0.125", "0.164", 101, 150),
        ("0.165", "0.204", 151, 200),
        ("0.205", "0.404", 201, 300),
        ("0.405", "0.604", 301, 500),
    ),
    "pm25": _us(
        ("0.0", "9.0", 0, 50),
        ("9.1", "35.4", 51, 100),
        ("35.5", "55.4", 101, 150),
        ("55.5", "125.4", 151, 200),
        ("125.5", "225.4", 201, 300),
        ("225.5", "325.4", 301, 500),
    ),
    "pm10": _us(
        ("0", "54", 0, 50),
        ("55", "154", 51, 100),
        ("155", "254", 101, 150),
        ("255", "354", 151, 200),
        ("355", "424", 201, 300),
        ("425", "604", 301, 500),
    ),
    "co": _us(
        ("0.0", "4.4", 0, 50),
        ("4.5", "9.4", 51, 100),
        ("9.5", "12.4", 101, 150),
        ("12.5", "15.4", 151, 200),
        ("15.5", "30.4", 201, 300),
        ("30.5", "50.4", 301, 500),
    ),
    "so2_1h": _us(
        ("0", "35", 0, 50),
        ("36", "75", 51, 100),
        ("76", "185", 101, 150),
        ("186", "304", 151, 200),
    ),
    "so2_24h": _us(("305", "604", 201, 300), ("605", "1004", 301, 500)),
    "no2": _us(
        ("0", "53", 0, 50),
        ("54", "100", 51, 100),
        ("101", "360", 101, 150),
        ("361", "649", 151, 200),
        ("650", "1249", 201, 300),
        ("1250", "2049", 301, 500),
    ),
}
# Decimal places kept (by truncation) before the EPA table is read: TAD 2024, "Calculating the AQI".
EPA_DECIMALS = {"o3": 3, "pm25": 1, "pm10": 0, "co": 1, "so2": 0, "no2": 0}
# Molar masses (g/mol) for µg/m³ → ppb (and mg/m³ → ppm) at 25 °C: ppb = µg/m³ × 24.45 / M.
MOLAR_VOLUME = Fraction("24.45")
MOLAR_MASS = {"o3": Fraction("48.00"), "no2": Fraction("46.01"), "so2": Fraction("64.07")}
MOLAR_MASS_CO = Fraction("28.01")


@dataclass(frozen=True)
class Level:
    """One band of a standard: index range, category, colour, health effects and advice."""

    level: int
    upper: int  # highest AQI of the band (TOP for the last one)
    category: str
    colour: str
    effects: str
    advice: str


# HJ 633—2012 Table 2 (kept by HJ 633—2026): categories, Appendix A colours, health effects and
# suggested measures.
CN_LEVELS = (
    Level(
        1,
        50,
        N_("Excellent"),
        "#00E400",
        N_("Air quality is satisfactory; there is hardly any air pollution."),
        N_("Everyone can carry on with normal outdoor activities."),
    ),
    Level(
        2,
        100,
        N_("Good"),
        "#FFFF00",
        N_(
            "Air quality is acceptable, but some pollutants may slightly affect a very small"
            " number of unusually sensitive people."
        ),
        N_("The very few unusually sensitive people should spend less time outdoors."),
    ),
    Level(
        3,
        150,
        N_("Lightly polluted"),
        "#FF7E00",
        N_(
            "Symptoms of susceptible people get slightly worse; healthy people may feel irritation."
        ),
        N_(
            "Children, older people and people with heart or respiratory disease should cut"
            " down long or strenuous outdoor exercise."
        ),
    ),
    Level(
        4,
        200,
        N_("Moderately polluted"),
        "#FF0000",
        N_(
            "Symptoms of susceptible people get worse; the heart and lungs of healthy people"
            " may be affected."
        ),
        N_(
            "Children, older people and people with heart or respiratory disease should avoid"
            " long or strenuous outdoor exercise; everyone else should exercise outdoors less."
        ),
    ),
    Level(
        5,
        300,
        N_("Heavily polluted"),
        "#99004C",
        N_(
            "Symptoms of people with heart or lung disease get markedly worse and they tolerate"
            " exercise less; healthy people commonly have symptoms."
        ),
        N_(
            "Children, older people and people with heart or lung disease should stay indoors"
            " and stop outdoor exercise; everyone else should exercise outdoors less."
        ),
    ),
    Level(
        6,
        TOP,
        N_("Severely polluted"),
        "#7E0023",
        N_(
            "Healthy people tolerate exercise less and have marked symptoms; some illnesses"
            " may start early."
        ),
        N_(
            "Children, older people and sick people should stay indoors and avoid exertion;"
            " everyone else should avoid outdoor activities."
        ),
    ),
)
# EPA TAD 2024, Table 1 (names and colours) and the general cautionary statements of Table 5.
US_LEVELS = (
    Level(
        1,
        50,
        N_("US AQI: Good"),
        "#00E400",
        N_("Air quality is satisfactory; air pollution poses little or no risk."),
        N_("It is a good day to be active outside."),
    ),
    Level(
        2,
        100,
        N_("Moderate"),
        "#FFFF00",
        N_("Air quality is acceptable; unusually sensitive people may be at some risk."),
        N_("Unusually sensitive people should consider less prolonged or heavy exertion outdoors."),
    ),
    Level(
        3,
        150,
        N_("Unhealthy for Sensitive Groups"),
        "#FF7E00",
        N_("Members of sensitive groups may have health effects; the public is less likely to."),
        N_(
            "Sensitive groups (people with heart or lung disease, older adults, children) should"
            " reduce prolonged or heavy exertion outdoors."
        ),
    ),
    Level(
        4,
        200,
        N_("Unhealthy"),
        "#FF0000",
        N_("Some of the public may have health effects; sensitive groups more serious ones."),
        N_(
            "Sensitive groups should avoid prolonged or heavy exertion outdoors; everyone else"
            " should reduce it."
        ),
    ),
    Level(
        5,
        300,
        N_("Very Unhealthy"),
        "#8F3F97",
        N_("Health alert: the risk of health effects is increased for everyone."),
        N_(
            "Sensitive groups should avoid all physical activity outdoors; everyone else should"
            " avoid prolonged or heavy exertion."
        ),
    ),
    Level(
        6,
        TOP,
        N_("Hazardous"),
        "#7E0023",
        N_("Health warning of emergency conditions: everyone is more likely to be affected."),
        N_("Everyone should avoid all physical activity outdoors and stay indoors."),
    ),
)
NO_DATA = Level(
    0,
    0,
    N_("No index"),
    "#BBBBBB",
    N_("There are not enough valid measurements to give an index."),
    N_("Check again when more measurements have arrived."),
)


@dataclass(frozen=True)
class AqiResult:
    """The index of one set of concentrations under one standard and mode."""

    standard: str
    mode: str
    aqi: int | None  # None when no pollutant has a usable value
    iaqi: dict[str, int]  # each pollutant's sub-index
    primary: tuple[str, ...]  # CN: IAQI max when AQI > 50 (ties: all); EPA: the highest
    level: int | None  # 1..6
    category: str  # English msgid; translate where shown
    colour: str  # hex colour of the standard's table
    advice: str  # English msgid of the suggested measures
    low_confidence: bool  # relative humidity above 70 %: flagged, never corrected
    missing: tuple[str, ...]  # pollutants absent or without a usable value
    effects: str = ""  # English msgid of the health effects
    beyond_index: tuple[str, ...] = ()  # pollutants above the last breakpoint (IAQI held at 500)
    exceeding: tuple[str, ...] = ()  # CN 超标污染物: IAQI above 100


# --- validation -------------------------------------------------------------------------------


def _check_standard(standard: str) -> None:
    if standard not in STANDARDS:
        raise ValidationFailed(
            "unknown air quality standard; use cn-2026, cn-2012 or us-epa",
            detail={"field": "standard"},
        )


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValidationFailed(
            "unknown averaging mode; use hourly or daily", detail={"field": "mode"}
        )


def _exact(name: str, value: float) -> Fraction:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationFailed(
            "a concentration must be a finite number of zero or more", detail={"field": name}
        )
    if not math.isfinite(value) or value < 0:
        raise ValidationFailed(
            "a concentration must be a finite number of zero or more", detail={"field": name}
        )
    # The decimal the caller wrote (repr), not the binary float's tail, decides ties and rounding.
    return Fraction(repr(float(value)))


# --- reading a table --------------------------------------------------------------------------


def _interpolate(segment: Segment, c: Fraction) -> Fraction:
    lo, hi, ilo, ihi = segment
    return Fraction(ihi - ilo) / (hi - lo) * (c - lo) + ilo


def _cn_index(table: tuple[Segment, ...], c: Fraction) -> tuple[int, bool]:
    """IAQI on a Chinese table, rounded up (HJ 633 formula 1); True when above the table."""
    for segment in table:
        if c <= segment[1]:
            return math.ceil(_interpolate(segment, c)), False
    return table[-1][3], True


def _truncate(c: Fraction, decimals: int) -> Fraction:
    scale = 10**decimals
    return Fraction(math.floor(c * scale), scale)


def _us_index(table: tuple[Segment, ...], c: Fraction) -> tuple[int | None, bool]:
    """EPA sub-index (TAD equation 1, rounded half up); None below the table (1-hour O₃)."""
    if c < table[0][0]:
        return None, False
    for segment in table:
        if c <= segment[1]:
            value = _interpolate(segment, max(c, segment[0]))
            return math.floor(value + Fraction(1, 2)), False
    return table[-1][3], True


def _to_epa_units(pollutant: str, c: Fraction) -> Fraction:
    if pollutant in MOLAR_MASS:  # µg/m³ → ppb
        ppb = c * MOLAR_VOLUME / MOLAR_MASS[pollutant]
        return ppb / 1000 if pollutant == "o3" else ppb
    if pollutant == "co":  # mg/m³ → ppm
        return c * MOLAR_VOLUME / MOLAR_MASS_CO
    return c


def _epa_value(pollutant: str, c: Fraction) -> Fraction:
    # Rounded to three more places first, so that a value converted from the table's own units
    # (0.078 ppm → 153.13 µg/m³ → 0.0779999… ppm) truncates back to itself.
    decimals = EPA_DECIMALS[pollutant]
    converted = _to_epa_units(pollutant, c)
    scale = 10 ** (decimals + 3)
    return _truncate(Fraction(round(converted * scale), scale), decimals)


def _sub_index(
    pollutant: str,
    c: Fraction,
    aux: Mapping[str, Fraction],
    standard: str,
    mode: str,
) -> tuple[int | None, bool]:
    """Sub-index of one pollutant, with the auxiliary values its rules need."""
    if standard == "us-epa":
        return _us_sub_index(pollutant, c, aux)
    tables = CN_2026 if standard == "cn-2026" else CN_2012
    if pollutant in ("pm25", "pm10"):
        return _cn_index(tables[f"{pollutant}_24h"], c)
    if mode == "daily":
        if pollutant == "o3":
            one_hour = aux.get("o3_1h")
            if c > tables["o3_8h"][-1][1]:  # HJ 633 Table 1 note 3: report the 1-hour sub-index
                if one_hour is None:
                    return tables["o3_8h"][-1][3], False
                return _cn_index(tables["o3_1h"], one_hour)
            index, _beyond = _cn_index(tables["o3_8h"], c)
            if one_hour is not None:
                index_1h, beyond_1h = _cn_index(tables["o3_1h"], one_hour)
                if index_1h > index:
                    return index_1h, beyond_1h
            return index, False
        return _cn_index(tables[f"{pollutant}_24h"], c)
    if pollutant == "so2" and c > tables["so2_1h"][-1][1]:
        # HJ 633 Table 1 note 2: a 1-hour SO₂ above 800 µg/m³ is reported by its 24-hour sub-index.
        day = aux.get("so2_24h")
        if day is None:
            return tables["so2_1h"][-1][3], False
        return _cn_index(tables["so2_24h"], day)
    return _cn_index(tables[f"{pollutant}_1h"], c)


def _us_sub_index(
    pollutant: str, c: Fraction, aux: Mapping[str, Fraction]
) -> tuple[int | None, bool]:
    if pollutant == "o3":
        value = _epa_value("o3", c)
        one_hour = aux.get("o3_1h")
        index_1h: int | None = None
        beyond_1h = False
        if one_hour is not None:
            index_1h, beyond_1h = _us_index(US_EPA["o3_1h"], _epa_value("o3", one_hour))
        if value > US_EPA["o3_8h"][-1][1]:
            # 8-hour values do not define AQI values of 301 or more: the 1-hour value does.
            if index_1h is None:
                return US_EPA["o3_8h"][-1][3], False
            return max(index_1h, US_EPA["o3_8h"][-1][3]), beyond_1h
        index, _beyond = _us_index(US_EPA["o3_8h"], value)
        if index_1h is not None and index is not None and index_1h > index:
            return index_1h, beyond_1h
        return index, False
    if pollutant == "so2":
        value = _epa_value("so2", c)
        if value > US_EPA["so2_1h"][-1][1]:
            # 1-hour SO₂ does not define AQI values above 200: the 24-hour value does; a 24-hour
            # value below 305 ppb (or none) leaves the index at 200.
            day = aux.get("so2_24h")
            if day is not None:
                index, beyond = _us_index(US_EPA["so2_24h"], _epa_value("so2", day))
                if index is not None:
                    return index, beyond
            return US_EPA["so2_1h"][-1][3], False
        return _us_index(US_EPA["so2_1h"], value)
    return _us_index(US_EPA[pollutant], _epa_value(pollutant, c))


# --- public functions -------------------------------------------------------------------------


def iaqi(pollutant: str, concentration: float, *, standard: str, mode: str) -> int | None:
    """Sub-index of one pollutant alone (no auxiliary values); None when the table has none."""
    _check_standard(standard)
    _check_mode(mode)
    if pollutant not in POLLUTANTS:
        raise ValidationFailed("unknown pollutant", detail={"field": pollutant})
    index, _beyond = _sub_index(pollutant, _exact(pollutant, concentration), {}, standard, mode)
    return index


def standard_for(day: dt.date, option: str | None = None) -> str:
    """The standard for data of ``day``: HJ 633—2026 from 2026-03-01, HJ 633—2012 before.

    ``option`` is a community's choice: ``"us-epa"`` overrides the date; ``None`` or ``"cn"``
    follows it.
    """
    if option == "us-epa":
        return "us-epa"
    if option not in (None, "cn"):
        raise ValidationFailed(
            "unknown air quality standard; use cn-2026, cn-2012 or us-epa",
            detail={"field": "standard"},
        )
    return "cn-2026" if day >= CN_2026_FROM else "cn-2012"


def level_of(standard: str, aqi: int | None) -> Level:
    """The band of ``aqi`` in ``standard``'s table (the no-data band for None)."""
    _check_standard(standard)
    if aqi is None:
        return NO_DATA
    levels = US_LEVELS if standard == "us-epa" else CN_LEVELS
    for level in levels:
        if aqi <= level.upper:
            return level
    return levels[-1]


def compute(
    concentrations: Mapping[str, float | None],
    *,
    standard: str,
    mode: str = "daily",
    humidity: float | None = None,
) -> AqiResult:
    """The AQI of ``concentrations`` (see the module docstring for units and averages)."""
    _check_standard(standard)
    _check_mode(mode)
    for name in concentrations:
        if name not in POLLUTANTS and name not in AUXILIARY:
            raise ValidationFailed("unknown pollutant", detail={"field": name})
    if humidity is not None and (
        isinstance(humidity, bool)
        or not isinstance(humidity, int | float)
        or not math.isfinite(humidity)
        or not 0 <= humidity <= 100
    ):
        raise ValidationFailed(
            "relative humidity must be a number from 0 to 100", detail={"field": "humidity"}
        )
    values = {
        name: _exact(name, value) for name, value in concentrations.items() if value is not None
    }
    aux = {name: values[name] for name in AUXILIARY if name in values}
    sub: dict[str, int] = {}
    beyond: list[str] = []
    missing: list[str] = []
    for pollutant in POLLUTANTS:
        c = values.get(pollutant)
        if c is None and pollutant == "o3" and "o3_1h" in aux:
            # Only the 1-hour maximum is known: index O₃ by it alone.
            index, over = _o3_from_one_hour(aux["o3_1h"], standard)
        elif c is None:
            missing.append(pollutant)
            continue
        else:
            index, over = _sub_index(pollutant, c, aux, standard, mode)
        if index is None:
            missing.append(pollutant)
            continue
        sub[pollutant] = index
        if over:
            beyond.append(pollutant)
    aqi = max(sub.values()) if sub else None
    band = level_of(standard, aqi)
    primary: tuple[str, ...] = ()
    if aqi is not None and (standard == "us-epa" or aqi > 50):
        primary = tuple(p for p in POLLUTANTS if sub.get(p) == aqi)
    exceeding = tuple(p for p in POLLUTANTS if standard != "us-epa" and sub.get(p, 0) > 100)
    return AqiResult(
        standard=standard,
        mode=mode,
        aqi=aqi,
        iaqi=sub,
        primary=primary,
        level=band.level or None,
        category=band.category,
        colour=band.colour,
        advice=band.advice,
        low_confidence=humidity is not None and humidity > HUMIDITY_LIMIT,
        missing=tuple(missing),
        effects=band.effects,
        beyond_index=tuple(beyond),
        exceeding=exceeding,
    )


def _o3_from_one_hour(one_hour: Fraction, standard: str) -> tuple[int | None, bool]:
    if standard == "us-epa":
        return _us_index(US_EPA["o3_1h"], _epa_value("o3", one_hour))
    tables = CN_2026 if standard == "cn-2026" else CN_2012
    return _cn_index(tables["o3_1h"], one_hour)
