"""The scenario keys, declared once: kind, default, unit, allowed range and description.

The same declarations drive validation (:mod:`finmodel.scenario.validate`),
defaults, the ``finmodel sources`` listing and the inputs sheet of the memo
pack (MODEL.md section 11).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "Param",
    "PARAMETERS",
    "BY_PATH",
    "CATEGORY_KEYS",
    "MACRS_CLASSES",
    "SHARE_TOLERANCE",
    "param_for",
    "split_step",
    "range_text",
    "out_of_range",
]

#: Recovery periods of IRS Publication 946 (0: expensed).
MACRS_CLASSES = (0, 3, 5, 7, 10, 15, 20, 39)
#: How far shares (categories, schedule years, choice weights) may sum from 1.
SHARE_TOLERANCE = 1e-9


@dataclass(frozen=True)
class Param:
    """One scenario key: how it parses, its default, unit and meaning.

    ``path`` uses ``*`` for the category name: ``categories.*.share``.
    ``default`` is a value, ``None`` when required, or a callable of the
    partially resolved values (for defaults that depend on other keys).
    ``nullable`` holds the meaning of an explicit ``null`` where it has one.
    """

    path: str
    kind: str
    unit: str
    description: str
    default: Any = None
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    nullable: str | None = None
    #: Money only: the size a written value usually has [USD]; a value far below it
    #: (a plain ``1400`` meant as $1,400B) draws a warning (:mod:`finmodel.scenario.guards`).
    typical: float | None = None


def _p(*args, **kwargs) -> Param:
    return Param(*args, **kwargs)


PARAMETERS: tuple[Param, ...] = (
    _p(
        "program.commitment_usd",
        "money",
        "USD",
        "Total program spend (nominal)",
        required=True,
        lo=0,
        lo_open=True,
        typical=1e12,
    ),
    _p("program.start_year", "year", "year", "First calendar year of spend", required=True, lo=1990, hi=2100),
    _p("program.years", "int", "years", "Number of years of spend", required=True, lo=1, hi=60),
    _p(
        "program.schedule",
        "schedule",
        "-",
        "Spend shares by year: {shares: [...]} or {ramp: flat|linear|s_curve}",
        default={"ramp": "flat"},
    ),
    _p(
        "program.capacity_gw", "number", "GW", "IT capacity delivered by the whole program", default=0.0, lo=0
    ),
    _p(
        "program.capacity_category",
        "name",
        "-",
        "Category whose placed-in-service spend delivers capacity",
        default="servers",
    ),
    _p(
        "categories.*.share",
        "rate",
        "fraction",
        "Share of each year's spend on this category",
        required=True,
        lo=0,
        hi=1,
    ),
    _p(
        "categories.*.group",
        "name",
        "-",
        "Group the category belongs to (charts, eligibility)",
        default=lambda v, c: c,
    ),
    _p(
        "categories.*.macrs_years",
        "macrs",
        "years",
        "MACRS recovery period (0: expensed; null: land, never deducted)",
        required=True,
        nullable="land: never deducted",
    ),
    _p(
        "categories.*.bonus_eligible",
        "bool",
        "-",
        "Whether bonus depreciation applies",
        default=lambda v, c: (
            v[f"categories.{c}.macrs_years"] is not None and 1 <= v[f"categories.{c}.macrs_years"] <= 20
        ),
    ),
    _p(
        "categories.*.in_service_lag_years",
        "int",
        "years",
        "Years from spend to placed in service",
        default=0,
        lo=0,
        hi=20,
    ),
    _p(
        "categories.*.construction_years",
        "int",
        "years",
        "Years from start of construction to placed in service",
        default=0,
        lo=0,
        hi=20,
    ),
    _p(
        "categories.*.in_service_month",
        "int",
        "month",
        "Month placed in service (39-year mid-month table)",
        default=7,
        lo=1,
        hi=12,
    ),
    _p(
        "categories.*.life_years",
        "int",
        "years",
        "Economic life (null: fall back to macrs_years; land: for ever)",
        default=lambda v, c: v[f"categories.{c}.macrs_years"],
        lo=0,
        hi=100,
        nullable="fall back to macrs_years",
    ),
    _p(
        "categories.*.qualified_fraction",
        "rate",
        "fraction",
        "Share of the spend that is qualified property",
        default=1.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.rate",
        "rate_map",
        "fraction",
        "Credit rate by placed-in-service year",
        default={2023: 0.25, 2026: 0.35},
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.eligible",
        "names",
        "-",
        "Categories or groups that earn the credit in the 'with' case",
        default=(),
    ),
    _p(
        "policy.amic.construction_deadline_year",
        "year",
        "year",
        "Construction must begin before January 1 of this year (null: no deadline)",
        default=2027,
        lo=1990,
        hi=2200,
        nullable="no deadline",
    ),
    _p(
        "policy.amic.basis_reduction",
        "rate",
        "fraction",
        "Share of the credit that reduces depreciable basis",
        default=1.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.monetization",
        "choice",
        "-",
        "How the credit turns into cash",
        default="direct_pay",
        choices=("direct_pay", "transfer", "offset"),
    ),
    _p(
        "policy.amic.payment_lag_years",
        "int",
        "years",
        "Years from credit earned to cash received",
        default=1,
        lo=0,
        hi=10,
    ),
    _p(
        "policy.amic.payment_haircut",
        "rate",
        "fraction",
        "Cut applied to direct payments (e.g. sequestration)",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.transfer_price",
        "rate",
        "USD per USD",
        "Price per dollar of credit when transferred",
        default=0.93,
        lo=0,
        hi=1,
    ),
    _p("policy.amic.recapture", "bool", "-", "Recapture on early retirement (section 50(a))", default=True),
    _p(
        "tax.corporate_rate",
        "rate",
        "fraction",
        "Federal corporate income tax rate",
        default=0.21,
        lo=0,
        hi=1,
        hi_open=True,
    ),
    _p(
        "tax.bonus_depreciation",
        "rate_map",
        "fraction",
        "Bonus depreciation by placed-in-service year",
        default={2022: 1.0, 2023: 0.8, 2024: 0.6, 2025: 1.0},
        lo=0,
        hi=1,
    ),
    _p(
        "tax.capacity",
        "choice",
        "-",
        "unlimited: the owner has other income; standalone: NOLs carried forward",
        default="unlimited",
        choices=("unlimited", "standalone"),
    ),
    _p(
        "tax.nol_limit",
        "rate",
        "fraction",
        "Share of taxable income a NOL may offset",
        default=0.8,
        lo=0,
        hi=1,
    ),
    _p(
        "operations.revenue_usd_per_gw_year",
        "money",
        "USD/GW-year",
        "Revenue per GW of operating capacity per year",
        default=0.0,
        lo=0,
        typical=1e10,
    ),
    _p(
        "operations.revenue_growth",
        "rate",
        "per year",
        "Yearly growth of revenue per GW",
        default=0.0,
        lo=-0.5,
        hi=1,
    ),
    _p("operations.utilization", "rate", "fraction", "Average IT load factor", default=1.0, lo=0, hi=1),
    _p("operations.pue", "number", "-", "Power usage effectiveness", default=1.0, lo=1, hi=3),
    _p("operations.power_price_usd_per_mwh", "money", "USD/MWh", "Delivered power price", default=0.0, lo=0),
    _p(
        "operations.power_price_growth",
        "rate",
        "per year",
        "Yearly growth of the power price",
        default=0.0,
        lo=-0.5,
        hi=1,
    ),
    _p(
        "operations.om_rate",
        "rate",
        "per year",
        "Non-energy O&M as a share of in-service cost",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "finance.discount_rate",
        "rate",
        "per year",
        "Discount rate for NPV",
        default=0.10,
        lo=-0.5,
        hi=1,
        lo_open=True,
    ),
    _p(
        "finance.valuation_year",
        "year",
        "year",
        "Year at which values are discounted to",
        default=lambda v, c: v["program.start_year"],
        lo=1990,
        hi=2200,
    ),
    _p(
        "analysis.end_year",
        "year",
        "year",
        "Last year of the horizon",
        default=lambda v, c: v["program.start_year"] + 15,
        lo=1990,
        hi=2200,
    ),
    _p(
        "analysis.terminal_value",
        "choice",
        "-",
        "Value of the assets at the end of the horizon",
        default="book",
        choices=("book", "none"),
    ),
    _p(
        "fiscal.window_start",
        "year",
        "year",
        "First year of the budget window",
        default=lambda v, c: v["program.start_year"] + 1,
        lo=1990,
        hi=2200,
    ),
    _p("fiscal.window_years", "int", "years", "Length of the budget window", default=10, lo=1, hi=100),
    _p(
        "fiscal.discount_rate",
        "rate",
        "per year",
        "Discount rate for the Treasury's cost",
        default=0.04,
        lo=-0.5,
        hi=1,
        lo_open=True,
    ),
)


#: MODEL.md part 2 (sections 13, 14, 16): debt, the federal loan guarantee, the credit used against tax.
FINANCING_PARAMETERS: tuple[Param, ...] = (
    _p(
        "finance.debt.share",
        "rate",
        "fraction",
        "Share of each year's spend borrowed that year",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "finance.debt.rate",
        "rate",
        "per year",
        "Interest rate of unguaranteed debt",
        default=0.07,
        lo=0,
        hi=1,
    ),
    _p(
        "finance.debt.tenor_years",
        "int",
        "years",
        "Years of level payments of each tranche",
        default=10,
        lo=1,
        hi=60,
    ),
    _p(
        "finance.debt.grace_years",
        "int",
        "years",
        "Interest-only years before the first payment",
        default=0,
        lo=0,
        hi=30,
    ),
    _p(
        "finance.equity_discount_rate",
        "rate",
        "per year",
        "Discount rate for the equity NPV",
        default=lambda v, c: v["finance.discount_rate"],
        lo=-0.5,
        hi=1,
        lo_open=True,
    ),
    _p(
        "policy.amic.offset_limit",
        "rate",
        "fraction",
        "Largest share of a year's tax the credit pool may offset (monetization: offset, standalone)",
        default=0.75,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.carryforward_years",
        "int",
        "years",
        "Years a credit stays usable after it joins the pool",
        default=20,
        lo=0,
        hi=100,
    ),
    _p(
        "policy.loan_guarantee.guaranteed_share",
        "rate",
        "fraction",
        "Share of each loan the federal government guarantees",
        default=0.8,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.loan_guarantee.rate_reduction",
        "rate",
        "per year",
        "How much less the guaranteed part of a loan costs",
        default=0.015,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.loan_guarantee.upfront_fee_rate",
        "rate",
        "fraction",
        "Fee paid to the Treasury on the guaranteed amount, in the draw year",
        default=0.01,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.loan_guarantee.default_probability",
        "rate",
        "per year",
        "Annual probability that a guaranteed loan defaults",
        default=0.01,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.loan_guarantee.recovery_rate",
        "rate",
        "fraction",
        "Share of a defaulted balance recovered",
        default=0.5,
        lo=0,
        hi=1,
    ),
)

#: MODEL.md part 3 (sections 17, 18): refresh of retired property, incidence of the credit.
REALISM_PARAMETERS: tuple[Param, ...] = (
    _p(
        "refresh.categories",
        "names",
        "-",
        "Categories or groups whose retired property is replaced like for like",
        default=(),
    ),
    _p(
        "refresh.price_change",
        "rate",
        "per year",
        "Yearly change of the cost of like-for-like replacement",
        default=0.0,
        lo=-1,
        hi=1,
        lo_open=True,
    ),
    _p(
        "refresh.last_year",
        "year",
        "year",
        "Last year with replacement spend",
        default=lambda v, c: v["analysis.end_year"],
        lo=1990,
        hi=2200,
    ),
    _p(
        "incidence.third_party_share",
        "share_map",
        "fraction",
        "Share of a category owned by others (one number, or by category or group name)",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "incidence.pass_through",
        "rate",
        "fraction",
        "Share of the other owners' gain from the credit that reaches the program",
        default=1.0,
        lo=0,
        hi=1,
    ),
)
PARAMETERS = PARAMETERS + FINANCING_PARAMETERS + REALISM_PARAMETERS

#: Each declaration by its path (``categories.*.share`` for category keys).
BY_PATH: dict[str, Param] = {p.path: p for p in PARAMETERS}
#: The keys of one category block, in declaration order.
CATEGORY_KEYS = tuple(p.path.split(".")[2] for p in PARAMETERS if p.path.startswith("categories.*."))


def param_for(path: str, values: Mapping[str, Any] | None = None) -> Param | None:
    """The declaration of a scenario path, or None.

    ``categories.NAME.key`` maps to ``categories.*.key``; given a scenario's
    ``values``, only when ``NAME`` is one of its categories.

    >>> param_for("categories.servers.share").unit
    'fraction'
    >>> param_for("categories.servers.share", {"categories": ("grid",)}) is None
    True
    >>> param_for("policy.amic.rate").kind
    'rate_map'

    A step of a rate by year, ``policy.amic.rate[2026]``, maps to the rate by
    year's declaration (see :func:`split_step`); ``[YEAR]`` on any other key: None.
    """
    path, year = split_step(path)
    if year is not None:
        p = param_for(path, values)
        return p if p is not None and p.kind == "rate_map" else None
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "categories":
        if values is not None and parts[1] not in tuple(values.get("categories") or ()):
            return None
        return BY_PATH.get(f"categories.*.{parts[2]}")
    return None if path.startswith("categories.") else BY_PATH.get(path)


_STEP = re.compile(r"^(?P<path>[^\[\]]+)\[(?P<year>[0-9]{4})\]$")


def split_step(path: str) -> tuple[str, int | None]:
    """``policy.amic.rate[2026]`` -> ``("policy.amic.rate", 2026)``; a path without ``[YEAR]``: year None.

    ``[YEAR]`` addresses the step of a rate by year that starts in ``YEAR``
    (MODEL.md section 11, "What-ifs").

    >>> split_step("policy.amic.rate[2026]"), split_step("tax.corporate_rate")
    (('policy.amic.rate', 2026), ('tax.corporate_rate', None))
    """
    m = _STEP.match(path) if isinstance(path, str) else None
    return (m["path"], int(m["year"])) if m else (path, None)


def range_text(p: Param) -> str:
    """The allowed range of ``p`` as text: ``>= 0 and <= 1``, ``> 0`` (empty when unbounded)."""
    lo = "" if p.lo is None else (f"> {p.lo:g}" if p.lo_open else f">= {p.lo:g}")
    hi = "" if p.hi is None else (f"< {p.hi:g}" if p.hi_open else f"<= {p.hi:g}")
    return " and ".join(x for x in (lo, hi) if x)


def out_of_range(p: Param, x: float) -> bool:
    """Whether ``x`` lies outside the allowed range of ``p`` (open ends exclude the bound)."""
    lo_bad = p.lo is not None and (x <= p.lo if p.lo_open else x < p.lo)
    hi_bad = p.hi is not None and (x >= p.hi if p.hi_open else x > p.hi)
    return lo_bad or hi_bad
