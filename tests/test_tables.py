"""The tables a reader gets: summary.md's table by year, the comparison's row per case, the formatter.

The table by year equals the sums of cashflows.csv; a scenario with more
than two cases gets a comparison row per case other than without; a figure
reads the same on the command line, in summary.md and on a chart.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest
from conftest import SCENARIOS

import finmodel
from finmodel.core import format as fmt
from finmodel.outputs import memo
from finmodel.outputs.report import render_run


@pytest.fixture(scope="module")
def runs():
    return {
        name: finmodel.run(finmodel.load_scenario(SCENARIOS / f"{name}.yaml"))
        for name in ("base", "credit_vs_guarantee")
    }


@pytest.mark.parametrize("name", ["base", "credit_vs_guarantee"])
def test_the_table_by_year_is_the_sums_of_cashflows_csv(runs, name):
    r = runs[name]
    flows = pd.read_csv(io.StringIO(render_run(r)["cashflows.csv"]))
    sums = flows.groupby(["line", "case", "year"])["value_usd"].sum()
    head, *body = memo.by_year_rows(r)
    assert [row[0] for row in body] == [str(int(y)) for y in r.years]
    others = [c for c in r.cases if c != "without"]
    expected_head = ["Year"]
    for what in ("Credit earned", "Treasury cost"):
        expected_head += [what if len(others) == 1 else f"{what}, {memo.case_label(c)}" for c in others]
    expected_head += [f"Cash flow, {memo.case_label(c)}" for c in r.cases] + ["Capacity, GW"]
    assert list(head) == expected_head
    columns = [("credit_earned", c) for c in others] + [("fiscal_cost", c) for c in others]
    columns += [("cash_flow", c) for c in r.cases]
    for j, (line, case) in enumerate(columns, start=1):
        assert [row[j] for row in body] == [fmt.money(sums[line, case, int(y)]) for y in r.years], (
            line,
            case,
        )
    assert [row[-1] for row in body] == [fmt.gigawatts(sums["operating_gw", "with", int(y)]) for y in r.years]


def test_summary_md_holds_the_table_by_year(runs):
    text = memo.summary_markdown(runs["base"])
    assert "By year:" in text
    assert "| Year | Credit earned | Treasury cost | Cash flow, Without AMIC | Cash flow, With AMIC |" in text


def test_the_comparison_has_a_row_per_case_with_the_credit_earned(runs):
    table = memo.compare_table([runs["base"], runs["credit_vs_guarantee"]])
    assert list(zip(table["scenario"], table["case"], strict=True)) == [
        ("base", "with"),
        ("credit_vs_guarantee", "with"),
        ("credit_vs_guarantee", "guarantee_only"),
        ("credit_vs_guarantee", "both"),
    ]
    r = runs["credit_vs_guarantee"]
    for _, row in table.iloc[1:].iterrows():
        case = row["case"]
        assert row["credit_earned_usd"] == r.metric("credit_earned_usd", case)
        assert row["fiscal_cost_pv_usd"] == r.fiscal(case)["fiscal_cost_pv_usd"]
        assert row["delta_npv_usd"] == pytest.approx(
            r.metric("npv_usd", case) - r.metric("npv_usd", "without")
        )
    md = memo.compare_markdown(table)
    assert "| Change in NPV | Credit earned |" in md
    rows = [line for line in md.splitlines() if line.startswith("| ")][1:]
    assert len(rows) == 4 and "Guarantee only" in rows[2] and "Both" in rows[3]


def test_the_breakeven_reads_alike_in_the_cli_table_summary_md_and_the_sentences(runs):
    from finmodel.outputs import terminal

    r = runs["base"]
    text = fmt.money(r.metric("breakeven_revenue_usd_per_gw_year", "without"), "USD/GW-year")
    assert text == "$12.15B"
    assert text in terminal.summary_table(r) and text in memo.summary_markdown(r)
    assert f"from {text} to" in " ".join(memo.headline_sentences(r))


def test_payback_unchanged_says_it_stays(runs):
    r = runs["base"]
    sentence = memo._returns_sentence(r)
    assert "payback from 2040 to 2040" not in sentence
    assert np.isfinite(r.metric("payback_year", "with"))
