"""Reproducing a recorded run: ``finmodel run --check DIR``.

An output folder holds ``run.json`` (the manifest of :func:`finmodel.report.manifest`)
with the resolved scenario (``extends`` followed, defaults applied) and its
SHA-256. :func:`check_run` rebuilds the scenario from that resolved form
alone, runs it again and compares every figure of ``summary.json`` and
``cashflows.csv`` with the recorded ones: exactly, as written (the same
formatting, so identical figures give identical text).

Problems with the folder itself (no manifest, a manifest that is not
finmodel's, a resolved scenario that no longer validates, a SHA-256 that does
not match) raise :class:`CheckError` or :class:`~finmodel.yamlio.ScenarioError`.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import __version__
from .model import run
from .report import MANIFEST, render_run
from .scenario import Scenario, scenario_from_dict

__all__ = [
    "CheckError",
    "Difference",
    "CheckReport",
    "read_manifest",
    "scenario_from_manifest",
    "check_run",
    "compare_summary",
    "compare_cashflows",
]

#: The files that ``check_run`` can regenerate and compare.
CHECKED = ("summary.json", "cashflows.csv")
#: Keys of summary.json that are not figures (a new version may change them).
NOT_FIGURES = ("finmodel_version",)


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
    """The outcome of :func:`check_run`. ``identical`` is True when no figure differs."""

    folder: str
    scenario: str
    sha256: str
    compared: list[str] = field(default_factory=list)
    not_compared: list[str] = field(default_factory=list)
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def read_manifest(folder: str | os.PathLike) -> dict:
    """``DIR/run.json`` as a dict; :class:`CheckError` when missing or not finmodel's."""
    path = Path(folder) / MANIFEST
    if not Path(folder).is_dir():
        raise CheckError(f"{folder}: not a folder")
    if not path.is_file():
        raise CheckError(f"{path}: not found; --check needs a folder written by finmodel run --out")
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
    :class:`~finmodel.yamlio.ScenarioError` when the resolved scenario no
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
    if scenario.sha256() != recorded_sha:
        notes.append(
            f"the scenario resolves differently now (SHA-256 {scenario.sha256()[:12]}, "
            f"recorded {str(recorded_sha)[:12]}): defaults or parameters changed"
        )
    return scenario, notes


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
    """Every figure of two summary.json texts that differs (parsed numbers compared exactly)."""
    try:
        recorded = _leaves(json.loads(recorded_text))
    except ValueError as exc:
        return [Difference(file, "(whole file)", f"unreadable JSON ({exc})", "valid JSON")]
    fresh = _leaves(json.loads(fresh_text))
    out = []
    for key in list(fresh) + [k for k in recorded if k not in fresh]:
        if key in NOT_FIGURES:
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


def check_run(folder: str | os.PathLike) -> CheckReport:
    """Re-run the scenario recorded in ``folder/run.json`` and compare the figures.

    Compares ``summary.json`` and ``cashflows.csv`` when the manifest lists
    them; other files (charts, workbooks) are listed in ``not_compared``.
    """
    folder = Path(folder)
    data = read_manifest(folder)
    scenario, notes = scenario_from_manifest(data, file=str(folder / MANIFEST))
    listed = data.get("files") or list(CHECKED)
    if not any(name in listed for name in CHECKED):
        command = " ".join(str(c) for c in data.get("command") or []) or "another command"
        raise CheckError(
            f"{folder}: written by '{command}'; --check re-runs folders of 'finmodel run' "
            f"({', '.join(CHECKED)}), and this one has neither"
        )
    report = CheckReport(folder=str(folder), scenario=scenario.name, sha256=scenario.sha256(), notes=notes)
    if data.get("finmodel_version") != __version__:
        report.notes.append(
            f"recorded with finmodel {data.get('finmodel_version')}, checked with {__version__}"
        )
    report.not_compared = sorted(str(f) for f in listed if f not in CHECKED)
    fresh = render_run(run(scenario))
    compare = {"summary.json": compare_summary, "cashflows.csv": compare_cashflows}
    for name in CHECKED:
        if name not in listed:
            continue
        path = folder / name
        try:
            recorded = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.differences.append(
                Difference(name, "(whole file)", f"unreadable ({exc.__class__.__name__})", "regenerated")
            )
            continue
        report.compared.append(name)
        report.differences.extend(compare[name](recorded, fresh[name], name))
    return report
