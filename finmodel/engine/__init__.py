"""The scenario engine: engine arrays from a scenario, every yearly line and metric, ``Results``."""
