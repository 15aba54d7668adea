"""A scheduled launch: one launch plan per job, its config as fixed inputs, registered and activated.

Instead of executing, a launch with ``hydra.launcher.schedule`` registers the workflow as usual,
then for each job a launch plan that fixes every input to that job's config and carries the
schedule and the notifications, and makes it the active version of its name: Flyte's scheduler
then starts the executions. Decisions, and why:

- One launch plan per job, each named from the job's overrides (``<base>-<key>_<value>...``, only
  the overrides that differ between the jobs): a sweep becomes a set of schedules, one per
  configuration, which is what ``-m schedule.cron=@daily model=a,b`` asks for; refusing sweeps
  would force one command line per configuration. A single job takes the base name as it is.
- The launch plan's version is the workflow version plus a digest of the job's inputs, schedule
  and notifications: a relaunch with nothing changed registers nothing new and activates the same
  version; a change registers a new version, and activating it deactivates the old one (flyteadmin
  keeps one active version per name: launch_plan_manager.go enableLaunchPlan).
- All launch plans are registered first, then activated: a refusal on the way activates nothing.
- ``active=false`` deactivates the active version of each job's name and builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import RegistrationError, flyte_message
from scaffold_flyte.notifications import Notify
from scaffold_flyte.schedules import LaunchSchedule

log = logging.getLogger(__name__)
RECORD_FILE = "flyte_schedule.yaml"
NAME_LENGTH = 100  # long enough for a few overrides, short enough to read in the console
_UNSAFE = re.compile(r"[^A-Za-z0-9_.\-]+")


@dataclass(frozen=True)
class ScheduledPlan:
    """One job's launch plan: its name and version, as the dry run shows them and the launch registers them."""

    num: int
    label: str
    name: str
    version: str


def plan_schedules(
    schedule: LaunchSchedule,
    notifications: tuple[Notify, ...],
    workflow_name: str,
    version: str,
    jobs: list[Any],
    requests: list[Any],
) -> list[ScheduledPlan]:
    """Each job's launch plan name (from its overrides) and version (from its inputs, schedule and notifications)."""
    base = schedule.name or f"{workflow_name}_schedule"
    names = launch_plan_names(base, [tuple(job.overrides) for job in jobs])
    plans = []
    for job, request, name in zip(jobs, requests, names, strict=True):
        content = {
            "workflow_version": version,
            "inputs": {key: _plain(value) for key, value in sorted(request.inputs.items())},
            "schedule": [schedule.expression, schedule.rate],
            "notifications": [[n.phases, n.channel, n.recipients] for n in notifications],
        }
        digest = hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()[:12]
        plans.append(ScheduledPlan(job.num, job.label, name, f"{version}-{digest}"))
    return plans


def launch_plan_names(base: str, overrides: list[tuple[str, ...]]) -> list[str]:
    """``base`` for a single job; for a sweep, ``base`` plus the overrides that tell each job apart.

    A name that would be too long, or the same as another job's, takes a digest of the overrides
    instead, so every job keeps a name of its own that a relaunch derives again.
    """
    if len(overrides) == 1:
        return [base]
    shared = set.intersection(*(set(o) for o in overrides))
    names = []
    for job_overrides in overrides:
        varying = [o for o in job_overrides if o not in shared]
        slug = "-".join(_UNSAFE.sub("_", o.lstrip("+~").replace("=", "_")) for o in varying)
        names.append(f"{base}-{slug}" if slug else base)
    for index, name in enumerate(names):
        if len(name) > NAME_LENGTH or names.count(name) > 1:
            digest = hashlib.sha256("\n".join(overrides[index]).encode()).hexdigest()[:10]
            names[index] = f"{base}-{digest}"
    return names


def schedule_jobs(
    remote: Any,
    plan: Any,
    jobs: list[Any],
    run_job_for: Any,
    ledger: Any,
    launch_plan: Any,
    literals: dict[int, dict[str, Any]],
) -> list[Any]:
    """Register each job's launch plan (inactive, as flyteadmin creates them), then activate them all."""
    from flytekit.exceptions.user import FlyteEntityAlreadyExistsException, FlyteInvalidInputException
    from flytekit.models.launch_plan import LaunchPlanState

    registered: list[str] = []
    for scheduled in plan.schedules:
        identifier = _identifier(plan, scheduled)
        spec = _spec(launch_plan, literals[scheduled.num], plan.schedule, plan.notifications)
        try:
            remote.client.create_launch_plan(identifier, spec)
            registered.append(f"{scheduled.name} version {scheduled.version}")
        except FlyteEntityAlreadyExistsException:
            log.info(f"launch plan {scheduled.name} version {scheduled.version} is registered already")
        except FlyteInvalidInputException as error:
            done = f" (registered inactive, nothing activated: {', '.join(registered)})" if registered else ""
            raise RegistrationError(
                f"Flyte refused the launch plan {scheduled.name} of {scheduled.label}: {flyte_message(error)}{done}."
            ) from None
    if registered:
        ledger.registration_done(f"{plan.main.name} version {plan.version} and launch plan(s) {', '.join(registered)}")
    for scheduled in plan.schedules:
        remote.client.update_launch_plan(_identifier(plan, scheduled), LaunchPlanState.ACTIVE)
    return [_job_return(plan, job, run_job_for, True) for job in jobs]


def deactivate_jobs(remote: Any, plan: Any, jobs: list[Any], run_job_for: Any) -> list[Any]:
    """``active=false``: each job's launch plan name loses its active version, so its schedule stops."""
    from flytekit.exceptions.user import FlyteEntityNotExistException
    from flytekit.models.common import NamedEntityIdentifier
    from flytekit.models.launch_plan import LaunchPlanState

    from scaffold_flyte.connection import first_call

    versions: dict[int, str | None] = {}
    for index, scheduled in enumerate(plan.schedules):
        named = NamedEntityIdentifier(plan.connection.project, plan.connection.domain, scheduled.name)
        call = lambda named=named: remote.client.get_active_launch_plan(named)  # noqa: E731
        try:
            active = first_call(plan.connection, call) if index == 0 else call()
        except FlyteEntityNotExistException:
            log.info(f"{scheduled.label}: launch plan {scheduled.name} has no active version: nothing to deactivate")
            versions[scheduled.num] = None
            continue
        remote.client.update_launch_plan(active.id, LaunchPlanState.INACTIVE)
        versions[scheduled.num] = active.id.version
    return [_job_return(plan, job, run_job_for, False, versions) for job in jobs]


def _job_return(
    plan: Any, job: Any, run_job_for: Any, active: bool, versions: dict[int, str | None] | None = None
) -> Any:
    scheduled = next(s for s in plan.schedules if s.num == job.num)
    version = scheduled.version if versions is None else versions.get(job.num)
    url = plan.connection.entity_url(_identifier(plan, scheduled))
    value = {
        "launch_plan": scheduled.name,
        "version": version,
        "schedule": plan.schedule.describe(),
        "active": active,
        "url": url,
    }

    def record(cfg: DictConfig) -> dict[str, Any]:
        state = "active" if active else ("deactivated" if version else "had no active version")
        log.info(f"{job.label}: launch plan {scheduled.name} version {version}, {plan.schedule.describe()}, {state}")
        folder = Path(HydraConfig.get().runtime.output_dir)
        shown = {**value, "project": plan.connection.project, "domain": plan.connection.domain}
        shown["notifications"] = [n.describe() for n in plan.notifications]
        (folder / RECORD_FILE).write_text(OmegaConf.to_yaml(OmegaConf.create(shown)))
        return value

    return run_job_for(job, record)


def _identifier(plan: Any, scheduled: ScheduledPlan) -> Any:
    from flytekit.models.core.identifier import Identifier, ResourceType

    project, domain = plan.connection.project, plan.connection.domain
    return Identifier(ResourceType.LAUNCH_PLAN, project, domain, scheduled.name, scheduled.version)


def _spec(launch_plan: Any, fixed: dict[str, Any], schedule: LaunchSchedule, notifications: tuple[Notify, ...]) -> Any:
    """The workflow's default launch plan, with this job's inputs fixed and the schedule and notifications set.

    Inputs the job leaves to the workflow's defaults stay default inputs: a schedule needs every
    required input bound (launch_plan_validator.go validateSchedule).
    """
    from flytekit.models.interface import ParameterMap
    from flytekit.models.launch_plan import LaunchPlanMetadata, LaunchPlanSpec
    from flytekit.models.literals import LiteralMap

    defaults = {k: v for k, v in launch_plan.default_inputs.parameters.items() if k not in fixed}
    return LaunchPlanSpec(
        workflow_id=launch_plan.workflow_id,
        entity_metadata=LaunchPlanMetadata(schedule.model(), [n.model() for n in notifications]),
        default_inputs=ParameterMap(defaults),
        fixed_inputs=LiteralMap(dict(fixed)),
        labels=launch_plan.labels,
        annotations=launch_plan.annotations,
        auth_role=launch_plan.auth_role,
        raw_output_data_config=launch_plan.raw_output_data_config,
        max_parallelism=launch_plan.max_parallelism,
        security_context=launch_plan.security_context,
    )


def _plain(value: Any) -> Any:
    return OmegaConf.to_container(value, resolve=True) if isinstance(value, (DictConfig, ListConfig)) else value
