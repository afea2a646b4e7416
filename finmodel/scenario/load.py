"""Entry points that make a :class:`~finmodel.scenario.types.Scenario`: from a file, a mapping or an override.

Loading follows ``extends:`` (:mod:`finmodel.scenario.merge`), unwraps
``{value, source, note}`` wrappers, applies defaults and checks every rule
(:mod:`finmodel.scenario.validate`). All problems found are raised together
in one :class:`~finmodel.scenario.yamlio.ScenarioError`, each naming the
file, the line and the key path.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from finmodel.scenario.merge import deep_merge, is_atomic, is_wrapper, load_chain, merge_origins
from finmodel.scenario.params import BY_PATH, param_for, split_step
from finmodel.scenario.types import Scenario
from finmodel.scenario.validate import validate
from finmodel.scenario.varying import check_path
from finmodel.scenario.yamlio import Problem, ScenarioError

__all__ = ["OVERRIDE_FILE", "load_scenario", "scenario_from_dict", "override_scenario"]

#: The "file" named as the origin of a value set by :meth:`Scenario.override`.
OVERRIDE_FILE = "<override>"


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Load, merge (``extends``), validate and freeze a scenario file.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per rule broken (file, line, key, message).
    """
    data, origins, files = load_chain(Path(path))
    default_name = Path(path).stem
    data.setdefault("name", default_name)
    return validate(data, origins, str(path), files)


def scenario_from_dict(data: Mapping, file: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (same rules as a file; no ``extends``)."""
    data = copy.deepcopy(dict(data))
    if "extends" in data:
        raise ScenarioError([Problem(file, None, "extends", "extends is only allowed in a file")])
    data.setdefault("name", Path(file).stem if file.endswith((".yaml", ".yml")) else "scenario")
    return validate(data, {}, file, (file,))


def override_scenario(
    scenario: Scenario, changes: Mapping[str, Any], name: str | None = None, origin: str = OVERRIDE_FILE
) -> Scenario:
    """:meth:`Scenario.override`: ``changes`` (dotted paths or nested mappings) merged on ``raw``.

    A key ``PATH[YEAR]`` of a rate by year sets the step starting in ``YEAR``
    (added if no step starts there; the other steps, with their sources and
    lines, unchanged); a scalar rate becomes a map whose first step starts in
    ``program.start_year``. The merged mapping is validated again, as a file
    would be; keys set here are reported as set in ``origin``.
    """
    nested: dict = {}
    steps = []
    for key, value in changes.items():
        path, year = split_step(key) if isinstance(key, str) else (key, None)
        if year is not None:
            steps.append((key, path, year, value))
            continue
        _put(nested, key.split(".") if isinstance(key, str) else [key], value)
    kept: dict[tuple, tuple[str, int | None]] = {}  # the untouched steps of a map given a step
    for key, path, year, value in steps:
        if param_for(key, scenario.values) is None:
            why = check_path(key, scenario.values) or f"{key}: [YEAR] addresses a step of a rate by year"
            raise ScenarioError([Problem(origin, None, key, why)])
        parts = tuple(path.split("."))
        set_here, current = _get(nested, parts)
        if not set_here:
            written_before, current = _get(scenario.raw, parts)
            current = current if written_before else BY_PATH[path].default
        new, others = _with_step(current, year, value, scenario["program.start_year"])
        for y in others if not set_here else ():
            where = scenario.origins.get(parts + (y,)) or scenario.origins.get(parts + (str(y),))
            if where is not None:
                kept[parts + (y,)] = where
        _put(nested, list(parts), new)
    merged = deep_merge(scenario.raw, nested)
    merged["name"] = name or scenario.name
    # Provenance: untouched keys keep the file and line they were written
    # in; every key set here is reported as set in ``origin``.
    changed: dict[tuple, tuple[str, int | None]] = {}

    def leaves(node, path):
        if isinstance(node, Mapping) and node and not is_wrapper(node):
            if is_atomic(node):  # a year map: the key itself, and each step, set here
                changed[path] = (origin, None)
            for k, v in node.items():
                leaves(v, path + (k,))
        else:
            changed[path] = (origin, None)

    leaves(nested, ())
    for _, path, _, _ in steps:  # the map itself was set here; its other steps were not
        changed[tuple(path.split("."))] = (origin, None)
    changed.update(kept)
    origins = merge_origins(dict(scenario.origins), changed, nested)
    files = scenario.files + (origin,) if nested else scenario.files
    return validate(merged, origins, scenario.path or origin, files)


def _put(nested: dict, parts: list, value) -> None:
    node = nested
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _get(data: Mapping, parts: tuple) -> tuple[bool, Any]:
    node: Any = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _same(value):
    return value


def _with_step(current, year: int, value, start_year: int) -> tuple[dict, list[int]]:
    """A written rate by year with the step starting in ``year`` set to ``value``; and its other steps.

    ``current`` is as written: a year map (steps maybe wrapped, years maybe
    quoted as in JSON), a ``{value, source}`` wrapper of either, or one rate.
    """
    wrap = _same
    if is_wrapper(current):
        current, source = current["value"], current.get("source")
        if source:
            wrap = lambda v: {"value": v, "source": source}  # noqa: E731 - the source of every step
    if isinstance(current, Mapping):
        out = {int(y) if isinstance(y, str) and y.isdigit() else y: wrap(v) for y, v in current.items()}
    else:  # one rate for every year: the steps before ``year`` keep it
        out = {start_year: wrap(current)} if year > start_year else {}
    written = [y for y in out if y != year]
    out[year] = value
    return dict(sorted(out.items(), key=lambda kv: (not isinstance(kv[0], int), kv[0]))), written
