"""Compile the engine's kernels ahead of use: ``python -m finmodel.analysis.warm SCENARIO.yaml ...``.

The numba kernels (:mod:`finmodel.core._kernels`) are compiled on first use
and cached on disk. ``make setup`` runs this module once so that the first
report or Monte Carlo has nothing to compile: each scenario is run once,
and those with an ``uncertainty:`` block (or inheriting one) draw a few
hundred times, which calls every kernel with the array types a real run
passes (draws, cases, debt, guarantees, credit pools, refresh, incidence).
"""

from __future__ import annotations

import sys

from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.analysis.uncertainty import uncertainty_spec
from finmodel.engine.model import run
from finmodel.scenario.load import load_scenario

#: Draws per scenario: more than one chunk of the kernels' inner blocks, still under a second.
WARM_DRAWS = 300


def warm(paths) -> int:
    """Run every scenario in ``paths`` once and draw :data:`WARM_DRAWS` times where it can; the count run."""
    for path in paths:
        scenario = load_scenario(path)
        run(scenario)
        if uncertainty_spec(scenario) is not None:
            run_montecarlo(scenario, draws=WARM_DRAWS, seed=1, threads=1)
    return len(paths)


if __name__ == "__main__":  # pragma: no cover - exercised by make setup
    warm(sys.argv[1:])
