"""``hydra.launcher`` read and checked, before the launch does anything.

Hydra checks the types of the launcher's settings (its structured config, scaffold_flyte.settings)
but not their names when they are added with ``+`` (``+hydra.launcher.dryrun=true`` is taken as a
new key), nor the names under ``hydra.launcher.images.<name>`` (typed Any, so an image can be
added), nor the ranges of the numbers. A misspelt setting would silently fall back to its default
(a real launch instead of a dry run) and a negative poll interval would fail only after the
executions exist; so every problem here is one line naming the setting and a valid value, raised
before the first job, build, upload or RPC. No flytekit here: this runs before anything heavy.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from typing import Any

from omegaconf import DictConfig, OmegaConf

from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.notifications import check_notifications
from scaffold_flyte.settings import BUILD_MODES, MODES, FlyteLauncherConf, ImageConf
from scaffold_flyte.task_settings import check_settings as check_task_settings

LAUNCHER = "hydra.launcher"


def launcher_settings(config: DictConfig) -> FlyteLauncherConf:
    """``hydra.launcher`` as the settings dataclass, every name, enumeration and range checked."""
    node = config.hydra.launcher
    check_names(LAUNCHER, node, _field_names(FlyteLauncherConf))
    check_image_settings(node.get("images") or {})
    check_task_settings(node.get("tasks") or {}, (node.get("images") or {}).keys())  # names need the workflow
    # Hydra composes hydra/launcher=flyte from the registered dataclass, so the node is typed already;
    # a launcher config written out in YAML (untyped) is merged onto the schema first
    typed = node if OmegaConf.get_type(node) is FlyteLauncherConf else OmegaConf.merge(FlyteLauncherConf, node)
    settings = OmegaConf.to_object(typed)
    assert isinstance(settings, FlyteLauncherConf)
    check_values(settings)
    return settings


def check_image_settings(images: Any) -> None:
    """Each image takes ImageConf's fields only: a typo must not silently fall back to a default."""
    known = _field_names(ImageConf)
    for name in images:
        image = images[name]
        where = f"{LAUNCHER}.images.{name}"
        if image is not None and not isinstance(image, (Mapping, DictConfig)):
            raise LauncherConfigError(
                f"{where}={image} is not an image's settings: give it keys, e.g. +{where}.image=<registry/repo:tag> "
                f"or +{where}.registry=<host> (its settings: {', '.join(sorted(known))})."
            )
        check_names(where, image or {}, known)


def check_names(where: str, node: Any, known: Iterable[str]) -> None:
    """Refuse keys of ``node`` that are not settings, naming the closest one."""
    known = sorted(known)
    unknown = sorted(str(key) for key in node if key not in known)
    if not unknown:
        return
    first, others = unknown[0], unknown[1:]
    shown = [name for name in known if not name.startswith("_")]
    import difflib  # only on a misspelt name

    close = difflib.get_close_matches(first, shown, n=1)
    hint = f"did you mean {where}.{close[0]}?" if close else "remove it, or fix its name"
    also = f" (also unknown: {', '.join(others)})" if others else ""
    raise LauncherConfigError(f"{where} has no setting '{first}'{also}: {hint} (its settings: {', '.join(shown)}).")


def check_values(settings: FlyteLauncherConf) -> None:
    """The enumerations and the ranges Hydra's types cannot express."""
    if settings.mode not in MODES:
        raise LauncherConfigError(
            f"hydra.launcher.mode={settings.mode} is not a mode: use hydra.launcher.mode=local or =remote."
        )
    if settings.build not in BUILD_MODES:
        raise LauncherConfigError(
            f"hydra.launcher.build={settings.build} is not a build mode: use auto (build what the registry lacks), "
            "force or skip."
        )
    if not (math.isfinite(settings.poll_interval) and settings.poll_interval > 0):
        raise LauncherConfigError(
            f"hydra.launcher.poll_interval={settings.poll_interval} is not a number of seconds above 0: "
            "use e.g. hydra.launcher.poll_interval=2."
        )
    if settings.timeout is not None and not settings.timeout > 0:
        raise LauncherConfigError(
            f"hydra.launcher.timeout={settings.timeout} is not a number of seconds above 0: use e.g. "
            "hydra.launcher.timeout=3600, or hydra.launcher.timeout=null to wait without a limit."
        )
    if settings.recovering():  # the recovery and schedule modules only when their settings are used
        from scaffold_flyte.recovery import check_recover_setting

        check_recover_setting(settings)
    if settings.scheduled():
        from scaffold_flyte.schedules import check_schedule

        check_schedule(settings.schedule)
    check_notifications(settings.notifications)
    for name, example in (("max_parallel_executions", 8), ("max_parallel_builds", 2)):
        value = getattr(settings, name)
        if value < 1:
            raise LauncherConfigError(
                f"hydra.launcher.{name}={value} must be at least 1: use e.g. hydra.launcher.{name}={example}."
            )


def _field_names(schema: type) -> set[str]:
    return {f.name for f in dataclasses.fields(schema)}
