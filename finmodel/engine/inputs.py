"""Engine arrays from a validated scenario: :class:`Inputs` and :func:`build_inputs`.

Every number the engine uses, as broadcastable arrays whose leading axes are
Monte Carlo draws or sweep points when overrides are arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from finmodel.core.cashflow import (
    schedule_shares,
)
from finmodel.core.tax import macrs_matrix, macrs_schedule
from finmodel.engine.names import CASES
from finmodel.scenario import Scenario
from finmodel.scenario.units import year_map_values


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
    # MODEL.md sections 13, 14, 16: debt, the loan guarantee, the credit used against tax
    debt_share: np.ndarray  # (..., case)
    debt_rate: np.ndarray  # (..., case)
    debt_tenor_years: np.ndarray  # (case,) int
    debt_grace_years: np.ndarray  # (case,) int
    equity_discount_rate: np.ndarray  # (..., case)
    guarantee: np.ndarray  # (case,) bool: the case has a loan guarantee
    guaranteed_share: np.ndarray  # (..., case)
    rate_reduction: np.ndarray  # (..., case)
    upfront_fee_rate: np.ndarray  # (..., case)
    default_probability: np.ndarray  # (..., case)
    recovery_rate: np.ndarray  # (..., case)
    offset: np.ndarray  # (..., case) bool: monetization offset
    offset_limit: np.ndarray  # (..., case)
    carryforward_years: np.ndarray  # (..., case) int
    # MODEL.md sections 17, 18: refresh of retired property, incidence of the credit
    refreshed: np.ndarray  # (C,) bool: the category's retired property is replaced
    refresh_price_change: np.ndarray  # (...) yearly change of the replacement cost
    refresh_last_year: np.ndarray  # (...) last year with replacement spend
    incidence: bool  # the scenario has an incidence: block
    third_party_share: np.ndarray  # (C,) share of each category owned by others
    pass_through: np.ndarray  # (...) share of the owners' gain passed to the program

    @property
    def financing(self) -> bool:
        """Whether a case borrows or has a guarantee (the levered lines are computed)."""
        return bool(np.any(self.debt_share > 0) or np.any(self.guarantee))

    @property
    def guarantee_any(self) -> bool:
        return bool(np.any(self.guarantee))

    @property
    def offset_any(self) -> bool:
        """Whether a case uses the credit against tax (section 16)."""
        return bool(np.any(self.offset))

    @property
    def offset_pool(self) -> bool:
        """Whether a case offsets against a standalone owner's own tax (the credit pool)."""
        return bool(np.any(self.offset & self.standalone))

    @property
    def refresh_any(self) -> bool:
        """Whether a category's retired property is replaced (section 17)."""
        return bool(np.any(self.refreshed))

    @property
    def t_index(self) -> np.ndarray:
        return self.years - self.years[0]


def _stacked(values, axis: int = -1, dtype=float) -> np.ndarray:
    """Broadcast ``values`` against each other and stack them along a new ``axis``."""
    return np.stack(np.broadcast_arrays(*[np.asarray(x, dtype=float) for x in values]), axis=axis).astype(
        dtype
    )


class _Reader:
    """Reads a scenario's parameters as arrays, with overrides (draws) and per-case views.

    ``overrides`` maps parameter paths to values or arrays of draws; the case
    views give each case its own value of a path (``without`` never has
    eligible categories).
    """

    def __init__(self, scenario: Scenario, overrides: Mapping[str, Any]):
        self.scenario, self.overrides = scenario, overrides
        #: ``cases:`` (MODEL.md section 15): name -> the scenario with that case's overrides
        self.extra: dict[str, Scenario] = dict(scenario.case_scenarios)
        self.cases = CASES + tuple(self.extra)
        self.case_views: list[dict[str, Any]] = [{"policy.amic.eligible": ()}, {}]
        self.names = scenario.category_names
        self.years = scenario.years

    def _case_scenario(self, case: int | None) -> Scenario:
        return self.scenario if case is None or case < 2 else self.extra[self.cases[case]]

    def value(self, path: str, case: int | None = None):
        if case is not None and case < 2 and path in self.case_views[case]:
            return self.case_views[case][path]
        # a drawn or swept value applies in every case, over a case's own override
        if path in self.overrides:
            return self.overrides[path]
        scenario = self._case_scenario(case)
        followed = FOLLOWS.get(path)
        if followed in self.overrides and scenario.provenance[path].is_default:
            return self.overrides[followed]  # unset: it follows, as a run with that value would
        return scenario[path]

    def array(self, path: str) -> np.ndarray:
        """``(...)``"""
        return np.asarray(self.value(path), dtype=float)

    def per_category(self, key: str, dtype=float) -> np.ndarray:
        """``(..., C)``"""
        return _stacked([self.value(f"categories.{c}.{key}") for c in self.names], dtype=dtype)

    def per_case(self, path: str, dtype=float, convert=None) -> np.ndarray:
        """``(..., case)``, each value passed through ``convert`` first."""
        values = [self.value(path, k) for k in range(len(self.cases))]
        return _stacked([convert(x) for x in values] if convert else values, dtype=dtype)

    def year_map(self, path: str, case: int) -> np.ndarray:
        """``(..., T)``: a scalar, a year map, or a year map whose values are arrays of draws."""
        value, years = self.value(path, case), self.years
        if isinstance(value, Mapping) and any(np.ndim(x) for x in value.values()):
            keys = sorted(value)
            values = _stacked([value[k] for k in keys])
            idx = np.searchsorted(np.array(keys), years, side="right") - 1
            return np.where(idx >= 0, values[..., np.clip(idx, 0, None)], 0.0)
        if isinstance(value, Mapping):
            return year_map_values(value, years)
        return np.asarray(value, dtype=float)[..., None] * np.ones(len(years))

    def has_guarantee(self, case: int) -> bool:
        """Whether ``policy.loan_guarantee`` is written for the case (``without`` never has one)."""
        return case != 0 and self._case_scenario(case).has_loan_guarantee

    def per_case_year_map(self, path: str) -> np.ndarray:
        """``(..., case, T)``"""
        return _stacked([self.year_map(path, k) for k in range(len(self.cases))], axis=-2)


#: Keys whose default is another key's value and which may vary across draws and sweep
#: points (MODEL.md section 13): where a scenario (or case) leaves the first unset, a
#: drawn or swept value of the second sets both.
FOLLOWS = {"finance.equity_discount_rate": "finance.discount_rate"}


def _year_shares(read: _Reader) -> np.ndarray:
    """``(..., T)``: the share of the commitment spent in each year (section 3)."""
    if "program.year_shares" in read.overrides:
        return np.asarray(read.overrides["program.year_shares"], dtype=float)
    n_prog = read.scenario["program.years"]
    year_shares = np.zeros(len(read.years))
    year_shares[:n_prog] = schedule_shares(read.scenario["program.schedule"], n_prog)
    return year_shares


def _lives(read: _Reader) -> np.ndarray:
    """``(..., C)`` whole years in service, ``inf`` for ever (section 6: drawn lives are rounded)."""
    lives = []
    for c in read.names:
        value = read.value(f"categories.{c}.life_years")
        lives.append(np.inf if value is None else np.round(np.asarray(value, dtype=float)))
    return _stacked(lives)


def _eligible(read: _Reader, groups: tuple[str, ...]) -> np.ndarray:
    """``(case, C)``: listed by name or group, and never land (MODEL.md section 4)."""
    macrs = [read.scenario[f"categories.{c}.macrs_years"] for c in read.names]
    eligible = np.zeros((len(read.cases), len(read.names)), dtype=bool)
    for k in range(len(read.cases)):
        listed = set(read.value("policy.amic.eligible", k))
        named = [c in listed or g in listed for c, g in zip(read.names, groups, strict=True)]
        eligible[k] = [ok and m is not None for ok, m in zip(named, macrs, strict=True)]
    return eligible


def _in_names(names: tuple[str, ...], groups: tuple[str, ...], listed) -> np.ndarray:
    """``(C,)`` bool: each category listed by its name or its group."""
    listed = set(listed or ())
    return np.array([c in listed or g in listed for c, g in zip(names, groups, strict=True)], dtype=bool)


def _third_party_share(read: _Reader, groups: tuple[str, ...]) -> np.ndarray:
    """``(C,)``: a category's own entry, else its group's, else 0 (MODEL.md section 18)."""
    share = read.scenario["incidence.third_party_share"]
    if not isinstance(share, Mapping):
        return np.full(len(read.names), float(share or 0.0))
    return np.array([float(share.get(c, share.get(g, 0.0))) for c, g in zip(read.names, groups, strict=True)])


def _capacity_index(read: _Reader) -> int:
    cap_cat, names = read.scenario["program.capacity_category"], read.names
    if cap_cat not in names and np.any(read.array("program.capacity_gw") > 0):
        raise ValueError(f"program.capacity_category {cap_cat!r} names no category ({', '.join(names)})")
    return names.index(cap_cat) if cap_cat in names else 0


def _fiscal_window(scenario: Scenario) -> tuple[tuple[int, int], tuple[int, int]]:
    """(clipped to the horizon, as written): each ``(start, years)`` (section 10)."""
    start, n = int(scenario["fiscal.window_start"]), int(scenario["fiscal.window_years"])
    years = scenario.years
    first, last = max(start, int(years[0])), min(start + n - 1, int(years[-1]))
    return (first, last - first + 1), (start, n)


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
    read = _Reader(scenario, dict(overrides or {}))
    names, years = read.names, read.years
    schedules = [
        macrs_schedule(scenario[f"categories.{c}.macrs_years"], scenario[f"categories.{c}.in_service_month"])
        for c in names
    ]
    groups = tuple(scenario[f"categories.{c}.group"] for c in names)
    window, window_requested = _fiscal_window(scenario)
    return Inputs(
        cases=read.cases,
        categories=names,
        groups=groups,
        years=years,
        valuation_year=int(scenario["finance.valuation_year"]),
        end_year=int(scenario["analysis.end_year"]),
        commitment_usd=read.array("program.commitment_usd"),
        year_shares=_year_shares(read),
        category_share=read.per_category("share"),
        in_service_lag_years=read.per_category("in_service_lag_years", np.int64),
        construction_years=read.per_category("construction_years", np.int64),
        qualified_fraction=read.per_category("qualified_fraction"),
        life_years=_lives(read),
        macrs_table=macrs_matrix(schedules, len(years)),
        macrs_schedules=tuple(schedules),
        bonus_rate=read.per_case_year_map("tax.bonus_depreciation"),
        bonus_eligible=np.array([bool(scenario[f"categories.{c}.bonus_eligible"]) for c in names]),
        credit_rate=read.per_case_year_map("policy.amic.rate"),
        eligible=_eligible(read, groups),
        deadline_year=read.per_case(
            "policy.amic.construction_deadline_year", convert=lambda x: np.inf if x is None else x
        ),
        basis_reduction=read.per_case("policy.amic.basis_reduction"),
        transfer=read.per_case("policy.amic.monetization", bool, convert=lambda x: x == "transfer"),
        payment_lag_years=read.per_case("policy.amic.payment_lag_years", np.int64),
        payment_haircut=read.per_case("policy.amic.payment_haircut"),
        transfer_price=read.per_case("policy.amic.transfer_price"),
        recapture=read.per_case("policy.amic.recapture", bool),
        corporate_rate=read.per_case("tax.corporate_rate"),
        standalone=read.per_case("tax.capacity", bool, convert=lambda x: x == "standalone"),
        nol_limit=read.per_case("tax.nol_limit"),
        capacity_gw=read.array("program.capacity_gw"),
        capacity_index=_capacity_index(read),
        revenue_usd_per_gw_year=read.per_case("operations.revenue_usd_per_gw_year"),
        revenue_growth=read.array("operations.revenue_growth"),
        utilization=read.array("operations.utilization"),
        pue=read.array("operations.pue"),
        power_price_usd_per_mwh=read.array("operations.power_price_usd_per_mwh"),
        power_price_growth=read.array("operations.power_price_growth"),
        om_rate=read.array("operations.om_rate"),
        discount_rate=read.per_case("finance.discount_rate"),
        terminal_book=scenario["analysis.terminal_value"] == "book",
        fiscal_window=window,
        fiscal_window_requested=window_requested,
        fiscal_discount_rate=read.array("fiscal.discount_rate"),
        debt_share=read.per_case("finance.debt.share"),
        debt_rate=read.per_case("finance.debt.rate"),
        debt_tenor_years=read.per_case("finance.debt.tenor_years", np.int64),
        debt_grace_years=read.per_case("finance.debt.grace_years", np.int64),
        equity_discount_rate=read.per_case("finance.equity_discount_rate"),
        guarantee=np.array([read.has_guarantee(k) for k in range(len(read.cases))]),
        guaranteed_share=read.per_case("policy.loan_guarantee.guaranteed_share"),
        rate_reduction=read.per_case("policy.loan_guarantee.rate_reduction"),
        upfront_fee_rate=read.per_case("policy.loan_guarantee.upfront_fee_rate"),
        default_probability=read.per_case("policy.loan_guarantee.default_probability"),
        recovery_rate=read.per_case("policy.loan_guarantee.recovery_rate"),
        offset=read.per_case("policy.amic.monetization", bool, convert=lambda x: x == "offset"),
        offset_limit=read.per_case("policy.amic.offset_limit"),
        carryforward_years=read.per_case("policy.amic.carryforward_years", np.int64),
        refreshed=_in_names(names, groups, scenario["refresh.categories"]),
        refresh_price_change=read.array("refresh.price_change"),
        refresh_last_year=np.round(read.array("refresh.last_year")),
        incidence=scenario.has_block("incidence"),
        third_party_share=_third_party_share(read, groups),
        pass_through=read.array("incidence.pass_through"),
    )
