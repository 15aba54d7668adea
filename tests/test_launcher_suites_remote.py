"""Hydra's launcher conformance suites for ``hydra/launcher=flyte`` in remote mode, against the test
stand-in for Flyte's admin API (not a Flyte): every job is registered, executed in a task
container and its return value comes back from the execution's outputs.

The connection comes from flytekit's own configuration (FLYTE_PLATFORM_URL / _INSECURE), as a
user's would. The suites' task functions are closures or objects, not module-level functions:
they travel cloudpickled (scaffold_flyte.hydra_app).

Not wired here: IntegrationTestSuite. Each of its tests runs a generated app whose task function
prints what it sees (HydraConfig.get().job.name, os.getcwd(), hydra.utils.get_original_cwd(),
to_absolute_path(...)) and asserts on the launching process's stdout. Remotely the function runs
in a task container on Flyte: its prints go to the task's logs, not to the launcher's stdout,
Hydra's runtime config (HydraConfig) is not set there, and its working directory is the
container's. tests/test_launcher_suites.py runs that suite in local mode.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hydra.test_utils.launcher_common_tests import BatchedSweeperTestSuite, LauncherTestSuite
from pytest import mark

from tests import infra
from tests.flyte_standin import StandIn

REMOTE = [
    "hydra.launcher.mode=remote",
    "hydra.launcher.poll_interval=0.3",
    f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}",
    f"hydra.launcher.images.default.base_image={infra.BASE_IMAGE}",
    f"hydra.launcher.images.default.repository=scaffold-suites-{uuid.uuid4().hex[:8]}",
]


@pytest.fixture(scope="module")
def standin() -> Iterator[StandIn]:
    running = StandIn(infra.docker_client())
    yield running
    running.stop()


@pytest.fixture(autouse=True)
def flyte_config(standin: StandIn, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("FLYTE_PLATFORM_URL", standin.endpoint)
    monkeypatch.setenv("FLYTE_PLATFORM_INSECURE", "true")
    yield standin


@mark.parametrize("launcher_name, overrides", [("flyte", REMOTE)])
class TestFlyteLauncherRemote(LauncherTestSuite):
    pass


@mark.parametrize("launcher_name, overrides", [("flyte", [*REMOTE, "hydra.sweeper.max_batch_size=2"])])
class TestFlyteLauncherRemoteBatchedSweeper(BatchedSweeperTestSuite):
    pass


def test_the_suites_jobs_ran_as_executions(standin: StandIn) -> None:
    """Runs after the suites above (file order): their jobs were real executions, run in containers."""
    from flyteidl.core import execution_pb2

    executions = standin.executions()
    assert len(executions) >= 14  # 1 + 2 + 1 + 2 + 2 + 2 + 1 jobs in the launcher suite, 6 in the batched one
    assert {record.phase for record in executions.values()} == {execution_pb2.WorkflowExecution.SUCCEEDED}
    assert standin.runner is not None and len(standin.runner.tasks_run) == len(executions)
