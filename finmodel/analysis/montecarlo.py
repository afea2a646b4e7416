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

Chunks run on a small pool of threads (numpy and the compiled kernels
release the GIL); each chunk writes only its own rows of the result arrays.

What is kept per draw: every metric per case (``npv_usd``, ``irr``, ...,
``fiscal_cost_window_usd``, ``fiscal_cost_pv_usd``) and the cumulative cash
flow by year (for fan charts): about ``(2 * 9 + 2 * T) * 8`` bytes a draw.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finmodel.analysis.metric_names import ALL_METRICS, FISCAL_METRICS
from finmodel.analysis.uncertainty import (
    Samples,
    TableRows,
    UncertaintySpec,
    notes,
    sample,
    to_overrides,
    uncertainty_spec,
)
from finmodel.engine.model import (
    NumericalError,
    build_inputs,
    check_finite,
    compute_metrics,
    evaluate,
    run,
)
from finmodel.scenario.types import Scenario

__all__ = [
    "DEFAULT_CHUNK",
    "QUANTILES",
    "FAN_QUANTILES",
    "ALL_METRICS",  # the metrics kept per draw (defined in finmodel.analysis.metric_names)
    "MonteCarloResult",
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


class NoUncertaintyError(ValueError):
    """The scenario has no ``uncertainty:`` block to draw from."""


@dataclass(frozen=True, eq=False)
class MonteCarloResult:
    """Outcome of :func:`run_montecarlo`.

    ``metrics[name]`` is ``(draws, case)``; ``cumulative_cash_flow`` is
    ``(draws, case, year)`` [USD]; ``inputs[path]`` the drawn values
    (``program.schedule``: the index of the schedule drawn); ``base`` the
    deterministic run of the scenario as written.
    """

    scenario: Scenario
    spec: UncertaintySpec
    seed: int | None
    inputs: Mapping[str, np.ndarray]
    metrics: Mapping[str, np.ndarray]
    cumulative_cash_flow: np.ndarray
    base: Any
    chunk_size: int
    notes: tuple[str, ...] = field(default=())
    _memo: dict = field(default_factory=dict, repr=False, compare=False)  # summaries, computed once

    @property
    def draws(self) -> int:
        return int(self.cumulative_cash_flow.shape[0])

    @property
    def cases(self) -> tuple[str, ...]:
        """``without``, ``with`` and the scenario's ``cases:`` (MODEL.md section 15)."""
        return self.base.cases

    @property
    def case_metrics(self) -> tuple[str, ...]:
        """The per-case metrics summarized: section 9's, then debt, guarantee and offset where present."""
        return tuple(m for m in self.base.metric_names if m in self.metrics)

    @property
    def years(self) -> np.ndarray:
        return self.scenario.years

    def values(self, name: str, case: str = "with") -> np.ndarray:
        """One metric across draws: ``case`` is a case's name or ``delta`` (with - without)."""
        m = np.asarray(self.metrics[name])
        if case == "delta":
            return m[:, self.cases.index("with")] - m[:, self.cases.index("without")]
        return m[:, self.cases.index(case)]

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
        return self._once("summary", self._summary)

    def _summary(self) -> pd.DataFrame:
        tasks = []  # (metric, row label, case, late)
        for name in self.case_metrics:
            for case in (*self.cases, "delta"):
                tasks.append((name, case, case, name == "payback_year" and case != "delta"))
        for name in FISCAL_METRICS:
            tasks.append((name, "treasury", "with", False))
            for case in self.cases[2:]:  # cases: each one's cost against without
                tasks.append((name, f"treasury {case}", case, False))

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
        cols = ["metric", "case"] + [f"p{q}" for q in QUANTILES] + ["mean", "undefined"]
        return pd.DataFrame(rows, columns=cols).set_index(["metric", "case"])

    def _once(self, key, make):
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key].copy()

    def probabilities(self) -> dict[str, float]:
        """Shares of draws answering the questions memo readers ask."""
        npv_without = self.values("npv_usd", "without")
        npv_with = self.values("npv_usd", "with")
        delta = npv_with - npv_without
        return {
            "delta_npv_positive": float(np.mean(delta > 0)),
            "npv_with_positive": float(np.mean(npv_with > 0)),
            "npv_without_positive": float(np.mean(npv_without > 0)),
            "credit_turns_npv_positive": float(np.mean((npv_with > 0) & (npv_without < 0))),
            "payback_with_before_without": float(
                np.mean(
                    _payback_order(
                        self.values("payback_year", "with"), self.values("payback_year", "without")
                    )
                )
            ),
        }

    def fan(self, case: str) -> pd.DataFrame:
        """Percentiles of the cumulative cash flow by year: rows years, columns ``p5 .. p95``. [USD]"""
        return self._once(("fan", case), lambda: self._fan(case))

    def _fan(self, case: str) -> pd.DataFrame:
        k = self.cases.index(case)
        by_year = np.ascontiguousarray(
            self.cumulative_cash_flow[:, k, :].T
        )  # (year, draw): rows partition fast
        q = np.quantile(by_year, np.array(FAN_QUANTILES) / 100.0, axis=1)
        table = pd.DataFrame(q.T, index=self.years, columns=[f"p{x}" for x in FAN_QUANTILES])
        table.index.name = "year"
        return table

    def draws_frame(self) -> pd.DataFrame:
        """One row per draw: the drawn inputs, every metric per case and delta, the Treasury's cost."""
        data: dict[str, Any] = {"draw": np.arange(self.draws)}
        for path, values in self.inputs.items():
            data[path] = values
        for name in self.case_metrics:
            for case in (*self.cases, "delta"):
                data[f"{name}.{case}"] = self.values(name, case)
        for name in FISCAL_METRICS:
            data[name] = self.treasury_cost(name)
            for case in self.cases[2:]:
                data[f"{name}.{case}"] = self.treasury_cost(name, case)
        return pd.DataFrame(data)

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
) -> MonteCarloResult:
    """Draw the scenario's uncertain inputs and evaluate every draw, both cases.

    Parameters
    ----------
    scenario : Scenario
        With an ``uncertainty:`` block (or pass ``spec``).
    draws, seed : optional
        Override the block's ``draws`` and ``seed``. With no seed anywhere a
        fresh one is taken from the operating system and returned in the
        result, so the run can be repeated.
    chunk_size : int
        Draws evaluated at once; results do not depend on it.
    threads : int, optional
        Chunks evaluated at the same time (default: the cores, at most 4);
        results do not depend on it.
    progress : callable, optional
        Called with the number of draws just finished, after each chunk.

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
    if seed is None and spec.seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**63))
    samples: Samples = sample(spec, draws, seed)
    n = samples.draws
    overrides = to_overrides(scenario, samples)
    base = run(scenario)
    T = len(scenario.years)
    K = len(base.cases)
    names = (*ALL_METRICS, *(m for m in base.metric_names if m not in ALL_METRICS))
    metrics = {name: np.empty((n, K)) for name in names}
    cumulative = np.empty((n, K, T))

    def work(start: int) -> int:
        stop = min(start + chunk_size, n)
        _evaluate_chunk(scenario, overrides, start, stop, metrics, cumulative)
        return stop - start

    threads = _default_threads() if threads is None else max(1, int(threads))
    _run_chunks(work, range(0, n, chunk_size), threads, progress)
    return MonteCarloResult(
        scenario=scenario,
        spec=spec,
        seed=samples.seed,
        inputs=dict(samples.values),
        metrics=metrics,
        cumulative_cash_flow=cumulative,
        base=base,
        chunk_size=chunk_size,
        notes=tuple(notes(spec)),
    )


def _evaluate_chunk(
    scenario: Scenario,
    overrides: Mapping[str, Any],
    start: int,
    stop: int,
    metrics: Mapping[str, np.ndarray],
    cumulative: np.ndarray,
) -> None:
    """Evaluate draws ``start:stop``; write their rows of ``metrics`` and ``cumulative`` (and no others)."""
    chunk = {path: _rows(value, start, stop) for path, value in overrides.items()}
    inp = build_inputs(scenario, chunk)
    lines = evaluate(inp, check=False)
    # every line flows into the cash flow or the Treasury's cost: scan those
    # two, and the whole chunk (for the origin of the problem) only if needed
    if not (np.isfinite(np.sum(lines["cash_flow"])) and np.isfinite(np.sum(lines["fiscal_cost"]))):
        try:
            check_finite(lines, inp)
        except NumericalError as exc:
            raise NumericalError(f"{exc} (draws {start} to {stop - 1})") from None
    rows = cumulative[start:stop]
    if lines["cash_flow"].shape == rows.shape:  # the cumulative sums written in place
        out = compute_metrics(inp, lines, cumulative=rows)
    else:  # nothing drawn varies per draw: the one cash flow, repeated
        out = compute_metrics(inp, lines)
        rows[...] = np.cumsum(lines["cash_flow"], axis=-1)
    for name, values in metrics.items():
        values[start:stop] = np.broadcast_to(out[name], (stop - start, values.shape[1]))


def _run_chunks(
    work: Callable[[int], int], starts: range, threads: int, progress: Callable[[int], None] | None
) -> None:
    """``work(start)`` for every chunk, on ``threads`` threads; ``progress`` gets each chunk's draw count."""
    if threads == 1 or len(starts) == 1:
        for s in starts:
            done = work(s)
            if progress:
                progress(done)
        return
    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="finmodel-mc") as pool:
        for done in pool.map(work, starts):
            if progress:
                progress(done)


def _rows(value: Any, start: int, stop: int) -> Any:
    """Rows ``start:stop`` of an override (arrays of draws, or year maps of them)."""
    if isinstance(value, Mapping):
        return {k: _rows(v, start, stop) for k, v in value.items()}
    if isinstance(value, TableRows):
        return value.rows(start, stop)
    if np.ndim(value) == 0:
        return value
    return np.asarray(value)[start:stop]
