"""Compiled kernels against the plain numpy formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest

from finmodel.core import _kernels
from finmodel.core.tax import macrs_matrix, macrs_schedule


def _case(seed: int, n: int, K: int, T: int):
    rng = np.random.default_rng(seed)
    classes = [(5, 7), (39, 3), (20, 7), (0, 7), (None, 7), (15, 11)]
    C = len(classes)
    schedules = [macrs_schedule(m, month) for m, month in classes]
    table = macrs_matrix(schedules, T)
    eligible = np.array([True, False, True, True, False, True])
    placed = rng.uniform(0, 1e11, size=(n, 1, C, T))
    earned = rng.uniform(0, 0.35, size=(n, K, C, T)) * placed
    reduction = rng.uniform(0, 1, size=(n, K))
    bonus = rng.choice([0.0, 0.4, 0.6, 0.8, 1.0], size=(n, K, T))
    return placed, earned, reduction, bonus, table, eligible


@pytest.mark.parametrize(("n", "K", "T"), [(1, 2, 1), (3, 2, 7), (37, 2, 9), (70, 3, 17), (5, 1, 129)])
def test_basis_deductions_equal_the_matrix_formula(n, K, T):
    placed, earned, reduction, bonus, table, eligible = _case(n * 1000 + T, n, K, T)
    C = table.shape[0]
    D = np.empty((n, K, C, T))
    remaining = np.empty((n, K, C))
    _kernels.basis_deductions(placed, earned, reduction, bonus, table, eligible, D, remaining)

    # Oracle: MODEL.md section 5 as a matrix, M[c, y, t] = b(y)[t == y] + (1 - b(y)) m_c[t - y]
    basis = placed - reduction[..., None, None] * earned
    b = bonus[:, :, None, :, None]
    M = np.where(eligible[:, None, None], b * np.eye(T) + (1 - b) * table, table)
    expected = np.einsum("nkcy,nkcyt->nkct", basis, M)
    np.testing.assert_allclose(D, expected, rtol=1e-12, atol=1e-3)
    # the basis left: the same bits as the numpy expression on the kernel's own deductions
    assert np.array_equal(remaining, basis.sum(axis=-1) - D.sum(axis=-1))


# --------------------------------------------------------------------------- IRR root bounds


def _roots_in_unit_interval(coefficients: np.ndarray) -> int:
    """Real roots of ``sum_j a_j w ** j`` in (0, 1), with multiplicity, from numpy's eigenvalues."""
    roots = np.roots(coefficients[::-1])
    real = roots[np.abs(roots.imag) <= 1e-9 * np.maximum(1.0, np.abs(roots))].real
    return int(((real > 1e-9) & (real < 1 - 1e-9)).sum())


def test_cumulative_sum_bounds_never_undercount_the_roots():
    """Descartes' rule for p(w) / (1 - w) and p(w) / (1 - w)**2: each side's bound is >= its roots in (0, 1),
    of the same parity, and -1 only when unknown."""
    rng = np.random.default_rng(3)
    checked = settled_by_second = 0
    for _ in range(3000):
        m = int(rng.integers(2, 16))
        a = rng.standard_normal(m + 1)
        partial = np.cumsum(a)
        total = float(partial[-1])
        j = np.arange(m + 1)
        v0, v1 = _kernels._norstrom(
            partial, m, total, float(np.abs(a).sum()), float(j @ a), float((m - j) @ a)
        )
        for v, side in ((v0, a), (v1, a[::-1])):
            if v < 0:
                continue
            roots = _roots_in_unit_interval(side)
            checked += 1
            assert v >= roots and (v - roots) % 2 == 0, (a, v, roots)
        once = [int((np.diff(np.sign(np.cumsum(s))) != 0).sum()) for s in (a, a[::-1])]
        settled_by_second += sum(1 for v, k1 in zip((v0, v1), once, strict=True) if k1 > 1 and v in (0, 1))
    assert checked > 4000 and settled_by_second > 300  # the second cumulation does settle sides


def test_cauchy_bound_has_no_root_below_it():
    rng = np.random.default_rng(4)
    for _ in range(500):
        m = int(rng.integers(1, 16))
        a = rng.standard_normal(m + 1) * 10.0 ** rng.uniform(-3, 3, m + 1)
        bound = _kernels._root_free_below(a, m)
        roots = np.roots(a[::-1])
        assert np.all(np.abs(roots) >= bound * (1 - 1e-12))


HARD_FAMILIES = ["cauchy", "integers", "investment_first", "short", "long"]


@pytest.mark.parametrize("kind", HARD_FAMILIES)
def test_irr_matches_numpy_financial_on_hard_families(kind):
    import numpy_financial as npf

    from finmodel.core.metrics import irr

    rng = np.random.default_rng(HARD_FAMILIES.index(kind))
    if kind == "cauchy":  # heavy tails: a few flows dwarf the rest
        values = rng.standard_cauchy((2000, 16))
    elif kind == "integers":  # exact zero partial sums and exact roots at r = 0
        values = rng.integers(-3, 4, (2000, 16)).astype(float)
    elif kind == "investment_first":
        values = rng.standard_normal((2000, 16))
        values[:, :4] = -np.abs(values[:, :4]) * 5
    else:
        values = rng.standard_normal((2000, 5 if kind == "short" else 40))
    ours = irr(values)
    with np.errstate(all="ignore"):
        ref = np.array([npf.irr(v) for v in values])
    # flows summing to exactly zero have the root r = 0; numpy-financial's eigenvalues may miss it
    # when it is a multiple root, so those rows are checked on their own
    exact_zero = values.sum(axis=1) == 0
    assert np.all(ours[exact_zero] == 0.0)
    keep = ~exact_zero
    assert np.array_equal(np.isnan(ours[keep]), np.isnan(ref[keep]))
    ok = keep & ~np.isnan(ref)
    np.testing.assert_allclose(ours[ok], ref[ok], rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("n", [7, 3000])  # one thread, and all cores from the main thread
def test_equal_flows_of_a_draws_cases_are_solved_once_with_the_same_bits(n):
    """Cases with the same flows (a guarantee's project cash flow and 'without''s) share one
    solve; every IRR equals the row's IRR solved alone, NaN where it has none. A 2-D input is
    solved row by row: ``group`` is the caller's to give, never guessed from the shape."""
    from finmodel.core.metrics import irr

    rng = np.random.default_rng(n)
    flows = rng.standard_normal((n, 4, 12))
    flows[:, :, 0] = -5.0
    flows[:, 2] = flows[:, 0]  # case 2 as case 0
    flows[:, 3] = flows[:, 1]
    flows[::3, 3] = 1.0  # no root: NaN, never copied as a root
    got = irr(flows, group=4)
    alone = irr(flows.reshape(-1, 12)).reshape(n, 4)  # every row solved (group 1)
    assert np.array_equal(got, alone, equal_nan=True)
    assert np.array_equal(got[:, 2], got[:, 0], equal_nan=True) and np.isnan(got[::3, 3]).all()


def test_the_kernels_add_in_the_installed_numpys_order():
    # The kernels that replace numpy expressions copy numpy's summation order, so that a
    # draw of a batch equals the single run bit for bit; this is checked at import too.
    assert _kernels.numpy_order_matches(seed=0)
    assert _kernels.numpy_order_matches(seed=12345)


# --------------------------------------------------------------------------- debt tranches


def _einsum_debt(drawn, rate, tenor, grace):
    """The plain numpy reference of :func:`finmodel.core.debt.debt_service`: one einsum per line."""
    from finmodel.core.debt import tranche_factors

    T = drawn.shape[-1]
    fi, fp, fb = tranche_factors(rate, tenor, grace, T)
    interest = np.einsum("...y,...yt->...t", drawn, fi)
    principal = np.einsum("...y,...yt->...t", drawn, fp)
    balance = np.einsum("...y,...yt->...t", drawn, fb)
    return interest, principal, balance[..., -1:] * (np.arange(T) == T - 1), balance


@pytest.mark.parametrize(
    ("drawn_shape", "rate_shape", "T"),
    [
        ((), (), 1),
        ((), (), 16),
        ((4,), (4,), 16),
        ((300, 4), (4,), 16),
        ((7, 1), (7, 3), 21),
        ((5, 2), (), 9),
    ],
)
def test_debt_service_adds_in_einsums_order(drawn_shape, rate_shape, T):
    from finmodel.core.debt import debt_service

    rng = np.random.default_rng(T * 31 + len(drawn_shape))
    drawn = rng.uniform(0, 1e11, drawn_shape + (T,)) * (rng.uniform(size=drawn_shape + (T,)) < 0.6)
    drawn[..., : T // 3] = -0.0 if T > 3 else drawn[..., : T // 3]  # years with nothing drawn are skipped
    rate = rng.choice([0.0, 1e-12, 0.055, 0.07, 0.3], size=rate_shape)
    tenor = np.array([10, 1, 5, 3])[: rate_shape[-1]] if rate_shape else 10
    grace = np.array([0, 2, 1, 0])[: rate_shape[-1]] if rate_shape else 1
    ours = debt_service(drawn, rate, tenor, grace)
    expected = _einsum_debt(drawn, rate, tenor, grace)
    for got, ref in zip((ours.interest, ours.principal, ours.balloon, ours.balance), expected, strict=True):
        assert got.shape == ref.shape
        assert np.array_equal(got.view(np.int64), ref.view(np.int64))  # the same bits, signed zeros too


def test_life_groups_partition_the_draws_as_numpys_unique_rows():
    from finmodel.core.tax import life_groups

    rng = np.random.default_rng(5)
    lives = np.stack(
        [rng.choice([3.0, 4, 5, 6], 500), np.full(500, 39.0), rng.choice([np.inf, 20.0], 500)], axis=1
    )
    distinct, group = life_groups(lives)
    assert np.array_equal(distinct[group], lives)  # every draw's own lives
    expected, _ = np.unique(lives, axis=0, return_inverse=True)
    assert len(distinct) == len(expected) == len({tuple(r) for r in distinct})


def test_deductions_by_lives_equal_each_draw_run_alone():
    from finmodel.core.tax import deductions_by_lives, retirement_table

    n, K, T = 150, 2, 17
    placed, earned, reduction, bonus, table, eligible = _case(77, n, K, T)
    schedules = [
        macrs_schedule(m, month) for m, month in [(5, 7), (39, 3), (20, 7), (0, 7), (None, 7), (15, 11)]
    ]
    C = table.shape[0]
    rng = np.random.default_rng(8)
    lives = np.broadcast_to(np.array([5.0, 39, 20, 1, np.inf, 15]), (n, C)).copy()
    lives[:, 0] = rng.choice([2.0, 3, 4, 5, 6], n)
    lives[:, 2] = rng.choice([6.0, 20], n)
    D, left = np.full((n, K, C, T), np.nan), np.full((n, K, C), np.nan)
    deductions_by_lives(placed, earned, reduction, bonus, lives, table, schedules, eligible, D, left)
    for i in range(n):
        own = retirement_table(table, schedules, lives[i])
        Di, lefti = np.empty((1, K, C, T)), np.empty((1, K, C))
        _kernels.basis_deductions(
            placed[i : i + 1],
            earned[i : i + 1],
            reduction[i : i + 1],
            bonus[i : i + 1],
            own,
            eligible,
            Di,
            lefti,
        )
        assert np.array_equal(D[i], Di[0]) and np.array_equal(left[i], lefti[0])


def test_basis_deductions_of_repeated_cases_equal_each_case_alone():
    # cases 2 and 3 repeat cases 0 and 1 (as 'guarantee_only' and 'both' repeat 'without' and
    # 'with' before financing); case 4 differs from case 0 only by the sign of a zero
    n, T = 130, 16
    placed, earned, reduction, bonus, table, eligible = _case(11, n, 2, T)
    earned = np.concatenate([earned, earned, earned[:, :1]], axis=1)
    earned[:, 0] = 0.0
    earned[:, 2] = 0.0
    earned[:, 4] = 0.0
    earned[5:9, 4, 1, 3] = -0.0
    reduction = np.concatenate([reduction, reduction, reduction[:, :1]], axis=1)
    bonus = np.concatenate([bonus, bonus, bonus[:, :1]], axis=1)
    K, C = earned.shape[1], table.shape[0]
    D, left = np.empty((n, K, C, T)), np.empty((n, K, C))
    _kernels.basis_deductions(placed, earned, reduction, bonus, table, eligible, D, left)
    for k in range(K):
        Dk, leftk = np.empty((n, 1, C, T)), np.empty((n, 1, C))
        args = (earned[:, k : k + 1], reduction[:, k : k + 1], bonus[:, k : k + 1])
        _kernels.basis_deductions(placed, *args, table, eligible, Dk, leftk)
        assert np.array_equal(D[:, k].view(np.int64), Dk[:, 0].view(np.int64))
        assert np.array_equal(left[:, k].view(np.int64), leftk[:, 0].view(np.int64))


def test_debt_service_of_cases_that_borrow_alike_equals_the_einsum():
    # cases 1 and 3 borrow what case 0 borrows on its terms (computed once, copied); case 2 has
    # other terms; in a few draws case 3 differs from case 0 only by the sign of a zero
    from finmodel.core.debt import debt_service

    rng = np.random.default_rng(21)
    T = 16
    drawn = rng.uniform(0, 1e11, (60, 4, T))
    drawn[..., 8:] = 0.0
    drawn[:, 1] = drawn[:, 0]
    drawn[:, 3] = drawn[:, 0]
    drawn[:7, 3, 12] = -0.0
    rate = np.array([0.07, 0.07, 0.055, 0.07])
    ours = debt_service(drawn, rate, np.array([10, 10, 10, 10]), np.array([0, 0, 1, 0]))
    expected = _einsum_debt(drawn, rate, np.array([10, 10, 10, 10]), np.array([0, 0, 1, 0]))
    for got, ref in zip((ours.interest, ours.principal, ours.balloon, ours.balance), expected, strict=True):
        assert np.array_equal(got.view(np.int64), ref.view(np.int64))
