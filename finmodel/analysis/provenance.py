"""Where every number of a scenario came from: the ``sources`` listing and ``diff``.

Pure: takes validated :class:`~finmodel.scenario.Scenario` objects, returns
pandas DataFrames; reads and writes no file. The CLI (``finmodel sources``,
``finmodel diff``), chart footnotes and the memo pack's inputs sheet all use
the same listing, so a number is described the same way everywhere.

Columns of :func:`parameters` (one row per parameter, category keys once per
category, in the order of :data:`~finmodel.scenario.PARAMETERS`):

``parameter``  key path (``categories.servers.share``)
``value``      the resolved value (number, text, bool, None, ``{year: rate}``, list)
``text``       the value as an analyst writes it: ``$1.4T``, ``35%``, ``2023: 25%, 2026: 35%``
``unit``       ``USD``, ``fraction``, ``per year``, ``year``, ...
``status``     ``set`` (written in a file) or ``default`` (MODEL.md section 11)
``file``       the file it was set in, following ``extends`` (empty for a default)
``line``       the line in that file (``<NA>`` for a default)
``where``      ``file:line``, or several when a year map mixes files; ``default``
``sources``    the source IDs cited for it (``; `` separated)
``citation``   their citations from the ``sources:`` map (`` | `` separated)
``note``       a ``note:`` written beside the value
``description`` what the parameter means
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from finmodel.core import format as fmt
from finmodel.scenario import Scenario, param_for

__all__ = [
    "ASSUMPTION_PREFIX",
    "COLUMNS",
    "DIFF_COLUMNS",
    "parameters",
    "diff",
    "format_value",
    "value_text",
    "path_sources",
    "sources_used",
    "sources_table",
]

COLUMNS = [
    "parameter",
    "value",
    "text",
    "unit",
    "status",
    "file",
    "line",
    "where",
    "sources",
    "citation",
    "note",
    "description",
]
DIFF_COLUMNS = ["parameter", "a", "b", "a_text", "b_text", "unit", "a_where", "b_where"]

#: Source IDs that start with this are stated assumptions, not published sources
#: (the convention of scenarios/base.yaml).
ASSUMPTION_PREFIX = "asm-"


def format_value(value: Any, unit: str = "-", nullable: str | None = None) -> str:
    """A resolved value as an analyst would write it: :func:`finmodel.core.format.parameter_value`.

    Examples
    --------
    >>> format_value(1.4e12, "USD")
    '$1.4T'
    >>> format_value({2023: 0.25, 2026: 0.35}, "fraction")
    '2023: 25%, 2026: 35%'
    >>> format_value(None, "year", nullable="no deadline")
    'null (no deadline)'
    """
    return fmt.parameter_value(value, unit, nullable=nullable)


def value_text(path: str, value: Any, *, label: bool = False, minus: str = fmt.HYPHEN) -> str:
    """A value of parameter ``path`` in its declared unit (:func:`finmodel.core.format.parameter_value`).

    ``label`` gives the short form of charts and tables without a unit column.

    >>> value_text("policy.amic.rate", {2023: 0.25, 2026: 0.35}, label=True)
    '35% from 2026'
    >>> value_text("categories.servers.life_years", 5, label=True)
    '5 years'
    """
    p = param_for(path)
    unit, nullable = (p.unit, p.nullable) if p is not None else ("-", None)
    return fmt.parameter_value(value, unit, nullable=nullable, label=label, minus=minus)


def _plain(value: Any) -> Any:
    """Tuples as lists, a scalar year map ``{0: x}`` as ``x``; everything else unchanged."""
    if isinstance(value, Mapping):
        if list(value) == [0]:
            return value[0]
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _path_tuple(path: str) -> tuple:
    return tuple(path.split("."))


def _source_ids(node: Any) -> list[str]:
    """Source IDs of every ``{value, source}`` wrapper under a raw (as written) value, in order."""
    found: list[str] = []

    def walk(x):
        if isinstance(x, Mapping):
            if isinstance(x.get("source"), str) and "value" in x:
                found.append(x["source"])
            for v in x.values():
                walk(v)
        elif isinstance(x, (list, tuple)):
            for v in x:
                walk(v)

    walk(node)
    return list(dict.fromkeys(found))


def _raw_at(scenario: Scenario, parts: tuple) -> Any:
    node: Any = scenario.raw
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def path_sources(scenario: Scenario, path: str) -> list[str]:
    """The source IDs cited for parameter ``path``: its ``source``, then those of each ``{value, source}``
    written under it (a year map's steps, a schedule's shares), in order; none for a default.
    """
    prov = scenario.provenance.get(path)
    if prov is None or prov.is_default:
        return []
    own = [prov.source] if prov.source else []
    return list(dict.fromkeys(own + _source_ids(_raw_at(scenario, _path_tuple(path)))))


def sources_used(scenario: Scenario) -> list[str]:
    """Source IDs that some value of the scenario cites, in the order the values are declared.

    Each value's ``{value, source}`` wrapper counts, including those inside
    year maps and spend-share lists; sources listed but cited by no value
    (for instance one replaced by a variant) are left out.
    """
    found = [sid for path in scenario.values if path != "categories" for sid in path_sources(scenario, path)]
    found += _source_ids(scenario.raw)
    return [s for s in dict.fromkeys(found) if s in scenario.sources]


def sources_table(scenario: Scenario) -> pd.DataFrame:
    """The ``sources:`` map: ID, kind (published or assumption), cited by a value, citation."""
    used = set(sources_used(scenario))
    return pd.DataFrame(
        [
            {
                "source": sid,
                "kind": "assumption" if sid.startswith(ASSUMPTION_PREFIX) else "published",
                "cited_by_a_value": sid in used,
                "citation": text,
            }
            for sid, text in scenario.sources.items()
        ],
        columns=["source", "kind", "cited_by_a_value", "citation"],
    )


def _where(scenario: Scenario, parts: tuple) -> tuple[str | None, int | None, str]:
    """File, line and ``where`` text of a parameter (several files when a year map mixes them)."""
    prov = scenario.provenance.get(".".join(parts))
    if prov is None or prov.is_default:
        return None, None, "default"
    origins = getattr(scenario, "origins", {}) or {}
    entries = {
        key[len(parts)]: origin
        for key, origin in origins.items()
        if len(key) == len(parts) + 1
        and key[: len(parts)] == parts
        and key[-1] not in ("value", "source", "note")
    }
    files = list(dict.fromkeys(f for f, _ in entries.values()))
    if len(files) > 1:  # e.g. a child adds a year to its parent's year map
        by_file = {f: [str(k) for k, (ff, _) in entries.items() if ff == f] for f in files}
        text = "; ".join(f"{f} ({', '.join(keys)})" for f, keys in by_file.items())
        return prov.file, prov.line, text
    where = f"{prov.file}:{prov.line}" if prov.line else str(prov.file)
    return prov.file, prov.line, where


def parameters(scenario: Scenario) -> pd.DataFrame:
    """One row per parameter of ``scenario``: value, unit, set or default, where set, source.

    Examples
    --------
    >>> from finmodel.scenario import scenario_from_dict
    >>> s = scenario_from_dict({
    ...     "program": {"commitment_usd": "1B", "start_year": 2026, "years": 2},
    ...     "categories": {"a": {"share": 1, "macrs_years": 5}}})
    >>> table = parameters(s).set_index("parameter")
    >>> table.loc["program.commitment_usd", ["text", "status"]].tolist()
    ['$1B', 'set']
    >>> table.loc["tax.corporate_rate", ["text", "status", "where"]].tolist()
    ['21%', 'default', 'default']
    """
    rows = []
    for path, value in scenario.values.items():
        if path == "categories":
            continue
        p = param_for(path)
        unit = p.unit if p else "-"
        prov = scenario.provenance.get(path)
        file, line, where = _where(scenario, _path_tuple(path))
        ids = path_sources(scenario, path)
        rows.append(
            {
                "parameter": path,
                "value": _plain(value),
                "text": format_value(value, unit, p.nullable if p else None),
                "unit": unit,
                "status": "default" if prov is None or prov.is_default else "set",
                "file": file or "",
                "line": line,
                "where": where,
                "sources": "; ".join(ids),
                "citation": " | ".join(scenario.sources.get(i, "") for i in ids),
                "note": (prov.note if prov is not None and prov.note else ""),
                "description": p.description if p else "",
            }
        )
    table = pd.DataFrame(rows, columns=COLUMNS)
    table["line"] = table["line"].astype("Int64")
    return table


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    return a == b


def diff(a: Scenario, b: Scenario) -> pd.DataFrame:
    """Parameters whose resolved values differ between ``a`` and ``b``.

    Values are compared after resolution (``extends`` followed, defaults
    applied, units parsed), so ``"1.4T"`` and ``1400000000000`` are equal. A
    category present in one scenario only shows its keys with ``None`` on
    the other side and ``where`` ``(absent)``.

    Examples
    --------
    >>> from finmodel.scenario import scenario_from_dict
    >>> s = scenario_from_dict({
    ...     "program": {"commitment_usd": "1B", "start_year": 2026, "years": 2},
    ...     "categories": {"a": {"share": 1, "macrs_years": 5}}})
    >>> t = s.override({"policy.amic.rate": "30%", "program.commitment_usd": 1e9})
    >>> diff(s, t)[["parameter", "a_text", "b_text"]].values.tolist()
    [['policy.amic.rate', '2023: 25%, 2026: 35%', '30%']]
    """
    pa, pb = parameters(a).set_index("parameter"), parameters(b).set_index("parameter")
    paths = list(pa.index) + [p for p in pb.index if p not in pa.index]
    rows = []
    for path in paths:
        in_a, in_b = path in pa.index, path in pb.index
        va = pa.at[path, "value"] if in_a else None
        vb = pb.at[path, "value"] if in_b else None
        if in_a and in_b and _equal(va, vb):
            continue
        rows.append(
            {
                "parameter": path,
                "a": va,
                "b": vb,
                "a_text": pa.at[path, "text"] if in_a else "(absent)",
                "b_text": pb.at[path, "text"] if in_b else "(absent)",
                "unit": (pa if in_a else pb).at[path, "unit"],
                "a_where": pa.at[path, "where"] if in_a else "(absent)",
                "b_where": pb.at[path, "where"] if in_b else "(absent)",
            }
        )
    return pd.DataFrame(rows, columns=DIFF_COLUMNS)
