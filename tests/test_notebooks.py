"""The notebooks: committed without outputs, listed in the README, and run top to bottom.

Each notebook in ``notebooks/`` is executed with a kernel of this very
interpreter (a kernelspec written to a temporary folder points at
``sys.executable``, so the machine's other kernels never matter), from a
temporary working folder, with ``FINMODEL_NOTEBOOK_OUT`` pointing to a
temporary folder: executing writes nothing into the repository. A cell that
raises fails the test.

For the notebooks whose figures a memo quotes, a probe cell appended after the
last cell prints what the notebook computed, and the test checks it against
credits computed by hand from ``scenarios/base.yaml`` and against the public
API run in this process.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from conftest import ROOT, RTOL_MODEL, SCENARIOS

import finmodel
from finmodel.outputs import memo

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
KERNEL = "finmodel-tests"
#: Seconds a single cell may run (the slowest cell runs eight scenarios).
CELL_TIMEOUT_S = 600

# Hand-computed credits from scenarios/base.yaml. Commitment C = $1.4T; spend
# shares by year 2025..2032: .04 .10 .13 .14 .15 .15 .15 .14; category shares:
# servers .55 (lag 0, construction 0), data centers .22 (shell + equipment;
# lag 1, construction 2), grid .07 (lag 1, construction 3), other .16 (no credit).
# Rate 25% for property placed in service through 2025, 35% from 2026, so only
# servers bought in 2025 earn 25%.
C = 1.4e12
SERVERS_2025 = 0.55 * 0.04 * C  # $30.8B placed in service in 2025
CREDIT_SERVERS = 0.25 * SERVERS_2025 + 0.35 * (0.55 * C - SERVERS_2025)  # $266.42B
CREDIT_DC_GRID = 0.35 * (0.22 + 0.07) * C  # $142.1B, all placed in service from 2026
CREDIT_BASE = CREDIT_SERVERS + CREDIT_DC_GRID  # $408.52B
CREDIT_RATE_25 = 0.25 * (0.55 + 0.22 + 0.07) * C  # $294.0B
# Deadline 2027: construction begun by 2026. Servers placed in service by 2026
# (bought 2025-26), data centers by 2028 (bought 2025-27), grid by 2029 (bought 2025-28).
CREDIT_CURRENT_DEADLINE = (
    0.25 * SERVERS_2025
    + 0.35 * 0.55 * 0.10 * C
    + 0.35 * 0.22 * (0.04 + 0.10 + 0.13) * C
    + 0.35 * 0.07 * (0.04 + 0.10 + 0.13 + 0.14) * C
)  # 7.7 + 26.95 + 29.106 + 14.063 = $77.819B
# Effective 2027: property placed in service from 2027 only. Servers bought 2027-32
# (1 - .04 - .10 of their spend); data centers and grid bought 2026-32 (lag 1).
CREDIT_EFFECTIVE_2027 = 0.35 * (0.55 * 0.86 + 0.29 * 0.96) * C  # 231.77 + 136.416 = $368.186B
# Manufacturing reading: servers and grid only, 5% of their cost qualified.
CREDIT_MANUFACTURING = 0.05 * CREDIT_SERVERS + 0.05 * 0.35 * 0.07 * C  # $15.036B
# Notebook 04's override: 30% in every year, construction begun before 2031:
# servers placed in service by 2030 (bought 2025-30), data centers by 2032
# (bought 2025-31), grid by 2033 (bought 2025-32, all of it).
CREDIT_RATE_30_DEADLINE_2031 = (
    0.30 * C * (0.55 * (0.04 + 0.10 + 0.13 + 0.14 + 0.15 + 0.15) + 0.22 * (1 - 0.14) + 0.07 * 1.0)
)  # 0.30 * (546.7 + 264.88 + 98) = $272.874B

PROBES = {
    "01_base_case.ipynb": (
        "import json\n"
        "print(json.dumps({'headline': memo.headline_sentences(results),\n"
        "                  'credit_earned_usd': results.metric('credit_earned_usd', 'with')}))"
    ),
    "02_eligibility_and_deadline.ipynb": "print(marginal[figures].to_json(orient='index'))",
    "05_credit_vs_guarantee.ipynb": "print(value.to_json(orient='index'))",
    "04_memo_charts.ipynb": (
        "import json\n"
        "print(json.dumps({'changes': changes, 'name': variant.name,\n"
        "                  'pack': str(pack.resolve())}))"
    ),
    # The explorer's update() at settings that match scenario files, plus rate 0; update() draws
    # the charts for four of them, the rest take the same path to the table without drawing.
    "06_explorer.ipynb": """import json
drawn = {"base": {}, "rate_0": {"rate": 0.0}, "refresh": {"refresh": True},
         "ownership": {"third_party_share": {"servers": 0.45, "data_centers": 0.9, "grid": 0.9},
                       "pass_through": 0.5}}
tabled = {"rate_25": {"rate": 0.25}, "servers_only": {"eligible": ["servers"]},
          "data_centers_and_grid": {"eligible": ["data_centers", "grid"]},
          "current_deadline": {"deadline": 2027}, "effective_2027": {"effective_year": 2027}}
probe = {}
for name, settings in {**drawn, **tabled}.items():
    if name in drawn:
        table, figures = update(settings)
        axes = [a for f in figures for a in f.axes]
        lines = {l.get_gid(): [float(y) for y in l.get_ydata()] for a in axes for l in a.lines}
        patches = [p for a in axes for p in a.patches]
        bars = [p.get_height() for p in patches if p.get_gid() == "fiscal-cost"]
    else:
        table, lines, bars = headline_table(results_for(settings)), {}, []
    r = results_for(settings)
    probe[name] = {"rows": table.reset_index().values.tolist(), "columns": list(table.columns),
                   "cumulative": {c: lines.get(f"cumulative-{c}") for c in ("without", "with")},
                   "fiscal_bars": bars, "credit_earned_usd": r.metric("credit_earned_usd", "with"),
                   "delta_npv_usd": r.delta("npv_usd"), "fiscal": r.fiscal()}
print(json.dumps(probe))""",
}


@pytest.fixture(scope="session")
def kernel_dir(tmp_path_factory) -> Path:
    """A kernel-spec folder with one kernel, which starts this interpreter (the environment's)."""
    folder = tmp_path_factory.mktemp("kernels")
    (folder / KERNEL).mkdir()
    spec = {
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "finmodel tests",
        "language": "python",
    }
    (folder / KERNEL / "kernel.json").write_text(json.dumps(spec), encoding="utf-8")
    return folder


# Run in a child process, so that the kernel client's sockets live and die there.
RUNNER = """
import os
import queue
import sys
import time
import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient

path, workdir, kernel_dir, kernel, timeout = sys.argv[1:]
nb = nbformat.read(path, as_version=4)
specs = KernelSpecManager(kernel_dirs=[kernel_dir])
# IPC sockets named inside this test's own folder: kernels started at the same time by parallel
# test workers cannot pick the same TCP port and talk to each other's client
km = AsyncKernelManager(kernel_name=kernel, kernel_spec_manager=specs, transport="ipc",
                        ip=os.path.join(workdir, "kernel"))
client = NotebookClient(nb, km=km, timeout=int(timeout), startup_timeout=120,
                        resources={"metadata": {"path": workdir}})


def in_slices(get_msg):
    # pyzmq's asyncio poll waits on the socket's edge-triggered descriptor: a reply that arrives
    # while the client itself sends on the shell socket (nbclient answers an Output widget's
    # messages there: notebook 06) can go unseen until the wait times out, when a last poll finds
    # it (a cell reported done after the full 600 s). Waiting in one-second slices looks again.
    async def get(timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            try:
                return await get_msg(timeout=1.0 if left is None else min(1.0, left))
            except queue.Empty:
                if left is not None and left <= 1.0:
                    raise
    return get


def on_notebook_start(notebook):
    client.kc.shell_channel.get_msg = in_slices(client.kc.shell_channel.get_msg)


client.on_notebook_start = on_notebook_start
client.execute()
nbformat.write(nb, path)
"""


def _snapshot(folder: Path) -> dict[str, int]:
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file()}


def execute(path: Path, kernel_dir: Path, tmp_path: Path, probe: str | None = None):
    """Run the notebook at ``path`` (plus ``probe``) in ``tmp_path/work``; returns it executed."""
    nb = nbformat.read(path, as_version=4)
    if probe is not None:
        nb.cells.append(nbformat.v4.new_code_cell(probe))
    executed = tmp_path / path.name
    nbformat.write(nb, executed)
    workdir = tmp_path / "work"
    workdir.mkdir()
    env = {
        **os.environ,
        "MPLBACKEND": "Agg",
        "FINMODEL_NOTEBOOK_OUT": str(tmp_path / "out"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
    }
    args = [
        sys.executable,
        "-c",
        RUNNER,
        str(executed),
        str(workdir),
        str(kernel_dir),
        KERNEL,
        str(CELL_TIMEOUT_S),
    ]
    done = subprocess.run(args, cwd=workdir, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{path.name} failed:\n{done.stderr[-6000:]}"
    return nbformat.read(executed, as_version=4)


def probe_output(nb) -> dict:
    text = "".join(o.get("text", "") for o in nb.cells[-1].outputs if o.output_type == "stream")
    return json.loads(text)


def shown_text(nb) -> str:
    """Everything the notebook's cells showed as text or Markdown."""
    parts = []
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            parts.append(output.get("text", ""))
            data = output.get("data", {})
            parts += [data.get("text/markdown", ""), data.get("text/plain", "")]
    return "\n".join(parts)


def test_notebooks_exist():
    names = {p.name for p in NOTEBOOKS}
    assert {
        "01_base_case.ipynb",
        "02_eligibility_and_deadline.ipynb",
        "04_memo_charts.ipynb",
        "05_credit_vs_guarantee.ipynb",
    } <= names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    dirty = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and (c.outputs or c.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} hold outputs or execution counts; clear them, then commit"


def test_readme_lists_every_notebook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Notebooks\n(.*?)(?=^## |\Z)", readme, re.S | re.M)
    assert section, "README.md has no '## Notebooks' section"
    missing = [p.name for p in NOTEBOOKS if p.name not in section.group(1)]
    assert not missing, f"README.md 'Notebooks' section does not mention {missing}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_runs_top_to_bottom(path, kernel_dir, tmp_path):
    before = _snapshot(ROOT / "notebooks"), _snapshot(SCENARIOS)

    nb = execute(path, kernel_dir, tmp_path, PROBES.get(path.name))

    assert (_snapshot(ROOT / "notebooks"), _snapshot(SCENARIOS)) == before, (
        "executing wrote into the repository"
    )
    errors = [o for c in nb.cells for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    check = CHECKS.get(path.name)
    if check is not None:
        check(nb, tmp_path)


def check_base_case(nb, tmp_path):
    got = probe_output(nb)
    assert got["credit_earned_usd"] == pytest.approx(CREDIT_BASE, rel=RTOL_MODEL)
    expected = memo.headline_sentences(finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml")))
    assert got["headline"] == expected
    shown = shown_text(nb)
    assert all(sentence in shown for sentence in expected), "the headline sentences are not displayed"


def check_eligibility(nb, tmp_path):
    marginal = probe_output(nb)
    hand = {
        "servers_only": CREDIT_BASE - CREDIT_SERVERS,
        "data_centers_and_grid": CREDIT_BASE - CREDIT_DC_GRID,
        "current_deadline": CREDIT_BASE - CREDIT_CURRENT_DEADLINE,
        "effective_2027": CREDIT_BASE - CREDIT_EFFECTIVE_2027,
        "rate_25": CREDIT_BASE - CREDIT_RATE_25,
        "manufacturing_reading": CREDIT_BASE - CREDIT_MANUFACTURING,
        "transfer": 0.0,
    }
    assert set(marginal) == set(hand)
    for name, credit in hand.items():
        assert marginal[name]["credit_earned_usd"] == pytest.approx(credit, rel=RTOL_MODEL, abs=1.0), name

    base = finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    for name, row in marginal.items():
        variant = finmodel.run(finmodel.load_scenario(SCENARIOS / f"{name}.yaml"))
        assert row["delta_npv_usd"] == pytest.approx(
            base.delta("npv_usd") - variant.delta("npv_usd"), rel=RTOL_MODEL
        )
        assert row["pv_credit_usd"] == pytest.approx(
            base.metric("pv_credit_usd", "with") - variant.metric("pv_credit_usd", "with"),
            rel=RTOL_MODEL,
            abs=1.0,
        )
        for key in ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
            assert row[key] == pytest.approx(
                base.fiscal()[key] - variant.fiscal()[key], rel=RTOL_MODEL, abs=1.0
            )
    # Transfer: the Treasury gives up face value either way (MODEL.md section 4); the owner, 93%.
    assert marginal["transfer"]["fiscal_cost_window_usd"] == pytest.approx(0.0, abs=1.0)
    assert marginal["transfer"]["delta_npv_usd"] > 0


def check_memo_pack(nb, tmp_path):
    got = probe_output(nb)
    pack = Path(got["pack"])
    assert pack.is_relative_to(tmp_path.resolve()), "the memo pack must go to FINMODEL_NOTEBOOK_OUT"
    summary = json.loads((pack / "summary.json").read_text(encoding="utf-8"))
    assert summary["cases"]["with"]["credit_earned_usd"] == pytest.approx(
        CREDIT_RATE_30_DEADLINE_2031, rel=RTOL_MODEL
    )
    # The pack holds what the public API gives for the same override.
    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    expected = finmodel.run(base.override(got["changes"], name=got["name"])).to_dict()
    assert summary["scenario"] == got["name"]
    for case in ("without", "with"):
        for name, value in expected["cases"][case].items():
            assert summary["cases"][case][name] == pytest.approx(value, rel=RTOL_MODEL), (
                case,
                name,
            )
    assert summary["fiscal"]["fiscal_cost_window_usd"] == pytest.approx(
        expected["fiscal"]["fiscal_cost_window_usd"], rel=RTOL_MODEL
    )
    manifest = json.loads((pack / "run.json").read_text(encoding="utf-8"))
    listed = set(manifest["files"])
    assert {
        "summary.md",
        "summary.json",
        "cashflows.csv",
        "tables.xlsx",
        "treasury_cost.png",
    } <= listed
    assert all((pack / name).is_file() for name in listed)


def check_credit_vs_guarantee(nb, tmp_path):
    value = probe_output(nb)
    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))
    assert set(value) == {"with", "guarantee_only", "both"}
    for case, row in value.items():
        gain = r.metric("equity_npv_usd", case) - r.metric("equity_npv_usd", "without")
        cost = r.fiscal(case)["fiscal_cost_pv_usd"]
        assert row["equity NPV gain ($B)"] == pytest.approx(gain / 1e9, rel=RTOL_MODEL)
        assert row["Treasury cost, PV ($B)"] == pytest.approx(cost / 1e9, rel=RTOL_MODEL)
        assert row["gain per $ of Treasury cost"] == pytest.approx(gain / cost, rel=RTOL_MODEL)


def check_explorer(nb, tmp_path):
    got = probe_output(nb)
    hand = {
        "base": CREDIT_BASE,
        "rate_0": 0.0,
        "rate_25": CREDIT_RATE_25,
        "servers_only": CREDIT_SERVERS,
        "data_centers_and_grid": CREDIT_DC_GRID,
        "current_deadline": CREDIT_CURRENT_DEADLINE,
        "effective_2027": CREDIT_EFFECTIVE_2027,
    }
    for name, credit in hand.items():
        assert got[name]["credit_earned_usd"] == pytest.approx(credit, rel=RTOL_MODEL, abs=1.0), name
    # Rate 0: the cases are equal and the Treasury pays nothing.
    assert got["rate_0"]["delta_npv_usd"] == pytest.approx(0.0, abs=1.0)
    for key in ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
        assert got["rate_0"]["fiscal"][key] == pytest.approx(0.0, abs=1.0)
    assert got["rate_0"]["cumulative"]["with"] == got["rate_0"]["cumulative"]["without"]
    # Settings that match a scenario file give that file's table, cell for cell, and figures.
    for name, row in got.items():
        if name == "rate_0":
            continue
        expected = finmodel.run(finmodel.load_scenario(SCENARIOS / f"{name}.yaml"))
        rows = memo.summary_rows(expected)
        assert row["columns"] == list(rows[0][1:]), name
        assert row["rows"] == [list(r) for r in rows[1:]], name
        assert row["delta_npv_usd"] == pytest.approx(expected.delta("npv_usd"), rel=RTOL_MODEL), name
        for key in ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
            assert row["fiscal"][key] == pytest.approx(expected.fiscal()[key], rel=RTOL_MODEL, abs=1.0), name
        if row["fiscal_bars"]:  # the charts drawn: the cumulative cash flow and the Treasury's cost
            for k, case in enumerate(("without", "with")):
                cumulative = np.cumsum(np.asarray(expected.lines["cash_flow"])[k])
                np.testing.assert_allclose(row["cumulative"][case], cumulative, rtol=RTOL_MODEL)
            np.testing.assert_allclose(
                row["fiscal_bars"], np.asarray(expected.lines["fiscal_cost"])[1], rtol=RTOL_MODEL, atol=1.0
            )
    assert {"base", "rate_0", "refresh", "ownership"} <= {n for n, r in got.items() if r["fiscal_bars"]}


CHECKS = {
    "05_credit_vs_guarantee.ipynb": check_credit_vs_guarantee,
    "01_base_case.ipynb": check_base_case,
    "02_eligibility_and_deadline.ipynb": check_eligibility,
    "04_memo_charts.ipynb": check_memo_pack,
    "06_explorer.ipynb": check_explorer,
}
