"""``finmodel memo``: the Word memo draft, read back with python-docx.

The figures in the table are checked against ``summary.json`` (``Results.to_dict``)
formatted by :mod:`finmodel.core.format`; the length against an estimate of the
pages calibrated on LibreOffice's rendering (two pages at an estimate up to 2.1;
the three-page drafts it rendered were estimated at 2.15 and more).
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import re
import struct
from pathlib import Path

import docx
import pytest
from conftest import SCENARIOS, fake_converter, shared_folder

import finmodel
from finmodel.analysis import provenance
from finmodel.cli import main
from finmodel.core import format as fmt
from finmodel.outputs import memo, memo_docx, report
from finmodel.outputs.assumptions import assumption_sentences

BASE = SCENARIOS / "base.yaml"
TRANSFER = SCENARIOS / "transfer.yaml"
REFRESH = SCENARIOS / "refresh.yaml"

#: The estimate of :func:`estimate_pages` at which LibreOffice went to a third page (see the docstring).
MAX_PAGES_ESTIMATE = 2.1


def estimate_pages(doc) -> float:
    """Pages the document fills: lines of text at their size (Calibri: about 0.47 em a character),
    the table's rows and the pictures' heights, over the text height of a page."""
    section = doc.sections[0]
    width_in = (section.page_width - section.left_margin - section.right_margin) / 914400
    height_in = (section.page_height - section.top_margin - section.bottom_margin) / 914400
    total = 0.0
    for p in doc.paragraphs:
        if not p.text:
            continue
        size = next((r.font.size.pt for r in p.runs if r.font.size), memo_docx.BODY_PT)
        lines = math.ceil(len(p.text) / (width_in * 72 / (size * 0.47)))
        total += lines * size * 1.22 / 72 + 4 / 72
    total += sum(len(t.rows) * 0.2 for t in doc.tables)
    total += sum(shape.height.inches + 0.12 for shape in doc.inline_shapes)
    return total / height_in


def png_size(blob: bytes) -> tuple[int, int]:
    assert blob[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", blob[16:24])


def memo_text(doc) -> str:
    return "\n".join(p.text for p in doc.paragraphs)


def write(tmp: Path, *args: str) -> tuple[int, Path]:
    out = tmp / "memo"
    return main(["memo", *args, "--no-pdf", "--out", str(out)]), out


def _memo_folder(tmp_path_factory, name: str, paths: list[Path]) -> Path:
    """The folder ``finmodel memo PATHS --no-pdf`` writes, once per session (read in place)."""

    def write_memo(folder: Path) -> None:
        code, _ = write(folder, *map(str, paths))
        assert code == 0

    return shared_folder(tmp_path_factory, name, write_memo) / "memo"


@pytest.fixture(scope="module")
def base_memo(tmp_path_factory):
    out = _memo_folder(tmp_path_factory, "base_memo", [BASE])
    results = finmodel.run(finmodel.load_scenario(BASE))
    return out, docx.Document(out / "memo.docx"), results


@pytest.fixture(scope="module")
def several_memo(tmp_path_factory):
    paths = [BASE, TRANSFER, REFRESH]
    out = _memo_folder(tmp_path_factory, "several_memo", paths)
    results = [finmodel.run(finmodel.load_scenario(p)) for p in paths]
    return out, docx.Document(out / "memo.docx"), results


# --------------------------------------------------------------------------- one scenario


def test_title_and_headline_sentences(base_memo):
    _, doc, results = base_memo
    assert doc.paragraphs[0].text == results.scenario.title
    assert doc.core_properties.title == results.scenario.title
    text = memo_text(doc)
    sentences = memo.headline_sentences(results)
    assert len(sentences) >= 4
    for sentence in sentences:
        assert sentence in text


def test_table_cells_are_the_summary_json_figures(base_memo):
    _, doc, results = base_memo
    summary = json.loads(report.render_run(results)["summary.json"])
    (table,) = doc.tables
    cells = {row.cells[0].text: [c.text for c in row.cells[1:]] for row in table.rows}
    assert [c.text for c in table.rows[0].cells] == ["", "Without AMIC", "With AMIC", "Change"]
    without, with_, delta = summary["cases"]["without"], summary["cases"]["with"], summary["delta"]
    assert cells["NPV at 10%, 2025 dollars"] == [
        fmt.money(without["npv_usd"]),
        fmt.money(with_["npv_usd"]),
        fmt.money(delta["npv_usd"], sign=True),
    ]
    assert cells["IRR"] == [fmt.rate(without["irr"]), fmt.rate(with_["irr"]), fmt.rate_change(delta["irr"])]
    assert cells["Payback year"] == [
        fmt.year(without["payback_year"]),
        fmt.year(with_["payback_year"]),
        fmt.year_change(delta["payback_year"]),
    ]
    assert cells["Credit earned (nominal)"][1] == fmt.money(with_["credit_earned_usd"])
    assert cells["Break-even revenue per GW-year"][2] == fmt.money(
        delta["breakeven_revenue_usd_per_gw_year"], "USD/GW-year", sign=True
    )
    start, end = summary["fiscal"]["window"]
    assert cells[f"Treasury cost {start}\u2013{end}"] == [
        "",
        "",
        fmt.money(summary["fiscal"]["fiscal_cost_window_usd"]),
    ]
    pv_row = next(label for label in cells if label.startswith("Treasury cost, PV"))
    assert cells[pv_row][-1] == fmt.money(summary["fiscal"]["fiscal_cost_pv_usd"])
    # every figure a reader sees in the table is one of summary_rows', in its order
    assert [tuple(c.text for c in row.cells) for row in table.rows] == memo_docx.memo_table_rows([results])


def test_charts_are_sharp_pngs_at_memo_width(base_memo):
    _, doc, results = base_memo
    assert list(memo_docx.memo_charts([results])) == ["cumulative_cash_flow", "treasury_cost"]
    shapes = doc.inline_shapes
    assert len(shapes) == 2
    for shape in shapes:
        assert shape.width == docx.shared.Inches(memo_docx.CHART_WIDTH_IN)
        blob = doc.part.related_parts[shape._inline.graphic.graphicData.pic.blipFill.blip.embed].blob
        width_px, height_px = png_size(blob)
        assert width_px / memo_docx.CHART_WIDTH_IN >= 300  # at least 300 pixels per inch as shown
        assert shape.height.inches == pytest.approx(memo_docx.CHART_WIDTH_IN * height_px / width_px, rel=1e-3)


def test_assumptions_and_numbered_sources(base_memo):
    _, doc, results = base_memo
    text = memo_text(doc)
    for sentence in assumption_sentences(results):
        assert sentence in text
    published, assumed = memo_docx.memo_sources([results])
    assert published and assumed
    cited = provenance.sources_used(results.scenario)
    assert [sid for sid, _ in published + assumed] == [s for s in cited if not s.startswith("asm-")] + [
        s for s in cited if s.startswith("asm-")
    ]
    sources = text[text.index("\nSources\n") :]
    for i, (sid, citation) in enumerate(published, start=1):
        assert f"[{i}]\u00a0{memo_docx.citation_text(sid, citation)}" in sources
        assert "seeds/facts.md" not in memo_docx.citation_text(sid, citation)
    assert f"[{len(published) + 1}]" not in sources  # assumptions are not numbered as sources
    listed = re.search(r"Stated assumptions, not published figures \((\d+)\): (.*)", sources)
    assert listed and int(listed.group(1)) == len(assumed)
    assert listed.group(2).startswith(", ".join(sid for sid, _ in assumed))


def test_fits_two_pages(base_memo):
    _, doc, _ = base_memo
    assert 1.0 < estimate_pages(doc) <= MAX_PAGES_ESTIMATE
    body = [p for p in doc.paragraphs if p.text and p.runs[0].font.size]
    assert min(p.runs[0].font.size.pt for p in body) >= 8
    headline = next(p for p in doc.paragraphs if p.text.startswith("Extending the AMIC"))
    assert 10 <= headline.runs[0].font.size.pt <= 11


def test_folder_and_manifest(base_memo):
    out, _, results = base_memo
    assert sorted(p.name for p in out.iterdir()) == ["memo.docx", "run.json"]
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["files"] == ["memo.docx"]
    assert manifest["outputs"]["memo.docx"] == hashlib.sha256((out / "memo.docx").read_bytes()).hexdigest()
    assert manifest["command"][:2] == ["finmodel", "memo"]
    assert manifest["scenarios"][0]["sha256"] == results.scenario.sha256()


def test_same_scenario_same_bytes(base_memo, tmp_path):
    out, _, _ = base_memo
    code, again = write(tmp_path, str(BASE))
    assert code == 0
    assert (again / "memo.docx").read_bytes() == (out / "memo.docx").read_bytes()


def test_cases_and_shared_credit_choose_their_charts():
    cases = finmodel.run(finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml"))
    assert list(memo_docx.memo_charts([cases])) == [
        "cumulative_cash_flow",
        "treasury_cost",
        "credit_vs_guarantee",
    ]
    shared = finmodel.run(finmodel.load_scenario(TRANSFER))
    assert list(memo_docx.memo_charts([shared])) == [
        "cumulative_cash_flow",
        "treasury_cost",
        "credit_value_split",
    ]


# --------------------------------------------------------------------------- several scenarios


def test_several_scenarios(several_memo):
    _, doc, results = several_memo
    base, transfer, refresh = results
    assert doc.paragraphs[0].text == f"{base.scenario.title}, compared with transfer and refresh"
    text = memo_text(doc)
    for sentence in memo.headline_sentences(base):
        assert sentence in text
    for other in (transfer, refresh):
        sentence = memo_docx.comparison_sentence(other, base)
        assert sentence in text
        d, d0 = other.delta("npv_usd"), base.delta("npv_usd")
        assert f"by {fmt.money(d, sign=True)} ({fmt.money(d - d0, sign=True)} against base)" in sentence

    (table,) = doc.tables
    rows = [[c.text for c in row.cells] for row in table.rows]
    assert rows[0][0] == "Scenario" and len(rows) == 4
    for r, row in zip(results, rows[1:], strict=True):
        summary = json.loads(report.render_run(r)["summary.json"])
        assert row == [
            r.scenario.name,
            fmt.money(summary["delta"]["npv_usd"], sign=True),
            fmt.money(summary["fiscal"]["fiscal_cost_window_usd"]),
            fmt.money(summary["fiscal"]["fiscal_cost_pv_usd"]),
            fmt.money(summary["cases"]["with"]["credit_earned_usd"]),
        ]
    # refresh changes the capacity in service: the capacity comparison is the third chart
    assert list(memo_docx.memo_charts(results)) == [
        "scenario_comparison",
        "breakeven_comparison",
        "capacity_comparison",
    ]
    assert len(doc.inline_shapes) == 3
    assert all(s.width == docx.shared.Inches(memo_docx.THREE_CHARTS_WIDTH_IN) for s in doc.inline_shapes)
    assert estimate_pages(doc) <= MAX_PAGES_ESTIMATE


def test_a_scenario_with_more_cases_states_their_comparison_in_the_headline():
    """Credit versus guarantee: the memo's text gives each case's gain and cost, as summary.md does,
    after the credit's headline; with other scenarios, their comparison sentences follow."""
    cvg, base = (
        finmodel.run(finmodel.load_scenario(SCENARIOS / f"{n}.yaml")) for n in ("credit_vs_guarantee", "base")
    )
    sentences = memo_docx.memo_headline([cvg, base])
    case_sentence = memo.case_comparison_sentence(cvg)
    assert sentences == [
        *memo.headline_sentences(cvg),
        case_sentence,
        memo_docx.comparison_sentence(base, cvg),
    ]
    assert "Guarantee only" in case_sentence and "FCRA" in case_sentence
    assert memo_docx.memo_headline([base]) == memo.headline_sentences(base)  # two cases: no such sentence


def test_scenarios_with_one_capacity_get_two_charts():
    results = [finmodel.run(finmodel.load_scenario(p)) for p in (BASE, TRANSFER)]
    assert list(memo_docx.memo_charts(results)) == ["scenario_comparison", "breakeven_comparison"]


# --------------------------------------------------------------------------- bad input


def bad_scenario(tmp_path: Path) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(f"extends: {BASE}\npolicy:\n  amic:\n    rate: 3.5\n")
    return path


@pytest.mark.parametrize("case", ["bad file", "too many", "other grid", "missing file"])
def test_bad_input_writes_nothing(case, tmp_path, capsys):
    if case == "bad file":
        args = [str(BASE), str(bad_scenario(tmp_path))]
    elif case == "too many":
        args = [str(BASE)] * (memo_docx.MAX_SCENARIOS + 1)
    elif case == "other grid":
        other = tmp_path / "later.yaml"
        other.write_text(f"extends: {BASE}\nname: later\nanalysis:\n  end_year: 2045\n")
        args = [str(BASE), str(other)]
    else:
        args = [str(tmp_path / "nowhere.yaml")]
    code, out = write(tmp_path, *args)
    err = capsys.readouterr().err
    assert code == 2, err
    assert not out.exists()
    assert err.strip()
    if case == "too many":
        assert f"at most {memo_docx.MAX_SCENARIOS}" in err
    if case == "other grid":
        assert "analysis.end_year" in err


# --------------------------------------------------------------------------- PDF


def test_pdf_where_a_converter_is_on_path(tmp_path, monkeypatch):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_converter(bin_dir)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    assert report.pdf_converter() == str(bin_dir / "soffice")
    out = tmp_path / "memo"
    assert main(["memo", str(BASE), "--out", str(out)]) == 0
    assert (out / "memo.pdf").read_bytes() == b"%PDF-1.4 fake"
    assert json.loads((out / "run.json").read_text())["files"] == ["memo.docx", "memo.pdf"]
    # --no-pdf: none, and the one of the earlier run is removed with it
    assert main(["memo", str(BASE), "--no-pdf", "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["memo.docx", "run.json"]


def test_no_converter_no_pdf(tmp_path, monkeypatch):
    monkeypatch.setattr(report, "PDF_CONVERTERS", ("finmodel-no-such-converter",))
    out = tmp_path / "memo"
    assert main(["memo", str(BASE), "--out", str(out)]) == 0
    assert sorted(p.name for p in out.iterdir()) == ["memo.docx", "run.json"]


@pytest.mark.slow
@pytest.mark.skipif(report.pdf_converter() is None, reason="no LibreOffice (soffice) on PATH")
@pytest.mark.parametrize("names", [["base"], ["credit_vs_guarantee", "levered", "ownership", "refresh"]])
def test_libreoffice_renders_two_pages(names, tmp_path):
    out = tmp_path / "memo"
    assert main(["memo", *[str(SCENARIOS / f"{n}.yaml") for n in names], "--out", str(out)]) == 0
    pdf = (out / "memo.pdf").read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 <= pages <= 2
    if names == ["base"]:  # no clock time: the same document converts to the same bytes
        assert report.docx_to_pdf((out / "memo.docx").read_bytes(), report.pdf_converter()) == pdf
