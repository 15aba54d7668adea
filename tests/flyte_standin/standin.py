"""Starting and stopping the stand-in (a test stand-in for Flyte's admin API; see the package docstring)."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any

from tests.flyte_standin.catalog import DataCatalog
from tests.flyte_standin.runner import Runner
from tests.flyte_standin.server import ExecutionRecord, Faults, start_grpc
from tests.flyte_standin.storage import BlobStore
from tests.flyte_standin.validation import SANDBOX_PROJECTS


class StandIn:
    """A running stand-in: ``endpoint`` for FlyteRemote, ``calls`` per RPC, ``uploads``, injected ``faults``.

    With a Docker client, executions run for real in containers; without one, they stay in the
    phase flyteadmin creates them in (enough to test registration and execution creation).
    ``store`` is its S3 blob store, ``catalog`` its data catalog. ``projects`` are the projects that
    exist, each with its domains, as ``flytectl create project`` leaves them (the sandbox's by
    default); registering or executing anywhere else is refused, as flyteadmin refuses it.
    """

    def __init__(
        self, docker_client: Any | None = None, port: int = 0, projects: Mapping[str, Sequence[str]] | None = None
    ) -> None:
        self.projects = {
            name: list(domains) for name, domains in (SANDBOX_PROJECTS if projects is None else projects).items()
        }
        self.store = BlobStore()
        self.catalog = DataCatalog()
        self.uploads: list[str] = []  # native URLs handed out for uploads (CreateUploadLocation)
        self.faults = Faults()
        self.admin: Any = None
        self.runner: Runner | None = None
        self.grpc, self.port, self._log = start_grpc(self, self.faults, port)
        if docker_client is not None:
            self.runner = Runner(self.admin, self.store, docker_client, self.catalog)
        self._threads: list[threading.Thread] = []

    @property
    def endpoint(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def calls(self) -> dict[str, int]:
        return dict(self._log.calls)

    def reset_calls(self) -> None:
        self._log.calls.clear()

    def on_execution_created(self, exec_id: Any, record: ExecutionRecord, lp_spec: Any) -> None:
        if self.runner is None:
            return
        thread = threading.Thread(target=self.runner.run, args=(exec_id, record, lp_spec), daemon=True)
        self._threads.append(thread)
        thread.start()

    def on_terminate(self, record: ExecutionRecord, cause: str) -> None:
        if self.runner is not None:
            self.runner.terminate(record)
        else:
            record.abort_requested = True
            from flyteidl.core import execution_pb2

            record.phase = execution_pb2.WorkflowExecution.ABORTED

    def executions(self) -> dict[str, ExecutionRecord]:
        return {key[2]: record for key, record in self.admin.executions.items()}

    def registered(self, kind: int | None = None) -> list[tuple[int, str, str, str, str]]:
        return [key for key in self.admin.entities if kind is None or key[0] == kind]

    def spec(self, key: tuple[int, str, str, str, str]) -> Any:
        return self.admin.entities[key]

    def wait_idle(self, timeout: float = 300) -> None:
        for thread in self._threads:
            thread.join(timeout)

    def stop(self) -> None:
        """Stop serving and abort what still runs (a test that left executions running is done with them)."""
        self.grpc.stop(grace=None)
        if self.runner is not None:
            for record in self.admin.executions.values():
                if record.finished is None:
                    self.runner.terminate(record)
        self.wait_idle(60)
        self.store.stop()
