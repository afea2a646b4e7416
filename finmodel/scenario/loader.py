"""Scenario files: YAML in, a validated, frozen :class:`Scenario` out.

Everything about a scenario's keys is declared once, in :data:`PARAMETERS`:
kind, default, unit, allowed range and description. The same declaration
drives validation, defaults, the ``finmodel sources`` listing and the inputs
sheet of the memo pack (MODEL.md section 11).

Loading follows ``extends:`` (deep merge, child wins; a list replaces, a
mapping merges; cycles are an error), unwraps ``{value, source, note}``
wrappers, applies defaults and checks every rule. All problems found are
raised together in one :class:`~finmodel.scenario.yamlio.ScenarioError`, each naming
the file, the line and the key path.
"""

from __future__ import annotations

import copy
import datetime
import difflib
import hashlib
import json
import math
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np

from finmodel.scenario import units
from finmodel.scenario.units import UnitError
from finmodel.scenario.yamlio import Problem, ScenarioError, key_text, read_yaml

__all__ = [
    "Param",
    "PARAMETERS",
    "Category",
    "Scenario",
    "ScenarioError",
    "Problem",
    "load_scenario",
    "scenario_from_dict",
    "MACRS_CLASSES",
]

MACRS_CLASSES = (0, 3, 5, 7, 10, 15, 20, 39)
SHARE_TOLERANCE = 1e-9
MAX_EXTENDS_DEPTH = 16
#: The "file" named as the origin of a value set by :meth:`Scenario.override`.
OVERRIDE_FILE = "<override>"


# --------------------------------------------------------------------------- declarations


@dataclass(frozen=True)
class Param:
    """One scenario key: how it parses, its default, unit and meaning.

    ``path`` uses ``*`` for the category name: ``categories.*.share``.
    ``default`` is a value, ``None`` when required, or a callable of the
    partially resolved values (for defaults that depend on other keys).
    ``nullable`` holds the meaning of an explicit ``null`` where it has one.
    """

    path: str
    kind: str
    unit: str
    description: str
    default: Any = None
    required: bool = False
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    hi_open: bool = False
    choices: tuple = ()
    nullable: str | None = None


def _p(*args, **kwargs) -> Param:
    return Param(*args, **kwargs)


PARAMETERS: tuple[Param, ...] = (
    _p(
        "program.commitment_usd",
        "money",
        "USD",
        "Total program spend (nominal)",
        required=True,
        lo=0,
        lo_open=True,
    ),
    _p("program.start_year", "year", "year", "First calendar year of spend", required=True, lo=1990, hi=2100),
    _p("program.years", "int", "years", "Number of years of spend", required=True, lo=1, hi=60),
    _p(
        "program.schedule",
        "schedule",
        "-",
        "Spend shares by year: {shares: [...]} or {ramp: flat|linear|s_curve}",
        default={"ramp": "flat"},
    ),
    _p(
        "program.capacity_gw", "number", "GW", "IT capacity delivered by the whole program", default=0.0, lo=0
    ),
    _p(
        "program.capacity_category",
        "name",
        "-",
        "Category whose placed-in-service spend delivers capacity",
        default="servers",
    ),
    _p(
        "categories.*.share",
        "rate",
        "fraction",
        "Share of each year's spend on this category",
        required=True,
        lo=0,
        hi=1,
    ),
    _p(
        "categories.*.group",
        "name",
        "-",
        "Group the category belongs to (charts, eligibility)",
        default=lambda v, c: c,
    ),
    _p(
        "categories.*.macrs_years",
        "macrs",
        "years",
        "MACRS recovery period (0: expensed; null: land, never deducted)",
        required=True,
        nullable="land: never deducted",
    ),
    _p(
        "categories.*.bonus_eligible",
        "bool",
        "-",
        "Whether bonus depreciation applies",
        default=lambda v, c: (
            v[f"categories.{c}.macrs_years"] is not None and 1 <= v[f"categories.{c}.macrs_years"] <= 20
        ),
    ),
    _p(
        "categories.*.in_service_lag_years",
        "int",
        "years",
        "Years from spend to placed in service",
        default=0,
        lo=0,
        hi=20,
    ),
    _p(
        "categories.*.construction_years",
        "int",
        "years",
        "Years from start of construction to placed in service",
        default=0,
        lo=0,
        hi=20,
    ),
    _p(
        "categories.*.in_service_month",
        "int",
        "month",
        "Month placed in service (39-year mid-month table)",
        default=7,
        lo=1,
        hi=12,
    ),
    _p(
        "categories.*.life_years",
        "int",
        "years",
        "Economic life (null: fall back to macrs_years; land: for ever)",
        default=lambda v, c: v[f"categories.{c}.macrs_years"],
        lo=0,
        hi=100,
        nullable="fall back to macrs_years",
    ),
    _p(
        "categories.*.qualified_fraction",
        "rate",
        "fraction",
        "Share of the spend that is qualified property",
        default=1.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.rate",
        "rate_map",
        "fraction",
        "Credit rate by placed-in-service year",
        default={2023: 0.25, 2026: 0.35},
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.eligible",
        "names",
        "-",
        "Categories or groups that earn the credit in the 'with' case",
        default=(),
    ),
    _p(
        "policy.amic.construction_deadline_year",
        "year",
        "year",
        "Construction must begin before January 1 of this year (null: no deadline)",
        default=2027,
        lo=1990,
        hi=2200,
        nullable="no deadline",
    ),
    _p(
        "policy.amic.basis_reduction",
        "rate",
        "fraction",
        "Share of the credit that reduces depreciable basis",
        default=1.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.monetization",
        "choice",
        "-",
        "How the credit turns into cash",
        default="direct_pay",
        choices=("direct_pay", "transfer"),
    ),
    _p(
        "policy.amic.payment_lag_years",
        "int",
        "years",
        "Years from credit earned to cash received",
        default=1,
        lo=0,
        hi=10,
    ),
    _p(
        "policy.amic.payment_haircut",
        "rate",
        "fraction",
        "Cut applied to direct payments (e.g. sequestration)",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "policy.amic.transfer_price",
        "rate",
        "USD per USD",
        "Price per dollar of credit when transferred",
        default=0.93,
        lo=0,
        hi=1,
    ),
    _p("policy.amic.recapture", "bool", "-", "Recapture on early retirement (section 50(a))", default=True),
    _p(
        "tax.corporate_rate",
        "rate",
        "fraction",
        "Federal corporate income tax rate",
        default=0.21,
        lo=0,
        hi=1,
        hi_open=True,
    ),
    _p(
        "tax.bonus_depreciation",
        "rate_map",
        "fraction",
        "Bonus depreciation by placed-in-service year",
        default={2022: 1.0, 2023: 0.8, 2024: 0.6, 2025: 1.0},
        lo=0,
        hi=1,
    ),
    _p(
        "tax.capacity",
        "choice",
        "-",
        "unlimited: the owner has other income; standalone: NOLs carried forward",
        default="unlimited",
        choices=("unlimited", "standalone"),
    ),
    _p(
        "tax.nol_limit",
        "rate",
        "fraction",
        "Share of taxable income a NOL may offset",
        default=0.8,
        lo=0,
        hi=1,
    ),
    _p(
        "operations.revenue_usd_per_gw_year",
        "money",
        "USD/GW-year",
        "Revenue per GW of operating capacity per year",
        default=0.0,
        lo=0,
    ),
    _p(
        "operations.revenue_growth",
        "rate",
        "per year",
        "Yearly growth of revenue per GW",
        default=0.0,
        lo=-0.5,
        hi=1,
    ),
    _p("operations.utilization", "rate", "fraction", "Average IT load factor", default=1.0, lo=0, hi=1),
    _p("operations.pue", "number", "-", "Power usage effectiveness", default=1.0, lo=1, hi=3),
    _p("operations.power_price_usd_per_mwh", "money", "USD/MWh", "Delivered power price", default=0.0, lo=0),
    _p(
        "operations.power_price_growth",
        "rate",
        "per year",
        "Yearly growth of the power price",
        default=0.0,
        lo=-0.5,
        hi=1,
    ),
    _p(
        "operations.om_rate",
        "rate",
        "per year",
        "Non-energy O&M as a share of in-service cost",
        default=0.0,
        lo=0,
        hi=1,
    ),
    _p(
        "finance.discount_rate",
        "rate",
        "per year",
        "Discount rate for NPV",
        default=0.10,
        lo=-0.5,
        hi=1,
        lo_open=True,
    ),
    _p(
        "finance.valuation_year",
        "year",
        "year",
        "Year at which values are discounted to",
        default=lambda v, c: v["program.start_year"],
        lo=1990,
        hi=2200,
    ),
    _p(
        "analysis.end_year",
        "year",
        "year",
        "Last year of the horizon",
        default=lambda v, c: v["program.start_year"] + 15,
        lo=1990,
        hi=2200,
    ),
    _p(
        "analysis.terminal_value",
        "choice",
        "-",
        "Value of the assets at the end of the horizon",
        default="book",
        choices=("book", "none"),
    ),
    _p(
        "fiscal.window_start",
        "year",
        "year",
        "First year of the budget window",
        default=lambda v, c: v["program.start_year"] + 1,
        lo=1990,
        hi=2200,
    ),
    _p("fiscal.window_years", "int", "years", "Length of the budget window", default=10, lo=1, hi=100),
    _p(
        "fiscal.discount_rate",
        "rate",
        "per year",
        "Discount rate for the Treasury's cost",
        default=0.04,
        lo=-0.5,
        hi=1,
        lo_open=True,
    ),
)

_BY_PATH = {p.path: p for p in PARAMETERS}
_TOP_LEVEL = (
    "name",
    "title",
    "description",
    "extends",
    "sources",
    "program",
    "categories",
    "policy",
    "tax",
    "operations",
    "finance",
    "analysis",
    "fiscal",
)
_SECTIONS: dict[str, tuple[str, ...]] = {}
for _param in PARAMETERS:
    _head, _, _rest = _param.path.partition(".")
    if _head != "categories":
        _SECTIONS.setdefault(_head, ())
_CATEGORY_KEYS = tuple(p.path.split(".")[2] for p in PARAMETERS if p.path.startswith("categories.*."))
_SCHEDULE_KEYS = ("shares", "ramp", "midpoint", "steepness")
_WRAPPER_KEYS = {"value", "source", "note"}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")

# Top-level blocks that other modules validate (uncertainty, sensitivity): name -> validator(block, ctx)
EXTRA_BLOCKS: dict[str, Callable] = {}


# --------------------------------------------------------------------------- the result


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
    :meth:`override`.
    """

    name: str
    title: str
    path: str | None
    values: Mapping[str, Any]
    provenance: Mapping[str, Provenance]
    sources: Mapping[str, str]
    raw: Mapping[str, Any]
    extras: Mapping[str, Any] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    #: Where each key path (a tuple, e.g. ``("policy", "amic", "rate", 2026)``)
    #: was written, as ``(file, line)``, following ``extends``.
    origins: Mapping[tuple, tuple[str, int]] = field(default_factory=dict)

    def __getitem__(self, path: str) -> Any:
        return self.values[path]

    @property
    def categories(self) -> tuple[Category, ...]:
        names = self.category_names
        return tuple(
            Category(name=c, **{k: self.values[f"categories.{c}.{k}"] for k in _CATEGORY_KEYS}) for c in names
        )

    @property
    def category_names(self) -> tuple[str, ...]:
        return tuple(self.values["categories"])

    @property
    def years(self) -> np.ndarray:
        return np.arange(self["program.start_year"], self["analysis.end_year"] + 1)

    def resolved(self) -> dict:
        """The resolved scenario as plain JSON-ready nested data (defaults applied)."""
        out: dict = {"name": self.name, "title": self.title}
        for path, value in self.values.items():
            if path == "categories":
                continue
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

    def override(self, changes: Mapping[str, Any], name: str | None = None) -> Scenario:
        """A new scenario: ``changes`` (dotted paths or nested mappings) merged on ``raw``, revalidated.

        >>> s = scenario_from_dict({"program": {"commitment_usd": "1B", "start_year": 2025, "years": 2},
        ...                         "categories": {"a": {"share": 1, "macrs_years": 5}}})
        >>> s.override({"program.commitment_usd": "2B"})["program.commitment_usd"]
        2000000000.0
        """
        nested: dict = {}
        for key, value in changes.items():
            node = nested
            parts = key.split(".") if isinstance(key, str) else [key]
            for part in parts[:-1]:
                node = node.setdefault(part, {})
            node[parts[-1]] = value
        merged = deep_merge(self.raw, nested)
        merged["name"] = name or self.name
        # Provenance: untouched keys keep the file and line they were written
        # in; every key set here is reported as set in "<override>".
        changed: dict[tuple, tuple[str, int | None]] = {}

        def leaves(node, path):
            if isinstance(node, Mapping) and node and not _is_wrapper(node):
                for k, v in node.items():
                    leaves(v, path + (k,))
            else:
                changed[path] = (OVERRIDE_FILE, None)

        leaves(nested, ())
        origins = _merge_origins(dict(self.origins), changed, nested)
        files = self.files + (OVERRIDE_FILE,) if nested else self.files
        return _validate(merged, origins, self.path or OVERRIDE_FILE, files)


def _jsonable(value):
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


# --------------------------------------------------------------------------- merging


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
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping) and not _is_atomic(value):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _is_wrapper(value) -> bool:
    return isinstance(value, Mapping) and "value" in value and set(value) <= _WRAPPER_KEYS


def _is_year_map(value) -> bool:
    """A non-empty mapping whose keys are all calendar years (integers): one value, a step function."""
    return (
        isinstance(value, Mapping)
        and bool(value)
        and all(isinstance(k, int) and not isinstance(k, bool) for k in value)
    )


def _is_atomic(value) -> bool:
    """A mapping that a child replaces whole rather than merges into (see :func:`deep_merge`)."""
    return _is_wrapper(value) or _is_year_map(value) or (isinstance(value, Mapping) and "dist" in value)


def _merge_origins(parent: dict, child: dict, child_data: Mapping) -> dict:
    """Origins (path -> (file, line)) after merging ``child_data`` over a parent."""
    out = dict(parent)
    replaced: list[tuple] = []

    def walk(node, path):
        if isinstance(node, Mapping) and not _is_atomic(node):
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


# --------------------------------------------------------------------------- loading


def load_scenario(path: str | os.PathLike) -> Scenario:
    """Load, merge (``extends``), validate and freeze a scenario file.

    Raises
    ------
    ScenarioError
        With one :class:`Problem` per rule broken (file, line, key, message).
    """
    data, origins, files = _load_chain(Path(path), ())
    default_name = Path(path).stem
    data.setdefault("name", default_name)
    return _validate(data, origins, str(path), files)


def scenario_from_dict(data: Mapping, file: str = "<dict>") -> Scenario:
    """Validate a scenario given as a mapping (same rules as a file; no ``extends``)."""
    data = copy.deepcopy(dict(data))
    if "extends" in data:
        raise ScenarioError([Problem(file, None, "extends", "extends is only allowed in a file")])
    data.setdefault("name", Path(file).stem if file.endswith((".yaml", ".yml")) else "scenario")
    return _validate(data, {}, file, (file,))


def _load_chain(path: Path, stack: tuple[Path, ...]) -> tuple[dict, dict, tuple[str, ...]]:
    resolved = Path(os.path.realpath(path))  # never raises, even on a symlink loop (read_yaml reports it)
    if resolved in stack:
        chain = " -> ".join(str(p.name) for p in stack + (resolved,))
        raise ScenarioError([Problem(str(path), None, "extends", f"circular extends: {chain}")])
    if len(stack) >= MAX_EXTENDS_DEPTH:
        raise ScenarioError(
            [Problem(str(path), None, "extends", f"extends chain deeper than {MAX_EXTENDS_DEPTH} files")]
        )
    data, lines = read_yaml(path)
    origins = {k: (str(path), line) for k, line in lines.items()}
    parent_ref = data.pop("extends", None)
    if parent_ref is None:
        return data, origins, (str(path),)
    if not isinstance(parent_ref, str) or not parent_ref.strip():
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    lines.get(("extends",)),
                    "extends",
                    f"must be a file path relative to this file, got {parent_ref!r}",
                )
            ]
        )
    parent_path = path.parent / parent_ref
    line = lines.get(("extends",))
    try:
        parent_is_file, parent_is_dir = parent_path.is_file(), parent_path.is_dir()
    except (OSError, ValueError):
        parent_is_file = parent_is_dir = False
    if parent_is_dir:
        raise ScenarioError(
            [
                Problem(
                    str(path),
                    line,
                    "extends",
                    f"{parent_ref!r} is a directory; extends names a scenario file",
                )
            ]
        )
    if not parent_is_file:
        siblings = (
            sorted(q.name for q in parent_path.parent.glob("*.y*ml")) if parent_path.parent.is_dir() else []
        )
        hint = difflib.get_close_matches(parent_path.name, siblings, n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        raise ScenarioError(
            [Problem(str(path), line, "extends", f"parent file not found: {parent_path}{tip}")]
        )
    parent_resolved = Path(os.path.realpath(parent_path))
    if parent_resolved in stack + (resolved,):
        chain = " -> ".join(q.name for q in stack + (resolved, parent_resolved))
        raise ScenarioError([Problem(str(path), line, "extends", f"circular extends: {chain}")])
    parent, parent_origins, parent_files = _load_chain(parent_path, stack + (resolved,))
    parent.pop("name", None)  # the child's name defaults to its own stem
    merged = deep_merge(parent, data)
    return merged, _merge_origins(parent_origins, origins, data), parent_files + (str(path),)


# --------------------------------------------------------------------------- validation


class _Ctx:
    def __init__(self, file: str, origins: dict, files: tuple[str, ...] = ()):
        self.file = file
        self.origins = origins
        self.files = files
        self.problems: list[Problem] = []

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
        for cut in range(len(path), -1, -1):
            hit = self.origins.get(tuple(path[:cut]))
            if hit:
                return hit
        return self.file, None

    def add(self, path: tuple, message: str) -> None:
        file, line = self.where(path)
        self.problems.append(Problem(file, line, key_text(path), message))


def _unknown(ctx: _Ctx, path: tuple, key, allowed) -> None:
    hint = difflib.get_close_matches(str(key), [str(a) for a in allowed], n=1, cutoff=0.6)
    tip = f"; did you mean '{hint[0]}'?" if hint else ""
    ctx.add(path + (key,), f"unknown key{tip} (allowed: {', '.join(map(str, allowed))})")


def _unwrap(ctx: _Ctx, path: tuple, value, sources: Mapping) -> tuple[Any, str | None, str | None]:
    """Peel a ``{value, source, note}`` wrapper; check the source exists."""
    if isinstance(value, Mapping) and "value" in value:
        extra = set(value) - _WRAPPER_KEYS
        for key in sorted(extra, key=str):
            _unknown(ctx, path, key, sorted(_WRAPPER_KEYS))
        source = value.get("source")
        if source is not None and (not isinstance(source, str) or source not in sources):
            known = ", ".join(sorted(sources)) or "none defined"
            ctx.add(
                path + ("source",),
                f"unknown source {source!r}; a source must be an ID of the top-level sources: map ({known})",
            )
        note = value.get("note")
        return (
            value["value"],
            source if isinstance(source, str) else None,
            note if isinstance(note, str) else None,
        )
    if isinstance(value, Mapping) and "source" in value and "value" not in value:
        ctx.add(path, "a {source: ...} wrapper needs a value: key")
    return value, None, None


def _range_text(p: Param) -> str:
    lo = "" if p.lo is None else (f"> {p.lo:g}" if p.lo_open else f">= {p.lo:g}")
    hi = "" if p.hi is None else (f"< {p.hi:g}" if p.hi_open else f"<= {p.hi:g}")
    return " and ".join(x for x in (lo, hi) if x)


def _check_range(p: Param, x: float) -> str | None:
    bad = (p.lo is not None and (x <= p.lo if p.lo_open else x < p.lo)) or (
        p.hi is not None and (x >= p.hi if p.hi_open else x > p.hi)
    )
    return f"must be {_range_text(p)}, got {x:g}" if bad else None


def _parse_scalar(p: Param, value) -> Any:
    """Parse by kind; raise UnitError with the rule."""
    kind = p.kind
    if kind == "money":
        x = units.parse_money(value)
    elif kind == "rate":
        x = units.parse_rate(value)
    elif kind == "number":
        x = units.parse_number(value)
    elif kind in ("int", "year"):
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            else:
                what = "a calendar year (integer)" if kind == "year" else "a whole number"
                raise UnitError(f"must be {what}, got {_show(value)}")
        x = value
    elif kind == "bool":
        if not isinstance(value, bool):
            raise UnitError(f"must be true or false, got {_show(value)}")
        return value
    elif kind == "choice":
        if value not in p.choices:
            hint = difflib.get_close_matches(str(value), p.choices, n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else ""
            raise UnitError(f"must be one of {', '.join(p.choices)}, got {_show(value)}{tip}")
        return value
    elif kind == "name":
        if not isinstance(value, str) or not value:
            raise UnitError(f"must be a name (text), got {_show(value)}")
        return value
    elif kind == "macrs":
        if isinstance(value, bool) or not isinstance(value, int) or value not in MACRS_CLASSES:
            raise UnitError(
                f"must be a MACRS class of IRS Publication 946 ({', '.join(map(str, MACRS_CLASSES))}; "
                f"0 means expensed) or null for land, got {_show(value)}"
            )
        return value
    else:  # pragma: no cover - declaration error
        raise AssertionError(kind)
    if kind in ("money", "rate", "number", "int", "year"):
        msg = _check_range(p, x)
        if msg:
            raise UnitError(msg)
    return x


def _show(value) -> str:
    if isinstance(value, bool):  # YAML reads yes/no/on/off as booleans: show the YAML spelling
        return "true" if value else "false"
    if isinstance(value, (datetime.date, datetime.datetime)):
        return f"the date {value.isoformat()}"
    return units._show(value)


def _param_value(ctx: _Ctx, p: Param, path: tuple, value, sources):
    """Parse one written value of parameter ``p``; returns (value, source, note, ok)."""
    if p.kind == "rate_map":
        if isinstance(value, Mapping) and "value" not in value:
            out = {}
            ok = True
            src = None
            for year, item in value.items():
                if isinstance(year, str) and year.isdigit() and len(year) == 4:
                    year = int(year)  # a quoted year, as in JSON (run.json's resolved scenario)
                item, s, _ = _unwrap(ctx, path + (year,), item, sources)
                src = src or s
                if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
                    ctx.add(
                        path + (year,),
                        f"year map keys must be calendar years between 1900 and 2200, got {year!r}",
                    )
                    ok = False
                    continue
                if item is None:
                    ctx.add(path + (year,), "null is not allowed here; give a rate")
                    ok = False
                    continue
                try:
                    out[year] = _parse_scalar(Param(p.path, "rate", p.unit, "", lo=p.lo, hi=p.hi), item)
                except UnitError as exc:
                    ctx.add(path + (year,), str(exc))
                    ok = False
            if not out and ok:
                ctx.add(path, "must be a rate or a non-empty year map {year: rate}")
                ok = False
            return dict(sorted(out.items())), src, None, ok
        value, source, note = _unwrap(ctx, path, value, sources)
        if isinstance(value, Mapping):
            return _param_value(ctx, p, path, value, sources)[:1] + (source, note, True)
        if value is None:
            ctx.add(path, "null is not allowed here; give a rate or a year map {year: rate}")
            return None, source, note, False
        try:
            return (
                {0: _parse_scalar(Param(p.path, "rate", p.unit, "", lo=p.lo, hi=p.hi), value)},
                source,
                note,
                True,
            )
        except UnitError as exc:
            ctx.add(path, str(exc))
            return None, source, note, False
    value, source, note = _unwrap(ctx, path, value, sources)
    if value is None:
        if p.nullable:
            return None, source, note, True
        ctx.add(
            path,
            "null is not allowed here; remove the key to use the default"
            + ("" if p.required else f" ({_show_default(p)})"),
        )
        return None, source, note, False
    if p.kind == "names":
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            ctx.add(path, f"must be a list of category or group names, got {_show(value)}")
            return None, source, note, False
        return tuple(value), source, note, True
    if p.kind == "schedule":
        return value, source, note, True  # checked with the program
    try:
        return _parse_scalar(p, value), source, note, True
    except UnitError as exc:
        ctx.add(path, str(exc))
        return None, source, note, False


def _show_default(p: Param) -> str:
    if callable(p.default):
        return "default depends on other keys"
    return f"default {p.default!r}"


def _validate(data: dict, origins: dict, file: str, files: tuple[str, ...]) -> Scenario:
    ctx = _Ctx(file, origins, files)
    values: dict[str, Any] = {}
    prov: dict[str, Provenance] = {}

    for key in data:
        if key not in _TOP_LEVEL and key not in EXTRA_BLOCKS:
            _unknown(ctx, (), key, list(_TOP_LEVEL) + sorted(EXTRA_BLOCKS))

    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        ctx.add(("name",), f"must be text, got {_show(name)}")
        name = "scenario"
    title = data.get("title", name)
    if not isinstance(title, str):
        ctx.add(("title",), f"must be text, got {_show(title)}")
        title = name
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        ctx.add(("description",), f"must be text, got {_show(description)}")

    sources = data.get("sources", {}) or {}
    if not isinstance(sources, Mapping):
        ctx.add(("sources",), f"must be a mapping {{ID: citation}}, got {_show(sources)}")
        sources = {}
    for sid, cite in sources.items():
        if not isinstance(sid, str) or not isinstance(cite, str):
            ctx.add(("sources", sid), f'a source is ID: "citation text", got {_show(cite)}')
    sources = {k: v for k, v in sources.items() if isinstance(k, str) and isinstance(v, str)}

    # sections other than categories
    for section in ("program", "policy", "tax", "operations", "finance", "analysis", "fiscal"):
        block = data.get(section, {})
        if block is None or not isinstance(block, Mapping):
            ctx.add((section,), f"must be a mapping of keys, got {_show(block)}")
            data[section] = {}
    policy = data.get("policy", {})
    for key in policy:
        if key != "amic":
            _unknown(ctx, ("policy",), key, ["amic"])
    if "amic" in policy and not isinstance(policy["amic"], Mapping):
        ctx.add(("policy", "amic"), f"must be a mapping of keys, got {_show(policy['amic'])}")

    def lookup(parts):
        node = data
        for part in parts:
            if not isinstance(node, Mapping) or part not in node:
                return False, None
            node = node[part]
        return True, node

    section_keys: dict[tuple, list[str]] = {}
    for p in PARAMETERS:
        if p.path.startswith("categories."):
            continue
        parts = tuple(p.path.split("."))
        section_keys.setdefault(parts[:-1], []).append(parts[-1])
    for parent, keys in section_keys.items():
        present, block = lookup(parent)
        if present and isinstance(block, Mapping):
            for key in block:
                if key not in keys:
                    _unknown(ctx, parent, key, keys)

    def resolve(p: Param, path_key: str, parts: tuple, cat: str | None):
        present, raw = lookup(parts)
        if present:
            value, source, note, ok = _param_value(ctx, p, parts, raw, sources)
            file, line = ctx.where(parts)
            values[path_key] = value
            prov[path_key] = Provenance(False, file, line, source, note)
            if value is None and p.path == "categories.*.life_years":
                values[path_key] = values.get(f"categories.{cat}.macrs_years")
            return ok
        if p.required:
            ctx.add(parts, "required key is missing")
            values[path_key] = None
            return False
        default = p.default
        if callable(default):
            try:
                default = default(values, cat)
            except (KeyError, TypeError):
                default = None
        values[path_key] = copy.deepcopy(default)
        prov[path_key] = Provenance(True, None, None, None, None)
        return True

    ok_program = True
    for p in PARAMETERS:
        if p.path.startswith("program."):
            ok_program &= resolve(p, p.path, tuple(p.path.split(".")), None)

    # categories
    cats = data.get("categories")
    cat_names: list[str] = []
    if not isinstance(cats, Mapping) or not cats:
        ctx.add(
            ("categories",), "required: a mapping of at least one category NAME: {share, macrs_years, ...}"
        )
    else:
        for cname, block in cats.items():
            if not isinstance(cname, str) or not _NAME.match(cname):
                quote = (
                    " (YAML reads an unquoted yes/no/on/off/true/false as a boolean: quote the name)"
                    if isinstance(cname, bool)
                    else ""
                )
                ctx.add(
                    ("categories", cname),
                    "a category name must start with a letter and hold only letters, digits, _ or -" + quote,
                )
                continue
            if not isinstance(block, Mapping):
                ctx.add(
                    ("categories", cname),
                    f"must be a mapping {{share, macrs_years, ...}}, got {_show(block)}",
                )
                continue
            cat_names.append(cname)
            for key in block:
                if key not in _CATEGORY_KEYS:
                    _unknown(ctx, ("categories", cname), key, _CATEGORY_KEYS)
            for p in PARAMETERS:
                if p.path.startswith("categories.*."):
                    k = p.path.split(".")[2]
                    resolve(p, f"categories.{cname}.{k}", ("categories", cname, k), cname)
    values["categories"] = tuple(cat_names)

    for p in PARAMETERS:
        head = p.path.split(".")[0]
        if head not in ("program", "categories"):
            resolve(p, p.path, tuple(p.path.split(".")), None)

    # ------------------------------------------------------------ cross-key rules
    start = values.get("program.start_year")
    nyears = values.get("program.years")
    end = values.get("analysis.end_year")

    if cat_names:
        shares = [values.get(f"categories.{c}.share") for c in cat_names]
        if all(isinstance(s, float) for s in shares):
            total = math.fsum(shares)
            if abs(total - 1.0) > SHARE_TOLERANCE:
                listing = ", ".join(f"{c} {s:g}" for c, s in zip(cat_names, shares, strict=True))
                ctx.add(
                    ("categories",),
                    f"category shares must sum to 1 (within 1e-9), got {total:.12g} ({listing}); "
                    "shares are never rescaled",
                )
        for c in cat_names:
            group = values.get(f"categories.{c}.group")
            if isinstance(group, str) and not _NAME.match(group):
                ctx.add(
                    ("categories", c, "group"),
                    "a group name must start with a letter and hold only letters, digits, _ or -, "
                    f"got {group!r}",
                )
        groups = {values.get(f"categories.{c}.group") for c in cat_names}
        for g in groups:
            if g in cat_names and values.get(f"categories.{g}.group") != g:
                ctx.add(
                    ("categories", g, "group"),
                    f"group name {g!r} is also a category name of another group; names must not be ambiguous",
                )

    if isinstance(nyears, int) and ok_program:
        _check_schedule(ctx, values, sources)

    if isinstance(start, int) and isinstance(nyears, int) and isinstance(end, int):
        if end < start:
            ctx.add(("analysis", "end_year"), f"must be >= program.start_year ({start}), got {end}")
        else:
            last_spend = start + nyears - 1
            if last_spend > end:
                key = ctx.latest(("analysis", "end_year"), ("program", "years"), ("program", "start_year"))
                ctx.add(
                    key,
                    f"spend runs to {last_spend} (start_year {start} + years {nyears} - 1) "
                    f"but the horizon ends in {end}",
                )
            for c in cat_names:
                lag = values.get(f"categories.{c}.in_service_lag_years")
                if isinstance(lag, int) and lag > 0 and last_spend <= end < last_spend + lag:
                    ctx.add(
                        ("categories", c, "in_service_lag_years"),
                        f"spend of {last_spend} would be placed in service in {last_spend + lag}, "
                        f"after analysis.end_year {end}; "
                        "every spend must be placed in service within the horizon",
                    )
            if end - start + 1 > 200:
                ctx.add(
                    ("analysis", "end_year"),
                    f"horizon of {end - start + 1} years is longer than the 200 allowed",
                )
        vy = values.get("finance.valuation_year")
        if isinstance(vy, int) and not start - 100 <= vy <= (end if isinstance(end, int) else start) + 100:
            ctx.add(
                ("finance", "valuation_year"),
                f"must lie within 100 years of the horizon {start}-{end}, got {vy}",
            )
        ws, wn = values.get("fiscal.window_start"), values.get("fiscal.window_years")
        if isinstance(ws, int) and isinstance(wn, int) and end >= start and (ws > end or ws + wn - 1 < start):
            # A window that only partly overlaps the horizon is clipped to it (MODEL.md section 10).
            ctx.add(
                ctx.latest(("fiscal", "window_start"), ("fiscal", "window_years"))
                if ws + wn - 1 < start
                else ("fiscal", "window_start"),
                f"the budget window {ws}-{ws + wn - 1} does not overlap the horizon {start}-{end}; "
                "it must share at least one year with it",
            )

    for c in cat_names:
        macrs = values.get(f"categories.{c}.macrs_years")
        bonus = values.get(f"categories.{c}.bonus_eligible")
        if (
            macrs is None
            and bonus
            and not prov.get(
                f"categories.{c}.bonus_eligible", Provenance(True, None, None, None, None)
            ).is_default
        ):
            ctx.add(
                ("categories", c, "bonus_eligible"),
                "land (macrs_years: null) is never depreciated, so it cannot be bonus eligible",
            )

    gw = values.get("program.capacity_gw")
    cap_cat = values.get("program.capacity_category")
    if isinstance(gw, float) and gw > 0 and cat_names:
        if cap_cat not in cat_names:
            hint = difflib.get_close_matches(str(cap_cat), cat_names, n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else ""
            ctx.add(
                ("program", "capacity_category"),
                f"must name a category when capacity_gw > 0, got {cap_cat!r}{tip} "
                f"(categories: {', '.join(cat_names)})",
            )
        elif values.get(f"categories.{cap_cat}.share") == 0.0:
            ctx.add(
                ("program", "capacity_category"),
                f"category {cap_cat!r} has share 0, so it cannot deliver {gw:g} GW",
            )

    eligible = values.get("policy.amic.eligible")
    if isinstance(eligible, tuple) and cat_names:
        groups = {values.get(f"categories.{c}.group") for c in cat_names}
        known = list(cat_names) + sorted(g for g in groups if isinstance(g, str) and g not in cat_names)
        for i, n in enumerate(eligible):
            if n not in known:
                hint = difflib.get_close_matches(n, known, n=1)
                tip = f"; did you mean '{hint[0]}'?" if hint else ""
                ctx.add(
                    ("policy", "amic", "eligible", i),
                    f"{n!r} is neither a category nor a group{tip} (known: {', '.join(known)})",
                )

    extras: dict[str, Any] = {}
    ctx.sources = sources  # for source: keys inside the extra blocks
    for key, validator in EXTRA_BLOCKS.items():
        if key in data:
            extras[key] = validator(data[key], ctx, values)

    if ctx.problems:
        raise ScenarioError(ctx.problems)
    raw = copy.deepcopy(data)
    return Scenario(
        name=name,
        title=title,
        path=file,
        values=MappingProxyType(values),
        provenance=MappingProxyType(prov),
        sources=MappingProxyType(dict(sources)),
        raw=MappingProxyType(raw),
        extras=MappingProxyType(extras),
        files=files,
        origins=MappingProxyType(dict(origins)),
    )


def _check_schedule(ctx: _Ctx, values: dict, sources) -> None:
    """Validate program.schedule and store the resolved year shares."""
    sched = values.get("program.schedule")
    n = values["program.years"]
    path = ("program", "schedule")
    if not isinstance(sched, Mapping):
        ctx.add(path, f"must be {{shares: [...]}} or {{ramp: flat|linear|s_curve}}, got {_show(sched)}")
        return
    for key in sched:
        if key not in _SCHEDULE_KEYS:
            _unknown(ctx, path, key, _SCHEDULE_KEYS)
    if ("shares" in sched) == ("ramp" in sched):
        ctx.add(path, "give exactly one of shares: [...] or ramp: flat|linear|s_curve")
        return
    if "shares" in sched:
        raw = sched["shares"]
        if not isinstance(raw, list):
            ctx.add(path + ("shares",), f"must be a list of {n} fractions, got {_show(raw)}")
            return
        shares = []
        for i, item in enumerate(raw):
            item, _, _ = _unwrap(ctx, path + ("shares", i), item, sources)
            try:
                x = units.parse_rate(item)
            except UnitError as exc:
                ctx.add(path + ("shares", i), str(exc))
                return
            if x < 0:
                ctx.add(path + ("shares", i), f"must be >= 0, got {x:g}")
                return
            shares.append(x)
        if len(shares) != n:
            ctx.add(path + ("shares",), f"must hold exactly program.years = {n} values, got {len(shares)}")
            return
        total = math.fsum(shares)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            ctx.add(
                path + ("shares",),
                f"must sum to 1 (within 1e-9), got {total:.12g}; shares are never rescaled",
            )
            return
        for extra in ("midpoint", "steepness"):
            if extra in sched:
                ctx.add(path + (extra,), "applies only to ramp: s_curve")
        values["program.schedule"] = {"shares": shares}
        return
    ramp = sched["ramp"]
    if ramp not in ("flat", "linear", "s_curve"):
        hint = difflib.get_close_matches(str(ramp), ["flat", "linear", "s_curve"], n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        ctx.add(path + ("ramp",), f"must be one of flat, linear, s_curve, got {_show(ramp)}{tip}")
        return
    out: dict[str, Any] = {"ramp": ramp}
    if ramp == "s_curve":
        for key, default, lo in (("midpoint", n / 2, None), ("steepness", 1.0, 0.0)):
            if key in sched:
                try:
                    x = units.parse_number(_unwrap(ctx, path + (key,), sched[key], sources)[0])
                except UnitError as exc:
                    ctx.add(path + (key,), str(exc))
                    return
                if lo is not None and x <= lo:
                    ctx.add(path + (key,), f"must be > {lo:g}, got {x:g}")
                    return
                out[key] = x
            else:
                out[key] = float(default)
    else:
        for extra in ("midpoint", "steepness"):
            if extra in sched:
                ctx.add(path + (extra,), "applies only to ramp: s_curve")
    values["program.schedule"] = out
