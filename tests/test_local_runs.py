"""Local runs: ``python main.py`` and local sweeps (``hydra.launcher.mode=local``) of the examples."""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

import pytest
from hydra.core.utils import JobStatus
from omegaconf import OmegaConf

from scaffold_flyte.task_failure import LocalTaskFailed
from tests.helpers import APPS, EXAMPLES, CaptureJobReturns, load_app, multirun, run_app

LOCAL = ["hydra/launcher=flyte", "hydra.launcher.mode=local"]


def test_single_task_runs_on_the_whole_config_with_an_override(home: Path) -> None:
    result = run_app(EXAMPLES / "single_task", "name=Hydra", "repeat=3", home=home)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "Hello, Hydra! Hello, Hydra! Hello, Hydra!"


def test_config_and_data_side_by_side(home: Path) -> None:
    result = run_app(EXAMPLES / "config_and_data", "fit.label=line", home=home)
    assert result.returncode == 0, result.stderr
    match = re.search(r"line: slope=([\d.]+) intercept=([\d.]+)", result.stdout)
    assert match, result.stdout
    assert abs(float(match.group(1)) - 2.003) < 0.01  # least squares over the shipped CSV


def test_etl_pipeline_runs_every_step(home: Path) -> None:
    result = run_app(EXAMPLES / "etl_pipeline", home=home)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for step in ("load_customers", "load_orders", "merge", "process", "train"):
        assert f"task {step}: running" in output
    assert "trained on 8 customers" in output


def test_split_config_override_changes_the_result(home: Path) -> None:
    base = run_app(EXAMPLES / "split_config", home=home)
    slow = run_app(EXAMPLES / "split_config", "model.learning_rate=0.001", home=home)
    assert base.returncode == 0 and slow.returncode == 0, base.stderr + slow.stderr
    mse = [float(re.findall(r"holdout mse: ([\d.]+)", r.stdout + r.stderr)[-1]) for r in (base, slow)]
    assert mse[1] > mse[0] * 5  # barely trained


def _split_config_by_hand(cfg: Any) -> float:
    """The split-config example's tasks called as plain Python functions."""
    app = load_app(EXAMPLES / "split_config", "split_config_main")
    points = app.make_data.task_function(data=cfg.data)
    weights = app.train.task_function(model=cfg.model, points=points)
    return float(app.score.task_function(evaluate=cfg.evaluate, points=points, weights=weights))


@pytest.mark.usefixtures("hydra_restore_singletons")
def test_local_sweep_returns_the_workflow_output_per_job(tmp_path: Path) -> None:
    returns, error = multirun(
        EXAMPLES / "split_config",
        "split_config_main",
        [*LOCAL, "model.learning_rate=0.1,0.01", "data.seed=1,2"],
        tmp_path,
    )
    assert error is None
    assert len(returns) == 4
    assert CaptureJobReturns.started == [0, 1, 2, 3]  # callbacks fire per job
    for job in returns:
        assert job.status == JobStatus.COMPLETED
        assert isinstance(job.return_value, float)
        assert math.isclose(job.return_value, _split_config_by_hand(job.cfg), rel_tol=1e-12)
        job_dir = Path(job.hydra_cfg.hydra.runtime.output_dir)
        assert job_dir.parent == tmp_path
        assert (job_dir / ".hydra" / "config.yaml").exists()
        assert OmegaConf.load(job_dir / ".hydra" / "overrides.yaml") == job.overrides
        assert (job_dir / "main.log").exists()
    assert len({job.return_value for job in returns}) == 4


@pytest.mark.usefixtures("hydra_restore_singletons")
def test_the_launcher_runs_the_workflow_not_the_function_body(tmp_path: Path) -> None:
    """The function body would print and return something else: the launcher runs the workflow."""
    returns, error = multirun(
        APPS / "two_workflows",
        "two_workflows_main",
        [*LOCAL, "hydra.launcher.workflow=scale", "x=4"],
        tmp_path,
    )
    assert error is None
    assert [job.return_value for job in returns] == [40]


@pytest.mark.usefixtures("hydra_restore_singletons")
def test_a_failing_task_fails_its_job_only(tmp_path: Path) -> None:
    returns, error = multirun(APPS / "failing", "failing_main", [*LOCAL, "value=1,2,3"], tmp_path)
    # Hydra's sweeper re-raises it once all jobs ran: a few lines naming the task, the user's error as its cause
    assert isinstance(error, LocalTaskFailed) and isinstance(error.__cause__, ValueError)
    assert [j.status for j in returns] == [JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.COMPLETED]
    assert [returns[0].return_value, returns[2].return_value] == [10, 30]
    failure = returns[1]._return_value
    assert isinstance(failure, LocalTaskFailed)
    assert str(failure).startswith("job #1 (value=2): task check_value failed: ValueError: value 2 is not allowed")
    assert "failing_main.check_value" in str(failure.__cause__)  # flytekit's own message names the task
