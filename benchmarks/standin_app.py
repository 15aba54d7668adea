"""A throwaway Hydra app for the benchmarks that launch against the test stand-in without building.

The app's files are written into a temporary folder; its launches use the fixed test image
(pushed to the local registry, never run), so nothing is built, and a private HOME with no
FLYTE_* variable, so flytekit's own configuration plays no part.
"""

from __future__ import annotations

import sys
from pathlib import Path

from benchmarks.user_env import user_environment
from tests.helpers import no_build


def write_app(work: Path, main_py: str, config_yaml: str) -> tuple[Path, dict[str, str]]:
    """The app folder (``main.py``, ``conf/config.yaml``) under ``work``, and the environment to run it in."""
    app = work / "app"
    (app / "conf").mkdir(parents=True)
    (app / "main.py").write_text(main_py)
    (app / "conf" / "config.yaml").write_text(config_yaml)
    return app, user_environment(work / "home")


def no_build_launch(endpoint: str, poll_interval: float) -> list[str]:
    """``python main.py -m`` on Flyte at ``endpoint`` with the fixed test image: nothing built."""
    return [sys.executable, "main.py", *no_build(endpoint), f"hydra.launcher.poll_interval={poll_interval}"]
