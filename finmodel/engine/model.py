"""The scenario engine: ``run(scenario) -> Results``.

One vectorized pass evaluates every case (``without``: current law, no
category earns the credit; ``with``: the proposed extension) for every
category and year. Arrays are shaped ``(..., case, category, year)`` for
category lines and ``(..., case, year)`` for totals; the leading ``...``
holds Monte Carlo draws or sweep points when :func:`build_inputs` is given
array overrides. Money is nominal USD throughout.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from finmodel._version import __version__
from finmodel.core.cashflow import (
    book_value,
    capacity_placed,
    om_cost,
    power_cost,
    revenue_per_usd_per_gw_year,
    schedule_shares,
)
from finmodel.core.metrics import cumulative_profile, irr, window_sum
from finmodel.core.tax import depreciation_matrix, macrs_schedule, recapture, retirement_table, standalone_tax
from finmodel.core.timeline import discount_factors, shift, trailing_window_sum
from finmodel.scenario.loader import Scenario
from finmodel.scenario.units import format_usd, year_map_values

__all__ = ["CASES", "METRICS", "Inputs", "build_inputs", "evaluate", "run", "Results", "NumericalError"]

CASES = ("without", "with")

#: Per-case metrics of MODEL.md section 9, with their units.
METRICS: dict[str, str] = {
    "npv_usd": "USD",
    "irr": "fraction",
    "payback_year": "year",
    "peak_funding_usd": "USD",
    "credit_earned_usd": "USD",
    "pv_credit_usd": "USD",
    "breakeven_revenue_usd_per_gw_year": "USD/GW-year",
}

#: Names of the metrics for tables and charts (section 9 metrics, then section 10 totals).
METRIC_LABELS: dict[str, str] = {
    "npv_usd": "NPV",
    "irr": "IRR",
    "payback_year": "Payback year",
    "peak_funding_usd": "Peak funding need",
    "credit_earned_usd": "Credit earned",
    "pv_credit_usd": "PV of credit cash",
    "breakeven_revenue_usd_per_gw_year": "Break-even revenue per GW-year",
    "fiscal_cost_window_usd": "Treasury cost, budget window",
    "fiscal_cost_pv_usd": "Treasury cost, present value",
}

#: Yearly lines, in the order they are written; True where a line is per category.
LINES: dict[str, bool] = {
    "spend": True,
    "in_service": True,
    "credit_earned": True,
    "credit_cash": False,
    "credit_treasury_cost": False,
    "recapture": True,
    "depreciation": True,
    "revenue": False,
    "power": False,
    "om": False,
    "ebitda": False,
    "taxable_income": False,
    "tax": False,
    "terminal_value": True,
    "cash_flow": False,
    "fiscal_cost": False,
}


class NumericalError(ArithmeticError):
    """A NaN or infinity appeared inside a run.

    ``line`` names the yearly line (or metric) where it first appeared,
    ``year`` the calendar year, ``case`` and ``category`` the names, ``draw``
    the index of the draw (leading axes) when there are draws.
    """

    def __init__(
        self,
        message: str,
        line: str | None = None,
        year: int | None = None,
        case: str | None = None,
        category: str | None = None,
        draw: tuple[int, ...] | None = None,
    ):
        super().__init__(message)
        self.line, self.year, self.case, self.category, self.draw = line, year, case, category, draw


@dataclass(frozen=True)
class Inputs:
    """Every number the engine uses, as broadcastable arrays.

    Shapes (``...`` are optional leading draw axes):
    program scalars ``(...)``; per case ``(..., case)``; per category
    ``(..., C)``; per case and year ``(..., case, T)``. Lives are floats with
    ``inf`` for ever; lags are integers.
    """

    cases: tuple[str, ...]
    categories: tuple[str, ...]
    groups: tuple[str, ...]
    years: np.ndarray  # (T,) calendar years
    valuation_year: int
    end_year: int
    commitment_usd: np.ndarray  # (...)
    year_shares: np.ndarray  # (..., T) share of the commitment spent per year
    category_share: np.ndarray  # (..., C)
    in_service_lag_years: np.ndarray  # (..., C) int
    construction_years: np.ndarray  # (..., C) int
    qualified_fraction: np.ndarray  # (..., C)
    life_years: np.ndarray  # (..., C) float, inf = for ever
    macrs_table: np.ndarray  # (C, T, T) share of year-y basis deducted in year t, before bonus
    macrs_schedules: tuple[np.ndarray, ...]  # per category, the full MACRS fractions (empty for land)
    bonus_rate: np.ndarray  # (..., case, T) bonus depreciation by placed-in-service year
    bonus_eligible: np.ndarray  # (C,) bool
    credit_rate: np.ndarray  # (..., case, T) by placed-in-service year
    eligible: np.ndarray  # (..., case, C) bool
    deadline_year: np.ndarray  # (..., case) float, inf = no deadline
    basis_reduction: np.ndarray  # (..., case)
    transfer: np.ndarray  # (..., case) bool
    payment_lag_years: np.ndarray  # (..., case) int
    payment_haircut: np.ndarray  # (..., case)
    transfer_price: np.ndarray  # (..., case)
    recapture: np.ndarray  # (..., case) bool
    corporate_rate: np.ndarray  # (..., case)
    standalone: np.ndarray  # (..., case) bool
    nol_limit: np.ndarray  # (..., case)
    capacity_gw: np.ndarray  # (...)
    capacity_index: int
    revenue_usd_per_gw_year: np.ndarray  # (..., case)
    revenue_growth: np.ndarray  # (...)
    utilization: np.ndarray  # (...)
    pue: np.ndarray  # (...)
    power_price_usd_per_mwh: np.ndarray  # (...)
    power_price_growth: np.ndarray  # (...)
    om_rate: np.ndarray  # (...)
    discount_rate: np.ndarray  # (..., case)
    terminal_book: bool
    fiscal_window: tuple[int, int]  # (start, years), clipped to the horizon
    fiscal_window_requested: tuple[int, int]  # (start, years) as the scenario gives them
    fiscal_discount_rate: np.ndarray  # (...)

    @property
    def t_index(self) -> np.ndarray:
        return self.years - self.years[0]

    @property
    def depreciation(self) -> np.ndarray:
        """``(..., case, C, T, T)``: share of year-y basis deducted in year t, bonus included."""
        bonus = self.bonus_rate[..., None, :, None]  # (..., case, 1, y, 1)
        with_bonus = bonus * np.eye(len(self.years)) + (1.0 - bonus) * self.macrs_table
        return np.where(self.bonus_eligible[:, None, None], with_bonus, self.macrs_table)


def _case_values(scenario: Scenario) -> list[dict[str, Any]]:
    """Per-case parameter views: ``without`` never has eligible categories."""
    return [{"policy.amic.eligible": ()}, {}]


def build_inputs(scenario: Scenario, overrides: Mapping[str, Any] | None = None) -> Inputs:
    """Turn a validated scenario into engine arrays.

    ``overrides`` maps parameter paths (as in ``scenario.values``) to values
    or arrays of draws; arrays add leading axes to every result. A year-map
    parameter given as an array is taken as the same rate in every year; given
    as a year map ``{year: array}`` it is a step function per draw.
    ``program.year_shares`` (``(..., T)``, the share of the commitment spent in
    each year of the horizon) replaces the schedule. Category shares are used
    as given: a caller that draws them renormalizes them
    (:func:`finmodel.analysis.uncertainty.category_share_overrides`).
    """
    overrides = dict(overrides or {})
    case_views = _case_values(scenario)
    names = scenario.category_names
    years = scenario.years
    T = len(years)

    def v(path: str, case: int | None = None):
        if case is not None and path in case_views[case]:
            return case_views[case][path]
        return overrides[path] if path in overrides else scenario[path]

    def arr(path, case=None):
        return np.asarray(v(path, case), dtype=float)

    def per_cat(key: str, dtype=float):
        return np.stack(
            np.broadcast_arrays(*[np.asarray(v(f"categories.{c}.{key}"), dtype=float) for c in names]),
            axis=-1,
        ).astype(dtype)

    def per_case(path: str, dtype=float, convert=None):
        vals = [v(path, k) for k in range(len(CASES))]
        if convert:
            vals = [convert(x) for x in vals]
        return np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in vals]), axis=-1).astype(
            dtype
        )

    def year_map(path: str, case: int) -> np.ndarray:
        value = v(path, case)
        if isinstance(value, Mapping) and any(np.ndim(x) for x in value.values()):
            # a year map whose values are arrays of draws: (..., T)
            keys = sorted(value)
            vals = np.stack(np.broadcast_arrays(*[np.asarray(value[k], dtype=float) for k in keys]), axis=-1)
            idx = np.searchsorted(np.array(keys), years, side="right") - 1
            return np.where(idx >= 0, vals[..., np.clip(idx, 0, None)], 0.0)
        if isinstance(value, Mapping):
            return year_map_values(value, years)
        return np.asarray(value, dtype=float)[..., None] * np.ones(T)

    n_prog = scenario["program.years"]
    shares = schedule_shares(scenario["program.schedule"], n_prog)
    year_shares = np.zeros(T)
    year_shares[:n_prog] = shares
    if "program.year_shares" in overrides:
        year_shares = np.asarray(overrides["program.year_shares"], dtype=float)

    life = []
    for c in names:
        value = v(f"categories.{c}.life_years")
        life.append(np.inf if value is None else np.round(np.asarray(value, dtype=float)))
    life_years = np.stack(np.broadcast_arrays(*life), axis=-1)

    macrs = [scenario[f"categories.{c}.macrs_years"] for c in names]
    months = [scenario[f"categories.{c}.in_service_month"] for c in names]
    schedules = [macrs_schedule(m, mo) for m, mo in zip(macrs, months, strict=True)]
    bonus_ok = np.array([bool(scenario[f"categories.{c}.bonus_eligible"]) for c in names])
    bonus = np.stack(
        np.broadcast_arrays(*[year_map("tax.bonus_depreciation", k) for k in range(len(CASES))]), axis=-2
    )
    macrs_table = depreciation_matrix(schedules, np.zeros(len(names), dtype=bool), np.zeros(T), T)

    groups = tuple(scenario[f"categories.{c}.group"] for c in names)
    eligible = np.zeros((len(CASES), len(names)), dtype=bool)
    for k in range(len(CASES)):
        listed = set(v("policy.amic.eligible", k))
        # land (macrs_years: null) is never qualified property, even when listed (MODEL.md section 4)
        eligible[k] = [
            (c in listed or g in listed) and m is not None
            for c, g, m in zip(names, groups, macrs, strict=True)
        ]

    credit_rate = np.stack(
        np.broadcast_arrays(*[year_map("policy.amic.rate", k) for k in range(len(CASES))]), axis=-2
    )
    cap_cat = scenario["program.capacity_category"]
    if cap_cat not in names and np.any(arr("program.capacity_gw") > 0):
        raise ValueError(f"program.capacity_category {cap_cat!r} names no category ({', '.join(names)})")
    window_start, window_years = int(scenario["fiscal.window_start"]), int(scenario["fiscal.window_years"])
    first, last = max(window_start, int(years[0])), min(window_start + window_years - 1, int(years[-1]))
    return Inputs(
        cases=CASES,
        categories=names,
        groups=groups,
        years=years,
        valuation_year=int(scenario["finance.valuation_year"]),
        end_year=int(scenario["analysis.end_year"]),
        commitment_usd=arr("program.commitment_usd"),
        year_shares=year_shares,
        category_share=per_cat("share"),
        in_service_lag_years=per_cat("in_service_lag_years", np.int64),
        construction_years=per_cat("construction_years", np.int64),
        qualified_fraction=per_cat("qualified_fraction"),
        life_years=life_years,
        macrs_table=macrs_table,
        macrs_schedules=tuple(schedules),
        bonus_rate=bonus,
        bonus_eligible=bonus_ok,
        credit_rate=credit_rate,
        eligible=eligible,
        deadline_year=per_case(
            "policy.amic.construction_deadline_year", convert=lambda x: np.inf if x is None else x
        ),
        basis_reduction=per_case("policy.amic.basis_reduction"),
        transfer=per_case("policy.amic.monetization", bool, convert=lambda x: x == "transfer"),
        payment_lag_years=per_case("policy.amic.payment_lag_years", np.int64),
        payment_haircut=per_case("policy.amic.payment_haircut"),
        transfer_price=per_case("policy.amic.transfer_price"),
        recapture=per_case("policy.amic.recapture", bool),
        corporate_rate=per_case("tax.corporate_rate"),
        standalone=per_case("tax.capacity", bool, convert=lambda x: x == "standalone"),
        nol_limit=per_case("tax.nol_limit"),
        capacity_gw=arr("program.capacity_gw"),
        capacity_index=names.index(cap_cat) if cap_cat in names else 0,
        revenue_usd_per_gw_year=per_case("operations.revenue_usd_per_gw_year"),
        revenue_growth=arr("operations.revenue_growth"),
        utilization=arr("operations.utilization"),
        pue=arr("operations.pue"),
        power_price_usd_per_mwh=arr("operations.power_price_usd_per_mwh"),
        power_price_growth=arr("operations.power_price_growth"),
        om_rate=arr("operations.om_rate"),
        discount_rate=per_case("finance.discount_rate"),
        terminal_book=scenario["analysis.terminal_value"] == "book",
        fiscal_window=(first, last - first + 1),
        fiscal_window_requested=(window_start, window_years),
        fiscal_discount_rate=arr("fiscal.discount_rate"),
    )


def _sum_categories(x: np.ndarray) -> np.ndarray:
    """``x.sum(axis=-2)`` (over categories), compiled for arrays with draws; the same bits."""
    x = np.asarray(x)
    if x.ndim < 3 or x.dtype != np.float64 or not x.flags.c_contiguous or x.shape[-2] == 0:
        return x.sum(axis=-2)
    from finmodel.core._kernels import sum_middle

    C, T = x.shape[-2:]
    return sum_middle(x.reshape(-1, C, T)).reshape(x.shape[:-2] + (T,))


def _depreciation(placed: np.ndarray, earned: np.ndarray, inp: Inputs) -> tuple[np.ndarray, np.ndarray]:
    """Depreciation ``(..., case, C, T)`` and the basis left ``(..., case, C)`` (MODEL.md section 5).

    The basis is ``placed - basis_reduction * earned``; one compiled pass
    (:func:`finmodel.core._kernels.basis_deductions`) gives ``D = B @
    inp.depreciation`` row by row and the same bits as
    ``B.sum(axis=-1) - D.sum(axis=-1)``, without the basis or a ``(T, T)``
    matrix per draw as full-size arrays (tests/test_kernels.py checks both).
    """
    from finmodel.core._kernels import basis_deductions

    C, T = earned.shape[-2:]
    reduction, bonus = inp.basis_reduction, inp.bonus_rate
    life = np.asarray(inp.life_years, dtype=float)  # (..., C): drawn lives add draws
    lead = np.broadcast_shapes(
        placed.shape[:-2], earned.shape[:-2], reduction.shape, bonus.shape[:-1], life.shape[:-1] + (1,)
    )
    n = int(np.prod(lead[:-1], dtype=np.int64))
    K = lead[-1]

    def rows(x, shape):
        x = np.ascontiguousarray(np.broadcast_to(x, shape), dtype=float)
        return x.reshape((n,) + shape[len(lead) - 1 :])

    if placed.shape[:-3] == lead[:-1] and placed.shape[-3] == 1 and placed.flags.c_contiguous:
        P = np.asarray(placed, dtype=float).reshape(n, 1, C, T)  # the same for every case: not copied
    else:
        P = rows(placed, lead + (C, T))
    E, red, bon = rows(earned, lead + (C, T)), rows(reduction, lead), rows(bonus, lead + (T,))
    D = np.empty((n, K, C, T))
    remaining = np.empty((n, K, C))
    # Early retirement moves later deductions to the retirement year (MODEL.md section 5): one
    # table per distinct set of lives (lives are whole years, so drawn lives give a few tables).
    if life.ndim == 1 or n == 1:
        table = retirement_table(inp.macrs_table, inp.macrs_schedules, life.reshape(-1, C)[0])
        basis_deductions(P, E, red, bon, table, inp.bonus_eligible, D, remaining)
    else:
        life_rows = np.broadcast_to(life, lead[:-1] + (C,)).reshape(n, C)
        distinct, group = np.unique(life_rows, axis=0, return_inverse=True)
        group = group.reshape(-1)
        for g, lives in enumerate(distinct):
            idx = np.flatnonzero(group == g)
            table = retirement_table(inp.macrs_table, inp.macrs_schedules, lives)
            Dg, remg = np.empty((len(idx), K, C, T)), np.empty((len(idx), K, C))
            basis_deductions(P[idx], E[idx], red[idx], bon[idx], table, inp.bonus_eligible, Dg, remg)
            D[idx], remaining[idx] = Dg, remg
    return D.reshape(lead + (C, T)), remaining.reshape(lead + (C,))


def _tax(ti: np.ndarray, inp: Inputs) -> np.ndarray:
    rate = inp.corporate_rate[..., None]
    tax = rate * ti
    if np.any(inp.standalone):
        carried, _ = standalone_tax(ti, inp.corporate_rate, inp.nol_limit)
        tax = np.where(inp.standalone[..., None], carried, tax)
    return tax


def evaluate(inp: Inputs, check: bool = True) -> dict[str, np.ndarray]:
    """All yearly lines of MODEL.md sections 3-10 for every case.

    Returns a dict of arrays: per-category lines ``(..., case, C, T)``
    (``spend``, ``in_service``, ``credit_earned``, ``recapture``,
    ``depreciation``), per-case totals ``(..., case, T)`` and a few helper
    arrays used by the metrics (``revenue_unit``, ``remaining_basis``).
    ``check=False`` skips the scan for NaN and infinity (the Monte Carlo
    engine checks its outputs and calls :func:`check_finite` on a bad chunk).
    """
    t = inp.t_index
    T = len(t)
    # Section 3: spend and placed in service, (..., 1, C, T)
    K = (
        inp.commitment_usd[..., None, None] * inp.category_share[..., :, None] * inp.year_shares[..., None, :]
    )[..., None, :, :]
    P = shift(K, inp.in_service_lag_years[..., None, :])
    # Section 4: the credit, (..., case, C, T)
    Q = P * inp.qualified_fraction[..., None, :, None]
    construction_start = inp.years - inp.construction_years[..., None, :, None]
    on_time = construction_start <= inp.deadline_year[..., :, None, None] - 1
    qualifies = inp.eligible[..., :, :, None] & on_time
    E = Q * np.where(qualifies, inp.credit_rate[..., :, None, :], 0.0)  # one pass over the draws
    F = shift(_sum_categories(E), inp.payment_lag_years)
    transfer = inp.transfer[..., None]
    CC = np.where(transfer, inp.transfer_price[..., None] * F, (1.0 - inp.payment_haircut[..., None]) * F)
    X = np.where(transfer, F, CC)
    RC = recapture(E, inp.life_years[..., None, :], inp.recapture[..., :, None])
    RCt = _sum_categories(RC)
    # Section 5: depreciation, (..., case, C, T)
    D, remaining_basis = _depreciation(P, E, inp)
    # Section 6: operations, (..., T) then (..., case, T)
    d = inp.capacity_index
    G = capacity_placed(P[..., 0, d, :], inp.capacity_gw)
    O = trailing_window_sum(G, inp.life_years[..., d])
    R1 = revenue_per_usd_per_gw_year(O, inp.revenue_growth, t)[..., None, :]
    R = R1 * inp.revenue_usd_per_gw_year[..., None]
    W = power_cost(O, inp.utilization, inp.pue, inp.power_price_usd_per_mwh, inp.power_price_growth, t)[
        ..., None, :
    ]
    M = om_cost(P[..., 0, :, :], inp.life_years, inp.om_rate)[..., None, :]
    ebitda = R - W - M
    # Section 8: terminal value
    last = np.arange(T) == T - 1
    if inp.terminal_book:
        TVc = book_value(P, inp.life_years[..., None, :], inp.years, inp.end_year)  # (..., 1, C)
        TV = TVc.sum(axis=-1)[..., None] * last
        TV_line = TVc[..., None] * last  # broadcast over the cases below, not copied
        TVc = np.broadcast_to(TVc, np.broadcast_shapes(TVc.shape, remaining_basis.shape))
        gain = TVc.sum(axis=-1) - remaining_basis.sum(axis=-1)
    else:
        TVc = np.zeros(remaining_basis.shape)
        gain = np.zeros(remaining_basis.shape[:-1])
        TV = TVc.sum(axis=-1)[..., None] * last
        TV_line = TVc[..., None] * last
    # Section 7: income tax
    # recapture restores basis_reduction * RC of basis, deducted at once on retirement (section 4)
    TI = ebitda - _sum_categories(D) - inp.basis_reduction[..., None] * RCt + gain[..., None] * last
    tax = _tax(TI, inp)
    # Section 9: cash flow
    Kt = _sum_categories(K)
    CF = R - W - M - Kt - tax - RCt + CC + TV
    # Section 10: the Treasury's cost of each case against 'without'
    fiscal = X - RCt + tax[..., :1, :] - tax
    shape = CF.shape
    lines = {
        "spend": np.broadcast_to(K, E.shape),
        "in_service": np.broadcast_to(P, E.shape),
        "credit_earned": E,
        "credit_cash": CC,
        "credit_treasury_cost": X,
        "recapture": RC,
        "depreciation": D,
        "revenue": np.broadcast_to(R, shape),
        "power": np.broadcast_to(W, shape),
        "om": np.broadcast_to(M, shape),
        "ebitda": np.broadcast_to(ebitda, shape),
        "taxable_income": TI,
        "tax": tax,
        "terminal_value": np.broadcast_to(
            TV_line, np.broadcast_shapes(TV_line.shape, remaining_basis.shape + (T,))
        ),
        "cash_flow": CF,
        "fiscal_cost": fiscal,
        "operating_gw": np.broadcast_to(O[..., None, :], shape),
        "revenue_unit": np.broadcast_to(R1, shape),
        "remaining_basis": remaining_basis,
    }
    if check:
        _check_finite(lines, inp)
    return lines


#: The order in which evaluate() computes its lines: where a NaN or infinity
#: shows up in several lines in one year, the first of these is its origin.
_COMPUTATION_ORDER = (
    "spend",
    "in_service",
    "credit_earned",
    "credit_cash",
    "credit_treasury_cost",
    "recapture",
    "depreciation",
    "remaining_basis",
    "operating_gw",
    "revenue_unit",
    "revenue",
    "power",
    "om",
    "ebitda",
    "terminal_value",
    "taxable_income",
    "tax",
    "cash_flow",
    "fiscal_cost",
)


def _distinct(values: np.ndarray) -> np.ndarray:
    """The elements of a broadcast view without its repeats (axes of stride 0 cut to length 1)."""
    if 0 not in values.strides:
        return values
    return values[tuple(slice(0, 1) if st == 0 else slice(None) for st in values.strides)]


def check_finite(lines: Mapping[str, np.ndarray], inp: Inputs) -> None:
    """Raise :class:`NumericalError` at the first NaN or infinity of ``lines`` (see :func:`evaluate`)."""
    _check_finite(lines, inp)


def _check_finite(lines: Mapping[str, np.ndarray], inp: Inputs) -> None:
    """Raise :class:`NumericalError` naming the line, year, case and category of the first NaN or inf.

    "First" is the earliest year (flows only move forward in time), then the
    line computed first in that year. Lines without a year axis (the
    remaining basis) count as ``end_year``, where they enter the terminal gain.
    """
    T = len(inp.years)
    order = [n for n in _COMPUTATION_ORDER if n in lines] + [n for n in lines if n not in _COMPUTATION_ORDER]
    first = None  # (year index, rank, name, bad mask)
    for rank, name in enumerate(order):
        values = np.asarray(lines[name])
        if not np.issubdtype(values.dtype, np.number):
            continue
        if np.isfinite(np.sum(_distinct(values))):
            continue  # a finite sum has only finite terms: one pass, no temporaries
        bad = ~np.isfinite(values)
        if not bad.any():
            continue
        yearly = values.ndim >= 1 and values.shape[-1] == T and name != "remaining_basis"
        t = int(np.argmax(bad.reshape(-1, T).any(axis=0))) if yearly else T - 1
        if first is None or (t, rank) < first[:2]:
            first = (t, rank, name, bad, yearly)
    if first is None:
        return
    t, _, name, bad, yearly = first
    index = tuple(int(i) for i in np.argwhere(bad[..., t] if yearly else bad)[0])
    value = float(np.asarray(lines[name])[index + ((t,) if yearly else ())])
    # index is (draws..., case) or (draws..., case, category); cash_flow is (draws..., case, T)
    n_draw = max(np.ndim(lines["cash_flow"]) - 2, 0) if "cash_flow" in lines else 0
    draw, tail = index[:n_draw], index[n_draw:]
    case = inp.cases[tail[0]] if tail and tail[0] < len(inp.cases) else None
    category = inp.categories[tail[1]] if len(tail) > 1 and tail[1] < len(inp.categories) else None
    year = int(inp.years[t])
    where = [f"case '{case}'"] if case else []
    if category:
        where.append(f"category '{category}'")
    if draw:
        where.append(f"draw {draw if len(draw) > 1 else draw[0]}")
    text = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
    raise NumericalError(
        f"line '{name}' is {text} in {year} ({', '.join(where)}); the numbers overflow the "
        "floating-point range: check the inputs for extreme values",
        line=name,
        year=year,
        case=case,
        category=category,
        draw=draw or None,
    )


def _check_finite_metrics(metrics: Mapping[str, np.ndarray], inp: Inputs) -> None:
    """Metrics that always exist must be finite; irr, payback and break-even may be NaN (undefined)."""
    for name, values in metrics.items():
        values = np.asarray(values, dtype=float)
        bad = np.isinf(values) if name in _MAY_BE_UNDEFINED else ~np.isfinite(values)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            case = inp.cases[index[-1]] if index and index[-1] < len(inp.cases) else None
            draw = index[:-1]
            value = values[index]
            text = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
            where = f"case '{case}'" + (f", draw {draw if len(draw) > 1 else draw[0]}" if draw else "")
            raise NumericalError(
                f"metric '{name}' is {text} ({where}); the numbers overflow the floating-point range: "
                "check the inputs for extreme values",
                line=name,
                case=case,
                draw=draw or None,
            )


_MAY_BE_UNDEFINED = ("irr", "payback_year", "breakeven_revenue_usd_per_gw_year")


def _npv_at_revenue(inp: Inputs, lines, revenue: np.ndarray, df: np.ndarray | None = None) -> np.ndarray:
    """NPV per case when the revenue price is ``revenue`` (..., case), all else fixed.

    ``df``: the discount factors ``(..., case, T)``, when already computed.
    """
    dr = revenue - inp.revenue_usd_per_gw_year
    if df is None:
        df = discount_factors(inp.discount_rate[..., None], inp.years, inp.valuation_year)
    if not np.any(inp.standalone):  # tax linear in income: one compiled pass, the same bits
        from finmodel.core._kernels import npv_at_revenue_rows

        T = len(inp.years)
        parts = (lines["revenue_unit"], lines["taxable_income"], lines["cash_flow"], lines["tax"], df)
        shape = np.broadcast_shapes(*(x.shape for x in parts), dr.shape + (T,))
        rows = [np.broadcast_to(x, shape).reshape(-1, T) for x in parts]
        lead = shape[:-1]
        change = np.broadcast_to(dr, lead).reshape(-1)
        rate = np.broadcast_to(inp.corporate_rate, lead).reshape(-1)
        unit, ti, cf, tax, dfs = rows
        return npv_at_revenue_rows(unit, change, ti, cf, tax, rate, dfs).reshape(lead)
    extra = lines["revenue_unit"] * dr[..., None]
    ti = lines["taxable_income"] + extra
    tax = _tax(ti, inp)
    cf = lines["cash_flow"] + extra - (tax - lines["tax"])
    return np.sum(cf * df, axis=-1)


def breakeven_revenue(
    inp: Inputs,
    lines,
    rtol: float = 1e-12,
    max_iter: int = 200,
    df: np.ndarray | None = None,
    npv_usd: np.ndarray | None = None,
) -> np.ndarray:
    """Revenue per GW-year at which NPV is 0, per case (the levelized cost of compute).

    NPV is linear in the price when tax is unlimited (one secant step is
    exact) and piecewise linear and increasing with NOLs; a safeguarded
    secant (regula falsi once bracketed) finds the root to ``rtol``. NaN where
    capacity is zero or revenue has no effect. [USD/GW-year]

    ``df`` and ``npv_usd``, when given, are the discount factors and the NPV
    at the scenario's own price (the first point of the search), already
    computed by :func:`compute_metrics`.
    """
    if df is None:
        df = discount_factors(inp.discount_rate[..., None], inp.years, inp.valuation_year)
    r0 = np.asarray(inp.revenue_usd_per_gw_year, dtype=float)
    f0 = _npv_at_revenue(inp, lines, r0, df) if npv_usd is None else npv_usd
    scale = np.maximum(np.abs(r0), 1e9)
    r1 = r0 + scale
    f1 = _npv_at_revenue(inp, lines, r1, df)
    no_effect = (f1 == f0) | (np.asarray(inp.capacity_gw)[..., None] == 0)
    x0, x1, g0, g1 = r0, r1, f0, f1
    # An element stops changing once it has converged, so its result does not
    # depend on the other elements evaluated with it (Monte Carlo chunks).
    active = ~no_effect
    for _ in range(max_iter):
        with np.errstate(divide="ignore", invalid="ignore"):
            x2 = x1 - g1 * (x1 - x0) / (g1 - g0)
        x2 = np.where(no_effect | ~np.isfinite(x2), x1, x2)
        done = np.abs(x2 - x1) <= rtol * np.maximum(np.abs(x2), 1.0)
        if not (active & ~done).any():  # all converged: the NPV at x2 is not needed
            x1 = np.where(active, x2, x1)
            break
        g2 = _npv_at_revenue(inp, lines, x2, df)
        # keep a bracket when we have one (regula falsi); else plain secant
        bracket = active & (np.sign(g2) != np.sign(g1))
        x0, g0 = np.where(bracket, x1, x0), np.where(bracket, g1, g0)
        x1, g1 = np.where(active, x2, x1), np.where(active, g2, g1)
        active = active & ~done
        if not active.any():
            break
    return np.where(no_effect, np.nan, x1)


def compute_metrics(
    inp: Inputs, lines: Mapping[str, np.ndarray], cumulative: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per-case metrics of MODEL.md section 9 and the fiscal totals of section 10.

    ``cumulative``, when given, is a C-contiguous float array of the cash
    flow's shape ``(..., case, T)`` that receives the cumulative cash flow
    (computed anyway for the payback year and the peak funding need). [USD]
    """
    cf = lines["cash_flow"]
    df = discount_factors(inp.discount_rate[..., None], inp.years, inp.valuation_year)
    npv_usd = np.sum(cf * df, axis=-1)
    _, payback, peak = cumulative_profile(cf, inp.years, out=cumulative)
    out = {
        "npv_usd": npv_usd,
        "irr": np.asarray(irr(cf), dtype=float),
        "payback_year": payback,
        "peak_funding_usd": peak,
        "credit_earned_usd": lines["credit_earned"].sum(axis=(-2, -1)),
        "pv_credit_usd": np.sum(lines["credit_cash"] * df, axis=-1),
        "breakeven_revenue_usd_per_gw_year": breakeven_revenue(inp, lines, df=df, npv_usd=npv_usd),
    }
    # credit earned in the last `lag` years is paid after end_year (MODEL.md section 4)
    T = len(inp.years)
    after_end = inp.t_index > T - 1 - inp.payment_lag_years[..., None]  # (..., case, T)
    out["credit_paid_after_end_usd"] = np.sum(_sum_categories(lines["credit_earned"]) * after_end, axis=-1)
    start, n = inp.fiscal_window
    fdf = discount_factors(inp.fiscal_discount_rate[..., None, None], inp.years, inp.valuation_year)
    out["fiscal_cost_window_usd"] = window_sum(lines["fiscal_cost"], inp.years, start, n)
    out["fiscal_cost_pv_usd"] = np.sum(lines["fiscal_cost"] * fdf, axis=-1)
    _check_finite_metrics(out, inp)
    return out


# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Results:
    """The outcome of :func:`run`: named arrays plus pandas views.

    ``lines[name]`` is ``(case, category, year)`` or ``(case, year)``;
    ``metrics[name]`` is ``(case,)``. Money in USD.
    """

    scenario: Scenario
    inputs: Inputs
    lines: Mapping[str, np.ndarray]
    metrics: Mapping[str, np.ndarray]
    finmodel_version: str = field(default=__version__)

    @property
    def cases(self) -> tuple[str, ...]:
        return self.inputs.cases

    @property
    def years(self) -> np.ndarray:
        return self.inputs.years

    def metric(self, name: str, case: str) -> float | None:
        """One metric as a Python float, None where undefined (NaN)."""
        value = float(self.metrics[name][self.cases.index(case)])
        if np.isnan(value):
            return None
        return int(round(value)) if name == "payback_year" else value

    def delta(self, name: str) -> float | None:
        a, b = self.metric(name, "with"), self.metric(name, "without")
        return None if a is None or b is None else a - b

    @property
    def fiscal_window(self) -> tuple[int, int]:
        start, n = self.inputs.fiscal_window
        return start, start + n - 1

    def fiscal(self, case: str = "with") -> dict[str, Any]:
        """The Treasury's cost of ``case`` against ``without`` (MODEL.md section 10).

        ``window`` gives the years actually summed (the budget window clipped
        to the horizon); ``credit_paid_after_end_usd`` the credit earned in the
        case but paid after ``end_year`` (in no cash flow or cost). [USD]
        """
        k = self.cases.index(case)
        return {
            "fiscal_cost_window_usd": float(self.metrics["fiscal_cost_window_usd"][k]),
            "fiscal_cost_pv_usd": float(self.metrics["fiscal_cost_pv_usd"][k]),
            "window": list(self.fiscal_window),
            "credit_paid_after_end_usd": float(self.metrics["credit_paid_after_end_usd"][k]),
        }

    @property
    def notes(self) -> tuple[str, ...]:
        """What a reader must know about this run's figures (MODEL.md sections 4 and 10)."""
        return run_notes(self.scenario, self.inputs, self.metrics)

    def summary(self) -> pd.DataFrame:
        """Metrics table: rows are metrics, columns ``without``, ``with``, ``delta``."""
        rows = {m: [self.metric(m, c) for c in self.cases] + [self.delta(m)] for m in METRICS}
        table = pd.DataFrame.from_dict(rows, orient="index", columns=list(self.cases) + ["delta"])
        table.index.name = "metric"
        return table

    def to_dict(self) -> dict[str, Any]:
        """The ``summary.json`` structure of MODEL.md section 12."""
        return {
            "scenario": self.scenario.name,
            "finmodel_version": self.finmodel_version,
            "cases": {c: {m: self.metric(m, c) for m in METRICS} for c in self.cases},
            "delta": {m: self.delta(m) for m in METRICS},
            "fiscal": self.fiscal("with"),
            "notes": list(self.notes),
        }

    @property
    def cashflows(self) -> pd.DataFrame:
        """Tidy yearly lines: ``case, year, line, category, value_usd``.

        Per-category lines have one row per category (no total row, so a sum
        never double counts); the other lines have an empty category.
        """
        frames = []
        years = self.years
        cats = np.array(self.inputs.categories, dtype=object)
        for line, per_cat in LINES.items():
            values = np.asarray(self.lines[line])
            for k, case in enumerate(self.cases):
                if per_cat:
                    block = values[k]
                    frames.append(
                        pd.DataFrame(
                            {
                                "case": case,
                                "year": np.tile(years, len(cats)),
                                "line": line,
                                "category": np.repeat(cats, len(years)),
                                "value_usd": block.reshape(-1),
                            }
                        )
                    )
                else:
                    frames.append(
                        pd.DataFrame(
                            {
                                "case": case,
                                "year": years,
                                "line": line,
                                "category": "",
                                "value_usd": values[k],
                            }
                        )
                    )
        return pd.concat(frames, ignore_index=True)

    def yearly(self, case: str = "with") -> pd.DataFrame:
        """Wide table of one case: rows are lines (category lines summed), columns years. [USD]"""
        k = self.cases.index(case)
        data = {}
        for line, per_cat in LINES.items():
            values = np.asarray(self.lines[line])[k]
            data[line] = values.sum(axis=0) if per_cat else values
        table = pd.DataFrame(data, index=self.years).T
        table.columns.name = "year"
        return table

    def by_category(self, line: str, case: str = "with") -> pd.DataFrame:
        """One per-category line of one case: rows are categories, columns years. [USD]"""
        k = self.cases.index(case)
        table = pd.DataFrame(
            np.asarray(self.lines[line])[k], index=list(self.inputs.categories), columns=self.years
        )
        table.index.name = "category"
        return table


def run_notes(scenario: Scenario, inp: Inputs, metrics: Mapping[str, np.ndarray]) -> tuple[str, ...]:
    """Notes on a single run: land listed as eligible, a clipped budget window, credit paid late."""
    notes = []
    listed = set(scenario["policy.amic.eligible"])
    land = [
        c
        for c, g in zip(inp.categories, inp.groups, strict=True)
        if scenario[f"categories.{c}.macrs_years"] is None and (c in listed or g in listed)
    ]
    if land:
        names = ", ".join(f"'{c}'" for c in land)
        notes.append(
            f"{'category' if len(land) == 1 else 'categories'} {names} (land, macrs_years: null) "
            f"listed in policy.amic.eligible {'earns' if len(land) == 1 else 'earn'} no credit: "
            "land is never qualified property"
        )
    (start, n), (asked_start, asked_n) = inp.fiscal_window, inp.fiscal_window_requested
    if (start, n) != (asked_start, asked_n):
        notes.append(
            f"the budget window {asked_start}-{asked_start + asked_n - 1} is clipped to the horizon "
            f"{int(inp.years[0])}-{inp.end_year}: the Treasury's cost is summed over {start}-{start + n - 1}"
        )
    for k, case in enumerate(inp.cases):
        late = float(np.asarray(metrics["credit_paid_after_end_usd"])[..., k].max())
        if late > 0:
            lag = int(np.asarray(inp.payment_lag_years)[..., k].max())
            years = f"{lag} year{'s' if lag != 1 else ''}"
            notes.append(
                f"{format_usd(late, digits=2)} of credit earned in the last {years} "
                f"of case '{case}' is paid after {inp.end_year}: counted in credit earned, not in the "
                "cash flows, the PV of credit cash or the Treasury's cost"
            )
    return tuple(notes)


def run(scenario: Scenario, overrides: Mapping[str, Any] | None = None) -> Results:
    """Evaluate a scenario in both cases and compute every metric.

    Examples
    --------
    >>> from finmodel.scenario.loader import scenario_from_dict
    >>> s = scenario_from_dict({
    ...     "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
    ...     "categories": {"servers": {"share": 1, "macrs_years": 5}},
    ...     "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
    ...     "analysis": {"end_year": 2036}})
    >>> r = run(s)
    >>> r.metric("credit_earned_usd", "with") / 1e6  # 35% of $100M placed in service in 2026
    35.0
    """
    inp = build_inputs(scenario, overrides)
    lines = evaluate(inp)
    metrics = compute_metrics(inp, lines)
    return Results(scenario=scenario, inputs=inp, lines=lines, metrics=metrics)


def with_inputs(inp: Inputs, **changes) -> Inputs:
    """A copy of ``inp`` with some arrays replaced (for sweeps and solvers)."""
    return replace(inp, **changes)
