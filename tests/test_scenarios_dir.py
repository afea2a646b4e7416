"""Every scenario in scenarios/ loads and runs; the base figures checked by hand.

The hand arithmetic uses the numbers written in scenarios/base.yaml:
commitment $1.4T over 2025-2032 with year shares 0.04, 0.10, 0.13, 0.14, 0.15,
0.15, 0.15, 0.14; categories servers 0.55 (in service the year bought),
dc_shell 0.11, dc_equipment 0.11 and grid 0.07 (in service a year after
spend), other 0.16 (not qualified); credit 25% for property placed in service
in 2025, 35% from 2026; no construction deadline; direct pay a year later.
"""

from __future__ import annotations

import numpy as np
import pytest
from conftest import RTOL_MODEL, SCENARIOS, all_scenarios

import finmodel

B = 1e9
COMMITMENT = 1.4e12
YEAR_SHARES = [0.04, 0.10, 0.13, 0.14, 0.15, 0.15, 0.15, 0.14]  # 2025..2032
SERVERS, SHELL, EQUIPMENT, GRID = 0.55, 0.11, 0.11, 0.07


@pytest.fixture(scope="module")
def base():
    return finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))


@pytest.mark.parametrize("path", all_scenarios(), ids=lambda p: p.stem)
def test_every_scenario_loads_and_runs(path):
    s = finmodel.load_scenario(path)
    assert s.name == path.stem
    r = finmodel.run(s)
    # sanity with an oracle: NPV = sum CF x DF at the scenario's rate, per case
    df = (1 + s["finance.discount_rate"]) ** -(r.years - s["finance.valuation_year"]).astype(float)
    np.testing.assert_allclose(r.metrics["npv_usd"], r.lines["cash_flow"] @ df, rtol=RTOL_MODEL)
    assert r.metric("credit_earned_usd", "without") == 0.0
    assert np.all(r.lines["fiscal_cost"][0] == 0.0)


def test_base_credit_earned_by_hand(base):
    # Servers bought in 2025 are placed in service in 2025 (25%):
    # 0.04 * 0.55 * 1.4T = 30.8B -> 7.7B.
    # Servers of 2026-2032 (35%): (1 - 0.04) * 0.55 * 1.4T = 739.2B -> 258.72B.
    # Data centers and grid are placed in service a year after spend, 2026-2033 (35%):
    # (0.11 + 0.11 + 0.07) * 1.4T = 406B -> 142.1B.
    servers_2025 = 0.25 * YEAR_SHARES[0] * SERVERS * COMMITMENT
    servers_later = 0.35 * (1 - YEAR_SHARES[0]) * SERVERS * COMMITMENT
    lagged = 0.35 * (SHELL + EQUIPMENT + GRID) * COMMITMENT
    assert (servers_2025, servers_later, lagged) == pytest.approx(
        (7.7 * B, 258.72 * B, 142.1 * B), rel=RTOL_MODEL
    )
    assert base.metric("credit_earned_usd", "with") == pytest.approx(408.52 * B, rel=RTOL_MODEL)
    by_year = base.lines["credit_earned"][1].sum(axis=0)
    assert by_year[0] == pytest.approx(7.7 * B, rel=RTOL_MODEL)  # 2025: servers only, at 25%
    # 2026: servers 0.10 * 0.55 and lagged 0.04 * 0.29 of 1.4T at 35%
    assert by_year[1] == pytest.approx(0.35 * (0.10 * SERVERS + 0.04 * 0.29) * COMMITMENT, rel=RTOL_MODEL)
    assert by_year[-1] == 0.0


def test_base_credit_cash_and_fiscal_window_by_hand(base):
    years = base.years
    cash = base.lines["credit_cash"][1]
    # Direct pay, one year later, at face value: all of the 408.52B is paid in 2026-2034.
    assert cash[years == 2025].item() == 0.0
    assert cash[years == 2026].item() == pytest.approx(7.7 * B, rel=RTOL_MODEL)
    assert cash.sum() == pytest.approx(408.52 * B, rel=RTOL_MODEL)
    # Treasury cost 2026-2035 = credit paid in the window (all 408.52B; no recapture,
    # every life >= 5) minus 21% of the deductions lost to basis reduction in the window.
    # 100% bonus: servers, dc_equipment and grid lose their credit's worth of deductions
    # in the year placed in service: servers 2026-2032 258.72B; equipment and grid
    # 0.35 * 0.18 * 1.4T = 88.2B (2026-2033). The 39-year shell (no bonus, month 7) loses
    # E_y * (1.177% + 2.564% per later year) for each vintage y = 2026..2033 through 2035.
    lost = 258.72 * B + 88.2 * B
    for k, y in enumerate(range(2026, 2034)):
        shell_credit = 0.35 * SHELL * COMMITMENT * YEAR_SHARES[k]  # spent y - 1, placed y
        lost += shell_credit * (1.177 + 2.564 * (2035 - y)) / 100
    window = 408.52 * B - 0.21 * lost
    fiscal = base.fiscal("with")
    assert fiscal["window"] == [2026, 2035]
    assert fiscal["fiscal_cost_window_usd"] == pytest.approx(window, rel=RTOL_MODEL)
    # PV at 4% to 2025 of the yearly fiscal cost X - RC + Tax_without - Tax_with
    line = (
        base.lines["credit_treasury_cost"][1]
        - base.lines["recapture"][1].sum(axis=0)
        + base.lines["tax"][0]
        - base.lines["tax"][1]
    )
    np.testing.assert_allclose(base.lines["fiscal_cost"][1], line, rtol=RTOL_MODEL, atol=1e-3)
    assert fiscal["fiscal_cost_pv_usd"] == pytest.approx(
        float(line @ 1.04 ** -(years - 2025.0)), rel=RTOL_MODEL
    )


def test_base_npv_is_the_discounted_sum(base):
    years = base.years
    df = 1.10 ** -(years - 2025.0)
    for k, case in enumerate(base.cases):
        assert base.metric("npv_usd", case) == pytest.approx(
            float(base.lines["cash_flow"][k] @ df), rel=RTOL_MODEL
        )
    # and the credit's present value, direct pay a year after it is earned
    earned = base.lines["credit_earned"][1].sum(axis=0)
    assert base.metric("pv_credit_usd", "with") == pytest.approx(float(earned @ (df / 1.10)), rel=RTOL_MODEL)


def test_base_spend_and_capacity(base):
    spend = base.lines["spend"][0].sum(axis=0)
    np.testing.assert_allclose(spend[:8], np.array(YEAR_SHARES) * COMMITMENT, rtol=RTOL_MODEL)
    assert spend[8:].sum() == 0.0
    # 30 GW placed with the servers, each in service 5 years: 2029 has vintages 2025-2029,
    # i.e. 30 * (0.04 + 0.10 + 0.13 + 0.14 + 0.15) = 16.8 GW; 2038 has none.
    gw = base.lines["operating_gw"][0]
    assert gw[years_index(base, 2029)] == pytest.approx(16.8, rel=RTOL_MODEL)
    assert gw[years_index(base, 2038)] == 0.0


def years_index(results, year):
    return int(np.flatnonzero(results.years == year)[0])


@pytest.mark.parametrize(
    ("name", "credit_b"),
    [
        # servers only: 7.7 + 258.72
        ("servers_only", 266.42),
        # data centers and grid only: 0.35 * 0.29 * 1.4T
        ("data_centers_and_grid", 142.1),
        # 25% on every eligible dollar: 0.25 * 0.84 * 1.4T
        ("rate_25", 294.0),
        # 5% of servers and grid qualified: 0.05 * (7.7 + 258.72) + 0.05 * 0.35 * 0.07 * 1.4T
        ("manufacturing_reading", 0.05 * 266.42 + 0.05 * 0.35 * 0.07 * 1400),
        # construction must begin before 2027 (begins construction_years before service):
        # servers placed 2025 (7.7) and 2026 (0.35 * 0.10 * 0.55 * 1.4T = 26.95);
        # data centers placed by 2028 = spend 2025-2027 (0.27 * 0.22 * 1.4T * 0.35 = 29.106);
        # grid placed by 2029 = spend 2025-2028 (0.41 * 0.07 * 1.4T * 0.35 = 14.063)
        ("current_deadline", 7.7 + 26.95 + 29.106 + 14.063),
        ("transfer", 408.52),
        ("standalone_tax", 408.52),
    ],
)
def test_variant_credit_earned_by_hand(name, credit_b):
    r = finmodel.run(finmodel.load_scenario(SCENARIOS / f"{name}.yaml"))
    assert r.metric("credit_earned_usd", "with") == pytest.approx(credit_b * B, rel=RTOL_MODEL)


def test_transfer_variant_cash_and_treasury_cost(base):
    r = finmodel.run(finmodel.load_scenario(SCENARIOS / "transfer.yaml"))
    # cash 0.93 of face value, Treasury cost the face value: the same fiscal cost as direct pay
    np.testing.assert_allclose(
        r.lines["credit_cash"][1], 0.93 * base.lines["credit_cash"][1], rtol=RTOL_MODEL
    )
    np.testing.assert_allclose(
        r.lines["fiscal_cost"][1], base.lines["fiscal_cost"][1], rtol=RTOL_MODEL, atol=1e-3
    )
