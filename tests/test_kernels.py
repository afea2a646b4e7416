"""Compiled kernels against the plain numpy formulas they replace."""

from __future__ import annotations

import numpy as np
import pytest

from finmodel import _kernels
from finmodel.tax import depreciation_matrix, macrs_schedule


def _case(seed: int, n: int, K: int, T: int):
    rng = np.random.default_rng(seed)
    classes = [(5, 7), (39, 3), (20, 7), (0, 7), (None, 7), (15, 11)]
    C = len(classes)
    schedules = [macrs_schedule(m, month) for m, month in classes]
    table = depreciation_matrix(schedules, np.zeros(C, dtype=bool), np.zeros(T), T)
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
    # and the simpler kernel over a full-size basis gives the same bits
    assert np.array_equal(D, _kernels.deductions(basis, bonus, table, eligible))
