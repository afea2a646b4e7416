"""Problems found while a scenario is checked, each tied to the file and line of its key.

Every rule (in :mod:`finmodel.scenario.validate` and the block validators of
:mod:`finmodel.scenario.blocks`) reports with ``ctx.add(key_path, message)``;
all problems are raised together at the end in one
:class:`~finmodel.scenario.yamlio.ScenarioError`.
"""

from __future__ import annotations

import datetime
import difflib
from collections.abc import Mapping

from finmodel.scenario import units
from finmodel.scenario.yamlio import Problem, key_text

__all__ = ["Context", "unknown_key", "unknown_source", "show"]


class Context:
    """The problems of one scenario, and where its keys were written.

    ``origins`` maps key paths to ``(file, line)`` following ``extends``;
    ``files`` lists the chain's files, root parent first. ``sources`` is the
    scenario's ``sources:`` map once it is checked (for ``source:`` keys).
    """

    def __init__(self, file: str, origins: dict, files: tuple[str, ...] = ()):
        self.file = file
        self.origins = origins
        self.files = files
        self.problems: list[Problem] = []
        #: Values that validate but look mistaken (:mod:`finmodel.scenario.guards`); never raised.
        self.warnings: list[Problem] = []
        self.sources: Mapping[str, str] | None = None

    def latest(self, *paths: tuple) -> tuple:
        """Of several keys that break one rule together, the one written last in the extends chain.

        A child that changes ``program.years`` is told about ``program.years``
        in its own file, not about the parent's ``analysis.end_year``. Ties go
        to the first path given.
        """

        def rank(path):
            hit = self.origins.get(tuple(path))
            return self.files.index(hit[0]) if hit and hit[0] in self.files else -1

        return max(paths, key=rank)

    def where(self, path: tuple) -> tuple[str, int | None]:
        """File and line of ``path``, or of its nearest written parent."""
        for cut in range(len(path), -1, -1):
            hit = self.origins.get(tuple(path[:cut]))
            if hit:
                return hit
        return self.file, None

    def add(self, path: tuple, message: str) -> None:
        """Record that the key at ``path`` breaks a rule."""
        file, line = self.where(path)
        self.problems.append(Problem(file, line, key_text(path), message))

    def warn(self, path: tuple, message: str) -> None:
        """Record that the key at ``path`` holds a value that validates but looks mistaken."""
        file, line = self.where(path)
        self.warnings.append(Problem(file, line, key_text(path), message))


def unknown_key(ctx: Context, path: tuple, key, allowed) -> None:
    """Report ``key`` under ``path`` as unknown, with the closest allowed key as a hint."""
    hint = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1, cutoff=0.6)
    tip = f"; did you mean '{hint[0]}'?" if hint else ""
    ctx.add(path + (key,), f"unknown key{tip} (allowed: {', '.join(map(str, allowed))})")


def unknown_source(source, sources: Mapping[str, str] | None) -> str | None:
    """Why ``source`` is not an ID of the top-level ``sources:`` map (None if it is, or if unknown)."""
    if isinstance(source, str) and (sources is None or source in sources):
        return None
    known = ", ".join(sorted(sources or ())) or "none defined"
    return f"unknown source {source!r}; a source must be an ID of the top-level sources: map ({known})"


def show(value) -> str:
    """A written value for a message, in YAML's spelling (``true``, ``null``, dates as dates)."""
    if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans: show the YAML spelling
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    return units._show(value)
