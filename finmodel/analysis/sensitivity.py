"""Deterministic sensitivity: tornado charts, two-way sweeps and break-even solving.

Every function evaluates many variants of one scenario in a single
vectorized pass: each variant is a point on the leading (draw) axis of
:func:`finmodel.engine.model.build_inputs`, so a 20 x 20 sweep costs about as much
as one run. A variant equals ``finmodel.run(scenario.override({path:
value}))`` (tested cell by cell), with two rules of
:mod:`finmodel.analysis.uncertainty`: a changed category share is followed by
dividing every share by their sum, and a rate by year given one value sets
its last step (``PATH[YEAR]`` sets the step starting in ``YEAR``; a year map
replaces the whole map), so the scenario's own last rate gives the scenario.

Metrics are named as in :data:`finmodel.analysis.metric_names.ALL_METRICS` and read for
a ``case``: ``without``, ``with``, a case of the scenario's ``cases:``, ``delta``
(with - without) or ``delta.NAME`` (case NAME - without). The Treasury's cost
(``fiscal_cost_window_usd``, ``fiscal_cost_pv_usd``) of a case is measured
against ``without`` (MODEL.md section 15). The tornado of a scenario with
``cases:`` shows every case (:func:`tornado_metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finmodel.analysis.metric_names import ALL_METRICS
from finmodel.analysis.uncertainty import category_share_overrides
from finmodel.engine.model import CASES, METRIC_LABELS, build_inputs, compute_metrics, evaluate
from finmodel.engine.names import case_choices, delta_case, is_delta
from finmodel.scenario.params import Param, param_for, split_step
from finmodel.scenario.types import Scenario
from finmodel.scenario.units import year_map_values
from finmodel.scenario.varying import check_path, set_step

__all__ = [
    "CASE_CHOICES",
    "case_choices",
    "is_delta",
    "delta_case",
    "tornado_metrics",
    "DEFAULT_SENSITIVITY",
    "DEFAULT_SENSITIVITY_SPREAD",
    "sensitivity_ranges",
    "METRIC_LABELS",
    "metric_values",
    "point_overrides",
    "evaluate_points",
    "TornadoBar",
    "TornadoResult",
    "tornado",
    "SweepResult",
    "sweep",
    "SolveResult",
    "SolveError",
    "solve",
]

CASE_CHOICES = ("without", "with", "delta")

#: How a rate by year moves when given one value (stated in tornado and sweep outputs).
RATE_MAP_NOTE = (
    "A rate by year given one value sets one step: PATH[YEAR] the step starting in YEAR, "
    "PATH alone its last step (the rate from its last year on); the other steps are kept."
)

CASE_LABELS = {"without": "without AMIC", "with": "with AMIC", "delta": "with − without"}


def case_text(case: str) -> str:
    """A case (or difference) in words: ``with AMIC``, ``guarantee only``, ``both − without``.

    >>> case_text("delta"), case_text("guarantee_only"), case_text("delta.both")
    ('with − without', 'guarantee only', 'both − without')
    """
    if case in CASE_LABELS:
        return CASE_LABELS[case]
    if is_delta(case):
        return f"{case_text(delta_case(case))} − without"
    return case.replace("_", " ")


class SolveError(ValueError):
    """The metric does not reach the target for any value of the parameter in the bracket."""


def _no_root_text(metric: str, case: str, target: float, parameter: str, lo: float, hi: float, seen) -> str:
    """Why a solve found no value: the range the metric ran over, in its unit, or that it did not move.

    >>> seen = np.array([4.8e10, 4.8e10])
    >>> _no_root_text("npv_usd", "with", 0.0, "finance.debt.share", 0.0, 1.0, seen).split(": ")[1]
    'it is $48.0B throughout (it does not depend on finance.debt.share)'
    >>> print(_no_root_text("irr", "delta", 0.5, "policy.amic.rate", 0.0, 1.0, np.array([0.0, 0.3])))
    irr (delta) does not reach +50.0 pp for policy.amic.rate from 0% to 100%: it runs from 0.0 pp to +30.0 pp
    """
    from finmodel.analysis.metric_names import METRIC_UNITS
    from finmodel.analysis.provenance import value_text
    from finmodel.core import format as fmt

    unit, delta = METRIC_UNITS.get(metric, "-"), is_delta(case)

    def show(x: float) -> str:
        return fmt.metric(float(x), unit, delta=delta)

    where = f"{parameter} from {value_text(parameter, lo)} to {value_text(parameter, hi)}"
    head = f"{metric} ({case}) does not reach {show(target)} for {where}"
    if not len(seen):
        return f"{head}: it is undefined throughout"
    if np.min(seen) == np.max(seen):
        return f"{head}: it is {show(np.min(seen))} throughout (it does not depend on {parameter})"
    return f"{head}: it runs from {show(np.min(seen))} to {show(np.max(seen))}"


def scenario_cases(scenario: Scenario) -> tuple[str, ...]:
    """The cases of a scenario: ``without``, ``with`` and those of its ``cases:`` (MODEL.md section 15)."""
    return CASES + tuple(scenario.case_scenarios)


def metric_values(
    metrics: Mapping[str, np.ndarray], name: str, case: str, cases: tuple[str, ...] = CASES
) -> np.ndarray:
    """One metric ``(points,)`` from ``compute_metrics`` output ``(points, case)``.

    ``cases`` names the case axis (:func:`scenario_cases`); ``case`` is one of
    them or ``delta`` (with - without).

    >>> metric_values({"npv_usd": np.array([[1.0, 3.0]])}, "npv_usd", "delta").tolist()
    [2.0]
    """
    if name not in metrics:
        raise KeyError(f"unknown metric {name!r} (known: {', '.join(ALL_METRICS)})")
    if case not in case_choices(cases):
        raise KeyError(f"unknown case {case!r} (known: {', '.join(case_choices(cases))})")
    m = np.asarray(metrics[name])
    if is_delta(case):
        return m[..., cases.index(delta_case(case))] - m[..., cases.index("without")]
    return m[..., cases.index(case)]


def point_overrides(scenario: Scenario, columns: Mapping[str, Sequence[Any]]) -> dict[str, Any]:
    """``build_inputs`` overrides for points given column-wise: ``{path: [value per point]}``.

    Values are in the parameter's unit (a number, a year map for a rate by
    year, None for "no deadline"). Category shares are renormalized. A rate
    by year given a number sets one step of the scenario's map
    (:func:`~finmodel.scenario.varying.set_step`: the step starting in
    ``YEAR`` for ``PATH[YEAR]``, else the last step); given a year map, the
    map replaces the scenario's. Each point's map becomes a year map of arrays.
    """
    out: dict[str, Any] = {}
    shares = {}
    maps: dict[str, list[dict]] = {}
    for path, values in columns.items():
        why = check_path(path, scenario.values)
        if why:
            raise ValueError(why)
        p = param_for(path, scenario.values)
        if p.kind == "rate_map":
            base_path, year = split_step(path)
            points = maps.get(base_path) or [dict(scenario[base_path])] * len(values)
            maps[base_path] = [
                dict(v) if isinstance(v, Mapping) else set_step(m, year, float(v))
                for m, v in zip(points, values, strict=True)
            ]
            continue
        arr = np.array([math.inf if v is None else float(v) for v in values])
        if path.startswith("categories.") and path.endswith(".share"):
            shares[path] = arr
        else:
            out[path] = arr
    for base_path, point_maps in maps.items():
        keys = sorted({k for m in point_maps for k in m})
        # on the union of the years where any map steps, each map's own step function
        out[base_path] = {
            k: np.array([year_map_values(m, np.array([k]))[0] for m in point_maps]) for k in keys
        }
    if shares:
        out.update(category_share_overrides(scenario, shares))
    return out


def evaluate_points(scenario: Scenario, overrides: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """All metrics ``(points, case)`` for the points of ``overrides`` (one vectorized pass)."""
    inp = build_inputs(scenario, overrides)
    lines = evaluate(inp)
    return compute_metrics(inp, lines)


def _base_value(scenario: Scenario, path: str) -> Any:
    base_path, year = split_step(path)
    if year is not None:  # the rate in force in YEAR: the same step function
        return float(year_map_values(scenario[base_path], np.array([year]))[0])
    value = scenario[path]
    return math.inf if value is None and path == "policy.amic.construction_deadline_year" else value


# --------------------------------------------------------------------------- tornado


#: A swing at most this share of the metric is rounding, reported as 0 (:attr:`TornadoBar.swing`).
SWING_NOISE = 1e-12


@dataclass(frozen=True)
class TornadoBar:
    """One parameter of a tornado chart: its low and high values and the metric at each."""

    parameter: str
    low: Any
    high: Any
    at_low: float
    at_high: float

    @property
    def swing(self) -> float:
        """``|at_high - at_low|``; 0 where that is rounding (at most :data:`SWING_NOISE` of the ends:
        a parameter that moves nothing leaves a few units in the last place, which another numpy
        build rounds otherwise, and would otherwise order the tornado's empty bars at random)."""
        swing = abs(self.at_high - self.at_low)
        return 0.0 if swing <= SWING_NOISE * max(abs(self.at_low), abs(self.at_high)) else swing


@dataclass(frozen=True)
class TornadoResult:
    """Tornado bars per metric, sorted by swing (largest first), and the base value of each metric."""

    scenario: Scenario
    metrics: tuple[tuple[str, str], ...]  # (metric, case)
    base: Mapping[tuple[str, str], float]
    bars: Mapping[tuple[str, str], tuple[TornadoBar, ...]]
    notes: tuple[str, ...] = field(default=())

    def frame(self) -> pd.DataFrame:
        """Tidy table: metric, case, parameter, low, high, at_low, at_high, base, swing."""
        rows = []
        for key in self.metrics:
            for b in self.bars[key]:
                rows.append(
                    {
                        "metric": key[0],
                        "case": key[1],
                        "parameter": b.parameter,
                        "low": _text(b.low),
                        "high": _text(b.high),
                        "at_low": b.at_low,
                        "at_high": b.at_high,
                        "base": self.base[key],
                        "swing": b.swing,
                    }
                )
        return pd.DataFrame(rows)


def _text(value: Any) -> Any:
    if isinstance(value, Mapping):
        return "; ".join(f"{k}: {v:g}" for k, v in value.items())
    return value


#: The tornado charts of ``finmodel sensitivity``: delta NPV and the Treasury's ten-year cost.
TORNADO_METRICS = (("npv_usd", "delta"), ("fiscal_cost_window_usd", "with"))


def tornado_metrics(cases: tuple[str, ...], levered: bool = False) -> tuple[tuple[str, str], ...]:
    """The tornado's ``(metric, case)`` keys for a scenario's cases: every case shown.

    :data:`TORNADO_METRICS` always; where a case borrows or has a guarantee
    (``levered``), the value to the program is the change in equity NPV
    (MODEL.md section 13: a guarantee changes the owner's debt service, not
    the project's cash flow), so ``equity_npv_usd`` is added for ``with``;
    then, for each case of ``cases:``, its value against ``without`` and its
    Treasury cost (measured against ``without``, section 15).

    >>> tornado_metrics(("without", "with"))
    (('npv_usd', 'delta'), ('fiscal_cost_window_usd', 'with'))
    >>> tornado_metrics(("without", "with", "both"), levered=True)[2:]
    (('equity_npv_usd', 'delta'), ('equity_npv_usd', 'delta.both'), ('fiscal_cost_window_usd', 'both'))
    """
    value = "equity_npv_usd" if levered else "npv_usd"
    keys = list(TORNADO_METRICS)
    if levered:
        keys.append((value, "delta"))
    for case in cases:
        if case not in CASES:
            keys += [(value, f"delta.{case}"), ("fiscal_cost_window_usd", case)]
    return tuple(keys)


#: Parameters of the tornado chart when a scenario has no ``sensitivity:`` block,
#: each moved to (1 - spread) and (1 + spread) times its value (a year map: every
#: year's value), within its allowed range; ``{capacity}`` is the capacity category.
DEFAULT_SENSITIVITY: tuple[str, ...] = (
    "program.commitment_usd",
    "program.capacity_gw",
    "operations.revenue_usd_per_gw_year",
    "operations.power_price_usd_per_mwh",
    "operations.utilization",
    "operations.om_rate",
    "categories.{capacity}.life_years",
    "policy.amic.rate",
    "tax.corporate_rate",
    "tax.bonus_depreciation",
    "finance.discount_rate",
)
DEFAULT_SENSITIVITY_SPREAD = 0.20
#: Added to :data:`DEFAULT_SENSITIVITY` where the scenario or one of its cases borrows
#: (``finance.debt.share`` above 0) or has a loan guarantee (MODEL.md sections 13-14).
DEFAULT_SENSITIVITY_DEBT: tuple[str, ...] = ("finance.debt.share", "finance.debt.rate")
DEFAULT_SENSITIVITY_GUARANTEE: tuple[str, ...] = (
    "policy.loan_guarantee.guaranteed_share",
    "policy.loan_guarantee.rate_reduction",
    "policy.loan_guarantee.default_probability",
)


def sensitivity_ranges(scenario: Scenario) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Low and high value of each tornado parameter, and notes.

    From the ``sensitivity:`` block when present; otherwise
    :data:`DEFAULT_SENSITIVITY` (with :data:`DEFAULT_SENSITIVITY_DEBT` and
    :data:`DEFAULT_SENSITIVITY_GUARANTEE` where a case borrows or has a
    guarantee) at -/+ :data:`DEFAULT_SENSITIVITY_SPREAD` of the scenario's
    values, clipped to each key's allowed range (parameters whose value is 0
    are left out). A year map moves every year. A key the scenario leaves
    unset and its cases write (a guarantee's terms) moves from the cases'
    value, which applies to every case that has the key's block.
    """
    block = scenario.extras.get("sensitivity")
    if block is not None:
        return {p: (d["low"], d["high"]) for p, d in block.items()}, []
    spread = DEFAULT_SENSITIVITY_SPREAD
    capacity = scenario["program.capacity_category"]
    ranges: dict[str, tuple[Any, Any]] = {}
    skipped = []
    each = (scenario, *scenario.case_scenarios.values())
    templates = DEFAULT_SENSITIVITY
    if any(float(c["finance.debt.share"]) > 0 or c.has_loan_guarantee for c in each):
        templates += DEFAULT_SENSITIVITY_DEBT
    if any(c.has_loan_guarantee for c in each):
        templates += DEFAULT_SENSITIVITY_GUARANTEE
    for template in templates:
        path = template.replace("{capacity}", capacity)
        p = param_for(path, scenario.values)
        if p is None:
            continue
        base = _written_value(scenario, path)
        if base is None:
            skipped.append(path)
            continue
        lo_hi = []
        for factor in (1.0 - spread, 1.0 + spread):
            if isinstance(base, Mapping):
                lo_hi.append({y: _clip(p, v * factor) for y, v in base.items()})
            else:
                lo_hi.append(_clip(p, float(base) * factor))
        if lo_hi[0] == lo_hi[1]:
            skipped.append(path)
            continue
        ranges[path] = (lo_hi[0], lo_hi[1])
    note = [
        f"No sensitivity: block: each parameter at {1 - spread:g}x and {1 + spread:g}x its value "
        "(a rate by year: every year), within its allowed range."
    ]
    if skipped:
        note.append("Left out (value 0 or unset): " + ", ".join(skipped) + ".")
    return ranges, note


def _written_value(scenario: Scenario, path: str) -> Any:
    """The scenario's value of ``path``, or, where only its cases write it, the value they
    write (None, so left out, where they write different values)."""
    if not scenario.provenance[path].is_default or not scenario.case_scenarios:
        return scenario[path]
    written = {
        repr(c[path]): c[path]
        for c in scenario.case_scenarios.values()
        if not c.provenance[path].is_default
        and (not path.startswith("policy.loan_guarantee.") or c.has_loan_guarantee)
    }
    if not written:
        return scenario[path]
    return next(iter(written.values())) if len(written) == 1 else None


def _clip(p: Param, x: float) -> float:
    """``x`` moved into the allowed range of ``p`` (just below an open upper bound)."""
    lo = -math.inf if p.lo is None else p.lo
    hi = math.inf if p.hi is None else p.hi
    if p.hi_open and x >= hi:
        x = math.nextafter(hi, -math.inf)
    return float(min(max(x, lo), hi))


def tornado(
    scenario: Scenario,
    ranges: Mapping[str, tuple[Any, Any]] | None = None,
    metrics: Sequence[tuple[str, str]] | None = None,
) -> TornadoResult:
    """Each parameter at its low and at its high value, all others as in the scenario.

    ``ranges`` maps a parameter path to ``(low, high)`` (default: the
    scenario's ``sensitivity:`` block, or the documented default set, see
    :func:`sensitivity_ranges`). ``metrics`` are ``(metric, case)`` keys
    (default: :func:`tornado_metrics`, every case of the scenario). One
    vectorized pass evaluates the ``2 k + 1`` variants, every case at once.
    """
    notes: list[str] = []
    if ranges is None:
        ranges, notes = sensitivity_ranges(scenario)
    paths = list(ranges)
    n = 2 * len(paths) + 1  # the last point is the scenario itself
    columns: dict[str, list[Any]] = {}
    for i, path in enumerate(paths):
        col = [_base_value(scenario, path)] * n
        col[2 * i], col[2 * i + 1] = ranges[path]
        columns[path] = col
    if any(p.startswith("categories.") and p.endswith(".share") for p in paths):
        notes.append("A changed category share is followed by dividing every share by their sum.")
    if any(
        param_for(p, scenario.values).kind == "rate_map" and not isinstance(ranges[p][0], Mapping)
        for p in paths
    ):
        notes.append(RATE_MAP_NOTE)
    values = (
        evaluate_points(scenario, point_overrides(scenario, columns))
        if paths
        else evaluate_points(scenario, {})
    )
    cases = scenario_cases(scenario)
    if metrics is None:
        metrics = tornado_metrics(cases, levered="equity_npv_usd" in values)
    base, bars = {}, {}
    for key in metrics:
        # a metric that none of the parameters moves has no points axis: the same value at each point
        v = np.broadcast_to(metric_values(values, *key, cases), (n,))
        base[key] = float(v[-1])
        rows = [
            TornadoBar(p, ranges[p][0], ranges[p][1], float(v[2 * i]), float(v[2 * i + 1]))
            for i, p in enumerate(paths)
        ]
        bars[key] = tuple(sorted(rows, key=lambda b: -(b.swing if math.isfinite(b.swing) else -1)))
    return TornadoResult(scenario=scenario, metrics=tuple(metrics), base=base, bars=bars, notes=tuple(notes))


# --------------------------------------------------------------------------- sweep


@dataclass(frozen=True)
class SweepResult:
    """A metric over a grid of one or two parameters: ``values[j, i]`` at ``y[j]``, ``x[i]``."""

    scenario: Scenario
    metric: str
    case: str
    x_path: str
    x_values: tuple
    y_path: str | None
    y_values: tuple
    values: np.ndarray  # (len(y) or 1, len(x))
    notes: tuple[str, ...] = field(default=())

    def frame(self) -> pd.DataFrame:
        """Tidy table: one row per cell, the parameter values and the metric."""
        rows = []
        for j, yv in enumerate(self.y_values or (None,)):
            for i, xv in enumerate(self.x_values):
                row = {self.x_path: _text(xv)}
                if self.y_path:
                    row[self.y_path] = _text(yv)
                row[f"{self.metric}.{self.case}"] = float(self.values[j, i])
                rows.append(row)
        return pd.DataFrame(rows)


def sweep(
    scenario: Scenario,
    x: tuple[str, Sequence[Any]],
    y: tuple[str, Sequence[Any]] | None = None,
    metric: str = "npv_usd",
    case: str = "delta",
) -> SweepResult:
    """``metric`` at every point of the grid ``x`` (times ``y``), in one vectorized pass.

    ``x`` and ``y`` are ``(path, values)``; values in the parameter's unit.
    """
    x_path, xs = x[0], list(x[1])
    y_path, ys = (y[0], list(y[1])) if y is not None else (None, [])
    if y_path is not None and y_path == x_path:
        raise ValueError(f"--x and --y name the same parameter {x_path}")
    ny = len(ys) or 1
    columns = {x_path: xs * ny}
    if y_path is not None:
        columns[y_path] = [v for v in ys for _ in xs]
    values = evaluate_points(scenario, point_overrides(scenario, columns))
    # a metric the swept parameters do not move has no points axis: the same value in every cell
    grid = np.broadcast_to(metric_values(values, metric, case, scenario_cases(scenario)), (ny * len(xs),))
    grid = grid.reshape(ny, len(xs))
    notes = []
    if any(p and p.startswith("categories.") and p.endswith(".share") for p in (x_path, y_path)):
        notes.append("A changed category share is followed by dividing every share by their sum.")
    if any(
        p and param_for(p, scenario.values).kind == "rate_map" and not isinstance(v[0], Mapping)
        for p, v in ((x_path, xs), (y_path, ys or [{}]))
    ):
        notes.append(RATE_MAP_NOTE)
    return SweepResult(scenario, metric, case, x_path, tuple(xs), y_path, tuple(ys), grid, tuple(notes))


# --------------------------------------------------------------------------- solve


@dataclass(frozen=True)
class SolveResult:
    """The value of ``parameter`` at which ``metric`` (for ``case``) equals ``target``."""

    scenario: Scenario
    parameter: str
    metric: str
    case: str
    target: float
    value: float
    achieved: float
    base_value: float
    base_metric: float
    bracket: tuple[float, float]
    crossings: int
    #: The search as asked (``bracket`` or None, ``points``, ``rtol``, ``max_iter``): what
    #: ``run.json`` records so that ``finmodel run --check`` can solve again.
    asked: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario.name,
            "parameter": self.parameter,
            "metric": self.metric,
            "case": self.case,
            "target": self.target,
            "value": self.value,
            "achieved": self.achieved,
            "scenario_value": self.base_value,
            "scenario_metric": self.base_metric,
            "bracket": list(self.bracket),
            "crossings": self.crossings,
        }


def _bracket(p, base: float) -> tuple[float, float, bool]:
    """The search interval from the parameter's allowed range; True if it may be widened."""
    lo = p.lo if p.lo is not None else -max(4.0 * abs(base), 1.0)
    hi = p.hi if p.hi is not None else max(4.0 * abs(base), 1.0)
    if p.lo_open:
        lo = lo + 1e-9 * max(1.0, abs(lo))
    if p.hi_open:
        hi = hi - 1e-9 * max(1.0, abs(hi))
    return float(lo), float(hi), p.hi is None or p.lo is None


def solve(
    scenario: Scenario,
    parameter: str,
    metric: str,
    target: float,
    case: str = "with",
    bracket: tuple[float, float] | None = None,
    points: int = 65,
    rtol: float = 1e-13,
    max_iter: int = 60,
) -> SolveResult:
    """Value of ``parameter`` at which ``metric`` for ``case`` equals ``target``.

    A bracketed, vectorized root search: the metric is evaluated at
    ``points`` values across the bracket in one pass; of the intervals where
    ``metric - target`` changes sign, the one nearest the scenario's own
    value is kept and searched again the same way (each pass shrinks it
    ``points - 1`` times) until it is ``rtol`` wide. Works for metrics that
    are not smooth (losses carried forward, payback years). The bracket is
    the parameter's allowed range (a money value without an upper limit:
    up to 4 times its value, widened 4 times at a time up to 4**8).

    Raises
    ------
    SolveError
        If the metric does not cross the target in the bracket.
    """
    p, base = _continuous_parameter(scenario, parameter)

    def f(xs: np.ndarray) -> np.ndarray:
        values = evaluate_points(scenario, point_overrides(scenario, {parameter: list(xs)}))
        return (
            np.broadcast_to(metric_values(values, metric, case, scenario_cases(scenario)), xs.shape) - target
        )

    base_metric = float(metric_values(evaluate_points(scenario, {}), metric, case, scenario_cases(scenario)))
    if bracket is not None:
        lo, hi, widen = float(bracket[0]), float(bracket[1]), False
    else:
        lo, hi, widen = _bracket(p, base)
    xs, g, cells, lo, hi = _scan(f, p, lo, hi, widen, points)
    if cells.size == 0:
        raise SolveError(_no_root_text(metric, case, target, parameter, lo, hi, g[np.isfinite(g)] + target))
    mid = 0.5 * (xs[cells] + xs[cells + 1])
    k = int(cells[np.argmin(np.abs(mid - base))])
    value = _narrow(f, (xs[k], xs[k + 1]), (g[k], g[k + 1]), points, rtol, max_iter)
    achieved = float(f(np.array([value]))[0] + target)
    return SolveResult(
        scenario,
        parameter,
        metric,
        case,
        float(target),
        float(value),
        achieved,
        base,
        base_metric,
        (float(lo), float(hi)),
        int(cells.size),
        {
            "bracket": None if bracket is None else [float(bracket[0]), float(bracket[1])],
            "points": int(points),
            "rtol": float(rtol),
            "max_iter": int(max_iter),
        },
    )


def _continuous_parameter(scenario: Scenario, parameter: str):
    """The declaration of a parameter ``solve`` can move, and its value in the scenario.

    For a rate by year: its last step's rate (``PATH[YEAR]``: the rate in force in
    ``YEAR``), the step that ``solve`` moves.
    """
    why = check_path(parameter, scenario.values)
    if why:
        raise ValueError(why)
    p = param_for(parameter, scenario.values)
    if p.kind not in ("money", "rate", "number", "rate_map"):
        raise ValueError(
            f"{parameter} is a whole number of years; "
            "solve takes a continuous parameter (money, rate or number)"
        )
    if p.kind != "rate_map":
        return p, float(scenario[parameter])
    base_path, year = split_step(parameter)
    base_map = scenario[base_path]
    if year is not None:
        return p, float(year_map_values(base_map, np.array([year]))[0])
    return p, float(base_map[max(base_map)])


def _scan(f, p, lo: float, hi: float, widen: bool, points: int):
    """``f`` at ``points`` values across ``[lo, hi]``: ``(xs, g, cells, lo, hi)``.

    While ``f`` changes sign nowhere and ``widen`` is set, an unbounded end is
    moved 4 times further, up to 8 times.
    """
    for _ in range(9):
        xs = np.linspace(lo, hi, points)
        g = f(xs)
        cells = _sign_changes(g)
        if cells.size or not widen:
            break
        if p.hi is None:
            hi = hi * 4.0
        if p.lo is None:
            lo = lo * 4.0
    return xs, g, cells, lo, hi


def _narrow(f, bracket: tuple[float, float], signs: tuple[float, float], points, rtol, max_iter) -> float:
    """The root of ``f`` in ``bracket``, where ``f`` takes the values ``signs``.

    Each pass evaluates ``points`` values and keeps the first cell that
    changes sign, until it is ``rtol`` wide; then a linear interpolation
    inside it.
    """
    a, b = bracket
    ga, gb = signs
    for _ in range(max_iter):
        if ga == 0:
            b, gb = a, ga
            break
        if gb == 0:
            a, ga = b, gb
            break
        if abs(b - a) <= rtol * max(abs(a), abs(b), 1e-300):
            break
        xs = np.linspace(a, b, points)
        xs[0], xs[-1] = a, b
        g = f(xs)
        g[0], g[-1] = ga, gb
        cells = _sign_changes(g)
        if cells.size == 0:  # rounding: keep the last bracket
            break
        k = int(cells[0])
        a, b, ga, gb = xs[k], xs[k + 1], g[k], g[k + 1]
    value = a if ga == 0 else b if gb == 0 else a - ga * (b - a) / (gb - ga)
    if not min(a, b) <= value <= max(a, b):
        value = 0.5 * (a + b)
    return value


def _sign_changes(g: np.ndarray) -> np.ndarray:
    """Indices ``i`` where ``g[i]`` and ``g[i + 1]`` differ in sign or ``g[i + 1]`` is 0.

    Finite values only.
    """
    a, b = g[:-1], g[1:]
    ok = np.isfinite(a) & np.isfinite(b)
    return np.flatnonzero(
        ok & ((np.sign(a) * np.sign(b) < 0) | ((b == 0) & (a != 0)) | ((a == 0) & (np.arange(a.size) == 0)))
    )
