"""Debt tranches, the loan guarantee's default cost and the standalone credit pool (MODEL.md 13-16).

Oracles: numpy-financial's ``pmt``, ``ipmt`` and ``ppmt`` (the level-payment
schedule), hand-computed schedules written out below, and identities
(principal repaid equals debt drawn; used + expired + left = credit joined).
"""

from __future__ import annotations

import numpy as np
import numpy_financial as npf
import pytest
from conftest import RTOL_MODEL
from hypothesis import given, settings
from hypothesis import strategies as st

from finmodel.core.debt import debt_service, expected_default_cost, level_payment
from finmodel.core.tax import credit_pool


@pytest.mark.parametrize(("rate", "tenor"), [(0.07, 10), (0.055, 15), (0.12, 3), (0.0, 8), (0.07, 1)])
def test_level_payment_is_numpy_financials_pmt(rate, tenor):
    assert level_payment(rate, tenor) == pytest.approx(npf.pmt(rate, tenor, -1.0), rel=1e-13)


@pytest.mark.parametrize(
    ("rate", "tenor", "grace"), [(0.07, 10, 0), (0.07, 10, 2), (0.055, 5, 1), (0.12, 3, 4)]
)
def test_one_tranche_against_numpy_financial(rate, tenor, grace):
    T, y, amount = 20, 2, 1000.0
    drawn = np.zeros(T)
    drawn[y] = amount
    d = debt_service(drawn, rate, tenor, grace)
    per = np.arange(1, tenor + 1)
    first = y + grace + 1  # first payment year
    # interest only in y+1 .. y+grace
    np.testing.assert_allclose(d.interest[y + 1 : first], rate * amount, rtol=RTOL_MODEL)
    np.testing.assert_allclose(
        d.interest[first : first + tenor], -npf.ipmt(rate, per, tenor, amount), rtol=1e-12, atol=1e-9
    )
    np.testing.assert_allclose(
        d.principal[first : first + tenor], -npf.ppmt(rate, per, tenor, amount), rtol=1e-12, atol=1e-9
    )
    assert np.all(d.interest[: y + 1] == 0) and np.all(d.principal[:first] == 0)
    assert np.all(d.interest[first + tenor :] == 0) and np.all(d.balloon == 0)
    assert d.principal.sum() == pytest.approx(amount, rel=1e-12)
    assert d.balance[y] == amount and d.balance[first + tenor - 1] == pytest.approx(0, abs=1e-9)


@pytest.mark.parametrize("rate", [0.0, 1e-12, 1e-190])
def test_zero_and_tiny_rates_repay_in_equal_parts(rate):
    # the r -> 0 limit: principal A / n a year, interest r times the balance (numpy-financial's
    # formula loses the digits of a rate of 1e-12; the schedule here keeps them)
    drawn = np.zeros(8)
    drawn[0] = 600.0
    d = debt_service(drawn, rate, 6, 0)
    np.testing.assert_allclose(d.principal[1:7], 100.0, rtol=1e-9)
    np.testing.assert_allclose(d.interest[1:7], rate * np.array([600, 500, 400, 300, 200, 100.0]), rtol=1e-6)
    assert d.balance[6] == pytest.approx(0, abs=1e-9)


def test_hand_computed_schedule_with_grace_and_balloon():
    # $100 drawn at the end of year 0 at 10%, one grace year, 3 payments, a 4-year horizon
    # (years 0-3): interest 10 in year 1; payments in years 2, 3 (and 4, after the horizon).
    # pmt = 100 * 0.1 / (1 - 1.1 ** -3) = 40.2115; year 2: interest 10, principal 30.2115,
    # balance 69.7885; year 3: interest 6.97885, principal 33.2326, balance 36.5559 -> balloon.
    d = debt_service(np.array([100.0, 0, 0, 0]), 0.10, 3, 1)
    pmt = 100 * 0.1 / (1 - 1.1**-3)
    np.testing.assert_allclose(d.interest, [0, 10.0, 10.0, 6.978852], rtol=1e-6)
    np.testing.assert_allclose(d.principal, [0, 0, pmt - 10, pmt - 6.978852], rtol=1e-6)
    np.testing.assert_allclose(d.balloon, [0, 0, 0, 100 - 2 * pmt + 10 + 6.978852], rtol=1e-6)
    np.testing.assert_allclose(d.balance, [100, 100, 100 - pmt + 10, 36.555891], rtol=1e-6)
    assert d.principal.sum() + d.balloon.sum() == pytest.approx(100.0, rel=1e-12)


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    draws=st.lists(st.floats(0, 1e12), min_size=1, max_size=25),
    rate=st.floats(0, 0.2),
    tenor=st.integers(1, 30),
    grace=st.integers(0, 5),
)
def test_principal_repaid_equals_debt_drawn(draws, rate, tenor, grace):
    drawn = np.array(draws)
    d = debt_service(drawn, rate, tenor, grace)
    total = drawn.sum()
    assert d.principal.sum() + d.balloon.sum() == pytest.approx(total, rel=1e-9, abs=1e-3)
    assert np.all(d.balance >= -1e-3) and np.all(d.interest >= -1e-9)
    # interest is the rate on the balance owed at the start of the year
    opening = np.concatenate([[0.0], d.balance[:-1]])
    np.testing.assert_allclose(d.interest, rate * opening, rtol=1e-9, atol=1e-3)


def test_tranches_broadcast_over_draws_and_cases():
    drawn = np.array([[100.0, 50.0, 0.0], [0.0, 80.0, 20.0]])  # (case, T)
    rate = np.array([[0.07, 0.055], [0.09, 0.0]])  # (draw, case)
    d = debt_service(drawn, rate, 2, 0)
    assert d.interest.shape == (2, 2, 3)
    single = debt_service(drawn[1], 0.0, 2, 0)
    np.testing.assert_array_equal(d.interest[1, 1], single.interest)


def test_expected_default_cost_on_the_opening_balance():
    balance = np.array([100.0, 100.0, 60.0, 0.0])
    cost = expected_default_cost(balance, 0.01, 0.5)
    np.testing.assert_allclose(cost, [0.0, 0.5, 0.5, 0.3])


# --------------------------------------------------------------------------- the credit pool


def test_pool_hand_computed():
    # 100 joins in year 0 and 50 in year 2, usable for 2 more years; tax 40, 40, 100, 0, 10, 75%:
    # year 0: 30 used (70 left); 1: 30 (40 left); 2: 75 room: 40 of year 0 then 35 of year 2;
    # year 0's last year was 2, so nothing of it expires; year 3: no tax; year 4: 7.5 of year 2's 15;
    # year 2's last usable year is 4: 7.5 expires at its end unless year 4 is the last (here it is not).
    joined = np.array([100.0, 0, 50, 0, 0, 0])
    tax = np.array([40.0, 40, 100, 0, 10, 0])
    used, expired, left = credit_pool(joined, tax, 0.75, 2)
    np.testing.assert_allclose(used, [30, 30, 75, 0, 7.5, 0])
    np.testing.assert_allclose(expired, [0, 0, 0, 0, 7.5, 0])
    assert float(left) == 0.0
    # the same pool ending in year 4: 7.5 is still usable then, so it is left, not expired
    used, expired, left = credit_pool(joined[:5], tax[:5], 0.75, 2)
    assert expired.sum() == 0 and float(left) == pytest.approx(7.5)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    data=st.lists(st.tuples(st.floats(0, 1e11), st.floats(-1e11, 1e11)), min_size=1, max_size=30),
    limit=st.floats(0, 1),
    carry=st.integers(0, 25),
)
def test_pool_never_negative_and_conserves_credit(data, limit, carry):
    joined = np.array([j for j, _ in data])
    tax = np.array([x for _, x in data])
    used, expired, left = credit_pool(joined, tax, limit, carry)
    assert np.all(used >= 0) and np.all(expired >= 0) and float(left) >= 0
    assert used.sum() + expired.sum() + float(left) == pytest.approx(joined.sum(), rel=1e-9, abs=1e-3)
    assert np.all(used <= limit * np.maximum(tax, 0) * (1 + 1e-12) + 1e-6)
    # never more used by year t than has joined by then
    assert np.all(np.cumsum(used) <= np.cumsum(joined) * (1 + 1e-12) + 1e-3)


def test_pool_with_room_for_everything_uses_each_credit_when_it_joins():
    joined = np.array([10.0, 20, 30])
    used, expired, left = credit_pool(joined, np.full(3, 1e9), 0.75, 20)
    np.testing.assert_array_equal(used, joined)
    assert expired.sum() == 0 and float(left) == 0
