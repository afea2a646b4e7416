"""The changes of MODEL.md v1.1 (part 1), each against a hand computation.

Every expected figure below is written out from the published table (IRS
Publication 946) and the formulas of MODEL.md, in millions of USD, never
taken from the program's own output.
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ATOL_USD, RTOL_MODEL, SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import finmodel
from finmodel.analysis.metric_names import ALL_METRICS
from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.analysis.sensitivity import evaluate_points, point_overrides
from finmodel.analysis.uncertainty import UncertaintySpec
from finmodel.cli import main
from finmodel.scenario.blocks.distributions import Distribution
from finmodel.scenario.load import scenario_from_dict

M = 1e6


def one_asset(macrs: int | None, life, *, bonus=0.0, end_year=2032, basis_reduction=1.0, **category):
    """$100M of one category placed in service in 2026, eligible, no operations."""
    cat = {"share": 1, "macrs_years": macrs, "life_years": life, **category}
    return scenario_from_dict(
        {
            "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
            "categories": {"asset": cat},
            "policy": {
                "amic": {
                    "eligible": ["asset"],
                    "construction_deadline_year": None,
                    "basis_reduction": basis_reduction,
                }
            },
            "tax": {"bonus_depreciation": bonus},
            "analysis": {"end_year": end_year},
            "fiscal": {"window_start": 2026, "window_years": end_year - 2025},
        }
    )


def yearly(results, line, case):
    values = np.asarray(results.lines[line])[results.cases.index(case)]
    return values.sum(axis=0) if values.ndim == 2 else values


# --------------------------------------------------------------------------- abandonment (section 5)


def test_five_year_asset_retired_after_three_years_without_bonus():
    # Pub. 946 Table A-1, 5-year: 20, 32, 19.2, 11.52, 11.52, 5.76. Retired at the start of
    # 2029: 11.52 + 11.52 + 5.76 = 28.8 is written off in 2029.
    r = finmodel.run(one_asset(5, 3))
    without = np.array([20.0, 32.0, 19.2, 28.8, 0, 0, 0]) * M
    np.testing.assert_allclose(yearly(r, "depreciation", "without"), without, rtol=RTOL_MODEL, atol=ATOL_USD)
    # with: credit 35, basis 65 = 0.65 of each deduction
    np.testing.assert_allclose(
        yearly(r, "depreciation", "with"), 0.65 * without, rtol=RTOL_MODEL, atol=ATOL_USD
    )
    assert np.abs(r.lines["remaining_basis"]).max() <= ATOL_USD
    # recapture after 3 full years: 40% of 35 = 14 in 2029 (section 50(a))
    np.testing.assert_allclose(
        yearly(r, "recapture", "with"), np.array([0, 0, 0, 14.0, 0, 0, 0]) * M, rtol=RTOL_MODEL, atol=ATOL_USD
    )
    # taxable income: -D - basis_reduction * RC; in 2029: -18.72 - 14 = -32.72
    ti = yearly(r, "taxable_income", "with")
    np.testing.assert_allclose(ti, np.array([-13.0, -20.8, -12.48, -32.72, 0, 0, 0]) * M, rtol=RTOL_MODEL)
    # cash flow: -100 + 2.73 | 35 + 4.368 | 2.6208 | 6.8712 - 14
    cf = yearly(r, "cash_flow", "with")
    np.testing.assert_allclose(cf[:4], np.array([-97.27, 39.368, 2.6208, -7.1288]) * M, rtol=RTOL_MODEL)
    # Treasury: credit kept (35 - 14 = 21) less the tax on the basis it removed, 21% of 21
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx(21 * 0.79 * M, rel=RTOL_MODEL)


def test_five_year_asset_retired_after_three_years_with_forty_percent_bonus():
    # bonus 40% in 2026, the rest (60) on the folded table: 52, 19.2, 11.52, 17.28
    r = finmodel.run(one_asset(5, 3, bonus=0.4))
    expected = np.array([52.0, 19.2, 11.52, 17.28, 0, 0, 0]) * M
    np.testing.assert_allclose(yearly(r, "depreciation", "without"), expected, rtol=RTOL_MODEL, atol=ATOL_USD)
    assert yearly(r, "depreciation", "without").sum() == pytest.approx(100 * M, rel=1e-12)


def test_thirty_nine_year_shell_with_a_twenty_year_life():
    # Table A-7a, July: 1.177 in 2026, 2.564 in 2027-2045 (19 years); retired at the start of
    # 2046: 100 - 1.177 - 19 * 2.564 = 50.107 written off in 2046 (the table would run to 2065).
    r = finmodel.run(one_asset(39, 20, end_year=2046))
    d = yearly(r, "depreciation", "without")
    expected = np.array([1.177] + [2.564] * 19 + [50.107]) * M
    np.testing.assert_allclose(d, expected, rtol=RTOL_MODEL, atol=ATOL_USD)
    assert abs(float(r.lines["remaining_basis"][0, 0])) <= ATOL_USD
    # 39-year property is not bonus eligible (default 1 <= macrs_years <= 20)
    assert not r.scenario["categories.asset.bonus_eligible"]


def test_life_zero_deducts_the_whole_basis_when_placed_in_service():
    r = finmodel.run(one_asset(7, 0, bonus=0.0))
    d = yearly(r, "depreciation", "without")
    assert d[0] == pytest.approx(100 * M, rel=1e-12) and np.all(d[1:] == 0)
    # with: 100% recapture of 35 in the same year, the basis restored and deducted at once
    assert yearly(r, "recapture", "with")[0] == pytest.approx(35 * M, rel=1e-12)
    assert yearly(r, "taxable_income", "with")[0] == pytest.approx(-(65 + 35) * M, rel=1e-12)


@pytest.mark.parametrize("macrs", [3, 5, 7, 10, 15, 20])
def test_default_life_moves_nothing(macrs):
    # life_years = macrs_years: the half-year table ends in year y + macrs_years
    default = finmodel.run(one_asset(macrs, None, end_year=2050))
    pct = np.array(finmodel.core.tax.macrs_percentages(macrs)) / 100
    d = yearly(default, "depreciation", "without")
    np.testing.assert_array_equal(d[: len(pct)], 100 * M * pct)  # the same bits as the table
    assert np.all(d[len(pct) :] == 0)


def test_retirement_after_the_horizon_moves_nothing_inside_it():
    # 39-year shell, life 20, horizon to 2040: retired in 2046, after the horizon
    r = finmodel.run(one_asset(39, 20, end_year=2040))
    d = yearly(r, "depreciation", "without")
    np.testing.assert_allclose(d, np.array([1.177] + [2.564] * 14) * M, rtol=RTOL_MODEL)
    assert float(r.lines["remaining_basis"][0, 0]) == pytest.approx((100 - 1.177 - 14 * 2.564) * M, rel=1e-9)


# --------------------------------------------------------------------------- recapture (section 4)


def test_recapture_deducts_basis_reduction_times_recapture():
    # basis_reduction 0.5: basis 100 - 17.5 = 82.5; recapture 14 in 2029 restores 7 of basis
    r = finmodel.run(one_asset(5, 3, basis_reduction=0.5))
    ti = yearly(r, "taxable_income", "with")
    assert ti[3] == pytest.approx(-(0.825 * 28.8 + 7.0) * M, rel=RTOL_MODEL)
    # Treasury: 21 kept, less 21% of the 0.5 * 21 of basis it removed
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx((21 - 0.21 * 10.5) * M, rel=RTOL_MODEL)


# --------------------------------------------------------------------------- land (section 4)


def test_land_listed_as_eligible_earns_nothing_and_is_named_in_a_note(tmp_path):
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
            "categories": {
                "servers": {"share": 0.6, "macrs_years": 5},
                "site": {"share": 0.4, "macrs_years": None, "group": "data_centers"},
            },
            "policy": {"amic": {"eligible": ["servers", "data_centers"], "construction_deadline_year": None}},
            "analysis": {"end_year": 2036},
        }
    )
    r = finmodel.run(s)
    earned = r.by_category("credit_earned").sum(axis=1)
    assert earned["site"] == 0 and earned["servers"] == pytest.approx(0.35 * 60 * M, rel=1e-12)
    assert any("'site'" in n and "never qualified" in n for n in r.notes)
    # land keeps its full cost as basis (no credit, so no basis reduction)
    site = r.inputs.categories.index("site")
    assert r.lines["remaining_basis"][1, site] == pytest.approx(40 * M, rel=1e-12)


def test_land_note_in_summary_json(tmp_path):
    path = tmp_path / "land.yaml"
    path.write_text(
        "program: {commitment_usd: 100M, start_year: 2026, years: 1}\n"
        "categories:\n"
        "  servers: {share: 0.6, macrs_years: 5}\n"
        "  site: {share: 0.4, macrs_years: null}\n"
        "policy: {amic: {eligible: [servers, site], construction_deadline_year: null}}\n"
        "analysis: {end_year: 2036}\n"
    )
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert any("'site'" in n for n in summary["notes"])
    assert summary["cases"]["with"]["credit_earned_usd"] == pytest.approx(0.35 * 60 * M, rel=1e-12)
    assert main(["report", str(path), "--out", str(tmp_path / "pack"), "--formats", "svg"]) == 0
    assert (
        "earns no credit: land is never qualified property" in (tmp_path / "pack" / "summary.md").read_text()
    )


# --------------------------------------------------------------------------- budget window (section 10)


def test_six_year_horizon_with_the_default_window(tmp_path):
    path = tmp_path / "short.yaml"
    path.write_text(
        "program: {commitment_usd: 100M, start_year: 2026, years: 1}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n"
        "policy: {amic: {eligible: [servers], construction_deadline_year: null}}\n"
        "analysis: {end_year: 2031}\n"
    )
    r = finmodel.run(finmodel.load_scenario(path))
    # default window 2027-2036 clipped to 2027-2031
    assert r.fiscal()["window"] == [2027, 2031]
    cost = yearly(r, "fiscal_cost", "with")
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx(cost[1:].sum(), rel=1e-12)
    # by hand: credit 35 paid 2027; tax without 5-year MACRS on 100, with on 65 (bonus 100% in 2026
    # by default: everything deducted in 2026, so 2027-2031 carry only the credit)
    assert r.fiscal()["fiscal_cost_window_usd"] == pytest.approx(35 * M, rel=RTOL_MODEL)
    assert any("2027-2036 is clipped" in n and "2027-2031" in n for n in r.notes)
    assert main(["run", str(path), "--out", str(tmp_path / "out")]) == 0
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary["fiscal"]["window"] == [2027, 2031]


# --------------------------------------------------------------------------- credit paid after end_year


def test_credit_paid_after_end_year_is_reported():
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "100M", "start_year": 2026, "years": 2},
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
            "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
            "analysis": {"end_year": 2027},
            "fiscal": {"window_start": 2026, "window_years": 2},
        }
    )
    r = finmodel.run(s)
    # 50 placed in 2027 earns 17.5, paid in 2028, after the horizon
    assert r.fiscal()["credit_paid_after_end_usd"] == pytest.approx(17.5 * M, rel=1e-12)
    assert r.metric("credit_earned_usd", "with") == pytest.approx(35 * M, rel=1e-12)
    assert yearly(r, "credit_cash", "with").sum() == pytest.approx(17.5 * M, rel=1e-12)
    assert any("$0.02B of credit" in n and "after 2027" in n for n in r.notes)


def test_base_has_no_late_credit_and_no_notes():
    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    assert r.fiscal()["credit_paid_after_end_usd"] == 0.0
    assert r.notes == ()


# --------------------------------------------------------------------------- year maps (section 11)


def test_a_child_year_map_replaces_the_parents_whole():
    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    child = finmodel.load_scenario(SCENARIOS / "effective_2027.yaml")
    assert child["policy.amic.rate"] == {2027: 0.35}
    overridden = base.override({"policy.amic.rate": {2027: 0.35}})
    assert overridden["policy.amic.rate"] == {2027: 0.35}
    a, b = finmodel.run(child), finmodel.run(overridden)
    for name in a.metrics:
        np.testing.assert_array_equal(a.metrics[name], b.metrics[name])
    # by hand: the base's 408.52 less servers 2025 (0.04 x 770 x 25% = 7.70) and 2026
    # (0.10 x 770 x 35% = 26.95) and the data-center and grid spend of 2025 placed in 2026
    # (0.04 x 406 x 35% = 5.684): 368.186 $B
    assert a.metric("credit_earned_usd", "with") == pytest.approx(368.186e9, rel=RTOL_MODEL)
    servers = a.by_category("credit_earned").loc["servers"]
    assert servers[2025] == 0 and servers[2026] == 0


def test_wrappers_and_distributions_replace_whole_too(tmp_path):
    parent = tmp_path / "parent.yaml"
    parent.write_text(
        "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n"
        "policy: {amic: {rate: {value: 0.3, source: a, note: parent}}}\n"
        "sources: {a: A, b: B}\n"
        "uncertainty:\n  parameters:\n    program.commitment_usd: {dist: normal, mean: 1B, sd: 0.1B}\n"
    )
    child = tmp_path / "child.yaml"
    child.write_text(
        "extends: parent.yaml\n"
        "policy: {amic: {rate: {value: 0.2, source: b}}}\n"
        "uncertainty:\n  parameters:\n    program.commitment_usd: {dist: uniform, low: 0.5B, high: 1.5B}\n"
    )
    s = finmodel.load_scenario(child)
    assert s["policy.amic.rate"] == {0: 0.2}
    assert s.provenance["policy.amic.rate"].note is None  # the parent's note is not inherited
    dist = s.extras["uncertainty"]["parameters"]["program.commitment_usd"]
    assert set(dist) == {"dist", "low", "high"}
    nulled = tmp_path / "nulled.yaml"
    nulled.write_text("extends: parent.yaml\nuncertainty: null\n")
    from finmodel.analysis.uncertainty import uncertainty_spec

    assert uncertainty_spec(finmodel.load_scenario(nulled)) is None  # the parent's block is dropped
    assert uncertainty_spec(s) is not None


# --------------------------------------------------------------------------- properties


@settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(
    macrs=st.sampled_from([0, 3, 5, 7, 10, 15, 20, 39]),
    life=st.one_of(st.none(), st.integers(0, 45)),
    bonus=st.sampled_from([0.0, 0.4, 1.0]),
    years=st.integers(1, 4),
    lag=st.integers(0, 2),
    basis_reduction=st.sampled_from([0.0, 0.5, 1.0]),
)
def test_every_vintage_is_fully_deducted_when_the_horizon_is_long_enough(
    macrs, life, bonus, years, lag, basis_reduction
):
    # 41 years after the last placed-in-service year covers the longest table (39-year: 40
    # positions) and any retirement: the deductions of every vintage sum to its basis.
    start = 2026
    end = start + years - 1 + lag + 41
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "1B", "start_year": start, "years": years},
            "categories": {
                "a": {"share": 1, "macrs_years": macrs, "life_years": life, "in_service_lag_years": lag}
            },
            "policy": {"amic": {"eligible": ["a"], "construction_deadline_year": None}},
            "tax": {"bonus_depreciation": bonus},
            "analysis": {"end_year": end},
        }
    ).override({"policy.amic.basis_reduction": basis_reduction})
    r = finmodel.run(s)
    for k, case in enumerate(r.cases):
        basis = r.lines["in_service"][k, 0] - basis_reduction * r.lines["credit_earned"][k, 0]
        deducted = r.lines["depreciation"][k, 0]
        # vintage by vintage: what a vintage of year y deducts lies in y .. y + 40; with one
        # spend year per vintage (years spread by the schedule), totals per vintage are checked
        # through the cumulative deductions never running ahead of the cumulative basis
        assert np.all(np.cumsum(deducted) <= np.cumsum(basis) * (1 + 1e-12) + 1e-3), case
        assert deducted.sum() == pytest.approx(basis.sum(), rel=1e-9, abs=1e-3), case
        assert abs(float(r.lines["remaining_basis"][k, 0])) <= 1e-9 * basis.sum() + 1e-3


# --------------------------------------------------------------------------- draws match single runs


def _small_with_lives() -> finmodel.Scenario:
    return scenario_from_dict(
        {
            "program": {"commitment_usd": "10B", "start_year": 2026, "years": 3, "capacity_gw": 1},
            "categories": {
                "servers": {"share": 0.7, "macrs_years": 5},
                "shell": {"share": 0.3, "macrs_years": 39, "in_service_lag_years": 1},
            },
            "policy": {"amic": {"eligible": ["servers", "shell"], "construction_deadline_year": None}},
            "tax": {"bonus_depreciation": 0.4},
            "operations": {"revenue_usd_per_gw_year": "3B", "om_rate": 0.01},
            "analysis": {"end_year": 2045},
        }
    )


def test_monte_carlo_with_drawn_lives_matches_single_runs_draw_for_draw():
    s = _small_with_lives()
    spec = UncertaintySpec(
        {
            "categories.servers.life_years": Distribution(
                "choice", values=(2, 3, 4, 5, 6), weights=(0.2,) * 5
            ),
            "categories.shell.life_years": Distribution(
                "choice", values=(10, 20, 39), weights=(0.3, 0.3, 0.4)
            ),
        }
    )
    mc = run_montecarlo(s, draws=25, seed=3, chunk_size=7, spec=spec)
    lives = mc.inputs["categories.servers.life_years"], mc.inputs["categories.shell.life_years"]
    assert len(set(zip(lives[0].tolist(), lives[1].tolist(), strict=True))) > 3  # several tables per chunk
    for d in range(mc.draws):
        single = finmodel.run(
            s.override(
                {
                    "categories.servers.life_years": int(lives[0][d]),
                    "categories.shell.life_years": int(lives[1][d]),
                }
            )
        )
        for name in ALL_METRICS:
            np.testing.assert_allclose(
                mc.metrics[name][d], single.metrics[name], rtol=RTOL_MODEL, atol=0, err_msg=f"{name} draw {d}"
            )


def test_sweep_over_a_life_matches_single_runs():
    s = _small_with_lives()
    lives = [2, 3, 5, 8]
    points = evaluate_points(s, point_overrides(s, {"categories.servers.life_years": lives}))
    for i, life in enumerate(lives):
        single = finmodel.run(s.override({"categories.servers.life_years": life}))
        for name in ALL_METRICS:
            at_point = np.broadcast_to(points[name], (len(lives), 2))[i]  # unchanged metrics lack the axis
            np.testing.assert_allclose(at_point, single.metrics[name], rtol=RTOL_MODEL, atol=0, err_msg=name)


def test_run_check_reproduces_a_v11_run(tmp_path, capsys):
    # land listed as eligible, servers retired after 3 years (abandonment and recapture), a
    # horizon shorter than the default budget window: run --check re-runs it from run.json alone
    path = tmp_path / "v11.yaml"
    path.write_text(
        "program: {commitment_usd: 2B, start_year: 2026, years: 3, capacity_gw: 0.1}\n"
        "categories:\n"
        "  servers: {share: 0.7, macrs_years: 5, life_years: 3}\n"
        "  site: {share: 0.3, macrs_years: null, group: data_centers}\n"
        "policy: {amic: {eligible: [servers, data_centers], construction_deadline_year: null}}\n"
        "tax: {bonus_depreciation: 0.4}\n"
        "operations: {revenue_usd_per_gw_year: 5B}\n"
        "analysis: {end_year: 2033}\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "note: category 'site'" in printed and "note: the budget window 2027-2036 is clipped" in printed
    summary = json.loads((out / "summary.json").read_text())
    assert summary["fiscal"]["window"] == [2027, 2033] and len(summary["notes"]) == 2
    assert main(["run", "--check", str(out)]) == 0
    assert "identical" in capsys.readouterr().out
