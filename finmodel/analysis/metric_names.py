"""The metrics that analysis reports per draw or per point, with their units.

The engine's per-case metrics (MODEL.md section 9, :data:`finmodel.engine.names.METRICS`),
then the Treasury's cost of the credit (section 10), which
:func:`finmodel.engine.model.compute_metrics` also returns. Monte Carlo,
sensitivity and their outputs name metrics from here.
"""

from __future__ import annotations

from finmodel.engine.names import ALL_CASE_METRICS, METRICS

__all__ = ["ALL_METRICS", "FISCAL_METRICS", "METRIC_UNITS"]

#: The Treasury's cost of the credit, a figure of the ``with`` case: window sum and present value.
FISCAL_METRICS: dict[str, str] = {
    "fiscal_cost_window_usd": "USD",
    "fiscal_cost_pv_usd": "USD",
}
#: Every metric with its unit: the engine's per-case metrics, then the Treasury's cost.
ALL_METRICS: dict[str, str] = {**METRICS, **FISCAL_METRICS}

#: The unit of every metric a table may show: :data:`ALL_METRICS` and the debt, guarantee and
#: offset metrics of MODEL.md sections 13-16 (reported only for scenarios that have them).
METRIC_UNITS: dict[str, str] = {**ALL_CASE_METRICS, **ALL_METRICS}
