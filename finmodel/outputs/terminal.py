"""Plain-text tables for the terminal: what ``run``, ``montecarlo``, ``sensitivity`` and ``sweep`` print.

Pure: each function returns text and the CLI prints it. Every figure goes
through :mod:`finmodel.core.format` (text convention: a hyphen-minus), and
the run table has the very rows of ``summary.md`` (:func:`finmodel.outputs.memo.summary_rows`).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from finmodel.analysis.metric_names import METRIC_UNITS
from finmodel.analysis.provenance import value_text
from finmodel.analysis.sensitivity import case_text
from finmodel.core import format as fmt
from finmodel.engine.model import METRIC_LABELS, Results
from finmodel.engine.names import CASES, is_delta
from finmodel.outputs import memo

__all__ = [
    "text_table",
    "summary_table",
    "montecarlo_table",
    "montecarlo_text",
    "tornado_text",
    "sweep_text",
    "sources_text",
    "diff_text",
    "check_text",
    "solve_text",
]

#: Differing figures that ``run --check`` lists (the rest are counted).
CHECK_SHOWN = 10


def text_table(rows: Sequence[Sequence[str]], align: str, rule: bool = True) -> str:
    """Columns two spaces apart, ``align`` a letter per column (``l`` or ``r``), a rule under the header.

    >>> print(text_table([("", "value"), ("NPV", "$48.0B")], "lr"))
          value
    -----------
    NPV  $48.0B
    """
    widths = [max(len(r[i]) for r in rows) for i in range(len(align))]
    lines = []
    for k, r in enumerate(rows):
        cells = [c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(r, widths, align, strict=True)]
        lines.append("  ".join(cells).rstrip())
        if k == 0 and rule:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def summary_table(results: Results) -> str:
    """The memo table of ``summary.md`` as plain text: metrics by row, without / with / change."""
    return text_table(memo.summary_rows(results), memo.summary_align(results))


def montecarlo_table(result) -> str:
    """P5 / P50 / P95 / mean of every metric, per case, delta and the Treasury's cost.

    A mean that is not finite (a payback never reached in some draws) reads
    ``n/a``; the share of draws where a metric is undefined follows its mean.
    A case of ``cases:`` whose figures print as those of 'without', 'with'
    or 'delta' (a guarantee leaves the project's NPV as it was) reads
    ``= without`` (or ``= with``, ``= delta``).
    """
    from finmodel.analysis.montecarlo import QUANTILES

    table = result.summary()
    rows = [("", "case") + tuple(f"P{q}" for q in QUANTILES) + ("mean",)]
    shown = table[table["undefined"] < 1.0]  # a metric never defined for a case (others' gain in 'without')
    first = {name: case for name, case in reversed(list(shown.index))}
    named = set(result.cases[2:]) | {f"delta.{c}" for c in result.cases[2:]}
    seen: dict[tuple, str] = {}  # a metric's figures as printed -> the first row that printed them
    for (name, case), row in shown.iterrows():
        delta = is_delta(case)
        cells = [memo.stat_text(name, row[f"p{q}"], delta) for q in QUANTILES]
        mean = row["mean"]
        cells.append(memo.stat_text(name, mean, delta) if np.isfinite(mean) else fmt.NA)
        if row["undefined"] > 0 and name != "payback_year":
            cells[-1] += f" ({fmt.rate(row['undefined'])} undefined)"
        label = METRIC_LABELS.get(name, name) if first[name] == case else ""
        key = (name, delta, *cells)
        if case in named and seen.get(key) in CASES + ("delta",):  # prints the figures of a base row
            cells = [f"= {seen[key]}"] + [""] * (len(cells) - 1)
        seen.setdefault(key, case)
        rows.append((label, case, *cells))
    return text_table(rows, "ll" + "r" * (len(rows[0]) - 2))


def montecarlo_text(result) -> str:
    """``finmodel montecarlo``: the title, draws and seed, :func:`montecarlo_table`, then the shares
    of draws in which the credit helps (``P(delta NPV > 0)`` ...), as probabilities."""
    p = result.probabilities()
    shares = (
        f"P(delta NPV > 0) = {p['delta_npv_positive']:.3f}; "
        f"P(NPV with > 0 and NPV without < 0) = {p['credit_turns_npv_positive']:.3f}; "
        f"P(NPV without > 0) = {p['npv_without_positive']:.3f}; "
        f"P(NPV with > 0) = {p['npv_with_positive']:.3f}"
    )
    if "delta_equity_npv_positive" in p:
        shares += f"; P(delta equity NPV > 0) = {p['delta_equity_npv_positive']:.3f}"
    for case in result.cases[2:]:  # each named case against without
        shares += (
            f"\n{case}: P(delta NPV > 0) = {p[f'delta_npv_positive.{case}']:.3f}; "
            f"P(NPV > 0) = {p[f'npv_positive.{case}']:.3f}"
        )
        if f"delta_equity_npv_positive.{case}" in p:
            shares += f"; P(delta equity NPV > 0) = {p[f'delta_equity_npv_positive.{case}']:.3f}"
    head = f"{result.scenario.title}\n{result.draws:,} draws, seed {result.seed}\n"
    return f"{head}\n{montecarlo_table(result)}\n\n{shares}"


def tornado_text(result) -> str:
    """Per tornado metric: the value as written, then per parameter its low and high and the metric there."""
    from finmodel.analysis.sensitivity import METRIC_LABELS as SWEEP_LABELS
    from finmodel.analysis.uncertainty import param_label

    blocks = []
    for key in result.metrics:
        name, case = key
        unit, delta = METRIC_UNITS.get(name, "-"), is_delta(case)
        base = fmt.metric(result.base[key], unit, delta=delta)
        baseline = memo.baseline_text(result.scenario)
        lines = [f"{SWEEP_LABELS.get(name, name)} ({case_text(case)}); {baseline}: {base}"]
        for b in result.bars[key]:
            lo, hi = (value_text(b.parameter, v, label=True) for v in (b.low, b.high))
            at_lo, at_hi = (fmt.metric(v, unit, delta=delta) for v in (b.at_low, b.at_high))
            name = param_label(b.parameter)
            lines.append(f"  {name:<28} {lo:>16} -> {at_lo:>10}   {hi:>16} -> {at_hi:>10}")
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)


def sweep_text(result) -> str:
    """The swept metric by value of ``x`` (columns) and of ``y`` (rows), right aligned."""
    x_values = [value_text(result.x_path, v, label=True) for v in result.x_values]
    rows = [["", *x_values]]
    y_values = result.y_values if result.y_path else [None]
    unit = METRIC_UNITS.get(result.metric, "-")
    for j, yv in enumerate(y_values):
        head = value_text(result.y_path, yv, label=True) if result.y_path else ""
        rows.append([head] + [fmt.metric(v, unit, delta=is_delta(result.case)) for v in result.values[j]])
    return text_table(rows, "r" * len(rows[0]), rule=False)


def sources_text(scenario, table) -> str:
    """``finmodel sources``: every parameter (:func:`finmodel.analysis.provenance.parameters` rows),
    the count set in the files, the citations of the sources used, and what is set without a source."""
    rows = [(r.parameter, r.text, r.unit, r.status, r.where, r.sources) for r in table.itertuples()]
    out = [f"{scenario.title} ({' -> '.join(scenario.files)})", ""]
    out.append(text_table([("parameter", "value", "unit", "set", "where", "source"), *rows], "l" * 6))
    n_set = int((table["status"] == "set").sum())
    defaults = len(table) - n_set
    out += [
        "",
        f"{n_set} of {len(table)} parameters set in the files, {defaults} defaults (MODEL.md section 11)",
    ]
    used = list(dict.fromkeys(i for ids in table["sources"] for i in ids.split("; ") if i))
    if used:
        out += ["", "Sources:"] + [f"  {sid}: {scenario.sources.get(sid, '')}" for sid in used]
    unsourced = table[(table["status"] == "set") & (table["sources"] == "")]["parameter"].tolist()
    if unsourced:
        out += ["", f"Set without a source: {', '.join(unsourced)}"]
    return "\n".join(out)


def diff_text(a, b, table) -> str:
    """``finmodel diff``: the parameters that differ (:func:`finmodel.analysis.provenance.diff` rows)."""
    rows = [(r.parameter, r.a_text, r.b_text, r.unit, r.a_where, r.b_where) for r in table.itertuples()]
    head = ("parameter", f"A: {a.name}", f"B: {b.name}", "unit", "A set in", "B set in")
    n = len(table)
    return (
        text_table([head, *rows], "l" * 6)
        + f"\n\n{n} parameter{'s' if n != 1 else ''} differ{'s' if n == 1 else ''}"
    )


def check_text(folder, report) -> str:
    """``finmodel run --check``: notes, what was compared, and identical or the first differences."""
    out = [f"note: {note}" for note in report.notes]
    compared = ", ".join(report.compared)
    if report.not_compared:
        out.append(f"not compared (not regenerated by --check): {', '.join(report.not_compared)}")
    settings = f"scenario {report.scenario}, SHA-256 {report.sha256[:12]}"
    if report.kind == "montecarlo":
        settings += f", {report.draws:,} draws, seed {report.seed}"
    if report.identical:
        out.append(f"{folder}: identical: every figure of {compared} reproduced ({settings})")
        return "\n".join(out)
    n = report.n_differences
    figures = f"{n:,} figure{'s' if n != 1 else ''} of {compared}"
    out.append(f"{folder}: DIFFERENT: {figures} differ ({settings}); the first:")
    out += [f"  {diff}" for diff in report.differences[:CHECK_SHOWN]]
    if n > CHECK_SHOWN:
        out.append(f"  ... and {n - CHECK_SHOWN:,} more")
    return "\n".join(out)


def solve_text(result, scenario, target: float) -> str:
    """``finmodel solve``: the value found (exact and as written), the metric there against its
    target, the scenario as written, and a note when the metric crosses the target more than once."""
    unit = METRIC_UNITS.get(result.metric, "-")

    def figure(x):
        return fmt.metric(x, unit, delta=is_delta(result.case))

    param, what = result.parameter, f"{result.metric} ({result.case})"
    as_written = scenario[param] if param in scenario.values else result.base_value  # a step: its rate
    value, written = (value_text(param, v, label=True) for v in (result.value, as_written))
    out = [
        f"{scenario.title}",
        "",
        f"{param} = {result.value:.12g}  ({value})",
        f"{what} = {figure(result.achieved)} [{result.achieved:.12g}]; target {figure(target)}",
        f"{memo.baseline_text(scenario)}: {param} = {written}, {what} = {figure(result.base_metric)}",
    ]
    if result.crossings > 1:
        out.append(
            f"note: the metric crosses the target {result.crossings} times in "
            f"[{result.bracket[0]:.6g}, {result.bracket[1]:.6g}]; "
            "this is the crossing nearest the scenario's value"
        )
    return "\n".join(out)
