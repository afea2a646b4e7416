"""Parsing of the scalar notations a scenario file may use.

Money is nominal USD: a number, or a string with an optional leading ``$``,
``_`` or ``,`` separators and an optional suffix ``K``, ``M``, ``B`` or ``T``
(thousand, million, billion, trillion): ``"1.4T"``, ``"$250B"``, ``35M``.
A rate is a fraction (``0.35``) or a percent string (``"35%"``).
A numeric string such as ``"1.4e12"`` or ``1e-3`` (which YAML 1.1 reads as
text: no dot before the exponent) is a number wherever a number is allowed.
A year map ``{2023: 0.25, 2026: 0.35}`` is a step function of the calendar
year (MODEL.md section 2).

Every parser raises :class:`UnitError` with a short rule text; the caller
adds the file, line and key.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping

import numpy as np

from finmodel.core.format import money

__all__ = [
    "UnitError",
    "parse_money",
    "parse_rate",
    "parse_number",
    "parse_year_map",
    "year_map_values",
    "format_usd",
]

_SUFFIX = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
_MONEY = re.compile(
    r"^\s*(-)?\s*\$?\s*([0-9][0-9_,]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE]([+-]?[0-9]+))?\s*([KMBT]?)\s*$"
)
_NUMERIC = re.compile(r"^\s*[-+]?(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)(?:[eE][-+]?[0-9]+)?\s*$")
_PERCENT = re.compile(r"^\s*(-?[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*%\s*$")


class UnitError(ValueError):
    """A value that does not parse; ``rule`` says what is allowed."""


def _finite(x: float, text: object) -> float:
    if not math.isfinite(x):
        raise UnitError(f"must be a finite number, got {_show(text)}")
    return x


def _float(value: int | float) -> float:
    """``float(value)``, with inf for an integer too large for a float (refused by ``_finite``)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf


def _numeric_string(value: object) -> float | None:
    """The number a numeric string such as ``"1.4e12"`` spells, else None (MODEL.md section 2)."""
    if isinstance(value, str) and _NUMERIC.match(value):
        return _float(float(value.replace("_", "")))
    return None


def parse_number(value: object) -> float:
    """A plain finite number (bool is refused); a numeric string such as ``"1e-3"`` is a number.

    >>> parse_number("1e-3")
    0.001
    """
    number = _numeric_string(value)
    if number is not None:
        return _finite(number, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnitError(f"must be a number, got {_show(value)}")
    return _finite(_float(value), value)


def parse_money(value: object) -> float:
    """Money in USD from a number or a suffixed string.

    Examples
    --------
    >>> parse_money("1.4T")
    1400000000000.0
    >>> parse_money("$250B")
    250000000000.0
    >>> parse_money("1_500,000")
    1500000.0
    """
    if isinstance(value, str):
        m = _MONEY.match(value.upper())
        if not m:
            raise UnitError(f"must be money: a number or a string like '1.4T', '$250B', '35M', got {value!r}")
        sign, digits, exponent, suffix = m.groups()
        # float() of the whole mantissa and exponent: "1e400" gives inf (refused below), not OverflowError
        number = float(digits.replace("_", "").replace(",", "") + (f"e{exponent}" if exponent else ""))
        x = number * _SUFFIX[suffix] * (-1.0 if sign else 1.0)
        return _finite(x, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnitError(
            f"must be money: a number or a string like '1.4T', '$250B', '35M', got {_show(value)}"
        )
    return _finite(_float(value), value)


def parse_rate(value: object) -> float:
    """A rate as a fraction, from ``0.35`` or ``"35%"``.

    Examples
    --------
    >>> parse_rate("35%")
    0.35
    >>> parse_rate(0.1)
    0.1
    >>> parse_rate("3.5e-1")
    0.35
    """
    number = _numeric_string(value)
    if number is not None:
        return _finite(number, value)
    if isinstance(value, str):
        m = _PERCENT.match(value)
        if not m:
            raise UnitError(f"must be a rate: a fraction like 0.35 or a percent like '35%', got {value!r}")
        return _finite(float(m.group(1)) / 100.0, value)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise UnitError(f"must be a rate: a fraction like 0.35 or a percent like '35%', got {_show(value)}")
    return _finite(_float(value), value)


def parse_year_map(value: object, parse_one) -> dict[int, float]:
    """A year map ``{year: value}`` or a scalar (the value in every year).

    A scalar ``v`` becomes ``{-inf-ish: v}``, stored under key ``0`` so that it
    applies in every calendar year.
    """
    if isinstance(value, Mapping):
        if not value:
            raise UnitError("must be a non-empty year map {year: value}, got {}")
        out: dict[int, float] = {}
        for key, item in value.items():
            if isinstance(key, bool) or not isinstance(key, int):
                raise UnitError(f"year map keys must be calendar years (integers), got {key!r}")
            if not 1900 <= key <= 2200:
                raise UnitError(f"year map keys must be years between 1900 and 2200, got {key}")
            out[key] = parse_one(item)
        return dict(sorted(out.items()))
    return {0: parse_one(value)}


def year_map_values(year_map: Mapping[int, float], years: np.ndarray) -> np.ndarray:
    """Evaluate a step-function year map on calendar years.

    The value of the largest key ``<= y`` applies in year ``y``; before the
    smallest key the value is 0 (MODEL.md section 2).

    Examples
    --------
    >>> year_map_values({2023: 0.25, 2026: 0.35}, np.array([2022, 2025, 2026, 2030])).tolist()
    [0.0, 0.25, 0.35, 0.35]
    """
    keys = np.array(sorted(year_map), dtype=np.int64)
    vals = np.array([year_map[k] for k in sorted(year_map)], dtype=float)
    idx = np.searchsorted(keys, np.asarray(years), side="right") - 1
    return np.where(idx >= 0, vals[np.clip(idx, 0, None)], 0.0)


def format_usd(x: float | None, unit: str = "B", digits: int = 1) -> str:
    """``1.234e11 -> '$123.4B'``; ``None`` and NaN give ``'n/a'``: :func:`finmodel.core.format.money`."""
    return money(x, decimals=digits, scale=unit)


def _show(value: object) -> str:
    if value is None:
        return "null"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
