"""Running example apps the way a user does: ``python main.py ...`` from the app's own folder."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any, ClassVar

from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.utils import JobReturn
from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples"
APPS = ROOT / "tests" / "apps"
TASK_RAN = re.compile(r"task (\w+): running")


def run_app(
    app_dir: Path,
    *args: str,
    home: Path,
    timeout: float = 180,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    terminal: int | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run ``python main.py ARGS`` in ``app_dir`` (or ``python <path>/main.py`` from ``cwd``) with a private HOME.

    A private HOME means a private flytekit cache and no ``~/.aws``; no FLYTE_* or AWS_* variable
    is passed on, so the launch has no blob storage credentials unless ``env`` gives some.
    Hydra's output folders go beside that HOME (``outputs/``, ``multirun/``), not into the repo.
    ``terminal``: run on a pseudo-terminal that many columns wide (util-linux ``script``), its
    output, stderr included, in ``stdout``.
    """
    outputs = [f"hydra.run.dir={home.parent}/outputs", f"hydra.sweep.dir={home.parent}/multirun"]
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "AWS_", "HYDRA_FULL_ERROR"))}
    environment["HOME"] = str(home)
    environment.update(env or {})
    script = "main.py" if cwd is None else os.path.relpath(app_dir / "main.py", cwd)
    command = [sys.executable, script, *args, *outputs]
    if terminal is not None:
        environment.update(COLUMNS=str(terminal), LINES="50", TERM="xterm-256color")
        command = ["script", "-qec", shlex.join(command), "/dev/null"]
    return subprocess.run(
        command,
        cwd=cwd or app_dir,
        env=environment,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def no_build_remote(endpoint: str) -> list[str]:
    """Overrides for a remote launch that builds nothing (a fixed, named image) and does not wait:
    enough to test registration and execution creation against a stand-in without Docker. The image
    is pushed to the test registry first (build=skip checks that the registry has it)."""
    return [*no_build(endpoint), "hydra.launcher.wait=false"]


def no_build(endpoint: str) -> list[str]:
    """Overrides for a remote launch with the fixed test image: nothing built (no_build_remote, waiting)."""
    from tests import infra

    return [
        "-m",
        "hydra/launcher=flyte",
        f"hydra.launcher.endpoint={endpoint}",
        "hydra.launcher.insecure=true",
        "hydra.launcher.build=skip",
        f"+hydra.launcher.images.default.image={infra.fixed_image()}",
    ]


def tasks_that_ran(result: subprocess.CompletedProcess[str]) -> list[str]:
    """Task bodies that ran, from the ``task NAME: running`` lines the example tasks log."""
    return TASK_RAN.findall(result.stdout + result.stderr)


def load_app(app_dir: Path, name: str) -> ModuleType:
    """Import an app's main.py under ``name`` (kept in sys.modules, as Hydra's discovery needs)."""
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, app_dir / "main.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


class CaptureJobReturns(Callback):
    """A Hydra callback that keeps every JobReturn it sees (``on_job_end``), in order.

    Selected with ``+hydra.callbacks.capture._target_=tests.helpers.CaptureJobReturns``: it sees what
    any callback (an MLflow logger, say) would see, and survives a sweep that re-raises a failure.
    """

    seen: ClassVar[list[JobReturn]] = []
    started: ClassVar[list[int]] = []

    def on_job_start(self, config: DictConfig, **kwargs: Any) -> None:
        CaptureJobReturns.started.append(int(config.hydra.job.num))

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        CaptureJobReturns.seen.append(job_return)


CAPTURE = "+hydra.callbacks.capture._target_=tests.helpers.CaptureJobReturns"


def multirun(
    app_dir: Path, module_name: str, overrides: list[str], out: Path
) -> tuple[list[JobReturn], Exception | None]:
    """Run ``app_dir``'s main.py as ``python main.py -m OVERRIDES`` would, in this process.

    Returns every job's JobReturn (as Hydra callbacks see them) and the error Hydra's sweeper
    raised, if any (it re-raises a failed job's error once all jobs ran).
    """
    app = load_app(app_dir, module_name)
    CaptureJobReturns.seen.clear()
    CaptureJobReturns.started.clear()
    error: Exception | None = None
    with initialize_config_dir(config_dir=str(app_dir / "conf"), version_base=None, job_name="main"):
        hydra = GlobalHydra.instance().hydra
        assert hydra is not None
        try:
            hydra.multirun(
                config_name="config",
                task_function=app.main.__wrapped__,
                overrides=[*overrides, CAPTURE, f"hydra.sweep.dir={out}"],
            )
        except Exception as raised:  # noqa: BLE001 - handed to the test to assert on
            error = raised
    return list(CaptureJobReturns.seen), error


class RecordJobReturns(Callback):
    """A Hydra callback that appends each job's JobReturn to a JSON-lines file, for runs in a subprocess.

    ``+hydra.callbacks.record._target_=tests.helpers.RecordJobReturns +hydra.callbacks.record.path=F``
    """

    def __init__(self, path: str) -> None:
        self.path = path

    def on_job_end(self, config: DictConfig, job_return: JobReturn, **kwargs: Any) -> None:
        value = job_return._return_value
        record = {
            "num": int(config.hydra.job.num),
            "status": job_return.status.name,
            "type": type(value).__name__,
            "value": value if isinstance(value, (int, float, str, bool, type(None))) else repr(value),
            "output_dir": config.hydra.runtime.output_dir,
        }
        if isinstance(value, DictConfig):
            record["value"] = OmegaConf.to_container(value)
        elif isinstance(value, dict):
            record["value"] = {
                str(k): v if isinstance(v, (int, float, str, bool)) else repr(v) for k, v in value.items()
            }
        with open(self.path, "a") as handle:
            handle.write(json.dumps(record) + "\n")


def recorded(path: Path) -> list[dict[str, Any]]:
    """The records RecordJobReturns wrote, by job number."""
    if not path.exists():
        return []
    return sorted((json.loads(line) for line in path.read_text().splitlines()), key=lambda r: r["num"])


def record_overrides(path: Path) -> list[str]:
    return ["+hydra.callbacks.record._target_=tests.helpers.RecordJobReturns", f"+hydra.callbacks.record.path={path}"]


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    """The launch failed with one line of ours: no traceback, a non-zero exit. Returns that line."""
    assert result.returncode != 0, result.stdout[-2000:]
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip() and not line.startswith("Set the environment")]
    assert len(lines) == 1, result.stderr[-3000:]
    return lines[0]
