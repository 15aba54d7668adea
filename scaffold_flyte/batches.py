"""What a launch worked out, reused by the next batch of the same sweep in the same process.

A batched sweeper (Optuna, Nevergrad) calls the launcher's ``launch()`` once per batch, each time
with the same app, code and launcher settings; only the jobs differ. Packing the code, hashing
the version, planning the images, asking the registry for them and asking Flyte whether the
version is registered would give the same answers every time, so the first batch's answers
serve the rest: a later batch costs only its jobs (their inputs, CreateExecution, following).

An entry is kept only once the version is known to be registered (found, or registered by this
process), and is keyed by everything those answers depend on: the workflow and its module file,
every launcher setting (endpoint, project, images, tasks...), the launch folder and the sweep
folder. A new sweep, or other settings, starts afresh.
"""

from __future__ import annotations

import hashlib
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold_flyte.discovery import MainWorkflow
from scaffold_flyte.settings import FlyteLauncherConf


@dataclass(frozen=True)
class Prepared:
    """A registered version and what led to it: the plan's shared part and the launch plan to execute."""

    connection: Any
    tasks: Any
    bundle: Any
    images: list[Any]
    version: str
    launch_plan: Any


_prepared: dict[str, Prepared] = {}


def batch_key(settings: FlyteLauncherConf, main: MainWorkflow, launch_dir: Path, sweep_dir: str) -> str:
    module = sys.modules.get(main.module_name)
    parts = [
        main.name,
        str(getattr(module, "__file__", main.module_name)),
        repr(settings),  # every setting: the dataclass's repr, nested containers and all (no OmegaConf round trip)
        str(launch_dir.resolve()),
        str(Path(sweep_dir).resolve()),
    ]
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def earlier_batch(key: str) -> Prepared | None:
    return _prepared.get(key)


def remember(key: str, prepared: Prepared) -> None:
    _prepared[key] = prepared
