"""Each sweep job's config from one composition per shape of sweep, not one per job.

Hydra's launchers compose every job's config from scratch (``load_sweep_config``): defaults
list, config files, overrides. In a sweep, most jobs differ only in values (``lr=0.1`` vs
``lr=0.01``), which change no config file that is loaded, so that work is the same for every
job. Here jobs are grouped by their *structural* overrides (config group choices, Hydra's own
overrides, anything Hydra does not apply as a plain value); each group is composed once, with
those overrides only, and each job's config is a copy of it with the job's value overrides
applied by Hydra's own function, in the job's order, and the job's ``hydra.overrides.task`` and
``hydra.job.override_dirname`` set as Hydra sets them.

That is exactly what ``_load_configuration_impl`` does, step for step, since value overrides
are applied after the defaults list is composed and never change it. Anything this module
cannot tell for sure (another config loader, a sweep value in a job, a base that does not
compose) falls back to ``load_sweep_config`` for the jobs concerned. The tests compare every
derived config with ``load_sweep_config``'s, node by node, types and flags included.
"""

from __future__ import annotations

import copy
from collections import Counter
from collections.abc import Sequence
from typing import Any

from omegaconf import DictConfig, open_dict


def job_configs(config_loader: Any, master: DictConfig, job_overrides: Sequence[Sequence[str]]) -> list[DictConfig]:
    """Every job's config as ``config_loader.load_sweep_config(master, overrides)`` would compose it."""
    split = _splitter(config_loader)
    parts = [split(list(overrides)) if split else None for overrides in job_overrides]
    uses = Counter(part[0] for part in parts if part is not None)  # jobs left to derive from each base
    bases: dict[tuple[str, ...], DictConfig | None] = {}
    configs = []
    for overrides, part in zip(job_overrides, parts, strict=True):
        if part is None:
            configs.append(config_loader.load_sweep_config(master, list(overrides)))
            continue
        structural, values, parsed = part
        if structural not in bases:
            bases[structural] = _base(config_loader, master, list(structural))
        base = bases[structural]
        if base is None:  # the shared part does not compose alone: Hydra's own path says why
            configs.append(config_loader.load_sweep_config(master, list(overrides)))
            continue
        uses[structural] -= 1
        last = uses[structural] == 0  # no later job copies this base: it becomes this job's config itself
        configs.append(_derived(base if last else copy.deepcopy(base), values, parsed))
    return configs


def _splitter(config_loader: Any) -> Any:
    """A function splitting a job's overrides into (structural, value overrides, all parsed), or None.

    None when the loader is not Hydra's own (its repository is what tells a group from a key).
    """
    repository = getattr(config_loader, "repository", None)
    if repository is None or not hasattr(repository, "group_exists"):
        return None
    from hydra.core.override_parser.overrides_parser import OverridesParser

    parser = OverridesParser.create()

    def split(overrides: list[str]) -> tuple[tuple[str, ...], list[Any], list[Any]] | None:
        try:
            parsed = parser.parse_overrides(overrides=overrides)
        except Exception:  # Hydra's own compose gives the error its user knows
            return None
        structural: list[str] = []
        values = []
        for override in parsed:
            if override.is_sweep_override():
                return None
            value = override.value()
            # as hydra/_internal/defaults_list.py's Overrides tells a config override from a group's
            applies_as_value = isinstance(value, dict) or not repository.group_exists(override.key_or_group)
            if override.is_hydra_override() or not applies_as_value or override.package is not None:
                structural.append(str(override.input_line))
            else:
                values.append(override)
        return tuple(structural), values, parsed

    return split


def _base(config_loader: Any, master: DictConfig, structural: list[str]) -> DictConfig | None:
    try:
        return config_loader.load_sweep_config(master, structural)
    except Exception:
        return None


def _derived(cfg: DictConfig, values: list[Any], parsed: list[Any]) -> DictConfig:
    """``cfg``, a base of the job's own, with the job's value overrides applied, then the bookkeeping
    Hydra does after them."""
    from hydra._internal.config_loader_impl import ConfigLoaderImpl, get_overrides_dirname

    ConfigLoaderImpl._apply_overrides_to_config(values, cfg)
    app_overrides = [override for override in parsed if not override.is_hydra_override()]
    with open_dict(cfg.hydra):
        cfg.hydra.overrides.task.clear()  # the base's structural lines, now the job's, in its order
        for override in app_overrides:
            cfg.hydra.overrides.task.append(override.input_line)
        cfg.hydra.job.override_dirname = get_overrides_dirname(
            overrides=app_overrides,
            kv_sep=cfg.hydra.job.config.override_dirname.kv_sep,
            item_sep=cfg.hydra.job.config.override_dirname.item_sep,
            exclude_keys=cfg.hydra.job.config.override_dirname.exclude_keys,
        )
    return cfg  # the base's copy of the master's resolver cache (``load_sweep_config`` made it) came along
