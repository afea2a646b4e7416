"""Safe YAML reading that remembers where every key was written.

Only the safe loader is used (no Python object tags). Duplicate keys are an
error rather than last-wins; alias expansion and nesting depth are bounded so
that an alias bomb or a very deep file is refused quickly with bounded memory.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

__all__ = ["Problem", "ScenarioError", "read_yaml", "MAX_FILE_BYTES"]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_NODES = 100_000
MAX_DEPTH = 64

_PLAIN_TAGS = {"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"}
Path_ = tuple  # a key path: ("policy", "amic", "rate") or ("program", "schedule", "shares", 3)


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a scenario: where, which key, what rule."""

    file: str
    line: int | None
    key: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


@dataclass
class ScenarioError(Exception):
    """Raised with every problem found in a scenario (one per line on stderr)."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def key_text(path: tuple) -> str:
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


class _Builder:
    def __init__(self, loader: yaml.SafeLoader, file: str):
        self.loader = loader
        self.file = file
        self.nodes = 0
        self.lines: dict[tuple, int] = {}

    def fail(self, node: yaml.Node | None, path: tuple, message: str) -> ScenarioError:
        line = node.start_mark.line + 1 if node is not None else None
        return ScenarioError([Problem(self.file, line, key_text(path), message)])

    def build(self, node: yaml.Node, path: tuple = (), depth: int = 0):
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise self.fail(node, (), f"too many YAML nodes (more than {MAX_NODES:,}, alias expansion included); refused")
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep; refused")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}; only plain data is allowed")
        if isinstance(node, yaml.MappingNode):
            self.loader.flatten_mapping(node)
            out: dict = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, path, "mapping keys must be plain scalars")
                key = self.scalar(key_node, path)
                if isinstance(key, (list, dict)) or key is None:
                    raise self.fail(key_node, path, f"invalid mapping key {key!r}")
                if key in out:
                    first = self.lines.get(path + (key,))
                    raise self.fail(key_node, path + (key,), f"duplicate key (first written on line {first}); each key may appear once")
                self.lines[path + (key,)] = key_node.start_mark.line + 1
                out[key] = self.build(value_node, path + (key,), depth + 1)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, path + (i,), depth + 1) for i, item in enumerate(node.value)]
        return self.scalar(node, path)

    def scalar(self, node: yaml.Node, path: tuple):
        try:
            return self.loader.construct_object(node, deep=False)
        except yaml.constructor.ConstructorError as exc:
            raise self.fail(node, path, f"unsupported YAML tag or value ({exc.problem}); only plain data is allowed") from None


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


def read_yaml(path: str | os.PathLike) -> tuple[dict, dict[tuple, int]]:
    """Read one YAML mapping safely; return the data and the line of each key path."""
    p = Path(path)
    file = str(path)

    def err(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, line, "", message)])

    if not p.exists():
        raise err("file not found")
    if p.is_dir():
        raise err("is a directory, not a scenario file")
    size = p.stat().st_size
    if size > MAX_FILE_BYTES:
        raise err(f"file is {size:,} bytes; a scenario file may be at most {MAX_FILE_BYTES:,} bytes")
    raw = p.read_bytes()
    if b"\x00" in raw:
        raise err("binary file (contains NUL bytes); a scenario is a UTF-8 YAML text file")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise err(f"not UTF-8 text (bad byte at offset {exc.start}); a scenario is a UTF-8 YAML text file") from None
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise err("empty file; a scenario is a YAML mapping of keys such as program:, categories:", 1)
        if not isinstance(node, yaml.MappingNode):
            raise err("a scenario must be a YAML mapping (key: value lines) at the top level", node.start_mark.line + 1)
        builder = _Builder(loader, file)
        data = builder.build(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "\t" in text and "tab" in str(exc).lower() or "'\\t'" in str(exc):
            problem = "tab character found; YAML indentation must use spaces"
        raise err(f"YAML syntax error: {problem}", _mark_line(exc)) from None
    except RecursionError:
        raise err(f"nested too deeply; at most {MAX_DEPTH} levels are allowed") from None
    finally:
        loader.dispose()
    return data, builder.lines
