"""finmodel.run on tiny scenarios, checked line by line against hand arithmetic.

Every expected number below is worked out in the comments from MODEL.md
sections 3-10; amounts are in millions of USD (``M``) unless said otherwise.
"""

from __future__ import annotations

import math

import numpy as np
import numpy_financial as npf
import pytest
from conftest import ATOL_USD, RTOL_MODEL, SCENARIOS

import finmodel
from finmodel import scenario_from_dict
from finmodel.engine import model

M = 1e6
WITHOUT, WITH = 0, 1


def close(actual, expected_musd):
    """Money line or metric against a hand value in USD millions (1e-9 relative)."""
    np.testing.assert_allclose(
        np.asarray(actual, dtype=float),
        np.asarray(expected_musd, dtype=float) * M,
        rtol=RTOL_MODEL,
        atol=ATOL_USD,
    )


def df(rate, n, shift=0):
    """Discount factors (1 + rate) ** -(k + shift), k = 0..n-1."""
    return (1.0 + rate) ** -(np.arange(n) + shift)


def one_server_vintage(bonus, **extra):
    """$100M of 5-year servers placed in service in 2026; horizon 2026-2031; no operations."""
    data = {
        "program": {"commitment_usd": "100M", "start_year": 2026, "years": 1},
        "categories": {"servers": {"share": 1, "macrs_years": 5}},
        "policy": {"amic": {"eligible": ["servers"], "construction_deadline_year": None}},
        "tax": {"bonus_depreciation": bonus},
        "analysis": {"end_year": 2031, "terminal_value": "none"},
        "fiscal": {"window_start": 2027, "window_years": 5},
    }
    for section, block in extra.items():
        data.setdefault(section, {})
        for key, value in block.items():
            if isinstance(value, dict) and isinstance(data[section].get(key), dict):
                data[section][key] = {**data[section][key], **value}
            else:
                data[section][key] = value
    return scenario_from_dict(data)


# ---------- (a) bonus 0 and 1


def test_bonus_zero_five_year_macrs_by_hand():
    r = finmodel.run(one_server_vintage(0))
    years = r.years.tolist()
    assert years == [2026, 2027, 2028, 2029, 2030, 2031]
    # Credit: 35% (default rate for 2026+) of $100M placed in service in 2026.
    close(r.lines["credit_earned"][WITH, 0], [35, 0, 0, 0, 0, 0])
    close(r.lines["credit_earned"][WITHOUT, 0], [0] * 6)
    # Direct pay, one-year lag: $35M in 2027; Treasury cost X = CC.
    close(r.lines["credit_cash"][WITH], [0, 35, 0, 0, 0, 0])
    close(r.lines["credit_treasury_cost"][WITH], [0, 35, 0, 0, 0, 0])
    # Basis: without 100; with 100 - 1.0 * 35 = 65. Table A-1 5-year:
    # 20, 32, 19.2, 11.52, 11.52, 5.76 percent.
    pct = np.array([0.20, 0.32, 0.192, 0.1152, 0.1152, 0.0576])
    close(r.lines["depreciation"][WITHOUT, 0], [20, 32, 19.2, 11.52, 11.52, 5.76])
    close(r.lines["depreciation"][WITH, 0], [13, 20.8, 12.48, 7.488, 7.488, 3.744])
    close(r.lines["depreciation"][WITH, 0], 65 * pct)
    # No operations: TI = -D; unlimited capacity: tax = 0.21 * TI (negative).
    close(r.lines["taxable_income"][WITH], [-13, -20.8, -12.48, -7.488, -7.488, -3.744])
    close(r.lines["tax"][WITHOUT], [-4.2, -6.72, -4.032, -2.4192, -2.4192, -1.2096])
    close(r.lines["tax"][WITH], [-2.73, -4.368, -2.6208, -1.57248, -1.57248, -0.78624])
    # CF = -K - tax + CC:
    cf_without = [-100 + 4.2, 6.72, 4.032, 2.4192, 2.4192, 1.2096]
    cf_with = [-100 + 2.73, 4.368 + 35, 2.6208, 1.57248, 1.57248, 0.78624]
    close(r.lines["cash_flow"][WITHOUT], cf_without)
    close(r.lines["cash_flow"][WITH], cf_with)
    # NPV at 10%, valued at 2026: sum CF_t / 1.1**(t - 2026).
    close(r.metrics["npv_usd"][WITHOUT], np.dot(cf_without, df(0.10, 6)))
    close(r.metrics["npv_usd"][WITH], np.dot(cf_with, df(0.10, 6)))
    # Everything deducted in the horizon: no basis left.
    close(r.lines["remaining_basis"], np.zeros((2, 1)))
    # Cumulative CF never returns above 0: no payback; peak funding is the first year.
    assert r.metric("payback_year", "with") is None
    close(r.metrics["peak_funding_usd"], [95.8, 97.27])
    close(r.metrics["credit_earned_usd"], [0, 35])
    close(r.metrics["pv_credit_usd"], [0, 35 / 1.1])
    # IRR: the root of the hand flows (numpy-financial's, same convention).
    assert r.metric("irr", "with") == pytest.approx(npf.irr(np.array(cf_with) * M), abs=1e-9)
    # No capacity: no break-even revenue.
    assert r.metric("breakeven_revenue_usd_per_gw_year", "with") is None


def test_bonus_one_five_year_macrs_by_hand():
    r = finmodel.run(one_server_vintage(1))
    # 100% bonus: the whole basis in 2026 (without 100, with 65).
    close(r.lines["depreciation"][WITHOUT, 0], [100, 0, 0, 0, 0, 0])
    close(r.lines["depreciation"][WITH, 0], [65, 0, 0, 0, 0, 0])
    close(r.lines["tax"][WITHOUT], [-21, 0, 0, 0, 0, 0])
    close(r.lines["tax"][WITH], [-13.65, 0, 0, 0, 0, 0])
    cf_without = [-79, 0, 0, 0, 0, 0]
    cf_with = [-100 + 13.65, 35, 0, 0, 0, 0]
    close(r.lines["cash_flow"][WITHOUT], cf_without)
    close(r.lines["cash_flow"][WITH], cf_with)
    close(r.metrics["npv_usd"], [-79, -86.35 + 35 / 1.1])
    # No positive flow without the credit: no IRR; with it, -86.35 + 35 / (1 + r) = 0.
    assert r.metric("irr", "without") is None
    assert r.metric("irr", "with") == pytest.approx(35 / 86.35 - 1, abs=1e-12)
    close(r.metrics["peak_funding_usd"], [79, 86.35])
    # Treasury: X - RC + tax_without - tax_with
    # 2026: 0 - 0 + (-21) - (-13.65) = -7.35; 2027: 35. Window 2027-2031: 35.
    close(r.lines["fiscal_cost"][WITH], [-7.35, 35, 0, 0, 0, 0])
    close(r.lines["fiscal_cost"][WITHOUT], [0] * 6)
    close(r.metrics["fiscal_cost_window_usd"][WITH], 35)
    # PV at the fiscal rate 4% from 2026: -7.35 + 35 / 1.04.
    close(r.metrics["fiscal_cost_pv_usd"][WITH], -7.35 + 35 / 1.04)
    assert r.fiscal("with")["window"] == [2027, 2031]


def test_bonus_year_map_keyed_by_placed_in_service_year():
    # Bonus 60% for 2026 property only: D_2026 = 0.6 * 65 + 0.4 * 65 * 0.20 = 39 + 5.2 = 44.2,
    # then 0.4 * 65 * (0.32, 0.192, 0.1152, 0.1152, 0.0576).
    r = finmodel.run(one_server_vintage({2026: 0.6, 2027: 0.0}))
    close(r.lines["depreciation"][WITH, 0], [44.2, 8.32, 4.992, 2.9952, 2.9952, 1.4976])


# ---------- (b) deadline


def _deadline_scenario(deadline):
    # Spend $100M a year in 2026, 2027, 2028, half on servers (in service when
    # bought, construction 0 years), half on data-center property (in service a
    # year after spend, construction begins 2 years before service).
    return scenario_from_dict(
        {
            "program": {"commitment_usd": "300M", "start_year": 2026, "years": 3},
            "categories": {
                "servers": {"share": 0.5, "macrs_years": 5},
                "dc": {
                    "share": 0.5,
                    "macrs_years": 15,
                    "in_service_lag_years": 1,
                    "construction_years": 2,
                    "group": "data_centers",
                },
            },
            "policy": {
                "amic": {
                    "eligible": ["servers", "data_centers"],
                    "construction_deadline_year": deadline,
                }
            },
            "tax": {"bonus_depreciation": 0},
            "analysis": {"end_year": 2031, "terminal_value": "none"},
            "fiscal": {"window_start": 2027, "window_years": 5},
        }
    )


def test_construction_deadline_cuts_late_vintages():
    r = finmodel.run(_deadline_scenario(2027))
    # Placed in service: servers 50, 50, 50 in 2026-2028; dc 50, 50, 50 in 2027-2029.
    close(r.lines["in_service"][WITH, 0], [50, 50, 50, 0, 0, 0])
    close(r.lines["in_service"][WITH, 1], [0, 50, 50, 50, 0, 0])
    # Deadline 2027: construction must begin by 2026, y - construction_years <= 2026.
    # servers (0 years): only 2026 qualifies -> 0.35 * 50 = 17.5.
    # dc (2 years): 2027 (began 2025) and 2028 (began 2026) qualify, 2029 (began 2027) does not.
    close(r.lines["credit_earned"][WITH, 0], [17.5, 0, 0, 0, 0, 0])
    close(r.lines["credit_earned"][WITH, 1], [0, 17.5, 17.5, 0, 0, 0])
    close(r.metrics["credit_earned_usd"], [0, 52.5])
    # Basis reduction only where the credit was earned. dc, 15-year Table A-1
    # (5.00, 9.50, 8.55, 7.70 %), bonus 0:
    #   2027: 0.05 * 32.5                                = 1.625
    #   2028: 0.095 * 32.5 + 0.05 * 32.5                 = 3.0875 + 1.625 = 4.7125
    #   2029: 0.0855 * 32.5 + 0.095 * 32.5 + 0.05 * 50   = 2.77875 + 3.0875 + 2.5 = 8.36625
    close(r.lines["depreciation"][WITH, 1, :4], [0, 1.625, 4.7125, 8.36625])


def test_no_deadline_and_current_law_default():
    r = finmodel.run(_deadline_scenario(None))
    # No deadline: every vintage qualifies, 0.35 * 300.
    close(r.metrics["credit_earned_usd"][WITH], 105)
    # Key left out: the current-law default 2027 (MODEL.md section 11).
    s = _deadline_scenario(2027)
    raw = {k: v for k, v in s.raw.items()}
    amic = dict(raw["policy"]["amic"])
    del amic["construction_deadline_year"]
    raw["policy"] = {"amic": amic}
    default = scenario_from_dict(raw)
    assert default["policy.amic.construction_deadline_year"] == 2027
    close(finmodel.run(default).metrics["credit_earned_usd"][WITH], 52.5)


# ---------- (c) standalone NOLs


def _ops_scenario(capacity, eligible):
    # $100M of servers in 2026, 100% bonus, 1 GW earning $30M a year for 5 years
    # (2026-2030); no power, no O&M, no terminal value.
    return scenario_from_dict(
        {
            "program": {
                "commitment_usd": "100M",
                "start_year": 2026,
                "years": 1,
                "capacity_gw": 1,
            },
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
            "policy": {"amic": {"eligible": eligible, "construction_deadline_year": None}},
            "tax": {"bonus_depreciation": 1, "capacity": capacity},
            "operations": {"revenue_usd_per_gw_year": "30M"},
            "analysis": {"end_year": 2030, "terminal_value": "none"},
            "fiscal": {"window_start": 2026, "window_years": 5},
        }
    )


def test_standalone_nols_by_hand():
    r = finmodel.run(_ops_scenario("standalone", ["servers"]))
    close(r.lines["revenue"][WITHOUT], [30] * 5)
    # without: TI = 30 - 100 = -70, then 30 a year.
    #   2026 NOL 70, tax 0
    #   2027 use min(70, 0.8 * 30 = 24) = 24 -> tax 0.21 * 6 = 1.26, NOL 46
    #   2028 use 24 -> 1.26, NOL 22
    #   2029 use min(22, 24) = 22 -> 0.21 * 8 = 1.68, NOL 0
    #   2030 0.21 * 30 = 6.3
    close(r.lines["taxable_income"][WITHOUT], [-70, 30, 30, 30, 30])
    close(r.lines["tax"][WITHOUT], [0, 1.26, 1.26, 1.68, 6.3])
    # with: basis 65, TI = 30 - 65 = -35, NOL 35
    #   2027 use 24 -> 1.26, NOL 11; 2028 use 11 -> 0.21 * 19 = 3.99; then 6.3, 6.3
    close(r.lines["taxable_income"][WITH], [-35, 30, 30, 30, 30])
    close(r.lines["tax"][WITH], [0, 1.26, 3.99, 6.3, 6.3])
    close(r.lines["cash_flow"][WITHOUT], [-70, 28.74, 28.74, 28.32, 23.7])
    close(r.lines["cash_flow"][WITH], [-70, 30 - 1.26 + 35, 26.01, 23.7, 23.7])
    # fiscal: 2027 35 + 1.26 - 1.26 = 35; 2028 1.26 - 3.99 = -2.73; 2029 1.68 - 6.3 = -4.62
    close(r.lines["fiscal_cost"][WITH], [0, 35, -2.73, -4.62, 0])
    close(r.metrics["fiscal_cost_window_usd"][WITH], 35 - 2.73 - 4.62)
    # payback: cumulative without -70, -41.26, -12.52, 15.8, 39.5 -> 2029
    assert r.metric("payback_year", "without") == 2029
    # with: -70, -6.26, 19.75 -> 2028
    assert r.metric("payback_year", "with") == 2028


def test_unlimited_capacity_uses_losses_at_once():
    r = finmodel.run(_ops_scenario("unlimited", ["servers"]))
    close(r.lines["tax"][WITHOUT], [-14.7, 6.3, 6.3, 6.3, 6.3])
    close(r.lines["tax"][WITH], [-7.35, 6.3, 6.3, 6.3, 6.3])


def test_breakeven_revenue_by_hand_unlimited():
    # Unlimited tax, without the credit, price p per GW-year, 1 GW for 5 years:
    # CF_2026 = -100 + p - 0.21 (p - 100), CF_t = 0.79 p (t = 2027..2030)
    # NPV = -79 + 0.79 p * A, A = sum_{k=0}^{4} 1.1**-k  ->  p* = 79 / (0.79 A) = 100 / A.
    r = finmodel.run(_ops_scenario("unlimited", []))
    annuity = df(0.10, 5).sum()
    close(r.metrics["breakeven_revenue_usd_per_gw_year"][WITHOUT], 100 / annuity)


def test_npv_is_zero_at_breakeven_revenue_standalone():
    s = _ops_scenario("standalone", ["servers"])
    r = finmodel.run(s)
    for case in ("without", "with"):
        p = r.metric("breakeven_revenue_usd_per_gw_year", case)
        again = finmodel.run(s.override({"operations.revenue_usd_per_gw_year": p}))
        # relative to the scale of the flows ($100M)
        assert abs(again.metric("npv_usd", case)) <= 1e-9 * 100 * M


# ---------- (d) monetization


def test_transfer_versus_direct_pay():
    direct = finmodel.run(one_server_vintage(1))
    sold = finmodel.run(one_server_vintage(1, policy={"amic": {"monetization": "transfer"}}))
    # transfer at 0.93: cash 0.93 * 35 = 32.55 in 2027;
    # the Treasury loses the face value, 35, in both.
    close(sold.lines["credit_cash"][WITH], [0, 32.55, 0, 0, 0, 0])
    close(direct.lines["credit_cash"][WITH], [0, 35, 0, 0, 0, 0])
    close(sold.lines["credit_treasury_cost"][WITH], [0, 35, 0, 0, 0, 0])
    close(sold.lines["fiscal_cost"][WITH], direct.lines["fiscal_cost"][WITH] / M)
    # proceeds not taxable, discount not deductible: tax unchanged, CF lower by 2.45 in 2027
    close(sold.lines["tax"], direct.lines["tax"] / M)
    close(sold.metrics["npv_usd"][WITH], direct.metrics["npv_usd"][WITH] / M - 2.45 / 1.1)


def test_payment_lag_and_haircut():
    r = finmodel.run(
        one_server_vintage(1, policy={"amic": {"payment_lag_years": 0, "payment_haircut": 0.057}})
    )
    # lag 0: paid in the year earned; direct pay cut by 5.7%: 0.943 * 35 = 33.005, and X = CC
    close(r.lines["credit_cash"][WITH], [33.005, 0, 0, 0, 0, 0])
    close(r.lines["credit_treasury_cost"][WITH], [33.005, 0, 0, 0, 0, 0])
    r = finmodel.run(one_server_vintage(1, policy={"amic": {"payment_lag_years": 3}}))
    close(r.lines["credit_cash"][WITH], [0, 0, 0, 35, 0, 0])
    close(r.metrics["pv_credit_usd"][WITH], 35 / 1.1**3)


# ---------- recapture, basis


def test_recapture_life_three():
    # Servers with life 3: in service 2026-2028, retired at the start of 2029.
    # MODEL.md section 4: RC[y + L] = pct[L] * E, pct = [1.0, 0.8, 0.6, 0.4, 0.2],
    # so L = 3 repays 0.4 * 35 = 14 in 2029 (3 full years of service).
    s = one_server_vintage(1, categories={"servers": {"share": 1, "macrs_years": 5, "life_years": 3}})
    r = finmodel.run(s)
    close(r.lines["recapture"][WITH, 0], [0, 0, 0, 14, 0, 0])
    close(r.lines["recapture"][WITHOUT, 0], [0] * 6)
    # TI falls by RC: 2029 TI = -14, tax = -2.94; CF = -RC - tax = -14 + 2.94
    close(r.lines["taxable_income"][WITH], [-65, 0, 0, -14, 0, 0])
    close(r.lines["tax"][WITH], [-13.65, 0, 0, -2.94, 0, 0])
    close(r.lines["cash_flow"][WITH], [-86.35, 35, 0, -11.06, 0, 0])
    # Treasury: X - RC + tax_without - tax_with = 2029: -14 + 0 - (-2.94) = -11.06
    close(r.lines["fiscal_cost"][WITH], [-7.35, 35, 0, -11.06, 0, 0])
    # disabled: nothing repaid
    s = one_server_vintage(
        1,
        categories={"servers": {"share": 1, "macrs_years": 5, "life_years": 3}},
        policy={"amic": {"recapture": False}},
    )
    close(finmodel.run(s).lines["recapture"][WITH, 0], [0] * 6)


def test_partial_basis_reduction_and_qualified_fraction():
    # qualified 60%: E = 0.35 * 60 = 21; basis reduction 0.5: B = 100 - 10.5 = 89.5 (bonus 1)
    s = one_server_vintage(
        1,
        categories={"servers": {"share": 1, "macrs_years": 5, "qualified_fraction": 0.6}},
        policy={"amic": {"basis_reduction": 0.5}},
    )
    r = finmodel.run(s)
    close(r.lines["credit_earned"][WITH, 0], [21, 0, 0, 0, 0, 0])
    close(r.lines["depreciation"][WITH, 0], [89.5, 0, 0, 0, 0, 0])


def test_rate_year_map_by_placed_in_service_year():
    # rate 25% for property placed in service 2023-2025, 35% from 2026; spend 2025, 2026
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "200M", "start_year": 2025, "years": 2},
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
            "policy": {"amic": {"eligible": "servers", "construction_deadline_year": None}},
            "analysis": {"end_year": 2027, "terminal_value": "none"},
            "fiscal": {"window_start": 2025, "window_years": 3},
        }
    )
    r = finmodel.run(s)
    close(r.lines["credit_earned"][WITH, 0], [25, 35, 0])


# ---------- terminal value


def test_book_terminal_value_and_gain():
    # $100M placed 2026 in each of: grid (20-year, life 30, no bonus), land
    # (macrs null: never deducted, kept for ever), soft (expensed, life 0).
    # Horizon 2026-2030 (5 years), no credit.
    s = scenario_from_dict(
        {
            "program": {"commitment_usd": "300M", "start_year": 2026, "years": 1},
            "categories": {
                "grid": {
                    "share": 1 / 3,
                    "macrs_years": 20,
                    "life_years": 30,
                    "bonus_eligible": False,
                },
                "land": {"share": 1 / 3, "macrs_years": None},
                "soft": {"share": 1 / 3, "macrs_years": 0},
            },
            "analysis": {"end_year": 2030},
            "fiscal": {"window_start": 2026, "window_years": 5},
        }
    )
    r = finmodel.run(s)
    # Book value at end-2030: grid 100 * (1 - 5/30) = 83.333..; land 100; soft 0.
    tv = r.lines["terminal_value"][WITHOUT, :, -1]
    close(tv, [100 * 25 / 30, 100, 0])
    close(r.lines["terminal_value"][WITHOUT, :, :-1], np.zeros((3, 4)))
    # Tax basis left: grid 100 * (1 - (3.750 + 7.219 + 6.677 + 6.177 + 5.713) %) = 70.464;
    # land 100; soft 0 (deducted in 2026).
    close(r.lines["remaining_basis"][WITHOUT], [70.464, 100, 0])
    close(r.lines["depreciation"][WITHOUT, 0], [3.75, 7.219, 6.677, 6.177, 5.713])
    close(r.lines["depreciation"][WITHOUT, 2], [100, 0, 0, 0, 0])
    # Terminal gain in 2030: 183.333.. - 170.464 = 12.869333..; TI_2030 = -5.713 + gain
    gain = 100 * 25 / 30 + 100 - 170.464
    close(r.lines["taxable_income"][WITHOUT, -1], -5.713 + gain)
    # CF_2030 = -tax + TV
    close(r.lines["cash_flow"][WITHOUT, -1], -0.21 * (-5.713 + gain) + 100 * 25 / 30 + 100)
    # terminal_value: none drops both
    none = finmodel.run(s.override({"analysis.terminal_value": "none"}))
    close(none.lines["terminal_value"], np.zeros((2, 3, 5)))
    close(none.lines["taxable_income"][WITHOUT, -1], -5.713)


# ---------- operations


def test_capacity_revenue_power_and_om_lines():
    # $200M over 2026-2027 (shares 0.25, 0.75); servers 60% (life 2), dc 40% (39-year,
    # in service a year after spend, life 30). Horizon 2026-2029.
    s = scenario_from_dict(
        {
            "program": {
                "commitment_usd": "200M",
                "start_year": 2026,
                "years": 2,
                "schedule": {"shares": [0.25, 0.75]},
                "capacity_gw": 2,
            },
            "categories": {
                "servers": {"share": 0.6, "macrs_years": 5, "life_years": 2},
                "dc": {
                    "share": 0.4,
                    "macrs_years": 39,
                    "in_service_lag_years": 1,
                    "life_years": 30,
                },
            },
            "operations": {
                "revenue_usd_per_gw_year": "1B",
                "revenue_growth": 0.05,
                "utilization": 0.5,
                "pue": 1.25,
                "power_price_usd_per_mwh": 40,
                "power_price_growth": 0.02,
                "om_rate": 0.02,
            },
            "analysis": {"end_year": 2029, "terminal_value": "none"},
            "fiscal": {"window_start": 2027, "window_years": 3},
        }
    )
    r = finmodel.run(s)
    # Spend: 50, 150; servers 30, 90; dc 20, 60 (placed 2027, 2028).
    close(r.lines["spend"][WITHOUT].sum(axis=0), [50, 150, 0, 0])
    close(r.lines["in_service"][WITHOUT, 1], [0, 20, 60, 0])
    # GW placed: 2 * (30, 90) / 120 = 0.5, 1.5; life 2 -> operating 0.5, 2.0, 1.5, 0.
    np.testing.assert_allclose(r.lines["operating_gw"][WITHOUT], [0.5, 2.0, 1.5, 0.0], rtol=RTOL_MODEL)
    # Revenue: O * 1000 * 1.05**t  ->  500, 2100, 1653.75, 0
    close(r.lines["revenue"][WITHOUT], [500, 2100, 1.5 * 1000 * 1.1025, 0])
    # Power: O * 1000 * 8760 * 0.5 * 1.25 * 40 * 1.02**t = O * 219e6 * 1.02**t  [USD]
    close(r.lines["power"][WITHOUT], [0.5 * 219, 2.0 * 219 * 1.02, 1.5 * 219 * 1.0404, 0])
    # O&M: 2% of cost in service: servers 30, 120, 90, 0; dc 0, 20, 80, 80 -> 30, 140, 170, 80
    close(r.lines["om"][WITHOUT], [0.6, 2.8, 3.4, 1.6])
    close(
        r.lines["ebitda"][WITHOUT],
        np.array([500, 2100, 1653.75, 0])
        - np.array([109.5, 446.76, 341.7714, 0])
        - np.array([0.6, 2.8, 3.4, 1.6]),
    )


def test_npv_with_valuation_year_before_start():
    # valuation 2025, start 2026: every flow discounted one more year
    s = one_server_vintage(1, finance={"valuation_year": 2025})
    r = finmodel.run(s)
    cf = r.lines["cash_flow"][WITH]
    close(r.metrics["npv_usd"][WITH], np.dot(cf / M, df(0.10, 6, shift=1)))
    close(r.metrics["npv_usd"][WITH], (-86.35 / 1.1 + 35 / 1.21))


# ---------- engine API


def test_array_overrides_add_a_leading_draw_axis():
    s = _ops_scenario("unlimited", ["servers"])
    rates = np.array([0.0, 0.25, 0.35])
    inp = model.build_inputs(s, {"policy.amic.rate": rates})
    lines = model.evaluate(inp)
    metrics = model.compute_metrics(inp, lines)
    assert lines["cash_flow"].shape == (3, 2, 5)
    assert lines["credit_earned"].shape == (3, 2, 1, 5)
    close(metrics["credit_earned_usd"][:, WITH], [0, 25, 35])
    # each draw equals a separate run of the overridden scenario
    for k, rate in enumerate(rates):
        single = finmodel.run(s.override({"policy.amic.rate": float(rate)}))
        np.testing.assert_allclose(
            lines["cash_flow"][k], single.lines["cash_flow"], rtol=RTOL_MODEL, atol=ATOL_USD
        )
        np.testing.assert_allclose(metrics["npv_usd"][k], single.metrics["npv_usd"], rtol=RTOL_MODEL)


def test_results_tables_and_dict():
    r = finmodel.run(one_server_vintage(1))
    d = r.to_dict()
    assert set(d["cases"]) == {"without", "with"}
    assert set(d["cases"]["with"]) == set(model.METRICS)
    assert d["delta"]["npv_usd"] == pytest.approx(
        d["cases"]["with"]["npv_usd"] - d["cases"]["without"]["npv_usd"]
    )
    assert d["fiscal"]["window"] == [2027, 2031]
    flows = r.cashflows
    assert list(flows.columns) == ["case", "year", "line", "category", "value_usd"]
    cf = flows[(flows.line == "cash_flow") & (flows.case == "with")]
    np.testing.assert_allclose(cf.value_usd, r.lines["cash_flow"][WITH])
    assert set(cf.category) == {""}
    spend = flows[(flows.line == "spend") & (flows.case == "with")]
    assert set(spend.category) == {"servers"}
    wide = r.yearly("with")
    assert wide.loc["credit_cash", 2027] == pytest.approx(35 * M)
    assert r.by_category("credit_earned").loc["servers", 2026] == pytest.approx(35 * M)
    table = r.summary(numeric=True)
    assert list(table.columns) == ["without", "with", "delta"]
    assert table.loc["credit_earned_usd", "delta"] == pytest.approx(35 * M)


def test_summary_writes_years_as_integers_and_money_in_the_one_format():
    # no operations: the vintage never pays back, so payback is undefined in both cases
    r = finmodel.run(one_server_vintage(1))
    text, numbers = r.summary(), r.summary(numeric=True)
    assert list(text.loc["payback_year"]) == ["none by 2031", "none by 2031", "n/a"]
    assert all(math.isnan(v) for v in numbers.loc["payback_year"])
    # $35M of credit: $0.0B to a tenth of a billion, as every money figure reads
    assert list(text.loc["credit_earned_usd"]) == ["$0.0B", "$0.0B", "$0.0B"]

    base = finmodel.run(finmodel.load_scenario(SCENARIOS / "base.yaml"))
    text, numbers = base.summary(), base.summary(numeric=True)
    # payback 2040 without the credit, 2033 with it (golden summary.json of base)
    assert list(text.loc["payback_year"]) == ["2040", "2033", "-7 years"]
    assert list(numbers.loc["payback_year"]) == [2040, 2033, -7]
    assert all(type(v) is int for v in numbers.loc["payback_year"])
    assert list(text.loc["npv_usd"]) == ["-$147.7B", "$48.0B", "+$195.7B"]
    assert list(text.loc["breakeven_revenue_usd_per_gw_year"]) == ["$12.15B", "$9.30B", "-$2.85B"]
    assert list(text.loc["irr"]) == ["2.0%", "13.1%", "+11.1 pp"]
    assert "e+" not in text.to_string() and "2040.0" not in text.to_string()
    # the same figures, cell for cell, as the table of summary.md and the command line
    from finmodel.outputs import memo

    head, *rows = memo.summary_rows(base)
    by_label = {row[0]: row[1:] for row in rows}
    for name, label in memo.summary_metric_labels(base).items():
        assert tuple(text.loc[name]) == by_label[label], name


# ---------- spend schedules


@pytest.mark.parametrize(
    ("schedule", "shares"),
    [
        ({"ramp": "flat"}, [1 / 3, 1 / 3, 1 / 3]),
        # linear: proportional to k + 1 = 1, 2, 3
        ({"ramp": "linear"}, [1 / 6, 2 / 6, 3 / 6]),
        ({"shares": [0.2, "50%", 0.3]}, [0.2, 0.5, 0.3]),
    ],
)
def test_spend_schedules(schedule, shares):
    s = scenario_from_dict(
        {
            "program": {
                "commitment_usd": "300M",
                "start_year": 2026,
                "years": 3,
                "schedule": schedule,
            },
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
            "analysis": {"end_year": 2028},
            "fiscal": {"window_start": 2026, "window_years": 3},
        }
    )
    close(finmodel.run(s).lines["spend"][0, 0], 300 * np.array(shares))


def test_s_curve_schedule_by_hand():
    # s_k proportional to F(k + 1) - F(k), F(x) = 1 / (1 + exp(-a (x - m))), k = 0..3;
    # midpoint m = 2 (default years / 2), steepness a = 1.5. Normalized by F(4) - F(0).
    def F(x, m=2.0, a=1.5):
        return 1.0 / (1.0 + math.exp(-a * (x - m)))

    w = [F(k + 1) - F(k) for k in range(4)]
    expected = [x / (F(4) - F(0)) for x in w]
    assert expected[0] == pytest.approx(expected[3]) and expected[1] == pytest.approx(expected[2])
    s = scenario_from_dict(
        {
            "program": {
                "commitment_usd": "100M",
                "start_year": 2026,
                "years": 4,
                "schedule": {"ramp": "s_curve", "steepness": 1.5},
            },
            "categories": {"servers": {"share": 1, "macrs_years": 5}},
            "analysis": {"end_year": 2029},
            "fiscal": {"window_start": 2026, "window_years": 4},
        }
    )
    close(finmodel.run(s).lines["spend"][0, 0], 100 * np.array(expected))
