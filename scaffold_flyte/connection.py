"""The connection to Flyte: flytekit's own configuration, unless the launcher names an endpoint.

``Config.auto()`` reads ``$FLYTECTL_CONFIG``, ``~/.flyte/config.yaml`` and ``FLYTE_*`` variables,
auth settings included; ``hydra.launcher.endpoint`` / ``.insecure`` override only what they name.
Nothing here turns TLS off on its own.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from scaffold_flyte.errors import ConnectionSettingsError


@dataclass(frozen=True)
class Connection:
    """Where the launch goes, and where that was configured (for error messages)."""

    endpoint: str
    insecure: bool
    source: str
    project: str
    domain: str
    config: Any  # flytekit.configuration.Config

    def console_url(self, execution_name: str) -> str:
        host = self.endpoint.split("://")[-1]
        scheme = "http" if self.insecure else "https"
        return f"{scheme}://{host}/console/projects/{self.project}/domains/{self.domain}/executions/{execution_name}"


def resolve_connection(endpoint: str | None, insecure: bool | None, project: str, domain: str) -> Connection:
    """The endpoint and security to use, without connecting."""
    from flytekit.configuration import Config

    config = Config.auto()
    platform = config.platform
    source = _config_source()
    if endpoint:
        platform = replace(platform, endpoint=endpoint)
        source = "hydra.launcher.endpoint"
    if insecure is not None:
        platform = replace(platform, insecure=insecure)
    config = config.with_params(platform=platform)
    return Connection(platform.endpoint, bool(platform.insecure), source, project, domain, config)


# Served without auth by every flyteadmin (flytekit asks it before logging in): any answer, even an
# error status, proves the admin is there; only "unavailable" or the deadline mean it is not.
PROBE_METHOD = "/flyteidl.service.AuthMetadataService/GetPublicClientConfig"


def check_reachable(connection: Connection, timeout: float = 5.0) -> None:
    """Fail fast, before any build, when nothing answers at the endpoint.

    One unary call with ``wait_for_ready`` rather than ``channel_ready_future``: the latter's
    connectivity polling makes closing the channel take ~200 ms.
    """
    import grpc

    target = connection.endpoint.split("://")[-1]
    if connection.insecure:
        channel = grpc.insecure_channel(target)
    else:
        channel = grpc.secure_channel(target, grpc.ssl_channel_credentials())
    probe = channel.unary_unary(PROBE_METHOD, request_serializer=bytes, response_deserializer=bytes)
    try:
        probe(b"", timeout=timeout, wait_for_ready=True)
    except grpc.RpcError as error:
        if error.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
            raise ConnectionSettingsError(
                f"Cannot reach Flyte at {connection.endpoint} (from {connection.source}) within {timeout:.0f} s: "
                "start it, or set hydra.launcher.endpoint=<host:port> (and hydra.launcher.insecure=true for a "
                "plain-text sandbox)."
            ) from None
    finally:
        channel.close()


def make_remote(connection: Connection) -> Any:
    """A FlyteRemote on the connection, in the launch's project and domain."""
    from flytekit.remote import FlyteRemote

    return FlyteRemote(config=connection.config, default_project=connection.project, default_domain=connection.domain)


def _config_source() -> str:
    if os.environ.get("FLYTE_PLATFORM_URL"):
        return "$FLYTE_PLATFORM_URL"
    if os.environ.get("FLYTECTL_CONFIG"):
        return f"$FLYTECTL_CONFIG ({os.environ['FLYTECTL_CONFIG']})"
    default = Path.home() / ".flyte" / "config.yaml"
    if default.is_file():
        return str(default)
    return "flytekit's built-in default (no $FLYTECTL_CONFIG, ~/.flyte/config.yaml or FLYTE_PLATFORM_URL)"
