"""One formatter: finmodel.core.format, and the base scenario's figures through every path that prints them.

Oracles: the rules of the module docstring written out by hand (``$195.7B``,
``13.1%``, ``+11.1 pp``, ``2033``); money text read back lands within half a
unit of its last decimal of the figure (Hypothesis); and the same figure
printed by the command line, ``summary.md``, a chart, the workbooks and the
comparison table reads the same, and the same as :func:`finmodel.core.format.metric`
(charts differ only by the typographic minus sign they are allowed).
"""

from __future__ import annotations

import re

import openpyxl
import pytest
from conftest import SCENARIOS
from hypothesis import given
from hypothesis import strategies as st

import finmodel
from finmodel.cli import main
from finmodel.core import format as fmt
from finmodel.engine.model import METRICS

BASE = SCENARIOS / "base.yaml"


# --------------------------------------------------------------------------- the rules


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (fmt.money(1.957e11), "$195.7B"),
        (fmt.money(4.8e10), "$48.0B"),
        (fmt.money(0.0), "$0.0B"),
        (fmt.money(-1.477e11), "-$147.7B"),
        (fmt.money(-1.477e11, minus=fmt.MINUS), "\u2212$147.7B"),
        (fmt.money(1.2345e12), "$1,234.5B"),
        (fmt.money(1.957e11, sign=True), "+$195.7B"),
        (fmt.money(1.215e10, "USD/GW-year"), "$12.15B"),
        (fmt.money(9.3e9, "USD/GW-year"), "$9.30B"),
        (fmt.money(float("nan")), "n/a"),
        (fmt.rate(0.1305), "13.1%"),
        (fmt.rate_change(0.111), "+11.1 pp"),
        (fmt.relative_change(-0.2346), "-23%"),
        (fmt.year(2030.0), "2030"),
        (fmt.year(2040), "2040"),
        (fmt.year_change(-7.0), "-7 years"),
        (fmt.metric(2.04e3, "year"), "2040"),
        (fmt.metric(0.12000000000000001, "fraction"), "12.0%"),
        (fmt.parameter_value(1.4e12, "USD"), "$1.4T"),
        (fmt.parameter_value(0.12000000000000001, "per year"), "12%"),
        (fmt.parameter_value(2030.0, "year"), "2030"),
        (fmt.parameter_value({2023: 0.25, 2026: 0.35}, "fraction"), "2023: 25%, 2026: 35%"),
    ],
)
def test_rules(text, expected):
    assert text == expected


def test_years_are_never_written_with_a_fraction_or_an_exponent():
    for x in (2030, 2030.0, 2.04e3, 2033.4999):
        text = fmt.year(x)
        assert re.fullmatch(r"\d{4}", text), text
        assert text == fmt.metric(x, "year") == fmt.parameter_value(round(x), "year")


@given(
    st.floats(min_value=-5e13, max_value=5e13, allow_nan=False), st.sampled_from(sorted(fmt.MONEY_DECIMALS))
)
def test_money_reads_back_within_half_its_last_decimal(x, unit):
    text = fmt.money(x, unit, sign=True)
    m = re.fullmatch(r"([+-]?)\$([\d,]+\.(\d+))B", text)
    assert m, text
    back = float(m.group(2).replace(",", "")) * 1e9 * (-1 if m.group(1) == "-" else 1)
    decimals = len(m.group(3))
    assert decimals == fmt.MONEY_DECIMALS[unit]
    assert abs(back - x) <= 0.5 * 10**-decimals * 1e9 * (1 + 1e-9)


# --------------------------------------------------------------------------- every path


def excel_text(value: float, number_format: str) -> str:
    """How Excel shows ``value`` in ``number_format``, for the formats finmodel writes.

    Sections ``positive;negative;zero`` (the negative section shows the
    absolute value), ``"literal"`` text, ``[Red]`` ignored, ``#,##0.00`` with
    a thousands separator, each ``,`` after the digits dividing by 1,000,
    ``%`` multiplying by 100. Written here from Excel's documentation, not
    from finmodel.
    """
    sections = number_format.split(";")
    if value < 0 and len(sections) > 1:
        section, value = sections[1], -value
    elif value == 0 and len(sections) > 2:
        section = sections[2]
    else:
        section = sections[0]
    section = re.sub(r"\[[^\]]*\]", "", section)
    percent = "%" in section.replace('"%"', "")
    out = []
    for m in re.finditer(r'"([^"]*)"|([#0,]*0)(\.0+)?(,*)|(.)', section):
        literal, digits, decimals, scale, other = m.groups()
        if literal is not None:
            out.append(literal)
        elif digits is not None:
            d = len(decimals) - 1 if decimals else 0
            v = value / 1000 ** len(scale) * (100 if percent else 1)
            out.append(f"{v:,.{d}f}" if "," in digits else f"{v:.{d}f}")
        else:
            out.append(other)
    return "".join(out)


def test_excel_text_reads_the_formats_as_excel_does():
    # Excel's documented examples: 12200000 in 0.0,, shows 12.2; 0.1305 in 0.0% shows 13.1%
    assert excel_text(12200000, "0.0,,") == "12.2"
    assert excel_text(0.1305, "0.0%") == "13.1%"
    assert excel_text(-1234.5, "#,##0.0;[Red]-#,##0.0") == "-1,234.5"


@pytest.fixture(scope="module")
def base():
    return finmodel.run(finmodel.load_scenario(BASE))


def expected_figures(r) -> dict[tuple[str, str], str]:
    """Every figure of the base scenario's memo table as core.format writes it: (metric, case) -> text."""
    out = {}
    for name, unit in METRICS.items():
        out[(name, "without")] = fmt.metric(r.metric(name, "without"), unit)
        out[(name, "with")] = fmt.metric(r.metric(name, "with"), unit)
        out[(name, "change")] = fmt.metric(r.delta(name), unit, delta=True)
    fiscal = r.fiscal("with")
    for key in ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
        out[(key, "change")] = fmt.money(fiscal[key])
    return out


#: The memo table's rows by the start of their label, and the figure each row shows.
ROWS = {
    "NPV": "npv_usd",
    "IRR": "irr",
    "Payback year": "payback_year",
    "Peak funding need": "peak_funding_usd",
    "Credit earned": "credit_earned_usd",
    "PV of credit cash": "pv_credit_usd",
    "Break-even revenue": "breakeven_revenue_usd_per_gw_year",
    "Treasury cost 2026": "fiscal_cost_window_usd",
    "Treasury cost, PV": "fiscal_cost_pv_usd",
}


def _row_figures(label: str, cells: list[str]) -> dict[tuple[str, str], str]:
    name = next(n for start, n in ROWS.items() if label.startswith(start))
    if name.startswith("fiscal"):
        return {(name, "change"): cells[-1]}
    return dict(zip([(name, c) for c in ("without", "with", "change")], cells, strict=True))


def cli_figures(capsys) -> dict:
    assert main(["run", str(BASE)]) == 0
    lines = capsys.readouterr().out.splitlines()
    out = {}
    for line in lines:
        label = next((start for start in ROWS if line.startswith(start)), None)
        if label is not None:
            cells = re.split(r"\s{2,}", line.strip())
            out.update(_row_figures(cells[0], cells[1:]))
    return out


def markdown_figures(text: str) -> dict:
    out = {}
    for line in text.splitlines():
        if line.startswith("| ") and not line.startswith("|  |"):
            label, *cells = [c.strip() for c in line.strip("|").split("|")]
            if not any(label.startswith(s) for s in ROWS):  # the table by year
                continue
            out.update(
                _row_figures(label, [c for c in cells if c] if label.startswith("Treasury") else cells)
            )
    return out


def workbook_figures(path) -> dict:
    """The Summary sheet's cells as Excel shows them; the change of IRR, which Excel can only show
    in percent, is left out."""
    ws = openpyxl.load_workbook(path)["Summary"]
    out = {}
    for row in ws.iter_rows():
        label = row[0].value
        if not isinstance(label, str) or not any(label.startswith(s) for s in ROWS):
            continue
        cells = [excel_text(c.value, c.number_format) if c.value is not None else "" for c in row[1:4]]
        out.update(_row_figures(label, [c for c in cells if c] if label.startswith("Treasury") else cells))
    out.pop(("irr", "change"))
    return out


def test_the_base_figures_read_the_same_on_every_path(base, base_pack, capsys):
    from finmodel.outputs import charts

    expected = expected_figures(base)
    # the command line and summary.md: every figure of the memo table
    assert cli_figures(capsys) == expected
    out = base_pack  # what `finmodel report BASE` writes (made once per session)
    summary_md = (out / "summary.md").read_text(encoding="utf-8")
    assert markdown_figures(summary_md) == expected
    # the workbook: numbers in USD shown through core.format's number formats
    assert workbook_figures(out / "tables.xlsx") == {
        k: v for k, v in expected.items() if k != ("irr", "change")
    }
    # the headline sentences (in summary.md) state the same texts
    sentences = summary_md.split("\n\n")[2]
    for key in [
        ("npv_usd", "change"),
        ("npv_usd", "without"),
        ("npv_usd", "with"),
        ("fiscal_cost_window_usd", "change"),
    ]:
        assert expected[key].lstrip("+") in sentences, key
    be = METRICS["breakeven_revenue_usd_per_gw_year"]
    assert f"from {expected[('breakeven_revenue_usd_per_gw_year', 'without')]} to" in sentences
    assert fmt.money(base.metric("breakeven_revenue_usd_per_gw_year", "with"), be) in sentences
    # the charts: the same texts with the typographic minus sign
    chart_texts = []
    for chart in ("cumulative_cash_flow", "treasury_cost", "pv_waterfall"):
        ax = charts.SCENARIO_CHARTS[chart](base)
        chart_texts += [t.get_text() for t in ax.figure.findobj(lambda a: hasattr(a, "get_text"))]
    shown = " ".join(chart_texts).replace(fmt.MINUS, "-").replace("\n", " ")
    assert f"trough -{expected[('peak_funding_usd', 'with')]}" in shown
    assert f"window 2026\u20132035: {expected[('fiscal_cost_window_usd', 'change')]}" in shown
    assert f": {expected[('fiscal_cost_pv_usd', 'change')]}" in shown
    assert f"-{expected[('pv_credit_usd', 'with')]}" in shown  # the waterfall's credit bar
    assert f"payback {expected[('payback_year', 'with')]}" in shown


def test_the_comparison_reads_as_each_scenarios_figures(base, tmp_path, capsys):
    from finmodel.outputs import charts

    other = SCENARIOS / "rate_25.yaml"
    out = tmp_path / "compare"
    assert main(["compare", str(BASE), str(other), "--out", str(out), "--formats", "svg"]) == 0
    printed = capsys.readouterr().out
    expected = expected_figures(base)
    columns = [
        ("npv_usd", "change"),
        ("credit_earned_usd", "with"),
        ("pv_credit_usd", "with"),
        ("fiscal_cost_window_usd", "change"),
        ("fiscal_cost_pv_usd", "change"),
        ("breakeven_revenue_usd_per_gw_year", "without"),
        ("breakeven_revenue_usd_per_gw_year", "with"),
        ("irr", "without"),
        ("irr", "with"),
    ]
    for text in (printed, (out / "compare.md").read_text(encoding="utf-8")):
        row = next(line for line in text.splitlines() if line.startswith("| Base: 35% on servers"))
        cells = [c.strip() for c in row.strip("|").split("|")][1:]
        assert cells == [expected[c] for c in columns]
    ws = openpyxl.load_workbook(out / "compare.xlsx")["Comparison"]
    assert ws.row_dimensions[1].hidden  # the codes of compare.csv, for machines; row 2 in words
    head, first = (list(r) for r in ws.iter_rows(max_row=3) if r[0].row != 2)
    shown = {
        h.value: excel_text(c.value, c.number_format)
        for h, c in zip(head, first, strict=True)
        if c.data_type == "n"
    }
    assert [
        shown[c]
        for c in (
            "delta_npv_usd",
            "credit_earned_usd",
            "pv_credit_usd",
            "fiscal_cost_window_usd",
            "fiscal_cost_pv_usd",
            "breakeven_without_usd_per_gw_year",
            "breakeven_with_usd_per_gw_year",
            "irr_without",
            "irr_with",
        )
    ] == [expected[c] for c in columns]
    # the comparison charts label their bars with the same texts
    other_results = finmodel.run(finmodel.load_scenario(other))
    labels = []
    for chart in charts.COMPARE_CHARTS.values():
        ax = chart([base, other_results])
        for panel in ax.figure.axes:  # the nominal window cost has a panel of its own
            labels += [t.get_text().replace(fmt.MINUS, "-") for t in panel.texts]
    for key in [
        ("npv_usd", "change"),
        ("fiscal_cost_window_usd", "change"),
        ("breakeven_revenue_usd_per_gw_year", "without"),
        ("breakeven_revenue_usd_per_gw_year", "with"),
    ]:
        assert expected[key] in labels, key
