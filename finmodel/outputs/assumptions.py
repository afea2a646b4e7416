"""The assumptions a reader must know to use a run's figures, as memo sentences.

Each sentence is built from the results and the scenario, never typed in:
whether the credit changes the decision (additionality, not modelled), how
much of each NPV is the terminal value, who owns the property and gets the
credit, when the credit takes effect and its deadline, the owner's tax
capacity, and whether retired servers are replaced. Pure: no files.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from finmodel.analysis.realism import terminal_effect, value_split
from finmodel.core import format as fmt
from finmodel.engine.model import Results

__all__ = ["assumption_sentences", "value_split_sentence"]

_BE = "USD/GW-year"


def _pct(x: float) -> str:
    return fmt.rate(x, decimals=0) if abs(x * 100 - round(x * 100)) < 1e-9 else fmt.rate(x)


def _names(items) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _additionality(results: Results) -> str:
    be_o = results.metric("breakeven_revenue_usd_per_gw_year", "without")
    be_w = results.metric("breakeven_revenue_usd_per_gw_year", "with")
    rate = _pct(float(np.asarray(results.inputs.discount_rate)[0]))
    text = (
        "The program is built in both cases: whether the credit causes the investment "
        "(its additionality) is not modelled, so the gain is the value of the credit to a program "
        "that goes ahead anyway."
    )
    if be_o is None or be_w is None:
        return text
    assumed = float(np.asarray(results.inputs.revenue_usd_per_gw_year)[0])
    return text + (
        f" Without the credit the program needs {fmt.money(be_o, _BE)} of revenue per GW-year to "
        f"break even at {rate} ({fmt.money(be_w, _BE)} with it), against an assumed "
        f"{fmt.money(assumed, _BE)}."
    )


def _terminal(results: Results) -> str | None:
    effect = terminal_effect(results)
    if effect is None:
        return (
            f"No value is counted for the assets left at the end of {int(results.years[-1])} "
            "(terminal_value: none)."
        )
    k_o, k_w = results.cases.index("without"), results.cases.index("with")
    end = effect.end_year

    def payback(k: int) -> str:
        before, after = effect.payback_year[k], effect.payback_without_terminal[k]
        who = "without the credit" if k == k_o else "with it"
        if before == after:
            stays = f"stays at {fmt.year(before)}" if before is not None else "stays out of reach"
            return f"payback {who} {stays}"
        if after is None:
            return f"payback {who} ({fmt.year(before)}) disappears"
        return f"payback {who} moves from {fmt.year(before)} to {fmt.year(after)}"

    return (
        f"The NPV counts the assets' remaining book value at the end of {end} "
        f"({fmt.money(effect.terminal_value_usd)}; {fmt.money(effect.terminal_pv_usd[k_w])} in present "
        f"value after tax on the gain); without it the NPV is "
        f"{fmt.money(effect.npv_without_terminal_usd[k_o])} without the credit and "
        f"{fmt.money(effect.npv_without_terminal_usd[k_w])} with it (instead of "
        f"{fmt.money(effect.npv_usd[k_o])} and {fmt.money(effect.npv_usd[k_w])}), and "
        f"{payback(k_o)}, {payback(k_w)}."
    )


def value_split_sentence(results: Results, case: str = "with") -> str | None:
    """Who gets the value of ``case``'s credit: the program, other owners, credit buyers.

    None when the program gets all of it.
    """
    split = value_split(results, case)
    if split.third_party_usd == 0 and split.buyers_usd == 0:
        return None
    rate = _pct(split.discount_rate)
    parts = [f"the program keeps {fmt.money(split.program_usd)}"]
    if split.third_party_usd:
        parts.append(f"other owners keep {fmt.money(split.third_party_usd)}")
    if split.buyers_usd:
        parts.append(f"buyers of the transferred credits gain {fmt.money(split.buyers_usd)}")
    return (
        f"Of the credit's value in present value at {rate}, {_names(parts)}; the Treasury's cost "
        f"({fmt.money(split.treasury_pv_usd)} at {_pct(split.fiscal_discount_rate)}) is the same "
        "whoever receives it."
    )


def _ownership(results: Results) -> str:
    s = results.scenario
    inp = results.inputs
    if not inp.incidence:
        gain = results.delta("npv_usd") or 0.0
        return (
            "The program is taken to own all the property and to receive the whole credit; where cloud "
            "providers, landlords or utilities own it, they earn the credit and only what they pass on in "
            f"prices reaches the program, so the {fmt.money(gain, sign=True)} change in NPV is an upper "
            "bound (the scenario ownership.yaml splits it)."
        )
    share = s["incidence.third_party_share"]
    if isinstance(share, Mapping):
        owned = _names([f"{_pct(v)} of {k.replace('_', ' ')}" for k, v in share.items()])
    else:
        owned = f"{_pct(share)} of every category"
    pi = float(np.asarray(inp.pass_through))
    text = f"Others own {owned}, and pass {_pct(pi)} of their gain from the credit on to the program."
    split = value_split_sentence(results)
    return text + (f" {split[0].upper()}{split[1:]}" if split else "")


def _effective(results: Results) -> str:
    s = results.scenario
    rate = s["policy.amic.rate"]
    steps = sorted(rate.items()) if isinstance(rate, Mapping) else [(0, rate)]
    if len(steps) == 1 and steps[0][0] == 0:
        rates = f"{_pct(steps[0][1])} in every year"
    else:
        rates = _names(
            [
                f"{_pct(v)} for property placed in service from {y}" if i == 0 else f"{_pct(v)} from {y}"
                for i, (y, v) in enumerate(steps)
            ]
        )
    earned = np.asarray(results.lines["credit_earned"])[results.cases.index("with")].sum(axis=0)
    first = (
        f"; the first credit is earned in {int(results.years[earned > 0][0])}" if np.any(earned > 0) else ""
    )
    deadline = s["policy.amic.construction_deadline_year"]
    when = (
        "no construction-start deadline"
        if deadline is None
        else f"construction must begin before 1 January {int(deadline)}"
    )
    return f"The credit rate is {rates}, with {when}{first}."


def _capacity(results: Results) -> str:
    s = results.scenario
    inp = results.inputs
    tax = (
        "The owner has other income to absorb its deductions and losses at once (tax capacity unlimited)"
        if s["tax.capacity"] == "unlimited"
        else "The program pays its own tax, carrying losses forward"
    )
    return tax + f", at a corporate rate of {_pct(float(np.asarray(inp.corporate_rate)[0]))}."


def _refresh(results: Results) -> str | None:
    inp = results.inputs
    if float(np.max(np.asarray(inp.capacity_gw))) == 0:
        return None
    gw = np.asarray(results.lines["operating_gw"])[0]
    years = results.years
    end = int(years[-1])
    if inp.refresh_any:
        spend = results.metric("refresh_spend_usd", "with")
        pc = float(np.asarray(inp.refresh_price_change))
        cats = _names([c for c, r in zip(inp.categories, inp.refreshed, strict=True) if r])
        return (
            f"Retired {cats} are replaced like for like at {fmt.rate(pc, sign=True)} a year in cost, through "
            f"{int(np.asarray(inp.refresh_last_year))}: capacity reaches {gw.max():.1f} GW and the "
            f"replacements cost {fmt.money(spend)} beyond the commitment (and earn the credit too)."
        )
    peak = int(np.argmax(gw))
    return (
        f"Retired property is not replaced: capacity in service peaks at {gw[peak]:.1f} GW in "
        f"{int(years[peak])} and is {gw[-1]:.1f} GW in {end}, so revenue ends with the last servers "
        "(the scenario refresh.yaml keeps the capacity)."
    )


def assumption_sentences(results: Results) -> list[str]:
    """The assumptions that move the headline figures, one sentence (or two) each."""
    out = [
        _additionality(results),
        _terminal(results),
        _ownership(results),
        _effective(results),
        _capacity(results),
        _refresh(results),
    ]
    return [x for x in out if x]
