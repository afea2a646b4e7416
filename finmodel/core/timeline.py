"""The year grid: the one place that knows period offsets.

Periods are calendar years ``start_year .. end_year``; arrays carry the year
axis last. Flows fall in the year they are booked; discounting is annual with
``DF(y) = (1 + r) ** -(y - valuation_year)`` (MODEL.md section 2), so with
``valuation_year == start_year`` the NPV of a series equals
``numpy_financial.npv(r, series)``.
"""

from __future__ import annotations

import numpy as np

__all__ = ["shift", "trailing_window_sum", "discount_factors", "case_discount_factors"]


def shift(x: np.ndarray, lag, fill: float = 0.0) -> np.ndarray:
    """Delay a yearly series by ``lag`` whole years: ``out[..., t] = x[..., t - lag]``.

    Values pushed past the last year are dropped; the first ``lag`` years get
    ``fill``. ``lag`` is a non-negative integer or an integer array that
    broadcasts against ``x.shape[:-1]``; a lag at or beyond the horizon gives
    an all-``fill`` row.

    Examples
    --------
    >>> shift(np.array([1.0, 2.0, 3.0]), 1).tolist()
    [0.0, 1.0, 2.0]
    """
    x = np.asarray(x, dtype=float)
    lag = np.asarray(lag)
    if lag.ndim == 0:
        k = int(lag)
        if k < 0:
            raise ValueError("lag must be >= 0")
        out = np.full_like(x, fill)
        if k < x.shape[-1]:
            out[..., k:] = x[..., : x.shape[-1] - k]
        return out
    if np.any(lag < 0):
        raise ValueError("lag must be >= 0")
    from finmodel.core._kernels import shift_rows  # compiled: one pass, no index arrays

    n = x.shape[-1]
    shape = np.broadcast_shapes(x.shape[:-1], lag.shape)
    rows = np.ascontiguousarray(np.broadcast_to(x, shape + (n,))).reshape(-1, n)
    lags = np.ascontiguousarray(np.broadcast_to(np.minimum(lag, n).astype(np.int64), shape)).reshape(-1)
    return shift_rows(rows, lags, float(fill)).reshape(shape + (n,))


def trailing_window_sum(x: np.ndarray, window) -> np.ndarray:
    """``out[..., t] = sum of x[..., y]`` for ``t - window < y <= t``.

    This is the amount still in service in year ``t`` of vintages that each
    last ``window`` years (MODEL.md section 6). ``window`` may be ``inf``
    (for ever) or an array broadcasting against ``x.shape[:-1]``.

    Examples
    --------
    >>> trailing_window_sum(np.array([1.0, 1.0, 1.0, 1.0]), 2).tolist()
    [1.0, 2.0, 2.0, 2.0]
    """
    x = np.asarray(x, dtype=float)
    n = x.shape[-1]
    window = np.asarray(window, dtype=float)
    lag = np.where(np.isinf(window), n, np.minimum(window, n)).astype(np.int64)
    if lag.ndim == 0:
        total = np.cumsum(x, axis=-1)
        return total - shift(total, lag)
    from finmodel.core._kernels import trailing_rows  # the same sums, in one compiled pass

    shape = np.broadcast_shapes(x.shape[:-1], lag.shape)
    rows = np.ascontiguousarray(np.broadcast_to(x, shape + (n,))).reshape(-1, n)
    lags = np.ascontiguousarray(np.broadcast_to(lag, shape)).reshape(-1)
    return trailing_rows(rows, lags).reshape(shape + (n,))


def discount_factors(rate, years: np.ndarray, valuation_year: int) -> np.ndarray:
    """``(1 + rate) ** -(years - valuation_year)``; ``rate`` broadcasts (add a trailing axis).

    Examples
    --------
    >>> discount_factors(0.1, np.array([2025, 2026]), 2025).round(6).tolist()
    [1.0, 0.909091]
    """
    rate = np.asarray(rate, dtype=float)
    return (1.0 + rate) ** -(np.asarray(years) - valuation_year).astype(float)


def case_discount_factors(rate, years: np.ndarray, valuation_year: int) -> np.ndarray:
    """:func:`discount_factors` of a rate per case ``(..., case)``: ``(..., case, T)``, or ``(..., 1, T)``.

    Where every case has the same rate (a drawn rate applies in every case),
    the factors are computed once and returned with a case axis of length 1,
    which broadcasts against every case: the same bits (a power of the same
    numbers), a fraction of the powers.

    Examples
    --------
    >>> case_discount_factors(np.array([0.1, 0.1]), np.array([2025, 2026]), 2025).shape
    (1, 2)
    """
    rate = np.asarray(rate, dtype=float)
    if rate.ndim and rate.shape[-1] > 1 and np.array_equal(rate, np.broadcast_to(rate[..., :1], rate.shape)):
        rate = rate[..., :1]
    return discount_factors(rate[..., None], years, valuation_year)
