"""finmodel.analysis.montecarlo and the vectorized IRR it relies on.

Oracles: bitwise identity across chunk sizes, thread counts and repeated
seeds; with zero-width distributions every draw equals the deterministic run
(``finmodel.run``) bit for bit; numpy-financial's ``irr`` (its documented
examples, 10,000 seeded random series, and ``irr`` and ``npv`` on every
draw's cash flow); percentiles and probabilities recomputed here from the
per-draw arrays.
"""

from __future__ import annotations

import json
import math

import numpy as np
import numpy_financial as npf
import pytest
from conftest import ATOL_DOC_5DP, ATOL_USD, RTOL_MODEL, SCENARIOS

import finmodel
from finmodel.analysis.metric_names import ALL_METRICS
from finmodel.analysis.montecarlo import NoUncertaintyError, run_montecarlo
from finmodel.analysis.uncertainty import UncertaintySpec, transform
from finmodel.cli import main
from finmodel.core.metrics import irr
from finmodel.engine.model import CASES, METRICS
from finmodel.scenario.blocks.distributions import Distribution

BASE = SCENARIOS / "base.yaml"


@pytest.fixture(scope="module")
def base():
    return finmodel.load_scenario(BASE)


def _same(a, b) -> bool:
    """Bitwise equality of two float arrays, NaN equal to NaN."""
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and np.array_equal(a.view(np.uint64), b.view(np.uint64))


# --------------------------------------------------------------------------- invariance


def test_chunk_size_and_threads_do_not_change_a_bit(base):
    ref = run_montecarlo(base, draws=301, seed=11, chunk_size=301, threads=1)
    for chunk, threads in ((1, 1), (7, 3), (64, 2), (100, 1), (4096, 2)):
        mc = run_montecarlo(base, draws=301, seed=11, chunk_size=chunk, threads=threads)
        for name in ALL_METRICS:
            assert _same(mc.metrics[name], ref.metrics[name]), (name, chunk, threads)
        assert _same(mc.cumulative_cash_flow, ref.cumulative_cash_flow)
        for path in ref.inputs:
            assert _same(mc.inputs[path], ref.inputs[path])


def test_same_seed_same_results_other_seed_other_results(base):
    a = run_montecarlo(base, draws=200, seed=5)
    b = run_montecarlo(base, draws=200, seed=5)
    c = run_montecarlo(base, draws=200, seed=6)
    assert _same(a.metrics["npv_usd"], b.metrics["npv_usd"])
    assert not np.array_equal(a.metrics["npv_usd"], c.metrics["npv_usd"])
    assert a.seed == 5


def test_seed_from_the_block_and_a_fresh_one_recorded(base):
    assert run_montecarlo(base, draws=10).seed == 20251106
    s = base.override({"uncertainty": {"seed": None}})
    mc = run_montecarlo(s, draws=10)
    assert isinstance(mc.seed, int)
    again = run_montecarlo(s, draws=10, seed=mc.seed)
    assert _same(again.metrics["irr"], mc.metrics["irr"])


def _zero_width_spec(s) -> UncertaintySpec:
    """Every kind of drawable parameter, each at exactly its scenario value."""
    sched = s["program.schedule"]
    return UncertaintySpec(
        {
            "program.commitment_usd": Distribution("triangular", low=1.4e12, mode=1.4e12, high=1.4e12),
            "program.capacity_gw": Distribution("uniform", low=30.0, high=30.0),
            "program.schedule": Distribution("choice", values=(sched,), weights=(1.0,)),
            "categories.grid.share": Distribution("uniform", low=0.07, high=0.07),
            "categories.other.share": Distribution("pert", low=0.16, mode=0.16, high=0.16),
            "categories.servers.life_years": Distribution("choice", values=(5.0,), weights=(1.0,)),
            "categories.dc_shell.life_years": Distribution("uniform", low=30.0, high=30.0),
            "categories.grid.construction_years": Distribution("choice", values=(3.0,), weights=(1.0,)),
            "operations.revenue_usd_per_gw_year": Distribution("lognormal", median=10e9, sigma=0.0),
            "operations.utilization": Distribution("normal", mean=0.8, sd=0.0, low=0.5, high=1.0),
            "operations.power_price_usd_per_mwh": Distribution("normal", mean=60.0, sd=0.0),
            "finance.discount_rate": Distribution("uniform", low=0.10, high=0.10),
            "tax.corporate_rate": Distribution("uniform", low=0.21, high=0.21),
            "policy.amic.payment_lag_years": Distribution("choice", values=(1.0,), weights=(1.0,)),
            "fiscal.discount_rate": Distribution("uniform", low=0.04, high=0.04),
        },
        correlations=(("operations.revenue_usd_per_gw_year", "operations.utilization", 0.6),),
    )


@pytest.mark.parametrize(
    "scenario_file", ["base.yaml", "standalone_tax.yaml", "transfer.yaml", "current_deadline.yaml"]
)
def test_zero_width_draws_equal_the_deterministic_run_exactly(scenario_file):
    s = finmodel.load_scenario(SCENARIOS / scenario_file)
    det = finmodel.run(s)
    mc = run_montecarlo(s, draws=37, seed=1, chunk_size=10, spec=_zero_width_spec(s))
    for name in ALL_METRICS:
        for d in range(mc.draws):
            assert _same(mc.metrics[name][d], det.metrics[name]), (name, d)
    cum = np.cumsum(det.lines["cash_flow"], axis=-1)
    assert all(_same(mc.cumulative_cash_flow[d], cum) for d in range(mc.draws))


def test_rate_by_year_drawn_as_one_rate_sets_its_last_step(base):
    # base: {2023: 25%, 2026: 35%}; one drawn rate moves the 2026 step only (MODEL.md section 11)
    spec = UncertaintySpec({"policy.amic.rate": Distribution("uniform", low=0.30, high=0.30)})
    mc = run_montecarlo(base, draws=3, seed=1, spec=spec)
    det = finmodel.run(base.override({"policy.amic.rate[2026]": 0.30}))
    assert _same(mc.metrics["npv_usd"][0], det.metrics["npv_usd"])


def test_drawing_only_the_tax_rate_with_nols_equals_single_runs():
    # The rate alone leaves taxable income unchanged: the NOL rule gets one
    # income and a rate per draw (once an internal error).
    s = finmodel.load_scenario(SCENARIOS / "standalone_tax.yaml")
    spec = UncertaintySpec({"tax.corporate_rate": Distribution("uniform", low=0.15, high=0.28)})
    mc = run_montecarlo(s, draws=12, seed=4, chunk_size=5, spec=spec)
    rates = mc.inputs["tax.corporate_rate"]
    assert len(set(rates.tolist())) == mc.draws
    for d in range(mc.draws):
        single = finmodel.run(s.override({"tax.corporate_rate": float(rates[d])}))
        for name in ALL_METRICS:
            np.testing.assert_allclose(
                mc.metrics[name][d], single.metrics[name], rtol=RTOL_MODEL, atol=0, err_msg=f"{name} draw {d}"
            )


def test_no_block_is_an_error():
    s = finmodel.load_scenario(BASE).override({"uncertainty": None})
    with pytest.raises(NoUncertaintyError):
        run_montecarlo(s)


# --------------------------------------------------------------------------- summaries


def test_summary_and_probabilities_recomputed_by_hand(base):
    mc = run_montecarlo(base, draws=2000, seed=3)
    table = mc.summary()
    w, wo = CASES.index("with"), CASES.index("without")
    npv = mc.metrics["npv_usd"]
    delta = npv[:, w] - npv[:, wo]
    assert table.loc[("npv_usd", "delta"), "p50"] == pytest.approx(np.percentile(delta, 50), rel=1e-15)
    assert table.loc[("npv_usd", "with"), "mean"] == pytest.approx(npv[:, w].mean(), rel=1e-12)
    t = mc.metrics["fiscal_cost_window_usd"][:, w]
    assert table.loc[("fiscal_cost_window_usd", "treasury"), "p95"] == pytest.approx(
        np.percentile(t, 95), rel=1e-15
    )
    p = mc.probabilities()
    assert p["delta_npv_positive"] == np.mean(delta > 0)
    assert p["credit_turns_npv_positive"] == np.mean((npv[:, w] > 0) & (npv[:, wo] < 0))
    # the credit is worth something in every draw here; delta NPV equals PV of credit cash
    # minus the basis-reduction tax
    assert p["delta_npv_positive"] == 1.0
    fan = mc.fan("with")
    assert list(fan.columns) == ["p5", "p25", "p50", "p75", "p95"]
    assert fan.loc[2040, "p50"] == pytest.approx(
        np.percentile(mc.cumulative_cash_flow[:, w, -1], 50), rel=1e-15
    )
    # payback never reached counts as later than any year
    pay = mc.metrics["payback_year"][:, w]
    assert table.loc[("payback_year", "with"), "undefined"] == pytest.approx(np.mean(np.isnan(pay)))
    frame = mc.draws_frame()
    assert len(frame) == 2000 and frame["npv_usd.delta"].to_numpy() == pytest.approx(delta)


def test_renormalization_note(base):
    mc = run_montecarlo(base, draws=10)
    assert any("divided by the sum" in n for n in mc.notes)
    d = mc.to_dict()
    assert d["seed"] == 20251106 and d["draws"] == 10 and d["notes"] == list(mc.notes)
    assert set(d["metrics"]) == set(ALL_METRICS)


# --------------------------------------------------------------------------- IRR against numpy-financial


#: numpy-financial 1.0 irr docstring examples, printed to 5 decimals.
NPF_DOC_EXAMPLES = [
    ([-100, 39, 59, 55, 20], 0.28095),
    ([-100, 0, 0, 74], -0.0955),
    ([-100, 100, 0, -7], -0.0833),
    ([-100, 100, 0, 7], 0.06206),
    ([-5, 10.5, 1, -8, 1], 0.0886),
]


@pytest.mark.parametrize("values, expected", NPF_DOC_EXAMPLES)
def test_irr_numpy_financial_documented_examples(values, expected):
    assert irr(values) == pytest.approx(expected, abs=ATOL_DOC_5DP)
    assert irr(values) == pytest.approx(npf.irr(values), abs=1e-9)
    # scale invariance at 1e12-dollar magnitudes
    assert irr(np.array(values) * 1e12) == pytest.approx(npf.irr(values), abs=1e-9)


def _compare(values: np.ndarray) -> None:
    ours = irr(values)
    with np.errstate(all="ignore"):
        ref = np.array([npf.irr(v) for v in values])
    assert np.array_equal(np.isnan(ours), np.isnan(ref)), np.flatnonzero(np.isnan(ours) != np.isnan(ref))[:5]
    ok = ~np.isnan(ref)
    assert np.allclose(ours[ok], ref[ok], rtol=1e-9, atol=1e-9)


def test_irr_10000_random_series_many_sign_changes():
    rng = np.random.default_rng(20251106)
    _compare(rng.standard_normal((10_000, 16)))


def test_irr_random_series_at_1e12_and_conventional():
    rng = np.random.default_rng(7)
    _compare(rng.standard_normal((2_000, 16)) * 1e12)
    invest = -rng.uniform(0.5, 2.0, (2_000, 3)) * 1e12
    returns = rng.uniform(0.05, 0.6, (2_000, 13)) * 1e12
    _compare(np.concatenate([invest, returns], axis=1))
    # sparse series (zeros inside, leading and trailing zeros), other lengths
    sparse = rng.standard_normal((2_000, 16)) * (rng.random((2_000, 16)) < 0.4)
    _compare(sparse)
    _compare(rng.standard_normal((1_000, 5)))
    _compare(rng.standard_normal((1_000, 40)))


def test_irr_and_npv_of_every_draw_equal_numpy_financial_on_its_cash_flow(base):
    # Oracle: numpy-financial 1.0 on each draw's own cash flow, both cases.
    # npf.irr picks the real root closest to zero, as ours does (the
    # convention test_metrics.py checks); npf.npv leaves the first flow
    # undiscounted, so it is moved from the first year to the valuation year.
    mc = run_montecarlo(base, draws=300, seed=9)
    cf = np.diff(mc.cumulative_cash_flow, axis=-1, prepend=0.0)  # (draw, case, year) [USD]
    rates = mc.inputs["finance.discount_rate"]
    assert np.ptp(rates) > 0.05  # the discount rate is drawn: each NPV uses its own
    shift = (1.0 + rates) ** -float(mc.years[0] - base["finance.valuation_year"])
    irr_ref = np.array([[npf.irr(flows) for flows in draw] for draw in cf])
    npv_ref = np.array(
        [[npf.npv(r, flows) * f for flows in draw] for draw, r, f in zip(cf, rates, shift, strict=True)]
    )
    assert irr_ref.shape == npv_ref.shape == (300, len(CASES))
    assert not np.any(np.isnan(irr_ref))  # every draw has an IRR to compare
    np.testing.assert_allclose(mc.metrics["irr"], irr_ref, rtol=0, atol=1e-9)
    np.testing.assert_allclose(mc.metrics["npv_usd"], npv_ref, rtol=RTOL_MODEL, atol=ATOL_USD)
    # and the deterministic run, on the engine's own yearly lines
    det = finmodel.run(base)
    for k in range(len(CASES)):
        assert det.metrics["irr"][k] == pytest.approx(npf.irr(det.lines["cash_flow"][k]), abs=1e-9)


def test_irr_shapes_and_undefined():
    assert math.isnan(irr([1.0, 2.0, 3.0]))
    assert math.isnan(irr([0.0, 0.0]))
    assert math.isnan(irr([-1.0, np.nan, 2.0]))
    assert irr(np.zeros((3, 4, 5))).shape == (3, 4)
    assert irr([-1.0, 1.0]) == 0.0


# --------------------------------------------------------------------------- CLI


def test_cli_montecarlo_writes_outputs_with_seed(tmp_path, capsys):
    out = tmp_path / "mc"
    assert main(["montecarlo", str(BASE), "--draws", "500", "--seed", "42", "--out", str(out), "--csv"]) == 0
    text = capsys.readouterr().out
    assert "500 draws, seed 42" in text and "P(delta NPV > 0)" in text
    run_json = json.loads((out / "run.json").read_text())
    assert run_json["seed"] == 42
    data = json.loads((out / "montecarlo.json").read_text())
    assert data["draws"] == 500 and data["seed"] == 42
    assert set(data["metrics"]["npv_usd"]) == {"without", "with", "delta"}
    draws = (out / "draws.csv").read_text().splitlines()
    assert len(draws) == 501
    for stem in ("montecarlo_fan", "treasury_cost_histogram"):
        assert (out / f"{stem}.png").stat().st_size > 10_000
    assert not (out / "montecarlo_value_and_cost.png").exists()  # only for a scenario with cases:
    assert sorted(run_json["files"]) == sorted(p.name for p in out.iterdir() if p.name != "run.json")
    # same seed, same numbers
    out2 = tmp_path / "mc2"
    assert (
        main(
            [
                "montecarlo",
                str(BASE),
                "--draws",
                "500",
                "--seed",
                "42",
                "--out",
                str(out2),
                "--chunk-size",
                "33",
                "--threads",
                "1",
                "--formats",
                "svg",  # its charts are not read: the fastest format
            ]
        )
        == 0
    )
    assert json.loads((out2 / "montecarlo.json").read_text())["metrics"] == data["metrics"]


def test_cli_montecarlo_without_block_is_bad_input(tmp_path, capsys):
    s = tmp_path / "plain.yaml"
    s.write_text(f"extends: {BASE.resolve()}\nname: plain\n", encoding="utf-8")
    # base's block is inherited; a file without one:
    plain = tmp_path / "none.yaml"
    plain.write_text(
        "program: {commitment_usd: 1B, start_year: 2026, years: 1}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    assert main(["montecarlo", str(plain), "--out", str(out)]) == 2
    assert "no uncertainty: block" in capsys.readouterr().err
    assert not out.exists()


def test_metric_names_cover_model_metrics():
    assert list(ALL_METRICS)[: len(METRICS)] == list(METRICS)


# ------------------------------------------------------------ speed settings that must not change a bit


@pytest.mark.parametrize(
    "dist",
    [
        Distribution("uniform", low=1.0, high=3.0),
        Distribution("triangular", low=0.0, mode=0.2, high=1.0),
        Distribution("pert", low=0.1, mode=0.35, high=0.9),
        Distribution("normal", mean=10.0, sd=2.0),
        Distribution("normal", mean=10.0, sd=2.0, low=7.0, high=12.0),
        Distribution("lognormal", median=1e12, sigma=0.3),
        Distribution("choice", values=(3.0, 5.0, 6.0), weights=(0.2, 0.5, 0.3)),
    ],
    ids=lambda d: d.kind,
)
def test_every_distribution_transforms_draw_by_draw(dist):
    """Large runs transform each parameter's scores in two halves (on two threads); that is exact
    only if a draw's value does not depend on the others or its position (vector loops, tails)."""
    z = np.random.default_rng(1).standard_normal(100_003)
    whole = transform(dist, z)
    for lo, hi in ((0, 50_001), (50_001, 100_003), (3, 17), (1, 2)):
        assert _same(transform(dist, z[lo:hi]), whole[lo:hi]), (lo, hi)


def test_tuning_the_allocator_changes_no_result(base):
    from finmodel.analysis.montecarlo import tune_allocator

    before = run_montecarlo(base, draws=500, seed=3)
    assert tune_allocator()  # glibc: every mallopt call accepted
    after = run_montecarlo(base, draws=500, seed=3)
    for name in ALL_METRICS:
        assert _same(after.metrics[name], before.metrics[name]), name


def test_warm_runs_each_scenario_and_draws_where_it_can(tmp_path):
    """``make setup`` compiles the kernels with finmodel.analysis.warm: it must run any scenario."""
    from finmodel.analysis.warm import warm

    plain = tmp_path / "plain.yaml"
    plain.write_text(
        "program: {commitment_usd: 100M, start_year: 2026, years: 1}\n"
        "categories: {servers: {share: 1, macrs_years: 5}}\n"
    )
    assert warm([BASE, plain]) == 2


@pytest.mark.parametrize(
    "option, said",
    [
        (["--draws", "0"], "--draws must be >= 1, got 0"),
        (["--draws", "-5"], "--draws must be >= 1, got -5"),
        (["--chunk-size", "0"], "--chunk-size must be >= 1, got 0"),
        (["--seed", "-1"], "--seed must be a whole number >= 0, got -1"),
    ],
)
def test_cli_montecarlo_refuses_bad_options_and_writes_nothing(tmp_path, capsys, option, said):
    out = tmp_path / "mc"
    assert main(["montecarlo", str(SCENARIOS / "base.yaml"), *option, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert said in err and "internal error" not in err
    assert not out.exists()
