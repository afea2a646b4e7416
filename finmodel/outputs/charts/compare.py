"""Charts across scenarios: value to the owner against cost to the Treasury, and break-even prices.

Each takes a sequence of :class:`~finmodel.engine.model.Results` with one
year grid; see :mod:`finmodel.outputs.charts`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.patches import Patch

from finmodel.engine.model import METRICS, Results
from finmodel.outputs import style
from finmodel.outputs.charts.frame import (
    EMPTY_SPAN_USD,
    LABEL_PT,
    case_label,
    chart_frame,
    grow_for_legend,
    percent_text,
)
from finmodel.outputs.style import case_color, money_axis, money_text

__all__ = ["scenario_comparison", "breakeven_comparison"]

BREAKEVEN_UNIT = METRICS["breakeven_revenue_usd_per_gw_year"]


def _scenarios(n: int) -> str:
    return f"{n} scenario{'s' if n != 1 else ''}"


def _compare_height(n: float) -> float:
    return max(style.FIG_HEIGHT_IN, 2.2 + 0.42 * n)


def _row_positions(sizes: Sequence[float]) -> np.ndarray:
    """Centres of rows of the given heights, top to bottom, the last centred at 0 (equal rows: n-1 .. 0)."""
    sizes = np.asarray(sizes, dtype=float)
    tops = np.concatenate([[0.0], np.cumsum(sizes)[:-1]])
    centres = -(tops + sizes / 2)
    return centres - centres[-1]


@contextlib.contextmanager
def _scenario_rows(
    ax: Axes | None,
    title: str,
    subtitle: str,
    results: Sequence[Results],
    labels: Sequence[str] | None = None,
    sizes: Sequence[float] | None = None,
) -> Iterator[tuple[Axes, np.ndarray]]:
    """A chart with a row per scenario (or per ``labels``, rows ``sizes`` high), top to bottom in the
    order given: yields the Axes and the rows' y positions, with the scenario names (``labels``) as
    row labels, a vertical grid and a zero line."""
    scenarios = [r.scenario for r in results]
    labels = [s.label for s in scenarios] if labels is None else list(labels)
    sizes = [1.0] * len(labels) if sizes is None else list(sizes)
    with chart_frame(ax, title, subtitle, scenarios, _compare_height(sum(sizes))) as ax:
        y = _row_positions(sizes)
        ax.set_yticks(y, labels)
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y[-1] - sizes[-1] / 2 - 0.1, y[0] + sizes[0] / 2 + 0.1)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        yield ax, y


def _row_label_width(ax: Axes) -> float:
    """The width of the widest row label [inch]: kept free of a legend with many entries (charts of
    scenarios with ``cases:``; the two-case charts keep their layout)."""
    renderer = style.figure_renderer(ax.figure)
    widths = [t.get_window_extent(renderer).width for t in ax.get_yticklabels() if t.get_text()]
    return max(widths, default=0.0) / ax.figure.dpi


def _all_cases(results: Sequence[Results]) -> list[str]:
    """Every case of the scenarios, in the order they first appear."""
    return list(dict.fromkeys(c for r in results for c in r.cases))


def _case_legend(results: Sequence[Results], cases: Sequence[str]) -> tuple[list[Patch], list[str]]:
    """Legend entries for ``cases`` in each scenario's own case colours (as in its memo pack); a case
    name coloured differently in two scenarios gets an entry per scenario."""
    entries: dict[tuple[str, str], list[str]] = {}
    for case in cases:
        for r in results:
            if case in r.cases:
                color = style.case_colors(r.cases)[case]
                entries.setdefault((case, color), []).append(r.scenario.label)
    names = [case for case, _ in entries]
    handles, labels = [], []
    for (case, color), scenarios in entries.items():
        handles.append(Patch(facecolor=color))
        alone = names.count(case) == 1
        labels.append(case_label(case) + ("" if alone else f" ({', '.join(scenarios)})"))
    return handles, labels


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
    bar_colors: Sequence[str] | None = None,
) -> None:
    """Value labels of horizontal bars: past the bar's end, or (``inside``) white at its base.

    An inside label that does not fit its bar goes past the end instead.

    Call after the axis limits are final: fitting is measured in pixels.
    """
    renderer = style.figure_renderer(ax.figure)
    colors = [None] * len(texts) if bar_colors is None else list(bar_colors)
    top = max((abs(v) for v in values if v is not None and np.isfinite(v)), default=0.0)
    for yi, v, text, bar_color in zip(y, values, texts, colors, strict=True):
        v = 0.0 if v is None or not np.isfinite(v) or abs(v) < TINY_BAR * top else v
        if inside and v > 0:
            label = ax.annotate(
                text,
                (0, yi),
                xytext=(4, 0),
                textcoords="offset points",
                ha="left",
                va="center",
                fontsize=LABEL_PT,
                color=_text_on(bar_color),
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


def _text_on(bar_color: str | None) -> str:
    """White on a dark bar, near-black on a light one (relative luminance over 0.3, WCAG 2)."""
    if bar_color is None:
        return "white"
    rgb = np.array(to_rgb(bar_color))
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return style.TEXT_COLOR if float(linear @ [0.2126, 0.7152, 0.0722]) > 0.3 else "white"


#: A bar shorter than this fraction of the longest is drawn but counts as zero for the axis limits
#: and its label goes right of zero (a -$0.1B beside $400B bars would otherwise widen the axis).
TINY_BAR = 0.01


def _hbar_limits(ax: Axes, values: Sequence[float], pad: float = 0.2) -> None:
    """x limits from 0 and the values, ``pad`` of the span beyond the ends for value labels."""
    finite = [v for v in values if v is not None and np.isfinite(v)]
    top = max((abs(v) for v in finite), default=0.0)
    finite = [v for v in finite if abs(v) >= TINY_BAR * top]
    hi = max([0.0] + finite)
    lo = min([0.0] + finite)
    span = (hi - lo) or EMPTY_SPAN_USD
    ax.set_xlim(lo - (pad * span if lo < 0 else 0.0), hi + pad * span)


def _value_rows(results: Sequence[Results]) -> list[tuple[Results, str, str]]:
    """The rows of :func:`scenario_comparison`: each scenario's cases but ``without``, with row labels
    (the scenario's label; with its case's label below where the scenario has ``cases:``)."""
    rows = []
    for r in results:
        named = [c for c in r.cases if c != "without"]
        for case in named:
            label = r.scenario.label if len(named) == 1 else f"{r.scenario.label}\n{case_label(case)}"
            rows.append((r, case, label))
    return rows


def _rate_text(rates: Sequence[float], each: str) -> str:
    """``10%`` when every scenario uses one rate, else ``each``."""
    rates = sorted({float(x) for x in rates})
    return percent_text(rates[0]) if len(rates) == 1 else each


WINDOW_COLOR = "#F4B183"  #: the nominal window cost: a light tint of the cost colour, a panel of its own
WINDOW_EDGE = style.COST_COLOR
PV_PANEL, WINDOW_PANEL = 2.6, 1.6  #: widths of the two panels of :func:`scenario_comparison` (ratio)


def _window_axes(ax: Axes) -> Axes:
    """A panel right of ``ax`` sharing its rows: ``ax``'s grid cell split in two (or an inset)."""
    spec = ax.get_subplotspec()
    if spec is None:
        return ax.inset_axes([1.0 + 0.12, 0.0, WINDOW_PANEL / PV_PANEL, 1.0], sharey=ax)
    cells = spec.subgridspec(1, 2, width_ratios=[PV_PANEL, WINDOW_PANEL], wspace=0.08)
    ax.set_subplotspec(cells[0])
    return ax.figure.add_subplot(cells[1], sharey=ax)


def _panel_legend(ax: Axes, handles, labels, title: str, left_in: float = 0.0, right: bool = False):
    """A legend above one panel with the panel's name as its title, flush left, one entry a row."""
    legend = style.legend_above(ax, handles, labels, max_cols=1, left_in=left_in)
    legend.set_title(title, prop={"weight": "bold", "size": style.SUBTITLE_PT})
    legend._legend_box.align = "left"
    if right:  # a narrow panel: the legend ends at the panel's right edge and may reach left of it
        legend.set_loc("lower right")
        legend.set_bbox_to_anchor((1.0, 1.01), transform=ax.transAxes)
    return legend


def scenario_comparison(results: Sequence[Results], ax: Axes | None = None) -> Axes:
    """Per scenario and case: the owner's change in NPV beside the Treasury's cost, both in present
    value; the Treasury's nominal cost in the budget window on a panel of its own. [USD]

    Left panel (``ax``, returned): ``npv_usd`` of the case minus ``without``
    (``delta("npv_usd")`` for ``with``; PV at the scenario's
    ``finance.discount_rate``), in the case's colour, and the case's
    ``fiscal_cost_pv_usd`` (PV at ``fiscal.discount_rate``). Right panel
    (sharing the rows): ``fiscal_cost_window_usd``, nominal, summed over the
    budget window. One row per scenario, in the order given, and one per
    case of a scenario with ``cases:``; rows are the scenarios' labels.
    """
    results = list(results)
    rows = _value_rows(results)
    many = len(rows) > len(results)
    window = _common_window(results)
    rate = _rate_text(
        [r.inputs.discount_rate[r.cases.index("with")] for r in results], "each scenario's rate"
    )
    fiscal_rate = _rate_text(
        [np.ravel(r.inputs.fiscal_discount_rate)[0] for r in results], "each scenario's fiscal rate"
    )
    subtitle = (
        f"Left, present values: the owner's change in NPV (each case against {case_label('without')}, "
        f"at {rate}) beside the Treasury's cost (at {fiscal_rate}). Right: the Treasury's cost "
        + (f"in {window}" if window else "in each scenario's budget window")
        + ", nominal, as a budget scores it"
    )
    if many and any(_has_guarantee(r, c) for r, c, _ in rows):
        subtitle += "; NPV before financing, so a loan guarantee alone does not change it"
    title = "Value to the owner and cost to the Treasury, by scenario"
    own = ax is None
    labels = [label for _, _, label in rows]
    sizes = [1.0] * len(rows)
    with chart_frame(ax, title, subtitle, [r.scenario for r in results], _compare_height(len(rows))) as ax:
        wax = _window_axes(ax)
        y = _row_positions(sizes)
        for a in (ax, wax):
            a.tick_params(axis="y", length=0)
            a.grid(axis="y", visible=False)
            a.grid(axis="x", visible=True)
            a.axvline(0, color="#333333", lw=0.8, zorder=3)
        ax.set_yticks(y, labels)
        ax.set_ylim(y[-1] - 0.6, y[0] + 0.6)
        wax.tick_params(axis="y", labelleft=False)
        h = 0.38
        d_npv = [_npv_change(r, c) for r, c, _ in rows]
        pv_cost = [r.fiscal(c)["fiscal_cost_pv_usd"] for r, c, _ in rows]
        window_cost = [r.fiscal(c)["fiscal_cost_window_usd"] for r, c, _ in rows]
        clean = [np.nan if v is None else v for v in d_npv]
        ax.barh(
            y + h / 2,
            clean,
            height=h,
            color=[style.case_colors(r.cases)[c] for r, c, _ in rows],
            gid="compare-delta-npv",
            zorder=2,
        )
        ax.barh(y - h / 2, pv_cost, height=h, color=style.COST_COLOR, gid="compare-fiscal-pv", zorder=2)
        wax.barh(
            y,
            window_cost,
            height=h,
            color=WINDOW_COLOR,
            edgecolor=WINDOW_EDGE,
            linewidth=0.8,
            hatch="////",
            gid="compare-fiscal-window",
            zorder=2,
        )
        _hbar_limits(ax, clean + pv_cost, pad=0.3)
        _hbar_limits(wax, window_cost, pad=0.85)
        money_axis(ax, axis="x", nbins=4)
        money_axis(wax, axis="x", nbins=3)
        _bar_labels(ax, y + h / 2, d_npv, [money_text(v, sign=True) for v in d_npv], "compare-label-npv")
        _bar_labels(ax, y - h / 2, pv_cost, [money_text(v) for v in pv_cost], "compare-label-pv")
        _bar_labels(wax, y, window_cost, [money_text(v) for v in window_cost], "compare-label-window")
        if many:
            handles, names = _case_legend(results, list(dict.fromkeys(c for _, c, _ in rows)))
            names = [f"{n}: change in NPV" for n in names]
        else:
            handles, names = [Patch(facecolor=case_color("with"))], [f"Owner's change in NPV, at {rate}"]
        handles.append(Patch(facecolor=style.COST_COLOR))
        names.append(f"Treasury cost, at {fiscal_rate}")
        ax.set_xlabel(f"PV: owner's at {rate}, Treasury's at {fiscal_rate}")
        wax.set_xlabel("Not discounted")
        left = _row_label_width(ax)
        legend = _panel_legend(ax, handles, names, "Present value", left_in=left)
        _panel_legend(
            wax,
            [Patch(facecolor=WINDOW_COLOR, edgecolor=WINDOW_EDGE, hatch="////")],
            ["Treasury cost"],
            f"Nominal, {window}" if window else "Nominal, budget window",
            left_in=left,
            right=True,
        )
        if own:
            grow_for_legend(ax.figure, legend, len(handles) + 1, rows=3)
    return ax


def _npv_change(r: Results, case: str) -> float | None:
    """``npv_usd`` of ``case`` minus ``without`` (``delta("npv_usd")`` for ``with``). [USD]"""
    if case == "with":
        return r.delta("npv_usd")
    a, b = r.metric("npv_usd", case), r.metric("npv_usd", "without")
    return None if a is None or b is None else a - b


def _has_guarantee(r: Results, case: str) -> bool:
    return bool(np.ravel(r.inputs.guarantee)[r.cases.index(case)])


def breakeven_comparison(results: Sequence[Results], ax: Axes | None = None) -> Axes:
    """Per scenario: the break-even revenue per GW-year of each case. [USD/GW-year]

    Bars: ``breakeven_revenue_usd_per_gw_year`` of each case (MODEL.md
    section 9: the revenue per GW-year at which NPV is zero), in the case's
    colour; a scenario with ``cases:`` gets a bar per case. A dashed line
    marks the revenue the scenarios assume, when they all assume the same.
    """
    results = list(results)
    subtitle = (
        f"{_scenarios(len(results))}; revenue per GW of capacity per year at which the program's NPV is zero"
    )
    cases = _all_cases(results)
    title = "Break-even compute price, without vs with AMIC"
    if len(cases) > 2:
        title = "Break-even compute price, by case"
    h = 0.38
    sizes = [h * len(r.cases) + 0.24 for r in results]
    with _scenario_rows(ax, title, subtitle, results, sizes=sizes) as (ax, y):
        handles, labels, everything = [], [], []
        series = {}
        for case in cases:
            rows = [i for i, r in enumerate(results) if case in r.cases]
            offsets = [h * ((len(results[i].cases) - 1) / 2 - results[i].cases.index(case)) for i in rows]
            yy = np.array([y[i] + o for i, o in zip(rows, offsets, strict=True)])
            values = [results[i].metric("breakeven_revenue_usd_per_gw_year", case) for i in rows]
            clean = [np.nan if v is None else v for v in values]
            ax.barh(
                yy,
                clean,
                height=h,
                color=[style.case_colors(results[i].cases)[case] for i in rows],
                gid=f"breakeven-{case}",
                zorder=2,
            )
            series[case] = (yy, values, [style.case_colors(results[i].cases)[case] for i in rows])
            everything += clean
        handles, labels = _case_legend(results, cases)
        assumed = {
            float(np.asarray(r.inputs.revenue_usd_per_gw_year)[r.cases.index("with")]) for r in results
        }
        if len(assumed) == 1 and next(iter(assumed)) > 0:
            value = assumed.pop()
            line = ax.axvline(value, color="#000000", lw=1.2, ls=(0, (4, 2)), zorder=3, gid="assumed-revenue")
            handles.append(line)
            labels.append(f"Assumed revenue, {money_text(value, BREAKEVEN_UNIT)}")
            everything.append(value)
        _hbar_limits(ax, everything)
        money_axis(ax, axis="x")
        ax.set_xlabel("Revenue per GW-year, nominal")
        for case, (yy, values, bar_colors) in series.items():
            _bar_labels(
                ax,
                yy,
                values,
                [money_text(v, BREAKEVEN_UNIT) for v in values],
                f"breakeven-label-{case}",
                inside=True,
                bar_colors=bar_colors,
            )
        style.legend_above(ax, handles, labels, left_in=_row_label_width(ax) if len(cases) > 2 else 0.0)
    return ax
