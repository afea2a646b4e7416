"""Pure array functions for spend, placed in service, operations and book value.

Shapes: the year axis is last; a category axis, when present, is just before
it. Every function broadcasts over extra leading axes (cases, draws) and
returns new arrays. Money is nominal USD; capacity is GW of IT load.
"""

from __future__ import annotations

import numpy as np

from finmodel.core.timeline import trailing_window_sum

__all__ = [
    "schedule_shares",
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
