from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def private_flyte_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process tests run workflows locally: keep flytekit's local cache out of the user's HOME."""
    from flytekit.configuration.file import get_config_file

    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FLYTE_LOCAL_CACHE_ENABLED", "false")
    get_config_file.cache_clear()  # flytekit finds its config file once per process (lru_cache): per HOME here
    yield
    get_config_file.cache_clear()


@pytest.fixture(autouse=True)
def hydra_version_base_restored() -> Iterator[None]:
    """Importing an example's ``@hydra.main(version_base=...)`` sets Hydra's process-wide version base.

    Hydra's launcher suites expect the default (1.1 compatibility: jobs chdir into their output
    folder), so each test gets back the base it started with whatever the previous one imported.
    """
    from hydra.version import VersionBase

    instance = VersionBase.instance()
    saved = instance.getbase()
    yield
    instance.version_base = saved


@pytest.fixture(autouse=True)
def no_hydra_config_left() -> Iterator[None]:
    """A test that ran Hydra in-process leaves its HydraConfig set, and with it another test's
    runtime.cwd for every relative path the next test resolves: each test starts without one."""
    from hydra.core.hydra_config import HydraConfig

    yield
    HydraConfig.instance().cfg = None


@pytest.fixture(scope="module")
def client() -> Any:
    """The Docker engine's client: skips outside CI when the engine, registry or base image is missing."""
    from tests import infra

    return infra.docker_client()


@pytest.fixture
def standin(client: Any) -> Iterator[Any]:
    """A fresh test stand-in for Flyte's admin API (tests/flyte_standin) that runs executions in containers."""
    from tests.flyte_standin import StandIn

    running = StandIn(client)
    yield running
    running.stop()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOME for a subprocess run: a fresh flytekit local cache."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def unauthorized_registry() -> Iterator[str]:
    """A registry stand-in on 127.0.0.1 that answers every request 401, as one whose login failed."""
    import http.server
    import threading

    class Deny(http.server.BaseHTTPRequestHandler):
        def _deny(self) -> None:
            self.send_response(401)
            self.send_header("WWW-Authenticate", 'Basic realm="test"')
            self.send_header("Docker-Distribution-API-Version", "registry/2.0")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = _deny

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Deny)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"localhost:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
