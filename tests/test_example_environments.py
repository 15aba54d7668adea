"""examples/environments: one main.py, three environments chosen by a config group (``+env=<name>``).

dev runs locally and makes no call to anything; staging and production are shown by dry runs
(their project, domain, registry namespace, code mode and per-task resources) and production is
launched for real against the TEST STAND-IN for Flyte's admin API (tests/flyte_standin, not a
Flyte), its image built and pushed to production's registry namespace.
"""

from __future__ import annotations

import math
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, load_app, record_overrides, recorded, run_app, tasks_that_ran
from tests.test_example_ml_pipeline import _resources
from tests.test_remote import LAUNCH_PLAN, TASK, WORKFLOW, copy_app, launch

APP = EXAMPLES / "environments"


def by_hand(cfg: DictConfig) -> float:
    """The example's two task bodies called as plain Python functions on a job's config."""
    app = load_app(APP, "environments_main")
    return float(app.train.task_function(model=cfg.model, points=app.make_data.task_function(data=cfg.data)))


def job_config(job: dict[str, Any]) -> DictConfig:
    config = OmegaConf.load(Path(job["output_dir"]) / ".hydra" / "config.yaml")
    assert isinstance(config, DictConfig)
    return config


class Listener:
    """A TCP port that only counts who connects: an endpoint that tells whether anything called it."""

    def __init__(self) -> None:
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(8)
        self.socket.setblocking(False)
        self.endpoint = f"127.0.0.1:{self.socket.getsockname()[1]}"

    def connections(self) -> int:
        count = 0
        while True:
            try:
                connection, _ = self.socket.accept()
            except BlockingIOError:
                return count
            connection.close()
            count += 1


@pytest.fixture
def listener() -> Iterator[Listener]:
    port = Listener()
    yield port
    port.socket.close()


def test_dev_runs_locally_through_the_launcher_without_any_call(home: Path, tmp_path: Path, listener: Listener) -> None:
    records = tmp_path / "returns.jsonl"
    # the endpoint is given only to see that nothing calls it
    args = ["+env=dev", f"hydra.launcher.endpoint={listener.endpoint}", *record_overrides(records)]
    result = run_app(APP, *args, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Flyte launcher (local): 1 job(s), workflow main.pipeline" in result.stderr + result.stdout
    assert tasks_that_ran(result) == ["make_data", "train"]
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED"
    config = job_config(job)
    assert config.data.n_samples == 50  # dev's smaller sample, from conf/env/dev.yaml
    assert math.isclose(job["value"], by_hand(config), rel_tol=1e-12)
    assert not (Path(job["output_dir"]) / "flyte_execution.yaml").exists()
    assert listener.connections() == 0


@pytest.mark.parametrize(
    "env, code, tasks",
    [
        pytest.param(
            "staging",
            "fast-registration bundle",
            [
                "main.make_data: requests cpu=500m, memory=256Mi; limits platform defaults; retries 1; timeout none; "
                "interruptible yes",
                "main.train: requests cpu=1, memory=512Mi; limits cpu=1, memory=512Mi; retries 1; timeout none; "
                "interruptible yes",
            ],
            id="staging",
        ),
        pytest.param(
            "production",
            "baked into the images",
            [
                "main.make_data: requests cpu=500m, memory=256Mi; limits platform defaults; retries 3; timeout none; "
                "interruptible no",
                "main.train: requests cpu=2, memory=1Gi; limits cpu=2, memory=1Gi; retries 3; timeout 3600s; "
                "interruptible no",
            ],
            id="production",
        ),
    ],
)
def test_dry_run_shows_each_environments_project_domain_registry_and_resources(
    home: Path, listener: Listener, env: str, code: str, tasks: list[str]
) -> None:
    args = [f"+env={env}", "hydra.launcher.dry_run=true", f"hydra.launcher.endpoint={listener.endpoint}"]
    result = run_app(APP, *args, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert f"project flytesnacks, domain {env}" in out
    assert f"image      default: localhost:5000/{env}/environments:" in out
    assert f"code       {code}" in out
    for task in tasks:  # each task's registration settings, from the env's hydra.launcher.tasks
        assert f"task       {task};" in out, out
    assert "inputs: data={n_samples: 200" in out  # the pipeline's own config: only dev changes it
    assert listener.connections() == 0  # a dry run calls nothing


def test_production_launch_registers_in_production_with_its_image_and_resources(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path, "environments")
    records = tmp_path / "returns.jsonl"
    args = [
        "+env=production",  # everything else of the launch comes from conf/env/production.yaml
        f"hydra.launcher.endpoint={standin.endpoint}",
        "hydra.launcher.insecure=true",
        "hydra.launcher.poll_interval=0.3",
        f"hydra.launcher.images.default.base_image={infra.BASE_IMAGE}",  # no image pulls here
    ]
    result = launch(app, args, home, records)
    assert result.returncode == 0, result.stderr[-3000:]

    # registered, and executed, in flytesnacks/production
    entities = standin.registered()
    assert {key[0] for key in entities} == {TASK, WORKFLOW, LAUNCH_PLAN}
    assert {(key[1], key[2]) for key in entities} == {("flytesnacks", "production")}
    (execution,) = standin.executions().values()
    assert (execution.request.project, execution.request.domain) == ("flytesnacks", "production")

    # the image is in production's registry namespace, the code baked in (no bundle)
    tasks = {key[3]: standin.spec(key).template for key in standin.registered(TASK)}
    assert sorted(tasks) == ["main.make_data", "main.train"]
    for template in tasks.values():
        image = template.container.image
        assert image.startswith(f"{infra.REGISTRY_NAME}/production/environments:"), image
        assert image.rsplit(":", 1)[1] in infra.registry_tags("production/environments")
        assert template.container.args[0] == "pyflyte-execute"
    assert not [u for u in standin.uploads if u.endswith(".tar.gz")]

    # production's per-task settings: train on the bigger resources, every task with three retries
    assert _resources(tasks["main.train"]) == {
        "requests": {"cpu": "2", "memory": "1Gi"},
        "limits": {"cpu": "2", "memory": "1Gi"},
    }
    assert _resources(tasks["main.make_data"]) == {"requests": {"cpu": "500m", "memory": "256Mi"}, "limits": {}}
    for template in tasks.values():
        assert template.metadata.retries.retries == 3
        assert not template.metadata.interruptible
    assert tasks["main.train"].metadata.timeout.seconds == 3600

    # the execution ran and returned the real value: the one a local run gives on that config
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED" and job["type"] == "float"
    launched = OmegaConf.load(Path(job["output_dir"]) / "flyte_execution.yaml")
    assert (launched.project, launched.domain) == ("flytesnacks", "production")
    assert math.isclose(job["value"], by_hand(job_config(job)), rel_tol=1e-12)
