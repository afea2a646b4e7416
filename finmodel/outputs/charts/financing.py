"""The credit against the loan guarantee: each case's value to the program beside its Treasury cost.

See :mod:`finmodel.outputs.charts` for the conventions every chart follows.
"""

from __future__ import annotations

import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Patch

from finmodel.core import format as fmt
from finmodel.engine.model import Results
from finmodel.outputs import style
from finmodel.outputs.charts.compare import _bar_labels, _hbar_limits
from finmodel.outputs.charts.frame import CASE_LABELS, LABEL_PT, chart_frame, percent_text
from finmodel.outputs.style import case_color, money_axis, money_text

__all__ = ["credit_vs_guarantee", "value_and_cost"]


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
    k = results.cases.index("with")
    rate = percent_text(float(np.ravel(results.inputs.equity_discount_rate)[k]))
    fiscal_rate = percent_text(float(np.ravel(results.inputs.fiscal_discount_rate)[0]))
    any_subsidy = any(x is not None for x in subsidy)
    bars = 3 if any_subsidy else 2
    height = max(style.FIG_HEIGHT_IN, 2.4 + (0.3 * bars + 0.35) * len(cases))
    with chart_frame(
        ax,
        "Value to the program and cost to the Treasury, by case",
        results.scenario.title,
        results.scenario,
        height,
    ) as ax:
        h = 0.26
        step = h * bars + 0.42
        y = (np.arange(len(cases))[::-1] * step).astype(float)
        top = y + h * (bars - 1) / 2
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
        ax.set_yticks(y, [case_label(c) for c in cases])
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y.min() - step / 2 - 0.1, y.max() + step / 2)
        ax.axvline(0, color="#333333", lw=0.8, zorder=3)
        ax.grid(axis="y", visible=False)
        ax.grid(axis="x", visible=True)
        what = "equity NPV" if levered else "NPV"
        labels = [
            f"Value to the program: change in {what} against neither (PV at {rate})",
            f"Cost to the Treasury: credit, tax changes, defaults less fees (PV at {fiscal_rate})",
        ]
        handles = [Patch(facecolor=value_color), Patch(facecolor=style.COST_COLOR)]
        if any_subsidy:
            labels.append(
                f"Guarantee as the budget scores it (FCRA): expected defaults less fees (PV at {fiscal_rate})"
            )
            handles.append(Patch(facecolor=SUBSIDY_COLOR))
        style.legend_above(ax, handles, labels, max_cols=1)
    return ax
