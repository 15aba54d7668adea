"""The connection is flytekit's: its channel (TLS, CA certificate), its console URLs, its endpoint forms.

Whether Flyte is there is told by the launch's first real call (is this version registered?),
made through FlyteRemote's client before any image is built, not by a probe of our own.
"""

from __future__ import annotations

import datetime
import os
import subprocess
import sys
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import launch_plan_pb2
from flyteidl.service import admin_pb2_grpc

from scaffold_flyte.connection import first_call, resolve_connection
from scaffold_flyte.discovery import find_main_workflow
from scaffold_flyte.errors import ConnectionSettingsError
from scaffold_flyte.registration import registered_launch_plan
from tests.fixtures import two_top
from tests.helpers import EXAMPLES


@pytest.fixture(autouse=True)
def config_file_read_again() -> Iterator[None]:
    """flytekit reads the config file once per process (an lru_cache): each test here, and after, reads its own."""
    from flytekit.configuration.file import get_config_file

    get_config_file.cache_clear()
    yield
    get_config_file.cache_clear()


def flytectl_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, text: str) -> None:
    """``$FLYTECTL_CONFIG`` holding ``text``, as flytectl writes it (and no FLYTE_* variable over it)."""
    from flytekit.configuration.file import get_config_file

    path = tmp_path / "config.yaml"
    path.write_text(text)
    monkeypatch.setenv("FLYTECTL_CONFIG", str(path))
    for name in [n for n in os.environ if n.startswith("FLYTE_")]:
        monkeypatch.delenv(name)
    get_config_file.cache_clear()


def test_console_urls_honour_the_console_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flytectl_config(
        tmp_path,
        monkeypatch,
        "admin:\n  endpoint: dns:///flyte.example.org:443\nconsole:\n  endpoint: https://console.example.org\n",
    )
    connection = resolve_connection(None, None, "proj", "dev")
    assert connection.endpoint == "flyte.example.org:443"
    assert connection.source.startswith("$FLYTECTL_CONFIG")
    assert connection.console_url("a1") == "https://console.example.org/console/projects/proj/domains/dev/executions/a1"


def test_a_dns_endpoint_setting_is_read_as_flytekit_reads_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    flytectl_config(tmp_path, monkeypatch, "admin:\n  endpoint: dns:///elsewhere:443\n")
    connection = resolve_connection("dns:///127.0.0.1:8089", True, "proj", "dev")
    assert connection.endpoint == "127.0.0.1:8089"
    assert connection.source == "hydra.launcher.endpoint"
    assert connection.console_url("a1") == "http://127.0.0.1:8089/console/projects/proj/domains/dev/executions/a1"
    secure = resolve_connection("flyte.example.org:443", None, "proj", "dev")
    assert secure.console_url("a1").startswith("https://flyte.example.org:443/console/projects/proj/")


class NoLaunchPlans(admin_pb2_grpc.AdminServiceServicer):
    """An admin that knows no launch plan: enough to answer the launch's first call."""

    def ListLaunchPlans(self, request: Any, context: Any) -> Any:
        return launch_plan_pb2.LaunchPlanList()


@pytest.fixture
def tls_admin(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An admin on TLS, its certificate self-signed for localhost: ``(endpoint, certificate file)``."""
    x509 = pytest.importorskip("cryptography.x509")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (tmp_path / "ca.pem").write_bytes(pem)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    admin_pb2_grpc.add_AdminServiceServicer_to_server(NoLaunchPlans(), server)
    port = server.add_secure_port("127.0.0.1:0", grpc.ssl_server_credentials([(key_pem, pem)]))
    server.start()
    yield f"localhost:{port}", tmp_path / "ca.pem"
    server.stop(grace=None)


def ask_registered(endpoint: str) -> Any:
    connection = resolve_connection(endpoint, None, "flytesnacks", "development")
    main = find_main_workflow(two_top, "first")
    return first_call(connection, lambda: registered_launch_plan(connection.remote, main, connection, "v1"))


def test_the_first_call_uses_flytekits_channel_and_its_ca_certificate(
    tls_admin: tuple[str, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    endpoint, ca_certificate = tls_admin
    flytectl_config(
        tmp_path, monkeypatch, f"admin:\n  endpoint: dns:///{endpoint}\n  caCertFilePath: {ca_certificate}\n"
    )
    assert ask_registered(endpoint) is None  # reached over TLS, trusting the configured CA: not registered

    flytectl_config(tmp_path, monkeypatch, f"admin:\n  endpoint: dns:///{endpoint}\n")  # no CA: not trusted
    with pytest.raises(ConnectionSettingsError) as raised:
        ask_registered(endpoint)
    line = str(raised.value)
    assert line.startswith(f"Cannot reach Flyte at {endpoint} (from hydra.launcher.endpoint) (")
    assert "\n" not in line


def test_nothing_listening_is_one_line_and_comes_before_docker(tmp_path: Path, home: Path) -> None:
    """With no Docker engine reachable at all, the launch still says first that Flyte is not there."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FLYTE", "HYDRA_FULL_ERROR"))}
    env.update(HOME=str(home), DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    args = [
        "-m",
        "hydra/launcher=flyte",
        "hydra.launcher.endpoint=127.0.0.1:9",
        "hydra.launcher.insecure=true",
        "hydra.launcher.images.default.registry=localhost:5000",
        f"hydra.sweep.dir={home.parent}/multirun",
    ]
    result = subprocess.run(
        [sys.executable, "main.py", *args],
        cwd=EXAMPLES / "split_config",
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Cannot reach Flyte at 127.0.0.1:9 (from hydra.launcher.endpoint)" in result.stderr
    assert "Docker" not in result.stderr
