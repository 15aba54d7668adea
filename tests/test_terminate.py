"""Terminating executions: one that already finished counts as done, an outage is still retried.

flyteadmin answers TerminateExecution on a finished execution with FAILED_PRECONDITION
(flyteadmin/pkg/manager/impl/execution_manager.go); flytekit's client raises that as a plain
FlyteSystemException, the class it raises for outages too.
"""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from flyteidl.core import execution_pb2
from flytekit.exceptions.system import FlyteSystemException, FlyteSystemUnavailableException

from scaffold_flyte.connection import resolve_connection
from scaffold_flyte.discovery import find_main_workflow
from scaffold_flyte.errors import ExecutionError
from scaffold_flyte.executions import ExecutionRequest
from scaffold_flyte.follow import Follower
from tests.fixtures import two_top
from tests.flyte_standin import StandIn
from tests.test_registration_rules import copy_app, flytekit_error, launch

FINISHED = "Cannot abort an already terminated workflow execution"  # execution_manager.go TerminateExecution


class Client:
    """An admin client whose TerminateExecution fails with ``error`` each time."""

    def __init__(self, error: Exception) -> None:
        self.error, self.calls = error, 0

    def terminate_execution(self, execution_id: Any, cause: str) -> None:
        self.calls += 1
        raise self.error


def follower(remote: Any, executions: dict[int, Any]) -> Follower:
    requests = [ExecutionRequest(num, f"job #{num}", f"s1-{num}", {}) for num in executions]
    main = find_main_workflow(two_top, "first")
    return Follower(remote, main, executions, requests, lambda name: name, delays=(0.0, 0.0))


def test_flytekit_raises_failed_precondition_as_a_plain_system_exception() -> None:
    error = flytekit_error(grpc.StatusCode.FAILED_PRECONDITION, FINISHED)
    assert type(error) is FlyteSystemException  # the class of an outage, too: only the cause's code differs


def test_an_execution_that_finished_meanwhile_counts_as_terminated() -> None:
    client = Client(flytekit_error(grpc.StatusCode.FAILED_PRECONDITION, FINISHED))
    following = follower(SimpleNamespace(client=client), {0: SimpleNamespace(id="e0"), 1: SimpleNamespace(id="e1")})
    following.terminate(following.still_running(), "interrupted")
    assert client.calls == 2  # once each, no retry


def test_an_outage_while_terminating_is_still_retried_then_reported() -> None:
    client = Client(flytekit_error(grpc.StatusCode.UNAVAILABLE, "connection refused"))
    assert isinstance(client.error, FlyteSystemUnavailableException)
    following = follower(SimpleNamespace(client=client), {0: SimpleNamespace(id="e0")})
    with pytest.raises(ExecutionError, match="terminating s1-0 failed 3 times"):
        following.terminate(following.still_running(), "interrupted")
    assert client.calls == 3


def test_terminating_against_the_standin(tmp_path: Path, home: Path) -> None:
    """Against the test stand-in for Flyte's admin (tests/flyte_standin, not a Flyte; no containers run)."""
    standin = StandIn(docker_client=None)
    try:
        result = launch(copy_app(tmp_path), standin, home, "data.seed=1,2")
        assert result.returncode == 0, result.stderr[-3000:]
        records = standin.executions()
        finished, queued = sorted(records)
        records[finished].phase = execution_pb2.WorkflowExecution.SUCCEEDED  # it ended meanwhile
        remote = resolve_connection(standin.endpoint, True, "flytesnacks", "development").remote
        executions = {num: remote.fetch_execution(name=name) for num, name in enumerate((finished, queued))}
        following = follower(remote, executions)
        following.terminate(following.still_running(), "interrupted by the user (Ctrl-C)")
        assert records[finished].phase == execution_pb2.WorkflowExecution.SUCCEEDED
        assert records[queued].phase in (
            execution_pb2.WorkflowExecution.ABORTING,
            execution_pb2.WorkflowExecution.ABORTED,
        )
        assert standin.calls["TerminateExecution"] >= 2
    finally:
        standin.stop()
