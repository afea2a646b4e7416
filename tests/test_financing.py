"""Debt, the loan guarantee, more cases and the credit offset in the engine (MODEL.md 13-16).

Oracles: a levered case written out by hand, identities the contract states
(no debt changes nothing; a guarantee that changes no price equals none;
offset with unlimited tax equals direct pay; the pool conserves the credit),
and the error a forbidden case override must give.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import RTOL_MODEL, SCENARIOS, all_scenarios

import finmodel
from finmodel.cli import main
from finmodel.scenario.load import scenario_from_dict
from finmodel.scenario.yamlio import ScenarioError

M = 1e6


def small(**changes) -> dict:
    """$100M of 5-year servers in 2026, eligible, no bonus, end 2030."""
    data = {
        "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1, "capacity_gw": 0.01},
        "categories": {"servers": {"share": 1, "macrs_years": 5}},
        "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
        "tax": {"bonus_depreciation": 0},
        "operations": {"revenue_usd_per_gw_year": "4B"},
        "analysis": {"end_year": 2030, "terminal_value": "none"},
        "fiscal": {"window_start": 2026, "window_years": 5},
    }
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for part in head:
            node = node.setdefault(part, {})
        node[last] = value
    return data


def test_hand_computed_levered_case():
    # 50% of $100M borrowed at the end of 2026 at 10%, two level payments (2027, 2028):
    # pmt = 50 * 0.1 / (1 - 1.1 ** -2) = 28.8095; interest 5.0 then 2.3810; principal 23.8095, 26.1905
    s = scenario_from_dict(small(**{"finance.debt": {"share": 0.5, "rate": 0.10, "tenor_years": 2}}))
    r = finmodel.run(s)
    pmt = 50 * 0.1 / (1 - 1.1**-2)
    interest = np.array([0, 5.0, 50 * 0.1 - (pmt - 5.0) * 0.1 + 0.0, 0, 0]) * M
    interest[2] = (50 - (pmt - 5.0)) * 0.1 * M
    for k in range(2):
        np.testing.assert_allclose(r.lines["interest"][k], interest, rtol=1e-12, atol=1e-6)
        np.testing.assert_allclose(
            r.lines["principal"][k], np.array([0, pmt - 5.0, 50 - (pmt - 5.0), 0, 0]) * M, rtol=1e-12
        )
        # levered taxable income = TI - interest; levered tax at 21% (unlimited capacity)
        ti_l = r.lines["taxable_income"][k] - interest
        np.testing.assert_allclose(r.lines["tax_levered"][k], 0.21 * ti_l, rtol=1e-12, atol=1e-6)
        # equity cash flow: project flow, tax swap, draws and debt service
        cfe = (
            r.lines["cash_flow"][k]
            + r.lines["tax"][k]
            - r.lines["tax_levered"][k]
            + np.array([50.0, 0, 0, 0, 0]) * M
            - interest
            - r.lines["principal"][k]
        )
        np.testing.assert_allclose(r.lines["equity_cash_flow"][k], cfe, rtol=1e-12, atol=1e-6)
    npv = np.sum(r.lines["equity_cash_flow"][1] / 1.1 ** np.arange(5))
    assert r.metric("equity_npv_usd", "with") == pytest.approx(npv, rel=RTOL_MODEL)
    assert r.metric("peak_debt_usd", "with") == pytest.approx(50 * M, rel=1e-12)
    cover = (r.lines["ebitda"][1] - r.lines["tax_levered"][1])[1:3] / (pmt * M)
    assert r.metric("min_dscr", "with") == pytest.approx(cover.min(), rel=1e-12)
    # the project metrics stay unlevered
    unlevered = finmodel.run(scenario_from_dict(small()))
    for name in ("npv_usd", "irr", "credit_earned_usd", "pv_credit_usd", "fiscal_cost_window_usd"):
        np.testing.assert_allclose(r.metrics[name], unlevered.metrics[name], rtol=1e-12)


def test_balloon_repays_what_is_left_at_the_horizon():
    s = scenario_from_dict(small(**{"finance.debt": {"share": 0.6, "rate": 0.07, "tenor_years": 10}}))
    r = finmodel.run(s)
    repaid = r.lines["principal"][1].sum() + r.lines["balloon"][1].sum()
    assert repaid == pytest.approx(r.lines["debt_draw"][1].sum(), rel=1e-12)
    assert r.lines["balloon"][1][-1] > 0 and np.all(r.lines["balloon"][1][:-1] == 0)


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_no_debt_changes_no_figure(path):
    s = finmodel.load_scenario(path)
    if s["finance.debt.share"] > 0:
        pytest.skip("a levered scenario")
    plain = finmodel.run(s)
    zero = finmodel.run(s.override({"finance.debt": {"share": 0, "rate": 0.09, "tenor_years": 7}}))
    assert zero.to_dict() == plain.to_dict()
    for name in plain.lines:
        np.testing.assert_array_equal(np.asarray(zero.lines[name]), np.asarray(plain.lines[name]), name)


def test_a_guarantee_that_changes_no_price_equals_none():
    base = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    idle = {"rate_reduction": 0, "upfront_fee_rate": 0, "default_probability": 0}
    s = base.override(
        {"cases.both.policy.loan_guarantee": idle, "cases.guarantee_only.policy.loan_guarantee": idle}
    )
    r = finmodel.run(s)
    w, both, g, wo = (r.cases.index(c) for c in ("with", "both", "guarantee_only", "without"))
    for name in ("cash_flow", "equity_cash_flow", "tax_levered", "fiscal_cost", "interest", "principal"):
        np.testing.assert_allclose(r.lines[name][both], r.lines[name][w], rtol=1e-12, atol=1e-3, err_msg=name)
        np.testing.assert_allclose(r.lines[name][g], r.lines[name][wo], rtol=1e-12, atol=1e-3, err_msg=name)
    assert r.metric("guarantee_subsidy_cost_pv_usd", "both") == 0
    assert r.metric("guarantee_interest_saved_pv_usd", "both") == 0


def test_credit_versus_guarantee_summary_and_treasury_cost(tmp_path):
    s = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    r = finmodel.run(s)
    assert r.cases == ("without", "with", "guarantee_only", "both")
    summary = r.to_dict()
    assert set(summary["cases"]) == set(r.cases)
    assert summary["fiscal_by_case"]["with"] == summary["fiscal"]
    # guarantee only: the Treasury's cost is the expected default cost net of fees plus the tax
    # on the interest the guarantee saves (less interest deducted); by line, against 'without'
    g, wo = r.cases.index("guarantee_only"), 0
    expected = (
        r.lines["guarantee_default_cost"][g]
        - r.lines["guarantee_fee"][g]
        + r.lines["tax_levered"][wo]
        - r.lines["tax_levered"][g]
    )
    np.testing.assert_allclose(r.lines["fiscal_cost"][g], expected, rtol=1e-12, atol=1e-3)
    assert r.metric("credit_earned_usd", "guarantee_only") == 0
    assert r.metric("guarantee_interest_saved_pv_usd", "guarantee_only") > 0
    assert main(["run", str(SCENARIOS / "credit_vs_guarantee.yaml"), "--out", str(tmp_path / "o")]) == 0
    written = json.loads((tmp_path / "o" / "summary.json").read_text())
    assert set(written["fiscal_by_case"]) == {"with", "guarantee_only", "both"}
    assert main(["run", "--check", str(tmp_path / "o")]) == 0


def test_offset_with_unlimited_tax_equals_direct_pay():
    direct = scenario_from_dict(small(**{"policy.amic.monetization": "direct_pay"}))
    offset = scenario_from_dict(small(**{"policy.amic.monetization": "offset"}))
    a, b = finmodel.run(direct), finmodel.run(offset)
    for name in ("npv_usd", "irr", "pv_credit_usd", "fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
    assert b.metric("credit_expired_usd", "with") == 0 and b.metric("credit_pool_left_usd", "with") == 0


def test_standalone_pool_conserves_the_credit():
    s = finmodel.load_scenario(SCENARIOS / "offset_standalone.yaml")
    r = finmodel.run(s)
    k = r.cases.index("with")
    earned = r.metric("credit_earned_usd", "with")
    used = r.lines["credit_cash"][k].sum()
    expired = r.metric("credit_expired_usd", "with")
    left = r.metric("credit_pool_left_usd", "with")
    late = r.fiscal()["credit_paid_after_end_usd"]
    assert used + expired + left + late == pytest.approx(earned, rel=1e-12)
    assert np.all(r.lines["credit_cash"][k] <= 0.75 * np.maximum(r.lines["tax"][k], 0) + 1e-3)
    # the Treasury's cost of an offset is the credit used (X = CC)
    np.testing.assert_array_equal(r.lines["credit_treasury_cost"][k], r.lines["credit_cash"][k])


def test_breakeven_with_the_pool_zeroes_npv():
    s = finmodel.load_scenario(SCENARIOS / "offset_standalone.yaml")
    r = finmodel.run(s)
    price = r.metrics["breakeven_revenue_usd_per_gw_year"]
    again = finmodel.run(s, {"operations.revenue_usd_per_gw_year": price})
    scale = np.abs(r.lines["spend"]).sum()
    assert abs(again.metrics["npv_usd"][1, 1]) <= 1e-9 * scale
    assert abs(again.metrics["npv_usd"][0, 0]) <= 1e-9 * scale


def test_a_case_may_override_only_policy_finance_and_tax(tmp_path):
    path = tmp_path / "bad_case.yaml"
    path.write_text(
        "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n"
        "cases:\n"
        "  bigger:\n"
        "    program: {commitment_usd: 2B}\n"
    )
    with pytest.raises(ScenarioError) as info:
        finmodel.load_scenario(path)
    (problem,) = info.value.problems
    assert (problem.line, problem.key) == (5, "cases.bigger.program")
    assert "may override only policy, finance, tax" in problem.message
    assert main(["validate", str(path)]) == 2


def test_a_case_problem_names_the_case_and_its_line(tmp_path):
    path = tmp_path / "bad_rate.yaml"
    path.write_text(
        "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n"
        "cases:\n"
        "  g:\n"
        "    policy:\n"
        "      loan_guarantee: {rate_reduction: 3}\n"
    )
    with pytest.raises(ScenarioError) as info:
        finmodel.load_scenario(path)
    (problem,) = info.value.problems
    assert problem.key == "cases.g.policy.loan_guarantee.rate_reduction" and problem.line == 6


def test_credit_vs_guarantee_chart_draws_the_results():
    from layout import layout_problems

    from finmodel import charts

    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))
    ax = charts.credit_vs_guarantee(r)
    assert layout_problems(ax.figure) == []
    bars: dict[str, list[float]] = {}
    for patch in ax.patches:
        bars.setdefault(patch.get_gid(), []).append(patch.get_width())
    cases = ("with", "guarantee_only", "both")
    gains = [r.metric("equity_npv_usd", c) - r.metric("equity_npv_usd", "without") for c in cases]
    costs = [r.fiscal(c)["fiscal_cost_pv_usd"] for c in cases]
    np.testing.assert_allclose(bars["cvg-value"], gains, rtol=1e-12)
    np.testing.assert_allclose(bars["cvg-cost"], costs, rtol=1e-12)
    subsidy = bars["cvg-subsidy"]
    assert np.isnan(subsidy[0])  # the credit alone has no guarantee
    scored = [r.metric("guarantee_subsidy_cost_pv_usd", c) for c in cases[1:]]
    np.testing.assert_allclose(subsidy[1:], scored, rtol=1e-12)
    texts = [t.get_text() for t in ax.texts if t.get_gid() == "cvg-ratio"]
    assert texts[0] == f"gain per $1 of Treasury cost: ${gains[0] / costs[0]:,.2f}"
    assert texts[1].endswith(f"per $1 of FCRA subsidy cost: ${gains[1] / scored[0]:,.2f}")


def test_value_and_cost_across_draws_draws_the_runs_percentiles(tmp_path):
    """The Monte Carlo chart of a scenario with cases: each case's P5-P95 bars, medians and labels
    are the summary's rows of the gain in equity NPV, the Treasury's cost and the subsidy cost; the
    diamonds are the scenario as written; written by montecarlo --out beside the fan."""
    from layout import layout_problems

    from finmodel import charts
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.core import format as fmt
    from finmodel.outputs.report import write_montecarlo

    s = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    mc = run_montecarlo(s, draws=1000, seed=6)
    ax = charts.value_and_cost_across_draws(mc)
    assert layout_problems(ax.figure) == []
    summary, r = mc.summary(), mc.base
    rows = {
        "value": [("equity_npv_usd", c) for c in ("delta", "delta.guarantee_only", "delta.both")],
        "cost": [("fiscal_cost_pv_usd", c) for c in ("treasury", "treasury guarantee_only", "treasury both")],
        "subsidy": [("guarantee_subsidy_cost_pv_usd", c) for c in ("guarantee_only", "both")],
    }
    written = {
        "value": [r.metric("equity_npv_usd", c) - r.metric("equity_npv_usd", "without") for c in r.cases[1:]],
        "cost": [r.fiscal(c)["fiscal_cost_pv_usd"] for c in r.cases[1:]],
        "subsidy": [r.metric("guarantee_subsidy_cost_pv_usd", c) for c in r.cases[2:]],
    }
    for name, keys in rows.items():
        q = np.array([[summary.loc[k, p] for p in ("p5", "p50", "p95")] for k in keys])
        bars = [p for p in ax.patches if p.get_gid() == f"cvg-mc-{name}"]
        np.testing.assert_allclose([b.get_x() for b in bars], q[:, 0], rtol=1e-12)
        np.testing.assert_allclose([b.get_x() + b.get_width() for b in bars], q[:, 2], rtol=1e-12)
        ticks = [line.get_xdata()[0] for line in ax.lines if line.get_gid() == f"cvg-mc-{name}-p50"]
        np.testing.assert_allclose(ticks, q[:, 1], rtol=1e-12)
        diamonds = [line.get_xdata()[0] for line in ax.lines if line.get_gid() == f"cvg-mc-{name}-as-written"]
        np.testing.assert_allclose(diamonds, written[name], rtol=1e-12)
        labels = [t.get_text() for t in ax.texts if t.get_gid() == f"cvg-mc-label-{name}"]
        sign = name == "value"
        assert labels == [
            f"{fmt.money(b, sign=sign)} ({fmt.money(a, sign=sign)} to {fmt.money(c, sign=sign)})"
            for a, b, c in q
        ]
    write_montecarlo(mc, tmp_path / "mc", formats=("png",))
    assert (tmp_path / "mc" / "montecarlo_value_and_cost.png").stat().st_size > 10_000


@pytest.mark.slow
def test_every_case_reaches_the_cli_table_summary_md_and_workbook(tmp_path, capsys):
    import openpyxl

    from finmodel.core import format as fmt
    from finmodel.outputs import memo

    path = SCENARIOS / "credit_vs_guarantee.yaml"
    r = finmodel.run(finmodel.load_scenario(path))
    labels = ["Without AMIC", "With AMIC", "Guarantee only", "Both"]
    assert main(["run", str(path)]) == 0
    header = capsys.readouterr().out.splitlines()[2]
    assert header.split() == " ".join(labels + ["Change"]).split()
    assert main(["report", str(path), "--out", str(tmp_path / "pack"), "--formats", "svg"]) == 0
    md = (tmp_path / "pack" / "summary.md").read_text()
    assert "|  | " + " | ".join([*labels, "Change"]) + " |" in md
    equity = next(line for line in md.splitlines() if line.startswith("| Equity NPV"))
    cells = [c.strip() for c in equity.strip("|").split("|")][1:]
    assert cells == [fmt.money(r.metric("equity_npv_usd", c)) for c in r.cases] + [
        fmt.money(r.delta("equity_npv_usd"), sign=True)
    ]
    assert memo.case_comparison_sentence(r) in md
    assert (tmp_path / "pack" / "credit_vs_guarantee.svg").is_file()
    ws = openpyxl.load_workbook(tmp_path / "pack" / "tables.xlsx")["Summary"]
    rows = [[c.value for c in row] for row in ws.iter_rows()]
    head = next(row for row in rows if row and row[0] == "Metric")
    assert head[:7] == ["Metric", *labels, "Change", "Unit"]
    subsidy = next(row for row in rows if row and row[0] == "Guarantee: subsidy cost, PV")
    assert subsidy[1:5] == pytest.approx(
        [r.metric("guarantee_subsidy_cost_pv_usd", c) for c in r.cases], rel=1e-15
    )
    window = next(row for row in rows if row and str(row[0]).startswith("Treasury cost 2026"))
    assert window[2:5] == pytest.approx(
        [r.fiscal(c)["fiscal_cost_window_usd"] for c in r.cases[1:]], rel=1e-15
    )


def test_monte_carlo_of_every_case_matches_single_runs_draw_for_draw():
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.analysis.uncertainty import UncertaintySpec
    from finmodel.scenario.blocks.distributions import Distribution

    s = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    spec = UncertaintySpec(
        {
            "finance.debt.rate": Distribution("uniform", low=0.05, high=0.09),
            "operations.revenue_usd_per_gw_year": Distribution("uniform", low=8e9, high=12e9),
        }
    )
    mc = run_montecarlo(s, draws=9, seed=2, chunk_size=4, spec=spec)
    assert mc.cases == ("without", "with", "guarantee_only", "both")
    rate, price = mc.inputs["finance.debt.rate"], mc.inputs["operations.revenue_usd_per_gw_year"]
    for d in range(mc.draws):
        single = finmodel.run(
            s.override(
                {"finance.debt.rate": float(rate[d]), "operations.revenue_usd_per_gw_year": float(price[d])}
            )
        )
        for name in (
            "npv_usd",
            "equity_npv_usd",
            "min_dscr",
            "guarantee_subsidy_cost_pv_usd",
            "fiscal_cost_pv_usd",
        ):
            np.testing.assert_allclose(
                mc.metrics[name][d], single.metrics[name], rtol=RTOL_MODEL, err_msg=name
            )
    summary = mc.summary()
    assert ("equity_npv_usd", "both") in summary.index
    assert ("fiscal_cost_pv_usd", "treasury guarantee_only") in summary.index


def test_sweep_and_solve_take_any_case(capsys):
    path = str(SCENARIOS / "credit_vs_guarantee.yaml")
    args = ["sweep", path, "--x", "finance.debt.rate=5%,9%", "--metric", "equity_npv_usd", "--case", "both"]
    assert main(args) == 0
    out = capsys.readouterr().out
    s = finmodel.load_scenario(path)
    for rate in (0.05, 0.09):
        both = finmodel.run(s.override({"finance.debt.rate": rate})).metric("equity_npv_usd", "both")
        assert f"${both / 1e9:,.1f}B" in out
    solve = ["solve", path, "--param", "policy.loan_guarantee.default_probability", "--metric"]
    solve += ["fiscal_cost_pv_usd", "--target", "5B", "--case", "guarantee_only"]
    assert main(solve) == 0
    out = capsys.readouterr().out
    p = float(out.split("=")[1].split()[0])
    again = finmodel.run(s.override({"cases.guarantee_only.policy.loan_guarantee.default_probability": p}))
    assert again.fiscal("guarantee_only")["fiscal_cost_pv_usd"] == pytest.approx(5e9, rel=1e-6)
    base = str(SCENARIOS / "base.yaml")
    assert main(["sweep", base, "--x", "finance.debt.rate=5%,7%", "--case", "both"]) == 2
    assert "unknown case 'both'" in capsys.readouterr().err


def test_workbook_cash_flow_sheets_carry_the_levered_lines():
    from finmodel.outputs.workbook import cashflow_table

    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))
    for k, case in enumerate(r.cases):
        table = cashflow_table(r, case)
        for line in ("interest", "tax_levered", "equity_cash_flow", "guarantee_default_cost"):
            np.testing.assert_array_equal(table.loc[(line, "")].to_numpy(), r.lines[line][k])
    plain = cashflow_table(finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml")), "with")
    assert "interest" not in plain.index.get_level_values("line")


def test_monte_carlo_of_cases_gives_each_cases_gain_and_fan():
    """Each case of cases: has its gain against 'without' per draw (delta.NAME) in the summary,
    draws.csv and values(), equal to the difference of the two cases' draws; every case has its
    fan in fan_percentiles.csv and its shares of draws with a gain; a streamed run gives the same
    percentiles and shares."""
    import io

    import pandas as pd

    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.outputs.report import draws_csv_lines, montecarlo_texts
    from finmodel.outputs.terminal import montecarlo_text

    s = finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    mc = run_montecarlo(s, draws=2048, seed=4)
    gain = mc.values("equity_npv_usd", "delta.guarantee_only")
    assert np.array_equal(
        gain, mc.values("equity_npv_usd", "guarantee_only") - mc.values("equity_npv_usd", "without")
    )
    assert gain.min() > 0  # cheaper debt: worth something to the owner in every draw
    summary = mc.summary()
    for case in ("delta", "delta.guarantee_only", "delta.both"):
        row = summary.loc[("equity_npv_usd", case)]
        values = mc.values("equity_npv_usd", case)
        assert row["p50"] == np.percentile(values, 50) and row["mean"] == np.mean(values)
    draws = pd.read_csv(io.StringIO("\n".join(draws_csv_lines(mc))))
    csv_gain = draws["equity_npv_usd.delta.both"].to_numpy()  # 12 significant digits
    np.testing.assert_allclose(csv_gain, mc.values("equity_npv_usd", "delta.both"), rtol=1e-11)
    fans = pd.read_csv(io.StringIO(montecarlo_texts(mc)["fan_percentiles.csv"]))
    assert list(dict.fromkeys(fans["case"])) == list(mc.cases)
    streamed = run_montecarlo(s, draws=2048, seed=4, keep=False)
    assert (
        streamed.summary().loc[("equity_npv_usd", "delta.both"), "p50"]
        == summary.loc[("equity_npv_usd", "delta.both"), "p50"]
    )
    # the shares of draws in which each case gains, recomputed from the draws; streamed alike
    p, cases = mc.probabilities(), mc.cases
    npv, equity = mc.metrics["npv_usd"], mc.metrics["equity_npv_usd"]
    w = cases.index("without")
    for j, case in enumerate(cases):
        if case in ("without", "with"):
            continue
        assert p[f"delta_npv_positive.{case}"] == np.mean(npv[:, j] - npv[:, w] > 0)
        assert p[f"npv_positive.{case}"] == np.mean(npv[:, j] > 0)
        assert p[f"delta_equity_npv_positive.{case}"] == np.mean(equity[:, j] - equity[:, w] > 0)
    assert p["delta_equity_npv_positive"] == np.mean(equity[:, 1] - equity[:, w] > 0)
    # a guarantee alone leaves the project's NPV as it was and lowers the owner's debt service
    assert (
        p["delta_npv_positive.guarantee_only"] == 0.0 and p["delta_equity_npv_positive.guarantee_only"] == 1.0
    )
    assert streamed.probabilities() == p
    text = montecarlo_text(mc)
    assert "guarantee_only: P(delta NPV > 0) = 0.000; P(NPV > 0) = " in text
    # a case printing the figures of without, with or delta says so; its equity figures differ
    rows = {(block, line.split()[0]): line for block, line in _blocks(text)}
    assert rows[("NPV", "guarantee_only")].split()[1:] == ["=", "without"]
    assert rows[("NPV", "both")].split()[1:] == ["=", "with"]
    assert rows[("NPV", "delta.both")].split()[1:] == ["=", "delta"]
    assert "=" not in rows[("Equity NPV", "guarantee_only")]
    assert f"P(delta equity NPV > 0) = {p['delta_equity_npv_positive.both']:.3f}" in text


def _blocks(text: str):
    """``(metric label, row from its case on)`` of each row of the Monte Carlo table; the label of a
    block is written on its first row only, and carried down here."""
    lines = text.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("---"))
    at = lines[rule - 1].index("case")
    label = ""
    for line in lines[rule + 1 :]:
        if not line.strip():
            break
        label = line[:at].strip() or label
        yield label, line[at:]


def test_a_note_says_when_operations_do_not_cover_the_debt_service():
    """levered.yaml: servers retire without replacement, so revenue ends after 2036 while the
    10-year loans drawn to 2032 are repaid until 2040 (the balloon): cover is below 1x from 2034."""
    levered = finmodel.load_scenario(SCENARIOS / "levered.yaml")
    r = finmodel.run(levered)
    years = [int(y) for y in r.years]
    revenue = np.asarray(r.lines["revenue"])[0]
    assert revenue[years.index(2036)] > 0 and revenue[years.index(2037)] == 0
    cover = np.asarray(r.lines["ebitda"]) - np.asarray(r.lines["tax_levered"])
    service = np.asarray(r.lines["interest"]) + np.asarray(r.lines["principal"])
    short = [y for t, y in enumerate(years) if ((service[:, t] > 0) & (cover[:, t] < service[:, t])).any()]
    assert short == list(range(2034, 2041))
    (note,) = [n for n in r.notes if n.startswith("the cash from operations")]
    assert "debt service in 2034-2040 (every case; lowest cover -0.40x to -0.56x)" in note
    assert "revenue ends after 2036, the 10-year loans later" in note
    paying = service[0] > 0
    assert r.metric("min_dscr", "without") == pytest.approx(
        (cover[0, paying] / service[0, paying]).min(), rel=1e-12
    )
    # a fifth of the spend borrowed over 4 years is covered every year: no note
    covered = finmodel.run(levered.override({"finance.debt.share": 0.2, "finance.debt.tenor_years": 4}))
    assert min(covered.metric("min_dscr", c) for c in ("without", "with")) > 1
    assert not [n for n in covered.notes if n.startswith("the cash from operations")]
    assert not [n for n in finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml")).notes if "debt" in n]
