"""examples/ml_pipeline: five stages on five sub-configs, cached per sub-config, train on bigger resources.

Locally each run is its own process with a private HOME (a fresh flytekit local cache); which task
bodies ran is read from the ``task NAME: running`` line each logs. Remotely the launch goes to the
TEST STAND-IN for Flyte's admin API (tests/flyte_standin, not a Flyte) with a real image build.
"""

from __future__ import annotations

import math
import re
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, load_app, record_overrides, recorded, run_app, tasks_that_ran
from tests.test_remote import TASK, copy_app, launch, remote

APP = EXAMPLES / "ml_pipeline"
STAGES = ["preprocess", "engineer_features", "train", "batch_inference", "evaluate"]
LOCAL_SWEEP = ["-m", "hydra/launcher=flyte_local"]


def by_hand(cfg: DictConfig) -> dict[str, float]:
    """The example's five task bodies called as plain Python functions on a job's config."""
    app = load_app(APP, "ml_pipeline_main")
    raw = app.preprocess.task_function(data=cfg.data)
    engineered = app.engineer_features.task_function(features=cfg.features, train=raw.train, test=raw.test)
    weights = app.train.task_function(model=cfg.model, rows=engineered.train)
    predictions = app.batch_inference.task_function(inference=cfg.inference, weights=weights, rows=engineered.test)
    return dict(app.evaluate.task_function(evaluation=cfg.evaluation, predictions=predictions, rows=engineered.test))


def job_config(job: dict[str, Any]) -> DictConfig:
    config = OmegaConf.load(Path(job["output_dir"]) / ".hydra" / "config.yaml")
    assert isinstance(config, DictConfig)
    return config


def assert_metrics_equal(got: dict[str, Any], expected: dict[str, float]) -> None:
    assert set(got) == set(expected) == {"accuracy", "precision", "recall", "f1", "rows"}
    for name, value in expected.items():
        assert math.isclose(float(got[name]), value, rel_tol=1e-12), (name, got, expected)


def test_local_run_runs_the_five_stages_and_returns_their_metrics(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = run_app(APP, *LOCAL_SWEEP, *record_overrides(records), home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert tasks_that_ran(result) == STAGES
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED"
    assert_metrics_equal(job["value"], by_hand(job_config(job)))
    # the degree-2 features let the linear model find the circular boundary
    assert job["value"]["accuracy"] > 0.9
    assert "94 rows in 3 batches" in result.stdout + result.stderr  # batch_size 32 over the test split


def test_a_changed_stage_reruns_it_and_the_later_stages_only(home: Path, tmp_path: Path) -> None:
    def ran(*overrides: str) -> list[str]:
        result = run_app(APP, *overrides, home=home)
        assert result.returncode == 0, result.stderr[-3000:]
        return tasks_that_ran(result)

    assert ran() == STAGES
    assert ran() == []  # identical rerun: every stage from flytekit's local cache
    # only train's sub-config changed: preprocess and engineer_features come from the cache
    assert ran("model.learning_rate=0.1", "model.epochs=50") == ["train", "batch_inference", "evaluate"]
    assert ran("model.learning_rate=0.1", "model.epochs=50", "inference.threshold=0.7") == [
        "batch_inference",
        "evaluate",
    ]
    assert ran("features.polynomial_degree=1") == ["engineer_features", "train", "batch_inference", "evaluate"]

    # a local sweep shares that cache: job 0 is all cached, job 1 (new model) runs train onwards
    # (evaluate is cached on its inputs: it runs again only because l2=0.5 changes the predictions)
    records = tmp_path / "sweep.jsonl"
    sweep = run_app(APP, *LOCAL_SWEEP, "model.l2=0.001,0.5", *record_overrides(records), home=home)
    assert sweep.returncode == 0, sweep.stderr[-3000:]
    assert tasks_that_ran(sweep) == ["train", "batch_inference", "evaluate"]
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["COMPLETED", "COMPLETED"]
    for job in jobs:
        assert_metrics_equal(job["value"], by_hand(job_config(job)))


def _resources(template: Any) -> dict[str, dict[str, str]]:
    from flyteidl.core import tasks_pb2

    name = tasks_pb2.Resources.ResourceName.Name
    resources = template.container.resources
    return {
        "requests": {name(entry.name).lower(): entry.value for entry in resources.requests},
        "limits": {name(entry.name).lower(): entry.value for entry in resources.limits},
    }


def test_remote_run_registers_train_on_bigger_resources_and_caches_per_sub_config(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path, "ml_pipeline")
    assert standin.runner is not None
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "ml_pipeline"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]

    tasks = {key[3]: standin.spec(key).template for key in standin.registered(TASK)}
    assert sorted(tasks) == sorted(f"main.{stage}" for stage in STAGES)
    # conf/config.yaml's hydra.launcher.tasks.train, on the registered task; the others ask for nothing
    assert _resources(tasks["main.train"]) == {
        "requests": {"cpu": "1", "memory": "512Mi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    for name, template in tasks.items():
        if name != "main.train":
            assert _resources(template) == {"requests": {}, "limits": {}}, name

    # the execution really ran the five stages in the image, and its output is the local value
    assert sorted(standin.runner.tasks_run) == sorted(f"main.{stage}" for stage in STAGES)
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED"
    assert_metrics_equal(job["value"], by_hand(job_config(job)))

    # train's sub-config changed: Flyte's catalog serves preprocess and engineer_features
    # (nothing is built or registered again: the same image and code, a new execution only)
    standin.runner.tasks_run.clear()
    registered = standin.registered()
    records2 = tmp_path / "returns2.jsonl"
    again = launch(app, remote(standin, "ml_pipeline", "model.learning_rate=0.1"), home, records2)
    assert again.returncode == 0, again.stderr[-3000:]
    assert standin.registered() == registered
    assert sorted(standin.runner.tasks_run) == ["main.batch_inference", "main.evaluate", "main.train"]
    reports = re.findall(r"from the cache: ([\w, ]+); ran: ([\w, ]+)", again.stdout + again.stderr)
    assert [({*cached.split(", ")}, {*ran.split(", ")}) for cached, ran in reports] == [
        ({"preprocess", "engineer_features"}, {"train", "batch_inference", "evaluate"})
    ], (again.stdout + again.stderr)[-3000:]
    (job2,) = recorded(records2)
    assert_metrics_equal(job2["value"], by_hand(job_config(job2)))
    assert job2["value"] != job["value"]
