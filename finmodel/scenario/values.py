"""One written value of a declared key: unwrap ``{value, source, note}``, parse by kind, check the range.

Money takes ``"1.4T"``, rates ``"35%"`` (:mod:`finmodel.scenario.units`); a
rate by year takes a year map ``{2026: 0.35}`` or one rate for every year.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from finmodel.scenario import units
from finmodel.scenario.context import Context, show, unknown_key, unknown_source
from finmodel.scenario.guards import magnitude_warning, rate_hint
from finmodel.scenario.merge import WRAPPER_KEYS
from finmodel.scenario.params import MACRS_CLASSES, Param, out_of_range, range_text
from finmodel.scenario.units import UnitError

__all__ = ["unwrap", "entry_meta", "parse_scalar", "param_value"]


def unwrap(ctx: Context, path: tuple, value, sources: Mapping) -> tuple[Any, str | None, str | None]:
    """Peel a ``{value, source, note}`` wrapper: (value, source, note); check the source exists."""
    if isinstance(value, Mapping) and "value" in value:
        extra = set(value) - WRAPPER_KEYS
        for key in sorted(extra, key=str):
            unknown_key(ctx, path, key, sorted(WRAPPER_KEYS))
        source = value.get("source")
        if source is not None and (why := unknown_source(source, sources)):
            ctx.add(path + ("source",), why)
        note = value.get("note")
        return (
            value["value"],
            source if isinstance(source, str) else None,
            note if isinstance(note, str) else None,
        )
    if isinstance(value, Mapping) and "source" in value and "value" not in value:
        ctx.add(path, "a {source: ...} wrapper needs a value: key")
    return value, None, None


def entry_meta(ctx: Context, where: tuple, spec: Mapping, sources: Mapping | None) -> dict:
    """The ``source:`` and ``note:`` of a block entry (a distribution, a range), checked."""
    out = {}
    src = spec.get("source")
    if src is not None:
        why = unknown_source(src, sources)
        if why:
            ctx.add(where + ("source",), why)
        else:
            out["source"] = src
    note = spec.get("note")
    if note is not None:
        if not isinstance(note, str):
            ctx.add(where + ("note",), f"must be text, got {units._show(note)}")
        else:
            out["note"] = note
    return out


def parse_scalar(p: Param, value) -> Any:
    """``value`` parsed by the kind of ``p`` and checked against its range; UnitError states the rule."""
    kind = p.kind
    if kind in ("bool", "choice", "name", "macrs"):
        return _parse_symbol(p, value)
    if kind == "money":
        x = units.parse_money(value)
    elif kind == "rate":
        x = units.parse_rate(value)
    elif kind == "number":
        x = units.parse_number(value)
    elif kind in ("int", "year"):
        x = _parse_whole(kind, value)
    else:  # pragma: no cover - declaration error
        raise AssertionError(kind)
    if out_of_range(p, x):
        hint = rate_hint(value, x, p.lo, p.hi) if kind == "rate" else ""
        raise UnitError(f"must be {range_text(p)}, got {x:g}{hint}")
    return x


def _parse_whole(kind: str, value) -> int:
    """A whole number (``int``) or calendar year (``year``); a float with no fraction is accepted."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            return int(value)
        what = "a calendar year (integer)" if kind == "year" else "a whole number"
        raise UnitError(f"must be {what}, got {show(value)}")
    return value


def _parse_symbol(p: Param, value) -> Any:
    """A value that is not a number: true/false, one of the choices, a name, a MACRS class."""
    if p.kind == "bool":
        if not isinstance(value, bool):
            raise UnitError(f"must be true or false, got {show(value)}")
    elif p.kind == "choice":
        if value not in p.choices:
            hint = difflib.get_close_matches(str(value), p.choices, n=1)
            tip = f"; did you mean '{hint[0]}'?" if hint else ""
            raise UnitError(f"must be one of {', '.join(p.choices)}, got {show(value)}{tip}")
    elif p.kind == "name":
        if not isinstance(value, str) or not value:
            raise UnitError(f"must be a name (text), got {show(value)}")
    elif isinstance(value, bool) or not isinstance(value, int) or value not in MACRS_CLASSES:
        raise UnitError(
            f"must be a MACRS class of IRS Publication 946 ({', '.join(map(str, MACRS_CLASSES))}; "
            f"0 means expensed) or null for land, got {show(value)}"
        )
    return value


def param_value(ctx: Context, p: Param, path: tuple, value, sources: Mapping):
    """Parse one written value of parameter ``p``; returns (value, source, note, ok)."""
    if p.kind == "rate_map":
        return _rate_map_value(ctx, p, path, value, sources)
    if p.kind == "share_map":
        return _share_map_value(ctx, p, path, value, sources)
    value, source, note = unwrap(ctx, path, value, sources)
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
            ctx.add(path, f"must be a list of category or group names, got {show(value)}")
            return None, source, note, False
        return tuple(value), source, note, True
    if p.kind == "schedule":
        return value, source, note, True  # checked with the program
    try:
        x = parse_scalar(p, value)
    except UnitError as exc:
        ctx.add(path, str(exc))
        return None, source, note, False
    if p.kind == "money" and (why := magnitude_warning(p, value, x)):
        ctx.warn(path, why)
    return x, source, note, True


def _rate_map_value(ctx: Context, p: Param, path: tuple, value, sources: Mapping):
    """A rate by year: a year map ``{year: rate}``, or one rate (stored as ``{0: rate}``), maybe wrapped."""
    rate = Param(p.path, "rate", p.unit, "", lo=p.lo, hi=p.hi)
    if isinstance(value, Mapping) and "value" not in value:
        return _year_map_value(ctx, rate, path, value, sources)
    value, source, note = unwrap(ctx, path, value, sources)
    if isinstance(value, Mapping):
        return _rate_map_value(ctx, p, path, value, sources)[:1] + (source, note, True)
    if value is None:
        ctx.add(path, "null is not allowed here; give a rate or a year map {year: rate}")
        return None, source, note, False
    try:
        return {0: parse_scalar(rate, value)}, source, note, True
    except UnitError as exc:
        ctx.add(path, str(exc))
        return None, source, note, False


def _share_map_value(ctx: Context, p: Param, path: tuple, value, sources: Mapping):
    """A share for every category (one number) or by name ``{category or group: share}``, maybe wrapped.

    The names are checked against the categories with the other cross-key rules.
    """
    share = Param(p.path, "rate", p.unit, "", lo=p.lo, hi=p.hi)
    if not (isinstance(value, Mapping) and "value" not in value):
        value, source, note = unwrap(ctx, path, value, sources)
        if isinstance(value, Mapping):
            return _share_map_value(ctx, p, path, value, sources)[:1] + (source, note, True)
        try:
            return parse_scalar(share, value), source, note, True
        except UnitError as exc:
            ctx.add(path, f"{exc} (one share for every category, or {{category or group: share}})")
            return None, source, note, False
    out, ok, src = {}, True, None
    for name, item in value.items():
        item, s, _ = unwrap(ctx, path + (name,), item, sources)
        src = src or s
        if not isinstance(name, str):
            ctx.add(path + (name,), f"keys are category or group names, got {show(name)}")
            ok = False
            continue
        try:
            out[name] = parse_scalar(share, item)
        except UnitError as exc:
            ctx.add(path + (name,), str(exc))
            ok = False
    return out, src, None, ok


def _year_map_value(ctx: Context, rate: Param, path: tuple, value: Mapping, sources: Mapping):
    """A year map ``{year: rate}`` (each rate maybe wrapped); returns (map, first source, None, ok)."""
    out = {}
    ok = True
    src = None
    for year, item in value.items():
        if isinstance(year, str) and year.isdigit() and len(year) == 4:
            year = int(year)  # a quoted year, as in JSON (run.json's resolved scenario)
        item, s, _ = unwrap(ctx, path + (year,), item, sources)
        src = src or s
        if isinstance(year, bool) or not isinstance(year, int) or not 1900 <= year <= 2200:
            ctx.add(
                path + (year,), f"year map keys must be calendar years between 1900 and 2200, got {year!r}"
            )
            ok = False
            continue
        if item is None:
            ctx.add(path + (year,), "null is not allowed here; give a rate")
            ok = False
            continue
        try:
            out[year] = parse_scalar(rate, item)
        except UnitError as exc:
            ctx.add(path + (year,), str(exc))
            ok = False
    if not out and ok:
        ctx.add(path, "must be a rate or a non-empty year map {year: rate}")
        ok = False
    return dict(sorted(out.items())), src, None, ok


def _show_default(p: Param) -> str:
    if callable(p.default):
        return "default depends on other keys"
    return f"default {p.default!r}"
