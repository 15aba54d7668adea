"""Whether, and how, the launching machine reaches Flyte's blob store.

Most launches need no access: flyteadmin hands outputs back inline, and fast registration uploads
through signed URLs. Only a value that travels as a pickle (a declared return type flytekit cannot
carry inline) must be read from the bucket, with credentials that a configuration made by
``flytectl config init`` does not have. ``hydra.launcher.storage=sandbox`` gives the demo
cluster's (``flytectl demo start``) public minio settings, as flytekit's ``Config.for_sandbox()``
does, without writing them into any config file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from scaffold_flyte.errors import LauncherConfigError

STORAGE_CHOICES = ("sandbox",)


def data_config(storage: str | None) -> Any | None:
    """flytekit's DataConfig for ``hydra.launcher.storage``; None: flytekit's own configuration."""
    if storage is None:
        return None
    if storage not in STORAGE_CHOICES:
        raise LauncherConfigError(
            f"hydra.launcher.storage={storage} is not known: use hydra.launcher.storage=sandbox for the demo cluster, "
            "or leave it null and configure storage as flytekit reads it (FLYTE_AWS_* variables, your Flyte config)."
        )
    from flytekit.configuration import Config

    return Config.for_sandbox().data_config


def has_blob_storage(storage: str | None) -> bool:
    """True when the launching machine has blob store settings of any kind (values are not read)."""
    if data_config(storage) is not None:
        return True
    from flytekit.configuration import DataConfig

    config = DataConfig.auto()
    if config.s3.endpoint or config.s3.access_key_id or config.azure.account_name or config.azure.client_id:
        return True
    names = ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_WEB_IDENTITY_TOKEN_FILE", "GOOGLE_APPLICATION_CREDENTIALS")
    return any(os.environ.get(name) for name in names) or (Path.home() / ".aws" / "credentials").is_file()
