"""Scenario files: YAML reading, units, the parameter declarations, ``extends`` and validation.

Turns a YAML file into a validated, frozen :class:`~finmodel.scenario.loader.Scenario`;
imports only :mod:`finmodel.core`.
"""
