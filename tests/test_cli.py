"""The command line: ``finmodel run`` and ``finmodel validate`` (MODEL.md section 12).

Exit status 0 on success and 2 on bad input; on bad input every problem is
on stderr as ``file:line: key: message``, without a traceback, and nothing is
written.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import RTOL_MODEL, SCENARIOS, all_scenarios

import finmodel
from finmodel.cli import main

BASE = SCENARIOS / "base.yaml"
SPEC_LINES = {
    "spend",
    "in_service",
    "credit_earned",
    "credit_cash",
    "recapture",
    "depreciation",
    "revenue",
    "power",
    "om",
    "ebitda",
    "taxable_income",
    "tax",
    "terminal_value",
    "cash_flow",
    "fiscal_cost",
}
METRICS = {
    "npv_usd",
    "irr",
    "payback_year",
    "peak_funding_usd",
    "credit_earned_usd",
    "pv_credit_usd",
    "breakeven_revenue_usd_per_gw_year",
}


@pytest.fixture
def bad_scenario(tmp_path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text("extends: " + str(BASE) + "\npolicy:\n  amic:\n    rate: 3.5\n", encoding="utf-8")
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_run_writes_summary_cashflows_and_manifest(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(BASE), "--out", str(out)]) == 0
    assert {"summary.json", "cashflows.csv", "run.json"} <= {p.name for p in out.iterdir()}
    assert not [p for p in out.iterdir() if p.name.endswith(".tmp")]  # no temporary file left

    summary = json.loads((out / "summary.json").read_text())
    expected = finmodel.run(finmodel.load_scenario(BASE))
    assert summary["scenario"] == "base"
    assert summary["finmodel_version"] == finmodel.__version__
    assert set(summary["cases"]) == {"without", "with"}
    assert set(summary["cases"]["with"]) == METRICS and set(summary["delta"]) == METRICS
    for case in ("without", "with"):
        for m in METRICS:
            want = expected.metric(m, case)
            got = summary["cases"][case][m]
            assert got == pytest.approx(want, rel=RTOL_MODEL) if want is not None else got is None, (case, m)
    assert summary["fiscal"]["window"] == [2026, 2035]
    assert summary["fiscal"]["fiscal_cost_window_usd"] == pytest.approx(
        expected.fiscal()["fiscal_cost_window_usd"], rel=RTOL_MODEL
    )

    with open(out / "cashflows.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == ["case", "year", "line", "category", "value_usd"]
    assert SPEC_LINES <= {r["line"] for r in rows}
    cf_2025 = [r for r in rows if r["line"] == "cash_flow" and r["case"] == "with" and r["year"] == "2025"]
    assert len(cf_2025) == 1 and cf_2025[0]["category"] == ""
    assert float(cf_2025[0]["value_usd"]) == pytest.approx(expected.lines["cash_flow"][1, 0], abs=1e-5)

    manifest = json.loads((out / "run.json").read_text())
    assert manifest["scenarios"][0]["sha256"] == expected.scenario.sha256()

    printed = capsys.readouterr().out
    for label in (
        "NPV",
        "IRR",
        "Payback year",
        "Peak funding need",
        "Credit earned",
        "PV of credit cash",
        "Break-even revenue per GW-year",
        "Treasury cost 2026\u20132035",
        "Treasury cost, PV",
    ):
        assert label in printed
    assert "Without AMIC" in printed and "With AMIC" in printed and "Change" in printed
    assert "wrote" in printed


def test_run_table_shows_the_figures(capsys):
    assert main(["run", str(BASE)]) == 0
    printed = capsys.readouterr().out
    r = finmodel.run(finmodel.load_scenario(BASE))
    credit = r.metric("credit_earned_usd", "with")
    # the credit row: $0.0B without, the credit in $B with one decimal, and the change
    row = next(line for line in printed.splitlines() if line.startswith("Credit earned"))
    assert row.split()[-3:] == ["$0.0B", f"${credit / 1e9:,.1f}B", f"+${credit / 1e9:,.1f}B"]


def test_run_without_out_writes_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(BASE)]) == 0
    assert list(tmp_path.iterdir()) == []


def test_validation_error_writes_nothing(tmp_path, bad_scenario, capsys):
    out = tmp_path / "never"
    assert main(["run", str(bad_scenario), "--out", str(out)]) == 2
    assert not out.exists()  # folder not created
    err = capsys.readouterr().err
    assert f"{bad_scenario}:4: policy.amic.rate: must be >= 0 and <= 1, got 3.5" in err
    assert "nothing was written" in err
    assert "Traceback" not in err


def test_validation_error_leaves_an_existing_run_unchanged(tmp_path, bad_scenario, capsys):
    out = tmp_path / "out"
    assert main(["run", str(BASE), "--out", str(out)]) == 0
    before = snapshot(out)
    assert main(["run", str(bad_scenario), "--out", str(out)]) == 2
    assert snapshot(out) == before


def test_refuses_a_foreign_non_empty_folder(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    assert main(["run", str(BASE), "--out", str(out)]) == 2
    assert snapshot(out) == {"notes.txt": b"keep me"}
    assert "Traceback" not in capsys.readouterr().err
    assert main(["run", str(BASE), "--out", str(out), "--force"]) == 0
    assert (out / "summary.json").exists() and (out / "notes.txt").read_text() == "keep me"


def test_validate_many_files(tmp_path, bad_scenario, capsys):
    paths = [str(p) for p in all_scenarios()]
    assert main(["validate", *paths]) == 0
    printed = capsys.readouterr().out
    assert all(f"{p}: ok" in printed for p in paths)

    other = tmp_path / "other.yaml"
    other.write_text("extends: " + str(BASE) + "\ntax:\n  capacity: standlone\n", encoding="utf-8")
    assert main(["validate", paths[0], str(bad_scenario), str(other)]) == 2
    captured = capsys.readouterr()
    assert f"{paths[0]}: ok" in captured.out
    assert f"{bad_scenario}:4: policy.amic.rate:" in captured.err
    assert f"{other}:3: tax.capacity:" in captured.err and "did you mean 'standalone'" in captured.err
    assert "2 problems found" in captured.err


def test_missing_file_and_usage_errors(tmp_path, capsys):
    assert main(["run", str(tmp_path / "nope.yaml")]) == 2
    err = capsys.readouterr().err
    assert "nope.yaml" in err and "not found" in err and "Traceback" not in err
    for argv in ([], ["frobnicate"], ["validate"], ["run", str(BASE), "--bogus"]):
        with pytest.raises(SystemExit) as info:
            main(argv)
        assert info.value.code == 2, argv
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert finmodel.__version__ in capsys.readouterr().out


def test_console_script_bad_input_in_a_subprocess(tmp_path, bad_scenario):
    script = Path(sys.executable).parent / "finmodel"
    out = tmp_path / "out"
    proc = subprocess.run(
        [str(script), "run", str(bad_scenario), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert f"{bad_scenario}:4: policy.amic.rate:" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    assert not out.exists()


class _ClosedPipe:
    """A standard output whose reader went away: every write and flush raises BrokenPipeError."""

    def write(self, text):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


def test_closed_pipe_stops_quietly_with_status_141(monkeypatch, capsys):
    from finmodel.cli import EXIT_CLOSED_PIPE

    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    assert main(["sources", str(BASE)]) == EXIT_CLOSED_PIPE == 141  # 128 + SIGPIPE, as a shell reports it
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("argv", [["sources", str(BASE)], ["validate", str(BASE)]])
def test_console_script_into_a_closed_pipe_says_nothing(argv):
    """`finmodel sources base.yaml | head -1`, with the reader gone before the first write, so the
    outcome does not depend on timing: a long listing, and a short one left in the buffer until exit."""
    import os

    script = Path(sys.executable).parent / "finmodel"
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [str(script), *argv], stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120
        )
    finally:
        os.close(write_end)
    assert proc.returncode == 141
    assert proc.stderr == ""
