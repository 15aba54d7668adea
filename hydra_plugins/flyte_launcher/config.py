"""Registers the launcher's settings as ``hydra/launcher=flyte``.

``python main.py --cfg hydra -p hydra.launcher`` prints them all. Hydra imports this module at
every start: scaffold_flyte.settings imports only the standard library.
"""

from hydra.core.config_store import ConfigStore

from scaffold_flyte.settings import FlyteLauncherConf

ConfigStore.instance().store(group="hydra/launcher", name="flyte", node=FlyteLauncherConf, provider="flyte_launcher")
