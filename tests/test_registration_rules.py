"""flyteadmin's INVALID_ARGUMENT, told apart by its message: each cause its own line and fix.

flyteadmin answers a version clash, a missing or archived project, an unknown domain, resources
over the platform's limits and a workflow that does not compile all with INVALID_ARGUMENT; only
"... with different structure already exists" (flyteadmin/pkg/errors/errors.go) means that the
version holds other content. The unit tests raise the exceptions flytekit's own client raises for
such statuses (its RetryExceptionWrapperInterceptor, fed a gRPC error); the launches run against
the test stand-in for Flyte's admin (tests/flyte_standin, not a Flyte; no containers run here).
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from flyteidl.admin import task_pb2
from flyteidl.core import identifier_pb2
from flytekit.clients.grpc_utils.wrap_exception_interceptor import RetryExceptionWrapperInterceptor
from flytekit.models.core.identifier import Identifier, ResourceType

from scaffold_flyte.discovery import find_main_workflow
from scaffold_flyte.errors import ExecutionError, RegistrationError
from scaffold_flyte.executions import ExecutionRequest, create_executions
from scaffold_flyte.registration import register
from tests.fixtures import nested
from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, no_build_remote, run_app


class Status(grpc.RpcError):
    """A gRPC error as the channel raises it: a status code and Flyte's message."""

    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        self._code, self._details = code, details

    def code(self) -> grpc.StatusCode:
        return self._code

    def details(self) -> str:
        return self._details


def flytekit_error(code: grpc.StatusCode, message: str, request: Any = None) -> Exception:
    """The exception flytekit's client raises for this status (chained to it, as flytekit chains it)."""
    try:
        RetryExceptionWrapperInterceptor._raise_if_exc(request, Status(code, message))
    except Exception as error:  # noqa: BLE001 - returned to the test
        return error
    raise AssertionError("flytekit raised nothing")


TASK_REQUEST = task_pb2.TaskCreateRequest(id=identifier_pb2.Identifier(resource_type=identifier_pb2.TASK, name="m.fit"))
INVALID = grpc.StatusCode.INVALID_ARGUMENT
CLASH = "holds other content"

# (flyteadmin's message, as its Go code formats it; what our line must say)
CASES = [
    pytest.param(
        "m.fit task with different structure already exists. (Please register a new version of the task):\n"
        "/template/container/image:\n\t- a:1 \n\t+ a:2",
        ["registering task m.fit at version v1: Flyte already holds other content under this version", "drop hydra"],
        id="version-clash",
    ),
    pytest.param(
        "failed to validate that project [acme] and domain [development] are registered, "
        "err: [project [acme] not found]",
        ["Flyte has no project 'acme'", "flytectl create project --id acme --name acme", "hydra.launcher.project"],
        id="missing-project",
    ),
    pytest.param(
        "project [acme] is not active",
        ["project 'acme' is archived", "flytectl update project -p acme --activate"],
        id="archived-project",
    ),
    pytest.param(
        "domain [qa] is unrecognized by system",
        ["Flyte has no domain 'qa'", "set hydra.launcher.domain"],
        id="unknown-domain",
    ),
    pytest.param(
        "Requested CPU limit [64] is greater than current limit set in the platform configuration [4]. "
        "Please contact Flyte Admins to change these limits or consult the configuration",
        ["asks for more than this Flyte allows", "lower the task's resources"],
        id="over-platform-limits",
    ),
    pytest.param(
        "Requested MEMORY default [2Gi] is greater than the limit [1Gi]. Please fix your configuration",
        ["resources are not valid", "@task(requests=..., limits=...)"],
        id="request-above-limit",
    ),
    pytest.param(
        'failed to compile workflow for [resource_type:WORKFLOW project:"acme" name:"m.wf" version:"v1"] '
        "with err: Variable [x] not found on node [n0].",
        ["Flyte cannot compile the workflow", "Variable [x] not found on node [n0]"],
        id="not-compiled",
    ),
    pytest.param(
        "version [a/b] must be url safe, cannot contains chars [/]",
        ["registering task m.fit at version v1: Flyte refused it", "version [a/b] must be url safe"],
        id="anything-else",
    ),
]


class RefusingRemote:
    """A FlyteRemote whose every registration or execution fails with ``error``."""

    def __init__(self, error: Exception, project: str = "acme", domain: str = "qa") -> None:
        self.error = error
        self.default_project, self.default_domain = project, domain
        self.calls = 0

    def register_workflow(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        raise self.error

    @property
    def client(self) -> RefusingRemote:  # the launcher creates executions through the client
        return self

    def create_execution(self, *args: Any, **kwargs: Any) -> None:
        self.calls += 1
        raise self.error


@pytest.mark.parametrize("message, expected", CASES)
def test_registration_refusal_names_its_cause_and_fix(message: str, expected: list[str], tmp_path: Path) -> None:
    remote = RefusingRemote(flytekit_error(INVALID, message, TASK_REQUEST))
    settings = SimpleNamespace(source_root=str(tmp_path), version="v1", project="acme", domain="qa")
    with pytest.raises(RegistrationError) as raised:
        register(remote, find_main_workflow(nested), settings)
    line = str(raised.value)
    assert "\n" not in line
    for part in expected:
        assert part in line
    assert (CLASH in line) == ("different structure" in message)


@pytest.mark.parametrize("message, expected", [c for c in CASES if c.id in ("missing-project", "unknown-domain")])
def test_execution_refusal_is_not_an_outage_and_creates_nothing_more(message: str, expected: list[str]) -> None:
    remote = RefusingRemote(flytekit_error(INVALID, message))
    requests = [ExecutionRequest(n, f"job #{n}", f"s1-{n}", {}) for n in range(3)]
    with pytest.raises(ExecutionError) as raised:
        launch_plan = SimpleNamespace(id=Identifier(ResourceType.LAUNCH_PLAN, "acme", "qa", "m.wf", "v1"))
        create_executions(remote, launch_plan, requests, {n: {} for n in range(3)}, 1, lambda n: n, delays=(0.0,))
    line = str(raised.value)
    assert line.startswith("creating the execution of job #0 (s1-0): ")
    for part in expected:
        assert part in line
    assert "check that Flyte's admin is up" not in line
    assert remote.calls == 1  # not retried, and the jobs not started yet are not created


def copy_app(tmp_path: Path) -> Path:
    app = tmp_path / "split_config"
    shutil.copytree(EXAMPLES / "split_config", app, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return app


def launch(app: Path, standin: StandIn, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A remote launch that builds nothing (a named image) and does not wait."""
    return run_app(app, *no_build_remote(standin.endpoint), *extra, home=home, timeout=300)


def test_a_missing_project_is_one_line_naming_flytectl(tmp_path: Path, home: Path) -> None:
    standin = StandIn(docker_client=None, projects={"elsewhere": ["development"]})
    try:
        result = launch(copy_app(tmp_path), standin, home)
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert "Flyte has no project 'flytesnacks'" in result.stderr
        assert "`flytectl create project --id flytesnacks --name flytesnacks`" in result.stderr
        assert CLASH not in result.stderr
        assert standin.registered() == [] and not standin.executions()
    finally:
        standin.stop()


def test_an_unknown_domain_is_one_line_naming_the_setting(tmp_path: Path, home: Path) -> None:
    standin = StandIn(docker_client=None)
    try:
        result = launch(copy_app(tmp_path), standin, home, "hydra.launcher.domain=qa")
        assert result.returncode != 0
        assert "Traceback" not in result.stderr
        assert "Flyte has no domain 'qa'" in result.stderr and "set hydra.launcher.domain" in result.stderr
        assert standin.registered() == [] and not standin.executions()
    finally:
        standin.stop()


def test_an_archived_project_at_execution_is_not_reported_as_an_outage(tmp_path: Path, home: Path) -> None:
    standin = StandIn(docker_client=None)
    try:
        app = copy_app(tmp_path)
        first = launch(app, standin, home)
        assert first.returncode == 0, first.stderr[-3000:]
        standin.admin.inactive_projects.add("flytesnacks")  # flytectl update project -p flytesnacks --archive
        standin.reset_calls()
        again = launch(app, standin, home, "data.seed=1,2")
        assert again.returncode != 0
        assert "Traceback" not in again.stderr
        assert "project 'flytesnacks' is archived" in again.stderr
        assert "flytectl update project -p flytesnacks --activate" in again.stderr
        assert "check that Flyte's admin is up" not in again.stderr
        assert len(standin.executions()) == 1  # the first launch's only
    finally:
        standin.stop()
