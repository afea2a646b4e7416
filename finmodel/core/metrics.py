"""Pure, vectorized metrics over yearly cash-flow arrays (year axis last).

Sign convention: inflows positive, outflows negative; the first year of the
array is period 0 (numpy-financial's convention, MODEL.md section 2).
"""

from __future__ import annotations

import threading

import numpy as np

__all__ = ["npv", "irr", "irr_rates", "payback_year", "peak_funding", "cumulative_profile", "window_sum"]


def npv(rate, values, years: np.ndarray | None = None, valuation_year: int | None = None) -> np.ndarray:
    """Net present value of yearly flows.

    ``sum_t values[..., t] * (1 + rate) ** -(years[t] - valuation_year)``; with
    the default ``years = 0..T-1`` and ``valuation_year = 0`` this is
    ``numpy_financial.npv(rate, values)``.

    Parameters
    ----------
    rate : float or array broadcasting to ``values.shape[:-1]``
        Discount rate per year. [fraction]
    values : array ``(..., T)``
        Cash flows. [USD]

    Warnings
    --------
    Like ``numpy_financial.npv`` (and unlike Excel's NPV) the first flow is
    not discounted when ``valuation_year`` is the first year.

    Examples
    --------
    >>> round(float(npv(0.281, [-100, 39, 59, 55, 20])), 6)  # numpy-financial docs example
    -0.008479
    """
    values = np.asarray(values, dtype=float)
    T = values.shape[-1]
    years = np.arange(T) if years is None else np.asarray(years)
    vy = years[0] if valuation_year is None else valuation_year
    rate = np.asarray(rate, dtype=float)[..., None]
    df = (1.0 + rate) ** -(years - vy).astype(float)
    return np.sum(values * df, axis=-1)


#: From this many series up, :func:`irr` uses every core.
PARALLEL_IRR_MIN_SERIES = 4096


def irr(values, group: int = 1) -> np.ndarray:
    """Internal rate of return of every series, vectorized over leading axes.

    The real root ``r > -1`` of ``sum_t values[..., t] (1 + r) ** -t = 0``
    closest to zero (the convention of ``numpy_financial.irr`` 1.0); NaN where
    there is none (for example when every flow has the same sign).

    Parameters
    ----------
    values : array ``(..., T)``
        Cash flows, first year is period 0. [USD]

    group : int
        Series come in groups of ``group`` consecutive rows (the cases of a
        draw: ``values.shape[-2]``); a series equal to an earlier one of its
        group is solved once. The default, 1, solves every series.

    Returns
    -------
    ndarray ``values.shape[:-1]`` (a float for a 1-D input)

    Notes
    -----
    Each series is solved in compiled code (numba, :mod:`finmodel.core._kernels`),
    on every core for large inputs, with no Python loop: under 0.1 us of one core per series
    for flows with one sign change and about 0.25 us for random flows with many.
    On either side of ``r = 0`` the flows are a polynomial in a variable in
    (0, 1) (``1/(1+r)`` for ``r > 0``, ``1+r`` for ``r < 0``), so no power
    overflows and 1e12-dollar flows are as safe as unit flows. One sign
    change in the flows means exactly one root (Descartes' rule of signs),
    refined by safeguarded Newton from ``r = 0``; with several, bounds from
    Descartes' rule on each side (on cumulative sums, then on Taylor-shifted
    coefficients) decide whether that side has no root, exactly one,
    or possibly more, and in the last case the side is searched outward
    from ``r = 0`` on a fine grid of ``|r|``, splitting a cell at its
    stationary point so that a pair of roots inside one cell is still found.
    Roots agree with ``numpy_financial.irr`` (eigenvalues of the companion
    matrix) to about 1e-12 where it finds one; neither finds a double root
    that only touches zero.

    Examples
    --------
    >>> round(float(irr([-100, 39, 59, 55, 20])), 5)  # numpy-financial docs: 0.28095
    0.28095
    >>> round(float(irr([-150000, 15000, 25000, 35000, 45000, 60000])), 4)  # 0.0524
    0.0524
    """
    from finmodel.core._kernels import (  # compiled on first use (cached on disk)
        GRID,
        irr_rows,
        irr_rows_parallel,
    )

    v = np.asarray(values, dtype=float)
    shape = v.shape[:-1]
    flat = np.ascontiguousarray(v.reshape(-1, v.shape[-1]))
    # Many series from the main thread: all cores. From a worker thread (the
    # Monte Carlo engine runs chunks in threads): one core, as numba's thread
    # pool must not be entered from two threads at once.
    many = flat.shape[0] >= PARALLEL_IRR_MIN_SERIES and threading.current_thread() is threading.main_thread()
    result = (irr_rows_parallel if many else irr_rows)(flat, GRID, max(int(group), 1)).reshape(shape)
    return float(result) if result.ndim == 0 else result


def irr_rates(values) -> np.ndarray:
    """Every rate ``r > -1`` at which the NPV of one series of flows is zero, in increasing order.

    The real positive roots ``x = 1 / (1 + r)`` of ``sum_t values[t] x ** t``
    (numpy's ``roots``: eigenvalues of the companion matrix), to about 1e-9.
    Flows that change sign more than once may have several such rates; the
    IRR of :func:`irr` is the one closest to zero (MODEL.md section 9), and
    a reader should know when it had a choice.

    Examples
    --------
    Borrow 230 at the end of year 1 between two payments (a classic case with two rates):

    >>> irr_rates([-100, 230, -132]).round(6).tolist()
    [0.1, 0.2]
    >>> irr_rates([-100, 39, 59, 55, 20]).round(5).tolist()  # one sign change: one rate
    [0.28095]
    """
    c = np.trim_zeros(np.asarray(values, dtype=float).ravel())
    if c.size < 2 or not np.all(np.isfinite(c)):
        return np.empty(0)
    x = np.roots((c / np.max(np.abs(c)))[::-1])
    real = x[(np.abs(x.imag) <= 1e-9 * np.maximum(1.0, np.abs(x))) & (x.real > 0)].real
    rates = np.sort(1.0 / real - 1.0)
    if rates.size > 1:  # a double root may come out as two very close ones
        rates = rates[np.concatenate([[True], np.diff(rates) > 1e-7 * np.maximum(1.0, np.abs(rates[1:]))])]
    return rates


def payback_year(cash_flow, years: np.ndarray) -> np.ndarray:
    """First year from which cumulative cash flow stays ``>= 0`` through the end.

    NaN when cumulative cash flow is negative in the last year (MODEL.md 9).

    Examples
    --------
    >>> payback_year([-10, 5, 6, -2, 3], np.arange(2025, 2030)).item()
    2029.0
    """
    cum = np.cumsum(np.asarray(cash_flow, dtype=float), axis=-1)
    ok = cum >= 0
    stays = np.flip(np.logical_and.accumulate(np.flip(ok, -1), axis=-1), -1)
    first = np.argmax(stays, axis=-1)
    return np.where(stays[..., -1], np.asarray(years)[first].astype(float), np.nan)


def peak_funding(cash_flow) -> np.ndarray:
    """``-min_t cumsum(CF)``, or 0 when cumulative cash flow never goes negative. [USD]"""
    cum = np.cumsum(np.asarray(cash_flow, dtype=float), axis=-1)
    return np.maximum(0.0, -np.min(cum, axis=-1))


def cumulative_profile(cash_flow, years: np.ndarray, out: np.ndarray | None = None) -> tuple:
    """Cumulative cash flow, :func:`payback_year` and :func:`peak_funding` in one compiled pass.

    Returns ``(cumulative, payback, peak)``: ``cumsum(CF)`` ``(..., T)`` [USD],
    the payback year ``(...)`` [year] and the peak funding need ``(...)``
    [USD], the same bits as the three numpy computations. ``out``, when
    given, is a C-contiguous float array of ``cash_flow``'s shape that
    receives the cumulative sums (and is returned).

    Examples
    --------
    >>> cum, year, peak = cumulative_profile([-10.0, 5, 6, -2, 3], np.arange(2025, 2030))
    >>> cum.tolist(), float(year), float(peak)
    ([-10.0, -5.0, 1.0, -1.0, 2.0], 2029.0, 10.0)
    """
    from finmodel.core._kernels import cumulative_rows

    cf = np.asarray(cash_flow, dtype=float)
    T = cf.shape[-1]
    rows = np.ascontiguousarray(cf.reshape(-1, T))
    if out is None:
        out = np.empty(cf.shape)
    payback = np.empty(rows.shape[0])
    peak = np.empty(rows.shape[0])
    cumulative_rows(rows, np.asarray(years, dtype=float), out.reshape(-1, T), payback, peak)
    return out, payback.reshape(cf.shape[:-1]), peak.reshape(cf.shape[:-1])


def window_sum(series, years: np.ndarray, start: int, length: int) -> np.ndarray:
    """Sum of a yearly series over ``start .. start + length - 1``."""
    years = np.asarray(years)
    mask = (years >= start) & (years < start + length)
    return np.sum(np.asarray(series, dtype=float) * mask, axis=-1)
