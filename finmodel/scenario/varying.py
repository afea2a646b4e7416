"""Which declared parameters may vary across Monte Carlo draws and sweep points, and the values they take.

The engine reads some keys once per scenario (names, choices, whole-year
lags), so those cannot vary; :func:`check_path` says why. Values are written
in the file's notation (:func:`parse_value`) and must lie in the declared
range (:func:`range_problem`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from finmodel.scenario import units
from finmodel.scenario.params import PARAMETERS, Param, out_of_range, param_for, range_text, split_step

__all__ = [
    "RATE_MAPS",
    "set_step",
    "WHOLE_YEAR_KEYS",
    "DRAWABLE_INT",
    "check_path",
    "whole_years",
    "parse_value",
    "range_problem",
    "lag_fits",
]

#: Category keys the engine reads once per scenario as whole years: varied only by ``dist: choice``.
WHOLE_YEAR_KEYS = ("in_service_lag_years", "construction_years")
#: The rates by year (year maps): each step addressable as ``PATH[YEAR]``.
RATE_MAPS = tuple(p.path for p in PARAMETERS if p.kind == "rate_map")
#: The calendar years a year map's keys may take (MODEL.md section 11).
YEAR_MAP_YEARS = (1900, 2200)
#: Whole-number keys outside the categories that may vary (by ``dist: choice`` of whole numbers).
DRAWABLE_INT = {
    "policy.amic.payment_lag_years",
    "policy.amic.construction_deadline_year",
    "refresh.last_year",
}


def check_path(path: str, values: Mapping[str, Any], allow_schedule: bool = False) -> str | None:
    """Why ``path`` cannot vary across draws or sweep points (None if it can).

    ``values`` are the scenario's resolved values; ``allow_schedule`` lets
    ``program.schedule`` through (drawn with ``dist: choice`` of schedules).
    """
    if not isinstance(path, str):
        return f"a parameter is a dotted path such as operations.revenue_usd_per_gw_year, got {path!r}"
    base, year = split_step(path)
    if year is not None and param_for(base, values) is not None:
        if param_for(base, values).kind != "rate_map":
            return (
                f"{base} is one value, not a rate by year: [YEAR] addresses a step of "
                f"{' or '.join(RATE_MAPS)}"
            )
        lo, hi = YEAR_MAP_YEARS
        if not lo <= year <= hi:
            return f"{path}: the year of a step must be between {lo} and {hi}, got {year}"
        return None
    p = param_for(path, values)
    if p is None:
        cats = ", ".join(values.get("categories") or ())
        hint = ""
        if path.startswith("categories."):
            hint = f" (categories: {cats})"
        return f"unknown parameter {path!r}{hint}"
    if path == "program.capacity_gw":
        cats = tuple(values.get("categories") or ())
        cap_cat = values.get("program.capacity_category")
        if cap_cat not in cats:
            return (
                f"program.capacity_gw cannot vary while program.capacity_category ({cap_cat!r}) names "
                f"no category (categories: {', '.join(cats)}); set program.capacity_category"
            )
    if p.kind in ("money", "rate", "number", "rate_map"):
        return None
    key = path.split(".")[-1]
    if p.kind == "int" and (key == "life_years" or key in WHOLE_YEAR_KEYS or path in DRAWABLE_INT):
        return None
    if path in DRAWABLE_INT:
        return None
    if p.kind == "schedule" and allow_schedule:
        return None
    if p.kind == "schedule":
        return (
            "program.schedule cannot be varied here (it is not a number); "
            "draw it with dist: choice in uncertainty:"
        )
    return (
        f"{path} cannot vary across draws: the engine reads it once per scenario ({p.kind}); "
        "change it in the scenario or compare scenario files"
    )


def set_step(year_map: Mapping, year: int | None, value: Any) -> dict:
    """``year_map`` with the step that starts in ``year`` set to ``value``; later steps unchanged.

    A step that no key starts is added. ``year`` None sets the last step (the
    rate in force from the map's last key on): a sweep, solve or draw of a
    rate by year written without ``[YEAR]`` moves that step only. A scalar
    rate, stored as ``{0: rate}``, is its own last step.

    >>> set_step({2023: 0.25, 2026: 0.35}, None, 0.3)
    {2023: 0.25, 2026: 0.3}
    >>> set_step({2023: 0.25, 2026: 0.35}, 2025, 0.3)
    {2023: 0.25, 2025: 0.3, 2026: 0.35}
    >>> set_step({0: 0.25}, None, 0.3)
    {0: 0.3}
    """
    out = dict(year_map)
    out[max(out) if year is None else year] = value
    return dict(sorted(out.items()))


def whole_years(path: str) -> bool:
    """Keys that must stay whole numbers when they vary (``life_years`` is rounded instead)."""
    return path.split(".")[-1] in WHOLE_YEAR_KEYS or path in DRAWABLE_INT


def parse_value(p: Param, raw: Any) -> float:
    """A number for parameter ``p`` in the file's notation (money ``"1.2T"``, rates ``"35%"``)."""
    if p.kind == "money":
        return units.parse_money(raw)
    if p.kind in ("rate", "rate_map"):
        return units.parse_rate(raw)
    return units.parse_number(raw)


def range_problem(
    p: Param, path: str, x: float, what: str, values: Mapping[str, Any] | None = None
) -> str | None:
    """Why ``x`` is not an allowed value of ``path`` (None if it is); ``what`` names it ("low", ...).

    Given the scenario's resolved ``values``, a life below 1 year is refused
    for a category whose retired property is replaced (MODEL.md section 17).
    """
    if out_of_range(p, x):
        return f"{what} {x:g} is outside the allowed range of {path} ({range_text(p)})"
    parts = path.split(".")
    if values is not None and len(parts) == 3 and parts[2] == "life_years" and x < 1:
        listed = values.get("refresh.categories") or ()
        if parts[1] in listed or values.get(f"categories.{parts[1]}.group") in listed:
            return (
                f"{what} {x:g} is not allowed: category {parts[1]!r} is in refresh.categories, "
                "and a replaced category needs a life of at least 1 year"
            )
    return None


def lag_fits(values: Mapping, lag: float) -> bool:
    """Whether the last year's spend, placed in service ``lag`` years later, is still in the horizon."""
    start, n, end = (
        values.get("program.start_year"),
        values.get("program.years"),
        values.get("analysis.end_year"),
    )
    if not all(isinstance(x, int) for x in (start, n, end)):
        return True
    return start + n - 1 + lag <= end
