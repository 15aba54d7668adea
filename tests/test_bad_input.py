"""Bad input: one line of ours that names the fix, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import APPS, EXAMPLES, run_app

SPLIT = EXAMPLES / "split_config"
LOCAL_SWEEP = ["-m", "hydra/launcher=flyte_local"]

CASES = [
    pytest.param(SPLIT, ["nosuch=1"], "To append to your config use +nosuch=1", id="unknown-override"),
    pytest.param(
        SPLIT,
        [*LOCAL_SWEEP, "nosuch=1,2"],
        "To append to your config use +nosuch=1",
        id="unknown-override-sweep",
    ),
    pytest.param(
        SPLIT,
        ["~model"],
        "workflow input 'model' has no config node 'model': add 'model:' to your config, or override it with +model=<value>.",
        id="missing-config-node",
    ),
    pytest.param(
        SPLIT,
        [*LOCAL_SWEEP, "~model", "data.seed=1,2"],
        "job #0 (~model=null data.seed=1): workflow input 'model' has no config node 'model'",
        id="missing-config-node-sweep",
    ),
    pytest.param(
        APPS / "no_workflow",
        [],
        "No Flyte workflow found in module '__main__': define one with @workflow",
        id="no-workflow",
    ),
    pytest.param(
        APPS / "two_workflows",
        [],
        "Module '__main__' has 2 top-level workflows (increment, scale): pick one with hydra.launcher.workflow=<name>",
        id="two-workflows",
    ),
    pytest.param(
        APPS / "two_workflows",
        [*LOCAL_SWEEP, "x=1,2"],
        "Module '__main__' has 2 top-level workflows (increment, scale): pick one with hydra.launcher.workflow=<name>",
        id="two-workflows-sweep",
    ),
    pytest.param(
        APPS / "two_workflows",
        [*LOCAL_SWEEP, "hydra.launcher.workflow=nope"],
        "hydra.launcher.workflow=nope: module '__main__' has no workflow of that name (its workflows: increment, scale).",
        id="unknown-workflow-name",
    ),
    pytest.param(
        APPS / "odd_keys",
        [],
        "config key 'lr.decay' at 'model' cannot be passed to a Flyte task",
        id="dotted-key",
    ),
    pytest.param(
        APPS / "odd_keys",
        ["--config-name", "int_key"],
        "config key 1 at 'model' cannot be passed to a Flyte task",
        id="non-string-key",
    ),
    pytest.param(
        APPS / "odd_keys",
        LOCAL_SWEEP,
        "job #0: config key 'lr.decay' at 'model' cannot be passed to a Flyte task",
        id="dotted-key-sweep",
    ),
    pytest.param(
        SPLIT,
        ["-m", "hydra/launcher=flyte", "hydra.launcher.mode=elsewhere"],
        "hydra.launcher.mode=elsewhere is not a mode: use hydra.launcher.mode=local or =remote.",
        id="unknown-mode",
    ),
]


@pytest.mark.parametrize("app, args, expected", CASES)
def test_bad_input_is_one_clear_line(app: Path, args: list[str], expected: str, home: Path) -> None:
    result = run_app(app, *args, home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert "task " not in result.stdout, "nothing may run before a bad input is reported"


def test_sweep_with_a_bad_job_runs_no_job(home: Path) -> None:
    """Job #1 gives a string for an int input: job #0, which is fine, must not have run either."""
    good = run_app(APPS / "two_workflows", *LOCAL_SWEEP, "hydra.launcher.workflow=scale", "x=1,2", home=home)
    assert good.returncode == 0, good.stderr  # the same sweep without the bad job runs
    assert len(list(home.parent.glob("multirun/*/.hydra"))) == 2
    shutil.rmtree(home.parent / "multirun")
    bad = run_app(APPS / "two_workflows", *LOCAL_SWEEP, "hydra.launcher.workflow=scale", "x=1,oops", home=home)
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    assert "job #1 (x=oops)" in bad.stderr
    assert not list(home.parent.glob("multirun/*/.hydra"))
