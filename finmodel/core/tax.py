"""Tax rules: MACRS tables, bonus depreciation, the AMIC credit, recapture, NOLs.

All functions are pure and broadcast over leading axes; the year axis is
last. Money is nominal USD.

References
----------
IRS Publication 946, *How To Depreciate Property*, Appendix A: Table A-1
(3-, 5-, 7-, 10-, 15- and 20-year property, half-year convention) and
Table A-7a (nonresidential real property, mid-month convention).
26 U.S.C. 48D (advanced manufacturing investment credit), 50(a) (recapture),
50(c) (basis reduction), 168(k) (bonus depreciation), 172 (net operating
losses, 80% limit).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "MACRS_HALF_YEAR_PCT",
    "RECAPTURE_PCT",
    "macrs_percentages",
    "macrs_schedule",
    "macrs_matrix",
    "retirement_table",
    "life_groups",
    "deductions_by_lives",
    "recapture",
    "standalone_tax",
    "credit_pool",
]

#: IRS Pub. 946 Table A-1, percent of basis by recovery year (half-year convention).
MACRS_HALF_YEAR_PCT: dict[int, tuple[float, ...]] = {
    3: (33.33, 44.45, 14.81, 7.41),
    5: (20.00, 32.00, 19.20, 11.52, 11.52, 5.76),
    7: (14.29, 24.49, 17.49, 12.49, 8.93, 8.92, 8.93, 4.46),
    10: (10.00, 18.00, 14.40, 11.52, 9.22, 7.37, 6.55, 6.55, 6.56, 6.55, 3.28),
    15: (5.00, 9.50, 8.55, 7.70, 6.93, 6.23, 5.90, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 5.90, 5.91, 2.95),
    20: (3.750, 7.219, 6.677, 6.177, 5.713, 5.285, 4.888, 4.522) + (4.462, 4.461) * 6 + (2.231,),
}

#: IRS Pub. 946 Table A-7a, first-year percent by month placed in service (1-12).
MACRS_39_FIRST_YEAR_PCT: tuple[float, ...] = (
    2.461,
    2.247,
    2.033,
    1.819,
    1.605,
    1.391,
    1.177,
    0.963,
    0.749,
    0.535,
    0.321,
    0.107,
)
MACRS_39_MIDDLE_PCT = 2.564

#: Section 50(a)(1)(B): share of the credit recaptured when property is retired
#: after L full years in service, L = 0..4.
RECAPTURE_PCT = np.array([1.0, 0.8, 0.6, 0.4, 0.2])


def macrs_percentages(macrs_years: int, in_service_month: int = 7) -> tuple[float, ...]:
    """The published percentages of one MACRS class (Pub. 946), recovery years 1, 2, ...

    ``macrs_years = 0`` (expensed) gives ``(100,)``. For 39-year property the
    40th year holds the remainder ``100 - first - 38 * 2.564``.

    Examples
    --------
    >>> macrs_percentages(5)
    (20.0, 32.0, 19.2, 11.52, 11.52, 5.76)
    >>> macrs_percentages(39, 1)[:2]
    (2.461, 2.564)
    """
    if macrs_years == 0:
        return (100.0,)
    if macrs_years == 39:
        if not 1 <= in_service_month <= 12:
            raise ValueError(f"in_service_month must be 1..12, got {in_service_month}")
        first = MACRS_39_FIRST_YEAR_PCT[in_service_month - 1]
        last = round(100.0 - first - 38 * MACRS_39_MIDDLE_PCT, 3)
        return (first,) + (MACRS_39_MIDDLE_PCT,) * 38 + (last,)
    try:
        return MACRS_HALF_YEAR_PCT[macrs_years]
    except KeyError:
        raise ValueError(
            f"no MACRS table for {macrs_years}-year property (have 0, 3, 5, 7, 10, 15, 20, 39)"
        ) from None


def macrs_schedule(macrs_years: int | None, in_service_month: int = 7) -> np.ndarray:
    """Fractions of basis deducted in recovery years 1, 2, ...; empty for land (``None``)."""
    if macrs_years is None:
        return np.zeros(0)
    return np.array(macrs_percentages(macrs_years, in_service_month)) / 100.0


def macrs_matrix(schedules: list[np.ndarray], n_years: int) -> np.ndarray:
    """Share of year-``y`` basis deducted in year ``t``, per category, before bonus: ``M[c, y, t]``.

    Parameters
    ----------
    schedules : list of 1-D arrays, one per category
        MACRS fractions by recovery year (:func:`macrs_schedule`).
    n_years : int
        Years in the horizon; deductions after it are not taken.

    Returns
    -------
    ndarray, shape ``(C, n_years, n_years)``

    Notes
    -----
    ``M[c, y, y + k] = m_c[k]`` (MODEL.md section 5). The matrix is upper
    triangular; a row sums to the share of the basis deducted within the
    horizon. Bonus depreciation is applied with the basis, in the compiled
    pass :func:`finmodel.core._kernels.basis_deductions`:
    ``b(y) * B[y]`` in year ``y`` and ``(1 - b(y)) * B[y] * M[c, y, t]`` after.

    Examples
    --------
    >>> macrs_matrix([macrs_schedule(3)], 3)[0].round(4).tolist()
    [[0.3333, 0.4445, 0.1481], [0.0, 0.3333, 0.4445], [0.0, 0.0, 0.3333]]
    """
    k = np.arange(n_years)[None, :] - np.arange(n_years)[:, None]  # t - y
    table = np.zeros((len(schedules), n_years, n_years))
    for c, sched in enumerate(schedules):
        padded = np.zeros(n_years)
        m = min(len(sched), n_years)
        padded[:m] = sched[:m]
        table[c] = np.where(k >= 0, padded[np.clip(k, 0, n_years - 1)], 0.0)
    return table


def retirement_table(table: np.ndarray, schedules: list[np.ndarray], life_years) -> np.ndarray:
    """The MACRS table with the abandonment loss on early retirement (MODEL.md section 5).

    Property placed in service in year ``y`` is retired at the start of year
    ``y + L`` (``L`` = ``life_years`` of its category); every deduction of
    that vintage scheduled after ``y + L`` is taken in year ``y + L``
    instead, so the undeducted basis is written off when the property is
    retired.

    Parameters
    ----------
    table : array ``(C, T, T)``
        Share of year-``y`` basis deducted in year ``t`` (:func:`macrs_matrix`).
    schedules : list of 1-D arrays, one per category
        The full MACRS fractions by recovery year (:func:`macrs_schedule`),
        including the years after the horizon; empty for land.
    life_years : array ``(C,)``
        Whole years in service; ``inf`` for ever (no retirement).

    Returns
    -------
    ndarray ``(C, T, T)``, a new array.

    Notes
    -----
    ``M'[c, y, y + k] = m_c[k]`` for ``k < L``, ``sum_{j >= L} m_c[j]`` for
    ``k = L`` and 0 after. With ``L`` at or after the last recovery year
    (the default ``life_years = macrs_years``: the half-year tables end in
    year ``y + macrs_years``) the table is unchanged, bit for bit; with
    ``L = 0`` the whole basis is deducted in year ``y``. Land (an empty
    schedule) is never deducted, so never moved.

    Examples
    --------
    5-year property (20, 32, 19.2, 11.52, 11.52, 5.76 percent) retired after
    3 years: the last three recovery years, 28.8%, are deducted in year 3.

    >>> M = macrs_matrix([macrs_schedule(5)], 8)
    >>> (retirement_table(M, [macrs_schedule(5)], np.array([3.0]))[0, 0] * 100).round(2).tolist()
    [20.0, 32.0, 19.2, 28.8, 0.0, 0.0, 0.0, 0.0]
    """
    out = np.array(table, dtype=float, copy=True)
    T = out.shape[-1]
    k = np.arange(T)[None, :] - np.arange(T)[:, None]  # t - y
    for c, sched in enumerate(schedules):
        life = float(np.asarray(life_years, dtype=float)[c])
        if len(sched) == 0 or not np.isfinite(life) or life >= len(sched) - 1:
            continue  # land, never retired, or retired after its last deduction: nothing moves
        L = int(life)
        tail = float(np.sum(sched[L:]))  # every deduction from recovery position L on
        out[c] = np.where(k < L, out[c], np.where(k == L, tail, 0.0))
    return out


def life_groups(life_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct sets of lives of ``(n, C)`` rows and each row's set: ``(distinct, group)``.

    What ``numpy.unique(life_rows, axis=0, return_inverse=True)`` gives (the
    sets in another order), from a sort of each varying column and one of
    integer codes: lives are whole years and only a few columns are drawn,
    so this is a small fraction of a sort of whole rows.

    Examples
    --------
    >>> distinct, group = life_groups(np.array([[5.0, 39.0], [3.0, 39.0], [5.0, 39.0]]))
    >>> [distinct[g].tolist() for g in group]
    [[5.0, 39.0], [3.0, 39.0], [5.0, 39.0]]
    """
    life_rows = np.asarray(life_rows, dtype=float)
    n = life_rows.shape[0]
    code = np.zeros(n, dtype=np.int64)
    for column in life_rows.T:  # a loop over categories, not draws
        if n and np.any(column != column[0]):
            values, index = np.unique(column, return_inverse=True)
            code = code * len(values) + index.reshape(-1)
    _, first, group = np.unique(code, return_index=True, return_inverse=True)
    return life_rows[first], group.reshape(-1)


def deductions_by_lives(
    placed, earned, reduction, bonus, life_rows, table, schedules, eligible, out, remaining
):
    """:func:`finmodel.core._kernels.basis_deductions` with each draw's own lives ``(n, C)``.

    One retirement table (:func:`retirement_table`) per distinct set of lives
    (:func:`life_groups`), each applied in place to the draws that have it;
    every draw's deductions and basis left are those of its own table alone,
    the same bits as a run of that draw. Writes ``out`` and ``remaining``.
    """
    from finmodel.core._kernels import basis_deductions_rows

    distinct, group = life_groups(life_rows)
    order = np.argsort(group, kind="stable")  # each set's draws, in increasing order
    bounds = np.searchsorted(group[order], np.arange(len(distinct) + 1))
    for g, lives in enumerate(distinct):  # a loop over sets of lives, not draws
        rows = order[bounds[g] : bounds[g + 1]]
        lives_table = retirement_table(table, schedules, lives)
        basis_deductions_rows(placed, earned, reduction, bonus, lives_table, eligible, rows, out, remaining)


def recapture(earned: np.ndarray, life_years: np.ndarray, enabled) -> np.ndarray:
    """Credit paid back on retirement before five full years (section 50(a)).

    Property placed in service in ``y`` with life ``L < 5`` pays back
    ``RECAPTURE_PCT[L] * E[y]`` in year ``y + L`` (dropped if after the horizon).

    Parameters
    ----------
    earned : array ``(..., C, T)``
        Credit earned by placed-in-service year. [USD]
    life_years : array broadcasting to ``(..., C)``
        Whole years in service; ``inf`` for ever.
    enabled : bool array broadcasting to ``(..., C)``
    """
    from finmodel.core._kernels import scaled_shift_rows  # compiled: one pass, no full-size temporaries

    life = np.asarray(life_years, dtype=float)
    short = np.isfinite(life) & (life < 5)
    L = np.where(short, life, 0).astype(np.int64)
    pct = np.where(short & np.asarray(enabled, dtype=bool), RECAPTURE_PCT[np.clip(L, 0, 4)], 0.0)
    if np.any(L < 0):
        raise ValueError("lag must be >= 0")
    # shift(earned * pct[..., None], L), the same bits
    x = np.asarray(earned, dtype=float)
    T = x.shape[-1]
    shape = np.broadcast_shapes(x.shape[:-1], pct.shape, L.shape)
    rows = np.ascontiguousarray(np.broadcast_to(x, shape + (T,))).reshape(-1, T)
    scale = np.ascontiguousarray(np.broadcast_to(pct, shape)).reshape(-1)
    lags = np.ascontiguousarray(np.broadcast_to(np.minimum(L, T), shape)).reshape(-1)
    return scaled_shift_rows(rows, scale, lags).reshape(shape + (T,))


def standalone_tax(taxable_income: np.ndarray, rate, nol_limit) -> tuple[np.ndarray, np.ndarray]:
    """Tax of an owner with no other income: losses carried forward as NOLs.

    In a year with ``TI > 0``: ``use = min(NOL, limit * TI)``,
    ``tax = rate * (TI - use)``; in a year with ``TI <= 0``:
    ``NOL += -TI`` and ``tax = 0`` (MODEL.md section 7).

    Parameters
    ----------
    taxable_income : array ``(..., T)``
        Taxable income by year [USD].
    rate, nol_limit : float or array ``(...)``
        Corporate tax rate and the share of a year's income that NOLs may
        offset [fraction]. The leading axes of the three inputs broadcast
        together: a rate that varies by row applies to every row of an
        income that does not.

    Returns
    -------
    tax, nol_end : arrays ``(..., T)``
        Tax by year [USD] and the NOL balance at the end of each year [USD].

    Examples
    --------
    >>> tax, nol = standalone_tax(np.array([-100.0, 50.0, 200.0]), 0.21, 0.8)
    >>> tax.round(2).tolist(), nol.tolist()
    ([0.0, 2.1, 29.4], [100.0, 60.0, 0.0])
    """
    ti = np.asarray(taxable_income, dtype=float)
    rate = np.asarray(rate, dtype=float)
    limit = np.asarray(nol_limit, dtype=float)
    # Any of the three may carry the leading axes (a sweep or draws of the
    # rate alone leave the income unchanged): broadcast all to one shape.
    lead = np.broadcast_shapes(ti.shape[:-1], rate.shape, limit.shape)
    ti = np.broadcast_to(ti, lead + ti.shape[-1:])
    rate = np.broadcast_to(rate, lead)
    limit = np.broadcast_to(limit, lead)
    tax = np.zeros(ti.shape)
    nol_end = np.zeros(ti.shape)
    nol = np.zeros(lead)
    for t in range(ti.shape[-1]):
        x = ti[..., t]
        positive = x > 0
        use = np.where(positive, np.minimum(nol, limit * x), 0.0)
        tax[..., t] = np.where(positive, rate * (x - use), 0.0)
        nol = np.where(positive, nol - use, nol - x)
        nol_end[..., t] = nol
    return tax, nol_end


def credit_pool(joined, tax, offset_limit, carryforward_years) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Credit used against a standalone owner's own tax, oldest first (MODEL.md section 16).

    Parameters
    ----------
    joined : array ``(..., T)``
        Credit joining the pool by year (earned credit, after the payment lag). [USD]
    tax : array ``(..., T)``
        The year's income tax after NOLs (the levered tax where there is debt). [USD]
    offset_limit : array ``(...)``
        Largest share of a year's tax the pool may offset. [fraction]
    carryforward_years : array ``(...)`` of int
        A credit joining in year ``j`` is usable in ``j .. j + carryforward_years``.

    Returns
    -------
    used, expired : arrays ``(..., T)``
        The offset by year, and the credit that expired at the end of its last
        usable year (never in the last year of the horizon: a credit still
        usable then is left). [USD]
    left : array ``(...)``
        The pool at the end of the horizon. [USD]

    Examples
    --------
    100 joins in year 0, usable for one more year; tax 40 a year, 75% offset:
    30 used in years 0 and 1, 40 expires at the end of year 1.

    >>> used, expired, left = credit_pool(np.array([100.0, 0, 0]), np.full(3, 40.0), 0.75, 1)
    >>> used.tolist(), expired.tolist(), float(left)
    ([30.0, 30.0, 0.0], [0.0, 40.0, 0.0], 0.0)
    """
    from finmodel.core._kernels import credit_pool_rows

    joined = np.asarray(joined, dtype=float)
    tax = np.asarray(tax, dtype=float)
    limit = np.asarray(offset_limit, dtype=float)
    carry = np.asarray(carryforward_years, dtype=np.int64)
    lead = np.broadcast_shapes(joined.shape[:-1], tax.shape[:-1], limit.shape, carry.shape)
    T = joined.shape[-1]

    def rows(x, shape, dtype=float):
        flat = np.ascontiguousarray(np.broadcast_to(x, shape), dtype=dtype)
        return flat.reshape((-1,) + shape[len(lead) :])

    J, X = rows(joined, lead + (T,)), rows(tax, lead + (T,))
    n = J.shape[0]
    used, expired, left = np.empty((n, T)), np.empty((n, T)), np.empty(n)
    credit_pool_rows(J, X, rows(limit, lead), rows(carry, lead, np.int64), used, expired, left)
    return used.reshape(lead + (T,)), expired.reshape(lead + (T,)), left.reshape(lead)
