"""``finmodel`` with a zero-cost engine: what a Monte Carlo run costs besides the model itself.

Runs the command line (``python bench/zero_engine.py montecarlo SCENARIO
--draws N``) with every chunk's engine work (MODEL.md sections 3-18 and the
metrics: ``evaluate`` and ``compute_metrics``) replaced by the results of
16 genuine chunks of that size, computed once (their time is printed on
standard error, ``zero_engine: pool S s``, to be taken off the run's) and
then served in turn as copies, so that the run still writes every output
the engine would and its percentiles see values as dense as a real run's.
Everything else runs as in a real run: process start and imports,
loading the scenario and the compiled kernels, the scores, the copula and
inverse CDFs, the scenario's inputs with the draws (``build_inputs``),
keeping or streaming the values, the summary and the exit.

The time it takes is the floor of the present design for any engine, even
an infinitely fast one: a speed target below it cannot be reached by
making the engine faster. ``bench/montecarlo.py --floor`` prints it beside
the real run. Not a test: its figures are meaningless as model results.
"""

from __future__ import annotations

import atexit
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import finmodel.analysis.montecarlo as mc  # noqa: E402
from finmodel.analysis.uncertainty import Samples, to_overrides, values_from_scores  # noqa: E402
from finmodel.cli import main  # noqa: E402
from finmodel.engine.inputs import build_inputs  # noqa: E402

_real = mc._Plan.evaluate
#: Chunks of genuine results served in turn: 16 chunks of 4,096 draws are 65,536 distinct draws,
#: so percentiles and the streamed brackets see values as dense as a real run's.
POOL = 16
_pool: dict[int, list] = {}
_lock = threading.Lock()
pool_seconds = 0.0


def _zero_cost(self, start: int, z: np.ndarray):
    """:meth:`finmodel.analysis.montecarlo._Plan.evaluate` without ``evaluate`` and ``compute_metrics``."""
    global pool_seconds
    n = len(z)
    values = values_from_scores(self.spec, z)
    overrides = to_overrides(self.scenario, Samples(spec=self.spec, values=values, seed=None))
    build_inputs(self.scenario, {path: mc._rows(value, 0, n) for path, value in overrides.items()})
    with _lock:  # the pool is computed once per chunk size, for real, and its time reported
        if n not in _pool:
            t0 = time.perf_counter()
            rng = np.random.default_rng(0)
            _pool[n] = [_real(self, 0, rng.standard_normal(z.shape)) for _ in range(POOL)]
            pool_seconds += time.perf_counter() - t0
    _, metrics, cumulative = _pool[n][(start // max(n, 1)) % POOL]
    return values, {k: v.copy() for k, v in metrics.items()}, cumulative.copy()


def _report() -> None:
    print(f"zero_engine: pool {pool_seconds:.3f} s", file=sys.stderr)


if __name__ == "__main__":
    mc._Plan.evaluate = _zero_cost
    atexit.register(_report)
    raise SystemExit(main())
