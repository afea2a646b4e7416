"""Refresh of retired property and incidence of the credit (MODEL.md part 3, sections 17-18).

Oracles, each independent of the code under test:

- refresh chains written out by hand for a two-category scenario (replacement
  spend, its credit in its own placed-in-service year with the construction
  deadline, its MACRS deductions from IRS Publication 946 Table A-1, its
  recapture, O&M and capacity), in millions of USD;
- capacity of the base scenario from its spend shares (flat at
  ``capacity_gw`` once built when servers are refreshed);
- identities that section 18 states: no third-party gain changes no figure,
  the category gains add up to each case's change of cash flow, the
  Treasury's cost does not move, the program's NPV falls by the present value
  of what the other owners keep;
- the validation errors section 17-18 asks for, through the command line;
- Monte Carlo draws and sweep points against single runs;
- a Hypothesis property of ``replacements`` against the plain year-by-year
  recurrence of section 17.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import ATOL_USD, RTOL_MODEL, SCENARIOS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import finmodel
from finmodel.analysis.metric_names import ALL_METRICS
from finmodel.analysis.montecarlo import run_montecarlo
from finmodel.analysis.sensitivity import evaluate_points, point_overrides, sweep
from finmodel.analysis.uncertainty import UncertaintySpec
from finmodel.cli import main
from finmodel.core.cashflow import replacements
from finmodel.scenario.blocks.distributions import Distribution
from finmodel.scenario.load import scenario_from_dict

M = 1e6
BASE = SCENARIOS / "base.yaml"

#: IRS Publication 946, Table A-1 (half-year convention), as fractions.
PUB946_3_YEAR = (0.3333, 0.4445, 0.1481, 0.0741)
PUB946_5_YEAR = (0.2000, 0.3200, 0.1920, 0.1152, 0.1152, 0.0576)
#: Section 50(a) recapture by full years in service before retirement (section 4).
RECAPTURE_PCT = (1.0, 0.8, 0.6, 0.4, 0.2)


def retired_at(table, life: int) -> np.ndarray:
    """A vintage's deductions when it is retired at the start of year ``life`` (section 5)."""
    return np.array(table[:life] + (sum(table[life:]),)) if life < len(table) else np.array(table)


def deductions(basis: np.ndarray, table: np.ndarray) -> np.ndarray:
    """Year-by-year deductions of every vintage of ``basis`` (index = year), inside the horizon."""
    T = len(basis)
    out = np.zeros(T)
    for y in range(T):
        for k, pct in enumerate(table):
            if y + k < T:
                out[y + k] += basis[y] * pct
    return out


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def case_line(r, line: str, case: str) -> np.ndarray:
    return np.asarray(r.lines[line])[r.cases.index(case)]


def chain_dict(**changes) -> dict:
    """$100M over 2026-2027 (40/60): servers (3-year MACRS, 2-year life) and a shell (5-year
    MACRS, 3-year life, in service a year after purchase, construction 2 years before).

    Both refreshed at +10% a year through 2031; credit 30% from 2026, 40% from 2029;
    construction must begin before 2030; no bonus; 1 GW; horizon 2026-2033. ``changes``
    set dotted paths; ``None`` for a ``refresh.`` key drops it (its default applies).
    """
    data = {
        "program": {
            "commitment_usd": "100M",
            "start_year": 2026,
            "years": 2,
            "schedule": {"shares": [0.4, 0.6]},
            "capacity_gw": 1,
        },
        "categories": {
            "servers": {"share": 0.8, "macrs_years": 3, "life_years": 2},
            "shell": {
                "share": 0.2,
                "macrs_years": 5,
                "life_years": 3,
                "in_service_lag_years": 1,
                "construction_years": 2,
            },
        },
        "policy": {
            "amic": {
                "eligible": ["servers", "shell"],
                "rate": {2026: 0.3, 2029: 0.4},
                "construction_deadline_year": 2030,
            }
        },
        "tax": {"bonus_depreciation": 0},
        "operations": {"om_rate": 0.01},
        "refresh": {"categories": ["servers", "shell"], "price_change": 0.1, "last_year": 2031},
        "analysis": {"end_year": 2033, "terminal_value": "none"},
        "fiscal": {"window_start": 2026, "window_years": 8},
    }
    for path, value in changes.items():
        node = data
        *head, last = path.split(".")
        for part in head:
            node = node.setdefault(part, {})
        if value is None and last in node and path.startswith("refresh."):
            del node[last]
        else:
            node[last] = value
    return data


# Hand computation of chain_dict(), in $M, years 2026..2033.
# Program spend: servers 0.8 * (40, 60) = 32, 48; shell 0.2 * (40, 60) = 8, 12.
# Servers (L = 2, lag 0): Kr[y] = 1.1**2 * Ktot[y - 2] for 2028 <= y <= min(2031, 2033 - 0).
SERVERS_REFRESH = np.array([0, 0, 1.21 * 32, 1.21 * 48, 1.21**2 * 32, 1.21**2 * 48, 0, 0])
# Shell (L = 3, lag 1): Kr[y] = 1.1**3 * Ktot[y - 3] for 2029 <= y <= min(2031, 2033 - 1);
# Ktot[2028] = 0, so nothing in 2031; 2032 (1.331**2 * 8) is after last_year.
SHELL_REFRESH = np.array([0, 0, 0, 1.331 * 8, 1.331 * 12, 0, 0, 0])
SERVERS_PROGRAM = np.array([32.0, 48, 0, 0, 0, 0, 0, 0])
SHELL_PROGRAM = np.array([8.0, 12, 0, 0, 0, 0, 0, 0])
YEARS = np.arange(2026, 2034)


@pytest.fixture(scope="module")
def chain():
    return finmodel.run(scenario_from_dict(chain_dict()))


# --------------------------------------------------------------------------- section 17: refresh


def test_replacement_spend_by_hand(chain):
    r = chain
    for case in ("without", "with"):  # the same spend in every case
        refresh = case_line(r, "refresh_spend", case)
        np.testing.assert_allclose(refresh[0], SERVERS_REFRESH * M, rtol=RTOL_MODEL, atol=ATOL_USD)
        np.testing.assert_allclose(refresh[1], SHELL_REFRESH * M, rtol=RTOL_MODEL, atol=ATOL_USD)
        spend = case_line(r, "spend", case)
        np.testing.assert_allclose(spend[0], (SERVERS_PROGRAM + SERVERS_REFRESH) * M, rtol=RTOL_MODEL)
        np.testing.assert_allclose(spend[1], (SHELL_PROGRAM + SHELL_REFRESH) * M, rtol=RTOL_MODEL)
    total = SERVERS_REFRESH.sum() + SHELL_REFRESH.sum()  # 240.548
    assert total == pytest.approx(240.548, rel=1e-12)
    for case in r.cases:
        assert r.metric("refresh_spend_usd", case) == pytest.approx(total * M, rel=RTOL_MODEL)
    # the commitment and its schedule are unchanged: replacement spend is outside it
    assert r.scenario["program.commitment_usd"] == 100 * M
    program = case_line(r, "spend", "with") - case_line(r, "refresh_spend", "with")
    np.testing.assert_allclose(program.sum(axis=0), np.array([40.0, 60, 0, 0, 0, 0, 0, 0]) * M, atol=ATOL_USD)


def test_replacements_placed_in_service_after_their_lag(chain):
    placed = case_line(chain, "in_service", "with")
    np.testing.assert_allclose(placed[0], (SERVERS_PROGRAM + SERVERS_REFRESH) * M, rtol=RTOL_MODEL)
    shell = np.array([0, 8, 12, 0, 1.331 * 8, 1.331 * 12, 0, 0])  # bought y, in service y + 1
    np.testing.assert_allclose(placed[1], shell * M, rtol=RTOL_MODEL, atol=ATOL_USD)


def test_without_last_year_purchases_stop_at_end_year_minus_the_lag():
    # last_year defaults to end_year (2032): servers (lag 0) are replaced through 2032, the
    # shell (lag 1) only through 2031, so that every purchase is in service by 2032.
    r = finmodel.run(scenario_from_dict(chain_dict(**{"refresh.last_year": None, "analysis.end_year": 2032})))
    assert r.scenario["refresh.last_year"] == 2032
    refresh = case_line(r, "refresh_spend", "with")
    servers = np.array([0, 0, 1.21 * 32, 1.21 * 48, 1.21**2 * 32, 1.21**2 * 48, 1.21**3 * 32])
    shell = np.array([0, 0, 0, 1.331 * 8, 1.331 * 12, 0, 0])  # 2032 would be in service in 2033
    np.testing.assert_allclose(refresh[0], servers * M, rtol=RTOL_MODEL, atol=ATOL_USD)
    np.testing.assert_allclose(refresh[1], shell * M, rtol=RTOL_MODEL, atol=ATOL_USD)
    # with a later last_year the lag still cuts the shell's chain at end_year - 1
    later = finmodel.run(
        scenario_from_dict(chain_dict(**{"refresh.last_year": 2040, "analysis.end_year": 2032}))
    )
    np.testing.assert_allclose(
        case_line(later, "refresh_spend", "with"), refresh, rtol=RTOL_MODEL, atol=ATOL_USD
    )


def test_credit_on_replacements_in_their_own_year_and_under_the_deadline(chain):
    # E = rate(y) * P for qualifying property; rate 0.3 to 2028, 0.4 from 2029.
    # Servers (construction_years 0) qualify when placed in service by 2029; the shell
    # (construction 2 years before service) when placed in service by 2031.
    rate = np.where(YEARS >= 2029, 0.4, 0.3)
    servers_p = SERVERS_PROGRAM + SERVERS_REFRESH
    shell_p = np.array([0, 8, 12, 0, 1.331 * 8, 1.331 * 12, 0, 0])
    servers_e = rate * servers_p * (YEARS <= 2029)  # 9.6, 14.4, 11.616, 23.232, 0 ...
    shell_e = rate * shell_p * (YEARS <= 2031)  # 0, 2.4, 3.6, 0, 4.2592, 6.3888, 0, 0
    np.testing.assert_allclose(servers_e[:4], [9.6, 14.4, 11.616, 23.232], rtol=1e-12)
    np.testing.assert_allclose(shell_e[4:6], [4.2592, 6.3888], rtol=1e-12)
    earned = case_line(chain, "credit_earned", "with")
    np.testing.assert_allclose(earned[0], servers_e * M, rtol=RTOL_MODEL, atol=ATOL_USD)
    np.testing.assert_allclose(earned[1], shell_e * M, rtol=RTOL_MODEL, atol=ATOL_USD)
    assert np.all(case_line(chain, "credit_earned", "without") == 0)
    total = servers_e.sum() + shell_e.sum()
    assert chain.metric("credit_earned_usd", "with") == pytest.approx(total * M, rel=RTOL_MODEL)
    # paid a year later (payment_lag_years 1, direct pay)
    cash = np.concatenate([[0.0], (servers_e + shell_e)[:-1]])
    np.testing.assert_allclose(
        case_line(chain, "credit_cash", "with"), cash * M, rtol=RTOL_MODEL, atol=ATOL_USD
    )
    # recapture: servers retired after 2 full years (60%), the shell after 3 (40%)
    rc_servers = RECAPTURE_PCT[2] * np.concatenate([[0, 0], servers_e[:-2]])
    rc_shell = RECAPTURE_PCT[3] * np.concatenate([[0, 0, 0], shell_e[:-3]])
    recapture = case_line(chain, "recapture", "with")
    np.testing.assert_allclose(recapture[0], rc_servers * M, rtol=RTOL_MODEL, atol=ATOL_USD)
    np.testing.assert_allclose(recapture[1], rc_shell * M, rtol=RTOL_MODEL, atol=ATOL_USD)


def test_replacements_are_depreciated_on_their_own_basis(chain):
    # Pub. 946 Table A-1; retirement folds the later deductions into the retirement year:
    # 3-year, life 2: 33.33, 44.45, 22.22; 5-year, life 3: 20, 32, 19.2, 28.8.
    servers_table = retired_at(PUB946_3_YEAR, 2)
    shell_table = retired_at(PUB946_5_YEAR, 3)
    np.testing.assert_allclose(servers_table, [0.3333, 0.4445, 0.2222], rtol=1e-12)
    np.testing.assert_allclose(shell_table, [0.20, 0.32, 0.192, 0.288], rtol=1e-12)
    rate = np.where(YEARS >= 2029, 0.4, 0.3)
    servers_p = SERVERS_PROGRAM + SERVERS_REFRESH
    shell_p = np.array([0, 8, 12, 0, 1.331 * 8, 1.331 * 12, 0, 0])
    for case, credit in (("without", 0.0), ("with", 1.0)):
        servers_b = servers_p * (1 - credit * rate * (YEARS <= 2029))
        shell_b = shell_p * (1 - credit * rate * (YEARS <= 2031))
        d = case_line(chain, "depreciation", case)
        np.testing.assert_allclose(
            d[0], deductions(servers_b, servers_table) * M, rtol=RTOL_MODEL, atol=ATOL_USD
        )
        np.testing.assert_allclose(d[1], deductions(shell_b, shell_table) * M, rtol=RTOL_MODEL, atol=ATOL_USD)
        # the 2031 shell is retired in 2034, after the horizon: 28.8% of its basis is left
        left = np.asarray(chain.lines["remaining_basis"])[chain.cases.index(case)]
        assert left[0] == pytest.approx(0, abs=ATOL_USD)
        assert left[1] == pytest.approx(0.288 * shell_b[5] * M, rel=RTOL_MODEL)


def test_replacements_take_the_bonus_of_their_own_year():
    # bonus 0 for property placed in service before 2029, 100% from 2029
    r = finmodel.run(scenario_from_dict(chain_dict(**{"tax.bonus_depreciation": {2026: 0, 2029: 1.0}})))
    servers_p = SERVERS_PROGRAM + SERVERS_REFRESH
    early = np.where(YEARS < 2029, servers_p, 0.0)
    expected = deductions(early, retired_at(PUB946_3_YEAR, 2)) + np.where(YEARS >= 2029, servers_p, 0.0)
    np.testing.assert_allclose(case_line(r, "depreciation", "without")[0], expected * M, rtol=RTOL_MODEL)


def test_om_capacity_and_debt_follow_the_replacements(chain):
    # O&M: 1% of the property in service (servers 2 years, shell 3 years)
    servers_p = SERVERS_PROGRAM + SERVERS_REFRESH
    shell_p = np.array([0, 8, 12, 0, 1.331 * 8, 1.331 * 12, 0, 0])
    in_service = np.zeros(8)
    for p, life in ((servers_p, 2), (shell_p, 3)):
        for t in range(8):
            in_service[t] += p[max(0, t - life + 1) : t + 1].sum()
    np.testing.assert_allclose(case_line(chain, "om", "with"), 0.01 * in_service * M, rtol=RTOL_MODEL)
    # GW: 0.4 and 0.6 bought, each replaced at the same GW (not at the price change) through
    # 2031; a 2-year life: 0.4, 1, 1, 1, 1, 1, then the 2031 purchase (0.6), then none
    gw = np.array([0.4, 1, 1, 1, 1, 1, 0.6, 0])
    np.testing.assert_allclose(case_line(chain, "operating_gw", "with"), gw, rtol=RTOL_MODEL, atol=1e-12)
    # debt draws are a share of all spend, replacements included
    levered = finmodel.run(
        scenario_from_dict(chain_dict(**{"finance.debt": {"share": 0.5, "rate": 0.07, "tenor_years": 3}}))
    )
    total = SERVERS_PROGRAM + SERVERS_REFRESH + SHELL_PROGRAM + SHELL_REFRESH
    np.testing.assert_allclose(case_line(levered, "debt_draw", "with"), 0.5 * total * M, rtol=RTOL_MODEL)


def test_book_value_of_replacements_at_the_horizon():
    # last_year defaults to end_year 2033: servers bought through 2033, the shell through 2032
    r = finmodel.run(
        scenario_from_dict(chain_dict(**{"refresh.last_year": None, "analysis.terminal_value": "book"}))
    )
    # servers bought 2033 (1.21**3 * 48): half its 2-year life left; bought 2032: none left.
    # shell bought 2032 (1.331**2 * 8) in service 2033: 2 of 3 years left; in service 2031: none.
    tv = 0.5 * 1.21**3 * 48 + 2 / 3 * 1.331**2 * 8
    for case in r.cases:
        line = case_line(r, "terminal_value", case)
        assert line.sum(axis=0)[-1] == pytest.approx(tv * M, rel=RTOL_MODEL)
        assert np.all(line[..., :-1] == 0)


def test_capacity_of_refreshed_servers_with_an_in_service_lag():
    # servers bought 2026-2027 (0.4, 0.6 GW), in service a year later, life 2, replaced like for
    # like through min(end_year 2033, 2033 - 1) = 2032: G = gtot shifted by a year
    data = chain_dict(**{"categories.servers.in_service_lag_years": 1, "refresh.last_year": None})
    r = finmodel.run(scenario_from_dict(data))
    gw = np.array([0, 0.4, 1, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(case_line(r, "operating_gw", "with"), gw, rtol=RTOL_MODEL, atol=1e-12)
    servers = np.array([0, 0, 1.21 * 32, 1.21 * 48, 1.21**2 * 32, 1.21**2 * 48, 1.21**3 * 32, 0])
    np.testing.assert_allclose(
        case_line(r, "refresh_spend", "with")[0], servers * M, rtol=RTOL_MODEL, atol=ATOL_USD
    )


def test_cli_writes_the_refresh_line_and_the_added_metrics(tmp_path):
    path = _write(
        tmp_path,
        "both.yaml",
        f"extends: {BASE}\nrefresh:\n  categories: [servers]\n  price_change: -5%\n"
        "incidence:\n  third_party_share: {servers: 0.45, data_centers: 0.9}\n  pass_through: 0.5\n",
    )
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    r = finmodel.run(finmodel.load_scenario(path))
    summary = json.loads((out / "summary.json").read_text())
    for case in r.cases:
        assert summary["cases"][case]["refresh_spend_usd"] == pytest.approx(
            r.metric("refresh_spend_usd", case)
        )
    assert summary["cases"]["without"]["third_party_gain_pv_usd"] is None
    assert summary["cases"]["with"]["third_party_gain_pv_usd"] == pytest.approx(
        r.metric("third_party_gain_pv_usd", "with"), rel=RTOL_MODEL
    )
    with open(out / "cashflows.csv", newline="") as fh:
        rows = [row for row in csv.DictReader(fh) if row["case"] == "with"]
    refresh = [row for row in rows if row["line"] == "refresh_spend"]
    assert {row["category"] for row in refresh} == set(r.inputs.categories)
    # servers bought 2025 are replaced in 2030 at 0.95**5 of their cost (0.55 * 4% of $1.4T)
    servers_2030 = next(
        float(x["value_usd"]) for x in refresh if x["category"] == "servers" and x["year"] == "2030"
    )
    assert servers_2030 == pytest.approx(0.95**5 * 0.55 * 0.04 * 1.4e12, rel=1e-9)
    spend_2030 = sum(float(x["value_usd"]) for x in rows if x["line"] == "spend" and x["year"] == "2030")
    assert spend_2030 == pytest.approx(0.15 * 1.4e12 + servers_2030, rel=1e-9)


# --------------------------------------------------------------------------- section 17: capacity


BASE_SHARES = np.array([0.04, 0.10, 0.13, 0.14, 0.15, 0.15, 0.15, 0.14] + [0] * 8)  # 2025..2040


def test_refreshed_servers_keep_capacity_flat_once_built(tmp_path):
    path = _write(tmp_path, "refreshed.yaml", f"extends: {BASE}\nrefresh:\n  categories: [servers]\n")
    r = finmodel.run(finmodel.load_scenario(path))
    # every retired server is replaced through 2040: O[t] = 30 GW * cumulative share
    expected = 30 * np.cumsum(BASE_SHARES)
    assert expected[7] == pytest.approx(30, rel=1e-12)
    for case in r.cases:
        gw = case_line(r, "operating_gw", case)
        np.testing.assert_allclose(gw, expected, rtol=RTOL_MODEL)
        assert np.all(gw[7:] == pytest.approx(30, rel=RTOL_MODEL))
        assert gw.max() <= 30 * (1 + 1e-12)
        np.testing.assert_allclose(case_line(r, "revenue", case), gw * 10e9, rtol=RTOL_MODEL)


def test_capacity_after_the_last_replacement_year(tmp_path):
    path = _write(
        tmp_path, "refreshed.yaml", f"extends: {BASE}\nrefresh:\n  categories: [servers]\n  last_year: 2034\n"
    )
    r = finmodel.run(finmodel.load_scenario(path))
    # plain recurrence: gtot[y] = g[y] + gtot[y - 5] for y <= 2034; O = 5-year trailing sum
    g = 30 * BASE_SHARES
    tot = g.copy()
    for k in range(5, 16):
        if 2025 + k <= 2034:
            tot[k] += tot[k - 5]
    gw = np.array([tot[max(0, t - 4) : t + 1].sum() for t in range(16)])
    np.testing.assert_allclose(case_line(r, "operating_gw", "with"), gw, rtol=RTOL_MODEL, atol=1e-9)
    assert gw[9] == pytest.approx(30) and gw[10] < 30 and gw[-1] == 0


def test_without_refreshed_servers_capacity_is_unchanged(tmp_path):
    base = finmodel.run(finmodel.load_scenario(BASE))
    # 5-year server life: O[t] = 30 GW * the shares of the last 5 years
    trailing = np.array([BASE_SHARES[max(0, t - 4) : t + 1].sum() for t in range(16)]) * 30
    np.testing.assert_allclose(case_line(base, "operating_gw", "with"), trailing, rtol=RTOL_MODEL, atol=1e-12)
    other = _write(tmp_path, "equipment.yaml", f"extends: {BASE}\nrefresh:\n  categories: [dc_equipment]\n")
    r = finmodel.run(finmodel.load_scenario(other))
    np.testing.assert_array_equal(r.lines["operating_gw"], base.lines["operating_gw"])
    # dc_equipment (15-year life, in service 2026-2033) retires from 2041: nothing to replace
    assert r.metric("refresh_spend_usd", "with") == 0
    empty = _write(tmp_path, "empty.yaml", f"extends: {BASE}\nrefresh:\n  categories: []\n")
    r = finmodel.run(finmodel.load_scenario(empty))
    for name in base.lines:
        np.testing.assert_array_equal(np.asarray(r.lines[name]), np.asarray(base.lines[name]), name)
    for name in base.metrics:
        np.testing.assert_array_equal(r.metrics[name], base.metrics[name], name)


# --------------------------------------------------------------------------- section 18: incidence

#: Base categories in order: servers, dc_shell, dc_equipment, grid, other.
SHARES_BY_NAME = {"servers": 0.45, "data_centers": 0.9}
THETA = np.array([0.45, 0.9, 0.9, 0.0, 0.0])


def with_incidence(s: finmodel.Scenario, share, pass_through: float) -> finmodel.Scenario:
    return s.override({"incidence": {"third_party_share": share, "pass_through": pass_through}})


@pytest.fixture(scope="module")
def base_scenario():
    return finmodel.load_scenario(BASE)


@pytest.fixture(scope="module")
def guarantee_scenario():
    return finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")


def _assert_same_figures(plain, other):
    for name in plain.lines:
        np.testing.assert_allclose(
            np.asarray(other.lines[name]),
            np.asarray(plain.lines[name]),
            rtol=RTOL_MODEL,
            atol=ATOL_USD,
            err_msg=name,
        )
    for name in plain.metrics:
        np.testing.assert_allclose(other.metrics[name], plain.metrics[name], rtol=RTOL_MODEL, err_msg=name)


@pytest.mark.parametrize("scenario", ["base.yaml", "credit_vs_guarantee.yaml"])
@pytest.mark.parametrize("share, pass_through", [(0, 0.3), (SHARES_BY_NAME, 1)])
def test_no_third_party_gain_changes_no_figure(scenario, share, pass_through):
    s = finmodel.load_scenario(SCENARIOS / scenario)
    plain = finmodel.run(s)
    r = finmodel.run(with_incidence(s, share, pass_through))
    _assert_same_figures(plain, r)
    for case in r.cases[1:]:
        assert r.metric("third_party_gain_pv_usd", case) == 0


def _variants(base_scenario):
    yield "base", base_scenario
    yield "transfer", finmodel.load_scenario(SCENARIOS / "transfer.yaml")
    # recapture (3-year servers), a haircut, a partial basis reduction, no terminal value
    yield (
        "recapture",
        base_scenario.override(
            {
                "categories.servers.life_years": 3,
                "policy.amic.payment_haircut": 0.057,
                "policy.amic.basis_reduction": 0.5,
                "analysis.terminal_value": "none",
            }
        ),
    )
    # a case that changes bonus depreciation: its change of deductions is part of the gain
    yield "bonus_case", base_scenario.override({"cases": {"bonus_40": {"tax": {"bonus_depreciation": 0.4}}}})
    yield "guarantee", finmodel.load_scenario(SCENARIOS / "credit_vs_guarantee.yaml")
    # cases that sell the credit, or are paid later with a haircut, or keep the basis
    amic = {
        "sold": {"monetization": "transfer", "transfer_price": 0.9},
        "late": {"payment_lag_years": 2, "payment_haircut": 0.1},
        "no_reduction": {"basis_reduction": 0, "recapture": False, "rate": 0.2},
    }
    yield (
        "case_terms",
        base_scenario.override(
            {
                "categories.servers.life_years": 3,
                "cases": {name: {"policy": {"amic": terms}} for name, terms in amic.items()},
            }
        ),
    )


def test_category_gains_add_up_to_each_case_change(base_scenario):
    for label, s in _variants(base_scenario):
        plain = finmodel.run(s)
        r = finmodel.run(with_incidence(s, SHARES_BY_NAME, 0.5))
        gains = np.asarray(r.lines["credit_gain"])
        assert gains.shape == (len(r.cases), 5, len(r.years)), label
        assert np.all(gains[0] == 0), label
        for k in range(1, len(r.cases)):
            change = plain.lines["cash_flow"][k] - plain.lines["cash_flow"][0]
            scale = np.abs(change).max()
            np.testing.assert_allclose(
                gains[k].sum(axis=0), change, rtol=1e-6, atol=1e-6 * scale, err_msg=f"{label} {r.cases[k]}"
            )


def test_incidence_by_hand_on_the_base_scenario(base_scenario):
    plain = finmodel.run(base_scenario)
    r = finmodel.run(with_incidence(base_scenario, SHARES_BY_NAME, 0.4))
    years = r.years
    df = 1.1 ** -(years - 2025.0)
    for case in ("without", "with"):
        k = r.cases.index(case)
        kept_by_others = (THETA * (1 - 0.4)) @ np.asarray(r.lines["credit_gain"])[k]
        np.testing.assert_allclose(
            r.lines["third_party_gain"][k], kept_by_others, rtol=RTOL_MODEL, atol=ATOL_USD
        )
        cf = plain.lines["cash_flow"][k] - kept_by_others
        np.testing.assert_allclose(r.lines["cash_flow"][k], cf, rtol=RTOL_MODEL, atol=ATOL_USD)
        npv = np.sum(cf * df)
        assert r.metric("npv_usd", case) == pytest.approx(
            plain.metric("npv_usd", case) - np.sum(kept_by_others * df), rel=RTOL_MODEL
        )
        assert r.metric("npv_usd", case) == pytest.approx(npv, rel=RTOL_MODEL)
        # IRR: a root of the NPV of the new cash flow
        irr = r.metric("irr", case)
        scale = np.abs(cf).sum()
        assert abs(np.sum(cf * (1 + irr) ** -(years - 2025.0))) <= 1e-9 * scale
        cum = np.cumsum(cf)
        negative = np.flatnonzero(cum < 0)
        payback = None if cum[-1] < 0 else int(years[negative[-1] + 1]) if negative.size else int(years[0])
        assert r.metric("payback_year", case) == payback
        assert r.metric("peak_funding_usd", case) == pytest.approx(max(0.0, -cum.min()), rel=RTOL_MODEL)
        # the credit's totals stay the credit's, whoever receives it
        for name in ("credit_earned_usd", "pv_credit_usd"):
            assert r.metric(name, case) == pytest.approx(
                plain.metric(name, case), rel=RTOL_MODEL, abs=ATOL_USD
            )
    assert r.metric("third_party_gain_pv_usd", "without") is None
    k = r.cases.index("with")
    pv = np.sum((THETA * 0.6) @ np.asarray(r.lines["credit_gain"])[k] * df)
    assert pv > 0
    assert r.metric("third_party_gain_pv_usd", "with") == pytest.approx(pv, rel=RTOL_MODEL)
    # the break-even revenue puts the NPV after incidence at zero
    price = r.metrics["breakeven_revenue_usd_per_gw_year"]
    again = finmodel.run(
        with_incidence(base_scenario, SHARES_BY_NAME, 0.4), {"operations.revenue_usd_per_gw_year": price}
    )
    scale = np.abs(r.lines["spend"]).sum()
    # each point of the override is one case's price: the diagonal is each case at its own
    assert all(abs(again.metrics["npv_usd"][k, k]) <= 1e-9 * scale for k in range(len(r.cases)))


def test_treasury_cost_does_not_change(base_scenario, guarantee_scenario):
    for s in (base_scenario, guarantee_scenario):
        plain = finmodel.run(s)
        r = finmodel.run(with_incidence(s, 0.7, 0.0))
        np.testing.assert_allclose(
            r.lines["fiscal_cost"], plain.lines["fiscal_cost"], rtol=RTOL_MODEL, atol=ATOL_USD
        )
        for case in r.cases[1:]:
            for name, value in plain.fiscal(case).items():
                if isinstance(value, float):
                    assert r.fiscal(case)[name] == pytest.approx(value, rel=RTOL_MODEL), name
                else:
                    assert r.fiscal(case)[name] == value, name
        assert r.metric("third_party_gain_pv_usd", "with") > 0


@pytest.mark.parametrize(
    "share",
    [
        {"data_centers": 0.9, "dc_shell": 0.2, "servers": 0.45},
        {"dc_shell": 0.2, "servers": 0.45, "data_centers": 0.9},
    ],
    ids=["group-first", "name-first"],
)
def test_a_category_named_by_name_and_group_takes_its_own_share(base_scenario, share):
    r = finmodel.run(with_incidence(base_scenario, share, 0.25))
    theta = np.array([0.45, 0.2, 0.9, 0.0, 0.0])  # dc_shell by name, dc_equipment by group
    k = r.cases.index("with")
    expected = (theta * 0.75) @ np.asarray(r.lines["credit_gain"])[k]
    np.testing.assert_allclose(r.lines["third_party_gain"][k], expected, rtol=RTOL_MODEL, atol=ATOL_USD)
    # against a share map written by name only
    by_name = {"servers": 0.45, "dc_shell": 0.2, "dc_equipment": 0.9}
    other = finmodel.run(with_incidence(base_scenario, by_name, 0.25))
    np.testing.assert_allclose(r.lines["cash_flow"], other.lines["cash_flow"], rtol=RTOL_MODEL, atol=ATOL_USD)


def test_one_share_for_every_category(base_scenario):
    r = finmodel.run(with_incidence(base_scenario, 0.3, 0.5))
    k = r.cases.index("with")
    expected = 0.3 * 0.5 * np.asarray(r.lines["credit_gain"])[k].sum(axis=0)
    np.testing.assert_allclose(r.lines["third_party_gain"][k], expected, rtol=RTOL_MODEL, atol=ATOL_USD)


def test_with_debt_the_equity_cash_flow_falls_by_the_same_gain():
    s = finmodel.load_scenario(SCENARIOS / "levered.yaml")
    assert s["finance.debt.share"] > 0
    plain = finmodel.run(s)
    r = finmodel.run(with_incidence(s, SHARES_BY_NAME, 0.3))
    df = 1.1 ** -(r.years - 2025.0)
    for case in r.cases:
        k = r.cases.index(case)
        third = (THETA * (1 - 0.3)) @ np.asarray(r.lines["credit_gain"])[k]
        equity = plain.lines["equity_cash_flow"][k] - third
        np.testing.assert_allclose(r.lines["equity_cash_flow"][k], equity, rtol=RTOL_MODEL, atol=ATOL_USD)
        assert r.metric("equity_npv_usd", case) == pytest.approx(np.sum(equity * df), rel=RTOL_MODEL)
        irr = r.metric("equity_irr", case)
        if irr is not None:
            assert abs(np.sum(equity * (1 + irr) ** -(r.years - 2025.0))) <= 1e-9 * np.abs(equity).sum()
        for name in ("min_dscr", "peak_debt_usd"):
            assert r.metric(name, case) == pytest.approx(plain.metric(name, case), rel=RTOL_MODEL)
    assert np.any(r.lines["third_party_gain"][1] != 0)


def test_a_case_without_credit_gives_no_third_party_gain(guarantee_scenario):
    plain = finmodel.run(guarantee_scenario)
    r = finmodel.run(with_incidence(guarantee_scenario, SHARES_BY_NAME, 0.5))
    assert r.cases == ("without", "with", "guarantee_only", "both")
    g = r.cases.index("guarantee_only")
    assert np.all(np.asarray(r.lines["credit_gain"])[g] == 0)
    assert r.metric("third_party_gain_pv_usd", "guarantee_only") == 0
    assert r.metric("npv_usd", "guarantee_only") == pytest.approx(
        plain.metric("npv_usd", "guarantee_only"), rel=RTOL_MODEL
    )
    # 'both' has the credit of 'with' (the guarantee does not touch the project cash flow)
    assert r.metric("third_party_gain_pv_usd", "both") == pytest.approx(
        r.metric("third_party_gain_pv_usd", "with"), rel=RTOL_MODEL
    )
    for name in ("guarantee_interest_saved_pv_usd", "guarantee_subsidy_cost_pv_usd", "min_dscr"):
        for case in ("guarantee_only", "both"):
            assert r.metric(name, case) == pytest.approx(plain.metric(name, case), rel=RTOL_MODEL), name


def test_incidence_on_refreshed_property():
    # both sections at once: the refresh chain's credit is part of the category gains
    s = scenario_from_dict(
        chain_dict(**{"incidence": {"third_party_share": {"servers": 0.5}, "pass_through": 0.2}})
    )
    plain = finmodel.run(scenario_from_dict(chain_dict()))
    r = finmodel.run(s)
    change = plain.lines["cash_flow"][1] - plain.lines["cash_flow"][0]
    gains = np.asarray(r.lines["credit_gain"])[1]
    np.testing.assert_allclose(gains.sum(axis=0), change, rtol=1e-9, atol=ATOL_USD)
    np.testing.assert_allclose(
        r.lines["cash_flow"][1],
        plain.lines["cash_flow"][1] - 0.5 * 0.8 * gains[0],
        rtol=RTOL_MODEL,
        atol=ATOL_USD,
    )


# --------------------------------------------------------------------------- validation (sections 17-18)

HEAD = (
    "program: {commitment_usd: 1B, start_year: 2026, years: 2}\n"
    "categories:\n"
    "  servers: {share: 0.6, macrs_years: 5, life_years: 3}\n"
    "  shell: {share: 0.3, macrs_years: 39, group: buildings}\n"
    "  site: {share: 0.1, macrs_years: null, group: buildings}\n"
    "policy: {amic: {eligible: [servers, buildings], construction_deadline_year: null}}\n"
)

#: (id, YAML after HEAD, text of the line the message must point at, key, part of the message)
BAD = [
    (
        "land",
        "refresh:\n  categories: [servers, site]\n",
        "categories: [servers, site]",
        "refresh.categories[1]",
        "is land",
    ),
    (
        "land-through-group",
        "refresh:\n  categories: [buildings]\n",
        "categories: [buildings]",
        "refresh.categories[0]",
        "category 'site' (group 'buildings')",
    ),
    (
        "life-0",
        "  kit: {share: 0, macrs_years: 5, life_years: 0}\nrefresh:\n  categories: [kit]\n",
        "categories: [kit]",
        "refresh.categories[0]",
        "at least 1 year",
    ),
    (
        "expensed",
        "  soft: {share: 0, macrs_years: 0}\nrefresh:\n  categories: [soft]\n",
        "categories: [soft]",
        "refresh.categories[0]",
        "'soft'",
    ),
    (
        "price-minus-1",
        "refresh:\n  categories: [servers]\n  price_change: -1\n",
        "price_change",
        "refresh.price_change",
        "> -1",
    ),
    (
        "price-below-minus-1",
        "refresh:\n  categories: [servers]\n  price_change: -150%\n",
        "price_change",
        "refresh.price_change",
        "> -1",
    ),
    (
        "unknown-refresh",
        "refresh:\n  categories: [sever]\n",
        "categories: [sever]",
        "refresh.categories[0]",
        "'sever' is neither a category nor a group",
    ),
    (
        "unknown-third-party",
        "incidence:\n  third_party_share: {servers: 0.4, building: 0.9}\n",
        "third_party_share",
        "incidence.third_party_share.building",
        "'building' is neither a category nor a group",
    ),
    (
        "share-above-1",
        "incidence:\n  third_party_share:\n    servers: 1.2\n",
        "servers: 1.2",
        "incidence.third_party_share.servers",
        "1.2",
    ),
    (
        "pass-through-above-1",
        "incidence:\n  pass_through: 1.5\n",
        "pass_through",
        "incidence.pass_through",
        "1.5",
    ),
    (
        "standalone",
        "tax:\n  capacity: standalone\nincidence:\n  third_party_share: 0.5\n",
        "capacity: standalone",
        "tax.capacity",
        "unlimited",
    ),
    (
        "offset",
        "    monetization: offset\nincidence:\n  third_party_share: 0.5\n",
        "monetization: offset",
        "policy.amic.monetization",
        "direct_pay or transfer",
    ),
    (
        "case-corporate-rate",
        "cases:\n  low_rate:\n    tax:\n      corporate_rate: 0.15\nincidence:\n  third_party_share: 0.5\n",
        "corporate_rate: 0.15",
        "cases.low_rate.tax.corporate_rate",
        "corporate rate",
    ),
    (
        "case-offset",
        "cases:\n  pooled:\n    policy:\n      amic: {monetization: offset}\n"
        "incidence:\n  pass_through: 0.5\n",
        "monetization: offset",
        "cases.pooled.policy.amic.monetization",
        "direct_pay or transfer",
    ),
    (
        "case-standalone",
        "cases:\n  alone:\n    tax:\n      capacity: standalone\nincidence:\n  third_party_share: 0.5\n",
        "capacity: standalone",
        "cases.alone.tax.capacity",
        "unlimited",
    ),
]


def _bad_text(tail: str) -> str:
    if tail.startswith("    monetization"):  # inside policy.amic: write the block out
        head = HEAD.replace(
            "policy: {amic: {eligible: [servers, buildings], construction_deadline_year: null}}\n",
            "policy:\n  amic:\n    eligible: [servers, buildings]\n    construction_deadline_year: null\n",
        )
        return head + tail
    if tail.startswith("  "):  # one more category
        lines = HEAD.splitlines(keepends=True)
        extra, rest = tail.split("\n", 1)
        return "".join(lines[:5]) + extra + "\n" + "".join(lines[5:]) + rest
    return HEAD + tail


@pytest.mark.parametrize("tail, marker, key, message", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_refresh_and_incidence_fail_cleanly(tmp_path, capsys, tail, marker, key, message):
    text = _bad_text(tail)
    path = _write(tmp_path, "bad.yaml", text)
    assert main(["validate", str(_write(tmp_path, "good.yaml", HEAD))]) == 0
    line = next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    out = tmp_path / "out"
    capsys.readouterr()
    assert main(["run", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:{line}: {key}: " in err, err
    assert message in err.split(f"{key}: ", 1)[1].splitlines()[0], err
    assert "Traceback" not in err
    assert not out.exists()


def test_refreshed_land_with_a_life_is_an_error(tmp_path, capsys):
    text = HEAD.replace(
        "site: {share: 0.1, macrs_years: null,", "site: {share: 0.1, macrs_years: null, life_years: 10,"
    )
    path = _write(tmp_path, "bad.yaml", text + "refresh:\n  categories: [site]\n")
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert f"{path}:8: refresh.categories[0]: " in capsys.readouterr().err
    assert not out.exists()


def test_a_drawn_life_of_zero_for_a_refreshed_category_is_an_error(tmp_path, capsys):
    path = _write(
        tmp_path,
        "drawn.yaml",
        "program: {commitment_usd: 100M, start_year: 2026, years: 2, capacity_gw: 1}\n"
        "categories:\n"
        "  servers: {share: 1, macrs_years: 3, life_years: 2}\n"
        "refresh: {categories: [servers]}\n"
        "analysis: {end_year: 2033}\n"
        "uncertainty:\n"
        "  draws: 4\n"
        "  seed: 1\n"
        "  parameters:\n"
        "    categories.servers.life_years: {dist: choice, values: [0, 2]}\n",
    )
    assert main(["validate", str(path)]) == 2
    assert "categories.servers.life_years" in capsys.readouterr().err
    # and a swept life of 0 on the command line
    good = _write(tmp_path, "good.yaml", path.read_text().split("uncertainty:")[0])
    out = tmp_path / "sweep"
    assert main(["sweep", str(good), "--x", "categories.servers.life_years=0,2", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "refresh.categories" in err and "Traceback" not in err
    assert not out.exists()


# --------------------------------------------------------------------------- Monte Carlo and sweeps


def _refresh_spend_by_hand(growth: float, last_year: int) -> float:
    """Replacement spend of chain_dict() at ``growth`` through ``last_year`` (shell lag 1), $M."""
    servers = {2026: 32.0, 2027: 48.0}
    shell = {2026: 8.0, 2027: 12.0}
    total = 0.0
    for bought, life, upper in ((servers, 2, min(last_year, 2033)), (shell, 3, min(last_year, 2032))):
        tot = dict(bought)
        for y in range(2026, 2034):
            if 2026 + life <= y <= upper:
                r = (1 + growth) ** life * tot.get(y - life, 0.0)
                tot[y] = tot.get(y, 0.0) + r
                total += r
    return total


def test_sweep_over_price_change_and_last_year():
    s = scenario_from_dict(chain_dict(**{"operations.revenue_usd_per_gw_year": "80M"}))
    xs, ys = [-0.1, 0.0, 0.25], [2029, 2031, 2033]
    result = sweep(s, ("refresh.price_change", xs), ("refresh.last_year", ys), "refresh_spend_usd", "with")
    for j, last in enumerate(ys):
        for i, g in enumerate(xs):
            assert result.values[j, i] == pytest.approx(_refresh_spend_by_hand(g, last) * M, rel=RTOL_MODEL)
    assert _refresh_spend_by_hand(0.1, 2031) == pytest.approx(240.548, rel=1e-12)
    points = evaluate_points(s, point_overrides(s, {"refresh.price_change": xs, "refresh.last_year": ys}))
    for i, (g, last) in enumerate(zip(xs, ys, strict=True)):
        single = finmodel.run(s.override({"refresh.price_change": g, "refresh.last_year": last}))
        for name in (*ALL_METRICS, "refresh_spend_usd"):
            at = np.broadcast_to(points[name], (len(xs), 2))[i]
            np.testing.assert_allclose(at, single.metrics[name], rtol=RTOL_MODEL, err_msg=name)


def test_monte_carlo_draws_equal_single_runs():
    s = scenario_from_dict(
        chain_dict(
            **{
                "operations.revenue_usd_per_gw_year": "80M",
                "incidence": {"third_party_share": {"servers": 0.5, "shell": 0.9}, "pass_through": 0.3},
            }
        )
    )
    spec = UncertaintySpec(
        {
            "refresh.price_change": Distribution("uniform", low=-0.2, high=0.3),
            "refresh.last_year": Distribution("choice", values=(2029, 2031, 2033), weights=(0.3, 0.3, 0.4)),
            "categories.servers.life_years": Distribution("choice", values=(2, 3), weights=(0.5, 0.5)),
            "incidence.pass_through": Distribution("uniform", low=0.0, high=1.0),
        }
    )
    mc = run_montecarlo(s, draws=16, seed=7, chunk_size=5, spec=spec)
    assert len(set(mc.inputs["refresh.last_year"].tolist())) > 1
    names = (*ALL_METRICS, "refresh_spend_usd", "third_party_gain_pv_usd")
    for d in range(mc.draws):
        changes = {p: mc.inputs[p][d].item() for p in mc.inputs}
        changes["refresh.last_year"] = int(changes["refresh.last_year"])
        changes["categories.servers.life_years"] = int(changes["categories.servers.life_years"])
        single = finmodel.run(s.override(changes))
        for name in names:
            np.testing.assert_allclose(
                mc.metrics[name][d], single.metrics[name], rtol=RTOL_MODEL, err_msg=f"{name} draw {d}"
            )


def test_refresh_drawn_in_an_uncertainty_block(tmp_path):
    path = _write(
        tmp_path,
        "drawn.yaml",
        "program: {commitment_usd: 100M, start_year: 2026, years: 2, capacity_gw: 1}\n"
        "categories:\n"
        "  servers: {share: 1, macrs_years: 3, life_years: 2}\n"
        "policy: {amic: {eligible: [servers], construction_deadline_year: null}}\n"
        "operations: {revenue_usd_per_gw_year: 80M}\n"
        "refresh: {categories: [servers]}\n"
        "analysis: {end_year: 2033}\n"
        "uncertainty:\n"
        "  draws: 6\n"
        "  seed: 11\n"
        "  parameters:\n"
        "    refresh.price_change: {dist: uniform, low: -10%, high: 20%}\n"
        "    refresh.last_year: {dist: choice, values: [2029, 2031, 2033]}\n",
    )
    s = finmodel.load_scenario(path)
    mc = run_montecarlo(s)
    assert mc.draws == 6
    for d in range(mc.draws):
        g, last = float(mc.inputs["refresh.price_change"][d]), int(mc.inputs["refresh.last_year"][d])
        # 50 then 50 of servers, replaced every 2 years through `last`
        by_hand = sum(
            (1 + g) ** (2 * j) * 50 for y0 in (2026, 2027) for j in range(1, 4) if y0 + 2 * j <= last
        )
        assert mc.metrics["refresh_spend_usd"][d, 1] == pytest.approx(by_hand * M, rel=RTOL_MODEL)
        single = finmodel.run(s.override({"refresh.price_change": g, "refresh.last_year": last}))
        np.testing.assert_allclose(mc.metrics["npv_usd"][d], single.metrics["npv_usd"], rtol=RTOL_MODEL)


# --------------------------------------------------------------------------- replacements(): property


def recurrence(bought, life: int, growth: float, last_year: int, years) -> np.ndarray:
    """Section 17, year by year: tot[y] = bought[y] + r[y], r[y] = (1+g)**L * tot[y-L] for y <= last."""
    tot = [0.0] * len(bought)
    r = [0.0] * len(bought)
    for k, y in enumerate(years):
        if k >= life and y <= last_year:
            r[k] = (1 + growth) ** life * tot[k - life]
        tot[k] = bought[k] + r[k]
    return np.array(r)


def _rate(lo, hi):
    steps = round((hi - lo) * 10_000)
    return st.integers(0, steps).map(lambda k: lo + (hi - lo) * k / steps)


@st.composite
def chains(draw):
    T = draw(st.integers(1, 16))
    rows = draw(st.integers(1, 3))
    bought = [[draw(st.integers(0, 1000)) / 10 for _ in range(T)] for _ in range(rows)]
    lives = [draw(st.integers(1, 7)) for _ in range(rows)]
    last = [draw(st.integers(2025, 2025 + T + 1)) for _ in range(rows)]
    growth = draw(_rate(-0.9, 1.0))
    return np.array(bought), np.array(lives), growth, np.array(last), np.arange(2026, 2026 + T)


@settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(chains())
def test_replacements_follow_the_year_by_year_recurrence(case):
    bought, lives, growth, last, years = case
    got = replacements(bought, lives, True, growth, last, years)
    for i in range(len(bought)):
        expected = recurrence(bought[i], int(lives[i]), growth, int(last[i]), years)
        scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
        np.testing.assert_allclose(got[i], expected, rtol=1e-12, atol=1e-12 * scale)
        alone = replacements(bought[i], int(lives[i]), True, growth, int(last[i]), years)
        np.testing.assert_allclose(alone, expected, rtol=1e-12, atol=1e-12 * scale)
    assert np.all(replacements(bought, lives, False, growth, last, years) == 0)
    assert math.isfinite(float(np.sum(got)))
