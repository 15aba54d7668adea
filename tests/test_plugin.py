"""The plugin as Hydra sees it: discovered, selectable, and cheap for apps that do not use it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from hydra.core.plugins import Plugins
from hydra.plugins.launcher import Launcher
from hydra.plugins.search_path_plugin import SearchPathPlugin

from tests.helpers import EXAMPLES, run_app


def test_hydra_discovers_the_launcher_and_the_presets() -> None:
    launchers = {p.__name__ for p in Plugins.instance().discover(Launcher)}
    search_paths = {p.__name__ for p in Plugins.instance().discover(SearchPathPlugin)}
    assert "FlyteLauncher" in launchers
    assert "FlyteLauncherSearchPathPlugin" in search_paths


def test_hydra_plugin_scan_imports_neither_flytekit_nor_docker(tmp_path: Path) -> None:
    """Hydra imports every hydra_plugins module at every start: they must stay light."""
    probe = (
        "import sys\n"
        "from hydra.core.plugins import Plugins\n"
        "from hydra.plugins.launcher import Launcher\n"
        "names = [p.__name__ for p in Plugins.instance().discover(Launcher)]\n"
        "assert 'FlyteLauncher' in names, names\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in ('flytekit', 'docker', 'flyteidl', 'grpc'))\n"
        "print('HEAVY', heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "HEAVY []" in result.stdout


def test_launcher_settings_print_from_an_app_folder(home: Path) -> None:
    """Run from the example's own folder, not the project root: the plugin and presets are found."""
    result = run_app(
        EXAMPLES / "single_task",
        "--cfg",
        "hydra",
        "-p",
        "hydra.launcher",
        "hydra/launcher=flyte_local",
        home=home,
    )
    assert result.returncode == 0, result.stderr
    assert "_target_: hydra_plugins.flyte_launcher.flyte_launcher.FlyteLauncher" in result.stdout
    assert "mode: local" in result.stdout


def test_the_default_launcher_config_is_remote(home: Path) -> None:
    result = run_app(
        EXAMPLES / "single_task", "--cfg", "hydra", "-p", "hydra.launcher", "hydra/launcher=flyte", home=home
    )
    assert result.returncode == 0, result.stderr
    assert "mode: remote" in result.stdout


def test_the_sandbox_preset_points_at_flytes_demo_cluster(home: Path) -> None:
    from omegaconf import OmegaConf

    result = run_app(
        EXAMPLES / "single_task", "--cfg", "hydra", "-p", "hydra.launcher", "hydra/launcher=flyte_sandbox", home=home
    )
    assert result.returncode == 0, result.stderr
    settings = OmegaConf.create(result.stdout.split("\n", 1)[1])  # after "# @package hydra.launcher"
    assert settings.mode == "remote" and settings.endpoint == "localhost:30080" and settings.insecure is True
    assert settings.images.default.registry == "localhost:30000"
    assert settings.images.default.base_image is None  # the rest of ImageConf's defaults still there


def test_scaffold_flyte_run_is_there_for_users() -> None:
    import scaffold_flyte
    from scaffold_flyte.local import run

    assert scaffold_flyte.run is run
