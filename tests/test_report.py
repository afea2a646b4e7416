"""``finmodel report`` and ``finmodel compare``: the memo pack on disk.

Oracles: summary.json (MODEL.md section 12) for every number of summary.md
and tables.xlsx; the scenario's parameters for the inputs sheet; the PNG
header for the 200-dpi, 6.5-inch width; an empty or untouched folder after
bad input.
"""

from __future__ import annotations

import csv
import json
import re
import struct

import openpyxl
import pytest
from conftest import SCENARIOS, all_scenarios, shared_folder

import finmodel
from finmodel.cli import main
from finmodel.core import format as fmt
from finmodel.outputs import charts
from finmodel.outputs.report import FIGURE_FORMATS
from finmodel.outputs.workbook import INPUT_LABELS

BASE = SCENARIOS / "base.yaml"
PACK = [f"{stem}.{fmt}" for stem in charts.SCENARIO_CHARTS for fmt in FIGURE_FORMATS] + [
    "summary.md",
    "tables.xlsx",
    "summary.json",
    "cashflows.csv",
    "run.json",
]
BREAKEVEN = "USD/GW-year"


@pytest.fixture
def pack(base_pack):
    """The base scenario's memo pack (conftest.base_pack: written once, read here)."""
    return base_pack


def _money(text: str) -> float:
    """'-$147.7B' -> -147.7e9; '+$2.85B' -> 2.85e9 (text: a hyphen-minus)."""
    m = re.fullmatch(r"([+-]?)\$([\d,]+\.\d+)B", text.strip())
    assert m, text
    return (-1 if m.group(1) == "-" else 1) * float(m.group(2).replace(",", "")) * 1e9


def _png_size(path) -> tuple[int, int]:
    data = path.read_bytes()[:24]
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_report_writes_every_file_of_the_pack(pack):
    assert sorted(p.name for p in pack.iterdir()) == sorted(PACK)
    manifest = json.loads((pack / "run.json").read_text())
    assert sorted(manifest["files"]) == sorted(set(PACK) - {"run.json"})
    assert manifest["scenarios"][0]["name"] == "base"


def test_pngs_are_6_5_inches_at_200_dpi(pack):
    for stem in charts.SCENARIO_CHARTS:
        width, height = _png_size(pack / f"{stem}.png")
        assert width == 1300  # 6.5 in x 200 dpi
        assert 800 <= height <= 1000


@pytest.mark.slow
def test_svg_carries_the_titles_and_pdf_is_written_when_asked(pack, tmp_path):
    svg = (pack / "treasury_cost.svg").read_text(encoding="utf-8")
    assert "Cost to the Treasury by year" in svg
    assert "OpenAI $1.4T compute build-out: with vs without AMIC" in svg
    assert not list(pack.glob("*.pdf"))  # default png,svg: no PDF unless asked
    out = tmp_path / "pdf"
    assert main(["report", str(BASE), "--out", str(out), "--formats", "pdf"]) == 0
    assert (out / "treasury_cost.pdf").read_bytes()[:5] == b"%PDF-"
    assert not list(out.glob("*.png")) and not list(out.glob("*.svg"))
    listed = json.loads((out / "run.json").read_text())["files"]
    assert sorted(p.name for p in out.iterdir() if p.name != "run.json") == sorted(listed)


@pytest.mark.parametrize("command", ["report", "compare", "montecarlo", "sensitivity", "sweep"])
def test_a_bad_chart_format_writes_nothing(command, tmp_path, capsys):
    args = {
        "report": [str(BASE)],
        "compare": [str(BASE), str(SCENARIOS / "rate_25.yaml")],
        "montecarlo": [str(BASE), "--draws", "100"],
        "sensitivity": [str(BASE)],
        "sweep": [str(BASE), "--x", "policy.amic.rate=25%,35%"],
    }[command]
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_:
        main([command, *args, "--out", str(out), "--formats", "png,gif"])
    assert exit_.value.code == 2
    assert (
        "chart formats are a comma-separated list of png, svg, pdf, got 'png,gif'" in capsys.readouterr().err
    )
    assert not out.exists()


def test_summary_md_table_equals_summary_json(pack):
    data = json.loads((pack / "summary.json").read_text())
    rows = {}
    for line in (pack / "summary.md").read_text(encoding="utf-8").splitlines():
        if line.startswith("| ") and not line.startswith("|  |"):
            cells = [c.strip() for c in line.strip("|").split("|")]
            rows[cells[0]] = cells[1:]
    cases = data["cases"]
    checks = {
        "NPV at 10%, 2025 dollars": ("npv_usd", 1),
        "Peak funding need": ("peak_funding_usd", 1),
        "Credit earned (nominal)": ("credit_earned_usd", 1),
        "PV of credit cash at 10%": ("pv_credit_usd", 1),
        "Break-even revenue per GW-year": ("breakeven_revenue_usd_per_gw_year", 2),
    }
    for label, (key, digits) in checks.items():
        without, with_, change = rows[label]
        tol = 0.5 * 10**-digits * 1e9 + 1e-6
        assert _money(without) == pytest.approx(cases["without"][key], abs=tol)
        assert _money(with_) == pytest.approx(cases["with"][key], abs=tol)
        assert _money(change) == pytest.approx(data["delta"][key], abs=tol)
    assert rows["IRR"][:2] == [
        f"{cases['without']['irr'] * 100:.1f}%",
        f"{cases['with']['irr'] * 100:.1f}%",
    ]
    assert rows["Payback year"][:2] == [
        str(cases["without"]["payback_year"]),
        str(cases["with"]["payback_year"]),
    ]
    start, end = data["fiscal"]["window"]
    assert _money(rows[f"Treasury cost {start}–{end}"][2]) == pytest.approx(
        data["fiscal"]["fiscal_cost_window_usd"], abs=0.05e9
    )
    pv_row = next(v for k, v in rows.items() if k.startswith("Treasury cost, PV"))
    assert _money(pv_row[2]) == pytest.approx(data["fiscal"]["fiscal_cost_pv_usd"], abs=0.05e9)


def test_summary_md_sentences_state_the_headline_numbers(pack):
    data = json.loads((pack / "summary.json").read_text())
    text = (pack / "summary.md").read_text(encoding="utf-8")
    sentences = text.split("\n\n")[2]
    assert 3 <= sentences.count(". ") + 1 <= 5
    assert f"by {fmt.money(data['delta']['npv_usd'])}" in sentences  # worth in present value
    start, end = data["fiscal"]["window"]
    assert (
        f"{fmt.money(data['fiscal']['fiscal_cost_window_usd'])} "
        f"in the 10-year budget window {start}–{end}" in sentences
    )
    be = [data["cases"][c]["breakeven_revenue_usd_per_gw_year"] for c in ("without", "with")]
    assert f"from {fmt.money(be[0], BREAKEVEN)} to {fmt.money(be[1], BREAKEVEN)} per GW-year" in sentences
    # the same figures from the results object of a fresh run, not from the file
    r = finmodel.run(finmodel.load_scenario(BASE))
    assert f"by {fmt.money(r.delta('npv_usd'))}" in sentences
    assert f"{fmt.money(r.fiscal()['fiscal_cost_window_usd'])} in the 10-year budget window" in sentences
    be = [r.metric("breakeven_revenue_usd_per_gw_year", c) for c in ("without", "with")]
    assert f"from {fmt.money(be[0], BREAKEVEN)} to {fmt.money(be[1], BREAKEVEN)} per GW-year" in sentences


def test_tables_xlsx_sheets(pack):
    wb = openpyxl.load_workbook(pack / "tables.xlsx")
    assert wb.sheetnames == [
        "Summary",
        "Cash flows without",
        "Cash flows with",
        "Inputs",
        "Sources",
    ]
    data = json.loads((pack / "summary.json").read_text())
    summary = {row[0]: row[1:5] for row in wb["Summary"].iter_rows(values_only=True) if row[0]}
    assert summary["NPV at 10%, 2025 dollars"][:3] == pytest.approx(
        [
            data["cases"]["without"]["npv_usd"],
            data["cases"]["with"]["npv_usd"],
            data["delta"]["npv_usd"],
        ],
        rel=1e-12,
    )
    scenario = finmodel.load_scenario(BASE)
    results = finmodel.run(scenario)
    # cash flows: categories as rows, years as columns, values in USD
    # rows in words with units; each row's codes in two hidden columns after the years
    rows = [r[-2:] + r[:-2] for r in wb["Cash flows with"].iter_rows(min_row=3, values_only=True)]
    assert rows[0][:5] == ("line (code)", "category (code)", "Line", "Category", 2025)
    assert rows[1][:4] == ("spend", "servers", "Spend [USD]", "Servers")
    spend = {r[1]: r[4:] for r in rows[1:] if r[0] == "spend"}
    assert set(spend) == set(scenario.category_names) | {"total"}
    k = results.cases.index("with")
    assert spend["servers"] == pytest.approx(results.lines["spend"][k][0].tolist(), rel=1e-12)
    labels = {r[1]: r[3] for r in rows[1:] if r[0] == "spend"}
    assert labels["dc_shell"] == "Data-center shell" and labels["total"] == "Total"
    assert {r[2] for r in rows[1:] if r[0] == "credit_earned"} == {"Credit earned [USD]"}
    sheet = wb["Cash flows with"]
    hidden = [k for k, d in sheet.column_dimensions.items() if d.hidden]
    assert [sheet[f"{k}3"].value for k in hidden] == ["line (code)", "category (code)"]
    cash_flow = next(r[4:] for r in rows[1:] if r[0] == "cash_flow")
    assert cash_flow == pytest.approx(results.lines["cash_flow"][k].tolist(), rel=1e-12)
    # inputs: every parameter, with unit, default-or-set, file and source; the column codes in a
    # hidden first row, the headers for a reader (in words, with units) in the second
    inputs = list(wb["Inputs"].iter_rows(values_only=True))
    header, labels, body = inputs[0], inputs[1], inputs[2:]
    assert header[:7] == ("parameter", "value", "unit", "status", "file", "line", "source")
    assert wb["Inputs"].row_dimensions[1].hidden and not wb["Inputs"].row_dimensions[2].hidden
    assert labels == tuple(INPUT_LABELS[code] for code in header)
    assert labels[:3] == ("Parameter (key in the scenario file)", "Value [in the row's unit]", "Unit")
    by_path = {r[0]: dict(zip(header, r, strict=True)) for r in body}
    assert set(by_path) == set(scenario.values) - {"categories"}
    assert by_path["program.commitment_usd"]["value"] == 1.4e12
    assert by_path["program.commitment_usd"]["unit"] == "USD"
    assert by_path["program.commitment_usd"]["status"] == "set"
    assert by_path["program.commitment_usd"]["source"] == "altman-8-years"
    assert by_path["policy.amic.rate"]["source"] == "amic-chips-25, amic-obbba-35"
    assert by_path["categories.servers.in_service_month"]["status"] == "default"
    assert (
        by_path["categories.grid.macrs_years"]["line"]
        == scenario.provenance["categories.grid.macrs_years"].line
    )
    # the commitment, a 13-digit number, reads as money in $B (not 1.4E+12); the cell holds USD
    row = 3 + [r[0] for r in body].index("program.commitment_usd")
    assert wb["Inputs"].cell(row=row, column=2).number_format == fmt.excel_format("USD")
    sheet = wb["Sources"]
    codes, labels = (next(sheet.iter_rows(min_row=k, max_row=k, values_only=True)) for k in (1, 2))
    assert codes == ("source", "kind", "cited_by_a_value", "citation")
    assert labels == (
        "Source [ID]",
        "Kind [published or assumption]",
        "Cited by a value of this scenario [TRUE/FALSE]",
        "Citation",
    )
    assert sheet.row_dimensions[1].hidden and not sheet.row_dimensions[2].hidden
    sources = {r[0]: r for r in sheet.iter_rows(min_row=3, values_only=True)}
    assert set(sources) == set(scenario.sources)
    assert sources["lehane-letter"][2] is False and sources["altman-30gw"][2] is True
    # no header a reader sees is a code (lower case with an underscore, or a bare code word)
    for name in ("Inputs", "Sources"):
        seen = next(wb[name].iter_rows(min_row=2, max_row=2, values_only=True))
        assert all(h[0].isupper() and "_" not in h for h in seen), seen


def test_tables_xlsx_carries_no_clock_time(pack, tmp_path):
    """The same results give the same bytes: no member or document time stamp from the clock."""
    import zipfile

    from finmodel.outputs.report import XLSX_TIME, write_pack_xlsx

    with zipfile.ZipFile(pack / "tables.xlsx") as z:
        assert {info.date_time for info in z.infolist()} == {XLSX_TIME}
        core = z.read("docProps/core.xml").decode()
    assert core.count("1980-01-01T00:00:00Z") == 2, core  # created and modified
    again = write_pack_xlsx(finmodel.run(finmodel.load_scenario(BASE)), tmp_path / "tables.xlsx")
    assert again.read_bytes() == (pack / "tables.xlsx").read_bytes()
    wb = openpyxl.load_workbook(again)
    assert wb.properties.creator.startswith("finmodel ")


def test_bad_scenario_writes_nothing(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text(f"extends: {BASE}\nname: bad\npolicy:\n  amic:\n    rate: 3.5\n")
    out = tmp_path / "out"
    assert main(["report", str(BASE), str(bad), "--out", str(out)]) == 2
    assert not out.exists()
    out.mkdir()
    assert main(["report", str(bad), "--out", str(out)]) == 2
    assert list(out.iterdir()) == []


def test_foreign_folder_is_refused_before_anything_is_written(tmp_path, capsys):
    out = tmp_path / "notes"
    out.mkdir()
    (out / "memo.docx").write_text("keep me")
    assert main(["report", str(BASE), "--out", str(out)]) == 2
    assert [p.name for p in out.iterdir()] == ["memo.docx"]
    assert "not made by finmodel" in capsys.readouterr().err


@pytest.mark.slow
def test_several_scenarios_one_folder_each(tmp_path):
    out = tmp_path / "packs"
    files = [str(SCENARIOS / "servers_only.yaml"), str(SCENARIOS / "rate_25.yaml")]
    # charts as SVG only (the format written fastest): the folders and the manifest are tested
    # here, the PNGs on the base pack
    assert main(["report", *files, "--out", str(out), "--formats", "svg"]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["rate_25", "run.json", "servers_only"]
    pack = sorted(n for n in PACK if not n.endswith(".png"))
    for name in ("rate_25", "servers_only"):
        assert sorted(p.name for p in (out / name).iterdir()) == pack
        summary = json.loads((out / name / "summary.json").read_text())
        assert summary["scenario"] == name
    top = json.loads((out / "run.json").read_text())
    assert [s["name"] for s in top["scenarios"]] == ["servers_only", "rate_25"]
    assert "rate_25/summary.md" in top["files"]
    # a second run into the same folder is allowed: the folder was made by finmodel
    assert main(["report", *files, "--out", str(out), "--formats", "svg"]) == 0


def test_duplicate_scenario_names_are_refused(tmp_path, capsys):
    out = tmp_path / "dup"
    assert main(["report", str(BASE), str(BASE), "--out", str(out)]) == 2
    assert not out.exists()
    assert "each scenario needs its own name" in capsys.readouterr().err


# --------------------------------------------------------------------------- compare


def _write_compared(out):
    paths = [str(p) for p in all_scenarios()]
    assert main(["compare", *paths, "--out", str(out), "--force"]) == 0


@pytest.fixture(scope="module")
def compared(tmp_path_factory):
    """``finmodel compare`` of every scenario: written once per session, read in place."""
    return shared_folder(tmp_path_factory, "compared", _write_compared)


def test_compare_writes_table_and_charts(compared):
    expected = {"compare.csv", "compare.md", "compare.xlsx", "run.json"}
    expected |= {f"{stem}.{fmt}" for stem in charts.COMPARE_CHARTS for fmt in FIGURE_FORMATS}
    assert {p.name for p in compared.iterdir()} == expected
    for stem in charts.COMPARE_CHARTS:
        assert _png_size(compared / f"{stem}.png")[0] == 1300


def test_compare_table_equals_each_scenarios_results(compared):
    with (compared / "compare.csv").open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    # a row per scenario and case other than without (credit_vs_guarantee: with, guarantee_only, both)
    runs = {p.stem: finmodel.run(finmodel.load_scenario(p)) for p in all_scenarios()}
    assert [(r["scenario"], r["case"]) for r in rows] == [
        (name, case) for name, r in runs.items() for case in r.cases if case != "without"
    ]
    for row in rows:
        r, case = runs[row["scenario"]], row["case"]
        npv = r.metric("npv_usd", case) - r.metric("npv_usd", "without")
        assert float(row["delta_npv_usd"]) == pytest.approx(npv, rel=1e-11, abs=1e-3)
        for column in ("credit_earned_usd", "pv_credit_usd"):
            assert float(row[column]) == pytest.approx(r.metric(column, case), rel=1e-11)
        for column in ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"):
            assert float(row[column]) == pytest.approx(r.fiscal(case)[column], rel=1e-11)
        for name, which in (("without", "without"), ("with", case)):
            assert float(row[f"breakeven_{name}_usd_per_gw_year"]) == pytest.approx(
                r.metric("breakeven_revenue_usd_per_gw_year", which), rel=1e-11
            )
            assert float(row[f"irr_{name}"]) == pytest.approx(r.metric("irr", which), rel=1e-11)
        assert row["fiscal_window"] == "2026-2035"
    md = (compared / "compare.md").read_text(encoding="utf-8")
    base_row = next(line for line in md.splitlines() if line.startswith("| Base: 35% on servers"))
    cells = [c.strip() for c in base_row.strip("|").split("|")]
    assert _money(cells[1]) == pytest.approx(float(rows[0]["delta_npv_usd"]), abs=0.05e9)
    assert _money(cells[2]) == pytest.approx(float(rows[0]["credit_earned_usd"]), abs=0.05e9)
    assert _money(cells[4]) == pytest.approx(float(rows[0]["fiscal_cost_window_usd"]), abs=0.05e9)
    sheet = openpyxl.load_workbook(compared / "compare.xlsx")["Comparison"]
    values = list(sheet.iter_rows(values_only=True))
    assert sheet.row_dimensions[1].hidden and len(values) == len(rows) + 2
    codes, labels = dict(zip(values[0], values[1], strict=True)), values[1]
    assert codes["scenario"] == "Scenario" and codes["delta_npv_usd"] == "Change in NPV [USD]"
    assert "Credit earned [USD]" in labels


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ("analysis:\n  end_year: 2041\n", "analysis.end_year"),
        ("finance:\n  valuation_year: 2026\n", "finance.valuation_year"),
        ("fiscal:\n  window_years: 5\n", "fiscal.window_years"),
    ],
)
def test_compare_refuses_different_year_grids(tmp_path, capsys, change, key):
    other = tmp_path / "other.yaml"
    other.write_text(f"extends: {BASE}\nname: other\n{change}")
    out = tmp_path / "cmp"
    assert main(["compare", str(BASE), str(other), "--out", str(out)]) == 2
    assert not out.exists()
    err = capsys.readouterr().err
    assert f"other.yaml:4: {key}:" in err and "does not re-align" in err


def test_compare_needs_two_scenarios(tmp_path):
    assert main(["compare", str(BASE), "--out", str(tmp_path / "one")]) == 2
    assert not (tmp_path / "one").exists()


def test_uncertainty_and_stats_tables_read_in_units():
    """The memo text tables of the uncertainty block and of Monte Carlo statistics use $B, %, years."""
    import pandas as pd

    from finmodel.outputs import memo

    base = finmodel.load_scenario(SCENARIOS / "base.yaml")
    table = memo.uncertainty_table(base)
    assert table.loc["program.commitment_usd", "values"] == "$1T / $1.4T / $1.5T (low / most likely / high)"
    assert table.loc["finance.discount_rate", "values"] == "mean 10%, sd 2%, kept within 7% to 15%"
    index = pd.MultiIndex.from_tuples([("npv_usd", "delta"), ("irr", "with"), ("payback_year", "with")])
    stats = pd.DataFrame({"p50": [1.957e11, 0.1305, 2033.0], "p95": [-1e9, -0.02, float("inf")]}, index=index)
    text = memo.stats_table(stats, ["p50", "p95"])
    assert text["p50"].tolist() == ["+$195.7B", "13.1%", "2033"]
    assert text["p95"].tolist() == ["-$1.0B", "-2.0%", "never"]
