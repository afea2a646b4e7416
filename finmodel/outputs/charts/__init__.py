"""Memo charts: one function per chart, ``f(results, ax=None) -> Axes``.

By subject: :mod:`~finmodel.outputs.charts.scenario` (one scenario's memo
pack), :mod:`~finmodel.outputs.charts.compare` (several scenarios),
:mod:`~finmodel.outputs.charts.uncertainty` (Monte Carlo, tornado, sweep),
:mod:`~finmodel.outputs.charts.financing` (the credit against a loan guarantee),
:mod:`~finmodel.outputs.charts.realism` (capacity in service, who gets the credit's value),
all drawn in the frame of :mod:`~finmodel.outputs.charts.frame`; every
chart is reachable here (``finmodel.charts.NAME`` in notebooks).

Each function only selects and sums arrays already in
:class:`~finmodel.engine.model.Results` (or takes the figures of
:mod:`finmodel.analysis.decompose`); it never computes a model number and never saves a
file (:mod:`finmodel.outputs.report` does that). Amounts are plotted in USD, as in
the results, and shown in $B by the axis formatter, so an artist's data
equal the result arrays.

With ``ax=None`` a function makes its own memo-width figure (see
:mod:`finmodel.outputs.style`): the chart's title, the scenario's title as
subtitle, and a one-line footnote counting the sources and assumptions
the values cite and naming the finmodel version. Given an ``ax``, it
draws the data, the axes labels and the legend only, so charts can be
combined on one figure. No function selects a backend or uses pyplot.
"""

from __future__ import annotations

from finmodel.outputs.charts.compare import breakeven_comparison, scenario_comparison
from finmodel.outputs.charts.financing import credit_vs_guarantee, value_and_cost_across_draws
from finmodel.outputs.charts.frame import CASE_LABELS, EMPTY_SPAN_USD, LABEL_PT
from finmodel.outputs.charts.realism import (
    capacity_comparison,
    capacity_in_service,
    credit_value_split,
    has_value_split,
)
from finmodel.outputs.charts.scenario import (
    credit_by_group,
    cumulative_cash_flow,
    pv_waterfall,
    spend_by_group,
    treasury_cost,
)
from finmodel.outputs.charts.uncertainty import (
    montecarlo_fan,
    sweep_heatmap,
    tornado_chart,
    treasury_cost_histogram,
)

__all__ = [
    "CASE_LABELS",
    "LABEL_PT",
    "EMPTY_SPAN_USD",
    "cumulative_cash_flow",
    "credit_by_group",
    "treasury_cost",
    "pv_waterfall",
    "spend_by_group",
    "scenario_comparison",
    "breakeven_comparison",
    "credit_vs_guarantee",
    "value_and_cost_across_draws",
    "capacity_in_service",
    "capacity_comparison",
    "credit_value_split",
    "has_value_split",
    "montecarlo_fan",
    "treasury_cost_histogram",
    "tornado_chart",
    "sweep_heatmap",
    "SCENARIO_CHARTS",
    "COMPARE_CHARTS",
    "MONTECARLO_CHARTS",
]

#: The charts of one scenario's memo pack, by file stem.
SCENARIO_CHARTS = {
    "cumulative_cash_flow": cumulative_cash_flow,
    "credit_by_group": credit_by_group,
    "treasury_cost": treasury_cost,
    "pv_waterfall": pv_waterfall,
    "spend_by_group": spend_by_group,
    "capacity_in_service": capacity_in_service,
}

#: The charts of a comparison across scenarios, by file stem.
COMPARE_CHARTS = {
    "scenario_comparison": scenario_comparison,
    "breakeven_comparison": breakeven_comparison,
    "capacity_comparison": capacity_comparison,
}

#: The charts of ``finmodel montecarlo``, by file stem.
MONTECARLO_CHARTS = {
    "montecarlo_fan": montecarlo_fan,
    "treasury_cost_histogram": treasury_cost_histogram,
}
