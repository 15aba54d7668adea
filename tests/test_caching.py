"""Task caching per sub-config: each run is its own process, with a private HOME (a fresh cache).

Which task bodies ran is read from their side effect, the ``task NAME: running`` line each logs.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.helpers import EXAMPLES, run_app, tasks_that_ran


def _ran(app: str, *args: str, home: Path) -> list[str]:
    result = run_app(EXAMPLES / app, *args, home=home)
    assert result.returncode == 0, result.stderr
    return tasks_that_ran(result)


def test_split_config_caches_per_sub_config(home: Path) -> None:
    assert _ran("split_config", home=home) == ["make_data", "train", "score"]
    assert _ran("split_config", home=home) == []  # identical rerun: all cached
    # model changed: make_data (on `data`) stays cached, train and score (downstream of model) run
    assert _ran("split_config", "model.learning_rate=0.01", home=home) == ["train", "score"]
    # evaluate changed: only score runs
    assert _ran("split_config", "model.learning_rate=0.01", "evaluate.holdout_fraction=0.5", home=home) == ["score"]


def test_etl_only_reruns_downstream_of_the_changed_step(home: Path) -> None:
    assert _ran("etl_pipeline", home=home) == ["load_customers", "load_orders", "merge", "process", "train"]
    assert _ran("etl_pipeline", home=home) == []
    assert _ran("etl_pipeline", "model.epochs=10", home=home) == ["train"]
    assert _ran("etl_pipeline", "features.min_orders=2", home=home) == ["process", "train"]


def test_local_sweep_shares_the_cache_with_runs(home: Path) -> None:
    assert _ran("split_config", home=home) == ["make_data", "train", "score"]
    ran = _ran("split_config", "-m", "hydra/launcher=flyte_local", "model.learning_rate=0.05,0.2", home=home)
    assert ran == ["train", "score"]  # job 0 is the default config: all cached; job 1: new model


def test_the_tour_after_the_quickstart_starts_from_a_cleared_cache(home: Path) -> None:
    """The quickstart fills the local cache; the tour's first command clears it, as the README says."""
    import os
    import subprocess
    import sys

    assert _ran("split_config", home=home) == ["make_data", "train", "score"]  # what the quickstart leaves
    pyflyte = Path(sys.executable).parent / "pyflyte"
    cleared = subprocess.run(
        [str(pyflyte), "local-cache", "clear"], env={**os.environ, "HOME": str(home)}, capture_output=True, text=True
    )
    assert cleared.returncode == 0, cleared.stderr
    assert _ran("split_config", home=home) == ["make_data", "train", "score"]  # the tour's first claim holds
    assert _ran("split_config", home=home) == []


def test_local_runs_say_which_tasks_ran_and_which_came_from_the_cache(home: Path) -> None:
    def said(*args: str) -> list[str]:
        result = run_app(EXAMPLES / "split_config", *args, home=home)
        assert result.returncode == 0, result.stderr
        output = result.stdout + result.stderr
        # a plain run logs in its job's format; under the launcher, its lines keep Hydra's
        said = re.compile(r"\]\[(?:scaffold_flyte\.local\]\[INFO\] -|HYDRA\]) (.*(?:ran: |from the cache: ).*)$")
        return [m.group(1) for m in map(said.search, output.splitlines()) if m]

    assert said() == ["ran: make_data, train, score"]
    assert said() == ["from the cache: make_data, train, score"]
    assert said("model.learning_rate=0.01") == ["from the cache: make_data; ran: train, score"]
    sweep = said("-m", "hydra/launcher=flyte_local", "model.learning_rate=0.01,0.02")
    assert sweep == [
        "job #0 (model.learning_rate=0.01): from the cache: make_data, train, score",
        "job #1 (model.learning_rate=0.02): from the cache: make_data; ran: train, score",
    ]
