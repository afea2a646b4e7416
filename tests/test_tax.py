"""finmodel.core.tax against IRS Publication 946 and hand arithmetic.

The published tables are written out here as printed, not imported from
finmodel, so that a typo in either place shows up.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from conftest import ATOL_TABLE_PCT, RTOL_MODEL

from finmodel.core.tax import (
    macrs_matrix,
    macrs_percentages,
    macrs_schedule,
    recapture,
    standalone_tax,
)

# IRS Publication 946 (2024), How To Depreciate Property, Appendix A,
# Table A-1: 3-, 5-, 7-, 10-, 15-, and 20-Year Property, Half-Year Convention.
# Depreciation rate (percent) by recovery year, as printed.
PUB946_TABLE_A1 = {
    3: [33.33, 44.45, 14.81, 7.41],
    5: [20.00, 32.00, 19.20, 11.52, 11.52, 5.76],
    7: [14.29, 24.49, 17.49, 12.49, 8.93, 8.92, 8.93, 4.46],
    10: [10.00, 18.00, 14.40, 11.52, 9.22, 7.37, 6.55, 6.55, 6.56, 6.55, 3.28],
    15: [
        5.00,
        9.50,
        8.55,
        7.70,
        6.93,
        6.23,
        5.90,
        5.90,
        5.91,
        5.90,
        5.91,
        5.90,
        5.91,
        5.90,
        5.91,
        2.95,
    ],
    20: [
        3.750,
        7.219,
        6.677,
        6.177,
        5.713,
        5.285,
        4.888,
        4.522,
        4.462,
        4.461,
        4.462,
        4.461,
        4.462,
        4.461,
        4.462,
        4.461,
        4.462,
        4.461,
        4.462,
        4.461,
        2.231,
    ],
}

# IRS Publication 946, Appendix A, Table A-7a: Nonresidential Real Property,
# Mid-Month Convention, Straight Line, 39 Years. Columns are the month placed
# in service (1-12); rows: year 1, years 2-39 (one printed value), year 40.
PUB946_TABLE_A7A_YEAR1 = [
    2.461,
    2.247,
    2.033,
    1.819,
    1.605,
    1.391,
    1.177,
    0.963,
    0.749,
    0.535,
    0.321,
    0.107,
]
PUB946_TABLE_A7A_YEARS_2_39 = 2.564
PUB946_TABLE_A7A_YEAR40 = [
    0.107,
    0.321,
    0.535,
    0.749,
    0.963,
    1.177,
    1.391,
    1.605,
    1.819,
    2.033,
    2.247,
    2.461,
]


@pytest.mark.parametrize("years", sorted(PUB946_TABLE_A1))
def test_table_a1_every_value_as_printed(years):
    got = macrs_percentages(years)
    assert len(got) == years + 1  # half-year convention: one extra recovery year
    np.testing.assert_allclose(got, PUB946_TABLE_A1[years], rtol=0, atol=1e-12)


@pytest.mark.parametrize("years", sorted(PUB946_TABLE_A1))
def test_table_a1_columns_sum_to_100(years):
    # printed to 2 decimals (3 for 20-year): the column sums to 100 within the print precision
    assert math.fsum(PUB946_TABLE_A1[years]) == pytest.approx(100.0, abs=ATOL_TABLE_PCT)
    assert math.fsum(macrs_percentages(years)) == pytest.approx(100.0, abs=ATOL_TABLE_PCT)


@pytest.mark.parametrize("month", range(1, 13))
def test_table_a7a_every_value_as_printed(month):
    got = macrs_percentages(39, month)
    expected = (
        [PUB946_TABLE_A7A_YEAR1[month - 1]]
        + [PUB946_TABLE_A7A_YEARS_2_39] * 38
        + [PUB946_TABLE_A7A_YEAR40[month - 1]]
    )
    assert len(got) == 40
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("month", range(1, 13))
def test_table_a7a_columns_sum_to_100(month):
    column = (
        [PUB946_TABLE_A7A_YEAR1[month - 1]]
        + [PUB946_TABLE_A7A_YEARS_2_39] * 38
        + [PUB946_TABLE_A7A_YEAR40[month - 1]]
    )
    assert math.fsum(column) == pytest.approx(100.0, abs=ATOL_TABLE_PCT)
    assert math.fsum(macrs_percentages(39, month)) == pytest.approx(100.0, abs=ATOL_TABLE_PCT)


def test_expensed_and_land_schedules():
    assert macrs_percentages(0) == (100.0,)
    np.testing.assert_array_equal(macrs_schedule(0), [1.0])
    assert macrs_schedule(None).size == 0  # land: never deducted
    np.testing.assert_allclose(macrs_schedule(5), [0.2, 0.32, 0.192, 0.1152, 0.1152, 0.0576], rtol=RTOL_MODEL)


@pytest.mark.parametrize(("years", "month"), [(6, 7), (27, 7), (40, 7), (39, 0), (39, 13)])
def test_unknown_class_or_month_is_refused(years, month):
    with pytest.raises(ValueError):
        macrs_percentages(years, month)


def _deductions(schedules, eligible, bonus, placed):
    """Year-by-year deductions of ``placed`` (C, T) with bonus ``bonus`` (T,), the engine's compiled pass."""
    from finmodel.core._kernels import basis_deductions

    C, T = placed.shape
    D, left = np.empty((1, 1, C, T)), np.empty((1, 1, C))
    basis_deductions(
        placed[None, None],
        np.zeros((1, 1, C, T)),
        np.zeros((1, 1)),
        np.asarray(bonus, dtype=float)[None, None],
        macrs_matrix(schedules, T),
        np.asarray(eligible),
        D,
        left,
    )
    return D[0, 0], left[0, 0]


def test_macrs_matrix_truncation():
    # One 5-year category, a 4-year horizon: rows are vintages, the rest falls after the horizon
    m = macrs_matrix([macrs_schedule(5)], 4)
    expected = [[0.20, 0.32, 0.192, 0.1152], [0, 0.20, 0.32, 0.192], [0, 0, 0.20, 0.32], [0, 0, 0, 0.20]]
    np.testing.assert_allclose(m[0], expected, rtol=RTOL_MODEL, atol=1e-15)


def test_bonus_and_truncation():
    # $100 of 5-year property in year 0 with bonus 60%, $100 in year 1 with bonus 0%, 4-year
    # horizon (MODEL.md section 5): year 0: 60 + 40 * 0.20 = 68; year 1: 40 * 0.32 + 100 * 0.20 = 32.8;
    # year 2: 40 * 0.192 + 100 * 0.32 = 39.68; year 3: 40 * 0.1152 + 100 * 0.192 = 23.808
    D, left = _deductions([macrs_schedule(5)], [True], [0.6, 0.0, 0.0, 0.0], np.array([[100.0, 100, 0, 0]]))
    np.testing.assert_allclose(D[0], [68.0, 32.8, 39.68, 23.808], rtol=RTOL_MODEL)
    assert left[0] == pytest.approx(200 - (68 + 32.8 + 39.68 + 23.808), rel=RTOL_MODEL)


def test_bonus_only_where_eligible():
    # 39-year (not bonus eligible) beside a bonus-eligible 3-year class, bonus 100%, $100 each in year 0
    scheds = [macrs_schedule(39, 7), macrs_schedule(3)]
    placed = np.array([[100.0, 0, 0], [100.0, 0, 0]])
    D, _ = _deductions(scheds, [False, True], np.ones(3), placed)
    np.testing.assert_allclose(D[0], [1.177, 2.564, 2.564], rtol=RTOL_MODEL)
    np.testing.assert_allclose(D[1], [100.0, 0, 0], rtol=RTOL_MODEL)


def test_recapture_percentages_and_timing():
    # Credit of 100 earned in year 0 by property with life L (one category each),
    # section 50(a)(1)(B) via MODEL.md section 4: pct[L] = [1.0, 0.8, 0.6, 0.4, 0.2][L]
    # paid in year L: L = 0 -> 100 in year 0; L = 1 -> 80 in year 1;
    # L = 3 -> 40 in year 3; L = 4 -> 20 in year 4; L >= 5 or inf -> none.
    earned = np.zeros((6, 6))
    earned[:, 0] = 100.0
    life = np.array([0, 1, 3, 4, 5, np.inf])
    rc = recapture(earned, life, np.ones(6, dtype=bool))
    expected = np.zeros((6, 6))
    expected[0, 0] = 100.0
    expected[1, 1] = 80.0
    expected[2, 3] = 40.0
    expected[3, 4] = 20.0
    np.testing.assert_allclose(rc, expected, rtol=RTOL_MODEL, atol=0)


def test_recapture_after_horizon_dropped_and_disabled():
    earned = np.array([[0.0, 0.0, 50.0]])  # earned in the last year, life 2
    assert recapture(earned, np.array([2.0]), np.array([True])).sum() == 0.0
    earned = np.array([[50.0, 0.0, 0.0]])
    np.testing.assert_allclose(recapture(earned, np.array([2.0]), np.array([True])), [[0, 0, 30.0]])
    assert recapture(earned, np.array([2.0]), np.array([False])).sum() == 0.0


def test_standalone_tax_hand_case():
    # TI: -100, 50, 30, 200 at 21%, NOL limit 80%:
    # 1: loss -> NOL 100, tax 0
    # 2: use min(100, 0.8*50 = 40) = 40 -> tax 0.21*10 = 2.1, NOL 60
    # 3: use min(60, 0.8*30 = 24) = 24 -> tax 0.21*6 = 1.26, NOL 36
    # 4: use min(36, 160) = 36 -> tax 0.21*164 = 34.44, NOL 0
    tax, nol = standalone_tax(np.array([-100.0, 50.0, 30.0, 200.0]), 0.21, 0.8)
    np.testing.assert_allclose(tax, [0.0, 2.1, 1.26, 34.44], rtol=RTOL_MODEL)
    np.testing.assert_allclose(nol, [100.0, 60.0, 36.0, 0.0], rtol=RTOL_MODEL)


def test_standalone_tax_rate_per_row_on_one_income():
    # One income for every row, a rate (or limit) per row: the shape of a
    # sweep or Monte Carlo of tax.corporate_rate / tax.nol_limit alone.
    # TI: -100, 50, 200; limit 0.8:
    # 1: loss -> NOL 100, tax 0
    # 2: use min(100, 0.8*50 = 40) = 40 -> taxed 10, NOL 60
    # 3: use min(60, 0.8*200 = 160) = 60 -> taxed 140, NOL 0
    # rate 0.15: 1.5, 21.0; rate 0.21: 2.1, 29.4; rate 0.28: 2.8, 39.2
    ti = np.array([-100.0, 50.0, 200.0])
    tax, nol = standalone_tax(ti, np.array([0.15, 0.21, 0.28]), 0.8)
    assert tax.shape == nol.shape == (3, 3)
    np.testing.assert_allclose(tax, [[0.0, 1.5, 21.0], [0.0, 2.1, 29.4], [0.0, 2.8, 39.2]], rtol=RTOL_MODEL)
    np.testing.assert_allclose(nol, [[100.0, 60.0, 0.0]] * 3, atol=1e-12)
    # limit per row, rate 0.2: limit 0.5 -> year 2 uses 25 (taxed 25, NOL 75),
    # year 3 uses min(75, 100) = 75 (taxed 125): tax 5, 25
    # limit 1.0 -> year 2 uses 50 (taxed 0, NOL 50), year 3 uses 50 (taxed 150): tax 0, 30
    tax, nol = standalone_tax(ti, 0.2, np.array([0.5, 1.0]))
    np.testing.assert_allclose(tax, [[0.0, 5.0, 25.0], [0.0, 0.0, 30.0]], rtol=RTOL_MODEL, atol=1e-12)
    np.testing.assert_allclose(nol, [[100.0, 75.0, 0.0], [100.0, 50.0, 0.0]], atol=1e-12)
    # all three with different leading axes: income (2, 1, T), rate (3,), limit (1, 1)
    ti2 = np.stack([ti, 2 * ti])[:, None, :]
    tax, _ = standalone_tax(ti2, np.array([0.15, 0.21, 0.28]), np.array([[0.8]]))
    assert tax.shape == (2, 3, 3)
    np.testing.assert_allclose(tax[1, 1], [0.0, 4.2, 58.8], rtol=RTOL_MODEL)  # every figure doubled


def test_standalone_tax_broadcasts_rates_per_row():
    ti = np.array([[-10.0, 20.0], [-10.0, 20.0]])
    # row 0: limit 1.0 -> use 10, tax 0.2*10 = 2; row 1: limit 0.5 -> use 10, tax 0.3*10 = 3
    tax, nol = standalone_tax(ti, np.array([0.2, 0.3]), np.array([1.0, 0.5]))
    np.testing.assert_allclose(tax, [[0.0, 2.0], [0.0, 3.0]], rtol=RTOL_MODEL)
    np.testing.assert_allclose(nol[:, -1], [0.0, 0.0], atol=1e-12)
    # zero income is neither a loss nor a use
    tax, nol = standalone_tax(np.array([-5.0, 0.0, 10.0]), 0.21, 0.8)
    np.testing.assert_allclose(nol, [5.0, 5.0, 0.0], atol=1e-12)
    np.testing.assert_allclose(tax, [0.0, 0.0, 0.21 * 5.0], rtol=RTOL_MODEL)
