"""The package as a user gets it: a wheel, installed normally (not editable) into a fresh venv.

The presets (``hydra/launcher=flyte_local``, ``flyte_sandbox``) must come with the wheel, and an
app outside the project must run a local sweep with nothing from the source checkout on its path.
The wheel is built from a copy of the checkout (so no stale ``build/`` or ``*.egg-info`` of the
working tree leaks in, and nothing is written into it), the venv once for the module.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import venv
import zipfile
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from tests.helpers import EXAMPLES, ROOT, tasks_that_ran

# What a checkout holds besides the sources: never part of a build.
NOT_SOURCES = shutil.ignore_patterns(
    ".git", ".venv", ".infra", "build", "dist", "*.egg-info", "__pycache__", ".*_cache", "outputs", "multirun"
)


def _run(*command: str | Path, cwd: Path, timeout: float = 600, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a command as a user would: a private HOME, no FLYTE_*/AWS_* variables, no PYTHONPATH."""
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "AWS_", "PYTHON", "HYDRA_FULL_ERROR"))
    }
    environment.update(env)
    return subprocess.run(
        [str(part) for part in command], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """(the built wheel, the python of a fresh venv it was pip-installed into, dependencies from the index)."""
    started = time.monotonic()
    source = tmp_path_factory.mktemp("source") / "scaffold-flyte"
    shutil.copytree(ROOT, source, ignore=NOT_SOURCES)
    dist = tmp_path_factory.mktemp("dist")
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", dist, source, cwd=dist)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("scaffold_flyte-*.whl")
    built_at = time.monotonic()

    env_dir = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = _run(python, "-m", "pip", "install", "-q", wheel, cwd=env_dir)
    assert install.returncode == 0, install.stderr
    print(
        f"\npackaging: wheel built in {built_at - started:.1f} s, "
        f"fresh venv with the wheel installed in {time.monotonic() - built_at:.1f} s"
    )
    return wheel, python


@pytest.fixture
def app(tmp_path: Path) -> Path:
    """The split-config example, copied outside the project."""
    copy = tmp_path / "app"
    shutil.copytree(EXAMPLES / "split_config", copy, ignore=NOT_SOURCES)
    (tmp_path / "home").mkdir()
    return copy


def test_the_wheel_holds_the_presets_and_no_test_code(installed: tuple[Path, Path]) -> None:
    wheel, _ = installed
    names = zipfile.ZipFile(wheel).namelist()
    assert "hydra_plugins/flyte_launcher/conf/hydra/launcher/flyte_local.yaml" in names
    assert "hydra_plugins/flyte_launcher/conf/hydra/launcher/flyte_sandbox.yaml" in names
    assert "hydra_plugins/flyte_launcher/conf/__init__.py" in names  # pkg:// needs a package
    assert not [n for n in names if n.startswith(("tests/", "examples/", "benchmarks/", "conf/"))], names
    assert not [n for n in names if "standin" in n], names


def test_the_installed_package_is_the_wheel_not_the_checkout(installed: tuple[Path, Path], app: Path) -> None:
    _, python = installed
    probe = "import hydra_plugins.flyte_launcher, scaffold_flyte; print(hydra_plugins.flyte_launcher.__file__); print(scaffold_flyte.__file__)"
    result = _run(python, "-c", probe, cwd=app)
    assert result.returncode == 0, result.stderr
    for location in result.stdout.split():
        assert Path(location).is_relative_to(python.parents[1]), location
        assert "site-packages" in location


def test_a_local_sweep_runs_from_the_installed_wheel(installed: tuple[Path, Path], app: Path) -> None:
    _, python = installed
    sweep = app.parent / "multirun"
    result = _run(
        python,
        "main.py",
        "-m",
        "hydra/launcher=flyte_local",
        "data.seed=1,2",
        f"hydra.sweep.dir={sweep}",
        cwd=app,
        HOME=str(app.parent / "home"),
    )
    assert result.returncode == 0, result.stderr
    assert "Flyte launcher (local): 2 job(s), workflow" in result.stdout + result.stderr
    # each job's data differs (seed), so every task body ran in both jobs: nothing from a cache
    assert sorted(tasks_that_ran(result)) == sorted(["make_data", "train", "score"] * 2)
    for num, seed in enumerate((1, 2)):
        job_dir = sweep / str(num)
        assert OmegaConf.load(job_dir / ".hydra" / "overrides.yaml") == [f"data.seed={seed}"]
        assert OmegaConf.load(job_dir / ".hydra" / "config.yaml").data.seed == seed
        assert (job_dir / "main.log").exists()


def test_the_sandbox_preset_composes_from_the_installed_wheel(installed: tuple[Path, Path], app: Path) -> None:
    _, python = installed
    result = _run(
        python,
        "main.py",
        "--cfg",
        "hydra",
        "-p",
        "hydra.launcher",
        "hydra/launcher=flyte_sandbox",
        cwd=app,
        HOME=str(app.parent / "home"),
    )
    assert result.returncode == 0, result.stderr
    settings = OmegaConf.create(result.stdout.split("\n", 1)[1])  # after "# @package hydra.launcher"
    assert settings.storage == "sandbox" and settings.endpoint == "localhost:30080"
    assert settings._target_ == "hydra_plugins.flyte_launcher.flyte_launcher.FlyteLauncher"
