"""Optional top-level blocks of a scenario (``uncertainty:``, ``sensitivity:``), registered explicitly.

Each entry of :data:`BLOCKS` maps a top-level key to its validator,
``validator(block, ctx, values) -> parsed``:

- ``block`` is the value written under the key, after ``extends`` merging
  (None when a child scenario removes its parent's block);
- ``ctx`` is the :class:`~finmodel.scenario.context.Context`: problems go
  through ``ctx.add(key_path, message)``, and ``ctx.sources`` holds the
  checked ``sources:`` map for ``source:`` keys;
- ``values`` are the scenario's resolved values (every declared key).

The result, plain JSON-ready data or None, is kept as
``Scenario.extras[key]``. Blocks are validated in the order listed here,
after every declared key. A new block (``cases:``, ``refresh:``,
``incidence:``) gets its grammar and validator in a module of this package
and one line in :data:`BLOCKS`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

from finmodel.scenario.blocks.sensitivity import validate_sensitivity
from finmodel.scenario.blocks.uncertainty import validate_uncertainty
from finmodel.scenario.context import Context

__all__ = ["BLOCKS", "BlockValidator"]

BlockValidator = Callable[[Any, Context, Mapping[str, Any]], Any]

#: Top-level key -> validator of its block, in the order they are validated.
BLOCKS: Mapping[str, BlockValidator] = MappingProxyType(
    {
        "uncertainty": validate_uncertainty,
        "sensitivity": validate_sensitivity,
    }
)
