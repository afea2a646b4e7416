"""Safe outputs: atomic writes, refused folders, run.json, ``run --check``, numerical guards."""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import os
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, all_scenarios, fake_converter

import finmodel
from finmodel import __version__
from finmodel.cli import main
from finmodel.engine.model import NumericalError
from finmodel.outputs import report
from finmodel.outputs.check import CheckError, check_run, compare_cashflows, compare_summary
from finmodel.outputs.report import (
    OutputError,
    atomic_write,
    made_by_finmodel,
    prepare_out_dir,
    render_run,
)
from finmodel.scenario.load import scenario_from_dict

BASE = SCENARIOS / "base.yaml"
TMP_NAME = re.compile(r"^\..+\.[^/]*\.tmp$")  # atomic_write's temporary names: .NAME.XXXX.tmp


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def small(**changes) -> dict:
    data = {
        "name": "small",
        "program": {"commitment_usd": "10B", "start_year": 2026, "years": 3, "capacity_gw": 1},
        "categories": {
            "servers": {"share": 0.6, "macrs_years": 5},
            "dc": {"share": 0.4, "macrs_years": 39},
        },
        "policy": {"amic": {"eligible": ["servers", "dc"], "construction_deadline_year": None}},
        "operations": {"revenue_usd_per_gw_year": "9B"},
        "analysis": {"end_year": 2040},
    }
    for key, value in changes.items():
        node = data
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return data


# --------------------------------------------------------------------------- atomic writes


def test_atomic_write_failure_leaves_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "summary.json"
    target.write_text("old\n")

    def half_then_fail(p: Path):
        p.write_text("half a fil")
        raise OSError(28, "No space left on device")

    with pytest.raises(OSError):
        atomic_write(target, half_then_fail)
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["summary.json"]


def test_atomic_write_interrupted_leaves_nothing(tmp_path):
    def interrupted(p: Path):
        p.write_text("partial")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(tmp_path / "new.csv", interrupted)
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_replaces_whole_file(tmp_path):
    target = tmp_path / "a.txt"
    atomic_write(target, lambda p: p.write_text("x" * 1000))
    atomic_write(target, lambda p: p.write_text("short"))
    assert target.read_text() == "short"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


class WriteLog:
    """Records every file the process opens for writing (pandas, matplotlib, openpyxl and
    pathlib all end up in builtins.open or io.open)."""

    def __init__(self, monkeypatch):
        self.paths: list[Path] = []
        real_open = builtins.open

        def logging_open(file, mode="r", *args, **kwargs):
            if isinstance(file, (str, os.PathLike)) and any(c in mode for c in "wax+"):
                self.paths.append(Path(file))
            return real_open(file, mode, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", logging_open)
        monkeypatch.setattr(io, "open", logging_open)  # pathlib and zipfile call io.open

    def not_atomic(self, folder: Path) -> list[str]:
        folder = folder.resolve()
        return sorted(
            str(p) for p in self.paths if folder in p.resolve().parents and not TMP_NAME.match(p.name)
        )


def test_run_writes_only_through_atomic_write(tmp_path, monkeypatch):
    log = WriteLog(monkeypatch)
    out = tmp_path / "out"
    assert main(["run", str(BASE), "--out", str(out)]) == 0
    assert log.paths, "the write log saw nothing: the check itself is broken"
    assert log.not_atomic(out) == []
    assert sorted(tree(out)) == ["cashflows.csv", "run.json", "summary.json"]


#: How to call each command that writes an output folder (small and fast).
WRITERS = {
    "run": ["run", str(BASE)],
    "report": ["report", str(BASE)],
    "compare": ["compare", str(BASE), str(SCENARIOS / "transfer.yaml")],
    "memo": ["memo", str(BASE), str(SCENARIOS / "transfer.yaml")],
    "montecarlo": ["montecarlo", str(BASE), "--draws", "200", "--csv"],
    "sensitivity": ["sensitivity", str(BASE)],
    "sweep": ["sweep", str(BASE), "--x", "policy.amic.rate=0.25,0.35"],
    "solve": [
        "solve",
        str(BASE),
        "--param",
        "policy.amic.rate",
        "--metric",
        "fiscal_cost_window_usd",
        "--target",
        "100B",
    ],
}


def commands_with_out() -> list[str]:
    from finmodel.cli import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction")
    return sorted(
        name for name, p in sub.choices.items() if any("--out" in a.option_strings for a in p._actions)
    )


def test_every_writing_command_is_covered():
    missing = sorted(set(commands_with_out()) - set(WRITERS))
    assert not missing, f"add an invocation to WRITERS for {missing} so that its writes are checked"


@pytest.mark.slow
@pytest.mark.parametrize("command", sorted(WRITERS))
def test_every_command_writes_atomically_with_a_manifest(command, tmp_path, monkeypatch, capsys):
    """Every file a command writes under --out goes through a temporary name and a rename,
    the folder gets a run.json manifest, and a folder not made by finmodel is refused.

    memo converts its draft to PDF with the stand-in converter: LibreOffice's own writes go to a
    folder of its own, which this process's write log does not see (test_memo_docx runs it)."""
    if command == "memo":
        (tmp_path / "bin").mkdir()
        monkeypatch.setenv("PATH", f"{fake_converter(tmp_path / 'bin')}{os.pathsep}{os.environ['PATH']}")
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("keep me")
    assert main([*WRITERS[command], "--out", str(foreign)]) == 2
    assert tree(foreign) == {"notes.txt": b"keep me"}

    log = WriteLog(monkeypatch)
    out = tmp_path / "out"
    assert main([*WRITERS[command], "--out", str(out)]) == 0, capsys.readouterr().err
    assert log.not_atomic(out) == []
    files = tree(out)
    assert not [f for f in files if f.endswith(".tmp")]
    manifest = json.loads(
        files.pop("run.json") if "run.json" in files else (next(out.rglob("run.json"))).read_bytes()
    )
    assert manifest["finmodel_version"] == __version__
    assert manifest["command"][:2] == ["finmodel", command]
    if command == "memo":
        assert files["memo.pdf"] == b"%PDF-1.4 fake"


def test_write_run_renders_everything_before_writing(tmp_path, monkeypatch):
    """A failure while formatting the second file leaves the folder untouched."""
    out = tmp_path / "out"
    results = finmodel.run(finmodel.load_scenario(BASE))
    report.write_run(results, out)
    before = tree(out)

    def broken(_results):
        raise ValueError("formatting failed")

    monkeypatch.setattr(type(results), "cashflows", property(broken))
    with pytest.raises(ValueError):
        report.write_run(results, out)
    assert tree(out) == before


# --------------------------------------------------------------------------- output folders


def test_prepare_out_dir_rules(tmp_path):
    new = tmp_path / "new"
    assert prepare_out_dir(new) == new and not new.exists()  # checks, never creates
    empty = tmp_path / "empty"
    empty.mkdir()
    assert prepare_out_dir(empty) == empty

    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("someone's notes")
    with pytest.raises(OutputError, match="not made by finmodel"):
        prepare_out_dir(foreign)
    assert prepare_out_dir(foreign, force=True) == foreign

    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        prepare_out_dir(a_file, force=True)

    fake = tmp_path / "fake"
    fake.mkdir()
    (fake / "run.json").write_text('{"tool": "something else"}')
    assert not made_by_finmodel(fake)
    with pytest.raises(OutputError):
        prepare_out_dir(fake)


def test_cli_refuses_foreign_folder_unless_force(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "memo.docx").write_bytes(b"precious")
    before = tree(out)
    assert main(["run", str(BASE), "--out", str(out)]) == 2
    assert "not made by finmodel" in capsys.readouterr().err
    assert tree(out) == before
    assert main(["run", str(BASE), "--out", str(out), "--force"]) == 0
    after = tree(out)
    assert after["memo.docx"] == b"precious"
    assert {"summary.json", "cashflows.csv", "run.json"} <= set(after)
    # now made by finmodel: a second run needs no --force
    assert main(["run", str(BASE), "--out", str(out)]) == 0


def test_outputs_of_an_earlier_run_are_not_left_beside_new_ones(base_pack, tmp_path, capsys):
    """A memo pack of base, then a plain run of transfer into the same folder: the base
    charts and workbook must not sit beside transfer's summary; the user's file stays."""
    out = shutil.copytree(base_pack, tmp_path / "out")  # what `finmodel report BASE --out out` writes
    (out / "my_notes.txt").write_text("mine")
    assert "tables.xlsx" in tree(out)
    assert main(["run", str(SCENARIOS / "transfer.yaml"), "--out", str(out)]) == 0
    assert "of an earlier run that this one did not rewrite" in capsys.readouterr().out
    assert sorted(tree(out)) == ["cashflows.csv", "my_notes.txt", "run.json", "summary.json"]


def test_stale_removal_stays_inside_the_folder(tmp_path):
    out = tmp_path / "out"
    assert main(["run", str(BASE), "--out", str(out)]) == 0
    outside = tmp_path / "outside.txt"
    outside.write_text("not finmodel's")
    (out / "sub").mkdir()
    (out / "sub" / "old.csv").write_text("old output")
    previous = ["../outside.txt", "sub/old.csv", "summary.json", "missing.png"]
    assert report.remove_stale(out, previous) == ["sub/old.csv"]
    assert outside.read_text() == "not finmodel's"
    assert not (out / "sub").exists()  # emptied, so removed
    assert {"summary.json", "cashflows.csv", "run.json"} <= set(tree(out))


def test_failed_run_removes_nothing(base_pack, tmp_path):
    out = shutil.copytree(base_pack, tmp_path / "out")  # a memo pack of base
    before = tree(out)
    bad = SCENARIOS.parent / "tests" / "bad_scenarios" / "rate_above_one.yaml"
    assert main(["run", str(bad), "--out", str(out)]) == 2
    assert tree(out) == before


def test_unwritable_out_is_a_clean_failure(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder is needed")
    code = main(["run", str(BASE), "--out", str(blocker / "sub")])
    err = capsys.readouterr().err
    assert code == 1 and "cannot write" in err and "Traceback" not in err
    assert blocker.read_text() == "a file where a folder is needed"


# --------------------------------------------------------------------------- the manifest


def test_manifest_records_version_resolved_scenario_sha_and_command(tmp_path):
    out = tmp_path / "out"
    argv = ["run", str(SCENARIOS / "transfer.yaml"), "--out", str(out)]
    assert main(argv) == 0
    data = json.loads((out / "run.json").read_text())
    scenario = finmodel.load_scenario(SCENARIOS / "transfer.yaml")
    assert data["finmodel_version"] == __version__
    assert data["command"] == ["finmodel", *argv]
    assert data["seed"] is None
    entry = data["scenarios"][0]
    assert entry["sha256"] == scenario.sha256()
    canonical = json.dumps(entry["resolved"], sort_keys=True, separators=(",", ":"))
    assert hashlib.sha256(canonical.encode()).hexdigest() == entry["sha256"]
    # resolved: after extends (the parent's commitment) and defaults (in_service_month)
    assert entry["resolved"]["program"]["commitment_usd"] == 1.4e12
    assert entry["resolved"]["policy"]["amic"]["monetization"] == "transfer"
    assert entry["resolved"]["categories"]["servers"]["in_service_month"] == 7
    assert entry["files"] == [str(SCENARIOS / "base.yaml"), str(SCENARIOS / "transfer.yaml")]
    for name in ("summary.json", "cashflows.csv"):
        assert data["outputs"][name] == hashlib.sha256((out / name).read_bytes()).hexdigest()
    assert set(data["environment"]) == {"python", "numpy", "pandas"}


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_resolved_form_reads_back_to_the_same_scenario(path):
    """scenario_from_dict(resolved) is the same scenario: same values, SHA-256 and figures."""
    scenario = finmodel.load_scenario(path)
    resolved = json.loads(json.dumps(scenario.resolved()))  # as stored in run.json
    again = scenario_from_dict(resolved)
    assert dict(again.values) == dict(scenario.values)
    assert again.sha256() == scenario.sha256()
    assert render_run(finmodel.run(again)) == render_run(finmodel.run(scenario))


def test_scalar_rate_resolves_to_a_scalar():
    s = scenario_from_dict(small(**{"policy.amic.rate": "30%"}))
    assert s.resolved()["policy"]["amic"]["rate"] == 0.3
    assert scenario_from_dict(s.resolved())["policy.amic.rate"] == {0: 0.3}


# --------------------------------------------------------------------------- run --check


@pytest.fixture
def recorded(tmp_path) -> Path:
    out = tmp_path / "out"
    assert main(["run", str(SCENARIOS / "current_deadline.yaml"), "--out", str(out)]) == 0
    return out


def test_check_identical(recorded, capsys):
    capsys.readouterr()
    before = tree(recorded)
    assert main(["run", "--check", str(recorded)]) == 0
    out = capsys.readouterr().out
    assert "identical" in out and "summary.json, cashflows.csv" in out
    assert tree(recorded) == before  # --check writes nothing


def test_check_survives_the_source_files_moving(recorded, tmp_path):
    """--check needs only the folder: the resolved scenario is in run.json."""
    report_ = check_run(recorded)
    assert report_.identical and report_.compared == ["summary.json", "cashflows.csv"]
    moved = tmp_path / "elsewhere"
    recorded.rename(moved)
    assert check_run(moved).identical


def test_check_reports_first_differing_figures(recorded, capsys):
    csv_path = recorded / "cashflows.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith("with,2030,cash_flow,"))
    case, year, line, category, value = lines[row].rstrip("\n").split(",")
    lines[row] = f"{case},{year},{line},{category},{float(value) + 1:.6f}\n"
    csv_path.write_text("".join(lines))
    summary = json.loads((recorded / "summary.json").read_text())
    summary["cases"]["with"]["npv_usd"] += 0.5
    (recorded / "summary.json").write_text(json.dumps(summary, indent=2))
    capsys.readouterr()

    assert main(["run", "--check", str(recorded)]) == 1
    out = capsys.readouterr().out
    assert "DIFFERENT: 2 figures" in out
    assert "summary.json: cases.with.npv_usd: recorded" in out
    assert f"cashflows.csv: with 2030 cash_flow: recorded {float(value) + 1:.6f}, now {value}" in out


def test_check_compares_exactly():
    a = '{"cases": {"with": {"npv_usd": 1.0000000000000002, "irr": null}}, '
    a += '"finmodel_version": "0.0"}'
    b = '{"cases": {"with": {"npv_usd": 1.0, "irr": null}}, "finmodel_version": "9.9"}'
    diffs = compare_summary(a, b)
    assert [(d.where, d.recorded, d.now) for d in diffs] == [
        ("cases.with.npv_usd", "1.0000000000000002", "1.0")
    ]
    head = "case,year,line,category,value_usd\n"
    assert compare_cashflows(head + "with,2030,tax,,1.000000\n", head + "with,2030,tax,,1.000000\n") == []
    missing = compare_cashflows(head + "with,2030,tax,,1.000000\n", head)
    assert [(d.where, d.now) for d in missing] == [("with 2030 tax", "(missing)")]


def test_check_refuses_edited_manifest(recorded, capsys):
    data = json.loads((recorded / "run.json").read_text())
    data["scenarios"][0]["resolved"]["policy"]["amic"]["rate"] = 0.5
    (recorded / "run.json").write_text(json.dumps(data))
    assert main(["run", "--check", str(recorded)]) == 2
    assert "does not match its recorded SHA-256" in capsys.readouterr().err


def test_check_reports_invalid_resolved_scenario_as_bad_input(recorded, capsys):
    data = json.loads((recorded / "run.json").read_text())
    entry = data["scenarios"][0]
    entry["resolved"]["tax"]["corporate_rate"] = 3.5
    entry["sha256"] = hashlib.sha256(
        json.dumps(entry["resolved"], sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    (recorded / "run.json").write_text(json.dumps(data))
    assert main(["run", "--check", str(recorded)]) == 2
    err = capsys.readouterr().err
    assert "run.json: tax.corporate_rate: must be >= 0 and < 1, got 3.5" in err


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "run.json: not found"),
        ("{not json", "not a readable JSON manifest"),
        ('{"tool": "other"}', "not a finmodel manifest"),
        ('{"finmodel_version": "0.1.0", "scenarios": []}', "re-runs one scenario"),
    ],
)
def test_check_bad_folders(tmp_path, capsys, content, message):
    folder = tmp_path / "f"
    folder.mkdir()
    if content is not None:
        (folder / "run.json").write_text(content)
    assert main(["run", "--check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    with pytest.raises(CheckError):
        check_run(folder)


def test_check_names_the_command_of_other_folders(recorded, capsys):
    data = json.loads((recorded / "run.json").read_text())
    data["files"] = ["sweep.csv"]
    data["command"] = ["finmodel", "sweep", "x.yaml", "--x", "policy.amic.rate=0.25,0.35"]
    (recorded / "run.json").write_text(json.dumps(data))
    assert main(["run", "--check", str(recorded)]) == 2
    assert "written by 'finmodel sweep x.yaml --x policy.amic.rate=0.25,0.35'" in capsys.readouterr().err


def test_check_lists_files_it_does_not_regenerate(tmp_path, capsys):
    out = tmp_path / "pack"
    assert main(["report", str(SCENARIOS / "servers_only.yaml"), "--out", str(out), "--formats", "svg"]) == 0
    capsys.readouterr()
    assert main(["run", "--check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "identical" in text and "not compared" in text and "tables.xlsx" in text


def test_check_usage_errors(recorded, capsys):
    assert main(["run", str(BASE), "--check", str(recorded)]) == 2
    assert main(["run"]) == 2
    assert "needs a scenario file" in capsys.readouterr().err


# --------------------------------------------------------------------------- reproducibility


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_runs_are_bitwise_reproducible(path):
    scenario = finmodel.load_scenario(path)
    first = finmodel.run(scenario)
    second = finmodel.run(finmodel.load_scenario(path))
    for name, values in first.lines.items():
        assert np.asarray(values).tobytes() == np.asarray(second.lines[name]).tobytes(), name
    for name, values in first.metrics.items():
        assert np.asarray(values).tobytes() == np.asarray(second.metrics[name]).tobytes(), name
    assert render_run(first) == render_run(second)


def _draw(batch_values, i: int, single_values) -> np.ndarray:
    """Draw ``i`` of a batch array (arrays the override does not reach have no draw axis)."""
    arr, one = np.asarray(batch_values), np.asarray(single_values)
    return arr[i] if arr.ndim == one.ndim + 1 else arr


@pytest.mark.parametrize(
    "path, values",
    [
        ("finance.discount_rate", [0.08, 0.10, 0.12]),
        ("operations.revenue_usd_per_gw_year", [8e9, 10e9, 12e9, 14e9]),
        ("tax.corporate_rate", [0.15, 0.21, 0.28]),
    ],
)
def test_draws_reproduce_single_runs_bitwise(path, values):
    """Draw i of an array override gives the same bits as a run with that value set,
    whatever the batch around it (so results do not depend on how draws are chunked)."""
    scenario = finmodel.load_scenario(BASE)
    batch = finmodel.run(scenario, overrides={path: np.array(values)})
    for i, value in enumerate(values):
        single = finmodel.run(scenario.override({path: float(value)}))
        for name, one in single.metrics.items():
            assert _draw(batch.metrics[name], i, one).tobytes() == np.asarray(one).tobytes(), (
                name,
                i,
            )
        for name, one in single.lines.items():
            assert _draw(batch.lines[name], i, one).tobytes() == np.asarray(one).tobytes(), (
                name,
                i,
            )


# --------------------------------------------------------------------------- numerical guards


def overflowing() -> dict:
    """Valid inputs whose revenue overflows a float in a year computed by hand.

    Servers placed in service 2026-2028 (flat, 3 years) with a 100-year life:
    operating capacity O = 1e6 GW from 2028. Revenue = O * 1e300 * 2**(t - 2026)
    exceeds the largest float (1.797e308) first when 1e306 * 2**k > 1.797e308,
    k >= 8: in 2034.
    """
    return small(
        **{
            "program.capacity_gw": 1e6,
            "categories.servers.life_years": 100,
            "operations.revenue_usd_per_gw_year": 1e300,
            "operations.revenue_growth": 1.0,
        }
    )


def test_first_non_finite_is_named_by_line_year_case():
    scenario = scenario_from_dict(overflowing())
    with np.errstate(all="ignore"), pytest.raises(NumericalError) as info:
        finmodel.run(scenario)
    err = info.value
    assert (err.line, err.year, err.case, err.category, err.draw) == (
        "revenue",
        2034,
        "without",
        None,
        None,
    )
    assert "line 'revenue' is +inf in 2034 (case 'without')" in str(err)


def test_non_finite_in_a_draw_names_the_draw():
    """30 GW placed in service over 3 years: 10 GW operate in 2026. 10 * 1e308 overflows
    (draw 2) while 10 * 1e300 does not (draw 1)."""
    scenario = scenario_from_dict(small(**{"program.capacity_gw": 30}))
    prices = np.array([9e9, 1e300, 1e308])
    with np.errstate(all="ignore"), pytest.raises(NumericalError) as info:
        finmodel.run(scenario, overrides={"operations.revenue_usd_per_gw_year": prices})
    err = info.value
    assert (err.line, err.year, err.case, err.draw) == ("revenue", 2026, "without", (2,))
    assert "line 'revenue' is +inf in 2026 (case 'without', draw 2)" in str(err)


def test_category_lines_name_the_category():
    """An infinite share of 'dc' in draw 1 makes its spend infinite from the first year."""
    scenario = scenario_from_dict(small())
    with np.errstate(all="ignore"), pytest.raises(NumericalError) as info:
        finmodel.run(scenario, overrides={"categories.dc.share": np.array([0.4, np.inf])})
    err = info.value
    assert (err.line, err.year, err.case, err.category, err.draw) == (
        "spend",
        2026,
        "without",
        "dc",
        (1,),
    )
    assert "(case 'without', category 'dc', draw 1)" in str(err)


def test_cli_numerical_error_exit_1_no_traceback_nothing_written(tmp_path, capsys):
    import yaml

    path = tmp_path / "overflow.yaml"
    path.write_text(yaml.safe_dump(overflowing()))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "numerical error: line 'revenue' is +inf in 2034" in err
    assert "Traceback" not in err and "RuntimeWarning" not in err
    assert not out.exists()
