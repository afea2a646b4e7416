"""What-ifs without files: ``--set KEY=VALUE`` items applied to a loaded scenario.

``KEY`` is a parameter path as ``finmodel sources`` lists it
(``operations.utilization``, ``categories.servers.life_years``) or a step of
a rate by year, ``policy.amic.rate[2026]`` (the step starting in 2026, added
if none starts there; later steps unchanged). ``VALUE`` is written in the
scenario file's notation and read as YAML: ``1.2T``, ``30%``, ``0.3``,
``null`` where the key allows it, ``[servers, grid]`` for a list of names,
``{2023: 25%, 2027: 35%}`` for a whole year map. The items are applied
together with :meth:`Scenario.override` and the result is validated as a file
would be; every problem is reported as ``--set: KEY: message``. The items, as
given and as parsed, are kept on the scenario (``Scenario.overrides``) for
``run.json`` (MODEL.md section 11, "What-ifs without files").
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping, Sequence
from typing import Any

import yaml

from finmodel.scenario.merge import is_atomic
from finmodel.scenario.params import param_for, split_step
from finmodel.scenario.types import Scenario
from finmodel.scenario.varying import RATE_MAPS, check_path
from finmodel.scenario.yamlio import Problem, ScenarioError, _Builder, _Loader

__all__ = ["SET_ORIGIN", "SetItem", "parse_set", "apply_sets", "parsed_value", "set_item_replaced"]

#: The "file" named by problems and provenance of values set on the command line.
SET_ORIGIN = "--set"
#: What a KEY may be, for messages.
ALLOWED_KEYS = (
    "a parameter path as `finmodel sources SCENARIO` lists it (e.g. operations.utilization, "
    f"categories.servers.life_years), or a step of a rate by year, {RATE_MAPS[0]}[YEAR]"
)


@dataclasses.dataclass(frozen=True)
class SetItem:
    """One ``KEY=VALUE``: the text given, the key and the value as YAML reads it."""

    given: str
    key: str
    value: Any


def _problem(key: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(SET_ORIGIN, None, key, message)])


def parse_set(text: str) -> SetItem:
    """``KEY=VALUE`` split at the first ``=``, the value read as YAML (safe, plain data only).

    >>> parse_set("policy.amic.rate[2026]=30%")
    SetItem(given='policy.amic.rate[2026]=30%', key='policy.amic.rate[2026]', value='30%')
    >>> parse_set("policy.amic.eligible=[servers, grid]").value
    ['servers', 'grid']
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise _problem("", f"takes KEY=VALUE, got {text!r}; KEY is {ALLOWED_KEYS}")
    if not raw.strip():
        raise _problem(
            key, "no value after '='; write the value in the scenario file's notation (null for none)"
        )
    loader = _Loader(raw)
    try:
        node = loader.get_single_node()
        value = _Builder(loader, SET_ORIGIN).build(node) if node is not None else None
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise _problem(key, f"value {raw.strip()!r} is not readable as YAML ({problem})") from None
    except ScenarioError as exc:
        raise _problem(key, exc.problems[0].message) from None
    finally:
        loader.dispose()
    return SetItem(text, key, value)


def _key_problem(key: str, scenario: Scenario) -> str | None:
    """Why ``key`` is not something ``--set`` can change in ``scenario`` (None if it is)."""
    base, year = split_step(key)
    if param_for(key, scenario.values) is not None:
        return None
    if year is not None and param_for(base, scenario.values) is not None:
        return check_path(key, scenario.values)
    if base.startswith("categories."):
        cats = ", ".join(scenario.category_names)
        return (
            f"unknown parameter {key!r}: --set changes the keys of this scenario's categories "
            f"({cats}); add a category in a scenario file"
        )
    known = [p for p in scenario.values if p != "categories"]
    hint = difflib.get_close_matches(base, known, n=1, cutoff=0.6)
    tip = f"; did you mean '{hint[0]}'?" if hint else ""
    return f"unknown parameter {key!r}{tip} (KEY is {ALLOWED_KEYS})"


def parsed_value(scenario: Scenario, key: str) -> Any:
    """The resolved value ``key`` has in ``scenario``, JSON-ready (a step: its rate)."""
    base, year = split_step(key)
    value = scenario[base]
    if year is not None:
        return value[year]
    if isinstance(value, Mapping):
        return value[0] if list(value) == [0] else {str(k): v for k, v in value.items()}
    return list(value) if isinstance(value, tuple) else value


def _mapping_to_wrap(value) -> bool:
    """A mapping that ``Scenario.override`` would merge into the key's value instead of replacing it."""
    return isinstance(value, Mapping) and not is_atomic(value)


def apply_sets(scenario: Scenario, items: Sequence[str | SetItem]) -> Scenario:
    """``scenario`` with every ``KEY=VALUE`` of ``items`` applied at once and validated again.

    Raises :class:`ScenarioError` naming ``--set`` and the key: a key that is
    not a parameter of the scenario, a key given twice, a step given a map or
    a list, and every problem of the changed scenario. The items are recorded
    in ``Scenario.overrides`` (``given``, ``key``, ``value`` as resolved).
    """
    if not items:
        return scenario
    parsed = [item if isinstance(item, SetItem) else parse_set(item) for item in items]
    problems, seen = [], set()
    for item in parsed:
        why = _key_problem(item.key, scenario)
        if why is None and item.key in seen:
            why = "given twice; give each KEY once"
        if why is None and split_step(item.key)[1] is not None and isinstance(item.value, (Mapping, list)):
            why = f"a step of a rate by year takes one rate (30%, 0.3), got {item.value!r}"
        if why:
            problems.append(Problem(SET_ORIGIN, None, item.key, why))
        seen.add(item.key)
    if problems:
        raise ScenarioError(problems)
    # a mapping (a schedule, shares by name) replaces the key's value whole, as written in a file
    changes = {i.key: {"value": i.value} if _mapping_to_wrap(i.value) else i.value for i in parsed}
    changed = scenario.override(changes, origin=SET_ORIGIN)
    records = tuple(
        {"given": item.given, "key": item.key, "value": parsed_value(changed, item.key)} for item in parsed
    )
    return dataclasses.replace(changed, overrides=tuple(scenario.overrides) + records)


def _moved_step(scenario: Scenario, key: str) -> tuple[str, int | None]:
    """The parameter and the step of a rate by year that varying ``key`` moves (None: the whole key).

    Without ``[YEAR]``, a rate by year moves its last step (:func:`~finmodel.scenario.varying.set_step`).
    """
    base, year = split_step(key)
    p = param_for(base, scenario.values)
    if year is None and p is not None and p.kind == "rate_map" and isinstance(scenario[base], Mapping):
        year = max(scenario[base])
    return base, year


def set_item_replaced(scenario: Scenario, key: str) -> str | None:
    """The ``--set`` item (as given) whose value varying ``key`` in a sweep or solve would replace.

    ``scenario`` carries its ``--set`` items (:func:`apply_sets`). A varied key
    replaces an item that sets the same key, or the step of a rate by year
    that the varied key moves (its last step when written without
    ``[YEAR]``); a step varied under a rate by year set whole is a new
    question and replaces nothing. None when no item is replaced.

    >>> from finmodel.scenario import scenario_from_dict
    >>> s = apply_sets(scenario_from_dict({
    ...     "program": {"commitment_usd": "1B", "start_year": 2026, "years": 1},
    ...     "categories": {"servers": {"share": 1, "macrs_years": 5}},
    ...     "policy": {"amic": {"rate": {2023: 0.25, 2026: 0.35}}}}),
    ...     ["policy.amic.rate[2026]=30%", "operations.utilization=70%"])
    >>> set_item_replaced(s, "policy.amic.rate"), set_item_replaced(s, "policy.amic.rate[2023]")
    ('policy.amic.rate[2026]=30%', None)
    >>> set_item_replaced(s, "operations.utilization")
    'operations.utilization=70%'
    """
    varied = _moved_step(scenario, key)
    for item in scenario.overrides:
        if item["key"] == key:
            return item["given"]
        base, year = split_step(item["key"])
        if year is not None and (base, year) == varied:
            return item["given"]
    return None
