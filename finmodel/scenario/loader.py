"""Transitional: the names of the former ``finmodel.scenario.loader``, now in :mod:`finmodel.scenario`.

Import from :mod:`finmodel.scenario` (the public API) or the module that
defines a name; this module goes once nothing imports it.
"""

from finmodel.scenario.load import load_scenario, scenario_from_dict
from finmodel.scenario.params import MACRS_CLASSES, PARAMETERS, SHARE_TOLERANCE, Param
from finmodel.scenario.types import Category, Provenance, Scenario
from finmodel.scenario.yamlio import Problem, ScenarioError

__all__ = [
    "MACRS_CLASSES",
    "PARAMETERS",
    "SHARE_TOLERANCE",
    "Param",
    "Category",
    "Provenance",
    "Scenario",
    "ScenarioError",
    "Problem",
    "load_scenario",
    "scenario_from_dict",
]
