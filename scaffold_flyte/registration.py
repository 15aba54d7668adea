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
import tarfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scaffold_flyte.connection import Connection
from scaffold_flyte.discovery import MainWorkflow
from scaffold_flyte.errors import RegistrationError
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
    """Pack the app's code as ``pyflyte run --copy auto`` does (modules loaded from ``app_dir``)."""
    from flytekit.constants import CopyFileDetection
    from flytekit.tools.fast_registration import FastPackageOptions, fast_package
    from flytekit.tools.script_mode import hash_file

    options = FastPackageOptions([], copy_style=CopyFileDetection.LOADED_MODULES)
    archive = Path(fast_package(app_dir, output_dir, False, options))
    md5, _, _ = hash_file(archive)
    with tarfile.open(archive) as tar:
        files = tuple(sorted(m.name for m in tar.getmembers() if m.isfile()))
    return CodeBundle(archive=archive, md5=md5, files=files)


def content_version(
    main: MainWorkflow, code_digest: str, images: Iterable[ImagePlan], connection: Connection, bake_code: bool
) -> str:
    """Same code, images and settings: same version (so a relaunch registers nothing)."""
    content = {
        "workflow": main.name,
        "code": code_digest,
        "fingerprint": main.fingerprint,
        "images": sorted((plan.name, plan.reference) for plan in images),
        "project": connection.project,
        "domain": connection.domain,
        "bake_code": bake_code,
        "destination_dir": DESTINATION_DIR,
    }
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


def launch_plan_id(main: MainWorkflow, connection: Connection, version: str) -> Any:
    from flytekit.models.core.identifier import Identifier, ResourceType

    return Identifier(ResourceType.LAUNCH_PLAN, connection.project, connection.domain, main.name, version)


def registered_launch_plan(remote: Any, main: MainWorkflow, connection: Connection, version: str) -> Any | None:
    """The default launch plan at ``version`` if Flyte has it (it is registered last), else None."""
    from flytekit.exceptions.user import FlyteEntityNotExistException

    try:
        return remote.client.get_launch_plan(launch_plan_id(main, connection, version))
    except FlyteEntityNotExistException:
        return None


def fetch_launch_plan(remote: Any, main: MainWorkflow, version: str) -> Any:
    """The registered default launch plan, typed with the local workflow's interface (for inputs' literals)."""
    launch_plan = remote.fetch_launch_plan(name=main.name, version=version)
    launch_plan.python_interface = main.workflow.python_interface
    return launch_plan


def upload_bundle(remote: Any, bundle: CodeBundle, connection: Connection) -> str:
    """Upload the bundle through Flyte's data proxy; returns its native URL for the task args."""
    _, url = remote.upload_file(bundle.archive, connection.project, connection.domain)
    return str(url)


def register(remote: Any, main: MainWorkflow, settings: Any) -> None:
    """Register tasks, sub-workflows, the workflow and its default launch plan."""
    from flytekit.exceptions.user import FlyteInvalidInputException

    try:
        remote.register_workflow(main.workflow, serialization_settings=settings, version=settings.version)
    except FlyteInvalidInputException as error:
        raise RegistrationError(
            f"Flyte refused to register {main.name} at version {settings.version} "
            f"({_details(error)}): a version holds one content; drop hydra.launcher.version to use the content "
            "hash, or name a new version."
        ) from None


def check_inputs_declared(lp_model: Any, inputs: Iterable[str], main: MainWorkflow, version: str) -> None:
    """Inputs this launch sends must be declared by the registered launch plan it reuses."""
    declared = set(lp_model.spec.default_inputs.parameters)
    for name in inputs:
        if name not in declared:
            raise RegistrationError(
                f"The registered {main.name} at version {version} does not declare input '{name}' (it declares: "
                f"{', '.join(sorted(declared)) or 'none'}): register this code (drop hydra.launcher.version, or "
                "set hydra.launcher.build=auto) or launch the code that version was made from."
            )


def _details(error: Exception) -> str:
    cause = error.__cause__
    details = getattr(cause, "details", None)
    return str(details() if callable(details) else error)
