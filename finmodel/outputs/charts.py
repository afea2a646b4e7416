"""Memo charts: one function per chart, ``f(results, ax=None) -> Axes``.

Each function only selects and sums arrays already in
:class:`~finmodel.engine.model.Results` (or takes the figures of
:mod:`finmodel.outputs.memo`); it never computes a model number and never saves a
file (:mod:`finmodel.outputs.report` does that). Amounts are plotted in USD, as in
the results, and shown in $B by the axis formatter, so an artist's data
equal the result arrays.

With ``ax=None`` a function makes its own memo-width figure (see
:mod:`finmodel.outputs.style`): the chart's title, the scenario's title as
subtitle, and a footnote with the scenario's source IDs and the finmodel
version. Given an ``ax``, it draws the data, the axes labels and the legend
only, so charts can be combined on one figure. No function selects a
backend or uses pyplot.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from finmodel._version import __version__
from finmodel.analysis import decompose, provenance
from finmodel.core import format as fmt
from finmodel.engine.model import METRICS, Results
from finmodel.outputs import memo, style
from finmodel.outputs.style import MINUS, case_color, group_colors, money_axis, money_text, year_axis

__all__ = [
    "cumulative_cash_flow",
    "credit_by_group",
    "treasury_cost",
    "pv_waterfall",
    "spend_by_group",
    "scenario_comparison",
    "breakeven_comparison",
    "SCENARIO_CHARTS",
    "COMPARE_CHARTS",
]

CASE_LABELS = memo.CASE_LABELS
BREAKEVEN_UNIT = METRICS["breakeven_revenue_usd_per_gw_year"]
LABEL_PT = 8.0
EMPTY_SPAN_USD = 1e9  #: axis span when every value is zero, so ticks read $0B, $0.2B, ...


@contextlib.contextmanager
def _chart(
    ax: Axes | None, title: str, subtitle: str, foot: str, height: float = style.FIG_HEIGHT_IN
) -> Iterator[Axes]:
    """Draw in ``ax``, or in a new memo figure that gets title, subtitle and footnote when done."""
    with style.memo_style():
        own = ax is None
        if own:
            fig, ax = style.new_figure(height)
        yield ax
        if own:
            style.add_title(fig, title, subtitle)
            style.add_footnote(fig, foot)


def _percent(x: float) -> str:
    """A rate parameter (a discount rate) as written: ``0.1 -> '10%'``."""
    return fmt.parameter_value(float(x), "per year", minus=MINUS)


def _param_text(path: str, value) -> str:
    """A parameter value on a tick or row label (:func:`finmodel.analysis.provenance.value_text`)."""
    return provenance.value_text(path, value, label=True, minus=MINUS)


def _span(mask: np.ndarray, years: np.ndarray) -> np.ndarray:
    """The years from the first to the last where ``mask`` holds (all years if none)."""
    idx = np.flatnonzero(mask)
    if idx.size == 0:
        return years
    return years[idx[0] : idx[-1] + 1]


def _no_data(ax: Axes, text: str) -> None:
    ax.text(
        0.5,
        0.5,
        text,
        transform=ax.transAxes,
        ha="center",
        va="center",
        fontsize=9,
        color=style.MUTED_TEXT,
    )


# --------------------------------------------------------------------------- one scenario


def cumulative_cash_flow(results: Results, ax: Axes | None = None) -> Axes:
    """Cumulative after-tax cash flow by year, without vs with the credit. [USD, nominal]

    Lines: ``cumsum(lines["cash_flow"][case])``. A triangle marks each case's
    funding trough (the lowest cumulative cash flow, ``-peak_funding_usd``)
    and a ring its ``payback_year`` (MODEL.md section 9); the legend states both.
    """
    s = results.scenario
    years = results.years
    with _chart(ax, "Cumulative after-tax cash flow", s.title, memo.footnote(s, __version__)) as ax:
        handles, labels = [], []
        for case in ("without", "with"):
            k = results.cases.index(case)
            cum = np.cumsum(np.asarray(results.lines["cash_flow"])[k])
            color = case_color(case)
            (line,) = ax.plot(years, cum, color=color, lw=2.2, gid=f"cumulative-{case}", zorder=3)
            i = int(np.argmin(cum))
            trough = ""
            if cum[i] < 0:
                ax.plot(
                    [years[i]],
                    [cum[i]],
                    marker="v",
                    ms=9,
                    color=color,
                    mec="white",
                    mew=1.0,
                    ls="none",
                    zorder=4,
                    gid=f"trough-{case}",
                )
                trough = f"trough {money_text(cum[i])} in {fmt.year(years[i])}"
            payback = results.metric("payback_year", case)
            if payback is not None:
                j = int(np.flatnonzero(years == payback)[0])
                ax.plot(
                    [payback],
                    [cum[j]],
                    marker="o",
                    ms=8,
                    mfc="white",
                    mec=color,
                    mew=2.2,
                    ls="none",
                    zorder=5,
                    gid=f"payback-{case}",
                )
                pay = f"payback {payback}"
            else:
                pay = f"no payback by {int(years[-1])}"
            handles.append(line)
            labels.append(f"{CASE_LABELS[case]}: " + ", ".join(x for x in (trough, pay) if x))
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        handles += [
            Line2D([], [], marker="v", ms=8, color="#444444", ls="none"),
            Line2D([], [], marker="o", ms=7, mfc="white", mec="#444444", mew=2, ls="none"),
        ]
        labels += ["Funding trough", "Payback year"]
        style.legend_above(ax, handles, labels, max_cols=2)
        ax.margins(y=0.08)
        money_axis(ax)
        year_axis(ax, years)
        ax.set_ylabel("Cumulative cash flow, nominal")
    return ax


def credit_by_group(results: Results, ax: Axes | None = None, case: str = "with") -> Axes:
    """Credit earned by category group and year (stacked bars), and the credit's cash (line). [USD]

    Bars: ``lines["credit_earned"][case]`` summed over the categories of each
    group, by placed-in-service year; groups that earn nothing are left out.
    Line: ``lines["credit_cash"][case]``, the cash received (direct pay or
    transfer proceeds, after the payment lag).
    """
    s = results.scenario
    years = results.years
    title = "AMIC credit earned by asset group, and cash received"
    with _chart(ax, title, s.title, memo.footnote(s, __version__)) as ax:
        groups, earned = decompose.group_totals(results, "credit_earned", case)
        cash = np.asarray(results.lines["credit_cash"])[results.cases.index(case)]
        colors = group_colors(groups)
        shown = _span((earned.sum(axis=0) != 0) | (cash != 0), years)
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
            labels.append(f"Earned: {memo._name(g)}")
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
            labels.append(f"Cash received ({how}, {lag}-year lag)")
            style.legend_above(ax, handles, labels)
        else:
            _no_data(ax, "No property earns the credit in this scenario")
            ax.set_ylim(0, EMPTY_SPAN_USD)
        money_axis(ax)
        year_axis(ax, shown)
        ax.set_ylabel("Credit per year, nominal")
    return ax


def treasury_cost(results: Results, ax: Axes | None = None, case: str = "with") -> Axes:
    """The Treasury's cost by year, with the budget window shaded and its total written. [USD]

    Bars: ``lines["fiscal_cost"][case]`` (MODEL.md section 10: the credit's
    cost plus the income tax given up, less recapture); a negative bar is a
    year in which the Treasury collects more than under current law. The
    shaded band spans the window ``fiscal.window_start`` ..
    ``window_start + window_years - 1``; its total is ``fiscal_cost_window_usd``.
    """
    s = results.scenario
    years = results.years
    k = results.cases.index(case)
    title = "Cost to the Treasury by year"
    with _chart(ax, title, s.title, memo.footnote(s, __version__)) as ax:
        cost = np.asarray(results.lines["fiscal_cost"])[k]
        colors = np.where(cost >= 0, style.COST_COLOR, style.SAVING_COLOR)
        ax.bar(years, cost, width=0.72, color=colors, gid="fiscal-cost", zorder=2)
        fiscal = results.fiscal(case)
        start, end = fiscal["window"]
        ax.axvspan(start - 0.5, end + 0.5, color="#E9E9E9", zorder=0, lw=0, gid="fiscal-window")
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        top = max(float(cost.max()), 0.0)
        low = min(float(cost.min()), 0.0)
        span = top - low if top > low else EMPTY_SPAN_USD
        ax.set_ylim(low - 0.05 * span, top + 0.32 * span)
        rate = float(np.asarray(results.inputs.fiscal_discount_rate))
        text = (
            f"{end - start + 1}-year window {start}\u2013{end}: "
            f"{money_text(fiscal['fiscal_cost_window_usd'])}\n"
            f"PV at {_percent(rate)}, {int(years[0])}\u2013{int(years[-1])}: "
            f"{money_text(fiscal['fiscal_cost_pv_usd'])}"
        )
        mid = (max(start, years[0]) + min(end, years[-1])) / 2
        ax.text(
            mid,
            0.97,
            text,
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
        labels = [
            "Cost to the Treasury",
            "Treasury collects more",
            f"Budget window {start}\u2013{end}",
        ]
        style.legend_above(ax, handles, labels)
        money_axis(ax)
        year_axis(ax, years)
        ax.set_ylabel("Treasury cost per year, nominal")
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
    with _chart(ax, title, s.title, memo.footnote(s, __version__)) as ax:
        waterfall = decompose.pv_waterfall(results)
        rate = _percent(waterfall.discount_rate)
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
    with _chart(ax, title, s.title, memo.footnote(s, __version__)) as ax:
        groups, spend = decompose.group_totals(results, "spend", "with")
        _, placed = decompose.group_totals(results, "in_service", "with")
        total_placed = placed.sum(axis=0)
        shown = _span((spend.sum(axis=0) != 0) | (total_placed != 0), years)
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
        labels = [f"Spend: {memo._name(g)}" for g in groups] + ["Placed in service (all groups)"]
        style.legend_above(ax, handles, labels, max_cols=3)
        money_axis(ax)
        year_axis(ax, shown)
        ax.set_ylim(bottom=0)
        ax.set_ylabel("USD per year, nominal")
    return ax


# --------------------------------------------------------------------------- several scenarios


def _scenarios(n: int) -> str:
    return f"{n} scenario{'s' if n != 1 else ''}"


def _compare_height(n: int) -> float:
    return max(style.FIG_HEIGHT_IN, 2.2 + 0.42 * n)


def _common_window(results: Sequence[Results]) -> str | None:
    windows = {tuple(r.fiscal("with")["window"]) for r in results}
    if len(windows) == 1:
        start, end = next(iter(windows))
        return f"{start}\u2013{end}"
    return None


def _bar_labels(
    ax: Axes,
    y: np.ndarray,
    values: Sequence[float | None],
    texts: Sequence[str],
    gid: str,
    inside: bool = False,
) -> None:
    """Value labels of horizontal bars: past the bar's end, or (``inside``) white at its base.

    An inside label that does not fit its bar goes past the end instead.

    Call after the axis limits are final: fitting is measured in pixels.
    """
    renderer = style._renderer(ax.figure)
    for yi, v, text in zip(y, values, texts, strict=True):
        v = 0.0 if v is None or not np.isfinite(v) else v
        if inside and v > 0:
            label = ax.annotate(
                text,
                (0, yi),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=LABEL_PT,
                color="white",
                fontweight="bold",
                gid=f"inside-{gid}",
            )
            length = ax.transData.transform((v, yi))[0] - ax.transData.transform((0, yi))[0]
            if label.get_window_extent(renderer).width + 8 <= length:
                continue
            label.remove()
        ax.annotate(
            text,
            (v, yi),
            xytext=(3 if v >= 0 else -3, 0),
            textcoords="offset points",
            ha="left" if v >= 0 else "right",
            va="center",
            fontsize=LABEL_PT,
            gid=gid,
        )


def _hbar_limits(ax: Axes, values: Sequence[float]) -> None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    hi = max([0.0] + finite)
    lo = min([0.0] + finite)
    span = (hi - lo) or EMPTY_SPAN_USD
    ax.set_xlim(lo - (0.2 * span if lo < 0 else 0.0), hi + 0.2 * span)


def scenario_comparison(results: Sequence[Results], ax: Axes | None = None) -> Axes:
    """Per scenario: the owner's change in NPV and the Treasury's cost in the budget window. [USD]

    Bars: ``delta("npv_usd")`` (with minus without, PV at the scenario's
    discount rate) and ``fiscal_cost_window_usd`` (nominal, summed over the
    window), one pair per scenario, in the order given.
    """
    results = list(results)
    names = [r.scenario.name for r in results]
    window = _common_window(results)
    subtitle = "Owner's change in NPV (with minus without AMIC) and Treasury cost " + (
        f"in {window}" if window else "in each scenario's budget window"
    )
    foot = memo.footnote([r.scenario for r in results], __version__)
    with _chart(
        ax,
        "Value to the owner and cost to the Treasury, by scenario",
        subtitle,
        foot,
        _compare_height(len(results)),
    ) as ax:
        y = np.arange(len(results))[::-1].astype(float)
        h = 0.38
        d_npv = [r.delta("npv_usd") for r in results]
        cost = [r.fiscal("with")["fiscal_cost_window_usd"] for r in results]
        clean = [np.nan if v is None else v for v in d_npv]
        ax.barh(y + h / 2, clean, height=h, color=case_color("with"), gid="compare-delta-npv", zorder=2)
        ax.barh(
            y - h / 2,
            cost,
            height=h,
            color=style.COST_COLOR,
            gid="compare-fiscal-window",
            zorder=2,
        )
        _bar_labels(ax, y + h / 2, d_npv, [money_text(v, sign=True) for v in d_npv], "compare-label-npv")
        _bar_labels(ax, y - h / 2, cost, [money_text(v) for v in cost], "compare-label-cost")
        ax.set_yticks(y, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        _hbar_limits(ax, clean + cost)
        money_axis(ax, axis="x")
        rates = sorted({float(r.inputs.discount_rate[r.cases.index("with")]) for r in results})
        rate = _percent(rates[0]) if len(rates) == 1 else "each scenario's rate"
        labels = [
            f"Change in owner's NPV (PV at {rate})",
            f"Treasury cost {window or 'in window'} (nominal)",
        ]
        style.legend_above(
            ax, [Patch(facecolor=case_color("with")), Patch(facecolor=style.COST_COLOR)], labels
        )
    return ax


def breakeven_comparison(results: Sequence[Results], ax: Axes | None = None) -> Axes:
    """Per scenario: the break-even revenue per GW-year without and with the credit. [USD/GW-year]

    Bars: ``breakeven_revenue_usd_per_gw_year`` of each case (MODEL.md
    section 9: the revenue per GW-year at which NPV is zero). A dashed line
    marks the revenue the scenarios assume, when they all assume the same.
    """
    results = list(results)
    names = [r.scenario.name for r in results]
    foot = memo.footnote([r.scenario for r in results], __version__)
    subtitle = (
        f"{_scenarios(len(results))}; revenue per GW of capacity per year at which the program's NPV is zero"
    )
    with _chart(
        ax,
        "Break-even compute price, without vs with AMIC",
        subtitle,
        foot,
        _compare_height(len(results)),
    ) as ax:
        y = np.arange(len(results))[::-1].astype(float)
        h = 0.38
        handles, labels, everything = [], [], []
        series = {}
        for offset, case in ((h / 2, "without"), (-h / 2, "with")):
            values = [r.metric("breakeven_revenue_usd_per_gw_year", case) for r in results]
            clean = [np.nan if v is None else v for v in values]
            ax.barh(
                y + offset,
                clean,
                height=h,
                color=case_color(case),
                gid=f"breakeven-{case}",
                zorder=2,
            )
            series[case] = (y + offset, values)
            handles.append(Patch(facecolor=case_color(case)))
            labels.append(CASE_LABELS[case])
            everything += clean
        assumed = {
            float(np.asarray(r.inputs.revenue_usd_per_gw_year)[r.cases.index("with")]) for r in results
        }
        if len(assumed) == 1 and next(iter(assumed)) > 0:
            value = assumed.pop()
            line = ax.axvline(value, color="#000000", lw=1.2, ls=(0, (4, 2)), zorder=3, gid="assumed-revenue")
            handles.append(line)
            labels.append(f"Assumed revenue, {money_text(value, BREAKEVEN_UNIT)}")
            everything.append(value)
        ax.set_yticks(y, names)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        _hbar_limits(ax, everything)
        money_axis(ax, axis="x")
        ax.set_xlabel("Revenue per GW-year, nominal")
        for case, (yy, values) in series.items():
            _bar_labels(
                ax,
                yy,
                values,
                [money_text(v, BREAKEVEN_UNIT) for v in values],
                f"breakeven-label-{case}",
                inside=True,
            )
        style.legend_above(ax, handles, labels)
    return ax


#: The charts of one scenario's memo pack, by file stem.
SCENARIO_CHARTS = {
    "cumulative_cash_flow": cumulative_cash_flow,
    "credit_by_group": credit_by_group,
    "treasury_cost": treasury_cost,
    "pv_waterfall": pv_waterfall,
    "spend_by_group": spend_by_group,
}

#: The charts of a comparison across scenarios, by file stem.
COMPARE_CHARTS = {
    "scenario_comparison": scenario_comparison,
    "breakeven_comparison": breakeven_comparison,
}


# --------------------------------------------------------------------------- uncertainty
# Monte Carlo, tornado and sweep charts: each takes the result object of
# finmodel.analysis.montecarlo or finmodel.analysis.sensitivity and only selects its arrays
# (percentiles are the result's own summaries).

__all__ += [
    "montecarlo_fan",
    "treasury_cost_histogram",
    "tornado_chart",
    "sweep_heatmap",
    "MONTECARLO_CHARTS",
]


def _mc_subtitle(result) -> str:
    seed = "" if result.seed is None else f", seed {result.seed}"
    return f"{result.scenario.title} — {result.draws:,} draws{seed}"


def montecarlo_fan(result, ax: Axes | None = None) -> Axes:
    """Cumulative after-tax cash flow across Monte Carlo draws, without vs with the credit. [USD]

    For each case: the P5-P95 band (light), the P25-P75 band (darker) and
    the median line of ``cumsum(cash_flow)`` by year, from
    :meth:`finmodel.analysis.montecarlo.MonteCarloResult.fan`.
    """
    s = result.scenario
    years = result.years
    title = "Cumulative after-tax cash flow: range across draws"
    with _chart(ax, title, _mc_subtitle(result), memo.footnote(s, __version__)) as ax:
        handles, labels = [], []
        for case in ("without", "with"):
            fan = result.fan(case)
            color = case_color(case)
            ax.fill_between(
                years, fan["p5"], fan["p95"], color=color, alpha=0.16, lw=0, zorder=1, gid=f"fan-outer-{case}"
            )
            ax.fill_between(
                years,
                fan["p25"],
                fan["p75"],
                color=color,
                alpha=0.34,
                lw=0,
                zorder=2,
                gid=f"fan-inner-{case}",
            )
            (line,) = ax.plot(years, fan["p50"], color=color, lw=2.2, zorder=3, gid=f"fan-median-{case}")
            handles.append(line)
            labels.append(f"{CASE_LABELS[case]}: median")
        handles += [Patch(facecolor="#777777", alpha=0.34), Patch(facecolor="#777777", alpha=0.16)]
        labels += ["P25–P75", "P5–P95"]
        ax.axhline(0, color="#333333", lw=0.8, zorder=2)
        style.legend_above(ax, handles, labels, max_cols=4)
        ax.margins(y=0.06)
        money_axis(ax)
        year_axis(ax, years)
        ax.set_ylabel("Cumulative cash flow, nominal")
    return ax


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
    with _chart(ax, title, _mc_subtitle(result), memo.footnote(s, __version__)) as ax:
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
        labels.append(f"Scenario as written: {money_text(base)}")
        style.legend_above(ax, handles, labels, max_cols=1)
        money_axis(ax, axis="x")
        ax.set_xlabel(f"Treasury cost, {what}" + (", nominal" if metric == "fiscal_cost_window_usd" else ""))
        ax.set_ylabel("Draws")
    return ax


def tornado_chart(result, ax: Axes | None = None, metric: tuple[str, str] = ("npv_usd", "delta")) -> Axes:
    """Tornado: ``metric`` with each parameter at its low and high value, all else as written. [USD]

    Bars run from the scenario's value (the vertical line) to the metric at
    the parameter's low value (grey) and high value (blue), largest swing
    on top; each row names the parameter and its low / high values, each
    bar end the metric there. A parameter that does not move the metric
    says so.
    """
    from finmodel.analysis.montecarlo import ALL_METRICS
    from finmodel.analysis.uncertainty import param_label

    s = result.scenario
    unit = ALL_METRICS.get(metric[0], "-")
    bars = list(result.bars[metric])
    base = result.base[metric]
    names = {
        ("npv_usd", "delta"): "the gain in NPV from the credit (with − without)",
        ("fiscal_cost_window_usd", "with"): "the Treasury's cost of the credit, budget window",
    }
    what = names.get(metric, f"{metric[0]} ({metric[1]})")
    title = f"What moves it: {what}"
    height = max(style.FIG_HEIGHT_IN, 2.0 + 0.45 * len(bars))
    with _chart(ax, title, s.title, memo.footnote(s, __version__), height=height) as ax:
        y = np.arange(len(bars))[::-1]
        low_color, high_color = style.NEUTRAL_COLOR, style.OKABE_ITO["blue"]
        ends = [base] + [v for b in bars for v in (b.at_low, b.at_high) if np.isfinite(v)]
        span = (max(ends) - min(ends)) or EMPTY_SPAN_USD
        tiny = 5e-4 * span
        ticks = []
        for yi, b in zip(y, bars, strict=True):
            lo_text = _param_text(b.parameter, b.low)
            hi_text = _param_text(b.parameter, b.high)
            if " from " in lo_text and lo_text.split(" from ")[1] == hi_text.split(" from ")[-1]:
                lo_text = lo_text.split(" from ")[0]  # "28% / 42% from 2026"
            ticks.append(f"{param_label(b.parameter)}\n{lo_text} / {hi_text}")
            moved = False
            for value, color, side in ((b.at_low, low_color, "low"), (b.at_high, high_color, "high")):
                if not np.isfinite(value) or abs(value - base) <= tiny:
                    continue
                moved = True
                ax.barh(
                    yi,
                    value - base,
                    left=base,
                    height=0.62,
                    color=color,
                    zorder=2,
                    gid=f"tornado-{side}-{b.parameter}",
                )
                right = value >= base
                ax.annotate(
                    fmt.metric(value, unit, delta=metric[1] == "delta", minus=MINUS),
                    (value, yi),
                    xytext=(3 if right else -3, 0),
                    textcoords="offset points",
                    ha="left" if right else "right",
                    va="center",
                    fontsize=LABEL_PT,
                    gid=f"tornado-label-{side}-{b.parameter}",
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
                    gid=f"tornado-none-{b.parameter}",
                )
        ax.axvline(base, color="#222222", lw=1.0, zorder=3, gid="tornado-base")
        ax.set_yticks(y, ticks, fontsize=LABEL_PT + 0.5, linespacing=1.15)
        ax.tick_params(axis="y", length=0)
        ax.set_xlim(min(ends) - 0.3 * span, max(ends) + 0.3 * span)
        ax.set_ylim(-0.7, len(bars) - 0.3)
        ax.grid(False, axis="y")
        money_axis(ax, axis="x")
        base_text = fmt.metric(base, unit, delta=metric[1] == "delta", minus=MINUS)
        ax.set_xlabel(f"Scenario as written: {base_text} (vertical line)")
        style.legend_above(
            ax,
            [Patch(facecolor=low_color), Patch(facecolor=high_color)],
            ["Parameter at its low value", "Parameter at its high value"],
        )
    return ax


def sweep_heatmap(result, ax: Axes | None = None) -> Axes:
    """A metric over a grid of two parameters (one row if only ``x`` is swept), cell values printed.

    Colours: the metric, from :attr:`finmodel.analysis.sensitivity.SweepResult.values`;
    blue for the higher values. Money in $B.
    """
    from matplotlib.colors import Normalize

    from finmodel.analysis.montecarlo import ALL_METRICS
    from finmodel.analysis.sensitivity import CASE_LABELS as SWEEP_CASES
    from finmodel.analysis.sensitivity import METRIC_LABELS
    from finmodel.analysis.uncertainty import param_label

    s = result.scenario
    grid = np.asarray(result.values, dtype=float)
    unit = ALL_METRICS.get(result.metric, "")
    name = METRIC_LABELS.get(result.metric, result.metric)
    title = f"{name} ({SWEEP_CASES[result.case]}) by {param_label(result.x_path).lower()}" + (
        f" and {param_label(result.y_path).lower()}" if result.y_path else ""
    )
    ny, nx = grid.shape
    height = max(3.2, min(8.0, 1.9 + 0.42 * ny))
    with _chart(ax, title, s.title, memo.footnote(s, __version__), height=height) as ax:
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
            return fmt.metric(v if np.isfinite(v) else None, unit, delta=result.case == "delta", minus=MINUS)

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
        ax.set_xticks(np.arange(nx), [_param_text(result.x_path, v) for v in result.x_values])
        ax.set_xlabel(param_label(result.x_path))
        if result.y_path:
            ax.set_yticks(np.arange(ny), [_param_text(result.y_path, v) for v in result.y_values])
            ax.set_ylabel(param_label(result.y_path))
        else:
            ax.set_yticks([])
        ax.tick_params(length=0)
        ax.grid(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
        del image
    return ax


#: The charts of ``finmodel montecarlo``, by file stem.
MONTECARLO_CHARTS = {
    "montecarlo_fan": montecarlo_fan,
    "treasury_cost_histogram": treasury_cost_histogram,
}
