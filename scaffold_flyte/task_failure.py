"""A task that raised during a local run, told in a few lines: the job, the task, the exception, the user's frames.

flytekit's local execution re-raises the task's own exception with its message prefixed by
"Error encountered while executing '<task>':" (core/base_task.py, dispatch_execute), under some
twenty frames of flytekit's call chain; Hydra would print them all. The error here keeps what
the user can act on: which job, which task, the exception, and the frames of their own code.
``HYDRA_FULL_ERROR=1`` still shows the whole traceback.
"""

from __future__ import annotations

import re
import sysconfig
import traceback
from pathlib import Path

from scaffold_flyte.errors import ScaffoldFlyteError

_FLYTEKIT_PREFIX = re.compile(r"^Error encountered while executing '([^']+)':\n  ", re.DOTALL)
_LIBRARY_ROOTS = tuple(
    str(Path(p).resolve()) for p in {sysconfig.get_paths()[k] for k in ("stdlib", "purelib", "platlib")}
) + (str(Path(__file__).resolve().parent),)
USER_FRAMES_SHOWN = 6


class LocalTaskFailed(ScaffoldFlyteError):
    """A task of the workflow raised while running locally."""


def local_task_failure(error: Exception, where: str = "") -> LocalTaskFailed:
    """The few-line error for ``error``, raised by a task (or the workflow body) during a local run."""
    message = str(error)
    task = ""
    match = _FLYTEKIT_PREFIX.match(message)
    if match:
        task, message = match.group(1), message[match.end() :]
    frames = [frame for frame in traceback.extract_tb(error.__traceback__) if _is_user_code(frame.filename)]
    shown = "".join(
        f"\n  {_short_path(f.filename)}:{f.lineno} in {f.name}: {(f.line or '').strip()}"
        for f in frames[-USER_FRAMES_SHOWN:]
    )
    what = f"task {task.rsplit('.', 1)[-1]} failed" if task else "the workflow failed"
    prefix = f"{where}: " if where else ""
    return LocalTaskFailed(f"{prefix}{what}: {type(error).__name__}: {message}{shown}")


def _is_user_code(filename: str) -> bool:
    if filename.startswith("<"):
        return False
    resolved = str(Path(filename).resolve())
    return not resolved.startswith(_LIBRARY_ROOTS)


def _short_path(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(Path.cwd()))
    except ValueError:
        return filename
