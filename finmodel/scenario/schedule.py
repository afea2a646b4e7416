"""``program.schedule``: the spend shares by year, written out or as a ramp."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from typing import Any

from finmodel.scenario import units
from finmodel.scenario.context import Context, show, unknown_key
from finmodel.scenario.params import SHARE_TOLERANCE
from finmodel.scenario.units import UnitError
from finmodel.scenario.values import unwrap

__all__ = ["SCHEDULE_KEYS", "RAMPS", "check_schedule"]

SCHEDULE_KEYS = ("shares", "ramp", "midpoint", "steepness")
RAMPS = ("flat", "linear", "s_curve")
_PATH = ("program", "schedule")


def check_schedule(ctx: Context, values: dict, sources: Mapping) -> None:
    """Validate ``program.schedule`` and store it resolved in ``values``.

    ``{shares: [...]}`` needs one share per program year, each >= 0, summing
    to 1 (never rescaled); ``{ramp: flat|linear|s_curve}`` may add
    ``midpoint`` and ``steepness`` for ``s_curve`` only.
    """
    sched = values.get("program.schedule")
    n = values["program.years"]
    if not isinstance(sched, Mapping):
        ctx.add(_PATH, f"must be {{shares: [...]}} or {{ramp: flat|linear|s_curve}}, got {show(sched)}")
        return
    for key in sched:
        if key not in SCHEDULE_KEYS:
            unknown_key(ctx, _PATH, key, SCHEDULE_KEYS)
    if ("shares" in sched) == ("ramp" in sched):
        ctx.add(_PATH, "give exactly one of shares: [...] or ramp: flat|linear|s_curve")
        return
    resolved = _shares(ctx, sched, n, sources) if "shares" in sched else _ramp(ctx, sched, n, sources)
    if resolved is not None:
        values["program.schedule"] = resolved


def _shares(ctx: Context, sched: Mapping, n: int, sources: Mapping) -> dict | None:
    """``{shares: [...]}``: ``n`` fractions >= 0 that sum to 1 within 1e-9."""
    raw = sched["shares"]
    if not isinstance(raw, list):
        ctx.add(_PATH + ("shares",), f"must be a list of {n} fractions, got {show(raw)}")
        return None
    shares = []
    for i, item in enumerate(raw):
        item, _, _ = unwrap(ctx, _PATH + ("shares", i), item, sources)
        try:
            x = units.parse_rate(item)
        except UnitError as exc:
            ctx.add(_PATH + ("shares", i), str(exc))
            return None
        if x < 0:
            ctx.add(_PATH + ("shares", i), f"must be >= 0, got {x:g}")
            return None
        shares.append(x)
    if len(shares) != n:
        ctx.add(_PATH + ("shares",), f"must hold exactly program.years = {n} values, got {len(shares)}")
        return None
    total = math.fsum(shares)
    if abs(total - 1.0) > SHARE_TOLERANCE:
        ctx.add(
            _PATH + ("shares",),
            f"must sum to 1 (within 1e-9), got {total:.12g}; shares are never rescaled",
        )
        return None
    _no_curve_keys(ctx, sched)
    return {"shares": shares}


def _ramp(ctx: Context, sched: Mapping, n: int, sources: Mapping) -> dict | None:
    """``{ramp: ...}``; an ``s_curve`` gets ``midpoint`` (default n / 2) and ``steepness`` (default 1)."""
    ramp = sched["ramp"]
    if ramp not in RAMPS:
        hint = difflib.get_close_matches(str(ramp), list(RAMPS), n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        ctx.add(_PATH + ("ramp",), f"must be one of flat, linear, s_curve, got {show(ramp)}{tip}")
        return None
    out: dict[str, Any] = {"ramp": ramp}
    if ramp != "s_curve":
        _no_curve_keys(ctx, sched)
        return out
    for key, default, lo in (("midpoint", n / 2, None), ("steepness", 1.0, 0.0)):
        if key not in sched:
            out[key] = float(default)
            continue
        try:
            x = units.parse_number(unwrap(ctx, _PATH + (key,), sched[key], sources)[0])
        except UnitError as exc:
            ctx.add(_PATH + (key,), str(exc))
            return None
        if lo is not None and x <= lo:
            ctx.add(_PATH + (key,), f"must be > {lo:g}, got {x:g}")
            return None
        out[key] = x
    return out


def _no_curve_keys(ctx: Context, sched: Mapping) -> None:
    """``midpoint`` and ``steepness`` belong to ``ramp: s_curve`` only."""
    for extra in ("midpoint", "steepness"):
        if extra in sched:
            ctx.add(_PATH + (extra,), "applies only to ramp: s_curve")
