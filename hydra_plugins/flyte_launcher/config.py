"""The launcher's settings, registered as ``hydra/launcher=flyte``.

``python main.py --cfg hydra -p hydra.launcher`` prints them all. Hydra imports this module at
every start, so it imports nothing beyond Hydra itself.
"""

from dataclasses import dataclass
from typing import Optional

from hydra.core.config_store import ConfigStore


@dataclass
class FlyteLauncherConf:
    _target_: str = "hydra_plugins.flyte_launcher.flyte_launcher.FlyteLauncher"
    # where the sweep's jobs run: "local" (flytekit local execution, in this process) or "remote"
    mode: str = "remote"
    # the workflow to launch, by name, where the module holds several top-level workflows
    workflow: Optional[str] = None  # noqa: UP045 (Hydra's structured configs need Optional)


ConfigStore.instance().store(
    group="hydra/launcher", name="flyte", node=FlyteLauncherConf, provider="flyte_launcher"
)
