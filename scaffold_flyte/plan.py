"""The plan of a remote launch, as plain data: which images, built from what, under which tags.

Building the plan has no side effects beyond reading files (and asking the local engine for base
image IDs, through the ``base_image_id`` callable), so it can be printed as a dry run and tested
without Docker or Flyte.
"""

from __future__ import annotations

import logging
import platform
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from scaffold_flyte.discovery import MainWorkflow, tasks_under
from scaffold_flyte.errors import ImageConfigError
from scaffold_flyte.images import (
    DEFAULT_IMAGE,
    ImagePlan,
    ImageSpec,
    check_task_images,
    image_names_used,
    plan_image,
)

log = logging.getLogger(__name__)
CLUSTER_PLATFORM = "linux/amd64"  # what most clusters' nodes run, and what a build here is compared with
_ARCHITECTURES = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}
_noticed: set[str] = set()  # the platform notice is given once per process, not once per sweep batch


def default_repository(app_dir: Path) -> str:
    """The repository name an app's images get when none is set: its folder's name, made valid."""
    name = re.sub(r"[^a-z0-9._-]+", "-", app_dir.name.lower()).strip("._-")
    return name or "app"


def plan_images(
    images: Mapping[str, Mapping[str, Any]],
    main: MainWorkflow | None,
    app_dir: Path,
    launch_dir: Path,
    code: tuple[tuple[str, str], ...] = (),
    task_images: Mapping[str, str] | None = None,
) -> list[ImagePlan]:
    """The images the main workflow's tasks run in: the default one and each named one a task asks for.

    A task naming an image that is not configured is an error here, before anything is built.
    ``code`` is baked into every generated image (``bake_code``). ``task_images`` maps a task's name to
    the image ``hydra.launcher.tasks.<task>.image`` gives it instead of its code's (task_settings.py).
    """
    if DEFAULT_IMAGE not in images:
        raise ImageConfigError(
            "hydra.launcher.images has no 'default' image: every task without an image of its own runs in it; add "
            "hydra.launcher.images.default."
        )
    overridden = dict(task_images or {})
    tasks = [task for task in (tasks_under(main.workflow) if main else []) if str(task.name) not in overridden]
    check_task_images(tasks, images)
    used = set(image_names_used(tasks)) | set(overridden.values())
    wanted = [DEFAULT_IMAGE, *sorted(used - {DEFAULT_IMAGE})]
    repository = default_repository(app_dir)
    plans = []
    for name in wanted:
        spec = ImageSpec.from_config(name, images[name], repository)
        if code and spec.dockerfile:
            raise ImageConfigError(
                f"image '{name}' has a Dockerfile of your own, so hydra.launcher.bake_code cannot add the code to it: "
                "COPY it in your Dockerfile and launch with bake_code=false and build=force, or drop the Dockerfile."
            )
        plans.append(plan_image(spec, launch_dir, code))
    notice_platform(plans)
    return plans


def building_platform() -> str:
    """The platform an image built here gets by default: Docker builds for its own machine's architecture."""
    machine = platform.machine().lower()
    return f"linux/{_ARCHITECTURES.get(machine, machine)}"


def notice_platform(plans: Sequence[ImagePlan]) -> None:
    """Say once that images built here for another platform than linux/amd64 may not run on the cluster.

    A cluster pulls each image for its nodes' platform: an arm64 image (a build on an Apple
    silicon or Graviton machine) fails on amd64 nodes. Only images built without a platform set
    count; a fixed ``image`` is whatever it is.
    """
    built = building_platform()
    unset = [plan.name for plan in plans if not plan.fixed and not plan.spec.platform]
    if not unset or built == CLUSTER_PLATFORM or built in _noticed:
        return
    _noticed.add(built)
    log.warning(
        f"Image(s) {', '.join(unset)} have no platform set and this machine builds {built} images; a cluster pulls "
        f"each image for its nodes' platform, so for {CLUSTER_PLATFORM} nodes set "
        f"hydra.launcher.images.<name>.platform={CLUSTER_PLATFORM} (or the nodes' platform)."
    )
