"""Analyses built on the engine: distributions and sampling, Monte Carlo, sensitivity, provenance."""
