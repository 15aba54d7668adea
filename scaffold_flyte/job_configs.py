"""Each sweep job's config from at most one composition per shape of sweep, not one per job.

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

Most sweeps, and every plain relaunch, need no composition at all: the config Hydra composed for
the sweep itself (the master, in MULTIRUN mode) is that shared part already, plus the command
line's plain values, wherever nothing can tell the two apart (``MasterBase`` says when). Each job
sets every one of those values again, so that applying them twice changes nothing. A composition
costs about 50 ms on the examples, a copy of the master about 4 ms.
"""

from __future__ import annotations

import copy
import os
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf, open_dict


def job_configs(config_loader: Any, master: DictConfig, job_overrides: Sequence[Sequence[str]]) -> list[DictConfig]:
    """Every job's config as ``config_loader.load_sweep_config(master, overrides)`` would compose it."""
    split = _splitter(config_loader)
    parts = [split(list(overrides)) if split else None for overrides in job_overrides]
    from_master = MasterBase.of(master, config_loader.repository) if split else None
    # per job: derived from a copy of the master (MasterBase admits its structural and value overrides)
    served = [part is not None and from_master is not None and from_master.serves(part[0], part[1]) for part in parts]
    uses = Counter(part[0] for part, by_master in zip(parts, served, strict=True) if part and not by_master)
    bases: dict[tuple[str, ...], DictConfig | None] = {}
    configs = []
    for overrides, part, by_master in zip(job_overrides, parts, served, strict=True):
        if part is None:
            configs.append(config_loader.load_sweep_config(master, list(overrides)))
            continue
        structural, values, parsed = part
        if by_master:  # the master is Hydra's: a copy, always
            configs.append(_derived(copy.deepcopy(master), values, parsed))
            continue
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


# Sweepers known to read the config Hydra hands them and never change it before they launch.
READ_ONLY_SWEEPERS = (
    "hydra._internal.core_plugins.basic_sweeper.BasicSweeper",
    "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper",  # unless a custom_search_space gets it
)


@dataclass(frozen=True)
class MasterBase:
    """The master config standing in for ``load_sweep_config(master, [])``, the jobs' shared part.

    The two are composed from the same defaults list and differ only in the command line's task
    overrides, which the master has applied (all but the sweeps) and the base has not, and in the
    bookkeeping ``_derived`` rewrites. ``of`` admits a master only where that is all there is:

    - the command line's task overrides are plain ``key=value`` on config keys (no group, package,
      ``+``, ``++`` or ``~``), dicts only in sweeps, and no key is, or lies inside, another: so each
      applied one set its own node, whatever was there, and setting it again is a no-op;
    - no config group was left ``???`` (MULTIRUN skips those; a job's composition refuses them);
    - nothing has changed the master since Hydra composed it: no callbacks, a sweeper known to
      only read it, and the flags a composition sets (struct root, writable ``hydra``) as set;
      nor what a composition reads from the process (the working folder, ``env_copy``'s values).

    ``serves`` then admits a job whose overrides set every applied key again, with no dict, and
    touch nothing else inside or around one.
    """

    applied: frozenset[str]  # keys of the command line's plain values, set in the master already

    @classmethod
    def of(cls, master: DictConfig, repository: Any) -> MasterBase | None:
        from hydra.core.override_parser.overrides_parser import OverridesParser
        from hydra.core.override_parser.types import OverrideType

        hydra = master.hydra
        sweeper = hydra.get("sweeper") or {}
        if (
            hydra.get("callbacks")
            or sweeper.get("_target_") not in READ_ONLY_SWEEPERS
            or sweeper.get("custom_search_space") is not None
            or master._metadata.flags != {"struct": True}  # as _load_configuration_impl leaves them
            or hydra._metadata.flags != {"readonly": False}
            or any(OmegaConf.is_missing(hydra.runtime.choices, group) for group in hydra.runtime.choices)
            # what a composition reads from the process, read again now: the working folder, env_copy
            or hydra.runtime.cwd != os.getcwd()
            or any(hydra.job.env_set.get(name) != os.environ.get(name) for name in hydra.job.env_copy)
        ):
            return None
        try:
            overrides = OverridesParser.create().parse_overrides(overrides=list(hydra.overrides.task))
        except Exception:  # a line only Hydra's own composition explains
            return None
        keys = [override.key_or_group for override in overrides]
        if any(_overlap(a, b) for i, a in enumerate(keys) for b in keys[i + 1 :]):
            return None
        for override in overrides:
            if (
                override.type != OverrideType.CHANGE
                or override.package is not None
                or repository.group_exists(override.key_or_group)
                or (not override.is_sweep_override() and isinstance(override.value(), dict))
            ):
                return None
        return cls(frozenset(o.key_or_group for o in overrides if not o.is_sweep_override()))

    def serves(self, structural: tuple[str, ...], values: list[Any]) -> bool:
        """Whether a job of these overrides is derived from the master: value overrides only, as above."""
        from hydra.core.override_parser.types import OverrideType

        if structural:
            return False  # a group choice or Hydra's own: composed with them, as before
        if not self.applied <= {override.key_or_group for override in values}:
            return False  # a value the master has and this job does not set (another sweeper's job)
        for override in values:
            key = override.key_or_group
            if key in self.applied:
                if override.type != OverrideType.CHANGE or isinstance(override.value(), dict):
                    return False
            elif any(_overlap(key, applied) for applied in self.applied):
                return False
        return True


def _overlap(a: str, b: str) -> bool:
    """Whether two override keys may name the same node or one inside the other (``a``, ``a.b``, ``a[0]``).

    Any shared prefix counts (``lr`` and ``lr2`` too): a false alarm costs one composition, never a wrong config.
    """
    return a.startswith(b) or b.startswith(a)


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
    return cfg  # the master's resolver cache came along (in the master's copy, or ``load_sweep_config``'s copy of it)
