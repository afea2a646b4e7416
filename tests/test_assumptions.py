"""What summary.md says the figures assume: each sentence against figures computed here another way."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS

import finmodel
from finmodel.analysis.realism import terminal_effect, value_split
from finmodel.core import format as fmt
from finmodel.core.timeline import discount_factors
from finmodel.outputs.assumptions import assumption_sentences
from finmodel.outputs.memo import summary_markdown
from finmodel.scenario import load_scenario


@pytest.fixture(scope="module")
def base():
    return finmodel.run(load_scenario(SCENARIOS / "base.yaml"))


@pytest.fixture(scope="module")
def owned():
    return finmodel.run(load_scenario(SCENARIOS / "ownership.yaml"))


def test_terminal_value_weight_equals_a_run_that_counts_none(base):
    """The NPV without the terminal value is the NPV of the cash flow less TV and the tax on its gain."""
    effect = terminal_effect(base)
    inp = base.inputs
    for k, case in enumerate(base.cases):
        cf = np.asarray(base.lines["cash_flow"])[k].copy()
        tv = float(np.asarray(base.lines["terminal_value"])[k].sum())
        remaining = float(np.asarray(base.lines["remaining_basis"])[k].sum())
        rate = float(inp.corporate_rate[k])
        cf[-1] -= tv - rate * (tv - remaining)  # unlimited tax: the gain is taxed at the corporate rate
        df = discount_factors(float(inp.discount_rate[k]), inp.years, inp.valuation_year)
        assert effect.npv_without_terminal_usd[k] == pytest.approx(float(np.sum(cf * df)), rel=1e-9)
        assert effect.npv_usd[k] == base.metric("npv_usd", case)
    # the figures the issue quotes for the base: $48.0B falls to $6.3B, payback without the credit disappears
    k = base.cases.index("with")
    assert fmt.money(effect.npv_usd[k]) == "$48.0B"
    assert fmt.money(effect.npv_without_terminal_usd[k]) == "$6.3B"
    assert effect.payback_without_terminal[base.cases.index("without")] is None


def test_value_split_adds_up_to_the_gain_before_incidence(owned):
    """Program + other owners = the change of NPV of the same scenario without its incidence: block."""
    scenario = load_scenario(SCENARIOS / "ownership.yaml")
    plain = finmodel.run(load_scenario(SCENARIOS / "base.yaml"))
    split = value_split(owned)
    assert split.program_usd + split.third_party_usd == pytest.approx(plain.delta("npv_usd"), rel=1e-9)
    assert split.third_party_usd == pytest.approx(owned.metric("third_party_gain_pv_usd", "with"), rel=1e-12)
    assert split.buyers_usd == 0
    assert split.treasury_pv_usd == pytest.approx(plain.fiscal("with")["fiscal_cost_pv_usd"], rel=1e-12)
    assert scenario.has_block("incidence")


def test_buyers_of_transferred_credits_gain_the_discount():
    results = finmodel.run(load_scenario(SCENARIOS / "transfer.yaml"))
    split = value_split(results)
    inp = results.inputs
    k = results.cases.index("with")
    earned = np.asarray(results.lines["credit_earned"])[k].sum(axis=0)
    due = np.concatenate([[0.0], earned[:-1]])  # paid one year later (payment_lag_years: 1)
    df = (1 + float(inp.discount_rate[k])) ** -(inp.years - inp.valuation_year)
    assert split.buyers_usd == pytest.approx(float(np.sum((1 - 0.93) * due * df)), rel=1e-9)
    # the Treasury pays face value: buyers' gain + the seller's cash = the credit's Treasury cost
    paid = np.asarray(results.lines["credit_cash"])[k]
    cost = np.asarray(results.lines["credit_treasury_cost"])[k]
    assert np.allclose(cost - paid, (1 - 0.93) * due, rtol=0, atol=1e-3)


def test_sentences_state_the_figures(base, owned):
    text = " ".join(assumption_sentences(base))
    assert "additionality" in text
    assert "$12.15B" in text and "$9.30B" in text  # break-even without and with
    assert "$48.0B" in text and "$6.3B" in text
    assert "no construction-start deadline" in text
    assert "21.9 GW in 2032" in text  # capacity peaks: servers are not replaced
    owned_text = " ".join(assumption_sentences(owned))
    split = value_split(owned)
    assert fmt.money(split.program_usd) in owned_text and fmt.money(split.third_party_usd) in owned_text
    assert "45% of servers" in owned_text and "50% of their gain" in owned_text
    assert "What the figures assume:" in summary_markdown(owned)


def test_refresh_sentence_states_capacity_and_spend():
    results = finmodel.run(load_scenario(SCENARIOS / "refresh.yaml"))
    text = " ".join(assumption_sentences(results))
    assert "30.0 GW" in text
    assert fmt.money(results.metric("refresh_spend_usd", "with")) in text


def test_a_deadline_and_a_later_effective_year_are_named():
    results = finmodel.run(load_scenario(SCENARIOS / "current_deadline.yaml"))
    assert "construction must begin before 1 January 2027" in " ".join(assumption_sentences(results))
    results = finmodel.run(load_scenario(SCENARIOS / "effective_2027.yaml"))
    assert "the first credit is earned in 2027" in " ".join(assumption_sentences(results))
