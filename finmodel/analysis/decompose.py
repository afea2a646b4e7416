"""Decompositions of a run's figures: the owner's cost in present value, lines by category group.

Pure: takes :class:`~finmodel.engine.model.Results`, returns numbers
(NumPy arrays and a frozen dataclass) in USD; charts and memo text render
them (:mod:`finmodel.outputs`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from finmodel.core.timeline import discount_factors
from finmodel.engine.model import Results

__all__ = ["PVWaterfall", "pv_waterfall", "group_totals"]


@dataclass(frozen=True)
class PVWaterfall:
    """The owner's net cost of the build-out in present value, from spend to net cost. [USD, PV]

    Each term is discounted at ``discount_rate`` to ``valuation_year``;
    ``spend + credit + basis + other == net`` (see :func:`pv_waterfall`).
    """

    spend_usd: float
    credit_usd: float
    basis_usd: float
    other_usd: float
    net_usd: float
    discount_rate: float
    valuation_year: int

    #: The steps in order: (key, is a total measured from zero).
    STEPS = (("spend", True), ("credit", False), ("basis", False), ("other", False), ("net", True))

    def steps(self) -> list[tuple[str, float, bool]]:
        """``(key, signed height [USD], total)`` per bar, in the order of :attr:`STEPS`."""
        return [(key, getattr(self, f"{key}_usd"), total) for key, total in self.STEPS]


def pv_waterfall(results: Results, case: str = "with", base: str = "without") -> PVWaterfall:
    """The owner's net cost of the build-out in present value, from spend to net cost.

    All terms are discounted at the ``case``'s ``finance.discount_rate`` to
    ``finance.valuation_year``, ``PV(x) = sum_t x[t] * DF(t)`` (MODEL.md
    section 2). With ``w`` the ``case`` and ``o`` the ``base`` case:

    - ``spend``: ``PV(sum_c spend[w, c, t])``, the capital spend (a cost, positive);
    - ``credit``: ``-PV(credit_cash[w] - credit_cash[o])``, the credit's cash
      (direct pay, or transfer proceeds), which lowers the cost; equals
      ``-pv_credit_usd`` when ``o`` earns no credit;
    - ``basis``: the tax on the deductions lost to the basis reduction,
      ``PV(rate_w * dTI)`` with ``dTI[t] = sum_c (depreciation[o] - depreciation[w])[c, t]``
      plus, in ``end_year`` with a book terminal value, the higher terminal
      gain ``sum_c (remaining_basis[o] - remaining_basis[w])[c]``; ``rate_w``
      is the case's ``tax.corporate_rate``;
    - ``other``: every other change in the owner's cash flow, with sign
      flipped: ``-PV(cash_flow[w] - cash_flow[o]) - credit - basis``. It holds
      recapture paid back (section 4) net of the tax saved by deducting it,
      and, with ``tax.capacity: standalone``, the timing of loss
      carry-forwards (the ``basis`` bar is then the first-order effect at the
      statutory rate);
    - ``net``: ``spend + credit + basis + other = PV(spend) - PV(cash_flow[w] - cash_flow[o])``,
      which is ``PV(spend) - delta npv_usd`` when both cases share one
      discount rate.

    The terms add up by construction; the tests check ``net`` against the
    model's own ``npv_usd`` metrics.
    """
    inp = results.inputs
    w, o = results.cases.index(case), results.cases.index(base)
    names = ("spend", "credit_cash", "depreciation", "cash_flow")
    lines = {name: np.asarray(results.lines[name]) for name in names}
    df = discount_factors(inp.discount_rate[w], inp.years, inp.valuation_year)

    def pv(x) -> float:
        return float(np.sum(np.asarray(x) * df))

    spend = pv(lines["spend"][w].sum(axis=0))
    credit = -pv(lines["credit_cash"][w] - lines["credit_cash"][o])
    d_ti = (lines["depreciation"][o] - lines["depreciation"][w]).sum(axis=0)
    if inp.terminal_book:
        rb = np.asarray(results.lines["remaining_basis"])
        d_ti = d_ti + (inp.years == inp.end_year) * float((rb[o] - rb[w]).sum())
    basis = pv(float(inp.corporate_rate[w]) * d_ti)
    other = -pv(lines["cash_flow"][w] - lines["cash_flow"][o]) - credit - basis
    return PVWaterfall(
        spend_usd=spend,
        credit_usd=credit,
        basis_usd=basis,
        other_usd=other,
        net_usd=spend + credit + basis + other,
        discount_rate=float(inp.discount_rate[w]),
        valuation_year=int(inp.valuation_year),
    )


def group_totals(results: Results, line: str, case: str = "with") -> tuple[tuple[str, ...], np.ndarray]:
    """A per-category line of one case summed by category group: ``(groups, array (G, T))`` [USD].

    Groups are in the order their first category appears in the scenario.
    """
    k = results.cases.index(case)
    values = np.asarray(results.lines[line])[k]
    groups = tuple(dict.fromkeys(results.inputs.groups))
    index = np.array([groups.index(g) for g in results.inputs.groups])
    out = np.zeros((len(groups), values.shape[-1]))
    np.add.at(out, index, values)
    return groups, out
