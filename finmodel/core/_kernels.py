"""Compiled kernels (numba; imported on first use, compiled once and cached on disk).

The engine's few operations that numpy cannot do in one pass over the data:
the IRR of every series (:func:`irr_rows`, behind :func:`finmodel.core.metrics.irr`),
a shift by a per-row lag (:func:`shift_rows`, behind
:func:`finmodel.core.timeline.shift`), the basis and deductions of a MACRS table
with bonus depreciation (:func:`basis_deductions`), and a few fused passes
over the yearly lines (:func:`scaled_shift_rows`,
:func:`book_rows`, :func:`cumulative_rows`, :func:`npv_at_revenue_rows`)
that replace chains of numpy temporaries. Each
works row by row in a fixed order, so a row's result does not depend on how
many rows are passed at once (Monte Carlo chunks are bitwise reproducible);
the fused passes add in numpy's own order (:func:`pairwise_sum`), so they
give the same bits as the numpy expressions they replace.

IRR
---
The rules are those of :func:`finmodel.core.metrics.irr`: the real root
``r > -1`` of ``sum_t v[t] (1 + r) ** -t = 0`` closest to zero, NaN where
there is none.
Write the flows as a polynomial in ``x = 1 / (1 + r)`` (roots ``r > 0`` are
``x`` in ``(0, 1)``) and, reversed, in ``z = 1 + r`` (roots ``-1 < r < 0``
are ``z`` in ``(0, 1)``); on either side every power stays ``<= 1``, so flows
of 1e12 USD or 200 years cannot overflow.

- One sign change in the flows (Descartes' rule of signs): exactly one root
  ``r > -1``. Its side follows from the sign of the sum of the flows (the
  value at ``r = 0``); it is bracketed by ``[0, 1]`` in that side's variable
  and refined by safeguarded Newton (Newton inside the bracket, bisection
  when a step leaves it or stalls).
- Several sign changes: the number of roots on each side is bounded, first
  cheaply by the sign changes of the cumulative sums of its coefficients
  (once and twice cumulated: the coefficients of ``p(w) / (1 - w)`` and
  ``p(w) / (1 - w) ** 2`` as power series on ``(0, 1)``, Descartes' rule
  for power series), then where those leave two or more by the sign
  changes of the Taylor-shifted coefficients (Descartes' rule on
  ``(0, inf)`` after the Moebius map ``w = 1 / (1 + y)``). A side with no
  change has no root; a side with one has exactly one, solved as above; a
  side with more (or with a coefficient too close to zero to trust its
  sign) is searched outward from ``r = 0`` on a grid of ``|r|``, from a
  root-free radius (a second-order Taylor bound at ``r = 0``) to Cauchy's
  bound on the roots. A cell without a sign change whose derivative
  changes sign is split at its stationary point (unless a curvature bound
  shows the value cannot reach zero there), so a pair of roots inside one
  cell is still found. The root with the smaller ``|r|`` of the two sides
  is returned.

Speed: the IRR kernels allocate nothing and are compiled without numba's
reference counting (``_nrt=False``; an atomic count for every array passed
from call to call cost a third of the time), read each row in place, keep
the sign tests of the bounds free of data-dependent branches (random flows
defeat the branch predictor), evaluate polynomials in four interleaved
Horner chains, and let the compiler contract multiply-adds into FMA
instructions. Each row is still computed alone, in the same order, so the
result does not depend on the other rows.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

EPS = 2.220446049250313e-16
BLOCK = 256
#: A Newton step smaller than this (relative), and a thousandth of the step
#: before, ends the iteration: with quadratic convergence the error left is
#: about its square, far below 1e-12 (a double root, where Newton is only
#: linear, never shrinks a step a thousandfold and runs to rounding).
NEWTON_DONE = 1e-7
#: Draws per block in :func:`basis_deductions`.
DRAW_BLOCK = 64


def _binomial(n: int) -> np.ndarray:
    """``B[j, i] = C(j, i)`` for ``0 <= i <= j < n`` (Pascal's rule, exact below 2**53)."""
    table = np.zeros((n, n))
    for j in range(n):
        table[j, 0] = 1.0
        for i in range(1, j + 1):
            table[j, i] = table[j - 1, i - 1] + table[j - 1, i]
    return table


#: Binomial coefficients for the Taylor shift of series up to 64 years.
BINOMIAL = _binomial(64)
#: Series of up to this many flows are shifted on a fixed width (:func:`_descartes`).
SHIFT_WIDTH = 16
BINOMIAL16 = np.ascontiguousarray(BINOMIAL[:SHIFT_WIDTH, :SHIFT_WIDTH])

#: Grid of |r| for the outward search: 15 points a decade from 1e-4 to 1e10,
#: and points accumulating at |r| = 1 so that roots near r = -1 are separated.
GRID = np.unique(np.concatenate([np.geomspace(1e-4, 1e10, 14 * 15 + 1), 1.0 - np.geomspace(0.5, 1e-15, 60)]))


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"}, inline="always")
def _eval(a, m, w):
    """Value and derivative at ``w`` of ``p(w) = sum_{j <= m} a[j] w ** j``.

    ``a`` holds zeros past ``m``, up to a multiple of 4.

    Four Horner chains in ``y = w ** 4`` (``p = P0(y) + w P1(y) + w**2 P2(y) + w**3 P3(y)``,
    ``p' = P1 + 2 w P2 + 3 w**2 P3 + 4 w**3 (P0' + w P1' + w**2 P2' + w**3 P3')``) run side by
    side, a quarter of the dependent multiply-adds of one chain.
    """
    nq = m // 4 + 1
    w2 = w * w
    y = w2 * w2
    k = 4 * (nq - 1)
    p0 = a[k]
    p1 = a[k + 1]
    p2 = a[k + 2]
    p3 = a[k + 3]
    d0 = 0.0
    d1 = 0.0
    d2 = 0.0
    d3 = 0.0
    for i in range(nq - 2, -1, -1):
        k = 4 * i
        d0 = d0 * y + p0
        d1 = d1 * y + p1
        d2 = d2 * y + p2
        d3 = d3 * y + p3
        p0 = p0 * y + a[k]
        p1 = p1 * y + a[k + 1]
        p2 = p2 * y + a[k + 2]
        p3 = p3 * y + a[k + 3]
    w3 = w2 * w
    f = (p0 + w * p1) + w2 * (p2 + w * p3)
    df = (p1 + 2.0 * w * p2) + 3.0 * w2 * p3 + 4.0 * w3 * ((d0 + w * d1) + w2 * (d2 + w * d3))
    return f, df


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _solve(a_, m, a, fa, b, fb, w0):
    """Root in the bracket ``[a, b]`` (``fa * fb < 0``) by safeguarded Newton (rtsafe) from ``w0``.

    ``a_``, ``m``: the side's polynomial (:func:`_eval`). A start ``w0``
    outside the open bracket is replaced by the regula falsi point.
    """
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if fa < 0.0:
        xl, xh = a, b
    else:
        xl, xh = b, a
    w = w0
    if not (min(a, b) < w < max(a, b)):
        w = a - fa * (b - a) / (fb - fa)  # regula falsi start
    if not (min(a, b) < w < max(a, b)):
        w = 0.5 * (a + b)
    dxold = abs(b - a)
    dx = dxold
    f, df = _eval(a_, m, w)
    for _ in range(300):
        if f == 0.0:
            return w
        if ((w - xh) * df - f) * ((w - xl) * df - f) > 0.0 or abs(2.0 * f) > abs(dxold * df):
            dxold = dx
            dx = 0.5 * (xh - xl)
            w = xl + dx
            if w == xl or w == xh:
                return w
        else:
            dxold = dx
            dx = f / df
            old = w
            w = w - dx
            if w == old or (abs(dx) <= NEWTON_DONE * abs(w) and abs(dx) <= 1e-3 * abs(dxold)):
                # converging quadratically (the step shrank a thousandfold): the
                # next step would be below rounding
                return w
        if abs(dx) <= 2.0 * EPS * abs(w):
            return w
        f, df = _eval(a_, m, w)
        if f < 0.0:
            xl = w
        else:
            xh = w
    return w


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _split(a_, m, a, fa, da, b, db):
    """A point between ``a`` and ``b`` where ``f`` has the sign opposite to ``fa``, or NaN.

    ``f`` has the same sign at both ends and its derivative changes sign
    (``da``, ``db``): the stationary point between them is found by
    Illinois regula falsi on the derivative; if ``f`` changes sign there
    (a pair of roots in the cell), the point is returned.
    """
    side_a = 0
    for _ in range(100):
        x = (a * db - b * da) / (db - da)
        if not (min(a, b) < x < max(a, b)):
            x = 0.5 * (a + b)
        fx, dx = _eval(a_, m, x)
        if fx == 0.0 or (fx > 0.0) != (fa > 0.0):
            return x
        if dx == 0.0 or abs(b - a) <= 4.0 * EPS * max(abs(a), abs(b)):
            return np.nan
        if (dx > 0.0) == (da > 0.0):
            a, da = x, dx
            if side_a == -1:
                db *= 0.5
            side_a = -1
        else:
            b, db = x, dx
            if side_a == 1:
                da *= 0.5
            side_a = 1
    return np.nan


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _norstrom(partial, m, total, scale, slope0, slope1):
    """Cheap bounds on the number of roots of each side in ``(0, 1)``, from cumulative sums.

    ``partial[j] = a_0 + ... + a_j`` (side 0's coefficients), ``total`` the
    last of them, ``scale`` the sum of ``|a_j|``, ``slope0``, ``slope1`` the
    sides' derivatives at ``w = 1``. Dividing ``p`` by ``(1 - w) ** k``
    keeps its roots in ``(0, 1)``, so the sign changes of the power series
    coefficients of ``p(w) / (1 - w) ** k`` bound them (Descartes' rule for
    power series; ``k = 1`` is Norstrom's criterion). For ``k = 1`` they
    are the partial sums (constant ``total`` from ``j = m`` on), for
    ``k = 2`` the sums of those (``(n + 1) total - slope`` from ``n = m`` on,
    a line, so the tail adds one change at most). Side 1's partial sums are
    ``total - partial[m - 1 - j]``, the same sums from the other end.
    Returns, per side, the ``k = 1`` count, or the ``k = 2`` count where
    the first is 2 or more, or -1 where neither is below 2 or a sum is too
    close to zero (or zero) for its sign to be trusted.
    """
    tol = 8.0 * (m + 1) * EPS * scale
    tol2 = 8.0 * (m + 1) * (m + 1) * EPS * scale
    small0 = False  # bitwise ``|`` and ``!=`` on the signs: no branch to mispredict
    small1 = False
    v0 = 0
    v1 = 0
    u0 = 0
    u1 = 0
    c0 = 0.0
    c1 = 0.0
    p0 = partial[0] < 0.0
    p1 = (total - partial[m - 1]) < 0.0
    q0 = p0
    q1 = p1
    for j in range(m + 1):
        x = partial[j]
        y = total - partial[m - 1 - j] if j < m else total  # side 1's partial sum j
        c0 += x
        c1 += y
        small0 |= (abs(x) <= tol) | (abs(c0) <= tol2)
        small1 |= (abs(y) <= tol) | (abs(c1) <= tol2)
        n0 = x < 0.0
        n1 = y < 0.0
        m0 = c0 < 0.0
        m1 = c1 < 0.0
        v0 += n0 != p0
        v1 += n1 != p1
        u0 += m0 != q0
        u1 += m1 != q1
        p0 = n0
        p1 = n1
        q0 = m0
        q1 = m1
    end = total < 0.0  # the sign of both tails at infinity
    u0 += q0 != end
    u1 += q1 != end
    if small0:
        v0 = -1
    elif v0 > 1:
        v0 = u0 if u0 < 2 else -1
    if small1:
        v1 = -1
    elif v1 > 1:
        v1 = u1 if u1 < 2 else -1
    return v0, v1


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _descartes(a, m, buf, abuf):
    """Sign changes of the Taylor-shifted coefficients: a bound on the side's roots in ``(0, 1)``.

    The reversed polynomial ``sum_j a[m - j] t ** j`` (roots ``t = 1 / w``
    in ``(1, inf)``) is written in ``t = 1 + y`` (the Moebius map onto
    ``y > 0``) and shifted, ``a'_i = sum_j C(j, i) a[m - j]``, with the
    binomial table :data:`BINOMIAL`. Up to 16 coefficients the product
    runs on a fixed width of 16 (zeros above the diagonal), which the
    compiler turns into a few vector multiply-adds per coefficient, and
    the rounding is bounded with ``max_j |a_j| C(m + 1, i + 1)`` in place
    of ``sum_j C(j, i) |a[m - j]|``. Returns -1 when a shifted coefficient
    is too close to zero for its sign to be trusted.
    """
    if m < SHIFT_WIDTH:
        big = 0.0
        for i in range(SHIFT_WIDTH):
            buf[i] = 0.0
        for j in range(m + 1):
            v = a[m - j]
            big = max(big, abs(v))
            for i in range(SHIFT_WIDTH):
                buf[i] += BINOMIAL16[j, i] * v
        # sum_j C(j, i) |a[m - j]| <= max |a| * C(m + 1, i + 1) (hockey stick)
        for i in range(m + 1):
            abuf[i] = big * BINOMIAL[m + 1, i + 1]
    elif m < BINOMIAL.shape[0]:
        for i in range(m + 1):
            buf[i] = 0.0
            abuf[i] = 0.0
        for j in range(m + 1):
            v = a[m - j]
            av = abs(v)
            for i in range(j + 1):
                buf[i] += BINOMIAL[j, i] * v
                abuf[i] += BINOMIAL[j, i] * av
    else:
        for j in range(m + 1):
            v = a[m - j]
            buf[j] = v
            abuf[j] = abs(v)
        for i in range(m):
            for j in range(m - 1, i - 1, -1):
                buf[j] += buf[j + 1]
                abuf[j] += abuf[j + 1]
    changes = 0
    last = 0.0
    for j in range(m + 1):
        v = buf[j]
        if abs(v) <= 8.0 * (m + 1) * EPS * abuf[j]:
            return -1
        if last != 0.0 and (v > 0.0) != (last > 0.0):
            changes += 1
        last = v
    return changes


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _to_rate(side, w):
    if side == 0:
        return 1.0 / w - 1.0
    return w - 1.0


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _root_free_radius(a, m, f1, d1):
    """A distance ``rho`` such that ``p`` has no root with ``1 - rho <= w <= 1``; 0 if none is known.

    Taylor at ``w = 1``: ``p(1 - u) = f1 - d1 u + R`` with ``|R| <= s2 u**2 / 2``,
    ``s2 = sum_j j (j - 1) |a_j|`` (``|p''|`` on ``[0, 1]``). Where ``-d1 u``
    has the sign of ``f1`` (moving inward takes ``|p|`` away from zero) no root
    is possible while ``|f1| + |d1| u > s2 u**2 / 2``, otherwise while
    ``|f1| - |d1| u > s2 u**2 / 2``. ``f1`` and ``d1`` are computed values:
    their rounding (bounded generously by ``4 (m + 4) eps sum_j |a_j|`` and
    ``8 (m + 4) eps sum_j (j + 1) |a_j|``) is allowed for.
    """
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for j in range(m + 1):
        x = abs(a[j])
        s0 += x
        s1 += j * x
        s2 += j * (j - 1) * x
    room = abs(f1) - 8.0 * (m + 4) * EPS * s0
    ed = 8.0 * (m + 4) * EPS * (s0 + s1)
    if not room > 0.0:
        return 0.0
    if (f1 > 0.0) != (d1 > 0.0):  # moving inward, |p| grows at first
        b = max(abs(d1) - ed, 0.0)
        u = np.inf if s2 == 0.0 else (b + np.sqrt(b * b + 2.0 * s2 * room)) / s2
    else:
        b = abs(d1) + ed
        u = 2.0 * room / (b + np.sqrt(b * b + 2.0 * s2 * room))
    return 0.999 * min(u, 0.5)


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _root_free_below(a, m):
    """Cauchy's lower bound on the roots of ``p``: none has ``|w| < |a_0| / (|a_0| + max_j |a_j|)``."""
    a0 = abs(a[0])
    big = 0.0
    for j in range(1, m + 1):
        x = abs(a[j])
        if x > big:
            big = x
    return a0 / (a0 + big)


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"}, inline="always")
def _no_pair(fa, da, fb, db, h, curvature, margin):
    """True when ``p`` cannot reach zero in a cell of width ``h`` (values ``fa``, ``fb`` of one sign,
    derivatives ``da`` at its lower end ``a`` and ``db`` at its upper end ``a + h``).

    With ``|p''| <= curvature``, ``p(a + t) >= fa + da t - curvature t**2 / 2`` and
    ``p(a + h - t) >= fb - db t - curvature t**2 / 2`` (for positive values; negative
    ones by symmetry). Each bound is concave, so on ``[0, h / 2]`` it is smallest at
    an end: if all four ends stay above the rounding ``margin``, the cell holds no
    root and the search need not look for its stationary point.
    """
    if fa < 0.0:
        fa, da, fb, db = -fa, -da, -fb, -db
    q = curvature * h * h / 8.0
    half = 0.5 * h
    return min(fa, fa + da * half - q, fb, fb - db * half - q) > margin


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _grid_search(a, m, side, f1, d1, limit, grid):
    """Root of one side nearest ``r = 0`` with ``|r| <= limit`` by an outward grid search; NaN if none.

    The cells near ``r = 0`` where the side can have no root
    (:func:`_root_free_radius`) are skipped: the search starts from the last
    grid point inside that radius.
    The search ends below Cauchy's bound on the roots (:func:`_root_free_below`).
    """
    w_prev, f_prev, d_prev = 1.0, f1, d1
    g_prev = 0.0
    n = grid.shape[0]
    start = 0
    radius = _root_free_radius(a, m, f1, d1)
    if radius > 0.0:
        # side 0: 1 - w = g / (1 + g); side 1: 1 - w = g (and the search stops at g = 1)
        g_max = radius / (1.0 - radius) if side == 0 else min(radius, 0.5)
        g_max = min(g_max, limit)
        q = np.searchsorted(grid, g_max, side="right") - 1
        if q >= 0:
            g_prev = grid[q]
            w_prev = 1.0 / (1.0 + g_prev) if side == 0 else 1.0 - g_prev
            f_prev, d_prev = _eval(a, m, w_prev)
            start = q + 1
    w_min = _root_free_below(a, m)
    curvature = 0.0  # |p''| <= sum_j j (j - 1) |a_j| on [0, 1]
    scale = 0.0
    for k in range(m + 1):
        curvature += k * (k - 1) * abs(a[k])
        scale += abs(a[k])
    margin = 8.0 * (m + 4) * EPS * scale  # twice the rounding of a computed value
    for j in range(start, n + 1):
        if g_prev > limit or w_prev <= w_min:
            return np.nan
        if j < n:
            g = grid[j]
            if side == 1 and g >= 1.0:
                g = 1.0
            w = 1.0 / (1.0 + g) if side == 0 else 1.0 - g
        else:
            g = np.inf
            w = 0.0
        f, d = _eval(a, m, w)
        if f == 0.0:
            return _to_rate(side, w)
        if (f > 0.0) != (f_prev > 0.0):
            return _to_rate(side, _solve(a, m, w, f, w_prev, f_prev, -1.0))
        if (
            d != 0.0
            and d_prev != 0.0
            and (d > 0.0) != (d_prev > 0.0)
            and not _no_pair(f, d, f_prev, d_prev, w_prev - w, curvature, margin)
        ):
            s = _split(a, m, w_prev, f_prev, d_prev, w, d)
            if not np.isnan(s):
                fs, _ = _eval(a, m, s)
                if fs == 0.0:
                    return _to_rate(side, s)
                return _to_rate(side, _solve(a, m, s, fs, w_prev, f_prev, -1.0))
        if side == 1 and g >= 1.0:
            return np.nan
        w_prev, f_prev, d_prev, g_prev = w, f, d, g
    return np.nan


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def irr_row(values, i, a0, a1, buf, abuf, grid):
    """IRR of the series ``values[i]``.

    Scratch: ``a0``, ``a1`` of length ``T + 4`` (the two sides' polynomials),
    ``buf``, ``abuf`` of length ``max(T, 16)``; ``grid`` of ``|r|``. The
    row is read in place and the scratch passed whole: a view per row
    would cost two atomic reference counts each.
    """
    n = values.shape[1]
    lo = 0
    while lo < n and values[i, lo] == 0.0:
        lo += 1
    if lo == n:
        return np.nan
    hi = n - 1
    while values[i, hi] == 0.0:
        hi -= 1
    m = hi - lo
    # side 0 (r >= 0): a_j = c[lo + j] in w = 1 / (1 + r); side 1 (r <= 0): a_j = c[hi - j] in w = 1 + r.
    # One pass: the copies, the partial sums S_j (kept in ``buf``), the value at r = 0
    # (w = 1 on either side), each side's derivative there, the sign changes of the flows.
    f1 = 0.0
    scale = 0.0
    slope0 = 0.0
    slope1 = 0.0
    changes = 0
    finite = True
    neg = values[i, lo] < 0.0
    for j in range(m + 1):
        v = values[i, lo + j]
        a0[j] = v
        a1[m - j] = v
        f1 += v
        buf[j] = f1
        scale += abs(v)
        slope0 += j * v
        slope1 += (m - j) * v
        finite &= v - v == 0.0  # False for NaN and infinities
        now = v < 0.0 if v != 0.0 else neg
        changes += now != neg
        neg = now
    if not finite or changes == 0:
        return np.nan
    for j in range(m + 1, m + 5):
        a0[j] = 0.0
        a1[j] = 0.0
    if f1 == 0.0:
        return 0.0
    if changes == 1:
        # Newton from r = 0 is a good start for the flows a model produces
        if (f1 > 0.0) != (a0[0] > 0.0):  # root at x in (0, 1): r > 0
            return _to_rate(0, _solve(a0, m, 0.0, a0[0], 1.0, f1, 1.0 - f1 / slope0))
        return _to_rate(1, _solve(a1, m, 0.0, a1[0], 1.0, f1, 1.0 - f1 / slope1))
    # Norstrom's bounds from the partial sums; where one is not 0 or 1, Descartes'.
    # A side whose bound is 1 has exactly one root, bracketed by w = 0 and w = 1.
    v0, v1 = _norstrom(buf, m, f1, scale, slope0, slope1)
    best = np.nan
    if v0 < 0 or v0 > 1:
        v0 = _descartes(a0, m, buf, abuf)
    pending0 = v0 != 0
    if v0 == 1 and (a0[0] > 0.0) != (f1 > 0.0):
        best = _to_rate(0, _solve(a0, m, 0.0, a0[0], 1.0, f1, 1.0 - f1 / slope0))
        pending0 = False
    if v1 < 0 or v1 > 1:
        v1 = _descartes(a1, m, buf, abuf)
    pending1 = v1 != 0
    if v1 == 1 and (a1[0] > 0.0) != (f1 > 0.0):
        r = _to_rate(1, _solve(a1, m, 0.0, a1[0], 1.0, f1, 1.0 - f1 / slope1))
        if np.isnan(best) or abs(r) < abs(best):
            best = r
        pending1 = False
    # otherwise an outward search, no farther than the nearest root found so far
    if pending0:
        r = _grid_search(a0, m, 0, f1, slope0, np.inf if np.isnan(best) else abs(best), grid)
        if not np.isnan(r) and (np.isnan(best) or abs(r) < abs(best)):
            best = r
    if pending1:
        r = _grid_search(a1, m, 1, f1, slope1, np.inf if np.isnan(best) else abs(best), grid)
        if not np.isnan(r) and (np.isnan(best) or abs(r) < abs(best)):
            best = r
    return best


@njit(cache=True, error_model="numpy", _nrt=False, fastmath={"contract"})
def _irr_range(values, start, stop, group, out, a0, a1, buf, abuf, grid):
    """``out[i]`` = IRR of ``values[i]`` for ``start <= i < stop`` (compiled without reference
    counting: the IRR kernels allocate nothing, and the atomic counts of the arrays passed
    from call to call would otherwise cost a third of the time).

    Rows come in groups of ``group`` (the cases of a draw): a row equal to an
    earlier row of its group in this range (cases whose flows are the same,
    such as a guarantee's project cash flow and that of the case without it)
    gets that row's IRR, not solved again; the same bits, as the solver is
    deterministic."""
    for i in range(start, stop):
        same = -1
        for q in range(max(start, i - i % group), i):
            if _same_row(values, i, q):
                same = q
                break
        out[i] = out[same] if same >= 0 else irr_row(values, i, a0, a1, buf, abuf, grid)


@njit(cache=True, error_model="numpy", nogil=True)
def irr_rows(values, grid, group):
    """IRR of every row of a C-contiguous ``(n, T)`` float array (``grid``: :data:`GRID`), one thread;
    rows in groups of ``group`` (the cases of a draw: equal rows of a group are solved once)."""
    n, T = values.shape
    out = np.empty(n)
    a0 = np.empty(T + 4)
    a1 = np.empty(T + 4)
    buf = np.empty(max(T, SHIFT_WIDTH))
    abuf = np.empty(max(T, SHIFT_WIDTH))
    _irr_range(values, 0, n, max(group, 1), out, a0, a1, buf, abuf, grid)
    return out


@njit(cache=True, error_model="numpy", parallel=True)
def irr_rows_parallel(values, grid, group):
    """:func:`irr_rows` on all cores (call it from the main thread only: numba's
    default thread pool must not be entered from two threads at once)."""
    n, T = values.shape
    out = np.empty(n)
    nblocks = (n + BLOCK - 1) // BLOCK
    for b in prange(nblocks):
        a0 = np.empty(T + 4)
        a1 = np.empty(T + 4)
        buf = np.empty(max(T, SHIFT_WIDTH))
        abuf = np.empty(max(T, SHIFT_WIDTH))
        _irr_range(values, b * BLOCK, min(n, (b + 1) * BLOCK), max(group, 1), out, a0, a1, buf, abuf, grid)
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def shift_rows(x, lag, fill):
    """``out[i, t] = x[i, t - lag[i]]``, ``fill`` before the lag; ``x`` ``(n, T)``, ``lag`` ``(n,)`` >= 0."""
    n, T = x.shape
    out = np.empty((n, T))
    for i in range(n):
        k = lag[i]
        for t in range(T):
            out[i, t] = x[i, t - k] if t >= k else fill
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def sum_middle(x):
    """``x.sum(axis=1)`` of an ``(n, C, T)`` array, adding ``c = 0, 1, ...`` in order.

    numpy reduces a middle axis the same way (one row of ``T`` after
    another), so the result is the same bit for bit, eight times faster.
    """
    n, C, T = x.shape
    out = np.empty((n, T))
    for i in range(n):
        for t in range(T):
            out[i, t] = x[i, 0, t]
        for c in range(1, C):
            for t in range(T):
                out[i, t] += x[i, c, t]
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def trailing_rows(x, lag):
    """``cumsum(x)[t] - cumsum(x)[t - lag]`` per row (the second term 0 before the lag).

    The running sum is taken in order, as ``numpy.cumsum`` does, so the
    result equals ``total - shift(total, lag)`` bit for bit.
    """
    n, T = x.shape
    out = np.empty((n, T))
    cum = np.empty(T)
    for i in range(n):
        k = lag[i]
        acc = 0.0
        for t in range(T):
            acc = acc + x[i, t] if t > 0 else x[i, 0]
            cum[t] = acc
            out[i, t] = acc - cum[t - k] if t >= k else acc - 0.0
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def _block_sum(a, lo, n):
    """numpy's sum of ``a[lo:lo + n]`` for ``n <= 128`` (see :func:`pairwise_sum`)."""
    if n < 8:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = 8
    while i < n - n % 8:
        r0 += a[lo + i]
        r1 += a[lo + i + 1]
        r2 += a[lo + i + 2]
        r3 += a[lo + i + 3]
        r4 += a[lo + i + 4]
        r5 += a[lo + i + 5]
        r6 += a[lo + i + 6]
        r7 += a[lo + i + 7]
        i += 8
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(cache=True, error_model="numpy", nogil=True)
def pairwise_sum(a, lo, n):
    """``a[lo:lo + n].sum()`` added in numpy's order (pairwise, eight accumulators), the same bits.

    numpy sums a contiguous last axis this way (``pairwise_sum`` in its
    loops): under 8 terms in order; up to 128 in eight interleaved partial
    sums combined as a tree, then the rest in order; above, the sum of the
    two halves (the first a multiple of 8 long), each summed the same way.
    The halving is walked with an explicit stack (a recursive kernel cannot
    be cached).
    """
    if n <= 128:
        return _block_sum(a, lo, n)
    los = np.empty(64, np.int64)
    ns = np.empty(64, np.int64)
    left = np.empty(64)
    phase = np.zeros(64, np.int64)  # 0: split, 1: left half summed, 2: done
    los[0], ns[0] = lo, n
    top = 0
    value = 0.0
    while top >= 0:
        m = ns[top]
        half = m // 2
        half -= half % 8
        if m <= 128:
            value = _block_sum(a, los[top], m)
            top -= 1
        elif phase[top] == 0:
            phase[top] = 1
            top += 1
            los[top], ns[top], phase[top] = los[top - 1], half, 0
            continue
        elif phase[top] == 1:
            left[top] = value
            phase[top] = 2
            top += 1
            los[top], ns[top], phase[top] = los[top - 1] + half, m - half, 0
            continue
        else:
            value = left[top] + value
            top -= 1
        # a frame just finished with ``value``: its parent resumes
    return value


@njit(cache=True, error_model="numpy", nogil=True)
def book_rows(placed, life, age):
    """Straight-line book value left per row: ``sum_t placed[i, t] * remaining(life[i], age[t])``.

    ``remaining = max(0, 1 - age / life)`` for ``life > 0``, else 0; the
    products are summed in numpy's order (:func:`pairwise_sum`), so the
    result equals ``numpy.sum(placed * remaining, axis=-1)`` bit for bit.
    ``placed`` is ``(n, T)``, ``life`` ``(n,)``, ``age`` ``(T,)``.
    """
    n, T = placed.shape
    out = np.empty(n)
    prod = np.empty(T)
    for i in range(n):
        life_i = life[i]
        for t in range(T):
            rem = 0.0
            if life_i > 0:
                rem = 1.0 - age[t] / life_i
                if 0.0 >= rem:
                    rem = 0.0
            prod[t] = placed[i, t] * rem
        out[i] = 0.0 + pairwise_sum(prod, 0, T)
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def cumulative_rows(cash_flow, years, cumulative, payback, peak):
    """Cumulative cash flow, payback year and peak funding of every ``(n, T)`` row, in one pass.

    Writes ``cumulative`` ``(n, T)`` (the running sum in order, as
    ``numpy.cumsum``), ``payback`` ``(n,)`` (the first year from which the
    cumulative sum stays ``>= 0``, NaN when the last one is negative) and
    ``peak`` ``(n,)`` (``numpy.maximum(0, -min_t cumulative)``, NaN if a sum is NaN).
    """
    n, T = cash_flow.shape
    for i in range(n):
        acc = cash_flow[i, 0]
        lowest = acc
        nan = np.isnan(acc)
        cumulative[i, 0] = acc
        for t in range(1, T):
            acc = acc + cash_flow[i, t]
            cumulative[i, t] = acc
            if acc < lowest or (np.isnan(acc) and not nan):
                lowest = acc  # a NaN, once there, stays in every later sum
            if np.isnan(acc):
                nan = True
        first = -1
        for t in range(T - 1, -1, -1):
            if not cumulative[i, t] >= 0.0:
                break
            first = t
        payback[i] = years[first] if first >= 0 and cumulative[i, T - 1] >= 0.0 else np.nan
        v = -lowest
        peak[i] = 0.0 if 0.0 > v else v  # numpy.maximum(0.0, v): v when equal (-0.0) or NaN


@njit(cache=True, error_model="numpy", nogil=True)
def npv_at_revenue_rows(unit, change, taxable_income, cash_flow, tax, rate, discount):
    """NPV of every ``(n, T)`` row when revenue moves by ``change[i]`` per unit and tax is unlimited.

    Per year: ``extra = unit * change``, ``tax' = rate * (taxable_income + extra)``,
    ``cf' = cash_flow + extra - (tax' - tax)``; the NPV is the sum of
    ``cf' * discount`` in numpy's order (:func:`pairwise_sum`): the same
    bits as those numpy expressions. ``change`` and ``rate`` are ``(n,)``.
    """
    n, T = cash_flow.shape
    out = np.empty(n)
    prod = np.empty(T)
    for i in range(n):
        dr = change[i]
        r = rate[i]
        for t in range(T):
            extra = unit[i, t] * dr
            new_tax = r * (taxable_income[i, t] + extra)
            prod[t] = (cash_flow[i, t] + extra - (new_tax - tax[i, t])) * discount[i, t]
        out[i] = 0.0 + pairwise_sum(prod, 0, T)
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def scaled_shift_rows(x, scale, lag):
    """``out[i, t] = x[i, t - lag[i]] * scale[i]``, 0 before the lag: ``shift(x * scale, lag)`` bit for bit.

    ``x`` ``(n, T)``, ``scale`` ``(n,)``, ``lag`` ``(n,)`` in ``0..T``.
    """
    n, T = x.shape
    out = np.empty((n, T))
    for i in range(n):
        k = min(lag[i], T)
        s = scale[i]
        for t in range(k):
            out[i, t] = 0.0
        for t in range(k, T):
            out[i, t] = x[i, t - k] * s
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def _lane_sums(a, T, m, row, part, total):
    """``total[j] = 0.0 + a[:T, j].sum()`` for ``j < m``, added in numpy's order (:func:`pairwise_sum`).

    Up to 128 terms the eight partial sums of :func:`_block_sum` run with
    the lane innermost (SIMD); longer columns go through :func:`pairwise_sum`.
    """
    if T > 128:
        for j in range(m):
            for y in range(T):
                row[y] = a[y, j]
            total[j] = 0.0 + pairwise_sum(row, 0, T)
        return
    if T < 8:
        for j in range(m):
            total[j] = 0.0
        for y in range(T):
            for j in range(m):
                total[j] += a[y, j]
        for j in range(m):
            total[j] = 0.0 + total[j]
        return
    for q in range(8):
        for j in range(m):
            part[q, j] = a[q, j]
    i = 8
    while i < T - T % 8:
        for q in range(8):
            for j in range(m):
                part[q, j] += a[i + q, j]
        i += 8
    for j in range(m):
        total[j] = ((part[0, j] + part[1, j]) + (part[2, j] + part[3, j])) + (
            (part[4, j] + part[5, j]) + (part[6, j] + part[7, j])
        )
    while i < T:
        for j in range(m):
            total[j] += a[i, j]
        i += 1
    for j in range(m):
        total[j] = 0.0 + total[j]


@njit(cache=True, error_model="numpy", nogil=True)
def _same(a, b):
    """``a`` and ``b`` are the same number, the sign of a zero included (a NaN is never the same)."""
    return a == b and (a != 0.0 or math.copysign(1.0, a) == math.copysign(1.0, b))


@njit(cache=True, error_model="numpy", nogil=True)
def _same_case(placed, earned, reduction, bonus, ids, m, k, q):
    """Whether case ``k`` has case ``q``'s inputs in the draws ``ids[:m]`` (then its deductions are q's)."""
    C, T = earned.shape[2:]
    kp, qp = (k, q) if placed.shape[1] > 1 else (0, 0)
    for j in range(m):
        i = ids[j]
        if not _same(reduction[i, k], reduction[i, q]):
            return False
        for y in range(T):
            if not _same(bonus[i, k, y], bonus[i, q, y]):
                return False
        for c in range(C):
            for y in range(T):
                if not _same(earned[i, k, c, y], earned[i, q, c, y]):
                    return False
                if not _same(placed[i, kp, c, y], placed[i, qp, c, y]):
                    return False
    return True


@njit(cache=True, error_model="numpy", nogil=True)
def basis_deductions_rows(placed, earned, reduction, bonus, table, eligible, rows, out, remaining):
    """Depreciable basis, its deductions and the basis left of the draws ``rows``, in one pass.

    The basis of year ``y`` is ``B[y] = placed[y] - reduction * earned[y]``.
    ``table[c, y, t]`` is the share of year-``y`` basis deducted in year ``t``
    without bonus and ``eligible`` ``(C,)`` marks the categories with bonus
    depreciation: for those the year-``t`` deduction is ``bonus[t] * B[t]``
    plus ``sum_y (1 - bonus[y]) * B[y] * table[y, t]``, otherwise
    ``sum_y B[y] * table[y, t]``, summed over ``y`` in increasing order
    (written to ``out`` ``(n, K, C, T)``). ``remaining`` ``(n, K, C)``
    receives ``B.sum() - D.sum()`` over the years, each sum added in numpy's
    order (:func:`pairwise_sum`): the same bits as the numpy expressions.
    ``placed`` is ``(n, Kp, C, T)`` with ``Kp`` 1 (the same for every case)
    or ``K``; ``earned`` ``(n, K, C, T)``, ``reduction`` ``(n, K)``,
    ``bonus`` ``(n, K, T)``.

    Draws are processed in blocks of :data:`DRAW_BLOCK` with the draw
    innermost, so the arithmetic runs in SIMD lanes; each lane is one draw
    and never mixes with another, so a draw's result does not depend on
    the block it falls in.

    Only the draws ``rows`` (indices into the first axis of every array) are
    read and written, so the draws that share a table (a set of lives) are
    processed in place, without gathering them into copies. A case whose
    inputs equal an earlier case's in every draw of a block (cases that
    differ only in their financing, or neither of which earns the credit)
    gets that case's results copied.
    """
    n = rows.shape[0]
    K, C, T = earned.shape[1:]
    Kp = placed.shape[1]
    b = np.empty((T, DRAW_BLOCK))
    bon = np.empty((T, DRAW_BLOCK))
    acc = np.empty((T, DRAW_BLOCK))
    red = np.empty(DRAW_BLOCK)
    row = np.empty(T)
    total = np.empty(DRAW_BLOCK)
    total2 = np.empty(DRAW_BLOCK)
    part = np.empty((8, DRAW_BLOCK))
    ids = np.empty(DRAW_BLOCK, np.uint64)  # unsigned: no wraparound test on each index
    for i0 in range(0, n, DRAW_BLOCK):
        m = min(DRAW_BLOCK, n - i0)
        for j in range(m):
            ids[j] = rows[i0 + j]
        for k in range(K):
            same = -1  # an earlier case with the same inputs in every draw of the block
            for q in range(k):
                if _same_case(placed, earned, reduction, bonus, ids, m, k, q):
                    same = q
                    break
            if same >= 0:  # the same numbers in, the same bits out: copied, not computed again
                for j in range(m):
                    i = ids[j]
                    for c in range(C):
                        remaining[i, k, c] = remaining[i, same, c]
                        for t in range(T):
                            out[i, k, c, t] = out[i, same, c, t]
                continue
            kp = k if Kp > 1 else 0
            for j in range(m):
                red[j] = reduction[ids[j], k]
            # reads and the final write with the draw outermost (contiguous in the
            # inputs; with the year outermost the compiler gathers and scatters)
            for j in range(m):
                i = ids[j]
                for y in range(T):
                    bon[y, j] = bonus[i, k, y]
            for c in range(C):
                for j in range(m):
                    i = ids[j]
                    r = red[j]
                    for y in range(T):
                        b[y, j] = placed[i, kp, c, y] - r * earned[i, k, c, y]
                for y in range(T):
                    for j in range(m):
                        acc[y, j] = 0.0
                _lane_sums(b, T, m, row, part, total)
                if eligible[c]:
                    for y in range(T):
                        for j in range(m):
                            x = b[y, j]
                            acc[y, j] = bon[y, j] * x
                            b[y, j] = (1.0 - bon[y, j]) * x
                for y in range(T):
                    for t in range(y, T):
                        w = table[c, y, t]
                        if w != 0.0:
                            for j in range(m):
                                acc[t, j] += b[y, j] * w
                for j in range(m):
                    i = ids[j]
                    for t in range(T):
                        out[i, k, c, t] = acc[t, j]
                _lane_sums(acc, T, m, row, part, total2)
                for j in range(m):
                    remaining[ids[j], k, c] = total[j] - total2[j]
    return out


@njit(cache=True, error_model="numpy", nogil=True)
def basis_deductions(placed, earned, reduction, bonus, table, eligible, out, remaining):
    """:func:`basis_deductions_rows` of every draw (the rules and shapes are there)."""
    return basis_deductions_rows(
        placed, earned, reduction, bonus, table, eligible, np.arange(earned.shape[0]), out, remaining
    )


@njit(cache=True, error_model="numpy", nogil=True)
def credit_pool_rows(joined, tax, limit, carry, used, expired, left):
    """A standalone owner's credit pool, oldest credits first (MODEL.md section 16), row by row.

    ``joined[i, j]`` is the credit that joins the pool in year ``j``, usable
    in years ``j .. j + carry[i]``; each year ``t`` the pool offsets at most
    ``limit[i] * max(tax[i, t], 0)``. Writes ``used[i, t]`` (the offset),
    ``expired[i, t]`` (credit whose last usable year was ``t``, left unused,
    for ``t`` before the last year) and ``left[i]`` (the pool at the end).
    All ``(n, T)`` but ``limit``, ``carry`` and ``left`` ``(n,)``.
    """
    n, T = joined.shape
    remaining = np.empty(T)
    for i in range(n):
        for j in range(T):
            remaining[j] = 0.0
        for t in range(T):
            remaining[t] = joined[i, t]
            room = tax[i, t] * limit[i]
            if room < 0.0:
                room = 0.0
            total = 0.0
            for j in range(t + 1):  # oldest first
                if room <= 0.0:
                    break
                if remaining[j] > 0.0 and t <= j + carry[i]:
                    take = remaining[j] if remaining[j] < room else room
                    remaining[j] -= take
                    room -= take
                    total += take
            used[i, t] = total
            gone = 0.0
            if t < T - 1:
                for j in range(t + 1):
                    if j + carry[i] == t and remaining[j] > 0.0:
                        gone += remaining[j]
                        remaining[j] = 0.0
            expired[i, t] = gone
        rest = 0.0
        for j in range(T):
            rest += remaining[j]
        left[i] = rest


@njit(cache=True, error_model="numpy", nogil=True)
def _same_row(x, i, q):
    """Rows ``i`` and ``q`` of ``x`` hold the same numbers (:func:`_same`, element by element)."""
    for t in range(x.shape[1]):
        if not _same(x[i, t], x[q, t]):
            return False
    return True


@njit(cache=True, error_model="numpy", nogil=True)
def tranche_rows(
    drawn,
    which,
    group,
    f_interest,
    f_principal,
    f_balance,
    t_first,
    t_last,
    interest,
    principal,
    balloon,
    balance,
):
    """Debt lines of every ``(n, T)`` row of tranches: ``out[i, t] = sum_y drawn[i, y] * F[which[i], y, t]``.

    The same bits as ``numpy.einsum("...y,...yt->...t", drawn, F)`` (which
    adds ``y = 0, 1, ...`` in order from 0.0, one product at a time) for each
    of the three factor matrices ``(m, T, T)``, and ``balloon[i, t] =
    balance[i, T - 1] * (t == T - 1)``. A year with nothing drawn adds only
    zeros (the factors are finite), so it is skipped: a program that borrows
    in 8 years of 16 does half the work. ``which`` ``(n,)`` picks each row's
    factors (a case's rate and terms). ``t_first[g, y]`` and ``t_last[g, y]``
    bound the years ``t`` where a factor of year-``y`` tranches is not zero
    (``t_first > t_last`` where none is): the terms outside add exact zeros to
    sums that start at +0.0 and so change no bit; a 10-year loan in a
    16-year horizon is summed over its 11 years, not 16. Writes
    ``interest``, ``principal``, ``balloon`` and ``balance`` ``(n, T)``.

    Rows come in groups of ``group`` (the cases of a draw): a row with the
    same factors and the same draws as an earlier row of its group (cases
    that borrow alike) gets that row's lines copied, the same bits.
    """
    n, T = drawn.shape
    acc_i, acc_p, acc_b = np.empty(T), np.empty(T), np.empty(T)  # local sums: the loop over t vectorizes
    for i in range(n):
        g = which[i]
        same = -1
        for q in range(i - i % group, i):
            if which[q] == g and _same_row(drawn, i, q):
                same = q
                break
        if same >= 0:
            for t in range(T):
                interest[i, t] = interest[same, t]
                principal[i, t] = principal[same, t]
                balloon[i, t] = balloon[same, t]
                balance[i, t] = balance[same, t]
            continue
        for t in range(T):
            acc_i[t] = 0.0
            acc_p[t] = 0.0
            acc_b[t] = 0.0
        for y in range(T):
            d = drawn[i, y]
            if d == 0.0:
                continue
            fi, fp, fb = f_interest[g, y], f_principal[g, y], f_balance[g, y]
            for t in range(t_first[g, y], t_last[g, y] + 1):
                acc_i[t] += d * fi[t]
                acc_p[t] += d * fp[t]
                acc_b[t] += d * fb[t]
        for t in range(T):
            interest[i, t] = acc_i[t]
            principal[i, t] = acc_p[t]
            balance[i, t] = acc_b[t]
        last = acc_b[T - 1]
        for t in range(T - 1):
            balloon[i, t] = last * 0.0
        balloon[i, T - 1] = last * 1.0


# --------------------------------------------------------------------------- numpy's order


class NumpyOrderWarning(RuntimeWarning):
    """The installed numpy sums in another order than the kernels copy.

    Batched runs (Monte Carlo, sweeps) would then differ from single runs in
    the last bits; every figure stays right to rounding.
    """


@njit(cache=True, error_model="numpy", nogil=True)
def _counted(v, late):
    """A value as a streamed column counts it: a late column's NaN is ``inf``; otherwise NaN and
    infinities are not counted (returned as NaN)."""
    if late:
        return np.inf if math.isnan(v) else v
    return v if math.isfinite(v) else np.nan


@njit(cache=True, error_model="numpy", nogil=True)
def bracket_tally(xt, late, lo, hi, block, undefined, valid, sums, below, equal_lo, equal_hi, inside):
    """One chunk of streamed columns: ``xt`` ``(column, rows)``, the chunk's values column by column.

    Per column: ``undefined`` the NaN, ``valid`` the values counted (see
    :func:`_counted`), ``sums[b]`` the sum of the counted values of rows
    ``b * block ..`` (added row after row); per column ``c`` and bracket
    ``j``: the counted values below ``lo[c, j]``, equal to it, equal to
    ``hi[c, j]`` (when ``hi > lo``) and strictly between (branch-free
    counts, one pass a bracket). NaN brackets count nothing. The plain-numpy
    statement of the same is :meth:`finmodel.analysis.streaming.Brackets.part_numpy`.
    """
    C, rows = xt.shape
    L = lo.shape[1]
    v = np.empty(rows)
    for c in range(C):
        nan, counted = 0, 0
        for b in range(sums.shape[0]):
            sums[b, c] = 0.0
        for i in range(rows):
            raw = xt[c, i]
            nan += math.isnan(raw)
            x = _counted(raw, late[c])
            v[i] = x
            if not math.isnan(x):
                counted += 1
                sums[i // block, c] += x
        undefined[c], valid[c] = nan, counted
        for j in range(L):
            a, h = lo[c, j], hi[c, j]
            distinct = h > a
            nb, ne, nh, ni = 0, 0, 0, 0
            for i in range(rows):
                x = v[i]
                nb += x < a
                ne += x == a
                nh += (x == h) & distinct
                ni += (x > a) & (x < h)
            below[c, j], equal_lo[c, j], equal_hi[c, j], inside[c, j] = nb, ne, nh, ni


@njit(cache=True, error_model="numpy", nogil=True)
def bracket_values(xt, late, lo, hi, offsets, out):
    """The counted values strictly inside each bracket, in row order: bracket ``(c, j)``'s go to
    ``out[offsets[c, j]:]`` (the offsets from :func:`bracket_tally`'s counts).

    Branch-free: every value is written at the bracket's next place and the
    place advances only for a value inside, so ``out`` needs one spare
    element at the end (brackets are filled in the order of their offsets,
    and a value written past a bracket's end is overwritten by the next).
    """
    C, rows = xt.shape
    L = lo.shape[1]
    v = np.empty(rows)
    for c in range(C):
        for i in range(rows):
            v[i] = _counted(xt[c, i], late[c])
        for j in range(L):
            a, h = lo[c, j], hi[c, j]
            k = offsets[c, j]
            for i in range(rows):
                x = v[i]
                out[k] = x
                k += (x > a) & (x < h)


def numpy_order_matches(seed: int = 0) -> bool:
    """Whether the kernels that copy numpy's summation order give numpy's bits here.

    The fused passes (:func:`pairwise_sum` in :func:`book_rows` and
    :func:`basis_deductions`, :func:`sum_middle`, :func:`trailing_rows`)
    reproduce numpy's pairwise sum of a contiguous last axis and its
    row-by-row reduction of a middle axis, so that a draw of a batch gives
    the same bits as the single run, which uses the numpy expressions. That
    order is numpy's implementation, not its contract; this check compares
    both on lengths around every block boundary (8, 128, 256) and runs once
    when the kernels are first imported (:class:`NumpyOrderWarning` if it fails).

    >>> numpy_order_matches()
    True
    """
    rng = np.random.default_rng(seed)
    for n in (1, 2, 7, 8, 9, 15, 16, 17, 127, 128, 129, 136, 255, 256, 257, 300, 1000, 4099):
        a = rng.standard_normal(n) * 10.0 ** rng.uniform(-3, 12, n)
        if pairwise_sum(a, 0, n) != a.sum():
            return False
    x = rng.standard_normal((3, 5, 17)) * 1e9
    if not np.array_equal(sum_middle(x), x.sum(axis=1)):
        return False
    rows = rng.standard_normal((4, 41)) * 1e9
    lags = np.array([0, 1, 5, 41], dtype=np.int64)
    total = np.cumsum(rows, axis=-1)
    shifted = np.concatenate([np.zeros((4, 41)), total], axis=-1)
    expected = total - shifted[np.arange(4)[:, None], 41 + np.arange(41)[None, :] - lags[:, None]]
    if not np.array_equal(trailing_rows(rows, lags), expected):
        return False
    placed = rng.uniform(0, 1e11, (2, 200))
    life, age = np.array([5.0, 39.0]), np.arange(1.0, 201.0)
    remaining = np.where(life[:, None] > 0, np.maximum(0.0, 1.0 - age / life[:, None]), 0.0)
    if not np.array_equal(book_rows(placed, life, age), np.sum(placed * remaining, axis=-1)):
        return False
    C, T = 2, 150
    table = np.zeros((C, T, T))
    table[:, np.arange(T), np.arange(T)] = 1.0
    P = rng.uniform(0, 1e11, (70, 1, C, T))
    E = rng.uniform(0, 0.35, (70, 2, C, T)) * P
    red, bonus = rng.uniform(0, 1, (70, 2)), rng.uniform(0, 1, (70, 2, T))
    D, left = np.empty((70, 2, C, T)), np.empty((70, 2, C))
    basis_deductions(P, E, red, bonus, table, np.array([True, False]), D, left)
    basis = P - red[..., None, None] * E
    return bool(np.array_equal(left, basis.sum(axis=-1) - D.sum(axis=-1)))


if not numpy_order_matches():  # pragma: no cover - depends on the installed numpy
    import warnings

    warnings.warn(
        f"numpy {np.__version__} sums in another order than finmodel's compiled kernels copy: "
        "Monte Carlo draws and sweep points may differ from single runs in the last bits "
        "(see finmodel.core._kernels.numpy_order_matches)",
        NumpyOrderWarning,
        stacklevel=2,
    )
