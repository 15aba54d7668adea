"""Every execution accounted for: a launch stopped at any step (Ctrl-C, a create that fails for good)
says in one line what exists, and the jobs whose executions exist get their folders and records.

Against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte), the real
Docker engine and registry.
"""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
from flyteidl.core import execution_pb2
from omegaconf import OmegaConf

from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, no_build_remote, run_app
from tests.test_remote import remote

RECORD = "flyte_execution.yaml"


class Launch:
    """``python main.py ARGS`` in a subprocess whose merged output is read line by line as it comes."""

    def __init__(self, app: Path, args: list[str], home: Path) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "AWS_", "HYDRA_FULL_ERROR"))}
        env["HOME"] = str(home)
        self.sweep_dir = home.parent / "multirun"
        self.process = subprocess.Popen(
            [sys.executable, "main.py", *args, f"hydra.sweep.dir={self.sweep_dir}", f"hydra.run.dir={home.parent}/o"],
            cwd=app,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self._queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._queue.put(line)

    def wait_for(self, text: str, timeout: float = 300) -> None:
        deadline = time.time() + timeout
        while time.time() < deadline:
            try:
                line = self._queue.get(timeout=0.5)
            except queue.Empty:
                assert self.process.poll() is None, "".join(self.lines)
                continue
            self.lines.append(line)
            if text in line:
                return
        raise AssertionError(f"never saw {text!r}:\n{''.join(self.lines)}")

    def interrupt(self, timeout: float = 90) -> str:
        """Ctrl-C; the whole output once the process ended (within ``timeout``: it must not sit out a step)."""
        self.process.send_signal(signal.SIGINT)
        self.process.wait(timeout=timeout)
        time.sleep(0.2)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        return "".join(self.lines)


def _interrupted_line(output: str) -> str:
    (line,) = [x for x in output.splitlines() if x.startswith("Interrupted while")]
    return line


def _job_folders(sweep_dir: Path) -> list[Path]:
    return sorted(p for p in sweep_dir.glob("*") if p.is_dir() and (p / ".hydra").is_dir())


def test_ctrl_c_while_planning_says_nothing_happened(standin: StandIn, home: Path) -> None:
    launch = Launch(APPS / "slow_plan", no_build_remote(standin.endpoint), home)
    launch.wait_for("resolving slowly", timeout=60)
    output = launch.interrupt(timeout=30)
    assert launch.process.returncode != 0
    assert "Traceback" not in output
    assert _interrupted_line(output) == (
        "Interrupted while planning: nothing was built, uploaded, registered or executed."
    )
    assert standin.calls == {}


def test_ctrl_c_while_planning_a_local_sweep(home: Path) -> None:
    launch = Launch(APPS / "slow_plan", ["-m", "hydra/launcher=flyte_local"], home)
    launch.wait_for("resolving slowly", timeout=60)
    output = launch.interrupt(timeout=30)
    assert launch.process.returncode != 0
    assert "Traceback" not in output
    assert _interrupted_line(output) == "Interrupted while planning: no job was run."


def test_ctrl_c_while_building_stops_the_build_and_registers_nothing(standin: StandIn, home: Path) -> None:
    args = [
        *remote(standin, "slow-build"),
        "hydra.launcher.images.default.dockerfile=Dockerfile",
        f"+hydra.launcher.images.default.build_args.BASE={infra.BASE_IMAGE}",
        "hydra.launcher.build_log=true",
    ]
    launch = Launch(APPS / "slow_build", args, home)
    launch.wait_for("a slow step", timeout=300)  # the build is in its slow step
    output = launch.interrupt(timeout=60)  # the build sleeps 600 s: ending sooner means it was stopped
    assert launch.process.returncode != 0
    assert "Traceback" not in output
    assert _interrupted_line(output) == (
        "Interrupted while building images: nothing was built, uploaded, registered or executed."
    )
    assert not any(method.startswith("Create") for method in standin.calls)


def test_ctrl_c_while_creating_lists_and_records_what_was_created(standin: StandIn, home: Path) -> None:
    # two executions are created, then every create of the third fails as an outage and is retried
    standin.faults.fail_next("CreateExecution", times=1000, after=2)
    args = [*no_build_remote(standin.endpoint), "hydra.launcher.max_parallel_executions=1", "x=1,2,3,4"]
    launch = Launch(APPS / "slow_build", args, home)
    launch.wait_for("retrying in", timeout=120)
    output = launch.interrupt(timeout=30)  # the retries' backoff must not delay the stop
    assert launch.process.returncode != 0
    assert "Traceback" not in output
    names = sorted(standin.executions())
    assert len(names) == 2
    line = _interrupted_line(output)
    assert line.startswith("Interrupted while creating executions:")
    assert "2 execution(s) created, still running (set hydra.launcher.terminate_on_interrupt=true" in line
    assert all(name in line for name in names)
    assert "/console/projects/flytesnacks/domains/development/executions/" in line
    assert line.endswith("; 2 job(s) not launched.")
    records = [OmegaConf.load(folder / RECORD) for folder in _job_folders(launch.sweep_dir)]
    assert sorted(str(r.execution) for r in records) == names
    assert "TerminateExecution" not in standin.calls


def test_ctrl_c_while_creating_can_terminate_what_was_created(standin: StandIn, home: Path) -> None:
    # a real image and a task that naps, so the execution created is still running when terminated
    standin.faults.fail_next("CreateExecution", times=1000, after=1)
    args = [
        *remote(standin, "interrupt", "seconds=60,61"),
        "hydra.launcher.max_parallel_executions=1",
        "hydra.launcher.terminate_on_interrupt=true",
    ]
    launch = Launch(APPS / "slow", args, home)
    launch.wait_for("retrying in", timeout=600)
    output = launch.interrupt(timeout=30)
    assert launch.process.returncode != 0
    (name,) = standin.executions()
    line = _interrupted_line(output)
    assert f"1 execution(s) created and terminated: job #0 (seconds=60): {name}" in line
    assert standin.calls.get("TerminateExecution") == 1
    standin.wait_idle(60)
    assert standin.executions()[name].phase == execution_pb2.WorkflowExecution.ABORTED


def test_a_create_that_fails_for_good_lists_the_executions_created(standin: StandIn, home: Path) -> None:
    standin.faults.fail_next("CreateExecution", times=10, code=grpc.StatusCode.INVALID_ARGUMENT, after=2)
    args = [*no_build_remote(standin.endpoint), "hydra.launcher.max_parallel_executions=1", "x=1,2,3"]
    result = run_app(APPS / "slow_build", *args, home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    names = sorted(standin.executions())
    assert len(names) == 2
    (line,) = [x for x in result.stderr.splitlines() if "creating the execution of job #2 (x=3)" in x]
    assert "injected fault in CreateExecution. What exists: registered main.doubled version " in line
    assert "; 2 execution(s) created: job #0 (x=1): " in line
    assert all(name in line for name in names)
    assert "a new launch creates new executions for every job" in line
    assert "nothing is duplicated" not in result.stderr
    sweep = home.parent / "multirun"
    records = [OmegaConf.load(folder / RECORD) for folder in _job_folders(sweep)]
    assert sorted(str(r.execution) for r in records) == names


def test_a_dry_run_creates_no_job_folder(standin: StandIn, home: Path) -> None:
    result = run_app(
        APPS / "slow_build", *no_build_remote(standin.endpoint), "hydra.launcher.dry_run=true", "x=1,2", home=home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.count("execution  job #") == 2
    assert _job_folders(home.parent / "multirun") == []
    assert "\tjob #" not in result.stdout + result.stderr  # no line that looks like a job ran
    assert standin.calls == {}


def test_a_failing_task_in_local_mode_is_a_few_lines_of_the_users_code(home: Path) -> None:
    result = run_app(APPS / "failing", "value=2", home=home)
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "task check_value failed: ValueError: value 2 is not allowed" in lines
    assert any("main.py:13 in check_value: raise ValueError" in line for line in lines)
    assert "site-packages" not in result.stderr and "Traceback" not in result.stderr
    assert len(lines) <= 6, result.stderr
    sweep = run_app(APPS / "failing", "-m", "hydra/launcher=flyte_local", "value=1,2", home=home)
    assert sweep.returncode != 0
    assert "job #1 (value=2): task check_value failed: ValueError: value 2 is not allowed" in sweep.stderr
    assert "site-packages" not in sweep.stderr and "Traceback" not in sweep.stderr


def test_ctrl_c_in_a_local_sweep_names_the_running_job(home: Path) -> None:
    launch = Launch(APPS / "slow", ["-m", "hydra/launcher=flyte_local", "seconds=0,60,60"], home)
    launch.wait_for("job #1 (seconds=60)", timeout=60)
    time.sleep(2)
    output = launch.interrupt(timeout=30)
    assert launch.process.returncode != 0
    assert "Traceback" not in output
    assert _interrupted_line(output) == (
        f"Interrupted while running jobs locally: job #1 (seconds=60) was running; job(s) #0 finished (their "
        f"folders are in {launch.sweep_dir}); 1 job(s) not started."
    )
