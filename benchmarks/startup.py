"""Start-up cost of the plugin, and the cost of running a workflow through flytekit locally.

1. A plain Hydra app (it never uses Flyte) started with this plugin on the path and without it,
   alternately, in child processes of this one: the ratio of medians (target: within 5 %).
2. The split-config example, ``python main.py`` (cache off), against a process that calls the same
   task functions as plain Python functions; and the same two in-process, without start-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.user_env import user_environment  # noqa: E402

SPLIT = ROOT / "examples" / "split_config"

PLAIN_APP = textwrap.dedent(
    """
    import hydra
    from omegaconf import DictConfig

    @hydra.main(version_base=None, config_path=None)
    def main(cfg: DictConfig) -> None:
        pass

    main()
    """
)

# Runs the app with the project root removed from sys.path, so hydra_plugins.flyte_launcher is
# not there to be found: the same interpreter and site-packages, the plugin uninstalled.
LAUNCH = "import runpy, sys; {strip}sys.argv = ['app.py']; runpy.run_path('app.py', run_name='__main__')"
STRIP = f"sys.path[:] = [p for p in sys.path if p.rstrip('/') != {str(ROOT)!r}]; "

PLAIN_TASKS = textwrap.dedent(
    """
    import importlib.util, sys
    from omegaconf import OmegaConf
    spec = importlib.util.spec_from_file_location("split_main", "main.py")
    app = importlib.util.module_from_spec(spec); sys.modules["split_main"] = app
    spec.loader.exec_module(app)
    cfg = OmegaConf.load("conf/config.yaml")
    points = app.make_data.task_function(data=cfg.data)
    weights = app.train.task_function(model=cfg.model, points=points)
    app.score.task_function(evaluate=cfg.evaluate, points=points, weights=weights)
    """
)


def timed(cmd: list[str], cwd: Path, env: dict[str, str]) -> float:
    start = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def alternate(cases: dict[str, list[str]], cwd: Path, env: dict[str, str], runs: int) -> dict[str, float]:
    """Median wall time of each case, the cases interleaved so drift hits them alike."""
    times: dict[str, list[float]] = {name: [] for name in cases}
    for cmd in cases.values():  # warm-up: file cache, .pyc
        timed(cmd, cwd, env)
    for _ in range(runs):
        for name, cmd in cases.items():
            times[name].append(timed(cmd, cwd, env))
    return {name: statistics.median(values) for name, values in times.items()}


def plugin_startup(runs: int, env: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = Path(tmp)
        (app_dir / "app.py").write_text(PLAIN_APP)
        probe = [sys.executable, "-c", STRIP + "import hydra_plugins.flyte_launcher"]
        gone = subprocess.run(probe, cwd=app_dir, env=env, capture_output=True).returncode != 0
        assert gone, "the 'without' case still finds the plugin"
        medians = alternate(
            {
                "with plugin": [sys.executable, "-c", LAUNCH.format(strip="")],
                "without plugin": [sys.executable, "-c", LAUNCH.format(strip=STRIP)],
            },
            app_dir,
            env,
            runs,
        )
    ratio = medians["with plugin"] / medians["without plugin"]
    print(f"1. plain Hydra app start-up (median of {runs} runs each)")
    for name, value in medians.items():
        print(f"   {name:<16} {value * 1000:7.1f} ms")
    print(f"   ratio with/without: {ratio:.3f} (target: <= 1.05)")


def workflow_vs_plain(runs: int, env: dict[str, str]) -> None:
    medians = alternate(
        {
            "python main.py": [sys.executable, "main.py", "hydra.run.dir=" + tempfile.mkdtemp()],
            "plain functions": [sys.executable, "-c", PLAIN_TASKS],
        },
        SPLIT,
        env,
        runs,
    )
    print(f"2. split-config example, whole process (median of {runs} runs each, cache off)")
    for name, value in medians.items():
        print(f"   {name:<16} {value * 1000:7.1f} ms")
    print(f"   ratio: {medians['python main.py'] / medians['plain functions']:.2f}")
    in_process(runs)


def in_process(runs: int) -> None:
    from omegaconf import DictConfig, OmegaConf

    from scaffold_flyte.discovery import find_main_workflow
    from scaffold_flyte.local import run_workflow
    from tests.helpers import load_app

    app = load_app(SPLIT, "split_main_bench")
    cfg = OmegaConf.load(SPLIT / "conf" / "config.yaml")
    assert isinstance(cfg, DictConfig)
    main = find_main_workflow(app)

    def plain() -> None:
        points = app.make_data.task_function(data=cfg.data)
        weights = app.train.task_function(model=cfg.model, points=points)
        app.score.task_function(evaluate=cfg.evaluate, points=points, weights=weights)

    def through_flytekit() -> None:
        run_workflow(main, cfg)

    times: dict[str, list[float]] = {"run_workflow": [], "plain functions": []}
    for _ in range(runs):
        for name, fn in (("run_workflow", through_flytekit), ("plain functions", plain)):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"   in-process, no start-up (median of {runs}):")
    for name, value in medians.items():
        print(f"   {name:<16} {value * 1000:7.1f} ms")
    overhead = medians["run_workflow"] - medians["plain functions"]
    print(f"   flytekit local execution overhead: {overhead * 1000:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    env = {**user_environment(), "FLYTE_LOCAL_CACHE_ENABLED": "false"}  # bytecode cached, as a user's
    os.environ["FLYTE_LOCAL_CACHE_ENABLED"] = "false"
    plugin_startup(args.runs, env)
    workflow_vs_plain(args.runs, env)


if __name__ == "__main__":
    main()
