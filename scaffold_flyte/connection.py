"""The connection to Flyte: flytekit's own configuration, unless the launcher names an endpoint.

``Config.auto()`` reads ``$FLYTECTL_CONFIG``, ``~/.flyte/config.yaml`` and ``FLYTE_*`` variables,
auth settings included; ``hydra.launcher.endpoint`` / ``.insecure`` override only what they name.
Nothing here turns TLS off on its own, and nothing opens a channel of its own: every call goes
through FlyteRemote's client (flytekit's TLS, ``ca_cert_file_path``, ``insecure_skip_verify``,
auth). Whether Flyte is there is told by the launch's first real call (``first_call``), not by an
extra probe; console URLs are flytekit's (``console.endpoint`` honoured).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from scaffold_flyte import blob_storage
from scaffold_flyte.errors import ConnectionSettingsError

T = TypeVar("T")


@dataclass(frozen=True)
class Connection:
    """Where the launch goes, and where that was configured (for error messages)."""

    endpoint: str
    insecure: bool
    source: str
    project: str
    domain: str
    config: Any  # flytekit.configuration.Config
    remote: Any = field(default=None, compare=False, repr=False)  # FlyteRemote on ``config``; connects lazily

    def console_url(self, execution_name: str) -> str:
        """The execution's page, as FlyteRemote.generate_console_url makes it (console.endpoint if set)."""
        from flytekit.models.core.identifier import WorkflowExecutionIdentifier

        execution = WorkflowExecutionIdentifier(self.project, self.domain, execution_name)
        return str(self.remote.generate_console_url(execution))

    def entity_url(self, identifier: Any) -> str:
        """A registered entity's page (a launch plan's, say), as FlyteRemote.generate_console_url makes it."""
        return str(self.remote.generate_console_url(identifier))


def resolve_connection(
    endpoint: str | None, insecure: bool | None, project: str, domain: str, storage: str | None = None
) -> Connection:
    """The endpoint and security to use, without connecting (FlyteRemote opens its channel on first use)."""
    from flytekit.configuration import Config
    from flytekit.configuration.internal import Platform
    from flytekit.remote import FlyteRemote

    config = Config.auto()
    platform = config.platform
    source = _config_source()
    if endpoint:
        # as flytekit reads admin.endpoint from a config file: `dns:///host:port` is `host:port`
        transform = Platform.URL.transform
        platform = replace(platform, endpoint=transform(endpoint) if transform else endpoint)
        source = "hydra.launcher.endpoint"
    if insecure is not None:
        platform = replace(platform, insecure=insecure)
    config = config.with_params(platform=platform)
    data_config = blob_storage.data_config(storage)
    if data_config is not None:
        config = config.with_params(data_config=data_config)
    remote = FlyteRemote(config=config, default_project=project, default_domain=domain)
    return Connection(platform.endpoint, bool(platform.insecure), source, project, domain, config, remote)


def first_call(connection: Connection, call: Callable[[], T]) -> T:
    """Make the launch's first admin call; nothing answering there is the one-line "Cannot reach" error.

    The call is a real one (is this version registered?), made before any image is built, so an
    unreachable admin costs no build and no extra round trip. flytekit's client raises
    FlyteSystemUnavailableException for UNAVAILABLE and FlyteTimeout for DEADLINE_EXCEEDED
    (clients/grpc_utils/wrap_exception_interceptor.py), after its own retries; creating the
    client can fail with an OSError first (``insecure_skip_verify`` fetches the server's
    certificate).
    """
    from flytekit.exceptions.system import FlyteSystemUnavailableException
    from flytekit.exceptions.user import FlyteTimeout

    try:
        return call()
    except (FlyteSystemUnavailableException, FlyteTimeout, OSError) as error:
        raise ConnectionSettingsError(unreachable(connection, error)) from None


def unreachable(connection: Connection, error: BaseException) -> str:
    """The "Cannot reach Flyte" line, with gRPC's reason (refused, TLS handshake, ...) when it has one."""
    cause = error.__cause__ or error
    details = getattr(cause, "details", None)
    reason = " ".join(str(details() if callable(details) else cause).split())
    return (
        f"Cannot reach Flyte at {connection.endpoint} (from {connection.source}){f' ({reason})' if reason else ''}: "
        "start it, or set hydra.launcher.endpoint=<host:port> (and hydra.launcher.insecure=true for a "
        "plain-text sandbox)."
    )


def make_remote(connection: Connection) -> Any:
    """The FlyteRemote on the connection, in the launch's project and domain."""
    return connection.remote


def _config_source() -> str:
    if os.environ.get("FLYTE_PLATFORM_URL"):
        return "$FLYTE_PLATFORM_URL"
    if os.environ.get("FLYTECTL_CONFIG"):
        return f"$FLYTECTL_CONFIG ({os.environ['FLYTECTL_CONFIG']})"
    default = Path.home() / ".flyte" / "config.yaml"
    if default.is_file():
        return str(default)
    return "flytekit's built-in default (no $FLYTECTL_CONFIG, ~/.flyte/config.yaml or FLYTE_PLATFORM_URL)"
