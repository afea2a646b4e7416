"""Debt, the federal loan guarantee and the credit used against tax (MODEL.md sections 13, 14, 16).

Called by :func:`finmodel.engine.evaluate.evaluate` only when a case borrows,
has a guarantee or offsets the credit, so that a scenario without these keys
runs exactly as before. Arrays are ``(..., case, T)``; money in USD.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from finmodel.core.debt import debt_service, expected_default_cost
from finmodel.core.metrics import irr
from finmodel.core.tax import credit_pool
from finmodel.core.timeline import case_discount_factors, discount_factors
from finmodel.engine.inputs import Inputs


def debt_lines(
    inp: Inputs, spend: np.ndarray, taxable_income: np.ndarray, income_tax
) -> dict[str, np.ndarray]:
    """The levered lines of every case: draws, interest, principal, balloon, fees, levered tax.

    ``spend`` is the program's spend ``(..., 1, T)``, ``taxable_income`` the
    unlevered taxable income ``(..., case, T)`` and ``income_tax(ti)`` the tax
    rule of section 7. The guaranteed part of each tranche (section 14) is a
    separate loan at ``rate - rate_reduction`` with the same schedule; its
    fee is paid (and deducted) in the draw year.
    """
    share = inp.debt_share[..., None]
    drawn = share * spend  # (..., case, T)
    guaranteed = drawn * (inp.guaranteed_share * inp.guarantee)[..., None]
    plain = drawn - guaranteed
    tenor, grace = inp.debt_tenor_years, inp.debt_grace_years
    own = debt_service(plain, inp.debt_rate, tenor, grace)
    backed = debt_service(guaranteed, inp.debt_rate - inp.rate_reduction * inp.guarantee, tenor, grace)
    fee = inp.upfront_fee_rate[..., None] * guaranteed
    interest = own.interest + backed.interest
    ti_levered = taxable_income - interest - fee
    return {
        "debt_draw": drawn,
        "interest": interest,
        "principal": own.principal + backed.principal,
        "balloon": own.balloon + backed.balloon,
        "debt_balance": own.balance + backed.balance,
        "guarantee_fee": fee,
        "guaranteed_draw": guaranteed,
        "guaranteed_balance": backed.balance,
        "guaranteed_service": backed.service,
        "guarantee_default_cost": expected_default_cost(
            backed.balance, inp.default_probability, inp.recovery_rate
        ),
        "taxable_income_levered": ti_levered,
        "tax_levered": income_tax(ti_levered),
    }


def offset_from_pool(inp: Inputs, joined: np.ndarray, tax: np.ndarray):
    """Credit used against a standalone owner's own tax (section 16): used, expired, left."""
    return credit_pool(joined, tax, inp.offset_limit, inp.carryforward_years)


def debt_cover(lines: Mapping[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """The two sides of the debt service cover (section 13), per case and year: the cash from
    operations ``R - W - M - TaxL`` and the scheduled service ``Interest + Principal`` (the
    balloon not counted). [USD]"""
    return lines["ebitda"] - lines["tax_levered"], lines["interest"] + lines["principal"]


def financing_metrics(
    inp: Inputs,
    lines: Mapping[str, np.ndarray],
    df: np.ndarray | None = None,
    fdf: np.ndarray | None = None,
) -> dict[str, np.ndarray]:
    """Equity, debt, guarantee and pool metrics of the cases (sections 13, 14, 16).

    ``df`` and ``fdf``, when given, are the discount factors at
    ``finance.discount_rate`` and ``fiscal.discount_rate`` already computed
    by :func:`finmodel.engine.measures.compute_metrics`.
    """
    out: dict[str, np.ndarray] = {}
    if df is None:
        df = case_discount_factors(inp.discount_rate, inp.years, inp.valuation_year)
    if inp.financing:
        cfe = lines["equity_cash_flow"]
        if np.array_equal(inp.equity_discount_rate, inp.discount_rate):  # the default: the same factors
            edf = df
        else:
            edf = case_discount_factors(inp.equity_discount_rate, inp.years, inp.valuation_year)
        cover, service = debt_cover(lines)
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(service > 0, cover / np.where(service > 0, service, 1.0), np.inf)
        lowest = ratio.min(axis=-1)
        out["equity_npv_usd"] = np.sum(cfe * edf, axis=-1)
        out["equity_irr"] = np.asarray(irr(cfe, group=cfe.shape[-2]), dtype=float)
        out["peak_debt_usd"] = lines["debt_balance"].max(axis=-1)
        out["min_dscr"] = np.where(np.isinf(lowest), np.nan, lowest)
    if inp.guarantee_any:
        if fdf is None:
            fdf = discount_factors(inp.fiscal_discount_rate[..., None, None], inp.years, inp.valuation_year)
        at_full_rate = debt_service(
            lines["guaranteed_draw"], inp.debt_rate, inp.debt_tenor_years, inp.debt_grace_years
        ).service
        saved = at_full_rate - lines["guaranteed_service"]
        out["guarantee_interest_saved_pv_usd"] = np.sum(saved * df, axis=-1)
        subsidy = lines["guarantee_default_cost"] - lines["guarantee_fee"]
        out["guarantee_subsidy_cost_pv_usd"] = np.sum(subsidy * fdf, axis=-1)
    if inp.offset_any:
        out["credit_expired_usd"] = lines["credit_expired"].sum(axis=-1)
        out["credit_pool_left_usd"] = lines["credit_pool_left"]
    return out
