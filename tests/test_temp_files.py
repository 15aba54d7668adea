"""Runs leave nothing in the temp dir: flytekit's ``flyte-*`` / ``flyte*`` folders go when the process ends.

Each run gets a fresh, empty TMPDIR of its own; after it, that folder must still be empty. A bare
``import flytekit`` in the same set-up is the control: it shows flytekit's folders do land there.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, run_app, tasks_that_ran
from tests.test_remote import copy_app, remote


def _fresh_tmpdir(tmp_path: Path, name: str) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    return folder


def test_flytekit_alone_leaves_its_folders_in_tmpdir(tmp_path: Path) -> None:
    """The control: without scaffold_flyte, importing flytekit leaves two folders in TMPDIR."""
    tmpdir = _fresh_tmpdir(tmp_path, "tmp")
    probe = "import flytekit"
    env = {**os.environ, "TMPDIR": str(tmpdir)}
    result = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    names = sorted(p.name for p in tmpdir.iterdir())
    assert len(names) == 2 and all(n.startswith("flyte") for n in names), names
    assert names[0].startswith("flyte-") or names[1].startswith("flyte-"), names


def test_a_local_run_and_a_local_sweep_leave_tmpdir_empty(home: Path, tmp_path: Path) -> None:
    tmpdir = _fresh_tmpdir(tmp_path, "tmp")
    run = run_app(EXAMPLES / "split_config", "data.seed=3", home=home, env={"TMPDIR": str(tmpdir)})
    assert run.returncode == 0, run.stderr
    assert tasks_that_ran(run) == ["make_data", "train", "score"]  # task sandboxes were made, and went
    assert list(tmpdir.iterdir()) == []

    sweep = run_app(
        EXAMPLES / "split_config",
        "-m",
        "hydra/launcher=flyte_local",
        "data.seed=1,2",
        home=home,
        env={"TMPDIR": str(tmpdir)},
    )
    assert sweep.returncode == 0, sweep.stderr
    assert sorted(tasks_that_ran(sweep)) == sorted(["make_data", "train", "score"] * 2)
    assert list(tmpdir.iterdir()) == []


def test_a_failing_local_run_leaves_tmpdir_empty(home: Path, tmp_path: Path) -> None:
    tmpdir = _fresh_tmpdir(tmp_path, "tmp")
    result = run_app(EXAMPLES / "split_config", "data.n_samples=0", home=home, env={"TMPDIR": str(tmpdir)})
    assert result.returncode != 0  # no points: score divides by zero
    assert "make_data" in tasks_that_ran(result)
    assert list(tmpdir.iterdir()) == []


def test_a_remote_launch_leaves_tmpdir_empty(standin: StandIn, home: Path, tmp_path: Path) -> None:
    """The launching process: flytekit's folders, the launch's own work dir (bundle), FlyteRemote's."""
    app = copy_app(tmp_path)
    tmpdir = _fresh_tmpdir(tmp_path, "tmp")
    result = run_app(
        app, *remote(standin, "tempfiles", "data.seed=5"), home=home, timeout=600, env={"TMPDIR": str(tmpdir)}
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(standin.executions()) == 1
    assert list(tmpdir.iterdir()) == []
