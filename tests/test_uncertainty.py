"""Uncertainty: distributions (moments and bounds), copula, validation of the blocks.

Oracles: the textbook moments of each distribution, written out here
(uniform, triangular, Beta-PERT, truncated normal, lognormal: Vose 2008,
ch. 8; Johnson, Kotz & Balakrishnan, *Continuous Univariate Distributions*,
vol. 1, ch. 13-14), a Spearman correlation computed from ranks, and hand
arithmetic for the share renormalization. Every generator is seeded.
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS

import finmodel
from finmodel.analysis.sensitivity import DEFAULT_SENSITIVITY_SPREAD, sensitivity_ranges
from finmodel.analysis.uncertainty import (
    UncertaintySpec,
    category_share_overrides,
    sample,
    to_overrides,
    uncertainty_spec,
)
from finmodel.scenario.blocks.distributions import Distribution
from finmodel.scenario.yamlio import ScenarioError

N = 200_000
SEED = 20251106


def draw(d: Distribution, n: int = N, seed: int = SEED) -> np.ndarray:
    return sample(UncertaintySpec({"finance.discount_rate": d}), draws=n, seed=seed).values[
        "finance.discount_rate"
    ]


def check_moments(x: np.ndarray, mean: float, var: float) -> None:
    """Sample mean within 5 standard errors; sample variance within 3%."""
    se = math.sqrt(var / x.size)
    assert abs(x.mean() - mean) <= 5 * se
    assert x.var() == pytest.approx(var, rel=0.03)


# --------------------------------------------------------------------------- moments and bounds


def test_uniform_moments_and_bounds():
    a, b = 0.04, 0.12
    x = draw(Distribution("uniform", low=a, high=b))
    check_moments(x, (a + b) / 2, (b - a) ** 2 / 12)
    assert x.min() >= a and x.max() <= b


def test_triangular_moments_and_bounds():
    a, c, b = 1.0e12, 1.4e12, 1.5e12
    x = draw(Distribution("triangular", low=a, mode=c, high=b))
    check_moments(x, (a + b + c) / 3, (a * a + b * b + c * c - a * b - a * c - b * c) / 18)
    assert x.min() >= a and x.max() <= b
    # the mode is the densest region: more draws near c than near the ends
    hist, edges = np.histogram(x, bins=10, range=(a, b))
    assert edges[np.argmax(hist)] <= c <= edges[np.argmax(hist) + 1]


def test_pert_moments_and_bounds():
    a, m, b, lam = 0.6, 0.8, 0.95, 4.0
    x = draw(Distribution("pert", low=a, mode=m, high=b, shape=lam))
    mean = (a + lam * m + b) / (lam + 2)  # (a + 4m + b) / 6
    var = (mean - a) * (b - mean) / (lam + 3)
    check_moments(x, mean, var)
    assert x.min() >= a and x.max() <= b


def test_normal_moments():
    x = draw(Distribution("normal", mean=0.10, sd=0.02))
    check_moments(x, 0.10, 0.02**2)


def test_truncated_normal_moments_and_bounds():
    mu, sigma, lo, hi = 0.10, 0.02, 0.07, 0.15
    x = draw(Distribution("normal", mean=mu, sd=sigma, low=lo, high=hi))
    alpha, beta = (lo - mu) / sigma, (hi - mu) / sigma
    phi = lambda t: math.exp(-t * t / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    Phi = lambda t: 0.5 * math.erfc(-t / math.sqrt(2))  # noqa: E731
    Z = Phi(beta) - Phi(alpha)
    mean = mu + sigma * (phi(alpha) - phi(beta)) / Z
    var = sigma**2 * (1 + (alpha * phi(alpha) - beta * phi(beta)) / Z - ((phi(alpha) - phi(beta)) / Z) ** 2)
    check_moments(x, mean, var)
    assert x.min() >= lo and x.max() <= hi


def test_truncated_normal_far_in_the_upper_tail_stays_inside():
    # truncation 4 to 6 sd above the mean: the mirrored computation keeps precision
    x = draw(Distribution("normal", mean=0.0, sd=1.0, low=4.0, high=6.0), n=20_000)
    assert x.min() >= 4.0 and x.max() <= 6.0
    assert 4.0 < x.mean() < 4.4  # E[X | X > 4] = phi(4) / (1 - Phi(4)) = 4.2256


def test_lognormal_moments():
    median, s = 10e9, 0.3
    x = draw(Distribution("lognormal", median=median, sigma=s))
    mean = median * math.exp(s * s / 2)
    var = (math.exp(s * s) - 1) * math.exp(2 * math.log(median) + s * s)
    check_moments(x, mean, var)
    assert x.min() > 0
    assert np.median(x) == pytest.approx(median, rel=0.01)


def test_choice_frequencies():
    values, weights = (3.0, 4.0, 5.0, 6.0), (0.15, 0.25, 0.35, 0.25)
    x = draw(Distribution("choice", values=values, weights=weights))
    assert set(np.unique(x)) <= set(values)
    for v, w in zip(values, weights, strict=True):
        se = math.sqrt(w * (1 - w) / N)
        assert abs(np.mean(x == v) - w) <= 5 * se


@pytest.mark.parametrize(
    "d, value",
    [
        (Distribution("uniform", low=0.3, high=0.3), 0.3),
        (Distribution("triangular", low=7.0, mode=7.0, high=7.0), 7.0),
        (Distribution("pert", low=1.4e12, mode=1.4e12, high=1.4e12), 1.4e12),
        (Distribution("normal", mean=0.1, sd=0.0), 0.1),
        (Distribution("normal", mean=0.1, sd=0.0, low=0.05, high=0.2), 0.1),
        (Distribution("lognormal", median=1e10, sigma=0.0), 1e10),
        (Distribution("choice", values=(5.0,), weights=(1.0,)), 5.0),
    ],
)
def test_zero_width_gives_the_value_exactly(d, value):
    x = draw(d, n=1000)
    assert np.all(x == value)


def test_same_seed_same_draws_and_prefix_property():
    d = Distribution("triangular", low=0.0, mode=0.2, high=1.0)
    a = draw(d, n=5000, seed=1)
    assert np.array_equal(a, draw(d, n=5000, seed=1))
    assert not np.array_equal(a, draw(d, n=5000, seed=2))
    # one stream: the first draws of a longer run are the draws of a shorter one
    assert np.array_equal(a[:1000], draw(d, n=1000, seed=1))
    # a Generator works as a seed
    assert np.array_equal(
        a,
        sample(UncertaintySpec({"finance.discount_rate": d}), 5000, np.random.default_rng(1)).values[
            "finance.discount_rate"
        ],
    )


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra = np.argsort(np.argsort(a)).astype(float)
    rb = np.argsort(np.argsort(b)).astype(float)
    return float(np.corrcoef(ra, rb)[0, 1])


def test_copula_imposes_the_rank_correlation():
    spec = UncertaintySpec(
        {
            "operations.revenue_usd_per_gw_year": Distribution("lognormal", median=1e10, sigma=0.3),
            "operations.utilization": Distribution("pert", low=0.6, mode=0.8, high=0.95),
            "finance.discount_rate": Distribution("uniform", low=0.07, high=0.13),
        },
        correlations=(("operations.revenue_usd_per_gw_year", "operations.utilization", 0.5),),
    )
    v = sample(spec, draws=N, seed=SEED).values
    assert _spearman(v["operations.revenue_usd_per_gw_year"], v["operations.utilization"]) == pytest.approx(
        0.5, abs=0.01
    )
    assert abs(_spearman(v["operations.revenue_usd_per_gw_year"], v["finance.discount_rate"])) < 0.01
    # the marginals are untouched by the copula
    x = v["finance.discount_rate"]
    check_moments(x, 0.10, 0.06**2 / 12)


# --------------------------------------------------------------------------- overrides


def test_shares_renormalized_to_sum_to_one():
    s = finmodel.load_scenario(SCENARIOS / "base.yaml")
    grid = np.array([0.07, 0.12, 0.02])
    out = category_share_overrides(s, {"categories.grid.share": grid})
    total = sum(out[f"categories.{c}.share"] for c in s.category_names)
    assert np.allclose(total, 1.0, rtol=0, atol=1e-15)
    # hand arithmetic for the second draw: the other shares sum to 0.93; all divided by 1.05
    assert out["categories.servers.share"][1] == pytest.approx(0.55 / 1.05, rel=1e-15)
    assert out["categories.grid.share"][1] == pytest.approx(0.12 / 1.05, rel=1e-15)
    # a draw that already sums to 1 (within 1e-9) is used as is, bit for bit
    assert out["categories.grid.share"][0] == 0.07
    assert out["categories.servers.share"][0] == 0.55


def test_schedule_choice_becomes_year_shares():
    s = finmodel.load_scenario(SCENARIOS / "base.yaml")
    spec = UncertaintySpec(
        {
            "program.schedule": Distribution(
                "choice", values=({"ramp": "flat"}, {"ramp": "linear"}), weights=(0.5, 0.5)
            )
        }
    )
    smp = sample(spec, draws=100, seed=3)
    ov = to_overrides(s, smp)
    ys = np.asarray(ov["program.year_shares"])
    assert ys.shape == (100, len(s.years))
    flat = np.r_[np.full(8, 1 / 8), np.zeros(8)]
    linear = np.r_[np.arange(1, 9) / 36, np.zeros(8)]
    for idx, row in zip(smp.values["program.schedule"], ys, strict=True):
        assert np.allclose(row, flat if idx == 0 else linear, rtol=1e-15, atol=0)


def test_base_scenario_block_parses():
    s = finmodel.load_scenario(SCENARIOS / "base.yaml")
    spec = uncertainty_spec(s)
    assert spec.seed == 20251106 and spec.draws == 10_000
    assert spec.parameters["program.commitment_usd"] == Distribution(
        "triangular", low=1.0e12, mode=1.4e12, high=1.5e12
    )
    assert spec.parameters["finance.discount_rate"].low == 0.07
    assert spec.sources["categories.servers.life_years"] == "asm-uncertainty"


# --------------------------------------------------------------------------- validation


def load(tmp_path, block: str):
    base = (SCENARIOS / "base.yaml").resolve()
    path = tmp_path / "s.yaml"
    path.write_text(f"extends: {base}\n" + textwrap.dedent(block), encoding="utf-8")
    return finmodel.load_scenario(path), path


def problems(tmp_path, block: str) -> list:
    with pytest.raises(ScenarioError) as info:
        load(tmp_path, block)
    return info.value.problems


def test_money_notation_and_percent_accepted(tmp_path):
    s, _ = load(
        tmp_path,
        """
        uncertainty:
          draws: 50
          parameters:
            program.commitment_usd: {dist: uniform, low: "$1.2T", high: 1_500B}
            finance.discount_rate: {dist: normal, mean: 10%, sd: "2%", low: 0.07, high: 15%}
        """,
    )
    spec = uncertainty_spec(s)
    assert spec.parameters["program.commitment_usd"].low == 1.2e12
    assert spec.parameters["program.commitment_usd"].high == 1.5e12
    assert spec.parameters["finance.discount_rate"].sd == 0.02
    # the rest of the block comes from base.yaml (extends merges; a distribution replaces whole)
    assert spec.draws == 50 and spec.seed == 20251106
    assert spec.parameters["finance.discount_rate"].kind == "normal"


def test_child_replaces_a_parent_distribution_whole(tmp_path):
    s, _ = load(
        tmp_path,
        """
        uncertainty:
          parameters:
            finance.discount_rate: {dist: uniform, low: 8%, high: 12%}
        """,
    )
    d = uncertainty_spec(s).parameters["finance.discount_rate"]
    assert d == Distribution("uniform", low=0.08, high=0.12)  # no mean or sd inherited


@pytest.mark.parametrize(
    "spec, key, words",
    [
        (
            "program.commitment_usd: {dist: triangle, low: 1T, mode: 1.2T, high: 1.5T}",
            "dist",
            "did you mean 'triangular'",
        ),
        ("program.commitment_usd: {dist: uniform, low: 1T}", "high", "required for dist: uniform"),
        (
            "program.commitment_usd: {dist: triangular, low: 1T, mode: 2T, high: 1.5T}",
            "mode",
            "must lie between",
        ),
        ("program.commitment_usd: {dist: uniform, low: 2T, high: 1T}", "high", "must be >= low"),
        ("operations.utilization: {dist: normal, mean: 0.8, sd: 0.1}", "low", "unbounded"),
        (
            "finance.discount_rate: {dist: lognormal, median: 0.1, sigma: 0.2}",
            "dist",
            "unbounded above",
        ),
        (
            "operations.utilization: {dist: uniform, low: 0.5, high: 1.2}",
            None,
            "outside the allowed range",
        ),
        ("program.years: {dist: choice, values: [7, 8]}", None, "cannot vary across draws"),
        (
            "categories.servrs.life_years: {dist: choice, values: [3, 4]}",
            None,
            "unknown parameter",
        ),
        (
            "categories.grid.in_service_lag_years: {dist: uniform, low: 0, high: 2}",
            None,
            "whole number of years",
        ),
        (
            "categories.servers.life_years: {dist: choice, values: [3, 4], weights: [0.5, 0.6]}",
            "weights",
            "sum to 1",
        ),
        ("program.commitment_usd: {dist: uniform, low: 1T, high: lots}", "high", "must be money"),
        (
            "program.commitment_usd: {dist: uniform, low: 1T, high: 2T, source: nowhere}",
            "source",
            "unknown source",
        ),
        (
            "program.commitment_usd: {dist: uniform, low: 1T, high: 2T, width: 3}",
            "width",
            "unknown key",
        ),
        ("program.schedule: {dist: uniform, low: 0, high: 1}", "dist", "dist: choice"),
        (
            "program.schedule: {dist: choice, values: [{ramp: flat}, {shares: [0.5, 0.5]}]}",
            "shares",
            "program.years = 8",
        ),
    ],
)
def test_bad_distributions_are_reported_with_file_line_and_key(tmp_path, spec, key, words):
    found = problems(
        tmp_path,
        f"""
        uncertainty:
          parameters:
            {spec}
        """,
    )
    assert len(found) == 1, found
    p = found[0]
    assert p.file.endswith("s.yaml") and p.line is not None and p.line >= 4
    path = spec.split(":")[0]
    assert p.key.startswith(f"uncertainty.parameters.{path}")
    if key:
        assert p.key.endswith("." + key)
    assert words in p.message, p.message


def test_bad_block_settings(tmp_path):
    found = problems(
        tmp_path,
        """
        uncertainty:
          draws: 0
          seed: -1
          parameters:
            finance.discount_rate: {dist: uniform, low: 0.05, high: 0.15}
          correlations:
            - {between: [finance.discount_rate, program.capacity_gw], rho: 0.3}
            - {between: [finance.discount_rate, finance.discount_rate], rho: 0.3}
        """,
    )
    keys = {p.key: p.message for p in found}
    assert "whole number from 1" in keys["uncertainty.draws"]
    assert ">= 0" in keys["uncertainty.seed"]
    assert "not a parameter" in keys["uncertainty.correlations[0].between"]
    assert "two different" in keys["uncertainty.correlations[1].between"]


def test_inconsistent_correlations_are_refused(tmp_path):
    found = problems(
        tmp_path,
        """
        uncertainty:
          parameters:
            finance.discount_rate: {dist: uniform, low: 0.05, high: 0.15}
            operations.utilization: {dist: uniform, low: 0.6, high: 0.9}
            operations.pue: {dist: uniform, low: 1.1, high: 1.4}
          correlations:
            - {between: [finance.discount_rate, operations.utilization], rho: 0.9}
            - {between: [finance.discount_rate, operations.pue], rho: 0.9}
            - {between: [operations.utilization, operations.pue], rho: -0.9}
        """,
    )
    assert [p.key for p in found] == ["uncertainty.correlations"]
    assert "positive definite" in found[0].message


def test_unknown_top_level_key_still_reported(tmp_path):
    found = problems(
        tmp_path,
        """
        uncertainy:
          draws: 10
        """,
    )
    assert "did you mean 'uncertainty'" in found[0].message


def test_blocks_are_checked_by_the_scenario_registry_without_analysis():
    """The blocks are validated by the registry of the scenario layer, with no analysis module
    imported (they used to be registered as a side effect of importing analysis.uncertainty)."""
    code = (
        "import json, sys\n"
        "from finmodel.scenario import load_scenario\n"
        "from finmodel.scenario.blocks import BLOCKS\n"
        "s = load_scenario('scenarios/base.yaml')\n"
        "print(json.dumps({'analysis': sorted(m for m in sys.modules if m.startswith('finmodel.analysis')),\n"
        "                  'blocks': list(BLOCKS), 'extras': sorted(s.extras)}))\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    assert got == {"analysis": [], "blocks": ["uncertainty", "sensitivity"], "extras": ["uncertainty"]}


def test_sensitivity_block(tmp_path):
    s, _ = load(
        tmp_path,
        """
        sensitivity:
          program.commitment_usd: {low: 1.0T, high: 1.6T}
          categories.servers.life_years: {low: 3, high: 6}
          policy.amic.rate: {low: 25%, high: 0.45}
        """,
    )
    ranges, notes = sensitivity_ranges(s)
    assert ranges == {
        "program.commitment_usd": (1.0e12, 1.6e12),
        "categories.servers.life_years": (3.0, 6.0),
        "policy.amic.rate": (0.25, 0.45),
    }
    assert notes == []
    found = problems(
        tmp_path,
        """
        sensitivity:
          operations.utilization: {low: 0.5, high: 1.5}
          finance.discount_rate: {low: 0.1, high: 0.1}
          program.start_year: {low: 2025, high: 2026}
        """,
    )
    messages = {p.key: p.message for p in found}
    assert "outside the allowed range" in messages["sensitivity.operations.utilization.high"]
    assert "equal" in messages["sensitivity.finance.discount_rate"]
    assert "cannot vary" in messages["sensitivity.program.start_year"]


def test_default_sensitivity_set():
    s = finmodel.load_scenario(SCENARIOS / "base.yaml")
    ranges, notes = sensitivity_ranges(s)
    f = DEFAULT_SENSITIVITY_SPREAD
    assert ranges["program.commitment_usd"] == pytest.approx((1.4e12 * (1 - f), 1.4e12 * (1 + f)))
    assert ranges["categories.servers.life_years"] == pytest.approx((4.0, 6.0))
    assert ranges["operations.utilization"] == pytest.approx((0.64, 0.96))
    # a year map moves every year; bonus depreciation is clipped at 100%
    assert ranges["policy.amic.rate"][1] == pytest.approx({2023: 0.30, 2026: 0.42})
    assert ranges["tax.bonus_depreciation"][1][2025] == 1.0
    assert "0.8x and 1.2x" in notes[0]
    assert "operations.revenue_growth" not in ranges  # value 0: nothing to move


def test_drawn_capacity_needs_a_capacity_category(tmp_path, capsys):
    # Once the Monte Carlo used the first category without a word when capacity_gw was drawn
    # and no category was named servers (the written capacity_gw was 0, so nothing was checked).
    from finmodel.cli import main

    plain = (
        "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
        "categories: {gpus: {share: 1, macrs_years: 5}}\n"
        "operations: {revenue_usd_per_gw_year: 10B}\n"
    )
    drawn = tmp_path / "drawn.yaml"
    drawn.write_text(
        plain + "uncertainty:\n  parameters:\n    program.capacity_gw: {dist: uniform, low: 0.1, high: 0.2}\n"
    )
    assert main(["montecarlo", str(drawn), "--draws", "10", "--out", str(tmp_path / "mc")]) == 2
    err = capsys.readouterr().err
    assert "drawn.yaml:6: uncertainty.parameters.program.capacity_gw" in err
    assert "program.capacity_category ('servers') names no category (categories: gpus)" in err
    assert not (tmp_path / "mc").exists()
    swept = tmp_path / "swept.yaml"
    swept.write_text(plain)
    assert main(["sweep", str(swept), "--x", "program.capacity_gw=0.1,0.2", "--metric", "npv_usd"]) == 2
    assert "names no category" in capsys.readouterr().err
    # naming the category makes both legal
    named = tmp_path / "named.yaml"
    named.write_text(plain.replace("years: 2}", "years: 2, capacity_category: gpus}"))
    assert main(["sweep", str(named), "--x", "program.capacity_gw=0.1,0.2", "--metric", "npv_usd"]) == 0
