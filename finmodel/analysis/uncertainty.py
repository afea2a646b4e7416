"""Sampling the ``uncertainty:`` block: a Gaussian copula, inverse CDFs, and draws as engine overrides.

The block's grammar and validation live in the scenario layer
(:mod:`finmodel.scenario.blocks.uncertainty`, distributions in
:mod:`finmodel.scenario.blocks.distributions`); this module draws from a
validated scenario's block (:func:`uncertainty_spec`, :func:`sample`) and
turns the draws into :func:`finmodel.engine.model.build_inputs` overrides
(:func:`to_overrides`). It also names parameters and their values for
labels (:func:`param_label`, :func:`format_value`).

Rules, stated in every Monte Carlo output that they touch:

- Category shares: when any ``categories.*.share`` is drawn, every
  category's share (drawn or fixed) is divided by their sum in each draw,
  so they sum to 1 (a draw whose shares already sum to 1 within 1e-9, the
  scenario file's own tolerance, is used as is).
- ``life_years`` may be drawn from a continuous distribution: the model
  rounds it to whole years (MODEL.md section 6). Other whole-year keys
  (lags, construction years, the deadline) take ``choice`` of whole numbers.
- A rate given by year (``policy.amic.rate``, ``tax.bonus_depreciation``)
  drawn as one number sets the map's last step (the rate from its last
  year on; earlier steps keep the scenario's rates), as a sweep does;
  ``PATH[YEAR]`` (``policy.amic.rate[2026]``) draws the step starting in
  ``YEAR`` (added if no step starts there; later steps unchanged).
- ``program.schedule`` takes ``choice`` of schedules (``{ramp: ...}`` or
  ``{shares: [...]}``).

Correlations are Spearman rank correlations, imposed with a Gaussian copula:
each pair's ``rho`` becomes the normal correlation ``2 sin(pi rho / 6)``.
Every random number is drawn up front from one ``numpy.random.Generator``
stream (a ``draws x parameters`` block of standard normals), so a seed gives
the same draws whatever the chunk size of the engine.

References
----------
Vose, D. (2008). *Risk Analysis: A Quantitative Guide*, 3rd ed., Wiley:
triangular and PERT distributions (ch. 8), rank-order correlation (ch. 13).
Iman, R. L., & Conover, W. J. (1982). A distribution-free approach to
inducing rank correlation among input variables. *Communications in
Statistics - Simulation and Computation*, 11(3), 311-334.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from finmodel.core import format as fmt
from finmodel.core.cashflow import schedule_shares
from finmodel.scenario.blocks.distributions import Distribution
from finmodel.scenario.blocks.uncertainty import DEFAULT_DRAWS, normal_correlation
from finmodel.scenario.params import BY_PATH, SHARE_TOLERANCE, param_for, split_step
from finmodel.scenario.types import Scenario
from finmodel.scenario.varying import set_step

__all__ = [
    "UncertaintySpec",
    "Samples",
    "param_label",
    "format_value",
    "choice_index",
    "transform",
    "uncertainty_spec",
    "sample",
    "normal_scores",
    "values_from_scores",
    "category_share_overrides",
    "TableRows",
    "to_overrides",
    "schedule_table",
    "notes",
]


# --------------------------------------------------------------------------- labels


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
    "finance.equity_discount_rate": "Equity discount rate",
    "finance.debt.share": "Debt share of spend",
    "finance.debt.rate": "Debt interest rate",
    "finance.debt.tenor_years": "Debt tenor",
    "finance.debt.grace_years": "Debt grace years",
    "policy.loan_guarantee.guaranteed_share": "Guaranteed share",
    "policy.loan_guarantee.rate_reduction": "Guarantee rate cut",
    "policy.loan_guarantee.upfront_fee_rate": "Guarantee fee",
    "policy.loan_guarantee.default_probability": "Default probability",
    "policy.loan_guarantee.recovery_rate": "Recovery rate",
    "refresh.price_change": "Refresh price change",
    "incidence.pass_through": "Pass-through",
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
    >>> param_label("policy.amic.rate[2026]")
    'Credit rate from 2026'
    """
    base, year = split_step(path)
    if year is not None:
        return f"{param_label(base)} from {year}"
    if path in LABELS:
        return LABELS[path]
    parts = path.split(".")
    if len(parts) == 3 and parts[0] == "categories":
        return f"{parts[1][:1].upper()}{parts[1][1:]} {_CATEGORY_LABELS.get(parts[2], parts[2])}"
    p = BY_PATH.get(path)
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


# --------------------------------------------------------------------------- inverse CDFs


def choice_index(d: Distribution, z: np.ndarray) -> np.ndarray:
    """For a ``choice``: the index of the value drawn for standard normal scores ``z``."""
    from scipy import special

    u = special.ndtr(np.asarray(z, dtype=float))
    cum = np.cumsum(np.asarray(d.weights, dtype=float))
    cum[-1] = 1.0
    return np.minimum(np.searchsorted(cum, u, side="right"), len(d.values) - 1)


def transform(d: Distribution, z: np.ndarray) -> np.ndarray:
    """The values of ``d`` whose normal scores are ``z`` (``u = Phi(z)``, value = inverse CDF of ``u``).

    Normal and lognormal use ``z`` directly (no round trip through ``u``);
    the others use ``u = Phi(z)`` and, where the upper tail matters,
    ``1 - u = Phi(-z)``, so no precision is lost near 1.
    """
    from scipy import special

    z = np.asarray(z, dtype=float)
    kind = d.kind
    if kind == "choice":
        return np.asarray(d.values, dtype=float)[choice_index(d, z)]
    if kind == "lognormal":
        return d.median * np.exp(d.sigma * z)
    if kind == "normal":
        if d.sd == 0:
            return np.full(z.shape, d.mean)
        if math.isinf(d.low) and math.isinf(d.high):
            return d.mean + d.sd * z
        a = (d.low - d.mean) / d.sd
        b = (d.high - d.mean) / d.sd
        if a > 0:  # truncation in the upper tail: work in the mirrored lower tail
            return d.mean - d.sd * _truncated_std(-z, -b, -a)
        return d.mean + d.sd * _truncated_std(z, a, b)
    width = d.high - d.low
    if width == 0:
        return np.full(z.shape, d.low)
    u = special.ndtr(z)
    if kind == "uniform":
        return d.low + width * u
    if kind == "triangular":
        v = special.ndtr(-z)  # 1 - u
        c = (d.mode - d.low) / width
        left = d.low + np.sqrt(u * width * (d.mode - d.low))
        right = d.high - np.sqrt(v * width * (d.high - d.mode))
        return np.where(u < c, left, right)
    if kind == "pert":
        alpha = 1.0 + d.shape * (d.mode - d.low) / width
        beta = 1.0 + d.shape * (d.high - d.mode) / width
        return d.low + width * _beta_ppf(u, alpha, beta)
    raise ValueError(f"unknown distribution {kind!r}")  # pragma: no cover - validated


TAIL_CELLS = 64


@functools.lru_cache(maxsize=64)
def _beta_table(alpha: float, beta: float, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """``u`` on ``cells`` equal steps and ``betaincinv`` there (computed once per distribution:
    a Monte Carlo run asks for it chunk after chunk)."""
    from scipy import special

    grid = np.linspace(0.0, 1.0, cells + 1)
    table = special.betaincinv(alpha, beta, grid)
    grid.flags.writeable = False
    table.flags.writeable = False
    return grid, table


def _beta_ppf(u: np.ndarray, alpha: float, beta: float, cells: int = 4096) -> np.ndarray:
    """Inverse CDF of Beta(alpha, beta) at ``u``: a table, one Newton step, exact tails.

    ``scipy.special.betaincinv`` costs about 1.3 us a value; interpolating a
    table of it (``cells`` equal steps of ``u``) and taking one Newton step
    on ``betainc`` costs a third of that, to about 1e-12. In the first and
    last :data:`TAIL_CELLS` cells (3% of the draws), where the inverse is
    steep, ``betaincinv`` is used as is.
    """
    from scipy import special

    grid, table = _beta_table(float(alpha), float(beta), cells)
    x = np.interp(u, grid, table)
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


# --------------------------------------------------------------------------- sampling


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
        return normal_correlation(self.paths, self.correlations)


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
    return UncertaintySpec(
        parameters={path: Distribution.from_block(d) for path, d in block["parameters"].items()},
        draws=int(block["draws"]),
        seed=block.get("seed"),
        correlations=tuple(
            (c["between"][0], c["between"][1], float(c["rho"])) for c in block.get("correlations", ())
        ),
        sources={p: d["source"] for p, d in block["parameters"].items() if d.get("source")},
    )


def normal_scores(spec: UncertaintySpec, rng: np.random.Generator, draws: int) -> np.ndarray:
    """The next ``draws`` rows of standard normal scores, ``(draws, parameters)``.

    Rows come from the generator in order, so ``draws`` rows taken in one
    call or in several consecutive calls are the same numbers: a Monte Carlo
    run can take its scores chunk by chunk.
    """
    return rng.standard_normal((int(draws), len(spec.paths)))


def values_from_scores(spec: UncertaintySpec, z: np.ndarray) -> dict[str, np.ndarray]:
    """Every parameter's values for scores ``z`` ``(draws, parameters)``: correlated, then inverse CDFs.

    The correlation (Gaussian copula) is a fixed-order sum over the
    parameters and every inverse CDF works draw by draw, so any block of
    rows gives the values of those rows alone.
    """
    paths = spec.paths
    z = np.ascontiguousarray(np.asarray(z, dtype=float).T)  # (parameter, draw): a row per parameter
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
    values = {}
    for i, path in enumerate(paths):
        d = spec.parameters[path]
        if d.kind == "choice" and d.values and isinstance(d.values[0], Mapping):
            values[path] = choice_index(d, z[i])
        else:
            values[path] = transform(d, z[i])
    return values


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
    z = normal_scores(spec, rng, n)
    # every inverse CDF works draw by draw: the draws are cut in two halves,
    # transformed two at a time (numpy and scipy release the GIL) and joined,
    # the same numbers in any order
    if n >= 100_000:
        from concurrent.futures import ThreadPoolExecutor

        cut = n // 2
        with ThreadPoolExecutor(max_workers=2) as pool:
            halves = (slice(0, cut), slice(cut, n))
            low, high = pool.map(lambda rows: values_from_scores(spec, z[rows]), halves)
        values = {path: np.concatenate((low[path], high[path])) for path in spec.paths}
    else:
        values = values_from_scores(spec, z)
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
    """``build_inputs`` overrides for drawn values (shares renormalized, schedules as year shares).

    A drawn rate by year sets one step of the scenario's map
    (:func:`~finmodel.scenario.varying.set_step`): ``PATH[YEAR]`` the step
    starting in ``YEAR``, ``PATH`` its last step; the result is a year map
    whose drawn steps are arrays.
    """
    out: dict[str, Any] = {}
    shares = {}
    for path, values in samples.values.items():
        base_path, year = split_step(path)
        p = param_for(path, scenario.values)
        if p is not None and p.kind == "rate_map":
            out[base_path] = set_step(out.get(base_path) or scenario[base_path], year, values)
        elif path.startswith("categories.") and path.endswith(".share"):
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
        base, year = split_step(p)
        if year is not None:
            out.append(f"{p} is drawn as the step of {base} starting in {year}; its other steps are kept.")
        elif BY_PATH.get(p) is not None and BY_PATH[p].kind == "rate_map":
            out.append(
                f"{p} is drawn as the rate of its last step (from its last year on); "
                "its earlier steps are kept."
            )
    if spec.correlations:
        out.append("Correlations are Spearman rank correlations imposed with a Gaussian copula.")
    return out
