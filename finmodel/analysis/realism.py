"""What a reader must know to use a run's figures: the terminal value's weight, who gets the credit.

Pure: takes :class:`~finmodel.engine.model.Results` and returns numbers in
USD (frozen dataclasses); memo text and charts render them
(:mod:`finmodel.outputs`). :func:`terminal_effect` evaluates the scenario a
second time with ``analysis.terminal_value: none``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from finmodel.core.timeline import discount_factors, shift
from finmodel.engine.evaluate import sum_categories
from finmodel.engine.model import Results, run

__all__ = ["TerminalEffect", "terminal_effect", "ValueSplit", "value_split"]


@dataclass(frozen=True)
class TerminalEffect:
    """Each case's NPV and payback with the book terminal value of MODEL.md section 8, and without it.

    ``terminal_pv_usd`` is the present value of the terminal value net of the
    tax on its gain, ``npv_usd - npv_without_terminal_usd``. [USD]
    """

    cases: tuple[str, ...]
    end_year: int
    npv_usd: tuple[float, ...]
    npv_without_terminal_usd: tuple[float, ...]
    payback_year: tuple[float | None, ...]
    payback_without_terminal: tuple[float | None, ...]
    terminal_value_usd: float  # booked in end_year, before tax (the same in every case)

    @property
    def terminal_pv_usd(self) -> tuple[float, ...]:
        return tuple(a - b for a, b in zip(self.npv_usd, self.npv_without_terminal_usd, strict=True))


def terminal_effect(results: Results) -> TerminalEffect | None:
    """The weight of the terminal value in each case's NPV and payback.

    None when the scenario counts no terminal value (``terminal_value: none``).
    """
    scenario = results.scenario
    if scenario["analysis.terminal_value"] != "book":
        return None
    bare = run(scenario.override({"analysis.terminal_value": "none"}))
    cases = results.cases
    tv = float(np.asarray(results.lines["terminal_value"])[0].sum())
    return TerminalEffect(
        cases=cases,
        end_year=int(results.years[-1]),
        npv_usd=tuple(results.metric("npv_usd", c) for c in cases),
        npv_without_terminal_usd=tuple(bare.metric("npv_usd", c) for c in cases),
        payback_year=tuple(results.metric("payback_year", c) for c in cases),
        payback_without_terminal=tuple(bare.metric("payback_year", c) for c in cases),
        terminal_value_usd=tv,
    )


@dataclass(frozen=True)
class ValueSplit:
    """Where one case's gain over 'without' goes, in present value at ``finance.discount_rate``. [USD]

    ``program_usd + third_party_usd`` is the case's change of NPV before
    incidence (MODEL.md section 18); ``buyers_usd`` is what buyers of
    transferred credits gain (face value less the price they pay), a cost to
    the Treasury that reaches neither; ``treasury_pv_usd`` is the Treasury's
    cost at ``fiscal.discount_rate`` (section 10), for scale.
    """

    case: str
    program_usd: float
    third_party_usd: float
    buyers_usd: float
    treasury_pv_usd: float
    discount_rate: float
    fiscal_discount_rate: float

    @property
    def owners_usd(self) -> float:
        """The case's change of NPV before incidence (program and other owners together)."""
        return self.program_usd + self.third_party_usd


def value_split(results: Results, case: str = "with") -> ValueSplit:
    """The split of ``case``'s gain between the program, other owners and credit buyers."""
    inp = results.inputs
    k = results.cases.index(case)
    rate = float(np.asarray(inp.discount_rate)[k])
    df = discount_factors(rate, inp.years, inp.valuation_year)
    third = 0.0
    if "third_party_gain" in results.lines:
        third = float(np.sum(np.asarray(results.lines["third_party_gain"])[k] * df))
    program = results.metric("npv_usd", case) - results.metric("npv_usd", "without")
    buyers = 0.0
    if bool(np.asarray(inp.transfer)[k]):
        lag = int(np.asarray(inp.payment_lag_years)[k])
        due = shift(sum_categories(np.asarray(results.lines["credit_earned"])[k]), lag)
        price = float(np.asarray(inp.transfer_price)[k])
        buyers = float(np.sum((1.0 - price) * due * df))
    return ValueSplit(
        case=case,
        program_usd=program,
        third_party_usd=third,
        buyers_usd=buyers,
        treasury_pv_usd=float(results.fiscal(case)["fiscal_cost_pv_usd"]),
        discount_rate=rate,
        fiscal_discount_rate=float(inp.fiscal_discount_rate),
    )
