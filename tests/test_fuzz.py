"""Fuzzing the scenario loader and the engine with Hypothesis.

Random valid scenario dicts, the same dicts with random mutations (a value
replaced by junk, a key deleted or misspelt, an odd key added) and their YAML
texts with random edits (a character deleted, a tab, a bracket, a quote, an
alias, a Python tag, a duplicated or swapped line) must each end in one of two
ways:

- a clean :class:`ScenarioError` whose problems are well formed (a file, a
  line that exists or none, a key path, a one-line message), or a
  :class:`NumericalError` naming a line, year and case when valid but extreme
  values overflow;
- a run whose identities hold: a zero credit makes the two cases equal; the
  NPV equals ``numpy_financial.npv`` of the cash-flow line; deductions plus
  remaining basis equal the basis; the cash flow is the sum of its parts; the
  resolved scenario reads back to itself.

Levered scenarios (MODEL.md sections 13-14) have identities of their own:
every loan is repaid; at the loan's rate the lender's flows are worth
nothing, so the owner's NPV at that rate is the project's plus the tax the
interest saves; financing leaves the project's lines alone; a guarantee that
changes no price equals none.

Examples are derandomized (a fixed seed per test) so that CI is reproducible.
"""

from __future__ import annotations

import copy
import json
import math

import numpy as np
import numpy_financial as npf
import pytest
import yaml
from conftest import ATOL_USD, RTOL_MODEL
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import finmodel
from finmodel.engine.model import NumericalError
from finmodel.scenario import yamlio
from finmodel.scenario.load import scenario_from_dict
from finmodel.scenario.params import MACRS_CLASSES, PARAMETERS
from finmodel.scenario.yamlio import Problem, ScenarioError

pytestmark = pytest.mark.slow  # hundreds to thousands of examples each: run first (conftest)

FUZZ = settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)

#: Junk that an analyst (or a bad merge) may leave where a value belongs.
JUNK = (
    None,
    True,
    False,
    0,
    -1,
    -0.0,
    1,
    2,
    1.5,
    3.5,
    1e400,
    -1e400,
    float("nan"),
    1e308,
    5e-324,
    10**30,
    2026,
    1776,
    2201,
    "",
    " ",
    "abc",
    "1.4T",
    "$250B",
    "-5B",
    "35%",
    "135%",
    "-35%",
    "1e400",
    "1e400T",
    ".nan",
    "NaN",
    "inf",
    "1,5",
    "2026",
    "yes",
    "no",
    "null",
    "~",
    "2026-01-01",
    "\t",
    "a\nb",
    "é",
    "🙂",
    [],
    [1, 2],
    ["servers"],
    {},
    {"value": 0.3},
    {"value": 0.3, "source": "nowhere"},
    {"value": 0.3, "sorce": "x"},
    {"source": "x"},
    {2026: 0.3},
    {"2026": 0.3},
    {"x": 1},
    {2026: None},
    {1800: 0.2},
    [[[]]],
)
#: Odd keys: typos, wrong types, control characters.
KEYS = (
    "progam",
    "rate ",
    "Rate",
    "share_",
    "2026",
    2026,
    True,
    None,
    "a\nb",
    "\t",
    "é",
    "",
    "categories",
    "value",
)
NAMES = ("servers", "dc", "grid", "other", "land")
PATHS = [p.path for p in PARAMETERS]


def _fraction(lo: float = 0.0, hi: float = 1.0):
    """A rate on a 1e-3 grid of [lo, hi]."""
    steps = round((hi - lo) * 1000)
    return st.integers(0, steps).map(lambda k: lo + (hi - lo) * k / steps)


# Strategies built once (building them per draw costs more than drawing).
UNIT = _fraction()
RATE_MAP = st.one_of(_fraction(0, 0.5), st.just({2023: 0.25, 2026: 0.35}), st.just("35%"))
BONUS = st.one_of(UNIT, st.just({2022: 1.0, 2023: 0.8, 2024: 0.6, 2025: 1.0}))
SCHEDULES = {
    "flat": st.just({"ramp": "flat"}),
    "linear": st.just({"ramp": "linear"}),
    "s_curve": st.builds(
        lambda m, a: {"ramp": "s_curve", "midpoint": m, "steepness": a},
        _fraction(0, 4),
        _fraction(0.1, 3),
    ),
}
SCALARS = {  # section -> key -> strategy (start and end are drawn first)
    "amic": {
        "rate": RATE_MAP,
        "basis_reduction": UNIT,
        "monetization": st.sampled_from(["direct_pay", "transfer"]),
        "payment_lag_years": st.integers(0, 2),
        "payment_haircut": _fraction(0, 0.2),
        "transfer_price": _fraction(0.8, 1),
        "recapture": st.booleans(),
    },
    "tax": {
        "corporate_rate": _fraction(0, 0.4),
        "bonus_depreciation": BONUS,
        "capacity": st.sampled_from(["unlimited", "standalone"]),
        "nol_limit": UNIT,
    },
    "operations": {
        "revenue_usd_per_gw_year": st.sampled_from([0, "10B", 3.3e9]),
        "revenue_growth": _fraction(-0.1, 0.1),
        "utilization": UNIT,
        "pue": _fraction(1, 2),
        "power_price_usd_per_mwh": st.sampled_from([0, 60, 85.5]),
        "power_price_growth": _fraction(-0.05, 0.05),
        "om_rate": _fraction(0, 0.05),
    },
    "finance": {"discount_rate": _fraction(-0.05, 0.3)},
    "fiscal": {"discount_rate": _fraction(0, 0.1)},
}
CATEGORY_KEYS = {
    "construction_years": st.integers(0, 4),
    "life_years": st.one_of(st.none(), st.integers(0, 40)),
    "qualified_fraction": UNIT,
    "in_service_month": st.integers(1, 12),
}


# Strategies of fixed choices, built once too: each draw of a strategy built anew in a
# composite recomputed its label (a quarter of the generation time of a mutated scenario). The same
# strategies, so the same labels and the same examples.
START_YEARS = st.integers(2020, 2030)
ONE_TO_FOUR = st.integers(1, 4)
MASK_6 = st.integers(0, 63)
ZERO_TO_TWO = st.integers(0, 2)
ZERO_TO_TEN = st.integers(0, 10)
DIGITS = st.integers(0, 9)
ONE_TO_THREE = st.integers(1, 3)
ZERO_TO_THREE = st.integers(0, 3)
BOOLEANS = st.booleans()
MACRS = st.sampled_from(MACRS_CLASSES + (None,))
SCHEDULE_KINDS = st.sampled_from(["flat", "linear", "s_curve", "shares"])
COMMITMENTS = st.sampled_from(["1.4T", "$250B", "35M", 1e9, 123456789.0, 5e11])
CAPACITIES = st.sampled_from([0, 1, 30, 2.5])
TERMINAL_VALUES = st.sampled_from(["book", "none"])
MUTATIONS = st.sampled_from(["junk", "delete", "add", "rename", "junk_param", "reshape"])
A_JUNK = st.sampled_from(JUNK)
A_KEY = st.sampled_from(KEYS)
A_PATH = st.sampled_from(PATHS)


@st.composite
def valid_scenarios(draw) -> dict:
    """A small valid scenario dict exercising every section of MODEL.md section 11.

    Optional keys are each present or left to their default (a bit mask per block).
    """
    start = draw(START_YEARS)
    years = draw(ONE_TO_FOUR)
    n_cat = draw(ONE_TO_FOUR)
    names = list(NAMES[:n_cat])
    weights = [draw(st.integers(0 if i else 1, 9)) for i in range(n_cat)]
    cats: dict = {}
    max_lag = 0
    for name, w in zip(names, weights, strict=True):
        macrs = draw(MACRS)
        cat = {"share": w / sum(weights), "macrs_years": macrs}
        mask = draw(MASK_6)
        if mask & 1:
            cat["in_service_lag_years"] = lag = draw(ZERO_TO_TWO)
            max_lag = max(max_lag, lag)
        for bit, (key, strategy) in enumerate(CATEGORY_KEYS.items(), start=1):
            if mask >> bit & 1:
                cat[key] = draw(strategy)
        if mask & 32:
            cat["group"] = "hardware" if macrs in (3, 5, 7) else "buildings"
        cats[name] = cat
    end = start + years - 1 + max_lag + draw(ZERO_TO_TEN)
    ws = draw(st.integers(start, end))
    wn = draw(st.integers(1, end - ws + 1))
    kind = draw(SCHEDULE_KINDS)
    if kind == "shares":
        w = [draw(DIGITS) for _ in range(years)]
        w[0] = w[0] or 1
        schedule = {"shares": [x / sum(w) for x in w]}
    else:
        schedule = draw(SCHEDULES[kind])
    groups = sorted({c.get("group", n) for n, c in cats.items()})
    pool = names + [g for g in groups if g not in names]
    mask = draw(st.integers(0, 2 ** len(pool) - 1))
    amic = {"eligible": [n for i, n in enumerate(pool) if mask >> i & 1]}
    deadline = draw(st.integers(start - 3, end + 3))
    amic["construction_deadline_year"] = None if deadline == start - 3 else deadline
    blocks = {"amic": amic, "tax": {}, "operations": {}, "finance": {}, "fiscal": {}}
    for section, keys in SCALARS.items():
        mask = draw(st.integers(0, 2 ** len(keys) - 1))
        for bit, (key, strategy) in enumerate(keys.items()):
            if mask >> bit & 1:
                blocks[section][key] = draw(strategy)
    if draw(BOOLEANS):
        blocks["finance"]["valuation_year"] = draw(st.integers(start - 2, end))
    ws_default, wn_default = start + 1, 10
    if draw(BOOLEANS) or ws_default + wn_default - 1 > end:  # the default window must fit
        blocks["fiscal"].update(window_start=ws, window_years=wn)
    commitment = draw(COMMITMENTS)
    if draw(BOOLEANS):  # a provenance wrapper
        commitment = {"value": commitment, "source": "memo", "note": "fuzz"}
    return {
        "name": "fuzz",
        "program": {
            "commitment_usd": commitment,
            "start_year": start,
            "years": years,
            "schedule": schedule,
            "capacity_gw": draw(CAPACITIES),
            "capacity_category": names[0],
        },
        "categories": cats,
        "policy": {"amic": blocks["amic"]},
        "tax": blocks["tax"],
        "operations": blocks["operations"],
        "finance": blocks["finance"],
        "analysis": {"end_year": end, "terminal_value": draw(TERMINAL_VALUES)},
        "fiscal": blocks["fiscal"],
        "sources": {"memo": "Memo of 2026-01-05"},
    }


def _containers(data, path=()):
    """Every (path, container) pair: mappings and lists inside ``data``."""
    yield path, data
    items = data.items() if isinstance(data, dict) else enumerate(data)
    for key, value in items:
        if isinstance(value, (dict, list)):
            yield from _containers(value, path + (key,))


@st.composite
def mutated_scenarios(draw) -> dict:
    """A valid scenario with one to three random mutations."""
    data = copy.deepcopy(draw(valid_scenarios()))
    for _ in range(draw(ONE_TO_THREE)):
        kind = draw(MUTATIONS)
        containers = [c for c in _containers(data) if c[1]]
        _, node = draw(st.sampled_from(containers))
        keys = list(node) if isinstance(node, dict) else list(range(len(node)))
        key = draw(st.sampled_from(keys))
        if kind == "junk":
            node[key] = copy.deepcopy(draw(A_JUNK))
        elif kind == "delete":
            del node[key]
        elif kind == "add" and isinstance(node, dict):
            node[draw(A_KEY)] = copy.deepcopy(draw(A_JUNK))
        elif kind == "rename" and isinstance(node, dict):
            node[draw(A_KEY)] = node.pop(key)
        elif kind == "junk_param":  # set a declared parameter path (category paths on a real category)
            cats = data.get("categories")
            names = [k for k in cats if isinstance(k, str)] if isinstance(cats, dict) else []
            path = draw(A_PATH).replace("*", draw(st.sampled_from(names or ["x"])))
            target = data
            parts = path.split(".")
            for part in parts[:-1]:
                if not isinstance(target, dict):
                    break
                target = target.setdefault(part, {})
            if isinstance(target, dict):
                target[parts[-1]] = copy.deepcopy(draw(A_JUNK))
        elif kind == "reshape":
            node[key] = [node[key]] if draw(BOOLEANS) else {"value": node[key], "note": "wrapped"}
    return data


def assert_clean_problems(err: ScenarioError, file: str, n_lines: int | None = None) -> None:
    assert err.problems, "a ScenarioError must carry at least one problem"
    for p in err.problems:
        assert isinstance(p, Problem)
        assert isinstance(p.file, str) and p.file
        assert p.file == file or p.file.endswith((".yaml", ".yml")), p
        assert p.line is None or (isinstance(p.line, int) and p.line >= 1), p
        if n_lines is not None and p.line is not None:
            assert p.line <= n_lines + 1, p
        assert isinstance(p.key, str)
        assert isinstance(p.message, str) and p.message.strip()
        assert "Traceback" not in p.message
        assert "\n" not in str(p) and "\r" not in str(p), "one problem, one line on stderr"


def assert_identities(scenario) -> None:
    """Identities of a run, each an oracle independent of the code that made the number."""
    results = finmodel.run(scenario)
    lines, metrics, inp = results.lines, results.metrics, results.inputs
    years = results.years
    cf = np.asarray(lines["cash_flow"])
    scale = max(float(np.max(np.abs(cf))), float(scenario["program.commitment_usd"]), 1.0)
    atol = max(ATOL_USD, scale * 1e-12)

    # NPV equals numpy_financial.npv of the cash-flow line (moved to the valuation year)
    for k in range(len(results.cases)):
        r = float(inp.discount_rate[k])
        expected = npf.npv(r, cf[k]) * (1 + r) ** (inp.valuation_year - int(years[0]))
        assert math.isclose(metrics["npv_usd"][k], expected, rel_tol=RTOL_MODEL, abs_tol=atol * len(years))

    # deductions plus remaining basis equal the basis, per case and category
    basis = np.asarray(lines["in_service"]) - np.asarray(inp.basis_reduction)[:, None, None] * np.asarray(
        lines["credit_earned"]
    )
    total = np.asarray(lines["depreciation"]).sum(axis=-1) + np.asarray(lines["remaining_basis"])
    np.testing.assert_allclose(total, basis.sum(axis=-1), rtol=RTOL_MODEL, atol=atol)

    # the cash flow is the sum of its parts (MODEL.md section 9)
    parts = (
        np.asarray(lines["revenue"])
        - np.asarray(lines["power"])
        - np.asarray(lines["om"])
        - np.asarray(lines["spend"]).sum(axis=-2)
        - np.asarray(lines["tax"])
        - np.asarray(lines["recapture"]).sum(axis=-2)
        + np.asarray(lines["credit_cash"])
        + np.asarray(lines["terminal_value"]).sum(axis=-2)
    )
    np.testing.assert_allclose(cf, parts, rtol=RTOL_MODEL, atol=atol)

    # a zero credit makes the two cases equal, line by line and metric by metric
    zero = finmodel.run(scenario.override({"policy.amic.rate": 0}))
    for name, values in zero.lines.items():
        values = np.asarray(values)
        np.testing.assert_array_equal(values[0], values[1], err_msg=name)
    for name, values in zero.metrics.items():
        if name == "third_party_gain_pv_usd":  # undefined for 'without' (MODEL.md section 18); none to share
            assert np.isnan(values[0]) and values[1] == 0.0, values
            continue
        np.testing.assert_array_equal(values[0], values[1], err_msg=name)

    # the resolved scenario (run.json) reads back to the same scenario
    resolved = json.loads(json.dumps(scenario.resolved()))
    assert scenario_from_dict(resolved).sha256() == scenario.sha256()


def run_extreme(scenario) -> None:
    """Run a scenario that passed validation but may hold extreme values (1e308 USD).

    Intermediate overflows are not errors here (the CLI ignores numpy's
    warnings too); what counts is the outcome: a NumericalError naming the
    line, year and case, or finite outputs. The identities are checked where
    the oracle itself cannot overflow.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore", under="ignore"):
        try:
            results = finmodel.run(scenario)
        except NumericalError as err:
            assert err.line and err.case in ("without", "with") and str(err)
            event("outcome: NumericalError")
            return
        for name, values in results.lines.items():
            assert np.all(np.isfinite(values)), name
        if np.max(np.abs(results.lines["cash_flow"])) < 1e250 and scenario["program.commitment_usd"] < 1e250:
            assert_identities(scenario)
            event("outcome: ran, identities hold")
        else:
            event("outcome: ran, too extreme for the oracle")


def load_or_problems(data: dict, file: str = "<dict>"):
    try:
        return scenario_from_dict(data, file=file)
    except ScenarioError as err:
        assert_clean_problems(err, file)
        event("outcome: ScenarioError")
        return None


@settings(FUZZ, max_examples=400)
@given(valid_scenarios())
def test_valid_scenarios_run_and_identities_hold(data):
    scenario = scenario_from_dict(data)  # valid by construction: any ScenarioError is a bug here
    assert_identities(scenario)


GUARANTEE_TERMS = st.fixed_dictionaries(
    {},
    optional={
        "guaranteed_share": st.sampled_from([0.0, 0.5, 0.8, 1.0]),
        "rate_reduction": st.sampled_from([0.0, 0.01, 0.015, 0.05]),
        "upfront_fee_rate": st.sampled_from([0.0, 0.01]),
        "default_probability": st.sampled_from([0.0, 0.01, 0.1]),
        "recovery_rate": st.sampled_from([0.0, 0.5, 1.0]),
    },
)


@st.composite
def levered_scenarios(draw) -> dict:
    """A valid scenario that borrows (section 13), with the owner's equity discounted at the debt's
    rate, a case with a guarantee of random terms (section 14) and one with a guarantee that
    changes nothing (no rate reduction, fee or default cost)."""
    data = draw(valid_scenarios())
    rate = draw(st.sampled_from([0.0, 0.04, 0.07, 0.15]))
    data["finance"]["debt"] = {
        "share": draw(st.sampled_from([0.3, 0.6, 0.9, 1.0])),
        "rate": rate,
        "tenor_years": draw(st.integers(1, 30)),
        "grace_years": draw(ZERO_TO_THREE),
    }
    data["finance"]["equity_discount_rate"] = rate
    idle = {"rate_reduction": 0.0, "upfront_fee_rate": 0.0, "default_probability": 0.0}
    data["cases"] = {
        "guaranteed": {"policy": {"loan_guarantee": draw(GUARANTEE_TERMS)}},
        "idle": {"policy": {"loan_guarantee": idle}},
    }
    return data


@settings(FUZZ, max_examples=150)
@given(levered_scenarios())
def test_levered_scenarios_hold_the_debt_identities(data):
    """Every loan is repaid (principal and balloon equal the draws); at the loan's own rate the
    lender's flows are worth nothing, so the equity NPV at that rate is the project's NPV plus the
    tax the interest saves; financing leaves the project's lines as they were; a guarantee that
    changes no price equals no guarantee, line by line."""
    scenario = scenario_from_dict(data)
    results = finmodel.run(scenario)
    lines = {name: np.asarray(values) for name, values in results.lines.items()}
    years = np.asarray(results.years, dtype=float)
    rate = scenario["finance.debt.rate"]
    df = (1.0 + rate) ** -(years - scenario["finance.valuation_year"])
    unguaranteed = [results.cases.index(c) for c in ("without", "with", "idle")]
    for k in range(len(results.cases)):
        drawn = lines["debt_draw"][k].sum()
        repaid = lines["principal"][k].sum() + lines["balloon"][k].sum()
        assert repaid == pytest.approx(drawn, rel=1e-9, abs=ATOL_USD)
        assert np.all(lines["debt_balance"][k] >= -1e-6 * max(drawn, 1.0))
    for k in unguaranteed:  # one rate on every loan: the lender's flows at that rate sum to zero
        lender = lines["debt_draw"][k] - lines["interest"][k] - lines["principal"][k] - lines["balloon"][k]
        scale = max(lines["debt_draw"][k].sum(), 1.0)
        assert abs(np.sum(lender * df)) <= 1e-9 * scale + ATOL_USD
        project = np.sum((lines["cash_flow"][k] + lines["tax"][k] - lines["tax_levered"][k]) * df)
        equity = float(np.asarray(results.metrics["equity_npv_usd"])[k])
        assert equity == pytest.approx(project, rel=1e-9, abs=1e-9 * scale + ATOL_USD)
    plain = finmodel.run(scenario.override({"finance.debt.share": 0}))
    for name in ("cash_flow", "tax", "credit_cash"):  # not fiscal_cost: it takes the levered tax
        np.testing.assert_array_equal(lines[name], np.asarray(plain.lines[name]), err_msg=name)
    for name in ("npv_usd", "irr", "payback_year", "peak_funding_usd"):
        np.testing.assert_array_equal(
            np.asarray(results.metrics[name]), np.asarray(plain.metrics[name]), err_msg=name
        )
    w, idle = results.cases.index("with"), results.cases.index("idle")
    for name, values in lines.items():
        if not name.startswith("guaranteed_"):  # what is guaranteed, not what it costs
            # the loan split in two and amortized apart: equal up to rounding
            np.testing.assert_allclose(values[idle], values[w], rtol=RTOL_MODEL, atol=ATOL_USD, err_msg=name)
    for name, values in results.metrics.items():
        got, want = np.asarray(values)[idle], np.asarray(values)[w]
        np.testing.assert_allclose(got, want, rtol=RTOL_MODEL, atol=ATOL_USD, err_msg=name)


@st.composite
def uncertain_scenarios(draw) -> dict:
    """A valid scenario, levered or not, at times using the credit against its own tax, with an
    ``uncertainty:`` block over a random subset of the parameters a memo draws (every kind of
    distribution, drawn lives and shares, a drawn schedule, the debt's rate and a guarantee's
    default probability where there are some), at times a correlation."""
    data = draw(st.one_of(valid_scenarios(), levered_scenarios()))
    if draw(BOOLEANS):  # the credit used against the owner's own tax (section 16), pooled if standalone
        data["policy"]["amic"]["monetization"] = "offset"
        data["tax"]["capacity"] = draw(st.sampled_from(["unlimited", "standalone"]))
        data["policy"]["amic"]["offset_limit"] = draw(st.sampled_from([0.25, 0.75, 1.0]))
        data["policy"]["amic"]["carryforward_years"] = draw(st.integers(0, 20))
    names = list(data["categories"])
    commitment = float(scenario_from_dict(data)["program.commitment_usd"])
    pool = {
        "policy.amic.rate": {"dist": "uniform", "low": 0.1, "high": 0.35},
        "program.commitment_usd": {
            "dist": "triangular",
            "low": 0.5 * commitment,
            "mode": commitment,
            "high": 1.5 * commitment,
        },
        "finance.discount_rate": {"dist": "normal", "mean": 0.08, "sd": 0.02, "low": 0.03, "high": 0.15},
        "operations.revenue_usd_per_gw_year": {"dist": "lognormal", "median": 5e9, "sigma": 0.3},
        "operations.utilization": {"dist": "pert", "low": 0.5, "mode": 0.8, "high": 0.95},
        "tax.corporate_rate": {"dist": "uniform", "low": 0.15, "high": 0.28},
        f"categories.{names[0]}.life_years": {"dist": "choice", "values": [2, 3, 5, 7]},
        "program.schedule": {"dist": "choice", "values": [{"ramp": "flat"}, {"ramp": "linear"}]},
    }
    if len(names) > 1:
        pool[f"categories.{names[-1]}.share"] = {"dist": "uniform", "low": 0.05, "high": 0.5}
    if "debt" in data["finance"]:
        pool["finance.debt.rate"] = {"dist": "uniform", "low": 0.0, "high": 0.12}
        pool["policy.loan_guarantee.default_probability"] = {"dist": "uniform", "low": 0.0, "high": 0.05}
    paths = draw(st.lists(st.sampled_from(sorted(pool)), min_size=1, max_size=len(pool), unique=True))
    block = {"parameters": {path: pool[path] for path in paths}}
    continuous = [p for p in paths if pool[p]["dist"] != "choice"]
    if len(continuous) >= 2 and draw(BOOLEANS):
        block["correlations"] = [{"between": continuous[:2], "rho": draw(st.sampled_from([-0.5, 0.3, 0.9]))}]
    data["uncertainty"] = block
    return data


def _one_draw(value, d: int):
    """Draw ``d`` of an override of draws: an array's row, a year map's rows (a drawn rate's step)."""
    if isinstance(value, dict):
        return {key: _one_draw(x, d) for key, x in value.items()}
    return np.asarray(value)[d] if np.ndim(value) else value


@settings(FUZZ, max_examples=60)
@given(uncertain_scenarios(), st.integers(1, 5), st.sampled_from([1, 2]), st.integers(0, 2**32 - 1))
def test_every_monte_carlo_draw_is_the_run_of_its_drawn_values(data, chunk_size, threads, seed):
    """Each draw of a Monte Carlo run (any chunk size, any thread count) gives, bit for bit, the
    metrics and cumulative cash flow of ``finmodel.run`` with that draw's values as overrides: the
    batched engine (draws as an axis, lives and schedules drawn per row) is the single engine."""
    from finmodel.analysis.montecarlo import run_montecarlo
    from finmodel.analysis.uncertainty import sample, to_overrides, uncertainty_spec

    scenario = scenario_from_dict(data)
    spec = uncertainty_spec(scenario)
    n = 7
    try:
        mc = run_montecarlo(scenario, draws=n, seed=seed, chunk_size=chunk_size, threads=threads)
    except NumericalError:
        return  # extreme draws: the single runs below would stop alike
    drawn = to_overrides(scenario, sample(spec, n, seed))
    for d in range(n):
        single = finmodel.run(scenario, {p: _one_draw(v, d) for p, v in drawn.items()})
        for name in mc.metrics:
            got, want = np.asarray(mc.metrics[name][d]), np.asarray(single.metrics[name], dtype=float)
            assert np.array_equal(got.view(np.uint64), want.view(np.uint64)), (name, d, got, want)
        cumulative = np.cumsum(np.asarray(single.lines["cash_flow"]), axis=-1)
        assert np.array_equal(mc.cumulative_cash_flow[d].view(np.uint64), cumulative.view(np.uint64)), d


@settings(FUZZ, max_examples=2000)
@given(mutated_scenarios())
def test_mutated_scenarios_fail_cleanly_or_run(data):
    scenario = load_or_problems(data)
    if scenario is not None:
        run_extreme(scenario)


YAML_EDITS = (
    "\t",
    ":",
    "[",
    "]",
    "{",
    "}",
    "'",
    '"',
    "&a ",
    "*a",
    "!!python/object:os.system ",
    "- ",
    "#",
    "<<: *a",
    "? ",
    "\x00",
    "\\",
    "%",
    "@",
    "|",
    ">",
    "---\n",
    "\n  ",
    "1e400",
    ".nan",
    "-",
)
TEXT_EDITS = st.sampled_from(["insert", "delete", "duplicate", "swap", "indent"])
A_YAML_EDIT = st.sampled_from(YAML_EDITS)
INDENTS = st.sampled_from([" ", "  ", "\t", ""])


@st.composite
def yaml_texts(draw) -> str:
    data = draw(st.one_of(valid_scenarios(), mutated_scenarios()))
    text = yaml.dump(data, Dumper=yaml.CSafeDumper, sort_keys=False, allow_unicode=True)
    lines = text.splitlines(keepends=True)
    for _ in range(draw(ZERO_TO_THREE)):
        kind = draw(TEXT_EDITS)
        i = draw(st.integers(0, max(len(lines) - 1, 0)))
        if not lines:
            break
        if kind == "insert":
            j = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:j] + draw(A_YAML_EDIT) + lines[i][j:]
        elif kind == "delete" and lines[i]:
            j = draw(st.integers(0, len(lines[i]) - 1))
            lines[i] = lines[i][:j] + lines[i][j + 1 :]
        elif kind == "duplicate":
            lines.insert(i, lines[i])
        elif kind == "swap":
            j = draw(st.integers(0, len(lines) - 1))
            lines[i], lines[j] = lines[j], lines[i]
        elif kind == "indent":
            lines[i] = draw(INDENTS) + lines[i].lstrip(" ")
    return "".join(lines)


@pytest.fixture(scope="module")
def fuzz_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


@settings(FUZZ, max_examples=900)
@given(yaml_texts())
def test_yaml_texts_fail_cleanly_or_run(fuzz_dir, text):
    path = fuzz_dir / "scenario.yaml"
    path.write_text(text, encoding="utf-8")
    try:
        scenario = finmodel.load_scenario(path)
    except ScenarioError as err:
        assert_clean_problems(err, str(path), n_lines=text.count("\n") + 1)
        event("outcome: ScenarioError")
        return
    run_extreme(scenario)


LIBYAML = yamlio._CParser


@settings(FUZZ, max_examples=300)
@given(yaml_texts())
def test_libyaml_and_the_python_loader_read_edited_texts_alike(fuzz_dir, monkeypatch, text):
    """Scenarios are read with libyaml where it can; odd texts read, or fail, as the Python loader has them.

    One known difference: libyaml reads a ``?`` inside a plain scalar of a flow
    mapping (``{va? lue: 1}``, the key ``va? lue``) and a byte-order mark
    inside the text, which PyYAML refuses; validation then judges the keys.
    """
    path = fuzz_dir / "both.yaml"
    path.write_text(text, encoding="utf-8")
    found = {}
    for parser in (LIBYAML, None):
        with monkeypatch.context() as patch:
            patch.setattr(yamlio, "_CParser", parser)
            try:
                found[parser is None] = yamlio.read_yaml(path)
            except ScenarioError as err:
                found[parser is None] = err.problems
    if isinstance(found[False], tuple) and isinstance(found[True], list):
        assert "?" in text or "\ufeff" in text, found[True]
        event("libyaml reads a text PyYAML refuses")
    else:
        assert found[True] == found[False]
