"""A streamed Monte Carlo run written to disk: the same files as the kept run, ``draws.csv`` streamed."""

from __future__ import annotations

import json

import pytest
from conftest import SCENARIOS, shared_folder

import finmodel
from finmodel.analysis import montecarlo as mc_module
from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.outputs.report import write_montecarlo


def _write(root):
    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    kept = run_montecarlo(base, draws=6000, seed=4)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mc_module, "PILOT", 1024)
        streamed = run_montecarlo(base, draws=6000, seed=4, keep=False)
        write_montecarlo(streamed, root / "streamed", draws_csv=True, formats=("svg",))
    write_montecarlo(kept, root / "kept", draws_csv=True, formats=("svg",))


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """A kept and a streamed run's folders, written once per session (shared by the xdist workers)."""
    root = shared_folder(tmp_path_factory, "streamed_outputs", _write)
    return root / "kept", root / "streamed"


def test_streamed_folder_has_the_kept_folders_files(folders):
    kept, streamed = folders
    names = sorted(p.name for p in kept.iterdir())
    assert names == sorted(p.name for p in streamed.iterdir())
    assert not [p for p in streamed.iterdir() if p.name.startswith(".")]  # no temporary file left
    for name in ("draws.csv", "fan_percentiles.csv"):
        assert (kept / name).read_bytes() == (streamed / name).read_bytes(), name
    assert len((streamed / "draws.csv").read_text().splitlines()) == 6001


def test_streamed_json_has_the_kept_percentiles_and_shares(folders):
    kept, streamed = folders
    a = json.loads((kept / "montecarlo.json").read_text())
    b = json.loads((streamed / "montecarlo.json").read_text())
    assert a["probabilities"] == b["probabilities"]
    for metric, rows in a["metrics"].items():
        for case, stats in rows.items():
            other = b["metrics"][metric][case]
            for key in ("p5", "p50", "p95", "undefined"):
                assert stats[key] == other[key], (metric, case, key)
            if stats["mean"] is not None:
                assert other["mean"] == pytest.approx(stats["mean"], rel=1e-14, abs=1e-300)


def test_a_streamed_folder_checks_identical_and_names_an_edited_draw(tmp_path, monkeypatch, capsys):
    """``run --check`` replays a streamed run (the same choice of streaming) and compares draws.csv."""
    from finmodel.cli import main

    monkeypatch.setattr(mc_module, "KEEP_BYTES", 0)  # every run streams
    monkeypatch.setattr(mc_module, "PILOT", 1024)
    out = tmp_path / "mc"
    args = ["montecarlo", str(SCENARIOS / "base.yaml"), "--draws", "3000", "--seed", "6", "--csv"]
    assert main([*args, "--out", str(out), "--formats", "svg"]) == 0
    capsys.readouterr()
    assert main(["run", "--check", str(out)]) == 0
    lines = (out / "draws.csv").read_text().splitlines()
    cells = lines[2000].split(",")
    cells[-1] = "1"
    lines[2000] = ",".join(cells)
    (out / "draws.csv").write_text("\n".join(lines) + "\n")
    capsys.readouterr()
    assert main(["run", "--check", str(out)]) != 0
    assert "draws.csv" in capsys.readouterr().out
