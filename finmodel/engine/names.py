"""Names the engine reports under: the cases, the metrics with their units and labels, the yearly lines."""

from __future__ import annotations

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
