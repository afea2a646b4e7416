"""Safe YAML reading that remembers where every key was written.

Only the safe loader is used (no Python object tags). libyaml (PyYAML's C
parser) reads the file where it is available, six times faster than the
pure-Python parser (5 ms against 33 ms for the base scenario); a text
libyaml refuses, or one with a tab, is read again by the Python parser, whose
messages are the ones reported. libyaml also reads two things PyYAML refuses:
a ``?`` inside a plain scalar of a flow mapping and a byte-order mark inside
the text; the keys so read are then judged by validation like any other.

Duplicate keys are an error rather than last-wins; alias expansion and
nesting depth are bounded so that an alias bomb or a very deep file is
refused quickly with bounded memory.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

try:  # libyaml's parser, where PyYAML was built with it (the wheels are)
    import yaml.cyaml
    from yaml.cyaml import CParser as _CParser
except ImportError:  # pragma: no cover - a PyYAML without libyaml
    _CParser = None

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
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        return _one_line(text)


@dataclass
class ScenarioError(Exception):
    """Raised with every problem found in a scenario (one per line on stderr)."""

    problems: list[Problem] = field(default_factory=list)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


def key_text(path: tuple) -> str:
    """``("policy", "amic", "rate")`` -> ``policy.amic.rate``; list indices as ``[3]``; long keys cut."""
    out = ""
    for part in path:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        else:
            text = _one_line(str(part))
            if len(text) > 80:
                text = f"{text[:60]}...({len(text):,} characters)"
            out += ("." if out else "") + text
    return out


def _one_line(text: str) -> str:
    """Control characters (a newline inside a quoted key) escaped: one problem, one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


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
            raise self.fail(
                node, (), f"too many YAML nodes (more than {MAX_NODES:,}, alias expansion included); refused"
            )
        if depth > MAX_DEPTH:
            raise self.fail(node, path, f"nested more than {MAX_DEPTH} levels deep; refused")
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and node.tag not in _PLAIN_TAGS:
            raise self.fail(node, path, f"unsupported YAML tag {node.tag!r}; only plain data is allowed")
        if isinstance(node, yaml.MappingNode):
            # YAML merge keys (``<<: *anchor``): keys written here override
            # merged ones and the first merged mapping wins among merged ones
            # (YAML 1.1 merge semantics); a key written twice here is an error.
            written = sum(1 for k, _ in node.value if k.tag != "tag:yaml.org,2002:merge")
            self.loader.flatten_mapping(node)
            n_merged = len(node.value) - written
            out: dict = {}
            merged_keys: set = set()
            for index, (key_node, value_node) in enumerate(node.value):
                if not isinstance(key_node, yaml.ScalarNode):
                    raise self.fail(key_node, path, "mapping keys must be plain scalars")
                key = self.scalar(key_node, path)
                if key is None or not isinstance(key, Hashable):  # e.g. a ``!!set`` tag on a key
                    raise self.fail(
                        key_node,
                        path,
                        f"invalid mapping key {key_node.value!r} (tag {key_node.tag!r}); "
                        "a key is plain text or a number",
                    )
                if index < n_merged:
                    if key in out:
                        continue
                    merged_keys.add(key)
                elif key in out and key in merged_keys:
                    merged_keys.discard(key)
                    self.lines.pop(path + (key,), None)
                elif key in out:
                    first = self.lines.get(path + (key,))
                    raise self.fail(
                        key_node,
                        path + (key,),
                        f"duplicate key (first written on line {first}); each key may appear once",
                    )
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
            raise self.fail(
                node, path, f"unsupported YAML tag or value ({exc.problem}); only plain data is allowed"
            ) from None
        except (AttributeError, TypeError, KeyError):  # PyYAML's constructors, e.g. ``!!timestamp text``
            raise self.fail(
                node, path, f"value does not match its YAML tag {node.tag!r}; write plain data without tags"
            ) from None
        except (ValueError, OverflowError):  # e.g. an integer of more than 4300 digits
            text = str(node.value)
            shown = text if len(text) <= 40 else f"{text[:20]}...{text[-8:]} ({len(text):,} characters)"
            raise self.fail(
                node, path, f"value {shown} cannot be read as a number; write a plain number or text"
            ) from None


def _mark_line(exc: yaml.YAMLError) -> int | None:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    return mark.line + 1 if mark is not None else None


class _Refused(Exception):
    def __init__(self, message: str, line: int):
        self.message = message
        self.line = line


class _Loader(yaml.SafeLoader):
    """The safe loader, refusing deep or huge documents while composing.

    PyYAML composes nodes recursively; checking the depth here turns a very
    deep file into a clean error with a line number instead of a
    RecursionError, and counting nodes stops a huge file before all of it is
    composed.
    """

    def __init__(self, stream):
        super().__init__(stream)
        self._depth = 0
        self._nodes = 0

    def compose_node(self, parent, index):
        self._depth += 1
        self._nodes += 1
        try:
            if self._depth > MAX_DEPTH + 1:
                raise _Refused(
                    f"nested more than {MAX_DEPTH} levels deep; refused",
                    self.peek_event().start_mark.line + 1,
                )
            if self._nodes > MAX_NODES:
                raise _Refused(
                    f"too many YAML nodes (more than {MAX_NODES:,}); refused",
                    self.peek_event().start_mark.line + 1,
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


_NODE_EVENTS = (yaml.ScalarEvent, yaml.SequenceStartEvent, yaml.MappingStartEvent, yaml.AliasEvent)
_COLLECTION_STARTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_COLLECTION_ENDS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


def _libyaml_scan(text: str) -> _Refused | bool:
    """Read the events with libyaml, applying ``_Loader``'s limits; say whether libyaml may compose.

    Read whole, the base scenario takes 33 ms with the pure-Python parser and
    5 ms with libyaml; a file of 100,000 nodes 3.3 s to refuse, and 0.1 s.
    The depth and node limits are checked on the events exactly as
    ``_Loader.compose_node`` checks them (one node per scalar, sequence,
    mapping and alias; the depth of the node being composed), so a refusal has
    the same message and line. Returns the refusal, True when libyaml read one
    document within the limits (it then composes it too), False when libyaml
    is missing or the text is not one well-formed document: the Python loader
    then reads it, and its errors are the ones reported. So does any text with
    a tab: libyaml reads ``n\tame: 1`` as a key where PyYAML refuses the tab.
    """
    if _CParser is None or "\t" in text:  # libyaml accepts tabs in places PyYAML refuses them
        return False
    parser = _CParser(text)
    depth = nodes = documents = 0
    try:
        while (event := parser.get_event()) is not None:
            if isinstance(event, _NODE_EVENTS):
                nodes += 1
                line = event.start_mark.line + 1
                if depth > MAX_DEPTH:
                    return _Refused(f"nested more than {MAX_DEPTH} levels deep; refused", line)
                if nodes > MAX_NODES:
                    return _Refused(f"too many YAML nodes (more than {MAX_NODES:,}); refused", line)
                if isinstance(event, _COLLECTION_STARTS):
                    depth += 1
            elif isinstance(event, _COLLECTION_ENDS):
                depth -= 1
            elif isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    return False
    except yaml.YAMLError:
        return False
    finally:
        parser.dispose()
    return True


class _CLoader(yaml.cyaml.CSafeLoader if _CParser is not None else yaml.SafeLoader):
    """libyaml's parser and composer with the safe constructor, used once ``_libyaml_scan`` passed."""


def _read_bytes(p: Path, err) -> bytes:
    """The file's bytes, refusing anything but a regular file of bounded size."""
    try:
        if not p.exists():
            raise err("broken or looping symbolic link" if p.is_symlink() else "file not found")
        if p.is_dir():
            raise err("is a directory, not a scenario file")
        if not p.is_file():  # checked before opening: opening a named pipe would block
            raise err("not a regular file (a device, pipe or socket); a scenario is a UTF-8 YAML text file")
        with open(p, "rb") as fh:
            info = os.fstat(fh.fileno())
            if not stat.S_ISREG(info.st_mode):
                raise err(
                    "not a regular file (a device, pipe or socket); a scenario is a UTF-8 YAML text file"
                )
            if info.st_size > MAX_FILE_BYTES:
                raise err(
                    f"file is {info.st_size:,} bytes; a scenario file may be at most {MAX_FILE_BYTES:,} bytes"
                )
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise err(f"cannot read the file: {exc.strerror or exc}") from None
    except ValueError as exc:  # e.g. a NUL character in the path
        raise err(f"not a usable file path: {exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise err(f"file is larger than {MAX_FILE_BYTES:,} bytes, the most a scenario file may be")
    return raw


def _decode(raw: bytes, err) -> str:
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise err("UTF-16 text; save the scenario as UTF-8", 1)
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]  # a UTF-8 byte-order mark is harmless
    if b"\x00" in raw:
        line = raw[: raw.index(b"\x00")].count(b"\n") + 1
        raise err("binary file (contains NUL bytes); a scenario is a UTF-8 YAML text file", line)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise err(
            f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the scenario as UTF-8",
            line,
        ) from None


def read_yaml(path: str | os.PathLike) -> tuple[dict, dict[tuple, int]]:
    """Read one YAML mapping safely; return the data and the line of each key path.

    Raises
    ------
    ScenarioError
        For a missing, unreadable, oversized, binary or non-UTF-8 file, a YAML
        syntax error, a tab in the indentation, a duplicate key, a Python or
        other non-data tag, an alias bomb (more than MAX_NODES nodes once
        aliases are expanded) or nesting deeper than MAX_DEPTH.
    """
    p = Path(path)
    file = str(path)

    def err(message: str, line: int | None = None) -> ScenarioError:
        return ScenarioError([Problem(file, line, "", message)])

    text = _decode(_read_bytes(p, err), err)
    scan = _libyaml_scan(text)
    if isinstance(scan, _Refused):
        raise err(scan.message, scan.line)
    if scan:
        try:
            return _compose(_CLoader(text), file, err)
        except yaml.YAMLError:
            pass  # reported in the Python loader's words below
    try:
        return _compose(_Loader(text), file, err)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if "\t" in text and "tab" in str(exc).lower() or "'\\t'" in str(exc):
            problem = "tab character found; YAML indentation must use spaces"
        context, context_mark = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        line = _mark_line(exc)
        if context and context_mark is not None and context_mark.line + 1 != line:
            problem += f" ({context} that starts on line {context_mark.line + 1})"
        raise err(f"YAML syntax error: {problem}", line) from None
    except _Refused as exc:
        raise err(exc.message, exc.line) from None
    except RecursionError:
        raise err(f"nested too deeply; at most {MAX_DEPTH} levels are allowed") from None


def _compose(loader, file: str, err) -> tuple[dict, dict[tuple, int]]:
    """Compose the single document and build the data; YAML errors are left to the caller."""
    try:
        node = loader.get_single_node()
        if node is None:
            raise err("empty file; a scenario is a YAML mapping of keys such as program:, categories:", 1)
        if not isinstance(node, yaml.MappingNode):
            raise err(
                "a scenario must be a YAML mapping (key: value lines) at the top level",
                node.start_mark.line + 1,
            )
        builder = _Builder(loader, file)
        return builder.build(node), builder.lines
    finally:
        loader.dispose()
