"""The credit against the loan guarantee: each case's value to the program beside its Treasury cost.

See :mod:`finmodel.outputs.charts` for the conventions every chart follows.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from finmodel.core import format as fmt
from finmodel.engine.model import Results
from finmodel.outputs import memo, style
from finmodel.outputs.charts.compare import _bar_labels, _hbar_limits
from finmodel.outputs.charts.frame import CASE_LABELS, LABEL_PT, chart_frame, percent_text
from finmodel.outputs.style import case_color, money_axis, money_text

__all__ = ["credit_vs_guarantee", "value_and_cost", "value_and_cost_across_draws"]


SUBSIDY_COLOR = style.OKABE_ITO["reddish_purple"]  #: the guarantee's budget score (FCRA)


def value_and_cost(
    results: Results,
) -> tuple[tuple[str, ...], list[float | None], list[float], list[float | None]]:
    """Per case but ``without``: the program's gain, the Treasury's cost and the guarantee's subsidy cost.

    The gain is the change in equity NPV against ``without`` where the
    program borrows (else in NPV), the cost ``fiscal_cost_pv_usd``, the
    subsidy cost ``guarantee_subsidy_cost_pv_usd`` (None where the case has
    no guarantee). [USD]
    """
    metric = "equity_npv_usd" if "equity_npv_usd" in results.metrics else "npv_usd"
    cases = tuple(c for c in results.cases if c != "without")
    base = results.metric(metric, "without")
    gains = [
        None if results.metric(metric, c) is None or base is None else results.metric(metric, c) - base
        for c in cases
    ]
    costs = [results.fiscal(c)["fiscal_cost_pv_usd"] for c in cases]
    guaranteed = np.ravel(results.inputs.guarantee)
    subsidy = [
        results.metric("guarantee_subsidy_cost_pv_usd", c) if guaranteed[results.cases.index(c)] else None
        for c in cases
    ]
    return cases, gains, costs, subsidy


def case_label(case: str) -> str:
    """A case's name on a chart: ``with`` is the credit, other names as written (``_`` as spaces)."""
    if case in CASE_LABELS:
        return CASE_LABELS[case]
    return case.replace("_", " ").capitalize()


def _per_dollar(gain: float | None, cost: float | None) -> str:
    if gain is None or cost is None or not np.isfinite(cost) or abs(cost) < 1e6:
        return "n/a"
    return f"${gain / cost:,.2f}".replace("-", fmt.MINUS)


def _ratio_text(gain: float | None, cost: float, subsidy: float | None, credit: bool) -> str:
    """The gain per dollar of Treasury cost; for a guarantee alone, also per dollar of its budget score."""
    text = f"gain per $1 of Treasury cost: {_per_dollar(gain, cost)}"
    if subsidy is not None and not credit:
        text += f"; per $1 of FCRA subsidy cost: {_per_dollar(gain, subsidy)}"
    return text


BAR_IN = 0.26  #: height of one bar of a case's group [axis units]


def _layout(results: Results, subsidy) -> tuple[str, str, int, float]:
    """Both charts' common figures: the owner's and the Treasury's discount rates as text, the bars
    of a case's group (2, or 3 with a guarantee's subsidy cost) and the height that fits them."""
    inputs = results.inputs
    rate = percent_text(float(np.ravel(inputs.equity_discount_rate)[results.cases.index("with")]))
    fiscal_rate = percent_text(float(np.ravel(inputs.fiscal_discount_rate)[0]))
    bars = 3 if any(x is not None for x in subsidy) else 2
    return rate, fiscal_rate, bars, (0.3 * bars + 0.35)


def _group_rows(n_cases: int, bars: int) -> tuple[float, np.ndarray, np.ndarray]:
    """The spacing of the case groups, their centres (first case on top) and their top bars' y."""
    step = BAR_IN * bars + 0.42
    y = (np.arange(n_cases)[::-1] * step).astype(float)
    return step, y, y + BAR_IN * (bars - 1) / 2


def _case_axes(ax: Axes, cases, y: np.ndarray, step: float) -> None:
    """Case names on the y axis, a line at zero, vertical grid lines only."""
    ax.set_yticks(y, [case_label(c) for c in cases])
    ax.tick_params(axis="y", length=0)
    ax.set_ylim(y.min() - step / 2 - 0.1, y.max() + step / 2)
    ax.axvline(0, color="#333333", lw=0.8, zorder=3)
    ax.grid(axis="y", visible=False)
    ax.grid(axis="x", visible=True)


def _legend_texts(levered: bool, rate: str, fiscal_rate: str, subsidy: bool) -> list[str]:
    """What the value, cost and (with a guarantee) subsidy bars are, with their discount rates."""
    what = "equity NPV" if levered else "NPV"
    texts = [
        f"Value to the program: change in {what} against neither (PV at {rate})",
        f"Cost to the Treasury: credit, tax changes, defaults less fees (PV at {fiscal_rate})",
    ]
    if subsidy:
        texts.append(
            f"Guarantee as the budget scores it (FCRA): expected defaults less fees (PV at {fiscal_rate})"
        )
    return texts


def credit_vs_guarantee(results: Results, ax: Axes | None = None) -> Axes:
    """For each case: the value to the program beside the cost to the Treasury, both in PV. [USD]

    The value is the change in equity NPV against ``without`` (at
    ``finance.equity_discount_rate``; the change in project NPV when no case
    borrows), the cost ``fiscal_cost_pv_usd`` (at ``fiscal.discount_rate``),
    and for a case with a guarantee its subsidy cost as the budget scores it
    (``guarantee_subsidy_cost_pv_usd``: expected defaults net of fees). The
    value per dollar of each cost is written under each group.
    """
    cases, gains, costs, subsidy = value_and_cost(results)
    levered = "equity_npv_usd" in results.metrics
    rate, fiscal_rate, bars, per_case = _layout(results, subsidy)
    any_subsidy = bars == 3
    height = max(style.FIG_HEIGHT_IN, 2.4 + per_case * len(cases))
    with chart_frame(
        ax,
        "Value to the program and cost to the Treasury, by case",
        results.scenario.title,
        results.scenario,
        height,
    ) as ax:
        h = BAR_IN
        step, y, top = _group_rows(len(cases), bars)
        clean = [np.nan if g is None else g for g in gains]
        value_color = case_color("with")
        ax.barh(top, clean, height=h, color=value_color, gid="cvg-value", zorder=2)
        ax.barh(top - h, costs, height=h, color=style.COST_COLOR, gid="cvg-cost", zorder=2)
        scored = [np.nan if x is None else x for x in subsidy]
        if any_subsidy:
            ax.barh(top - 2 * h, scored, height=h, color=SUBSIDY_COLOR, gid="cvg-subsidy", zorder=2)
        _hbar_limits(ax, clean + costs + [x for x in scored if np.isfinite(x)])
        money_axis(ax, axis="x")
        _bar_labels(ax, top, gains, [money_text(g, sign=True) for g in gains], "cvg-label-value")
        _bar_labels(ax, top - h, costs, [money_text(c) for c in costs], "cvg-label-cost")
        if any_subsidy:
            shown = [(yi, x) for yi, x in zip(top - 2 * h, subsidy, strict=True) if x is not None]
            _bar_labels(
                ax,
                [a for a, _ in shown],
                [x for _, x in shown],
                [money_text(x) for _, x in shown],
                "cvg-label-subsidy",
            )
        credit = [bool(results.metric("credit_earned_usd", c)) for c in cases]
        for yi, gain, cost, sub, cr in zip(top - h * (bars - 1), gains, costs, subsidy, credit, strict=True):
            ax.annotate(
                _ratio_text(gain, cost, sub, cr),
                (0, yi - h / 2 - 0.04),
                xytext=(3, 0),
                textcoords="offset points",
                ha="left",
                va="top",
                fontsize=LABEL_PT,
                style="italic",
                color="#333333",
                gid="cvg-ratio",
            )
        _case_axes(ax, cases, y, step)
        handles = [Patch(facecolor=value_color), Patch(facecolor=style.COST_COLOR)]
        if any_subsidy:
            handles.append(Patch(facecolor=SUBSIDY_COLOR))
        labels = _legend_texts(levered, rate, fiscal_rate, any_subsidy)
        style.legend_above(ax, handles, labels, max_cols=1)
    return ax


#: The P5-P95 bar of :func:`value_and_cost_across_draws`: its fill, over the colour of its row.
RANGE_ALPHA = 0.4


def _summary_row(summary, metric: str, case: str) -> tuple[float, float, float]:
    """P5, P50 and P95 of a Monte Carlo summary's row ``(metric, case)``. [USD]"""
    row = summary.loc[(metric, case)]
    return float(row["p5"]), float(row["p50"]), float(row["p95"])


def value_and_cost_ranges(result) -> tuple[tuple[str, ...], list, list, list]:
    """Per case but ``without``, across draws: P5, P50 and P95 of the program's gain, of the
    Treasury's cost and of the guarantee's subsidy cost (None where the case has no guarantee).

    The quantities of :func:`value_and_cost`, from the Monte Carlo summary
    (:meth:`~finmodel.analysis.montecarlo.MonteCarloResult.summary`): the gain
    is the row ``delta`` (or ``delta.NAME``) of ``equity_npv_usd`` where the
    program borrows, else of ``npv_usd``; the cost the row ``treasury`` (or
    ``treasury NAME``) of ``fiscal_cost_pv_usd``. [USD]
    """
    summary = result.summary()
    base = result.base
    metric = "equity_npv_usd" if "equity_npv_usd" in base.metrics else "npv_usd"
    cases = tuple(c for c in base.cases if c != "without")
    guaranteed = np.ravel(base.inputs.guarantee)
    gains, costs, subsidy = [], [], []
    for c in cases:
        gains.append(_summary_row(summary, metric, "delta" if c == "with" else f"delta.{c}"))
        costs.append(
            _summary_row(summary, "fiscal_cost_pv_usd", "treasury" if c == "with" else f"treasury {c}")
        )
        scored = guaranteed[base.cases.index(c)]
        subsidy.append(_summary_row(summary, "guarantee_subsidy_cost_pv_usd", c) if scored else None)
    return cases, gains, costs, subsidy


def _range_text(q: tuple[float, float, float], sign: bool) -> str:
    p5, p50, p95 = (money_text(x, sign=sign) for x in q)
    return f"{p50} ({p5} to {p95})"


def value_and_cost_across_draws(result, ax: Axes | None = None) -> Axes:
    """:func:`credit_vs_guarantee` across Monte Carlo draws: for each case, the value to the program
    and the cost to the Treasury (and a guarantee's subsidy cost) as P5-P95 bars with their median,
    and the scenario as written. [USD]

    ``result`` is a :class:`~finmodel.analysis.montecarlo.MonteCarloResult` of a scenario with
    ``cases:``. The percentiles are the run's own (:func:`value_and_cost_ranges`); each row is
    labelled "P50 (P5 to P95)".
    """
    from finmodel.outputs.charts.uncertainty import _mc_subtitle

    cases, gains, costs, subsidy = value_and_cost_ranges(result)
    _, as_gains, as_costs, as_subsidy = value_and_cost(result.base)
    levered = "equity_npv_usd" in result.base.metrics
    rate, fiscal_rate, bars, per_case = _layout(result.base, subsidy)
    any_subsidy = bars == 3
    height = max(style.FIG_HEIGHT_IN, 2.6 + per_case * len(cases))
    title = "Value to the program and cost to the Treasury across draws, by case"
    with chart_frame(ax, title, _mc_subtitle(result), result.scenario, height) as ax:
        h = BAR_IN
        step, y, top = _group_rows(len(cases), bars)
        value_color = case_color("with")
        rows = [("value", top, gains, as_gains, value_color, True)]
        rows.append(("cost", top - h, costs, as_costs, style.COST_COLOR, False))
        if any_subsidy:
            rows.append(("subsidy", top - 2 * h, subsidy, as_subsidy, SUBSIDY_COLOR, False))
        ends = []
        for name, ys, qs, written, color, _ in rows:
            for yi, q, w in zip(ys, qs, written, strict=True):
                if q is None:
                    continue
                p5, p50, p95 = q
                ax.barh(
                    yi,
                    p95 - p5,
                    left=p5,
                    height=h * 0.8,
                    color=color,
                    alpha=RANGE_ALPHA,
                    lw=0,
                    gid=f"cvg-mc-{name}",
                    zorder=2,
                )
                ax.plot(
                    [p50, p50],
                    [yi - h * 0.42, yi + h * 0.42],
                    color=color,
                    lw=2.4,
                    solid_capstyle="butt",
                    gid=f"cvg-mc-{name}-p50",
                    zorder=3,
                )
                if w is not None and np.isfinite(w):
                    ax.plot(
                        [w],
                        [yi],
                        marker="D",
                        ms=4.5,
                        color=style.TEXT_COLOR,
                        lw=0,
                        gid=f"cvg-mc-{name}-as-written",
                        zorder=4,
                    )
                ends += [p5, p95] + ([w] if w is not None else [])
        _hbar_limits(ax, ends, pad=0.75)
        money_axis(ax, axis="x")
        for name, ys, qs, written, _, sign in rows:
            for yi, q, w in zip(ys, qs, written, strict=True):
                if q is None:
                    continue
                end = max(q[2], w if w is not None and np.isfinite(w) else q[2], 0.0)
                ax.annotate(  # past the bar's end and the marker of the scenario as written
                    _range_text(q, sign),
                    (end, yi),
                    xytext=(7, 0),
                    textcoords="offset points",
                    ha="left",
                    va="center",
                    fontsize=LABEL_PT,
                    gid=f"cvg-mc-label-{name}",
                )
        _case_axes(ax, cases, y, step)
        handles = [
            Patch(facecolor=value_color, alpha=RANGE_ALPHA),
            Patch(facecolor=style.COST_COLOR, alpha=RANGE_ALPHA),
        ]
        labels = _legend_texts(levered, rate, fiscal_rate, any_subsidy)
        if any_subsidy:
            handles.append(Patch(facecolor=SUBSIDY_COLOR, alpha=RANGE_ALPHA))
        handles += [
            Line2D([], [], color=style.TEXT_COLOR, lw=2.4),
            Line2D([], [], color=style.TEXT_COLOR, marker="D", ms=4.5, lw=0),
        ]
        labels += [
            "Bar: P5 to P95 of the draws; tick: median (P50); labels: P50 (P5 to P95)",
            memo.baseline_text(result.scenario, capital=True),
        ]
        style.legend_above(ax, handles, labels, max_cols=1)
    return ax
