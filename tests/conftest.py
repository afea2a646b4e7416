"""Shared test settings: tolerances chosen for each kind of reference, and helpers."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# Property tests read no example database: every machine and every test order
# checks the same examples (each test also fixes its own seed or derandomizes).
settings.register_profile("finmodel", database=None)
settings.load_profile("finmodel")

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"

#: Model figures against hand computations and identities (MODEL.md asks 1e-9 relative).
RTOL_MODEL = 1e-9
#: Money identities summed over ~1e12 USD flows: absolute slack in USD.
ATOL_USD = 1e-3
#: Published tables printed to 2 or 3 decimals (IRS Pub. 946 percentages).
ATOL_TABLE_PCT = 0.0005
#: Roots against numpy-financial's documented examples (printed to 5 decimals).
ATOL_DOC_5DP = 5e-6


def pytest_configure(config):
    """Under pytest-xdist, compile the model's kernels once, in the controller, before the workers
    start: on a fresh clone (no numba cache yet) every worker, and every subprocess a test starts,
    would otherwise compile them at the same time. Later processes load them from the cache.
    ``make test`` has compiled them already (``make setup``'s step, redone when the kernels
    change) and says so with ``FINMODEL_KERNELS_COMPILED=1``: the workers then start at once."""
    if not getattr(config.option, "numprocesses", None) or hasattr(config, "workerinput"):
        return
    if os.environ.get("FINMODEL_KERNELS_COMPILED") == "1":
        return
    import finmodel
    from finmodel.analysis.montecarlo import run_montecarlo

    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    finmodel.run(base)
    run_montecarlo(base, draws=20, seed=1)


def pytest_collection_modifyitems(config, items):
    """The tests marked ``slow`` (several seconds each: fuzz runs, notebooks, packs of reports, bombs,
    LibreOffice) run first, the rest in their usual order. With pytest-xdist's work stealing the
    short tests then fill the other worker while the long ones run, instead of one worker running a
    long test alone at the end (every worker sorts the same collection the same way)."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)  # stable: order kept within


@pytest.fixture(autouse=True)
def _numpy_errors():
    """A silent division by zero or overflow inside a test is a failure."""
    with np.errstate(divide="raise", over="raise", invalid="raise"):
        yield


def all_scenarios() -> list[Path]:
    return sorted(SCENARIOS.glob("*.yaml"))


def fake_converter(folder: Path) -> Path:
    """A stand-in for LibreOffice in ``folder``: an ``soffice`` that writes OUTDIR/memo.pdf as
    ``soffice --convert-to pdf`` would (put ``folder`` first on PATH)."""
    script = folder / "soffice"
    script.write_text(
        "#!/bin/sh\n"
        'while [ $# -gt 0 ]; do if [ "$1" = --outdir ]; then out="$2"; fi; shift; done\n'
        'printf "%%PDF-1.4 fake" > "$out/memo.pdf"\n'
    )
    script.chmod(0o755)
    return folder


def shared_folder(tmp_path_factory, name: str, write: Callable[[Path], None]) -> Path:
    """The folder ``write(folder)`` fills, written once per test session: under pytest-xdist by
    the first worker that asks for it while the others wait, then read by every worker. Read it
    in place; copy it (``shutil.copytree``) before changing anything.

    A ``write`` that fails leaves no mark: the next worker to ask writes it again (and fails the
    same way)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, holding each worker's own
    root = base / "shared"
    root.mkdir(exist_ok=True)
    folder, done = root / name, root / f"{name}.done"
    with open(root / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        if not done.exists():
            if folder.exists():
                shutil.rmtree(folder)
            write(folder)
            done.touch()
    return folder


def _write_base_pack(folder: Path) -> None:
    from finmodel.cli import main

    assert main(["report", str(SCENARIOS / "base.yaml"), "--out", str(folder / "base")]) == 0


@pytest.fixture(scope="session")
def base_pack(tmp_path_factory) -> Path:
    """The memo pack ``finmodel report scenarios/base.yaml`` writes, made once per session (shared
    by the xdist workers, :func:`shared_folder`): read it in place; copy it (``shutil.copytree``)
    before changing anything."""
    return shared_folder(tmp_path_factory, "base_pack", _write_base_pack) / "base"
