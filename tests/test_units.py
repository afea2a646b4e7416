"""finmodel.scenario.units: the money, rate and year-map notations of MODEL.md section 2."""

from __future__ import annotations

import math

import numpy as np
import pytest

from finmodel.scenario.units import (
    UnitError,
    format_usd,
    parse_money,
    parse_number,
    parse_rate,
    parse_year_map,
    year_map_values,
)


@pytest.mark.parametrize(
    ("text", "usd"),
    [
        ("1.4T", 1.4e12),
        ("$250B", 250e9),
        ("35M", 35e6),
        ("12K", 12e3),
        ("$1,500", 1500.0),
        ("1_000_000", 1e6),
        ("1,000.5", 1000.5),
        ("0.5B", 5e8),
        (".5B", 5e8),
        ("1e3", 1000.0),
        ("2.5e-3T", 2.5e9),
        ("-3M", -3e6),
        (" 7 B ", 7e9),
        ("40b", 40e9),  # suffix case does not matter
        (1400000000000, 1.4e12),
        (2.5, 2.5),
    ],
)
def test_parse_money(text, usd):
    assert parse_money(text) == pytest.approx(usd, rel=1e-15)


@pytest.mark.parametrize(
    "bad", ["1.4X", "T", "$", "", "1.4 trillion", "35%", "1.2.3B", "nanB", True, None, [1], "inf"]
)
def test_parse_money_refuses(bad):
    with pytest.raises(UnitError, match="must be money"):
        parse_money(bad)


@pytest.mark.parametrize("bad", [float("inf"), float("nan"), "1e400T", 10**400])
def test_parse_money_refuses_non_finite(bad):
    # an overflow is a rule broken (UnitError), never an OverflowError traceback
    with pytest.raises(UnitError, match="finite"):
        parse_money(bad)
    if not isinstance(bad, str):
        with pytest.raises(UnitError, match="finite"):
            parse_rate(bad)
        with pytest.raises(UnitError, match="finite"):
            parse_number(bad)


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("35%", 0.35),
        ("7.5%", 0.075),
        ("0%", 0.0),
        ("100 %", 1.0),
        ("-2%", -0.02),
        (0.35, 0.35),
        (1, 1.0),
        ("1e1%", 0.1),
    ],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == pytest.approx(rate, rel=1e-15)


@pytest.mark.parametrize("bad", ["0.35.1", "35 pct", "%", "thirty%", "1e", True, None, {"a": 1}])
def test_parse_rate_refuses(bad):
    with pytest.raises(UnitError, match="must be a rate"):
        parse_rate(bad)


def test_numeric_strings_are_numbers():
    # MODEL.md v1.1 section 2: YAML 1.1 reads 1.4e12 and 1e-3 (no dot before the exponent) as text
    import yaml

    assert yaml.safe_load("x: 1.4e12")["x"] == "1.4e12"
    assert parse_money("1.4e12") == 1.4e12
    assert parse_rate("3.5e-1") == 0.35
    assert parse_rate("0.35") == 0.35
    assert parse_number("1e-3") == 0.001
    assert parse_number("-2_000") == -2000.0
    with pytest.raises(UnitError, match="finite"):
        parse_number("1e400")


def test_parse_number():
    assert parse_number(3) == 3.0
    assert parse_number(1.25) == 1.25
    for bad in (True, "three", "nan", None, float("nan")):
        with pytest.raises(UnitError):
            parse_number(bad)


def test_year_map_step_function():
    # MODEL.md section 2: the value of the largest key <= y applies; before the smallest key, 0.
    ym = {2023: 0.25, 2026: 0.35}
    years = np.arange(2021, 2029)
    np.testing.assert_array_equal(year_map_values(ym, years), [0, 0, 0.25, 0.25, 0.25, 0.35, 0.35, 0.35])
    # unsorted keys give the same step function
    np.testing.assert_array_equal(
        year_map_values({2026: 0.35, 2023: 0.25}, years), year_map_values(ym, years)
    )


def test_parse_year_map_scalar_applies_every_year():
    ym = parse_year_map("35%", parse_rate)
    np.testing.assert_array_equal(year_map_values(ym, np.array([1950, 2025, 2100])), [0.35, 0.35, 0.35])
    ym = parse_year_map({2026: "35%", 2023: 0.25}, parse_rate)
    assert list(ym) == [2023, 2026]
    assert ym[2026] == pytest.approx(0.35)


@pytest.mark.parametrize("bad", [{}, {"2023": 0.1}, {True: 0.1}, {1800: 0.1}, {2023: "x"}])
def test_parse_year_map_refuses(bad):
    with pytest.raises(UnitError):
        parse_year_map(bad, parse_rate)


def test_format_usd():
    assert format_usd(1.234e11) == "$123.4B"
    assert format_usd(-2.5e12, "T", 2) == "-$2.50T"
    assert format_usd(None) == "n/a"
    assert format_usd(math.nan) == "n/a"
