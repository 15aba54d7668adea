"""A remote launch: plan (no side effects), then act: images, registration, executions, results.

The plan holds everything a dry run prints; each act step takes it and does one thing. Anything
wrong with the launch (a config that cannot fill the inputs, an image that cannot be named, an
unreachable admin) stops it before the first build, upload or registration.
"""

from __future__ import annotations

import functools
import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte import job_logs, live_view
from scaffold_flyte.batches import Prepared, batch_key, earlier_batch, remember
from scaffold_flyte.connection import Connection, first_call, make_remote, resolve_connection
from scaffold_flyte.discovery import MainWorkflow, app_dir, entities_under, stable_names
from scaffold_flyte.environment_values import refuse_env_values
from scaffold_flyte.errors import ExecutionError, LauncherConfigError, RegistrationError, ScaffoldFlyteError
from scaffold_flyte.executions import RETRY_DELAYS, ExecutionRequest, create_executions, execution_name
from scaffold_flyte.follow import Follower, interrupted_message, terminate_executions
from scaffold_flyte.images import ImagePlan
from scaffold_flyte.inputs import registered_literals, workflow_inputs
from scaffold_flyte.launch_ledger import BUILDING, CREATING, FOLLOWING, REGISTERING, LaunchLedger
from scaffold_flyte.notifications import Notify, check_notifications
from scaffold_flyte.plan import plan_images
from scaffold_flyte.registration import (
    CodeBundle,
    content_version,
    fetch_launch_plan,
    make_bundle,
    register,
    registered_launch_plan,
    serialization_settings,
    upload_bundle,
)
from scaffold_flyte.registry import BuiltLookup, all_built, check_named_images
from scaffold_flyte.settings import FlyteLauncherConf
from scaffold_flyte.task_settings import TaskPlan, applied, resolve

if TYPE_CHECKING:
    from scaffold_flyte.schedules import LaunchSchedule
    from scaffold_flyte.scheduling import ScheduledPlan

log = logging.getLogger(__name__)
RECORD_FILE = "flyte_execution.yaml"


@dataclass(frozen=True)
class RemotePlan:
    """Everything a remote launch will do, computed without touching Docker, a registry or Flyte."""

    main: MainWorkflow
    connection: Connection
    images: list[ImagePlan]
    bundle: CodeBundle
    version: str
    requests: list[ExecutionRequest]
    settings: FlyteLauncherConf
    tasks: TaskPlan = field(default_factory=TaskPlan)  # each task's runtime settings from hydra.launcher.tasks
    notifications: tuple[Notify, ...] = ()  # on every execution, and on the scheduled launch plans
    schedule: LaunchSchedule | None = None  # set: register and activate launch plans instead of executing
    schedules: list[ScheduledPlan] = field(default_factory=list)  # each job's launch plan, with a schedule
    batch_key: str = ""  # what a later batch of the same sweep finds this launch's work under (batches.py)
    registered: Any = None  # the launch plan an earlier batch of this sweep registered or found

    def describe(self, image_actions: dict[str, str]) -> str:
        lines = [
            f"workflow   {self.main.name} (in {self.main.module_name}), version {self.version}",
            f"flyte      {self.connection.endpoint} (from {self.connection.source}), "
            f"project {self.connection.project}, domain {self.connection.domain}",
            "entities   " + ", ".join(sorted(str(e.name) for e in entities_under(self.main.workflow))),
            *self.tasks.describe(),
            "code       "
            + ("baked into the images: " if self.settings.bake_code else "fast-registration bundle: ")
            + ", ".join(self.bundle.files),
        ]
        for plan in self.images:
            lines.append(f"image      {plan.name}: {plan.reference} ({image_actions.get(plan.name, '?')})")
            lines += [f"context    {plan.name}: {plan.context.describe()}"] if plan.context else []
        lines += [f"notify     {notification.describe()}" for notification in self.notifications]
        for request in self.requests:
            shown = ", ".join(f"{k}={_short(v)}" for k, v in request.inputs.items())
            if self.schedule is None:
                lines.append(f"execution  {request.label}: {request.name} inputs: {shown}")
                continue
            scheduled = next(s for s in self.schedules if s.num == request.num)
            action = "activated" if self.schedule.active else "its active version deactivated, nothing built"
            lines.append(
                f"schedule   {request.label}: launch plan {scheduled.name} version {scheduled.version}, "
                f"{self.schedule.describe()}, {action}; inputs: {shown}"
            )
        return "\n".join(lines)


def plan_remote(
    settings: FlyteLauncherConf,
    main: MainWorkflow,
    jobs: list[Any],
    sweep_dir: str,
    launch_dir: Path,
    workdir: Path,
) -> RemotePlan:
    """The launch's plan. Reads files and config only; the code bundle is packed into ``workdir``."""
    key = batch_key(settings, main, launch_dir, sweep_dir)
    earlier = earlier_batch(key)
    if earlier is not None:  # a later batch of this sweep: the same code, images and version
        connection, tasks, bundle = earlier.connection, earlier.tasks, earlier.bundle
        images, version = earlier.images, earlier.version
    else:
        connection = resolve_connection(
            settings.endpoint, settings.insecure, settings.project, settings.domain, settings.storage
        )
        folder = app_dir(main)
        stable_names(main)  # before the version, which covers the workflow's name
        tasks = resolve(settings, main)  # hydra.launcher.tasks by the registered names, checked against the code
        bundle = make_bundle(folder, workdir)
        code = _code_files(folder, bundle) if settings.bake_code else ()
        images_config = settings.images_as_dicts()
        images = plan_images(images_config, main, folder, launch_dir, code, tasks.images())
        version = settings.version or content_version(
            main, bundle.digest, images, connection, settings.bake_code, tasks.digest()
        )
    # fixed when the launch starts: its retries reuse the names, a new launch (even into the same
    # sweep folder) gets new ones
    started = time.time_ns()
    sweep_key = f"{Path(sweep_dir).resolve()}|{main.name}|{version}|{connection.project}|{connection.domain}|{started}"
    requests = []
    for job in jobs:
        with job.resolving():  # configs may interpolate ${hydra:...}
            task_cfg = job.task_config
            inputs = workflow_inputs(main.workflow, task_cfg, job.label)
            if not settings.allow_env_inputs:
                refuse_env_values(main.workflow, task_cfg, job.label)
            inputs = {name: _resolved(value) for name, value in inputs.items()}
        requests.append(ExecutionRequest(job.num, job.label, execution_name(sweep_key, job.num), inputs))
    notifications = check_notifications(settings.notifications)
    schedule, schedules = None, []
    if settings.scheduled():  # the schedule modules only for a scheduled launch
        from scaffold_flyte.schedules import check_schedule
        from scaffold_flyte.scheduling import plan_schedules

        schedule = check_schedule(settings.schedule)
        if schedule is not None:
            schedules = plan_schedules(schedule, notifications, main.name, version, jobs, requests)
    return RemotePlan(
        main,
        connection,
        images,
        bundle,
        version,
        requests,
        settings,
        tasks,
        notifications,
        schedule,
        schedules,
        key,
        None if earlier is None else earlier.launch_plan,
    )


def act(
    plan: RemotePlan,
    jobs: list[Any],
    run_job_for: Any,
    ledger: LaunchLedger,
    durations: dict[int, float] | None = None,
) -> list[Any]:
    """Build what is missing, register what is not registered, create the executions, follow them.

    The first call to Flyte asks whether the version is registered, before any build: it tells
    whether Flyte is reachable at all, and a registered version's inputs are checked against
    every job then too. A later batch of the same sweep skips all of that (batches.py). ``ledger``
    hears of everything made on the way, so a Ctrl-C at any step, or a failure while creating
    executions, ends in one line naming all that exists. ``durations`` gets each waited job's
    execution time as the launcher saw it (created to seen done), for the results table.
    """
    settings = plan.settings
    remote = make_remote(plan.connection)
    if plan.schedule is not None and not plan.schedule.active:
        from scaffold_flyte.scheduling import deactivate_jobs

        return deactivate_jobs(remote, plan, jobs, run_job_for)  # stops schedules: nothing to build or register
    console = live_view.live_console(settings.live_view)  # None: plain lines (no terminal, too narrow, or off)
    try:
        if plan.registered is not None:  # an earlier batch of this sweep built, pushed and registered it all
            log.info(
                f"{plan.main.name} version {plan.version} was registered for an earlier batch of this sweep: "
                "nothing to build, upload or register"
            )
            launch_plan, literals = plan.registered, _literals(remote, plan.registered, plan)
            return _execute(remote, plan, jobs, run_job_for, ledger, launch_plan, literals, durations, console)
        lookup = BuiltLookup(plan.images) if settings.build == "auto" else None  # asked while Flyte is
        registered = _registered(remote, plan)
        if settings.show_dockerfile and settings.build != "skip":
            for image in plan.images:
                log.info(f"Dockerfile of image {image.name}:\n{image.dockerfile}")
        if lookup is not None and all_built(lookup):
            ledger.now(BUILDING)  # the registry has every tag: nothing to build, no engine needed
        elif settings.build != "skip":
            from scaffold_flyte.docker_engine import Engine, ensure_images  # the Docker SDK, when building

            ledger.now(BUILDING)
            engine = Engine()
            with live_view.image_bars(None if settings.build_log else console) as progress:
                ensure_images(
                    engine,
                    plan.images,
                    settings.build,
                    settings.max_parallel_builds,
                    settings.build_log,
                    on_pushed=ledger.image_pushed,
                    progress=progress,
                )
        else:
            check_named_images(plan.images)  # nothing built: each must be in its registry already
        ledger.now(REGISTERING)
        launch_plan, literals = registered or _register(remote, plan, ledger)
        prepared = Prepared(plan.connection, plan.tasks, plan.bundle, plan.images, plan.version, launch_plan)
        remember(plan.batch_key, prepared)
        return _execute(remote, plan, jobs, run_job_for, ledger, launch_plan, literals, durations, console)
    except KeyboardInterrupt:
        raise LauncherConfigError(_interrupted(remote, plan, jobs, run_job_for, ledger, None)) from None


def _execute(
    remote: Any,
    plan: RemotePlan,
    jobs: list[Any],
    run_job_for: Any,
    ledger: LaunchLedger,
    launch_plan: Any,
    literals: dict[int, dict[str, Any]],
    durations: dict[int, float] | None,
    console: Any | None,
) -> list[Any]:
    """Create the jobs' executions on the registered launch plan and follow them (or schedule the jobs)."""
    settings = plan.settings
    follower: Follower | None = None
    try:
        if plan.schedule is not None:
            from scaffold_flyte.scheduling import schedule_jobs

            return schedule_jobs(remote, plan, jobs, run_job_for, ledger, launch_plan, literals)
        ledger.now(CREATING)
        executions = _create(remote, plan, jobs, run_job_for, ledger, launch_plan, literals)
        ledger.now(FOLLOWING)
        follower = Follower(
            remote,
            plan.main,
            executions,
            plan.requests,
            plan.connection.console_url,
            poll_interval=settings.poll_interval,
            timeout=settings.timeout,
        )
        with live_view.live(follower, console if settings.wait else None):
            returns = [
                run_job_for(job, functools.partial(_job_function, plan, follower, job.num, durations)) for job in jobs
            ]
        if settings.wait:
            log.info(follower.summary())
        return returns
    except KeyboardInterrupt:
        raise LauncherConfigError(_interrupted(remote, plan, jobs, run_job_for, ledger, follower)) from None


def _job_function(
    plan: RemotePlan,
    follower: Follower | None,
    num: int,
    durations: dict[int, float] | None,
    cfg: DictConfig,
) -> Any:
    """What one Hydra job of a remote launch does: record its execution, then wait for it (or not)."""
    request = next(r for r in plan.requests if r.num == num)
    _write_record(plan, request)
    job_logs.own_lines(num, follower.lines_of(num) if follower is not None else [])
    if follower is None or not plan.settings.wait:
        return {"execution": request.name, "url": plan.connection.console_url(request.name)}
    try:
        return follower.result(num)
    finally:
        if durations is not None:
            durations[num] = follower.elapsed(num)


def _create(
    remote: Any,
    plan: RemotePlan,
    jobs: list[Any],
    run_job_for: Any,
    ledger: LaunchLedger,
    launch_plan: Any,
    literals: dict[int, dict[str, Any]],
) -> dict[int, Any]:
    """Create every job's execution; when one cannot be created, account for those that were.

    Their job folders get their record as usual, and the error lists each with its URL. A new
    launch gets new execution names, so it does not pick these up: the message says so.
    """
    settings = plan.settings
    try:
        return create_executions(
            remote,
            launch_plan,
            plan.requests,
            literals,
            settings.max_parallel_executions,
            plan.connection.console_url,
            ledger=ledger,
            notifications=[notification.model() for notification in plan.notifications],
        )
    except ScaffoldFlyteError as error:
        failure = str(error).rstrip(".")
        if not ledger.created:
            raise ExecutionError(f"{failure}. No execution was created.") from None
        _record_created(plan, jobs, run_job_for, ledger)
        raise ExecutionError(
            f"{failure}. What exists: {ledger.what_exists()}. Their job folders have {RECORD_FILE}; a new launch "
            "creates new executions for every job, so terminate these first if you relaunch the sweep."
        ) from None


def _record_created(plan: RemotePlan, jobs: list[Any], run_job_for: Any, ledger: LaunchLedger) -> None:
    """Give each job whose execution exists its Hydra job folder and record, as a launch that does not wait does."""
    for job in jobs:
        if job.num in ledger.created:
            run_job_for(job, functools.partial(_job_function, plan, None, job.num, None))


def _interrupted(
    remote: Any,
    plan: RemotePlan,
    jobs: list[Any],
    run_job_for: Any,
    ledger: LaunchLedger,
    follower: Follower | None,
) -> str:
    """The Ctrl-C line: what exists because of this launch, after terminating its executions if asked to."""
    terminate = plan.settings.terminate_on_interrupt
    if follower is not None:
        running = follower.still_running()
        if terminate:
            follower.terminate(running, "interrupted by the user (Ctrl-C)")
        return interrupted_message(running, terminate)
    created = ledger.executions()
    verb = "created"
    if created:
        if terminate:
            ids = {execution.name: _execution_id(plan, execution.name) for execution in created}
            terminate_executions(remote, ids, "interrupted by the user (Ctrl-C)", RETRY_DELAYS)
            verb = "created and terminated"
        else:
            verb = "created, still running (set hydra.launcher.terminate_on_interrupt=true to stop them)"
        _record_created(plan, jobs, run_job_for, ledger)
    not_launched = len(plan.requests) - len(created)
    tail = f"; {not_launched} job(s) not launched" if created and not_launched else ""
    return f"Interrupted while {ledger.step}: {ledger.what_exists(verb)}{tail}."


def _execution_id(plan: RemotePlan, name: str) -> Any:
    from flytekit.models.core.identifier import WorkflowExecutionIdentifier

    return WorkflowExecutionIdentifier(plan.connection.project, plan.connection.domain, name)


def dry_run(plan: RemotePlan) -> None:
    """Print the plan; ask only the registry (read-only) whether images exist, and only if it can."""
    actions = {}
    for image in plan.images:
        if image.fixed or plan.settings.build == "skip":
            actions[image.name] = "used as named, not built"
        elif plan.settings.build == "force":
            actions[image.name] = "would be built and pushed"
        else:
            actions[image.name] = "built and pushed unless the registry has this tag"
    print(f"Dry run (hydra.launcher.dry_run=true): nothing is built, uploaded or registered.\n{plan.describe(actions)}")
    if plan.settings.show_dockerfile:
        for image in plan.images:
            print(f"--- Dockerfile of image {image.name}\n{image.dockerfile}")


def _registered(remote: Any, plan: RemotePlan) -> tuple[Any, dict[int, dict[str, Any]]] | None:
    """The launch plan at the plan's version and each job's input literals, if Flyte has that version.

    ``build=skip`` with a version named launches only what is registered: a version Flyte lacks
    is an error here, before anything is built or uploaded.
    """
    existing = first_call(
        plan.connection, lambda: registered_launch_plan(remote, plan.main, plan.connection, plan.version)
    )
    if existing is None:
        if plan.settings.build == "skip" and plan.settings.version:
            raise RegistrationError(
                f"{plan.main.name} version {plan.version} is not registered in {plan.connection.project}/"
                f"{plan.connection.domain}: launch without hydra.launcher.version (or with build=auto) to register it."
            )
        return None
    launch_plan = fetch_launch_plan(remote, plan.main, plan.version, existing)
    literals = _literals(remote, launch_plan, plan)
    log.info(f"{plan.main.name} version {plan.version} is registered already: nothing to upload or register")
    return launch_plan, literals


def _register(remote: Any, plan: RemotePlan, ledger: LaunchLedger) -> tuple[Any, dict[int, dict[str, Any]]]:
    """Upload the bundle (unless the code is baked in) and register; the new launch plan and the literals."""
    ledger.registration_started(f"{plan.main.name} version {plan.version}")
    bundle_url = None if plan.settings.bake_code else upload_bundle(remote, plan.bundle, plan.connection)
    settings = serialization_settings(plan.connection, plan.images, plan.version, app_dir(plan.main), bundle_url)
    with applied(plan.main, plan.tasks):  # the settings on the task templates while they are serialized
        register(remote, plan.main, settings)
    ledger.registration_done(f"{plan.main.name} version {plan.version}")
    log.info(f"registered {plan.main.name} version {plan.version}")
    launch_plan = fetch_launch_plan(remote, plan.main, plan.version)
    return launch_plan, _literals(remote, launch_plan, plan)


def _literals(remote: Any, launch_plan: Any, plan: RemotePlan) -> dict[int, dict[str, Any]]:
    local_types = dict(plan.main.workflow.python_interface.inputs)
    registered = f"{plan.main.name} at version {plan.version}"
    return registered_literals(remote, launch_plan, plan.requests, local_types, registered)


def _write_record(plan: RemotePlan, request: ExecutionRequest) -> None:
    """What was launched, beside Hydra's .hydra/ in the job's folder: enough to find and rerun it."""
    folder = Path(HydraConfig.get().runtime.output_dir)
    record = {
        "workflow": plan.main.name,
        "version": plan.version,
        "project": plan.connection.project,
        "domain": plan.connection.domain,
        "endpoint": plan.connection.endpoint,
        "execution": request.name,
        "url": plan.connection.console_url(request.name),
        "images": {image.name: image.reference for image in plan.images},
        "inputs": sorted(request.inputs),
    }
    # plain data: PyYAML (OmegaConf's own YAML library) writes what OmegaConf.to_yaml would, at a third of the cost
    (folder / RECORD_FILE).write_text(yaml.safe_dump(record, sort_keys=False))


def _resolved(value: Any) -> Any:
    """A config node with its interpolations resolved now, while this job's HydraConfig is set.

    The node is the job's own copy (SweepJob.task_config). Left unresolved, ``${hydra:job.num}``
    would be resolved when the literal is made, after planning, under the last job's HydraConfig.
    """
    if isinstance(value, (DictConfig, ListConfig)):
        OmegaConf.resolve(value)
    return value


def _code_files(app_dir: Path, bundle: CodeBundle) -> tuple[tuple[str, str], ...]:
    return tuple((name, (app_dir / name).read_text()) for name in bundle.files)


def _short(value: Any) -> str:
    text = OmegaConf.to_yaml(value).strip().replace("\n", ", ") if isinstance(value, DictConfig) else repr(value)
    return "{" + text + "}" if isinstance(value, DictConfig) else text


def new_workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="scaffold-flyte-"))
