"""Every job's inputs become Flyte literals while planning: a bad one stops a remote launch before any RPC.

An input that flytekit cannot turn into a literal of the workflow's type used to fail only once the
code was registered, or once other jobs' executions existed. Launched for real against the test
stand-in for Flyte's admin API (tests/flyte_standin, not a Flyte), such a launch must leave it
holding no task, workflow, launch plan, upload or execution, and must not even have called it.
A valid input whose value Hydra sets only once it starts the job (``${hydra:runtime.output_dir}``)
is not refused.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from flyteidl.core import identifier_pb2

from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, no_build_remote, record_overrides, recorded, run_app

SPLIT_CONFIG = EXAMPLES / "split_config"


def copy_app(tmp_path: Path, app: Path) -> Path:
    """The app in a folder of its own: a launch bundles its folder, which must hold no one else's runs."""
    target = tmp_path / app.name
    shutil.copytree(app, target, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return target


def holdings(standin: StandIn) -> dict[str, object]:
    """What a launch leaves in the stand-in: its entities by kind, executions, uploads and the RPCs it got."""
    kinds = {
        "tasks": identifier_pb2.TASK,
        "workflows": identifier_pb2.WORKFLOW,
        "launch plans": identifier_pb2.LAUNCH_PLAN,
    }
    held: dict[str, object] = {name: standin.registered(kind) for name, kind in kinds.items()}
    held.update(executions=sorted(standin.executions()), uploads=list(standin.uploads), calls=standin.calls)
    return held


NOTHING: dict[str, object] = {
    "tasks": [],
    "workflows": [],
    "launch plans": [],
    "executions": [],
    "uploads": [],
    "calls": {},
}


@pytest.mark.parametrize(
    "app, overrides, expected",
    [
        pytest.param(
            SPLIT_CONFIG,
            ["data.seed=1,2", "evaluate=3"],
            "job #0 (data.seed=1 evaluate=3): workflow input 'evaluate' expects a config node (DictConfig), but "
            "config 'evaluate' is 3 (int): make 'evaluate' a config node",
            id="scalar-for-a-config-node",
        ),
        pytest.param(
            APPS / "two_workflows",
            ["hydra.launcher.workflow=scale", "x=1,[1,2]"],
            "job #1 (x=[1,2]): workflow input 'x' expects int, but config 'x' is [1, 2] (a list): set x=<int>.",
            id="list-for-a-scalar",
        ),
        pytest.param(
            SPLIT_CONFIG,
            ["+model.extra=[{a.b:1}]"],
            "job #0 (+model.extra=[{a.b:1}]): config key 'a.b' at 'model.extra[0]' cannot be passed to a Flyte task",
            id="dotted-key-in-a-list",
        ),
        pytest.param(
            SPLIT_CONFIG,
            ["model.epochs=5,${train.epochs}"],
            "job #1 (model.epochs=$\\{train.epochs\\}): config 'model.epochs' = ${train.epochs} does not resolve",
            id="interpolation-to-a-missing-key",
        ),
        pytest.param(
            SPLIT_CONFIG,
            ["data.seed=1,2", "model.epochs=???"],
            "job #0 (data.seed=1 model.epochs=???): config 'model.epochs' is ??? (a mandatory value that was never "
            "given), and workflow input 'model' takes it: set model.epochs=<value>",
            id="missing-value",
        ),
        pytest.param(
            EXAMPLES / "config_and_data",
            ["measurements=data/measurements.csv,nope.csv"],
            "job #1 (measurements=nope.csv): workflow input 'measurements' expects the path of a file (FlyteFile), but "
            "config 'measurements' names ",
            id="missing-file",
        ),
    ],
)
def test_an_input_that_makes_no_literal_stops_the_launch_before_anything_is_created(
    standin: StandIn, tmp_path: Path, home: Path, app: Path, overrides: list[str], expected: str
) -> None:
    result = run_app(copy_app(tmp_path, app), *no_build_remote(standin.endpoint), *overrides, home=home, timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr[-2000:]
    assert holdings(standin) == NOTHING


def test_the_same_launch_with_valid_inputs_creates_its_executions(standin: StandIn, tmp_path: Path, home: Path) -> None:
    """The control for the test above: what the stand-in holds after a launch whose inputs all convert."""
    result = run_app(
        copy_app(tmp_path, SPLIT_CONFIG), *no_build_remote(standin.endpoint), "data.seed=1,2", home=home, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    held = holdings(standin)
    assert held["tasks"] and held["workflows"] and held["launch plans"] and held["uploads"]
    assert len(held["executions"]) == 2  # type: ignore[arg-type]


def test_an_input_that_resolves_only_once_the_job_starts_is_not_refused(tmp_path: Path, home: Path) -> None:
    """``hydra.runtime.output_dir`` is ??? until Hydra's run_job starts a job: planning takes it, each job gets its folder."""
    records = tmp_path / "records.jsonl"
    result = run_app(
        APPS / "job_folder", "-m", "hydra/launcher=flyte_local", "x=1,2", *record_overrides(records), home=home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = recorded(records)
    assert [job["value"] for job in jobs] == [f"{job['output_dir']}|{job['num']}" for job in jobs]
    assert [Path(job["output_dir"]).name for job in jobs] == ["0", "1"]


def test_each_remote_job_gets_its_own_hydra_values(tmp_path: Path, home: Path) -> None:
    """``${hydra:job.num}`` resolves under each job's HydraConfig while planning. The registered
    literals are made after the plan, under the last job's HydraConfig; they used to give every job
    the last job's values. Against a stand-in that runs nothing (no Docker needed)."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal
    from omegaconf import DictConfig

    standin = StandIn(docker_client=None)
    try:
        result = run_app(
            copy_app(tmp_path, APPS / "job_folder"),
            *no_build_remote(standin.endpoint),
            "x=1,2,3",
            home=home,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]
        ctx = FlyteContextManager.current_context()
        sent = [
            TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(record.request.inputs.literals["job"]), DictConfig)
            for _, record in sorted(standin.executions().items())
        ]
    finally:
        standin.stop()
    assert [job.num for job in sent] == [0, 1, 2]
