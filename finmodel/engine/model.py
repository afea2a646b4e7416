"""The scenario engine: ``run(scenario) -> Results``.

One vectorized pass evaluates every case (``without``: current law, no
category earns the credit; ``with``: the proposed extension) for every
category and year. Arrays are shaped ``(..., case, category, year)`` for
category lines and ``(..., case, year)`` for totals; the leading ``...``
holds Monte Carlo draws or sweep points when :func:`build_inputs` is given
array overrides. Money is nominal USD throughout.
"""

from finmodel.engine.evaluate import NumericalError, check_finite, evaluate
from finmodel.engine.inputs import Inputs, build_inputs
from finmodel.engine.measures import breakeven_revenue, compute_metrics
from finmodel.engine.names import CASES, LINES, METRIC_LABELS, METRICS
from finmodel.engine.results import Results, run, run_notes

__all__ = [
    "CASES",
    "LINES",
    "METRICS",
    "METRIC_LABELS",
    "Inputs",
    "NumericalError",
    "Results",
    "breakeven_revenue",
    "build_inputs",
    "check_finite",
    "compute_metrics",
    "evaluate",
    "run",
    "run_notes",
]
