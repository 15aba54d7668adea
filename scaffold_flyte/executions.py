"""Executions: created concurrently under names derived from the sweep, then followed to the end.

A name is a hash of the launch (its sweep folder, the registered version and the moment the launch
started) plus the job number: creating it again after a transient failure finds the existing
execution instead of making a second one (flyteadmin answers ALREADY_EXISTS, FlyteRemote returns it).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from scaffold_flyte.errors import ExecutionError

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


def with_retries(call: Callable[[], T], what: str, delays: Sequence[float] = RETRY_DELAYS) -> T:
    """Call, retrying transient admin failures (unavailable, timeouts, internal) with backoff."""
    from flytekit.exceptions.system import FlyteSystemException
    from flytekit.exceptions.user import FlyteTimeout

    for attempt, delay in enumerate([*delays, None]):
        try:
            return call()
        except (FlyteSystemException, FlyteTimeout) as error:
            if delay is None:
                raise ExecutionError(
                    f"{what} failed {attempt + 1} times, the last with {type(error).__name__}: "
                    "check that Flyte's admin is up, then launch again (names are stable: nothing is duplicated)."
                ) from None
            log.warning(f"{what}: {type(error).__name__}, retrying in {delay:.1f} s")
            time.sleep(delay)
    raise AssertionError("unreachable")


def create_executions(
    remote: Any,
    launch_plan: Any,
    requests: Sequence[ExecutionRequest],
    parallel: int,
    console_url: Callable[[str], str],
    delays: Sequence[float] = RETRY_DELAYS,
) -> dict[int, Any]:
    """Create one execution per request, at most ``parallel`` at once; returns them by job number.

    Inputs are typed by the launch plan's ``python_interface`` (the local workflow's, as
    registration.fetch_launch_plan sets it), so a DictConfig input goes through the OmegaConf
    transformer.
    """
    type_hints = dict(launch_plan.python_interface.inputs)

    def create(request: ExecutionRequest) -> Any:
        execution = with_retries(
            lambda: remote.execute(
                launch_plan,
                inputs=request.inputs,
                execution_name=request.name,
                type_hints={k: v for k, v in type_hints.items() if k in request.inputs},
                wait=False,
            ),
            f"creating the execution of {request.label}",
            delays,
        )
        log.info(f"{request.label}: execution {request.name} {console_url(request.name)}")
        return execution

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="execution") as pool:
        futures = {request.num: pool.submit(create, request) for request in requests}
        return {num: future.result() for num, future in futures.items()}
