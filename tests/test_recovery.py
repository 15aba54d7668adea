"""Recovering failed executions (``hydra.launcher.recover``), against the test stand-in for Flyte's admin API.

tests/flyte_standin is not a Flyte: it implements RecoverExecution as flyteadmin does (a new
execution on the original's spec and inputs, metadata mode RECOVERED) and runs it as propeller
does (nodes that succeeded in the original are not run, their outputs reused), with each task's
registered container really running on the local Docker engine. tests/apps/recoverable's middle
task reads an object of the stand-in's blob store that is not one of its inputs: missing, the task
fails; put there, a recovery on the same inputs succeeds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.core import execution_pb2, identifier_pb2, literals_pb2
from omegaconf import OmegaConf

from tests.fixtures.inputs_wf import mixed
from tests.flyte_standin import StandIn
from tests.flyte_standin.server import ExecutionRecord
from tests.helpers import APPS, no_build_remote, record_overrides, recorded, run_app
from tests.test_remote import remote
from tests.test_standin import DOMAIN, NOT_FOUND, PROJECT, VERSION, create_request, fresh, refusal

APP = APPS / "recoverable"
Phase = execution_pb2.WorkflowExecution
NodePhase = execution_pb2.NodeExecution
RECOVERED_MODE = admin_execution_pb2.ExecutionMetadata.RECOVERED
MADE = ("CreateExecution", "RecoverExecution", "CreateTask", "CreateWorkflow", "CreateLaunchPlan")


def launch(standin: StandIn, home: Path, *args: str, records: Path | None = None) -> Any:
    """``python main.py -m ...`` on the recoverable app; the sweep folder is ``home.parent / "multirun"``."""
    extra = record_overrides(records) if records else []
    return run_app(APP, *remote(standin, "recoverable", *args), *extra, home=home, timeout=600)


def folder_record(sweep: Path, num: int) -> Any:
    return OmegaConf.load(sweep / str(num) / "flyte_execution.yaml")


def test_recover_true_reruns_only_what_failed(standin: StandIn, home: Path, tmp_path: Path) -> None:
    store, runner = standin.store, standin.runner
    assert runner is not None
    ready, late = store.uri("gates", "ready.txt"), store.uri("gates", "late.txt")
    store.put(ready, b"2\n")
    sweep = home.parent / "multirun"

    first = launch(standin, home, f"source={ready},{late}", records=tmp_path / "first.jsonl")
    assert first.returncode != 0  # job #1 failed: Hydra's sweeper re-raises it once both returned
    assert [j["status"] for j in recorded(tmp_path / "first.jsonl")] == ["COMPLETED", "FAILED"]
    original = {num: str(folder_record(sweep, num).execution) for num in (0, 1)}
    records = standin.executions()
    assert records[original[0]].phase == Phase.SUCCEEDED and records[original[1]].phase == Phase.FAILED
    assert records[original[1]].nodes == {"n0": NodePhase.SUCCEEDED, "n1": NodePhase.FAILED}

    store.put(late, b"5\n")  # the data arrives: the failed task would now succeed
    standin.reset_calls()
    ran_before = len(runner.tasks_run)
    second = launch(
        standin, home, f"source={ready},{late}", "hydra.launcher.recover=true", records=tmp_path / "second.jsonl"
    )
    assert second.returncode == 0, second.stderr[-3000:]

    # one RecoverExecution, for the failed job only; nothing built, uploaded or registered
    calls = standin.calls
    assert calls.get("RecoverExecution") == 1
    assert not any(calls.get(m) for m in ("CreateExecution", "CreateTask", "CreateWorkflow", "CreateLaunchPlan"))
    assert "CreateUploadLocation" not in calls
    assert len(standin.executions()) == 3

    # the recovered execution: flyteadmin's metadata; prepare's node recovered, its container not run again
    job1 = folder_record(sweep, 1)
    assert list(job1.recovered_from) == [original[1]] and job1.execution != original[1]
    assert job1.url.endswith(f"/executions/{job1.execution}")
    recovered = standin.executions()[job1.execution]
    metadata = recovered.request.spec.metadata
    assert metadata.mode == RECOVERED_MODE and metadata.reference_execution.name == original[1]
    assert recovered.request.spec.launch_plan == records[original[1]].request.spec.launch_plan
    assert recovered.nodes == {"n0": NodePhase.RECOVERED, "n1": NodePhase.SUCCEEDED, "n2": NodePhase.SUCCEEDED}
    assert runner.tasks_run[ran_before:] == ["main.fetch_offset", "main.total"]
    assert len(recovered.containers) == 2

    # the JobReturns: the succeeded job's outputs as they were, the recovered job's new outputs
    jobs = recorded(tmp_path / "second.jsonl")
    assert [(j["status"], j["value"]) for j in jobs] == [("COMPLETED", 6 + 2 * 4), ("COMPLETED", 6 + 5 * 4)]
    assert folder_record(sweep, 0).execution == original[0] and "recovered_from" not in folder_record(sweep, 0)
    output = second.stdout + second.stderr
    assert "nothing is built or registered" in output
    assert f"execution {original[0]} SUCCEEDED: not relaunched" in output
    assert f"recovered as {job1.execution}" in output
    assert "recovered: prepare; ran: fetch_offset, total" in output

    # again: every job succeeded now, so nothing is recovered and the same results come back
    standin.reset_calls()
    third = launch(
        standin, home, f"source={ready},{late}", "hydra.launcher.recover=true", records=tmp_path / "third.jsonl"
    )
    assert third.returncode == 0, third.stderr[-3000:]
    assert not any(standin.calls.get(m) for m in MADE)
    assert [j["value"] for j in recorded(tmp_path / "third.jsonl")] == [14, 26]
    assert folder_record(sweep, 1).execution == job1.execution


def test_recover_one_execution_by_name(standin: StandIn, home: Path, tmp_path: Path) -> None:
    store, runner = standin.store, standin.runner
    assert runner is not None
    late = store.uri("gates", "by-name.txt")
    first = launch(standin, home, f"source={late}", "size=3")
    assert first.returncode != 0
    (name,) = standin.executions()
    assert standin.executions()[name].phase == Phase.FAILED

    store.put(late, b"10")
    standin.reset_calls()
    ran_before = len(runner.tasks_run)
    other_home = tmp_path / "by-name" / "home"  # a new sweep folder: the recovery needs none of the first's
    other_home.mkdir(parents=True)
    records = tmp_path / "returns.jsonl"
    second = run_app(
        APP,
        *remote(standin, "recoverable", f"hydra.launcher.recover={name}"),
        *record_overrides(records),
        home=other_home,
        timeout=600,
    )
    assert second.returncode == 0, second.stderr[-3000:]
    assert standin.calls.get("RecoverExecution") == 1 and "CreateExecution" not in standin.calls
    (job,) = recorded(records)
    assert job["value"] == 0 + 1 + 2 + 10 * 3  # the original's inputs (size=3), not this launch's config
    record = OmegaConf.load(Path(job["output_dir"]) / "flyte_execution.yaml")
    assert list(record.recovered_from) == [name]
    assert standin.executions()[record.execution].request.spec.metadata.reference_execution.name == name
    assert record.version == standin.executions()[name].request.spec.launch_plan.version
    assert runner.tasks_run[ran_before:] == ["main.fetch_offset", "main.total"]


def test_recover_helper_from_python(
    standin: StandIn, home: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """scaffold_flyte.remote.recover: the same recovery from a script (``import main`` beside the app)."""
    import sys

    from scaffold_flyte.recovery import RecoveryError
    from scaffold_flyte.remote import Execution
    from scaffold_flyte.remote import recover as recover_helper
    from tests.helpers import load_app

    late = standin.store.uri("gates", "helper.txt")
    first = launch(standin, home, f"source={late}", "size=2")
    assert first.returncode != 0
    (name,) = standin.executions()
    saved = sys.modules.pop("main", None)
    request.addfinalizer(lambda: sys.modules.__setitem__("main", saved) if saved else sys.modules.pop("main", None))
    load_app(APP, "main")
    where: dict[str, Any] = {"module": "main", "endpoint": standin.endpoint, "insecure": True, "poll_interval": 0.3}

    standin.store.put(late, b"1")
    assert recover_helper(name, **where) == 0 + 1 + 1 * 2
    created = recover_helper(name, wait=False, execution_name="helper-recovery", **where)
    assert isinstance(created, Execution) and created.name == "helper-recovery"
    assert created.version == standin.executions()[name].request.spec.launch_plan.version
    standin.wait_idle(120)
    with pytest.raises(RecoveryError, match="execution helper-recovery SUCCEEDED, so there is nothing to recover"):
        recover_helper("helper-recovery", **where)
    with pytest.raises(RecoveryError, match="has no execution nosuchone in flytesnacks/development"):
        recover_helper("nosuchone", **where)


# -- bad input: one line, a non-zero exit, nothing recovered or created ---------------------------


@pytest.fixture
def quiet_standin() -> Any:
    """A stand-in without Docker: executions stay as created unless a test sets their phase."""
    running = StandIn(docker_client=None, projects={"flytesnacks": ["development"], "other": ["development"]})
    yield running
    running.stop()


def refused(result: Any, standin: StandIn, line: str) -> None:
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert line in result.stderr, result.stderr[-2000:]
    assert not any(standin.calls.get(m) for m in MADE), standin.calls


def created_sweep(standin: StandIn, home: Path, app: Path, *args: str) -> dict[str, Any]:
    """A launch that creates its executions and does not wait (they stay as the stand-in made them)."""
    result = run_app(app, *no_build_remote(standin.endpoint), *args, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    standin.reset_calls()
    return standin.executions()


def recover(standin: StandIn, home: Path, app: Path, *args: str) -> Any:
    return run_app(app, *no_build_remote(standin.endpoint), *args, home=home)


def test_an_execution_flyte_does_not_have(quiet_standin: StandIn, home: Path) -> None:
    result = recover(quiet_standin, home, APPS / "failing", "hydra.launcher.recover=s0123456789ab-1")
    refused(result, quiet_standin, "hydra.launcher.recover=s0123456789ab-1: Flyte at 127.0.0.1:")
    assert "has no execution s0123456789ab-1 in flytesnacks/development" in result.stderr


@pytest.mark.parametrize(
    ("phase", "line"),
    [
        (Phase.SUCCEEDED, "SUCCEEDED, so there is nothing to recover"),
        (Phase.RUNNING, "is RUNNING, it has not failed: wait for it to end"),
        (Phase.UNDEFINED, "is UNDEFINED, it has not failed"),
    ],
)
def test_an_execution_that_did_not_fail(quiet_standin: StandIn, home: Path, phase: int, line: str) -> None:
    (name,) = created_sweep(quiet_standin, home, APPS / "failing")
    quiet_standin.executions()[name].phase = phase
    result = recover(quiet_standin, home, APPS / "failing", f"hydra.launcher.recover={name}")
    refused(result, quiet_standin, f"hydra.launcher.recover={name}: execution {name} {line}")


def test_an_execution_of_another_workflow(quiet_standin: StandIn, home: Path) -> None:
    (name,) = created_sweep(quiet_standin, home, APPS / "failing")
    quiet_standin.executions()[name].phase = Phase.FAILED
    result = recover(quiet_standin, home, APPS / "slow", f"hydra.launcher.recover={name}")
    refused(result, quiet_standin, f"execution {name} runs launch plan main.checked, not this module's workflow")


def test_a_sweep_folder_without_records(quiet_standin: StandIn, home: Path, tmp_path: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2")
    elsewhere = tmp_path / "elsewhere" / "home"  # another sweep folder: as when hydra.sweep.dir is left out
    elsewhere.mkdir(parents=True)
    result = recover(quiet_standin, elsewhere, APPS / "failing", "value=1,2", "hydra.launcher.recover=true")
    folder = (elsewhere.parent / "multirun").resolve()
    refused(result, quiet_standin, f"hydra.launcher.recover=true found no flyte_execution.yaml in {folder}")
    assert "point hydra.sweep.dir at the failed sweep's folder and pass the same overrides" in result.stderr


def test_a_record_of_another_workflow(quiet_standin: StandIn, home: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2")
    result = recover(quiet_standin, home, APPS / "slow", "seconds=1,2", "hydra.launcher.recover=true")
    refused(result, quiet_standin, "is a launch of workflow main.checked, not of this module's main.napping")


def test_a_record_of_another_project(quiet_standin: StandIn, home: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2", "hydra.launcher.project=other")
    result = recover(quiet_standin, home, APPS / "failing", "value=1,2", "hydra.launcher.recover=true")
    refused(result, quiet_standin, "is an execution in project other, this launch is set to flytesnacks")
    assert "set hydra.launcher.project=other to recover it" in result.stderr


def test_other_overrides_than_the_failed_launch(quiet_standin: StandIn, home: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2")
    result = recover(quiet_standin, home, APPS / "failing", "value=1,3", "hydra.launcher.recover=true")
    refused(result, quiet_standin, "holds a launch with overrides [value=2], this one has [value=3]")
    assert "recover with the same overrides as the failed launch" in result.stderr


def test_a_record_naming_an_execution_flyte_does_not_have(quiet_standin: StandIn, home: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2")
    record = home.parent / "multirun" / "1" / "flyte_execution.yaml"
    record.write_text(record.read_text().replace("execution: s", "execution: gone"))
    result = recover(quiet_standin, home, APPS / "failing", "value=1,2", "hydra.launcher.recover=true")
    refused(result, quiet_standin, "job #1 (value=2): ")
    assert "but Flyte at 127.0.0.1:" in result.stderr and "has no execution gone" in result.stderr


def test_each_job_by_its_executions_phase(quiet_standin: StandIn, home: Path, tmp_path: Path) -> None:
    """Aborted (and failed, timed out) is recovered, running is followed, succeeded is kept (wait=false here)."""
    executions = created_sweep(quiet_standin, home, APPS / "failing", "value=1,2,3")
    sweep = home.parent / "multirun"
    names = [str(folder_record(sweep, num).execution) for num in range(3)]
    for name, phase in zip(names, (Phase.ABORTED, Phase.RUNNING, Phase.SUCCEEDED), strict=True):
        executions[name].phase = phase
    records = tmp_path / "returns.jsonl"
    result = run_app(
        APPS / "failing",
        *no_build_remote(quiet_standin.endpoint),
        "value=1,2,3",
        "hydra.launcher.recover=true",
        *record_overrides(records),
        home=home,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert quiet_standin.calls.get("RecoverExecution") == 1 and "CreateExecution" not in quiet_standin.calls
    recovered = str(folder_record(sweep, 0).execution)
    assert list(folder_record(sweep, 0).recovered_from) == [names[0]]
    assert quiet_standin.executions()[recovered].request.spec.metadata.reference_execution.name == names[0]
    assert [folder_record(sweep, n).execution for n in (1, 2)] == names[1:]
    assert [j["value"]["execution"] for j in recorded(records)] == [recovered, *names[1:]]
    assert "3 job(s) of " in result.stdout and "1 to recover, 1 succeeded, 1 still running" in result.stdout


def test_jobs_without_a_record(quiet_standin: StandIn, home: Path) -> None:
    created_sweep(quiet_standin, home, APPS / "failing", "value=1,2")
    (home.parent / "multirun" / "1" / "flyte_execution.yaml").unlink()  # as when its create failed
    result = recover(quiet_standin, home, APPS / "failing", "value=1,2", "hydra.launcher.recover=true")
    refused(result, quiet_standin, "1 job(s) have no flyte_execution.yaml, so no execution to recover (job #1")
    assert "GetExecution" not in quiet_standin.calls


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["hydra.launcher.recover=Not_A_Name"], "hydra.launcher.recover='Not_A_Name' is not a Flyte execution name"),
        (["hydra.launcher.recover=12"], "hydra.launcher.recover=12 is neither true/false nor an execution name"),
        (
            ["hydra.launcher.recover=true", "hydra.launcher.dry_run=true"],
            "does not combine with hydra.launcher.dry_run",
        ),
        (["hydra.launcher.recover=true", "hydra.launcher.mode=local"], "it needs hydra.launcher.mode=remote"),
        (["value=1,2", "hydra.launcher.recover=s0123456789ab-1"], "recovers one execution, but this launch has 2 jobs"),
    ],
    ids=["bad-name", "a-number", "dry-run", "local", "by-name-with-a-sweep"],
)
def test_recover_settings_refused(quiet_standin: StandIn, home: Path, args: list[str], line: str) -> None:
    refused(recover(quiet_standin, home, APPS / "failing", *args), quiet_standin, line)
    assert "GetExecution" not in quiet_standin.calls  # refused before any call to Flyte


# -- the stand-in's rules: flyteadmin's RecoverExecution, propeller's attemptRecovery ---------------
# (flyteadmin/pkg/manager/impl/execution_manager.go RecoverExecution; flytepropeller/pkg/controller/
# nodes/executor.go attemptRecovery. Requests are sent as flytekit's raw client sends them.)


@pytest.fixture(scope="module")
def bare() -> Iterator[StandIn]:
    """A stand-in without Docker with tests/fixtures/inputs_wf.mixed registered (test_standin.py's requests)."""
    from flytekit.configuration import Config, ImageConfig, PlatformConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    running = StandIn(None)
    remote = FlyteRemote(Config(platform=PlatformConfig(endpoint=running.endpoint, insecure=True)), PROJECT, DOMAIN)
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=PROJECT, domain=DOMAIN, version=VERSION
    )
    remote.register_workflow(mixed, serialization_settings=settings, version=VERSION)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(bare: StandIn) -> Any:
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig

    return RawSynchronousFlyteClient(PlatformConfig(endpoint=bare.endpoint, insecure=True))


def _recover_request(name: str, new_name: str = "") -> Any:
    identifier = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=name)
    return admin_execution_pb2.ExecutionRecoverRequest(id=identifier, name=new_name)


def test_standin_recovering_an_unknown_execution_is_not_found(bare: StandIn, admin: Any) -> None:
    code, message = refusal(lambda: admin.recover_execution(_recover_request("nosuchexecution", fresh())))
    assert code == NOT_FOUND and "missing entity of type execution" in message


def test_standin_recovery_runs_the_originals_launch_plan_on_its_inputs(bare: StandIn, admin: Any) -> None:
    original = fresh()
    admin.create_execution(create_request(name=original))
    bare.executions()[original].phase = Phase.FAILED
    new = fresh()
    created = admin.recover_execution(_recover_request(original, new))
    assert created.id.name == new and (created.id.project, created.id.domain) == (PROJECT, DOMAIN)
    before, after = bare.executions()[original], bare.executions()[new]
    assert after.request.spec.launch_plan == before.request.spec.launch_plan
    assert after.request.inputs == before.request.inputs and after.inputs == before.inputs
    fetched = admin.get_execution(admin_execution_pb2.WorkflowExecutionGetRequest(id=created.id))
    assert fetched.spec.metadata.mode == RECOVERED_MODE
    assert fetched.spec.metadata.reference_execution.name == original
    assert fetched.closure.phase == Phase.UNDEFINED  # created as CreateExecution creates one


@pytest.mark.parametrize("phase", [Phase.SUCCEEDED, Phase.RUNNING, Phase.UNDEFINED, Phase.ABORTED])
def test_standin_recovers_an_execution_in_any_phase(bare: StandIn, admin: Any, phase: int) -> None:
    """flyteadmin's RecoverExecution reads no phase: refusing one that did not fail is the launcher's."""
    original = fresh()
    admin.create_execution(create_request(name=original))
    bare.executions()[original].phase = phase
    assert admin.recover_execution(_recover_request(original, fresh())).id.name


def test_standin_recovery_names_as_create_execution_does(bare: StandIn, admin: Any) -> None:
    import re

    original = fresh()
    admin.create_execution(create_request(name=original))
    generated = admin.recover_execution(_recover_request(original)).id.name
    assert re.fullmatch(r"a[a-z0-9]{19}", generated)
    code, message = refusal(lambda: admin.recover_execution(_recover_request(original, generated)))
    assert code == grpc.StatusCode.ALREADY_EXISTS and "already exists" in message
    code, _ = refusal(lambda: admin.recover_execution(_recover_request(original, "Bad_Name")))
    assert code == grpc.StatusCode.INVALID_ARGUMENT  # ValidateExecutionRequest, as for CreateExecution


@pytest.mark.parametrize(
    ("phase", "reused"),
    [
        (NodePhase.SUCCEEDED, True),
        (NodePhase.RECOVERED, True),
        (NodePhase.FAILED, False),
        (NodePhase.ABORTED, False),
        (NodePhase.SKIPPED, False),
        (None, False),  # no such node in the original (it never started): NOT_FOUND, runs normally
    ],
)
def test_standin_recovers_the_nodes_that_succeeded(bare: StandIn, phase: int | None, reused: bool) -> None:
    from tests.flyte_standin.runner import Runner, _Context

    outputs = {"o0": literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=7)))}
    source = ExecutionRecord(request=create_request(), workflow_id=identifier_pb2.Identifier())
    if phase is not None:
        source.nodes["n0"] = phase
        source.node_outputs["n0"] = outputs
        source.cache_status["n0"] = 3  # CACHE_POPULATED, carried over with the outputs
    record = ExecutionRecord(request=create_request(), workflow_id=identifier_pb2.Identifier())
    exec_id = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name=fresh())
    runner = Runner(bare.admin, bare.store, None, bare.catalog)
    found = runner._recovered("n0", _Context(exec_id, record, {}, source))
    assert (found == outputs) if reused else found is None
    if reused:  # written to the node's own output location, as propeller writes the outputs file
        stored = literals_pb2.LiteralMap()
        stored.ParseFromString(
            bare.store.get(bare.store.uri(_Context(exec_id, record, {}).metadata, "n0/data/0/outputs.pb"))
        )
        assert dict(stored.literals) == outputs and record.cache_status["n0"] == 3


def test_the_record_file_is_the_launchers() -> None:
    """recovery.py names the record file itself (Hydra imports it at every start, remote_launch imports flytekit)."""
    from scaffold_flyte import recovery, remote_launch

    assert recovery.RECORD_FILE == remote_launch.RECORD_FILE
