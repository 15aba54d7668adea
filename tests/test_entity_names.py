"""Registered names are a function of the app folder only, never of the folder a launch starts from.

A task's name is part of Flyte's cache key (datacatalog dataset ``flyte_task-<name>``), and its
registered command imports the module the name starts with from the code bundle, whose root is
the app folder. Dry runs (no Docker, no call to Flyte) show the names; the launches against the
test stand-in for Flyte's admin (tests/flyte_standin, not a Flyte; no containers run here) show
what is registered.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from flyteidl.core import identifier_pb2

from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, no_build_remote, run_app

DRY_RUN = [
    "-m",
    "hydra/launcher=flyte",
    "hydra.launcher.dry_run=true",
    "hydra.launcher.endpoint=127.0.0.1:9",  # never called in a dry run
    "hydra.launcher.insecure=true",
    "hydra.launcher.images.default.registry=localhost:5000",
]
SIBLING_STEPS = """
from flytekit import Cache, task


@task(cache=Cache(version="1"))
def double(x: int) -> int:
    return 2 * x
"""
SIBLING_MAIN = """
import hydra
from flytekit import workflow
from omegaconf import DictConfig

import scaffold_flyte
from steps import double


@workflow
def pipeline(x: int) -> int:
    return double(x=double(x=x))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
"""


def launch(script: str, cwd: Path, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``python <script> ARGS`` from ``cwd`` (a relative script path: launched from another folder)."""
    return run_app((cwd / script).parent, *args, home=home, cwd=cwd, timeout=300)


def plan_lines(result: subprocess.CompletedProcess[str]) -> dict[str, str]:
    """The dry run's ``workflow``, ``entities`` and ``code`` lines, by their first word."""
    assert result.returncode == 0, result.stderr[-3000:]
    lines = {}
    for line in result.stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("workflow", "entities", "code"):
            lines[word] = rest.strip()
    return lines


def nested_app(tmp_path: Path, source: Path, packages: bool) -> Path:
    """``source`` copied to ``<tmp>/myproj/app``; with ``packages``, both folders hold an ``__init__.py``."""
    app = tmp_path / "myproj" / "app"
    shutil.copytree(source, app, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    if packages:
        (app / "__init__.py").write_text("")
        (app.parent / "__init__.py").write_text("")
    return app


def sibling_app(tmp_path: Path) -> Path:
    """An app whose tasks live in a second module beside main.py, inside two packages."""
    app = tmp_path / "myproj" / "app"
    (app / "conf").mkdir(parents=True)
    (app / "conf" / "config.yaml").write_text("x: 3\n")
    (app / "steps.py").write_text(SIBLING_STEPS)
    (app / "main.py").write_text(SIBLING_MAIN)
    (app / "__init__.py").write_text("")
    (app.parent / "__init__.py").write_text("")
    return app


def test_names_do_not_depend_on_the_launch_folder(tmp_path: Path, home: Path) -> None:
    app = nested_app(tmp_path, EXAMPLES / "split_config", packages=False)
    from_app = plan_lines(launch("main.py", app, home, *DRY_RUN))
    from_parent = plan_lines(launch("app/main.py", app.parent, home, *DRY_RUN))
    from_above = plan_lines(launch("myproj/app/main.py", tmp_path, home, *DRY_RUN))
    assert from_app["entities"] == "main.make_data, main.score, main.train"
    assert from_app["workflow"].startswith("main.training_pipeline (in __main__), version ")
    assert from_parent == from_app  # names, and so the version, are the same
    assert from_above == from_app


def test_names_ignore_packages_around_the_app_folder(tmp_path: Path, home: Path) -> None:
    """``__init__.py`` files around the app do not put ``myproj.app.`` in front: the bundle's root is the app."""
    plain = plan_lines(
        launch("main.py", nested_app(tmp_path / "plain", EXAMPLES / "split_config", False), home, *DRY_RUN)
    )
    app = nested_app(tmp_path / "packaged", EXAMPLES / "split_config", packages=True)
    from_app = plan_lines(launch("main.py", app, home, *DRY_RUN))
    from_above = plan_lines(launch("myproj/app/main.py", tmp_path / "packaged", home, *DRY_RUN))
    assert from_app["entities"] == plain["entities"] == "main.make_data, main.score, main.train"
    assert from_above == from_app


def test_a_plain_hydra_app_is_named_the_same_from_its_parent(tmp_path: Path, home: Path) -> None:
    app = nested_app(tmp_path, APPS / "plain_app", packages=False)
    from_app = plan_lines(launch("main.py", app, home, *DRY_RUN))
    from_parent = plan_lines(launch("app/main.py", app.parent, home, *DRY_RUN))
    assert from_app["entities"] == "main.main"
    assert from_parent == from_app


def test_the_code_bundle_lists_each_file_once(tmp_path: Path, home: Path) -> None:
    app = sibling_app(tmp_path)
    lines = plan_lines(launch("main.py", app, home, *DRY_RUN))
    assert lines["code"] == "fast-registration bundle: main.py, steps.py"
    single = plan_lines(
        launch("main.py", nested_app(tmp_path / "one", EXAMPLES / "split_config", False), home, *DRY_RUN)
    )
    assert single["code"] == "fast-registration bundle: main.py"


def test_registered_tasks_import_their_module_from_the_bundle_root(tmp_path: Path, home: Path) -> None:
    """From above two packages, the tasks of a sibling module register as ``steps.*`` and their command
    imports ``steps``: the module the pod finds in the bundle (app folder) it unpacks."""
    sibling_app(tmp_path)
    standin = StandIn(docker_client=None)
    try:
        result = launch("myproj/app/main.py", tmp_path, home, *no_build_remote(standin.endpoint))
        assert result.returncode == 0, result.stderr[-3000:]
        tasks = standin.registered(identifier_pb2.TASK)
        assert [key[3] for key in tasks] == ["steps.double"]
        command = list(standin.spec(tasks[0]).template.container.args)
        assert command[-4:] == ["task-module", "steps", "task-name", "double"]
        assert [key[3] for key in standin.registered(identifier_pb2.WORKFLOW)] == ["main.pipeline"]
    finally:
        standin.stop()
