"""Issue 9's table: each bad input of a real remote launch is one line, a non-zero exit, and nothing made.

Every row is a launch that would build, push, upload and register for real (the test stand-in for
Flyte's admin API, tests/flyte_standin, which is not a Flyte; the real Docker engine and registry),
given one bad input. Each must stop with its one line, no traceback, and leave nothing: no image
built or pushed, no bundle uploaded, no entity registered, no execution created, no job folder.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, run_app
from tests.test_remote import image_events, remote

SPLIT = EXAMPLES / "split_config"
MISSING_TAG = f"{infra.REGISTRY_NAME}/scaffold-never-pushed:1"
DIGEST = "sha256:" + "0" * 64

CASES = [
    pytest.param(
        SPLIT,
        ["evaluate=3"],
        "workflow input 'evaluate' expects a config node (DictConfig)",
        id="scalar-for-a-config-node",
    ),
    pytest.param(
        SPLIT,
        ["data.seed=1,2", "+evaluate.steps=[{a.b: 1}]"],
        "config key 'a.b' at 'evaluate.steps[0]'",
        id="dotted-key-in-a-list",
    ),
    pytest.param(
        SPLIT,
        ["model.epochs=5,${train.epochs}"],
        "config 'model.epochs' = ${train.epochs} does not resolve (Interpolation key 'train.epochs' not found)",
        id="interpolation-to-a-missing-key",
    ),
    pytest.param(
        SPLIT,
        ["model.epochs=???"],
        "config 'model.epochs' is ??? (a mandatory value that was never given)",
        id="missing-value",
    ),
    pytest.param(
        SPLIT,
        ["+hydra.launcher.dryrun=true"],
        "hydra.launcher has no setting 'dryrun': did you mean hydra.launcher.dry_run?",
        id="unknown-launcher-setting",
    ),
    pytest.param(
        SPLIT, ["hydra.launcher.poll_interval=-1"], "hydra.launcher.poll_interval=-1", id="negative-poll-interval"
    ),
    pytest.param(
        SPLIT,
        ["hydra.launcher.max_parallel_executions=0"],
        "hydra.launcher.max_parallel_executions=0",
        id="no-parallelism",
    ),
    pytest.param(
        SPLIT,
        ["hydra.launcher.build=skip", f"+hydra.launcher.images.default.image={MISSING_TAG}"],
        MISSING_TAG,
        id="build-skip-of-an-image-never-pushed",
    ),
    pytest.param(
        SPLIT,
        [f"+hydra.launcher.images.default.image={infra.REGISTRY_NAME}/app@sha256:123"],
        "sha256:123",
        id="malformed-digest",
    ),
    pytest.param(APPS / "tasks_only", [], "No Flyte workflow found in module '__main__'", id="run-without-a-workflow"),
    pytest.param(
        APPS / "env_secrets",
        ["case=via_key", "hydra.launcher.workflow=pipeline"],
        "config 'model.token' reads the environment (${secret_holder}), variable SCAFFOLD_TEST_TOKEN",
        id="secret-through-another-key",
    ),
]


@pytest.mark.parametrize("app, args, expected", CASES)
def test_bad_input_makes_nothing(
    app: Path, args: list[str], expected: str, standin: StandIn, client: Any, home: Path
) -> None:
    start = time.time()
    result = run_app(
        app,
        *remote(standin, "half-done"),
        *args,
        home=home,
        env={"SCAFFOLD_TEST_TOKEN": "not-a-real-token"},
        timeout=300,
    )
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    ours = [line for line in result.stderr.splitlines() if line.strip() and "HYDRA_FULL_ERROR" not in line]
    assert any(expected in line for line in ours), result.stderr[-3000:]
    assert len(ours) <= 2, result.stderr  # the line (and, for a sweep, Hydra's "Error executing job" line)
    made = {method for method in standin.calls if method.startswith(("Create", "Update", "Terminate"))}
    assert made == set(), standin.calls  # nothing uploaded (CreateUploadLocation), registered or executed
    assert standin.registered() == [] and standin.executions() == {}
    assert image_events(client, start) == []  # nothing built, tagged or pushed
    sweep = home.parent / "multirun"
    assert [p for p in sweep.glob("**/.hydra") if p.parent != sweep] == []  # no job folder
