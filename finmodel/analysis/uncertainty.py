"""Uncertain inputs: distributions over scenario parameters, sampled with a Gaussian copula.

A scenario may carry an ``uncertainty:`` block (for Monte Carlo) and a
``sensitivity:`` block (for tornado charts). Both are validated with the rest
of the file, so a bad spec is reported like any other scenario error (file,
line, key, rule), and money and rates accept the file's notations
(``"1.2T"``, ``"35%"``)::

    uncertainty:
      draws: 100000
      seed: 20251106
      parameters:
        program.commitment_usd: {dist: triangular, low: 1.0T, mode: 1.4T, high: 1.5T}
        categories.servers.life_years: {dist: choice, values: [3, 4, 5, 6], weights: [0.2, 0.3, 0.3, 0.2]}
        operations.revenue_usd_per_gw_year: {dist: lognormal, median: 10B, sigma: 0.25}
        categories.grid.share: {dist: uniform, low: 0.05, high: 0.12}
        finance.discount_rate: {dist: normal, mean: 10%, sd: 1.5%, low: 6%, high: 14%}
        program.schedule: {dist: choice, values: [{ramp: flat}, {ramp: linear}]}
      correlations:
        - {between: [program.commitment_usd, operations.revenue_usd_per_gw_year], rho: 0.5}

    sensitivity:
      program.commitment_usd: {low: 1.0T, high: 1.6T}

Distributions (every one may also carry ``source: ID`` and ``note: text``):

========== ===================================== ==================================
``dist``   keys                                  meaning
========== ===================================== ==================================
uniform    ``low, high``                         flat on ``[low, high]``
triangular ``low, mode, high``                   triangle peaking at ``mode``
pert       ``low, mode, high`` [, ``shape``]     Beta-PERT, ``shape`` 4 by default
normal     ``mean, sd`` [, ``low``] [, ``high``] normal, truncated to ``[low, high]``
lognormal  ``median, sigma``                     ``median * exp(sigma * Z)``
choice     ``values`` [, ``weights``]            one of ``values``; weights sum to 1
========== ===================================== ==================================

A zero-width distribution (``low == high``, ``sd: 0``, ``sigma: 0``, one
value) gives the value itself in every draw, exactly.

Rules, stated in every Monte Carlo output that they touch:

- Category shares: when any ``categories.*.share`` is drawn, every
  category's share (drawn or fixed) is divided by their sum in each draw,
  so they sum to 1 (a draw whose shares already sum to 1 within 1e-9, the
  scenario file's own tolerance, is used as is).
- ``life_years`` may be drawn from a continuous distribution: the model
  rounds it to whole years (MODEL.md section 6). Other whole-year keys
  (lags, construction years, the deadline) take ``choice`` of whole numbers.
- A rate given by year (``policy.amic.rate``, ``tax.bonus_depreciation``)
  drawn as one number applies that number in every year.
- ``program.schedule`` takes ``choice`` of schedules (``{ramp: ...}`` or
  ``{shares: [...]}``).

A child scenario that ``extends`` a parent merges into its blocks (a
distribution replaces the parent's distribution of that path whole);
``uncertainty: null`` or ``sensitivity: null`` removes the parent's block.

Correlations are Spearman rank correlations, imposed with a Gaussian copula:
each pair's ``rho`` becomes the normal correlation ``2 sin(pi rho / 6)``; the
matrix must be positive definite. Every random number is drawn up front from
one ``numpy.random.Generator`` stream (a ``draws x parameters`` block of
standard normals), so a seed gives the same draws whatever the chunk size
of the engine.

References
----------
Vose, D. (2008). *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley:
triangular and PERT distributions (ch. 8), rank-order correlation (ch. 13).
Iman, R. L., & Conover, W. J. (1982). A distribution-free approach to
inducing rank correlation among input variables. *Communications in
Statistics - Simulation and Computation*, 11(3), 311-334.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finmodel.core import format as fmt
from finmodel.core.cashflow import schedule_shares
from finmodel.scenario import units
from finmodel.scenario.loader import EXTRA_BLOCKS, PARAMETERS, SHARE_TOLERANCE, Param, Scenario
from finmodel.scenario.units import UnitError

__all__ = [
    "DISTRIBUTIONS",
    "DEFAULT_DRAWS",
    "DEFAULT_SENSITIVITY",
    "DEFAULT_SENSITIVITY_SPREAD",
    "Distribution",
    "UncertaintySpec",
    "Samples",
    "param_for",
    "param_label",
    "format_value",
    "parse_value",
    "check_path",
    "uncertainty_spec",
    "sample",
    "category_share_overrides",
    "TableRows",
    "sensitivity_ranges",
    "validate_uncertainty",
    "validate_sensitivity",
]

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
DEFAULT_DRAWS = 10_000
MAX_DRAWS = 100_000_000
PERT_SHAPE = 4.0

#: Parameters of the tornado chart when a scenario has no ``sensitivity:`` block,
#: each moved to (1 - spread) and (1 + spread) times its value (a year map: every
#: year's value), within its allowed range; ``{capacity}`` is the capacity category.
DEFAULT_SENSITIVITY: tuple[str, ...] = (
    "program.commitment_usd",
    "program.capacity_gw",
    "operations.revenue_usd_per_gw_year",
    "operations.power_price_usd_per_mwh",
    "operations.utilization",
    "operations.om_rate",
    "categories.{capacity}.life_years",
    "policy.amic.rate",
    "tax.corporate_rate",
    "tax.bonus_depreciation",
    "finance.discount_rate",
)
DEFAULT_SENSITIVITY_SPREAD = 0.20

# Keys the engine reads once per scenario (as Python integers or names): never drawn.
_WHOLE_YEAR_KEYS = ("in_service_lag_years", "construction_years")
_DRAWABLE_INT = {"policy.amic.payment_lag_years", "policy.amic.construction_deadline_year"}


# --------------------------------------------------------------------------- parameters


def param_for(path: str, values: Mapping[str, Any]) -> Param | None:
    """The declaration of a scenario path (``categories.NAME.key`` for category keys), or None."""
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "categories":
        if parts[1] not in tuple(values.get("categories") or ()):
            return None
        generic = f"categories.*.{parts[2]}"
        return next((p for p in PARAMETERS if p.path == generic), None)
    return next((p for p in PARAMETERS if p.path == path and not p.path.startswith("categories.")), None)


#: Short names for charts and tables (other paths: the declared description).
LABELS = {
    "program.commitment_usd": "Commitment",
    "program.capacity_gw": "Capacity (GW)",
    "program.schedule": "Spend schedule",
    "operations.revenue_usd_per_gw_year": "Revenue per GW-year",
    "operations.power_price_usd_per_mwh": "Power price",
    "operations.utilization": "Utilization",
    "operations.pue": "PUE",
    "operations.om_rate": "O&M rate",
    "operations.revenue_growth": "Revenue growth",
    "operations.power_price_growth": "Power price growth",
    "policy.amic.rate": "Credit rate",
    "policy.amic.payment_haircut": "Direct-pay haircut",
    "policy.amic.transfer_price": "Transfer price",
    "policy.amic.basis_reduction": "Basis reduction",
    "policy.amic.payment_lag_years": "Credit payment lag",
    "policy.amic.construction_deadline_year": "Construction deadline",
    "tax.corporate_rate": "Corporate tax rate",
    "tax.bonus_depreciation": "Bonus depreciation",
    "tax.nol_limit": "NOL limit",
    "finance.discount_rate": "Discount rate",
    "fiscal.discount_rate": "Treasury discount rate",
}
_CATEGORY_LABELS = {
    "share": "share of spend",
    "life_years": "life",
    "qualified_fraction": "qualified share",
    "in_service_lag_years": "in-service lag",
    "construction_years": "construction years",
}


def param_label(path: str) -> str:
    """A short name for charts: ``categories.servers.life_years`` -> ``Servers life``.

    >>> param_label("finance.discount_rate"), param_label("categories.grid.share")
    ('Discount rate', 'Grid share of spend')
    """
    if path in LABELS:
        return LABELS[path]
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "categories":
        return f"{parts[1][:1].upper()}{parts[1][1:]} {_CATEGORY_LABELS.get(parts[2], parts[2])}"
    p = next((q for q in PARAMETERS if q.path == path), None)
    return p.description.split(" (")[0] if p is not None else path


def format_value(path: str, value: Any, values: Mapping[str, Any] | None = None) -> str:
    """A parameter value for a label: :func:`finmodel.core.format.parameter_value` with ``label=True``.

    A rate by year shows its last rate (``35% from 2026``).

    >>> format_value("program.commitment_usd", 1.4e12)
    '$1.4T'
    >>> format_value("policy.amic.rate", {2023: 0.25, 2026: 0.35})
    '35% from 2026'
    """
    p = param_for(
        path,
        values or {"categories": (path.split(".")[1],) if path.startswith("categories.") else ()},
    )
    unit, nullable = (p.unit, p.nullable) if p is not None else ("-", None)
    return fmt.parameter_value(value, unit, nullable=nullable, label=True)


def check_path(path: str, values: Mapping[str, Any], allow_schedule: bool = False) -> str | None:
    """Why ``path`` cannot vary across draws or sweep points (None if it can)."""
    if not isinstance(path, str):
        return f"a parameter is a dotted path such as operations.revenue_usd_per_gw_year, got {path!r}"
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
    if p.kind == "int" and (key == "life_years" or key in _WHOLE_YEAR_KEYS or path in _DRAWABLE_INT):
        return None
    if path in _DRAWABLE_INT:
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


def _whole_years(path: str) -> bool:
    """Keys that must stay whole numbers (life_years is rounded instead)."""
    return path.split(".")[-1] in _WHOLE_YEAR_KEYS or path in _DRAWABLE_INT


def parse_value(p: Param, raw: Any) -> float:
    """A number for parameter ``p`` in the file's notation (money ``"1.2T"``, rates ``"35%"``)."""
    if p.kind == "money":
        return units.parse_money(raw)
    if p.kind in ("rate", "rate_map"):
        return units.parse_rate(raw)
    return units.parse_number(raw)


def _range_problem(p: Param, path: str, x: float, what: str) -> str | None:
    lo_bad = p.lo is not None and (x <= p.lo if p.lo_open else x < p.lo)
    hi_bad = p.hi is not None and (x >= p.hi if p.hi_open else x > p.hi)
    if not (lo_bad or hi_bad):
        return None
    lo = "" if p.lo is None else (f"> {p.lo:g}" if p.lo_open else f">= {p.lo:g}")
    hi = "" if p.hi is None else (f"< {p.hi:g}" if p.hi_open else f"<= {p.hi:g}")
    rule = " and ".join(x for x in (lo, hi) if x)
    return f"{what} {x:g} is outside the allowed range of {path} ({rule})"


# --------------------------------------------------------------------------- distributions


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

    def index(self, z: np.ndarray) -> np.ndarray:
        """For ``choice``: the index of the value drawn for standard normal scores ``z``."""
        from scipy import special

        u = special.ndtr(np.asarray(z, dtype=float))
        cum = np.cumsum(np.asarray(self.weights, dtype=float))
        cum[-1] = 1.0
        return np.minimum(np.searchsorted(cum, u, side="right"), len(self.values) - 1)

    def transform(self, z: np.ndarray) -> np.ndarray:
        """The values whose normal scores are ``z`` (``u = Phi(z)``, value = inverse CDF of ``u``).

        Normal and lognormal use ``z`` directly (no round trip through ``u``);
        the others use ``u = Phi(z)`` and, where the upper tail matters,
        ``1 - u = Phi(-z)``, so no precision is lost near 1.
        """
        from scipy import special

        z = np.asarray(z, dtype=float)
        kind = self.kind
        if kind == "choice":
            return np.asarray(self.values, dtype=float)[self.index(z)]
        if kind == "lognormal":
            return self.median * np.exp(self.sigma * z)
        if kind == "normal":
            if self.sd == 0:
                return np.full(z.shape, self.mean)
            if math.isinf(self.low) and math.isinf(self.high):
                return self.mean + self.sd * z
            a = (self.low - self.mean) / self.sd
            b = (self.high - self.mean) / self.sd
            if a > 0:  # truncation in the upper tail: work in the mirrored lower tail
                return self.mean - self.sd * _truncated_std(-z, -b, -a)
            return self.mean + self.sd * _truncated_std(z, a, b)
        width = self.high - self.low
        if width == 0:
            return np.full(z.shape, self.low)
        u = special.ndtr(z)
        if kind == "uniform":
            return self.low + width * u
        if kind == "triangular":
            v = special.ndtr(-z)  # 1 - u
            c = (self.mode - self.low) / width
            left = self.low + np.sqrt(u * width * (self.mode - self.low))
            right = self.high - np.sqrt(v * width * (self.high - self.mode))
            return np.where(u < c, left, right)
        if kind == "pert":
            alpha = 1.0 + self.shape * (self.mode - self.low) / width
            beta = 1.0 + self.shape * (self.high - self.mode) / width
            return self.low + width * _beta_ppf(u, alpha, beta)
        raise ValueError(f"unknown distribution {kind!r}")  # pragma: no cover - validated


TAIL_CELLS = 64


def _beta_ppf(u: np.ndarray, alpha: float, beta: float, cells: int = 4096) -> np.ndarray:
    """Inverse CDF of Beta(alpha, beta) at ``u``: a table, one Newton step, exact tails.

    ``scipy.special.betaincinv`` costs about 1.3 us a value; interpolating a
    table of it (``cells`` equal steps of ``u``) and taking one Newton step
    on ``betainc`` costs a third of that, to about 1e-12. In the first and
    last :data:`TAIL_CELLS` cells (3% of the draws), where the inverse is
    steep, ``betaincinv`` is used as is.
    """
    from scipy import special

    grid = np.linspace(0.0, 1.0, cells + 1)
    x = np.interp(u, grid, special.betaincinv(alpha, beta, grid))
    with np.errstate(all="ignore"):
        pdf = np.exp((alpha - 1.0) * np.log(x) + (beta - 1.0) * np.log1p(-x) - special.betaln(alpha, beta))
        step = (special.betainc(alpha, beta, x) - u) / pdf
    x = np.where(np.isfinite(step) & (pdf > 0), x - step, x)
    tail = (u < grid[TAIL_CELLS]) | (u > grid[-1 - TAIL_CELLS])
    x[tail] = special.betaincinv(alpha, beta, u[tail])
    return np.clip(x, 0.0, 1.0)


def _truncated_std(z: np.ndarray, a: float, b: float) -> np.ndarray:
    """Standard normal truncated to ``[a, b]`` (``a <= 0`` or ``a = -inf``), at score ``z``."""
    from scipy import special

    pa = special.ndtr(a)
    pb = special.ndtr(b)
    x = special.ndtri(pa + special.ndtr(z) * (pb - pa))
    return np.clip(x, a, b)


@dataclass(frozen=True)
class UncertaintySpec:
    """A scenario's ``uncertainty:`` block, parsed: what to draw, how many, from which seed."""

    parameters: Mapping[str, Distribution]
    draws: int = DEFAULT_DRAWS
    seed: int | None = None
    correlations: tuple[tuple[str, str, float], ...] = ()
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    def normal_correlation(self) -> np.ndarray:
        """Correlation matrix of the copula's normal scores, ``2 sin(pi rho_s / 6)`` per pair."""
        k = len(self.parameters)
        index = {p: i for i, p in enumerate(self.parameters)}
        corr = np.eye(k)
        for a, b, rho in self.correlations:
            r = 2.0 * math.sin(math.pi * rho / 6.0)
            corr[index[a], index[b]] = corr[index[b], index[a]] = r
        return corr


@dataclass(frozen=True)
class Samples:
    """Drawn inputs: ``values[path]`` is ``(draws,)``; a schedule choice is held as an index."""

    spec: UncertaintySpec
    values: Mapping[str, np.ndarray]
    seed: int | None

    @property
    def draws(self) -> int:
        return len(next(iter(self.values.values()))) if self.values else 0


def uncertainty_spec(scenario: Scenario) -> UncertaintySpec | None:
    """The parsed ``uncertainty:`` block of a validated scenario, or None if it has none."""
    block = scenario.extras.get("uncertainty")
    if block is None:
        return None
    params = {}
    for path, d in block["parameters"].items():
        kw = {k: v for k, v in d.items() if k not in ("dist", "source", "note")}
        if "values" in kw:
            kw["values"] = tuple(kw["values"])
        if "weights" in kw:
            kw["weights"] = tuple(kw["weights"])
        params[path] = Distribution(kind=d["dist"], **kw)
    return UncertaintySpec(
        parameters=params,
        draws=int(block["draws"]),
        seed=block.get("seed"),
        correlations=tuple(
            (c["between"][0], c["between"][1], float(c["rho"])) for c in block.get("correlations", ())
        ),
        sources={p: d["source"] for p, d in block["parameters"].items() if d.get("source")},
    )


def sample(
    spec: UncertaintySpec, draws: int | None = None, seed: int | np.random.Generator | None = None
) -> Samples:
    """Draw every parameter of ``spec``: ``draws`` values each (default ``spec.draws``).

    ``seed`` (an int or a ``numpy.random.Generator``; default ``spec.seed``)
    fixes every number: one ``(draws, parameters)`` block of standard normals
    is drawn up front, correlated (Gaussian copula, a fixed-order sum, no
    BLAS), then mapped through each inverse CDF.

    Examples
    --------
    >>> spec = UncertaintySpec({"finance.discount_rate": Distribution("uniform", low=0.08, high=0.12)})
    >>> s = sample(spec, draws=4, seed=1)
    >>> x = s.values["finance.discount_rate"]
    >>> bool(((x >= 0.08) & (x <= 0.12)).all())
    True
    """
    n = spec.draws if draws is None else int(draws)
    if n < 1:
        raise ValueError(f"draws must be >= 1, got {n}")
    seed = spec.seed if seed is None else seed
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    paths = spec.paths
    z = rng.standard_normal((n, len(paths)))
    z = np.ascontiguousarray(z.T)  # (parameter, draw): one contiguous row per parameter
    if spec.correlations:
        chol = np.linalg.cholesky(spec.normal_correlation())
        zc = z.copy()
        for i in range(len(paths)):
            terms = [j for j in range(i + 1) if chol[i, j] != 0.0]
            if terms == [i] and chol[i, i] == 1.0:
                continue  # an uncorrelated parameter keeps its scores
            acc = chol[i, terms[0]] * z[terms[0]]
            for j in terms[1:]:
                acc = acc + chol[i, j] * z[j]
            zc[i] = acc
        z = zc

    def one(i: int, lo: int = 0, hi: int | None = None) -> np.ndarray:
        d = spec.parameters[paths[i]]
        zi = z[i, lo:hi]
        if d.kind == "choice" and d.values and isinstance(d.values[0], Mapping):
            return d.index(zi)
        return d.transform(zi)

    # every inverse CDF works draw by draw: each parameter's draws are cut in
    # two halves, transformed two at a time (numpy and scipy release the GIL)
    # and joined, the same numbers in any order
    if n >= 100_000:
        from concurrent.futures import ThreadPoolExecutor

        cut = n // 2
        tasks = [(i, lo, hi) for i in range(len(paths)) for lo, hi in ((0, cut), (cut, n))]
        with ThreadPoolExecutor(max_workers=2) as pool:
            parts = list(pool.map(lambda task: one(*task), tasks))
        values = {path: np.concatenate(parts[2 * i : 2 * i + 2]) for i, path in enumerate(paths)}
    else:
        values = {path: one(i) for i, path in enumerate(paths)}
    return Samples(spec=spec, values=values, seed=seed if not isinstance(seed, np.random.Generator) else None)


def category_share_overrides(scenario: Scenario, drawn: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every category's share per draw, given some drawn shares: divided by their sum.

    ``drawn`` maps ``categories.NAME.share`` paths to arrays; the other
    categories keep their scenario share. A draw whose shares sum to 1 within
    1e-9 (the scenario file's tolerance) is used as is.
    """
    names = scenario.category_names
    arrays = np.broadcast_arrays(
        *[
            np.asarray(drawn.get(f"categories.{c}.share", scenario[f"categories.{c}.share"]), dtype=float)
            for c in names
        ]
    )
    total = arrays[0].copy()
    for a in arrays[1:]:
        total = total + a
    rescale = np.abs(total - 1.0) > SHARE_TOLERANCE
    return {
        f"categories.{c}.share": np.where(rescale, a / np.where(rescale, total, 1.0), a)
        for c, a in zip(names, arrays, strict=True)
    }


class TableRows:
    """Rows of a small table picked per draw (``table[index]``), built only when asked for.

    A million draws of a schedule are a million indices, not a ``(draws, T)``
    array: the engine takes :meth:`rows` chunk by chunk; ``numpy.asarray``
    gives the whole array.
    """

    def __init__(self, table: np.ndarray, index: np.ndarray):
        self.table = np.asarray(table, dtype=float)
        self.index = np.asarray(index)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.index.shape + self.table.shape[1:]

    def rows(self, start: int, stop: int) -> np.ndarray:
        return self.table[self.index[start:stop]]

    def __array__(self, dtype=None, copy=None):
        out = self.table[self.index]
        return out if dtype is None else out.astype(dtype)


def to_overrides(scenario: Scenario, samples: Samples) -> dict[str, Any]:
    """``build_inputs`` overrides for drawn values (shares renormalized, schedules as year shares)."""
    out: dict[str, Any] = {}
    shares = {}
    for path, values in samples.values.items():
        if path.startswith("categories.") and path.endswith(".share"):
            shares[path] = values
        elif path == "program.schedule":
            out["program.year_shares"] = TableRows(
                schedule_table(scenario, samples.spec.parameters[path]), values
            )
        else:
            out[path] = values
    if shares:
        out.update(category_share_overrides(scenario, shares))
    return out


def schedule_table(scenario: Scenario, dist: Distribution) -> np.ndarray:
    """Year shares ``(options, T)`` of each schedule a ``choice`` may draw."""
    n = scenario["program.years"]
    T = len(scenario.years)
    table = np.zeros((len(dist.values), T))
    for i, sched in enumerate(dist.values):
        table[i, :n] = schedule_shares(dict(sched), n)
    return table


def notes(spec: UncertaintySpec) -> list[str]:
    """The rules of this module that touch the drawn parameters, as sentences for outputs."""
    out = []
    shares = [p for p in spec.paths if p.startswith("categories.") and p.endswith(".share")]
    if shares:
        out.append(
            "Category shares are drawn for "
            + ", ".join(p.split(".")[1] for p in shares)
            + "; in each draw every category's share is divided by the sum of all shares, so they sum to 1."
        )
    for p in spec.paths:
        d = spec.parameters[p]
        if p.endswith(".life_years") and d.kind != "choice":
            out.append(f"{p} is drawn from a continuous distribution and rounded to whole years.")
        if (
            param_for(p, {"categories": ()}) is not None
            and param_for(p, {"categories": ()}).kind == "rate_map"
        ):
            out.append(f"{p} is drawn as one rate that applies in every year.")
    if spec.correlations:
        out.append("Correlations are Spearman rank correlations imposed with a Gaussian copula.")
    return out


def sensitivity_ranges(scenario: Scenario) -> tuple[dict[str, tuple[Any, Any]], list[str]]:
    """Low and high value of each tornado parameter, and notes.

    From the ``sensitivity:`` block when present; otherwise
    :data:`DEFAULT_SENSITIVITY` at -/+ :data:`DEFAULT_SENSITIVITY_SPREAD`
    of the scenario's values, clipped to each key's allowed range
    (parameters whose value is 0 are left out). A year map moves every year.
    """
    block = scenario.extras.get("sensitivity")
    if block is not None:
        return {p: (d["low"], d["high"]) for p, d in block.items()}, []
    spread = DEFAULT_SENSITIVITY_SPREAD
    capacity = scenario["program.capacity_category"]
    ranges: dict[str, tuple[Any, Any]] = {}
    skipped = []
    for template in DEFAULT_SENSITIVITY:
        path = template.replace("{capacity}", capacity)
        p = param_for(path, scenario.values)
        if p is None:
            continue
        base = scenario[path]
        if base is None:
            skipped.append(path)
            continue
        lo_hi = []
        for factor in (1.0 - spread, 1.0 + spread):
            if isinstance(base, Mapping):
                lo_hi.append({y: _clip(p, v * factor) for y, v in base.items()})
            else:
                lo_hi.append(_clip(p, float(base) * factor))
        if lo_hi[0] == lo_hi[1]:
            skipped.append(path)
            continue
        ranges[path] = (lo_hi[0], lo_hi[1])
    note = [
        f"No sensitivity: block: each parameter at {1 - spread:g}x and {1 + spread:g}x its value "
        "(a rate by year: every year), within its allowed range."
    ]
    if skipped:
        note.append("Left out (value 0 or unset): " + ", ".join(skipped) + ".")
    return ranges, note


def _clip(p: Param, x: float) -> float:
    lo = -math.inf if p.lo is None else p.lo
    hi = math.inf if p.hi is None else p.hi
    if p.hi_open and x >= hi:
        x = math.nextafter(hi, -math.inf)
    return float(min(max(x, lo), hi))


# --------------------------------------------------------------------------- validation


def _is_number(x) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _meta(ctx, where: tuple, spec: Mapping, sources: Mapping | None) -> dict:
    out = {}
    src = spec.get("source")
    if src is not None:
        if not isinstance(src, str) or (sources is not None and src not in sources):
            known = ", ".join(sorted(sources or ())) or "none defined"
            ctx.add(
                where + ("source",),
                f"unknown source {src!r}; a source must be an ID of the top-level sources: map ({known})",
            )
        else:
            out["source"] = src
    note = spec.get("note")
    if note is not None:
        if not isinstance(note, str):
            ctx.add(where + ("note",), f"must be text, got {units._show(note)}")
        else:
            out["note"] = note
    return out


def _parse_schedule(ctx, where: tuple, raw, n_years: int | None) -> dict | None:
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
        try:
            shares = [units.parse_rate(x) for x in raw["shares"]] if isinstance(raw["shares"], list) else None
        except UnitError as exc:
            ctx.add(where + ("shares",), str(exc))
            return None
        if shares is None or (n_years is not None and len(shares) != n_years):
            ctx.add(where + ("shares",), f"must be a list of program.years = {n_years} fractions")
            return None
        if any(s < 0 for s in shares) or abs(math.fsum(shares) - 1.0) > SHARE_TOLERANCE:
            ctx.add(
                where + ("shares",),
                f"shares must be >= 0 and sum to 1 (within 1e-9), got sum {math.fsum(shares):.12g}; "
                "shares are never rescaled",
            )
            return None
        return {"shares": shares}
    ramp = raw["ramp"]
    if ramp not in ("flat", "linear", "s_curve"):
        ctx.add(where + ("ramp",), f"must be one of flat, linear, s_curve, got {units._show(ramp)}")
        return None
    out: dict[str, Any] = {"ramp": ramp}
    if ramp == "s_curve" and n_years is not None:
        for key, default in (("midpoint", n_years / 2), ("steepness", 1.0)):
            x = raw.get(key, default)
            if not _is_number(x) or (key == "steepness" and x <= 0):
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


def _parse_distribution(ctx, where: tuple, path: str, spec, values: Mapping, sources) -> dict | None:
    """One parameter's distribution, checked against the parameter's kind and range."""
    if not isinstance(spec, Mapping):
        ctx.add(
            where,
            "must be a distribution {dist: uniform|triangular|pert|normal|lognormal|choice, ...}, "
            f"got {units._show(spec)}",
        )
        return None
    kind = spec.get("dist")
    if kind not in DISTRIBUTIONS:
        import difflib

        hint = difflib.get_close_matches(str(kind), list(DISTRIBUTIONS), n=1)
        tip = f"; did you mean '{hint[0]}'?" if hint else ""
        what = (
            "is missing"
            if kind is None
            else f"must be one of {', '.join(DISTRIBUTIONS)}, got {units._show(kind)}{tip}"
        )
        ctx.add(where + ("dist",), what)
        return None
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
    if not ok:
        return None
    out: dict[str, Any] = {"dist": kind, **_meta(ctx, where, spec, sources)}
    why = check_path(path, values, allow_schedule=True)
    if why:
        ctx.add(where, why)
        return None
    p = param_for(path, values)
    if p.kind == "schedule":
        if kind != "choice":
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
            _parse_schedule(ctx, where + ("values", i), v, values.get("program.years"))
            for i, v in enumerate(raw_values)
        ]
        if any(x is None for x in parsed):
            return None
        out["values"] = parsed
        weights = _parse_weights(ctx, where, spec, len(parsed))
        if weights is None:
            return None
        out["weights"] = weights
        return out

    def num(key):
        raw = spec[key]
        try:
            if key in ("sigma", "shape"):
                x = units.parse_number(raw)
            else:
                x = parse_value(p, raw)
        except UnitError as exc:
            ctx.add(where + (key,), str(exc))
            return None
        return x

    if kind == "choice":
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
        weights = _parse_weights(ctx, where, spec, len(vals))
        if weights is None:
            return None
        out["values"], out["weights"] = vals, weights
        support = (min(vals), max(vals))
        checks = [(v, f"value {i}") for i, v in enumerate(vals) if not math.isinf(v)]
    else:
        parsed = {}
        for key in required + optional:
            if key in spec:
                x = num(key)
                if x is None:
                    return None
                parsed[key] = x
        if kind in ("uniform", "triangular", "pert"):
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
            if kind == "pert" and "shape" in parsed and parsed["shape"] <= 0:
                ctx.add(where + ("shape",), f"must be > 0, got {parsed['shape']:g}")
                return None
            support = (lo, hi)
        elif kind == "normal":
            if parsed["sd"] < 0:
                ctx.add(where + ("sd",), f"must be >= 0, got {parsed['sd']:g}")
                return None
            lo, hi = parsed.get("low", -math.inf), parsed.get("high", math.inf)
            if lo > hi or (parsed["sd"] == 0 and not lo <= parsed["mean"] <= hi):
                ctx.add(
                    where + ("high",),
                    f"the truncation [{lo:g}, {hi:g}] must be an interval that holds the mean when sd is 0",
                )
                return None
            if (
                parsed["sd"] > 0
                and lo < hi
                and (
                    _ndtr((hi - parsed["mean"]) / parsed["sd"]) - _ndtr((lo - parsed["mean"]) / parsed["sd"])
                )
                < 1e-12
            ):
                ctx.add(
                    where,
                    f"the truncation [{lo:g}, {hi:g}] holds almost none of the distribution "
                    f"(mean {parsed['mean']:g}, sd {parsed['sd']:g})",
                )
                return None
            support = (parsed["mean"], parsed["mean"]) if parsed["sd"] == 0 else (lo, hi)
            for side, bound in (("low", p.lo), ("high", p.hi)):
                if parsed["sd"] > 0 and bound is not None and side not in parsed:
                    ctx.add(
                        where + (side,),
                        f"a normal distribution is unbounded; {path} must be "
                        f"{'>=' if side == 'low' else '<='} {bound:g}, so give {side}: to truncate it",
                    )
                    return None
        else:  # lognormal
            if parsed["median"] <= 0:
                ctx.add(where + ("median",), f"must be > 0, got {parsed['median']:g}")
                return None
            if parsed["sigma"] < 0:
                ctx.add(where + ("sigma",), f"must be >= 0, got {parsed['sigma']:g}")
                return None
            support = (parsed["median"], parsed["median"]) if parsed["sigma"] == 0 else (0.0, math.inf)
            if parsed["sigma"] > 0 and p.hi is not None:
                ctx.add(
                    where + ("dist",),
                    f"a lognormal distribution is unbounded above but {path} must be <= {p.hi:g}; "
                    "use pert, triangular or a truncated normal",
                )
                return None
        out.update(parsed)
        checks = [(support[0], "the lowest value"), (support[1], "the highest value")]
        if kind == "lognormal":
            checks = [(parsed["median"], "the median")] if parsed["sigma"] == 0 else []
    # the values a draw can take must be allowed values of the parameter
    for x, what in checks:
        if math.isinf(x):
            continue
        rounded = float(np.round(x)) if path.endswith(".life_years") else x
        problem = _range_problem(p, path, rounded, what)
        if problem:
            ctx.add(where, problem)
            return None
    if _whole_years(path):
        if kind != "choice" or any(not (math.isinf(v) or float(v).is_integer()) for v in out["values"]):
            ctx.add(
                where,
                f"{path} is a whole number of years: draw it with dist: choice over whole numbers",
            )
            return None
    if path.endswith(".in_service_lag_years") and not _lag_fits(values, path, support[1]):
        ctx.add(
            where,
            f"a lag of {support[1]:g} years would place the last year's spend in service "
            "after analysis.end_year",
        )
        return None
    return out


def _ndtr(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))


def _lag_fits(values: Mapping, path: str, lag: float) -> bool:
    start, n, end = (
        values.get("program.start_year"),
        values.get("program.years"),
        values.get("analysis.end_year"),
    )
    if not all(isinstance(x, int) for x in (start, n, end)):
        return True
    return start + n - 1 + lag <= end


def _parse_weights(ctx, where: tuple, spec: Mapping, n: int) -> list[float] | None:
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
    if any(x < 0 for x in w) or abs(math.fsum(w) - 1.0) > SHARE_TOLERANCE:
        ctx.add(
            where + ("weights",),
            f"weights must be >= 0 and sum to 1 (within 1e-9), got sum {math.fsum(w):.12g}; "
            "weights are never rescaled",
        )
        return None
    return w


def validate_uncertainty(block, ctx, values) -> dict | None:
    """Check a scenario's ``uncertainty:`` block; return it parsed (plain data) or None.

    Registered in :data:`finmodel.scenario.loader.EXTRA_BLOCKS`; every problem is
    recorded with ``ctx.add(key_path, message)`` (file and line added there).
    """
    top = ("uncertainty",)
    if block is None:  # a child's "uncertainty: null" removes its parent's block
        return None
    if not isinstance(block, Mapping):
        ctx.add(
            top,
            f"must be a mapping {{draws, seed, parameters, correlations}}, got {units._show(block)}",
        )
        return None
    for key in block:
        if key not in ("draws", "seed", "parameters", "correlations"):
            ctx.add(top + (key,), "unknown key (allowed: draws, seed, parameters, correlations)")
    out: dict[str, Any] = {
        "draws": DEFAULT_DRAWS,
        "seed": None,
        "parameters": {},
        "correlations": [],
    }
    draws = block.get("draws", DEFAULT_DRAWS)
    if isinstance(draws, bool) or not isinstance(draws, int) or not 1 <= draws <= MAX_DRAWS:
        ctx.add(
            top + ("draws",),
            f"must be a whole number from 1 to {MAX_DRAWS:,}, got {units._show(draws)}",
        )
    else:
        out["draws"] = draws
    seed = block.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
        ctx.add(
            top + ("seed",),
            "must be a whole number >= 0 (or left out for a fresh seed, recorded in run.json), "
            f"got {units._show(seed)}",
        )
    else:
        out["seed"] = seed
    params = block.get("parameters")
    if not isinstance(params, Mapping) or not params:
        ctx.add(
            top + ("parameters",),
            "required: a mapping of at least one parameter path -> {dist: ..., ...}",
        )
        return None
    sources = _sources(ctx)
    for path, spec in params.items():
        d = _parse_distribution(ctx, top + ("parameters", path), path, spec, values, sources)
        if d is not None:
            out["parameters"][path] = d
    out["correlations"] = _parse_correlations(ctx, block.get("correlations", []), out["parameters"], params)
    shares = [p for p in out["parameters"] if p.startswith("categories.") and p.endswith(".share")]
    if shares and values.get("categories"):
        lowest = 0.0
        for c in values["categories"]:
            path = f"categories.{c}.share"
            if path in out["parameters"]:
                lowest += _support_of(out["parameters"][path])[0]
            elif isinstance(values.get(path), float):
                lowest += values[path]
        if lowest <= 0:
            ctx.add(
                top + ("parameters", shares[0]),
                "the category shares can all be 0 in one draw; they could not be renormalized",
            )
    return out


def _support_of(d: Mapping) -> tuple[float, float]:
    kw = {k: v for k, v in d.items() if k not in ("dist", "source", "note")}
    if "values" in kw:
        kw["values"] = tuple(kw["values"])
    if "weights" in kw:
        kw["weights"] = tuple(kw["weights"])
    return Distribution(kind=d["dist"], **kw).support


def _sources(ctx) -> Mapping | None:
    """The scenario's sources, when the validator can see them (for source: checks)."""
    return getattr(ctx, "sources", None)


def _parse_correlations(ctx, raw, parsed: Mapping, written: Mapping) -> list[dict]:
    where = ("uncertainty", "correlations")
    if raw is None or raw == []:
        return []
    if not isinstance(raw, list):
        ctx.add(where, "must be a list of {between: [PATH_A, PATH_B], rho: r}")
        return []
    out = []
    seen = set()
    for i, item in enumerate(raw):
        at = where + (i,)
        if (
            not isinstance(item, Mapping)
            or set(item) - {"between", "rho", "source", "note"}
            or not {"between", "rho"} <= set(item)
        ):
            ctx.add(
                at,
                "must be {between: [PATH_A, PATH_B], rho: r} (r a Spearman rank correlation in [-1, 1])",
            )
            continue
        pair = item["between"]
        if not isinstance(pair, list) or len(pair) != 2 or pair[0] == pair[1]:
            ctx.add(at + ("between",), "must name two different drawn parameters")
            continue
        missing = [p for p in pair if p not in written]
        if missing:
            ctx.add(at + ("between",), f"{missing[0]!r} is not a parameter of uncertainty.parameters")
            continue
        if any(p not in parsed for p in pair):
            continue  # already reported
        if any(
            parsed[p]["dist"] == "choice"
            and parsed[p]["values"]
            and isinstance(parsed[p]["values"][0], Mapping)
            for p in pair
        ):
            ctx.add(
                at + ("between",),
                "program.schedule cannot be correlated (its values are not numbers)",
            )
            continue
        rho = item["rho"]
        if not _is_number(rho) or not -1.0 <= rho <= 1.0:
            ctx.add(at + ("rho",), f"must be a number in [-1, 1], got {units._show(rho)}")
            continue
        key = frozenset(pair)
        if key in seen:
            ctx.add(at, f"the pair {pair[0]} / {pair[1]} is given twice")
            continue
        seen.add(key)
        out.append({"between": list(pair), "rho": float(rho)})
    if out:
        paths = list(parsed)
        spec = UncertaintySpec(
            {p: Distribution("uniform", low=0.0, high=0.0) for p in paths},
            correlations=tuple((c["between"][0], c["between"][1], c["rho"]) for c in out),
        )
        eig = np.linalg.eigvalsh(spec.normal_correlation())
        if eig.min() <= 1e-10:
            ctx.add(
                where,
                "the correlations are not consistent with each other (the correlation matrix is "
                f"not positive definite; smallest eigenvalue {eig.min():.3g})",
            )
            return []
    return out


def validate_sensitivity(block, ctx, values) -> dict | None:
    """Check a scenario's ``sensitivity:`` block (``PATH: {low, high}``); return it parsed or None."""
    top = ("sensitivity",)
    if block is None:  # a child's "sensitivity: null" removes its parent's block
        return None
    if not isinstance(block, Mapping) or not block:
        ctx.add(
            top,
            f"must be a mapping of parameter path -> {{low: ..., high: ...}}, got {units._show(block)}",
        )
        return None
    out = {}
    sources = _sources(ctx)
    for path, spec in block.items():
        where = top + (path,)
        why = check_path(path, values)
        if why:
            ctx.add(where, why)
            continue
        if (
            not isinstance(spec, Mapping)
            or set(spec) - {"low", "high", "source", "note"}
            or not {"low", "high"} <= set(spec)
        ):
            ctx.add(
                where,
                "must be {low: ..., high: ...} in the parameter's unit (optional source:, note:)",
            )
            continue
        p = param_for(path, values)
        entry: dict[str, Any] = _meta(ctx, where, spec, sources)
        ok = True
        for key in ("low", "high"):
            raw = spec[key]
            if raw is None and path == "policy.amic.construction_deadline_year":
                entry[key] = None
                continue
            try:
                x = parse_value(p, raw)
            except UnitError as exc:
                ctx.add(where + (key,), str(exc))
                ok = False
                continue
            problem = _range_problem(p, path, float(np.round(x)) if path.endswith(".life_years") else x, key)
            if problem:
                ctx.add(where + (key,), problem)
                ok = False
                continue
            if _whole_years(path) and not float(x).is_integer():
                ctx.add(where + (key,), f"{path} is a whole number of years, got {x:g}")
                ok = False
                continue
            entry[key] = x
        if ok and entry.get("low") == entry.get("high"):
            ctx.add(where, "low and high are equal: the parameter would not move")
            ok = False
        if (
            ok
            and path.endswith(".in_service_lag_years")
            and not _lag_fits(values, path, max(entry["low"], entry["high"]))
        ):
            ctx.add(
                where,
                "the lag would place the last year's spend in service after analysis.end_year",
            )
            ok = False
        if ok:
            out[path] = entry
    return out


EXTRA_BLOCKS["uncertainty"] = validate_uncertainty
EXTRA_BLOCKS["sensitivity"] = validate_sensitivity
