"""Benchmark of notebooks/06_explorer.ipynb's update (not a test).

Runs the notebook's own code cells up to its first use of ``update`` (the
imports and the definitions; the ``%matplotlib`` line left out), then times a
sequence of changes, one control at a time, each to settings not seen before:
the model and the table, the two charts, and the PNG the explorer shows. The
sequence is repeated ``--repeat`` times, the model's caches emptied between
repetitions; the explorer keeps its one figure throughout, as it does in the
notebook (finmodel.outputs.explorer: the charts' artists moved to the new
figures, only what changes rendered again, and no PNG rendered again where
the charts did not change, as after a change of the owner's discount rate).
Target: every change (model, table, charts and PNG) under 200 ms at the
median; exits 0 when met, 1 when missed.

    python bench/explorer.py [--repeat R]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import nbformat  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "06_explorer.ipynb"
TARGET_MS = 200.0

CHANGES = [
    ("rate 30%", {"rate": 0.30}),
    ("no grid", {"eligible": ("servers", "data_centers")}),
    ("deadline 2031", {"deadline": 2031}),
    ("effective 2026", {"effective_year": 2026}),
    ("discount 8%", {"discount_rate": 0.08}),
    ("revenue $12B", {"revenue_usd_per_gw_year": 12e9}),
    ("others own 45/90/90%", {"third_party_share": {"servers": 0.45, "data_centers": 0.9, "grid": 0.9}}),
    ("pass-through 50%", {"pass_through": 0.5}),
    ("refresh on", {"refresh": True}),
]


def notebook_namespace() -> dict:
    """The names the notebook defines before it first calls ``update``."""
    nb = nbformat.read(NOTEBOOK, as_version=4)
    namespace: dict = {}
    cwd = os.getcwd()
    os.chdir(ROOT)  # the notebook finds scenarios/ from the working folder
    try:
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            if "update(BASE)" in cell.source:
                break
            source = "\n".join(line for line in cell.source.splitlines() if not line.startswith("%"))
            exec(compile(source, f"{NOTEBOOK.name}", "exec"), namespace)
    finally:
        os.chdir(cwd)
    return namespace


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="repetitions of the sequence (default 3)")
    args = parser.parse_args(argv)

    ns = notebook_namespace()
    results_for, headline_table, draw_charts, png = (
        ns["results_for"],
        ns["headline_table"],
        ns["draw_charts"],
        ns["png"],
    )
    png(draw_charts(results_for({})))  # warm-up: numba kernels, fonts, the base run

    parts: dict[str, list[float]] = {"model and table": [], "charts": [], "PNG": [], "total": [], "CPU": []}
    for _ in range(args.repeat):
        ns["_results"].cache_clear()
        ns["variant"].cache_clear()
        settings: dict = {}
        for _label, change in CHANGES:
            settings = {**settings, **change}
            cpu, t0 = time.process_time(), time.perf_counter()
            headline_table(results_for(settings))
            t1 = time.perf_counter()
            fig = draw_charts(results_for(settings))
            t2 = time.perf_counter()
            png(fig)
            t3, cpu = time.perf_counter(), time.process_time() - cpu
            for name, seconds in zip(parts, (t1 - t0, t2 - t1, t3 - t2, t3 - t0, cpu), strict=True):
                parts[name].append(seconds * 1e3)

    load = f", load average {os.getloadavg()[0]:.1f}" if hasattr(os, "getloadavg") else ""
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs{load}")
    print(f"{len(parts['total'])} changes ({len(CHANGES)} x {args.repeat}), ms per change:")
    for name, values in parts.items():
        print(f"  {name:16s} median {statistics.median(values):7.1f}   max {max(values):7.1f}")
    desk = ns["desk"]
    print(f"charts drawn anew {desk.redraws} times (the first included), moved at the other changes")
    median = statistics.median(parts["total"])
    met = median < TARGET_MS
    print(f"median total {median:.0f} ms against {TARGET_MS:.0f} ms: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
