"""finmodel.analysis.decompose: the owner's cost in present value and lines by category group.

Oracles: the waterfall's steps add up to its net cost, which is ``PV(spend) -
delta NPV`` (the model's own metrics), and its credit step is the model's
``pv_credit_usd``; group totals equal the per-category lines summed by the
groups the scenario names (read from the scenario, not from the inputs).
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import ATOL_USD, all_scenarios

import finmodel
from finmodel.analysis import decompose


@pytest.fixture(scope="module")
def results():
    return {p.stem: finmodel.run(finmodel.load_scenario(p)) for p in all_scenarios()}


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_waterfall_identity_in_every_scenario(results, path):
    r = results[path.stem]
    w = decompose.pv_waterfall(r)
    steps = w.steps()
    assert [key for key, _, _ in steps] == ["spend", "credit", "basis", "other", "net"]
    assert sum(value for _, value, _ in steps[:-1]) == pytest.approx(w.net_usd, abs=ATOL_USD)
    assert w.net_usd == pytest.approx(w.spend_usd - r.delta("npv_usd"), rel=1e-12)
    assert w.credit_usd == pytest.approx(-r.metric("pv_credit_usd", "with"), rel=1e-12)
    assert w.discount_rate == r.scenario["finance.discount_rate"]
    assert w.valuation_year == r.scenario["finance.valuation_year"]


@pytest.mark.parametrize("line", ["spend", "credit_earned"])
def test_group_totals_sum_the_categories_of_each_group(results, line):
    r = results["base"]
    groups, totals = decompose.group_totals(r, line)
    k = r.cases.index("with")
    for g, row in zip(groups, totals, strict=True):
        members = [
            c
            for c, name in enumerate(r.scenario.category_names)
            if r.scenario[f"categories.{name}.group"] == g
        ]
        np.testing.assert_allclose(row, np.asarray(r.lines[line])[k][members].sum(axis=0), rtol=1e-12)
    assert list(groups) == list(
        dict.fromkeys(r.scenario[f"categories.{n}.group"] for n in r.scenario.category_names)
    )
