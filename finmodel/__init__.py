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

__version__ = "0.1.0"

from . import uncertainty  # noqa: E402,F401  (registers the uncertainty: and sensitivity: blocks)
from .model import Results, run  # noqa: E402
from .scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict  # noqa: E402

__all__ = [
    "__version__",
    "load_scenario",
    "scenario_from_dict",
    "run",
    "Scenario",
    "ScenarioError",
    "Results",
]
