"""Executions: created concurrently under names derived from the sweep, then followed to the end.

A name is a hash of the launch (its sweep folder, the registered version and the moment the launch
started) plus the job number: creating it again after a transient failure finds the existing
execution instead of making a second one (flyteadmin answers ALREADY_EXISTS, FlyteRemote returns it).
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any, TypeVar

from scaffold_flyte.errors import ExecutionError, LauncherConfigError, flyte_message, invalid_argument_advice
from scaffold_flyte.launch_ledger import CreatedExecution, LaunchLedger

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)


@dataclass(frozen=True)
class ExecutionRequest:
    """One sweep job's execution: its number, label, name and inputs (Python values)."""

    num: int
    label: str
    name: str
    inputs: dict[str, Any]


def execution_name(sweep_key: str, num: int) -> str:
    """A name Flyte accepts (lower case, starts with a letter, short) that is the same on every retry."""
    return f"s{hashlib.sha256(sweep_key.encode()).hexdigest()[:12]}-{num}"


# flyteadmin/pkg/manager/impl/validation/execution_validator.go: the name also names the execution's
# Kubernetes objects, hence lower case, a leading letter and 63 characters at most.
EXECUTION_NAME_RE = re.compile(r"^[a-z][a-z\-0-9]*$")
EXECUTION_NAME_LIMIT = 63


def check_execution_name(name: str, setting: str = "execution_name") -> None:
    """Refuse a user-given execution name Flyte would refuse, before anything is created."""
    if len(name) > EXECUTION_NAME_LIMIT or not EXECUTION_NAME_RE.match(name):
        raise LauncherConfigError(
            f"{setting}={name!r} is not a Flyte execution name: use at most {EXECUTION_NAME_LIMIT} characters, "
            "lower-case letters, digits and '-', starting with a letter (e.g. 'nightly-run-1')."
        )


class Stopped(Exception):  # noqa: N818 - not an error: the launch is stopping
    """A retry loop was told to stop (the launch is being interrupted or failed elsewhere)."""


def create_execution(
    remote: Any, launch_plan: Any, literals: dict[str, Any], name: str, notifications: Sequence[Any] = ()
) -> Any:
    """CreateExecution of ``launch_plan`` under ``name``: one RPC; returns the execution's identifier.

    The request is the one FlyteRemote._execute sends, with two differences. The notifications
    arrive: flytekit 1.16 sets ExecutionSpec's ``notifications`` and ``disable_all`` together, and
    the two are one protobuf oneof (notification_overrides), so the ``disable_all=False`` it needs to
    send any notification, set last, clears them. Here only ``notifications`` is set, and only when
    there are some: flyteadmin then takes the launch plan's own (execution_manager.go
    launchExecutionAndPrepareModel: the request's, when non-empty, else the launch plan's unless
    disable_all). And nothing follows the create: FlyteRemote reads the new execution back with
    GetExecution, a second RPC per job that tells nothing the follower's first listing does not.
    A name that exists already is that execution (a retry after a lost answer), as FlyteRemote
    treats it.
    """
    from flytekit.exceptions.user import FlyteEntityAlreadyExistsException
    from flytekit.models.core.identifier import WorkflowExecutionIdentifier
    from flytekit.models.execution import ExecutionMetadata, ExecutionSpec, NotificationList
    from flytekit.models.literals import LiteralMap

    spec = ExecutionSpec(
        launch_plan.id,
        ExecutionMetadata(ExecutionMetadata.ExecutionMode.MANUAL, "placeholder", 0),  # admin sets the principal
        notifications=NotificationList(list(notifications)) if notifications else None,
    )
    project, domain = remote.default_project, remote.default_domain
    try:
        remote.client.create_execution(project, domain, name, spec, LiteralMap(literals))
    except FlyteEntityAlreadyExistsException:
        log.debug(f"execution {name} exists already: taking it as this job's")
    return WorkflowExecutionIdentifier(project, domain, name)


def with_retries(
    call: Callable[[], T],
    what: str,
    delays: Sequence[float] = RETRY_DELAYS,
    stop: threading.Event | None = None,
) -> T:
    """Call, retrying transient admin failures (unavailable, timeouts, internal) with backoff.

    ``stop`` ends the wait between two attempts at once (Stopped): a Ctrl-C or another job's
    failure must not sit out a backoff in a worker thread.
    """
    from flytekit.exceptions.system import FlyteSystemException
    from flytekit.exceptions.user import FlyteTimeout

    for attempt, delay in enumerate([*delays, None]):
        try:
            return call()
        except (FlyteSystemException, FlyteTimeout) as error:
            if delay is None:
                raise ExecutionError(
                    f"{what} failed {attempt + 1} times, the last with {type(error).__name__}: "
                    "check that Flyte's admin is up, then launch again."
                ) from None
            log.warning(f"{what}: {type(error).__name__}, retrying in {delay:.1f} s")
            if stop is None:
                time.sleep(delay)
            elif stop.wait(delay):
                raise Stopped(what) from None
    raise AssertionError("unreachable")


def create_executions(
    remote: Any,
    launch_plan: Any,
    requests: Sequence[ExecutionRequest],
    literals: dict[int, dict[str, Any]],
    parallel: int,
    console_url: Callable[[str], str],
    delays: Sequence[float] = RETRY_DELAYS,
    settings: tuple[str, str] = ("hydra.launcher.project", "hydra.launcher.domain"),
    ledger: LaunchLedger | None = None,
    notifications: Sequence[Any] = (),
) -> dict[int, Any]:
    """Create one execution per request, at most ``parallel`` at once; returns them by job number.

    ``literals`` are each request's inputs, already converted with the registered types
    (inputs.registered_literals), so every job was checked before the first create. Flyte's
    INVALID_ARGUMENT (an unknown project or domain, say) is not an outage: it is reported at once
    as Flyte's message and its fix (``settings`` name the project and domain settings).

    The first failure (or a Ctrl-C) stops the rest: creates not started are dropped, retry waits
    end at once, and the creates already in flight finish before this returns, so ``ledger``
    then holds every execution that exists, each entered as soon as Flyte confirmed it.
    """
    from flytekit.exceptions.user import FlyteInvalidInputException

    ledger = ledger or LaunchLedger()
    stop = threading.Event()

    def create(request: ExecutionRequest) -> Any:
        if stop.is_set():
            raise Stopped(request.name)
        what = f"creating the execution of {request.label} ({request.name})"
        try:
            execution = with_retries(
                lambda: create_execution(remote, launch_plan, literals[request.num], request.name, notifications),
                what,
                delays,
                stop,
            )
        except FlyteInvalidInputException as error:
            message = flyte_message(error)
            project, domain = remote.default_project, remote.default_domain
            raise ExecutionError(invalid_argument_advice(message, what, project, domain, settings)) from None
        url = console_url(request.name)
        ledger.execution_created(CreatedExecution(request.num, request.label, request.name, url))
        log.info(f"{request.label}: execution {request.name} {url}")
        return execution

    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="execution")
    futures = {request.num: pool.submit(create, request) for request in requests}
    try:
        finished, _ = wait(futures.values(), return_when=FIRST_EXCEPTION)
        for future in futures.values():  # in job order: the first job that failed is the one reported
            error = future.exception() if future in finished else None
            if error is not None:
                raise error
        return {num: future.result() for num, future in futures.items()}
    except BaseException:
        stop.set()
        for future in futures.values():
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
