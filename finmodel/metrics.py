"""Pure, vectorized metrics over yearly cash-flow arrays (year axis last).

Sign convention: inflows positive, outflows negative; the first year of the
array is period 0 (numpy-financial's convention, MODEL.md section 2).
"""

from __future__ import annotations

import numpy as np

__all__ = ["npv", "irr", "payback_year", "peak_funding", "window_sum"]


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


# Grids for bracketing the IRR: positive rates map to x = 1/(1+r) in (0, 1],
# negative rates to z = 1 + r in (0, 1]; both keep every power <= 1.
_POS_RATES = np.concatenate([[0.0], np.geomspace(1e-4, 1e4, 240), [1e6, 1e9]])
_NEG_RATES = -np.concatenate(
    [[0.0], np.geomspace(1e-4, 0.05, 40), np.linspace(0.05, 0.95, 181)[1:], 1 - np.geomspace(0.05, 1e-9, 40)[1:]]
)


def _horner(coef: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """p(x) = sum_k coef[..., k] x**k and p'(x), row-wise."""
    p = coef[..., -1].copy()
    dp = np.zeros_like(p)
    for k in range(coef.shape[-1] - 2, -1, -1):
        dp = dp * x + p
        p = p * x + coef[..., k]
    return p, dp


def _first_root(coef: np.ndarray, grid: np.ndarray) -> np.ndarray:
    """Root of p(x) = sum coef_k x**k in the first sign-change bracket along ``grid``.

    ``grid`` runs from 1 toward 0. Returns NaN where no bracket exists.
    """
    n, T = coef.shape
    # Divide out x**m (m leading zero coefficients): same roots in (0, 1], and
    # p no longer underflows to an exact 0 near x = 0 (a false root).
    m = np.argmax(coef != 0, axis=1)
    idx = np.arange(T)[None, :] + m[:, None]
    coef = np.where(idx < T, np.take_along_axis(coef, np.minimum(idx, T - 1), axis=1), 0.0)
    powers = grid[None, :] ** np.arange(T)[:, None]  # (T, G)
    vals = coef @ powers  # (n, G)
    sign = np.sign(vals)
    # A root may sit exactly on a grid point (p == 0 there): the sign products
    # on both sides are then 0, not < 0, so look for zeros separately.
    zero = sign == 0
    change = (sign[:, :-1] * sign[:, 1:]) < 0
    has = change.any(axis=1)
    k = np.argmax(change, axis=1)
    first_zero = np.argmax(zero, axis=1)
    exact = zero.any(axis=1) & (~has | (first_zero <= k))
    out = np.full(n, np.nan)
    out[exact] = grid[first_zero[exact]]
    rows = np.flatnonzero(has & ~exact)
    if rows.size == 0:
        return out
    c = coef[rows]
    a = grid[k[rows]]
    b = grid[k[rows] + 1]
    fa = vals[rows, k[rows]]
    x = 0.5 * (a + b)
    # Safeguarded Newton: keep the bracket, fall back to bisection when a step leaves it.
    for _ in range(100):
        fx, dfx = _horner(c, x)
        same = np.sign(fx) == np.sign(fa)
        a = np.where(same, x, a)
        fa = np.where(same, fx, fa)
        b = np.where(same, b, x)
        with np.errstate(divide="ignore", invalid="ignore"):
            newton = x - fx / dfx
        lo, hi = np.minimum(a, b), np.maximum(a, b)
        inside = np.isfinite(newton) & (newton > lo) & (newton < hi)
        x_new = np.where(inside, newton, 0.5 * (a + b))
        x_new = np.where(fx == 0, x, x_new)
        done = np.abs(x_new - x) <= 4e-16 * np.maximum(np.abs(x), 1e-300)
        x = x_new
        if done.all():
            break
    out[rows] = x
    return out


def irr(values) -> np.ndarray:
    """Internal rate of return of every series, vectorized over leading axes.

    The real root ``r > -1`` of ``sum_t values[..., t] (1 + r) ** -t = 0``
    closest to zero (the convention of ``numpy_financial.irr`` 1.0); NaN where
    there is none (for example when every flow has the same sign).

    Parameters
    ----------
    values : array ``(..., T)``
        Cash flows, first year is period 0. [USD]

    Returns
    -------
    ndarray ``values.shape[:-1]`` (a float for a 1-D input)

    Notes
    -----
    Each series is scaled by its largest absolute flow (so 1e12-dollar flows
    are as safe as unit flows). Roots are bracketed on fixed grids, for
    positive rates in ``x = 1/(1+r)`` and for negative rates in ``z = 1+r``
    (both in (0, 1], so no power overflows); the first bracket on each side of
    zero is refined by safeguarded Newton to machine precision, and the root
    with the smaller ``|r|`` is kept. A pair of roots closer together than the
    grid spacing (8% of the rate for positive rates, 0.005 for
    negative ones) can be missed; numpy-financial
    also misses double roots.

    Examples
    --------
    >>> round(float(irr([-100, 39, 59, 55, 20])), 5)  # numpy-financial docs: 0.28095
    0.28095
    >>> round(float(irr([-150000, 15000, 25000, 35000, 45000, 60000])), 4)  # 0.0524
    0.0524
    """
    v = np.asarray(values, dtype=float)
    shape = v.shape[:-1]
    flat = v.reshape(-1, v.shape[-1])
    ok = np.all(np.isfinite(flat), axis=1)
    flat = np.where(ok[:, None], flat, 0.0)  # NaN/inf rows give NaN, without FP warnings
    scale = np.max(np.abs(flat), axis=1, keepdims=True)
    ok &= scale[:, 0] > 0
    coef = np.where(ok[:, None], flat / np.where(scale > 0, scale, 1.0), 0.0)
    has_pos = (coef > 0).any(axis=1)
    has_neg = (coef < 0).any(axis=1)
    ok &= has_pos & has_neg
    out = np.full(flat.shape[0], np.nan)
    rows = np.flatnonzero(ok)
    if rows.size:
        c = coef[rows]
        x = _first_root(c, 1.0 / (1.0 + _POS_RATES))  # p(x), x = 1/(1+r)
        z = _first_root(c[:, ::-1], 1.0 + _NEG_RATES)  # z^(T-1) p(1/z), z = 1+r
        with np.errstate(divide="ignore", invalid="ignore"):
            r_pos = 1.0 / x - 1.0
            r_neg = z - 1.0
        pick_neg = np.isnan(r_pos) | (np.abs(r_neg) < np.abs(r_pos))
        out[rows] = np.where(pick_neg, r_neg, r_pos)
    result = out.reshape(shape)
    return float(result) if result.ndim == 0 else result


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


def window_sum(series, years: np.ndarray, start: int, length: int) -> np.ndarray:
    """Sum of a yearly series over ``start .. start + length - 1``."""
    years = np.asarray(years)
    mask = (years >= start) & (years < start + length)
    return np.sum(np.asarray(series, dtype=float) * mask, axis=-1)
