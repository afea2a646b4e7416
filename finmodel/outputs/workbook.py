"""The workbooks of a memo pack and a comparison, as openpyxl objects: cells hold the figures in their units.

Pure: builds :class:`openpyxl.Workbook` objects and writes no file
(:func:`finmodel.outputs.report.save_workbook` does, without a clock time).
Money cells hold USD and text cells the memo's words; each number is shown
through the number format of :func:`finmodel.core.format.excel_format`, so a
cell reads as the same figure in the terminal and in ``summary.md``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

from finmodel._version import __version__
from finmodel.analysis import provenance
from finmodel.core import format as fmt
from finmodel.engine.model import Results
from finmodel.engine.names import ALL_CASE_METRICS, ALL_LINES, LINE_UNITS
from finmodel.outputs import memo
from finmodel.scenario import Scenario

__all__ = ["pack_workbook", "compare_workbook", "inputs_table", "cashflow_table"]

#: Yearly cash-flow cells (USD) shown in $B to a hundredth: a year's line can be small.
_XL_YEARLY = fmt.excel_format("USD", decimals=2)
#: The hidden columns of the cash-flow sheets: each row's line and category as codes, for machines.
CODE_COLUMNS = {"line": "line (code)", "category": "category (code)"}
#: The comparison's column headers for a reader, with units; the codes are in a hidden first row.
COMPARE_LABELS = {
    "scenario": "Scenario",
    "case": "Case",
    "title": "Title",
    "delta_npv_usd": "Change in NPV [USD]",
    "credit_earned_usd": "Credit earned [USD]",
    "pv_credit_usd": "PV of credit cash [USD]",
    "fiscal_window": "Budget window [years]",
    "fiscal_cost_window_usd": "Treasury cost, budget window [USD]",
    "fiscal_cost_pv_usd": "Treasury cost, PV [USD]",
    "breakeven_without_usd_per_gw_year": "Break-even revenue without [USD/GW-year]",
    "breakeven_with_usd_per_gw_year": "Break-even revenue in the case [USD/GW-year]",
    "irr_without": "IRR without [fraction]",
    "irr_with": "IRR in the case [fraction]",
}
#: The Inputs sheet's column headers for a reader, with units; the codes are in a hidden first row.
INPUT_LABELS = {
    "parameter": "Parameter (key in the scenario file)",
    "value": "Value [in the row's unit]",
    "unit": "Unit",
    "status": "Set in the file or default",
    "file": "File",
    "line": "Line in the file [line number]",
    "source": "Sources [IDs, sheet Sources]",
    "citation": "Citation",
    "note": "Note",
    "description": "Description",
}
#: The Sources sheet's column headers for a reader; the codes are in a hidden first row.
SOURCE_LABELS = {
    "source": "Source [ID]",
    "kind": "Kind [published or assumption]",
    "cited_by_a_value": "Cited by a value of this scenario [TRUE/FALSE]",
    "citation": "Citation",
}
#: Units of Inputs values shown in $B, as the Summary sheet shows money (a plain number of
#: this size would show in E-notation).
_XL_INPUT_UNITS = ("USD", "USD/GW-year")


def _hide_columns(ws, columns) -> None:
    for j in columns:
        ws.column_dimensions[get_column_letter(j)].hidden = True


def pack_workbook(results: Results) -> Workbook:
    """``tables.xlsx``: Summary, a yearly cash-flow sheet per case, Inputs, Sources.

    Cash-flow sheets have the lines and categories as rows, in words with
    units (``Credit earned [USD]``, ``Data-center shell``), and the years as
    columns; cells hold USD, shown in $B. Two hidden columns after the years
    hold each row's codes (``credit_earned``, ``dc_shell``) for machines.
    Inputs and Sources head their columns in words with units
    (:data:`INPUT_LABELS`, :data:`SOURCE_LABELS`) in row 2 over the column
    codes (``parameter``, ``value``, ``source``) in a hidden row 1.
    """
    wb = Workbook()
    _summary_sheet(wb.active, results)
    wb.active.title = "Summary"
    for case in results.cases:
        ws = wb.create_sheet(f"Cash flows {case}")
        ws["A1"] = (
            f"{memo.CASE_LABELS.get(case, case)}: yearly lines, nominal USD (cells hold USD, "
            "shown in $B); per-category lines have a row per category and a total"
        )
        codes = cashflow_table(results, case).reset_index()
        years = [c for c in codes.columns if isinstance(c, int)]
        table = pd.concat(
            [
                pd.DataFrame(
                    {
                        "Line": [memo.line_label(x) for x in codes["line"]],
                        "Category": [memo.category_label(c) if c else "" for c in codes["category"]],
                    }
                ),
                codes[years],
                codes[["line", "category"]].rename(columns=CODE_COLUMNS),
            ],
            axis=1,
        )
        _xlsx_table(
            ws,
            table,
            3,
            formats={str(y): _XL_YEARLY for y in years},
            widths={"Line": 36, "Category": 22, **{str(y): 10 for y in years}},
        )
        for row, line in enumerate(codes["line"], start=4):  # lines not in USD (capacity in GW)
            unit = LINE_UNITS.get(line)
            for col in range(3, 3 + len(years)) if unit else ():
                ws.cell(row=row, column=col).number_format = f'0.00 "{unit}"'
        _hide_columns(ws, range(3 + len(years), 5 + len(years)))
        ws.freeze_panes = "C4"
    ws = wb.create_sheet("Inputs")
    inputs = inputs_table(results.scenario)
    _coded_table(
        ws,
        inputs,
        INPUT_LABELS,
        widths={
            "parameter": 40,
            "value": 26,
            "unit": 12,
            "status": 12,
            "file": 30,
            "line": 10,
            "source": 30,
            "citation": 70,
            "note": 20,
            "description": 60,
        },
    )
    value_column = inputs.columns.get_loc("value") + 1
    for row, unit in enumerate(inputs["unit"], start=3):
        cell = ws.cell(row=row, column=value_column)
        if unit in _XL_INPUT_UNITS and isinstance(cell.value, (int, float)):  # booleans are text here
            cell.number_format = fmt.excel_format(unit)
    ws.freeze_panes = "B3"
    ws = wb.create_sheet("Sources")
    _coded_table(
        ws,
        provenance.sources_table(results.scenario),
        SOURCE_LABELS,
        widths={"source": 26, "kind": 16, "cited_by_a_value": 22, "citation": 120},
    )
    ws.freeze_panes = "A3"
    wb.properties.creator = f"finmodel {__version__}"
    return wb


def compare_workbook(table: pd.DataFrame) -> Workbook:
    """``compare.xlsx``: sheet Comparison, :func:`finmodel.outputs.memo.compare_table` in its units.

    Row 2 heads the columns in words with units (:data:`COMPARE_LABELS`);
    row 1, hidden, holds the column codes of ``compare.csv``.
    """
    wb = Workbook()
    ws = wb.active
    ws.title = "Comparison"
    labels = {name: COMPARE_LABELS.get(name, name.capitalize()) for name in table.columns}
    formats = {
        labels[name]: fmt.excel_format(unit, signed=name in memo.COMPARE_CHANGES)
        for name, unit in memo.COMPARE_COLUMNS.items()
        if name in labels
    }
    widths = {name: 16 for name in table.columns} | {"label": 32, "scenario": 24, "title": 50}
    _coded_table(ws, table, labels, formats=formats, widths=widths)
    ws.freeze_panes = "B3"
    wb.properties.creator = f"finmodel {__version__}"
    return wb


def _coded_table(
    ws,
    frame: pd.DataFrame,
    labels: Mapping[str, str],
    formats: Mapping[str, str] | None = None,
    widths: Mapping[str, float] | None = None,
) -> int:
    """A table whose columns are headed in words (row 2) over their codes (row 1, hidden).

    ``labels`` maps each column code of ``frame`` to its header for a reader
    (a code without one is capitalized); ``formats`` is keyed by header and
    ``widths`` by code. Returns the next free row.
    """
    headers = {name: labels.get(name, name.capitalize()) for name in frame.columns}
    for j, name in enumerate(frame.columns, start=1):  # the codes, for machines: a hidden first row
        ws.cell(row=1, column=j, value=name)
    ws.row_dimensions[1].hidden = True
    widths = {headers[name]: width for name, width in (widths or {}).items() if name in headers}
    return _xlsx_table(ws, frame.rename(columns=headers), 2, formats=formats, widths=widths)


def _display(value: Any, text: str) -> Any:
    """An Inputs-sheet cell: a number stays a number; anything else is its text in ``finmodel sources``."""
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return value.item() if hasattr(value, "item") else value
    return text


def inputs_table(scenario: Scenario) -> pd.DataFrame:
    """Every parameter: value, unit, default or set, file, line, source, citation, description.

    The rows of :func:`finmodel.analysis.provenance.parameters` (``finmodel
    sources``), with numbers kept as numbers and source IDs comma separated.
    """
    table = provenance.parameters(scenario)
    values = [
        _display(scenario.values[path], text)
        for path, text in zip(table["parameter"], table["text"], strict=True)
    ]
    out = table[["parameter", "unit", "status", "file", "line", "sources", "citation", "note", "description"]]
    out = out.rename(columns={"sources": "source"}).assign(source=table["sources"].str.replace("; ", ", "))
    out.insert(1, "value", values)
    return out


def cashflow_table(results: Results, case: str) -> pd.DataFrame:
    """One case's yearly lines; category lines get a row per category and a total. [USD]"""
    k = results.cases.index(case)
    rows, index = [], []
    for line, per_cat in ALL_LINES.items():
        if line not in results.lines:  # the debt, guarantee and pool lines where a case has them
            continue
        values = np.asarray(results.lines[line])[k]
        if per_cat:
            for c, name in enumerate(results.inputs.categories):
                rows.append(values[c])
                index.append((line, name))
            rows.append(values.sum(axis=0))
            index.append((line, "total"))
        else:
            rows.append(values)
            index.append((line, ""))
    table = pd.DataFrame(
        np.array(rows),
        index=pd.MultiIndex.from_tuples(index, names=["line", "category"]),
        columns=[int(y) for y in results.years],
    )
    return table


def _summary_sheet(ws, results: Results) -> None:
    s = results.scenario
    ws["A1"] = s.title
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        f"Scenario {s.name}; years {int(results.years[0])}-{int(results.years[-1])}; "
        f"nominal USD (cells hold USD, shown in $B); finmodel {__version__}"
    )
    row = 4
    for sentence in memo.headline_sentences(results):
        ws.cell(row=row, column=1, value=sentence)
        row += 1
    row += 1
    cases = results.cases
    n = len(cases)
    header = ["Metric", *[memo.case_label(c) for c in cases], "Change", "Unit"]
    for j, name in enumerate(header, start=1):
        ws.cell(row=row, column=j, value=name).font = Font(bold=True)
    row += 1
    for name, label in memo.summary_metric_labels(results).items():
        unit = ALL_CASE_METRICS[name]
        values = [results.metric(name, c) for c in cases] + [results.delta(name)]
        ws.cell(row=row, column=1, value=label)
        for j, value in enumerate(values, start=2):
            cell = ws.cell(row=row, column=j, value=value)
            cell.number_format = fmt.excel_format(unit, signed=j == n + 2)  # the last: the change
            cell.alignment = Alignment(horizontal="right")
        ws.cell(row=row, column=n + 3, value=unit)
        ws.cell(row=row, column=n + 4, value=name)
        row += 1
    fiscal_labels = [r[0] for r in memo.summary_rows(results)[-2:]]
    for label, key in zip(fiscal_labels, ("fiscal_cost_window_usd", "fiscal_cost_pv_usd"), strict=True):
        ws.cell(row=row, column=1, value=label)
        # two cases: the cost of 'with' in the change column; more: each case's in its column
        columns = {n + 2: "with"} if n == 2 else {j + 2: c for j, c in enumerate(cases) if c != "without"}
        for column, case in columns.items():
            cell = ws.cell(row=row, column=column, value=results.fiscal(case)[key])
            cell.number_format = fmt.excel_format("USD")
        ws.cell(row=row, column=n + 3, value="USD")
        ws.cell(row=row, column=n + 4, value=key)
        row += 1
    _hide_columns(ws, [n + 4])  # each row's metric code, for machines
    ws.column_dimensions["A"].width = 40
    for j in range(2, n + 3):
        ws.column_dimensions[get_column_letter(j)].width = 16
    ws.column_dimensions[get_column_letter(n + 3)].width = 13


def _xlsx_table(
    ws,
    frame,
    start_row: int,
    formats: Mapping[str, str] | None = None,
    widths: Mapping[str, float] | None = None,
) -> int:
    """Write a DataFrame (header bold) from ``start_row``; returns the next free row."""
    formats = formats or {}
    columns = [str(c) for c in frame.columns]
    for j, (name, raw) in enumerate(zip(columns, frame.columns, strict=True), start=1):
        cell = ws.cell(row=start_row, column=j, value=raw if isinstance(raw, int) else name)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="left" if j == 1 else "center")
    for i, row in enumerate(frame.itertuples(index=False), start=start_row + 1):
        for j, (name, value) in enumerate(zip(columns, row, strict=True), start=1):
            if value is None or value is pd.NA:
                value = None
            elif isinstance(value, float) and not math.isfinite(value):
                value = None
            elif hasattr(value, "item"):
                value = value.item()
            cell = ws.cell(row=i, column=j, value=value)
            if name in formats and isinstance(value, (int, float)) and not isinstance(value, bool):
                cell.number_format = formats[name]
    for j, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(j)].width = (widths or {}).get(
            name, max(10, min(60, len(name) + 2))
        )
    return start_row + len(frame) + 1
