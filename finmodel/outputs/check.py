"""Reproducing a recorded run: ``finmodel run --check DIR``.

An output folder holds ``run.json`` (the manifest of :func:`finmodel.outputs.report.manifest`)
with the resolved scenario (``extends`` followed, defaults applied) and its
SHA-256. :func:`check_run` rebuilds the scenario from that resolved form
alone, runs it again as the recorded command did and compares every figure
it can regenerate with the recorded one: exactly, as written (the same
formatting, so identical figures give identical text).

What is re-run depends on the command the manifest records (:func:`folder_kind`):

- ``finmodel run`` and ``report``: the scenario; ``summary.json`` and ``cashflows.csv``.
- ``finmodel montecarlo``: the draws, with the recorded seed and number of
  draws (bitwise reproducible for any chunk size or thread count);
  ``montecarlo.json``, ``montecarlo_summary.csv``, ``fan_percentiles.csv``
  and, when the folder has it, ``draws.csv`` (compared line by line as it
  is read, so its size does not matter).
- ``finmodel sensitivity``: the tornado; ``sensitivity.json`` and ``tornado.csv``.
- ``finmodel sweep`` and ``solve``: the grid, or the search, that the
  manifest's ``analysis`` records; ``sweep.csv`` or ``solve.json``.
  Folders written before the manifest recorded it are refused (their grids
  and targets are only in the command's text).

Charts and workbooks are never compared (listed in ``not_compared``).

Problems with the folder itself (no manifest, a manifest that is not
finmodel's, a resolved scenario that no longer validates, a SHA-256 that does
not match, a Monte Carlo folder without its seed) raise :class:`CheckError`
or :class:`~finmodel.scenario.yamlio.ScenarioError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from itertools import zip_longest
from pathlib import Path
from typing import Any

from finmodel._version import __version__
from finmodel.engine.model import run
from finmodel.outputs.report import (
    MANIFEST,
    draws_csv_lines,
    montecarlo_texts,
    render_run,
    sensitivity_texts,
    solve_texts,
    sweep_texts,
    value_from_analysis,
)
from finmodel.scenario import Scenario, scenario_from_dict

__all__ = [
    "CheckError",
    "Difference",
    "CheckReport",
    "read_manifest",
    "scenario_from_manifest",
    "folder_kind",
    "check_run",
    "compare_summary",
    "compare_cashflows",
    "compare_csv",
]

#: The files that ``check_run`` regenerates and compares, per kind of folder, in that order.
REGENERATED = {
    "run": ("summary.json", "cashflows.csv"),
    "montecarlo": ("montecarlo.json", "montecarlo_summary.csv", "fan_percentiles.csv", "draws.csv"),
    "sensitivity": ("sensitivity.json", "tornado.csv"),
    "sweep": ("sweep.csv",),
    "solve": ("solve.json",),
}
#: The files of a ``finmodel run`` folder (the kind checked first).
CHECKED = REGENERATED["run"]
#: The kind of folder each recorded command writes (``report`` packs hold a run's files).
COMMAND_KINDS = {
    "run": "run",
    "report": "run",
    "montecarlo": "montecarlo",
    "sensitivity": "sensitivity",
    "sweep": "sweep",
    "solve": "solve",
}
#: How many leading columns name a row of each CSV compared by :func:`compare_csv`.
KEY_COLUMNS = {"montecarlo_summary.csv": 2, "fan_percentiles.csv": 2, "draws.csv": 1, "tornado.csv": 3}
#: Keys of the JSON files that are not figures (a new version may change them), at any depth.
NOT_FIGURES = ("finmodel_version",)
#: Differences kept in a report (the rest are counted): a different seed changes every draw.
DIFFERENCES_KEPT = 1000


class CheckError(ValueError):
    """A folder that cannot be checked (no manifest, or a manifest finmodel did not write)."""


@dataclass(frozen=True)
class Difference:
    """One figure that differs: the file, where in it, the recorded and the new value (as text)."""

    file: str
    where: str
    recorded: str
    now: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: recorded {self.recorded}, now {self.now}"


@dataclass
class CheckReport:
    """The outcome of :func:`check_run`. ``identical`` is True when no figure differs.

    ``differences`` holds the first :data:`DIFFERENCES_KEPT`; ``more`` counts
    the rest. ``kind`` is ``run``, ``montecarlo`` or ``sensitivity``;
    ``seed`` and ``draws`` are those a Monte Carlo check re-ran with.
    """

    folder: str
    scenario: str
    sha256: str
    compared: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    kind: str = "run"
    seed: int | None = None
    draws: int | None = None
    more: int = 0

    @property
    def identical(self) -> bool:
        return not self.differences and not self.more

    @property
    def n_differences(self) -> int:
        return len(self.differences) + self.more

    def add(self, differences: Iterable[Difference]) -> None:
        """Keep the first :data:`DIFFERENCES_KEPT` differences, count the others."""
        for diff in differences:
            if len(self.differences) < DIFFERENCES_KEPT:
                self.differences.append(diff)
            else:
                self.more += 1


def read_manifest(folder: str | os.PathLike) -> dict:
    """``DIR/run.json`` as a dict; :class:`CheckError` when missing or not finmodel's."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise CheckError(f"{folder}: not a folder")
    if not path.is_file():
        raise CheckError(
            f"{path}: not found; --check needs a folder written by finmodel run, report, "
            "montecarlo or sensitivity --out"
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise CheckError(f"{path}: not a readable JSON manifest ({exc})") from None
    if not isinstance(data, dict) or "finmodel_version" not in data:
        raise CheckError(f"{path}: not a finmodel manifest (no finmodel_version)")
    scenarios = data.get("scenarios")
    if (
        not isinstance(scenarios, list)
        or len(scenarios) != 1
        or not isinstance(scenarios[0], dict)
        or not isinstance(scenarios[0].get("resolved"), dict)
    ):
        raise CheckError(
            f"{path}: --check re-runs one scenario; this manifest records "
            f"{len(scenarios) if isinstance(scenarios, list) else 'no'} resolved scenarios"
        )
    return data


def _canonical_sha256(resolved: dict) -> str:
    text = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def scenario_from_manifest(data: dict, file: str = MANIFEST) -> tuple[Scenario, list[str]]:
    """The scenario recorded in a manifest, rebuilt from its resolved form; plus notes.

    Raises :class:`CheckError` when the recorded SHA-256 does not match the
    recorded resolved scenario (the manifest was edited), and
    :class:`~finmodel.scenario.yamlio.ScenarioError` when the resolved scenario no
    longer validates.
    """
    entry = data["scenarios"][0]
    resolved = entry["resolved"]
    recorded_sha = entry.get("sha256")
    if recorded_sha != _canonical_sha256(resolved):
        raise CheckError(
            f"{file}: the resolved scenario does not match its recorded SHA-256 "
            f"({recorded_sha}); the manifest was changed after the run"
        )
    scenario = scenario_from_dict(resolved, file=file)
    notes = []
    overrides = entry.get("overrides") or []
    if overrides:
        scenario = _replay_overrides(scenario, overrides, file)
        notes.append(
            f"replayed the {len(overrides)} --set item{'s' if len(overrides) != 1 else ''} "
            f"recorded: {' '.join(str(o.get('given')) for o in overrides)}"
        )
    if scenario.sha256() != recorded_sha:
        notes.append(
            f"the scenario resolves differently now (SHA-256 {scenario.sha256()[:12]}, "
            f"recorded {str(recorded_sha)[:12]}): defaults or parameters changed"
        )
    return scenario, notes


def _replay_overrides(scenario: Scenario, overrides: list, file: str) -> Scenario:
    """The recorded ``--set`` items applied again, as given, to the recorded resolved scenario.

    The resolved scenario already holds them, so applying them again changes
    nothing when the record is whole; a value that parses differently now is
    reported by the SHA-256 note and the figures.
    """
    from finmodel.scenario.whatif import apply_sets

    if not all(isinstance(o, dict) and isinstance(o.get("given"), str) for o in overrides):
        raise CheckError(f"{file}: overrides must be a list of {{given, key, value}} records")
    return apply_sets(scenario, [o["given"] for o in overrides])


def _leaves(value: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(value, dict):
        out: dict[str, Any] = {}
        for key, item in value.items():
            out.update(_leaves(item, f"{prefix}.{key}" if prefix else str(key)))
        return out
    if isinstance(value, list):
        out = {}
        for i, item in enumerate(value):
            out.update(_leaves(item, f"{prefix}[{i}]"))
        return out
    return {prefix: value}


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def compare_summary(recorded_text: str, fresh_text: str, file: str = "summary.json") -> list[Difference]:
    """Every figure of two JSON texts that differs (parsed numbers compared exactly).

    For ``summary.json``, ``montecarlo.json`` and ``sensitivity.json``; a figure
    is named by its path (``metrics.npv_usd.delta.p50``).
    """
    try:
        recorded = _leaves(json.loads(recorded_text))
    except ValueError as exc:
        return [Difference(file, "(whole file)", f"unreadable JSON ({exc})", "valid JSON")]
    fresh = _leaves(json.loads(fresh_text))
    out = []
    for key in list(fresh) + [k for k in recorded if k not in fresh]:
        if key.rsplit(".", 1)[-1] in NOT_FIGURES:
            continue
        a, b = recorded.get(key, "(missing)"), fresh.get(key, "(missing)")
        if not _same(a, b):
            out.append(
                Difference(
                    file,
                    key,
                    json.dumps(a) if key in recorded else a,
                    json.dumps(b) if key in fresh else b,
                )
            )
    return out


def _csv_rows(text: str) -> tuple[list[str], dict[tuple, str]]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    rows: dict[tuple, str] = {}
    for row in reader:
        if len(row) != len(header) or not row:
            rows[("(malformed row)", len(rows))] = ",".join(row)
            continue
        rows[tuple(row[:-1])] = row[-1]
    return header, rows


def compare_cashflows(recorded_text: str, fresh_text: str, file: str = "cashflows.csv") -> list[Difference]:
    """Yearly figures of two cashflows.csv texts that differ (by case, year, line, category)."""
    head_a, rows_a = _csv_rows(recorded_text)
    head_b, rows_b = _csv_rows(fresh_text)
    if head_a != head_b:
        return [Difference(file, "header", ",".join(head_a), ",".join(head_b))]
    out = []
    for key in list(rows_b) + [k for k in rows_a if k not in rows_b]:
        a, b = rows_a.get(key, "(missing)"), rows_b.get(key, "(missing)")
        if a != b:
            out.append(Difference(file, " ".join(str(k) for k in key if k != ""), a, b))
    return out


def compare_csv(
    recorded_lines: Iterable[str], fresh_lines: Iterable[str], file: str, key_columns: int = 1
) -> Iterator[Difference]:
    """The cells of two CSV texts, given as lines, that differ; row by row, as the lines come.

    Rows are matched by position (the files are written in a fixed order) and
    named by their first ``key_columns`` cells (``draw=17``), cells by their
    column (``draw=17 npv_usd.with``). Lines are compared as text first, so
    only differing rows are parsed and the inputs may be as long as wanted
    (a file object, a generator).
    """
    recorded, fresh = iter(recorded_lines), iter(fresh_lines)
    head_a, head_b = _cells(next(recorded, "")), _cells(next(fresh, ""))
    if head_a != head_b:
        yield Difference(file, "header", ",".join(head_a), ",".join(head_b))
        return
    for n, (a, b) in enumerate(zip_longest(recorded, fresh), start=1):
        a = a.rstrip("\r\n") if a is not None else None
        b = b.rstrip("\r\n") if b is not None else None
        if a == b:
            continue
        row_a, row_b = _cells(a), _cells(b)
        named = row_b if b is not None else row_a
        row = " ".join(f"{k}={v}" for k, v in zip(head_b[:key_columns], named, strict=False)) or f"row {n}"
        if a is None or b is None:  # a row that only one of the files has
            recorded_row, fresh_row = (a, "(missing)") if b is None else ("(missing)", b)
            yield Difference(file, f"{row} (whole row)", recorded_row, fresh_row)
            continue
        for j in range(max(len(row_a), len(row_b), len(head_b))):
            x = row_a[j] if j < len(row_a) else "(missing)"
            y = row_b[j] if j < len(row_b) else "(missing)"
            if x != y:
                column = head_b[j] if j < len(head_b) else f"column {j + 1}"
                yield Difference(file, f"{row} {column}", x, y)


def _cells(line: str | None) -> list[str]:
    return next(csv.reader([line]), []) if line else []


def folder_kind(data: dict) -> str:
    """What wrote a folder: ``run``, ``montecarlo``, ``sensitivity``, or another command's name.

    The recorded command decides (``finmodel report`` counts as ``run``). A
    manifest written through the Python API records the interpreter's command
    line instead; then the files it lists decide.
    """
    command = data.get("command")
    if isinstance(command, list) and len(command) >= 2 and command[0] == "finmodel":
        return COMMAND_KINDS.get(str(command[1]), str(command[1]))
    files = data.get("files") or []
    for kind in ("montecarlo", "sensitivity", "sweep", "solve"):
        if any(name in files for name in REGENERATED[kind]):
            return kind
    return "run"


def _command_text(data: dict) -> str:
    return " ".join(str(c) for c in data.get("command") or []) or "another command"


def check_run(folder: str | os.PathLike) -> CheckReport:
    """Re-run what ``folder/run.json`` records and compare the figures.

    Compares the files of :data:`REGENERATED` for the folder's kind (see
    :func:`folder_kind`) that the manifest lists; other files (charts,
    workbooks) are listed in ``not_compared``.
    """
    folder = Path(folder)
    data = read_manifest(folder)
    kind = folder_kind(data)
    if kind not in REGENERATED:
        raise CheckError(
            f"{folder}: written by '{_command_text(data)}'; --check re-runs folders of finmodel run, "
            f"report, montecarlo, sensitivity, sweep and solve, not {kind}"
        )
    if kind in ("sweep", "solve") and not isinstance(data.get("analysis"), dict):
        raise CheckError(
            f"{folder}: written by '{_command_text(data)}', but {MANIFEST} records no analysis "
            f"(what the {kind} varied and read), so it "
            "cannot be repeated; run the command again to record it"
        )
    scenario, notes = scenario_from_manifest(data, file=str(folder / MANIFEST))
    listed = [str(f) for f in data.get("files") or (CHECKED if kind == "run" else ())]
    names = [name for name in REGENERATED[kind] if name in listed]
    if not names:
        raise CheckError(
            f"{folder}: written by '{_command_text(data)}'; --check re-runs folders of 'finmodel {kind}' "
            f"({', '.join(REGENERATED[kind])}), and this one has none of them"
        )
    report = CheckReport(
        folder=str(folder), scenario=scenario.name, sha256=scenario.sha256(), notes=notes, kind=kind
    )
    if data.get("finmodel_version") != __version__:
        report.notes.append(
            f"recorded with finmodel {data.get('finmodel_version')}, checked with {__version__}"
        )
    report.not_compared = sorted(f for f in listed if f not in names)
    if kind == "montecarlo":
        fresh = _rerun_montecarlo(folder, data, scenario, names, report)
    elif kind == "sensitivity":
        fresh = _rerun_sensitivity(scenario)
    elif kind == "sweep":
        fresh = _rerun_sweep(folder, data["analysis"], scenario)
    elif kind == "solve":
        fresh = _rerun_solve(folder, data["analysis"], scenario)
    else:
        fresh = render_run(run(scenario))
    keys = {"sweep.csv": 2 if kind == "sweep" and data["analysis"].get("y") else 1}
    for name in names:
        _compare_file(folder, name, fresh[name], report, keys.get(name))
    return report


def _compare_file(
    folder: Path, name: str, fresh: str | Iterable[str], report: CheckReport, key_columns: int | None = None
) -> None:
    """Compare ``folder/name`` with its fresh text (or lines); unreadable: one whole-file difference."""
    path = folder / name
    try:
        if name.endswith(".json") or name == "cashflows.csv":
            recorded = path.read_text(encoding="utf-8")
            compare = compare_summary if name.endswith(".json") else compare_cashflows
            report.add(compare(recorded, fresh, name))
        else:
            lines = fresh.splitlines() if isinstance(fresh, str) else fresh
            with open(path, encoding="utf-8", newline="") as recorded_lines:
                keys = key_columns or KEY_COLUMNS.get(name, 1)
                report.add(compare_csv(recorded_lines, lines, name, keys))
    except (OSError, UnicodeDecodeError) as exc:
        report.add(
            [Difference(name, "(whole file)", f"unreadable ({exc.__class__.__name__})", "regenerated")]
        )
        return
    report.compared.append(name)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rerun_montecarlo(
    folder: Path, data: dict, scenario: Scenario, names: list[str], report: CheckReport
) -> dict[str, str | Iterator[str]]:
    """The draws again with the recorded seed and count; the texts of ``write_montecarlo``.

    Rendered by the same functions as :func:`finmodel.outputs.report.write_montecarlo`.
    """
    from finmodel.analysis.montecarlo import NoUncertaintyError, run_montecarlo

    seed, draws = data.get("seed"), data.get("draws")
    if not _whole(seed):
        raise CheckError(
            f"{folder}: written by '{_command_text(data)}', but {MANIFEST} records no seed "
            f"(seed: {json.dumps(seed)}), so its draws cannot be repeated"
        )
    if draws is None:  # manifests written before run.json recorded the draws
        draws = _draws_from_montecarlo_json(folder)
        report.notes.append(f"{MANIFEST} records no number of draws; took {draws} from montecarlo.json")
    if not _whole(draws) or draws < 1:
        raise CheckError(f"{folder / MANIFEST}: draws must be a whole number >= 1, got {json.dumps(draws)}")
    try:
        result = run_montecarlo(scenario, draws=draws, seed=seed)
    except NoUncertaintyError:
        raise CheckError(
            f"{folder}: written by '{_command_text(data)}', but the scenario recorded in {MANIFEST} "
            "has no uncertainty: block to draw from"
        ) from None
    report.seed, report.draws = result.seed, result.draws
    fresh: dict[str, str | Iterator[str]] = {
        name: text for name, text in montecarlo_texts(result).items() if name in names
    }
    if "draws.csv" in names:
        fresh["draws.csv"] = draws_csv_lines(result)
    return fresh


def _draws_from_montecarlo_json(folder: Path) -> Any:
    path = folder / "montecarlo.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))["draws"]
    except (OSError, UnicodeDecodeError, ValueError, TypeError, KeyError) as exc:
        raise CheckError(
            f"{path}: {MANIFEST} records no number of draws and this file does not say either "
            f"({exc.__class__.__name__})"
        ) from None


def _rerun_sensitivity(scenario: Scenario) -> dict[str, str]:
    """The tornado again; the texts of :func:`finmodel.outputs.report.sensitivity_texts`."""
    from finmodel.analysis.sensitivity import tornado

    return sensitivity_texts(tornado(scenario))


def _analysis_problem(folder: Path, what: str) -> CheckError:
    return CheckError(f"{folder / MANIFEST}: analysis: {what}")


def _rerun_sweep(folder: Path, analysis: dict, scenario: Scenario) -> dict[str, str]:
    """The grid of ``analysis`` again; the text of :func:`finmodel.outputs.report.sweep_texts`."""
    from finmodel.analysis.sensitivity import sweep

    def axis(key: str):
        value = analysis.get(key)
        if value is None and key == "y":
            return None
        if not isinstance(value, dict) or not isinstance(value.get("path"), str):
            raise _analysis_problem(folder, f"{key} must name a path and its values")
        values = value.get("values")
        if not isinstance(values, list) or not values:
            raise _analysis_problem(folder, f"{key}.values must be a non-empty list")
        return value["path"], [value_from_analysis(v) for v in values]

    x, y = axis("x"), axis("y")
    try:
        result = sweep(scenario, x, y, str(analysis.get("metric")), str(analysis.get("case")))
    except (KeyError, ValueError) as exc:
        raise _analysis_problem(folder, str(exc).strip("'\"")) from None
    return sweep_texts(result)


def _rerun_solve(folder: Path, analysis: dict, scenario: Scenario) -> dict[str, str]:
    """The search of ``analysis`` again; the text of :func:`finmodel.outputs.report.solve_texts`
    (a search that no longer finds the target: the reason, in place of the file's figures)."""
    from finmodel.analysis.sensitivity import SolveError, solve

    bracket = analysis.get("bracket")
    options = {k: analysis[k] for k in ("points", "rtol", "max_iter") if k in analysis}
    try:
        result = solve(
            scenario,
            str(analysis.get("parameter")),
            str(analysis.get("metric")),
            float(analysis.get("target")),
            str(analysis.get("case")),
            bracket=None if bracket is None else (float(bracket[0]), float(bracket[1])),
            **options,
        )
    except SolveError as exc:
        return {"solve.json": json.dumps({"no solution": str(exc)})}
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise _analysis_problem(folder, str(exc).strip("'\"")) from None
    return solve_texts(result)
