"""Names the engine reports under: the cases, the metrics with their units and labels, the yearly lines."""

from __future__ import annotations

CASES = ("without", "with")


def case_choices(cases: tuple[str, ...] = CASES) -> tuple[str, ...]:
    """What a metric may be read for: each case, ``delta`` (with - without) and ``delta.NAME``
    (NAME - without) for each case of ``cases:`` (MODEL.md section 15).

    >>> case_choices(("without", "with", "both"))
    ('without', 'with', 'both', 'delta', 'delta.both')
    """
    return (*cases, "delta", *(f"delta.{c}" for c in cases if c not in CASES))


def is_delta(case: str) -> bool:
    """Whether ``case`` reads a difference against ``without`` (``delta`` or ``delta.NAME``)."""
    return case == "delta" or case.startswith("delta.")


def delta_case(case: str) -> str:
    """The case a difference is taken of: ``with`` for ``delta``, NAME for ``delta.NAME``.

    >>> delta_case("delta"), delta_case("delta.both")
    ('with', 'both')
    """
    return "with" if case == "delta" else case.removeprefix("delta.")


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

#: Per-case metrics added when a case borrows (MODEL.md section 13), has a loan guarantee (14) or
#: uses the credit against tax (16); reported only for scenarios that have them.
DEBT_METRICS: dict[str, str] = {
    "equity_npv_usd": "USD",
    "equity_irr": "fraction",
    "peak_debt_usd": "USD",
    "min_dscr": "ratio",
}
GUARANTEE_METRICS: dict[str, str] = {
    "guarantee_interest_saved_pv_usd": "USD",
    "guarantee_subsidy_cost_pv_usd": "USD",
}
OFFSET_METRICS: dict[str, str] = {"credit_expired_usd": "USD", "credit_pool_left_usd": "USD"}
#: Per-case metrics added with refresh (MODEL.md section 17) and incidence (18).
REALISM_METRICS: dict[str, str] = {"refresh_spend_usd": "USD", "third_party_gain_pv_usd": "USD"}
#: Every per-case metric, in the order tables list them.
ALL_CASE_METRICS: dict[str, str] = {
    **METRICS,
    **DEBT_METRICS,
    **GUARANTEE_METRICS,
    **OFFSET_METRICS,
    **REALISM_METRICS,
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
    "equity_npv_usd": "Equity NPV",
    "equity_irr": "Equity IRR",
    "peak_debt_usd": "Peak debt",
    "min_dscr": "Minimum debt service cover",
    "guarantee_interest_saved_pv_usd": "Guarantee: interest saved, PV",
    "guarantee_subsidy_cost_pv_usd": "Guarantee: subsidy cost, PV",
    "credit_expired_usd": "Credit expired unused",
    "credit_pool_left_usd": "Credit pool left at the end",
    "refresh_spend_usd": "Replacement spend (refresh)",
    "third_party_gain_pv_usd": "Gain kept by other owners, PV",
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
    "operating_gw": False,
}

#: Yearly lines written only where a case borrows, has a guarantee or offsets the credit
#: (MODEL.md sections 13-16), after :data:`LINES`.
FINANCING_LINES: dict[str, bool] = {
    "debt_draw": False,
    "interest": False,
    "principal": False,
    "balloon": False,
    "debt_balance": False,
    "guarantee_fee": False,
    "guarantee_default_cost": False,
    "taxable_income_levered": False,
    "tax_levered": False,
    "equity_cash_flow": False,
    "credit_expired": False,
}

#: Yearly lines written only where the scenario refreshes property (MODEL.md section 17) or
#: splits the credit's value with other owners (18), after :data:`FINANCING_LINES`.
REALISM_LINES: dict[str, bool] = {
    "refresh_spend": True,
    "credit_gain": True,
    "third_party_gain": False,
}

#: Every yearly line in the order cashflows.csv and the workbook write them.
ALL_LINES: dict[str, bool] = {**LINES, **FINANCING_LINES, **REALISM_LINES}
#: Lines whose values are not USD (cashflows.csv keeps them in its ``value_usd`` column).
LINE_UNITS: dict[str, str] = {"operating_gw": "GW"}
