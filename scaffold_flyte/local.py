"""Local mode: the main workflow run through flytekit's local execution.

Local execution is what ``python main.py`` does, and what ``hydra.launcher.mode=local`` does for
each sweep job. Inputs go through the same split-config path as a remote launch, and flytekit turns
them into literals and back between tasks, so a config that would fail on Flyte fails here too,
and the local cache (``~/.flyte/local-cache``) behaves as Flyte's cache does.
"""

from __future__ import annotations

import sys
from typing import Any

from omegaconf import DictConfig

import scaffold_flyte.temp_files  # noqa: F401 - removes flytekit's temp folders at exit
from scaffold_flyte.discovery import MainWorkflow, find_main_workflow
from scaffold_flyte.errors import ScaffoldFlyteError
from scaffold_flyte.inputs import workflow_inputs
from scaffold_flyte.task_failure import local_task_failure


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
    """Run ``main`` locally on ``inputs``; a task that raises is told in a few lines (task_failure.py)."""
    try:
        return main.workflow(**inputs)
    except ScaffoldFlyteError:
        raise
    except Exception as error:
        raise local_task_failure(error, where) from error
