"""Benchmark of the scenario engine on the base scenario (not a test).

Prints the time of one engine run, ``build_inputs + evaluate +
compute_metrics`` (median of many runs, after a warm-up that also compiles
the numba kernels), the time of 1,000 such runs in a loop, and, for scale,
the same 1,000 runs as one vectorized call (1,000 draws of the credit rate)
and the IRR alone against numpy-financial; then one run of
``credit_vs_guarantee.yaml`` (four cases, debt, a loan guarantee) and one of
``ownership.yaml`` with servers refreshed (refresh and incidence). Targets:
one base run under 20 ms, one four-case levered run and one run with refresh
and incidence under 5 ms each; exits 0 when all are met, 1 when one is missed.

    python bench/engine.py [--runs N] [--scenario PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy_financial as npf  # noqa: E402

import finmodel  # noqa: E402
from finmodel.core.metrics import irr  # noqa: E402
from finmodel.engine import model  # noqa: E402

TARGET_MS = 20.0
TARGET_CASES_MS = 5.0  #: credit_vs_guarantee.yaml: four cases with debt and a guarantee
TARGET_REALISM_MS = 5.0  #: ownership.yaml with servers refreshed (MODEL.md sections 17-18)


def engine_once(scenario, overrides=None):
    inp = model.build_inputs(scenario, overrides)
    lines = model.evaluate(inp)
    return model.compute_metrics(inp, lines)


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return out


def one_run_meets(scenario, what: str, target_ms: float) -> bool:
    """Median of 300 engine runs of ``scenario`` (after 20 to warm up), printed against ``target_ms``."""
    for _ in range(20):
        engine_once(scenario)
    ms = statistics.median(timed(lambda: engine_once(scenario), 300)) * 1e3
    ok = ms < target_ms
    print(f"  {'meets' if ok else 'MISSES'} the target: {what} {ms:.3f} ms vs {target_ms:.0f} ms")
    return ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000, help="runs in the loop (default 1000)")
    parser.add_argument("--scenario", default=str(ROOT / "scenarios" / "base.yaml"))
    args = parser.parse_args(argv)

    t0 = time.perf_counter()
    scenario = finmodel.load_scenario(args.scenario)
    load_ms = (time.perf_counter() - t0) * 1e3
    t0 = time.perf_counter()
    engine_once(scenario)  # first call: numba kernels compiled or read from the cache
    first_ms = (time.perf_counter() - t0) * 1e3
    for _ in range(20):  # warm-up
        engine_once(scenario)

    single = timed(lambda: engine_once(scenario), 300)
    median_ms = statistics.median(single) * 1e3
    p90_ms = float(np.percentile(single, 90)) * 1e3

    t0 = time.perf_counter()
    for _ in range(args.runs):
        engine_once(scenario)
    loop_s = time.perf_counter() - t0

    rates = np.linspace(0.0, 0.5, args.runs)
    engine_once(scenario, {"policy.amic.rate": rates})  # warm-up at this shape
    vec = timed(lambda: engine_once(scenario, {"policy.amic.rate": rates}), 5)
    vec_s = min(vec)

    cf = finmodel.run(scenario).lines["cash_flow"]
    flows = np.tile(cf, (args.runs // 2, 1))  # 1,000 series of the base flows
    irr(flows)
    ours = min(timed(lambda: irr(flows), 5))
    theirs = min(timed(lambda: [npf.irr(row) for row in flows], 3))

    machine = f"{os.cpu_count()} cores, {platform.machine()}"
    print(f"finmodel {finmodel.__version__} engine benchmark: {Path(args.scenario).name}")
    print(f"python {platform.python_version()}, numpy {np.__version__}, {machine}")
    rows = [
        ("load + validate scenario (once)", f"{load_ms:9.2f} ms", ""),
        ("first engine run (kernels compiled/read)", f"{first_ms:9.2f} ms", ""),
        (
            f"one engine run, median of {len(single)}",
            f"{median_ms:9.3f} ms",
            f"p90 {p90_ms:.3f} ms; target < {TARGET_MS:.0f} ms",
        ),
        (
            f"{args.runs:,} runs in a loop",
            f"{loop_s:9.3f} s ",
            f"{loop_s / args.runs * 1e3:.3f} ms per run",
        ),
        (
            f"{args.runs:,} draws in one vectorized call",
            f"{vec_s * 1e3:9.2f} ms",
            f"{vec_s / args.runs * 1e6:.1f} us per draw",
        ),
        (
            f"IRR of {flows.shape[0]:,} series, finmodel",
            f"{ours * 1e3:9.3f} ms",
            f"numpy-financial {theirs * 1e3:.1f} ms, {theirs / ours:,.0f}x slower",
        ),
    ]
    for label, value, note in rows:
        print(f"  {label:<42}{value}" + (f"   ({note})" if note else ""))
    verdict = "meets" if median_ms < TARGET_MS else "MISSES"
    margin = TARGET_MS / median_ms
    target = f"{TARGET_MS:.0f} ms"
    print(f"  {verdict} the target: one base run {median_ms:.3f} ms vs {target} ({margin:,.0f}x)")

    cases = finmodel.load_scenario(ROOT / "scenarios" / "credit_vs_guarantee.yaml")
    ok_cases = one_run_meets(cases, "one credit_vs_guarantee run (4 cases, debt, guarantee)", TARGET_CASES_MS)
    # MODEL.md part 3: the base with servers refreshed and the credit shared with other owners
    realism = finmodel.load_scenario(ROOT / "scenarios" / "ownership.yaml").override(
        {"refresh": {"categories": ["servers"]}}
    )
    ok_realism = one_run_meets(realism, "one base run with refresh and incidence", TARGET_REALISM_MS)
    return 0 if median_ms < TARGET_MS and ok_cases and ok_realism else 1


if __name__ == "__main__":
    raise SystemExit(main())
