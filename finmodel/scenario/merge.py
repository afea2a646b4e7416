"""``extends:``: the chain of parent files, merged (child wins), with where each key was written.

A mapping merges into a mapping and anything else replaces; value wrappers,
distributions and year maps replace whole (:func:`deep_merge`). Cycles, a
missing parent and chains deeper than :data:`MAX_EXTENDS_DEPTH` are errors.
"""

from __future__ import annotations

import copy
import difflib
import os
from collections.abc import Mapping
from pathlib import Path

from finmodel.scenario.yamlio import Problem, ScenarioError, read_yaml

__all__ = ["MAX_EXTENDS_DEPTH", "WRAPPER_KEYS", "deep_merge", "is_wrapper", "merge_origins", "load_chain"]

MAX_EXTENDS_DEPTH = 16
#: The keys of a value wrapper ``{value, source, note}``.
WRAPPER_KEYS = {"value", "source", "note"}


def deep_merge(parent: Mapping, child: Mapping) -> dict:
    """Child wins; a mapping merges into a mapping; anything else replaces.

    A value wrapper ``{value, source, note}``, a distribution ``{dist: ...}``
    (``uncertainty:`` block) and a year map ``{2027: 0.35}`` replace as a
    whole (MODEL.md section 11): a child's ``{dist: uniform, low, high}`` must
    not inherit its parent's ``mean`` and ``sd``, and a child's ``rate:
    {2027: 0.35}`` drops the parent's 2023 and 2026 steps.

    >>> deep_merge({"rate": {2023: 0.25, 2026: 0.35}, "lag": 1}, {"rate": {2027: 0.35}})
    {'rate': {2027: 0.35}, 'lag': 1}
    """
    out = copy.deepcopy(dict(parent))
    for key, value in child.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and not is_atomic(value):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def is_wrapper(value) -> bool:
    """A value wrapper ``{value: ..., source: ID, note: text}``."""
    return isinstance(value, Mapping) and "value" in value and set(value) <= WRAPPER_KEYS


def _is_year_map(value) -> bool:
    """A non-empty mapping whose keys are all calendar years (integers): one value, a step function."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, int) and not isinstance(k, bool) for k in value)
    )


def is_atomic(value) -> bool:
    """A mapping that a child replaces whole rather than merges into (see :func:`deep_merge`)."""
    return is_wrapper(value) or _is_year_map(value) or (isinstance(value, Mapping) and "dist" in value)


def merge_origins(parent: dict, child: dict, child_data: Mapping) -> dict:
    """Origins (path -> (file, line)) after merging ``child_data`` over a parent."""
    out = dict(parent)
    replaced: list[tuple] = []

    def walk(node, path):
        if isinstance(node, Mapping) and not is_atomic(node):
            for k, v in node.items():
                walk(v, path + (k,))
        else:
            replaced.append(path)

    walk(child_data, ())
    for path in replaced:
        for old in [p for p in out if p[: len(path)] == path]:
            del out[old]
    out.update(child)
    return out


def load_chain(path: Path, stack: tuple[Path, ...] = ()) -> tuple[dict, dict, tuple[str, ...]]:
    """Read ``path`` and its ``extends`` parents: (merged data, origins, files from the root parent down).

    ``origins`` maps each key path to the ``(file, line)`` it was written at;
    ``stack`` holds the files already on the chain (for the cycle check).
    """
    resolved = Path(os.path.realpath(path))  # never raises, even on a symlink loop (read_yaml reports it)
    if resolved in stack:
        chain = " -> ".join(str(p.name) for p in stack + (resolved,))
        raise _extends_error(path, None, f"circular extends: {chain}")
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise _extends_error(path, None, f"extends chain deeper than {MAX_EXTENDS_DEPTH} files")
    data, lines = read_yaml(path)
    origins = {k: (str(path), line) for k, line in lines.items()}
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data, origins, (str(path),)
    line = lines.get(("extends",))
    parent_path = _parent_file(path, parent_ref, line)
    parent_resolved = Path(os.path.realpath(parent_path))
    if parent_resolved in stack + (resolved,):
        chain = " -> ".join(q.name for q in stack + (resolved, parent_resolved))
        raise _extends_error(path, line, f"circular extends: {chain}")
    parent, parent_origins, parent_files = load_chain(parent_path, stack + (resolved,))
    parent.pop("name", None)  # the child's name defaults to its own stem
    parent.pop("label", None)  # and its label to its own title, not the parent's label
    merged = deep_merge(parent, data)
    return merged, merge_origins(parent_origins, origins, data), parent_files + (str(path),)


def _parent_file(path: Path, parent_ref, line: int | None) -> Path:
    """The file named by ``extends: parent_ref`` (in ``path`` at ``line``); raise if there is none."""
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise _extends_error(path, line, f"must be a file path relative to this file, got {parent_ref!r}")
    parent_path = path.parent / parent_ref
    try:
        parent_is_file, parent_is_dir = parent_path.is_file(), parent_path.is_dir()
    except (OSError, ValueError):
        parent_is_file = parent_is_dir = False
    if parent_is_dir:
        raise _extends_error(path, line, f"{parent_ref!r} is a directory; extends names a scenario file")
    if not parent_is_file:
        siblings = (
            sorted(q.name for q in parent_path.parent.glob("*.y*ml")) if parent_path.parent.is_dir() else []
        )
        hint = difflib.get_close_matches(parent_path.name, siblings, n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        raise _extends_error(path, line, f"parent file not found: {parent_path}{tip}")
    return parent_path


def _extends_error(path: Path, line: int | None, message: str) -> ScenarioError:
    """The error for a broken ``extends:`` of ``path``."""
    return ScenarioError([Problem(str(path), line, "extends", message)])
