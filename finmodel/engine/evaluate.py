"""Every yearly line of MODEL.md sections 3-10 for every case, in one vectorized pass.

Arrays are shaped ``(..., case, category, year)`` for category lines and
``(..., case, year)`` for totals. A NaN or infinity stops a run with the line,
year, case and category where it first appeared (:class:`NumericalError`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from finmodel.core.cashflow import (
    book_value,
    capacity_placed,
    om_cost,
    power_cost,
    replacements,
    revenue_per_usd_per_gw_year,
)
from finmodel.core.tax import deductions_by_lives, recapture, retirement_table, standalone_tax
from finmodel.core.timeline import shift, trailing_window_sum
from finmodel.engine.financing import debt_lines, offset_from_pool
from finmodel.engine.inputs import Inputs


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


def sum_categories(x: np.ndarray) -> np.ndarray:
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
        tables = (inp.macrs_table, inp.macrs_schedules, inp.bonus_eligible)
        deductions_by_lives(P, E, red, bon, life_rows, *tables, D, remaining)  # in place, no copies
    return D.reshape(lead + (C, T)), remaining.reshape(lead + (C,))


def income_tax(ti: np.ndarray, inp: Inputs) -> np.ndarray:
    rate = inp.corporate_rate[..., None]
    tax = rate * ti
    if np.any(inp.standalone):
        carried, _ = standalone_tax(ti, inp.corporate_rate, inp.nol_limit)
        tax = np.where(inp.standalone[..., None], carried, tax)
    return tax


def _credit(inp: Inputs, P: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Credit earned, credit due by year, credit cash, its Treasury cost and recapture (section 4).

    Returns ``E`` and ``RC`` ``(..., case, C, T)``, ``F`` (the credit due
    ``lag`` years after it is earned), ``CC`` and ``X`` ``(..., case, T)``. [USD]
    """
    Q = P * inp.qualified_fraction[..., None, :, None]
    construction_start = inp.years - inp.construction_years[..., None, :, None]
    on_time = construction_start <= inp.deadline_year[..., :, None, None] - 1
    qualifies = inp.eligible[..., :, :, None] & on_time
    E = Q * np.where(qualifies, inp.credit_rate[..., :, None, :], 0.0)  # one pass over the draws
    F = shift(sum_categories(E), inp.payment_lag_years)
    transfer = inp.transfer[..., None]
    CC = np.where(transfer, inp.transfer_price[..., None] * F, (1.0 - inp.payment_haircut[..., None]) * F)
    if inp.offset_any:  # used against the owner's own tax: face value, no haircut (section 16)
        CC = np.where(inp.offset[..., None], F, CC)
    X = np.where(transfer, F, CC)
    RC = recapture(E, inp.life_years[..., None, :], inp.recapture[..., :, None])
    return E, F, CC, X, RC


def _terminal(inp: Inputs, P: np.ndarray, remaining_basis: np.ndarray, last: np.ndarray):
    """Terminal value (total and by category, in ``end_year``) and its taxable gain (section 8). [USD]"""
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
    return TV, TV_line, gain


def _offset(inp: Inputs, F: np.ndarray, CC: np.ndarray, X: np.ndarray, tax_paid: np.ndarray):
    """Credit used against a standalone owner's own tax (section 16): ``CC``, ``X`` and the pool lines."""
    if inp.offset_pool:
        used, expired, left = offset_from_pool(inp, F, tax_paid)
        in_pool = (inp.offset & inp.standalone)[..., None]
        pool = {
            "credit_expired": np.where(in_pool, expired, 0.0),
            "credit_pool_left": np.where(in_pool[..., 0], left, 0.0),
        }
        return np.where(in_pool, used, CC), np.where(in_pool, used, X), pool
    if inp.offset_any:
        return CC, X, {"credit_expired": np.zeros(CC.shape), "credit_pool_left": np.zeros(CC.shape[:-1])}
    return CC, X, {}


def _refresh_upper(inp: Inputs) -> np.ndarray:
    """``(..., C)``: the last year a category's replacement may be bought (section 17)."""
    return np.minimum(inp.refresh_last_year[..., None], inp.end_year - inp.in_service_lag_years)


def _replacement_spend(inp: Inputs, K: np.ndarray) -> np.ndarray:
    """``Kr`` ``(..., 1, C, T)``: what replacing retired property costs (MODEL.md section 17). [USD]"""
    return replacements(
        K,
        inp.life_years[..., None, :],
        inp.refreshed,
        inp.refresh_price_change[..., None, None],
        _refresh_upper(inp)[..., None, :],
        inp.years,
    )


def _capacity(inp: Inputs, K: np.ndarray, P: np.ndarray) -> np.ndarray:
    """GW placed in service by year ``(..., T)`` (section 6; with refresh, section 17). [GW]"""
    d = inp.capacity_index
    if not inp.refreshed[d]:
        return capacity_placed(P[..., 0, d, :], inp.capacity_gw)
    bought = K[..., 0, d, :]  # the program's own purchases; a replacement carries the GW it replaces
    chain = bought + replacements(
        bought, inp.life_years[..., d], True, 0.0, _refresh_upper(inp)[..., d], inp.years
    )
    total = bought.sum(axis=-1, keepdims=True)
    placed = shift(chain, inp.in_service_lag_years[..., d])
    share = np.divide(
        placed, total, out=np.zeros(np.broadcast_shapes(placed.shape, total.shape)), where=total != 0
    )
    return np.asarray(inp.capacity_gw, dtype=float)[..., None] * share


def _category_gain(inp: Inputs, E, RC, D, remaining_basis, last) -> np.ndarray:
    """``dCF`` ``(..., case, C, T)``: each category's share of a case's gain over 'without' (section 18).

    The credit cash of the category alone, less its recapture, plus the tax
    saved by its change of deductions and by the basis its recapture
    restores; with a book terminal value, the tax on the change of its
    remaining basis in ``end_year``. [USD]
    """
    factor = np.where(inp.transfer, inp.transfer_price, 1.0 - inp.payment_haircut)[..., None, None]
    cash = factor * shift(E, inp.payment_lag_years[..., None])
    tau = inp.corporate_rate[..., None, None]
    gain = cash - RC + tau * (D - D[..., :1, :, :] + inp.basis_reduction[..., None, None] * RC)
    if inp.terminal_book:
        basis = tau[..., 0] * (remaining_basis - remaining_basis[..., :1, :])
        gain = gain + basis[..., None] * last
    return gain


def _equity_cash_flow(CF: np.ndarray, tax: np.ndarray, levered) -> np.ndarray:
    """Section 13: the project's cash flow with the levered tax, draws and debt service. [USD]"""
    return (
        CF
        + tax
        - levered["tax_levered"]
        + levered["debt_draw"]
        - levered["interest"]
        - levered["principal"]
        - levered["guarantee_fee"]
        - levered["balloon"]
    )


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
    bought = K
    # Section 17: replacements of retired property are new property in every respect
    Kr = _replacement_spend(inp, K) if inp.refresh_any else None
    if Kr is not None:
        K = K + Kr
    P = shift(K, inp.in_service_lag_years[..., None, :])
    # Section 4: the credit, (..., case, C, T)
    E, F, CC, X, RC = _credit(inp, P)
    RCt = sum_categories(RC)
    # Section 5: depreciation, (..., case, C, T)
    D, remaining_basis = _depreciation(P, E, inp)
    # Section 6: operations, (..., T) then (..., case, T)
    d = inp.capacity_index
    G = _capacity(inp, bought, P)
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
    TV, TV_line, gain = _terminal(inp, P, remaining_basis, last)
    # Section 7: income tax
    # recapture restores basis_reduction * RC of basis, deducted at once on retirement (section 4)
    TI = ebitda - sum_categories(D) - inp.basis_reduction[..., None] * RCt + gain[..., None] * last
    tax = income_tax(TI, inp)
    Kt = sum_categories(K)
    # Sections 13, 14, 16: debt and guarantee (levered tax), credit used against tax
    levered = debt_lines(inp, Kt, TI, lambda ti: income_tax(ti, inp)) if inp.financing else {}
    tax_paid = levered.get("tax_levered", tax)  # the owner's tax: levered where there is debt
    CC, X, pool = _offset(inp, F, CC, X, tax_paid)
    # Section 9: cash flow
    CF = R - W - M - Kt - tax - RCt + CC + TV
    # Section 18: the program keeps s_c = 1 - theta_c (1 - pi) of each category's gain
    incidence = {}
    if inp.incidence:
        gain = _category_gain(inp, E, RC, D, remaining_basis, last)
        given = inp.third_party_share * (1.0 - inp.pass_through[..., None])  # 1 - s_c, (..., C)
        third = sum_categories(np.ascontiguousarray(gain * given[..., None, :, None]))
        CF = CF - third
        incidence = {"credit_gain": gain, "third_party_gain": third}
    # Section 10: the Treasury's cost of each case against 'without' (the levered tax with debt)
    fiscal = X - RCt + tax_paid[..., :1, :] - tax_paid
    if levered:
        fiscal = fiscal + levered["guarantee_default_cost"] - levered["guarantee_fee"]
        levered["equity_cash_flow"] = _equity_cash_flow(CF, tax, levered)
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
        **levered,
        **pool,
        **incidence,
        **({"refresh_spend": np.broadcast_to(Kr, E.shape)} if Kr is not None else {}),
    }
    if check:
        _check_finite(lines, inp)
    return lines


#: The order in which evaluate() computes its lines: where a NaN or infinity
#: shows up in several lines in one year, the first of these is its origin.
_COMPUTATION_ORDER = (
    "refresh_spend",
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
