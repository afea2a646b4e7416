"""Monte Carlo, tornado and sweep charts.

Each takes the result object of :mod:`finmodel.analysis.montecarlo` or
:mod:`finmodel.analysis.sensitivity` and only selects its arrays
(percentiles are the result's own summaries); see :mod:`finmodel.outputs.charts`.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MultipleLocator

from finmodel.core import format as fmt
from finmodel.outputs import memo, style
from finmodel.outputs.charts.frame import (
    EMPTY_SPAN_USD,
    FIXED_CASES,
    LABEL_PT,
    case_label,
    case_list,
    chart_frame,
    cumulative_axes,
    grow_for_legend,
    param_text,
    same_as,
)
from finmodel.outputs.style import MINUS, case_colors, money_axis, money_text

__all__ = ["montecarlo_fan", "treasury_cost_histogram", "tornado_chart", "sweep_heatmap"]


def _mc_subtitle(result) -> str:
    seed = "" if result.seed is None else f", seed {result.seed}"
    return f"{result.scenario.title} — {result.draws:,} draws{seed}"


FAN_OUTER_ALPHA, FAN_INNER_ALPHA = 0.06, 0.28  #: fill of the P5-P95 and P25-P75 bands
FAN_OUTLINE = (0, (3, 2))  #: dashes of the P5 and P95 outline
FAN_HATCH = "///"  #: the P25-P75 band of a fan drawn over another one on the same axes
FAN_HATCH_LW = 0.6  #: width of the hatch lines [points]
FAN_HATCHED_ALPHA = 0.10  #: fill under that hatch
FAN_PANELS_FROM = 3  #: this many distinct fans or more: a panel each, side by side


def _draw_fan(ax: Axes, years, fan, color: str, case: str, hatched: bool = False) -> None:
    """One case's fan: a light P5-P95 band outlined dashed, a P25-P75 band outlined solid, the median.

    The P25-P75 band is filled, or, ``hatched`` (a fan drawn over another on
    the same axes), hatched in the case's colour over a faint fill, so that
    where two cases' middle halves overlap each stays readable.
    """
    ax.fill_between(
        years,
        fan["p5"],
        fan["p95"],
        color=color,
        alpha=FAN_OUTER_ALPHA,
        lw=0,
        zorder=1,
        gid=f"fan-outer-{case}",
    )
    for q in ("p5", "p95"):
        ax.plot(years, fan[q], color=color, lw=0.9, ls=FAN_OUTLINE, zorder=2.5, gid=f"fan-{q}-{case}")
    rgb = to_rgb(color)
    inner = ax.fill_between(
        years,
        fan["p25"],
        fan["p75"],
        facecolor=(*rgb, FAN_HATCHED_ALPHA if hatched else FAN_INNER_ALPHA),
        edgecolor=color,
        hatch=FAN_HATCH if hatched else None,
        lw=0,
        zorder=2.2 if hatched else 2,
        gid=f"fan-inner-{case}",
    )
    inner.set_hatch_linewidth(FAN_HATCH_LW)
    for q in ("p25", "p75"):
        ax.plot(years, fan[q], color=color, lw=0.8, zorder=2.6, gid=f"fan-{q}-{case}")
    ax.plot(years, fan["p50"], color=color, lw=2.2, zorder=3, gid=f"fan-median-{case}")


def _fan_keys(color: str, hatched: bool = False) -> tuple[list, list[str]]:
    """Legend swatches of one case's fan, in its colour: median, P25-P75, P5-P95."""
    rgb = to_rgb(color)
    inner = (
        Patch(
            facecolor=(*rgb, FAN_HATCHED_ALPHA),
            edgecolor=color,
            hatch=FAN_HATCH,
            hatch_linewidth=FAN_HATCH_LW,
            lw=0.8,
        )
        if hatched
        else Patch(facecolor=(*rgb, FAN_INNER_ALPHA), edgecolor=color, lw=0.8)
    )
    return [
        Line2D([], [], color=color, lw=2.2),
        inner,
        Patch(facecolor=(*rgb, FAN_OUTER_ALPHA), edgecolor=color, ls=(0, (2, 1)), lw=0.9),
    ], ["median", "P25–P75", "P5–P95"]


def montecarlo_fan(result, ax: Axes | None = None) -> Axes:
    """Cumulative after-tax cash flow across Monte Carlo draws, one fan per case. [USD]

    For each case of the scenario, in its colour: the P5-P95 band (faint,
    outlined dashed), the P25-P75 band (outlined solid) and the median line
    of ``cumsum(cash_flow)`` by year, from
    :meth:`finmodel.analysis.montecarlo.MonteCarloResult.fan`; the legend's
    swatches are in each case's colour. The first fan's P25-P75 band is
    filled; a second fan on the same axes hatches its band
    (:data:`FAN_HATCH`) over a faint fill, so where the middle halves of two
    cases overlap both stay readable instead of mixing into one colour. A
    case of ``cases:`` whose fan is that of an earlier case is drawn as a
    dashed median over it and says so. With :data:`FAN_PANELS_FROM`
    distinct fans or more, each gets a panel of its own (shared axes, the
    legend in a strip above the panels; a figure the chart makes itself
    only), the first returned.
    """
    s = result.scenario
    years = result.years
    title = "Cumulative after-tax cash flow: range across draws"
    colors = case_colors(result.cases)
    fans = {case: result.fan(case) for case in result.cases}
    same = same_as({c: f[["p5", "p25", "p50", "p75", "p95"]].to_numpy() for c, f in fans.items()})
    distinct = [c for c in fans if same[c] is None]
    own = ax is None
    panels = own and len(distinct) >= FAN_PANELS_FROM
    with chart_frame(ax, title, _mc_subtitle(result), s) as ax:
        axes = {c: ax for c in fans}
        if panels:
            axes, key_ax = _fan_panels(ax, distinct, same)
        rows: list[list[tuple]] = []  # legend rows: a distinct case's three keys; "same as" notes
        notes: list[tuple] = []
        for case, fan in fans.items():
            color = colors[case]
            target = axes[case]
            if same[case] is not None:
                (line,) = target.plot(
                    years,
                    fan["p50"],
                    color=color,
                    lw=2.2,
                    ls=(0, (2.5, 2.5)),
                    zorder=3.5,
                    gid=f"fan-median-{case}",
                )
                notes.append((line, f"{case_label(case)}: same as {case_label(same[case])}"))
                continue
            hatched = not panels and case != distinct[0]  # drawn over the first case's fan
            _draw_fan(target, years, fan, color, case, hatched)
            keys, names = _fan_keys(color, hatched)
            rows.append(list(zip(keys, [f"{case_label(case)}: {names[0]}", *names[1:]], strict=True)))
        for a in dict.fromkeys(axes.values()):
            a.axhline(0, color="#333333", lw=0.8, zorder=2)
        if panels:
            for case, a in axes.items():
                if same[case] is None:
                    a.set_title(case_label(case), loc="left", fontsize=style.SUBTITLE_PT, color=colors[case])
                cumulative_axes(a, years, margin=0.06)
                a.xaxis.set_major_locator(MultipleLocator(10))
                if a.get_subplotspec().colspan.start > 0:
                    a.set_ylabel("")
            keys, names = _fan_keys(style.NEUTRAL_COLOR)
            entries = [*zip(keys, ["Median", *names[1:]], strict=True), *notes]
            style.legend_above(key_ax, [e[0] for e in entries], [e[1] for e in entries])
        else:
            blank = (Line2D([], [], alpha=0.0), "")
            rows += [
                [*notes[i : i + 3], *[blank] * (3 - len(notes[i : i + 3]))] for i in range(0, len(notes), 3)
            ]
            entries = [row[col] for col in range(3) for row in rows]  # legends fill column by column
            legend = style.legend_above(ax, [e[0] for e in entries], [e[1] for e in entries], max_cols=3)
            cumulative_axes(ax, years, margin=0.06)
            if own:
                grow_for_legend(ax.figure, legend, len(entries), rows=2)
    return ax


def _fan_panels(ax: Axes, cases, same) -> tuple[dict[str, Axes], Axes]:
    """A panel per distinct case in ``ax``'s place, two a row, sharing both axes; a case equal to an
    earlier one goes in that case's panel. Also an empty strip above the panels, as wide as both
    columns, for the legend (above a panel it would cover the panel's title)."""
    fig = ax.figure
    rows = -(-len(cases) // 2)
    width, height = fig.get_size_inches()
    fig.set_size_inches(width, height + 1.6 * (rows - 1))
    strip = 0.01  #: the legend strip's height against a panel's (the legend sits above it)
    cells = ax.get_subplotspec().subgridspec(
        rows + 1, 2, wspace=0.06, hspace=0.15, height_ratios=[strip, *[1] * rows]
    )
    ax.set_subplotspec(cells[1, 0])
    panels = {cases[0]: ax}
    for i, case in enumerate(cases[1:], start=1):
        panels[case] = fig.add_subplot(cells[1 + i // 2, i % 2], sharex=ax, sharey=ax)
    key_ax = fig.add_subplot(cells[0, :])
    key_ax.set_axis_off()
    out = {}
    for case, earlier in same.items():
        out[case] = panels[case if earlier is None else earlier]
    return out, key_ax


def treasury_cost_histogram(result, ax: Axes | None = None, metric: str = "fiscal_cost_window_usd") -> Axes:
    """Histogram across draws of the Treasury's cost of the credit (window sum or PV). [USD]

    Bars: counts of :meth:`~finmodel.analysis.montecarlo.MonteCarloResult.treasury_cost`
    in 40 equal bins; dashed lines at P5, P50 and P95, a solid line at the
    scenario as written.
    """
    s = result.scenario
    values = np.asarray(result.treasury_cost(metric), dtype=float)
    values = values[np.isfinite(values)]
    start, end = result.base.fiscal_window
    what = f"{start}–{end}" if metric == "fiscal_cost_window_usd" else "present value"
    title = f"Treasury's cost of the credit, {what}: distribution across draws"
    with chart_frame(ax, title, _mc_subtitle(result), s) as ax:
        lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 1.0)
        if hi == lo:
            lo, hi = lo - EMPTY_SPAN_USD / 2, hi + EMPTY_SPAN_USD / 2
        ax.hist(
            values,
            bins=np.linspace(lo, hi, 41),
            color=style.COST_COLOR,
            alpha=0.85,
            edgecolor="white",
            linewidth=0.4,
            zorder=2,
            gid="treasury-histogram",
        )
        handles = [Patch(facecolor=style.COST_COLOR, alpha=0.85)]
        labels = ["Draws"]
        q = np.percentile(values, (5, 50, 95)) if values.size else [np.nan] * 3
        for name, x, ls in (("P5", q[0], (0, (3, 2))), ("P50", q[1], "--"), ("P95", q[2], (0, (3, 2)))):
            line = ax.axvline(x, color="#222222", lw=1.2, ls=ls, zorder=3, gid=f"treasury-{name.lower()}")
            if name == "P50":
                handles.append(line)
                labels.append("P5 / P50 / P95: " + " / ".join(money_text(x) for x in q))
        base = result.base.fiscal("with")[metric]
        handles.append(ax.axvline(base, color=style.OKABE_ITO["blue"], lw=1.8, zorder=4, gid="treasury-base"))
        labels.append(f"{memo.baseline_text(s, capital=True)}: {money_text(base)}")
        style.legend_above(ax, handles, labels, max_cols=1)
        money_axis(ax, axis="x")
        ax.set_xlabel(f"Treasury cost, {what}" + (", nominal" if metric == "fiscal_cost_window_usd" else ""))
        ax.set_ylabel("Draws")
    return ax


TORNADO_LOW, TORNADO_HIGH = style.NEUTRAL_COLOR, style.OKABE_ITO["blue"]
#: What a tornado of each metric shows, for its title.
TORNADO_TITLES = {
    ("npv_usd", "delta"): "the gain in NPV from the credit (with \u2212 without)",
    ("fiscal_cost_window_usd", "with"): "the Treasury's cost of the credit, budget window",
}


def tornado_title(metric: tuple[str, str]) -> str:
    """What a tornado of ``metric`` (``(name, case)``) shows, in words, with the case's label."""
    from finmodel.analysis.sensitivity import METRIC_LABELS
    from finmodel.engine.names import delta_case, is_delta

    if metric in TORNADO_TITLES:
        return TORNADO_TITLES[metric]
    name, case = metric
    if is_delta(case):
        what = {"npv_usd": "NPV", "equity_npv_usd": "equity NPV"}.get(name, METRIC_LABELS.get(name, name))
        return f"the gain in {what}, {case_label(delta_case(case))} \u2212 {case_label('without')}"
    if name == "fiscal_cost_window_usd":
        return f"the Treasury's cost, {case_label(case)}, budget window"
    return f"{METRIC_LABELS.get(name, name)}, {case_label(case)}"


def _tornado_tick(bar) -> str:
    """A tornado row's label: the parameter's name, then its low / high values."""
    from finmodel.analysis.uncertainty import param_label

    lo_text, hi_text = param_text(bar.parameter, bar.low), param_text(bar.parameter, bar.high)
    if " from " in lo_text and lo_text.split(" from ")[1] == hi_text.split(" from ")[-1]:
        lo_text = lo_text.split(" from ")[0]  # "28% / 42% from 2026"
    return f"{param_label(bar.parameter)}\n{lo_text} / {hi_text}"


def _tornado_row(ax: Axes, yi: float, bar, base: float, tiny: float, figure) -> None:
    """One parameter's bars from ``base`` to the metric at its low and high value, each end labelled
    with ``figure(value)``; ``no effect`` when neither moves the metric by more than ``tiny``."""
    moved = False
    for value, color, side in ((bar.at_low, TORNADO_LOW, "low"), (bar.at_high, TORNADO_HIGH, "high")):
        if not np.isfinite(value) or abs(value - base) <= tiny:
            continue
        moved = True
        gid = f"{side}-{bar.parameter}"
        ax.barh(yi, value - base, left=base, height=0.62, color=color, zorder=2, gid=f"tornado-{gid}")
        right = value >= base
        ax.annotate(
            figure(value),
            (value, yi),
            xytext=(3 if right else -3, 0),
            textcoords="offset points",
            ha="left" if right else "right",
            va="center",
            fontsize=LABEL_PT,
            gid=f"tornado-label-{gid}",
        )
    if not moved:
        ax.annotate(
            "no effect",
            (base, yi),
            xytext=(4, 0),
            textcoords="offset points",
            ha="left",
            va="center",
            fontsize=LABEL_PT,
            color=style.MUTED_TEXT,
            gid=f"tornado-none-{bar.parameter}",
        )


def tornado_chart(result, ax: Axes | None = None, metric: tuple[str, str] = ("npv_usd", "delta")) -> Axes:
    """Tornado: ``metric`` with each parameter at its low and high value, all else as written. [USD]

    The default sensitivity has a chart per case of a scenario's ``cases:``
    (:func:`finmodel.analysis.sensitivity.tornado_metrics`); where a result
    leaves some cases out, the subtitle names them. Bars run from the
    scenario's value (the vertical line) to the metric at the parameter's
    low value (grey) and high value (blue), largest swing
    on top; each row names the parameter and its low / high values, each
    bar end the metric there. A parameter that does not move the metric
    says so.
    """
    from finmodel.analysis.metric_names import METRIC_UNITS
    from finmodel.engine.names import delta_case, is_delta

    s = result.scenario
    bars = list(result.bars[metric])
    base = result.base[metric]

    def figure(value):
        return fmt.metric(value, METRIC_UNITS.get(metric[0], "-"), delta=is_delta(metric[1]), minus=MINUS)

    title = f"What moves it: {tornado_title(metric)}"
    height = max(style.FIG_HEIGHT_IN, 2.0 + 0.45 * len(bars))
    subtitle = s.title
    shown = {delta_case(c) if is_delta(c) else c for _, c in result.metrics}
    left_out = [c for c in s.case_scenarios if c not in FIXED_CASES and c not in shown]
    if left_out:  # a result for some of the scenario's cases only
        subtitle += f" \u2014 {case_list(left_out)} not shown"
    with chart_frame(ax, title, subtitle, s, height=height) as ax:
        y = np.arange(len(bars))[::-1]
        ends = [base] + [v for b in bars for v in (b.at_low, b.at_high) if np.isfinite(v)]
        span = (max(ends) - min(ends)) or EMPTY_SPAN_USD
        for yi, b in zip(y, bars, strict=True):
            _tornado_row(ax, yi, b, base, 5e-4 * span, figure)
        ax.axvline(base, color="#222222", lw=1.0, zorder=3, gid="tornado-base")
        ax.set_yticks(y, [_tornado_tick(b) for b in bars], fontsize=LABEL_PT + 0.5, linespacing=1.15)
        ax.tick_params(axis="y", length=0)
        ax.set_xlim(min(ends) - 0.3 * span, max(ends) + 0.3 * span)
        ax.set_ylim(-0.7, len(bars) - 0.3)
        ax.grid(False, axis="y")
        money_axis(ax, axis="x")
        ax.set_xlabel(f"{memo.baseline_text(s, capital=True)}: {figure(base)} (vertical line)")
        style.legend_above(
            ax,
            [Patch(facecolor=TORNADO_LOW), Patch(facecolor=TORNADO_HIGH)],
            ["Parameter at its low value", "Parameter at its high value"],
        )
    return ax


def sweep_heatmap(result, ax: Axes | None = None) -> Axes:
    """A metric over a grid of two parameters (one row if only ``x`` is swept), cell values printed.

    Colours: the metric, from :attr:`finmodel.analysis.sensitivity.SweepResult.values`;
    blue for the higher values. Money in $B.
    """
    from matplotlib.colors import Normalize

    from finmodel.analysis.metric_names import METRIC_UNITS
    from finmodel.analysis.sensitivity import METRIC_LABELS, case_text
    from finmodel.analysis.uncertainty import param_label
    from finmodel.engine.names import is_delta

    s = result.scenario
    grid = np.asarray(result.values, dtype=float)
    unit = METRIC_UNITS.get(result.metric, "")
    name = METRIC_LABELS.get(result.metric, result.metric)
    title = f"{name} ({case_text(result.case)}) by {param_label(result.x_path).lower()}" + (
        f" and {param_label(result.y_path).lower()}" if result.y_path else ""
    )
    ny, nx = grid.shape
    height = max(3.2, min(8.0, 1.9 + 0.42 * ny))
    with chart_frame(ax, title, s.title, s, height=height) as ax:
        finite = grid[np.isfinite(grid)]
        norm = (
            Normalize(float(finite.min()), float(finite.max()))
            if finite.size and finite.min() < finite.max()
            else Normalize(-1, 1)
        )
        image = ax.imshow(
            grid,
            cmap="Blues",
            norm=norm,
            aspect="auto",
            origin="lower",
            interpolation="nearest",
            gid="sweep-cells",
        )

        def text(v):
            return fmt.metric(v if np.isfinite(v) else None, unit, delta=is_delta(result.case), minus=MINUS)

        for j in range(ny):
            for i in range(nx):
                v = grid[j, i]
                dark = np.isfinite(v) and norm(v) > 0.55
                ax.text(
                    i,
                    j,
                    text(v),
                    ha="center",
                    va="center",
                    fontsize=LABEL_PT,
                    color="white" if dark else "#222222",
                    gid=f"sweep-cell-{j}-{i}",
                )
        ax.set_xticks(np.arange(nx), [param_text(result.x_path, v) for v in result.x_values])
        ax.set_xlabel(param_label(result.x_path))
        if result.y_path:
            ax.set_yticks(np.arange(ny), [param_text(result.y_path, v) for v in result.y_values])
            ax.set_ylabel(param_label(result.y_path))
        else:
            ax.set_yticks([])
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        del image
    return ax
