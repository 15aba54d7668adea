"""Adds the launcher's presets (hydra/launcher=flyte_local, ...) to Hydra's search path.

They ship inside the package (``hydra_plugins/flyte_launcher/conf``, package data), so they are
found through ``pkg://`` after a regular ``pip install`` as well as from a source checkout.
"""

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PRESETS = "pkg://hydra_plugins.flyte_launcher.conf"


class FlyteLauncherSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        search_path.append(provider="flyte_launcher", path=PRESETS)
