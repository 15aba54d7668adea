"""Local mode: the main workflow run through flytekit's local execution.

Local execution is what ``python main.py`` does, and what ``hydra.launcher.mode=local`` does for
each sweep job. Inputs go through the same split-config path as a remote launch, and flytekit turns
them into literals and back between tasks, so a config that would fail on Flyte fails here too,
and the local cache (``~/.flyte/local-cache``) behaves as Flyte's cache does.
"""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

import scaffold_flyte.temp_files  # noqa: F401 - removes flytekit's temp folders at exit
from scaffold_flyte.discovery import MainWorkflow, find_main_workflow
from scaffold_flyte.errors import ScaffoldFlyteError
from scaffold_flyte.inputs import workflow_inputs
from scaffold_flyte.task_failure import local_task_failure

log = logging.getLogger(__name__)


def run(cfg: DictConfig, workflow: str | None = None, module: str | None = None) -> Any:
    """Run the main workflow of the calling module on ``cfg`` and return its output.

    The one call a ``@hydra.main`` function needs: ``return scaffold_flyte.run(cfg)``. With
    ``python main.py`` it runs the workflow locally; under ``-m hydra/launcher=flyte`` the launcher
    runs the same workflow per sweep job, locally or on Flyte, and the function body is not called.

    ``workflow`` picks one workflow by name where the module has several top-level ones;
    ``module`` names another module to take the workflow from.
    """
    module_name = module or sys._getframe(1).f_globals["__name__"]
    main = find_main_workflow(sys.modules[module_name], workflow)
    return run_workflow(main, cfg)


def run_workflow(main: MainWorkflow, cfg: DictConfig, where: str = "") -> Any:
    """Run ``main`` locally on the inputs split from ``cfg``."""
    return call_workflow(main, workflow_inputs(main.workflow, cfg, where), where)


def call_workflow(main: MainWorkflow, inputs: dict[str, Any], where: str = "") -> Any:
    """Run ``main`` locally on ``inputs``; a task that raises is told in a few lines (task_failure.py).

    Logs which tasks ran and which flytekit's local cache served, as a remote job's log says it
    from the node executions' cache status.
    """
    try:
        with _tasks_observed() as seen:
            value = main.workflow(**inputs)
    except ScaffoldFlyteError:
        raise
    except Exception as error:
        raise local_task_failure(error, where) from error
    parts = [
        f"from the cache: {', '.join(seen.cached)}" if seen.cached else "",
        f"ran: {', '.join(seen.ran)}" if seen.ran else "",
    ]
    if seen.cached or seen.ran:
        log.info(f"{where + ': ' if where else ''}{'; '.join(p for p in parts if p)}")
    return value


@dataclass
class _Seen:
    cached: list[str] = field(default_factory=list)
    ran: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _tasks_observed() -> Iterator[_Seen]:
    """Which tasks flytekit's local execution ran, and which its cache served, while the block runs.

    flytekit says it only in debug lines (base_task.py local_execute: a LocalTaskCache.get hit skips
    sandbox_execute), so the two are watched for the duration of one workflow call, in this thread.
    """
    from flytekit.core.base_task import Task
    from flytekit.core.local_cache import LocalTaskCache

    seen = _Seen()
    get, sandbox_execute = LocalTaskCache.get, Task.sandbox_execute

    def cache_get(task_name: str, *args: Any, **kwargs: Any) -> Any:
        outputs = get(task_name, *args, **kwargs)
        if outputs is not None:
            seen.cached.append(task_name.rsplit(".", 1)[-1])
        return outputs

    def run_task(task: Any, *args: Any, **kwargs: Any) -> Any:
        seen.ran.append(str(task.name).rsplit(".", 1)[-1])
        return sandbox_execute(task, *args, **kwargs)

    LocalTaskCache.get = staticmethod(cache_get)
    Task.sandbox_execute = run_task
    try:
        yield seen
    finally:
        LocalTaskCache.get = staticmethod(get)
        Task.sandbox_execute = sandbox_execute
