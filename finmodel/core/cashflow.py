"""Pure array functions for spend, placed in service, operations and book value.

Shapes: the year axis is last; a category axis, when present, is just before
it. Every function broadcasts over extra leading axes (cases, draws) and
returns new arrays. Money is nominal USD; capacity is GW of IT load.
"""

from __future__ import annotations

import numpy as np

from finmodel.core.timeline import shift, trailing_window_sum

__all__ = [
    "schedule_shares",
    "replacements",
    "capacity_placed",
    "revenue_per_usd_per_gw_year",
    "power_cost",
    "om_cost",
    "book_value",
]

HOURS_PER_YEAR = 8760.0
MWH_PER_GW_HOUR = 1000.0


def schedule_shares(schedule: dict, years: int) -> np.ndarray:
    """Share of the commitment spent in each program year (MODEL.md section 3).

    ``{shares: [...]}`` is used as given; ``flat`` gives equal shares;
    ``linear`` shares proportional to ``k + 1``; ``s_curve`` shares
    proportional to ``F(k + 1) - F(k)`` with ``F(x) = 1 / (1 + exp(-a (x - m)))``.

    Examples
    --------
    >>> schedule_shares({"ramp": "linear"}, 3).round(4).tolist()
    [0.1667, 0.3333, 0.5]
    """
    if "shares" in schedule:
        return np.asarray(schedule["shares"], dtype=float)
    k = np.arange(years, dtype=float)
    ramp = schedule["ramp"]
    if ramp == "flat":
        w = np.ones(years)
    elif ramp == "linear":
        w = k + 1.0
    elif ramp == "s_curve":
        m = schedule.get("midpoint", years / 2)
        a = schedule.get("steepness", 1.0)

        def F(x):
            return 1.0 / (1.0 + np.exp(-a * (x - m)))

        w = F(k + 1.0) - F(k)
    else:  # pragma: no cover - validated upstream
        raise ValueError(f"unknown ramp {ramp!r}")
    return w / w.sum()


def replacements(
    bought: np.ndarray, life_years, refreshed, growth, last_year, years: np.ndarray
) -> np.ndarray:
    """What replacing retired property buys, year by year (MODEL.md section 17).

    ``bought`` ``(..., T)`` is what the program buys of a category in each
    year (spend in USD, or GW); each purchase is replaced ``L`` years later
    (``L = life_years``, a whole number >= 1) at ``(1 + growth) ** L`` times
    its amount, and so is each replacement, in the years ``y <= last_year``.
    The total bought is ``tot[y] = bought[y] + r[y]``,
    ``r[y] = (1 + growth) ** L * tot[y - L]`` for ``y <= last_year``; this
    returns ``r``. Since ``y - jL <= y``, a year that replaces carries all
    earlier replacements of its chain, so ``r[y] = sum_{j >= 1} (1 + growth)
    ** (j L) * bought[y - j L]`` there: one term per generation, no loop over
    years. ``refreshed`` (bool, broadcasting with ``life_years``) switches the
    chain off where false; ``last_year`` (``(...)``, against ``years``) cuts it.

    Examples
    --------
    Two purchases of 10 and 20 with a 2-year life, replaced at +10% a year
    through 2030:

    >>> years = np.arange(2025, 2032)
    >>> r = replacements(np.array([10.0, 20, 0, 0, 0, 0, 0]), 2, True, 0.1, 2030, years)
    >>> np.round(r, 4).tolist()
    [0.0, 0.0, 12.1, 24.2, 14.641, 29.282, 0.0]
    """
    x = np.asarray(bought, dtype=float)
    T = x.shape[-1]
    life = np.asarray(life_years, dtype=float)
    on = np.asarray(refreshed, dtype=bool) & np.isfinite(life) & (life >= 1)
    lag = np.where(on, np.where(np.isfinite(life), life, T), T).astype(np.int64)
    factor = (1.0 + np.asarray(growth, dtype=float)) ** np.where(on, lag, 0)
    shortest = int(lag.min()) if lag.size else T
    out = np.zeros(np.broadcast_shapes(x.shape, lag.shape + (T,), factor.shape + (T,)))
    scale = np.ones(factor.shape)
    for j in range(1, (T - 1) // max(shortest, 1) + 1):  # one term per generation of replacements
        scale = scale * factor
        out += scale[..., None] * shift(x, j * lag)
    cut = np.asarray(years) <= np.asarray(last_year, dtype=float)[..., None]
    return np.where(on[..., None] & cut, out, 0.0)


def capacity_placed(placed_usd: np.ndarray, capacity_gw) -> np.ndarray:
    """GW placed in service by year: ``capacity_gw * P[y] / sum_y P[y]``. [GW]

    ``placed_usd`` is the capacity category's placed-in-service spend
    ``(..., T)``; a series that sums to 0 gives 0 GW.
    """
    placed = np.asarray(placed_usd, dtype=float)
    total = placed.sum(axis=-1, keepdims=True)
    share = np.divide(placed, total, out=np.zeros_like(placed), where=total != 0)
    return np.asarray(capacity_gw, dtype=float)[..., None] * share


def revenue_per_usd_per_gw_year(operating_gw: np.ndarray, growth, t_index: np.ndarray) -> np.ndarray:
    """Revenue for a price of 1 USD per GW-year: ``O[t] * (1 + g) ** t``. [USD per (USD/GW-year)]"""
    g = np.asarray(growth, dtype=float)[..., None]
    return operating_gw * (1.0 + g) ** t_index


def power_cost(operating_gw, utilization, pue, price_usd_per_mwh, price_growth, t_index) -> np.ndarray:
    """``O * 1000 * 8760 * utilization * PUE * price * (1 + growth) ** t``. [USD]"""
    u = np.asarray(utilization, dtype=float)[..., None]
    pue = np.asarray(pue, dtype=float)[..., None]
    price = np.asarray(price_usd_per_mwh, dtype=float)[..., None]
    g = np.asarray(price_growth, dtype=float)[..., None]
    return operating_gw * MWH_PER_GW_HOUR * HOURS_PER_YEAR * u * pue * price * (1.0 + g) ** t_index


def om_cost(placed_usd: np.ndarray, life_years: np.ndarray, om_rate) -> np.ndarray:
    """``om_rate * sum_c (cost of category c still in service)``. [USD]

    ``placed_usd`` is ``(..., C, T)``; ``life_years`` broadcasts to
    ``(..., C)`` (``inf`` for ever, 0 for never in service after its year).
    """
    in_service = trailing_window_sum(placed_usd, life_years)
    return np.asarray(om_rate, dtype=float)[..., None] * in_service.sum(axis=-2)


def book_value(
    placed_usd: np.ndarray, life_years: np.ndarray, years: np.ndarray, end_year: int
) -> np.ndarray:
    """Remaining straight-line book value at the end of ``end_year``, per category. [USD]

    ``sum_y P[c, y] * max(0, 1 - (end_year - y + 1) / life_c)``; a life of
    ``inf`` keeps full value, a life of 0 gives 0 (MODEL.md section 8).
    """
    from finmodel.core._kernels import book_rows  # one compiled pass, summed in numpy's order (the same bits)

    placed = np.asarray(placed_usd, dtype=float)
    life = np.asarray(life_years, dtype=float)
    T = placed.shape[-1]
    shape = np.broadcast_shapes(placed.shape[:-1], life.shape)
    rows = np.ascontiguousarray(np.broadcast_to(placed, shape + (T,))).reshape(-1, T)
    lives = np.ascontiguousarray(np.broadcast_to(life, shape)).reshape(-1)
    age = (end_year - np.asarray(years) + 1).astype(float)
    return book_rows(rows, lives, age).reshape(shape)
