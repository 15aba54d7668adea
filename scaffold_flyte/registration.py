"""Registering the main workflow: the code bundle, a content-derived version, fast registration.

The version is a hash of the code bundle, the image references and the settings that shape the
registered entities, so the same code and images give the same version. A launch first asks Flyte
whether that version's launch plan (registered last) exists: if so it uploads and registers
nothing. Otherwise it uploads the bundle and registers through FlyteRemote.register_workflow,
which treats an identical existing entity as success.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import tarfile
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from scaffold_flyte.connection import Connection
from scaffold_flyte.discovery import MainWorkflow, app_package_root
from scaffold_flyte.errors import VERSION_CLASH, RegistrationError, flyte_message, invalid_argument_advice
from scaffold_flyte.images import DEFAULT_IMAGE, ImagePlan

DESTINATION_DIR = "."  # where pyflyte-fast-execute unpacks the bundle: the task's working directory


@dataclass(frozen=True)
class CodeBundle:
    """The fast-registration archive: the app's loaded modules, packed by flytekit."""

    archive: Path
    md5: bytes
    files: tuple[str, ...]

    @property
    def digest(self) -> str:
        return self.md5.hex()


def make_bundle(app_dir: Path, output_dir: Path) -> CodeBundle:
    """Pack the app's code as ``pyflyte run --copy auto`` does: the files of the modules loaded from ``app_dir``.

    flytekit's own packer lists a file once per module object, and ``__main__`` is often in
    ``sys.modules`` twice (``__mp_main__`` too, for multiprocessing): the same file would go into
    the archive twice. So the list is flytekit's, each file once, packed the way flytekit packs it
    (attributes stripped, gzip without a timestamp), named after a hash of paths and contents.
    """
    from flytekit.tools.fast_registration import FAST_FILEENDING, FAST_PREFIX, compress_tarball
    from flytekit.tools.script_mode import hash_file, list_imported_modules_as_files, tar_strip_file_attributes

    loaded = list_imported_modules_as_files(str(app_dir), maybe_under(app_dir, list(sys.modules.values())))
    files = tuple(sorted({os.path.relpath(os.path.abspath(path), app_dir) for path in loaded}))
    listing = hashlib.md5()
    for name in files:
        listing.update(name.encode() + b"\0" + (app_dir / name).read_bytes() + b"\0")
    archive = output_dir / f"{FAST_PREFIX}{listing.hexdigest()}{FAST_FILEENDING}"
    with tempfile.TemporaryDirectory() as scratch:
        tar_path = Path(scratch) / "bundle.tar"
        with tarfile.open(tar_path, "w") as tar:
            for name in files:
                tar.add(app_dir / name, arcname=name, recursive=False, filter=tar_strip_file_attributes)
        compress_tarball(tar_path, archive)
    md5, _, _ = hash_file(archive)
    return CodeBundle(archive=archive, md5=md5, files=files)


def maybe_under(app_dir: Path, modules: Iterable[ModuleType]) -> list[ModuleType]:
    """The modules whose file may lie in ``app_dir``; flytekit's own test then decides for each.

    That test (``list_imported_modules_as_files``) compares every module of ``sys.modules``,
    thousands, with half a dozen folders through ``os.path.commonpath``: most of a relaunch's
    bundle time. A normalized file path not starting with ``app_dir`` cannot pass it, so only
    the others are handed on (un-normalized ones too, to let flytekit judge them as before).
    Lazily loaded modules stay unloaded (``_file_of``).
    """
    prefix = os.path.join(str(app_dir), "")
    kept = []
    for module in modules:
        file = _file_of(module)
        if isinstance(file, str) and (file.startswith(prefix) or os.path.normpath(file) != file):
            kept.append(module)
    return kept


def _file_of(module: Any) -> Any:
    """A module's ``__file__`` read from its namespace: asking a lazily loaded module for it
    (``importlib.util.LazyLoader``, which flytekit uses for heavy optional packages) would import it."""
    if not isinstance(module, ModuleType):  # something else put in sys.modules: ask it as flytekit does
        return getattr(module, "__file__", None)
    try:
        return object.__getattribute__(module, "__dict__").get("__file__")
    except Exception:  # noqa: BLE001 - a module without a readable namespace has no file to pack
        return None


def content_version(
    main: MainWorkflow,
    code_digest: str,
    images: Iterable[ImagePlan],
    connection: Connection,
    bake_code: bool,
    task_settings: str = "",
) -> str:
    """Same code, images and settings: same version (so a relaunch registers nothing).

    ``task_settings`` is the digest of the per-task runtime settings from config (task_settings.py):
    they change the registered task templates, not the code.
    """
    content: dict[str, Any] = {
        "workflow": main.name,
        "code": code_digest,
        "fingerprint": main.fingerprint,
        "images": sorted((plan.name, plan.reference) for plan in images),
        "project": connection.project,
        "domain": connection.domain,
        "bake_code": bake_code,
        "destination_dir": DESTINATION_DIR,
    }
    if task_settings:  # absent when no task has any: versions from before stay as they were
        content["task_settings"] = task_settings
    return hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()[:20]


def image_config(images: Iterable[ImagePlan]) -> Any:
    """flytekit's ImageConfig: the default image and each named one, as tasks reference them."""
    from flytekit.configuration import ImageConfig

    by_name = {plan.name: plan.reference for plan in images}
    others = {name: ref for name, ref in by_name.items() if name != DEFAULT_IMAGE}
    return ImageConfig.from_images(by_name[DEFAULT_IMAGE], others)


def serialization_settings(
    connection: Connection, images: Iterable[ImagePlan], version: str, app_dir: Path, bundle_url: str | None
) -> Any:
    """How the entities are serialized: fast (bundle_url given) or with the code in the image."""
    from flytekit.configuration import FastSerializationSettings, SerializationSettings

    fast = FastSerializationSettings(enabled=True, destination_dir=DESTINATION_DIR, distribution_location=bundle_url)
    return SerializationSettings(
        project=connection.project,
        domain=connection.domain,
        version=version,
        image_config=image_config(images),
        source_root=str(app_dir),
        fast_serialization_settings=fast if bundle_url else None,
    )


def registered_launch_plan(remote: Any, main: MainWorkflow, connection: Connection, version: str) -> Any | None:
    """The default launch plan at ``version`` if Flyte has it (it is registered last), else None.

    One ListLaunchPlans on the name, filtered on the version, rather than a GetLaunchPlan: flytekit's
    client retries every error three times (clients/grpc_utils/wrap_exception_interceptor.py),
    NOT_FOUND included, so asking for a version not registered yet cost four calls, where a listing
    answers an empty page in one.
    """
    from flytekit.models.common import NamedEntityIdentifier
    from flytekit.models.filters import Equal

    named = NamedEntityIdentifier(connection.project, connection.domain, main.name)
    plans, _ = remote.client.list_launch_plans_paginated(named, limit=1, filters=[Equal("version", version)])
    return plans[0] if plans else None


def fetch_launch_plan(remote: Any, main: MainWorkflow, version: str, registered: Any | None = None) -> Any:
    """The registered default launch plan: its id, inputs (default and fixed) and settings.

    ``registered``: the launch plan as a listing returned it, so nothing more is read; otherwise one
    GetLaunchPlan. Not ``FlyteRemote.fetch_launch_plan``, which reads the workflow too (GetWorkflow)
    for an interface and a FlyteWorkflow that nothing here uses: an execution is created on the
    launch plan's id, and its inputs are checked against the launch plan's own default and fixed
    inputs, as flyteadmin checks them.
    """
    from flytekit.models.core.identifier import Identifier, ResourceType
    from flytekit.remote.entities import FlyteLaunchPlan

    if registered is None:
        project, domain = remote.default_project, remote.default_domain
        registered = remote.client.get_launch_plan(
            Identifier(ResourceType.LAUNCH_PLAN, project, domain, main.name, version)
        )
    return FlyteLaunchPlan.promote_from_model(registered.id, registered.spec)


def upload_bundle(remote: Any, bundle: CodeBundle, connection: Connection) -> str:
    """Upload the bundle through Flyte's data proxy; returns its native URL for the task args."""
    _, url = remote.upload_file(bundle.archive, connection.project, connection.domain)
    return str(url)


def register(remote: Any, main: MainWorkflow, settings: Any) -> None:
    """Register tasks, sub-workflows, the workflow and its default launch plan.

    Serialized with the app folder as flytekit's package root, so each task's command imports its
    module by the name the entity is registered under (discovery.stable_names). An
    INVALID_ARGUMENT is told apart by Flyte's message: only "... with different structure already
    exists" means that this version already holds other content.
    """
    from flytekit.exceptions.user import FlyteInvalidInputException

    try:
        with app_package_root(Path(settings.source_root)):
            remote.register_workflow(main.workflow, serialization_settings=settings, version=settings.version)
    except FlyteInvalidInputException as error:
        message = flyte_message(error)
        what = f"registering {_entity_sent(error, main.name)} at version {settings.version}"
        if VERSION_CLASH in message:
            raise RegistrationError(
                f"{what}: Flyte already holds other content under this version ({message}): a version holds one "
                "content; drop hydra.launcher.version to use the content hash, or name a new version."
            ) from None
        raise RegistrationError(invalid_argument_advice(message, what, settings.project, settings.domain)) from None


def _entity_sent(error: Any, default: str) -> str:
    """The entity a refused create request was for (flytekit keeps the request on the exception)."""
    request = getattr(error, "request", None)
    kind = {"TaskCreateRequest": "task", "WorkflowCreateRequest": "workflow", "LaunchPlanCreateRequest": "launch plan"}
    name = getattr(getattr(request, "id", None), "name", "")
    return f"{kind[type(request).__name__]} {name}" if type(request).__name__ in kind and name else default
