"""One Hydra launch: the sweep's job configs, checked as a whole, then run locally or on Flyte.

Everything that can be wrong with the launch (an unknown override, no or several workflows, a
config that cannot fill the workflow's inputs) is found while planning, before the first job
runs, so a bad sweep stops with one line and nothing half done. Each job then goes through
Hydra's own ``run_job``: its folder, ``.hydra/`` files, log, callbacks and JobReturn are Hydra's.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import logging
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, OmegaConf, open_dict

from scaffold_flyte.discovery import MainWorkflow, find_main_workflow_or_none, module_of
from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.inputs import workflow_inputs
from scaffold_flyte.settings import BUILD_MODES, MODES, FlyteLauncherConf, ImageConf

log = logging.getLogger(__name__)


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
    config: DictConfig,
    task_function: TaskFunction,
    hydra_context: HydraContext,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
) -> list[JobReturn]:
    """Run one batch of sweep jobs as ``hydra.launcher.mode`` says, one JobReturn per job."""
    settings = launcher_settings(config)
    setup_globals()
    configure_log(config.hydra.hydra_logging, config.hydra.verbose)
    Path(str(config.hydra.sweep.dir)).mkdir(parents=True, exist_ok=True)

    jobs = sweep_jobs(hydra_context, config, job_overrides, initial_job_idx)
    main = find_main_workflow_or_none(module_of(task_function), settings.workflow)

    def run(job: SweepJob, function: Callable[[DictConfig], Any]) -> JobReturn:
        log.info(f"\t{job.label}")
        result = run_job(
            hydra_context=hydra_context,
            task_function=function,
            config=job.config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
        return result

    if settings.mode == "local":
        return _launch_local(main, task_function, jobs, run)
    return _launch_remote(settings, main, jobs, run, config, task_function)


def launcher_settings(config: DictConfig) -> FlyteLauncherConf:
    """``hydra.launcher`` as the settings dataclass, with its enumerations checked."""
    _check_image_settings(config.hydra.launcher.get("images") or {})
    node = OmegaConf.merge(OmegaConf.structured(FlyteLauncherConf), config.hydra.launcher)
    settings = OmegaConf.to_object(node)
    assert isinstance(settings, FlyteLauncherConf)
    if settings.mode not in MODES:
        raise LauncherConfigError(
            f"hydra.launcher.mode={settings.mode} is not a mode: use hydra.launcher.mode=local or =remote."
        )
    if settings.build not in BUILD_MODES:
        raise LauncherConfigError(
            f"hydra.launcher.build={settings.build} is not a build mode: use auto (build what the registry lacks), "
            "force or skip."
        )
    return settings


def _check_image_settings(images: Any) -> None:
    """Each image takes ImageConf's fields only: a typo must not silently fall back to a default."""
    known = {f.name for f in dataclasses.fields(ImageConf)}
    for name in images:
        unknown = sorted(set(images[name] or {}) - known)
        if unknown:
            raise LauncherConfigError(
                f"hydra.launcher.images.{name} has no setting {', '.join(unknown)}: its settings are "
                f"{', '.join(sorted(known))}."
            )


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


def _launch_local(
    main: MainWorkflow | None,
    task_function: TaskFunction,
    jobs: list[SweepJob],
    run: Callable[[SweepJob, Callable[[DictConfig], Any]], JobReturn],
) -> list[JobReturn]:
    """Each job in this process: the main workflow through flytekit's local execution, or, for a
    Hydra app with no workflow, its own task function. Every job's inputs are split from its
    config first, so a config that cannot fill the workflow stops the launch before any job runs.
    """
    what = f"workflow {main.name}" if main else "no workflow in the module: running the Hydra task function"
    log.info(f"Flyte launcher (local): {len(jobs)} job(s), {what}")
    if main is None:
        return [run(job, task_function) for job in jobs]
    inputs = {}
    for job in jobs:
        HydraConfig.instance().set_config(job.config)  # configs may interpolate ${hydra:...}
        inputs[job.num] = workflow_inputs(main.workflow, job.task_config, job.label)
    return [run(job, functools.partial(_run_locally, main, inputs[job.num])) for job in jobs]


def _run_locally(main: MainWorkflow, inputs: dict[str, Any], cfg: DictConfig) -> Any:
    """The job's function under run_job: the workflow on the inputs split up front (``cfg`` is the same config)."""
    return main.workflow(**inputs)


def _launch_remote(
    settings: FlyteLauncherConf,
    main: MainWorkflow | None,
    jobs: list[SweepJob],
    run: Callable[[SweepJob, Callable[[DictConfig], Any]], JobReturn],
    config: DictConfig,
    task_function: TaskFunction,
) -> list[JobReturn]:
    from scaffold_flyte import remote_launch

    if main is None:
        from scaffold_flyte.blob_storage import has_blob_storage
        from scaffold_flyte.hydra_app import wrap_hydra_app

        main = wrap_hydra_app(task_function, module_of(task_function), has_blob_storage(settings.storage))
    workdir = remote_launch.new_workdir()
    try:
        plan = remote_launch.plan_remote(
            settings, main, jobs, str(config.hydra.sweep.dir), Path(config.hydra.runtime.cwd), workdir
        )
        if settings.dry_run:
            remote_launch.dry_run(plan)
            return [run(job, functools.partial(_planned, plan, job.num)) for job in jobs]
        log.info(f"Flyte launcher (remote): {len(jobs)} job(s), workflow {main.name}, version {plan.version}")
        return remote_launch.act(plan, jobs, run)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _planned(plan: Any, num: int, cfg: DictConfig) -> dict[str, Any]:
    request = next(r for r in plan.requests if r.num == num)
    return {"dry_run": True, "execution": request.name, "version": plan.version, "inputs": sorted(request.inputs)}
