"""Exact percentiles of columns too long to keep in memory: one pass, brackets set by a pilot.

A Monte Carlo run of ten million draws has about 70 numbers a draw that
the outputs summarize (every metric per case, the cumulative cash flow per
case and year): 5.6 GB if kept. The outputs need only a few order
statistics of each column (P5, P50, P95; the fan's P5 to P95), its mean and
its count of undefined values. This module gets them exactly without
keeping the columns:

1. The first ``pilot`` rows are kept whole. From their sorted values, each
   percentile level ``p`` gets a bracket ``[lo, hi]``: the pilot's order
   statistics at ``p -/+ (5 standard errors + 8 / pilot)``.
2. Every row (the pilot's included) then adds, per column and bracket, the
   count of values below ``lo``, the counts equal to ``lo`` and to ``hi``
   and the values strictly between (1 to 3 % of the rows per level).
3. At the end the order statistics that ``numpy.percentile`` would read
   (``linear`` or ``inverted_cdf``, the same index arithmetic) are picked
   from the bracket; the result is the same float. A level whose order
   statistic fell outside its bracket (a pilot far from the whole: about
   three chances in ten million per level and side) is reported by
   :meth:`Brackets.outside`,
   and the caller collects that side of the bracket in a second pass
   (:meth:`Brackets.side_values`).

Means are sums of fixed blocks of rows (added row after row within a block)
added exactly (:func:`math.fsum`) and divided by the count; they agree with
``numpy.mean`` of the whole column to a few units in the last place, and do
not depend on how rows are grouped into chunks as long as chunks start at
multiples of the block.

Pure computation: numpy, and one compiled pass for the bracket tallies. The Monte Carlo driver
(:mod:`finmodel.analysis.montecarlo`) decides when to stream.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "BLOCK",
    "linear_percentile",
    "inverted_cdf_percentile",
    "ChunkPart",
    "Brackets",
]

#: Rows per block of the exact mean (chunks of a streamed run start at multiples of it).
BLOCK = 1024
#: Width of a bracket in standard errors of the pilot's quantile, plus a few ranks.
Z_WIDTH = 5.0
EXTRA_RANKS = 8


def _linear_positions(n: int, q: float) -> tuple[int, int, float]:
    """The two order statistics and the weight ``numpy.percentile(method="linear")`` reads.

    The index arithmetic is numpy's (``(n - 1) * q``, then ``floor`` and the
    bounds), in float64.
    """
    virtual = np.float64(n - 1) * np.float64(q)
    previous = math.floor(virtual)
    gamma = float(virtual - np.float64(previous))
    if virtual >= n - 1:
        return n - 1, n - 1, gamma
    if virtual < 0:
        return 0, 0, gamma
    return int(previous), int(previous) + 1, gamma


def _lerp(a: float, b: float, t: float) -> float:
    """numpy's ``_lerp``: ``a + (b - a) t``, or ``b - (b - a)(1 - t)`` when ``t >= 0.5``."""
    a, b, t = np.float64(a), np.float64(b), np.float64(t)
    diff = b - a
    if t >= 0.5:
        return float(b - diff * (np.float64(1.0) - t))
    return float(a + diff * t)


def linear_percentile(order_stat, n: int, percent: float) -> float:
    """``numpy.percentile(x, percent)`` from ``order_stat(k)``, the k-th smallest of the ``n`` values."""
    lo, hi, gamma = _linear_positions(n, np.float64(percent) / np.float64(100.0))
    a = order_stat(lo)
    b = a if hi == lo else order_stat(hi)
    return _lerp(a, b, gamma)


def inverted_cdf_percentile(order_stat, n: int, percent: float) -> float:
    """``numpy.percentile(x, percent, method="inverted_cdf")`` from ``order_stat``."""
    index = np.float64(n) * (np.float64(percent) / np.float64(100.0)) - np.float64(1.0)
    previous = math.floor(index)
    k = previous if index - np.float64(previous) == 0 else previous + 1
    return order_stat(max(int(k), 0))


@dataclass
class ChunkPart:
    """One chunk's contribution to :class:`Brackets` (computed on a worker, merged in order)."""

    start: int
    rows: int
    valid: np.ndarray  # (column,) values counted
    undefined: np.ndarray  # (column,) NaN
    block_sums: np.ndarray  # (blocks, column)
    below: np.ndarray  # (column, level)
    equal_lo: np.ndarray
    equal_hi: np.ndarray
    inside: np.ndarray  # the values strictly inside the brackets, bracket after bracket in row order
    inside_counts: np.ndarray  # (column, level): how many of them each bracket has

    def values(self, c: int, j: int) -> np.ndarray:
        """Bracket ``(c, j)``'s values strictly between ``lo`` and ``hi``."""
        start = int(self.inside_counts.ravel()[: c * self.inside_counts.shape[1] + j].sum())
        return self.inside[start : start + int(self.inside_counts[c, j])]


@dataclass
class Brackets:
    """Exact order statistics of ``columns`` streamed in chunks (see the module's notes).

    ``levels[c]`` are the percentiles (0-100) wanted of column ``c``; a
    ``late`` column counts NaN as later than any value (``inf``) and uses
    ``inverted_cdf`` (a payback year); the others use the finite values and
    ``linear``.
    """

    levels: Sequence[Sequence[float]]
    late: np.ndarray  # (column,) bool
    lo: np.ndarray = field(init=False)  # (column, level)
    hi: np.ndarray = field(init=False)

    def __post_init__(self):
        self.late = np.asarray(self.late, dtype=bool)
        C, L = len(self.levels), max((len(x) for x in self.levels), default=0)
        self.lo = np.full((C, L), np.nan)
        self.hi = np.full((C, L), np.nan)
        self._valid = np.zeros(C, dtype=np.int64)
        self._undefined = np.zeros(C, dtype=np.int64)
        self._sums: list[np.ndarray] = []
        self._below = np.zeros((C, L), dtype=np.int64)
        self._equal_lo = np.zeros((C, L), dtype=np.int64)
        self._equal_hi = np.zeros((C, L), dtype=np.int64)
        self._inside: list[tuple[np.ndarray, np.ndarray]] = []  # (values, offsets) of each chunk
        self._joined_bracket: tuple[tuple[int, int], np.ndarray] | None = None  # the last one joined
        self._percentiles: dict[tuple[int, int], float] = {}  # found since the last chunk was added
        self._block_sums: np.ndarray | None = None  # every chunk's block sums in row order
        self._side: dict[tuple[int, int], np.ndarray] = {}
        self._rows = 0
        self._same = np.arange(C)  # each column's first column with the same brackets (the pilot's)

    # ---------------------------------------------------------------- brackets from the pilot

    def prepared(self, x: np.ndarray, columns: slice = slice(None)) -> np.ndarray:
        """``(column, rows)`` values (of ``columns``) as counted: NaN as ``inf`` in late columns,
        non-finite as NaN (not counted) in the others."""
        x = np.asarray(x, dtype=float)
        late = self.late[columns][:, None]
        return np.where(late, np.where(np.isnan(x), np.inf, x), np.where(np.isfinite(x), x, np.nan))

    def set_from_pilot(self, pilot: np.ndarray, map=map) -> None:
        """Brackets from the pilot's values ``(column, rows)`` (raw, as the chunks give them).

        Only the order statistics that bound the brackets are selected (``numpy.partition``, not
        a sort); a column whose pilot holds the same bits, levels and lateness as an earlier one
        (a case that repeats another's metric) gets that column's brackets. ``map`` (the builtin,
        or a thread pool's) spreads the distinct columns; the brackets do not depend on it.
        """
        self._forget()
        firsts: dict[tuple, list[int]] = {}  # (late, levels, a sample of the bits): columns seen
        same = np.arange(len(self.levels))
        for c, levels in enumerate(self.levels):
            bits = np.ascontiguousarray(pilot[c]).view(np.uint64)
            key = (bool(self.late[c]), tuple(levels), bits[:: max(1, len(bits) // 64)].tobytes())
            seen = firsts.setdefault(key, [])
            same[c] = next((q for q in seen if np.array_equal(pilot[q].view(np.uint64), bits)), c)
            if same[c] == c:
                seen.append(c)
        distinct = [c for c in range(len(self.levels)) if same[c] == c]
        for c, (lo, hi) in zip(distinct, map(lambda c: self._pilot_bracket(pilot, c), distinct), strict=True):
            self.lo[c, : len(lo)], self.hi[c, : len(hi)] = lo, hi
        self.lo, self.hi = self.lo[same], self.hi[same]
        self._same = same

    def _pilot_bracket(self, pilot: np.ndarray, c: int) -> tuple[np.ndarray, np.ndarray]:
        """Column ``c``'s brackets ``(lo, hi)`` by level: the pilot's order statistics at
        ``p -/+ (Z_WIDTH standard errors + EXTRA_RANKS / m)``, unbounded at the ends."""
        levels = self.levels[c]
        x = self.prepared(pilot[c : c + 1], slice(c, c + 1))[0]  # a column at a time: no copy
        v = x[~np.isnan(x)]
        m = len(v)
        lo, hi = np.full(len(levels), -np.inf), np.full(len(levels), np.inf)
        if m == 0:
            return lo, hi
        ranks = []
        for percent in levels:
            p = percent / 100.0
            width = Z_WIDTH * math.sqrt(max(p * (1 - p), 1.0 / m) / m) + EXTRA_RANKS / m
            ranks.append((math.floor((p - width) * (m - 1)), math.ceil((p + width) * (m - 1))))
        kth = sorted({k for pair in ranks for k in pair if 0 < k < m - 1})
        v = np.partition(v, kth) if kth else v  # v[k] is the k-th smallest for every k in kth
        for j, (lower, upper) in enumerate(ranks):
            if lower > 0:
                lo[j] = v[lower]
            if upper < m - 1:
                hi[j] = v[upper]
        return lo, hi

    # ---------------------------------------------------------------- one chunk (any thread)

    def part(self, start: int, x: np.ndarray) -> ChunkPart:
        """What rows ``start ..`` add, ``x`` ``(column, rows)``: counts, block sums and the values
        inside brackets.

        Compiled passes over each column (:func:`finmodel.core._kernels.bracket_tally`) and one
        more for the few values inside the brackets; :meth:`part_numpy` states the same in numpy
        (the tests compare the two). A column with the same brackets as an earlier one (the same
        pilot) and the same bits in this chunk takes that column's counts and values, which the
        tally would give it: a case that repeats another's metric is tallied once.
        """
        xt = np.ascontiguousarray(x, dtype=float)
        C = xt.shape[0]
        use = np.arange(C)
        for c in np.flatnonzero(self._same != use):
            r = self._same[c]
            if np.array_equal(xt[c].view(np.uint64), xt[r].view(np.uint64)):
                use[c] = r
        keep = np.flatnonzero(use == np.arange(C))
        if len(keep) == C:
            return self._tally(start, xt, self.late, self.lo, self.hi)
        part = self._tally(start, xt[keep], self.late[keep], self.lo[keep], self.hi[keep])
        pos = np.searchsorted(keep, use)  # each column's row among the columns tallied
        counts = part.inside_counts[pos]
        kept_ends = np.cumsum(part.inside_counts.ravel())
        first = (kept_ends - part.inside_counts.ravel()).reshape(part.inside_counts.shape)[pos].ravel()
        lengths = counts.ravel()
        ends = np.cumsum(lengths)
        take = np.repeat(first - (ends - lengths), lengths) + np.arange(int(ends[-1]) if ends.size else 0)
        return ChunkPart(
            start,
            part.rows,
            part.valid[pos],
            part.undefined[pos],
            part.block_sums[:, pos],
            part.below[pos],
            part.equal_lo[pos],
            part.equal_hi[pos],
            part.inside[take],
            counts,
        )

    def _tally(self, start: int, xt: np.ndarray, late, lo, hi) -> ChunkPart:
        """The compiled tally of the columns ``xt`` ``(column, rows)`` with their brackets."""
        from finmodel.core._kernels import bracket_tally, bracket_values

        C, rows = xt.shape
        L = lo.shape[1]
        undefined, valid = np.empty(C, dtype=np.int64), np.empty(C, dtype=np.int64)
        blocks = np.empty((-(-rows // BLOCK), C))
        below, eq_lo, eq_hi, counts = (np.empty((C, L), dtype=np.int64) for _ in range(4))
        tallies = (undefined, valid, blocks, below, eq_lo, eq_hi, counts)
        bracket_tally(xt, late, lo, hi, BLOCK, *tallies)
        ends = np.cumsum(counts.ravel())
        offsets = (ends - counts.ravel()).reshape(C, L)
        total = int(ends[-1]) if ends.size else 0
        flat = np.empty(total + 1)  # a spare element: bracket_values writes before it counts
        bracket_values(xt, late, lo, hi, offsets, flat)
        flat = flat[:total]
        return ChunkPart(start, rows, valid, undefined, blocks, below, eq_lo, eq_hi, flat, counts)

    def _common(self, x: np.ndarray):
        """The undefined counts, the values as counted, rows, counted values and block sums of a chunk."""
        undefined = np.isnan(x).sum(axis=1)
        x = self.prepared(x)
        rows = x.shape[1]
        counted = ~np.isnan(x)
        valid = counted.sum(axis=1)
        summable = np.where(counted, x, 0.0).T
        blocks = np.array([_row_after_row(summable[b : b + BLOCK]) for b in range(0, rows, BLOCK)])
        return undefined, x, rows, valid, blocks

    def part_numpy(self, start: int, x: np.ndarray) -> ChunkPart:
        """:meth:`part` in plain numpy (a pass per bracket level; the reference for the compiled tally)."""
        undefined, x, rows, valid, blocks = self._common(x)
        C, L = self.lo.shape
        below = np.zeros((C, L), dtype=np.int64)
        eq_lo = np.zeros((C, L), dtype=np.int64)
        eq_hi = np.zeros((C, L), dtype=np.int64)
        inside = [[np.empty(0)] * L for _ in range(C)]
        xt = x
        for j in range(L):
            lo, hi = self.lo[:, j : j + 1], self.hi[:, j : j + 1]
            below[:, j] = (xt < lo).sum(axis=1)
            eq_lo[:, j] = (xt == lo).sum(axis=1)
            eq_hi[:, j] = ((xt == hi) & (hi > lo)).sum(axis=1)
            mask = (xt > lo) & (xt < hi)
            counts = mask.sum(axis=1)
            parts = np.split(xt[mask], np.cumsum(counts)[:-1])
            for c in range(C):
                inside[c][j] = parts[c]
        counts = np.array([[v.size for v in by_level] for by_level in inside], dtype=np.int64).reshape(C, L)
        flat = np.concatenate([v for by_level in inside for v in by_level]) if C * L else np.empty(0)
        return ChunkPart(start, rows, valid, undefined, blocks, below, eq_lo, eq_hi, flat, counts)

    def add(self, part: ChunkPart) -> None:
        """Merge a chunk's part (in any order)."""
        self._forget()
        self._rows += part.rows
        self._valid += part.valid
        self._undefined += part.undefined
        self._sums.append((part.start, part.block_sums))
        self._below += part.below
        self._equal_lo += part.equal_lo
        self._equal_hi += part.equal_hi
        if part.inside.size:  # one buffer a chunk: no object per bracket kept
            ends = np.cumsum(part.inside_counts.ravel())
            self._inside.append((part.inside, np.concatenate(([0], ends)).reshape(-1)))

    # ---------------------------------------------------------------- results

    def _order_stat(self, c: int, j: int, r: int) -> float:
        """The ``r``-th smallest counted value of column ``c`` (0-based), from bracket ``j``."""
        below = int(self._below[c, j])
        if r < below:
            return self._from_side(c, j, r, "low")
        r -= below
        if r < self._equal_lo[c, j]:
            return float(self.lo[c, j])
        r -= int(self._equal_lo[c, j])
        inside = self._joined(c, j)
        if r < inside.size:
            return float(np.partition(inside, r)[r])
        r -= inside.size
        if r < self._equal_hi[c, j]:
            return float(self.hi[c, j])
        r -= int(self._equal_hi[c, j])
        return self._from_side(c, j, r, "high")

    def _forget(self) -> None:
        """Drop what was derived from the chunks added so far (another chunk or side is coming)."""
        self._joined_bracket, self._block_sums = None, None
        self._percentiles.clear()

    def _joined(self, c: int, j: int) -> np.ndarray:
        """Bracket ``(c, j)``'s values strictly inside it, from every chunk (the last one joined kept)."""
        if self._joined_bracket is None or self._joined_bracket[0] != (c, j):
            k = c * self.lo.shape[1] + j
            parts = [values[offsets[k] : offsets[k + 1]] for values, offsets in self._inside]
            self._joined_bracket = ((c, j), np.concatenate([np.empty(0), *parts]))
        return self._joined_bracket[1]

    def _from_side(self, c: int, j: int, r: int, side: str) -> float:
        values = self._side.get((c, j))
        if values is None:
            raise _Outside(c, j, side)
        return float(np.partition(values, r)[r])

    def outside(self) -> list[tuple[int, int, str]]:
        """The ``(column, level, side)`` whose order statistics fell outside their bracket."""
        missing = []
        for c in range(len(self.levels)):
            for j in range(len(self.levels[c])):
                try:
                    self._percentile_at(c, j)
                except _Outside as exc:
                    missing.append((exc.column, exc.level, exc.side))
        return missing

    def _percentile_at(self, c: int, j: int) -> float:
        found = self._percentiles.get((c, j))
        if found is not None:
            return found
        n = int(self._valid[c])
        if n == 0:
            return math.nan
        percent = self.levels[c][j]

        def stat(k):
            return self._order_stat(c, j, k)

        value = (inverted_cdf_percentile if self.late[c] else linear_percentile)(stat, n, percent)
        self._percentiles[(c, j)] = value  # outside() then stats() ask for each one
        return value

    def side_values(self, wanted: Sequence[tuple[int, int, str]], start: int, x: np.ndarray) -> dict:
        """For a second pass: the values of ``x`` ``(column, rows)`` on the ``wanted`` sides of their
        brackets."""
        x = self.prepared(x)
        out = {}
        for c, j, side in wanted:
            col = x[c]
            out[(c, j)] = col[col < self.lo[c, j]] if side == "low" else col[col > self.hi[c, j]]
        return out

    def add_side(self, values: dict) -> None:
        """Merge :meth:`side_values` of every chunk (in any order)."""
        self._forget()
        for key, v in values.items():
            have = self._side.get(key)
            self._side[key] = v if have is None else np.concatenate((have, v))

    def stats(self, c: int) -> tuple[list[float], float, float]:
        """Column ``c``'s percentiles (its levels, in order), mean and share undefined.

        The mean is of the counted values; for a late column, NaN when any
        value is undefined (as :func:`finmodel.analysis.montecarlo` reports it).
        """
        n_all = self._rows
        undefined = float(self._undefined[c]) / n_all if n_all else math.nan
        q = [self._percentile_at(c, j) for j in range(len(self.levels[c]))]
        n = int(self._valid[c])
        if self._block_sums is None and self._sums:
            self._block_sums = np.concatenate([s for _, s in sorted(self._sums, key=lambda t: t[0])])
        total = math.fsum(self._block_sums[:, c]) if self._sums else 0.0
        if self.late[c]:
            mean = total / n if undefined == 0 and n else math.nan
        else:
            mean = total / n if n else math.nan
        return q, mean, undefined


def _row_after_row(x: np.ndarray) -> np.ndarray:
    """The sum of ``x``'s rows added one after the other (the compiled tally's order)."""
    total = np.zeros(x.shape[1])
    for row in x:
        total = total + row
    return total


class _Outside(LookupError):
    def __init__(self, column: int, level: int, side: str):
        super().__init__(f"column {column} level {level}: order statistic {side} of its bracket")
        self.column, self.level, self.side = column, level, side
