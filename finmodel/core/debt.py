"""Debt tranches, level amortization and the federal loan guarantee (MODEL.md sections 13-14).

Each year's draw is a tranche drawn at the end of its year ``y``: interest
only for ``grace`` years, then level annual payments over ``tenor`` years,
and whatever is still owed at the end of the horizon is repaid then (the
balloon). Every function is a pure array function over leading axes (draws,
cases); the year axis is last. Money is nominal USD, rates fractions a year.

The schedules are built from per-tranche factor matrices ``F[..., y, t]``
(the share of a tranche drawn in year ``y`` paid, or owed, in year ``t``),
so the debt service of every tranche is one matrix product (one compiled
pass over the rows of draws and cases, in einsum's order): no loop over
tranches, years or draws in Python.

References
----------
numpy-financial ``pmt``: the level payment ``A r / (1 - (1 + r) ** -n)``
(``A / n`` at ``r = 0``), the reference of the tests.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["DebtService", "level_payment", "tranche_factors", "debt_service", "expected_default_cost"]


def level_payment(rate, tenor_years) -> np.ndarray:
    """Level annual payment per unit borrowed: ``r / (1 - (1 + r) ** -n)``, ``1 / n`` at ``r = 0``.

    Examples
    --------
    >>> round(float(level_payment(0.07, 10)), 10)  # numpy_financial.pmt(0.07, 10, -1)
    0.1423775027
    """
    r = np.asarray(rate, dtype=float)
    n = np.asarray(tenor_years, dtype=float)
    safe = np.where(r == 0.0, 1.0, r)  # (1 + r) ** -n - 1 by expm1, exact for tiny rates too
    annuity = safe / -np.expm1(-n * np.log1p(safe))
    return np.where(r == 0.0, 1.0 / n, annuity)


def tranche_factors(rate, tenor_years, grace_years, n_years: int):
    """Per-unit interest, principal and closing balance of a tranche drawn at the end of year ``y``.

    Parameters
    ----------
    rate : array ``(...)``
        Interest rate of the loan. [fraction a year]
    tenor_years : int or int array ``(...)``
        Years of level payments (``>= 1``).
    grace_years : int or int array ``(...)``
        Interest-only years before the first payment (``>= 0``).
    n_years : int
        Years in the horizon ``T``.

    Returns
    -------
    interest, principal, balance : arrays ``(..., T, T)``
        ``[..., y, t]``: the interest and scheduled principal paid in year
        ``t``, and the balance owed at the end of year ``t`` (after that
        year's payment), per unit drawn at the end of year ``y``. The balloon
        is not in ``principal``: it is the balance at the end of the horizon.

    Notes
    -----
    With ``k = t - y`` years since the draw: the balance is 1 for
    ``0 <= k <= g``; in payment year ``j = k - g`` (``1 <= j <= n``) the
    opening balance is ``B[j - 1] = ((1 + r) ** n - (1 + r) ** (j - 1)) /
    ((1 + r) ** n - 1)`` (``1 - (j - 1) / n`` at ``r = 0``), interest is
    ``r * B[j - 1]`` and principal ``pmt - r * B[j - 1]``; after ``n``
    payments nothing is owed.
    """
    r = np.asarray(rate, dtype=float)[..., None, None]
    tenor_years = np.asarray(tenor_years)[..., None, None]
    T = n_years
    k = np.arange(T)[None, :] - np.arange(T)[:, None]  # t - y
    j = k - np.asarray(grace_years)[..., None, None]  # payment number, 1..n in payment years
    paying = (j >= 1) & (j <= tenor_years)
    owed_in_grace = (k >= 0) & (j <= 0)
    # ((1 + r) ** n - (1 + r) ** m) / ((1 + r) ** n - 1) by expm1, so that tiny rates keep their digits
    safe = np.where(r == 0.0, 1.0, r)
    log_growth = np.log1p(safe)
    denominator = np.expm1(tenor_years * log_growth)

    def owed_after(m):  # balance after m payments, per unit
        at_zero = 1.0 - m / tenor_years
        return np.where(r == 0.0, at_zero, (denominator - np.expm1(m * log_growth)) / denominator)

    opening, closing = owed_after(j - 1), owed_after(j)
    pmt = level_payment(r, tenor_years)
    interest = np.where(paying, r * opening, np.where((k >= 1) & (j <= 0), r, 0.0))
    principal = np.where(paying, pmt - r * opening, 0.0)
    balance = np.where(owed_in_grace, 1.0, np.where(paying, np.maximum(closing, 0.0), 0.0))
    return interest, principal, balance


@dataclass(frozen=True)
class DebtService:
    """The yearly debt lines of one or more loans, ``(..., T)`` each. [USD]

    ``balance`` is the end-of-year balance before the balloon; ``balloon``
    is nonzero only in the last year of the horizon.
    """

    interest: np.ndarray
    principal: np.ndarray
    balloon: np.ndarray
    balance: np.ndarray

    @property
    def service(self) -> np.ndarray:
        """Interest, scheduled principal and balloon, by year. [USD]"""
        return self.interest + self.principal + self.balloon


def debt_service(drawn, rate, tenor_years, grace_years) -> DebtService:
    """Interest, principal, balloon and balance of the tranches ``drawn`` ``(..., T)`` (section 13).

    Examples
    --------
    $100 drawn at the end of year 0, 10% over 2 years, no grace, a 4-year horizon:
    the level payment is 57.619, interest 10.00 then 5.238.

    >>> d = debt_service(np.array([100.0, 0, 0, 0]), 0.10, 2, 0)
    >>> d.interest.round(3).tolist(), d.principal.round(3).tolist()
    ([0.0, 10.0, 5.238, 0.0], [0.0, 47.619, 52.381, 0.0])
    """
    drawn = np.asarray(drawn, dtype=float)
    T = drawn.shape[-1]
    factors = tranche_factors(rate, tenor_years, grace_years, T)
    if not all(np.isfinite(f).all() for f in factors):  # the compiled pass skips zero draws
        fi, fp, fb = factors
        interest = np.einsum("...y,...yt->...t", drawn, fi)
        principal = np.einsum("...y,...yt->...t", drawn, fp)
        balance = np.einsum("...y,...yt->...t", drawn, fb)
        balloon = balance[..., -1:] * (np.arange(T) == T - 1)
        return DebtService(interest=interest, principal=principal, balloon=balloon, balance=balance)
    return _tranche_sums(drawn, *factors)


def _tranche_sums(drawn: np.ndarray, fi: np.ndarray, fp: np.ndarray, fb: np.ndarray) -> DebtService:
    """``einsum("...y,...yt->...t", drawn, F)`` for the three factor matrices, in one compiled pass.

    :func:`finmodel.core._kernels.tranche_rows` adds in einsum's order (the
    same bits; tests/test_kernels.py checks it) and skips the years with
    nothing drawn; each row picks its factors by index, so the ``(T, T)``
    matrices of a case are never repeated per draw, and the cases of a draw
    that borrow alike (the same draws on the same terms) are computed once.
    """
    from finmodel.core._kernels import tranche_rows

    T = drawn.shape[-1]
    fshape = fi.shape[:-2]
    lead = np.broadcast_shapes(drawn.shape[:-1], fshape)
    rows = np.ascontiguousarray(np.broadcast_to(drawn, lead + (T,))).reshape(-1, T)
    fi, fp, fb = (np.ascontiguousarray(f, dtype=float).reshape(-1, T, T) for f in (fi, fp, fb))
    # loans on the same terms share one set of factors, so that rows that borrow alike are seen alike
    # (one set per case; terms drawn per draw give a set per row, each kept as it is)
    same = np.arange(len(fi))
    if lead and len(fi) <= lead[-1]:
        for g in range(1, len(fi)):  # a loop over the cases' terms, not draws
            same[g] = next(q for q in range(g + 1) if all(_same_bits(f[q], f[g]) for f in (fi, fp, fb)))
    which = np.broadcast_to(same[np.arange(len(fi)).reshape(fshape)], lead)
    which = np.ascontiguousarray(which, dtype=np.int64).reshape(-1)
    n = rows.shape[0]
    group = lead[-1] if lead and lead[-1] > 0 else 1  # the cases of a draw
    # the years where a tranche's factors are not zero: the sums skip the exact zeros outside
    nonzero = (fi != 0.0) | (fp != 0.0) | (fb != 0.0)
    first = np.where(nonzero.any(axis=-1), np.argmax(nonzero, axis=-1), T)
    last = T - 1 - np.argmax(nonzero[..., ::-1], axis=-1)
    interest, principal, balloon, balance = (np.empty((n, T)) for _ in range(4))
    tranche_rows(rows, which, group, fi, fp, fb, first, last, interest, principal, balloon, balance)
    shape = lead + (T,)
    return DebtService(
        interest=interest.reshape(shape),
        principal=principal.reshape(shape),
        balloon=balloon.reshape(shape),
        balance=balance.reshape(shape),
    )


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    """The same numbers, bit for bit (a zero's sign included)."""
    return a.shape == b.shape and bool(np.array_equal(a.view(np.int64), b.view(np.int64)))


def expected_default_cost(balance, default_probability, recovery_rate) -> np.ndarray:
    """Expected loss on guaranteed loans by year: ``p * (1 - recovery) * balance at the start of t``.

    The balance at the start of year ``t`` is the balance at the end of
    ``t - 1`` (a tranche drawn at the end of ``y`` is outstanding from
    ``y + 1``); nothing is owed at the start of the first year. [USD]
    """
    balance = np.asarray(balance, dtype=float)
    opening = np.concatenate([np.zeros(balance.shape[:-1] + (1,)), balance[..., :-1]], axis=-1)
    loss = np.asarray(default_probability, dtype=float) * (1.0 - np.asarray(recovery_rate, dtype=float))
    return loss[..., None] * opening
