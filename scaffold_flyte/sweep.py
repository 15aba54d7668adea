"""One Hydra launch: the sweep's job configs, checked as a whole, then run.

Everything that can be wrong with the launch (an unknown override, no or several workflows, a
config that cannot fill the workflow's inputs) is found while planning, before the first job
runs, so a bad sweep stops with one line and nothing half done.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

from scaffold_flyte.discovery import MainWorkflow, find_main_workflow_or_none, module_of
from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.inputs import workflow_inputs
from scaffold_flyte.local import run_workflow

log = logging.getLogger(__name__)

MODES = ("local", "remote")


class LauncherState(Protocol):
    """What the Hydra launcher object holds after ``setup()``."""

    mode: str
    workflow: str | None
    config: DictConfig | None
    task_function: TaskFunction | None
    hydra_context: HydraContext | None


@dataclass(frozen=True)
class SweepJob:
    """One job of the sweep: its number, its overrides and its composed config (hydra node included)."""

    num: int
    overrides: tuple[str, ...]
    config: DictConfig

    @property
    def label(self) -> str:
        shown = " ".join(filter_overrides(list(self.overrides)))
        return f"job #{self.num}" + (f" ({shown})" if shown else "")

    @property
    def task_config(self) -> DictConfig:
        """The config the task function sees: the job's config without the ``hydra`` node."""
        cfg = copy.deepcopy(self.config)
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg


def launch_sweep(
    launcher: LauncherState, job_overrides: Sequence[Sequence[str]], initial_job_idx: int
) -> list[JobReturn]:
    """Run one batch of sweep jobs as the launcher's mode says, one JobReturn per job."""
    config, task_function, hydra_context = launcher.config, launcher.task_function, launcher.hydra_context
    assert config is not None and task_function is not None and hydra_context is not None
    if launcher.mode not in MODES:
        raise LauncherConfigError(
            f"hydra.launcher.mode={launcher.mode} is not a mode: use hydra.launcher.mode=local or =remote."
        )
    if launcher.mode == "remote":
        raise LauncherConfigError(
            "hydra.launcher.mode=remote is not available in this version of scaffold-flyte: "
            "run the sweep with hydra.launcher.mode=local (or hydra/launcher=flyte_local)."
        )

    setup_globals()
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)

    jobs = sweep_jobs(hydra_context, config, job_overrides, initial_job_idx)
    main = find_main_workflow_or_none(module_of(task_function), launcher.workflow)
    job_function = _local_job_function(main, task_function, jobs)
    log.info(
        f"Flyte launcher (local): {len(jobs)} job(s), "
        + (f"workflow {main.name}" if main else "no workflow in the module: running the Hydra task function")
    )
    returns = []
    for job in jobs:
        log.info(f"\t{job.label}")
        returns.append(
            run_job(
                hydra_context=hydra_context,
                task_function=job_function,
                config=job.config,
                job_dir_key="hydra.sweep.dir",
                job_subdir_key="hydra.sweep.subdir",
            )
        )
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    return returns


def sweep_jobs(
    hydra_context: HydraContext,
    config: DictConfig,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
) -> list[SweepJob]:
    """Compose every job's config up front, so an unknown override fails before any job runs."""
    jobs = []
    for offset, overrides in enumerate(job_overrides):
        num = initial_job_idx + offset
        sweep_config = hydra_context.config_loader.load_sweep_config(config, list(overrides))
        with open_dict(sweep_config):
            sweep_config.hydra.job.id = f"{sweep_config.hydra.job.name}_{num}"
            sweep_config.hydra.job.num = num
        jobs.append(SweepJob(num=num, overrides=tuple(overrides), config=sweep_config))
    return jobs


def _local_job_function(
    main: MainWorkflow | None, task_function: TaskFunction, jobs: list[SweepJob]
) -> Callable[[DictConfig], Any]:
    """What ``run_job`` calls per job: the main workflow on the job's config, or, for a Hydra app
    with no workflow, its own task function.

    The inputs of every job are split from its config here, once, so a config that cannot fill the
    workflow stops the launch before the first job runs.
    """
    if main is None:
        return task_function
    for job in jobs:
        HydraConfig.instance().set_config(job.config)  # configs may interpolate ${hydra:...}
        workflow_inputs(main.workflow, job.task_config, job.label)

    def run_main_workflow(cfg: DictConfig) -> Any:
        return run_workflow(main, cfg, f"job #{HydraConfig.get().job.num}")

    return run_main_workflow
