"""Memo charts of scenarios with more cases (MODEL.md section 15): every case, one colour per case name.

Oracles: the Results arrays of each case (line data, bar heights), the
colours of :mod:`finmodel.outputs.style` (``without`` grey, ``with`` blue,
added cases from the palette by name), the scenario's own case list, and
the layout checker of ``layout.py``.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import SCENARIOS
from layout import layout_problems
from matplotlib.colors import to_hex
from matplotlib.text import Text

import finmodel
from finmodel.outputs import charts, style

CVG_CASES = ("without", "with", "guarantee_only", "both")  # scenarios/credit_vs_guarantee.yaml


@pytest.fixture(scope="module")
def cvg():
    return finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))


@pytest.fixture(scope="module")
def credits(tmp_path_factory):
    """Base with three added cases: transfer, a 25% rate (credits unlike `with`) and no credit."""
    path = tmp_path_factory.mktemp("cases") / "credits.yaml"
    path.write_text(
        f"extends: {SCENARIOS / 'base.yaml'}\n"
        "name: credits\n"
        "title: Three ways to give the credit\n"
        "cases:\n"
        "  transfer: {policy: {amic: {monetization: transfer}}}\n"
        "  rate_25: {policy: {amic: {rate: 0.25}}}\n"
        "  no_credit: {policy: {amic: {eligible: []}}}\n"
    )
    return finmodel.run(finmodel.load_scenario(path))


def _hex(artist) -> str:
    color = artist.get_facecolor() if hasattr(artist, "get_facecolor") else artist.get_color()
    return to_hex(color).upper()


def _gid(ax, gid, kind="patches"):
    return [a for a in getattr(ax, kind) if a.get_gid() == gid]


# ------------------------------------------------------------------ colours


def test_case_colours_fixed_for_without_and_with_by_name_for_the_rest():
    colors = style.case_colors(CVG_CASES)
    assert colors["without"] == style.NEUTRAL_COLOR and colors["with"] == style.OKABE_ITO["blue"]
    assert len(set(colors.values())) == len(CVG_CASES)
    assert {colors["guarantee_only"], colors["both"]} <= set(style.CASE_PALETTE)
    assert colors == style.case_colors(reversed(CVG_CASES))  # the set decides, not the order
    assert colors["both"] == style.case_color("both")  # no clash: the name's own colour
    # the palette leaves out the fixed meanings: cases, the Treasury's cost
    assert not {style.CASE_COLORS["with"], style.CASE_COLORS["without"], style.COST_COLOR} & set(
        style.CASE_PALETTE
    )


def test_clashing_names_get_distinct_colours_and_repeat_only_past_the_palette():
    names = [f"case_{i}" for i in range(len(style.CASE_PALETTE))]
    colors = style.case_colors(["without", "with", *names])
    assert sorted(colors[n] for n in names) == sorted(style.CASE_PALETTE)


# ------------------------------------------------------------------ one scenario's pack


def test_cumulative_cash_flow_has_a_line_per_case_in_its_colour(cvg):
    ax = charts.cumulative_cash_flow(cvg)
    colors = style.case_colors(cvg.cases)
    assert cvg.cases == CVG_CASES
    for k, case in enumerate(cvg.cases):
        (line,) = _gid(ax, f"cumulative-{case}", "lines")
        np.testing.assert_allclose(line.get_ydata(), np.cumsum(cvg.lines["cash_flow"][k]), rtol=1e-12)
        assert _hex(line) == colors[case]
    # a guarantee leaves the project's cash flow as it is: dashed over the case it equals
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Guarantee only: same as Without AMIC" in legend and "Both: same as With AMIC" in legend
    assert _gid(ax, "trough-both", "lines") == [] and len(_gid(ax, "trough-with", "lines")) == 1
    assert layout_problems(ax.figure) == []


def test_treasury_cost_has_bars_per_case_against_without(cvg):
    ax = charts.treasury_cost(cvg)
    colors = style.case_colors(cvg.cases)
    assert _gid(ax, "fiscal-cost-without") == []
    for case in CVG_CASES[1:]:
        bars = _gid(ax, f"fiscal-cost-{case}")
        k = cvg.cases.index(case)
        np.testing.assert_allclose([b.get_height() for b in bars], cvg.lines["fiscal_cost"][k], rtol=1e-12)
        assert {_hex(b) for b in bars} == {colors[case]}
        start, end = cvg.fiscal_window
        inside = [b.get_height() for b in bars if start - 0.5 <= b.get_x() + b.get_width() / 2 <= end + 0.5]
        assert sum(inside) == pytest.approx(cvg.fiscal(case)["fiscal_cost_window_usd"], rel=1e-9, abs=1.0)
        legend = [t.get_text() for t in ax.get_legend().get_texts()]
        total = style.money_text(cvg.fiscal(case)["fiscal_cost_window_usd"])
        assert any(x.startswith(f"{charts.frame.case_label(case)}: {total} in") for x in legend)
    assert layout_problems(ax.figure) == []
    # one case asked for: the two-case chart of that case
    ax = charts.treasury_cost(cvg, case="both")
    assert len(_gid(ax, "fiscal-cost")) == len(cvg.years)


def test_credit_chart_shares_a_panel_between_cases_with_the_same_credit(cvg):
    ax = charts.credit_by_group(cvg)
    fig = ax.figure
    assert len(fig.axes) == 1  # with and both earn the same credit; guarantee_only none
    texts = " ".join(t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text")) if t.get_text())
    assert "With AMIC" in texts and "Both" in texts and "(the same credit)" in texts
    assert "Guarantee only earns no credit" in texts
    assert layout_problems(fig) == []


def test_credit_chart_has_a_panel_per_credit_on_one_scale(credits):
    ax = charts.credit_by_group(credits)
    fig = ax.figure
    assert len(fig.axes) == 3  # with, transfer, rate_25; no_credit earns none
    assert len({a.get_ylim() for a in fig.axes}) == 1
    for pax, case in zip(fig.axes, ("with", "transfer", "rate_25"), strict=True):
        earned = sum(b.get_height() for b in pax.patches if (b.get_gid() or "").startswith("credit-"))
        assert earned == pytest.approx(credits.metric("credit_earned_usd", case), rel=1e-12)
    assert fig.get_size_inches()[1] > style.FIG_HEIGHT_IN
    assert layout_problems(fig) == []


def test_a_case_has_one_colour_in_every_chart(credits):
    colors = style.case_colors(credits.cases)
    assert len(set(colors.values())) == len(credits.cases)
    cumulative = charts.cumulative_cash_flow(credits)
    treasury = charts.treasury_cost(credits)
    breakeven = charts.breakeven_comparison([credits])
    comparison = charts.scenario_comparison([credits])
    for k, case in enumerate(credits.cases):
        assert _hex(_gid(cumulative, f"cumulative-{case}", "lines")[0]) == colors[case]
        assert _hex(_gid(breakeven, f"breakeven-{case}")[0]) == colors[case]
        if case != "without":
            assert _hex(_gid(treasury, f"fiscal-cost-{case}")[0]) == colors[case]
            npv_bars = sorted(_gid(comparison, "compare-delta-npv"), key=lambda b: -b.get_y())
            assert _hex(npv_bars[k - 1]) == colors[case]
    for ax in (cumulative, treasury, breakeven, comparison):
        assert layout_problems(ax.figure) == []


# ------------------------------------------------------------------ comparison, uncertainty


def test_comparison_rows_per_case_and_two_case_scenarios_as_before(cvg):
    base = finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    ax = charts.scenario_comparison([base, cvg])
    labels = [t.get_text() for t in ax.get_yticklabels()]
    cvg_label = cvg.scenario.label
    assert labels == [
        base.scenario.label,
        f"{cvg_label}\nWith AMIC",
        f"{cvg_label}\nGuarantee only",
        f"{cvg_label}\nBoth",
    ]
    npv = sorted(_gid(ax, "compare-delta-npv"), key=lambda b: -b.get_y())
    expected = [base.delta("npv_usd")] + [
        cvg.metric("npv_usd", c) - cvg.metric("npv_usd", "without") for c in CVG_CASES[1:]
    ]
    np.testing.assert_allclose([b.get_width() for b in npv], expected, rtol=1e-12, atol=1e-3)
    pv = sorted(_gid(ax, "compare-fiscal-pv"), key=lambda b: -b.get_y())
    assert [b.get_width() for b in pv] == pytest.approx(
        [base.fiscal()["fiscal_cost_pv_usd"]] + [cvg.fiscal(c)["fiscal_cost_pv_usd"] for c in CVG_CASES[1:]]
    )
    (window_ax,) = [a for a in ax.figure.axes if a is not ax]
    cost = sorted(_gid(window_ax, "compare-fiscal-window"), key=lambda b: -b.get_y())
    assert [b.get_width() for b in cost] == pytest.approx(
        [base.fiscal()["fiscal_cost_window_usd"]]
        + [cvg.fiscal(c)["fiscal_cost_window_usd"] for c in CVG_CASES[1:]]
    )
    assert layout_problems(ax.figure) == []
    ax = charts.breakeven_comparison([base, cvg])
    for case in CVG_CASES:
        bars = _gid(ax, f"breakeven-{case}")
        assert len(bars) == (2 if case in ("without", "with") else 1)
        assert bars[-1].get_width() == pytest.approx(cvg.metric("breakeven_revenue_usd_per_gw_year", case))
    assert layout_problems(ax.figure) == []


def _rgba(color, alpha):
    from matplotlib.colors import to_rgba

    return to_rgba(color, alpha)


def test_fan_keeps_each_cases_middle_band_readable_where_they_overlap():
    """Base: the P25-P75 bands of without and with overlap from 2026 on; the second is hatched."""
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.outputs.charts import uncertainty as u

    mc = run_montecarlo(finmodel.load_scenario(SCENARIOS / "base.yaml"), draws=200, seed=3)
    ax = charts.montecarlo_fan(mc)
    colors = style.case_colors(mc.cases)
    fans = {case: mc.fan(case) for case in ("without", "with")}
    # the two middle halves do overlap: without's P75 above with's P25 in some year
    assert (fans["without"]["p75"] > fans["with"]["p25"]).any()
    for case, hatched in (("without", False), ("with", True)):
        (inner,) = _gid(ax, f"fan-inner-{case}", "collections")
        (outer,) = _gid(ax, f"fan-outer-{case}", "collections")
        assert (inner.get_hatch() or "") == (u.FAN_HATCH if hatched else "")
        alpha = u.FAN_HATCHED_ALPHA if hatched else u.FAN_INNER_ALPHA
        assert tuple(inner.get_facecolor()[0]) == pytest.approx(_rgba(colors[case], alpha))
        assert tuple(outer.get_facecolor()[0]) == pytest.approx(_rgba(colors[case], u.FAN_OUTER_ALPHA))
        assert u.FAN_OUTER_ALPHA < u.FAN_HATCHED_ALPHA < u.FAN_INNER_ALPHA
        if hatched:  # the hatch is drawn in the case's colour
            assert to_hex(inner.get_edgecolor()[0]).upper() == colors[case]
        # the band's edges are solid lines in the case's colour, at the result's percentiles
        for q in ("p25", "p75"):
            (edge,) = _gid(ax, f"fan-{q}-{case}", "lines")
            assert np.array_equal(edge.get_ydata(), fans[case][q].to_numpy())
            assert _hex(edge) == colors[case] and edge.get_linestyle() == "-"
    # the legend keys each case's band as drawn: the second one hatched, in its colour
    legend = ax.get_legend()
    bands = [
        h for h, t in zip(legend.legend_handles, legend.get_texts(), strict=True) if t.get_text() == "P25–P75"
    ]
    assert [h.get_hatch() or "" for h in bands] == ["", u.FAN_HATCH]
    assert [to_hex(h.get_edgecolor()).upper() for h in bands] == [colors["without"], colors["with"]]
    assert layout_problems(ax.figure) == []


def test_fan_panels_keep_the_legend_off_the_panel_titles(credits):
    """Four distinct fans: a panel each, nothing hatched; the legend, with the note of the case
    equal to 'without', sits in a strip above the panels (over a panel it covered the title)."""
    from finmodel.analysis.montecarlo import run_montecarlo

    mc = run_montecarlo(credits.scenario, draws=200, seed=3)
    ax = charts.montecarlo_fan(mc)
    fig = ax.figure
    panels = [a for a in fig.axes if a.get_visible() and a.axison]
    assert len(panels) == 4
    inner = [c for a in panels for c in a.collections if str(c.get_gid()).startswith("fan-inner-")]
    assert len(inner) == 4 and not any(c.get_hatch() for c in inner)
    (legend,) = [a.get_legend() for a in fig.axes if a.get_legend() is not None]
    assert legend.axes not in panels
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[:3] == ["Median", "P25–P75", "P5–P95"]
    assert "No credit: same as Without AMIC" in texts
    renderer = style.figure_renderer(fig)
    top = legend.get_window_extent(renderer).y0
    titles = [
        t for t in fig.findobj(Text) if t.get_text() in ("Without AMIC", "With AMIC", "Transfer", "Rate 25")
    ]
    assert len(titles) == 4 and all(t.get_window_extent(renderer).y1 <= top for t in titles)
    assert layout_problems(fig) == []


def test_fan_per_case_and_tornado_says_which_cases_it_shows(cvg):
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.analysis.sensitivity import TORNADO_METRICS, tornado

    mc = run_montecarlo(cvg.scenario, draws=200, seed=3)
    ax = charts.montecarlo_fan(mc)
    colors = style.case_colors(cvg.cases)
    for case in CVG_CASES:
        (median,) = _gid(ax, f"fan-median-{case}", "lines")
        assert np.array_equal(median.get_ydata(), mc.fan(case)["p50"].to_numpy())
        assert _hex(median) == colors[case]
    assert layout_problems(ax.figure) == []
    # the default tornado has a chart per case: none left out
    tr = tornado(cvg.scenario, {"program.commitment_usd": (1.0e12, 1.6e12)})
    assert {case for _, case in tr.metrics} == {"delta", "with", "delta.guarantee_only", "guarantee_only"} | {
        "delta.both",
        "both",
    }
    fig = charts.tornado_chart(tr, metric=("equity_npv_usd", "delta.guarantee_only")).figure
    (sub,) = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "finmodel-subtitle"]
    assert sub == cvg.scenario.title
    (title,) = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "finmodel-title"]
    assert "Guarantee only \u2212 Without AMIC" in title
    assert layout_problems(fig) == []
    # a result for the two fixed cases only names the cases it leaves out
    tr = tornado(cvg.scenario, {"program.commitment_usd": (1.0e12, 1.6e12)}, metrics=TORNADO_METRICS)
    fig = charts.tornado_chart(tr).figure
    (sub,) = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "finmodel-subtitle"]
    assert sub.endswith("Guarantee only and Both not shown")
    assert layout_problems(fig) == []
