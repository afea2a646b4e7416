"""How finmodel writes a number for a reader: money, rates, rate changes, years, parameter values.

The one formatter: the command line, ``summary.md`` and the headline
sentences, chart labels, workbook number formats and the notebooks all call
this module, so a figure reads the same wherever it is printed. Pure Python:
it imports nothing of finmodel.

The rules:

- **Money** is nominal USD shown in billions, with one number of decimals
  per kind of figure (:data:`MONEY_DECIMALS`): amounts to a tenth of a
  billion (``$195.7B``, ``$48.0B``, ``$0.0B``), revenue per GW-year to a
  hundredth (``$12.15B``, ``$9.30B``), so figures of one kind carry three to
  four significant figures at the model's magnitudes and a column of them
  shares its decimals. Thousands are separated (``$1,234.5B``).
- **Rates** are fractions shown in percent to one decimal (``13.1%``); a
  change of a rate in percentage points (``+11.1 pp``); a relative change in
  whole percent (``-23%``).
- **Calendar years** are integers (``2033``, never ``2033.0`` or
  ``2.03e+03``); a change in years is whole years (``-7 years``) unless it
  has a fraction (a mean over draws: ``+0.4 years``).
- **Parameter values** are written as an analyst writes them in a scenario
  file (:func:`parameter_value`): ``$1.4T``, ``35%``, ``2023: 25%, 2026: 35%``.
- **Minus sign**: one convention per medium. Text (terminal, Markdown,
  workbooks, CSV, notes) uses the ASCII hyphen-minus; charts pass
  ``minus=MINUS`` for the typographic minus sign U+2212.
- **Missing** figures (None, NaN) read ``n/a``.

Examples
--------
>>> money(1.957e11, sign=True), money(-1.477e11), money(-1.477e11, minus=MINUS)
('+$195.7B', '-$147.7B', '−$147.7B')
>>> money(1.215e10, "USD/GW-year"), rate(0.1305), rate_change(0.111), year(2033.0)
('$12.15B', '13.1%', '+11.1 pp', '2033')
>>> metric(-7, "year", delta=True), parameter_value(1.4e12, "USD")
('-7 years', '$1.4T')
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

__all__ = [
    "MINUS",
    "HYPHEN",
    "NA",
    "SCALES",
    "MONEY_DECIMALS",
    "MONEY_UNITS",
    "PERCENT_UNITS",
    "money",
    "rate",
    "rate_change",
    "relative_change",
    "year",
    "year_change",
    "gigawatts",
    "metric",
    "number",
    "parameter_value",
    "excel_format",
]

MINUS = "\u2212"  #: the typographic minus sign, for charts
HYPHEN = "-"  #: the ASCII hyphen-minus, for text
NA = "n/a"  #: a figure that is not defined
SCALES = {"": 1.0, "K": 1e3, "M": 1e6, "B": 1e9, "T": 1e12}
#: Decimals of a money figure shown in $B, by unit; other money units get one.
MONEY_DECIMALS = {"USD": 1, "USD/GW-year": 2}
RATE_DECIMALS = 1
#: Units whose values are money, and units whose values are fractions shown in percent.
MONEY_UNITS = ("USD", "USD/GW-year", "USD/MWh")
PERCENT_UNITS = ("fraction", "per year", "USD per USD")
#: Significant digits of a parameter value: as written (listings) and on a label.
EXACT_DIGITS, LABEL_DIGITS = 12, 4


def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return math.isnan(float(x))
    except (TypeError, ValueError):
        return False


def _lead(value: float, sign: bool, minus: str) -> str:
    """The sign in front of a rounded value: ``minus`` if negative, ``+`` if ``sign`` and positive."""
    if value < 0:
        return minus
    return "+" if sign and value > 0 else ""


def money(
    x: float | None,
    unit: str = "USD",
    *,
    sign: bool = False,
    minus: str = HYPHEN,
    decimals: int | None = None,
    scale: str = "B",
) -> str:
    """Money in USD shown in ``scale`` (billions), with the decimals of its ``unit``.

    ``sign`` writes ``+`` before a positive amount (a change). The amount is
    rounded first, so a value that rounds to zero has no sign.

    >>> money(1.2345e12), money(-2.5e12, scale="T", decimals=2), money(None)
    ('$1,234.5B', '-$2.50T', 'n/a')
    >>> money(-0.04e9, sign=True)
    '$0.0B'
    """
    if _missing(x):
        return NA
    d = MONEY_DECIMALS.get(unit, 1) if decimals is None else decimals
    value = round(float(x) / SCALES[scale], d)
    return f"{_lead(value, sign, minus)}${abs(value):,.{d}f}{scale}"


def rate(x: float | None, *, decimals: int = RATE_DECIMALS, sign: bool = False, minus: str = HYPHEN) -> str:
    """A fraction in percent: ``0.1305 -> '13.1%'``.

    >>> rate(0.1305), rate(-0.02), rate(0.35, decimals=0)
    ('13.1%', '-2.0%', '35%')
    """
    if _missing(x):
        return NA
    value = round(float(x) * 100, decimals)
    return f"{_lead(value, sign, minus)}{abs(value):.{decimals}f}%"


def rate_change(x: float | None, *, decimals: int = RATE_DECIMALS, minus: str = HYPHEN) -> str:
    """A change of a rate in percentage points, always signed: ``0.111 -> '+11.1 pp'``.

    >>> rate_change(0.111), rate_change(-0.005), rate_change(0.0)
    ('+11.1 pp', '-0.5 pp', '0.0 pp')
    """
    if _missing(x):
        return NA
    value = round(float(x) * 100, decimals)
    return f"{_lead(value, True, minus)}{abs(value):.{decimals}f} pp"


def relative_change(x: float | None, *, minus: str = HYPHEN) -> str:
    """A relative change in whole percent, always signed: ``-0.234 -> '-23%'``.

    >>> relative_change(-0.234), relative_change(0.051)
    ('-23%', '+5%')
    """
    if _missing(x):
        return NA
    value = round(float(x) * 100)
    return f"{_lead(value, True, minus)}{abs(value):.0f}%"


def year(x: float | None, *, never: str = "never") -> str:
    """A calendar year as an integer; an infinite year (never reached) reads ``never``.

    >>> year(2033), year(2033.0), year(2033.6), year(float("inf")), year(None)
    ('2033', '2033', '2034', 'never', 'n/a')
    """
    if _missing(x):
        return NA
    if math.isinf(float(x)):
        return never
    return str(int(round(float(x))))


def year_change(x: float | None, *, minus: str = HYPHEN) -> str:
    """A change in years, always signed: whole years, or one decimal when not whole.

    >>> year_change(-7), year_change(1), year_change(0), year_change(0.44)
    ('-7 years', '+1 year', '0 years', '+0.4 years')
    """
    if _missing(x) or math.isinf(float(x)):
        return NA
    value = round(float(x), 1)
    text = f"{abs(value):.0f}" if value.is_integer() else f"{abs(value):.1f}"
    return f"{_lead(value, True, minus)}{text} year{'' if abs(value) == 1 else 's'}"


def gigawatts(x: float | None, *, minus: str = HYPHEN) -> str:
    """A capacity in GW to a tenth: ``30 -> '30.0'`` (the unit goes in the header or label).

    >>> gigawatts(30), gigawatts(2.345), gigawatts(None)
    ('30.0', '2.3', 'n/a')
    """
    if _missing(x):
        return NA
    value = round(float(x), 1)
    return f"{_lead(value, False, minus)}{abs(value):,.1f}"


def metric(value: float | None, unit: str, *, delta: bool = False, minus: str = HYPHEN) -> str:
    """A model figure in its ``unit`` (``USD``, ``USD/GW-year``, ``fraction``, ``year``).

    ``delta`` marks a change (with minus without): money gets a ``+`` sign,
    rates percentage points, years a count of years.

    >>> metric(1.957e11, "USD", delta=True), metric(0.111, "fraction", delta=True)
    ('+$195.7B', '+11.1 pp')
    >>> metric(2040, "year"), metric(float("inf"), "year"), metric(None, "USD")
    ('2040', 'never', 'n/a')
    >>> metric(1.2349, "ratio"), metric(-0.163, "ratio", delta=True)
    ('1.23x', '-0.16x')
    """
    if unit in MONEY_UNITS:
        return money(value, unit, sign=delta, minus=minus)
    if unit == "fraction":
        return rate_change(value, minus=minus) if delta else rate(value, minus=minus)
    if unit == "year":
        return year_change(value, minus=minus) if delta else year(value)
    if unit == "ratio":  # a cover ratio: two decimals and an x
        if _missing(value):
            return NA
        v = round(float(value), 2)
        return f"{_lead(v, delta, minus)}{abs(v):.2f}x"
    return number(value, LABEL_DIGITS, minus=minus)


def number(x: float | None, digits: int = EXACT_DIGITS, *, minus: str = HYPHEN) -> str:
    """A plain number: an integer when whole, else ``digits`` significant digits.

    >>> number(30.0), number(1.25), number(2.0 / 3.0, 4)
    ('30', '1.25', '0.6667')
    """
    if _missing(x):
        return NA
    x = float(x)
    if not math.isfinite(x):
        return str(x)
    text = str(int(x)) if x.is_integer() and abs(x) < 1e15 else f"{x:.{digits}g}"
    return text.replace("-", minus)


def _significant(x: float, digits: int) -> str:
    """``x`` (not negative) to ``digits`` significant digits, thousands separated, never in e-notation."""
    text = f"{x:,.{digits}g}"
    return f"{float(text.replace(',', '')):,.0f}" if "e" in text else text


def _money_value(x: float, digits: int, minus: str) -> str:
    lead = minus if x < 0 else ""
    for suffix in ("T", "B", "M"):
        if abs(x) >= SCALES[suffix]:
            return f"{lead}${_significant(abs(x) / SCALES[suffix], digits)}{suffix}"
    return f"{lead}${_significant(abs(x), digits)}"


def _scalar(x: float, unit: str, label: bool, minus: str) -> str:
    digits = LABEL_DIGITS if label else EXACT_DIGITS
    if unit in MONEY_UNITS:
        return _money_value(x, digits, minus)
    if unit in PERCENT_UNITS:
        # at most 10 digits: the factor 100 brings its own rounding error (0.07 * 100)
        return f"{minus if x < 0 else ''}{_significant(abs(x) * 100, min(digits, 10))}%"
    if label and unit == "years":
        return f"{number(x, digits, minus=minus)} year{'' if abs(x) == 1 else 's'}"
    return number(x, digits, minus=minus)


def _mapping(value: Mapping, unit: str, label: bool, minus: str) -> str:
    if list(value) == [0]:  # a year map written as one value
        return parameter_value(value[0], unit, label=label, minus=minus)
    if "shares" in value:  # a spend schedule
        shares = [_scalar(float(x), "fraction", label, minus) for x in value["shares"]]
        return "/".join(s.rstrip("%") for s in shares) + "%" if label else "shares " + ", ".join(shares)
    if "ramp" in value:
        extra = [f"{k} {number(float(value[k]))}" for k in ("midpoint", "steepness") if k in value]
        return f"{value['ramp']} ramp" + (f" ({', '.join(extra)})" if extra and not label else "")
    keys = list(value)
    if label and all(isinstance(k, int) for k in keys):  # a year map: the step in force at the end
        last = max(keys)
        text = parameter_value(value[last], unit, label=True, minus=minus)
        return text if last <= 1900 else f"{text} from {last}"
    return ", ".join(f"{k}: {parameter_value(v, unit, label=label, minus=minus)}" for k, v in value.items())


def parameter_value(
    value: Any, unit: str = "-", *, nullable: str | None = None, label: bool = False, minus: str = HYPHEN
) -> str:
    """A scenario value as an analyst writes it, in its declared ``unit``.

    Money takes the largest of the suffixes T, B, M that fits (``$1.4T``,
    ``$250B``); fractions and rates per year are percent (``35%``); years and
    counts are integers; a year map lists its steps (``2023: 25%, 2026: 35%``).
    As written (``label=False``, listings with a unit column) a value keeps
    12 significant digits and ``null`` reads ``null (meaning)``. On a
    ``label`` (a chart tick, a tornado row) it keeps 4, counts of years say
    ``years``, a year map shows the step in force at the end (``35% from 2026``)
    and ``None`` or an infinite value reads as its meaning (``no deadline``) or ``none``.

    >>> parameter_value({2023: 0.25, 2026: 0.35}, "fraction")
    '2023: 25%, 2026: 35%'
    >>> parameter_value({2023: 0.25, 2026: 0.35}, "fraction", label=True)
    '35% from 2026'
    >>> parameter_value(1.23456e12, "USD", label=True), parameter_value(2, "years", label=True)
    ('$1.235T', '2 years')
    >>> parameter_value(1.0, "fraction", label=True), parameter_value(0.07, "per year")
    ('100%', '7%')
    >>> parameter_value(None, "year", nullable="no deadline")
    'null (no deadline)'
    >>> parameter_value({"ramp": "s_curve", "midpoint": 4.0, "steepness": 1.0})
    's_curve ramp (midpoint 4, steepness 1)'
    """
    if value is None or (label and isinstance(value, float) and math.isinf(value)):
        if label:
            return nullable or "none"
        return f"null ({nullable})" if nullable else "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping):
        return _mapping(value, unit, label, minus)
    if isinstance(value, (list, tuple)):
        return ", ".join(parameter_value(v, unit, label=label, minus=minus) for v in value) or "(none)"
    x = float(value)
    if not math.isfinite(x):
        return str(x)
    return _scalar(x, unit, label, minus)


def excel_format(unit: str, *, signed: bool = False, decimals: int | None = None) -> str:
    """The workbook number format that shows a cell (held in its unit) as :func:`metric` writes it.

    Money cells hold USD and show in $B (each ``,`` after the digits divides
    by 1,000), negatives in red with a hyphen-minus; fractions show in
    percent; years as integers. ``signed`` (a change) adds ``+``; a year
    change reads ``-7 years`` (a change of one year also reads ``years``).
    Excel cannot show a fraction in percentage points, so a change of rate
    reads ``+11.1%``. ``decimals`` overrides the money decimals of ``unit``.

    >>> excel_format("USD")
    '"$"#,##0.0,,,"B";[Red]-"$"#,##0.0,,,"B"'
    >>> excel_format("year", signed=True)
    '+0" years";-0" years";"0 years"'
    """
    if unit in MONEY_UNITS:
        zeros = "0" * (MONEY_DECIMALS.get(unit, 1) if decimals is None else decimals)
        body = f'"$"#,##0.{zeros},,,"B"'
        return f'+{body};[Red]-{body};"$"0.{zeros}"B"' if signed else f"{body};[Red]-{body}"
    if unit in PERCENT_UNITS:
        return "+0.0%;-0.0%;0.0%" if signed else "0.0%"
    if unit == "year":
        return '+0" years";-0" years";"0 years"' if signed else "0"
    return "General"
