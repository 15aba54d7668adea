"""Bad input: one line of ours that names the fix, a non-zero exit, no traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests.helpers import APPS, EXAMPLES, run_app

SPLIT = EXAMPLES / "split_config"
LOCAL_SWEEP = ["-m", "hydra/launcher=flyte_local"]
# a remote launch's plan only: a dry run builds, uploads and calls nothing, so the endpoint need not exist
REMOTE_DRY = [
    "-m",
    "hydra/launcher=flyte",
    "hydra.launcher.endpoint=127.0.0.1:1",
    "hydra.launcher.insecure=true",
    "hydra.launcher.build=skip",
    "+hydra.launcher.images.default.image=localhost:5000/fixed:1",
    "hydra.launcher.dry_run=true",
]
SCALE = [*LOCAL_SWEEP, "hydra.launcher.workflow=scale"]
NOT_A_NODE = (
    "workflow input 'evaluate' expects a config node (DictConfig), but config 'evaluate' is 3 (int): make 'evaluate' "
    "a config node (keys under 'evaluate:' in your config, or evaluate.<name>=<value>)."
)
NO_TRAIN_EPOCHS = (
    "job #1 (model.epochs=$\\{train.epochs\\}): config 'model.epochs' = ${train.epochs} does not resolve (Interpolation "
    "key 'train.epochs' not found), and workflow input 'model' takes it: point the interpolation at a key that has a "
    "value, or set model.epochs=<value>."
)
EPOCHS_MISSING = (
    "config 'model.epochs' is ??? (a mandatory value that was never given), and workflow input 'model' takes it: "
    "set model.epochs=<value> on the command line or in your config."
)

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
    # inputs that flytekit could not turn into literals: found while planning, before any job, build or RPC
    pytest.param(SPLIT, ["evaluate=3"], NOT_A_NODE, id="scalar-for-a-config-node"),
    pytest.param(
        SPLIT, [*REMOTE_DRY, "evaluate=3"], f"job #0 (evaluate=3): {NOT_A_NODE}", id="scalar-for-a-node-remote"
    ),
    pytest.param(
        APPS / "two_workflows",
        [*SCALE, "x=1,[1,2]"],
        "job #1 (x=[1,2]): workflow input 'x' expects int, but config 'x' is [1, 2] (a list): set x=<int>.",
        id="list-for-a-scalar-sweep",
    ),
    pytest.param(
        APPS / "two_workflows",
        [*REMOTE_DRY, "hydra.launcher.workflow=scale", "x={a:1}"],
        "job #0 (x={a:1}): workflow input 'x' expects int, but config 'x' is {'a': 1} (a config node): set x=<int>.",
        id="dict-for-a-scalar-remote",
    ),
    pytest.param(
        SPLIT,
        ["+model.extra=[{a.b:1}]"],
        "config key 'a.b' at 'model.extra[0]' cannot be passed to a Flyte task (the OmegaConf transformer needs string "
        "keys without dots): rename 'a.b' without dots (e.g. 'a_b').",
        id="dotted-key-in-a-list",
    ),
    pytest.param(
        SPLIT,
        [*REMOTE_DRY, "+model.extra=[{1:1}]"],
        "job #0 (+model.extra=[{1:1}]): config key 1 at 'model.extra[0]' cannot be passed to a Flyte task (the "
        "OmegaConf transformer needs string keys without dots): use a string key such as '1' in quotes.",
        id="non-string-key-in-a-list-remote",
    ),
    pytest.param(SPLIT, [*LOCAL_SWEEP, "model.epochs=5,${train.epochs}"], NO_TRAIN_EPOCHS, id="missing-key-sweep"),
    pytest.param(SPLIT, [*REMOTE_DRY, "model.epochs=5,${train.epochs}"], NO_TRAIN_EPOCHS, id="missing-key-remote"),
    pytest.param(SPLIT, ["model.epochs=???"], EPOCHS_MISSING, id="missing-value"),
    pytest.param(
        SPLIT,
        [*REMOTE_DRY, "model.epochs=???"],
        f"job #0 (model.epochs=???): {EPOCHS_MISSING}",
        id="missing-value-remote",
    ),
    pytest.param(
        APPS / "two_workflows",
        [*SCALE, "x=???"],
        "job #0 (x=???): config 'x' is ??? (a mandatory value that was never given), and workflow input 'x' takes it: "
        "set x=<value> on the command line or in your config.",
        id="missing-value-of-a-scalar-input",
    ),
    pytest.param(
        EXAMPLES / "config_and_data",
        [*REMOTE_DRY, "measurements=data/measurements.csv,nope.csv"],
        "job #1 (measurements=nope.csv): workflow input 'measurements' expects the path of a file (FlyteFile), but "
        f"config 'measurements' names {EXAMPLES / 'config_and_data' / 'nope.csv'}, which does not exist: set "
        "measurements=<path of a file, or a URI> (a relative path is taken from where you launch).",
        id="missing-file-remote",
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
