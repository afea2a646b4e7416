"""Distributions of the ``uncertainty:`` block: the :class:`Distribution` type and its grammar.

======================== ===================================== ==================================
``dist``                 keys                                  meaning
======================== ===================================== ==================================
uniform                  ``low, high``                         flat on ``[low, high]``
triangular               ``low, mode, high``                   triangle peaking at ``mode``
pert                     ``low, mode, high`` [, ``shape``]     Beta-PERT, ``shape`` 4 by default
normal                   ``mean, sd`` [, ``low``] [, ``high``] normal, truncated to ``[low, high]``
lognormal                ``median, sigma``                     ``median * exp(sigma * Z)``
choice                   ``values`` [, ``weights``]            one of ``values``; weights sum to 1
======================== ===================================== ==================================

Every distribution may also carry ``source: ID`` and ``note: text``. Numbers
take the parameter's notation (``"1.2T"``, ``"35%"``); every value a draw
can take must be an allowed value of the parameter. A zero-width
distribution (``low == high``, ``sd: 0``, ``sigma: 0``, one value) gives
the value itself in every draw. Sampling lives in
:mod:`finmodel.analysis.uncertainty`.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from finmodel.scenario import units
from finmodel.scenario.context import Context
from finmodel.scenario.params import SHARE_TOLERANCE, Param, param_for
from finmodel.scenario.units import UnitError
from finmodel.scenario.values import entry_meta
from finmodel.scenario.varying import check_path, lag_fits, parse_value, range_problem, whole_years

__all__ = ["DISTRIBUTIONS", "PERT_SHAPE", "Distribution", "parse_distribution", "parse_weights", "is_number"]

#: Keys of each distribution: (required, optional).
DISTRIBUTIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "pert": (("low", "mode", "high"), ("shape",)),
    "normal": (("mean", "sd"), ("low", "high")),
    "lognormal": (("median", "sigma"), ()),
    "choice": (("values",), ("weights",)),
}
_META_KEYS = ("source", "note")
PERT_SHAPE = 4.0


@dataclass(frozen=True)
class Distribution:
    """One parameter's distribution; numbers in the parameter's unit (USD, fraction, years).

    ``values`` of a ``choice`` are numbers, or schedules (mappings) for
    ``program.schedule``.
    """

    kind: str
    low: float = -math.inf
    high: float = math.inf
    mode: float = math.nan
    mean: float = math.nan
    sd: float = math.nan
    median: float = math.nan
    sigma: float = math.nan
    shape: float = PERT_SHAPE
    values: tuple = ()
    weights: tuple[float, ...] = ()

    @classmethod
    def from_block(cls, d: Mapping[str, Any]) -> Distribution:
        """The distribution of one parsed ``uncertainty.parameters`` entry (``source``, ``note`` dropped)."""
        kw = {k: v for k, v in d.items() if k not in ("dist", "source", "note")}
        if "values" in kw:
            kw["values"] = tuple(kw["values"])
        if "weights" in kw:
            kw["weights"] = tuple(kw["weights"])
        return cls(kind=d["dist"], **kw)

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value a draw can take."""
        if self.kind == "choice":
            nums = [v for v in self.values if isinstance(v, (int, float)) and not isinstance(v, bool)]
            return (min(nums), max(nums)) if nums else (math.nan, math.nan)
        if self.kind == "normal" and self.sd == 0:
            return self.mean, self.mean
        if self.kind == "lognormal":
            return (self.median, self.median) if self.sigma == 0 else (0.0, math.inf)
        return self.low, self.high

    def to_dict(self) -> dict[str, Any]:
        """The distribution as plain data, in the keys of the YAML block (no deadline: None)."""
        out: dict[str, Any] = {"dist": self.kind}
        for key in ("low", "mode", "high", "mean", "sd", "median", "sigma"):
            value = getattr(self, key)
            if not (math.isnan(value) or math.isinf(value)):
                out[key] = value
        if self.kind == "pert":
            out["shape"] = self.shape
        if self.kind == "choice":
            out["values"] = [None if isinstance(v, float) and math.isinf(v) else v for v in self.values]
            out["weights"] = list(self.weights)
        return out


def is_number(x) -> bool:
    """A YAML number (not a boolean)."""
    return isinstance(x, (int, float)) and not isinstance(x, bool)


# --------------------------------------------------------------------------- parsing


def parse_distribution(ctx: Context, where: tuple, path: str, spec, values: Mapping, sources) -> dict | None:
    """One parameter's distribution, checked against the parameter's kind and range; plain data or None.

    ``where`` is the key path of the entry, ``values`` the scenario's
    resolved values and ``sources`` its ``sources:`` map.
    """
    if not _has_valid_keys(ctx, where, spec):
        return None
    kind = spec["dist"]
    out: dict[str, Any] = {"dist": kind, **entry_meta(ctx, where, spec, sources)}
    why = check_path(path, values, allow_schedule=True)
    if why:
        ctx.add(where, why)
        return None
    p = param_for(path, values)
    if p.kind == "schedule":
        return _schedule_choice(ctx, where, spec, values, out)
    if kind == "choice":
        choice = _number_choice(ctx, where, path, p, spec)
        if choice is None:
            return None
        out["values"], out["weights"] = choice
        support = (min(choice[0]), max(choice[0]))
    else:
        parsed = _numbers(ctx, where, p, spec)
        if parsed is None:
            return None
        support = _SUPPORT[kind](ctx, where, path, p, parsed)
        if support is None:
            return None
        out.update(parsed)
    if not _draws_allowed(ctx, where, path, p, out, support, values):
        return None
    return out


def _has_valid_keys(ctx: Context, where: tuple, spec) -> bool:
    """A mapping with a known ``dist``, its required keys and no others (besides source, note)."""
    if not isinstance(spec, Mapping):
        ctx.add(
            where,
            "must be a distribution {dist: uniform|triangular|pert|normal|lognormal|choice, ...}, "
            f"got {units._show(spec)}",
        )
        return False
    kind = spec.get("dist")
    if kind not in DISTRIBUTIONS:
        hint = difflib.get_close_matches(str(kind), list(DISTRIBUTIONS), n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        what = (
            "is missing"
            if kind is None
            else f"must be one of {', '.join(DISTRIBUTIONS)}, got {units._show(kind)}{tip}"
        )
        ctx.add(where + ("dist",), what)
        return False
    required, optional = DISTRIBUTIONS[kind]
    allowed = ("dist",) + required + optional + _META_KEYS
    ok = True
    for key in spec:
        if key not in allowed:
            ctx.add(where + (key,), f"unknown key for dist: {kind} (allowed: {', '.join(allowed)})")
            ok = False
    for key in required:
        if key not in spec:
            ctx.add(where + (key,), f"required for dist: {kind}")
            ok = False
    return ok


def _schedule_choice(ctx: Context, where: tuple, spec: Mapping, values: Mapping, out: dict) -> dict | None:
    """``program.schedule``: a ``choice`` over schedules, each ``{ramp: ...}`` or ``{shares: [...]}``."""
    if spec["dist"] != "choice":
        ctx.add(
            where + ("dist",),
            "program.schedule is drawn with dist: choice over schedules ({ramp: ...} or {shares: [...]})",
        )
        return None
    raw_values = spec["values"]
    if not isinstance(raw_values, list) or not raw_values:
        ctx.add(where + ("values",), "must be a non-empty list of schedules")
        return None
    parsed = [
        _schedule_option(ctx, where + ("values", i), v, values.get("program.years"))
        for i, v in enumerate(raw_values)
    ]
    if any(x is None for x in parsed):
        return None
    out["values"] = parsed
    weights = parse_weights(ctx, where, spec, len(parsed))
    if weights is None:
        return None
    out["weights"] = weights
    return out


def _schedule_option(ctx: Context, where: tuple, raw, n_years: int | None) -> dict | None:
    """One schedule a ``choice`` may draw: ``{shares: [...]}`` or ``{ramp: ...}`` (numbers only)."""
    if not isinstance(raw, Mapping):
        ctx.add(
            where,
            f"a schedule is {{ramp: flat|linear|s_curve}} or {{shares: [...]}}, got {units._show(raw)}",
        )
        return None
    extra = set(raw) - {"shares", "ramp", "midpoint", "steepness"}
    if extra or ("shares" in raw) == ("ramp" in raw):
        ctx.add(
            where,
            "a schedule gives exactly one of shares: [...] or ramp: flat|linear|s_curve "
            "(s_curve may add midpoint, steepness)",
        )
        return None
    if "shares" in raw:
        return _schedule_option_shares(ctx, where, raw, n_years)
    ramp = raw["ramp"]
    if ramp not in ("flat", "linear", "s_curve"):
        ctx.add(where + ("ramp",), f"must be one of flat, linear, s_curve, got {units._show(ramp)}")
        return None
    out: dict[str, Any] = {"ramp": ramp}
    if ramp == "s_curve" and n_years is not None:
        for key, default in (("midpoint", n_years / 2), ("steepness", 1.0)):
            x = raw.get(key, default)
            if not is_number(x) or (key == "steepness" and x <= 0):
                ctx.add(
                    where + (key,),
                    f"must be a number{' > 0' if key == 'steepness' else ''}, got {units._show(x)}",
                )
                return None
            out[key] = float(x)
    elif set(raw) & {"midpoint", "steepness"}:
        ctx.add(where, "midpoint and steepness apply only to ramp: s_curve")
        return None
    return out


def _schedule_option_shares(ctx: Context, where: tuple, raw: Mapping, n_years: int | None) -> dict | None:
    """``{shares: [...]}``: one share per program year, each >= 0, summing to 1 (never rescaled)."""
    try:
        shares = [units.parse_rate(x) for x in raw["shares"]] if isinstance(raw["shares"], list) else None
    except UnitError as exc:
        ctx.add(where + ("shares",), str(exc))
        return None
    if shares is None or (n_years is not None and len(shares) != n_years):
        ctx.add(where + ("shares",), f"must be a list of program.years = {n_years} fractions")
        return None
    if not _sums_to_one(ctx, where + ("shares",), shares, "shares"):
        return None
    return {"shares": shares}


def _number_choice(ctx: Context, where: tuple, path: str, p: Param, spec: Mapping):
    """``choice`` of numbers: (values, weights), or None; a ``null`` deadline is "no deadline" (inf)."""
    raw_values = spec["values"]
    if not isinstance(raw_values, list) or not raw_values:
        ctx.add(where + ("values",), f"must be a non-empty list of values of {path}")
        return None
    vals = []
    for i, raw in enumerate(raw_values):
        if raw is None and path == "policy.amic.construction_deadline_year":
            vals.append(math.inf)  # no deadline
            continue
        try:
            vals.append(parse_value(p, raw))
        except UnitError as exc:
            ctx.add(where + ("values", i), str(exc))
            return None
    weights = parse_weights(ctx, where, spec, len(vals))
    if weights is None:
        return None
    return vals, weights


def parse_weights(ctx: Context, where: tuple, spec: Mapping, n: int) -> list[float] | None:
    """The ``weights`` of a ``choice`` of ``n`` values (equal when left out): >= 0, summing to 1."""
    if "weights" not in spec:
        return [1.0 / n] * n
    raw = spec["weights"]
    if not isinstance(raw, list) or len(raw) != n:
        ctx.add(where + ("weights",), f"must be a list of {n} weights, one per value")
        return None
    try:
        w = [units.parse_rate(x) for x in raw]
    except UnitError as exc:
        ctx.add(where + ("weights",), str(exc))
        return None
    if not _sums_to_one(ctx, where + ("weights",), w, "weights"):
        return None
    return w


def _sums_to_one(ctx: Context, at: tuple, fractions: list[float], what: str) -> bool:
    """``fractions`` (``what``: shares, weights) are >= 0 and sum to 1 within 1e-9; never rescaled."""
    if any(x < 0 for x in fractions) or abs(math.fsum(fractions) - 1.0) > SHARE_TOLERANCE:
        ctx.add(
            at,
            f"{what} must be >= 0 and sum to 1 (within 1e-9), got sum {math.fsum(fractions):.12g}; "
            f"{what} are never rescaled",
        )
        return False
    return True


def _numbers(ctx: Context, where: tuple, p: Param, spec: Mapping) -> dict[str, float] | None:
    """The numeric keys of a continuous distribution, in the parameter's notation (sigma, shape: plain)."""
    required, optional = DISTRIBUTIONS[spec["dist"]]
    parsed = {}
    for key in required + optional:
        if key not in spec:
            continue
        try:
            if key in ("sigma", "shape"):
                parsed[key] = units.parse_number(spec[key])
            else:
                parsed[key] = parse_value(p, spec[key])
        except UnitError as exc:
            ctx.add(where + (key,), str(exc))
            return None
    return parsed


def _interval_support(ctx: Context, where: tuple, path: str, p: Param, parsed: Mapping):
    """uniform, triangular, pert: ``low <= mode <= high``, ``shape > 0``; the support is ``[low, high]``."""
    lo, hi = parsed["low"], parsed["high"]
    if lo > hi:
        ctx.add(where + ("high",), f"high ({hi:g}) must be >= low ({lo:g})")
        return None
    if "mode" in parsed and not lo <= parsed["mode"] <= hi:
        ctx.add(
            where + ("mode",),
            f"mode ({parsed['mode']:g}) must lie between low ({lo:g}) and high ({hi:g})",
        )
        return None
    if "shape" in parsed and parsed["shape"] <= 0:
        ctx.add(where + ("shape",), f"must be > 0, got {parsed['shape']:g}")
        return None
    return lo, hi


def _normal_support(ctx: Context, where: tuple, path: str, p: Param, parsed: Mapping):
    """normal: ``sd >= 0``, a truncation that holds some of the mass, and truncated where ``p`` is bounded."""
    mean, sd = parsed["mean"], parsed["sd"]
    if sd < 0:
        ctx.add(where + ("sd",), f"must be >= 0, got {sd:g}")
        return None
    lo, hi = parsed.get("low", -math.inf), parsed.get("high", math.inf)
    if lo > hi or (sd == 0 and not lo <= mean <= hi):
        ctx.add(
            where + ("high",),
            f"the truncation [{lo:g}, {hi:g}] must be an interval that holds the mean when sd is 0",
        )
        return None
    if sd > 0 and lo < hi and (_ndtr((hi - mean) / sd) - _ndtr((lo - mean) / sd)) < 1e-12:
        ctx.add(
            where,
            f"the truncation [{lo:g}, {hi:g}] holds almost none of the distribution "
            f"(mean {mean:g}, sd {sd:g})",
        )
        return None
    for side, bound in (("low", p.lo), ("high", p.hi)):
        if sd > 0 and bound is not None and side not in parsed:
            ctx.add(
                where + (side,),
                f"a normal distribution is unbounded; {path} must be "
                f"{'>=' if side == 'low' else '<='} {bound:g}, so give {side}: to truncate it",
            )
            return None
    return (mean, mean) if sd == 0 else (lo, hi)


def _lognormal_support(ctx: Context, where: tuple, path: str, p: Param, parsed: Mapping):
    """lognormal: ``median > 0``, ``sigma >= 0``, and only for parameters without an upper bound."""
    median, sigma = parsed["median"], parsed["sigma"]
    if median <= 0:
        ctx.add(where + ("median",), f"must be > 0, got {median:g}")
        return None
    if sigma < 0:
        ctx.add(where + ("sigma",), f"must be >= 0, got {sigma:g}")
        return None
    if sigma > 0 and p.hi is not None:
        ctx.add(
            where + ("dist",),
            f"a lognormal distribution is unbounded above but {path} must be <= {p.hi:g}; "
            "use pert, triangular or a truncated normal",
        )
        return None
    return (median, median) if sigma == 0 else (0.0, math.inf)


_SUPPORT = {
    "uniform": _interval_support,
    "triangular": _interval_support,
    "pert": _interval_support,
    "normal": _normal_support,
    "lognormal": _lognormal_support,
}


def _draws_allowed(ctx: Context, where: tuple, path: str, p: Param, out: Mapping, support, values) -> bool:
    """Every value a draw can take is an allowed value of ``p``, whole where it must be, in the horizon."""
    kind = out["dist"]
    if kind == "choice":
        checks = [(v, f"value {i}") for i, v in enumerate(out["values"]) if not math.isinf(v)]
    elif kind == "lognormal":
        checks = [(out["median"], "the median")] if out["sigma"] == 0 else []
    else:
        checks = [(support[0], "the lowest value"), (support[1], "the highest value")]
    for x, what in checks:
        if math.isinf(x):
            continue
        rounded = float(np.round(x)) if path.endswith(".life_years") else x
        problem = range_problem(p, path, rounded, what, values)
        if problem:
            ctx.add(where, problem)
            return False
    if whole_years(path):
        if kind != "choice" or any(not (math.isinf(v) or float(v).is_integer()) for v in out["values"]):
            ctx.add(where, f"{path} is a whole number of years: draw it with dist: choice over whole numbers")
            return False
    if path.endswith(".in_service_lag_years") and not lag_fits(values, support[1]):
        ctx.add(
            where,
            f"a lag of {support[1]:g} years would place the last year's spend in service "
            "after analysis.end_year",
        )
        return False
    return True


def _ndtr(x: float) -> float:
    """The standard normal CDF."""
    return 0.5 * math.erfc(-x / math.sqrt(2.0))
