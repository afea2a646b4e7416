"""Warnings for values that validate but are probably not what the analyst meant.

A warning is not an error: the scenario loads and runs. Each names the file,
the line, the key and the likely fix, and is collected on
:attr:`Scenario.warnings <finmodel.scenario.types.Scenario.warnings>`; this
layer never prints (the command line prints them, and ``--strict`` refuses
them). Nothing is rescaled or corrected here: a guard only points.

- **Magnitude**: a money value under $1M where the parameter is typically
  billions (:attr:`Param.typical <finmodel.scenario.params.Param.typical>`):
  ``commitment_usd: 1400`` reads as $1,400, ``did you mean "1400B"?``.
- **Rate hint**: a rate above 1 written as a plain number is an error (rates
  are fractions); :func:`rate_hint` adds ``write 35% or 0.35`` to it.
- **Title**: the figures a title states (``$1.4T build-out``, ``30 GW``,
  ``AMIC at 25%``) against the values, for the patterns read here only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

from finmodel.core import format as fmt
from finmodel.scenario.params import Param

__all__ = ["SMALL_MONEY_USD", "magnitude_warning", "rate_hint", "title_warnings"]

#: A money value below this [USD] is suspicious for a parameter typically in billions.
SMALL_MONEY_USD = 1e6
#: Parameters whose :attr:`Param.typical` is at least this [USD] are "in billions".
_BILLIONS = 1e9
_SUFFIXES = {"B": 1e9, "T": 1e12}


def magnitude_warning(p: Param, written: Any, value: float) -> str | None:
    """Why a money ``value`` (as ``written``) looks a thousand-fold too small, or None.

    Only a value written as a plain number (a string with a suffix was
    meant as written), above 0 and below :data:`SMALL_MONEY_USD`, of a
    parameter declared typically in billions. The hint takes the suffix
    that brings the number nearest the typical size.

    >>> from finmodel.scenario.params import BY_PATH
    >>> print(magnitude_warning(BY_PATH["program.commitment_usd"], 1400, 1400.0))
    1400 reads as $1,400 (money is in USD, not billions); typically about $1T: did you mean "1400B"?
    >>> magnitude_warning(BY_PATH["program.commitment_usd"], "1400B", 1.4e12) is None
    True
    """
    typical = p.typical
    if typical is None or typical < _BILLIONS or not 0 < value < SMALL_MONEY_USD:
        return None
    if isinstance(written, str) and written.strip()[-1:].upper() in ("K", "M", "B", "T"):
        return None
    number = fmt.number(value, fmt.EXACT_DIGITS)
    # in logarithms: the product underflows to 0 for a value such as 5e-324
    suffix = min(_SUFFIXES, key=lambda s: abs(math.log10(value) + math.log10(_SUFFIXES[s] / typical)))
    return (
        f"{number} reads as {fmt.parameter_value(value, 'USD')} (money is in USD, not billions); "
        f'typically about {fmt.parameter_value(typical, "USD", label=True)}: did you mean "{number}{suffix}"?'
    )


def rate_hint(written: Any, value: float, lo: float | None, hi: float | None) -> str:
    """The fix for a rate above 1 written as a plain number: ``; a rate is a fraction: write 35% or 0.35``.

    Empty when ``written`` is a percent string, when the value is not above 1,
    or when the value read as a percent would still be out of range.

    >>> rate_hint(35, 35.0, 0, 1)
    '; a rate is a fraction: write 35% or 0.35'
    >>> rate_hint("135%", 1.35, 0, 1)
    ''
    """
    if isinstance(written, str) and "%" in written:
        return ""
    if not value > 1:
        return ""
    fraction = value / 100
    if (lo is not None and fraction < lo) or (hi is not None and fraction > hi):
        return ""
    return f"; a rate is a fraction: write {fmt.number(value)}% or {fmt.number(fraction)}"


# --------------------------------------------------------------------------- the title's figures

#: ``$1.4T build-out``, ``$1,400B compute program``: a money figure naming the program's size.
_TITLE_MONEY = re.compile(
    r"\$\s?(?P<number>\d[\d,]*(?:\.\d+)?)\s?(?P<suffix>[TB])\b"
    r"(?=(?:\s+[A-Za-z][\w-]*){0,2}?\s+(?:build-?out|buildout|program|programme|commitment|investment|capex)\b)"
)
#: ``30 GW`` (not ``per GW``, not ``GW-year``).
_TITLE_GW = re.compile(r"(?<![\w.$/])(?P<number>\d+(?:\.\d+)?)\s?GW\b(?![-/]\s?(?:year|yr))")
#: ``AMIC at 25%``, ``credit rate of 35%``, ``35% AMIC``, ``35% credit``.
_TITLE_RATE = (
    re.compile(r"\b(?:AMIC|credit)(?:\s+rate)?\s+(?:at|of)\s+(?P<number>\d+(?:\.\d+)?)\s?%"),
    re.compile(r"(?<![\w.])(?P<number>\d+(?:\.\d+)?)\s?%\s+(?:AMIC|credit)\b"),
)


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _matches(stated: str, scale: float, value: float) -> bool:
    """Whether ``value`` rounds to the ``stated`` figure (in units of ``scale``) at its written decimals."""
    number = float(stated.replace(",", ""))
    return abs(value / scale - number) <= 0.5 * 10 ** -_decimals(stated) * (1 + 1e-9)


def title_warnings(title: str, values: Mapping[str, Any]) -> list[tuple[tuple, str]]:
    """(key path, message) for each figure the title states that the values contradict.

    Read from the title: a money figure before ``build-out``, ``program``,
    ``commitment``, ``investment`` or ``capex`` (against
    ``program.commitment_usd``), a capacity in GW (``program.capacity_gw``)
    and a credit rate (``AMIC at 25%``, ``35% credit``: against every step of
    ``policy.amic.rate``). A figure matches when the value rounds to it at
    its written decimals (``$1.4T`` holds for $1.35T to $1.45T).

    >>> title_warnings("OpenAI $1.4T build-out", {"program.commitment_usd": 1400.0})
    [(('title',), 'says "$1.4T" but program.commitment_usd is $1,400; change the title or the value')]
    >>> title_warnings("A 30 GW program", {"program.capacity_gw": 30.0})
    []
    """
    out = []
    commitment = values.get("program.commitment_usd")
    if isinstance(commitment, float):
        for m in _TITLE_MONEY.finditer(title):
            if not _matches(m["number"], _SUFFIXES[m["suffix"]], commitment):
                shown = fmt.parameter_value(commitment, "USD")
                out.append((m.group(0), "program.commitment_usd", shown))
    capacity = values.get("program.capacity_gw")
    if isinstance(capacity, (int, float)):
        for m in _TITLE_GW.finditer(title):
            if not _matches(m["number"], 1.0, float(capacity)):
                out.append((m.group(0), "program.capacity_gw", f"{fmt.number(capacity)} GW"))
    rates = values.get("policy.amic.rate")
    if isinstance(rates, Mapping) and rates:
        steps = [float(v) for v in rates.values()]
        for pattern in _TITLE_RATE:
            for m in pattern.finditer(title):
                if not any(_matches(m["number"], 0.01, r) for r in steps):
                    shown = fmt.parameter_value(dict(rates), "fraction")
                    out.append((m.group(0), "policy.amic.rate", shown))
    return [
        (("title",), f'says "{said}" but {key} is {shown}; change the title or the value')
        for said, key, shown in out
    ]
