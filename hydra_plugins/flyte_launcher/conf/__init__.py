"""The launcher's presets (``hydra/launcher=flyte_local``, ``flyte_sandbox``), shipped as package data.

A package so that Hydra's ``pkg://`` config source finds them wherever the wheel is installed.
"""
