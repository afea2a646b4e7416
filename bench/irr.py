"""Benchmark of the vectorized IRR (finmodel.core.metrics.irr) against per-series numpy-financial and pyxirr.

Not a test: it prints figures measured in this run and their ratios.
Three sets of 100,000 series of 16 years:

- ``engine``: the base scenario's own cash flows, 50,000 Monte Carlo draws x
  2 cases (three sign changes each, USD 1e11-1e12 magnitudes);
- ``conventional``: three years of investment then thirteen of returns, at
  1e12 scale (one sign change);
- ``random``: standard normal flows (many sign changes; the hard case).

finmodel's IRR is timed on all 100,000 series at once (best of 5, after a
warm-up that loads the compiled kernel); pyxirr.irr and numpy_financial.irr
are called once per series on all of them (numpy-financial on 20,000, as it
is slow). Roots are compared where a reference has one (tolerance 1e-9), and
NaN against NaN.

    python bench/irr.py [--series N] [--npf-series M]

Targets: at least 10x faster than pyxirr and 300x faster than
numpy-financial per series, with the same roots as numpy-financial. Exits 0
when every target is met on every set, 1 when one is missed.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy_financial as npf  # noqa: E402
import pyxirr  # noqa: E402

import finmodel  # noqa: E402
from finmodel.analysis.montecarlo import run_montecarlo  # noqa: E402
from finmodel.core.metrics import irr  # noqa: E402

TOL = 1e-9


def series_sets(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(20251106)
    scenario = finmodel.load_scenario(ROOT / "scenarios" / "base.yaml")
    mc = run_montecarlo(scenario, draws=n // 2, seed=1)
    engine = np.diff(mc.cumulative_cash_flow, axis=-1, prepend=0.0).reshape(
        -1, mc.cumulative_cash_flow.shape[-1]
    )
    invest = -rng.uniform(0.5, 2.0, (n, 3)) * 1e12
    returns = rng.uniform(0.05, 0.6, (n, 13)) * 1e12
    return {
        "engine": np.ascontiguousarray(engine[:n]),
        "conventional": np.concatenate([invest, returns], axis=1),
        "random": rng.standard_normal((n, 16)),
    }


def best_of(fn, repeat: int = 5) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def per_series(fn, values: np.ndarray) -> tuple[np.ndarray, float]:
    out = np.empty(len(values))
    t0 = time.perf_counter()
    for i, v in enumerate(values):
        r = fn(v)
        out[i] = np.nan if r is None else r
    return out, (time.perf_counter() - t0) / len(values)


def mismatches(ours: np.ndarray, ref: np.ndarray, tol: float = TOL) -> int:
    both = np.isfinite(ours) & np.isfinite(ref)
    bad = (np.isnan(ours) != np.isnan(ref)) | (both & ~np.isclose(ours, ref, rtol=tol, atol=tol))
    return int(bad.sum())


def cpu_per_series(values: np.ndarray) -> float:
    """Single-core CPU time of the compiled kernel (less sensitive to other processes)."""
    from finmodel.core._kernels import GRID, irr_rows

    best = float("inf")
    for _ in range(5):
        t0 = time.thread_time()
        irr_rows(values, GRID, 1)
        best = min(best, time.thread_time() - t0)
    return best / len(values)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--series", type=int, default=100_000)
    parser.add_argument("--npf-series", type=int, default=20_000)
    args = parser.parse_args(argv)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, cores {os.cpu_count()}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')!r}"
    )
    irr(np.array([[-1.0, 2.0]] * 5000))  # load the compiled kernels (serial and parallel)
    irr(np.array([-1.0, 2.0]))
    sets = series_sets(args.series)
    ok = True
    for name, values in sets.items():
        n = len(values)
        t_ours = best_of(lambda v=values: irr(v)) / n
        ours = irr(values)
        px, t_px = per_series(lambda v: pyxirr.irr(v, silent=True), values)
        m = min(args.npf_series, n)
        with np.errstate(all="ignore"):
            ref, t_npf = per_series(npf.irr, values[:m])
        bad_npf = mismatches(ours[:m], ref)
        both = np.isfinite(ours) & np.isfinite(px)
        bad_px = int((both & ~np.isclose(ours, px, rtol=TOL, atol=TOL)).sum())
        px_none = int((np.isfinite(ours) & np.isnan(px)).sum())
        cpu = cpu_per_series(values)
        r_px, r_npf = t_px / t_ours, t_npf / t_ours
        print(
            f"\n[{name}] {n:,} series of {values.shape[1]} years; "
            f"{np.isnan(ref).mean() * 100:.1f}% without a root (numpy-financial)"
        )
        print(
            f"  finmodel.core.metrics.irr : {t_ours * 1e6:8.3f} us/series  (all {n:,} at once, best of 5; "
            f"one core: {cpu * 1e6:.3f} us CPU)"
        )
        print(
            f"  pyxirr.irr per series: {t_px * 1e6:8.3f} us/series  "
            f"-> finmodel is {r_px:6.1f}x faster (target >= 10x)"
        )
        print(
            f"  npf.irr per series   : {t_npf * 1e6:8.3f} us/series  "
            f"-> finmodel is {r_npf:6.1f}x faster (target >= 300x)"
        )
        print(f"  roots differing from numpy-financial (> 1e-9, or NaN vs root): {bad_npf} of {m:,}")
        print(
            f"  roots differing from pyxirr where both have one (> 1e-9): {bad_px} of {int(both.sum()):,}; "
            f"pyxirr found none where finmodel did: {px_none:,}"
        )
        ok &= r_px >= 10 and r_npf >= 300 and bad_npf == 0
    print("\nall targets met" if ok else "\nnot every target met (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
