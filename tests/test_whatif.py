"""What-ifs without files (MODEL.md section 11, "What-ifs without files"; README).

``--set KEY=VALUE`` on run, report, compare, montecarlo and sensitivity: the
figures equal those of a scenario file that makes the same change (the oracle
is the file, loaded by the ordinary loader). ``PATH[YEAR]`` addresses one step
of a rate by year in ``--set``, ``sweep``/``solve`` and the ``uncertainty:`` and
``sensitivity:`` blocks; a rate by year moved without ``[YEAR]`` moves its last
step, so the scenario's own last rate reproduces the scenario to the bit.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import finmodel
from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.analysis.sensitivity import evaluate_points, point_overrides, solve, sweep, tornado
from finmodel.analysis.uncertainty import UncertaintySpec
from finmodel.cli import main
from finmodel.outputs.memo import compare_table
from finmodel.outputs.report import CSV_FLOAT
from finmodel.scenario import ScenarioError
from finmodel.scenario.blocks.distributions import Distribution
from finmodel.scenario.varying import RATE_MAPS
from finmodel.scenario.whatif import apply_sets

BASE = SCENARIOS / "base.yaml"


@pytest.fixture(scope="module")
def base():
    return finmodel.load_scenario(BASE)


def _bits(x) -> bytes:
    return np.ascontiguousarray(np.asarray(x, dtype=float)).tobytes()


def _same_metrics(a: dict, b: dict) -> None:
    """Every metric of ``a`` equals ``b``'s to the bit (NaN where NaN, the sign of a zero).

    ``b`` is a run's, which also holds figures the vectorized metrics leave out.
    """
    assert set(a) <= set(b) and "npv_usd" in a
    for name in a:
        assert _bits(a[name]) == _bits(b[name]), name


def _point(metrics: dict, i: int, points: int) -> dict:
    """Point ``i`` of vectorized metrics; a metric the varied key does not touch has no point axis."""
    return {k: np.broadcast_to(v, (points, np.shape(v)[-1]))[i] for k, v in metrics.items()}


def _child(tmp_path, text: str, parent=BASE, name="base"):
    """A scenario file extending ``parent`` with ``text`` (the oracle of a --set); keeps the name."""
    path = tmp_path / f"child_{name}.yaml"
    path.write_text(f"extends: {parent}\nname: {name}\n{text}", encoding="utf-8")
    return path


#: The change made both ways: as --set items and as the lines of a file.
SETS = ["policy.amic.rate[2026]=30%", "operations.utilization=70%", "program.commitment_usd=1.2T"]
FILE_LINES = (
    "policy:\n  amic:\n    rate: {2023: 0.25, 2026: 0.30}\n"
    "operations:\n  utilization: 0.7\n"
    "program:\n  commitment_usd: 1.2T\n"
)


def _set_args(sets=SETS) -> list[str]:
    return [a for s in sets for a in ("--set", s)]


def _figures(folder, name: str) -> dict:
    """A JSON output without what names the run (finmodel's version)."""
    data = json.loads((folder / name).read_text(encoding="utf-8"))
    data.pop("finmodel_version", None)
    return data


# --------------------------------------------------------------------------- --set on each command


def test_set_on_run_equals_a_file_with_the_same_change(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    assert main(["run", str(child), "--out", str(tmp_path / "file")]) == 0
    assert main(["run", str(BASE), *_set_args(), "--out", str(tmp_path / "set")]) == 0
    for name in ("summary.json", "cashflows.csv"):
        assert (tmp_path / "set" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name
    manifest = json.loads((tmp_path / "set" / "run.json").read_text())
    entry = manifest["scenarios"][0]
    assert entry["overrides"] == [
        {"given": "policy.amic.rate[2026]=30%", "key": "policy.amic.rate[2026]", "value": 0.3},
        {"given": "operations.utilization=70%", "key": "operations.utilization", "value": 0.7},
        {"given": "program.commitment_usd=1.2T", "key": "program.commitment_usd", "value": 1.2e12},
    ]
    assert entry["files"][-1] == "--set"
    assert entry["resolved"]["policy"]["amic"]["rate"] == {"2023": 0.25, "2026": 0.3}
    assert "overrides" not in json.loads((tmp_path / "file" / "run.json").read_text())["scenarios"][0]


@pytest.mark.slow
def test_set_on_report_equals_a_file(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    svg = ["--formats", "svg"]  # the charts are not compared here: one format (the fastest) is enough
    assert main(["report", str(child), "--out", str(tmp_path / "file"), *svg]) == 0
    assert main(["report", str(BASE), *_set_args(), "--out", str(tmp_path / "set"), *svg]) == 0
    for name in ("summary.json", "cashflows.csv"):
        assert (tmp_path / "set" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name


def test_set_on_compare_applies_to_every_scenario(tmp_path):
    sets = ["operations.utilization=70%", "tax.corporate_rate=25%"]
    lines = "operations:\n  utilization: 70%\ntax:\n  corporate_rate: 25%\n"
    a = _child(tmp_path, lines, BASE, "base")
    b = _child(tmp_path, lines, SCENARIOS / "rate_25.yaml", "rate_25")
    # the oracle: the table compare.csv is written from, for the two files
    expected = compare_table([finmodel.run(finmodel.load_scenario(p)) for p in (a, b)])
    args = ["compare", str(BASE), str(SCENARIOS / "rate_25.yaml"), *_set_args(sets), "--formats", "svg"]
    assert main([*args, "--out", str(tmp_path / "set")]) == 0
    written = pd.read_csv(tmp_path / "set" / "compare.csv")
    oracle = pd.read_csv(io.StringIO(expected.to_csv(index=False, float_format=CSV_FLOAT)))
    # labels are names (a child file's own), not figures
    pd.testing.assert_frame_equal(
        written.drop(columns=["label"], errors="ignore"), oracle.drop(columns=["label"], errors="ignore")
    )
    manifest = json.loads((tmp_path / "set" / "run.json").read_text())
    assert [[o["given"] for o in e["overrides"]] for e in manifest["scenarios"]] == [sets, sets]


def test_set_on_montecarlo_equals_a_file(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    opts = ["--draws", "300", "--seed", "5", "--formats", "svg"]  # charts not compared: one format
    assert main(["montecarlo", str(child), *opts, "--out", str(tmp_path / "file")]) == 0
    assert main(["montecarlo", str(BASE), *opts, *_set_args(), "--out", str(tmp_path / "set")]) == 0
    assert _figures(tmp_path / "set", "montecarlo.json") == _figures(tmp_path / "file", "montecarlo.json")
    for name in ("montecarlo_summary.csv", "fan_percentiles.csv"):
        assert (tmp_path / "set" / name).read_bytes() == (tmp_path / "file" / name).read_bytes(), name


def test_set_on_sensitivity_equals_a_file(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    svg = ["--formats", "svg"]  # the charts are not compared here: one format is enough
    assert main(["sensitivity", str(child), *svg, "--out", str(tmp_path / "file")]) == 0
    assert main(["sensitivity", str(BASE), *_set_args(), *svg, "--out", str(tmp_path / "set")]) == 0
    assert _figures(tmp_path / "set", "sensitivity.json") == _figures(tmp_path / "file", "sensitivity.json")
    assert (tmp_path / "set" / "tornado.csv").read_bytes() == (tmp_path / "file" / "tornado.csv").read_bytes()


def test_set_on_sweep_equals_a_file(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    opts = ["--x", "tax.corporate_rate=15%,21%", "--y", "policy.amic.rate[2023]=20%,25%", "--formats", "svg"]
    assert main(["sweep", str(child), *opts, "--out", str(tmp_path / "file")]) == 0
    assert main(["sweep", str(BASE), *opts, *_set_args(), "--out", str(tmp_path / "set")]) == 0
    assert (tmp_path / "set" / "sweep.csv").read_bytes() == (tmp_path / "file" / "sweep.csv").read_bytes()
    entry = json.loads((tmp_path / "set" / "run.json").read_text())["scenarios"][0]
    assert [o["given"] for o in entry["overrides"]] == SETS
    assert entry["resolved"]["operations"]["utilization"] == 0.7


def test_set_on_solve_equals_a_file(tmp_path):
    child = _child(tmp_path, FILE_LINES)
    opts = ["--param", "tax.corporate_rate", "--metric", "npv_usd", "--target", "0", "--case", "with"]
    assert main(["solve", str(child), *opts, "--out", str(tmp_path / "file")]) == 0
    assert main(["solve", str(BASE), *opts, *_set_args(), "--out", str(tmp_path / "set")]) == 0
    assert _figures(tmp_path / "set", "solve.json") == _figures(tmp_path / "file", "solve.json")
    entry = json.loads((tmp_path / "set" / "run.json").read_text())["scenarios"][0]
    assert [o["given"] for o in entry["overrides"]] == SETS


def test_the_baseline_is_named_as_set_not_as_written(tmp_path, capsys):
    """Under --set, solve and the tornado's text and chart say the scenario had --set items: their
    figures are those of the scenario with them, not of the file as written."""
    from finmodel.core import format as fmt
    from finmodel.outputs import charts, terminal

    opts = ["--param", "tax.corporate_rate", "--metric", "npv_usd", "--target", "0", "--case", "with"]
    assert main(["solve", str(BASE), *opts, "--set", "finance.discount_rate=8%"]) == 0
    out = capsys.readouterr().out
    assert "scenario with --set finance.discount_rate=8%: tax.corporate_rate = 21%" in out
    assert "as written" not in out
    scenario = apply_sets(finmodel.load_scenario(BASE), SETS)
    result = tornado(scenario, {"finance.discount_rate": (0.08, 0.12)})
    label = charts.tornado_chart(result).get_xlabel()
    assert label.startswith("Scenario with 3 --set items: +$"), label
    assert (
        terminal.tornado_text(result)
        .splitlines()[0]
        .endswith(
            f"scenario with 3 --set items: {fmt.metric(result.base[('npv_usd', 'delta')], 'USD', delta=True)}"
        )
    )
    plain = tornado(finmodel.load_scenario(BASE), {"finance.discount_rate": (0.08, 0.12)})
    assert charts.tornado_chart(plain).get_xlabel().startswith("Scenario as written: +$")


#: The base scenario's own values, as --set items: a what-if that changes nothing.
BASE_SETS = ["policy.amic.rate[2026]=35%", "operations.utilization=80%", "tax.corporate_rate=21%"]


def test_set_of_the_base_values_on_sweep_is_the_base(tmp_path, capsys):
    opts = ["--x", "tax.corporate_rate=15%,21%", "--formats", "svg"]
    assert main(["sweep", str(BASE), *opts, "--out", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    sets = _set_args(BASE_SETS[:2])  # the corporate rate is what this sweep varies
    assert main(["sweep", str(BASE), *opts, *sets, "--out", str(tmp_path / "set")]) == 0
    assert "+$195.7B" in capsys.readouterr().out  # at 21%: the base's change in NPV
    assert (tmp_path / "set" / "sweep.csv").read_bytes() == (tmp_path / "plain" / "sweep.csv").read_bytes()


def test_set_of_the_base_values_on_solve_is_the_base(tmp_path):
    opts = ["--param", "operations.utilization", "--metric", "npv_usd", "--target", "60B", "--case", "with"]
    assert main(["solve", str(BASE), *opts, "--out", str(tmp_path / "plain")]) == 0
    sets = _set_args([BASE_SETS[0], BASE_SETS[2]])  # utilization is what this solve varies
    assert main(["solve", str(BASE), *opts, *sets, "--out", str(tmp_path / "set")]) == 0
    assert _figures(tmp_path / "set", "solve.json") == _figures(tmp_path / "plain", "solve.json")
    assert _figures(tmp_path / "set", "solve.json")["scenario_value"] == 0.8


@pytest.mark.parametrize(
    "command",
    [
        ["sweep", str(BASE), "--x", "policy.amic.rate=25%,35%"],
        ["sweep", str(BASE), "--x", "tax.corporate_rate=20%,25%", "--y", "policy.amic.rate[2026]=30%,40%"],
        ["solve", str(BASE), "--param", "policy.amic.rate", "--metric", "npv_usd", "--target", "0"],
    ],
)
def test_sweep_or_solve_of_a_key_set_too_is_refused(tmp_path, capsys, command):
    """The varied values would replace the --set value (here the last step of the credit rate)."""
    out = tmp_path / "out"
    assert main([*command, "--set", "policy.amic.rate[2026]=30%", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "policy.amic.rate" in err and "--set policy.amic.rate[2026]=30%" in err and "one place" in err
    assert not out.exists()
    # a step the varied key does not move is no conflict: 2023's rate set, the last step swept
    assert main([*command, "--set", "policy.amic.rate[2023]=20%"]) == 0


def test_set_notations(base):
    s = apply_sets(
        base,
        [
            "policy.amic.eligible=[servers, grid]",
            "policy.amic.construction_deadline_year=null",
            "tax.bonus_depreciation={2022: 100%, 2025: 0.4}",
            "program.schedule={ramp: linear}",
            "finance.discount_rate=0.08",
        ],
    )
    assert s["policy.amic.eligible"] == ("servers", "grid")
    assert s["policy.amic.construction_deadline_year"] is None
    assert s["tax.bonus_depreciation"] == {2022: 1.0, 2025: 0.4}
    assert s["program.schedule"] == {"ramp": "linear"}
    assert s["finance.discount_rate"] == 0.08
    assert [o["value"] for o in s.overrides] == [
        ["servers", "grid"],
        None,
        {"2022": 1.0, "2025": 0.4},
        {"ramp": "linear"},
        0.08,
    ]
    # provenance: the keys set say --set; the untouched step keeps its file and source
    prov = s.provenance["tax.bonus_depreciation"]
    assert prov.file == "--set"
    t = apply_sets(base, ["policy.amic.rate[2026]=30%"])
    assert t.origins[("policy", "amic", "rate", 2026)] == ("--set", None)
    assert t.origins[("policy", "amic", "rate", 2023)][0] == str(BASE)
    assert t.provenance["policy.amic.rate"].source == "amic-chips-25"


# --------------------------------------------------------------------------- [YEAR] addressing


def test_year_step_semantics(base):
    rate = base["policy.amic.rate"]
    assert rate == {2023: 0.25, 2026: 0.35}
    # a step that starts in YEAR is set; none there: one is added; later steps unchanged
    assert base.override({"policy.amic.rate[2026]": "30%"})["policy.amic.rate"] == {2023: 0.25, 2026: 0.3}
    assert base.override({"policy.amic.rate[2025]": "30%"})["policy.amic.rate"] == {
        2023: 0.25,
        2025: 0.3,
        2026: 0.35,
    }
    assert base.override({"tax.bonus_depreciation[2027]": "40%"})["tax.bonus_depreciation"] == {
        2022: 1.0,
        2023: 0.8,
        2024: 0.6,
        2025: 1.0,
        2027: 0.4,
    }
    # a scalar rate (rate_25.yaml): the steps before YEAR keep it, from program.start_year
    r25 = finmodel.load_scenario(SCENARIOS / "rate_25.yaml")
    assert r25.override({"policy.amic.rate[2027]": "35%"})["policy.amic.rate"] == {2025: 0.25, 2027: 0.35}
    # a plain set and a step of the same key in one call: the step goes on the new map
    both = base.override({"policy.amic.rate": {2024: 0.2}, "policy.amic.rate[2028]": 0.4})
    assert both["policy.amic.rate"] == {2024: 0.2, 2028: 0.4}


def test_year_steps_in_sweep_equal_single_runs(base):
    for path, year in (
        ("policy.amic.rate", 2026),
        ("policy.amic.rate", 2027),
        ("tax.bonus_depreciation", 2025),
    ):
        xs = [0.2, 0.3, 0.5]
        result = sweep(base, (f"{path}[{year}]", xs), None, "npv_usd", "with")
        for i, x in enumerate(xs):
            r = finmodel.run(base.override({f"{path}[{year}]": x}))
            assert result.values[0, i] == r.metric("npv_usd", "with"), (path, year, x)
    # two steps of one map on the two axes
    grid = sweep(base, ("policy.amic.rate[2023]", [0.1, 0.2]), ("policy.amic.rate[2026]", [0.3, 0.4]))
    for j, y in enumerate([0.3, 0.4]):
        for i, x in enumerate([0.1, 0.2]):
            r = finmodel.run(base.override({"policy.amic.rate": {2023: x, 2026: y}}))
            assert grid.values[j, i] == r.metric("npv_usd", "with") - r.metric("npv_usd", "without")


def test_year_steps_in_cli_sweep_and_solve(tmp_path, capsys):
    assert main(["sweep", str(BASE), "--x", "policy.amic.rate[2026]=30%,35%"]) == 0
    out = capsys.readouterr().out
    assert "+$195.7B" in out  # 35% from 2026 is the base itself
    assert (
        main(
            ["solve", str(BASE), "--param", "policy.amic.rate[2026]", "--metric", "npv_usd", "--target", "0"]
        )
        == 0
    )
    assert main(["sweep", str(BASE), "--x", "tax.corporate_rate[2026]=20%,30%"]) == 2
    assert "tax.corporate_rate is one value, not a rate by year" in capsys.readouterr().err


def test_year_step_solve(base):
    r = solve(base, "policy.amic.rate[2026]", "fiscal_cost_window_usd", 200e9, "with")
    assert r.base_value == 0.35
    s = finmodel.run(base.override({"policy.amic.rate[2026]": r.value}))
    assert s.metric("fiscal_cost_window_usd", "with") == pytest.approx(200e9, rel=1e-9)
    # without a year, solve moves the last step too (the base value is 35%)
    r2 = solve(base, "policy.amic.rate", "fiscal_cost_window_usd", 200e9, "with")
    assert r2.base_value == 0.35 and r2.value == r.value


def test_year_steps_in_uncertainty_and_sensitivity_blocks(tmp_path, base):
    blocks = {
        "uncertainty": {
            "draws": 40,
            "seed": 3,
            "parameters": {
                "policy.amic.rate[2026]": {"dist": "uniform", "low": 0.3, "high": 0.4},
                "tax.bonus_depreciation[2027]": {"dist": "uniform", "low": 0.5, "high": 0.5},
            },
        },
        "sensitivity": {
            "policy.amic.rate[2026]": {"low": "30%", "high": "40%"},
            "tax.bonus_depreciation[2024]": {"low": 0.2, "high": 0.9},
        },
    }
    s = base.override({"uncertainty": None}).override(blocks)  # the blocks validated as a file's
    mc = run_montecarlo(s)
    rates = mc.inputs["policy.amic.rate[2026]"]
    for d in (0, 17, 39):
        r = finmodel.run(
            base.override({"policy.amic.rate[2026]": float(rates[d]), "tax.bonus_depreciation[2027]": 0.5})
        )
        for name in ("npv_usd", "credit_earned_usd"):
            assert _bits(mc.metrics[name][d]) == _bits(r.metrics[name]), (name, d)
    t = tornado(s)
    bars = {b.parameter: b for b in t.bars[("npv_usd", "delta")]}
    for path, low, high in (("policy.amic.rate[2026]", 0.3, 0.4), ("tax.bonus_depreciation[2024]", 0.2, 0.9)):
        for value, at in ((low, bars[path].at_low), (high, bars[path].at_high)):
            r = finmodel.run(base.override({path: value}))
            assert at == r.metric("npv_usd", "with") - r.metric("npv_usd", "without"), (path, value)
    # a bad step in a block is a validation error with its line
    bad = _child(tmp_path, "sensitivity:\n  tax.corporate_rate[2026]: {low: 0.2, high: 0.3}\n", name="bad")
    with pytest.raises(ScenarioError, match="one value, not a rate by year"):
        finmodel.load_scenario(bad)


# --------------------------------------------------------------------------- the last-step rule


@pytest.mark.parametrize("path", RATE_MAPS)
@pytest.mark.parametrize("scenario_file", ["base.yaml", "rate_25.yaml", "effective_2027.yaml"])
def test_last_step_at_the_scenarios_value_reproduces_the_scenario(path, scenario_file):
    """A sweep point or draw of a rate by year at its last step's own rate is the scenario, every metric."""
    s = finmodel.load_scenario(SCENARIOS / scenario_file)
    year_map = s[path]
    last = year_map[max(year_map)]
    base_metrics = finmodel.run(s).metrics
    point = evaluate_points(s, point_overrides(s, {path: [last, last]}))
    _same_metrics(_point(point, 0, 2), base_metrics)
    _same_metrics(_point(point, 1, 2), base_metrics)
    mc = run_montecarlo(
        s, draws=3, seed=1, spec=UncertaintySpec({path: Distribution("uniform", low=last, high=last)})
    )
    _same_metrics(_point(mc.metrics, 2, 3), base_metrics)
    # and any other value moves that step only
    moved = evaluate_points(s, point_overrides(s, {path: [0.5]}))
    key = f"{path}[{max(year_map)}]" if list(year_map) != [0] else path
    other = finmodel.run(s.override({key: 0.5})).metrics
    _same_metrics(_point(moved, 0, 1), other)


def test_base_sweep_of_the_credit_rate_at_35_percent_is_the_base(capsys):
    base = finmodel.load_scenario(BASE)
    delta = finmodel.run(base).metric("npv_usd", "with") - finmodel.run(base).metric("npv_usd", "without")
    cell = sweep(base, ("policy.amic.rate", [0.25, 0.35]), None, "npv_usd", "delta").values[0, 1]
    assert cell == delta
    assert f"{cell / 1e9:.1f}" == "195.7"
    # the former reading (one rate in every year, 2023-2025 included) is still there as a whole map
    whole = sweep(base, ("policy.amic.rate", [{2023: 0.35}]), None, "npv_usd", "delta").values[0, 0]
    assert f"{whole / 1e9:.1f}" == "197.8"


# --------------------------------------------------------------------------- bad --set


@pytest.mark.parametrize(
    "item, words",
    [
        ("policy.amic.rat=30%", ["--set: policy.amic.rat:", "did you mean 'policy.amic.rate'"]),
        ("policy.amic.rate[2026]=130%", ["--set: policy.amic.rate[2026]:", "must be >= 0 and <= 1"]),
        ("tax.corporate_rate[2026]=25%", ["--set: tax.corporate_rate[2026]:", "not a rate by year"]),
        ("categories.gpu.share=0.2", ["--set: categories.gpu.share:", "servers, dc_shell"]),
        ("tax.corporate_rate=null", ["--set: tax.corporate_rate:", "null is not allowed"]),
        ("policy.amic.monetization=directpay", ["--set: policy.amic.monetization:", "direct_pay, transfer"]),
        ("operations.utilization", ["--set:", "takes KEY=VALUE"]),
        ("operations.utilization=", ["--set: operations.utilization:", "no value"]),
        ("operations.utilization=[0.5", ["--set: operations.utilization:", "not readable as YAML"]),
        ("policy.amic.rate[2026]={2026: 0.3}", ["--set: policy.amic.rate[2026]:", "takes one rate"]),
    ],
)
@pytest.mark.parametrize(
    "command",
    [
        ["run"],
        ["report"],
        ["montecarlo"],
        ["sensitivity"],
        ["sweep", "--x", "tax.corporate_rate=20%,25%"],
        ["solve", "--param", "tax.corporate_rate", "--metric", "npv_usd", "--target", "0"],
    ],
    ids=lambda c: c[0],
)
def test_bad_set_exits_2_and_writes_nothing(tmp_path, capsys, item, words, command):
    out = tmp_path / "out"
    assert main([command[0], str(BASE), *command[1:], "--set", item, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    for w in words:
        assert w in err, (w, err)
    assert "nothing was written" in err
    assert not out.exists()


def test_bad_set_on_compare_is_reported_once(tmp_path, capsys):
    out = tmp_path / "out"
    args = ["compare", str(BASE), str(SCENARIOS / "rate_25.yaml"), "--set", "x.y=1", "--out", str(out)]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("--set: x.y: unknown parameter") == 1
    assert not out.exists()


def test_same_key_twice_is_refused(base):
    with pytest.raises(ScenarioError, match="given twice"):
        apply_sets(base, ["operations.utilization=70%", "operations.utilization=80%"])


# --------------------------------------------------------------------------- run --check


@pytest.mark.parametrize(
    "command, extra",
    [
        ("run", []),
        ("montecarlo", ["--draws", "200", "--seed", "9", "--formats", "svg"]),
        ("sensitivity", ["--formats", "svg"]),
    ],
)
def test_check_replays_the_set_items(tmp_path, capsys, command, extra):
    out = tmp_path / command
    assert main([command, str(BASE), *extra, *_set_args(), "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["run", "--check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "replayed the 3 --set items recorded" in text and "identical" in text


def test_check_takes_no_set(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", str(BASE), "--out", str(out)]) == 0
    assert main(["run", "--check", str(out), "--set", "operations.utilization=70%"]) == 2
    assert "--set" in capsys.readouterr().err


@pytest.mark.parametrize(
    "command, said",
    [
        (["sweep", str(BASE), "--x", "policy.amic.rate=35,10"], "value 35 is outside the allowed range of "),
        (["sweep", str(BASE), "--x", "policy.amic.rate[2026]=0:1.5:4"], "value 1.5 is outside"),
        (["sweep", str(BASE), "--x", "finance.discount_rate=-1,0.1"], "(> -0.5 and <= 1)"),
        (
            ["sweep", str(SCENARIOS / "credit_vs_guarantee.yaml"), "--x", "finance.debt.rate=-1,5%"],
            "value -1 is outside the allowed range of finance.debt.rate (>= 0 and <= 1)",
        ),
        (
            ["sweep", str(BASE), "--x", "tax.corporate_rate=21%", "--y", "finance.discount_rate=1.5,0.1"],
            "value 1.5 is outside the allowed range of finance.discount_rate",
        ),
        (
            [
                "solve",
                str(BASE),
                "--param",
                "policy.amic.rate",
                "--metric",
                "npv_usd",
                "--target",
                "0",
                "--lo",
                "-1",
                "--hi",
                "0.5",
            ],
            "value -1 is outside the allowed range of policy.amic.rate",
        ),
    ],
)
def test_swept_and_solved_values_stay_in_the_range_a_file_may_write(tmp_path, capsys, command, said):
    """A value a scenario file may not hold is refused on the command line too (before, a rate of 2
    ran and a discount rate of -1 ended in a numerical error, exit 1)."""
    out = tmp_path / "out"
    assert main([*command, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err
    assert not out.exists()
    if "=35," in command[3]:
        assert "write 35% or 0.35" in err
