"""Benchmark of the Monte Carlo engine on the base scenario (not a test).

Prints, measured in this run:

1. the deterministic engine looped over draws: ``finmodel.run(scenario,
   overrides=one_draw)`` for a few hundred draws of the base scenario's
   ``uncertainty:`` block (the same draws as the Monte Carlo), per draw;
2. ``run_montecarlo`` in this process for the same block, per draw, and the
   ratio to (1) (after ``tune_allocator()``, as the command does; it holds
   for both);
3. the command ``finmodel montecarlo scenarios/base.yaml --draws N`` (default
   1,000,000) in a fresh process: wall time (process start to exit, imports
   and the loading of the compiled kernels included) and peak memory
   (``resource.getrusage(RUSAGE_CHILDREN).ru_maxrss``), then the same with
   ``--out`` (writing the JSON, CSVs and charts).

Targets: the command under 10 s and 2 GB (and exit 0, with and without
``--out``); at least 200x faster per draw than the loop. Exits 0 when every
target is met, 1 when one is missed. The targets are for the default
1,000,000 draws; ``--draws 20000`` is a quick check of the script itself.

    python bench/montecarlo.py [--draws N] [--loop-draws M]
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import finmodel  # noqa: E402
from finmodel.analysis.montecarlo import run_montecarlo, tune_allocator  # noqa: E402
from finmodel.analysis.uncertainty import sample, to_overrides, uncertainty_spec  # noqa: E402

BASE = ROOT / "scenarios" / "base.yaml"
FINMODEL = Path(sys.executable).with_name("finmodel")


def loop_per_draw(scenario, draws: int) -> float:
    """Seconds per draw of the deterministic engine called once per draw."""
    spec = uncertainty_spec(scenario)
    ov = to_overrides(scenario, sample(spec, draws, spec.seed))
    ov = {p: np.asarray(v) for p, v in ov.items()}  # a drawn schedule: its rows of year shares
    one = [{p: (v[i] if np.ndim(v) else v) for p, v in ov.items()} for i in range(draws)]
    finmodel.run(scenario, one[0])  # warm-up
    times = []
    for d in one:
        t0 = time.perf_counter()
        finmodel.run(scenario, d)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def command(args: list[str]) -> tuple[float, float, int]:
    """Wall seconds and peak resident memory [MB] of one CLI run in a fresh process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t0 = time.perf_counter()
    proc = subprocess.run([str(FINMODEL), *args], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        print(proc.stdout, proc.stderr)
    # ru_maxrss of children is the largest child so far: run the big one first or read it as a bound
    return wall, max(peak_kb, before) / 1024.0, proc.returncode


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--draws", type=int, default=1_000_000)
    parser.add_argument("--loop-draws", type=int, default=300)
    args = parser.parse_args(argv)
    print(
        f"python {platform.python_version()}, numpy {np.__version__}, cores {os.cpu_count()}, "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')!r}"
    )
    tune_allocator()  # as the command does (both the loop and the draws run in this process)
    scenario = finmodel.load_scenario(BASE)
    spec = uncertainty_spec(scenario)
    print(
        f"scenario {BASE.name}: {len(spec.parameters)} drawn parameters, "
        f"{len(spec.correlations)} correlation(s)"
    )

    # warm-up: the compiled kernels are loaded (or compiled once and cached)
    warm = subprocess.run(
        [str(FINMODEL), "montecarlo", str(BASE), "--draws", "20000"],
        capture_output=True,
        text=True,
    )
    assert warm.returncode == 0, warm.stderr
    run_montecarlo(scenario, draws=20_000)

    # 3. the command, fresh processes (largest first, so ru_maxrss is its own)
    wall, peak_mb, rc_plain = command(["montecarlo", str(BASE), "--draws", str(args.draws)])
    print(f"\nfinmodel montecarlo scenarios/base.yaml --draws {args.draws:,}:")
    print(
        f"  wall {wall:.2f} s (target < 10 s), peak memory {peak_mb:,.0f} MB (target < 2,048 MB), "
        f"exit {rc_plain}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        wall_out, _, rc_out = command(
            ["montecarlo", str(BASE), "--draws", str(args.draws), "--out", str(Path(tmp) / "mc")]
        )
    print(f"  with --out (JSON, CSVs, 2 charts in PNG/SVG/PDF): wall {wall_out:.2f} s, exit {rc_out}")

    # 2. in process
    t0 = time.perf_counter()
    mc = run_montecarlo(scenario, draws=args.draws)
    t_mc = (time.perf_counter() - t0) / mc.draws
    # 1. the loop
    t_loop = loop_per_draw(scenario, args.loop_draws)
    print(
        f"\ndeterministic engine looped over draws (finmodel.run per draw, median of {args.loop_draws}): "
        f"{t_loop * 1e3:.3f} ms/draw"
    )
    print(
        f"run_montecarlo, {args.draws:,} draws in this process: {t_mc * 1e6:.2f} us/draw -> "
        f"{t_loop / t_mc:.0f}x faster per draw (target >= 200x)"
    )
    print(
        f"the command, per draw (wall / draws): {wall / args.draws * 1e6:.2f} us/draw -> "
        f"{t_loop / (wall / args.draws):.0f}x faster than the loop"
    )
    met = rc_plain == 0 and rc_out == 0 and wall < 10 and peak_mb < 2048 and t_loop / t_mc >= 200
    print("\nall targets met" if met else "\nnot every target met (see above)")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
