"""flytekit's temporary folders, removed when the process ends.

Importing flytekit makes two folders in the system temp dir and never removes them:
``flyte-XXXX`` (``flytekit.core.data_persistence.flyte_tmp_dir``: the local file access's
``sandbox/`` and ``raw/`` outputs) and ``flyteXXXX`` (``Config.local_sandbox_path``'s default:
``user_space`` and one folder per task run). Every ``python main.py`` and every launch left both
behind. flytekit is imported by the user's module before scaffold_flyte, so its folders cannot be
pointed elsewhere in time; instead, importing this module (scaffold_flyte's entry points do)
removes these two folders, the ones this process made, when it exits.

A local run's files (a ``FlyteFile`` output, say) live there until the process ends: copy what
you want to keep out of them in your task or your Hydra function. A ``local_sandbox`` set in
flytekit's config is the user's folder and is left alone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path


def flytekit_temp_dirs() -> list[Path]:
    """The folders flytekit made in the temp dir when this process imported it."""
    from flytekit.configuration import Config
    from flytekit.core import data_persistence

    made = [Path(data_persistence.flyte_tmp_dir), Path(Config.local_sandbox_path)]  # the class default, not a config's
    temp = Path(tempfile.gettempdir()).resolve()
    return [p for p in made if p.parent.resolve() == temp and p.name.startswith("flyte")]


def _remove(folders: list[Path], owner: int) -> None:
    if os.getpid() != owner:  # a forked child that exits normally must not take its parent's folders
        return
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


atexit.register(_remove, flytekit_temp_dirs(), os.getpid())
