"""Monte Carlo over a scenario's ``uncertainty:`` block: a chunked engine over a draws axis.

Every input array gains a leading draw axis, ``(draw, case, category,
year)``; draws are evaluated in chunks so that memory stays bounded, each
chunk by the same array engine as a single run (:func:`finmodel.engine.model.
build_inputs`, :func:`~finmodel.engine.model.evaluate`,
:func:`~finmodel.engine.model.compute_metrics`). All random numbers are drawn up
front (:func:`finmodel.analysis.uncertainty.sample`) and every computation works on
each draw alone, so the results are bitwise the same for any chunk size,
any number of threads and the same seed; with zero-width distributions
every draw equals the deterministic run exactly.

The standard normal scores are taken from the generator chunk after chunk
on the calling thread (the same numbers as one draw of them all); each chunk
is transformed, evaluated and summarized on a small pool of threads (numpy,
scipy and the compiled kernels release the GIL), at most two chunks per
thread in flight.

What is kept per draw, when it fits in :data:`KEEP_BYTES`: every metric per
case (``npv_usd``, ``irr``, ..., ``fiscal_cost_window_usd``), the cumulative
cash flow by case and year (for fan charts) and the drawn inputs, about
``(M * K + K * T + P) * 8`` bytes a draw. A larger run streams
(:mod:`finmodel.analysis.streaming`): it keeps only what the outputs need
(exact percentiles from brackets, counts, sums, and the one column the
histogram draws), so its memory does not grow with the draws beyond 8 bytes
a draw; ``draws.csv`` is then written by evaluating the draws again chunk by
chunk (:meth:`MonteCarloResult.draw_frames`).
"""

from __future__ import annotations

import copy
import math
import os
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finmodel.analysis.metric_names import ALL_METRICS, FISCAL_METRICS
from finmodel.analysis.streaming import BLOCK, Brackets
from finmodel.analysis.uncertainty import (
    Samples,
    TableRows,
    UncertaintySpec,
    normal_scores,
    notes,
    to_overrides,
    uncertainty_spec,
    values_from_scores,
)
from finmodel.engine.model import (
    NumericalError,
    build_inputs,
    check_finite,
    compute_metrics,
    evaluate,
    run,
)
from finmodel.engine.names import case_choices, delta_case, is_delta
from finmodel.scenario.types import Scenario

__all__ = [
    "DEFAULT_CHUNK",
    "QUANTILES",
    "FAN_QUANTILES",
    "ALL_METRICS",  # the metrics kept per draw (defined in finmodel.analysis.metric_names)
    "MonteCarloResult",
    "KEEP_BYTES",
    "DrawsNotKeptError",
    "run_montecarlo",
    "tune_allocator",
    "NoUncertaintyError",
]

#: Draws per chunk: about 40 kB of working memory per draw, so ~160 MB per thread.
DEFAULT_CHUNK = 4096
#: Percentiles reported for every metric.
QUANTILES = (5, 50, 95)
#: Percentile bands of the fan chart (outer band, inner band, median).
FAN_QUANTILES = (5, 25, 50, 75, 95)
#: Per-draw values a run keeps before it streams instead [bytes].
KEEP_BYTES = 512 << 20
#: Draws a streamed run keeps whole to set its percentile brackets.
PILOT = 131072
#: The one column a streamed run keeps whole: the Treasury histogram's.
HISTOGRAM = ("fiscal_cost_window_usd", "with")


class NoUncertaintyError(ValueError):
    """The scenario has no ``uncertainty:`` block to draw from."""


class DrawsNotKeptError(LookupError):
    """A streamed run was asked for per-draw values it did not keep."""


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Outcome of :func:`run_montecarlo`.

    ``metrics[name]`` is ``(draws, case)``; ``cumulative_cash_flow`` is
    ``(draws, case, year)`` [USD]; ``inputs[path]`` the drawn values
    (``program.schedule``: the index of the schedule drawn); ``base`` the
    deterministic run of the scenario as written. A streamed run
    (``kept`` False) has none of the three: its summaries were computed as
    the draws went by, and :meth:`draw_frames` evaluates the draws again.
    """

    scenario: Scenario
    spec: UncertaintySpec
    seed: int | None
    inputs: Mapping[str, np.ndarray] | None
    metrics: Mapping[str, np.ndarray] | None
    cumulative_cash_flow: np.ndarray | None
    base: Any
    chunk_size: int
    notes: tuple[str, ...] = field(default=())
    n_draws: int = 0
    streamed: Mapping[str, Any] | None = field(default=None, repr=False)
    replay: Callable[..., Any] | None = field(default=None, repr=False)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # summaries, computed once

    @property
    def draws(self) -> int:
        return self.n_draws

    @property
    def kept(self) -> bool:
        """Every draw's values are in memory (:data:`KEEP_BYTES`); otherwise the run was streamed."""
        return self.metrics is not None

    @property
    def cases(self) -> tuple[str, ...]:
        """``without``, ``with`` and the scenario's ``cases:`` (MODEL.md section 15)."""
        return self.base.cases

    @property
    def case_metrics(self) -> tuple[str, ...]:
        """The per-case metrics summarized: section 9's, then debt, guarantee and offset where present."""
        names = self.metrics if self.kept else self.streamed["metric_names"]
        return tuple(m for m in self.base.metric_names if m in names)

    @property
    def years(self) -> np.ndarray:
        return self.scenario.years

    def values(self, name: str, case: str = "with") -> np.ndarray:
        """One metric across draws: ``case`` is a case's name, ``delta`` (with - without) or
        ``delta.NAME`` (case NAME of ``cases:`` - without)."""
        if not self.kept:
            kept = self.streamed["columns"].get((name, case))
            if kept is None:
                raise DrawsNotKeptError(
                    f"this run of {self.draws:,} draws was streamed and kept only "
                    f"{', '.join(f'{m} ({c})' for m, c in self.streamed['columns'])} per draw; "
                    f"run fewer draws (per-draw values are kept up to {KEEP_BYTES >> 20} MB) "
                    "or read draws.csv"
                )
            return kept
        return _column(self.metrics, self.cases, name, case)

    def treasury_cost(self, name: str = "fiscal_cost_window_usd", case: str = "with") -> np.ndarray:
        """The Treasury's cost of ``case`` per draw (against ``without``). [USD]"""
        return self.values(name, case)

    def summary(self) -> pd.DataFrame:
        """P5, P50, P95 and mean of every metric, per case and delta, and of the Treasury's cost.

        Rows are ``(metric, case)``; columns ``p5, p50, p95, mean, undefined``
        (the share of draws where the metric is undefined: no IRR, or no
        payback by the end of the horizon, which counts as later than any year
        in the percentiles, shown as inf).
        """
        if not self.kept:
            return self.streamed["summary"].copy()
        return self._once("summary", self._summary)

    def _summary(self) -> pd.DataFrame:
        tasks = summary_tasks(self.case_metrics, self.cases)

        def row(task):
            name, label, case, late = task
            return (name, label, *_stats(self.values(name, case), late=late))

        # each row alone, in the order of the tasks: sorting and sums release the GIL
        threads = min(_default_threads(), max(1, self.draws // 100_000))
        if threads > 1:
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finmodel-stats") as pool:
                rows = list(pool.map(row, tasks))
        else:
            rows = [row(task) for task in tasks]
        return _summary_frame(rows)

    def _once(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key].copy()

    def probabilities(self) -> dict[str, float]:
        """Shares of draws answering the questions memo readers ask, per case (`_probability_counts`)."""
        if not self.kept:
            return {k: v / self.draws for k, v in self.streamed["counts"].items()}
        npv = self.metrics["npv_usd"]
        payback = self.metrics["payback_year"]
        counts = _probability_counts(npv, payback, self.cases, self.metrics.get("equity_npv_usd"))
        return {k: float(np.mean(v)) for k, v in counts.items()}

    def fan(self, case: str) -> pd.DataFrame:
        """Percentiles of the cumulative cash flow by year: rows years, columns ``p5 .. p95``. [USD]"""
        if not self.kept:
            return self.streamed["fans"][case].copy()
        return self._once(("fan", case), lambda: self._fan(case))

    def _fan(self, case: str) -> pd.DataFrame:
        k = self.cases.index(case)
        levels = np.array(FAN_QUANTILES) / 100.0

        def year(t: int) -> np.ndarray:  # a contiguous copy of the year's draws partitions fast
            return np.quantile(np.ascontiguousarray(self.cumulative_cash_flow[:, k, t]), levels)

        T = self.cumulative_cash_flow.shape[-1]
        threads = min(_default_threads(), max(1, self.draws // 100_000))
        if threads > 1:  # each year alone: partitions release the GIL
            with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finmodel-fan") as pool:
                q = np.array(list(pool.map(year, range(T))))
        else:
            q = np.array([year(t) for t in range(T)])
        return _fan_frame(q, self.years)

    def draws_frame(self) -> pd.DataFrame:
        """One row per draw: the drawn inputs, every metric per case and delta, the Treasury's cost."""
        if not self.kept:
            return pd.concat(list(self.draw_frames()), ignore_index=True)
        return _draws_frame(0, self.inputs, self.metrics, self.case_metrics, self.cases)

    def draw_frames(self, block: int | None = None) -> Iterator[pd.DataFrame]:
        """:meth:`draws_frame` in consecutive pieces of rows; a streamed run evaluates its draws again."""
        if self.kept:
            frame = self.draws_frame()
            block = block or max(len(frame), 1)
            for start in range(0, max(len(frame), 1), block):
                yield frame.iloc[start : start + block]
            return
        yield from self.replay(
            lambda start, out: _draws_frame(start, out[0], out[1], self.case_metrics, self.cases)
        )

    def to_dict(self) -> dict[str, Any]:
        """The ``montecarlo.json`` structure: settings, notes, percentiles, probabilities, the base run."""
        table = self.summary()
        stats: dict[str, Any] = {}
        for (name, case), row in table.iterrows():
            stats.setdefault(name, {})[case] = {k: _num(v) for k, v in row.items()}
        start, end = self.base.fiscal_window
        return {
            "scenario": self.scenario.name,
            "draws": self.draws,
            "seed": self.seed,
            "parameters": {p: d.to_dict() for p, d in self.spec.parameters.items()},
            "correlations": [{"between": [a, b], "rho": r} for a, b, r in self.spec.correlations],
            "notes": list(self.notes),
            "fiscal_window": [start, end],
            "metrics": stats,
            "probabilities": self.probabilities(),
            "base": self.base.to_dict(),
        }


def summary_tasks(case_metrics, cases) -> list[tuple[str, str, str, bool]]:
    """The rows of :meth:`MonteCarloResult.summary`: ``(metric, row label, case, late)``."""
    tasks = []
    for name in case_metrics:
        for case in case_choices(cases):
            tasks.append((name, case, case, name == "payback_year" and not is_delta(case)))
    for name in FISCAL_METRICS:
        tasks.append((name, "treasury", "with", False))
        for case in cases[2:]:  # cases: each one's cost against without
            tasks.append((name, f"treasury {case}", case, False))
    return tasks


def _summary_frame(rows) -> pd.DataFrame:
    cols = ["metric", "case"] + [f"p{q}" for q in QUANTILES] + ["mean", "undefined"]
    return pd.DataFrame(rows, columns=cols).set_index(["metric", "case"])


def _fan_frame(q: np.ndarray, years) -> pd.DataFrame:
    """``q`` ``(year, level)`` as the fan table."""
    table = pd.DataFrame(q, index=years, columns=[f"p{x}" for x in FAN_QUANTILES])
    table.index.name = "year"
    return table


def _probability_counts(
    npv: np.ndarray, payback: np.ndarray, cases, equity: np.ndarray | None = None
) -> dict[str, np.ndarray]:
    """Per draw, the events behind :meth:`MonteCarloResult.probabilities` (booleans).

    With against without as before; for each named case NAME of ``cases:``,
    its gain in NPV against without (``delta_npv_positive.NAME``) and its own
    NPV (``npv_positive.NAME``); where the scenario borrows (``equity``,
    the equity NPV ``(draw, case)``), the gain in equity NPV of 'with' and of
    each named case, since a guarantee changes the owner's debt service and
    not the project's NPV.
    """
    w, k = cases.index("without"), cases.index("with")
    npv_without, npv_with = npv[:, w], npv[:, k]
    events = {
        "delta_npv_positive": (npv_with - npv_without) > 0,
        "npv_with_positive": npv_with > 0,
        "npv_without_positive": npv_without > 0,
        "credit_turns_npv_positive": (npv_with > 0) & (npv_without < 0),
        "payback_with_before_without": _payback_order(payback[:, k], payback[:, w]),
    }
    for j, case in enumerate(cases):
        if case not in ("without", "with"):
            events[f"delta_npv_positive.{case}"] = (npv[:, j] - npv_without) > 0
            events[f"npv_positive.{case}"] = npv[:, j] > 0
    if equity is not None:
        for j, case in enumerate(cases):
            if case != "without":
                name = "delta_equity_npv_positive" + ("" if case == "with" else f".{case}")
                events[name] = (equity[:, j] - equity[:, w]) > 0
    return events


def _column(metrics: Mapping[str, np.ndarray], cases, name: str, case: str) -> np.ndarray:
    """Metric ``name`` across draws for ``case``: a case's name, ``delta`` (with - without) or
    ``delta.NAME`` (NAME - without)."""
    m = np.asarray(metrics[name])
    if is_delta(case):
        return m[:, cases.index(delta_case(case))] - m[:, cases.index("without")]
    return m[:, cases.index(case)]


def _draws_frame(start: int, inputs, metrics, case_metrics, cases) -> pd.DataFrame:
    """Rows ``start ..``: the drawn inputs, every metric per case and delta, the Treasury's cost."""
    n = len(next(iter(metrics.values())))
    data: dict[str, Any] = {"draw": np.arange(start, start + n)}
    for path, values in inputs.items():
        data[path] = np.asarray(values)
    for name in case_metrics:
        for case in case_choices(cases):
            data[f"{name}.{case}"] = _column(metrics, cases, name, case)
    for name in FISCAL_METRICS:
        data[name] = _column(metrics, cases, name, "with")
        for case in cases[2:]:
            data[f"{name}.{case}"] = _column(metrics, cases, name, case)
    return pd.DataFrame(data)


def _num(x) -> float | None:
    x = float(x)
    return None if math.isnan(x) else x


def _stats(x: np.ndarray, late: bool = False) -> tuple:
    """Percentiles and mean of finite values; ``late``: NaN means "after the horizon" (inf)."""
    x = np.asarray(x, dtype=float)
    undefined = float(np.mean(np.isnan(x))) if x.size else math.nan
    if late:
        x = np.where(np.isnan(x), np.inf, x)
        q = np.percentile(x, QUANTILES, method="inverted_cdf") if x.size else [math.nan] * len(QUANTILES)
        mean = float(np.mean(x)) if undefined == 0 else math.nan
        return (*[float(v) for v in q], mean, undefined)
    finite = x[np.isfinite(x)]  # a copy: the percentiles may reorder it
    if finite.size == 0:
        return (*[math.nan] * len(QUANTILES), math.nan, undefined)
    mean = float(np.mean(finite))
    q = np.percentile(finite, QUANTILES, overwrite_input=True)
    return (*[float(v) for v in q], mean, undefined)


def _payback_order(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a`` pays back strictly earlier than ``b`` (NaN: never, later than any year)."""
    return np.where(np.isnan(a), np.inf, a) < np.where(np.isnan(b), np.inf, b)


def tune_allocator() -> bool:
    """Let the C allocator keep the memory a large run frees, for the rest of the process (glibc).

    Each chunk allocates and frees a few MB of temporaries per thread. By
    default glibc returns such blocks to the system and the next chunk
    faults them in again page by page (up to a fifth of a million-draw
    run). This raises the trim threshold to 1 GB and fixes the mmap
    threshold at glibc's maximum (32 MB), so freed chunks are reused. It
    changes the whole process's allocator, so it is the caller's choice:
    ``finmodel montecarlo`` calls it; a library user may. Returns False
    where the C library has no ``mallopt`` (not glibc); results never
    depend on it.
    """
    import ctypes

    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    m_trim_threshold, m_top_pad, m_mmap_threshold = -1, -2, -3
    settings = ((m_mmap_threshold, 32 << 20), (m_trim_threshold, 1 << 30), (m_top_pad, 64 << 20))
    return all([mallopt(option, value) == 1 for option, value in settings])


def _default_threads() -> int:
    return max(1, min(4, os.cpu_count() or 1))


def run_montecarlo(
    scenario: Scenario,
    draws: int | None = None,
    seed: int | np.random.Generator | None = None,
    chunk_size: int = DEFAULT_CHUNK,
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    spec: UncertaintySpec | None = None,
    keep: bool | None = None,
) -> MonteCarloResult:
    """Draw the scenario's uncertain inputs and evaluate every draw, every case.

    Parameters
    ----------
    scenario : Scenario
        With an ``uncertainty:`` block (or pass ``spec``).
    draws, seed : optional
        Override the block's ``draws`` and ``seed``. With no seed anywhere a
        fresh one is taken from the operating system and returned in the
        result, so the run can be repeated.
    chunk_size : int
        Draws evaluated at once; results do not depend on it (a streamed
        run rounds it up to a multiple of :data:`finmodel.analysis.streaming.BLOCK`).
    threads : int, optional
        Chunks evaluated at the same time (default: the cores, at most 4);
        results do not depend on it.
    progress : callable, optional
        Called with the number of draws just finished, after each chunk.
    keep : bool, optional
        Keep every draw's values (True) or stream (False); default: keep
        when they fit in :data:`KEEP_BYTES`. Percentiles, shares and counts
        are the same either way; a streamed mean may differ in the last
        digits (an exact sum of block sums against numpy's pairwise sum).

    For runs of a million draws, :func:`tune_allocator` (once per process)
    saves the page faults of memory freed and taken again chunk after chunk;
    ``finmodel montecarlo`` calls it.

    Examples
    --------
    >>> from finmodel.scenario.load import scenario_from_dict
    >>> s = scenario_from_dict({
    ...     "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
    ...     "categories": {"servers": {"share": 1, "macrs_years": 5}},
    ...     "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
    ...     "analysis": {"end_year": 2036},
    ...     "uncertainty": {"seed": 7, "parameters": {
    ...         "policy.amic.rate": {"dist": "uniform", "low": 0.25, "high": 0.35}}}})
    >>> mc = run_montecarlo(s, draws=1000)
    >>> credit = mc.values("credit_earned_usd", "with")
    >>> lo, hi = credit.min() / 1e6, credit.max() / 1e6
    >>> bool(25 <= lo < hi <= 35)
    True
    """
    spec = spec if spec is not None else uncertainty_spec(scenario)
    if spec is None:
        raise NoUncertaintyError(
            f"scenario {scenario.name!r} has no uncertainty: block; "
            "add one (see finmodel.analysis.uncertainty)"
        )
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be >= 1, got {chunk_size}")
    n = spec.draws if draws is None else int(draws)
    if n < 1:
        raise ValueError(f"draws must be >= 1, got {n}")
    if seed is None and spec.seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    seed = spec.seed if seed is None else seed
    fresh_rng = _generator_factory(seed)
    base = run(scenario)
    T, K, P = len(scenario.years), len(base.cases), len(spec.paths)
    names = (*ALL_METRICS, *(m for m in base.metric_names if m not in ALL_METRICS))
    if keep is None:
        keep = n * (len(names) * K + K * T + P) * 8 <= KEEP_BYTES
    threads = _default_threads() if threads is None else max(1, int(threads))
    plan = _Plan(scenario, spec, names)
    common = dict(
        scenario=scenario,
        spec=spec,
        seed=None if isinstance(seed, np.random.Generator) else seed,
        base=base,
        notes=tuple(notes(spec)),
        n_draws=n,
    )
    if keep:
        kept = _run_kept(plan, n, K, T, fresh_rng(), chunk_size, threads, progress)
        return MonteCarloResult(**common, **kept, chunk_size=chunk_size)
    chunk_size = -(-chunk_size // BLOCK) * BLOCK
    streamed = _run_streamed(plan, base, n, fresh_rng, chunk_size, threads, progress)

    def replay(consume):
        return _replayed(plan, n, fresh_rng(), chunk_size, threads, consume)

    return MonteCarloResult(
        **common,
        inputs=None,
        metrics=None,
        cumulative_cash_flow=None,
        chunk_size=chunk_size,
        streamed=streamed,
        replay=replay,
    )


def _generator_factory(seed: int | np.random.Generator) -> Callable[[], np.random.Generator]:
    """A function giving a new generator in the state ``seed`` is in now (a run can draw twice)."""
    if isinstance(seed, np.random.Generator):
        kind, state = type(seed.bit_generator), copy.deepcopy(seed.bit_generator.state)

        def fresh() -> np.random.Generator:
            bits = kind()
            bits.state = copy.deepcopy(state)
            return np.random.Generator(bits)

        return fresh  # the caller's generator itself is never advanced
    return lambda: np.random.default_rng(seed)


@dataclass(frozen=True)
class _Plan:
    """What every chunk needs: the scenario, the distributions, the metric names kept."""

    scenario: Scenario
    spec: UncertaintySpec
    names: tuple[str, ...]

    def evaluate(self, start: int, z: np.ndarray):
        """Draws ``start ..`` from their scores ``z``: ``(inputs, metrics, cumulative)``."""
        stop = start + len(z)
        values = values_from_scores(self.spec, z)
        overrides = to_overrides(self.scenario, Samples(spec=self.spec, values=values, seed=None))
        chunk = {path: _rows(value, 0, stop - start) for path, value in overrides.items()}
        inp = build_inputs(self.scenario, chunk)
        lines = evaluate(inp, check=False)
        # every line flows into the cash flow or the Treasury's cost: scan those
        # two, and the whole chunk (for the origin of the problem) only if needed
        if not (np.isfinite(np.sum(lines["cash_flow"])) and np.isfinite(np.sum(lines["fiscal_cost"]))):
            try:
                check_finite(lines, inp)
            except NumericalError as exc:
                raise NumericalError(f"{exc} (draws {start} to {stop - 1})") from None
        K, T = lines["cash_flow"].shape[-2:]
        cumulative = np.empty((stop - start, K, T))
        if lines["cash_flow"].shape == cumulative.shape:  # the cumulative sums written in place
            out = compute_metrics(inp, lines, cumulative=cumulative)
        else:  # nothing drawn varies per draw: the one cash flow, repeated
            out = compute_metrics(inp, lines)
            cumulative[...] = np.cumsum(lines["cash_flow"], axis=-1)
        metrics = {name: np.broadcast_to(out[name], (stop - start, K)) for name in self.names}
        return values, metrics, cumulative


def _run_kept(plan: _Plan, n, K, T, rng, chunk_size, threads, progress) -> dict[str, Any]:
    """Every draw's inputs, metrics and cumulative cash flow, in arrays of ``n`` rows."""
    metrics = {name: np.empty((n, K)) for name in plan.names}
    cumulative = np.empty((n, K, T))
    inputs: dict[str, np.ndarray] = {}

    def work(start, z):
        values, out, cum = plan.evaluate(start, z)
        stop = start + len(z)
        for name, array in metrics.items():
            array[start:stop] = out[name]
        cumulative[start:stop] = cum
        return len(z), values

    def consume(start, result):
        rows, values = result
        for path, v in values.items():
            if path not in inputs:
                inputs[path] = np.empty(n, dtype=v.dtype)
            inputs[path][start : start + rows] = v
        if progress:
            progress(rows)

    _pipeline(plan, rng, 0, n, chunk_size, threads, work, consume)
    return {"inputs": inputs, "metrics": metrics, "cumulative_cash_flow": cumulative}


def _stream_columns(plan: _Plan, base) -> tuple[list, list, np.ndarray, list]:
    """The streamed columns: summary rows, then the fan's (case, year); their levels and lateness."""
    case_metrics = tuple(m for m in base.metric_names if m in plan.names)
    tasks = summary_tasks(case_metrics, base.cases)
    fans = [(k, t) for k in range(len(base.cases)) for t in range(len(plan.scenario.years))]
    levels = [QUANTILES] * len(tasks) + [FAN_QUANTILES] * len(fans)
    late = np.array([task[3] for task in tasks] + [False] * len(fans))
    return tasks, fans, late, levels


def _stream_matrix(tasks, fans, cases, metrics, cumulative) -> np.ndarray:
    """``(column, draws)``: the summary rows' values, then the cumulative cash flow by (case, year)."""
    cols = [_column(metrics, cases, name, case) for name, _, case, _ in tasks]
    cols += [cumulative[:, k, t] for k, t in fans]
    return np.stack(cols) if cols else np.empty((0, len(cumulative)))


def _run_streamed(plan: _Plan, base, n, fresh_rng, chunk_size, threads, progress) -> dict[str, Any]:
    """One pass over the draws keeping only what the outputs need (:mod:`finmodel.analysis.streaming`)."""
    cases = base.cases
    tasks, fans, late, levels = _stream_columns(plan, base)
    brackets = Brackets(levels=levels, late=late)
    counts: dict[str, int] = {}  # the events of _probability_counts, in its order
    histogram = np.empty(n)
    pilot = min(n, -(-PILOT // chunk_size) * chunk_size)
    pilot_values = np.empty((len(levels), pilot))  # (column, draw), filled in place

    def summarize(start, out):
        _, metrics, cumulative = out
        x = _stream_matrix(tasks, fans, cases, metrics, cumulative)
        events = _probability_counts(
            metrics["npv_usd"], metrics["payback_year"], cases, metrics.get("equity_npv_usd")
        )
        tally = {k: int(np.count_nonzero(v)) for k, v in events.items()}
        return x, tally, _column(metrics, cases, *HISTOGRAM)

    def first(start, z):
        return summarize(start, plan.evaluate(start, z))

    def keep_pilot(start, result):
        x, tally, hist = result
        pilot_values[:, start : start + x.shape[1]] = x
        _count(start, tally, hist)

    def _count(start, tally, hist):
        for k, v in tally.items():
            counts[k] = counts.get(k, 0) + v
        histogram[start : start + len(hist)] = hist
        if progress:
            progress(len(hist))

    def rest(start, z):
        x, tally, hist = summarize(start, plan.evaluate(start, z))
        return brackets.part(start, x), tally, hist

    def merge(start, result):
        part, tally, hist = result
        brackets.add(part)
        _count(start, tally, hist)

    rng = fresh_rng()
    _pipeline(plan, rng, 0, pilot, chunk_size, threads, first, keep_pilot)
    # numpy's partitions and the compiled tally release the GIL: the pilot's columns and chunks in threads
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finmodel-pilot") as pool:
        brackets.set_from_pilot(pilot_values, map=pool.map)
        starts = range(0, pilot, chunk_size)
        for part in pool.map(
            lambda start: brackets.part(start, pilot_values[:, start : start + chunk_size]), starts
        ):
            brackets.add(part)
    pilot_values = None  # the pilot is in the brackets now
    _pipeline(plan, rng, pilot, n, chunk_size, threads, rest, merge)
    wanted = brackets.outside()
    if wanted:  # a pilot far from the whole: that side of its brackets, evaluated again
        rng = fresh_rng()

        def side(start, z):
            x, _, _ = summarize(start, plan.evaluate(start, z))
            return brackets.side_values(wanted, start, x)

        _pipeline(plan, rng, 0, n, chunk_size, threads, side, lambda start, part: brackets.add_side(part))
    rows, fan_q = [], np.empty((len(cases), len(plan.scenario.years), len(FAN_QUANTILES)))
    for c, (name, label, _, _) in enumerate(tasks):
        q, mean, undefined = brackets.stats(c)
        rows.append((name, label, *q, mean, undefined))
    for i, (k, t) in enumerate(fans):
        fan_q[k, t] = brackets.stats(len(tasks) + i)[0]
    return {
        "summary": _summary_frame(rows),
        "fans": {case: _fan_frame(fan_q[k], plan.scenario.years) for k, case in enumerate(cases)},
        "counts": counts,
        "columns": {HISTOGRAM: histogram},
        "metric_names": plan.names,
    }


def _replayed(plan: _Plan, n, rng, chunk_size, threads, consume) -> Iterator[Any]:
    """``consume(start, (inputs, metrics, cumulative))`` of every chunk again, in order, as an iterator."""
    for start, out in _chunks(plan, rng, 0, n, chunk_size, threads, plan.evaluate):
        yield consume(start, out)


def _pipeline(plan: _Plan, rng, first: int, stop: int, chunk_size: int, threads: int, work, consume) -> None:
    """``consume(start, work(start, z))`` for the chunks ``first .. stop`` in order (:func:`_chunks`)."""
    for start, result in _chunks(plan, rng, first, stop, chunk_size, threads, work):
        consume(start, result)


def _chunks(plan: _Plan, rng, first: int, stop: int, chunk_size: int, threads: int, work) -> Iterator:
    """``(start, work(start, z))`` of the chunks ``first .. stop``, in order.

    The scores ``z`` are drawn here, chunk after chunk; ``work`` runs on
    ``threads`` threads with at most two chunks a thread in flight.
    """
    starts = range(first, stop, chunk_size)
    if threads == 1 or len(starts) <= 1:
        for start in starts:
            yield start, work(start, normal_scores(plan.spec, rng, min(chunk_size, stop - start)))
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finmodel-mc") as pool:
        pending: deque = deque()
        try:
            for start in starts:
                z = normal_scores(plan.spec, rng, min(chunk_size, stop - start))
                pending.append((start, pool.submit(work, start, z)))
                if len(pending) >= 2 * threads:
                    s, f = pending.popleft()
                    yield s, f.result()
            while pending:
                s, f = pending.popleft()
                yield s, f.result()
        finally:
            for _, f in pending:
                f.cancel()


def _rows(value: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of an override (arrays of draws, or year maps of them)."""
    if isinstance(value, Mapping):
        return {k: _rows(v, start, stop) for k, v in value.items()}
    if isinstance(value, TableRows):
        return value.rows(start, stop)
    if np.ndim(value) == 0:
        return value
    return np.asarray(value)[start:stop]
