"""The charts of one scenario's memo pack: cash flow, credit, Treasury cost, PV waterfall, spend.

Each takes :class:`~finmodel.engine.model.Results` (``f(results, ax=None) -> Axes``);
see :mod:`finmodel.outputs.charts`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from finmodel.analysis import decompose
from finmodel.core import format as fmt
from finmodel.engine.model import Results
from finmodel.outputs import memo, style
from finmodel.outputs.charts.frame import (
    EMPTY_SPAN_USD,
    LABEL_PT,
    case_label,
    case_list,
    chart_frame,
    cumulative_axes,
    grow_for_legend,
    no_data,
    percent_text,
    same_as,
    year_span,
)
from finmodel.outputs.style import case_colors, group_colors, money_axis, money_text, year_axis

__all__ = [
    "cumulative_cash_flow",
    "cumulative_cash_flow_parts",
    "credit_by_group",
    "treasury_cost",
    "treasury_cost_parts",
    "pv_waterfall",
    "spend_by_group",
    "CumulativeLine",
    "CumulativeParts",
    "TreasuryCostParts",
]


TERMINAL_STYLE = {"color": "#000000", "lw": 1.4, "ls": (0, (1, 1.2)), "marker": "_", "ms": 9, "mew": 1.4}
CUMULATIVE_LEGEND_COLUMNS = 2  #: at most, in :func:`cumulative_cash_flow`'s legend
CUMULATIVE_MARGIN = 0.08  #: blank above and below the lines, a fraction of their span


@dataclass(frozen=True)
class CumulativeLine:
    """One case's line of :func:`cumulative_cash_flow`: what is drawn, in data coordinates."""

    case: str
    values: np.ndarray  #: cumulative cash flow by year [USD]
    color: str
    same_as: str | None  #: an earlier case whose line this one is (drawn dashed over it), else None
    trough: tuple[int, float] | None  #: (year, lowest cumulative cash flow [USD]) when below zero
    payback: tuple[int, float] | None  #: (payback year, cumulative cash flow then [USD])
    terminal: tuple[float, float] | None  #: the end year's step from before to after the terminal value [USD]
    label: str  #: the case's legend entry


@dataclass(frozen=True)
class CumulativeParts:
    """What :func:`cumulative_cash_flow` draws, computed from the results alone (no Axes)."""

    years: np.ndarray
    lines: tuple[CumulativeLine, ...]
    terminal_label: str | None  #: the legend entry of the terminal value's bars (None: none drawn)
    labels: tuple[str, ...]  #: every legend entry, in order


def cumulative_cash_flow_parts(results: Results) -> CumulativeParts:
    """The lines, markers and legend entries of :func:`cumulative_cash_flow`. [USD, nominal]

    Used by the chart and by :mod:`finmodel.outputs.explorer`, which moves the
    artists of a drawn chart to new parts instead of drawing it again.
    """
    years = results.years
    colors = case_colors(results.cases)
    flows = np.asarray(results.lines["cash_flow"])
    cum_by_case = {c: np.cumsum(flows[k]) for k, c in enumerate(results.cases)}
    same = same_as(cum_by_case)
    # the terminal value in the last step (MODEL.md section 8), for the lines drawn solid
    tv = np.asarray(results.lines["terminal_value"]).sum(axis=-2)[..., -1]  # (case,) [USD]
    shown = {
        c: float(tv[k]) for k, (c, cum) in enumerate(cum_by_case.items()) if same[c] is None and tv[k] > 0
    }
    lines = []
    for case, cum in cum_by_case.items():
        if same[case] is not None:
            label = f"{case_label(case)}: same as {case_label(same[case])}"
            lines.append(CumulativeLine(case, cum, colors[case], same[case], None, None, None, label))
            continue
        i = int(np.argmin(cum))
        trough, trough_text = None, ""
        if cum[i] < 0:
            trough = (int(years[i]), float(cum[i]))
            trough_text = f"trough {money_text(cum[i])} in {fmt.year(years[i])}"
        payback = results.metric("payback_year", case)
        if payback is not None:
            j = int(np.flatnonzero(years == payback)[0])
            point, pay = (payback, float(cum[j])), f"payback {payback}"
        else:
            point, pay = None, f"no payback by {int(years[-1])}"
        terminal = (float(cum[-1] - shown[case]), float(cum[-1])) if case in shown else None
        label = f"{case_label(case)}: " + ", ".join(x for x in (trough_text, pay) if x)
        lines.append(CumulativeLine(case, cum, colors[case], None, trough, point, terminal, label))
    terminal_label = None
    if shown:
        values = sorted(set(shown.values()))
        amount = (
            money_text(values[0])
            if len(values) == 1
            else "; ".join(f"{case_label(c)} {money_text(v)}" for c, v in shown.items())
        )
        terminal_label = f"In {int(years[-1])}: book value of assets left, {amount}"
    labels = [line.label for line in lines]
    if terminal_label:  # under the cases' entries, in the first column of the legend
        labels.append(terminal_label)
    labels += ["Funding trough", "Payback year"]
    return CumulativeParts(years, tuple(lines), terminal_label, tuple(labels))


def cumulative_cash_flow(results: Results, ax: Axes | None = None) -> Axes:
    """Cumulative after-tax cash flow by year, one line per case. [USD, nominal]

    Lines: ``cumsum(lines["cash_flow"][case])`` for every case of the
    scenario, in its colour (:func:`finmodel.outputs.style.case_colors`). A
    triangle marks each case's funding trough (the lowest cumulative cash
    flow, ``-peak_funding_usd``) and a ring its ``payback_year`` (MODEL.md
    section 9); the legend states both. A dotted bar in ``end_year`` marks
    the terminal value in the last step (``lines["terminal_value"]``, the
    book value of the assets left, MODEL.md section 8). A case of ``cases:``
    whose line is that of an earlier case is drawn dashed over it and says so.
    The figures drawn: :func:`cumulative_cash_flow_parts`.
    """
    s = results.scenario
    parts = cumulative_cash_flow_parts(results)
    years = parts.years
    own = ax is None
    with chart_frame(ax, "Cumulative after-tax cash flow", s.title, s) as ax:
        handles = []
        for line in parts.lines:
            case, cum, color = line.case, line.values, line.color
            if line.same_as is not None:
                (drawn,) = ax.plot(
                    years, cum, color=color, lw=2.2, ls=(0, (2.5, 2.5)), gid=f"cumulative-{case}", zorder=3.5
                )
                handles.append(drawn)
                continue
            (drawn,) = ax.plot(years, cum, color=color, lw=2.2, gid=f"cumulative-{case}", zorder=3)
            if line.trough is not None:
                ax.plot(
                    [line.trough[0]],
                    [line.trough[1]],
                    marker="v",
                    ms=9,
                    color=color,
                    mec="white",
                    mew=1.0,
                    ls="none",
                    zorder=4,
                    gid=f"trough-{case}",
                )
            if line.payback is not None:
                ax.plot(
                    [line.payback[0]],
                    [line.payback[1]],
                    marker="o",
                    ms=8,
                    mfc="white",
                    mec=color,
                    mew=2.2,
                    ls="none",
                    zorder=5,
                    gid=f"payback-{case}",
                )
            handles.append(drawn)
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        for line in parts.lines:  # the terminal value's bars, over the lines
            if line.terminal is not None:
                gid = f"terminal-{line.case}"
                ax.plot([years[-1]] * 2, line.terminal, zorder=4.5, gid=gid, **TERMINAL_STYLE)
        if parts.terminal_label:
            handles.append(Line2D([], [], **TERMINAL_STYLE))
        handles += [
            Line2D([], [], marker="v", ms=8, color="#444444", ls="none"),
            Line2D([], [], marker="o", ms=7, mfc="white", mec="#444444", mew=2, ls="none"),
        ]
        legend = style.legend_above(ax, handles, list(parts.labels), max_cols=CUMULATIVE_LEGEND_COLUMNS)
        cumulative_axes(ax, years, margin=CUMULATIVE_MARGIN)
        if own:
            grow_for_legend(ax.figure, legend, len(parts.labels), rows=3 if parts.terminal_label else 2)
    return ax


def _credit_panels(results: Results, case: str | None) -> tuple[list[tuple[str, ...]], list[str]]:
    """The credit chart's panels (cases that earn the same credit share one) and the cases earning none.

    ``case`` given, or a scenario without ``cases:``: that case (``with``) alone.
    """
    if case is not None or len(results.cases) == 2:
        return [(case or "with",)], []
    named = [c for c in results.cases if c != "without"]
    earning = [c for c in named if results.metric("credit_earned_usd", c)]
    earned = np.asarray(results.lines["credit_earned"])
    cash = np.asarray(results.lines["credit_cash"])
    k = results.cases.index
    same = same_as({c: np.concatenate([earned[k(c)].ravel(), cash[k(c)]]) for c in earning})
    panels = [(c, *[d for d in earning if same[d] == c]) for c in earning if same[c] is None]
    return panels or [("with",)], [c for c in named if c not in earning]


def _panel_label(ax: Axes, results: Results, panel: tuple[str, ...], none: list[str]) -> None:
    """Name the cases a credit panel shows, each with its colour swatch, and how their credit is paid;
    on the first panel, also the cases that earn no credit."""
    from matplotlib.offsetbox import AnchoredOffsetbox, DrawingArea, HPacker, TextArea, VPacker

    colors = case_colors(results.cases)
    font = {"fontsize": 9, "fontweight": "bold", "color": style.TEXT_COLOR}
    rows = []
    if panel[0] not in none:
        items = []
        for case in panel:
            swatch = DrawingArea(9, 9)
            swatch.add_artist(Rectangle((0, 0), 9, 9, facecolor=colors[case], edgecolor="none"))
            items += [swatch, TextArea(case_label(case), textprops=font)]
        s = results.scenario.case_scenarios.get(panel[0], results.scenario)
        how = memo.monetization_text(s, short=True)
        lag = int(s["policy.amic.payment_lag_years"])
        same = "(the same credit) " if len(panel) > 1 else ""
        tail = f"{same}\u2013 cash by {how}, {lag}-year lag"
        items.append(TextArea(tail, textprops={**font, "fontweight": "normal"}))
        rows.append(HPacker(children=items, align="center", pad=0, sep=5))
    if none:
        verb = "earns" if len(none) == 1 else "earn"
        rows.append(
            TextArea(f"{case_list(none)} {verb} no credit", textprops={**font, "fontweight": "normal"})
        )
    box = AnchoredOffsetbox(
        loc="upper left",
        child=VPacker(children=rows, align="left", pad=0, sep=3),
        pad=0.3,
        borderpad=0.3,
        frameon=False,
    )
    box.set_gid(f"credit-panel-{panel[0]}")
    ax.add_artist(box)


def _credit_panel(
    ax: Axes, results: Results, case: str, shown: np.ndarray, legend: bool, short: bool = False
) -> float:
    """One case's credit bars by group and its cash line in ``ax``; returns the highest value drawn."""
    s = results.scenario.case_scenarios.get(case, results.scenario)
    years = results.years
    groups, earned = decompose.group_totals(results, "credit_earned", case)
    cash = np.asarray(results.lines["credit_cash"])[results.cases.index(case)]
    colors = group_colors(groups)
    handles, labels = [], []
    bottom = np.zeros(len(years))
    for g, values in zip(groups, earned, strict=True):
        if not np.any(values):
            continue
        ax.bar(
            years,
            values,
            bottom=bottom,
            width=0.72,
            color=colors[g],
            edgecolor="white",
            linewidth=0.5,
            gid=f"credit-{g}",
            zorder=2,
        )
        bottom = bottom + values
        handles.append(Patch(facecolor=colors[g]))
        labels.append(f"Earned: {memo.readable_name(g)}")
    if handles:
        how = memo.monetization_text(s, short=True)
        lag = int(s["policy.amic.payment_lag_years"])
        keep = (years >= shown[0]) & (years <= shown[-1])
        (line,) = ax.plot(
            years[keep],
            cash[keep],
            color="#000000",
            lw=1.8,
            marker="o",
            ms=4.5,
            gid="credit-cash",
            zorder=3,
        )
        handles.append(line)
        labels.append("Cash received" if short else f"Cash received ({how}, {lag}-year lag)")
        if legend:
            style.legend_above(ax, handles, labels)
    else:
        no_data(ax, "No property earns the credit in this scenario")
        ax.set_ylim(0, EMPTY_SPAN_USD)
    money_axis(ax)
    year_axis(ax, shown)
    return max(float(bottom.max(initial=0.0)), float(cash.max(initial=0.0)))


def credit_by_group(results: Results, ax: Axes | None = None, case: str | None = None) -> Axes:
    """Credit earned by category group and year (stacked bars), and the credit's cash (line). [USD]

    Bars: ``lines["credit_earned"][case]`` summed over the categories of each
    group, by placed-in-service year; groups that earn nothing are left out.
    Line: ``lines["credit_cash"][case]``, the cash received (direct pay or
    transfer proceeds, after the payment lag).

    ``case=None`` shows ``with`` and every case of ``cases:`` that earns
    credit: cases with the same credit share a panel, each other credit gets
    its own panel (one scale for all), each panel names its cases, and the
    cases that earn none are named. Given ``ax``, one case is drawn
    (``case``, else the first that earns credit). Returns the top panel.
    """
    s = results.scenario
    years = results.years
    title = "AMIC credit earned by asset group, and cash received"
    panels, none = _credit_panels(results, case)
    if ax is not None:
        panels = panels[:1]
    many = len(panels) > 1
    height = style.FIG_HEIGHT_IN + 2.1 * (len(panels) - 1)
    labelled = len(results.cases) > 2 and case is None
    with chart_frame(ax, title, s.title, s, height) as ax:
        k = [results.cases.index(p[0]) for p in panels]
        earned = np.asarray(results.lines["credit_earned"])[k].sum(axis=1)
        cash = np.asarray(results.lines["credit_cash"])[k]
        shown = year_span(((earned != 0) | (cash != 0)).any(axis=0), years)
        axes = [ax]
        if many:
            fig = ax.figure
            ax.remove()
            axes = list(fig.subplots(len(panels), 1, sharex=True, sharey=True, squeeze=False)[:, 0])
        tops = []
        for i, (panel, pax) in enumerate(zip(panels, axes, strict=True)):
            tops.append(_credit_panel(pax, results, panel[0], shown, legend=i == 0, short=labelled))
            pax.set_ylabel("Credit per year, nominal")
            if labelled:
                _panel_label(pax, results, panel, none if i == 0 else [])
        if labelled and max(tops) > 0:
            axes[0].set_ylim(0, max(tops) * (1.28 if none else 1.16))
        for pax in axes[:-1]:
            pax.tick_params(axis="x", labelbottom=False)
        ax = axes[0]
    return ax


@dataclass(frozen=True)
class TreasuryCostParts:
    """What :func:`treasury_cost` draws for one case, computed from the results alone (no Axes)."""

    years: np.ndarray
    cost: np.ndarray  #: the bars' heights [USD]
    colors: np.ndarray  #: each bar's colour: a cost, or a year in which the Treasury collects more
    window: tuple[int, int]  #: the budget window's first and last year
    ylim: tuple[float, float]  #: [USD]
    total_text: str  #: the window's total and the present value, written over the window
    total_x: float  #: the year the text is centred on
    labels: tuple[str, ...]  #: the legend entries


def treasury_cost_parts(results: Results, case: str = "with") -> TreasuryCostParts:
    """The bars, limits, total and legend entries of :func:`treasury_cost` for one case. [USD]

    Used by the chart and by :mod:`finmodel.outputs.explorer`, which moves the
    artists of a drawn chart to new parts instead of drawing it again.
    """
    years = results.years
    cost = np.asarray(results.lines["fiscal_cost"])[results.cases.index(case)]
    colors = np.where(cost >= 0, style.COST_COLOR, style.SAVING_COLOR)
    fiscal = results.fiscal(case)
    start, end = fiscal["window"]
    top = max(float(cost.max()), 0.0)
    low = min(float(cost.min()), 0.0)
    span = top - low if top > low else EMPTY_SPAN_USD
    rate = float(np.asarray(results.inputs.fiscal_discount_rate))
    text = (
        f"{end - start + 1}-year window {start}\u2013{end}: "
        f"{money_text(fiscal['fiscal_cost_window_usd'])}\n"
        f"PV at {percent_text(rate)}, {int(years[0])}\u2013{int(years[-1])}: "
        f"{money_text(fiscal['fiscal_cost_pv_usd'])}"
    )
    labels = ("Cost to the Treasury", "Treasury collects more", f"Budget window {start}\u2013{end}")
    return TreasuryCostParts(
        years=years,
        cost=cost,
        colors=colors,
        window=(start, end),
        ylim=(low - 0.05 * span, top + 0.32 * span),
        total_text=text,
        total_x=(max(start, years[0]) + min(end, years[-1])) / 2,
        labels=labels,
    )


def treasury_cost(results: Results, ax: Axes | None = None, case: str | None = None) -> Axes:
    """The Treasury's cost by year, with the budget window shaded and its total written. [USD]

    Bars: ``lines["fiscal_cost"][case]`` (MODEL.md section 10: the credit's
    cost plus the income tax given up, less recapture); a negative bar is a
    year in which the Treasury collects more than under current law. The
    shaded band spans the window ``fiscal.window_start`` ..
    ``window_start + window_years - 1``; its total is ``fiscal_cost_window_usd``.

    ``case=None`` shows every case but ``without``, each against
    ``without``: one case (``with``) as above (the figures drawn:
    :func:`treasury_cost_parts`), several as a group of bars per year in the
    cases' colours, with each case's window total and present value in the
    legend (:func:`_treasury_cost_by_case`).
    """
    cases = [c for c in results.cases if c != "without"] if case is None else [case]
    if len(cases) > 1:
        return _treasury_cost_by_case(results, ax, cases)
    s = results.scenario
    parts = treasury_cost_parts(results, cases[0])
    years = parts.years
    start, end = parts.window
    title = "Cost to the Treasury by year"
    with chart_frame(ax, title, s.title, s) as ax:
        ax.bar(years, parts.cost, width=0.72, color=parts.colors, gid="fiscal-cost", zorder=2)
        ax.axvspan(start - 0.5, end + 0.5, color="#E9E9E9", zorder=0, lw=0, gid="fiscal-window")
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        ax.set_ylim(*parts.ylim)
        ax.text(
            parts.total_x,
            0.97,
            parts.total_text,
            transform=ax.get_xaxis_transform(),
            ha="center",
            va="top",
            fontsize=9,
            fontweight="bold",
            color="#222222",
            gid="fiscal-window-total",
        )
        handles = [
            Patch(facecolor=style.COST_COLOR),
            Patch(facecolor=style.SAVING_COLOR),
            Patch(facecolor="#E9E9E9"),
        ]
        style.legend_above(ax, handles, list(parts.labels))
        money_axis(ax)
        year_axis(ax, years)
        ax.set_ylabel("Treasury cost per year, nominal")
    return ax


def _treasury_cost_by_case(results: Results, ax: Axes | None, cases: list[str]) -> Axes:
    """:func:`treasury_cost` of several cases: bars side by side in each year, one colour per case."""
    s = results.scenario
    years = results.years
    colors = case_colors(results.cases)
    title = f"Cost to the Treasury by year, each case against {case_label('without')}"
    own = ax is None
    with chart_frame(ax, title, s.title, s) as ax:
        fiscal = {c: results.fiscal(c) for c in cases}
        start, end = fiscal[cases[0]]["window"]
        ax.axvspan(start - 0.5, end + 0.5, color="#E9E9E9", zorder=0, lw=0, gid="fiscal-window")
        width = 0.84 / len(cases)
        rate = percent_text(float(np.asarray(results.inputs.fiscal_discount_rate)))
        handles, labels, values = [], [], [0.0]
        for i, case in enumerate(cases):
            cost = np.asarray(results.lines["fiscal_cost"])[results.cases.index(case)]
            offset = (i - (len(cases) - 1) / 2) * width
            ax.bar(years + offset, cost, width=width, color=colors[case], gid=f"fiscal-cost-{case}", zorder=2)
            values += [float(cost.min()), float(cost.max())]
            f = fiscal[case]
            handles.append(Patch(facecolor=colors[case]))
            labels.append(
                f"{case_label(case)}: {money_text(f['fiscal_cost_window_usd'])} in {start}\u2013{end}, "
                f"{money_text(f['fiscal_cost_pv_usd'])} PV at {rate}"
            )
        handles.append(Patch(facecolor="#E9E9E9"))
        labels.append(f"Budget window {start}\u2013{end}; below zero, the Treasury collects more")
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        top, low = max(values), min(values)
        span = top - low if top > low else EMPTY_SPAN_USD
        ax.set_ylim(low - 0.05 * span, top + 0.08 * span)
        legend = style.legend_above(ax, handles, labels, max_cols=1)
        money_axis(ax)
        year_axis(ax, years)
        ax.set_ylabel("Treasury cost per year, nominal")
        if own:
            grow_for_legend(ax.figure, legend, len(labels), rows=3)
    return ax


def pv_waterfall(results: Results, ax: Axes | None = None) -> Axes:
    """The owner's cost in PV: spend, credit, basis-reduction tax, other tax, net cost. [USD]

    Bars are the terms of :func:`finmodel.analysis.decompose.pv_waterfall`,
    each defined from Results lines: PV of spend; minus the PV of the credit's
    cash; plus the tax on the depreciation lost to the basis reduction; plus
    every other change in the owner's cash flow; equal to the net cost,
    ``PV(spend) - delta NPV``. Totals are grey and start at zero; a step that
    adds to the cost is vermillion, one that lowers it green.
    """
    s = results.scenario
    title = "The owner's cost of the build-out, in present value"
    with chart_frame(ax, title, s.title, s) as ax:
        waterfall = decompose.pv_waterfall(results)
        rate = percent_text(waterfall.discount_rate)
        names = {
            "spend": f"Spend\n(PV at {rate})",
            "credit": "Credit\ncash",
            "basis": "Tax on basis\nreduction",
            "other": "Other tax\nchanges",
            "net": "Net cost\nwith credit",
        }
        bars = waterfall.steps()
        x = np.arange(len(bars))
        running = 0.0
        tops = []
        for i, (key, value, total) in enumerate(bars):
            if total:
                bottom, color = 0.0, style.TOTAL_COLOR
                running = value
            else:
                bottom = running
                color = style.COST_COLOR if value > 0 else style.SAVING_COLOR
                running += value
            ax.bar(x[i], value, bottom=bottom, width=0.62, color=color, gid=f"waterfall-{key}", zorder=2)
            tops.append(max(bottom, bottom + value))
            ax.annotate(
                money_text(value, sign=not total),
                (x[i], tops[-1]),
                xytext=(0, 3),
                textcoords="offset points",
                ha="center",
                va="bottom",
                fontsize=LABEL_PT + 0.5,
                gid=f"waterfall-label-{key}",
            )
            if i + 1 < len(bars):
                ax.plot(
                    [x[i] + 0.31, x[i + 1] - 0.31],
                    [running, running],
                    color="#888888",
                    lw=0.8,
                    ls=(0, (2, 2)),
                    zorder=1,
                )
        ax.set_xticks(x, [names[key] for key, _, _ in bars])
        ax.tick_params(axis="x", length=0)
        ax.set_xlim(-0.6, len(bars) - 0.4)
        ax.set_ylim(min(0.0, waterfall.spend_usd, waterfall.net_usd), max(tops) * 1.12)
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        money_axis(ax)
        ax.set_ylabel(f"PV at {rate}, {waterfall.valuation_year} dollars")
        handles = [
            Patch(facecolor=style.TOTAL_COLOR),
            Patch(facecolor=style.SAVING_COLOR),
            Patch(facecolor=style.COST_COLOR),
        ]
        style.legend_above(ax, handles, ["Total", "Lowers the cost", "Raises the cost"])
    return ax


def spend_by_group(results: Results, ax: Axes | None = None) -> Axes:
    """Spend by group and year (stacked area), with property placed in service (line). [USD]

    Areas: ``lines["spend"]`` of the ``with`` case (the same in both cases)
    summed over the categories of each group, drawn as one-year-wide steps
    (an area with sloped edges would suggest spend between years). Line:
    ``lines["in_service"]`` summed over all categories, the cost placed in
    service each year.
    """
    s = results.scenario
    years = results.years
    title = "Spend by asset group, and property placed in service"
    with chart_frame(ax, title, s.title, s) as ax:
        groups, spend = decompose.group_totals(results, "spend", "with")
        _, placed = decompose.group_totals(results, "in_service", "with")
        total_placed = placed.sum(axis=0)
        shown = year_span((spend.sum(axis=0) != 0) | (total_placed != 0), years)
        keep = (years >= shown[0]) & (years <= shown[-1])
        colors = group_colors(groups)
        # Each year's amount is a block one year wide (step at mid-year), padded half a year
        # at both ends.
        x = np.concatenate([[shown[0] - 0.5], years[keep], [shown[-1] + 0.5]])
        y = np.concatenate([spend[:, keep][:, :1], spend[:, keep], spend[:, keep][:, -1:]], axis=1)
        polys = ax.stackplot(
            x,
            y,
            colors=[colors[g] for g in groups],
            step="mid",
            edgecolor="white",
            linewidth=0.6,
            zorder=2,
        )
        for g, poly in zip(groups, polys, strict=True):
            poly.set_gid(f"spend-{g}")
        (line,) = ax.plot(
            years[keep],
            total_placed[keep],
            color="#000000",
            lw=1.8,
            ls=(0, (4, 2)),
            marker="o",
            ms=4,
            gid="in-service",
            zorder=3,
        )
        handles = [Patch(facecolor=colors[g]) for g in groups] + [line]
        labels = [f"Spend: {memo.readable_name(g)}" for g in groups] + ["Placed in service (all groups)"]
        style.legend_above(ax, handles, labels, max_cols=3)
        money_axis(ax)
        year_axis(ax, shown)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("USD per year, nominal")
    return ax
