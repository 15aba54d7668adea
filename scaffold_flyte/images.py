"""Task images as plain data: what to build, from which Dockerfile, under which content tag.

Nothing here talks to Docker or a registry, so a plan can be printed, compared and tested without
an engine. The tag is a hash of everything that goes into the image (base image, Dockerfile,
build args, platform, the resolved dependency list, and the build context where a Dockerfile of
the user's own copies files), never of the code that fast registration ships beside it: a
code-only change keeps the tag, a dependency change gives a new one.
"""

from __future__ import annotations

import hashlib
import json
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from scaffold_flyte.errors import ImageConfigError

if TYPE_CHECKING:
    from scaffold_flyte.build_context import BuildContext

DEFAULT_IMAGE = "default"
# Pinned to the versions installed here, so tasks deserialize exactly what this side serialized.
RUNTIME_PACKAGES = ("flytekit", "flytekitplugins-omegaconf", "hydra-core", "omegaconf")
# https://github.com/distribution/reference: name components and tag
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_HOST = r"(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?)"
REPOSITORY_RE = re.compile(rf"^(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*$")
TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
LIBRARY_DIR = "scaffold_flyte"
CODE_DIR = "app"
IMAGE_TEMPLATE_RE = re.compile(r"\{\{\s*\.images\.([A-Za-z0-9_-]+)\.")


@dataclass(frozen=True)
class ImageSpec:
    """One image as the user configured it (``hydra.launcher.images.<name>``)."""

    name: str
    registry: str
    repository: str
    base_image: str
    requirements: str | None = None
    extras: tuple[str, ...] = ()
    dockerfile: str | None = None
    build_args: tuple[tuple[str, str], ...] = ()
    platform: str | None = None
    image: str | None = None  # a fixed reference: used as is, never built

    @staticmethod
    def from_config(name: str, node: Mapping[str, Any], default_repository: str) -> ImageSpec:
        """Build the spec from the launcher's config node for image ``name``."""
        args = node.get("build_args") or {}
        return ImageSpec(
            name=name,
            registry=str(node.get("registry") or "").rstrip("/"),
            repository=str(node.get("repository") or default_repository),
            base_image=str(node.get("base_image") or default_base_image()),
            requirements=node.get("requirements"),
            extras=tuple(node.get("extras") or ()),
            dockerfile=node.get("dockerfile"),
            build_args=tuple(sorted((str(k), str(v)) for k, v in args.items())),
            platform=node.get("platform"),
            image=node.get("image"),
        )

    @property
    def repository_ref(self) -> str:
        return f"{self.registry}/{self.repository}" if self.registry else self.repository


@dataclass(frozen=True)
class ImagePlan:
    """An image ready to build: its Dockerfile, its context and its content-derived reference."""

    spec: ImageSpec
    dockerfile: str
    context_dir: Path | None  # the user's Dockerfile folder; None: generated, context is `files`
    context_files: tuple[str, ...]  # relative paths under context_dir that go into the build
    files: tuple[tuple[str, str], ...] = field(default=())  # generated files: (name, text)
    tag: str = ""
    context: BuildContext | None = None  # what of context_dir is sent and what is left out (a user's Dockerfile)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def reference(self) -> str:
        """``registry/repository:tag``: what tasks run and what the registry is asked for."""
        return self.spec.image or f"{self.spec.repository_ref}:{self.tag}"

    @property
    def fixed(self) -> bool:
        """A reference the user named: nothing to build."""
        return self.spec.image is not None


def default_base_image() -> str:
    """The slim official Python image of the local Python's minor version."""
    return f"python:{sys.version_info.major}.{sys.version_info.minor}-slim-bookworm"


def runtime_pins() -> list[str]:
    return [f"{package}=={version(package)}" for package in RUNTIME_PACKAGES]


def resolved_requirements(spec: ImageSpec, launch_dir: Path) -> list[str]:
    """The user's dependencies: the requirements file's lines and the pyproject extras', normalized.

    Comments, blank lines and order do not change the list, so they do not change the tag.
    """
    lines: list[str] = []
    if spec.requirements:
        path = _existing_file(spec, "requirements", "requirements file", launch_dir)
        lines += _requirement_lines(path.read_text())
    if spec.extras:
        lines += _pyproject_requirements(spec, launch_dir)
    return sorted(set(lines))


def _requirement_lines(text: str) -> list[str]:
    out = []
    for raw in text.splitlines():
        line = raw.split(" #", 1)[0].strip()
        if line and not line.startswith("#"):
            out.append(line)
    return out


def _pyproject_requirements(spec: ImageSpec, launch_dir: Path) -> list[str]:
    pyproject = _find_upwards(launch_dir, "pyproject.toml")
    if pyproject is None:
        raise ImageConfigError(
            f"image '{spec.name}': extras {list(spec.extras)} need a pyproject.toml in {launch_dir} "
            "or above it: add one, or list the packages in a requirements file."
        )
    import tomllib  # only for a project's extras

    project = tomllib.loads(pyproject.read_text()).get("project", {})
    optional = project.get("optional-dependencies", {})
    lines = list(project.get("dependencies", []))
    for extra in spec.extras:
        if extra not in optional:
            known = ", ".join(sorted(optional)) or "none"
            raise ImageConfigError(
                f"image '{spec.name}': {pyproject} has no extra '{extra}' (its extras: {known}): "
                f"fix hydra.launcher.images.{spec.name}.extras."
            )
        lines += optional[extra]
    return lines


def render_dockerfile(spec: ImageSpec, requirements: list[str], baked_code: bool = False) -> str:
    """The generated Dockerfile: base image, a venv with pinned flytekit & co, the user's packages."""
    lines = [
        f"# Generated by scaffold-flyte for image '{spec.name}'.",
        "# Unless bake_code is on, the code is not copied in: fast registration ships it beside the image.",
        f"FROM {spec.base_image}",
        "ENV VIRTUAL_ENV=/opt/venv PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 \\",
        "    PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1",
    ]
    lines += [f"ARG {key}" for key, _ in spec.build_args]
    lines += [
        "RUN python3 -m venv /opt/venv",
        "RUN pip install " + " ".join(runtime_pins()),
    ]
    if requirements:
        lines += [
            "COPY requirements.txt /tmp/scaffold-requirements.txt",
            "RUN pip install -r /tmp/scaffold-requirements.txt",
        ]
    lines += [
        "# scaffold_flyte itself: the user's module imports it (run() is its entry point)",
        f"COPY {LIBRARY_DIR} /opt/scaffold-flyte/{LIBRARY_DIR}",
        'RUN python -c "import site, pathlib; '
        "pathlib.Path(site.getsitepackages()[0], 'scaffold_flyte.pth').write_text('/opt/scaffold-flyte')\"",
        "WORKDIR /root",
    ]
    if baked_code:
        lines += [
            "# the app's code, baked in (hydra.launcher.bake_code=true)",
            f"COPY {CODE_DIR} /root",
            "ENV PYTHONPATH=/root",
        ]
    return "\n".join([*lines, ""])


def library_files() -> tuple[tuple[str, str], ...]:
    """scaffold_flyte's own source, as build-context files under ``scaffold_flyte/``."""
    package = Path(__file__).resolve().parent
    return tuple(
        (f"{LIBRARY_DIR}/{path.relative_to(package).as_posix()}", path.read_text())
        for path in sorted(package.rglob("*.py"))
    )


def plan_image(spec: ImageSpec, launch_dir: Path, code: tuple[tuple[str, str], ...] = ()) -> ImagePlan:
    """The image to build for ``spec``, with its content tag.

    The base image counts by name (pin it by tag or digest; ``build=force`` rebuilds on a moved
    tag): the tag must be computable without an engine, for ``build=skip``. ``code`` (path, text)
    pairs are baked into the image under /root (``bake_code``), and then count too.
    """
    validate_spec(spec)
    if spec.dockerfile:
        path = _existing_file(spec, "dockerfile", "Dockerfile", launch_dir)
        dockerfile = path.read_text()
        context_dir = path.parent
        context = context_paths(context_dir, dockerfile_name=path.name)
        files = context.files
        plan = ImagePlan(spec, dockerfile, context_dir=context_dir, context_files=files, context=context)
        digest_parts: dict[str, Any] = {"context": _files_digest(context_dir, files)}
    else:
        requirements = resolved_requirements(spec, launch_dir)
        dockerfile = render_dockerfile(spec, requirements, baked_code=bool(code))
        generated: tuple[tuple[str, str], ...] = (
            (("requirements.txt", "\n".join(requirements) + "\n"),) if requirements else ()
        )
        generated += library_files() + tuple((f"{CODE_DIR}/{name}", text) for name, text in code)
        plan = ImagePlan(spec=spec, dockerfile=dockerfile, context_dir=None, context_files=(), files=generated)
        digest_parts = {"requirements": requirements, "files": generated}
    content = {
        "base_image": spec.base_image,
        "dockerfile": dockerfile,
        "build_args": spec.build_args,
        "platform": spec.platform,
        **digest_parts,
    }
    tag = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]
    return replace(plan, tag=tag)


def validate_spec(spec: ImageSpec) -> None:
    """Refuse an image name that is not a valid reference, before anything is built."""
    if spec.image is not None:
        setting = f"hydra.launcher.images.{spec.name}.image"
        repository, tag, digest = split_reference(spec.image)
        if digest is not None and not _digest_ok(digest):
            raise ImageConfigError(
                f"image '{spec.name}': '{spec.image}' has a malformed digest '{digest}' (a digest is sha256: and "
                f"64 lower-case hex digits, as `docker images --digests` shows it): fix {setting}."
            )
        if not REPOSITORY_RE.match(repository) or (tag is not None and not TAG_RE.match(tag)):
            raise ImageConfigError(
                f"image '{spec.name}': '{spec.image}' is not a valid image reference "
                f"(lower-case [registry/]name:tag or [registry/]name@sha256:<digest>): fix {setting}."
            )
        if tag is None and digest is None:
            raise ImageConfigError(
                f"image '{spec.name}': '{spec.image}' names no tag or digest, so what runs would change with the "
                f"registry's 'latest': fix {setting} to {spec.image}:<tag> or {spec.image}@sha256:<digest>."
            )
        return
    if not spec.registry:
        raise ImageConfigError(
            f"image '{spec.name}' has no registry to push to: set hydra.launcher.images.{spec.name}.registry "
            "(e.g. localhost:5000 or ghcr.io/<org>)."
        )
    if not REPOSITORY_RE.match(spec.repository_ref):
        raise ImageConfigError(
            f"image '{spec.name}': '{spec.repository_ref}' is not a valid image name (lower-case letters, "
            f"digits, '.', '_', '-', '/' separated): fix hydra.launcher.images.{spec.name}.registry / .repository."
        )


def split_reference(reference: str) -> tuple[str, str | None, str | None]:
    """``[registry/]name[:tag][@digest]`` as (repository, tag, digest), the grammar of distribution/reference.

    The digest follows the last ``@``; a tag is a ``:`` in the last path component (a registry's
    ``:port`` is not). flytekit's ImageConfig keeps ``name:tag@digest`` whole: its ``fqn`` is
    ``name:tag`` and the registered image is the reference unchanged.
    """
    name, at, digest = reference.rpartition("@")
    if not at:
        name, digest = reference, ""
    tag = None
    if _has_tag(name):
        name, _, tag = name.rpartition(":")
    return name, tag, digest if at else None


def _has_tag(reference: str) -> bool:
    """Whether ``reference`` (without its digest) ends in ``:tag``: a ``:`` in its last path component."""
    return ":" in reference.rsplit("/", 1)[-1]


_DIGEST_LENGTHS = {"sha256": 64, "sha384": 96, "sha512": 128}  # the algorithms Docker's reference package accepts


def _digest_ok(digest: str) -> bool:
    algorithm, _, hex_digits = digest.partition(":")
    length = _DIGEST_LENGTHS.get(algorithm)
    return length is not None and re.fullmatch(f"[0-9a-f]{{{length}}}", hex_digits) is not None


def image_names_used(tasks: Iterable[Any]) -> dict[str, list[str]]:
    """Image names tasks ask for (``container_image="{{.images.gpu.fqn}}:..."``), with the tasks."""
    used: dict[str, list[str]] = {}
    for task in tasks:
        image = getattr(task, "container_image", None)
        for name in IMAGE_TEMPLATE_RE.findall(image) if isinstance(image, str) else ():
            used.setdefault(name, []).append(str(task.name))
    return used


def check_task_images(tasks: Iterable[Any], configured: Iterable[str]) -> None:
    """Every image a task names must be configured, or its registration would point nowhere."""
    known = set(configured)
    for name, users in sorted(image_names_used(tasks).items()):
        if name not in known:
            raise ImageConfigError(
                f"task {users[0]} runs in image '{name}', which is not configured: add "
                f"hydra.launcher.images.{name} (configured: {', '.join(sorted(known))})."
            )


def context_paths(root: Path, dockerfile_name: str = "Dockerfile") -> BuildContext:
    """The build context of ``root``, a Dockerfile's folder: .dockerignore honoured, credentials never
    (scaffold_flyte.build_context). Its ``files`` are exactly what is sent beside the Dockerfile, and
    what the tag's digest covers. Imported here: only an image with a Dockerfile of its own has one."""
    from scaffold_flyte.build_context import scan

    return scan(root, dockerfile_name)


def _files_digest(root: Path, files: Iterable[str]) -> str:
    digest = hashlib.sha256()
    for rel in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256((root / rel).read_bytes()).digest())
    return digest.hexdigest()


def _resolve(path: str, launch_dir: Path) -> Path:
    candidate = Path(path).expanduser()
    return candidate if candidate.is_absolute() else launch_dir / candidate


def _existing_file(spec: ImageSpec, setting: str, what: str, launch_dir: Path) -> Path:
    """The file an image setting names (relative to where you launch), or the error naming the setting."""
    path = _resolve(getattr(spec, setting), launch_dir)
    if not path.is_file():
        raise ImageConfigError(
            f"image '{spec.name}': {what} {path} does not exist: fix hydra.launcher.images.{spec.name}.{setting}."
        )
    return path


def _find_upwards(start: Path, name: str) -> Path | None:
    for folder in [start, *start.parents]:
        if (folder / name).is_file():
            return folder / name
    return None
