"""One Hydra launch: the sweep's job configs, checked as a whole, then run locally or on Flyte.

Everything that can be wrong with the launch (an unknown override, no or several workflows, a
config that cannot fill the workflow's inputs) is found while planning, before the first job
runs, so a bad sweep stops with one line and nothing half done. Each job then goes through
Hydra's own ``run_job``: its folder, ``.hydra/`` files, log, callbacks and JobReturn are Hydra's.
"""

from __future__ import annotations

import contextlib
import copy
import functools
import logging
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.core.utils import JobReturn, JobStatus, configure_log, filter_overrides, run_job, setup_globals
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig, open_dict

import scaffold_flyte.temp_files  # noqa: F401 - removes flytekit's temp folders at exit
from scaffold_flyte import job_logs, results
from scaffold_flyte.discovery import MainWorkflow, launcher_workflow, module_of
from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.inputs import workflow_inputs
from scaffold_flyte.interrupts import ctrl_c_interrupts
from scaffold_flyte.job_configs import job_configs
from scaffold_flyte.launch_ledger import PLANNING, RUNNING_LOCALLY, LaunchLedger
from scaffold_flyte.launcher_settings import launcher_settings
from scaffold_flyte.settings import FlyteLauncherConf
from scaffold_flyte.task_settings import local_settings

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
        """The config the task function sees: the job's config without the ``hydra`` node.

        A copy of the job's config in which the ``hydra`` node, most of the config, is not
        copied: ``deepcopy``'s memo hands back an empty node in its place, which is then deleted.
        The root keeps its type and flags, as a full copy's would.
        """
        memo = {id(self.config._get_node("hydra")): DictConfig({})}
        cfg = copy.deepcopy(self.config, memo)
        with open_dict(cfg):
            del cfg["hydra"]
        return cfg

    @contextlib.contextmanager
    def resolving(self) -> Iterator[None]:
        """``${hydra:...}`` in the job's config resolves to this job's values while the block runs.

        What ``HydraConfig.set_config`` gives, without the copy of the hydra node it makes (and
        without making the job's hydra node read-only): the resolver reads ``HydraConfig.get()``,
        the ``hydra`` node of the config held, here the job's own. Hydra's ``run_job`` sets the
        job's HydraConfig its own way when the job runs.
        """
        instance = HydraConfig.instance()
        before, instance.cfg = instance.cfg, self.config  # type: ignore[assignment]
        try:
            yield
        finally:
            instance.cfg = before


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

    durations: dict[int, float] = {}

    def run(job: SweepJob, function: Callable[[DictConfig], Any]) -> JobReturn:
        log.info(f"\t{job.label}")
        started = time.monotonic()
        result = run_job(
            hydra_context=hydra_context,
            task_function=function,
            config=job.config,
            job_dir_key="hydra.sweep.dir",
            job_subdir_key="hydra.sweep.subdir",
        )
        durations.setdefault(job.num, time.monotonic() - started)  # a remote job sets its execution's time
        configure_log(config.hydra.hydra_logging, config.hydra.verbose)
        return result

    sweep_log = contextlib.nullcontext() if settings.dry_run else job_logs.sweep_log(str(config.hydra.sweep.dir))
    with sweep_log, ctrl_c_interrupts():
        try:
            jobs = sweep_jobs(hydra_context, config, job_overrides, initial_job_idx)
            main = launcher_workflow(task_function, settings.workflow)
        except KeyboardInterrupt:
            raise LauncherConfigError(f"Interrupted while {PLANNING}: nothing was run.") from None
        if settings.mode == "local":
            with local_settings(settings, main):  # hydra.launcher.tasks: checked; what cannot apply here, said once
                returns = _launch_local(main, task_function, jobs, run)
        else:
            returns = _launch_remote(settings, main, jobs, run, config, task_function, durations)
        if durations:  # jobs ran (a dry run runs none): the sweep's table so far, and its CSV
            sweeper = config.hydra.get("sweeper") or {}
            results.report(str(config.hydra.sweep.dir), returns, durations, sweeper.get("direction"))
    return returns


def sweep_jobs(
    hydra_context: HydraContext,
    config: DictConfig,
    job_overrides: Sequence[Sequence[str]],
    initial_job_idx: int,
) -> list[SweepJob]:
    """Compose every job's config up front, so an unknown override fails before any job runs.

    Jobs that differ only in values share one composition, most often the sweep's own
    (job_configs.py): Hydra's result, at a fraction of its cost per job.
    """
    jobs = []
    configs = job_configs(hydra_context.config_loader, config, job_overrides)
    for offset, (overrides, sweep_config) in enumerate(zip(job_overrides, configs, strict=True)):
        num = initial_job_idx + offset
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
    inputs: dict[int, dict[str, Any]] = {}
    try:
        if main is not None:
            for job in jobs:
                with job.resolving():  # configs may interpolate ${hydra:...}
                    inputs[job.num] = workflow_inputs(main.workflow, job.task_config, job.label)
    except KeyboardInterrupt:
        raise LauncherConfigError(f"Interrupted while {PLANNING}: no job was run.") from None
    returns: list[JobReturn] = []
    try:
        for job in jobs:
            function = task_function if main is None else functools.partial(_run_locally, main, inputs[job.num], job)
            returns.append(run(job, function))
    except KeyboardInterrupt:
        raise LauncherConfigError(_interrupted_locally(jobs, returns)) from None
    return returns


def _run_locally(main: MainWorkflow, inputs: dict[str, Any], job: SweepJob, cfg: DictConfig) -> Any:
    """The job's function under run_job: the workflow on the inputs split up front (``cfg`` is the same config)."""
    job_logs.launcher_lines_as_hydras()
    from scaffold_flyte.local import call_workflow  # local mode only

    value = call_workflow(main, inputs, job.label)
    log.info(f"{job.label}: returned {results.preview(value)}")  # as a remote job's value is logged
    return value


def _interrupted_locally(jobs: list[SweepJob], returns: list[JobReturn]) -> str:
    """The Ctrl-C line of a local sweep: the job that was running, and where the finished ones are."""
    running = jobs[len(returns)]
    finished = ", ".join(f"#{job.num}" for job in jobs[: len(returns)])
    done = f"job(s) {finished} finished (their folders are in {jobs[0].config.hydra.sweep.dir})" if finished else ""
    left = len(jobs) - len(returns) - 1
    parts = [f"{running.label} was running", done, f"{left} job(s) not started" if left else ""]
    return f"Interrupted while {RUNNING_LOCALLY}: " + "; ".join(p for p in parts if p) + "."


def _launch_remote(
    settings: FlyteLauncherConf,
    main: MainWorkflow | None,
    jobs: list[SweepJob],
    run: Callable[[SweepJob, Callable[[DictConfig], Any]], JobReturn],
    config: DictConfig,
    task_function: TaskFunction,
    durations: dict[int, float],
) -> list[JobReturn]:
    from scaffold_flyte import remote_launch

    if main is None:
        from scaffold_flyte.blob_storage import has_blob_storage
        from scaffold_flyte.hydra_app import wrap_hydra_app

        main = wrap_hydra_app(task_function, module_of(task_function), has_blob_storage(settings.storage))
    if settings.recovering():  # RecoverExecution of what the sweep folder's records name: nothing built
        from scaffold_flyte import recovery

        return recovery.launch_recovery(settings, main, jobs, run, str(config.hydra.sweep.dir))
    workdir = remote_launch.new_workdir()
    ledger = LaunchLedger()
    try:
        try:
            plan = remote_launch.plan_remote(
                settings, main, jobs, str(config.hydra.sweep.dir), Path(config.hydra.runtime.cwd), workdir
            )
        except KeyboardInterrupt:
            raise LauncherConfigError(f"Interrupted while {PLANNING}: {ledger.what_exists()}.") from None
        if settings.dry_run:
            remote_launch.dry_run(plan)
            return [_planned(plan, job) for job in jobs]
        log.info(f"Flyte launcher (remote): {len(jobs)} job(s), workflow {main.name}, version {plan.version}")
        return remote_launch.act(plan, jobs, run, ledger, durations)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _planned(plan: Any, job: SweepJob) -> JobReturn:
    """A dry run's JobReturn: what the job would launch. No job ran, so no job folder, log or callback."""
    request = next(r for r in plan.requests if r.num == job.num)
    value = {"dry_run": True, "execution": request.name, "version": plan.version, "inputs": sorted(request.inputs)}
    if plan.schedule is not None:  # a scheduled launch executes nothing: it would register this launch plan
        scheduled = next(s for s in plan.schedules if s.num == job.num)
        value = {
            "dry_run": True,
            "launch_plan": scheduled.name,
            "version": scheduled.version,
            "inputs": value["inputs"],
        }
    return JobReturn(
        overrides=list(job.overrides),
        cfg=job.task_config,
        hydra_cfg=job.config,
        working_dir=str(Path.cwd()),
        task_name=str(job.config.hydra.job.name),
        status=JobStatus.COMPLETED,
        _return_value=value,
    )
