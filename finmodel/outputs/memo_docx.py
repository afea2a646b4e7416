"""The memo draft: a one- to two-page Word document built from results (python-docx). No files.

``finmodel memo`` writes what :func:`memo_document` builds: a title; the
headline sentences of the first scenario (with several scenarios, one
comparison sentence per further scenario); a compact table; two or three
charts chosen for the scenarios given (:func:`memo_charts`), rendered in
memory as PNG; the assumptions a reader must know
(:func:`finmodel.outputs.assumptions.assumption_sentences`); and the
scenario's sources as numbered citations, its stated assumptions (IDs
starting ``asm-``) listed apart (:func:`memo_sources`).

Every figure comes from :mod:`finmodel.outputs.memo` and
:mod:`finmodel.core.format`, as in ``summary.md``, so the memo and the
memo pack read the same. :func:`memo_bytes` gives the document's bytes with
no clock time in them: the same scenarios give the same file.
:mod:`finmodel.outputs.report` writes it.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence

import numpy as np

from finmodel._version import __version__
from finmodel.analysis import provenance
from finmodel.core import format as fmt
from finmodel.engine.model import Results
from finmodel.engine.results import IRR_FLOWS
from finmodel.outputs import memo
from finmodel.outputs.assumptions import assumption_sentences

__all__ = [
    "MEMO_DOCX",
    "MAX_SCENARIOS",
    "CHART_WIDTH_IN",
    "CHART_DPI",
    "memo_title",
    "memo_headline",
    "comparison_sentence",
    "memo_table_rows",
    "memo_charts",
    "memo_sources",
    "citation_text",
    "memo_figures",
    "chart_png",
    "memo_document",
    "memo_bytes",
]

MEMO_DOCX = "memo.docx"
PAGE_WIDTH_IN, PAGE_HEIGHT_IN = 8.5, 11.0  #: US Letter [inch]
MARGIN_IN = 0.75  #: left and right page margins [inch]
MARGIN_TOP_IN = 0.6  #: top and bottom page margins [inch]
CHART_WIDTH_IN = 6.0  #: charts drawn 6.5 in wide (their fonts sized for it), shown at this width [inch]
THREE_CHARTS_WIDTH_IN = 5.0  #: the width of each of three charts [inch]
CHARTS_HEIGHT_IN = 6.6  #: the memo's charts together at most this tall [inch], at 6.5 in wide
PLOT_SCALE = 0.8  #: plot areas at most this fraction of their height in the memo pack
MIN_PLOT_SCALE = 0.5  #: and at least this fraction
CHART_DPI = 300  #: PNG resolution [dots per inch]: 1950 px across, 325 px per inch as shown
BODY_PT = 10.5  #: headline and assumption text [pt]
TABLE_PT = 9.0  #: table cells [pt]
TABLE_WIDTH_IN = 7.0  #: the table's width, the text width [inch]
TABLE_LABEL_IN = 2.9  #: its first column, the row labels, at most [inch]
TABLE_FIGURE_IN = 0.95  #: a column of figures, at least [inch]
NOTE_PT = 8.0  #: table note, sources and assumptions [pt]
TITLE_PT = 15.0
HEADING_PT = 11.0
FONT = "Calibri"
#: At most this many scenarios: the first and three compared with it fill two pages.
MAX_SCENARIOS = 4
#: At most this many charts: two pages hold the text, the table and three charts.
MAX_CHARTS = 3


# --------------------------------------------------------------------------- text


def memo_title(results: Sequence[Results]) -> str:
    """The memo's title: the scenario's title; with several, the first's against the others' names."""
    first, *others = results
    if not others:
        return first.scenario.title
    return f"{first.scenario.title}, compared with {memo._join([r.scenario.name for r in others])}"


def _scope(results: Sequence[Results]) -> str:
    """The line under the title: scenarios, years, units."""
    names = memo._join([r.scenario.name for r in results])
    years = f"{int(results[0].years[0])}\u2013{int(results[0].years[-1])}"
    what = "Scenario" if len(results) == 1 else "Scenarios"
    return (
        f"{what} {names}; years {years}; nominal USD, $B = billion. "
        f"Draft written by finmodel {__version__}: every figure is computed from the scenario files."
    )


def _change(value: float | None, reference: float | None) -> str:
    """``value - reference`` as a signed amount, ``n/a`` if either is undefined."""
    if value is None or reference is None:
        return fmt.NA
    return fmt.money(value - reference, sign=True)


def comparison_sentence(results: Results, reference: Results) -> str:
    """One sentence on ``results`` against ``reference`` (the memo's first scenario), all computed.

    The change in NPV the credit brings, the Treasury's cost in the budget
    window and in present value, and the credit earned, each with its
    difference from the reference scenario.
    """

    def figures(r: Results) -> tuple:
        f = r.fiscal("with")
        return (
            r.delta("npv_usd"),
            f["fiscal_cost_window_usd"],
            f["fiscal_cost_pv_usd"],
            r.metric("credit_earned_usd", "with"),
        )

    d, cost, pv, credit = figures(results)
    d0, cost0, pv0, credit0 = figures(reference)
    start, end = results.fiscal("with")["window"]
    ref = reference.scenario.name
    return (
        f"In {results.scenario.name} ({results.scenario.title}), the credit changes the program's NPV by "
        f"{fmt.money(d, sign=True)} ({_change(d, d0)} against {ref}), costs the Treasury "
        f"{fmt.money(cost)} in {start}\u2013{end} ({_change(cost, cost0)}) and {fmt.money(pv)} in "
        f"present value ({_change(pv, pv0)}), and earns {fmt.money(credit)} of credit "
        f"({_change(credit, credit0)})."
    )


def memo_headline(results: Sequence[Results]) -> list[str]:
    """The first scenario's headline sentences, then, where it has more than two cases, the
    sentence that compares them (each case's gain and cost, as ``summary.md`` and the
    credit-against-guarantee chart give them), then one comparison sentence per further scenario.
    """
    first, *others = results
    cases = [memo.case_comparison_sentence(first)] if len(first.cases) > 2 else []
    return memo.headline_sentences(first) + cases + [comparison_sentence(r, first) for r in others]


#: The per-case metrics of the compact table (MODEL.md section 9; equity NPV where the program borrows).
TABLE_METRICS = (
    "npv_usd",
    "equity_npv_usd",
    "irr",
    "payback_year",
    "peak_funding_usd",
    "credit_earned_usd",
    "pv_credit_usd",
    "breakeven_revenue_usd_per_gw_year",
)


def memo_table_rows(results: Sequence[Results]) -> list[tuple[str, ...]]:
    """The memo table, first row the header.

    One scenario: the rows of :func:`finmodel.outputs.memo.summary_rows`
    (each case, the change) for the metrics of :data:`TABLE_METRICS`, then
    the Treasury's cost in the window and in present value; the debt and
    guarantee rows of ``summary.md`` are left to it. Several: one row per
    scenario with the change in NPV, the Treasury's cost in the window and
    in present value, and the credit earned.
    """
    if len(results) == 1:
        (r,) = results
        head, *rows = memo.summary_rows(r)
        names = list(memo.summary_metric_labels(r))
        by_metric = dict(zip(names, rows, strict=False))
        return [head] + [by_metric[m] for m in TABLE_METRICS if m in by_metric] + rows[len(names) :]
    start, end = results[0].fiscal("with")["window"]
    rows: list[tuple[str, ...]] = [
        (
            "Scenario",
            "Change in NPV",
            f"Treasury cost {start}\u2013{end}",
            "Treasury cost, PV",
            "Credit earned",
        )
    ]
    for r in results:
        f = r.fiscal("with")
        rows.append(
            (
                r.scenario.name,
                fmt.money(r.delta("npv_usd"), sign=True),
                fmt.money(f["fiscal_cost_window_usd"]),
                fmt.money(f["fiscal_cost_pv_usd"]),
                fmt.money(r.metric("credit_earned_usd", "with")),
            )
        )
    return rows


def _table_note(results: Sequence[Results]) -> str:
    if len(results) == 1:
        return (
            "Change = with minus without. Treasury cost = the credit's cost plus the income tax given up; "
            "positive is a cost. Break-even revenue: the revenue per GW-year at which the NPV is zero."
        )
    return (
        "Change in NPV = with minus without, at each scenario's discount rate; Treasury cost in present "
        "value at each scenario's fiscal discount rate; credit earned in nominal dollars."
    )


# --------------------------------------------------------------------------- charts


def _same_capacity(results: Sequence[Results]) -> bool:
    lines = [np.asarray(r.lines["operating_gw"]) for r in results]
    return all(line.shape == lines[0].shape and np.array_equal(line, lines[0]) for line in lines)


def memo_charts(results: Sequence[Results]) -> dict[str, Callable]:
    """The charts of the memo, by name: two or three, chosen for the scenarios given.

    One scenario: cumulative cash flow and the Treasury's cost; with more
    than two cases, the credit against the guarantee; else, where the
    credit is shared, who gets its value (which the ownership assumption
    also states). Several: the comparison of the change in NPV and the
    Treasury's cost and of the break-even price; the capacity in service
    only where it differs between the scenarios. Each value takes the
    ``results`` (one or the list) and returns the chart's Axes.
    """
    from finmodel.outputs import charts

    if len(results) > 1:
        chosen = {
            "scenario_comparison": charts.scenario_comparison,
            "breakeven_comparison": charts.breakeven_comparison,
        }
        if not _same_capacity(results):
            chosen["capacity_comparison"] = charts.capacity_comparison
        return chosen
    (r,) = results
    chosen = {"cumulative_cash_flow": charts.cumulative_cash_flow, "treasury_cost": charts.treasury_cost}
    if len(r.cases) > 2:
        chosen["credit_vs_guarantee"] = charts.credit_vs_guarantee
    if charts.has_value_split(r):
        chosen["credit_value_split"] = charts.credit_value_split
    return dict(list(chosen.items())[:MAX_CHARTS])


def chart_png(fig, dpi: int = CHART_DPI) -> bytes:
    """A chart's figure as PNG bytes, in the memo style, with no date in the metadata."""
    from finmodel.outputs import style

    buffer = io.BytesIO()
    with style.memo_style():
        fig.savefig(buffer, format="png", dpi=dpi, metadata={"Software": f"finmodel {__version__}"})
    return buffer.getvalue()


def _chart_footnote(results: Sequence[Results]) -> str:
    who = f"scenario {results[0].scenario.name}" if len(results) == 1 else f"{len(results)} scenarios"
    return f"Sources and stated assumptions: at the end of the memo. Model: finmodel {__version__}, {who}."


def _plot_height(fig) -> float:
    """The height of the figure's plot area [inch]: from the lowest Axes' bottom to the highest's top."""
    fig.draw_without_rendering()  # constrained layout places the Axes
    boxes = [ax.get_position() for ax in fig.axes]
    return (max(b.y1 for b in boxes) - min(b.y0 for b in boxes)) * fig.get_size_inches()[1]


def memo_figures(figures: Sequence, results: Sequence[Results]) -> list:
    """Memo pack charts made to fit the memo; returns the figures, changed.

    Each gets a one-line footnote pointing to the memo's sources (which list
    what the pack's footnote names); then the plot areas, and only they,
    are made shorter by one factor (at most :data:`PLOT_SCALE`, at least
    :data:`MIN_PLOT_SCALE`) so that the charts together are at most
    :data:`CHARTS_HEIGHT_IN` tall: titles, legends and labels keep their size.
    """
    from finmodel.outputs import style

    for fig in figures:
        style.add_footnote(fig, _chart_footnote(results))
    heights = [fig.get_size_inches()[1] for fig in figures]
    plots = [_plot_height(fig) for fig in figures]
    frames = sum(heights) - sum(plots)
    scale = min(PLOT_SCALE, max(MIN_PLOT_SCALE, (CHARTS_HEIGHT_IN - frames) / sum(plots)))
    for fig, height, plot in zip(figures, heights, plots, strict=True):
        fig.set_size_inches(fig.get_size_inches()[0], height - plot * (1 - scale))
        style.add_footnote(fig, _chart_footnote(results))  # lays the frame out again for the new height
    return list(figures)


def _render_charts(results: Sequence[Results]) -> dict[str, bytes]:
    arg = results if len(results) > 1 else results[0]
    charts = memo_charts(results)
    figures = memo_figures([chart(arg).figure for chart in charts.values()], results)
    return {name: chart_png(fig) for name, fig in zip(charts, figures, strict=True)}


# --------------------------------------------------------------------------- sources


def memo_sources(results: Sequence[Results]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(published sources, stated assumptions) cited by a value of the scenarios: (ID, citation) pairs.

    In the order the values cite them, each ID once (its text from the first
    scenario that lists it); IDs starting ``asm-`` are the scenario's own
    assumptions, not published sources.
    """
    seen: dict[str, str] = {}
    for r in results:
        for sid in provenance.sources_used(r.scenario):
            seen.setdefault(sid, r.scenario.sources[sid])
    published = [(k, v) for k, v in seen.items() if not k.startswith(provenance.ASSUMPTION_PREFIX)]
    assumed = [(k, v) for k, v in seen.items() if k.startswith(provenance.ASSUMPTION_PREFIX)]
    return published, assumed


def citation_text(sid: str, text: str) -> str:
    """A citation as the memo prints it: the text of the ``sources:`` map without a closing pointer
    to the project's own notes on the same ID (``...; seeds/facts.md altman-30gw``).

    >>> citation_text("x-1", "IRS Pub. 946 (2025): 5-year; seeds/facts.md x-1")
    'IRS Pub. 946 (2025): 5-year'
    >>> citation_text("x-1", "IRS Pub. 946 (2025); seeds/facts.md x-2")
    'IRS Pub. 946 (2025); seeds/facts.md x-2'
    """
    return re.sub(r";\s*[\w./-]+\.md\s+" + re.escape(sid) + r"\s*$", "", text)


# --------------------------------------------------------------------------- document


def _font(run, size_pt: float, bold: bool = False, italic: bool = False, color: str | None = None) -> None:
    from docx.shared import Pt, RGBColor

    run.font.size = Pt(size_pt)
    run.font.bold = bold or None
    run.font.italic = italic or None
    if color:
        run.font.color.rgb = RGBColor.from_string(color)


def _paragraph(
    doc, text: str = "", size_pt: float = BODY_PT, after_pt: float = 4, before_pt: float = 0, **run_options
):
    from docx.shared import Pt

    p = doc.add_paragraph()
    p.paragraph_format.space_before = Pt(before_pt)
    p.paragraph_format.space_after = Pt(after_pt)
    if text:
        _font(p.add_run(text), size_pt, **run_options)
    return p


def _heading(doc, text: str):
    p = _paragraph(doc, text, HEADING_PT, after_pt=2, before_pt=6, bold=True, color="1F3864")
    p.paragraph_format.keep_with_next = True
    return p


def _setup(doc, title: str) -> None:
    """Letter pages, margins, the body font, and document properties with no clock time."""
    import datetime

    from docx.oxml.ns import qn
    from docx.shared import Inches, Pt

    section = doc.sections[0]
    section.page_width, section.page_height = Inches(PAGE_WIDTH_IN), Inches(PAGE_HEIGHT_IN)
    section.left_margin = section.right_margin = Inches(MARGIN_IN)
    section.top_margin = section.bottom_margin = Inches(MARGIN_TOP_IN)
    normal = doc.styles["Normal"]
    normal.font.name = FONT
    normal.font.size = Pt(BODY_PT)
    fonts = normal.element.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:ascii", "w:hAnsi", "w:cs", "w:eastAsia"):
        fonts.set(qn(attr), FONT)
    normal.paragraph_format.space_after = Pt(4)
    normal.paragraph_format.line_spacing = 1.0
    stamp = datetime.datetime(1980, 1, 1, tzinfo=datetime.UTC)  # the zip format's epoch, as workbooks
    props = doc.core_properties
    props.title = title
    props.author = props.last_modified_by = f"finmodel {__version__}"
    props.created = props.modified = stamp
    props.revision = 1


def _table(doc, rows: Sequence[Sequence[str]]) -> None:
    from docx.enum.table import WD_TABLE_ALIGNMENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    head = rows[0]
    table = doc.add_table(rows=len(rows), cols=len(head))
    table.style = doc.styles["Light List Accent 1"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table.autofit = False
    figures = len(head) - 1
    label_in = min(TABLE_LABEL_IN, TABLE_WIDTH_IN - figures * TABLE_FIGURE_IN)
    widths = [label_in] + [(TABLE_WIDTH_IN - label_in) / figures] * figures
    for column, width in zip(table.columns, widths, strict=True):
        column.width = Inches(width)  # the grid, which LibreOffice follows; Word follows the cells
    for i, row in enumerate(rows):
        for j, text in enumerate(row):
            cell = table.cell(i, j)
            cell.width = Inches(widths[j])
            p = cell.paragraphs[0]
            p.paragraph_format.space_after = Pt(0)
            p.alignment = WD_ALIGN_PARAGRAPH.LEFT if j == 0 else WD_ALIGN_PARAGRAPH.RIGHT
            _font(p.add_run(text), TABLE_PT, bold=i == 0)


def _picture(doc, png: bytes, width_in: float) -> None:
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Inches, Pt

    p = doc.add_paragraph()
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    p.paragraph_format.space_before = Pt(4)
    p.paragraph_format.space_after = Pt(4)
    p.add_run().add_picture(io.BytesIO(png), width=Inches(width_in))


def memo_document(results: Sequence[Results]):
    """The memo draft of ``results`` (one scenario, or several on one year grid) as a python-docx Document.

    Charts are rendered here (in memory); nothing is written.
    """
    import docx

    results = list(results)
    if not 1 <= len(results) <= MAX_SCENARIOS:
        raise ValueError(f"a memo takes 1 to {MAX_SCENARIOS} scenarios, got {len(results)}")
    pngs = _render_charts(results)
    title = memo_title(results)
    doc = docx.Document()
    _setup(doc, title)

    _paragraph(doc, title, TITLE_PT, after_pt=2, bold=True, color="1F3864")
    _paragraph(doc, _scope(results), NOTE_PT, after_pt=6, italic=True, color="555555")
    _paragraph(doc, " ".join(memo_headline(results)), BODY_PT, after_pt=6)
    _table(doc, memo_table_rows(results))
    _paragraph(doc, _table_note(results), NOTE_PT, after_pt=4, before_pt=2, color="555555")
    first_chart, *more_charts = pngs.values()
    width_in = CHART_WIDTH_IN if len(pngs) < 3 else THREE_CHARTS_WIDTH_IN
    _picture(doc, first_chart, width_in)

    # The assumptions between the first chart and the others, so that the text fills page 1.
    first = results[0]
    whose = "" if len(results) == 1 else f" (scenario {first.scenario.name})"
    _heading(doc, f"What the figures assume{whose}")
    for sentence in assumption_sentences(first):
        _paragraph(doc, sentence, BODY_PT - 1, after_pt=2)
    for note in first.notes:
        shown = [m for m, (*_, line) in IRR_FLOWS.items() if note.startswith(f"the {line} changes sign")]
        if shown and shown[0] not in TABLE_METRICS:
            continue  # several rates of an IRR the memo's table does not show (summary.md does)
        _paragraph(doc, f"Note: {note}.", BODY_PT - 1, after_pt=2)
    for png in more_charts:
        _picture(doc, png, width_in)

    published, assumed = memo_sources(results)
    _heading(doc, "Sources")
    if not published:
        _paragraph(doc, "No published source is cited.", NOTE_PT, after_pt=1)
    p = _paragraph(doc, after_pt=2)
    for i, (sid, text) in enumerate(published, start=1):  # run in, to keep the memo to two pages
        _font(p.add_run(f"{' ' if i > 1 else ''}[{i}]\u00a0"), NOTE_PT, bold=True)
        text = citation_text(sid, text)
        _font(p.add_run(text if text.endswith((".", "?", "!")) else text + "."), NOTE_PT)
    if assumed:
        p = _paragraph(doc, after_pt=0)
        _font(p.add_run(f"Stated assumptions, not published figures ({len(assumed)}): "), NOTE_PT, bold=True)
        files = " ".join(r.scenario.path or f"{r.scenario.name}.yaml" for r in results)
        _font(
            p.add_run(
                ", ".join(sid for sid, _ in assumed) + f" (what informs each: finmodel sources {files})."
            ),
            NOTE_PT,
        )
    return doc


def memo_bytes(results: Sequence[Results]) -> bytes:
    """The ``.docx`` bytes of :func:`memo_document`: zip members and properties carry no clock time."""
    from finmodel.outputs.report import zip_without_time  # the workbooks' rule, shared

    buffer = io.BytesIO()
    memo_document(results).save(buffer)
    return zip_without_time(buffer.getvalue())
