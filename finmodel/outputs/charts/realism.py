"""Capacity in service and where the credit's value goes (MODEL.md sections 17-18).

See :mod:`finmodel.outputs.charts` for the conventions every chart follows.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from finmodel.analysis.realism import value_split
from finmodel.engine.model import Results
from finmodel.outputs import style
from finmodel.outputs.charts.compare import _bar_labels, _hbar_limits
from finmodel.outputs.charts.frame import LABEL_PT, case_label, chart_frame, no_data, percent_text
from finmodel.outputs.style import money_axis, money_text

__all__ = ["capacity_in_service", "capacity_comparison", "credit_value_split", "has_value_split"]

PROGRAM_COLOR = style.OKABE_ITO["blue"]  #: the program's share of the credit's value
OWNERS_COLOR = style.OKABE_ITO["orange"]  #: what other owners keep
BUYERS_COLOR = style.OKABE_ITO["reddish_purple"]  #: what buyers of transferred credits gain
SCENARIO_LINE_COLORS = (
    style.OKABE_ITO["blue"],
    style.OKABE_ITO["orange"],
    style.OKABE_ITO["bluish_green"],
    style.OKABE_ITO["reddish_purple"],
    style.OKABE_ITO["sky_blue"],
    style.OKABE_ITO["vermillion"],
    style.NEUTRAL_COLOR,
)


def _gw_axis(ax: Axes, top: float) -> None:
    ax.set_ylim(0, max(top, 1.0) * 1.12)
    ax.set_ylabel("Capacity in service, GW")
    ax.yaxis.set_major_formatter(lambda x, pos: f"{x:.0f}")


def _capacity_text(results: Results) -> str:
    inp = results.inputs
    if not inp.refresh_any:
        return "retired servers not replaced"
    last = int(np.asarray(inp.refresh_last_year))
    return f"retired servers replaced through {min(last, int(results.years[-1]))}"


def _capacity_labels(ax: Axes, years: np.ndarray, gw: np.ndarray, target: float) -> None:
    """The program's target as a dashed line, and the peak's value and year."""
    ax.axhline(target, color=style.NEUTRAL_COLOR, lw=1.0, ls="--", gid="capacity-target")
    ax.annotate(
        f"program: {target:g} GW",
        (years[0], target),
        xytext=(0, 3),
        textcoords="offset points",
        fontsize=LABEL_PT,
        color=style.MUTED_TEXT,
        va="bottom",
    )
    peak = int(np.argmax(gw))
    ax.annotate(
        f"peak {gw[peak]:.1f} GW in {int(years[peak])}",
        (years[peak], gw[peak]),
        xytext=(0, 7),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=LABEL_PT,
        color=style.TEXT_COLOR,
        gid="capacity-peak",
    )


def capacity_in_service(results: Results, ax: Axes | None = None) -> Axes:
    """Capacity in service by year (GW; MODEL.md sections 6 and 17), beside the program's target.

    The capacity is the same in every case (the credit does not change what
    is built), so one line is drawn.
    """
    years = results.years
    gw = np.asarray(results.lines["operating_gw"])[0]
    target = float(np.asarray(results.inputs.capacity_gw))
    with chart_frame(
        ax, f"Capacity in service, {_capacity_text(results)}", results.scenario.title, results.scenario
    ) as ax:
        ax.plot(years, gw, color=style.OKABE_ITO["blue"], lw=2.0, marker="o", ms=3, gid="capacity-line")
        if target == 0 or not np.any(gw > 0):
            no_data(ax, "The scenario delivers no capacity (program.capacity_gw is 0)")
        else:
            _capacity_labels(ax, years, gw, target)
        _gw_axis(ax, max(target, float(gw.max())))
        style.year_axis(ax, years)
        ax.grid(axis="y", visible=True)
    return ax


def capacity_comparison(results: Sequence[Results], ax: Axes | None = None) -> Axes:
    """Capacity in service by year for each scenario (GW): with and without refresh side by side.

    Scenarios whose capacity is the same in every year share one line, labelled with all their
    labels (``label:``).
    """
    scenarios = [r.scenario for r in results]
    years = results[0].years
    series: list[tuple[np.ndarray, list[str], bool]] = []  # (GW by year, scenario labels, refreshed)
    gids: list[str] = []  # the first scenario's name on each line
    for r in results:
        gw = np.asarray(r.lines["operating_gw"])[0]
        for values, names, _ in series:
            if values.shape == gw.shape and np.allclose(values, gw, rtol=1e-9, atol=1e-9):
                names.append(r.scenario.label)
                break
        else:
            series.append((gw, [r.scenario.label], bool(r.inputs.refresh_any)))
            gids.append(r.scenario.name)
    top = max(float(values.max()) for values, _, _ in series)
    height = style.FIG_HEIGHT_IN + 0.2 * max(0, len(series) - 2)
    with chart_frame(
        ax,
        "Capacity in service by scenario",
        f"{len(results)} scenarios; GW of IT load in service each year",
        scenarios,
        height,
    ) as ax:
        handles, labels = [], []
        for i, (values, names, refreshed) in enumerate(series):
            color = SCENARIO_LINE_COLORS[i % len(SCENARIO_LINE_COLORS)]
            dash = ("-", "--", ":", "-.")[(i // len(SCENARIO_LINE_COLORS)) % 4]
            (line,) = ax.plot(years, values, color=color, ls=dash, lw=2.0, gid=f"capacity-{gids[i]}")
            handles.append(line)
            shown = "; ".join(names[:2]) + (f" and {len(names) - 2} more" if len(names) > 2 else "")
            labels.append(f"{shown} ({'servers replaced' if refreshed else 'not replaced'})")
        _gw_axis(ax, top)
        style.year_axis(ax, years)
        ax.grid(axis="y", visible=True)
        style.legend_above(ax, handles, labels, max_cols=1)
    return ax


def has_value_split(results: Results) -> bool:
    """Whether the credit's value is shared with others: other owners (incidence) or credit buyers."""
    return bool(results.inputs.incidence) or bool(np.any(np.asarray(results.inputs.transfer)))


def credit_value_split(results: Results, ax: Axes | None = None) -> Axes:
    """Where each case's gain goes: the program, other owners, buyers of transferred credits. [USD, PV]

    One stacked bar per case with a credit (PV at ``finance.discount_rate``),
    and under it the Treasury's cost of the case (PV at
    ``fiscal.discount_rate``), which incidence does not change.
    """
    cases = [c for c in results.cases if c != "without" and (results.metric("credit_earned_usd", c) or 0) > 0]
    splits = [value_split(results, c) for c in cases]
    rate = percent_text(splits[0].discount_rate) if splits else ""
    fiscal_rate = percent_text(float(np.ravel(results.inputs.fiscal_discount_rate)[0]))
    height = max(3.6, 2.6 + 1.0 * len(cases))
    with chart_frame(
        ax,
        "Who gets the credit's value, and what it costs the Treasury",
        results.scenario.title,
        results.scenario,
        height,
    ) as ax:
        h = 0.34
        y = np.arange(len(cases))[::-1] * 1.0
        program = np.array([s.program_usd for s in splits])
        owners = np.array([s.third_party_usd for s in splits])
        buyers = np.array([s.buyers_usd for s in splits])
        cost = np.array([s.treasury_pv_usd for s in splits])
        top = y + h / 2 + 0.02
        ax.barh(top, program, height=h, color=PROGRAM_COLOR, gid="split-program", zorder=2)
        ax.barh(top, owners, left=program, height=h, color=OWNERS_COLOR, gid="split-owners", zorder=2)
        ax.barh(
            top, buyers, left=program + owners, height=h, color=BUYERS_COLOR, gid="split-buyers", zorder=2
        )
        ax.barh(top - h - 0.04, cost, height=h, color=style.COST_COLOR, gid="split-cost", zorder=2)
        total = program + owners + buyers
        _hbar_limits(ax, list(total) + list(cost) + list(program))
        money_axis(ax, axis="x")
        for yi, p, o, b in zip(top, program, owners, buyers, strict=True):
            parts = [f"program {money_text(p)}"]
            if o:
                parts.append(f"other owners {money_text(o)}")
            if b:
                parts.append(f"credit buyers {money_text(b)}")
            ax.annotate(
                "; ".join(parts),
                (0, yi + h / 2 + 0.03),
                xytext=(3, 0),
                textcoords="offset points",
                ha="left",
                va="bottom",
                fontsize=LABEL_PT,
                color=style.TEXT_COLOR,
                gid="split-label",
            )
        _bar_labels(ax, top - h - 0.04, cost, [money_text(c) for c in cost], "split-label-cost")
        ax.set_yticks(y, [case_label(c) for c in cases])
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y.min() - h * 1.5 - 0.25, y.max() + h + 0.45)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        handles = [Patch(facecolor=PROGRAM_COLOR)]
        labels = [f"Kept by the program: change in its NPV (PV at {rate})"]
        if owners.any():
            handles.append(Patch(facecolor=OWNERS_COLOR))
            labels.append("Kept by other owners of the property (not passed on in prices)")
        if buyers.any():
            handles.append(Patch(facecolor=BUYERS_COLOR))
            labels.append("Gained by buyers of transferred credits (face value less price)")
        handles.append(Patch(facecolor=style.COST_COLOR))
        labels.append(f"Cost to the Treasury, the same whoever gets the credit (PV at {fiscal_rate})")
        style.legend_above(ax, handles, labels, max_cols=1)
    return ax
