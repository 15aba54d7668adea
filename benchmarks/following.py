"""Following a large sweep: RPCs per poll round, the launcher's CPU and memory while it follows.

A ``python main.py -m ... x=range(N)`` sweep (1,000 jobs by default) of a workflow with no outputs
is launched against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte).
FOR THIS BENCHMARK ONLY the stand-in runs no container: it is started without a Docker client, so
its executions stay as created, and a thread here moves them on the way a cluster runs a sweep:
once all exist, every one RUNNING for ``--hold`` seconds, then SUCCEEDED a few at a time, spread
over ``--spread`` seconds. The image is the fixed test image (pushed to the local registry, never
run), so nothing is built.

Measured on the launcher process, in two phases:

- while the executions run (the hold): its CPU time over that wall time (share of one core).
  This is the cost of following itself, poll rounds and all;
- while they finish (the spread, to the launcher's exit): its CPU time per finished execution,
  which is reading the execution's outputs and node executions and Hydra's ``run_job`` of the job
  (folder, ``.hydra/`` files, logging, callbacks); beside it, Hydra's own handling of one job of
  the same config over a function that does nothing (``run_job`` and the logging set back, as its
  basic launcher does), timed in a process of its own in the same run, and the difference: the
  launcher's own share;

and over the whole run its peak resident memory, and the stand-in's count of ListExecutions and
GetExecution calls over the launcher's own count of poll rounds.

    .venv/bin/python benchmarks/following.py --jobs 1000 --hold 30 --spread 30
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flyteidl.core import execution_pb2  # noqa: E402

from benchmarks.standin_app import no_build_launch, write_app  # noqa: E402
from tests.flyte_standin import StandIn  # noqa: E402

APP = textwrap.dedent(
    """
    import hydra
    from flytekit import task, workflow
    from omegaconf import DictConfig

    import scaffold_flyte


    @task
    def noop(x: int) -> None:
        pass


    @workflow
    def many(x: int) -> None:
        noop(x=x)


    @hydra.main(version_base=None, config_path="conf", config_name="config")
    def main(cfg: DictConfig) -> None:
        return scaffold_flyte.run(cfg)


    if __name__ == "__main__":
        main()
    """
)


# Hydra's own handling of one job of the same app and config, over a function that does nothing,
# timed in a process of its own: run_job, then the logging set back, as Hydra's basic launcher does
# for each job; what any Hydra launcher pays per job once the job has its result
RUN_JOB_ALONE = textwrap.dedent(
    """
    import os, sys, time
    from hydra import compose, initialize_config_dir
    from hydra._internal.callbacks import Callbacks
    from hydra.core.global_hydra import GlobalHydra
    from hydra.core.utils import configure_log, run_job
    from hydra.types import HydraContext
    from omegaconf import open_dict, read_write

    runs, overrides = int(sys.argv[1]), sys.argv[2:]
    with initialize_config_dir(config_dir=os.path.abspath("conf"), version_base=None):
        cfg = compose("config", overrides=overrides, return_hydra_config=True)
        context = HydraContext(config_loader=GlobalHydra.instance().config_loader(), callbacks=Callbacks(cfg))
        spent = 0.0
        for num in range(runs):
            with read_write(cfg.hydra), open_dict(cfg):  # each job its number, as the sweeper gives it
                cfg.hydra.job.num = num
            started = time.process_time()
            run_job(lambda job_cfg: None, cfg, "hydra.sweep.dir", "hydra.sweep.subdir", hydra_context=context)
            configure_log(cfg.hydra.hydra_logging, cfg.hydra.verbose)
            spent += time.process_time() - started
    print(spent / runs)
    """
)


def run_job_alone(app: Path, env: dict[str, str], overrides: list[str], runs: int = 200) -> float:
    """CPU seconds of Hydra's handling of one job (``run_job``, the logging set back) of the app's
    config with ``overrides``, over a no-op function: the mean of ``runs``."""
    command = [sys.executable, "-c", RUN_JOB_ALONE, str(runs), *overrides]
    result = subprocess.run(command, cwd=app, env=env, capture_output=True, text=True, check=True)
    return float(result.stdout.strip().splitlines()[-1])


def finish_executions(
    standin: StandIn, jobs: int, hold: float, spread: float, stop: threading.Event, times: list[float]
) -> None:
    """Once all ``jobs`` executions exist, all RUNNING for ``hold`` s, then SUCCEEDED evenly over ``spread`` s.

    ``times`` gets when all existed, then when the first one finished.
    """
    while not stop.is_set() and len(standin.executions()) < jobs:
        time.sleep(0.05)
    if stop.is_set():
        return
    times.append(time.time())
    records = list(standin.executions().values())
    for record in records:
        record.started = time.time()
        record.phase = execution_pb2.WorkflowExecution.RUNNING
    while time.time() < times[0] + hold and not stop.is_set():
        time.sleep(0.05)
    times.append(time.time())
    for index, record in enumerate(records):
        due = times[1] + spread * (index + 1) / len(records)
        while time.time() < due and not stop.is_set():
            time.sleep(min(0.05, due - time.time()))
        record.started = record.started or time.time()
        record.phase = execution_pb2.WorkflowExecution.SUCCEEDED
        record.finished = time.time()


def sample(pid: int, stop: threading.Event, samples: list[tuple[float, float, int]]) -> None:
    """(time, CPU seconds, resident KiB) of the launcher process, every 0.2 s."""
    tick = os.sysconf("SC_CLK_TCK")
    while not stop.is_set():
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            return
        cpu = (int(stat[11]) + int(stat[12])) / tick  # utime, stime
        rss = int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) if "VmRSS" in status else 0  # type: ignore[union-attr]
        samples.append((time.time(), cpu, rss))
        time.sleep(0.2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--hold", type=float, default=30.0, help="seconds all executions run before any finishes")
    parser.add_argument("--spread", type=float, default=30.0, help="seconds over which the executions finish")
    args = parser.parse_args()
    standin = StandIn(docker_client=None)
    with tempfile.TemporaryDirectory() as work:
        app, env = write_app(Path(work), APP, "x: 0\n")
        command = [
            *no_build_launch(standin.endpoint, poll_interval=2.0),
            f"x=range({args.jobs})",
            f"hydra.sweep.dir={work}/multirun",
        ]
        stop = threading.Event()
        created: list[float] = []
        samples: list[tuple[float, float, int]] = []
        finisher = threading.Thread(
            target=finish_executions, args=(standin, args.jobs, args.hold, args.spread, stop, created)
        )
        finisher.start()
        started = time.time()
        process = subprocess.Popen(
            command, cwd=app, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        sampler = threading.Thread(target=sample, args=(process.pid, stop, samples))
        sampler.start()
        output, _ = process.communicate()
        ended = time.time()
        stop.set()
        finisher.join()
        sampler.join()
        calls = standin.calls
        standin.stop()
        # the launch's own settings (hydra/launcher=flyte and all), so the config is the same size
        settings = [arg for arg in command[2:] if arg != "-m" and not arg.startswith(("x=", "hydra.sweep.dir="))]
        hydra_per_job = run_job_alone(app, env, [*settings, f"hydra.sweep.dir={work}/run_job_alone"])
    if process.returncode != 0:
        print(output[-3000:])
        raise SystemExit(f"the launch failed ({process.returncode})")
    rounds = re.search(
        r"followed \d+ execution\(s\) for ([\d.]+) s: (\d+) poll round\(s\), (\d+) state request", output
    )
    assert rounds is not None, output[-2000:]
    polls, listings = int(rounds.group(2)), int(rounds.group(3))
    assert len(created) == 2, "the executions never all existed"
    holding = [s for s in samples if created[0] <= s[0] <= created[1]]
    finishing = [s for s in samples if s[0] >= created[1]]
    hold_share = (holding[-1][1] - holding[0][1]) / (holding[-1][0] - holding[0][0])
    per_finished = (finishing[-1][1] - finishing[0][1]) / args.jobs
    print(
        f"{args.jobs} executions, all running for {args.hold:.0f} s, then finished over {args.spread:.0f} s "
        "by the stand-in (no containers run)"
    )
    print(f"  launch to exit                 {ended - started:7.1f} s")
    print(f"  all created after              {created[0] - started:7.1f} s" if created else "  not all created")
    print(f"  poll rounds                    {polls:7d}")
    per_round = listings / max(polls, 1)
    print(f"  ListExecutions                 {calls.get('ListExecutions', 0):7d}   ({per_round:.1f} per round)")
    print(f"  GetExecution                   {calls.get('GetExecution', 0):7d}")
    print(f"  GetExecutionData               {calls.get('GetExecutionData', 0):7d}   (outputs read once each)")
    print(f"  ListNodeExecutions             {calls.get('ListNodeExecutions', 0):7d}   (cache report, once each)")
    print(f"  CreateExecution                {calls.get('CreateExecution', 0):7d}")
    print(
        f"  launcher CPU while they run    {hold_share * 100:7.1f} % of one core (following: the target is under 5 %)"
    )
    print(
        f"  launcher CPU per finished job  {per_finished * 1000:7.1f} ms"
        " (its outputs and node executions read, Hydra's run_job)"
    )
    print(
        f"  of which Hydra's own per job     {hydra_per_job * 1000:7.1f} ms (run_job and the logging set back, as "
        "its basic launcher does; timed alone: same config, a no-op function, a process of its own)"
    )
    print(f"  the launcher's own per finished job {(per_finished - hydra_per_job) * 1000:5.1f} ms")
    print(f"  launch to exit after the first finished {ended - created[1]:7.1f} s")
    print(f"  launcher peak resident memory  {max(s[2] for s in samples) / 1024:7.0f} MB")


if __name__ == "__main__":
    main()
