"""Per-case metrics of MODEL.md section 9 and the Treasury totals of section 10."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from finmodel.core.metrics import cumulative_profile, irr, window_sum
from finmodel.core.timeline import case_discount_factors, discount_factors, shift
from finmodel.engine.evaluate import NumericalError, income_tax, sum_categories
from finmodel.engine.financing import financing_metrics, offset_from_pool
from finmodel.engine.inputs import Inputs


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


_MAY_BE_UNDEFINED = (
    "irr",
    "payback_year",
    "breakeven_revenue_usd_per_gw_year",
    "equity_irr",
    "min_dscr",
    "third_party_gain_pv_usd",
)


def realism_metrics(inp: Inputs, lines: Mapping[str, np.ndarray], df: np.ndarray) -> dict[str, np.ndarray]:
    """Sections 17-18: replacement spend, and the present value of what other owners keep. [USD]

    ``third_party_gain_pv_usd`` is undefined (NaN, null in summary.json) for
    'without', which has no gain to share.
    """
    out: dict[str, np.ndarray] = {}
    shape = lines["cash_flow"].shape[:-1]
    if "refresh_spend" in lines:
        out["refresh_spend_usd"] = np.broadcast_to(lines["refresh_spend"].sum(axis=(-2, -1)), shape).copy()
    if "third_party_gain" in lines:
        pv = np.sum(lines["third_party_gain"] * df, axis=-1)
        out["third_party_gain_pv_usd"] = np.where(np.arange(shape[-1]) == 0, np.nan, pv)
    return out


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
    tax = income_tax(ti, inp)
    cf = lines["cash_flow"] + extra - (tax - lines["tax"])
    if inp.offset_pool:  # the credit used depends on the owner's tax, which the price moves
        tax_paid = tax
        if "tax_levered" in lines:
            tax_paid = income_tax(lines["taxable_income_levered"] + extra, inp)
        joined = shift(sum_categories(lines["credit_earned"]), inp.payment_lag_years)
        used, _, _ = offset_from_pool(inp, joined, tax_paid)
        in_pool = (inp.offset & inp.standalone)[..., None]
        cf = cf + np.where(in_pool, used - lines["credit_cash"], 0.0)
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
    df = case_discount_factors(inp.discount_rate, inp.years, inp.valuation_year)
    npv_usd = np.sum(cf * df, axis=-1)
    _, payback, peak = cumulative_profile(cf, inp.years, out=cumulative)
    out = {
        "npv_usd": npv_usd,
        "irr": np.asarray(irr(cf, group=cf.shape[-2]), dtype=float),  # equal cases solved once
        "payback_year": payback,
        "peak_funding_usd": peak,
        "credit_earned_usd": lines["credit_earned"].sum(axis=(-2, -1)),
        "pv_credit_usd": np.sum(lines["credit_cash"] * df, axis=-1),
        "breakeven_revenue_usd_per_gw_year": breakeven_revenue(inp, lines, df=df, npv_usd=npv_usd),
    }
    # credit earned in the last `lag` years is paid after end_year (MODEL.md section 4)
    T = len(inp.years)
    after_end = inp.t_index > T - 1 - inp.payment_lag_years[..., None]  # (..., case, T)
    out["credit_paid_after_end_usd"] = np.sum(sum_categories(lines["credit_earned"]) * after_end, axis=-1)
    start, n = inp.fiscal_window
    fdf = discount_factors(inp.fiscal_discount_rate[..., None, None], inp.years, inp.valuation_year)
    out["fiscal_cost_window_usd"] = window_sum(lines["fiscal_cost"], inp.years, start, n)
    out["fiscal_cost_pv_usd"] = np.sum(lines["fiscal_cost"] * fdf, axis=-1)
    out.update(financing_metrics(inp, lines, df=df, fdf=fdf))
    out.update(realism_metrics(inp, lines, df))
    _check_finite_metrics(out, inp)
    return out
