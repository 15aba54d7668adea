"""The ``flyte`` Hydra launcher. Hydra imports this package at every start: keep it light."""

__version__ = "0.1.0"
