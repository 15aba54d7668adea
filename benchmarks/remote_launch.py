"""Remote launches against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte).

Needs the real engine and registry (``bash scripts/infra.sh up``). On a copy of the split-config
example, in one run on this machine, each case a ``python main.py -m ...`` process as a user runs it:

a. relaunch with nothing changed, ``wait=false``, up to the execution created, against a bare
   ``FlyteRemote.execute`` of the already registered launch plan (a process that imports flytekit,
   fetches the launch plan and creates one execution): ratio of medians, interleaved runs;
b. a 100-job sweep against a 1-job launch, ``wait=false``; beside it, Hydra's own floor: the same
   config swept by Hydra's basic launcher over a function that does nothing;
c. the RPCs each of those makes (counted by the stand-in);
d. a 10-job sweep waited to completion, the stand-in running every task container for real:
   the launcher's wall and CPU time beyond the stand-in's own run time, its poll rounds and state
   requests, next to the same sweep with ``hydra/launcher=flyte_local``.

Prints figures and ratios; asserts no timing.

    .venv/bin/python benchmarks/remote_launch.py --runs 5
"""

from __future__ import annotations

import argparse
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.user_env import user_environment  # noqa: E402
from tests import infra  # noqa: E402
from tests.flyte_standin import StandIn  # noqa: E402

SPLIT = ROOT / "examples" / "split_config"

BARE_EXECUTE = textwrap.dedent(
    """
    import sys
    import flytekitplugins.omegaconf  # noqa: F401 - DictConfig inputs
    from flytekit.configuration import Config
    from flytekit.remote import FlyteRemote
    from omegaconf import DictConfig, OmegaConf

    endpoint, version = sys.argv[1], sys.argv[2]
    remote = FlyteRemote(Config.for_endpoint(endpoint, insecure=True), "flytesnacks", "development")
    plan = remote.fetch_launch_plan(name="main.training_pipeline", version=version)
    cfg = OmegaConf.load("conf/config.yaml")
    inputs = {name: cfg[name] for name in ("data", "model", "evaluate")}
    remote.execute(plan, inputs=inputs, type_hints={name: DictConfig for name in inputs}, wait=False)
    """
)

NOOP_APP = textwrap.dedent(
    """
    import hydra

    @hydra.main(version_base=None, config_path="conf", config_name="config")
    def main(cfg):
        return None

    main()
    """
)


@dataclass
class Run:
    seconds: float
    cpu: float
    calls: dict[str, int]
    output: str = field(repr=False, default="")


@contextmanager
def child_cpu() -> Iterator[list[float]]:
    """CPU seconds (user + system) the child processes started inside the block used."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent: list[float] = []
    yield spent
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    spent.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)


class Bench:
    def __init__(self, standin: StandIn, app_dir: Path, work: Path, repository: str) -> None:
        self.standin, self.app_dir, self.work, self.repository = standin, app_dir, work, repository
        (work / "home").mkdir(exist_ok=True)
        self.env = user_environment(work / "home")  # bytecode cached, as on a user's machine
        self.count = 0

    def remote_args(self, *extra: str) -> list[str]:
        return [
            "-m",
            "hydra/launcher=flyte",
            f"hydra.launcher.endpoint={self.standin.endpoint}",
            "hydra.launcher.insecure=true",
            f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}",
            f"hydra.launcher.images.default.base_image={infra.BASE_IMAGE}",
            f"hydra.launcher.images.default.repository={self.repository}",
            *extra,
        ]

    def run(self, cmd: list[str], cwd: Path | None = None) -> Run:
        self.standin.reset_calls()
        with child_cpu() as cpu:
            start = time.perf_counter()
            result = subprocess.run(cmd, cwd=cwd or self.app_dir, env=self.env, capture_output=True, text=True)
            seconds = time.perf_counter() - start
        if result.returncode != 0:
            sys.exit(f"benchmark step failed: {' '.join(cmd)}\n{result.stderr[-3000:]}")
        return Run(seconds, cpu[0], self.standin.calls, result.stdout + result.stderr)

    def app(self, *args: str) -> Run:
        self.count += 1
        sweep_dir = self.work / "multirun" / str(self.count)
        return self.run([sys.executable, "main.py", *args, f"hydra.sweep.dir={sweep_dir}"])

    def bare_execute(self, version: str) -> Run:
        return self.run([sys.executable, "-c", BARE_EXECUTE, self.standin.endpoint, version])

    def noop(self, *overrides: str) -> Run:
        """Hydra's floor: the app's config swept by Hydra's basic launcher over a function that does nothing."""
        folder = self.work / "noop_app"
        if not folder.exists():
            shutil.copytree(self.app_dir / "conf", folder / "conf")
            (folder / "app.py").write_text(NOOP_APP)
        return self.run([sys.executable, "app.py", "-m", *overrides, f"hydra.sweep.dir={folder}/m"], cwd=folder)


def median(runs: list[Run]) -> float:
    return statistics.median(run.seconds for run in runs)


def cpu(runs: list[Run]) -> float:
    return statistics.median(run.cpu for run in runs)


def calls_line(calls: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in sorted(calls.items())) or "none"


def relaunch_vs_bare(bench: Bench, runs: int) -> None:
    first = bench.app(*bench.remote_args("hydra.launcher.wait=false"))
    print(f"first launch (build, push, register, 1 execution): {first.seconds:.1f} s; RPCs: {calls_line(first.calls)}")
    version = next(
        key[4] for key in bench.standin.registered() if key[3] == "main.training_pipeline"
    )  # the launch plan's version
    bench.bare_execute(version)  # untimed first runs, as the launch's above: bytecode cached for each
    bench.noop()
    launcher, bare, floor = [], [], []
    for _ in range(runs):
        launcher.append(bench.app(*bench.remote_args("hydra.launcher.wait=false")))
        bare.append(bench.bare_execute(version))
        floor.append(bench.noop())
    lm, bm, fm = median(launcher), median(bare), median(floor)
    print("\n(a) relaunch, nothing changed, up to the execution created (wait=false), median of", runs)
    print(f"    launcher relaunch           {lm * 1000:7.0f} ms   CPU {cpu(launcher):.2f} s")
    print(f"    bare FlyteRemote.execute    {bm * 1000:7.0f} ms   CPU {cpu(bare):.2f} s")
    print(f"    no-op Hydra app (-m, 1 job) {fm * 1000:7.0f} ms   CPU {cpu(floor):.2f} s")
    print(f"    ratio                       {lm / bm:7.2f}x")
    print(
        f"    launcher less the no-op app {(lm - fm) * 1000:7.0f} ms = {(lm - fm) / bm:.2f}x the bare call"
        " (target: 1.05x)"
    )
    paired = [(lr.seconds - fr.seconds) / br.seconds for lr, br, fr in zip(launcher, bare, floor, strict=True)]
    print(f"    each interleaved run        {', '.join(f'{ratio:.2f}x' for ratio in paired)}")
    print(
        f"    median of those             {statistics.median(paired):7.2f}x   (each run's three processes side by side:"
        " the machine's drift between runs cancels)"
    )
    paired_cpu = [(lr.cpu - fr.cpu) / br.cpu for lr, br, fr in zip(launcher, bare, floor, strict=True)]
    print(
        f"    the same in CPU time        {statistics.median(paired_cpu):7.2f}x   (CPU leaves out the waits on the"
        " stand-in, which the bare call's two extra RPCs add to its wall time)"
    )
    print(f"(c) RPCs, launcher relaunch:    {calls_line(launcher[-1].calls)}")
    print(f"    RPCs, bare execute:         {calls_line(bare[-1].calls)}")


def sweep_sizes(bench: Bench, runs: int) -> None:
    one, hundred, floor_one, floor_hundred = [], [], [], []
    for _ in range(runs):
        one.append(bench.app(*bench.remote_args("hydra.launcher.wait=false")))
        hundred.append(bench.app(*bench.remote_args("hydra.launcher.wait=false", "data.seed=range(100)")))
        floor_one.append(bench.noop())
        floor_hundred.append(bench.noop("data.seed=range(100)"))
    om, hm, fo, fh = (median(rs) for rs in (one, hundred, floor_one, floor_hundred))
    print("\n(b) sweep size, wait=false, median of", runs)
    print(f"    1-job launch                {om * 1000:7.0f} ms   CPU {cpu(one):.2f} s")
    print(f"    100-job sweep               {hm * 1000:7.0f} ms   CPU {cpu(hundred):.2f} s")
    print(f"    ratio                       {hm / om:7.2f}x")
    print("    Hydra's own floor: the same config, a function that does nothing, Hydra's basic launcher")
    print(f"    1 job                       {fo * 1000:7.0f} ms")
    print(f"    100 jobs                    {fh * 1000:7.0f} ms   ({(fh - fo) / 99 * 1000:.0f} ms per extra job)")
    ours, hydras = (hm - om) / 99, (fh - fo) / 99
    print(f"    launcher's own per extra job, beyond that floor: {(ours - hydras) * 1000:.0f} ms")
    print(f"    per extra job, launcher vs Hydra's basic launcher: {ours / hydras:.2f}x (target: at most 1.1x)")
    print(f"(c) RPCs, 100-job sweep:        {calls_line(hundred[-1].calls)}")


def waited_sweep(bench: Bench) -> None:
    jobs = 10
    before = set(bench.standin.executions())
    waited = bench.app(*bench.remote_args(f"data.seed=range({jobs})"))
    records = [r for name, r in bench.standin.executions().items() if name not in before]
    assert len(records) == jobs and all(r.finished for r in records), "not every execution ran to the end"
    span = max(r.finished for r in records if r.finished) - min(r.created for r in records)
    busy = statistics.median((r.finished or 0) - r.created for r in records)
    local = bench.app("-m", "hydra/launcher=flyte_local", f"data.seed=range({jobs})")
    followed = re.search(r"followed .*", waited.output)
    rounds = re.search(r"(\d+) poll round\(s\), (\d+) state request", waited.output)
    print(f"\n(d) {jobs}-job sweep waited to completion (poll_interval default), stand-in running the containers")
    print(f"    launcher wall time          {waited.seconds:7.1f} s   CPU {waited.cpu:.2f} s (launcher process only)")
    print(
        f"    stand-in run time (span)    {span:7.1f} s   first created to last finished; median execution {busy:.1f} s"
    )
    print(f"    launcher overhead           {waited.seconds - span:7.1f} s   beyond the stand-in's span")
    print(f"    same sweep, mode=local      {local.seconds:7.1f} s   CPU {local.cpu:.2f} s")
    print(f"    following: {followed.group(0) if followed else 'n/a'}")
    if rounds:
        polls, states = int(rounds.group(1)), int(rounds.group(2))
        print(f"    RPCs per poll round: {states / polls:.1f} ListExecutions (one per page of unfinished executions)")
    print(f"    RPCs in all: {calls_line(waited.calls)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each timed case (median reported)")
    parser.add_argument("--skip-waited", action="store_true", help="leave out case (d), the slowest")
    parser.add_argument("--relaunch-only", action="store_true", help="case (a) and its RPCs only")
    args = parser.parse_args()

    client = infra.docker_client()
    repository = f"bench-{uuid.uuid4().hex[:8]}/split"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        app_dir = work / "split_config"
        shutil.copytree(SPLIT, app_dir, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
        # (a)-(c): executions stay queued, so no container competes with the launch being timed
        queued = StandIn()
        try:
            bench = Bench(queued, app_dir, work, repository)
            relaunch_vs_bare(bench, args.runs)
            if args.relaunch_only:
                return
            sweep_sizes(bench, args.runs)
        finally:
            queued.stop()
        if not args.skip_waited:
            running = StandIn(client)
            try:
                waited_sweep(Bench(running, app_dir, work, repository))
            finally:
                running.stop()


if __name__ == "__main__":
    main()
