"""Remote launches against a stand-in as strict as Flyte: an S3 blob store the launcher has no
credentials for, a data catalog, images pulled from the registry, nodes run concurrently.

The Flyte side is the TEST STAND-IN in tests/flyte_standin (not a Flyte: see its docstring); the
Docker engine, the registry and the S3 server (moto) are real.
"""

from __future__ import annotations

import urllib.request
from pathlib import Path
from typing import Any

from flyteidl.core import catalog_pb2, execution_pb2, identifier_pb2

from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, recorded, run_app
from tests.test_remote import copy_app, launch, remote

Phase = execution_pb2.WorkflowExecution
TASK = identifier_pb2.TASK


def _node_cache(standin: StandIn, execution: str) -> dict[str, int]:
    return dict(standin.executions()[execution].cache_status)


def test_cached_tasks_are_served_from_the_catalog_per_sub_config_and_from_any_folder(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path)
    assert standin.runner is not None
    first = launch(app, remote(standin, "catalog", "model.learning_rate=0.1"), home)
    assert first.returncode == 0, first.stderr[-3000:]
    assert sorted(standin.runner.tasks_run) == ["main.make_data", "main.score", "main.train"]
    (name,) = standin.executions()
    assert set(_node_cache(standin, name).values()) == {catalog_pb2.CACHE_POPULATED}

    # only model.* changed: make_data comes from the catalog (its container does not run)
    standin.runner.tasks_run.clear()
    second = launch(app, remote(standin, "catalog", "model.learning_rate=0.01"), home)
    assert second.returncode == 0, second.stderr[-3000:]
    assert sorted(standin.runner.tasks_run) == ["main.score", "main.train"]
    output = second.stdout + second.stderr
    assert "from the cache: make_data" in output, output[-3000:]

    # the same configs launched from the app's parent folder: the same task names, so all cached
    standin.runner.tasks_run.clear()
    third = run_app(
        app, *remote(standin, "catalog", "model.learning_rate=0.01"), home=home, cwd=app.parent, timeout=600
    )
    assert third.returncode == 0, third.stderr[-3000:]
    assert standin.runner.tasks_run == []
    names = {key[3] for key in standin.registered(TASK)}
    assert names == {"main.make_data", "main.score", "main.train"}
    datasets = {key.dataset for key in standin.catalog.datasets()}
    assert datasets == {"flyte_task-main.make_data", "flyte_task-main.score", "flyte_task-main.train"}


def test_overwrite_cache_runs_cached_tasks_again(standin: StandIn, home: Path, tmp_path: Path) -> None:
    from flytekit.clients.friendly import SynchronousFlyteClient
    from flytekit.configuration import PlatformConfig
    from flytekit.models.core.identifier import Identifier
    from flytekit.models.execution import ExecutionMetadata, ExecutionSpec
    from flytekit.models.literals import LiteralMap

    app = copy_app(tmp_path)
    assert standin.runner is not None
    assert launch(app, remote(standin, "overwrite"), home).returncode == 0
    (first,) = standin.executions().values()
    standin.runner.tasks_run.clear()

    client = SynchronousFlyteClient(PlatformConfig(endpoint=standin.endpoint, insecure=True))
    spec = ExecutionSpec(
        launch_plan=Identifier.from_flyte_idl(first.request.spec.launch_plan),
        metadata=ExecutionMetadata(mode=ExecutionMetadata.ExecutionMode.MANUAL, principal="test", nesting=0),
        overwrite_cache=True,
    )
    inputs = LiteralMap.from_flyte_idl(first.request.inputs)
    client.create_execution("flytesnacks", "development", "overwrite-again", spec, inputs)
    standin.wait_idle()
    again = standin.executions()["overwrite-again"]
    assert again.phase == Phase.SUCCEEDED
    assert sorted(standin.runner.tasks_run) == ["main.make_data", "main.score", "main.train"]
    assert set(again.cache_status.values()) == {catalog_pb2.CACHE_POPULATED}


def test_file_outputs_come_back_as_uris_without_storage_credentials(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    records = tmp_path / "returns.jsonl"
    result = launch(APPS / "file_out", remote(standin, "fileout"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED" and job["type"] == "str"
    uri = job["value"]
    assert uri.startswith(f"s3://{standin.store.bucket}/") and standin.store.exists(uri)
    assert standin.store.get(uri) == b"doubled: 42\n"
    assert "Unsupported Type" not in result.stderr


def test_an_output_over_propellers_limit_fails_its_task_as_flyte_does(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    records = tmp_path / "returns.jsonl"
    result = launch(APPS / "big_output", remote(standin, "bigout"), home, records)
    assert result.returncode != 0
    (job,) = recorded(records)
    assert job["status"] == "FAILED"
    assert "Remote output size exceeds max" in job["value"] and "max allowed [2097152] bytes" in job["value"]
    assert "in task main.pad" in job["value"] or "task main.pad failed" in job["value"]
    (record,) = standin.executions().values()
    assert record.phase == Phase.FAILED and record.error.code == "OutputSizeExceeded"


def test_an_image_gone_from_the_registry_fails_its_task_with_the_pull_error(
    standin: StandIn, client: Any, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path)
    assert launch(app, remote(standin, "gone"), home).returncode == 0
    image = standin.spec(standin.registered(TASK)[0]).template.container.image
    repository, tag = image.removeprefix(f"{infra.REGISTRY_NAME}/").rsplit(":", 1)
    digest = infra.manifest_digest(repository, tag)
    assert digest is not None
    request = urllib.request.Request(f"http://{infra.REGISTRY}/v2/{repository}/manifests/{digest}", method="DELETE")
    urllib.request.urlopen(request, timeout=10).close()
    assert infra.manifest_digest(repository, tag) is None

    # a second cluster: build=skip finds the image missing and registers nothing there ...
    other = StandIn(client)
    try:
        refused = launch(app, [*remote(other, "gone"), "hydra.launcher.build=skip"], home)
        assert refused.returncode != 0 and f"{repository}:" in refused.stderr
        assert "is not in its registry" in refused.stderr
        assert other.registered() == []
        # ... while the image named as a fixed one (never looked up) registers, and its pull fails
        records = tmp_path / "returns.jsonl"
        result = launch(app, [*remote(other, "gone"), f"+hydra.launcher.images.default.image={image}"], home, records)
        assert result.returncode != 0
        (job,) = recorded(records)
        assert "ImagePullBackOff" in job["value"] and image in job["value"]
        assert other.runner is not None and other.runner.tasks_run == []
    finally:
        other.stop()


def test_independent_nodes_run_at_the_same_time(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path, "etl_pipeline")
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "etl"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED" and job["value"]["rows"] > 0
    (record,) = standin.executions().values()
    loads = [times for node, times in record.node_times.items() if node in _nodes_of(standin, "load_")]
    assert len(loads) == 2
    (start_a, end_a), (start_b, end_b) = loads
    assert start_a < end_b and start_b < end_a, f"the two loads did not overlap: {loads}"


def _nodes_of(standin: StandIn, prefix: str) -> set[str]:
    (workflow,) = standin.registered(identifier_pb2.WORKFLOW)
    nodes = standin.spec(workflow).template.nodes
    return {
        n.id
        for n in nodes
        if n.HasField("task_node") and n.task_node.reference_id.name.split(".")[-1].startswith(prefix)
    }


def test_a_declared_pickle_return_is_refused_before_anything_without_storage(standin: StandIn, home: Path) -> None:
    result = run_app(APPS / "unreadable", *remote(standin, "refused"), home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "The Hydra function main declares it returns Unreadable, which Flyte hands back only as a pickle" in (
        result.stderr
    )
    assert standin.registered() == [] and standin.executions() == {}
