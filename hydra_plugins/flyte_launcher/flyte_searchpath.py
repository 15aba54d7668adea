"""Adds the project's conf/ (launcher presets: hydra/launcher=flyte_local, ...) to Hydra's search path."""

from pathlib import Path

from hydra.core.config_search_path import ConfigSearchPath
from hydra.plugins.search_path_plugin import SearchPathPlugin

PRESETS = Path(__file__).resolve().parents[2] / "conf"


class FlyteLauncherSearchPathPlugin(SearchPathPlugin):
    def manipulate_search_path(self, search_path: ConfigSearchPath) -> None:
        if PRESETS.is_dir():
            search_path.append(provider="flyte_launcher", path=f"file://{PRESETS}")
