"""Command line: ``finmodel run | validate | ...``. Parses, calls, prints; no model logic.

Exit status: 0 success; 1 a run that could not complete (message, no
traceback); 2 bad input (every problem on stderr as ``file:line: key:
message``), in which case nothing is written; 130 interrupted; 141 standard
output closed by its reader (``finmodel sources x.yaml | head -1``): the
run stops printing, without a message, as a program ended by SIGPIPE would.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from finmodel._version import __version__
from finmodel.analysis import provenance
from finmodel.engine.model import NumericalError, run
from finmodel.outputs import terminal
from finmodel.outputs.check import CheckError, check_run
from finmodel.outputs.report import (
    OutputError,
    manifest_files,
    prepare_out_dir,
    remove_stale,
    write_run,
    write_text,
)
from finmodel.scenario import ScenarioError
from finmodel.scenario import load_scenario as load_scenario_file
from finmodel.scenario.schema import SCHEMA_FILE, schema_text
from finmodel.scenario.whatif import apply_sets, set_item_replaced

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2
#: Interrupted (Ctrl-C), and standard output closed by its reader: 128 + the number of
#: SIGINT (2) and SIGPIPE (13), as a shell reports a process those signals end.
EXIT_INTERRUPTED, EXIT_CLOSED_PIPE = 130, 141


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors are bad input too: exit 2, no traceback
        self.print_usage(sys.stderr)
        print(f"finmodel: error: {message}", file=sys.stderr)
        raise SystemExit(EXIT_BAD_INPUT)


def _report_problems(exc: ScenarioError) -> int:
    for problem in exc.problems:
        print(str(problem), file=sys.stderr)
    n = len(exc.problems)
    print(f"finmodel: {n} problem{'s' if n != 1 else ''} found; nothing was written", file=sys.stderr)
    return EXIT_BAD_INPUT


#: This run's treatment of scenario warnings: refused (``--strict``) or printed, each once.
_warnings: dict = {"strict": False, "printed": set()}


def load_scenario(path):
    """Load a scenario file; its warnings go to stderr as ``FILE:LINE: KEY: warning: ...``.

    Every command that reads a scenario file loads it here. Under ``--strict``
    the warnings are problems: :class:`ScenarioError`, exit 2, nothing written.
    """
    scenario = load_scenario_file(path)
    if scenario.warnings and _warnings["strict"]:
        raise ScenarioError(
            [replace(w, message=f"warning: {w.message} (an error under --strict)") for w in scenario.warnings]
        )
    for w in scenario.warnings:
        text = str(replace(w, message=f"warning: {w.message}"))
        if text not in _warnings["printed"]:  # a parent shared by two files warns once
            _warnings["printed"].add(text)
            print(text, file=sys.stderr)
    return scenario


def cmd_run(args) -> int:
    if args.check is not None:
        return cmd_check(args)
    if args.scenario is None:
        raise _UsageError("run needs a scenario file (or --check DIR to re-run a recorded one)")
    scenario = _load(args.scenario, args)
    out = prepare_out_dir(args.out, args.force) if args.out else None
    results = run(scenario)
    print(f"{scenario.title}\n")
    print(terminal.summary_table(results))
    for note in results.notes:
        print(f"note: {note}")
    if out is not None:
        written = write_run(results, out, command=["finmodel", *args.argv])
        print(f"\nwrote {', '.join(str(p) for p in written)}")
    return EXIT_OK


def cmd_check(args) -> int:
    """``finmodel run --check DIR``: re-run what DIR/run.json records and compare the figures.

    A run or report folder: summary.json and cashflows.csv; a montecarlo folder
    (same seed and draws): montecarlo.json, its CSVs and draws.csv if present;
    a sensitivity folder: sensitivity.json and tornado.csv; a sweep or solve folder (the
    grid or search its run.json records): sweep.csv or solve.json.
    """
    if args.scenario is not None or args.out is not None or args.force or args.set:
        raise _UsageError(
            "run --check DIR takes no scenario, --out, --force or --set: it re-runs the scenario "
            "recorded in DIR (with the --set items recorded there)"
        )
    report = check_run(args.check)
    print(terminal.check_text(args.check, report))
    return EXIT_OK if report.identical else EXIT_FAILED


class _UsageError(Exception):
    """A combination of options that makes no sense (exit 2)."""


def cmd_sources(args) -> int:
    """``finmodel sources SCENARIO``: every parameter with value, unit, set/default, where set, source."""
    scenario = load_scenario(args.scenario)
    table = provenance.parameters(scenario)
    if args.csv:
        sys.stdout.write(table.drop(columns=["value"]).to_csv(index=False, lineterminator="\n"))
        return EXIT_OK
    print(terminal.sources_text(scenario, table))
    return EXIT_OK


def cmd_diff(args) -> int:
    """``finmodel diff A B``: parameters whose resolved values differ, and where each side set them."""
    a, b = load_scenario(args.a), load_scenario(args.b)
    table = provenance.diff(a, b)
    if args.csv:
        sys.stdout.write(table.drop(columns=["a", "b"]).to_csv(index=False, lineterminator="\n"))
        return EXIT_OK
    if table.empty:
        print(f"{args.a} and {args.b}: no parameter differs after resolution")
        return EXIT_OK
    print(terminal.diff_text(a, b, table))
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


def cmd_schema(args) -> int:
    """``finmodel schema``: the JSON Schema of scenario files, from the declarations, for editors."""
    text = schema_text()
    if args.path == "-":
        sys.stdout.write(text)
        return EXIT_OK
    if Path(args.path).is_dir():
        raise _UsageError(f"{args.path} is a folder; give the file to write (default {SCHEMA_FILE})")
    why = _not_a_schema_file(Path(args.path))
    if why and not args.force:
        raise _UsageError(f"{args.path} {why}; give another path, or --force to replace it")
    print(f"wrote {write_text(args.path, text)}")
    return EXIT_OK


def _not_a_schema_file(path: Path) -> str | None:
    """Why writing the schema to ``path`` would lose something (None: nothing there, or a schema).

    A scenario file given by mistake (``finmodel schema scenarios/base.yaml``) must not be
    replaced; an earlier schema written by this command may be.
    """
    if not path.exists():
        return None
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096).decode("utf-8", errors="replace")
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if '"$schema"' in head and '"title": "finmodel scenario"' in head:
        return None
    return "exists and is not a finmodel schema (it would be replaced)"


def _set_option(p: argparse.ArgumentParser) -> None:
    """``--set KEY=VALUE`` (repeatable): a what-if without a file, applied to every scenario loaded.

    A command that takes it loads with :func:`_load` or ``_load_all(paths, args.set)``.
    """
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="change a parameter for this run, in the scenario file's notation (repeatable): "
        "operations.utilization=70%%, program.commitment_usd=1.2T, policy.amic.rate[2026]=30%% "
        "(the step starting in 2026), policy.amic.eligible=[servers, grid]; recorded in run.json",
    )


def _load(path: str, args) -> object:
    """Load a scenario and apply the command's ``--set`` items (none: the file as written)."""
    return apply_sets(load_scenario(path), getattr(args, "set", None) or ())


def _load_all(paths: Sequence[str], sets: Sequence[str] = ()) -> list:
    """Load every scenario, each with the ``--set`` items; raise one ScenarioError with every problem."""
    scenarios, problems = [], []
    for path in paths:
        try:
            scenarios.append(apply_sets(load_scenario(path), sets))
        except ScenarioError as exc:
            problems.extend(p for p in exc.problems if p not in problems)  # a bad --set once
    if problems:
        raise ScenarioError(problems)
    return scenarios


def _files_only() -> None:
    """Charts go to files only: no window, whatever the environment says."""
    import matplotlib

    matplotlib.use("Agg")


def cmd_report(args) -> int:
    """Memo pack per scenario: charts, summary.md, tables.xlsx, summary.json, cashflows.csv."""
    _files_only()
    from finmodel.outputs.memo import headline_sentences
    from finmodel.outputs.report import check_pack_names, write_report, write_reports

    scenarios = _load_all(args.scenarios, args.set)
    if len(scenarios) > 1:
        check_pack_names(scenarios)
    out = prepare_out_dir(args.out, args.force)
    results = [run(s) for s in scenarios]
    command = ["finmodel", *args.argv]
    if len(results) == 1:
        written = write_report(results[0], out, command, args.formats)
    else:
        written = write_reports(results, out, command, args.formats)
    for r in results:
        print(f"{r.scenario.title}\n")
        print(" ".join(headline_sentences(r)) + "\n")
    print(f"wrote {len(written)} files under {out}")
    return EXIT_OK


def cmd_compare(args) -> int:
    """Scenarios side by side: compare.csv/.md/.xlsx and charts; one year grid required."""
    _files_only()
    from finmodel.outputs.memo import check_same_grid, compare_markdown, compare_table
    from finmodel.outputs.report import check_pack_names, write_compare

    if len(args.scenarios) < 2:
        print("finmodel: compare needs at least two scenario files", file=sys.stderr)
        return EXIT_BAD_INPUT
    scenarios = _load_all(args.scenarios, args.set)
    check_same_grid(scenarios)
    check_pack_names(scenarios)
    out = prepare_out_dir(args.out, args.force)
    results = [run(s) for s in scenarios]
    written = write_compare(results, out, ["finmodel", *args.argv], args.formats)
    print(compare_markdown(compare_table(results)))
    print(f"wrote {len(written)} files under {out}")
    return EXIT_OK


def cmd_memo(args) -> int:
    """A one- to two-page Word memo draft (memo.docx; memo.pdf where LibreOffice is on PATH)."""
    _files_only()
    from finmodel.outputs.memo import check_same_grid
    from finmodel.outputs.memo_docx import MAX_SCENARIOS, memo_headline
    from finmodel.outputs.report import check_pack_names, write_memo

    if len(args.scenarios) > MAX_SCENARIOS:
        raise _UsageError(
            f"memo takes at most {MAX_SCENARIOS} scenario files (the first and those compared with it "
            f"fit two pages), got {len(args.scenarios)}; use finmodel compare for more"
        )
    scenarios = _load_all(args.scenarios, args.set)
    check_same_grid(scenarios)
    check_pack_names(scenarios)
    out = prepare_out_dir(args.out, args.force)
    results = [run(s) for s in scenarios]
    written = write_memo(results, out, ["finmodel", *args.argv], pdf=not args.no_pdf)
    print(" ".join(memo_headline(results)) + "\n")
    print(f"wrote {', '.join(p.name for p in written)} under {out}")
    return EXIT_OK


# --------------------------------------------------------------------------- uncertainty


def _parse_number_for(path: str, text: str, scenario):
    """A value of ``path`` typed on the command line, in the scenario file's notation."""
    from finmodel.scenario import param_for, parse_value
    from finmodel.scenario.units import UnitError

    p = param_for(path, scenario.values)
    if p is None:
        raise _UsageError(f"unknown parameter {path!r}")
    if text.strip().lower() in ("none", "null") and path == "policy.amic.construction_deadline_year":
        return None
    try:
        x = parse_value(p, text.strip())
    except UnitError:
        try:  # YAML-style numbers: 1e12, 0.35
            x = parse_value(p, float(text))
        except (ValueError, UnitError) as exc:
            raise _UsageError(f"{path}: {exc}") from None
    if isinstance(x, (int, float)) and not isinstance(x, bool):  # within the range a file may write
        from finmodel.scenario.guards import rate_hint
        from finmodel.scenario.varying import range_problem

        whole = path.endswith(".life_years")  # lives are whole years; a replaced one needs 1 or more
        why = range_problem(p, path, float(np.round(x)) if whole else float(x), "value", scenario.values)
        if why:
            hint = rate_hint(text.strip(), float(x), p.lo, p.hi) if p.unit == "fraction" else ""
            raise _UsageError((why if path in why else f"{path}: {why}") + hint)
    return x


def _parse_axis(option: str, spec: str, scenario) -> tuple[str, list]:
    """``PATH=V1,V2,...`` or ``PATH=LOW:HIGH:N`` (N evenly spaced values)."""
    from finmodel.scenario import check_path

    path, sep, rest = spec.partition("=")
    path = path.strip()
    if not sep or not rest.strip():
        raise _UsageError(f"{option} takes PATH=V1,V2,... or PATH=LOW:HIGH:N, got {spec!r}")
    why = check_path(path, scenario.values)
    if why:
        raise _UsageError(f"{option}: {why}")
    _not_set_too(option, path, scenario)
    if rest.count(":") == 2 and "," not in rest:
        lo_text, hi_text, n_text = rest.split(":")
        try:
            n = int(n_text)
        except ValueError:
            raise _UsageError(f"{option}: N in LOW:HIGH:N must be a whole number, got {n_text!r}") from None
        if not 2 <= n <= 1000:
            raise _UsageError(f"{option}: N must be 2 to 1000, got {n}")
        lo, hi = _parse_number_for(path, lo_text, scenario), _parse_number_for(path, hi_text, scenario)
        return path, [float(v) for v in np.linspace(lo, hi, n)]
    values = [_parse_number_for(path, v, scenario) for v in rest.split(",") if v.strip()]
    if not values:
        raise _UsageError(f"{option}: no values in {spec!r}")
    return path, values


def _not_set_too(option: str, path: str, scenario) -> None:
    """A parameter varied by ``option`` is not also fixed by a ``--set`` item its values would replace."""
    given = set_item_replaced(scenario, path)
    if given is not None:
        raise _UsageError(
            f"{option}: {path} varies what --set {given} fixes (its values would replace the --set "
            "value); give the parameter in one place"
        )


def _metric_arg(name: str, scenario=None) -> str:
    """A metric the scenario reports: section 9's and the Treasury's, or its debt, guarantee and pool ones."""
    from finmodel.analysis.metric_names import ALL_METRICS

    known = list(ALL_METRICS)
    if scenario is not None and name not in known:
        known += [m for m in run(scenario).metric_names if m not in known]
    if name not in known:
        raise _UsageError(f"unknown metric {name!r} (known: {', '.join(known)})")
    return name


def _out_for(args):
    return prepare_out_dir(args.out, args.force) if getattr(args, "out", None) else None


def _notes_and_write(result, out, args, writer, **options) -> int:
    """Print a result's notes, then write its files with ``writer`` when ``--out`` was given."""
    for note in result.notes:
        print(f"note: {note}")
    if out is not None:
        written = writer(result, out, command=["finmodel", *args.argv], **options)
        print(f"\nwrote {len(written)} files to {out}")
    return EXIT_OK


def cmd_montecarlo(args) -> int:
    from tqdm import tqdm

    from finmodel.analysis.montecarlo import NoUncertaintyError, run_montecarlo, tune_allocator
    from finmodel.outputs.report import write_montecarlo

    tune_allocator()  # this process exists for the run: keep freed chunk memory for reuse
    scenario = _load(args.scenario, args)
    out = _out_for(args)
    if args.draws is not None and args.draws < 1:
        raise _UsageError(f"--draws must be >= 1, got {args.draws}")
    if args.chunk_size < 1:
        raise _UsageError(f"--chunk-size must be >= 1, got {args.chunk_size}")
    if args.seed is not None and args.seed < 0:  # numpy's seeds are whole numbers >= 0
        raise _UsageError(f"--seed must be a whole number >= 0, got {args.seed}")
    spec_draws = (
        scenario.extras.get("uncertainty", {}).get("draws") if scenario.extras.get("uncertainty") else None
    )
    total = args.draws or spec_draws or 0
    bar = tqdm(
        total=total,
        unit="draw",
        unit_scale=True,
        file=sys.stderr,
        disable=not sys.stderr.isatty(),
        desc="montecarlo",
    )
    try:
        result = run_montecarlo(
            scenario,
            draws=args.draws,
            seed=args.seed,
            chunk_size=args.chunk_size,
            threads=args.threads,
            progress=bar.update,
        )
    except NoUncertaintyError as exc:
        raise _UsageError(str(exc)) from None
    finally:
        bar.close()
    print(terminal.montecarlo_text(result))
    return _notes_and_write(result, out, args, write_montecarlo, draws_csv=args.csv, formats=args.formats)


def cmd_sensitivity(args) -> int:
    from finmodel.analysis.sensitivity import tornado
    from finmodel.outputs.report import write_sensitivity

    scenario = _load(args.scenario, args)
    out = _out_for(args)
    result = tornado(scenario)
    print(f"{scenario.title}\n")
    print(terminal.tornado_text(result))
    return _notes_and_write(result, out, args, write_sensitivity, formats=args.formats)


def _check_case(scenario, case: str) -> None:
    """``--case`` names one of the scenario's cases (or delta): else a usage error listing them."""
    from finmodel.analysis.sensitivity import scenario_cases
    from finmodel.engine.names import case_choices

    known = case_choices(scenario_cases(scenario))
    if case not in known:
        raise _UsageError(f"unknown case {case!r} (this scenario has: {', '.join(known)})")


def cmd_sweep(args) -> int:
    from finmodel.analysis.sensitivity import sweep
    from finmodel.outputs.report import write_sweep

    scenario = _load(args.scenario, args)
    _check_case(scenario, args.case)
    metric = _metric_arg(args.metric, scenario)
    x = _parse_axis("--x", args.x, scenario)
    y = _parse_axis("--y", args.y, scenario) if args.y else None
    if y is not None and y[0] == x[0]:
        raise _UsageError("--x and --y must name different parameters")
    if len(x[1]) * (len(y[1]) if y else 1) > 1_000_000:
        raise _UsageError("the grid has more than 1,000,000 cells")
    out = _out_for(args)
    result = sweep(scenario, x, y, metric, args.case)
    print(
        f"{scenario.title}\n{metric} ({args.case}) by {x[0]}"
        + (f" (columns) and {y[0]} (rows)" if y else "")
        + "\n"
    )
    print(terminal.sweep_text(result))
    return _notes_and_write(result, out, args, write_sweep, formats=args.formats)


def cmd_solve(args) -> int:
    from finmodel.analysis.metric_names import ALL_METRICS
    from finmodel.analysis.sensitivity import SolveError, solve
    from finmodel.outputs.report import write_solve
    from finmodel.scenario import check_path
    from finmodel.scenario.units import UnitError, parse_money, parse_rate

    scenario = _load(args.scenario, args)
    _check_case(scenario, args.case)
    metric = _metric_arg(args.metric, scenario)
    why = check_path(args.param, scenario.values)
    if why:
        raise _UsageError(f"--param: {why}")
    _not_set_too("--param", args.param, scenario)
    unit = ALL_METRICS[metric]
    try:
        if unit.startswith("USD"):
            target = parse_money(args.target)
        elif unit == "fraction":
            target = parse_rate(args.target if "%" in args.target else float(args.target))
        else:
            target = float(args.target)
    except (UnitError, ValueError) as exc:
        raise _UsageError(f"--target: {exc}") from None
    bracket = None
    if args.lo is not None or args.hi is not None:
        if args.lo is None or args.hi is None:
            raise _UsageError("give both --lo and --hi, or neither")
        bracket = (
            _parse_number_for(args.param, args.lo, scenario),
            _parse_number_for(args.param, args.hi, scenario),
        )
    out = _out_for(args)
    try:
        result = solve(scenario, args.param, metric, target, args.case, bracket=bracket)
    except ValueError as exc:
        if isinstance(exc, SolveError):
            print(f"finmodel: {exc}", file=sys.stderr)
            return EXIT_FAILED
        raise _UsageError(str(exc)) from None
    print(terminal.solve_text(result, scenario, target))
    if out is not None:
        written = write_solve(result, out, command=["finmodel", *args.argv])
        print(f"\nwrote {len(written)} files to {out}")
    return EXIT_OK


FORCE_HELP = "write into a non-empty folder not made by finmodel"
STRICT_HELP = "treat scenario warnings (a value that looks mistaken) as errors: exit 2, nothing written"


def _figure_formats(text: str) -> tuple[str, ...]:
    """``png,svg,pdf``: the formats charts are written in (argparse type; a bad one exits 2)."""
    from finmodel.outputs.report import FIGURE_KINDS

    kinds = tuple(dict.fromkeys(k.strip().lower() for k in text.split(",") if k.strip()))
    bad = [k for k in kinds if k not in FIGURE_KINDS]
    if bad or not kinds:
        raise argparse.ArgumentTypeError(
            f"chart formats are a comma-separated list of {', '.join(FIGURE_KINDS)}, got {text!r}"
        )
    return kinds


def _formats_option(p: argparse.ArgumentParser) -> None:
    """``--formats png,svg,pdf``: which files each chart is written as (default png,svg)."""
    p.add_argument(
        "--formats",
        type=_figure_formats,
        default=("png", "svg"),
        metavar="LIST",
        help="chart files to write, comma separated from png, svg, pdf (default png,svg; "
        "pdf embeds fonts and takes longer)",
    )


def _out_options(p: argparse.ArgumentParser, out_help: str, required: bool = False) -> None:
    """``--out`` (the output folder, described by ``out_help``) and ``--force``."""
    p.add_argument("--out", required=required, help=out_help)
    p.add_argument("--force", action="store_true", help=FORCE_HELP)


def _scenario_commands(sub) -> None:
    """run, validate, sources, schema, diff: one scenario (or two) read, run or listed."""
    p = sub.add_parser(
        "run", help="run one scenario; print the metrics; write summary.json and cashflows.csv"
    )
    p.add_argument("scenario", nargs="?", help="scenario YAML file")
    _out_options(p, "output folder (summary.json, cashflows.csv, run.json)")
    _set_option(p)
    p.add_argument(
        "--check",
        metavar="DIR",
        help="re-run what DIR/run.json records (a run, report, montecarlo, sensitivity, sweep or "
        "solve folder) and compare the figures (exit 0 identical, 1 different); writes nothing",
    )
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", help="scenario YAML files")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("sources", help="list every parameter: value, unit, set or default, file:line, source")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--csv", action="store_true", help="print the full listing as CSV (with citations and descriptions)"
    )
    p.set_defaults(func=cmd_sources)

    p = sub.add_parser("schema", help="write the JSON Schema of scenario files (editor completion)")
    p.add_argument(
        "path",
        nargs="?",
        default=SCHEMA_FILE,
        help=f"file to write (default {SCHEMA_FILE}; - for standard output)",
    )
    p.add_argument("--force", action="store_true", help="replace a file that is not a finmodel schema")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser(
        "diff", help="list the parameters that differ between two scenarios (after extends and defaults)"
    )
    p.add_argument("a", help="first scenario YAML file")
    p.add_argument("b", help="second scenario YAML file")
    p.add_argument("--csv", action="store_true", help="print the differences as CSV")
    p.set_defaults(func=cmd_diff)


def _pack_commands(sub) -> None:
    """report, compare and memo: memo packs, comparisons and memo drafts written to a folder."""
    p = sub.add_parser("report", help="memo pack per scenario: charts, summary.md, tables.xlsx, summary.json")
    p.add_argument("scenarios", nargs="+", help="scenario YAML files (several: a subfolder each)")
    _out_options(p, "output folder", required=True)
    _set_option(p)
    _formats_option(p)
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("compare", help="scenarios side by side: table (CSV, Markdown, xlsx), charts")
    p.add_argument("scenarios", nargs="+", help="two or more scenario files with one year grid")
    _out_options(p, "output folder", required=True)
    _set_option(p)
    _formats_option(p)
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser(
        "memo",
        help="one- to two-page Word memo draft (memo.docx): headline, table, charts, assumptions, sources",
        description="Write memo.docx: headline sentences, a compact table, two or three charts, the "
        "assumptions and the sources of the scenario (several: compared with the first). A PDF of the "
        "same (memo.pdf) is written only where LibreOffice (soffice or libreoffice) is on PATH; "
        "without it the PDF is skipped silently.",
    )
    p.add_argument(
        "scenarios", nargs="+", help="1 to 4 scenario YAML files (several: one year grid, the first leads)"
    )
    p.add_argument(
        "--no-pdf", action="store_true", help="write no memo.pdf, even where LibreOffice is on PATH"
    )
    _out_options(p, "output folder (memo.docx, memo.pdf, run.json)", required=True)
    _set_option(p)
    p.set_defaults(func=cmd_memo)


def _uncertainty_commands(sub) -> None:
    """montecarlo, sensitivity, sweep, solve: a scenario under varied parameters."""
    p = sub.add_parser(
        "montecarlo", help="draw the uncertainty: block; P5/P50/P95 of every metric, fan chart, histogram"
    )
    p.add_argument("scenario", help="scenario YAML file with an uncertainty: block")
    p.add_argument("--draws", type=int, help="number of draws (default: the block's draws)")
    p.add_argument(
        "--seed",
        type=int,
        help="random seed (default: the block's seed, else a fresh one, recorded in run.json)",
    )
    p.add_argument("--csv", action="store_true", help="also write draws.csv: every draw's inputs and outputs")
    p.add_argument(
        "--chunk-size",
        type=int,
        default=4096,
        help="draws evaluated at once (memory; results do not depend on it)",
    )
    p.add_argument("--threads", type=int, help="chunks evaluated at once (default: the cores, at most 4)")
    _out_options(p, "output folder (montecarlo.json, CSVs, charts, run.json)")
    _set_option(p)
    _formats_option(p)
    p.set_defaults(func=cmd_montecarlo)

    p = sub.add_parser(
        "sensitivity", help="tornado charts of delta NPV and the Treasury's cost over the sensitivity: block"
    )
    p.add_argument(
        "scenario", help="scenario YAML file (without a sensitivity: block: a default set at -/+20%%)"
    )
    _out_options(p, "output folder (tornado.csv, sensitivity.json, charts, run.json)")
    _set_option(p)
    _formats_option(p)
    p.set_defaults(func=cmd_sensitivity)

    p = sub.add_parser("sweep", help="a metric over a grid of one or two parameters: heatmap and CSV")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument(
        "--x", required=True, metavar="PATH=V1,V2,...", help="parameter and values (or PATH=LOW:HIGH:N)"
    )
    p.add_argument("--y", metavar="PATH=V1,V2,...", help="second parameter and values (or PATH=LOW:HIGH:N)")
    p.add_argument("--metric", default="npv_usd", help="metric name (default npv_usd)")
    p.add_argument(
        "--case",
        default="delta",
        help="case: without, with, one of the scenario's cases:, or delta = with - without (default)",
    )
    _out_options(p, "output folder (sweep.csv, sweep_heatmap, run.json)")
    _set_option(p)
    _formats_option(p)
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("solve", help="the value of one parameter at which a metric hits a target")
    p.add_argument("scenario", help="scenario YAML file")
    p.add_argument("--param", required=True, help="parameter path, e.g. policy.amic.rate")
    p.add_argument("--metric", required=True, help="metric name, e.g. fiscal_cost_window_usd")
    p.add_argument("--target", required=True, help="target value in the metric's unit (100B, 0, 12%%)")
    p.add_argument(
        "--case", default="with", help="case: without, with or one of the scenario's cases: (default with)"
    )
    p.add_argument("--lo", help="lower end of the search (default: the parameter's allowed range)")
    p.add_argument("--hi", help="upper end of the search")
    _out_options(p, "output folder (solve.json, run.json)")
    _set_option(p)
    p.set_defaults(func=cmd_solve)


def build_parser() -> argparse.ArgumentParser:
    """The command line: ``finmodel --version`` and one sub-command per verb."""
    parser = _Parser(
        prog="finmodel",
        description="Compute-investment model: with vs without the section 48D credit (AMIC).",
    )
    parser.add_argument("--version", action="version", version=f"finmodel {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    _scenario_commands(sub)
    _pack_commands(sub)
    _uncertainty_commands(sub)
    parser.add_argument("--strict", action="store_true", help=STRICT_HELP)
    for command in sub.choices.values():  # also after the command; SUPPRESS keeps a global --strict
        command.add_argument("--strict", action="store_true", default=argparse.SUPPRESS, help=STRICT_HELP)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command line; returns the exit status (module docstring).

    Standard output is flushed before returning, so that a reader that went
    away (``finmodel sources x.yaml | head -1``) is noticed here and ends the
    run quietly with :data:`EXIT_CLOSED_PIPE`, not with an error at exit.
    """
    try:
        try:
            code = _main(argv)
        finally:
            sys.stdout.flush()
        return code
    except BrokenPipeError:
        return _closed_pipe()


def _closed_pipe() -> int:
    """Stop quietly: what is left to print goes to the null device (Python flushes again at exit)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # no file descriptor (output captured in Python)
        return EXIT_CLOSED_PIPE
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
    return EXIT_CLOSED_PIPE


def _main(argv: Sequence[str] | None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    args.argv = argv
    _warnings.update(strict=args.strict, printed=set())
    try:
        # A NaN or infinity is caught by the model's own checks and reported
        # below with its line and year; numpy's warnings would only add noise.
        out = getattr(args, "out", None)
        previous = manifest_files(out) if out else None
        with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
            code = args.func(args)
        if code == EXIT_OK and previous:
            stale = remove_stale(out, previous)
            if stale:
                print(
                    f"removed {len(stale)} file{'s' if len(stale) != 1 else ''} of an earlier run "
                    f"that this one did not rewrite: {', '.join(stale)}"
                )
        return code
    except ScenarioError as exc:
        return _report_problems(exc)
    except (_UsageError, CheckError) as exc:
        print(f"finmodel: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except OutputError as exc:
        print(f"finmodel: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except NumericalError as exc:
        print(f"finmodel: numerical error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("finmodel: interrupted; no partial file was left", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # the reader of standard output went away: main() stops quietly
        raise
    except OSError as exc:  # disk full, permission denied, a path through a file
        where = f": {exc.filename}" if getattr(exc, "filename", None) else ""
        print(
            f"finmodel: cannot write{where}: {exc.strerror or exc}; no partial file was left", file=sys.stderr
        )
        return EXIT_FAILED
    except Exception as exc:  # a bug: say so in one line; FINMODEL_DEBUG=1 shows the traceback
        if os.environ.get("FINMODEL_DEBUG"):
            raise
        print(
            f"finmodel: internal error ({type(exc).__name__}: {exc}); this is a bug in finmodel, "
            "please report it with the scenario (FINMODEL_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
