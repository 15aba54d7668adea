"""A batched sweep: what each later batch of an Optuna search costs, next to the per-job cost x batch size.

Hydra's Optuna sweeper asks for ``n_jobs`` trials, calls the launcher's ``launch()`` with them,
reads the values and asks again, in one process. The first batch plans, builds (here: nothing,
a fixed test image) and registers; every later batch should cost only its jobs (batches.py).

Against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte). FOR THIS
BENCHMARK ONLY the stand-in runs no container: a thread here marks each execution SUCCEEDED as
soon as it exists, with its output computed here from its input (the workflow's own formula), so
the wait is one poll interval and what is timed is the launcher and Optuna.

Measured, in one run on this machine:

- each later batch's cost: from the end of the batch before it (that launch's results table) to
  the end of its own, less the time it slept waiting for its executions between poll rounds (the
  launcher's ``followed ...`` line), from ``sweep.log``: Optuna's tell and ask, the batch's
  planning, its executions created, followed and read back, its jobs' Hydra runs, its table;
- the per-job cost of the same app and config (a 1-job and a 41-job sweep with Hydra's basic
  sweeper, ``wait=false``, already registered: (T41 - T1) / 40), times the batch size;
- the RPCs of the later batches (ListLaunchPlans, registration calls, uploads), counted by the stand-in.

    .venv/bin/python benchmarks/batched_sweep.py --batches 10 --batch-size 4
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flyteidl.core import execution_pb2, literals_pb2  # noqa: E402

from benchmarks.standin_app import no_build_launch, write_app  # noqa: E402
from tests.flyte_standin import StandIn  # noqa: E402

APP = textwrap.dedent(
    """
    import hydra
    from flytekit import task, workflow
    from omegaconf import DictConfig

    import scaffold_flyte


    @task
    def loss(x: float) -> float:
        return (x - 0.3) ** 2


    @workflow
    def search(x: float) -> float:
        return loss(x=x)


    @hydra.main(version_base=None, config_path="conf", config_name="config")
    def main(cfg: DictConfig) -> float:
        return scaffold_flyte.run(cfg)


    if __name__ == "__main__":
        main()
    """
)

CONFIG = textwrap.dedent(
    """
    x: 0.5
    hydra:
      hydra_logging:
        loggers:
          alembic: {level: WARNING}
    """
)

REGISTRATION = ("CreateTask", "CreateWorkflow", "CreateLaunchPlan", "CreateUploadLocation", "ListLaunchPlans")
END_LINE = re.compile(r"^\[([\d-]+ [\d:,]+)\]\[[^]]+\]\[INFO\] - Sweep results \((\d+) job", re.M)
FOLLOWED_LINE = re.compile(r"followed \d+ execution\(s\) for .*, ([\d.]+) s waiting between them", re.M)


def finish_at_once(standin: StandIn, stop: threading.Event) -> None:
    """Each new execution SUCCEEDED with the workflow's output, as soon as it exists."""
    while not stop.is_set():
        for record in list(standin.executions().values()):
            if record.finished is None:
                x = record.inputs.literals["x"].scalar.primitive.float_value
                value = literals_pb2.Literal(
                    scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=(x - 0.3) ** 2))
                )
                outputs = literals_pb2.LiteralMap(literals={"o0": value})
                uri = standin.store.uri(record.request.name, "end-node", "outputs.pb")
                standin.store.put(uri, outputs.SerializeToString())
                record.outputs, record.outputs_uri = outputs, uri
                record.started = record.started or time.time()
                record.phase = execution_pb2.WorkflowExecution.SUCCEEDED
                record.finished = time.time()
        time.sleep(0.02)


def run(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    started = time.monotonic()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        print(result.stdout[-2000:], result.stderr[-3000:])
        raise SystemExit(f"{' '.join(command[:4])} ... failed ({result.returncode})")
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--runs", type=int, default=3, help="runs of each per-job sweep size (median)")
    parser.add_argument("--keep-log", help="copy the search's sweep.log to this file")
    args = parser.parse_args()
    standin = StandIn(docker_client=None)
    stop = threading.Event()
    finisher = threading.Thread(target=finish_at_once, args=(standin, stop))
    finisher.start()
    try:
        with tempfile.TemporaryDirectory() as work:
            app, env = write_app(Path(work), APP, CONFIG)
            remote = no_build_launch(standin.endpoint, poll_interval=0.2)
            basic = [*remote, "hydra.launcher.wait=false"]
            run([*basic, "x=0.1", f"hydra.sweep.dir={work}/register"], app, env)  # registers the version
            per_size: dict[int, list[float]] = {1: [], 41: []}
            for index in range(args.runs):
                for size, values in ((1, "0.1"), (41, ",".join(f"{i / 100}" for i in range(41)))):
                    command = [*basic, f"x={values}", f"hydra.sweep.dir={work}/b{size}_{index}"]
                    per_size[size].append(run(command, app, env))
            per_job = (statistics.median(per_size[41]) - statistics.median(per_size[1])) / 40
            before = dict(standin.calls)
            sweep_dir = Path(work) / "optuna"
            total = args.batches * args.batch_size
            optuna = [
                *remote,
                "hydra/sweeper=optuna",
                "hydra.sweeper.sampler.seed=1",
                "x=interval(0,1)",
                f"hydra.sweeper.n_trials={total}",
                f"hydra.sweeper.n_jobs={args.batch_size}",
                f"hydra.sweep.dir={sweep_dir}",
            ]
            wall = run(optuna, app, env)
            calls = {name: count - before.get(name, 0) for name, count in standin.calls.items()}
            log_text = (sweep_dir / "sweep.log").read_text()
            if args.keep_log:
                Path(args.keep_log).write_text(log_text)
    finally:
        stop.set()
        finisher.join()
        standin.stop()
    stamps = [stamp for stamp, _ in END_LINE.findall(log_text)]
    ends = [datetime.strptime(stamp, "%Y-%m-%d %H:%M:%S,%f").timestamp() for stamp in stamps]
    waited = [float(seconds) for seconds in FOLLOWED_LINE.findall(log_text)]
    assert len(ends) == args.batches and len(waited) == args.batches, log_text[-3000:]
    costs = [ends[k] - ends[k - 1] - waited[k] for k in range(1, args.batches)]  # batches 2..n
    budget = per_job * args.batch_size
    print(f"{args.batches} batches x {args.batch_size} jobs, Optuna, waited (the stand-in finishes executions at once)")
    print(f"  whole search                   {wall:7.1f} s")
    print(f"  per-job cost (41 vs 1 job)     {per_job * 1000:7.0f} ms   x {args.batch_size} = {budget * 1000:.0f} ms")
    for k, cost in enumerate(costs, start=2):
        print(
            f"  batch {k:2d} (from the end of the one before, less waiting) {cost * 1000:6.0f} ms"
            f"   {cost / budget:5.2f}x"
        )
    worst = max(costs) / budget
    print(
        f"  batches 2-{args.batches}: median {statistics.median(costs) * 1000:.0f} ms "
        f"({statistics.median(costs) / budget:.2f}x), worst {worst:.2f}x"
        " the per-job cost x batch size (target: each under 1.2x)"
    )
    later = {name: calls.get(name, 0) for name in REGISTRATION}
    print(f"  registration and upload RPCs of the whole search: {later} (the first batch's only)")
    print(f"  CreateExecution {calls.get('CreateExecution', 0)}, ListExecutions {calls.get('ListExecutions', 0)}")


if __name__ == "__main__":
    main()
