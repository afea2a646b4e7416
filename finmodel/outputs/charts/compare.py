"""Charts across scenarios: value to the owner against cost to the Treasury, and break-even prices.

Each takes a sequence of :class:`~finmodel.engine.model.Results` with one
year grid; see :mod:`finmodel.outputs.charts`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from finmodel.engine.model import METRICS, Results
from finmodel.outputs import style
from finmodel.outputs.charts.frame import (
    CASE_LABELS,
    EMPTY_SPAN_USD,
    LABEL_PT,
    chart_frame,
    percent_text,
)
from finmodel.outputs.style import case_color, money_axis, money_text

__all__ = ["scenario_comparison", "breakeven_comparison"]

BREAKEVEN_UNIT = METRICS["breakeven_revenue_usd_per_gw_year"]


def _scenarios(n: int) -> str:
    return f"{n} scenario{'s' if n != 1 else ''}"


def _compare_height(n: int) -> float:
    return max(style.FIG_HEIGHT_IN, 2.2 + 0.42 * n)


@contextlib.contextmanager
def _scenario_rows(
    ax: Axes | None, title: str, subtitle: str, results: Sequence[Results]
) -> Iterator[tuple[Axes, np.ndarray]]:
    """A chart with a row per scenario, top to bottom in the order given: yields the Axes and the
    rows' y positions, with the scenario names as row labels, a vertical grid and a zero line."""
    scenarios = [r.scenario for r in results]
    with chart_frame(ax, title, subtitle, scenarios, _compare_height(len(results))) as ax:
        y = np.arange(len(results))[::-1].astype(float)
        ax.set_yticks(y, [s.name for s in scenarios])
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y.min() - 0.6, y.max() + 0.6)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        yield ax, y


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
    renderer = style.figure_renderer(ax.figure)
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
    window = _common_window(results)
    subtitle = "Owner's change in NPV (with minus without AMIC) and Treasury cost " + (
        f"in {window}" if window else "in each scenario's budget window"
    )
    title = "Value to the owner and cost to the Treasury, by scenario"
    with _scenario_rows(ax, title, subtitle, results) as (ax, y):
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
        _hbar_limits(ax, clean + cost)
        money_axis(ax, axis="x")
        rates = sorted({float(r.inputs.discount_rate[r.cases.index("with")]) for r in results})
        rate = percent_text(rates[0]) if len(rates) == 1 else "each scenario's rate"
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
    subtitle = (
        f"{_scenarios(len(results))}; revenue per GW of capacity per year at which the program's NPV is zero"
    )
    title = "Break-even compute price, without vs with AMIC"
    with _scenario_rows(ax, title, subtitle, results) as (ax, y):
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
