"""The image step's actions, through the Docker SDK: ask the registry, build, push.

Registry credentials are the user's own, as the Docker SDK reads them from their docker config
(``~/.docker/config.json``); nothing here reads, logs or stores them. Builds use the classic build
API with host networking (BuildKit is not assumed).
"""

from __future__ import annotations

import io
import logging
import re
import tarfile
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any

from scaffold_flyte.build_context import GENERATED_DOCKERFILE, credential_reason
from scaffold_flyte.errors import ImageBuildError
from scaffold_flyte.images import ImagePlan

log = logging.getLogger(__name__)

LOG_TAIL = 15
BUILD_STEP = re.compile(r"^Step (\d+)/(\d+) :")  # the classic builder's step lines

# Where a live view hears of the image step's progress: (image name, "build" or "push", done,
# total, a short detail). Build: steps done of the Dockerfile's steps. Push: layers done of the
# layers seen so far, the detail carrying the bytes. Called from the image threads.
ImageProgress = Callable[[str, str, int, int, str], None]


@dataclass(frozen=True)
class ImageOutcome:
    """What the image step did for one image."""

    plan: ImagePlan
    action: str  # "reused" (the registry had the tag), "built" (built and pushed), "named" (used as is)
    seconds: float = 0.0


class Engine:
    """A connection to the Docker engine, made once per launch."""

    def __init__(self, client: Any | None = None) -> None:
        import docker
        from docker.errors import DockerException

        # set when the launch stops (Ctrl-C, another image failed): builds and pushes under way end at
        # their next progress event, and closing their stream makes the engine cancel them
        self.stopping = threading.Event()
        try:
            self.client = client or docker.from_env()
            self.client.ping()
        except DockerException as error:
            raise ImageBuildError(
                f"Cannot reach the Docker engine ({_short(error)}): start it (dockerd, or Docker Desktop) "
                "or point DOCKER_HOST at it; or set hydra.launcher.build=skip to use images already pushed."
            ) from None

    def in_registry(self, plan: ImagePlan) -> bool:
        """Whether the registry already has the plan's tag (a manifest lookup through the engine)."""
        from docker.errors import APIError, NotFound

        try:
            self.client.images.get_registry_data(plan.reference)
            return True
        except NotFound:
            return False
        except APIError as error:
            text = _short(error)
            if "manifest unknown" in text or "not found" in text.lower():
                return False
            raise ImageBuildError(
                f"image '{plan.name}': cannot ask registry {plan.spec.registry} for {plan.reference} ({text}): "
                f"check the registry is up and `docker login {plan.spec.registry}`."
            ) from None

    def build(
        self, plan: ImagePlan, show_log: bool, use_cache: bool = True, progress: ImageProgress | None = None
    ) -> str:
        """Build the plan's image under its reference; returns the image ID.

        ``use_cache=False`` rebuilds every layer: a forced rebuild is asked for to pick up what the
        layer cache would hide (a moved base image, newer versions of unpinned requirements).
        """
        lines: deque[str] = deque(maxlen=200)
        image_id = None
        steps = 1  # the Dockerfile's steps, as the builder's step lines count them
        stream = self.client.api.build(
            fileobj=build_context(plan),
            custom_context=True,
            tag=plan.reference,
            buildargs=dict(plan.spec.build_args) or None,
            platform=plan.spec.platform,
            network_mode="host",
            nocache=not use_cache,
            rm=True,
            forcerm=True,
            decode=True,
        )
        for chunk in stream:
            if self.stopping.is_set():
                stream.close()
                raise ImageBuildError(f"image '{plan.name}': build stopped")
            if "stream" in chunk:
                for line in chunk["stream"].splitlines():
                    if line.strip():
                        lines.append(line)
                        step = BUILD_STEP.match(line)
                        if step and progress is not None:
                            steps = int(step.group(2))
                            progress(plan.name, "build", int(step.group(1)) - 1, steps, f"step {step.group(1)}/{steps}")
                        if show_log:
                            log.info(f"  [{plan.name}] {line}")
            if "aux" in chunk and "ID" in chunk["aux"]:
                image_id = chunk["aux"]["ID"]
            if "error" in chunk:
                raise ImageBuildError(_build_failure(plan, chunk["error"].strip(), lines))
        if image_id is None:
            raise ImageBuildError(_build_failure(plan, "the engine reported no image", lines))
        if progress is not None:
            progress(plan.name, "build", steps, steps, "built")
        return str(image_id)

    def push(self, plan: ImagePlan, progress: ImageProgress | None = None) -> None:
        """Push the plan's tag: layer progress to ``progress``, or logged now and then without one."""
        repository, tag = plan.reference.rsplit(":", 1)
        done: set[str] = set()
        layers: set[str] = set()
        sent: dict[str, tuple[int, int]] = {}  # layer: (bytes sent, bytes in all), as the engine reports them
        last = time.monotonic()
        for event in self.client.api.push(repository, tag=tag, stream=True, decode=True):
            if self.stopping.is_set():
                raise ImageBuildError(f"image '{plan.name}': push stopped")
            if "error" in event:
                raise ImageBuildError(
                    f"image '{plan.name}': the registry refused the push of {plan.reference} "
                    f"({event['error'].strip()}): check the registry is up and `docker login {plan.spec.registry}`."
                )
            layer, status = event.get("id"), event.get("status", "")
            if layer and status not in ("The push refers to repository",):
                layers.add(layer)
                if status.startswith(("Pushed", "Layer already exists", "Mounted from")):  # "Mounted from <repo>"
                    done.add(layer)
                detail = event.get("progressDetail") or {}
                if detail.get("total"):
                    sent[layer] = (int(detail.get("current", 0)), int(detail["total"]))
                elif status == "Pushed" and layer in sent:
                    sent[layer] = (sent[layer][1], sent[layer][1])
            if progress is not None and layers:
                progress(plan.name, "push", len(done), len(layers), _push_detail(done, layers, sent))
            elif time.monotonic() - last > 2 and layers:
                log.info(f"  [{plan.name}] pushing: {len(done)}/{len(layers)} layers")
                last = time.monotonic()


def _push_detail(done: set[str], layers: set[str], sent: dict[str, tuple[int, int]]) -> str:
    text = f"{len(done)}/{len(layers)} layers"
    if sent:
        current, total = sum(pair[0] for pair in sent.values()), sum(pair[1] for pair in sent.values())
        text += f", {current / 1e6:.1f}/{total / 1e6:.1f} MB"
    return text


def build_context(plan: ImagePlan) -> io.BytesIO:
    """The tar the engine builds from: the generated files, or the user's context as planned (build_context.scan).

    Each file of a user's context is checked again as it is sent: a credential goes to no engine,
    even in a plan made by other means. The Dockerfile goes under ``Dockerfile``, from the text the
    plan read (and its tag covers).
    """
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        if plan.context_dir is not None:
            for rel in plan.context_files:
                reason = credential_reason(plan.context_dir, rel)
                if reason is not None:
                    raise ImageBuildError(
                        f"image '{plan.name}': {plan.context_dir / rel} is a credential ({reason}) and is never sent "
                        "to the engine: take it out of the plan's context files."
                    )
                if rel != GENERATED_DOCKERFILE:
                    tar.add(plan.context_dir / rel, arcname=rel, recursive=False)
        folders = sorted({str(parent) for name, _ in plan.files for parent in PurePosixPath(name).parents} - {"."})
        for folder in folders:
            info = tarfile.TarInfo(folder)
            info.type, info.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(info)
        for name, text in [("Dockerfile", plan.dockerfile), *plan.files]:
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    buffer.seek(0)
    return buffer


def ensure_images(
    engine: Engine,
    plans: Iterable[ImagePlan],
    mode: str,
    parallel: int,
    show_log: bool = False,
    on_pushed: Callable[[str], None] = lambda reference: None,
    progress: ImageProgress | None = None,
) -> list[ImageOutcome]:
    """Make every planned image available in its registry; build and push only what is missing.

    ``mode``: ``auto`` builds what the registry lacks, ``force`` rebuilds all without the layer cache, ``skip`` builds
    nothing and uses the references as planned. Independent images build concurrently, at most
    ``parallel`` at a time; the first failure stops the step (its error names the image).
    ``on_pushed`` hears of each reference as soon as it is in the registry, so a launch stopped
    mid-step can still say what it pushed. ``progress`` hears of each build's steps and each
    push's layers (a live view's bars); without it, pushes log their layers now and then.
    """
    plans = list(plans)
    engine.stopping.clear()  # an earlier step's stop is not this one's
    unique = list({plan.reference: plan for plan in plans}.values())  # same content, same image: once
    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="image") as pool:
        futures = {
            plan.reference: pool.submit(_ensure_one, engine, plan, mode, show_log, on_pushed, progress)
            for plan in unique
        }
        try:
            done = {reference: future.result() for reference, future in futures.items()}
        except BaseException:
            engine.stopping.set()
            for future in futures.values():
                future.cancel()
            raise
    return [ImageOutcome(plan, done[plan.reference].action, done[plan.reference].seconds) for plan in plans]


def _ensure_one(
    engine: Engine,
    plan: ImagePlan,
    mode: str,
    show_log: bool,
    on_pushed: Callable[[str], None],
    progress: ImageProgress | None,
) -> ImageOutcome:
    if plan.fixed or mode == "skip":
        log.info(f"image {plan.name}: {plan.reference} (used as named, not built)")
        return ImageOutcome(plan, "named")
    if mode == "auto" and engine.in_registry(plan):
        log.info(f"image {plan.name}: {plan.reference} is in the registry, nothing to build")
        return ImageOutcome(plan, "reused")
    start = time.monotonic()
    log.info(f"image {plan.name}: building {plan.reference} from {plan.spec.base_image} ...")
    engine.build(plan, show_log, use_cache=mode != "force", progress=progress)
    log.info(f"image {plan.name}: built in {time.monotonic() - start:.1f} s, pushing ...")
    engine.push(plan, progress)
    on_pushed(plan.reference)
    seconds = time.monotonic() - start
    log.info(f"image {plan.name}: pushed {plan.reference} ({seconds:.1f} s in all)")
    return ImageOutcome(plan, "built", seconds)


def _build_failure(plan: ImagePlan, error: str, lines: Iterable[str]) -> str:
    tail = list(lines)[-LOG_TAIL:]
    hint = _hint(plan, error, tail)
    log_text = "\n".join(f"    {line}" for line in tail)
    return f"image '{plan.name}': build failed: {error}. {hint}" + (f"\n  build log tail:\n{log_text}" if tail else "")


def _hint(plan: ImagePlan, error: str, tail: list[str]) -> str:
    steps = [line for line in tail if line.startswith("Step ")]
    left_out = plan.context.missing_hint(error, steps[-1] if steps else "") if plan.context else None
    if left_out:  # a COPY of something the context leaves out on purpose
        return left_out
    failed_step = steps[-1].lower() if steps else ""
    text = error.lower()
    if " : from " in failed_step or "pull access denied" in text or "manifest unknown" in text:
        return (
            f"The base image {plan.spec.base_image} could not be found: build or pull it, or fix "
            f"hydra.launcher.images.{plan.name}.base_image."
        )
    if "pip install -r" in failed_step:
        return f"pip could not install the requirements: fix hydra.launcher.images.{plan.name}.requirements / .extras."
    return f"Fix the Dockerfile (see the log; hydra.launcher.build_log=true shows it all) for image '{plan.name}'."


def _short(error: Exception) -> str:
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) < 200 else text[:197] + "..."
