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

from finmodel.scenario.merge import deep_merge, is_wrapper, load_chain, merge_origins
from finmodel.scenario.types import Scenario
from finmodel.scenario.validate import validate
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


def override_scenario(scenario: Scenario, changes: Mapping[str, Any], name: str | None = None) -> Scenario:
    """:meth:`Scenario.override`: ``changes`` (dotted paths or nested mappings) merged on ``raw``.

    The merged mapping is validated again, as a file would be.
    """
    nested: dict = {}
    for key, value in changes.items():
        node = nested
        parts = key.split(".") if isinstance(key, str) else [key]
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    merged = deep_merge(scenario.raw, nested)
    merged["name"] = name or scenario.name
    # Provenance: untouched keys keep the file and line they were written
    # in; every key set here is reported as set in "<override>".
    changed: dict[tuple, tuple[str, int | None]] = {}

    def leaves(node, path):
        if isinstance(node, Mapping) and node and not is_wrapper(node):
            for k, v in node.items():
                leaves(v, path + (k,))
        else:
            changed[path] = (OVERRIDE_FILE, None)

    leaves(nested, ())
    origins = merge_origins(dict(scenario.origins), changed, nested)
    files = scenario.files + (OVERRIDE_FILE,) if nested else scenario.files
    return validate(merged, origins, scenario.path or OVERRIDE_FILE, files)
