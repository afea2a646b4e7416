"""The ``cases:`` block (MODEL.md section 15): more cases beside ``without`` and ``with``.

Each case is a mapping of overrides merged onto the scenario as written (a
deep merge, as ``extends``) and validated as a scenario of its own; a case
may override ``policy``, ``finance`` and ``tax`` keys only, since the spend,
the categories and the year grid are shared by every case.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace

from finmodel.scenario.context import Context, show
from finmodel.scenario.merge import deep_merge, merge_origins
from finmodel.scenario.types import Scenario
from finmodel.scenario.yamlio import Problem, ScenarioError

__all__ = ["CASE_SECTIONS", "RESERVED", "validate_cases"]

#: The sections a case may override.
CASE_SECTIONS = ("policy", "finance", "tax")
#: Names a case may not take: the two cases every scenario has, and the change between them.
RESERVED = ("without", "with", "delta")
#: The keys of the scenario a case starts from (the blocks, cases: itself included, are left out).
_SHARED = ("name", "title", "description", "sources", "program", "categories", "policy", "tax")
_SHARED += ("operations", "finance", "analysis", "fiscal")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def _case_problems(ctx: Context, name, overrides) -> bool:
    """Report what is wrong with one case's name and sections; True if it can be validated."""
    where = ("cases", name)
    if not isinstance(name, str) or not _NAME.match(name) or name in RESERVED:
        ctx.add(where, f"a case name is a word other than {', '.join(RESERVED)}, got {show(name)}")
        return False
    if not isinstance(overrides, Mapping):
        ctx.add(where, f"must be a mapping of overrides, got {show(overrides)}")
        return False
    ok = True
    for key in overrides:
        if key not in CASE_SECTIONS:
            ctx.add(
                where + (key,),
                f"a case may override only {', '.join(CASE_SECTIONS)} (the spend, the categories and "
                "the years stay shared by every case)",
            )
            ok = False
    finance = overrides.get("finance")
    if isinstance(finance, Mapping) and "valuation_year" in finance:
        ctx.add(
            where + ("finance", "valuation_year"),
            "the valuation year is shared by every case (one year grid); set it outside cases:",
        )
        ok = False
    return ok


def validate_cases(
    ctx: Context, data: Mapping, origins: dict, file: str, files: tuple[str, ...], validate: Callable
) -> dict[str, Scenario]:
    """Each case of ``data["cases"]`` merged onto the rest of ``data`` and validated with ``validate``.

    A case's problems are reported under ``cases.NAME.``, at the lines it
    wrote. Returns the case scenarios by name.
    """
    block = data["cases"]
    if not isinstance(block, Mapping) or not block:
        ctx.add(("cases",), f"must be a mapping of case names to overrides, got {show(block)}")
        return {}
    base = {
        k: v
        for k, v in data.items()
        if k in ("name", "title", "description", "sources")
        or k in ("program", "categories", "policy", "tax", "operations", "finance", "analysis", "fiscal")
    }
    out: dict[str, Scenario] = {}
    for name, overrides in block.items():
        if not _case_problems(ctx, name, overrides):
            continue
        where = ("cases", name)
        shifted = {path[2:]: line for path, line in origins.items() if path[:2] == where and len(path) > 2}
        case_origins = merge_origins(
            {p: v for p, v in origins.items() if p[:1] != ("cases",)}, shifted, overrides
        )
        try:
            scenario = validate(deep_merge(base, overrides), case_origins, file, files)
        except ScenarioError as err:
            for problem in err.problems:
                ctx.problems.append(
                    Problem(problem.file, problem.line, f"cases.{name}.{problem.key}", problem.message)
                )
            continue
        out[name] = replace(scenario, name=name)
    return out
