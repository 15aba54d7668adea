"""The environment a benchmark's child processes run in: a user's, not this machine's test settings.

This machine sets ``PYTHONDONTWRITEBYTECODE=1``, so every Python start would compile the project's
own modules from source (about 100 ms for the launcher), while a user's Python caches bytecode:
pip compiles a wheel's modules when it installs them, and an editable install writes
``__pycache__`` on the first start. Third-party packages in the venv were compiled by pip, so left
as it was the setting would charge only our side of each comparison. Children here cache bytecode
as a user's do. The scripts that time whole processes (remote_launch.py, startup.py) run each
command once untimed before they time any; the others time phases after start-up, or an earlier
run has compiled already.
"""

from __future__ import annotations

import os
from pathlib import Path

DROPPED = ("FLYTE", "HYDRA_FULL_ERROR", "PYTHONDONTWRITEBYTECODE")


def user_environment(home: Path | None = None) -> dict[str, str]:
    """This process's environment less flytekit's own settings, Hydra's full-error switch and the
    no-bytecode switch; ``home`` as HOME when given (no ~/.flyte of this machine's user)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED)}
    if home is not None:
        env["HOME"] = str(home)
    return env
