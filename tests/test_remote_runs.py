"""Executions that fail, time out, lose their admin or return what cannot be read; Ctrl-C while waiting.

Against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte), which runs the
registered task containers on the local Docker engine.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from flyteidl.core import execution_pb2

from tests.flyte_standin import StandIn
from tests.helpers import APPS, record_overrides, recorded, run_app
from tests.test_remote import remote

Phase = execution_pb2.WorkflowExecution


def test_a_failing_task_fails_its_job_and_the_others_go_on(standin: StandIn, home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = run_app(
        APPS / "failing", *remote(standin, "failing", "value=1,2,3"), *record_overrides(records), home=home
    )
    assert result.returncode != 0  # Hydra's sweeper reports the failed job once all have returned
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["COMPLETED", "FAILED", "COMPLETED"]
    assert [jobs[0]["value"], jobs[2]["value"]] == [10, 30]
    output = result.stdout + result.stderr
    assert "job #0 (value=1): returned 10" in output and "job #2 (value=3): returned 30" in output
    failure = jobs[1]["value"]
    assert "ExecutionFailed" in failure and "FAILED in task main.check_value" in failure
    assert "value 2 is not allowed" in failure
    assert "job #1 (value=2): execution" in result.stderr
    assert "scaffold_flyte" not in result.stderr  # no launcher frames, only the remote error


def test_a_dictconfig_output_comes_back_as_a_dictconfig(standin: StandIn, home: Path, tmp_path: Path) -> None:
    remote_records, local_records = tmp_path / "remote.jsonl", tmp_path / "local.jsonl"
    sweep = "model.width=4,16"
    result = run_app(
        APPS / "config_out", *remote(standin, "config_out", sweep), *record_overrides(remote_records), home=home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    local = run_app(
        APPS / "config_out", "-m", "hydra/launcher=flyte_local", sweep, *record_overrides(local_records), home=home
    )
    assert local.returncode == 0, local.stderr[-3000:]
    jobs = recorded(remote_records)
    assert [j["type"] for j in jobs] == ["DictConfig", "DictConfig"]
    assert [j["value"] for j in jobs] == [j["value"] for j in recorded(local_records)]
    assert jobs[1]["value"] == {"name": "tiny", "doubled": 0.5, "layers": [8, 16]}


def test_a_wait_bound_fails_the_jobs_and_names_every_execution_still_running(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    records = tmp_path / "returns.jsonl"
    args = remote(standin, "slow", "seconds=20,21", "hydra.launcher.timeout=3")
    result = run_app(APPS / "slow", *args, *record_overrides(records), home=home)
    assert result.returncode != 0
    first, second = recorded(records)
    assert first["status"] == second["status"] == "FAILED"
    assert "did not finish within hydra.launcher.timeout=3 s" in first["value"]
    names = sorted(standin.executions())
    assert len(names) == 2
    assert all(name in first["value"] for name in names)  # the first timeout lists every execution still running
    assert "1 other execution(s) still running too: job #1 (seconds=21)" in first["value"]
    assert all(standin.executions()[n].phase in (Phase.RUNNING, Phase.QUEUED) for n in names)  # they go on


def test_admin_lost_while_waiting_lists_the_executions(standin: StandIn, home: Path, tmp_path: Path) -> None:
    standin.faults.fail_next("ListExecutions", times=1000)  # following lists the executions; creating reads nothing
    records = tmp_path / "returns.jsonl"
    result = run_app(APPS / "slow", *remote(standin, "lost", "seconds=1,2"), *record_overrides(records), home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    names = sorted(standin.executions())
    assert len(names) == 2
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["FAILED", "FAILED"]
    (message,) = [line for line in result.stderr.splitlines() if "check that Flyte's admin is up" in line]
    assert all(name in message for name in names)  # nothing is lost


def test_outputs_that_cannot_be_read_say_so_and_name_the_execution(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    records = tmp_path / "returns.jsonl"
    # a declared return type that travels as a pickle needs blob storage access on the launching side
    result = run_app(
        APPS / "unreadable",
        *remote(standin, "unreadable"),
        *record_overrides(records),
        home=home,
        env=standin.store.pod_env(),
    )
    assert result.returncode != 0
    (job,) = recorded(records)
    (name,) = standin.executions()
    assert standin.executions()[name].phase == Phase.SUCCEEDED
    assert job["status"] == "FAILED"
    assert f"execution {name} succeeded, but its outputs cannot be turned into Python values" in job["value"]
    assert "only makes sense inside the task" in job["value"]


def _interrupt_while_running(standin: StandIn, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FLYTE")}
    env["HOME"] = str(home)
    args = [*remote(standin, "interrupt", "seconds=60", *extra), f"hydra.sweep.dir={home.parent}/multirun"]
    process = subprocess.Popen(
        [sys.executable, "main.py", *args],
        cwd=APPS / "slow",
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline:
        records = standin.executions()
        if records and all(r.phase == Phase.RUNNING and r.containers for r in records.values()):
            break
        time.sleep(0.2)
    time.sleep(1)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=120)
    return subprocess.CompletedProcess(process.args, process.returncode, stdout, stderr)


def test_ctrl_c_leaves_the_executions_running_and_says_how_to_follow_them(standin: StandIn, home: Path) -> None:
    result = _interrupt_while_running(standin, home)
    assert result.returncode != 0
    (name,) = standin.executions()
    (line,) = [x for x in result.stderr.splitlines() if x.startswith("Interrupted while waiting")]
    assert line.startswith("Interrupted while waiting: 1 execution(s) still running")
    assert name in line and "/console/projects/flytesnacks/domains/development/executions/" in line
    assert standin.executions()[name].phase == Phase.RUNNING
    assert "TerminateExecution" not in standin.calls
    assert standin.runner is not None
    standin.runner.terminate(standin.executions()[name])  # the test's own clean-up, not the launcher's


def test_ctrl_c_can_terminate_the_executions(standin: StandIn, home: Path) -> None:
    result = _interrupt_while_running(standin, home, "hydra.launcher.terminate_on_interrupt=true")
    assert result.returncode != 0
    (name,) = standin.executions()
    assert "1 execution(s) terminated" in result.stderr
    assert standin.calls.get("TerminateExecution") == 1
    standin.wait_idle(60)
    assert standin.executions()[name].phase == Phase.ABORTED
