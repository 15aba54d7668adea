"""Hydra's own launcher conformance suites, for ``hydra/launcher=flyte`` in local mode."""

from hydra.test_utils.launcher_common_tests import (
    BatchedSweeperTestSuite,
    IntegrationTestSuite,
    LauncherTestSuite,
)
from pytest import mark

LOCAL = ["hydra.launcher.mode=local"]


@mark.parametrize("launcher_name, overrides", [("flyte", LOCAL)])
class TestFlyteLauncherLocal(LauncherTestSuite):
    pass


@mark.parametrize(
    "launcher_name, overrides",
    [("flyte", [*LOCAL, "hydra.sweeper.max_batch_size=2"])],
)
class TestFlyteLauncherBatchedSweeper(BatchedSweeperTestSuite):
    pass


@mark.parametrize(
    "task_launcher_cfg, extra_flags",
    [({}, ["-m", "hydra/launcher=flyte", *LOCAL])],
)
class TestFlyteLauncherIntegration(IntegrationTestSuite):
    pass
