"""Validation: a merged scenario mapping in, a frozen :class:`~finmodel.scenario.types.Scenario` out.

:func:`validate` resolves every declared key (written value or default,
with its provenance), then checks the rules that span keys, one function
per rule, then the optional top-level blocks registered in
:data:`finmodel.scenario.blocks.BLOCKS`. Every problem found is
collected in a :class:`~finmodel.scenario.context.Context` and raised
together in one :class:`~finmodel.scenario.yamlio.ScenarioError`, each naming
the file, the line and the key path.
"""

from __future__ import annotations

import copy
import difflib
import math
import re
from collections.abc import Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

from finmodel.scenario.blocks import BLOCKS
from finmodel.scenario.cases import validate_cases
from finmodel.scenario.context import Context, show, unknown_key
from finmodel.scenario.guards import title_warnings
from finmodel.scenario.params import CATEGORY_KEYS, PARAMETERS, SHARE_TOLERANCE, Param
from finmodel.scenario.schedule import check_schedule
from finmodel.scenario.types import Provenance, Scenario
from finmodel.scenario.values import param_value
from finmodel.scenario.yamlio import ScenarioError

__all__ = ["validate"]

#: The top-level keys of a scenario besides the optional blocks.
TOP_LEVEL = (
    "name",
    "title",
    "label",
    "description",
    "extends",
    "sources",
    "program",
    "categories",
    "policy",
    "tax",
    "operations",
    "finance",
    "analysis",
    "fiscal",
    "cases",
    "refresh",
    "incidence",
)
_SECTIONS = (
    "program",
    "policy",
    "tax",
    "operations",
    "finance",
    "analysis",
    "fiscal",
    "refresh",
    "incidence",
)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
_DEFAULTED = Provenance(True, None, None, None, None)


def validate(data: dict, origins: dict, file: str, files: tuple[str, ...]) -> Scenario:
    """Check every rule of a merged scenario mapping; return it frozen, or raise every problem found.

    ``origins`` maps key paths to ``(file, line)``; ``file`` is named in
    problems without a line; ``files`` is the ``extends`` chain, root first.
    """
    ctx = Context(file, origins, files)
    _check_top_level_keys(ctx, data)
    name, title, label = _check_name_and_text(ctx, data)
    sources = _check_sources(ctx, data)
    _check_sections(ctx, data)
    res = _Resolution(ctx, data, sources)
    ok_program = all([res.resolve_declared(p) for p in PARAMETERS if p.path.startswith("program.")])
    cat_names = _resolve_categories(res)
    for p in PARAMETERS:
        if p.path.split(".")[0] not in ("program", "categories"):
            res.resolve_declared(p)
    values = res.values
    if cat_names:
        _check_shares_sum(ctx, values, cat_names)
        _check_group_names(ctx, values, cat_names)
    if isinstance(values.get("program.years"), int) and ok_program:
        check_schedule(ctx, values, sources)
    _check_horizon(ctx, values, cat_names)
    _check_land_not_bonus(ctx, values, res.prov, cat_names)
    _check_capacity_category(ctx, values, cat_names)
    _check_eligible(ctx, values, cat_names)
    _check_refresh(ctx, values, cat_names)
    _check_third_party_names(ctx, values, cat_names)
    ctx.sources = sources  # for source: keys inside the blocks
    extras = {key: validator(data[key], ctx, values) for key, validator in BLOCKS.items() if key in data}
    case_scenarios = {}
    if data.get("cases") is not None and not ctx.problems:
        case_scenarios = validate_cases(ctx, data, origins, file, files, validate)
        extras["cases"] = copy.deepcopy(dict(data["cases"]))
    if isinstance(data.get("incidence"), Mapping) and not ctx.problems:
        _check_incidence_cases(ctx, values, data, case_scenarios)
    if ctx.problems:
        raise ScenarioError(ctx.problems)
    return Scenario(
        warnings=_warnings(ctx, title, values, case_scenarios),
        name=name,
        title=title,
        label=label,
        path=file,
        values=MappingProxyType(values),
        provenance=MappingProxyType(res.prov),
        sources=MappingProxyType(dict(sources)),
        raw=MappingProxyType(copy.deepcopy(data)),
        extras=MappingProxyType(extras),
        files=files,
        origins=MappingProxyType(dict(origins)),
        case_scenarios=MappingProxyType(case_scenarios),
    )


def _warnings(ctx: Context, title: str, values: Mapping, case_scenarios: Mapping) -> tuple:
    """The scenario's warnings (:mod:`finmodel.scenario.guards`), then its cases' own, each once.

    A case's title is the scenario's; its figures are checked against the scenario's values only.
    """
    for path, message in title_warnings(title, values):
        ctx.warn(path, message)
    out = list(ctx.warnings)
    seen = {(w.file, w.line, w.message) for w in out}
    for name, case in case_scenarios.items():
        for w in case.warnings:
            if w.key != "title" and (w.file, w.line, w.message) not in seen:
                seen.add((w.file, w.line, w.message))
                out.append(replace(w, key=f"cases.{name}.{w.key}"))
    return tuple(out)


# --------------------------------------------------------------------------- the file's own keys


def _check_top_level_keys(ctx: Context, data: Mapping) -> None:
    """Every top-level key is a section, a descriptive key or a registered block."""
    for key in data:
        if key not in TOP_LEVEL and key not in BLOCKS:
            unknown_key(ctx, (), key, list(TOP_LEVEL) + sorted(BLOCKS))


def _check_name_and_text(ctx: Context, data: Mapping) -> tuple[str, str, str]:
    """``name`` is non-empty text; ``title`` (default: the name), ``label`` (default: the title) and
    ``description`` are text."""
    name = data.get("name")
    if not isinstance(name, str) or not name.strip():
        ctx.add(("name",), f"must be text, got {show(name)}")
        name = "scenario"
    title = data.get("title", name)
    if not isinstance(title, str):
        ctx.add(("title",), f"must be text, got {show(title)}")
        title = name
    label = data.get("label", title)
    if not isinstance(label, str) or not label.strip():
        ctx.add(("label",), f"must be non-empty text, got {show(label)}")
        label = title
    description = data.get("description")
    if description is not None and not isinstance(description, str):
        ctx.add(("description",), f"must be text, got {show(description)}")
    return name, title, label


def _check_sources(ctx: Context, data: Mapping) -> dict[str, str]:
    """``sources:`` maps an ID to its citation text; returns the well-formed entries."""
    sources = data.get("sources", {}) or {}
    if not isinstance(sources, Mapping):
        ctx.add(("sources",), f"must be a mapping {{ID: citation}}, got {show(sources)}")
        return {}
    for sid, cite in sources.items():
        if not isinstance(sid, str) or not isinstance(cite, str):
            ctx.add(("sources", sid), f'a source is ID: "citation text", got {show(cite)}')
    return {k: v for k, v in sources.items() if isinstance(k, str) and isinstance(v, str)}


def _check_sections(ctx: Context, data: dict) -> None:
    """Each section is a mapping (a broken one is replaced by ``{}``) holding only declared keys."""
    for section in _SECTIONS:
        block = data.get(section, {})
        if block is None or not isinstance(block, Mapping):
            ctx.add((section,), f"must be a mapping of keys, got {show(block)}")
            data[section] = {}
    for parts in (("policy", "amic"), ("policy", "loan_guarantee"), ("finance", "debt")):
        present, block = _lookup(data, parts)
        if present and not isinstance(block, Mapping):
            ctx.add(parts, f"must be a mapping of keys, got {show(block)}")
    section_keys: dict[tuple, list[str]] = {}
    for p in PARAMETERS:
        if not p.path.startswith("categories."):
            parts = tuple(p.path.split("."))
            section_keys.setdefault(parts[:-1], []).append(parts[-1])
    for parent in list(section_keys):  # a sub-block (policy.amic, finance.debt) is a key of its section
        if len(parent) > 1 and parent[-1] not in section_keys.setdefault(parent[:-1], []):
            section_keys[parent[:-1]].append(parent[-1])
    for parent, keys in section_keys.items():
        present, block = _lookup(data, parent)
        if present and isinstance(block, Mapping):
            for key in block:
                if key not in keys:
                    unknown_key(ctx, parent, key, keys)


def _lookup(data: Mapping, parts: tuple) -> tuple[bool, Any]:
    """(whether the key path is written, its value)."""
    node = data
    for part in parts:
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


# --------------------------------------------------------------------------- declared keys


class _Resolution:
    """The resolved values of one scenario and where each came from, filled key by key."""

    def __init__(self, ctx: Context, data: Mapping, sources: Mapping[str, str]):
        self.ctx = ctx
        self.data = data
        self.sources = sources
        self.values: dict[str, Any] = {}
        self.prov: dict[str, Provenance] = {}

    def resolve_declared(self, p: Param) -> bool:
        """Resolve a key that is not a category key; False if its written value is broken."""
        return self.resolve(p, p.path, tuple(p.path.split(".")), None)

    def resolve(self, p: Param, path_key: str, parts: tuple, cat: str | None) -> bool:
        """Resolve ``p`` (at ``parts``, stored as ``path_key``): its written value, else its default.

        A required key that is missing is a problem; a default that depends
        on other keys is computed from the values resolved so far.
        """
        present, raw = _lookup(self.data, parts)
        if present:
            value, source, note, ok = param_value(self.ctx, p, parts, raw, self.sources)
            file, line = self.ctx.where(parts)
            self.values[path_key] = value
            self.prov[path_key] = Provenance(False, file, line, source, note)
            if value is None and p.path == "categories.*.life_years":
                self.values[path_key] = self.values.get(f"categories.{cat}.macrs_years")
            return ok
        if p.required:
            self.ctx.add(parts, "required key is missing")
            self.values[path_key] = None
            return False
        default = p.default
        if callable(default):
            try:
                default = default(self.values, cat)
            except (KeyError, TypeError):
                default = None
        self.values[path_key] = copy.deepcopy(default)
        self.prov[path_key] = _DEFAULTED
        return True


def _resolve_categories(res: _Resolution) -> list[str]:
    """Check the ``categories:`` block and resolve each well-formed category; returns their names."""
    ctx = res.ctx
    cats = res.data.get("categories")
    cat_names: list[str] = []
    if not isinstance(cats, Mapping) or not cats:
        ctx.add(
            ("categories",), "required: a mapping of at least one category NAME: {share, macrs_years, ...}"
        )
        cats = {}
    for cname, block in cats.items():
        if not isinstance(cname, str) or not _NAME.match(cname):
            quote = (
                " (YAML reads an unquoted yes/no/on/off/true/false as a boolean: quote the name)"
                if isinstance(cname, bool)
                else ""
            )
            ctx.add(
                ("categories", cname),
                "a category name must start with a letter and hold only letters, digits, _ or -" + quote,
            )
            continue
        if not isinstance(block, Mapping):
            ctx.add(
                ("categories", cname), f"must be a mapping {{share, macrs_years, ...}}, got {show(block)}"
            )
            continue
        cat_names.append(cname)
        for key in block:
            if key not in CATEGORY_KEYS:
                unknown_key(ctx, ("categories", cname), key, CATEGORY_KEYS)
        for p in PARAMETERS:
            if p.path.startswith("categories.*."):
                k = p.path.split(".")[2]
                res.resolve(p, f"categories.{cname}.{k}", ("categories", cname, k), cname)
    res.values["categories"] = tuple(cat_names)
    return cat_names


# --------------------------------------------------------------------------- rules across keys


def _check_shares_sum(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """The category shares sum to 1 within 1e-9; they are never rescaled."""
    shares = [values.get(f"categories.{c}.share") for c in cat_names]
    if all(isinstance(s, float) for s in shares):
        total = math.fsum(shares)
        if abs(total - 1.0) > SHARE_TOLERANCE:
            listing = ", ".join(f"{c} {s:g}" for c, s in zip(cat_names, shares, strict=True))
            ctx.add(
                ("categories",),
                f"category shares must sum to 1 (within 1e-9), got {total:.12g} ({listing}); "
                "shares are never rescaled",
            )


def _check_group_names(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """A group name is a name, and never the name of a category of another group."""
    for c in cat_names:
        group = values.get(f"categories.{c}.group")
        if isinstance(group, str) and not _NAME.match(group):
            ctx.add(
                ("categories", c, "group"),
                f"a group name must start with a letter and hold only letters, digits, _ or -, got {group!r}",
            )
    groups = {values.get(f"categories.{c}.group") for c in cat_names}
    for g in groups:
        if g in cat_names and values.get(f"categories.{g}.group") != g:
            ctx.add(
                ("categories", g, "group"),
                f"group name {g!r} is also a category name of another group; names must not be ambiguous",
            )


def _check_horizon(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """The horizon holds the spend and its placing in service, the valuation year and the budget window."""
    start = values.get("program.start_year")
    nyears = values.get("program.years")
    end = values.get("analysis.end_year")
    if not (isinstance(start, int) and isinstance(nyears, int) and isinstance(end, int)):
        return
    if end < start:
        ctx.add(("analysis", "end_year"), f"must be >= program.start_year ({start}), got {end}")
    else:
        _check_spend_in_horizon(ctx, values, cat_names)
    vy = values.get("finance.valuation_year")
    if isinstance(vy, int) and not start - 100 <= vy <= end + 100:
        ctx.add(
            ("finance", "valuation_year"),
            f"must lie within 100 years of the horizon {start}-{end}, got {vy}",
        )
    _check_window_overlaps(ctx, values)


def _check_spend_in_horizon(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """Every year of spend, and its placing in service, falls within a horizon of at most 200 years."""
    start, nyears, end = values["program.start_year"], values["program.years"], values["analysis.end_year"]
    last_spend = start + nyears - 1
    if last_spend > end:
        key = ctx.latest(("analysis", "end_year"), ("program", "years"), ("program", "start_year"))
        ctx.add(
            key,
            f"spend runs to {last_spend} (start_year {start} + years {nyears} - 1) "
            f"but the horizon ends in {end}",
        )
    for c in cat_names:
        lag = values.get(f"categories.{c}.in_service_lag_years")
        if isinstance(lag, int) and lag > 0 and last_spend <= end < last_spend + lag:
            ctx.add(
                ("categories", c, "in_service_lag_years"),
                f"spend of {last_spend} would be placed in service in {last_spend + lag}, "
                f"after analysis.end_year {end}; "
                "every spend must be placed in service within the horizon",
            )
    if end - start + 1 > 200:
        ctx.add(
            ("analysis", "end_year"), f"horizon of {end - start + 1} years is longer than the 200 allowed"
        )


def _check_window_overlaps(ctx: Context, values: Mapping) -> None:
    """The budget window shares at least one year with the horizon (MODEL.md section 10 clips the rest)."""
    start, end = values["program.start_year"], values["analysis.end_year"]
    ws, wn = values.get("fiscal.window_start"), values.get("fiscal.window_years")
    if isinstance(ws, int) and isinstance(wn, int) and end >= start and (ws > end or ws + wn - 1 < start):
        ctx.add(
            ctx.latest(("fiscal", "window_start"), ("fiscal", "window_years"))
            if ws + wn - 1 < start
            else ("fiscal", "window_start"),
            f"the budget window {ws}-{ws + wn - 1} does not overlap the horizon {start}-{end}; "
            "it must share at least one year with it",
        )


def _check_land_not_bonus(ctx: Context, values: Mapping, prov: Mapping, cat_names: list[str]) -> None:
    """Land (``macrs_years: null``) is never depreciated, so it cannot be written as bonus eligible."""
    for c in cat_names:
        macrs = values.get(f"categories.{c}.macrs_years")
        bonus = values.get(f"categories.{c}.bonus_eligible")
        if macrs is None and bonus and not prov.get(f"categories.{c}.bonus_eligible", _DEFAULTED).is_default:
            ctx.add(
                ("categories", c, "bonus_eligible"),
                "land (macrs_years: null) is never depreciated, so it cannot be bonus eligible",
            )


def _check_capacity_category(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """With ``capacity_gw > 0``, ``capacity_category`` names a category whose share is not 0."""
    gw = values.get("program.capacity_gw")
    cap_cat = values.get("program.capacity_category")
    if not (isinstance(gw, float) and gw > 0 and cat_names):
        return
    if cap_cat not in cat_names:
        ctx.add(
            ("program", "capacity_category"),
            f"must name a category when capacity_gw > 0, got {cap_cat!r}{_did_you_mean(cap_cat, cat_names)} "
            f"(categories: {', '.join(cat_names)})",
        )
    elif values.get(f"categories.{cap_cat}.share") == 0.0:
        ctx.add(
            ("program", "capacity_category"),
            f"category {cap_cat!r} has share 0, so it cannot deliver {gw:g} GW",
        )


def _check_eligible(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """Each name in ``policy.amic.eligible`` is a category or a group."""
    eligible = values.get("policy.amic.eligible")
    if not (isinstance(eligible, tuple) and cat_names):
        return
    groups = {values.get(f"categories.{c}.group") for c in cat_names}
    known = list(cat_names) + sorted(g for g in groups if isinstance(g, str) and g not in cat_names)
    for i, n in enumerate(eligible):
        if n not in known:
            ctx.add(
                ("policy", "amic", "eligible", i),
                f"{n!r} is neither a category nor a group{_did_you_mean(n, known)} "
                f"(known: {', '.join(known)})",
            )


def _known_names(values: Mapping, cat_names: list[str]) -> list[str]:
    """The category names, then the group names that are not also category names."""
    groups = {values.get(f"categories.{c}.group") for c in cat_names}
    return list(cat_names) + sorted(g for g in groups if isinstance(g, str) and g not in cat_names)


def _check_refresh(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """Each name in ``refresh.categories`` is a category or group whose property has a life of 1+ years."""
    listed = values.get("refresh.categories")
    if not (isinstance(listed, tuple) and cat_names):
        return
    known = _known_names(values, cat_names)
    for i, n in enumerate(listed):
        if n not in known:
            ctx.add(
                ("refresh", "categories", i),
                f"{n!r} is neither a category nor a group{_did_you_mean(n, known)} "
                f"(known: {', '.join(known)})",
            )
            continue
        for c in cat_names:
            if n not in (c, values.get(f"categories.{c}.group")):
                continue
            life = values.get(f"categories.{c}.life_years")
            if values.get(f"categories.{c}.macrs_years") is None:
                why = "is land (macrs_years: null): land is not retired, so there is nothing to replace"
            elif life is None:
                why = "has no life_years: give it one to say when it is replaced"
            elif isinstance(life, int) and life < 1:
                why = f"has life_years: {life}; a replaced category needs a life of at least 1 year"
            else:
                continue
            named = f"category {c!r}" + (f" (group {n!r})" if n != c else "")
            ctx.add(("refresh", "categories", i), f"{named} {why}")


def _check_third_party_names(ctx: Context, values: Mapping, cat_names: list[str]) -> None:
    """The names in ``incidence.third_party_share`` are categories or groups (MODEL.md section 18)."""
    share = values.get("incidence.third_party_share")
    if not (isinstance(share, dict) and cat_names):
        return
    known = _known_names(values, cat_names)
    for n in share:
        if n not in known:
            ctx.add(
                ("incidence", "third_party_share", n),
                f"{n!r} is neither a category nor a group{_did_you_mean(n, known)} "
                f"(known: {', '.join(known)})",
            )


def _check_incidence_cases(ctx: Context, values: Mapping, data: Mapping, cases: Mapping) -> None:
    """Incidence splits a case's gain exactly only with unlimited tax capacity, credit paid in cash
    (``direct_pay`` or ``transfer``) and one corporate rate, in every case (MODEL.md section 18)."""
    rules = (
        (("tax", "capacity"), ("unlimited",), "tax.capacity: unlimited"),
        (
            ("policy", "amic", "monetization"),
            ("direct_pay", "transfer"),
            "monetization direct_pay or transfer",
        ),
    )
    why = "incidence: splits each case's gain by category only with "
    for parts, allowed, text in rules:
        value = values.get(".".join(parts))
        if value not in allowed:
            ctx.add(parts, f"{why}{text}, got {value!r} (remove incidence: or change this key)")
    overrides = data.get("cases") if isinstance(data.get("cases"), Mapping) else {}
    for name, case in cases.items():
        written = overrides.get(name) or {}
        for parts, allowed, text in rules:
            value = case[".".join(parts)]
            if value not in allowed and _lookup(written, parts)[0]:
                ctx.add(("cases", name) + parts, f"{why}{text} in every case, got {value!r}")
        if _lookup(written, ("tax", "corporate_rate"))[0] and case["tax.corporate_rate"] != values.get(
            "tax.corporate_rate"
        ):
            ctx.add(
                ("cases", name, "tax", "corporate_rate"),
                f"{why}one corporate rate in every case: a case may not change tax.corporate_rate "
                f"({case['tax.corporate_rate']:g} here, "
                f"{values.get('tax.corporate_rate'):g} in the scenario)",
            )


def _did_you_mean(name, known: list[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest known name, or nothing."""
    hint = difflib.get_close_matches(str(name), known, n=1)
    return f"; did you mean '{hint[0]}'?" if hint else ""
