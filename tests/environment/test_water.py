"""Water quality: tap water against GB 5749-2022, surface water classes of GB 3838-2002."""

from __future__ import annotations

from linli.environment import water


def test_tap_water_within_gb_5749_passes() -> None:
    result = water.check_tap({"ph": 7.2, "turbidity": 0.6, "chlorine": 0.45})
    assert result.ok
    assert result.checked == ("chlorine", "ph", "turbidity")


def test_tap_water_failures_say_which_limit_and_which_side() -> None:
    result = water.check_tap({"ph": 8.7, "turbidity": 1.4, "chlorine": 0.03, "unknown": 1.0})
    assert not result.ok
    found = {f.parameter: (f.side, f.limit) for f in result.failures}
    assert found == {
        "ph": ("above", 8.5),
        "turbidity": ("above", 1.0),
        "chlorine": ("below", 0.05),  # at the tap at least 0.05 mg/L
    }
    assert water.check_tap({"chlorine": 2.5}).failures[0].side == "above"  # at most 2 mg/L
    assert water.check_tap({"ph": 6.4}).failures[0].limit == 6.5


def test_the_worst_parameter_decides_the_surface_water_class() -> None:
    result = water.surface_class({"ph": 7.5, "do": 6.5, "codmn": 5.0, "ammonia": 0.4})
    assert result.per_parameter == {"ph": "I", "do": "II", "codmn": "III", "ammonia": "II"}
    assert result.water_class == "III"
    assert result.failures == ()
    worse = water.surface_class({"do": 2.5, "ammonia": 0.1})
    assert worse.water_class == "V"
    assert [(f.parameter, f.reached, f.limit) for f in worse.failures] == [("do", "V", 5.0)]


def test_worse_than_class_v_and_ph_outside_6_to_9() -> None:
    assert water.surface_class({"ammonia": 2.5}).water_class == water.WORSE_THAN_V
    result = water.surface_class({"ph": 9.4, "do": 8.0})
    assert result.water_class == water.WORSE_THAN_V
    assert result.failures[0].parameter == "ph"
    assert result.failures[0].side == "above"
    assert water.surface_class({}).water_class == ""


def test_lakes_have_their_own_phosphorus_limits_and_count_total_nitrogen() -> None:
    values = {"tp": 0.08, "tn": 1.8}
    river = water.surface_class(values)
    lake = water.surface_class(values, lake=True)
    assert river.per_parameter == {"tp": "II"}  # TN is no river criterion
    assert lake.per_parameter == {"tp": "IV", "tn": "V"}
    assert lake.water_class == "V"
