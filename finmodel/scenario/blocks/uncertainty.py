"""The ``uncertainty:`` block: what a Monte Carlo run draws, how many times, from which seed::

    uncertainty:
      draws: 100000
      seed: 20251106
      parameters:
        program.commitment_usd: {dist: triangular, low: 1.0T, mode: 1.4T, high: 1.5T}
        categories.servers.life_years: {dist: choice, values: [3, 4, 5, 6], weights: [0.2, 0.3, 0.3, 0.2]}
        finance.discount_rate: {dist: normal, mean: 10%, sd: 1.5%, low: 6%, high: 14%}
        program.schedule: {dist: choice, values: [{ramp: flat}, {ramp: linear}]}
      correlations:
        - {between: [program.commitment_usd, operations.revenue_usd_per_gw_year], rho: 0.5}

The distributions are those of :mod:`finmodel.scenario.blocks.distributions`.
Correlations are Spearman rank correlations; each pair's ``rho`` becomes the
normal correlation ``2 sin(pi rho / 6)`` of the Gaussian copula, and that
matrix must be positive definite. A child scenario's ``uncertainty: null``
removes its parent's block.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from finmodel.scenario import units
from finmodel.scenario.blocks.distributions import Distribution, is_number, parse_distribution
from finmodel.scenario.context import Context

__all__ = ["DEFAULT_DRAWS", "MAX_DRAWS", "validate_uncertainty", "normal_correlation"]

DEFAULT_DRAWS = 10_000
MAX_DRAWS = 100_000_000
_TOP = ("uncertainty",)


def validate_uncertainty(block, ctx: Context, values: Mapping) -> dict | None:
    """Check a scenario's ``uncertainty:`` block; return it parsed (plain data) or None.

    Every problem is recorded with ``ctx.add(key_path, message)``. The result
    holds ``draws``, ``seed``, ``parameters`` (path -> distribution as
    data) and ``correlations`` (``{between: [a, b], rho}``).
    """
    if block is None:  # a child's "uncertainty: null" removes its parent's block
        return None
    if not isinstance(block, Mapping):
        ctx.add(
            _TOP,
            f"must be a mapping {{draws, seed, parameters, correlations}}, got {units._show(block)}",
        )
        return None
    for key in block:
        if key not in ("draws", "seed", "parameters", "correlations"):
            ctx.add(_TOP + (key,), "unknown key (allowed: draws, seed, parameters, correlations)")
    out: dict[str, Any] = {
        "draws": DEFAULT_DRAWS,
        "seed": None,
        "parameters": {},
        "correlations": [],
    }
    _draws_and_seed(ctx, block, out)
    params = block.get("parameters")
    if not isinstance(params, Mapping) or not params:
        ctx.add(
            _TOP + ("parameters",),
            "required: a mapping of at least one parameter path -> {dist: ..., ...}",
        )
        return None
    for path, spec in params.items():
        d = parse_distribution(ctx, _TOP + ("parameters", path), path, spec, values, ctx.sources)
        if d is not None:
            out["parameters"][path] = d
    out["correlations"] = _parse_correlations(ctx, block.get("correlations", []), out["parameters"], params)
    _check_shares_can_renormalize(ctx, out["parameters"], values)
    return out


def _draws_and_seed(ctx: Context, block: Mapping, out: dict) -> None:
    """``draws``: a whole number from 1 to :data:`MAX_DRAWS`; ``seed``: a whole number >= 0 or none."""
    draws = block.get("draws", DEFAULT_DRAWS)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        ctx.add(
            _TOP + ("draws",),
            f"must be a whole number from 1 to {MAX_DRAWS:,}, got {units._show(draws)}",
        )
    else:
        out["draws"] = draws
    seed = block.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        ctx.add(
            _TOP + ("seed",),
            "must be a whole number >= 0 (or left out for a fresh seed, recorded in run.json), "
            f"got {units._show(seed)}",
        )
    else:
        out["seed"] = seed


def _check_shares_can_renormalize(ctx: Context, parsed: Mapping, values: Mapping) -> None:
    """When category shares are drawn, their lowest possible sum is above 0 (each draw is divided by it)."""
    shares = [p for p in parsed if p.startswith("categories.") and p.endswith(".share")]
    if not (shares and values.get("categories")):
        return
    lowest = 0.0
    for c in values["categories"]:
        path = f"categories.{c}.share"
        if path in parsed:
            lowest += Distribution.from_block(parsed[path]).support[0]
        elif isinstance(values.get(path), float):
            lowest += values[path]
    if lowest <= 0:
        ctx.add(
            _TOP + ("parameters", shares[0]),
            "the category shares can all be 0 in one draw; they could not be renormalized",
        )


def normal_correlation(paths: Sequence[str], correlations: Sequence[tuple[str, str, float]]) -> np.ndarray:
    """Correlation matrix of the copula's normal scores, ``2 sin(pi rho_s / 6)`` per pair ``(a, b, rho_s)``.

    >>> normal_correlation(["a", "b"], [("a", "b", 1.0)]).round(12).tolist()
    [[1.0, 1.0], [1.0, 1.0]]
    """
    k = len(paths)
    index = {p: i for i, p in enumerate(paths)}
    corr = np.eye(k)
    for a, b, rho in correlations:
        r = 2.0 * math.sin(math.pi * rho / 6.0)
        corr[index[a], index[b]] = corr[index[b], index[a]] = r
    return corr


def _parse_correlations(ctx: Context, raw, parsed: Mapping, written: Mapping) -> list[dict]:
    """``correlations:``: pairs of drawn numeric parameters, each pair once, jointly positive definite."""
    where = _TOP + ("correlations",)
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        ctx.add(where, "must be a list of {between: [PATH_A, PATH_B], rho: r}")
        return []
    out = []
    seen = set()
    for i, item in enumerate(raw):
        pair = _correlation(ctx, where + (i,), item, parsed, written, seen)
        if pair is not None:
            out.append(pair)
    if out:
        eig = np.linalg.eigvalsh(
            normal_correlation(list(parsed), [(c["between"][0], c["between"][1], c["rho"]) for c in out])
        )
        if eig.min() <= 1e-10:
            ctx.add(
                where,
                "the correlations are not consistent with each other (the correlation matrix is "
                f"not positive definite; smallest eigenvalue {eig.min():.3g})",
            )
            return []
    return out


def _correlation(ctx: Context, at: tuple, item, parsed: Mapping, written: Mapping, seen: set) -> dict | None:
    """One ``{between: [a, b], rho: r}``: two different drawn numeric parameters, ``r`` in [-1, 1]."""
    if (
        not isinstance(item, Mapping)
        or set(item) - {"between", "rho", "source", "note"}
        or not {"between", "rho"} <= set(item)
    ):
        ctx.add(at, "must be {between: [PATH_A, PATH_B], rho: r} (r a Spearman rank correlation in [-1, 1])")
        return None
    pair = item["between"]
    if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
        ctx.add(at + ("between",), "must name two different drawn parameters")
        return None
    missing = [p for p in pair if p not in written]
    if missing:
        ctx.add(at + ("between",), f"{missing[0]!r} is not a parameter of uncertainty.parameters")
        return None
    if any(p not in parsed for p in pair):
        return None  # already reported
    if any(
        parsed[p]["dist"] == "choice" and parsed[p]["values"] and isinstance(parsed[p]["values"][0], Mapping)
        for p in pair
    ):
        ctx.add(at + ("between",), "program.schedule cannot be correlated (its values are not numbers)")
        return None
    rho = item["rho"]
    if not is_number(rho) or not -1.0 <= rho <= 1.0:
        ctx.add(at + ("rho",), f"must be a number in [-1, 1], got {units._show(rho)}")
        return None
    key = frozenset(pair)
    if key in seen:
        ctx.add(at, f"the pair {pair[0]} / {pair[1]} is given twice")
        return None
    seen.add(key)
    return {"between": list(pair), "rho": float(rho)}
