"""A JSON Schema (draft 2020-12) of the scenario files, built from the declarations, for editors.

:func:`scenario_schema` reads what the other modules of this package
declare: the keys of :data:`~finmodel.scenario.params.PARAMETERS` (kind,
default, unit, range, description), the top-level keys of
:data:`~finmodel.scenario.validate.TOP_LEVEL`, the blocks registered in
:data:`~finmodel.scenario.blocks.BLOCKS`, the ``cases:`` rules, the schedule
forms and the distributions. A new declaration therefore shows up in the
schema once ``finmodel schema`` is run again (a test compares the committed
file with a fresh one).

Each value takes the notations of :mod:`finmodel.scenario.units`: money as a
number or ``"1.4T"``, ``"$250B"``, ``"35m"``; a rate as a fraction, ``"35%"``
or a numeric string ``"3.5e-1"``; a rate by year as a rate or a year map
``{2026: 0.35}``; any declared key may be wrapped as ``{value, source,
note}``. Ranges are checked on numbers, and on percent strings where the
bound is a whole percent (a percent with an exponent, or a numeric string,
is left to the loader).

The schema checks the shape of one file. The rules that span keys or files
(shares summing to 1, the horizon, ``source:`` IDs, names of categories,
the parent's keys under ``extends:``) stay with :func:`finmodel.load_scenario`
and ``finmodel validate``. A file with ``extends:`` holds only its changes,
so the required keys are required only of a file without it.

A block module may declare its own fragment as a module-level ``SCHEMA``
(a JSON Schema dict); a registered block without one is left open.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from typing import Any

from finmodel.scenario.blocks import BLOCKS
from finmodel.scenario.blocks.distributions import DISTRIBUTIONS, PERT_SHAPE
from finmodel.scenario.blocks.uncertainty import DEFAULT_DRAWS, MAX_DRAWS
from finmodel.scenario.cases import CASE_SECTIONS, RESERVED
from finmodel.scenario.params import MACRS_CLASSES, PARAMETERS, Param, range_text
from finmodel.scenario.schedule import RAMPS, SCHEDULE_KEYS
from finmodel.scenario.schema_values import (
    NAME,
    NAME_TEXT,
    Defs,
    meta,
    notation,
    notation_name,
    number,
    wrapped,
)
from finmodel.scenario.validate import TOP_LEVEL
from finmodel.scenario.varying import YEAR_MAP_YEARS, check_path, whole_years

__all__ = [
    "SCHEMA_FILE",
    "MODELINE",
    "scenario_schema",
    "schema_text",
]

#: Where ``finmodel schema`` writes by default, beside the scenarios that name it.
SCHEMA_FILE = "scenarios/scenario.schema.json"
#: The first line of every scenario file: yaml-language-server reads the schema from it.
MODELINE = "# yaml-language-server: $schema=./scenario.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

_DEADLINE = "policy.amic.construction_deadline_year"
#: The years a year map's key, or the ``[YEAR]`` of a step, may take: 1900 to 2200, four digits.
YEAR_PATTERN = r"(?:19[0-9]{2}|2[01][0-9]{2}|2200)"
assert YEAR_MAP_YEARS == (1900, 2200), "YEAR_PATTERN spells the years of YEAR_MAP_YEARS"

#: A default that depends on other keys, in words (the declaration holds a function).
DEPENDENT_DEFAULTS = {
    "categories.*.group": "the category's own name",
    "categories.*.bonus_eligible": "true for MACRS classes 3 to 20, false for 0 (expensed) and land",
    "categories.*.life_years": "the category's macrs_years",
    "finance.valuation_year": "program.start_year",
    "finance.equity_discount_rate": "finance.discount_rate",
    "analysis.end_year": "program.start_year + 15",
    "fiscal.window_start": "program.start_year + 1",
    "refresh.last_year": "analysis.end_year",
}
_NOTATION_TEXT = {
    "money": "a number or a string like '1.4T', '$250B', '35M'",
    "rate": "a fraction like 0.35 or a percent like '35%'",
    "rate_map": "a rate (0.35 or '35%') or a year map {YEAR: rate}",
    "share_map": "one share (0.35 or '35%'), or NAME: share by category or group",
}


# --------------------------------------------------------------------------- declared keys


def _schedule(defs: Defs) -> dict[str, str]:
    """``program.schedule``: ``{shares: [...]}`` or ``{ramp: ...}`` (s_curve with midpoint, steepness)."""
    assert set(SCHEDULE_KEYS) == {"shares", "ramp", "midpoint", "steepness"}
    share = Param("share", "rate", "fraction", "", lo=0)
    midpoint, steepness = (
        Param("midpoint", "number", "", ""),
        Param("s", "number", "", "", lo=0, lo_open=True),
    )
    shares = {
        "type": "object",
        "properties": {"shares": {"type": "array", "items": wrapped(defs, "share", number(defs, share))}},
        "required": ["shares"],
        "additionalProperties": False,
    }
    ramp = {
        "type": "object",
        "properties": {
            "ramp": {"enum": list(RAMPS), "description": "Shape of the spend over the years"},
            "midpoint": {
                **wrapped(defs, "number", number(defs, midpoint)),
                "description": "s_curve only: the year (from 0) of half the spend; default years / 2",
            },
            "steepness": {
                **wrapped(defs, "steepness", number(defs, steepness)),
                "description": "s_curve only: how steep the curve is; default 1",
            },
        },
        "required": ["ramp"],
        "additionalProperties": False,
        "if": {"properties": {"ramp": {"const": "s_curve"}}},
        "else": {"properties": {"midpoint": False, "steepness": False}},
    }
    return defs.ref("schedule", {"anyOf": [shares, ramp]})


def _value(defs: Defs, p: Param) -> tuple[str, dict[str, Any]]:
    """What a written value of ``p`` may be, without the wrapper: ($defs name, schema)."""
    if p.kind == "bool":
        return "boolean", {"type": "boolean"}
    if p.kind == "choice":
        return f"choice_{p.path}", {"enum": list(p.choices)}
    if p.kind == "name":
        return "name", {"type": "string", "minLength": 1}
    if p.kind == "macrs":
        return "macrs", {"enum": list(MACRS_CLASSES)}
    if p.kind == "names":
        return "names", {"anyOf": [{"type": "string"}, {"type": "array", "items": {"type": "string"}}]}
    if p.kind == "schedule":
        return "schedule", _schedule(defs)
    if p.kind in ("money", "rate", "number", "int", "year"):
        return notation_name(p, p.kind), number(defs, p)
    one = number(defs, p, "rate")
    name = notation_name(p, p.kind)
    if p.kind == "rate_map":
        years = rf"^\s*{YEAR_PATTERN}\s*$"
        by_year = {
            "type": "object",
            "minProperties": 1,
            "patternProperties": {years: wrapped(defs, name, one)},
        }
        return f"year_map_{name}", {"anyOf": [one, {**by_year, "additionalProperties": False}]}
    if p.kind == "share_map":
        by_name = {"type": "object", "propertyNames": NAME_TEXT}
        by_name["additionalProperties"] = wrapped(defs, name, one)
        return f"share_map_{name}", {"anyOf": [one, by_name]}
    return f"kind_{p.kind}", {"description": f"{p.kind}: a kind this schema does not describe yet"}


def default_text(p: Param) -> str:
    """The default of ``p`` in words: a value, what it depends on, or required."""
    if p.required:
        return "required"
    if callable(p.default):
        return DEPENDENT_DEFAULTS.get(p.path, "depends on other keys")
    return json.dumps(_json_default(p.default))


def _json_default(value: Any) -> Any:
    """A default as JSON data: tuples as lists, year maps with text keys."""
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return {str(k): _json_default(v) for k, v in value.items()}
    return value


def _describe(p: Param) -> str:
    """The key's description, unit, range, choices, meaning of null and default, as one text."""
    notation_text = _NOTATION_TEXT.get(p.kind)
    parts = [
        p.description.rstrip(".") + ".",
        f"Unit: {p.unit}" + (f" ({notation_text})." if notation_text else "."),
    ]
    if range_text(p):
        parts.append(f"Allowed: {range_text(p)}.")
    if p.kind == "choice":
        parts.append(f"One of: {', '.join(p.choices)}.")
    if p.nullable:
        parts.append(f"null: {p.nullable}.")
    parts.append(f"Default: {default_text(p)}.")
    return " ".join(parts)


def param_schema(defs: Defs, p: Param) -> dict[str, Any]:
    """One declared key: its value or wrapped value (null where it means something), described."""
    name, value = _value(defs, p)
    if p.nullable:
        name, value = f"{name}_or_null", {"anyOf": [value, {"type": "null"}]}
    out: dict[str, Any] = {"description": _describe(p), "unit": p.unit}
    if not p.required and not callable(p.default):
        out["default"] = _json_default(p.default)
    return {**out, **wrapped(defs, name, defs.ref(name, value) if "$ref" not in value else value)}


def _section_tree() -> dict[tuple, dict[str, Param]]:
    """Keys outside categories by the key path of their block: ``("policy", "amic")`` -> {rate: ...}."""
    tree: dict[tuple, dict[str, Param]] = {}
    for p in PARAMETERS:
        parts = tuple(p.path.split("."))
        if parts[0] != "categories":
            tree.setdefault(parts[:-1], {})[parts[-1]] = p
    for parent in list(tree):
        for cut in range(1, len(parent)):
            tree.setdefault(parent[:cut], {})
    return tree


def _block(defs: Defs, parent: tuple, tree: dict) -> dict[str, Any]:
    """The mapping of the keys at ``parent``, with its sub-blocks (``policy`` holds ``amic``)."""
    props: dict[str, Any] = {key: param_schema(defs, p) for key, p in tree[parent].items()}
    for sub in tree:
        if len(sub) == len(parent) + 1 and sub[: len(parent)] == parent:
            props[sub[-1]] = {"description": f"The {'.'.join(sub)} keys", **_block(defs, sub, tree)}
    return {"type": "object", "properties": props, "additionalProperties": False}


def sections(defs: Defs) -> dict[str, dict[str, Any]]:
    """Each top-level section of declared keys (program, policy, ...), by name."""
    tree = _section_tree()
    return {parent[0]: _block(defs, parent, tree) for parent in tree if len(parent) == 1}


def _required_of_base() -> dict[str, Any]:
    """What a file without ``extends:`` must hold: each section's and each category's required keys."""
    props: dict[str, Any] = {}
    for parent, keys in _section_tree().items():
        need = [k for k, p in keys.items() if p.required]
        if len(parent) == 1 and need:
            props[parent[0]] = {"required": need}
    need = [p.path.split(".")[2] for p in PARAMETERS if p.path.startswith("categories.*.") and p.required]
    props["categories"] = {"additionalProperties": {"required": need}}
    return {"required": ["program", "categories"], "properties": props}


def categories(defs: Defs) -> dict[str, Any]:
    """``categories:``: NAME -> the category keys."""
    keys = {
        p.path.split(".")[2]: param_schema(defs, p) for p in PARAMETERS if p.path.startswith("categories.*.")
    }
    return {
        "type": "object",
        "description": "Spend categories: NAME: {share, macrs_years, ...}; the shares sum to 1",
        "minProperties": 1,
        "propertyNames": NAME_TEXT,
        "additionalProperties": {"type": "object", "properties": keys, "additionalProperties": False},
    }


# --------------------------------------------------------------------------- blocks

#: Stand-in resolved values for asking :func:`check_path` which keys may vary (category ``c``).
_STUB_VALUES = {"categories": ("c",), "program.capacity_category": "c"}


def _varying(defs: Defs, allow_schedule: bool, entry) -> dict[str, Any]:
    """The keys that may vary across draws (or sweep points), each ``entry(defs, path, p)``.

    Plain paths are ``properties``; category paths ``categories.NAME.key`` and
    the steps ``PATH[YEAR]`` of a rate by year (``policy.amic.rate[2026]``,
    one rate: the step starting in ``YEAR``) are ``patternProperties``.
    """
    plain, patterns = {}, {}
    for p in PARAMETERS:
        path = p.path.replace("*", "c")
        if check_path(path, _STUB_VALUES, allow_schedule=allow_schedule) is not None:
            continue
        key = "^" + p.path.replace(".", r"\.").replace("*", NAME[1:-1])
        if "*" in p.path:
            patterns[key + "$"] = entry(defs, path, p)
        else:
            plain[p.path] = entry(defs, path, p)
        step = f"{path}[{YEAR_MAP_YEARS[0]}]"
        if p.kind == "rate_map" and check_path(step, _STUB_VALUES, allow_schedule=allow_schedule) is None:
            patterns[key + rf"\[{YEAR_PATTERN}\]$"] = _step(entry(defs, path, p), path)
    return {"properties": plain, "patternProperties": patterns, "additionalProperties": False}


def _step(schema: Mapping[str, Any], path: str) -> dict[str, Any]:
    """The entry of ``path`` in a block, for its step ``path[YEAR]``: the same values, described as a step."""
    about = f"{path}[YEAR]: the step of the rate by year that starts in YEAR (1900 to 2200)"
    return {**schema, "description": f"{about}; {schema['description']}"}


def _drawn(defs: Defs, path: str, p: Param) -> dict[str, str]:
    """A value ``p`` may take in a draw or a sweep, in its notation (null deadline: no deadline)."""
    kind = p.kind if p.kind in ("money", "rate", "rate_map") else "number"
    value = number(defs, p, kind)
    name = notation_name(p, kind)
    if whole_years(path):
        name, value = f"{name}_whole", {**notation(p, kind), "multipleOf": 1}
    if path == _DEADLINE:
        name, value = f"{name}_or_none", {"anyOf": [value, {"type": "null"}]}
    return defs.ref(name, value) if "$ref" not in value else value


def _schedule_option() -> dict[str, Any]:
    """One schedule a ``choice`` may draw (numbers only, no wrappers)."""
    shares = {"type": "array", "items": notation(Param("share", "rate", "", "", lo=0))}
    ramp = {
        "ramp": {"enum": list(RAMPS)},
        "midpoint": {"type": "number"},
        "steepness": {"type": "number", "exclusiveMinimum": 0},
    }
    return {
        "anyOf": [
            {
                "type": "object",
                "properties": {"shares": shares},
                "required": ["shares"],
                "additionalProperties": False,
            },
            {"type": "object", "properties": ramp, "required": ["ramp"], "additionalProperties": False},
        ]
    }


def _distribution_of(defs: Defs, name: str, value: dict, kind: str, whole: bool) -> dict[str, str]:
    """The distributions of values written as ``value`` (``$defs`` ``name``), of numbers of ``kind``."""

    def free(**bound) -> dict[str, str]:  # a number in the notation of ``kind``, bounded as given
        return number(defs, Param("x", kind, "", "", **bound))

    plain = Param("x", "number", "", "", lo=0)
    rules = [
        {
            "if": {"properties": {"dist": {"const": dist}}, "required": ["dist"]},
            "then": {"required": list(required), "propertyNames": {"enum": ["dist", *required, *optional]}},
        }
        for dist, (required, optional) in DISTRIBUTIONS.items()
    ]
    for rule in rules:
        rule["then"]["propertyNames"]["enum"] += ["source", "note"]
    props = {
        "dist": {"const": "choice", "description": "A whole number of years: dist: choice"}
        if whole
        else {"enum": list(DISTRIBUTIONS)},
        **{key: value for key in ("low", "high", "mode")},
        "mean": free(),
        "sd": free(lo=0),
        "median": free(lo=0, lo_open=True),
        "sigma": number(defs, plain),
        "shape": {**number(defs, Param("x", "number", "", "", lo=0, lo_open=True)), "default": PERT_SHAPE},
        "values": {"type": "array", "minItems": 1, "items": value},
        "weights": {"type": "array", "items": number(defs, Param("w", "rate", "", "", lo=0, hi=1))},
        "source": meta(defs, "source"),
        "note": meta(defs, "note"),
    }
    schema = {"type": "object", "properties": props, "required": ["dist"], "allOf": rules}
    return defs.ref(f"distribution_{name}", schema)


def distribution(defs: Defs, path: str, p: Param) -> dict[str, Any]:
    """One ``uncertainty.parameters`` entry for ``path``: a distribution in the parameter's notation."""
    about = f"Distribution of {path} [{p.unit}]"
    if p.kind == "schedule":
        props = {
            "dist": {"const": "choice"},
            "values": {"type": "array", "minItems": 1, "items": _schedule_option()},
            "weights": {"type": "array", "items": number(defs, Param("w", "rate", "", "", lo=0, hi=1))},
            "source": meta(defs, "source"),
            "note": meta(defs, "note"),
        }
        schedules = {"type": "object", "properties": props, "required": ["dist", "values"]}
        return {
            "description": about + ": a choice over schedules",
            **schedules,
            "additionalProperties": False,
        }
    value = _drawn(defs, path, p)
    kind = p.kind if p.kind in ("money", "rate", "rate_map") else "number"
    name = value["$ref"].rsplit("/", 1)[1]
    return {"description": about, **_distribution_of(defs, name, value, kind, whole_years(path))}


def uncertainty(defs: Defs) -> dict[str, Any]:
    """``uncertainty:``: draws, seed, the distributions of the drawn keys and their rank correlations."""
    pair = {
        "type": "object",
        "properties": {
            "between": {"type": "array", "items": {"type": "string"}, "minItems": 2, "maxItems": 2},
            "rho": {
                "type": "number",
                "minimum": -1,
                "maximum": 1,
                "description": "Spearman rank correlation",
            },
            "source": meta(defs, "source"),
            "note": meta(defs, "note"),
        },
        "required": ["between", "rho"],
        "additionalProperties": False,
    }
    parameters = {"type": "object", "description": "Parameter path -> distribution", "minProperties": 1}
    return {
        "type": ["object", "null"],
        "description": "Monte Carlo: what is drawn, how many times, from which seed (null: no block)",
        "properties": {
            "draws": {"type": "integer", "minimum": 1, "maximum": MAX_DRAWS, "default": DEFAULT_DRAWS},
            "seed": {"type": ["integer", "null"], "minimum": 0, "description": "Left out: a fresh seed"},
            "parameters": {**parameters, **_varying(defs, True, distribution)},
            "correlations": {"type": ["array", "null"], "items": pair},
        },
        "required": ["parameters"],
        "additionalProperties": False,
    }


def _tornado_range(defs: Defs, path: str, p: Param) -> dict[str, Any]:
    value = _drawn(defs, path, p)
    return {
        "type": "object",
        "description": f"Low and high value of {path} [{p.unit}]",
        "properties": {
            "low": value,
            "high": value,
            "source": meta(defs, "source"),
            "note": meta(defs, "note"),
        },
        "required": ["low", "high"],
        "additionalProperties": False,
    }


def sensitivity(defs: Defs) -> dict[str, Any]:
    """``sensitivity:``: parameter path -> ``{low, high}`` for the tornado."""
    return {
        "type": ["object", "null"],
        "description": "Tornado: parameter path -> {low, high} (null: no block)",
        "minProperties": 1,
        **_varying(defs, False, _tornado_range),
    }


_BUILT_BLOCKS = {"uncertainty": uncertainty, "sensitivity": sensitivity}


def block_schema(defs: Defs, key: str, validator) -> dict[str, Any]:
    """A registered block: its module's ``SCHEMA`` if declared, else the one built here, else open."""
    declared = getattr(sys.modules.get(getattr(validator, "__module__", ""), None), "SCHEMA", None)
    if isinstance(declared, Mapping):
        return dict(declared)
    if key in _BUILT_BLOCKS:
        return _BUILT_BLOCKS[key](defs)
    return {"description": f"The {key}: block (its module declares no SCHEMA yet)"}


# --------------------------------------------------------------------------- the file


def cases(defs: Defs) -> dict[str, Any]:
    """``cases:``: NAME -> overrides of the sections a case may change."""
    secs = sections(defs)
    overrides = {s: json.loads(json.dumps(secs[s])) for s in CASE_SECTIONS if s in secs}
    if "finance" in overrides:
        overrides["finance"]["properties"]["valuation_year"] = {
            "not": {},
            "description": "The valuation year is shared by every case; set it outside cases:",
        }
    return {
        "type": ["object", "null"],
        "description": f"More cases beside without and with: NAME -> overrides of {', '.join(CASE_SECTIONS)}",
        "minProperties": 1,
        "propertyNames": {**NAME_TEXT, "not": {"anyOf": [NAME_TEXT["not"], {"enum": list(RESERVED)}]}},
        "additionalProperties": {"type": "object", "properties": overrides, "additionalProperties": False},
    }


def _descriptive() -> dict[str, dict[str, Any]]:
    """The keys that describe the file: name, title, label, description, extends, sources."""
    return {
        "name": {"type": "string", "pattern": r"\S", "description": "Scenario name (default: the file name)"},
        "title": {"type": "string", "description": "Title in tables and charts (default: the name)"},
        "label": {
            "type": "string",
            "pattern": r"\S",
            "description": "Short name on comparison charts and tables, under ~30 characters "
            "(default: the title; not inherited through extends)",
        },
        "description": {"type": "string", "description": "What the scenario asks"},
        "extends": {
            "type": "string",
            "pattern": r"\S",
            "description": "Parent scenario file, relative to this one; this file holds only its changes",
        },
        "sources": {
            "type": ["object", "null"],
            "description": "Citations: ID -> text; values name them with source: ID",
            "additionalProperties": {"type": "string"},
        },
    }


def top_level(defs: Defs) -> dict[str, dict[str, Any]]:
    """Every top-level key: descriptive keys, sections of declared keys, blocks."""
    fixed = {**_descriptive(), "categories": categories(defs), "cases": cases(defs)}
    secs = sections(defs)
    props: dict[str, Any] = {}
    for key in TOP_LEVEL:
        props[key] = fixed.get(key) or secs.get(key) or {"description": f"The {key}: key"}
    for key, block in secs.items():
        props.setdefault(key, block)
    for key, validator in BLOCKS.items():
        props[key] = block_schema(defs, key, validator)
    return props


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a scenario file, from the current declarations.

    >>> schema = scenario_schema()
    >>> schema["properties"]["policy"]["properties"]["amic"]["properties"]["monetization"]["default"]
    'direct_pay'
    >>> schema["$defs"]["choice_policy.amic.monetization"]["enum"]
    ['direct_pay', 'transfer', 'offset']
    """
    defs = Defs()
    properties = top_level(defs)
    return {
        "$schema": DIALECT,
        "title": "finmodel scenario",
        "description": "A scenario file of finmodel (generated by `finmodel schema` from the declarations)",
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
        "if": {"required": ["extends"]},
        "else": _required_of_base(),
        "$defs": dict(sorted(defs.schemas.items())),
    }


def schema_text() -> str:
    """:func:`scenario_schema` as the JSON text ``finmodel schema`` writes (2-space indent, final newline)."""
    return json.dumps(scenario_schema(), indent=2, ensure_ascii=False) + "\n"
