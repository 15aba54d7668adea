"""Running what the launcher registered, from your own code: a notebook, a script, a scheduled job.

The launcher registers the main workflow under a content version and records it in each job's
``flyte_execution.yaml``. ``execute(cfg, version=...)`` runs that registered version again on any
config, through the same split config, the same checks and the same one-line errors as the
launcher, without building or registering anything::

    from hydra import compose, initialize
    import scaffold_flyte.remote

    with initialize(version_base=None, config_path="conf"):
        cfg = compose("config", overrides=["model.learning_rate=0.01"])
    score = scaffold_flyte.remote.execute(cfg, version="3f2a...", module="main")

``recover(name)`` recovers a failed execution the same way (Flyte's RecoverExecution: the nodes
that succeeded are not run again); see scaffold_flyte.recovery.
"""

from __future__ import annotations

import sys
import uuid
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig

import scaffold_flyte.temp_files  # noqa: F401 - removes flytekit's temp folders at exit
from scaffold_flyte.connection import first_call, make_remote, resolve_connection
from scaffold_flyte.discovery import find_main_workflow, stable_names
from scaffold_flyte.environment_values import refuse_env_values
from scaffold_flyte.errors import RegistrationError
from scaffold_flyte.executions import ExecutionRequest, check_execution_name, create_executions
from scaffold_flyte.follow import Follower
from scaffold_flyte.inputs import registered_literals, workflow_inputs
from scaffold_flyte.registration import fetch_launch_plan, registered_launch_plan


@dataclass(frozen=True)
class Execution:
    """An execution created without waiting for it: enough to find it again."""

    name: str
    url: str
    workflow: str
    version: str


def execute(
    cfg: DictConfig,
    *,
    version: str,
    workflow: str | None = None,
    module: str | None = None,
    endpoint: str | None = None,
    insecure: bool | None = None,
    project: str = "flytesnacks",
    domain: str = "development",
    wait: bool = True,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    execution_name: str | None = None,
    allow_env_inputs: bool = False,
) -> Any:
    """Execute the registered ``version`` of the calling module's main workflow on ``cfg``.

    Returns the workflow's output as Python values (``wait=True``), or an ``Execution`` at once.
    The connection is flytekit's own configuration unless ``endpoint`` is given, as in the
    launcher. A version Flyte does not have, inputs that do not fit its launch plan (unknown,
    missing, of another type) or an ``execution_name`` Flyte would refuse are a one-line error
    before any execution is created; a failed execution raises ``ExecutionFailed`` with Flyte's
    message and the failing task. ``execution_name`` makes a retried call idempotent (Flyte
    refuses a second execution under one name).
    """
    if execution_name is not None:
        check_execution_name(execution_name)
    module_name = module or sys._getframe(1).f_globals["__name__"]
    main = find_main_workflow(sys.modules[module_name], workflow)
    stable_names(main)  # the names the launcher registered it under
    label = f"{main.name}@{version}"
    inputs = workflow_inputs(main.workflow, cfg, label)
    if not allow_env_inputs:
        refuse_env_values(main.workflow, cfg, label)
    connection = resolve_connection(endpoint, insecure, project, domain)
    remote = make_remote(connection)
    registered = first_call(connection, lambda: registered_launch_plan(remote, main, connection, version))
    if registered is None:
        raise RegistrationError(
            f"{main.name} version {version} is not registered in {project}/{domain}: launch it once with "
            "`python main.py -m hydra/launcher=flyte` (its flyte_execution.yaml records the version), or name a "
            "registered version."
        )
    launch_plan = fetch_launch_plan(remote, main, version, registered)
    request = ExecutionRequest(0, label, execution_name or f"x{uuid.uuid4().hex[:12]}", inputs)
    local_types = dict(main.workflow.python_interface.inputs)
    literals = registered_literals(remote, launch_plan, [request], local_types, f"{main.name} at version {version}")
    executions = create_executions(
        remote, launch_plan, [request], literals, 1, connection.console_url, settings=("project=", "domain=")
    )
    if not wait:
        return Execution(request.name, connection.console_url(request.name), main.name, version)
    follower = Follower(
        remote,
        main,
        executions,
        [request],
        connection.console_url,
        poll_interval=poll_interval,
        timeout=timeout,
    )
    return follower.result(0)


def recover(
    name: str,
    *,
    workflow: str | None = None,
    module: str | None = None,
    endpoint: str | None = None,
    insecure: bool | None = None,
    project: str = "flytesnacks",
    domain: str = "development",
    wait: bool = True,
    timeout: float | None = None,
    poll_interval: float = 2.0,
    execution_name: str | None = None,
) -> Any:
    """Recover the failed execution ``name`` with Flyte's RecoverExecution (scaffold_flyte.recovery).

    The new execution runs the original's launch plan on its inputs; the nodes that succeeded in
    the original are not run again. Returns the workflow's output as Python values (``wait=True``),
    or an ``Execution`` at once. The module's main workflow gives the output types, as in
    ``execute``. An execution Flyte does not have, one of another workflow, or one that did not
    fail (succeeded, still running) is a one-line error before anything is created.
    """
    from scaffold_flyte import recovery

    check_execution_name(name, "name")
    if execution_name is not None:
        check_execution_name(execution_name)
    module_name = module or sys._getframe(1).f_globals["__name__"]
    main = find_main_workflow(sys.modules[module_name], workflow)
    stable_names(main)
    connection = resolve_connection(endpoint, insecure, project, domain)
    made, version, value = recovery.recover_one(
        connection,
        main,
        name,
        wait=wait,
        timeout=timeout,
        poll_interval=poll_interval,
        execution_name=execution_name,
    )
    if not wait:
        return Execution(made, connection.console_url(made), main.name, version)
    return value
