"""The ``flyte`` Hydra launcher: stores what Hydra hands it, and delegates each launch.

Hydra imports this module at every start, even for ``python main.py``: flytekit (about 0.8 s to
import) is imported only inside ``launch()``, through scaffold_flyte.
"""

from collections.abc import Sequence
from typing import Any

from hydra.core.utils import JobReturn
from hydra.plugins.launcher import Launcher
from hydra.types import HydraContext, TaskFunction
from omegaconf import DictConfig


class FlyteLauncher(Launcher):
    def __init__(self, **settings: Any) -> None:
        # The settings are read from config.hydra.launcher at launch, typed (scaffold_flyte.settings).
        self.config: DictConfig | None = None
        self.task_function: TaskFunction | None = None
        self.hydra_context: HydraContext | None = None

    def setup(self, *, hydra_context: HydraContext, task_function: TaskFunction, config: DictConfig) -> None:
        self.config = config
        self.task_function = task_function
        self.hydra_context = hydra_context

    def launch(self, job_overrides: Sequence[Sequence[str]], initial_job_idx: int) -> Sequence[JobReturn]:
        from scaffold_flyte.sweep import launch_sweep

        assert self.config is not None and self.task_function is not None and self.hydra_context is not None
        return launch_sweep(self.config, self.task_function, self.hydra_context, job_overrides, initial_job_idx)
