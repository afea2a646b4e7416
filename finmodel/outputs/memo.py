"""Memo text and tables built from :class:`~finmodel.engine.model.Results`: pure, no files, no plotting.

Everything a memo pack states is derived here from the results and the
scenario, never typed in: the summary table (Markdown and spreadsheet rows),
the headline sentences, the inputs listing with each value's provenance, the
chart footnote and the cross-scenario table. :mod:`finmodel.outputs.report`
writes these to files and :mod:`finmodel.outputs.charts` draws beside them.

Every figure is written by :mod:`finmodel.core.format`: money in $B
(``$195.7B``), a hyphen-minus for negative amounts in text.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from finmodel.analysis import provenance
from finmodel.analysis.metric_names import METRIC_UNITS
from finmodel.core import format as fmt
from finmodel.engine.model import METRIC_LABELS, METRICS, Results
from finmodel.engine.names import ALL_CASE_METRICS, is_delta
from finmodel.outputs.assumptions import assumption_sentences
from finmodel.scenario import Problem, Scenario, ScenarioError

__all__ = [
    "ASSUMPTION_PREFIX",
    "readable_name",
    "footnote",
    "summary_rows",
    "summary_markdown",
    "line_label",
    "category_label",
    "by_year_rows",
    "headline_sentences",
    "check_same_grid",
    "compare_table",
    "compare_markdown",
    "stat_text",
    "stats_table",
    "uncertainty_table",
]

ASSUMPTION_PREFIX = provenance.ASSUMPTION_PREFIX
CASE_LABELS = {"without": "Without AMIC", "with": "With AMIC"}
#: A yearly line for a reader, with its unit (the workbook's row labels); the code stays the key.
LINE_LABELS = {
    "spend": "Spend [USD]",
    "in_service": "Placed in service [USD]",
    "credit_earned": "Credit earned [USD]",
    "credit_cash": "Credit cash received [USD]",
    "credit_treasury_cost": "Credit's cost to the Treasury [USD]",
    "recapture": "Credit recaptured [USD]",
    "depreciation": "Depreciation [USD]",
    "revenue": "Revenue [USD]",
    "power": "Power cost [USD]",
    "om": "Operations and maintenance [USD]",
    "ebitda": "EBITDA [USD]",
    "taxable_income": "Taxable income [USD]",
    "tax": "Income tax [USD]",
    "terminal_value": "Terminal value [USD]",
    "cash_flow": "Cash flow [USD]",
    "fiscal_cost": "Treasury cost against without [USD]",
    "operating_gw": "Capacity operating [GW]",
    "debt_draw": "Debt drawn [USD]",
    "interest": "Interest [USD]",
    "principal": "Principal repaid [USD]",
    "balloon": "Balloon repayment [USD]",
    "debt_balance": "Debt outstanding [USD]",
    "guarantee_fee": "Guarantee fee [USD]",
    "guarantee_default_cost": "Guarantee: expected default cost [USD]",
    "taxable_income_levered": "Taxable income after interest [USD]",
    "tax_levered": "Income tax after interest [USD]",
    "equity_cash_flow": "Equity cash flow [USD]",
    "credit_expired": "Credit expired unused [USD]",
    "refresh_spend": "Replacement spend [USD]",
    "credit_gain": "Cash flow gained from the credit [USD]",
    "third_party_gain": "Gain kept by other owners [USD]",
}
#: Category names for a reader; a name not listed is shown with spaces and a capital.
CATEGORY_LABELS = {
    "dc_shell": "Data-center shell",
    "dc_equipment": "Data-center equipment",
    "data_centers": "Data centers",
    "total": "Total",
}


def line_label(line: str) -> str:
    """A yearly line for a reader, with its unit: ``credit_earned`` -> ``Credit earned [USD]``."""
    return LINE_LABELS.get(line) or f"{readable_name(line).capitalize()} [USD]"


def category_label(name: str) -> str:
    """A category (or group) for a reader: ``dc_shell`` -> ``Data-center shell``, ``grid`` -> ``Grid``."""
    return CATEGORY_LABELS.get(name) or readable_name(name).capitalize()


def readable_name(text: str) -> str:
    """A code name for a reader: ``data_centers`` -> ``data centers``."""
    return text.replace("_", " ")


def _percent(x) -> str:
    """A rate parameter of the scenario (a discount rate) as written: ``0.1 -> '10%'``."""
    return fmt.parameter_value(float(np.asarray(x)), "per year")


def _join(items: Sequence[str]) -> str:
    items = list(items)
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + " and " + items[-1]


# --------------------------------------------------------------------------- sources


def footnote(scenarios: Scenario | Sequence[Scenario], version: str) -> str:
    """The chart footnote: how many published sources and stated assumptions the values cite, where
    they are listed, and ``finmodel VERSION``.

    Sources are counted over the IDs the scenarios' values cite
    (:func:`finmodel.analysis.provenance.sources_used`); IDs starting with
    ``asm-`` are assumptions.

    >>> from finmodel.scenario.load import scenario_from_dict
    >>> s = scenario_from_dict({"program": {"commitment_usd": "1B", "start_year": 2025, "years": 2},
    ...                         "categories": {"a": {"share": 1, "macrs_years": 5}}})
    >>> footnote(s, "1.0")
    'No sources cited in the scenario; finmodel 1.0'
    """
    scenarios = [scenarios] if isinstance(scenarios, Scenario) else list(scenarios)
    ids = list(dict.fromkeys(s for sc in scenarios for s in provenance.sources_used(sc)))
    n_assumed = sum(s.startswith(ASSUMPTION_PREFIX) for s in ids)
    n_cited = len(ids) - n_assumed
    if not ids:
        return f"No sources cited in the scenario{'s' if len(scenarios) > 1 else ''}; finmodel {version}"
    where = "tables.xlsx" if len(scenarios) == 1 else "each scenario's tables.xlsx"
    parts = [
        f"{n} {what}{'s' if n != 1 else ''}"
        for n, what in ((n_cited, "public source"), (n_assumed, "stated assumption"))
        if n
    ]
    return f"Sources: {' and '.join(parts)}, listed in {where}; finmodel {version}"


# --------------------------------------------------------------------------- summary


def baseline_text(scenario, capital: bool = False) -> str:
    """What a tornado's line or a histogram's marker stands for: the scenario as written, or, with
    ``--set`` items, the scenario with them (``scenario with --set finance.discount_rate=8%``).

    >>> from types import SimpleNamespace
    >>> baseline_text(SimpleNamespace(overrides=()), capital=True)
    'Scenario as written'
    >>> baseline_text(SimpleNamespace(overrides=({"given": "finance.discount_rate=8%"},)))
    'scenario with --set finance.discount_rate=8%'
    """
    given = [o["given"] for o in getattr(scenario, "overrides", ())]
    text = "scenario as written"
    if given:
        listed = ", ".join(given)
        text = (
            f"scenario with --set {listed}"
            if len(listed) <= 48
            else f"scenario with {len(given)} --set items"
        )
    return text[:1].upper() + text[1:] if capital else text


def case_label(case: str) -> str:
    """A case's name for a reader: ``Without AMIC``, ``With AMIC``, else as written (``_`` as spaces)."""
    return CASE_LABELS.get(case) or readable_name(case).capitalize()


def _metric_cells(results: Results, name: str) -> tuple[str, ...]:
    """A metric's value in every case and its change (with - without) as text.

    A payback year never reached reads ``none by END``.
    """
    unit = ALL_CASE_METRICS[name]
    values = [results.metric(name, c) for c in results.cases]
    cells = [fmt.metric(v, unit) for v in values]
    if name == "payback_year":
        end = int(results.years[-1])
        cells = [f"none by {end}" if y is None else fmt.year(y) for y in values]
    return (*cells, fmt.metric(results.delta(name), unit, delta=True))


def summary_metric_labels(results: Results) -> dict[str, str]:
    """The rows of the memo table: each per-case metric of the run with its label."""
    inp = results.inputs
    r = _percent(inp.discount_rate[results.cases.index("with")])
    labels = {
        "npv_usd": f"NPV at {r}, {inp.valuation_year} dollars",
        "irr": "IRR",
        "payback_year": "Payback year",
        "peak_funding_usd": "Peak funding need",
        "credit_earned_usd": "Credit earned (nominal)",
        "pv_credit_usd": f"PV of credit cash at {r}",
        "breakeven_revenue_usd_per_gw_year": "Break-even revenue per GW-year",
    }
    if "equity_npv_usd" in results.metrics:
        er = _percent(inp.equity_discount_rate[results.cases.index("with")])
        labels["equity_npv_usd"] = f"Equity NPV at {er}"
    return {name: labels.get(name) or METRIC_LABELS[name] for name in results.metric_names}


def summary_rows(results: Results) -> list[tuple[str, ...]]:
    """The memo table: (label, one column per case, change), money in $B, first row the header.

    Rows: NPV, IRR, payback year, peak funding need, credit earned, PV of
    credit cash, break-even revenue per GW-year (MODEL.md section 9), the
    debt, guarantee and offset metrics where the scenario has them (sections
    13-16), then the Treasury's cost in the budget window and in present
    value (section 10): with two cases in the change column, with more in
    each case's column. The command line prints the same rows.
    """
    inp = results.inputs
    cases = results.cases
    rows: list[tuple[str, ...]] = [("", *[case_label(c) for c in cases], "Change")]
    for name, label in summary_metric_labels(results).items():
        rows.append((label, *_metric_cells(results, name)))
    start, end = results.fiscal("with")["window"]
    fr = _percent(inp.fiscal_discount_rate)
    years = f"{int(results.years[0])}\u2013{int(results.years[-1])}"
    for key, label in (
        ("fiscal_cost_window_usd", f"Treasury cost {start}\u2013{end}"),
        ("fiscal_cost_pv_usd", f"Treasury cost, PV at {fr} ({years})"),
    ):
        if len(cases) == 2:
            rows.append((label, "", "", fmt.money(results.fiscal("with")[key])))
        else:
            rows.append((label, "", *[fmt.money(results.fiscal(c)[key]) for c in cases[1:]], ""))
    return rows


def summary_align(results: Results) -> str:
    """Column alignment of :func:`summary_rows`: the label left, every figure right."""
    return "l" + "r" * (len(results.cases) + 1)


def _md_table(rows: Sequence[Sequence[str]], align: Sequence[str]) -> str:
    head, *body = rows
    out = [
        "| " + " | ".join(head) + " |",
        "|" + "|".join(":---" if a == "l" else "---:" for a in align) + "|",
    ]
    out += ["| " + " | ".join(r) + " |" for r in body]
    return "\n".join(out)


def _value_sentence(results: Results) -> str:
    """What the extension is worth to the owner in present value."""
    inp = results.inputs
    r = _percent(inp.discount_rate[results.cases.index("with")])
    when = f"at {r} a year, in {inp.valuation_year} dollars"
    eligible = [readable_name(x) for x in results.scenario["policy.amic.eligible"]]
    npv_o, npv_w = results.metric("npv_usd", "without"), results.metric("npv_usd", "with")
    if not eligible:
        return (
            f"The scenario makes no category eligible for the AMIC: the program's net present "
            f"value is {fmt.money(npv_o)} without and {fmt.money(npv_w)} with ({when})."
        )
    d_npv = results.delta("npv_usd") or 0.0
    verb = "raises" if d_npv >= 0 else "lowers"
    return (
        f"Extending the AMIC to {_join(eligible)} {verb} the program's net present value by "
        f"{fmt.money(abs(d_npv))} ({when}), from {fmt.money(npv_o)} to {fmt.money(npv_w)}."
    )


def monetization_text(scenario: Scenario, short: bool = False) -> str:
    """How the credit becomes cash: ``paid out by direct pay``, ``sold by transfer at 93 cents per dollar``.

    ``short`` gives a legend's words: ``direct pay``, ``transfer at 93¢``.
    """
    how = scenario["policy.amic.monetization"]
    cents = fmt.number(scenario["policy.amic.transfer_price"] * 100, fmt.LABEL_DIGITS)
    if short:
        return {"direct_pay": "direct pay", "transfer": f"transfer at {cents}\u00a2"}.get(how, how)
    return {
        "direct_pay": "paid out by direct pay",
        "transfer": f"sold by transfer at {cents} cents per dollar",
    }.get(how, how)


def _credit_sentence(results: Results) -> str | None:
    """What the credit is, when it is earned and paid, and its present value (None without credit)."""
    s = results.scenario
    earned = np.asarray(results.lines["credit_earned"])[results.cases.index("with")].sum(axis=0)
    if not np.any(earned > 0):
        return None
    y0, y1 = int(results.years[earned > 0][0]), int(results.years[earned > 0][-1])
    span = str(y0) if y0 == y1 else f"{y0}\u2013{y1}"
    lag = int(s["policy.amic.payment_lag_years"])
    return (
        f"The property placed in service in {span} earns "
        f"{fmt.money(results.metric('credit_earned_usd', 'with'))} of credit; "
        f"{monetization_text(s)} {lag} year{'s' if lag != 1 else ''} later, it is worth "
        f"{fmt.money(results.metric('pv_credit_usd', 'with'))} in present value."
    )


def _treasury_sentence(results: Results) -> str:
    """The Treasury's cost in the budget window and in present value."""
    fiscal = results.fiscal("with")
    ws, we = fiscal["window"]
    cost = fiscal["fiscal_cost_window_usd"]
    first, last = int(results.years[0]), int(results.years[-1])
    return (
        f"It {'costs the Treasury' if cost >= 0 else 'saves the Treasury'} {fmt.money(abs(cost))} "
        f"in the {we - ws + 1}-year budget window {ws}\u2013{we}, and "
        f"{fmt.money(fiscal['fiscal_cost_pv_usd'])} in present value "
        f"over {first}\u2013{last} (at {_percent(results.inputs.fiscal_discount_rate)})."
    )


def _breakeven_sentence(results: Results) -> str:
    """How the credit moves the break-even compute price."""
    unit = METRICS["breakeven_revenue_usd_per_gw_year"]
    be_o = results.metric("breakeven_revenue_usd_per_gw_year", "without")
    be_w = results.metric("breakeven_revenue_usd_per_gw_year", "with")
    if be_o is None or be_w is None:
        return "The break-even compute price is not defined: the scenario delivers no capacity."
    rel = f" ({fmt.relative_change((be_w - be_o) / be_o)})" if be_o else ""
    assumed = float(np.asarray(results.inputs.revenue_usd_per_gw_year)[results.cases.index("with")])
    return (
        f"It {'lowers' if be_w <= be_o else 'raises'} the break-even compute price, the revenue per "
        f"GW-year at which the program's NPV is zero, from {fmt.money(be_o, unit)} to "
        f"{fmt.money(be_w, unit)} per GW-year{rel}, against an assumed {fmt.money(assumed, unit)}."
    )


def _returns_sentence(results: Results) -> str:
    """How the credit moves IRR, payback and the funding need."""
    last = int(results.years[-1])
    irr = [fmt.rate(results.metric("irr", c)) for c in ("without", "with")]
    pb_o, pb_w = (results.metric("payback_year", c) for c in ("without", "with"))

    def pb(y):
        return f"no payback by {last}" if y is None else fmt.year(y)

    if pb_o != pb_w:
        payback = f"payback from {pb(pb_o)} to {pb(pb_w)}"
    else:
        payback = f"no payback by {last} in either case" if pb_o is None else f"payback stays at {pb(pb_o)}"
    peak = [fmt.money(results.metric("peak_funding_usd", c)) for c in ("without", "with")]
    return (
        f"The IRR moves from {irr[0]} to {irr[1]}, {payback}, "
        f"and the peak funding need from {peak[0]} to {peak[1]}."
    )


def headline_sentences(results: Results) -> list[str]:
    """Three to five sentences with the headline numbers, units and years, from ``results``.

    What the extension is worth in present value, what the credit is and
    when it is paid, what it costs the Treasury in the budget window and in
    present value, how it moves the break-even compute price, and how it
    moves IRR, payback and the funding need.
    """
    sentences = [
        _value_sentence(results),
        _credit_sentence(results),
        _treasury_sentence(results),
        _breakeven_sentence(results),
        _returns_sentence(results),
    ]
    return [x for x in sentences if x is not None]


def case_comparison_sentence(results: Results) -> str:
    """One line on every case against ``without``: the program's gain and the Treasury's cost, both PV.

    The gain is the change in equity NPV where the program borrows (else in
    NPV); a case with a loan guarantee also gets its subsidy cost as the
    budget scores it (FCRA: expected defaults less fees).
    """
    from finmodel.outputs.charts.financing import value_and_cost  # the chart's own figures

    cases, gains, costs, subsidy = value_and_cost(results)
    what = "equity NPV" if "equity_npv_usd" in results.metrics else "NPV"
    parts = []
    for case, gain, cost, scored in zip(cases, gains, costs, subsidy, strict=True):
        text = f"{case_label(case)}, {fmt.money(gain, sign=True)} for {fmt.money(cost)}"
        if cost and abs(cost) >= 1e6 and gain is not None:
            text += f" (${gain / cost:,.2f} per dollar)"
        if scored is not None:
            text += f", the guarantee scored at {fmt.money(scored)} under FCRA"
        parts.append(text)
    fr = _percent(results.inputs.fiscal_discount_rate)
    return (
        f"Against neither instrument, the program's gain in {what} and the Treasury's cost, both in "
        f"present value (the Treasury's at {fr}): " + "; ".join(parts) + "."
    )


def _line_total(results: Results, line: str, case: str) -> np.ndarray:
    """A yearly line of one case, summed over categories where it has them. [USD] or [GW]"""
    values = np.asarray(results.lines[line])[results.cases.index(case)]
    return values.sum(axis=0) if values.ndim == 2 else values


def by_year_rows(results: Results) -> list[tuple[str, ...]]:
    """The table by year of ``summary.md``: credit earned, the Treasury's cost, cash flows, capacity.

    One row per year of the scenario; the credit earned and the Treasury's
    cost (against ``without``) of every case but ``without``, the program's
    cash flow of every case, and the capacity operating in ``with`` [GW]. The
    figures are the sums of ``cashflows.csv`` by case, year and line. First
    row: the header.
    """
    cases = results.cases
    others = [c for c in cases if c != "without"]
    one = len(others) == 1

    def name(what: str, case: str) -> str:
        return what if one else f"{what}, {case_label(case)}"

    columns: list[tuple[str, str, str]] = [(name("Credit earned", c), "credit_earned", c) for c in others]
    columns += [(name("Treasury cost", c), "fiscal_cost", c) for c in others]
    columns += [(f"Cash flow, {case_label(c)}", "cash_flow", c) for c in cases]
    data = [_line_total(results, line, case) for _, line, case in columns]
    gw = _line_total(results, "operating_gw", "with") if "operating_gw" in results.lines else None
    rows: list[tuple[str, ...]] = [
        ("Year", *[c[0] for c in columns]) + (() if gw is None else ("Capacity, GW",))
    ]
    for t, y in enumerate(results.years):
        cells = [fmt.money(d[t]) for d in data] + ([] if gw is None else [fmt.gigawatts(gw[t])])
        rows.append((fmt.year(y), *cells))
    return rows


def summary_markdown(results: Results, version: str | None = None) -> str:
    """``summary.md``: title, headline sentences, the memo table, and what the figures mean."""
    s = results.scenario
    first, last = int(results.years[0]), int(results.years[-1])
    lines = [
        f"# {s.title}",
        "",
        f"Scenario `{s.name}`; years {first}\u2013{last}; nominal USD, $B = billion.",
        "",
    ]
    lines += [" ".join(headline_sentences(results)), ""]
    if len(results.cases) > 2:
        lines += [case_comparison_sentence(results), ""]
    lines += [_md_table(summary_rows(results), summary_align(results)), ""]
    lines += [
        "Change = with minus without. Treasury cost = the credit's cost plus the income tax "
        "given up (MODEL.md section 10); positive is a cost. Break-even revenue: the revenue "
        "per GW-year at "
        "which the NPV is zero, all else fixed.",
        "",
    ]
    table = by_year_rows(results)
    lines += ["By year:", "", _md_table(table, "l" + "r" * (len(table[0]) - 1)), ""]
    lines += [
        "Credit earned: on the property placed in service that year (nominal). Treasury cost: "
        "against without, in the year it falls. Cash flow: the program's after-tax cash flow, "
        "the terminal value in the last year. Capacity: IT capacity operating at the end of the year.",
        "",
    ]
    lines += ["What the figures assume:", ""] + [f"- {x}" for x in assumption_sentences(results)] + [""]
    if results.notes:
        lines += ["Notes:", ""] + [f"- {note[0].upper()}{note[1:]}." for note in results.notes] + [""]
    lines += [
        f"Sources: {', '.join(provenance.sources_used(s)) or 'none cited'}; "
        "full citations in tables.xlsx (sheet Sources).",
    ]
    if version:
        lines += ["", f"finmodel {version}"]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- tables


# --------------------------------------------------------------------------- comparison


def check_same_grid(scenarios: Sequence[Scenario]) -> None:
    """Refuse to compare scenarios measured over different years.

    Every scenario must share the first and last year, the valuation year
    and the budget window of the first one; otherwise NPVs, IRRs and
    Treasury costs would be measured over different years and the table
    would compare unlike things. Nothing is aligned silently: raises
    :class:`ScenarioError` naming each differing key, file and line.
    """
    if not scenarios:
        return
    ref = scenarios[0]

    def grid(s: Scenario) -> dict[str, Any]:
        return {
            "program.start_year": s["program.start_year"],
            "analysis.end_year": s["analysis.end_year"],
            "finance.valuation_year": s["finance.valuation_year"],
            "fiscal.window_start": s["fiscal.window_start"],
            "fiscal.window_years": s["fiscal.window_years"],
        }

    want = grid(ref)
    problems = []
    for s in scenarios[1:]:
        for key, value in grid(s).items():
            if value != want[key]:
                prov = s.provenance.get(key)
                problems.append(
                    Problem(
                        (prov.file if prov and prov.file else s.path) or s.name,
                        prov.line if prov else None,
                        key,
                        f"is {value} in scenario '{s.name}' but {want[key]} in '{ref.name}' "
                        f"({ref.path}); compare needs the same years, valuation year and "
                        "budget window in every scenario "
                        "(it does not re-align them); set the same value or compare separately",
                    )
                )
    if problems:
        raise ScenarioError(problems)


#: The comparison's columns and their units; ``_with`` columns hold the row's case
#: (``with``, or another case of a scenario with ``cases:``), ``_without`` the scenario's ``without``.
COMPARE_COLUMNS: dict[str, str] = {
    "label": "-",
    "scenario": "-",
    "case": "-",
    "title": "-",
    "delta_npv_usd": "USD",
    "credit_earned_usd": "USD",
    "pv_credit_usd": "USD",
    "fiscal_window": "years",
    "fiscal_cost_window_usd": "USD",
    "fiscal_cost_pv_usd": "USD",
    "breakeven_without_usd_per_gw_year": "USD/GW-year",
    "breakeven_with_usd_per_gw_year": "USD/GW-year",
    "irr_without": "fraction",
    "irr_with": "fraction",
}
#: The figures of the comparison's Markdown table, in order; changes are signed.
COMPARE_FIGURES = [c for c, unit in COMPARE_COLUMNS.items() if unit not in ("-", "years")]
COMPARE_CHANGES = {"delta_npv_usd"}


def compare_table(results: Sequence[Results]) -> pd.DataFrame:
    """One row per scenario and case other than ``without``, the figures in their units (USD, fractions).

    A scenario with ``cases:`` gets a row for each of its cases (``with``,
    ``guarantee_only``, ...), each against the scenario's ``without``: the
    change in NPV, the credit earned, the Treasury's cost of that case. NaN
    where undefined.
    """
    rows = []
    for r in results:
        for case in (c for c in r.cases if c != "without"):
            f = r.fiscal(case)

            def m(name, case, r=r):
                value = r.metric(name, case)
                return np.nan if value is None else value

            npv, npv_without = r.metric("npv_usd", case), r.metric("npv_usd", "without")
            rows.append(
                {
                    "label": r.scenario.label,
                    "scenario": r.scenario.name,
                    "case": case,
                    "title": r.scenario.title,
                    "delta_npv_usd": np.nan if npv is None or npv_without is None else npv - npv_without,
                    "credit_earned_usd": m("credit_earned_usd", case),
                    "pv_credit_usd": m("pv_credit_usd", case),
                    "fiscal_window": f"{f['window'][0]}-{f['window'][1]}",
                    "fiscal_cost_window_usd": f["fiscal_cost_window_usd"],
                    "fiscal_cost_pv_usd": f["fiscal_cost_pv_usd"],
                    "breakeven_without_usd_per_gw_year": m("breakeven_revenue_usd_per_gw_year", "without"),
                    "breakeven_with_usd_per_gw_year": m("breakeven_revenue_usd_per_gw_year", case),
                    "irr_without": m("irr", "without"),
                    "irr_with": m("irr", case),
                }
            )
    return pd.DataFrame(rows, columns=list(COMPARE_COLUMNS))


def compare_markdown(table: pd.DataFrame) -> str:
    """The comparison table for a memo: money in $B, IRR in %."""

    def num(x):
        return None if pd.isna(x) else float(x)

    window = table["fiscal_window"].iloc[0].replace("-", "\u2013") if len(table) else ""
    head = (
        "Scenario",
        "Change in NPV",
        "Credit earned",
        "PV of credit",
        f"Treasury cost {window}",
        "Treasury cost, PV",
        "Break-even without",
        "Break-even with",
        "IRR without",
        "IRR with",
    )
    rows = [head]
    several = table.groupby("scenario", sort=False)["case"].transform("size") > 1 if len(table) else []
    for (_, r), many in zip(table.iterrows(), several, strict=True):
        cells = [str(r["label"]) + (f", {case_label(r['case'])}" if many else "")]
        for column in COMPARE_FIGURES:
            value = None if pd.isna(r[column]) else float(r[column])
            cells.append(fmt.metric(value, COMPARE_COLUMNS[column], delta=column in COMPARE_CHANGES))
        rows.append(tuple(cells))
    notes = (
        "A scenario with more cases has a row per case, each against its without. "
        "Money in nominal USD billions; NPV and PV of credit at each scenario's discount rate, "
        "Treasury cost PV at its fiscal discount rate. Break-even: revenue per GW-year at which "
        "NPV is zero."
    )
    names = table.drop_duplicates("scenario")
    titles = "\n".join(f"- {r['label']} (`{r['scenario']}`): {r['title']}" for _, r in names.iterrows())
    return _md_table(rows, "l" + "r" * (len(head) - 1)) + "\n\n" + notes + "\n\n" + titles + "\n"


def stat_text(metric: str, value: float, delta: bool) -> str:
    """One statistic of a metric as memo text, in the metric's unit; a payback never reached: ``never``."""
    if metric == "payback_year" and value is not None and np.isinf(value):
        return "never"
    return fmt.metric(value, METRIC_UNITS.get(metric, "-"), delta=delta)


def stats_table(frame: pd.DataFrame, columns: Sequence[str] = ("p5", "p50", "p95", "mean")) -> pd.DataFrame:
    """A table of statistics by ``(metric, case)`` as memo text: money in $B, IRR in %, years as years.

    ``frame`` is indexed by ``(metric, case)`` (as
    :meth:`finmodel.analysis.montecarlo.MonteCarloResult.summary`); ``delta`` rows get
    signs and percentage points. Returns strings, with readable metric names.

    >>> df = pd.DataFrame({"p50": [1.957e11, 0.111]},
    ...                   index=pd.MultiIndex.from_tuples([("npv_usd", "delta"), ("irr", "with")]))
    >>> stats_table(df, ["p50"])["p50"].tolist()
    ['+$195.7B', '11.1%']
    """
    rows = {}
    for (metric, case), row in frame.iterrows():
        label = (METRIC_LABELS.get(metric, readable_name(metric)), case)
        rows[label] = [stat_text(metric, float(row[c]), is_delta(case)) for c in columns]
    table = pd.DataFrame.from_dict(rows, orient="index", columns=list(columns))
    table.index = pd.MultiIndex.from_tuples(table.index, names=["metric", "case"])
    return table


def _distribution_text(path: str, d) -> str:
    """One drawn parameter's distribution in words and the parameter's unit."""
    from finmodel.scenario.units import parse_rate

    def f(x) -> str:
        if isinstance(x, Mapping) and "shares" in x:  # a spend schedule, shares as written
            x = {**x, "shares": [parse_rate(v) for v in x["shares"]]}
        return provenance.value_text(path, x, label=True)

    bounded = np.isfinite(d.low) or np.isfinite(d.high)
    if d.kind == "uniform":
        return f"{f(d.low)} to {f(d.high)}"
    if d.kind in ("triangular", "pert"):
        return f"{f(d.low)} / {f(d.mode)} / {f(d.high)} (low / most likely / high)"
    if d.kind == "normal":
        within = f", kept within {f(d.low)} to {f(d.high)}" if bounded else ""
        return f"mean {f(d.mean)}, sd {f(d.sd)}{within}"
    if d.kind == "lognormal":
        return f"median {f(d.median)}, sigma {fmt.number(d.sigma, fmt.LABEL_DIGITS)} (of the log)"
    if d.kind == "choice":
        return "; ".join(
            f"{f(v)} ({fmt.rate(w, decimals=0)})" for v, w in zip(d.values, d.weights, strict=True)
        )
    return d.kind


def uncertainty_table(scenario: Scenario) -> pd.DataFrame:
    """The scenario's ``uncertainty:`` block as memo text: parameter, label, distribution, range.

    Numbers are shown in each parameter's unit ($B, %, years); empty when the
    scenario has no block.
    """
    from finmodel.analysis.uncertainty import param_label, uncertainty_spec

    spec = uncertainty_spec(scenario)
    rows = []
    for path, d in (spec.parameters if spec else {}).items():
        rows.append(
            {
                "parameter": path,
                "label": param_label(path),
                "distribution": d.kind,
                "values": _distribution_text(path, d),
            }
        )
    return pd.DataFrame(rows, columns=["parameter", "label", "distribution", "values"]).set_index("parameter")
