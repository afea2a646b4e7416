"""``run(scenario) -> Results``: the named arrays of a run and their pandas views."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from finmodel._version import __version__
from finmodel.core import format as fmt
from finmodel.engine.evaluate import evaluate
from finmodel.engine.financing import debt_cover
from finmodel.engine.inputs import Inputs, build_inputs
from finmodel.engine.measures import compute_metrics
from finmodel.engine.names import ALL_CASE_METRICS, ALL_LINES
from finmodel.scenario import Scenario
from finmodel.scenario.units import format_usd

# --------------------------------------------------------------------------- results


@dataclass(frozen=True, eq=False)
class Results:
    """The outcome of :func:`run`: named arrays plus pandas views.

    ``lines[name]`` is ``(case, category, year)`` or ``(case, year)``;
    ``metrics[name]`` is ``(case,)``. Money in USD.
    """

    scenario: Scenario
    inputs: Inputs
    lines: Mapping[str, np.ndarray]
    metrics: Mapping[str, np.ndarray]
    finmodel_version: str = field(default=__version__)

    @property
    def cases(self) -> tuple[str, ...]:
        return self.inputs.cases

    @property
    def years(self) -> np.ndarray:
        return self.inputs.years

    def metric(self, name: str, case: str) -> float | None:
        """One metric as a Python float, None where undefined (NaN)."""
        value = float(self.metrics[name][self.cases.index(case)])
        if np.isnan(value):
            return None
        return int(round(value)) if name == "payback_year" else value

    def delta(self, name: str) -> float | None:
        a, b = self.metric(name, "with"), self.metric(name, "without")
        return None if a is None or b is None else a - b

    @property
    def fiscal_window(self) -> tuple[int, int]:
        start, n = self.inputs.fiscal_window
        return start, start + n - 1

    def fiscal(self, case: str = "with") -> dict[str, Any]:
        """The Treasury's cost of ``case`` against ``without`` (MODEL.md section 10).

        ``window`` gives the years actually summed (the budget window clipped
        to the horizon); ``credit_paid_after_end_usd`` the credit earned in the
        case but paid after ``end_year`` (in no cash flow or cost). [USD]
        """
        k = self.cases.index(case)
        return {
            "fiscal_cost_window_usd": float(self.metrics["fiscal_cost_window_usd"][k]),
            "fiscal_cost_pv_usd": float(self.metrics["fiscal_cost_pv_usd"][k]),
            "window": list(self.fiscal_window),
            "credit_paid_after_end_usd": float(self.metrics["credit_paid_after_end_usd"][k]),
        }

    @property
    def notes(self) -> tuple[str, ...]:
        """What a reader must know about this run's figures (MODEL.md sections 4 and 10)."""
        return run_notes(self.scenario, self.inputs, self.metrics, self.lines)

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The per-case metrics of this run: section 9's, then those of debt, guarantee and offset."""
        return tuple(m for m in ALL_CASE_METRICS if m in self.metrics)

    def summary(self, *, numeric: bool = False) -> pd.DataFrame:
        """Metrics table: rows are metrics (by name), columns the cases and ``delta`` (with - without).

        As text (the default), each figure is written by :func:`finmodel.core.format.metric` in
        its metric's unit, as ``summary.md`` writes it: money in $B (``$48.0B``, a change
        ``+$195.7B``), rates in percent (a change in percentage points), payback as a calendar
        year (``2033``, a change ``-7 years``), a payback not reached by the horizon's last year
        as ``none by 2040`` and any other undefined figure as ``n/a``.

        ``numeric=True`` gives the numbers instead: USD, fractions, payback years as Python
        integers and NaN where undefined (object columns, so a year stays an integer).

        Examples
        --------
        >>> from finmodel.scenario import scenario_from_dict
        >>> r = run(scenario_from_dict({
        ...     "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
        ...     "categories": {"servers": {"share": 1, "macrs_years": 5}},
        ...     "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
        ...     "analysis": {"end_year": 2036}}))
        >>> r.summary().loc[["irr", "payback_year"]].to_numpy().tolist()  # no revenue: no payback
        [['n/a', '-59.5%', 'n/a'], ['none by 2036', 'none by 2036', 'n/a']]
        >>> r.summary(numeric=True).loc["credit_earned_usd"].tolist()
        [0.0, 35000000.0, 35000000.0]
        """
        columns = [*self.cases, "delta"]
        rows = {m: [self.metric(m, c) for c in self.cases] + [self.delta(m)] for m in self.metric_names}
        if numeric:
            rows = {m: [np.nan if v is None else v for v in values] for m, values in rows.items()}
        else:
            rows = {m: self._summary_texts(m, values) for m, values in rows.items()}
        table = pd.DataFrame.from_dict(rows, orient="index", columns=columns, dtype=object)
        table.index.name = "metric"
        return table

    def _summary_texts(self, name: str, values: list[Any]) -> list[str]:
        """One row of :meth:`summary` as text: each case's value, then the change (the last value)."""
        unit = ALL_CASE_METRICS[name]
        *cases, change = values
        cells = [fmt.metric(v, unit) for v in cases]
        if name == "payback_year":
            end = int(self.years[-1])
            cells = [f"none by {end}" if v is None else fmt.year(v) for v in cases]
        return [*cells, fmt.metric(change, unit, delta=True)]

    def to_dict(self) -> dict[str, Any]:
        """The ``summary.json`` structure of MODEL.md section 12."""
        return {
            "scenario": self.scenario.name,
            "finmodel_version": self.finmodel_version,
            "cases": {c: {m: self.metric(m, c) for m in self.metric_names} for c in self.cases},
            "delta": {m: self.delta(m) for m in self.metric_names},
            "fiscal": self.fiscal("with"),
            **(
                {"fiscal_by_case": {c: self.fiscal(c) for c in self.cases[1:]}} if len(self.cases) > 2 else {}
            ),
            "notes": list(self.notes),
        }

    @property
    def cashflows(self) -> pd.DataFrame:
        """Tidy yearly lines: ``case, year, line, category, value_usd``.

        Per-category lines have one row per category (no total row, so a sum
        never double counts); the other lines have an empty category.
        """
        frames = []
        years = self.years
        cats = np.array(self.inputs.categories, dtype=object)
        for line, per_cat in ALL_LINES.items():
            if line not in self.lines:
                continue
            values = np.asarray(self.lines[line])
            for k, case in enumerate(self.cases):
                if per_cat:
                    block = values[k]
                    frames.append(
                        pd.DataFrame(
                            {
                                "case": case,
                                "year": np.tile(years, len(cats)),
                                "line": line,
                                "category": np.repeat(cats, len(years)),
                                "value_usd": block.reshape(-1),
                            }
                        )
                    )
                else:
                    frames.append(
                        pd.DataFrame(
                            {
                                "case": case,
                                "year": years,
                                "line": line,
                                "category": "",
                                "value_usd": values[k],
                            }
                        )
                    )
        return pd.concat(frames, ignore_index=True)

    def yearly(self, case: str = "with") -> pd.DataFrame:
        """Wide table of one case: rows are lines (category lines summed), columns years. [USD]"""
        k = self.cases.index(case)
        data = {}
        for line, per_cat in ALL_LINES.items():
            if line not in self.lines:
                continue
            values = np.asarray(self.lines[line])[k]
            data[line] = values.sum(axis=0) if per_cat else values
        table = pd.DataFrame(data, index=self.years).T
        table.columns.name = "year"
        return table

    def by_category(self, line: str, case: str = "with") -> pd.DataFrame:
        """One per-category line of one case: rows are categories, columns years. [USD]"""
        k = self.cases.index(case)
        table = pd.DataFrame(
            np.asarray(self.lines[line])[k], index=list(self.inputs.categories), columns=self.years
        )
        table.index.name = "category"
        return table


#: The IRR metrics, in words, and the yearly line (its name and in words) each is the rate of
#: return of (MODEL.md sections 9, 13).
IRR_FLOWS = {
    "irr": ("IRR", "cash_flow", "cash flow"),
    "equity_irr": ("equity IRR", "equity_cash_flow", "equity cash flow"),
}


def run_notes(
    scenario: Scenario,
    inp: Inputs,
    metrics: Mapping[str, np.ndarray],
    lines: Mapping[str, np.ndarray] | None = None,
) -> tuple[str, ...]:
    """Notes on a single run: land listed as eligible, a clipped budget window, credit paid late,
    and an IRR that is one of several rates of return of its flows."""
    notes = []
    listed = set(scenario["policy.amic.eligible"])
    land = [
        c
        for c, g in zip(inp.categories, inp.groups, strict=True)
        if scenario[f"categories.{c}.macrs_years"] is None and (c in listed or g in listed)
    ]
    if land:
        names = ", ".join(f"'{c}'" for c in land)
        notes.append(
            f"{'category' if len(land) == 1 else 'categories'} {names} (land, macrs_years: null) "
            f"listed in policy.amic.eligible {'earns' if len(land) == 1 else 'earn'} no credit: "
            "land is never qualified property"
        )
    (start, n), (asked_start, asked_n) = inp.fiscal_window, inp.fiscal_window_requested
    if (start, n) != (asked_start, asked_n):
        notes.append(
            f"the budget window {asked_start}-{asked_start + asked_n - 1} is clipped to the horizon "
            f"{int(inp.years[0])}-{inp.end_year}: the Treasury's cost is summed over {start}-{start + n - 1}"
        )
    for k, case in enumerate(inp.cases):
        late = float(np.asarray(metrics["credit_paid_after_end_usd"])[..., k].max())
        if late > 0:
            lag = int(np.asarray(inp.payment_lag_years)[..., k].max())
            years = f"{lag} year{'s' if lag != 1 else ''}"
            notes.append(
                f"{format_usd(late, digits=2)} of credit earned in the last {years} "
                f"of case '{case}' is paid after {inp.end_year}: counted in credit earned, not in the "
                "cash flows, the PV of credit cash or the Treasury's cost"
            )
    if lines is not None:
        notes += _several_rates(inp, metrics, lines)
        notes += _debt_not_covered(inp, metrics, lines)
    return tuple(notes)


def _years_text(years) -> str:
    """Years as runs.

    >>> _years_text([2034, 2035, 2036, 2039]), _years_text([2030]), _years_text([2030, 2032, 2033, 2035])
    ('2034-2036 and 2039', '2030', '2030, 2032-2033 and 2035')
    """
    runs, start = [], None
    for i, y in enumerate(years):
        start = y if start is None else start
        if i + 1 == len(years) or years[i + 1] != y + 1:
            runs.append(f"{start}-{y}" if y != start else f"{y}")
            start = None
    return ", ".join(runs[:-1]) + (" and " if len(runs) > 1 else "") + runs[-1]


def _debt_not_covered(inp: Inputs, metrics: Mapping[str, np.ndarray], lines) -> list[str]:
    """A note where the cash from operations does not cover the debt service (``min_dscr`` below 1,
    MODEL.md section 13): the years, and whether the loans outlive the program's revenue."""
    if "min_dscr" not in metrics or "interest" not in lines or np.ndim(lines["interest"]) != 2:
        return []
    years = np.asarray(inp.years)
    cover, service = (np.asarray(x) for x in debt_cover(lines))
    short = (service > 0) & (cover < service)
    lowest = np.asarray(metrics["min_dscr"])
    cases = [k for k in range(len(inp.cases)) if short[k].any() and np.isfinite(lowest[..., k])]
    if not cases:
        return []
    order = sorted(cases, key=lambda k: float(lowest[..., k]))
    ends = [fmt.metric(float(lowest[..., k]), "ratio") for k in (order[0], order[-1])]
    covers = ends[0] if ends[0] == ends[1] else f"{ends[1]} to {ends[0]}"
    below = [int(y) for y in years[short[cases].any(axis=0)]]
    every = "every case" if len(cases) == len(inp.cases) else f"{len(cases)} of {len(inp.cases)} cases"
    text = (
        f"the cash from operations falls short of the debt service in {_years_text(below)} "
        f"({every}; lowest cover {covers})"
    )
    revenue = np.asarray(lines["revenue"])[cases].max(axis=0)
    earning = years[revenue > 0]
    if earning.size and below[-1] > earning[-1]:
        tenor = sorted({int(np.asarray(inp.debt_tenor_years)[..., k]) for k in cases})
        text += f": revenue ends after {int(earning[-1])}, the {'/'.join(map(str, tenor))}-year loans later"
    text += "; the owner pays from other cash (a project lender would lend less or for shorter)"
    return [text]


def _several_rates(inp: Inputs, metrics: Mapping[str, np.ndarray], lines) -> list[str]:
    """A note for an IRR that is, in some case, one of several rates at which its flows' NPV is
    zero: flows that borrow, then repay, have more than one, and the rule picks the one closest to 0."""
    from finmodel.core.metrics import irr_rates

    notes = []
    for name, (what, flow_name, line) in IRR_FLOWS.items():
        if name not in metrics or flow_name not in lines or np.ndim(lines[flow_name]) != 2:
            continue
        several = []
        for k, case in enumerate(inp.cases):
            value = float(np.asarray(metrics[name])[..., k])
            rates = irr_rates(np.asarray(lines[flow_name])[k])
            if len(rates) > 1 and np.isfinite(value):
                several.append(f"'{case}' {', '.join(fmt.rate(r) for r in rates)}")
        if several:
            notes.append(
                f"the {line} changes sign more than once, so its NPV is zero at several rates "
                f"({'; '.join(several)}): the {what} is the one closest to zero (MODEL.md section 9) "
                f"and can fall when the NPV rises; read the NPV{' of the equity' * (name == 'equity_irr')}"
            )
    return notes


def run(scenario: Scenario, overrides: Mapping[str, Any] | None = None) -> Results:
    """Evaluate a scenario in both cases and compute every metric.

    Examples
    --------
    >>> from finmodel.scenario import scenario_from_dict
    >>> s = scenario_from_dict({
    ...     "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
    ...     "categories": {"servers": {"share": 1, "macrs_years": 5}},
    ...     "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
    ...     "analysis": {"end_year": 2036}})
    >>> r = run(s)
    >>> r.metric("credit_earned_usd", "with") / 1e6  # 35% of $100M placed in service in 2026
    35.0
    """
    inp = build_inputs(scenario, overrides)
    lines = evaluate(inp)
    metrics = compute_metrics(inp, lines)
    return Results(scenario=scenario, inputs=inp, lines=lines, metrics=metrics)
