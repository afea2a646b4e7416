"""The ``sensitivity:`` block: the low and high value of each tornado parameter::

    sensitivity:
      program.commitment_usd: {low: 1.0T, high: 1.6T}
      categories.servers.life_years: {low: 4, high: 6, source: SRC, note: text}

Values take the parameter's notation and must be allowed values of it; a
null deadline means "no deadline". A child scenario's ``sensitivity: null``
removes its parent's block.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from finmodel.scenario import units
from finmodel.scenario.context import Context
from finmodel.scenario.params import Param, param_for
from finmodel.scenario.units import UnitError
from finmodel.scenario.values import entry_meta
from finmodel.scenario.varying import check_path, lag_fits, parse_value, range_problem, whole_years

__all__ = ["validate_sensitivity"]

_TOP = ("sensitivity",)


def validate_sensitivity(block, ctx: Context, values: Mapping) -> dict | None:
    """Check a scenario's ``sensitivity:`` block (``PATH: {low, high}``); return it parsed or None."""
    if block is None:  # a child's "sensitivity: null" removes its parent's block
        return None
    if not isinstance(block, Mapping) or not block:
        ctx.add(
            _TOP,
            f"must be a mapping of parameter path -> {{low: ..., high: ...}}, got {units._show(block)}",
        )
        return None
    out = {}
    for path, spec in block.items():
        entry = _sensitivity_range(ctx, _TOP + (path,), path, spec, values)
        if entry is not None:
            out[path] = entry
    return out


def _sensitivity_range(ctx: Context, where: tuple, path: str, spec, values: Mapping) -> dict | None:
    """One ``PATH: {low, high}``: two different allowed values of a parameter that may vary."""
    why = check_path(path, values)
    if why:
        ctx.add(where, why)
        return None
    if (
        not isinstance(spec, Mapping)
        or set(spec) - {"low", "high", "source", "note"}
        or not {"low", "high"} <= set(spec)
    ):
        ctx.add(where, "must be {low: ..., high: ...} in the parameter's unit (optional source:, note:)")
        return None
    p = param_for(path, values)
    entry: dict[str, Any] = entry_meta(ctx, where, spec, ctx.sources)
    ok = True
    for key in ("low", "high"):
        ok &= _bound(ctx, where, path, p, spec[key], key, entry, values)
    if ok and entry.get("low") == entry.get("high"):
        ctx.add(where, "low and high are equal: the parameter would not move")
        ok = False
    lag = path.endswith(".in_service_lag_years")
    if ok and lag and not lag_fits(values, max(entry["low"], entry["high"])):
        ctx.add(where, "the lag would place the last year's spend in service after analysis.end_year")
        ok = False
    return entry if ok else None


def _bound(
    ctx: Context, where: tuple, path: str, p: Param, raw, key: str, entry: dict, values: Mapping
) -> bool:
    """``low`` or ``high``: parsed into ``entry[key]`` if it is an allowed value (whole where it must be)."""
    if raw is None and path == "policy.amic.construction_deadline_year":
        entry[key] = None
        return True
    try:
        x = parse_value(p, raw)
    except UnitError as exc:
        ctx.add(where + (key,), str(exc))
        return False
    problem = range_problem(p, path, float(np.round(x)) if path.endswith(".life_years") else x, key, values)
    if problem:
        ctx.add(where + (key,), problem)
        return False
    if whole_years(path) and not float(x).is_integer():
        ctx.add(where + (key,), f"{path} is a whole number of years, got {x:g}")
        return False
    entry[key] = x
    return True
