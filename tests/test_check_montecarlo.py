"""``finmodel run --check DIR`` on Monte Carlo, sensitivity, sweep and solve folders.

The oracle throughout is the folder itself: a montecarlo run is bitwise
reproducible for the same scenario, seed and draws, so a fresh folder must
check identical, and a figure edited after the run must be named with the
value it had (which the re-run gives back).
"""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

import pytest
from conftest import SCENARIOS, shared_folder

import finmodel
from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.cli import main
from finmodel.outputs import check, report
from finmodel.outputs.check import DIFFERENCES_KEPT, Difference, compare_csv

BASE = SCENARIOS / "base.yaml"
MC_ARGS = ["montecarlo", str(BASE), "--draws", "2000", "--seed", "5"]
#: A sweep of a year's step and of "no deadline" on a case's difference, with a --set item,
#: and a solve in a bracket asked for: what run.json must record for --check to repeat them.
SWEEP_ARGS = [
    "sweep",
    str(SCENARIOS / "credit_vs_guarantee.yaml"),
    "--x",
    "policy.amic.rate[2026]=20%,35%",
    "--y",
    "policy.amic.construction_deadline_year=2030,none",
    "--metric",
    "equity_npv_usd",
    "--case",
    "delta.both",
    "--set",
    "finance.discount_rate=9%",
    "--formats",
    "svg",
]
SOLVE_ARGS = ["solve", str(BASE), "--param", "tax.corporate_rate", "--metric", "npv_usd", "--target", "0"]
SOLVE_ARGS += ["--case", "with", "--lo", "5%", "--hi", "50%"]


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


NAMES = ("mc", "mc_csv", "sens", "sweep", "solve")


def _write(root: Path) -> None:
    folders = {name: root / name for name in NAMES}
    svg = ["--formats", "svg"]  # charts are listed, never compared: one format (the fastest) is enough
    assert main([*MC_ARGS, *svg, "--out", str(folders["mc"])]) == 0
    assert main([*MC_ARGS, *svg, "--out", str(folders["mc_csv"]), "--csv"]) == 0
    assert main(["sensitivity", str(BASE), *svg, "--out", str(folders["sens"])]) == 0
    assert main([*SWEEP_ARGS, "--out", str(folders["sweep"])]) == 0
    assert main([*SOLVE_ARGS, "--out", str(folders["solve"])]) == 0


@pytest.fixture(scope="module")
def written(tmp_path_factory) -> dict[str, Path]:
    """One montecarlo folder without draws.csv, one with, a sensitivity, a sweep and a solve
    folder: written once per session (shared by the xdist workers), never changed."""
    root = shared_folder(tmp_path_factory, "check_montecarlo", _write)
    return {name: root / name for name in NAMES}


@pytest.fixture
def folder(written, tmp_path, request) -> Path:
    """A private copy of one written folder (``indirect`` parameter: its key), free to edit."""
    copy = tmp_path / request.param
    shutil.copytree(written[request.param], copy)
    return copy


def run_check(folder: Path, capsys) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["run", "--check", str(folder)])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def edit_json(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data, indent=2))


# --------------------------------------------------------------------------- identical


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_montecarlo_folder_checks_identical_and_is_left_unchanged(folder, capsys):
    before = tree(folder)
    code, out, _ = run_check(folder, capsys)
    assert code == 0
    assert (
        f"{folder}: identical: every figure of montecarlo.json, montecarlo_summary.csv, "
        "fan_percentiles.csv reproduced (scenario base, SHA-256 " in out
    )
    assert "2,000 draws, seed 5)" in out
    assert "draws.csv" not in out  # written without --csv: nothing to compare, nothing claimed
    not_compared = next(line for line in out.splitlines() if line.startswith("not compared"))
    assert "montecarlo_fan.svg" in not_compared and "montecarlo.json" not in not_compared
    assert tree(folder) == before  # --check writes nothing


@pytest.mark.parametrize("folder", ["mc_csv"], indirect=True)
def test_draws_csv_is_compared_when_present(folder, capsys, monkeypatch):
    # render the fresh draws.csv in blocks that do not divide 2000: the streamed
    # text must still equal the file that write_montecarlo rendered whole
    monkeypatch.setattr(report, "DRAWS_BLOCK", 333)
    code, out, _ = run_check(folder, capsys)
    assert code == 0
    assert "fan_percentiles.csv, draws.csv reproduced" in out


def test_draws_csv_lines_are_the_whole_frame_in_any_block_size():
    result = run_montecarlo(finmodel.load_scenario(BASE), draws=50, seed=2)
    whole = result.draws_frame().to_csv(index=False, float_format=report.CSV_FLOAT, lineterminator="\n")
    for block in (1, 7, 50, 1000):
        assert "".join(line + "\n" for line in report.draws_csv_lines(result, block)) == whole


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_manifest_without_draws_takes_them_from_montecarlo_json(folder, capsys):
    """Folders written before run.json recorded the number of draws still check."""
    edit_json(folder / "run.json", lambda d: d.pop("draws"))
    code, out, _ = run_check(folder, capsys)
    assert code == 0 and "identical" in out
    assert "note: run.json records no number of draws; took 2000 from montecarlo.json" in out


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_version_strings_are_not_figures(folder, capsys):
    """montecarlo.json nests the base run's summary, with its finmodel_version: not a figure."""
    edit_json(folder / "montecarlo.json", lambda d: d["base"].update(finmodel_version="0.0.0"))
    code, out, _ = run_check(folder, capsys)
    assert code == 0 and "identical" in out


# --------------------------------------------------------------------------- different


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_edited_montecarlo_json_figure_is_named(folder, capsys):
    path = folder / "montecarlo.json"
    original = json.loads(path.read_text())["metrics"]["npv_usd"]["delta"]["p50"]

    def bump(d):
        d["metrics"]["npv_usd"]["delta"]["p50"] += 1.0

    edit_json(path, bump)
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    assert "DIFFERENT: 1 figure of montecarlo.json, montecarlo_summary.csv, fan_percentiles.csv differ" in out
    assert (
        f"montecarlo.json: metrics.npv_usd.delta.p50: recorded {json.dumps(original + 1.0)}, "
        f"now {json.dumps(original)}"
    ) in out


@pytest.mark.parametrize("folder", ["mc_csv"], indirect=True)
def test_edited_draws_csv_cell_and_lost_row_are_named(folder, capsys):
    path = folder / "draws.csv"
    lines = path.read_text().splitlines(keepends=True)
    header = lines[0].rstrip("\n").split(",")
    column = header.index("npv_usd.with")
    row = lines[18].rstrip("\n").split(",")  # draw 17
    assert row[0] == "17"
    original = row[column]
    row[column] = "1.5"
    lines[18] = ",".join(row) + "\n"
    path.write_text("".join(lines[:-1]))  # and the last draw lost
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    assert "DIFFERENT: 2 figures of" in out
    assert f"draws.csv: draw=17 npv_usd.with: recorded 1.5, now {original}" in out
    assert f"draws.csv: draw=1999 (whole row): recorded (missing), now {lines[-1].rstrip()}" in out


@pytest.mark.parametrize("folder", ["mc_csv"], indirect=True)
def test_edited_seed_reruns_other_draws_and_says_so(folder, capsys):
    """The seed is not under the scenario's SHA-256: a changed seed shows as changed figures."""
    edit_json(folder / "run.json", lambda d: d.update(seed=6))
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    assert "2,000 draws, seed 6" in out
    assert "montecarlo.json: seed: recorded 5, now 6" in out  # the first difference shown
    checked = check.check_run(folder)
    assert len(checked.differences) == DIFFERENCES_KEPT and checked.more > 0  # kept, then counted
    assert f"... and {checked.n_differences - 10:,} more" in out
    # every compared file differs; the kept ones come in the order compared
    files = [d.file for d in checked.differences]
    every = ["montecarlo.json", "montecarlo_summary.csv", "fan_percentiles.csv", "draws.csv"]
    assert list(dict.fromkeys(files)) == checked.compared == every


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_edited_draws_reruns_that_many(folder, capsys):
    edit_json(folder / "run.json", lambda d: d.update(draws=1999))
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    assert "montecarlo.json: draws: recorded 2000, now 1999" in out


# --------------------------------------------------------------------------- bad folders (exit 2)


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_edited_resolved_scenario_is_refused(folder, capsys):
    edit_json(folder / "run.json", lambda d: d["scenarios"][0]["resolved"]["uncertainty"].update(draws=7))
    code, out, err = run_check(folder, capsys)
    assert code == 2 and out == ""
    assert "the resolved scenario does not match its recorded SHA-256" in err and "Traceback" not in err


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_montecarlo_folder_without_manifest(folder, capsys):
    (folder / "run.json").unlink()
    code, _, err = run_check(folder, capsys)
    assert code == 2
    assert f"{folder / 'run.json'}: not found; --check needs a folder written by finmodel run" in err
    assert "montecarlo" in err and "Traceback" not in err


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: d.update(seed=None), "records no seed (seed: null), so its draws cannot be repeated"),
        (lambda d: d.update(draws=0), "draws must be a whole number >= 1, got 0"),
        (lambda d: d.update(draws="2000"), 'draws must be a whole number >= 1, got "2000"'),
    ],
)
@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_unusable_seed_or_draws(folder, capsys, change, message):
    edit_json(folder / "run.json", change)
    code, _, err = run_check(folder, capsys)
    assert code == 2 and message in err and "Traceback" not in err


@pytest.mark.parametrize("folder", ["mc"], indirect=True)
def test_compare_folders_are_refused_by_name(folder, capsys):
    edit_json(folder / "run.json", lambda d: d.update(command=["finmodel", "compare", "x.yaml"]))
    code, _, err = run_check(folder, capsys)
    assert code == 2
    assert "written by 'finmodel compare x.yaml'; --check re-runs folders of finmodel run, report," in err


# --------------------------------------------------------------------------- sweep and solve


@pytest.mark.parametrize("folder", ["sweep"], indirect=True)
def test_sweep_folder_identical_then_edited(folder, capsys):
    recorded = json.loads((folder / "run.json").read_text())["analysis"]
    assert recorded["x"] == {"path": "policy.amic.rate[2026]", "values": [0.2, 0.35]}
    assert recorded["y"]["values"] == [2030, None] and recorded["case"] == "delta.both"
    code, out, _ = run_check(folder, capsys)
    assert code == 0, out
    assert "identical: every figure of sweep.csv reproduced" in out
    assert "replayed the 1 --set item recorded: finance.discount_rate=9%" in out
    path = folder / "sweep.csv"
    rows = path.read_text().splitlines()
    head, cells = rows[0].split(","), rows[3].split(",")
    original = cells[-1]
    cells[-1] = "1"
    path.write_text("\n".join([*rows[:3], ",".join(cells), *rows[4:]]) + "\n")
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    row = f"{head[0]}={cells[0]} {head[1]}={cells[1]}"  # two key columns: the cell's x and y
    assert f"sweep.csv: {row} {head[-1]}: recorded 1, now {original}" in out, out


@pytest.mark.parametrize("folder", ["solve"], indirect=True)
def test_solve_folder_identical_then_edited(folder, capsys):
    recorded = json.loads((folder / "run.json").read_text())["analysis"]
    assert recorded["bracket"] == [0.05, 0.5] and recorded["parameter"] == "tax.corporate_rate"
    code, out, _ = run_check(folder, capsys)
    assert code == 0 and "identical: every figure of solve.json reproduced" in out
    value = json.loads((folder / "solve.json").read_text())["value"]
    edit_json(folder / "solve.json", lambda d: d.update(value=0.5))
    code, out, _ = run_check(folder, capsys)
    assert code == 1 and "value" in out and repr(value)[:8] in out


@pytest.mark.parametrize("folder", ["sweep", "solve"], indirect=True)
def test_sweep_and_solve_folders_without_their_analysis_are_refused(folder, capsys):
    edit_json(folder / "run.json", lambda d: d.pop("analysis"))
    code, _, err = run_check(folder, capsys)
    assert code == 2 and "records no analysis" in err and "Traceback" not in err


# --------------------------------------------------------------------------- sensitivity


@pytest.mark.parametrize("folder", ["sens"], indirect=True)
def test_sensitivity_folder_identical_then_edited(folder, capsys):
    code, out, _ = run_check(folder, capsys)
    assert code == 0
    assert "identical: every figure of sensitivity.json, tornado.csv reproduced" in out
    assert "tornado_delta_npv.svg" in out  # not compared, and said so

    path = folder / "tornado.csv"
    rows = list(csv.reader(io.StringIO(path.read_text())))
    head = rows[0]
    original = rows[1][head.index("at_high")]
    rows[1][head.index("at_high")] = "0.0"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    path.write_text(buffer.getvalue())
    code, out, _ = run_check(folder, capsys)
    assert code == 1
    where = f"metric={rows[1][0]} case={rows[1][1]} parameter={rows[1][2]} at_high"
    assert f"tornado.csv: {where}: recorded 0.0, now {original}" in out


# --------------------------------------------------------------------------- compare_csv


def test_compare_csv_names_rows_by_their_key_columns():
    head = "metric,case,p5,p50\n"
    a = [head, "npv_usd,with,1.0,2.0\n", "irr,with,0.1,0.2\n"]
    b = [head.rstrip("\n"), "npv_usd,with,1.0,2.5", "irr,with,0.1,0.2", "irr,delta,0.0,0.0"]
    assert list(compare_csv(a, b, "t.csv", key_columns=2)) == [
        Difference("t.csv", "metric=npv_usd case=with p50", "2.0", "2.5"),
        Difference("t.csv", "metric=irr case=delta (whole row)", "(missing)", "irr,delta,0.0,0.0"),
    ]
    assert list(compare_csv(a, a, "t.csv", key_columns=2)) == []
    blank = list(compare_csv([*a, "\n"], a, "t.csv", key_columns=2))  # an extra empty line, recorded
    assert blank == [Difference("t.csv", "row 3 (whole row)", "", "(missing)")]
    assert list(compare_csv(["a,b\n"], ["a,c\n"], "t.csv")) == [Difference("t.csv", "header", "a,b", "a,c")]
