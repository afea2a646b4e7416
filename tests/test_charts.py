"""Memo charts: every chart renders cleanly for every scenario; its artists carry the results.

Oracles: the Results arrays themselves (bar heights, line data), the
metrics of MODEL.md section 9-10 (trough = -peak_funding_usd, payback year,
window total), an NPV computed here with numpy-financial (waterfall), the
scenario files' own source IDs (footnote), and hand-built broken figures
(the layout checker must catch them).
"""

from __future__ import annotations

import html
import io
import subprocess
import sys

import numpy as np
import numpy_financial as npf
import pytest
from conftest import ATOL_USD, SCENARIOS, all_scenarios
from layout import layout_problems
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

import finmodel
from finmodel.outputs import charts, memo, style

RTOL = 1e-12  # values go through matplotlib untouched (float64), only reordered


@pytest.fixture(scope="module")
def results():
    return {p.stem: finmodel.run(finmodel.load_scenario(p)) for p in all_scenarios()}


@pytest.fixture(scope="module")
def base(results):
    return results["base"]


def _by_gid(ax, gid, kind="patches"):
    return [a for a in getattr(ax, kind) if a.get_gid() == gid]


def _footnote(fig) -> str:
    (text,) = [t for t in fig.texts if t.get_gid() == "finmodel-footnote"]
    return text.get_text().replace("\n", " ")


def _group_sum(results, line, case="with"):
    """Independent of decompose.group_totals: sum per group read from the scenario's categories."""
    k = results.cases.index(case)
    values = np.asarray(results.lines[line])[k]
    out: dict[str, np.ndarray] = {}
    for c, name in enumerate(results.scenario.category_names):
        group = results.scenario[f"categories.{name}.group"]
        out[group] = out.get(group, 0) + values[c]
    return out


# ------------------------------------------------------------------ every chart, every scenario


@pytest.mark.parametrize("chart", sorted(charts.SCENARIO_CHARTS))
@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_scenario_chart_renders_without_clipping_or_overlap(results, path, chart):
    ax = charts.SCENARIO_CHARTS[chart](results[path.stem])
    fig = ax.figure
    width, height = fig.get_size_inches()
    assert width == pytest.approx(style.FIG_WIDTH_IN)
    if len(results[path.stem].cases) == 2:
        assert height == pytest.approx(style.FIG_HEIGHT_IN)
    else:  # a legend row or a panel per added case
        assert style.FIG_HEIGHT_IN <= height <= 2 * style.FIG_HEIGHT_IN
    assert layout_problems(fig) == []
    title = [t.get_text() for t in fig.texts if t.get_gid() == "finmodel-title"]
    subtitle = [t.get_text().replace("\n", " ") for t in fig.texts if t.get_gid() == "finmodel-subtitle"]
    assert title and subtitle == [results[path.stem].scenario.title]


@pytest.mark.parametrize("chart", sorted(charts.COMPARE_CHARTS))
def test_comparison_chart_renders_for_all_scenarios(results, chart):
    ax = charts.COMPARE_CHARTS[chart](list(results.values()))
    assert ax.figure.get_size_inches()[0] == pytest.approx(style.FIG_WIDTH_IN)
    assert layout_problems(ax.figure) == []
    if chart == "capacity_comparison":  # lines by year, not a row per scenario (test_charts_realism.py)
        return
    rows = [r.scenario.label for r in results.values()]  # the scenarios' label: keys
    if chart == "scenario_comparison":  # a row per case but without of a scenario with cases:
        rows = [
            r.scenario.label if len(r.cases) == 2 else f"{r.scenario.label}\n{memo.case_label(c)}"
            for r in results.values()
            for c in r.cases[1:]
        ]
    assert [t.get_text() for t in ax.get_yticklabels()] == rows


def test_charts_draw_into_a_given_axes_without_frame(base):
    with style.memo_style():
        fig = Figure(figsize=(6.5, 8), layout="constrained")
        axes = fig.subplots(2, 1)
    assert charts.treasury_cost(base, ax=axes[0]) is axes[0]
    assert charts.credit_by_group(base, ax=axes[1]) is axes[1]
    assert fig.texts == []  # no title or footnote forced onto someone else's figure


# ------------------------------------------------------------------ the data behind the artists


def test_cumulative_cash_flow_lines_trough_and_payback(base):
    ax = charts.cumulative_cash_flow(base)
    for case in ("without", "with"):
        k = base.cases.index(case)
        cum = np.cumsum(base.lines["cash_flow"][k])
        (line,) = _by_gid(ax, f"cumulative-{case}", "lines")
        np.testing.assert_allclose(line.get_ydata(), cum, rtol=RTOL)
        np.testing.assert_array_equal(line.get_xdata(), base.years)
        (trough,) = _by_gid(ax, f"trough-{case}", "lines")
        assert trough.get_ydata()[0] == pytest.approx(-base.metric("peak_funding_usd", case), abs=ATOL_USD)
        (payback,) = _by_gid(ax, f"payback-{case}", "lines")
        assert payback.get_xdata()[0] == base.metric("payback_year", case)
        assert payback.get_ydata()[0] >= 0
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    for k, case in enumerate(("without", "with")):
        # the trough is -peak_funding_usd, in the year of the lowest cumulative cash flow
        cum = np.cumsum(base.lines["cash_flow"][base.cases.index(case)])
        trough = style.money_text(-base.metric("peak_funding_usd", case))
        year = base.years[int(np.argmin(cum))]
        label = memo.CASE_LABELS[case]
        assert legend[k] == f"{label}: trough {trough} in {year}, payback {base.metric('payback_year', case)}"
    assert legend[1].startswith("With AMIC: trough −$")  # a true minus before the dollar sign


def test_credit_bars_are_credit_earned_by_group_and_line_is_cash(base):
    ax = charts.credit_by_group(base)
    expected = _group_sum(base, "credit_earned")
    bottom = np.zeros(len(base.years))
    for group in (
        "servers",
        "data_centers",
        "grid",
    ):  # stacking order = order of the scenario's categories
        bars = _by_gid(ax, f"credit-{group}")
        assert [b.get_x() + b.get_width() / 2 for b in bars] == pytest.approx(base.years.tolist())
        np.testing.assert_allclose([b.get_height() for b in bars], expected[group], rtol=RTOL)
        np.testing.assert_allclose([b.get_y() for b in bars], bottom, rtol=RTOL, atol=ATOL_USD)
        assert bars[0].get_facecolor()[:3] == pytest.approx(_rgb(style.GROUP_COLORS[group]))
        bottom = bottom + expected[group]
    assert _by_gid(ax, "credit-other") == []  # 'other' earns nothing: no empty bars, no legend entry
    np.testing.assert_allclose(bottom.sum(), base.metric("credit_earned_usd", "with"), rtol=1e-12)
    (cash,) = _by_gid(ax, "credit-cash", "lines")
    k = base.cases.index("with")
    shown = np.isin(base.years, cash.get_xdata())
    np.testing.assert_allclose(cash.get_ydata(), base.lines["credit_cash"][k][shown], rtol=RTOL)
    assert base.lines["credit_cash"][k][~shown].sum() == 0  # nothing left out of the view


def test_treasury_bars_window_band_and_total(base):
    ax = charts.treasury_cost(base)
    k = base.cases.index("with")
    bars = _by_gid(ax, "fiscal-cost")
    np.testing.assert_allclose([b.get_height() for b in bars], base.lines["fiscal_cost"][k], rtol=RTOL)
    (band,) = _by_gid(ax, "fiscal-window")
    start = base.scenario["fiscal.window_start"]
    end = start + base.scenario["fiscal.window_years"] - 1
    assert (start, end) == (2026, 2035)  # scenarios/base.yaml, fiscal block
    xs = (
        np.array([band.get_x(), band.get_x() + band.get_width()])
        if hasattr(band, "get_width")
        else band.get_xy()[:, 0]
    )
    assert (xs.min(), xs.max()) == pytest.approx((start - 0.5, end + 0.5))
    inside = [b.get_height() for b in bars if start <= b.get_x() + b.get_width() / 2 <= end]
    window_total = base.fiscal()["fiscal_cost_window_usd"]
    assert sum(inside) == pytest.approx(window_total, rel=1e-12)
    (text,) = [t for t in ax.texts if t.get_gid() == "fiscal-window-total"]
    assert f"10-year window 2026–2035: {style.money_text(window_total)}" in text.get_text()


def test_waterfall_bars_add_up_and_match_the_model(base):
    ax = charts.pv_waterfall(base)
    heights = {
        key: _by_gid(ax, f"waterfall-{key}")[0].get_height()
        for key in ("spend", "credit", "basis", "other", "net")
    }
    assert heights["spend"] + heights["credit"] + heights["basis"] + heights["other"] == pytest.approx(
        heights["net"], abs=ATOL_USD
    )
    k = base.cases.index("with")
    r = base.scenario["finance.discount_rate"]
    pv_spend = npf.npv(r, base.lines["spend"][k].sum(axis=0))  # valuation year = start year in base
    assert heights["spend"] == pytest.approx(pv_spend, rel=1e-12)
    assert heights["credit"] == pytest.approx(-base.metric("pv_credit_usd", "with"), rel=1e-12)
    assert heights["net"] == pytest.approx(pv_spend - base.delta("npv_usd"), rel=1e-12)
    # Base: unlimited tax and no early retirement of credited property, so the whole
    # tax change is the basis effect and 'other' is zero.
    d_tax = npf.npv(r, base.lines["tax"][k] - base.lines["tax"][base.cases.index("without")])
    assert heights["basis"] == pytest.approx(d_tax, rel=1e-9)
    assert heights["other"] == pytest.approx(0.0, abs=1.0)
    # each step starts where the previous one ended
    credit_bar = _by_gid(ax, "waterfall-credit")[0]
    basis_bar = _by_gid(ax, "waterfall-basis")[0]
    assert credit_bar.get_y() == pytest.approx(heights["spend"])
    assert basis_bar.get_y() == pytest.approx(heights["spend"] + heights["credit"])


def test_spend_areas_and_in_service_line(base):
    ax = charts.spend_by_group(base)
    spend = _group_sum(base, "spend")
    groups = list(dict.fromkeys(base.scenario[f"categories.{c}.group"] for c in base.scenario.category_names))
    polys = [
        c
        for c in ax.collections
        if isinstance(c, PolyCollection) and (c.get_gid() or "").startswith("spend-")
    ]
    assert [p.get_gid() for p in polys] == [f"spend-{g}" for g in groups]
    running = np.zeros(len(base.years))
    for g, poly in zip(groups, polys, strict=True):
        running = running + spend[g]
        tops = poly.get_paths()[0].vertices[:, 1]
        for value in running[running > 0]:
            assert np.isclose(tops, value, rtol=1e-12).any()
    assert running.sum() == pytest.approx(base.scenario["program.commitment_usd"], rel=1e-12)
    (line,) = _by_gid(ax, "in-service", "lines")
    total = base.lines["in_service"][base.cases.index("with")].sum(axis=0)
    shown = np.isin(base.years, line.get_xdata())
    np.testing.assert_allclose(line.get_ydata(), total[shown], rtol=RTOL)
    assert total[~shown].sum() == 0


def test_comparison_bars_equal_each_scenarios_figures(results):
    rs = [r for r in results.values() if len(r.cases) == 2]  # more cases: tests/test_charts_cases.py
    ax = charts.scenario_comparison(rs)
    npv = sorted(_by_gid(ax, "compare-delta-npv"), key=lambda b: -b.get_y())
    pv = sorted(_by_gid(ax, "compare-fiscal-pv"), key=lambda b: -b.get_y())
    np.testing.assert_allclose([b.get_width() for b in npv], [r.delta("npv_usd") for r in rs], rtol=RTOL)
    # like with like: the Treasury's cost in present value beside the owner's NPV ...
    np.testing.assert_allclose(
        [b.get_width() for b in pv], [r.fiscal()["fiscal_cost_pv_usd"] for r in rs], rtol=RTOL
    )
    # ... and the nominal window cost on a panel of its own, sharing the rows
    (window_ax,) = [a for a in ax.figure.axes if a is not ax]
    cost = sorted(_by_gid(window_ax, "compare-fiscal-window"), key=lambda b: -b.get_y())
    assert not _by_gid(ax, "compare-fiscal-window")
    np.testing.assert_allclose(
        [b.get_width() for b in cost],
        [r.fiscal()["fiscal_cost_window_usd"] for r in rs],
        rtol=RTOL,
    )
    # the window bar is centred on its row, the NPV bar just above the row's centre
    assert [b.get_y() + b.get_height() / 2 for b in cost] == pytest.approx([b.get_y() for b in npv])
    legends = [[t.get_text() for t in a.get_legend().get_texts()] for a in (ax, window_ax)]
    assert legends == [["Owner's change in NPV, at 10%", "Treasury cost, at 4%"], ["Treasury cost"]]
    assert window_ax.get_legend().get_title().get_text().startswith("Nominal, 2026")
    ax = charts.breakeven_comparison(rs)
    for case in ("without", "with"):
        bars = sorted(_by_gid(ax, f"breakeven-{case}"), key=lambda b: -b.get_y())
        expected = [r.metric("breakeven_revenue_usd_per_gw_year", case) for r in rs]
        np.testing.assert_allclose([b.get_width() for b in bars], expected, rtol=RTOL)
    (assumed,) = _by_gid(ax, "assumed-revenue", "lines")
    assert assumed.get_xdata()[0] == 10e9  # scenarios/base.yaml: revenue_usd_per_gw_year "10B"


# ------------------------------------------------------------------ footnote, title, files


def test_footnote_counts_the_sources_the_values_cite(results):
    """One line: published sources and assumptions (asm-*) the values cite, counted, and the version."""
    from finmodel.analysis.provenance import sources_used

    base = results["base"].scenario
    used = sources_used(base)
    # cited by a plain value, only inside the rate year map, and by a category key
    assert {"altman-8-years", "amic-obbba-35", "macrs-39yr", "revenue-per-gw"} <= set(used)
    assert "lehane-letter" not in used  # listed under sources: but cited by no value
    n_asm = sum(s.startswith("asm-") for s in used)
    assert n_asm == 19
    base_note = _footnote(charts.treasury_cost(results["base"]).figure)
    assert base_note == (
        f"Sources: {len(used) - n_asm} public sources and {n_asm} stated assumptions, listed in "
        f"tables.xlsx; finmodel {finmodel.__version__}"
    )
    transfer = sources_used(results["transfer"].scenario)
    assert "crux-itc-price" in transfer and "amic-direct-pay" not in transfer  # replaced by the variant
    n_asm = sum(s.startswith("asm-") for s in transfer)
    transfer_note = _footnote(charts.treasury_cost(results["transfer"]).figure)
    assert transfer_note.startswith(f"Sources: {len(transfer) - n_asm} public sources and {n_asm} stated")
    both = _footnote(charts.scenario_comparison([results["base"], results["transfer"]]).figure)
    n_all = len(set(used) | set(transfer))
    assert f"{n_all - 19} public sources" in both and "each scenario's tables.xlsx" in both


def test_svg_keeps_title_and_subtitle_as_text(base):
    fig = charts.cumulative_cash_flow(base).figure
    buf = io.StringIO()
    with style.memo_style():
        fig.savefig(buf, format="svg")
    svg = html.unescape(buf.getvalue())
    assert "Cumulative after-tax cash flow" in svg
    assert base.scenario.title in svg


def test_every_font_is_at_least_8_points_in_the_style_file():
    import matplotlib

    sizes = {}
    with style.memo_style():
        for key in (
            "font.size",
            "axes.titlesize",
            "axes.labelsize",
            "xtick.labelsize",
            "ytick.labelsize",
            "legend.fontsize",
        ):
            value = matplotlib.rcParams[key]
            sizes[key] = (
                value
                if isinstance(value, (int, float))
                else matplotlib.font_manager.FontProperties(size=value).get_size_in_points()
            )
        assert matplotlib.rcParams["svg.fonttype"] == "none"
        assert matplotlib.rcParams["text.parse_math"] is False  # "$1.4T ... $60" must stay text
    assert min(sizes.values()) >= style.MIN_FONT_PT
    assert style.FOOTNOTE_PT >= style.MIN_FONT_PT and charts.LABEL_PT >= style.MIN_FONT_PT


def test_style_context_restores_rc():
    import matplotlib

    before = matplotlib.rcParams["font.size"]
    with style.memo_style():
        assert matplotlib.rcParams["font.size"] == 9
    assert matplotlib.rcParams["font.size"] == before


def test_importing_charts_selects_no_backend_and_no_pyplot():
    code = (
        "import matplotlib, sys; backend = matplotlib.rcParams._get_backend_or_none();"
        "import finmodel.outputs.charts, finmodel.outputs.style;"
        "assert 'matplotlib.pyplot' not in sys.modules;"
        "assert matplotlib.rcParams._get_backend_or_none() == backend"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=SCENARIOS.parent)


# --------------------------------------------------------------------------- style helpers


def _rgb(hex_color: str) -> tuple[float, float, float]:
    h = hex_color.lstrip("#")
    return tuple(int(h[i : i + 2], 16) / 255 for i in (0, 2, 4))


def test_palette_is_okabe_ito_with_fixed_meanings():
    okabe = set(style.OKABE_ITO.values())
    assert set(style.GROUP_COLORS.values()) <= okabe
    assert len(set(style.GROUP_COLORS.values())) == len(style.GROUP_COLORS)
    assert style.CASE_COLORS["with"] in okabe and style.CASE_COLORS["without"] != style.CASE_COLORS["with"]
    assert set(style.FALLBACK_COLORS) - {"#999999"} <= okabe


def test_fallback_group_colours_are_deterministic_and_distinct():
    names = ["servers", "storage", "cooling", "land", "network", "power"]
    first = style.group_colors(names)
    assert first == style.group_colors(list(reversed(names)))  # same set, same colours
    assert first["servers"] == style.GROUP_COLORS["servers"]
    assert len(set(first.values())) == len(names)
    assert style.group_color("storage") == style.group_color("storage")


@pytest.mark.parametrize(
    ("locs", "labels"),
    [
        ([0, 2.5e9, 5e9, 7.5e9], ["$0.0B", "$2.5B", "$5.0B", "$7.5B"]),
        ([-4e11, 0, 4e11, 1.2e12], ["−$400B", "$0B", "$400B", "$1,200B"]),
        ([0, 0.25e9, 0.5e9], ["$0.00B", "$0.25B", "$0.50B"]),
    ],
)
def test_money_ticks_in_billions_with_separators(locs, labels):
    formatter = style.MoneyFormatter()
    formatter.set_locs(locs)
    assert [formatter(x) for x in locs] == labels


def test_layout_checker_catches_overlap_clipping_and_small_text():
    with style.memo_style():
        fig, ax = style.new_figure()
        fig.text(0.5, 0.5, "overlapping one")
        fig.text(0.5, 0.5, "overlapping two")
        fig.text(0.98, 0.5, "cut by the right edge")
        fig.text(0.1, 0.1, "tiny", fontsize=6)
        ax.plot([0, 1], [0.5, 0.5], gid="a line")
        ax.text(0.5, 0.5, "on the line", ha="center", va="center")
    problems = "\n".join(layout_problems(fig))
    assert "'overlapping one' and 'overlapping two' overlap" in problems
    assert "'cut by the right edge' is cut" in problems
    assert "'tiny' is 6 pt" in problems
    assert "'on the line' is crossed by line 'a line'" in problems


def test_subtitle_wraps_to_the_figure_width(base):
    long_title = (
        "A scenario title long enough that it cannot fit on one line of a six and a half inch "
        "memo figure, not even close"
    )
    r = finmodel.run(base.scenario.override({"title": long_title}))
    fig = charts.spend_by_group(r).figure
    (sub,) = [t for t in fig.texts if t.get_gid() == "finmodel-subtitle"]
    assert "\n" in sub.get_text() and sub.get_text().replace("\n", " ") == long_title
    assert layout_problems(fig) == []


def test_charts_and_sentences_of_a_scenario_with_no_credit_and_no_capacity():
    from finmodel.scenario.load import scenario_from_dict

    s = scenario_from_dict(
        {
            "name": "tiny",
            "title": "One category, no capacity, nothing eligible",
            "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
            "categories": {"storage": {"share": 1, "macrs_years": 5}},
            "analysis": {"end_year": 2030},
            "fiscal": {"window_years": 4},
        }
    )
    r = finmodel.run(s)
    for chart in charts.SCENARIO_CHARTS.values():
        assert layout_problems(chart(r).figure) == []
    for chart in charts.COMPARE_CHARTS.values():
        assert layout_problems(chart([r]).figure) == []
    ax = charts.credit_by_group(r)
    assert [t.get_text() for t in ax.texts] == ["No property earns the credit in this scenario"]
    assert ax.get_ylim() == (0, 1e9)  # readable $0.2B ticks, not five '$0B'
    sentences = memo.headline_sentences(r)
    assert 3 <= len(sentences) <= 5
    assert sentences[0].startswith("The scenario makes no category eligible")
    assert "not defined: the scenario delivers no capacity" in " ".join(sentences)
    assert _footnote(charts.spend_by_group(r).figure).startswith("No sources cited")
