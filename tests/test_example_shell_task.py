"""examples/shell_task: a flytekit ShellTask between two Python tasks, locally and on the stand-in.

The shell step is a task type of flytekit's own (flytekit.extras.tasks.shell): its body is a
script, its input and output are files. Locally its script runs in /bin/sh; remotely it is
registered with the settings it declares plus the launcher's per-task ones, and runs in the
built image through the TEST STAND-IN for Flyte's admin API (tests/flyte_standin, not a Flyte).
"""

from __future__ import annotations

import collections
import csv
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

from flyteidl.core import catalog_pb2, tasks_pb2, types_pb2

from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, record_overrides, recorded, run_app, tasks_that_ran
from tests.test_remote import TASK, copy_app, launch, remote

APP = EXAMPLES / "shell_task"
STEPS = ["export_rows", "count_labels", "summarize"]


def by_hand(rows: int, labels: list[str], seed: int, top: int) -> dict[str, int]:
    """What the three steps compute, in plain Python: the rows drawn as export_rows draws them, counted."""
    rng = random.Random(seed)
    drawn = []
    for _ in range(rows):
        drawn.append(rng.choice(labels))
        rng.random()
    counts = sorted(collections.Counter(drawn).items(), key=lambda item: (-item[1], item[0]))
    return {**dict(counts[:top]), "total": rows}


LABELS = ["cat", "dog", "bird", "fish"]


def test_local_runs_the_shell_step_and_caches_each_step(home: Path, tmp_path: Path) -> None:
    def run(*overrides: str) -> tuple[list[str], dict[str, Any]]:
        records = tmp_path / f"{len(list(tmp_path.iterdir()))}.jsonl"
        result = run_app(APP, "-m", "hydra/launcher=flyte_local", *overrides, *record_overrides(records), home=home)
        assert result.returncode == 0, result.stderr[-3000:]
        (job,) = recorded(records)
        assert job["status"] == "COMPLETED"
        return tasks_that_ran(result), job["value"]

    ran, value = run()
    assert ran == STEPS
    assert value == by_hand(200, LABELS, 7, 2)
    assert run() == ([], value)  # every step from flytekit's local cache, the shell step included
    # report.* feeds summarize only; data.* changes the file, so the shell step counts again
    assert run("report.top=3") == (["summarize"], by_hand(200, LABELS, 7, 3))
    assert run("data.rows=50") == (STEPS, by_hand(50, LABELS, 7, 2))


def _blob(variable: Any) -> bool:
    return variable.type.blob.dimensionality == types_pb2.BlobType.SINGLE


def test_remote_registers_the_shell_task_as_declared_and_runs_it_in_the_image(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path, "shell_task")
    assert standin.runner is not None
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "shell_task"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]

    tasks = {key[3]: standin.spec(key).template for key in standin.registered(TASK)}
    assert sorted(tasks) == ["count_labels", "main.export_rows", "main.summarize"]
    shell = tasks["count_labels"]
    # the ShellTask's own declaration, intact: a file in, a file out, run by flytekit's default resolver
    assert shell.type == "python-task"
    assert set(shell.interface.inputs.variables) == {"rows"} and _blob(shell.interface.inputs.variables["rows"])
    assert set(shell.interface.outputs.variables) == {"counts"} and _blob(shell.interface.outputs.variables["counts"])
    args = list(shell.container.args)
    assert args[args.index("--resolver") + 1] == "flytekit.core.python_auto_container.default_task_resolver"
    assert args[-4:] == ["task-module", "main", "task-name", "count_labels"]
    assert shell.metadata.retries.retries == 2
    assert shell.metadata.discoverable and shell.metadata.discovery_version == "1"
    assert {kv.key: kv.value for kv in shell.container.env}["COUNT_FORMAT"] == "label,count"
    name = tasks_pb2.Resources.ResourceName.Name
    requests = {name(r.name): r.value for r in shell.container.resources.requests}
    limits = {name(r.name): r.value for r in shell.container.resources.limits}
    assert requests == {"CPU": "100m", "MEMORY": "64Mi"}  # declared in main.py
    assert limits == {"MEMORY": "128Mi"}  # added by hydra.launcher.tasks.count_labels
    assert shell.metadata.timeout.ToTimedelta() == timedelta(seconds=300)
    # the same image as the Python tasks
    assert shell.container.image == tasks["main.export_rows"].container.image

    # the execution ran the three steps in the image (the shell script included) and came back
    assert sorted(standin.runner.tasks_run) == ["count_labels", "main.export_rows", "main.summarize"]
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED"
    assert job["value"] == by_hand(200, LABELS, 7, 2)
    (execution,) = standin.executions().values()
    assert set(execution.cache_status.values()) == {catalog_pb2.CACHE_POPULATED}

    # report.top changed: the shell step's output comes from Flyte's catalog, only summarize runs
    standin.runner.tasks_run.clear()
    again = launch(app, remote(standin, "shell_task", "report.top=3"), home, tmp_path / "again.jsonl")
    assert again.returncode == 0, again.stderr[-3000:]
    assert standin.runner.tasks_run == ["main.summarize"]
    (job,) = recorded(tmp_path / "again.jsonl")
    assert job["value"] == by_hand(200, LABELS, 7, 3)

    # launched from the app's parent folder: the same task names and command, so every step cached
    standin.runner.tasks_run.clear()
    args = remote(standin, "shell_task", "report.top=3")
    parent = run_app(app, *args, *record_overrides(tmp_path / "parent.jsonl"), home=home, cwd=app.parent, timeout=600)
    assert parent.returncode == 0, parent.stderr[-3000:]
    assert standin.runner.tasks_run == []
    assert {key[3] for key in standin.registered(TASK)} == {"count_labels", "main.export_rows", "main.summarize"}
    for key in standin.registered(TASK):  # every version's command imports the module the bundle holds
        assert list(standin.spec(key).template.container.args)[-4:-2] == ["task-module", "main"], key
    assert recorded(tmp_path / "parent.jsonl")[0]["value"] == by_hand(200, LABELS, 7, 3)


def test_the_shell_step_reads_the_file_export_rows_wrote(tmp_path: Path) -> None:
    """by_hand draws the rows as export_rows does: checked against the task body on a file."""
    from omegaconf import OmegaConf

    from tests.helpers import load_app

    app = load_app(APP, "shell_task_main")
    cfg = OmegaConf.create({"rows": 30, "labels": LABELS, "seed": 4})
    written = app.export_rows.task_function(data=cfg)
    with open(written.path) as handle:
        labels = [row[0] for row in csv.reader(handle)]
    expected = by_hand(30, LABELS, 4, len(LABELS))
    assert collections.Counter(labels) == {k: v for k, v in expected.items() if k != "total"}
