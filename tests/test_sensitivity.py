"""finmodel.analysis.sensitivity: tornado, sweeps and solve against single runs.

Oracles: every sweep cell and tornado bar equals ``finmodel.run`` of the
scenario with that one change (``Scenario.override``), bit for bit; solve
puts the metric on its target; the revenue at which NPV without the credit
is 0 equals the model's own break-even revenue (MODEL.md section 9).
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pytest
from conftest import RTOL_MODEL, SCENARIOS

import finmodel
from finmodel.analysis.sensitivity import (
    SolveError,
    metric_values,
    scenario_cases,
    sensitivity_ranges,
    solve,
    sweep,
    tornado,
    tornado_metrics,
)
from finmodel.cli import main
from finmodel.scenario.load import scenario_from_dict

BASE = SCENARIOS / "base.yaml"


@pytest.fixture(scope="module")
def base():
    return finmodel.load_scenario(BASE)


def single(s, changes: dict, metric: str, case: str) -> float:
    """One run with ``changes``; a rate by year given one number sets its last step (the sweep's rule)."""
    changes = {
        f"{k}[{max(s[k])}]"
        if k in ("policy.amic.rate", "tax.bonus_depreciation") and not isinstance(v, dict)
        else k: v
        for k, v in changes.items()
    }
    r = finmodel.run(s.override(changes))
    return float(metric_values({metric: r.metrics[metric][None]}, metric, case)[0])


@pytest.mark.parametrize(
    "x, y, metric, case",
    [
        (
            ("policy.amic.rate", [0.1, 0.25, 0.35]),
            ("finance.discount_rate", [0.06, 0.1, 0.14]),
            "npv_usd",
            "delta",
        ),
        (
            ("categories.servers.life_years", [3, 4, 6]),
            ("tax.corporate_rate", [0.15, 0.21]),
            "fiscal_cost_window_usd",
            "with",
        ),
        (
            ("operations.revenue_usd_per_gw_year", [6e9, 14e9]),
            ("program.commitment_usd", [1.0e12, 1.5e12]),
            "irr",
            "without",
        ),
        (
            ("policy.amic.rate", [{2023: 0.2, 2026: 0.3}, {2023: 0.25, 2026: 0.45}]),
            None,
            "pv_credit_usd",
            "with",
        ),
    ],
)
def test_sweep_cells_equal_single_runs(base, x, y, metric, case):
    result = sweep(base, x, y, metric, case)
    for j, yv in enumerate(y[1] if y else [None]):
        for i, xv in enumerate(x[1]):
            changes = {x[0]: xv}
            if y:
                changes[y[0]] = yv
            assert result.values[j, i] == single(base, changes, metric, case), (changes, metric)
    frame = result.frame()
    assert len(frame) == len(x[1]) * (len(y[1]) if y else 1)


def test_sweep_over_standalone_tax_with_nols():
    s = finmodel.load_scenario(SCENARIOS / "standalone_tax.yaml")
    result = sweep(s, ("operations.revenue_usd_per_gw_year", [5e9, 10e9, 15e9]), None, "npv_usd", "delta")
    for i, v in enumerate([5e9, 10e9, 15e9]):
        assert result.values[0, i] == single(s, {"operations.revenue_usd_per_gw_year": v}, "npv_usd", "delta")


@pytest.mark.parametrize(
    "x",
    [("tax.corporate_rate", [0.15, 0.21, 0.28]), ("tax.nol_limit", [0.6, 0.8, 1.0])],
)
def test_sweep_of_the_tax_rate_or_nol_limit_alone_with_nols(x):
    # The rate and the limit leave taxable income unchanged: the NOL rule
    # gets one income and a rate (or limit) per cell (once an internal error).
    s = finmodel.load_scenario(SCENARIOS / "standalone_tax.yaml")
    for metric in ("npv_usd", "irr"):
        result = sweep(s, x, None, metric, "delta")
        for i, v in enumerate(x[1]):
            assert result.values[0, i] == pytest.approx(single(s, {x[0]: v}, metric, "delta"), rel=RTOL_MODEL)
    assert len(set(sweep(s, x, None, "npv_usd", "delta").values[0])) == 3  # the parameter has an effect


def test_cli_sweep_of_the_tax_rate_on_the_standalone_scenario(capsys):
    args = ["sweep", str(SCENARIOS / "standalone_tax.yaml"), "--x", "tax.corporate_rate=0.15,0.21,0.28"]
    assert main(args) == 0
    out, err = capsys.readouterr()
    assert "internal error" not in err
    assert "tax.corporate_rate" in out


def test_tornado_bars_equal_single_runs(base):
    ranges = {
        "program.commitment_usd": (1.0e12, 1.6e12),
        "categories.servers.life_years": (3.0, 6.0),
        "policy.amic.rate": (0.25, 0.45),
        "finance.discount_rate": (0.08, 0.12),
    }
    result = tornado(base, ranges)
    for key in result.metrics:
        assert result.base[key] == single(base, {}, *key)
        for bar in result.bars[key]:
            assert bar.at_low == single(base, {bar.parameter: bar.low}, *key)
            assert bar.at_high == single(base, {bar.parameter: bar.high}, *key)
        swings = [b.swing for b in result.bars[key]]
        assert swings == sorted(swings, reverse=True)


def test_tornado_default_set_and_share_rule(base):
    result = tornado(base)
    assert "0.8x and 1.2x" in result.notes[0]
    params = {b.parameter for b in result.bars[("npv_usd", "delta")]}
    assert {"program.commitment_usd", "policy.amic.rate", "finance.discount_rate"} <= params
    # a share moved alone: every share divided by their sum (0.07 -> 0.10 gives a total of 1.03)
    res = tornado(base, {"categories.grid.share": (0.05, 0.10)}, metrics=[("credit_earned_usd", "with")])
    bar = res.bars[("credit_earned_usd", "with")][0]
    shares = {c: base[f"categories.{c}.share"] for c in base.category_names}
    shares["grid"] = 0.10
    total = sum(shares.values())
    expected = finmodel.run(base.override({f"categories.{c}.share": v / total for c, v in shares.items()}))
    assert bar.at_high == pytest.approx(expected.metric("credit_earned_usd", "with"), rel=1e-14)
    assert any("dividing every share by their sum" in n for n in res.notes)


CVG = SCENARIOS / "credit_vs_guarantee.yaml"


def _case_run(s, path: str, value) -> finmodel.Results:
    """One run of ``s`` with ``path`` set to ``value``: in the scenario where the scenario writes
    it, else in each case that writes it (a guarantee's terms), as the tornado applies it."""
    if not s.provenance[path].is_default:
        return finmodel.run(s.override({path: value}))
    raw = copy.deepcopy(dict(s.raw))
    *parents, key = path.split(".")
    for case in raw["cases"].values():
        node = case
        for part in parents:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and key in node:
            node[key] = value
    return finmodel.run(scenario_from_dict(raw))


def test_tornado_of_every_case_equals_single_runs():
    """The default tornado of a scenario with cases: a chart per case, each bar a single run."""
    s = finmodel.load_scenario(CVG)
    result = tornado(s)
    cases = scenario_cases(s)
    assert result.metrics == tornado_metrics(cases, levered=True)
    assert ("equity_npv_usd", "delta.guarantee_only") in result.metrics
    assert ("fiscal_cost_window_usd", "both") in result.metrics
    # the debt's and the guarantee's terms join the default set; the guarantee's from its cases
    params = {b.parameter: b for b in result.bars[("equity_npv_usd", "delta.guarantee_only")]}
    assert {"finance.debt.share", "finance.debt.rate", "policy.loan_guarantee.rate_reduction"} <= set(params)
    assert params["policy.loan_guarantee.rate_reduction"].low == pytest.approx(0.8 * 0.015)
    as_written = finmodel.run(s)
    checked = set()
    for path in ("finance.discount_rate", "policy.loan_guarantee.rate_reduction", "program.commitment_usd"):
        runs = {v: _case_run(s, path, v) for v in (params[path].low, params[path].high)}
        for key in result.metrics:
            points = (as_written, *runs.values())
            m = {key[0]: np.array([[r.metric(key[0], c) for c in cases] for r in points])}
            expected = metric_values(m, *key, cases)
            bar = next(b for b in result.bars[key] if b.parameter == path)
            assert result.base[key] == expected[0], key
            assert (bar.at_low, bar.at_high) == (expected[1], expected[2]), (key, path)
            checked.add(key)
    assert checked == set(result.metrics)
    # the guarantee's rate cut moves the guarantee's value, not the credit's
    by_key = {k: {b.parameter: b for b in result.bars[k]} for k in result.metrics}
    cut = "policy.loan_guarantee.rate_reduction"
    assert by_key[("equity_npv_usd", "delta.guarantee_only")][cut].swing > 1e9
    assert by_key[("equity_npv_usd", "delta")][cut].swing == 0


def test_a_drawn_discount_rate_moves_an_unset_equity_discount_rate():
    """``finance.equity_discount_rate`` defaults to ``finance.discount_rate`` (MODEL.md section 13):
    a swept or drawn discount rate moves it where it is unset, as a run with that rate does."""
    s = finmodel.load_scenario(SCENARIOS / "levered.yaml")
    assert s.provenance["finance.equity_discount_rate"].is_default
    rates = [0.06, 0.1, 0.14]
    swept = sweep(s, ("finance.discount_rate", rates), metric="equity_npv_usd", case="with")
    for rate, value in zip(rates, swept.values[0], strict=True):
        assert value == finmodel.run(s.override({"finance.discount_rate": rate})).metric(
            "equity_npv_usd", "with"
        )
    assert swept.values[0, 0] != swept.values[0, 2]
    # written, it stays as written
    fixed = s.override({"finance.equity_discount_rate": 0.1})
    swept = sweep(fixed, ("finance.discount_rate", rates), metric="equity_npv_usd", case="with")
    assert np.all(swept.values == finmodel.run(fixed).metric("equity_npv_usd", "with"))


def test_a_parameter_that_moves_nothing_gives_the_scenarios_value_everywhere():
    """A sweep, solve or tornado over a key the metric does not depend on (a guarantee's terms and
    the unlevered NPV) gives the scenario's value at every point, not an error."""
    s = finmodel.load_scenario(CVG)
    npv = finmodel.run(s).delta("npv_usd")
    result = sweep(s, ("policy.loan_guarantee.rate_reduction", [0.01, 0.02, 0.03]), metric="npv_usd")
    assert result.values.shape == (1, 3) and np.all(result.values == npv)
    with pytest.raises(SolveError, match="does not reach"):
        solve(s, "policy.loan_guarantee.rate_reduction", "npv_usd", 0.0, case="with")
    tr = tornado(s, {"policy.loan_guarantee.rate_reduction": (0.01, 0.02)})
    (bar,) = tr.bars[("npv_usd", "delta")]
    assert bar.at_low == bar.at_high == npv


def test_case_choices_read_differences_of_every_case():
    m = {"npv_usd": np.array([[1.0, 3.0, 7.0]])}
    cases = ("without", "with", "both")
    assert metric_values(m, "npv_usd", "delta.both", cases).tolist() == [6.0]
    assert metric_values(m, "npv_usd", "delta", cases).tolist() == [2.0]
    with pytest.raises(KeyError, match="delta.both"):
        metric_values(m, "npv_usd", "delta.neither", cases)


def test_solve_credit_rate_for_a_100b_treasury_cost(base):
    r = solve(base, "policy.amic.rate", "fiscal_cost_window_usd", 100e9, "with")
    assert r.achieved == pytest.approx(100e9, rel=RTOL_MODEL)
    assert single(base, {"policy.amic.rate": r.value}, "fiscal_cost_window_usd", "with") == pytest.approx(
        100e9, rel=RTOL_MODEL
    )
    assert 0.05 < r.value < 0.25 and r.crossings == 1


def test_solve_revenue_where_npv_without_is_zero_is_the_breakeven(base):
    r = solve(base, "operations.revenue_usd_per_gw_year", "npv_usd", 0.0, "without")
    breakeven = finmodel.run(base).metric("breakeven_revenue_usd_per_gw_year", "without")
    assert r.value == pytest.approx(breakeven, rel=RTOL_MODEL)
    assert abs(r.achieved) <= 1e-9 * 1.4e12


def test_solve_in_a_nonsmooth_case_and_errors(base):
    s = finmodel.load_scenario(SCENARIOS / "standalone_tax.yaml")
    r = solve(s, "finance.discount_rate", "npv_usd", 0.0, "with")
    assert abs(r.achieved) <= 1e-6 * 1.4e12
    assert r.value == pytest.approx(finmodel.run(s).metric("irr", "with"), abs=1e-9)  # NPV = 0 at the IRR
    with pytest.raises(SolveError, match="does not reach"):
        solve(base, "policy.amic.rate", "fiscal_cost_window_usd", 5e12, "with")
    with pytest.raises(ValueError, match="whole number"):
        solve(base, "categories.servers.life_years", "npv_usd", 0.0, "with")
    with pytest.raises(ValueError, match="cannot vary"):
        solve(base, "program.start_year", "npv_usd", 0.0, "with")


def test_cli_sweep_solve_sensitivity(tmp_path, capsys):
    out = tmp_path / "sweep"
    assert (
        main(
            [
                "sweep",
                str(BASE),
                "--x",
                "policy.amic.rate=10%,35%",
                "--y",
                "finance.discount_rate=6%:12%:3",
                "--metric",
                "npv_usd",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    rows = (out / "sweep.csv").read_text().splitlines()
    assert rows[0] == "policy.amic.rate,finance.discount_rate,npv_usd.delta" and len(rows) == 7
    assert (out / "sweep_heatmap.png").exists() and (out / "run.json").exists()

    assert (
        main(
            [
                "solve",
                str(BASE),
                "--param",
                "policy.amic.rate",
                "--metric",
                "fiscal_cost_window_usd",
                "--target",
                "100B",
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    # the last step (from 2026) moves; 2023-2025 keep 25% (MODEL.md section 11, what-ifs)
    assert "policy.amic.rate = 0.09897" in text and "target $100.0B" in text

    out = tmp_path / "solve"
    assert (
        main(
            [
                "solve",
                str(BASE),
                "--param",
                "operations.revenue_usd_per_gw_year",
                "--metric",
                "npv_usd",
                "--target",
                "0",
                "--case",
                "without",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    data = json.loads((out / "solve.json").read_text())
    assert data["value"] == pytest.approx(
        finmodel.run(finmodel.load_scenario(BASE)).metric("breakeven_revenue_usd_per_gw_year", "without"),
        rel=RTOL_MODEL,
    )

    assert (
        main(
            [
                "solve",
                str(BASE),
                "--param",
                "policy.amic.rate",
                "--metric",
                "fiscal_cost_window_usd",
                "--target",
                "5T",
            ]
        )
        == 1
    )
    assert "does not reach" in capsys.readouterr().err
    assert (
        main(
            [
                "solve",
                str(BASE),
                "--param",
                "program.years",
                "--metric",
                "npv_usd",
                "--target",
                "0",
            ]
        )
        == 2
    )
    assert main(["sweep", str(BASE), "--x", "nope.path=1,2"]) == 2
    assert main(["sweep", str(BASE), "--x", "finance.discount_rate=abc"]) == 2
    assert main(["sweep", str(BASE), "--x", "finance.discount_rate=0.1", "--metric", "npvv"]) == 2

    out = tmp_path / "sens"
    assert main(["sensitivity", str(BASE), "--out", str(out)]) == 0
    for name in (
        "tornado.csv",
        "sensitivity.json",
        "tornado_delta_npv.png",
        "tornado_treasury_cost.png",
        "run.json",
    ):
        assert (out / name).exists(), name
    bars = json.loads((out / "sensitivity.json").read_text())["bars"]
    assert {b["metric"] for b in bars} == {"npv_usd", "fiscal_cost_window_usd"}


def test_no_plotting_or_files_in_computation():
    import subprocess
    import sys

    code = (
        "import sys, finmodel.analysis.uncertainty, finmodel.analysis.montecarlo, "
        "finmodel.analysis.sensitivity; "
        "print('matplotlib' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "False"
    assert np.isfinite(1.0)


def test_uncertainty_charts_draw_data_of_the_results_without_layout_problems(base):
    from layout import layout_problems

    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.outputs import charts

    mc = run_montecarlo(base, draws=400, seed=2)
    tr = tornado(base, {"program.commitment_usd": (1.0e12, 1.6e12), "operations.om_rate": (0.01, 0.02)})
    sw = sweep(
        base, ("policy.amic.rate", [0.1, 0.35]), ("finance.discount_rate", [0.06, 0.1]), "npv_usd", "delta"
    )
    for ax in (
        charts.montecarlo_fan(mc),
        charts.treasury_cost_histogram(mc),
        charts.tornado_chart(tr),
        charts.tornado_chart(tr, metric=("fiscal_cost_window_usd", "with")),
        charts.sweep_heatmap(sw),
    ):
        ax.figure.canvas.draw()
        assert layout_problems(ax.figure) == []
    # the fan's median line is the result's P50 of cumulative cash flow
    ax = charts.montecarlo_fan(mc)
    (median,) = [line for line in ax.get_lines() if line.get_gid() == "fan-median-with"]
    assert np.array_equal(median.get_ydata(), mc.fan("with")["p50"].to_numpy())
    # the tornado's bars end at the metric values of the result
    ax = charts.tornado_chart(tr)
    bar = next(p for p in ax.patches if p.get_gid() == "tornado-high-program.commitment_usd")
    assert bar.get_x() + bar.get_width() == pytest.approx(tr.bars[("npv_usd", "delta")][0].at_high)
    # "no effect" for a parameter that does not move delta NPV
    assert any(t.get_gid() == "tornado-none-operations.om_rate" for t in ax.texts)


def test_a_swing_of_rounding_is_zero_and_keeps_the_parameters_order():
    """|at_high - at_low| at the last digits of a $196B metric (what a parameter that moves
    nothing leaves, and another numpy build rounds otherwise) is 0; one dollar is a swing."""
    from finmodel.analysis.sensitivity import TornadoBar

    big = 195680029416.25528
    assert TornadoBar("p", 1, 2, big, big + 6.103515625e-05).swing == 0.0
    assert TornadoBar("p", 1, 2, big, big + 1.0).swing == 1.0
    assert TornadoBar("p", 1, 2, 0.0, 1e-9).swing == 1e-9  # small metrics keep small swings
    s = finmodel.load_scenario(SCENARIOS / "base.yaml")
    ranges = dict(reversed(list(sensitivity_ranges(s)[0].items())))  # the parameters in reverse
    for order in (None, ranges):
        result = tornado(s, ranges=order)
        given = list(order or sensitivity_ranges(s)[0])
        idle = [b.parameter for b in result.bars[("npv_usd", "delta")] if b.swing == 0.0]
        assert "operations.revenue_usd_per_gw_year" in idle  # the credit's value does not move with the price
        assert idle == [p for p in given if p in idle]  # in the order given, whatever the rounding
