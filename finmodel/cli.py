"""Command line: ``finmodel run | validate | ...``. Parses, calls, prints; no model logic.

Exit status: 0 success; 1 a run that could not complete (message, no
traceback); 2 bad input (every problem on stderr as ``file:line: key:
message``), in which case nothing is written.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from . import __version__
from .model import METRICS, NumericalError, Results, run
from .report import OutputError, prepare_out_dir, write_run
from .scenario import ScenarioError, load_scenario
from .units import format_usd

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors are bad input too: exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"finmodel: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def format_metric(name: str, value: float | None, delta: bool = False) -> str:
    """A metric for the terminal: money in $B, rates in %, years as years."""
    if value is None:
        return "n/a"
    unit = METRICS.get(name, "")
    if unit.startswith("USD"):
        text = format_usd(value, "B", 1)
        return ("+" + text if delta and value > 0 else text)
    if unit == "fraction":
        return f"{value * 100:+.1f} pp" if delta else f"{value * 100:.1f}%"
    if unit == "year":
        return f"{value:+.0f} y" if delta else f"{value:.0f}"
    return f"{value:g}"


LABELS = {
    "npv_usd": "NPV",
    "irr": "IRR",
    "payback_year": "Payback year",
    "peak_funding_usd": "Peak funding need",
    "credit_earned_usd": "Credit earned",
    "pv_credit_usd": "PV of credit cash",
    "breakeven_revenue_usd_per_gw_year": "Break-even revenue per GW-year",
}


def summary_table(results: Results) -> str:
    """Rows = metrics, columns = without / with / delta; money in $B."""
    rows = [("", "without", "with", "delta")]
    for m in METRICS:
        rows.append((
            LABELS[m],
            format_metric(m, results.metric(m, "without")),
            format_metric(m, results.metric(m, "with")),
            format_metric(m, results.delta(m), delta=True),
        ))
    fiscal = results.fiscal("with")
    start, end = fiscal["window"]
    rows.append((f"Treasury cost {start}-{end}", "", "", format_usd(fiscal["fiscal_cost_window_usd"])))
    rows.append(("Treasury cost, PV", "", "", format_usd(fiscal["fiscal_cost_pv_usd"])))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for k, r in enumerate(rows):
        lines.append("  ".join([r[0].ljust(widths[0])] + [r[i].rjust(widths[i]) for i in (1, 2, 3)]))
        if k == 0:
            lines.append("-" * len(lines[0]))
    return "\n".join(lines)


def _report_problems(exc: ScenarioError) -> int:
    for problem in exc.problems:
        print(str(problem), file=sys.stderr)
    n = len(exc.problems)
    print(f"finmodel: {n} problem{'s' if n != 1 else ''} found; nothing was written", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_run(args) -> int:
    scenario = load_scenario(args.scenario)
    out = prepare_out_dir(args.out, args.force) if args.out else None
    results = run(scenario)
    print(f"{scenario.title}\n")
    print(summary_table(results))
    if out is not None:
        written = write_run(results, out, command=["finmodel", *args.argv])
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    return EXIT_OK


def cmd_validate(args) -> int:
    problems = []
    for path in args.scenarios:
        try:
            load_scenario(path)
            print(f"{path}: ok")
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        return _report_problems(ScenarioError(problems))
    return EXIT_OK


def _load_all(paths: Sequence[str]) -> list:
    """Load every scenario; raise one ScenarioError with the problems of all files."""
    scenarios, problems = [], []
    for path in paths:
        try:
            scenarios.append(load_scenario(path))
        except ScenarioError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ScenarioError(problems)
    return scenarios


def cmd_report(args) -> int:
    """Memo pack per scenario: charts (PNG, SVG, PDF), summary.md, tables.xlsx, summary.json, cashflows.csv."""
    import matplotlib

    matplotlib.use("Agg")  # files only: no window, whatever the environment says
    from .memo import headline_sentences
    from .report import check_pack_names, write_report, write_reports

    scenarios = _load_all(args.scenarios)
    if len(scenarios) > 1:
        check_pack_names(scenarios)
    out = prepare_out_dir(args.out, args.force)
    results = [run(s) for s in scenarios]
    command = ["finmodel", *args.argv]
    written = write_report(results[0], out, command) if len(results) == 1 else write_reports(results, out, command)
    for r in results:
        print(f"{r.scenario.title}\n")
        print(" ".join(headline_sentences(r)) + "\n")
    print(f"wrote {len(written)} files under {out}")
    return EXIT_OK


def cmd_compare(args) -> int:
    """Scenarios side by side: compare.csv/.md/.xlsx and comparison charts; one year grid required."""
    import matplotlib

    matplotlib.use("Agg")
    from .memo import check_same_grid, compare_markdown, compare_table
    from .report import check_pack_names, write_compare

    if len(args.scenarios) < 2:
        print("finmodel: compare needs at least two scenario files", file=sys.stderr)
        return EXIT_BAD_INPUT
    scenarios = _load_all(args.scenarios)
    check_same_grid(scenarios)
    check_pack_names(scenarios)
    out = prepare_out_dir(args.out, args.force)
    results = [run(s) for s in scenarios]
    written = write_compare(results, out, ["finmodel", *args.argv])
    print(compare_markdown(compare_table(results)))
    print(f"wrote {len(written)} files under {out}")
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="finmodel", description="Compute-investment model: with vs without the section 48D credit (AMIC).")
    parser.add_argument("--version", action="version", version=f"finmodel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("run", help="run one scenario; print the metrics; write summary.json and cashflows.csv")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--out", help="output folder (summary.json, cashflows.csv, run.json)")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder not made by finmodel")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", help="scenario YAML files")
    p.set_defaults(func=cmd_validate)
    p = sub.add_parser("report", help="memo pack per scenario: charts, summary.md, tables.xlsx, summary.json")
    p.add_argument("scenarios", nargs="+", help="scenario YAML files (several: one subfolder each, by name)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder not made by finmodel")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="scenarios side by side: table (CSV, Markdown, xlsx) and charts")
    p.add_argument("scenarios", nargs="+", help="two or more scenario YAML files with the same year grid")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--force", action="store_true", help="write into a non-empty folder not made by finmodel")
    p.set_defaults(func=cmd_compare)

    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    try:
        return args.func(args)
    except ScenarioError as exc:
        return _report_problems(exc)
    except OutputError as exc:
        print(f"finmodel: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NumericalError as exc:
        print(f"finmodel: numerical error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("finmodel: interrupted; no partial file was left", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
