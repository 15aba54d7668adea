"""Recovering failed executions with Flyte's RecoverExecution, instead of launching them again.

Flyte recovers an execution by creating a new one on the original's launch plan (so the registered
version it ran) and inputs, in which every node that succeeded in the original is not run again:
its outputs are taken over (flyteadmin execution_manager.go RecoverExecution, flytepropeller
nodes/executor.go attemptRecovery). That is what a sweep whose task failed for a reason outside
the execution (a flaky service, data not delivered yet, a node lost) needs: the work done stays
done. Nothing is built, uploaded or registered for it.

``hydra.launcher.recover=true`` relaunches the same command over the failed sweep's folder
(``hydra.sweep.dir`` and the same overrides): each job folder's ``flyte_execution.yaml`` names the
job's execution. A failed, timed-out or aborted execution is recovered; a succeeded one is not
relaunched, its outputs are the job's result; one still running is followed. Recovered jobs'
records then name the new execution, and ``recovered_from`` the ones before it.
``hydra.launcher.recover=<execution name>`` recovers that one execution, as a launch of one job.

Every record and every execution is checked before the first RecoverExecution: a folder without
records, a record of another workflow, project, domain or Flyte, overrides that differ from the
failed launch's, an execution Flyte does not have or one that did not fail are one line each,
with nothing recovered. Flyte itself recovers an execution in any phase; refusing the ones that
did not fail is ours (recovering a succeeded one would only copy it).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from omegaconf import OmegaConf

from scaffold_flyte import job_logs
from scaffold_flyte.errors import ExecutionError, LauncherConfigError, ScaffoldFlyteError
from scaffold_flyte.executions import RETRY_DELAYS, ExecutionRequest, check_execution_name, with_retries
from scaffold_flyte.launch_ledger import FOLLOWING, CreatedExecution, LaunchLedger

if TYPE_CHECKING:
    from scaffold_flyte.connection import Connection
    from scaffold_flyte.discovery import MainWorkflow
    from scaffold_flyte.settings import FlyteLauncherConf

log = logging.getLogger(__name__)

RECORD_FILE = "flyte_execution.yaml"  # remote_launch.RECORD_FILE (not imported: that module imports flytekit)
SETTING = "hydra.launcher.recover"
# Phases worth recovering: the execution ended without its outputs. SUCCEEDED has nothing to
# recover; the others have not ended (UNDEFINED, QUEUED, RUNNING, SUCCEEDING, FAILING, ABORTING).
RECOVERABLE = ("FAILED", "TIMED_OUT", "ABORTED")
RECORD_KEYS = ("workflow", "project", "domain", "execution")
RECOVERING = "recovering executions"  # the launch's step while RecoverExecution is called (Ctrl-C lines)


class RecoveryError(ScaffoldFlyteError):
    """A recovery cannot be done as asked: nothing was recovered."""


# -- the setting ------------------------------------------------------------------------------


def check_recover_setting(settings: FlyteLauncherConf) -> None:
    """``recover``, set to ask for a recovery, is true or an execution name, and only for a remote
    launch that executes.

    Run with the other settings checks, before anything, and only when ``settings.recovering()``
    (launcher_settings.check_values, which imports this module for it): false and null need no check.
    """
    value = settings.recover
    if isinstance(value, str):
        check_execution_name(value, SETTING)
    elif value is not True:
        raise LauncherConfigError(
            f"{SETTING}={value} is neither true/false nor an execution name: use {SETTING}=true (this sweep "
            f"folder's failed executions) or {SETTING}=<execution name>."
        )
    if settings.mode != "remote":
        raise LauncherConfigError(
            f"{SETTING} recovers Flyte executions: it needs hydra.launcher.mode=remote (hydra/launcher=flyte)."
        )
    if settings.dry_run:
        raise LauncherConfigError(
            f"{SETTING} does not combine with hydra.launcher.dry_run=true: what is recovered depends on each "
            "execution's phase, which only Flyte knows; drop dry_run (a recovery builds and registers nothing)."
        )
    schedule = settings.schedule
    if schedule.cron is not None or schedule.fixed_rate is not None or not schedule.active:
        raise LauncherConfigError(
            f"{SETTING} does not combine with hydra.launcher.schedule: a recovery executes once; drop the schedule."
        )


# -- one job of a recovery --------------------------------------------------------------------


@dataclass
class Target:
    """One job of the recovery: the execution it had, and what becomes of it."""

    num: int
    label: str  # the job's label, or what a by-name recovery was asked as
    job: Any  # sweep.SweepJob (None from Python)
    folder: Path  # the job's folder (where its record is, or will be)
    record: dict[str, Any]  # its flyte_execution.yaml, or the record a by-name recovery writes
    original: str  # the execution looked at
    phase: str = ""
    execution: Any = None  # the original's FlyteWorkflowExecution
    recovered: Any = None  # the new one's, once RecoverExecution made it
    recovered_name: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def action(self) -> str:
        if self.phase in RECOVERABLE:
            return "recover"
        return "reuse" if self.phase == "SUCCEEDED" else "follow"

    @property
    def followed(self) -> str:
        return self.recovered_name or self.original


def launch_recovery(
    settings: FlyteLauncherConf,
    main: MainWorkflow,
    jobs: Sequence[Any],
    run_job_for: Callable[[Any, Callable[[Any], Any]], Any],
    sweep_dir: str,
) -> list[Any]:
    """``hydra.launcher.recover``: recover what failed, follow everything, one JobReturn per job."""
    from scaffold_flyte.connection import resolve_connection

    connection = resolve_connection(
        settings.endpoint, settings.insecure, settings.project, settings.domain, settings.storage
    )
    if settings.recover is True:
        targets = sweep_targets(main, jobs, sweep_dir, connection)
    else:
        targets = [named_target(main, jobs, str(settings.recover), connection)]
    ledger = LaunchLedger()
    follower = None
    try:
        inspect(connection, main, targets, by_name=settings.recover is not True)
        _announce(targets, sweep_dir if settings.recover is True else None)
        ledger.now(RECOVERING)
        _recover_all(connection, targets, ledger, run_job_for, settings)
        ledger.now(FOLLOWING)
        follower = _follower(connection, main, targets, settings)
        returns = [
            run_job_for(t.job, functools.partial(_job_function, connection, t, follower if settings.wait else None))
            for t in targets
        ]
        if settings.wait:
            log.info(follower.summary())
        return returns
    except KeyboardInterrupt:
        raise LauncherConfigError(_interrupted(connection, targets, ledger, follower, settings, run_job_for)) from None


# -- what to recover: local checks first ----------------------------------------------------------


def job_folder(job: Any) -> Path:
    """The job's folder as Hydra's run_job makes it: ``hydra.sweep.dir`` / ``hydra.sweep.subdir``."""
    with job.resolving():  # a subdir may interpolate ${hydra:...}
        hydra = job.config.hydra
        return (Path(str(hydra.sweep.dir)) / str(hydra.sweep.subdir)).resolve()


def sweep_targets(main: MainWorkflow, jobs: Sequence[Any], sweep_dir: str, connection: Connection) -> list[Target]:
    """Each job's record, read from its folder and checked against this launch; no RPC."""
    folder = Path(sweep_dir).resolve()
    again = (
        "point hydra.sweep.dir at the failed sweep's folder and pass the same overrides as the failed launch "
        f"(python main.py -m <its overrides> {SETTING}=true hydra.sweep.dir=<its folder>)"
    )
    targets, missing = [], []
    for job in jobs:
        where = job_folder(job)
        path = where / RECORD_FILE
        if not path.is_file():
            missing.append((job, where))
            continue
        targets.append(Target(job.num, job.label, job, where, _read_record(path, job), ""))
    if not targets:
        raise RecoveryError(
            f"{SETTING}=true found no {RECORD_FILE} in {folder} (read for job folder(s) "
            f"{', '.join(str(w.relative_to(folder)) if w.is_relative_to(folder) else str(w) for _, w in missing)}): "
            f"{again}."
        )
    if missing:
        listing = "; ".join(f"{job.label}: {where}" for job, where in missing)
        raise RecoveryError(
            f"{SETTING}=true: {len(missing)} job(s) have no {RECORD_FILE}, so no execution to recover ({listing}): "
            f"their executions were never created; {again}, or launch those jobs again without {SETTING}."
        )
    for target in targets:
        _check_record(target, main, connection)
        _check_overrides(target)
        target.original = str(target.record["execution"])
    return targets


def _read_record(path: Path, job: Any) -> dict[str, Any]:
    try:
        data = OmegaConf.to_container(OmegaConf.load(path))
    except Exception as error:  # noqa: BLE001 - any unreadable record is reported the same way
        raise RecoveryError(f"{job.label}: {path} cannot be read ({type(error).__name__}: {error}).") from None
    absent = [key for key in RECORD_KEYS if not isinstance(data, dict) or not data.get(key)]
    if absent:
        raise RecoveryError(
            f"{job.label}: {path} is not a launch record (no {', '.join(absent)}): it is written by a remote "
            f"launch; relaunch the job without {SETTING}."
        )
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def _check_record(target: Target, main: MainWorkflow, connection: Connection) -> None:
    """The record is of this launch's workflow, project, domain and Flyte."""
    record, label, path = target.record, target.label, target.folder / RECORD_FILE
    if record["workflow"] != main.name:
        raise RecoveryError(
            f"{label}: {path} is a launch of workflow {record['workflow']}, not of this module's {main.name}: "
            f"recover it from the app that launched it (or with hydra.launcher.workflow=<its workflow>), or "
            "point hydra.sweep.dir at this app's failed sweep."
        )
    for key in ("project", "domain"):
        if record[key] != getattr(connection, key):
            raise RecoveryError(
                f"{label}: {path} is an execution in {key} {record[key]}, this launch is set to "
                f"{getattr(connection, key)}: set hydra.launcher.{key}={record[key]} to recover it."
            )
    endpoint = record.get("endpoint")
    if endpoint and endpoint != connection.endpoint:
        raise RecoveryError(
            f"{label}: {path} is an execution on Flyte at {endpoint}, this launch connects to "
            f"{connection.endpoint} (from {connection.source}): set hydra.launcher.endpoint={endpoint} to recover it."
        )


def _check_overrides(target: Target) -> None:
    """The job is the one that ran in the folder: the same overrides (Hydra's .hydra/overrides.yaml)."""
    hydra = target.job.config.hydra
    if not hydra.output_subdir:
        return
    path = target.folder / str(hydra.output_subdir) / "overrides.yaml"
    if not path.is_file():
        return
    before = [str(o) for o in OmegaConf.load(path)]
    now = [str(o) for o in hydra.overrides.task]
    if before != now:
        raise RecoveryError(
            f"{target.label}: its folder {target.folder} holds a launch with overrides [{' '.join(before)}], "
            f"this one has [{' '.join(now)}]: recover with the same overrides as the failed launch (a recovery "
            "reruns it on its own inputs)."
        )


def named_target(main: MainWorkflow, jobs: Sequence[Any], name: str, connection: Connection) -> Target:
    """``recover=<name>``: one job, whose folder gets the recovered execution's record."""
    if len(jobs) != 1:
        raise RecoveryError(
            f"{SETTING}={name} recovers one execution, but this launch has {len(jobs)} jobs: drop the sweep "
            f"overrides, or recover a sweep folder with {SETTING}=true hydra.sweep.dir=<its folder>."
        )
    (job,) = jobs
    record = {
        "workflow": main.name,
        "project": connection.project,
        "domain": connection.domain,
        "endpoint": connection.endpoint,
        "execution": name,
    }
    return Target(job.num, f"{SETTING}={name}", job, job_folder(job), record, name)


# -- what Flyte has -------------------------------------------------------------------------------


def inspect(connection: Connection, main: MainWorkflow, targets: Sequence[Target], by_name: bool) -> None:
    """Each original execution read from Flyte (read-only) and checked; raises before anything is made."""
    from flytekit.exceptions.user import FlyteEntityNotExistException
    from flytekit.models.core.execution import WorkflowExecutionPhase
    from flytekit.models.core.identifier import WorkflowExecutionIdentifier
    from flytekit.remote.executions import FlyteWorkflowExecution

    from scaffold_flyte.connection import first_call

    remote = connection.remote
    for index, target in enumerate(targets):
        identifier = WorkflowExecutionIdentifier(connection.project, connection.domain, target.original)
        where = (
            f"Flyte at {connection.endpoint} has no execution {target.original} in "
            f"{connection.project}/{connection.domain}"
        )

        def get(identifier: Any = identifier) -> Any:
            return remote.client.get_execution(identifier)

        try:
            if index == 0:
                model = first_call(connection, get)
            else:
                model = with_retries(get, f"reading execution {target.original}")
        except FlyteEntityNotExistException:
            if by_name:
                raise RecoveryError(
                    f"{target.label}: {where}: name an execution of this project and domain (a job "
                    "folder's flyte_execution.yaml names its execution), or set hydra.launcher.project/.domain to "
                    "where it ran."
                ) from None
            raise RecoveryError(
                f"{target.label}: {target.folder / RECORD_FILE} names execution {target.original}, but {where}: "
                f"launch the job again without {SETTING}, or set hydra.launcher.endpoint to the Flyte that ran it."
            ) from None
        target.execution = FlyteWorkflowExecution.promote_from_model(model)
        target.phase = WorkflowExecutionPhase.enum_to_string(model.closure.phase)
        launch_plan = model.spec.launch_plan
        if launch_plan.name != main.name:
            raise RecoveryError(
                f"{target.label}: execution {target.original} runs launch plan {launch_plan.name}, not "
                f"this module's workflow {main.name}: recover it from the app that launched it (or with "
                "hydra.launcher.workflow=<its workflow>)."
            )
        target.record.setdefault("version", launch_plan.version)
        if by_name and target.action != "recover":
            raise RecoveryError(_did_not_fail(target))


def _did_not_fail(target: Target) -> str:
    name, phase = target.original, target.phase
    if phase == "SUCCEEDED":
        return (
            f"{target.label}: execution {name} SUCCEEDED, so there is nothing to recover: read its outputs in "
            "the console, or launch again without recover for a new run."
        )
    return (
        f"{target.label}: execution {name} is {phase}, it has not failed: wait for it to end (or terminate "
        f"it), then recover it if it failed ({', '.join(RECOVERABLE)} can be recovered)."
    )


def _announce(targets: Sequence[Target], sweep_dir: str | None) -> None:
    """The recovery's plan: how many jobs of which folder are recovered, kept or followed, then each kept one."""
    counts: dict[str, int] = {}
    for target in targets:
        counts[target.action] = counts.get(target.action, 0) + 1
    words = {"recover": "to recover", "reuse": "succeeded", "follow": "still running"}
    shown = ", ".join(f"{counts[a]} {words[a]}" for a in ("recover", "reuse", "follow") if a in counts)
    where = f" of {Path(sweep_dir).resolve()}" if sweep_dir else ""
    log.info(f"Flyte launcher (recovery): {len(targets)} job(s){where}: {shown}; nothing is built or registered")
    for target in targets:
        if target.action == "reuse":
            log.info(f"{target.label}: execution {target.original} SUCCEEDED: not relaunched, its outputs are kept")
        elif target.action == "follow":
            log.info(f"{target.label}: execution {target.original} is {target.phase}: followed, not recovered")


# -- RecoverExecution -----------------------------------------------------------------------------


def recovered_name(original: str, started: int) -> str:
    """A name for the recovery that is the same on every retry of this launch, new for the next launch."""
    digest = hashlib.sha256(f"{original}|{started}".encode()).hexdigest()[:12]
    return f"r{digest}-{original.rsplit('-', 1)[-1]}" if "-" in original else f"r{digest}"


def recover_execution(connection: Connection, original: str, name: str, what: str) -> str:
    """RecoverExecution of ``original`` as ``name``; retried on outages, idempotent by name.

    A retry whose first attempt did reach Flyte finds the name taken (ALREADY_EXISTS): the
    execution under it is this recovery if it recovers ``original``, and is then taken as made.
    """
    from flytekit.exceptions.user import (
        FlyteEntityAlreadyExistsException,
        FlyteEntityNotExistException,
        FlyteInvalidInputException,
    )
    from flytekit.models.core.identifier import WorkflowExecutionIdentifier

    from scaffold_flyte.errors import flyte_message, invalid_argument_advice

    client = connection.remote.client
    identifier = WorkflowExecutionIdentifier(connection.project, connection.domain, original)
    try:
        made = with_retries(lambda: client.recover_execution(identifier, name), what)
        return str(made.name)
    except FlyteEntityAlreadyExistsException:
        existing = client.get_execution(WorkflowExecutionIdentifier(connection.project, connection.domain, name))
        reference = existing.spec.metadata.reference_execution
        if reference is not None and reference.name == original:
            return name
        raise ExecutionError(f"{what}: Flyte has another execution named {name}: launch the recovery again.") from None
    except FlyteInvalidInputException as error:
        advice = invalid_argument_advice(flyte_message(error), what, connection.project, connection.domain)
        raise ExecutionError(advice) from None
    except FlyteEntityNotExistException as error:
        raise ExecutionError(
            f"{what}: Flyte no longer has what it needs ({flyte_message(error)}): launch the job again without "
            f"{SETTING}."
        ) from None


def _recover_all(
    connection: Connection,
    targets: Sequence[Target],
    ledger: LaunchLedger,
    run_job_for: Callable[[Any, Callable[[Any], Any]], Any],
    settings: FlyteLauncherConf,
) -> None:
    """RecoverExecution for each failed job; a failure lists what was recovered before it."""
    started = time.time_ns()
    for target in targets:
        if target.action != "recover":
            continue
        label = target.label
        what = f"recovering the execution of {label} ({target.original}, {target.phase})"
        try:
            name = recover_execution(connection, target.original, recovered_name(target.original, started), what)
            execution = fetch(connection, name)
        except ScaffoldFlyteError as error:
            if not ledger.created:
                raise ExecutionError(f"{str(error).rstrip('.')}. Nothing was recovered.") from None
            _record_recovered(connection, targets, run_job_for)
            raise ExecutionError(
                f"{str(error).rstrip('.')}. What exists: {ledger.what_exists('recovered')}. Their job folders' "
                f"{RECORD_FILE} name them; {SETTING}=true again recovers the jobs still failed."
            ) from None
        target.recovered_name = name
        target.recovered = execution
        url = connection.console_url(name)
        ledger.execution_created(CreatedExecution(target.num, label, name, url))
        log.info(f"{label}: execution {target.original} {target.phase}: recovered as {name} {url}")


def fetch(connection: Connection, name: str) -> Any:
    """The execution ``name`` as FlyteRemote's FlyteWorkflowExecution (one GetExecution, retried)."""
    from flytekit.models.core.identifier import WorkflowExecutionIdentifier
    from flytekit.remote.executions import FlyteWorkflowExecution

    identifier = WorkflowExecutionIdentifier(connection.project, connection.domain, name)
    model = with_retries(lambda: connection.remote.client.get_execution(identifier), f"reading execution {name}")
    return FlyteWorkflowExecution.promote_from_model(model)


def _record_recovered(
    connection: Connection, targets: Sequence[Target], run_job_for: Callable[[Any, Callable[[Any], Any]], Any]
) -> None:
    """Each recovered job's folder and record, as a launch that does not wait leaves them."""
    for target in targets:
        if target.recovered_name:
            run_job_for(target.job, functools.partial(_job_function, connection, target, None))


# -- following ------------------------------------------------------------------------------------


def _follower(
    connection: Connection, main: MainWorkflow, targets: Sequence[Target], settings: FlyteLauncherConf
) -> Any:
    from scaffold_flyte.follow import Follower

    executions = {t.num: t.recovered or t.execution for t in targets}
    requests = [ExecutionRequest(t.num, t.label, t.followed, {}) for t in targets]
    return Follower(
        connection.remote,
        main,
        executions,
        requests,
        connection.console_url,
        poll_interval=settings.poll_interval,
        timeout=settings.timeout,
    )


def _job_function(connection: Connection, target: Target, follower: Any, cfg: Any) -> Any:
    """What one Hydra job of a recovery does: record a recovered execution, then wait for it (or not)."""
    if target.recovered_name:
        write_record(target, connection)
    job_logs.own_lines(target.num, follower.lines_of(target.num) if follower is not None else [])
    if follower is None:
        return {"execution": target.followed, "url": connection.console_url(target.followed)}
    return follower.result(target.num)


def write_record(target: Target, connection: Connection) -> None:
    """The job's record now names the recovered execution; ``recovered_from`` keeps the ones before it."""
    record = dict(target.record)
    before = record.get("recovered_from") or []
    record["recovered_from"] = [*before, target.original] if target.original not in before else list(before)
    record["execution"] = target.recovered_name
    record["url"] = connection.console_url(target.recovered_name)
    target.folder.mkdir(parents=True, exist_ok=True)
    (target.folder / RECORD_FILE).write_text(OmegaConf.to_yaml(OmegaConf.create(record)))


def _interrupted(
    connection: Connection,
    targets: Sequence[Target],
    ledger: LaunchLedger,
    follower: Any,
    settings: FlyteLauncherConf,
    run_job_for: Callable[[Any, Callable[[Any], Any]], Any],
) -> str:
    """The Ctrl-C line: the executions recovered so far (terminated if asked to), or what is still running."""
    from scaffold_flyte.follow import interrupted_message, terminate_executions

    terminate = settings.terminate_on_interrupt
    if follower is not None:
        running = follower.still_running()
        if terminate:
            follower.terminate(running, "interrupted by the user (Ctrl-C)")
        return interrupted_message(running, terminate)
    step = ledger.step
    if not ledger.executions():
        return f"Interrupted while {step}: nothing was recovered."
    verb = "recovered, still running (set hydra.launcher.terminate_on_interrupt=true to stop them)"
    if terminate:
        ids = {t.recovered_name: t.recovered.id for t in targets if t.recovered is not None}
        terminate_executions(connection.remote, ids, "interrupted by the user (Ctrl-C)", RETRY_DELAYS)
        verb = "recovered and terminated"
    _record_recovered(connection, targets, run_job_for)
    return f"Interrupted while {step}: {ledger.what_exists(verb)}."


# -- from Python ----------------------------------------------------------------------------------


def recover_one(
    connection: Connection,
    main: MainWorkflow,
    name: str,
    *,
    wait: bool,
    timeout: float | None,
    poll_interval: float,
    execution_name: str | None,
) -> tuple[str, str, Any]:
    """Recover execution ``name`` (it must have failed): the new execution's name, the version it runs
    (the original's launch plan's), and its outputs if ``wait``."""
    from scaffold_flyte.follow import Follower

    target = Target(0, f"recover({name!r})", None, Path.cwd(), {}, name)
    inspect(connection, main, [target], by_name=True)
    new = execution_name or recovered_name(name, time.time_ns())
    made = recover_execution(connection, name, new, f"recovering {name} ({target.phase})")
    version = str(target.record.get("version", ""))
    if not wait:
        return made, version, None
    request = ExecutionRequest(0, f"recovery of {name}", made, {})
    follower = Follower(
        connection.remote,
        main,
        {0: fetch(connection, made)},
        [request],
        connection.console_url,
        poll_interval=poll_interval,
        timeout=timeout,
    )
    return made, version, follower.result(0)
