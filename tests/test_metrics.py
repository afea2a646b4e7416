"""finmodel.core.metrics against published examples and hand arithmetic."""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest
from conftest import ATOL_DOC_5DP, RTOL_MODEL, SCENARIOS

from finmodel.core.metrics import irr, irr_rates, npv, payback_year, peak_funding, window_sum

# numpy-financial 1.0.0, ``numpy_financial.irr`` docstring, Examples section
# (https://numpy.org/numpy-financial/latest/irr.html): the flows and the
# printed ``round(npf.irr(values), 5)``.
IRR_DOC_EXAMPLES = [
    ([-100, 39, 59, 55, 20], 0.28095),
    ([-100, 0, 0, 74], -0.0955),
    ([-100, 100, 0, -7], -0.0833),
    ([-100, 100, 0, 7], 0.06206),
    ([-5, 10.5, 1, -8, 1], 0.0886),
]


@pytest.mark.parametrize(("values", "expected"), IRR_DOC_EXAMPLES)
def test_irr_numpy_financial_doc_examples(values, expected):
    assert round(irr(values), 5) == pytest.approx(expected, abs=ATOL_DOC_5DP)
    # and the root itself agrees with numpy-financial's to machine precision
    assert irr(values) == pytest.approx(npf.irr(values), abs=1e-12)


@pytest.mark.parametrize(("values", "expected"), IRR_DOC_EXAMPLES)
def test_irr_is_a_root(values, expected):
    r = irr(values)
    assert abs(npv(r, values)) <= 1e-10 * max(abs(v) for v in values)


def test_npv_numpy_financial_doc_example():
    # numpy-financial 1.0.0, ``numpy_financial.npv`` docstring: investment of 40,000
    # then 5,000, 8,000, 12,000 and 30,000 at 8% -> 3065.22267 (printed to 5 decimals).
    rate, cashflows = 0.08, [-40_000, 5_000, 8_000, 12_000, 30_000]
    assert round(float(npv(rate, cashflows)), 5) == pytest.approx(3065.22267, abs=ATOL_DOC_5DP)
    # The same by hand: sum v_t / 1.08**t.
    by_hand = -40_000 + 5_000 / 1.08 + 8_000 / 1.08**2 + 12_000 / 1.08**3 + 30_000 / 1.08**4
    assert float(npv(rate, cashflows)) == pytest.approx(by_hand, rel=RTOL_MODEL)


def test_npv_first_flow_not_discounted_and_calendar_years():
    # DF(y) = (1 + r) ** -(y - valuation_year), MODEL.md section 2.
    values = [-100.0, 50.0, 60.0]
    assert float(npv(0.1, values)) == pytest.approx(-100 + 50 / 1.1 + 60 / 1.21, rel=RTOL_MODEL)
    years = np.array([2025, 2026, 2027])
    # valued one year earlier: every flow discounted one more year
    got = float(npv(0.1, values, years, valuation_year=2024))
    assert got == pytest.approx((-100 / 1.1 + 50 / 1.21 + 60 / 1.331), rel=RTOL_MODEL)
    # valued at the end: flows compounded forward
    got = float(npv(0.1, values, years, valuation_year=2027))
    assert got == pytest.approx(-100 * 1.21 + 50 * 1.1 + 60, rel=RTOL_MODEL)


def test_npv_at_rate_zero_is_the_sum():
    values = [-3.0, 1.5, 2.25, -0.5]
    assert float(npv(0.0, values)) == pytest.approx(sum(values), rel=RTOL_MODEL)


@pytest.mark.parametrize(
    "values",
    [
        [1, 2, 3],
        [-1, -2, -3],
        [0, 0, 0],
        [0.0],
        [5.0],
        [-1, 0, 0],
        [1, 2, np.nan, -3],
        [-1, np.inf, 2],
    ],
)
def test_irr_without_sign_change_or_finite_flows_is_nan(values):
    assert math.isnan(irr(values))


def test_irr_at_1e12_scale_equals_unit_scale():
    base = np.array([-100, 39, 59, 55, 20], dtype=float)
    small, big = irr(base), irr(base * 1e10)  # flows of 1e12 USD
    assert big == pytest.approx(small, abs=1e-12)
    assert big == pytest.approx(npf.irr(base * 1e10), abs=1e-12)
    assert irr(base * 1e-6) == pytest.approx(small, abs=1e-12)


def test_irr_broadcasts_over_leading_axes():
    rows = [v for v, _ in IRR_DOC_EXAMPLES[:4]]  # all of length 4 or 5: pad to 5
    flows = np.array([r + [0] * (5 - len(r)) for r in rows], dtype=float)  # (4, 5)
    stacked = np.stack([flows, flows * 3.0, -flows])  # (3, 4, 5)
    got = irr(stacked)
    assert got.shape == (3, 4)
    expected = np.array([npf.irr(r) for r in flows])
    for k in range(3):
        np.testing.assert_allclose(got[k], expected, rtol=0, atol=1e-12)


def test_npv_broadcasts_rates_and_series():
    values = np.array([[-100.0, 60.0, 60.0], [-50.0, 10.0, 80.0]])
    rates = np.array([0.05, 0.2])
    got = npv(rates, values)
    assert got.shape == (2,)
    for k in range(2):
        assert got[k] == pytest.approx(npf.npv(rates[k], values[k]), rel=RTOL_MODEL)
    # a column of rates against one series: one NPV per rate
    grid = npv(np.array([[0.0], [0.1]]), values)
    assert grid.shape == (2, 2)
    assert grid[1, 0] == pytest.approx(npf.npv(0.1, values[0]), rel=RTOL_MODEL)


def test_irr_exact_root_on_an_internal_grid_rate():
    # Roots that fall exactly on a rate the solver brackets on (here r = -5% and
    # r = 0.01%): -1 + 0.95 / (1 + r) = 0 -> r = -0.05; -1 + 1.0001 / (1 + r) -> 1e-4.
    assert irr([-1.0, 0.95]) == pytest.approx(-0.05, abs=1e-14)
    assert irr([-10_000.0, 10_001.0]) == pytest.approx(1e-4, abs=1e-14)


def test_irr_ignores_trailing_and_leading_zero_flows():
    # -1 + 2 / (1 + r) = 0 -> r = 1 whatever zeros come before or after.
    assert irr([-1.0, 2.0] + [0.0] * 60) == pytest.approx(1.0, abs=1e-12)
    assert irr([0.0] * 60 + [-1.0, 2.0]) == pytest.approx(1.0, abs=1e-12)
    assert irr([-1.0, 2.0] + [0.0] * 400) == pytest.approx(1.0, abs=1e-12)


def test_irr_picks_the_root_closest_to_zero():
    # (1 + r)^-t polynomial with roots r = 0.1 and r = 0.5 in x = 1/(1+r):
    # (x - 1/1.1)(x - 1/1.5) = x^2 - (1/1.1 + 1/1.5) x + 1/1.65, flows [c0, c1, c2].
    flows = [1 / 1.65, -(1 / 1.1 + 1 / 1.5), 1.0]
    assert irr(flows) == pytest.approx(0.1, abs=1e-12)
    # numpy-financial's convention is the same
    assert npf.irr(flows) == pytest.approx(0.1, abs=1e-12)


def test_payback_year_moves_with_a_later_dip():
    years = np.arange(2025, 2031)
    # cumulative: -10, -4, 1, 3, -1, 4 -> stays >= 0 only from 2030
    assert payback_year([-10, 6, 5, 2, -4, 5], years).item() == 2030
    # cumulative: -10, -4, 1, 3, 2, 7 -> from 2027
    assert payback_year([-10, 6, 5, 2, -1, 5], years).item() == 2027
    # never back above zero
    assert math.isnan(payback_year([-10, 1, 1, 1, 1, 1], years).item())
    # non-negative from the start
    assert payback_year([0, 1, 0, 0, 0, 0], years).item() == 2025


def test_peak_funding_is_minus_the_lowest_cumulative():
    # cumulative: -10, -15, -3, 4 -> 15
    assert float(peak_funding([-10, -5, 12, 7])) == 15.0
    assert float(peak_funding([1, 2, 3])) == 0.0
    got = peak_funding(np.array([[-10, -5, 12, 7], [1, -2, 0, 0]]))
    np.testing.assert_array_equal(got, [15.0, 1.0])


def test_window_sum_inclusive_bounds():
    years = np.arange(2025, 2041)
    series = np.arange(16.0)  # value = years - 2025
    # 2026..2035 -> 1 + ... + 10 = 55
    assert float(window_sum(series, years, 2026, 10)) == 55.0
    assert float(window_sum(series, years, 2040, 1)) == 15.0


@pytest.mark.parametrize(
    "rates",
    [(0.1,), (0.1, 0.2), (-0.3, 0.05, 0.6), (0.0, 0.25), (-0.5, 1.5)],
)
def test_irr_rates_are_every_root_and_the_irr_is_the_one_closest_to_zero(rates):
    """Flows built from their rates: prod_i (1 - (1 + r_i) x) has the roots x = 1 / (1 + r_i)."""
    poly = np.array([1.0])
    for r in rates:
        poly = np.convolve(poly, [1.0, -(1.0 + r)])  # coefficients of x ** 0, x ** 1, ...
    flows = -1e9 * poly
    found = irr_rates(flows)
    np.testing.assert_allclose(found, sorted(rates), atol=1e-9)
    closest = min(rates, key=abs)
    assert float(irr(flows)) == pytest.approx(closest, abs=1e-9)
    assert len(irr_rates(np.concatenate([[0.0, 0.0], flows, [0.0]]))) == len(rates)  # zeros at the ends


def test_irr_rates_of_flows_without_a_rate():
    assert irr_rates([1.0, 2.0, 3.0]).size == 0
    assert irr_rates([0.0, -5.0, 0.0]).size == 0
    assert irr_rates([-1.0, np.nan, 2.0]).size == 0


def test_a_levered_irr_with_several_rates_is_noted_once_with_each_cases_rates():
    import finmodel

    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))
    (note,) = [n for n in r.notes if "several rates" in n]
    assert note.startswith("the equity cash flow changes sign more than once")
    for case in r.cases:
        flows = r.lines["equity_cash_flow"][r.cases.index(case)]
        rates = irr_rates(flows)
        assert len(rates) == 3
        assert min(abs(rates - r.metric("equity_irr", case))) < 1e-9  # the IRR is one of them
        assert f"'{case}' " + ", ".join(f"{100 * x:.1f}%" for x in rates) in note
    base = finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    assert not [n for n in base.notes if "several rates" in n]
