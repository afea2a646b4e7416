"""finmodel: a compute-investment financial model.

What is the AMIC (IRC section 48D) worth if it is extended to AI servers,
data centers and grid components, to whom, when, and at what cost to the
Treasury? A scenario (YAML) is evaluated in two cases, ``without`` (current
law) and ``with`` (the extension), in one vectorized NumPy pass.

Conventions (MODEL.md section 2), used everywhere:

- money is nominal USD; inflows are positive and outflows negative;
- periods are calendar years, arrays carry the year axis last;
- rates are fractions per year, never percent;
- a flow in year ``y`` is discounted by ``(1 + r) ** -(y - valuation_year)``,
  so with ``valuation_year == start_year`` NPV equals ``numpy_financial.npv``.
"""

from finmodel._version import __version__
from finmodel.engine.model import Results, run
from finmodel.scenario.load import load_scenario, scenario_from_dict
from finmodel.scenario.types import Scenario
from finmodel.scenario.yamlio import ScenarioError

__all__ = [
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "run",
    "Scenario",
    "ScenarioError",
    "Results",
]

#: Modules reachable as ``finmodel.NAME`` (notebooks write ``from finmodel import charts``),
#: imported on first use so that ``import finmodel`` loads no matplotlib.
_MODULES = {
    "charts": "finmodel.outputs.charts",
    "memo": "finmodel.outputs.memo",
    "report": "finmodel.outputs.report",
    "provenance": "finmodel.analysis.provenance",
    "uncertainty": "finmodel.analysis.uncertainty",
    "montecarlo": "finmodel.analysis.montecarlo",
    "sensitivity": "finmodel.analysis.sensitivity",
}


def __getattr__(name: str):
    if name in _MODULES:
        import importlib

        return importlib.import_module(_MODULES[name])
    raise AttributeError(f"module 'finmodel' has no attribute {name!r}")
