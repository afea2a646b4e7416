"""The validated scenario: a frozen :class:`Scenario`, with :class:`Category` and :class:`Provenance`."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finmodel.scenario.params import CATEGORY_KEYS

__all__ = ["Category", "Provenance", "Scenario"]


@dataclass(frozen=True)
class Category:
    """One asset category, fully resolved. ``life_years`` None means for ever."""

    name: str
    share: float
    group: str
    macrs_years: int | None
    bonus_eligible: bool
    in_service_lag_years: int
    construction_years: int
    in_service_month: int
    life_years: int | None
    qualified_fraction: float


@dataclass(frozen=True)
class Provenance:
    """Where a resolved value came from."""

    is_default: bool
    file: str | None
    line: int | None
    source: str | None
    note: str | None


@dataclass(frozen=True, eq=False)
class Scenario:
    """A validated scenario. Values are read with ``scenario[path]``.

    ``values`` maps every parameter path (``categories.NAME.share`` for
    category keys) to its resolved value; ``provenance`` says, per path,
    whether it was set or defaulted, in which file and line, and its source.
    ``raw`` is the merged mapping as written (after ``extends``), the base for
    :meth:`override`. ``label`` is the short name on charts and tables
    (default: the title).
    """

    name: str
    title: str
    path: str | None
    values: Mapping[str, Any]
    provenance: Mapping[str, Provenance]
    sources: Mapping[str, str]
    raw: Mapping[str, Any]
    extras: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    files: tuple[str, ...] = ()
    #: Where each key path (a tuple, e.g. ``("policy", "amic", "rate", 2026)``)
    #: was written, as ``(file, line)``, following ``extends``.
    origins: Mapping[tuple, tuple[str, int]] = field(default_factory=dict)
    #: ``cases:`` (MODEL.md section 15): each extra case as a scenario with its overrides merged.
    case_scenarios: Mapping[str, Scenario] = field(default_factory=dict)
    #: The ``--set`` items this scenario was made with (``given``, ``key``, ``value``),
    #: in order; ``run.json`` records them (MODEL.md section 11, "What-ifs").
    overrides: tuple[Mapping[str, Any], ...] = ()
    #: Values that validate but look mistaken (:mod:`finmodel.scenario.guards`): a money value
    #: a thousand-fold small, a title whose figures disagree with the values. Each a
    #: :class:`~finmodel.scenario.yamlio.Problem` (file, line, key, message); never printed here.
    warnings: tuple = ()

    def __getitem__(self, path: str) -> Any:
        return self.values[path]

    @property
    def categories(self) -> tuple[Category, ...]:
        names = self.category_names
        return tuple(
            Category(name=c, **{k: self.values[f"categories.{c}.{k}"] for k in CATEGORY_KEYS}) for c in names
        )

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(self.values["categories"])

    @property
    def years(self) -> np.ndarray:
        return np.arange(self["program.start_year"], self["analysis.end_year"] + 1)

    @property
    def has_loan_guarantee(self) -> bool:
        """Whether ``policy.loan_guarantee`` is written (MODEL.md section 14: a case has one only then)."""
        policy = self.raw.get("policy")
        return isinstance(policy, Mapping) and isinstance(policy.get("loan_guarantee"), Mapping)

    def has_block(self, key: str) -> bool:
        """Whether the top-level block ``key`` (``refresh``, ``incidence``) is written."""
        return isinstance(self.raw.get(key), Mapping)

    def resolved(self) -> dict:
        """The resolved scenario as plain JSON-ready nested data (defaults applied)."""
        out: dict = {"name": self.name, "title": self.title, "label": self.label}
        guarantee = self.has_loan_guarantee
        for path, value in self.values.items():
            if path == "categories" or (path.startswith("policy.loan_guarantee.") and not guarantee):
                continue  # the guarantee's defaults are written only where the block is (section 14)
            if path.split(".")[0] in ("refresh", "incidence") and not self.has_block(path.split(".")[0]):
                continue  # sections 17-18: written only where the scenario has the block
            node = out
            parts = path.split(".")
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            if isinstance(value, Mapping) and list(value) == [0]:
                value = value[0]  # a scalar rate stored as a year map {0: rate}
            node[parts[-1]] = _jsonable(value)
        out["sources"] = dict(self.sources)
        for key, value in self.extras.items():
            out[key] = _jsonable(value)
        return out

    def sha256(self) -> str:
        """SHA-256 of the resolved scenario (canonical JSON)."""
        text = json.dumps(self.resolved(), sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()

    def override(
        self, changes: Mapping[str, Any], name: str | None = None, origin: str = "<override>"
    ) -> Scenario:
        """A new scenario: ``changes`` (dotted paths or nested mappings) merged on ``raw``, revalidated.

        Untouched keys keep the file and line they were written in; every key
        set here is reported as set in ``origin`` (``"<override>"``; the
        command line's ``--set`` passes ``"--set"``). A key ``PATH[YEAR]`` of a
        rate by year sets the step starting in ``YEAR`` (``policy.amic.rate[2026]``).

        >>> from finmodel.scenario.load import scenario_from_dict
        >>> s = scenario_from_dict({"program": {"commitment_usd": "1B", "start_year": 2025, "years": 2},
        ...                         "categories": {"a": {"share": 1, "macrs_years": 5}}})
        >>> s.override({"program.commitment_usd": "2B"})["program.commitment_usd"]
        2000000000.0
        """
        from finmodel.scenario.load import override_scenario  # load builds on this module

        return override_scenario(self, changes, name, origin)


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
