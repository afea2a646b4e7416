"""finmodel.core.timeline: year shifts, in-service windows and discount factors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RTOL_MODEL

from finmodel.core.timeline import discount_factors, shift, trailing_window_sum


def test_shift_scalar_lag():
    x = np.array([1.0, 2.0, 3.0, 4.0])
    np.testing.assert_array_equal(shift(x, 0), x)
    np.testing.assert_array_equal(shift(x, 2), [0, 0, 1, 2])
    np.testing.assert_array_equal(shift(x, 4), [0, 0, 0, 0])  # lag at the horizon
    np.testing.assert_array_equal(shift(x, 9), [0, 0, 0, 0])
    np.testing.assert_array_equal(shift(x, 1, fill=-1.0), [-1, 1, 2, 3])
    assert shift(x, 1) is not x and x.tolist() == [1, 2, 3, 4]  # input unchanged


def test_shift_array_lag_per_row():
    x = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]])
    got = shift(x, np.array([0, 1, 5]))
    np.testing.assert_array_equal(got, [[1, 2, 3], [0, 4, 5], [0, 0, 0]])
    # a lag per row broadcasting against extra leading axes: (2, 3 rows, T)
    got = shift(np.stack([x, 10 * x]), np.array([2, 0, 1]))
    np.testing.assert_array_equal(got[1], [[0, 0, 10], [40, 50, 60], [0, 70, 80]])


def test_shift_refuses_negative_lag():
    with pytest.raises(ValueError):
        shift(np.ones(3), -1)
    with pytest.raises(ValueError):
        shift(np.ones((2, 3)), np.array([0, -1]))


def test_trailing_window_sum():
    # vintages of 1, 2, 4, 8 each lasting 2 years: 1, 1+2, 2+4, 4+8
    x = np.array([1.0, 2.0, 4.0, 8.0])
    np.testing.assert_array_equal(trailing_window_sum(x, 2), [1, 3, 6, 12])
    np.testing.assert_array_equal(trailing_window_sum(x, np.inf), [1, 3, 7, 15])  # for ever
    np.testing.assert_array_equal(trailing_window_sum(x, 0), [0, 0, 0, 0])  # life 0
    np.testing.assert_array_equal(trailing_window_sum(x, 1), x)
    rows = trailing_window_sum(np.stack([x, x]), np.array([1.0, 3.0]))
    np.testing.assert_array_equal(rows, [[1, 2, 4, 8], [1, 3, 7, 14]])


def test_discount_factors():
    # DF(y) = (1 + r) ** -(y - valuation_year), MODEL.md section 2
    years = np.arange(2024, 2028)
    np.testing.assert_allclose(
        discount_factors(0.1, years, 2025), [1.1, 1.0, 1 / 1.1, 1 / 1.21], rtol=RTOL_MODEL
    )
    df = discount_factors(np.array([[0.0], [0.05]]), years, 2024)
    assert df.shape == (2, 4)
    np.testing.assert_allclose(df[0], 1.0)
    np.testing.assert_allclose(df[1], 1.05 ** -np.arange(4.0), rtol=RTOL_MODEL)
