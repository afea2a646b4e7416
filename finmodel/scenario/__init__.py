"""Scenario files: YAML in, a validated, frozen :class:`Scenario` out; imports only :mod:`finmodel.core`.

=================  ==========================================================
``params``         the declarations of every key (:data:`PARAMETERS`)
``yamlio``         safe YAML reading that remembers each key's line
``units``          the money, rate and year-map notations
``merge``          ``extends:``: the parent chain, merged, with origins
``values``         one written value: unwrap, parse by kind, check the range
``schedule``       ``program.schedule``
``context``        problems tied to the file and line of their key
``validate``       every rule, one function each, then the registered blocks
``blocks``         the optional blocks (``uncertainty:``, ``sensitivity:``)
                   and their registry :data:`~finmodel.scenario.blocks.BLOCKS`
``varying``        which parameters may vary across draws and sweep points
``types``          :class:`Scenario`, :class:`Category`, :class:`Provenance`
``load``           :func:`load_scenario`, :func:`scenario_from_dict`
=================  ==========================================================
"""

from finmodel.scenario.load import load_scenario, scenario_from_dict
from finmodel.scenario.params import MACRS_CLASSES, PARAMETERS, Param, param_for
from finmodel.scenario.types import Category, Provenance, Scenario
from finmodel.scenario.varying import check_path, parse_value
from finmodel.scenario.yamlio import Problem, ScenarioError

__all__ = [
    "Param",
    "PARAMETERS",
    "MACRS_CLASSES",
    "param_for",
    "check_path",
    "parse_value",
    "Category",
    "Provenance",
    "Scenario",
    "ScenarioError",
    "Problem",
    "load_scenario",
    "scenario_from_dict",
]
