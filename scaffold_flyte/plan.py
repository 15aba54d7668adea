"""The plan of a remote launch, as plain data: which images, built from what, under which tags.

Building the plan has no side effects beyond reading files (and asking the local engine for base
image IDs, through the ``base_image_id`` callable), so it can be printed as a dry run and tested
without Docker or Flyte.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
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
) -> list[ImagePlan]:
    """The images the main workflow's tasks run in: the default one and each named one a task asks for.

    A task naming an image that is not configured is an error here, before anything is built.
    ``code`` is baked into every generated image (``bake_code``).
    """
    if DEFAULT_IMAGE not in images:
        raise ImageConfigError(
            "hydra.launcher.images has no 'default' image: every task without an image of its own runs in it; add "
            "hydra.launcher.images.default."
        )
    tasks = tasks_under(main.workflow) if main else []
    check_task_images(tasks, images)
    wanted = [DEFAULT_IMAGE, *sorted(set(image_names_used(tasks)) - {DEFAULT_IMAGE})]
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
    return plans
