"""Values of a scenario file as JSON Schema: the notations of units.py, the ``{value, source}`` wrapper.

Part of :mod:`finmodel.scenario.schema`. A notation is the JSON Schema of a
number written as a declared kind allows (money ``"1.4T"``, a rate ``"35%"``
or ``0.35``, a numeric string ``"1.4e12"``, a whole number, a year), with
the declared range: as ``minimum``/``maximum`` for numbers and, where a
bound is a whole percent, in the pattern of percent strings. Shared pieces
go to ``$defs`` once (:class:`Defs`), named after the kind and range
(``rate_min_0_max_1``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from finmodel.scenario.merge import WRAPPER_KEYS
from finmodel.scenario.params import Param

__all__ = [
    "NAME",
    "NAME_TEXT",
    "Defs",
    "notation",
    "notation_name",
    "number",
    "percent_pattern",
    "wrapped",
    "meta",
]

#: A category, group or case name (as validate.py and cases.py check it).
NAME = r"^[A-Za-z_][A-Za-z0-9_\-]*$"
#: Words the loader's YAML 1.1 reads as true or false; an editor reading YAML 1.2 sees text.
_BOOLEAN_WORDS = r"^(?:[Yy]es|YES|[Nn]o|NO|[Tt]rue|TRUE|[Ff]alse|FALSE|[Oo]n|ON|[Oo]ff|OFF)$"
#: A name written as a key or list item (a category, group or case): the pattern, and no
#: unquoted word that YAML 1.1 reads as a boolean (so a quoted "no" is refused too).
NAME_TEXT = {"type": "string", "pattern": NAME, "not": {"pattern": _BOOLEAN_WORDS}}
#: The notations of units.py as ECMA-262 patterns (units.py upper-cases money before matching).
_EXP = r"(?:[eE][-+]?[0-9]+)?"
_NUMERIC = r"(?:[0-9][0-9_]*(?:\.[0-9_]*)?|\.[0-9]+)" + _EXP
_MONEY = r"\$?\s*(?:[0-9][0-9_,]*(?:\.[0-9_]*)?|\.[0-9]+)" + _EXP + r"\s*[KkMmBbTt]?"
_PERCENT = r"[0-9]*\.?[0-9]+" + _EXP


class Defs:
    """The ``$defs`` of the schema: each shared piece written once and referred to by name."""

    def __init__(self) -> None:
        self.schemas: dict[str, Any] = {}

    def ref(self, name: str, schema: Mapping[str, Any]) -> dict[str, str]:
        known = self.schemas.setdefault(name, dict(schema))
        assert known == schema, f"two different $defs named {name}"
        return {"$ref": f"#/$defs/{name}"}


# --------------------------------------------------------------------------- scalar notations


def _int_up_to(m: int) -> str:
    """A pattern of the decimal integers 0..m, without leading zeros.

    >>> import re
    >>> [n for n in range(130) if re.fullmatch(_int_up_to(99), str(n))] == list(range(100))
    True
    """
    digits = str(m)
    alternatives = ["[0-9]"] if len(digits) > 1 else []
    alternatives += [f"[1-9][0-9]{{{k - 1}}}" for k in range(2, len(digits))]
    for i, d in enumerate(digits):
        low = 1 if i == 0 and len(digits) > 1 else 0
        if int(d) > low:
            top = int(d) - 1
            cls = str(low) if top == low else f"[{low}-{top}]"
            rest = len(digits) - i - 1
            alternatives.append(digits[:i] + cls + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "(?:" + "|".join(alternatives) + ")"


def _percent_magnitude(bound: float | None, inclusive: bool) -> str:
    """A percent's digits (no sign) up to ``bound`` percent; exponent forms unchecked."""
    whole = None if bound is None else round(bound)
    if whole is None or not math.isclose(bound, whole) or whole < 1:
        return _PERCENT
    below = rf"0*{_int_up_to(whole - 1)}(?:\.[0-9]+)?|0*\.[0-9]+"
    at = rf"|0*{whole}(?:\.0+)?" if inclusive else ""
    return rf"(?:{below}{at}|[0-9]*\.?[0-9]+[eE][-+]?[0-9]+)"


def percent_pattern(p: Param) -> str:
    """The percent strings within the range of ``p`` (a bound that is not a whole percent: unchecked).

    >>> import re
    >>> rate = Param("x", "rate", "fraction", "", lo=0, hi=1)
    >>> [bool(re.search(percent_pattern(rate), s)) for s in ("35%", "100%", "100.5%", "-1%", "3.5e1%")]
    [True, True, False, False, True]
    """
    alternatives = []
    if p.hi is None or p.hi > 0:
        alternatives.append(_percent_magnitude(None if p.hi is None else p.hi * 100, not p.hi_open))
    if p.lo is None or p.lo < 0:
        alternatives.append("-" + _percent_magnitude(None if p.lo is None else -p.lo * 100, not p.lo_open))
    return r"^\s*(?:" + "|".join(alternatives) + r")\s*%\s*$"


def _range(p: Param) -> dict[str, float]:
    """The range of ``p`` as JSON Schema keywords (they apply to numbers only)."""
    out: dict[str, float] = {}
    if p.lo is not None:
        out["exclusiveMinimum" if p.lo_open else "minimum"] = p.lo
    if p.hi is not None:
        out["exclusiveMaximum" if p.hi_open else "maximum"] = p.hi
    return out


def notation(p: Param, kind: str | None = None) -> dict[str, Any]:
    """A written number of ``p`` (of ``kind``, default its own): money, rate, number, whole number, year."""
    kind = kind or p.kind
    if kind in ("int", "year"):
        return {"type": "integer", **_range(p)}
    unsigned = p.lo is not None and p.lo >= 0  # a minus sign can only give a value out of range
    numeric = r"\s*" + ("[+]?" if unsigned else "[-+]?") + _NUMERIC + r"\s*"
    if kind == "money":
        pattern = r"^\s*" + ("" if unsigned else r"(?:-\s*)?") + _MONEY + r"\s*$"
    elif kind in ("rate", "rate_map", "share_map"):
        pattern = f"^(?:{numeric}|{percent_pattern(p)[1:-1]})$"
    elif kind == "number":
        pattern = f"^{numeric}$"
    else:
        raise ValueError(f"{p.path}: kind {kind!r} is not a number")
    return {"type": ["number", "string"], **_range(p), "pattern": pattern}


def notation_name(p: Param, kind: str) -> str:
    """``rate_min_0_max_1``, ``money_xmin_0``: the $defs name of a notation and its range."""
    name = "rate" if kind in ("rate_map", "share_map") else kind
    for word, bound, open_ in (("min", p.lo, p.lo_open), ("max", p.hi, p.hi_open)):
        if bound is not None:
            name += f"_{'x' if open_ else ''}{word}_{bound:g}"
    return name


def number(defs: Defs, p: Param, kind: str | None = None) -> dict[str, str]:
    kind = kind or p.kind
    return defs.ref(notation_name(p, kind), notation(p, kind))


def wrapped(defs: Defs, name: str, value: Mapping[str, Any]) -> dict[str, str]:
    """``value`` or the wrapper ``{value, source, note}`` around it, as ``$defs/wrapped_NAME``."""
    wrapper = {
        "type": "object",
        "properties": {"value": value, "source": meta(defs, "source"), "note": meta(defs, "note")},
        "required": ["value"],
        "additionalProperties": False,
    }
    assert set(wrapper["properties"]) == WRAPPER_KEYS
    return defs.ref(f"wrapped_{name}", {"anyOf": [value, wrapper]})


def meta(defs: Defs, key: str) -> dict[str, str]:
    """``source:`` (an ID of the sources: map) or ``note:`` (text)."""
    text = {"source": "An ID of the top-level sources: map", "note": "Free text: why this value"}[key]
    return defs.ref(key, {"type": "string", "description": text})
