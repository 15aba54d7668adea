"""The stand-in's gRPC servicers and its HTTP upload sink (see the package docstring: a test stand-in)."""

from __future__ import annotations

import base64
import http.server
import threading
import time
import uuid
from collections import Counter
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, node_execution_pb2, task_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.service import admin_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc
from google.protobuf import timestamp_pb2

Phase = core_execution_pb2.WorkflowExecution
EntityKey = tuple[int, str, str, str, str]


def key_of(identifier: identifier_pb2.Identifier, resource_type: int | None = None) -> EntityKey:
    kind = identifier.resource_type if resource_type is None else resource_type
    return (kind, identifier.project, identifier.domain, identifier.name, identifier.version)


def now() -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.GetCurrentTime()
    return stamp


@dataclass
class ExecutionRecord:
    """One execution: what was asked, and what the runner made of it."""

    request: execution_pb2.ExecutionCreateRequest
    workflow_id: identifier_pb2.Identifier
    phase: int = Phase.QUEUED
    outputs: Any = None  # literals_pb2.LiteralMap
    error: core_execution_pb2.ExecutionError | None = None
    nodes: dict[str, int] = field(default_factory=dict)  # node id -> NodeExecution phase
    node_errors: dict[str, core_execution_pb2.ExecutionError] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    containers: list[str] = field(default_factory=list)
    abort_requested: bool = False


class Faults:
    """Injected failures: the next N calls of a method fail with a gRPC code, before doing anything."""

    def __init__(self) -> None:
        self._pending: dict[str, list[grpc.StatusCode | None]] = {}
        self._lock = threading.Lock()

    def fail_next(
        self, method: str, times: int = 1, code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE, after: int = 0
    ) -> None:
        """The ``times`` calls of ``method`` that follow the next ``after`` ones fail with ``code``."""
        with self._lock:
            self._pending.setdefault(method, []).extend([None] * after + [code] * times)

    def take(self, method: str) -> grpc.StatusCode | None:
        with self._lock:
            queue = self._pending.get(method)
            return queue.pop(0) if queue else None


class Admin(admin_pb2_grpc.AdminServiceServicer):
    """AdminService: entities, launch plans and executions, kept in memory."""

    def __init__(self, standin: Any) -> None:
        self.standin = standin
        self.entities: dict[EntityKey, Any] = {}  # key -> spec message
        self.executions: dict[tuple[str, str, str], ExecutionRecord] = {}
        self.lock = threading.Lock()

    # -- registration -------------------------------------------------------------------------
    def _create(self, context: grpc.ServicerContext, kind: int, identifier: Any, spec: Any, label: str) -> None:
        key = key_of(identifier, kind)
        with self.lock:
            existing = self.entities.get(key)
            if existing is None:
                self.entities[key] = spec
                return
        if existing.SerializeToString(deterministic=True) == spec.SerializeToString(deterministic=True):
            context.abort(grpc.StatusCode.ALREADY_EXISTS, f"{label} with identical structure already exists")
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{label} with different structure already exists")

    def _get(self, context: grpc.ServicerContext, kind: int, identifier: Any) -> Any:
        spec = self.entities.get(key_of(identifier, kind))
        if spec is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"entity {identifier.name}:{identifier.version} does not exist")
        return spec

    def CreateTask(self, request: Any, context: Any) -> Any:
        self._create(context, identifier_pb2.TASK, request.id, request.spec, "task")
        return task_pb2.TaskCreateResponse()

    def GetTask(self, request: Any, context: Any) -> Any:
        spec = self._get(context, identifier_pb2.TASK, request.id)
        closure = task_pb2.TaskClosure(
            compiled_task=compiler_pb2.CompiledTask(template=spec.template), created_at=now()
        )
        return task_pb2.Task(id=_typed(request.id, identifier_pb2.TASK), closure=closure)

    def CreateWorkflow(self, request: Any, context: Any) -> Any:
        self._create(context, identifier_pb2.WORKFLOW, request.id, request.spec, "workflow")
        return workflow_pb2.WorkflowCreateResponse()

    def GetWorkflow(self, request: Any, context: Any) -> Any:
        spec = self._get(context, identifier_pb2.WORKFLOW, request.id)
        closure = workflow_pb2.WorkflowClosure(compiled_workflow=self.compile(spec), created_at=now())
        return workflow_pb2.Workflow(id=_typed(request.id, identifier_pb2.WORKFLOW), closure=closure)

    def compile(self, spec: workflow_pb2.WorkflowSpec) -> compiler_pb2.CompiledWorkflowClosure:
        """What flyteadmin's compiler hands back, as far as flytekit reads it: templates and tasks."""
        templates = [spec.template, *spec.sub_workflows]
        task_ids: dict[EntityKey, identifier_pb2.Identifier] = {}
        for template in templates:
            for node in _all_nodes(template.nodes):
                if node.HasField("task_node"):
                    task_ids[key_of(node.task_node.reference_id, identifier_pb2.TASK)] = node.task_node.reference_id
        tasks = [
            compiler_pb2.CompiledTask(template=self.entities[key].template) for key in task_ids if key in self.entities
        ]
        return compiler_pb2.CompiledWorkflowClosure(
            primary=compiler_pb2.CompiledWorkflow(template=spec.template),
            sub_workflows=[compiler_pb2.CompiledWorkflow(template=t) for t in spec.sub_workflows],
            tasks=tasks,
        )

    def CreateLaunchPlan(self, request: Any, context: Any) -> Any:
        self._create(context, identifier_pb2.LAUNCH_PLAN, request.id, request.spec, "launch plan")
        return launch_plan_pb2.LaunchPlanCreateResponse()

    def GetLaunchPlan(self, request: Any, context: Any) -> Any:
        spec = self._get(context, identifier_pb2.LAUNCH_PLAN, request.id)
        workflow = self.entities.get(key_of(spec.workflow_id, identifier_pb2.WORKFLOW))
        closure = launch_plan_pb2.LaunchPlanClosure(
            state=launch_plan_pb2.ACTIVE,
            expected_inputs=spec.default_inputs,
            expected_outputs=workflow.template.interface.outputs if workflow else None,
            created_at=now(),
        )
        return launch_plan_pb2.LaunchPlan(id=_typed(request.id, identifier_pb2.LAUNCH_PLAN), spec=spec, closure=closure)

    def UpdateLaunchPlan(self, request: Any, context: Any) -> Any:
        return launch_plan_pb2.LaunchPlanUpdateResponse()

    # -- executions ---------------------------------------------------------------------------
    def CreateExecution(self, request: Any, context: Any) -> Any:
        if not request.name:  # as flyteadmin does: a generated name when the client gives none
            request.name = "a" + uuid.uuid4().hex[:19]
        exec_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=request.name
        )
        lp_spec = self._get(context, identifier_pb2.LAUNCH_PLAN, request.spec.launch_plan)
        with self.lock:
            key = (request.project, request.domain, request.name)
            if key in self.executions:
                context.abort(grpc.StatusCode.ALREADY_EXISTS, f"execution {request.name} already exists")
            record = ExecutionRecord(request=request, workflow_id=lp_spec.workflow_id)
            self.executions[key] = record
        self.standin.on_execution_created(exec_id, record, lp_spec)
        return execution_pb2.ExecutionCreateResponse(id=exec_id)

    def _record(self, context: Any, exec_id: Any) -> ExecutionRecord:
        record = self.executions.get((exec_id.project, exec_id.domain, exec_id.name))
        if record is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"execution {exec_id.name} does not exist")
        return record

    def GetExecution(self, request: Any, context: Any) -> Any:
        record = self._record(context, request.id)
        closure = execution_pb2.ExecutionClosure(
            phase=record.phase,
            workflow_id=record.workflow_id,
            created_at=_stamp(record.created),
            updated_at=now(),
        )
        if record.started:
            closure.started_at.CopyFrom(_stamp(record.started))
            closure.duration.FromSeconds(int((record.finished or time.time()) - record.started))
        if record.error is not None:
            closure.error.CopyFrom(record.error)
        if record.abort_requested and record.phase == Phase.ABORTED:
            closure.abort_metadata.cause = "terminated"
        return execution_pb2.Execution(id=request.id, spec=record.request.spec, closure=closure)

    def GetExecutionData(self, request: Any, context: Any) -> Any:
        record = self._record(context, request.id)
        response = execution_pb2.WorkflowExecutionGetDataResponse(full_inputs=record.request.inputs)
        if record.outputs is not None:
            response.full_outputs.CopyFrom(record.outputs)
        return response

    def ListNodeExecutions(self, request: Any, context: Any) -> Any:
        record = self._record(context, request.workflow_execution_id)
        listing = node_execution_pb2.NodeExecutionList()
        for node_id, phase in list(record.nodes.items()):
            item = listing.node_executions.add()
            item.id.node_id = node_id
            item.id.execution_id.CopyFrom(request.workflow_execution_id)
            item.metadata.spec_node_id = node_id
            item.closure.phase = phase
            if node_id in record.node_errors:
                item.closure.error.CopyFrom(record.node_errors[node_id])
        return listing

    def TerminateExecution(self, request: Any, context: Any) -> Any:
        record = self._record(context, request.id)
        self.standin.on_terminate(record, request.cause)
        return execution_pb2.ExecutionTerminateResponse()


class DataProxy(dataproxy_pb2_grpc.DataProxyServiceServicer):
    """Upload locations in the local blob store; the bytes arrive by HTTP PUT (UploadSink)."""

    def __init__(self, standin: Any) -> None:
        self.standin = standin

    def CreateUploadLocation(self, request: Any, context: Any) -> Any:
        folder = request.filename_root or base64.b32encode(request.content_md5).decode().strip("=").lower()
        native = self.standin.blob_root / "uploads" / request.project / request.domain / folder / request.filename
        return dataproxy_pb2.CreateUploadLocationResponse(
            signed_url=f"http://127.0.0.1:{self.standin.http_port}{native}", native_url=str(native)
        )


class UploadSink(http.server.BaseHTTPRequestHandler):
    """Writes PUT bodies to the path they name, inside the blob store only."""

    blob_root: Path
    on_upload: Any

    def do_PUT(self) -> None:
        target = Path(self.path.split("?", 1)[0])
        if not target.resolve().is_relative_to(self.blob_root.resolve()):
            self.send_error(403)
            return
        length = int(self.headers.get("Content-Length", 0))
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(self.rfile.read(length))
        self.on_upload(str(target))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class CallLog(grpc.ServerInterceptor):
    """Counts every RPC by method name, and applies injected faults before the servicer runs."""

    def __init__(self, faults: Faults) -> None:
        self.calls: Counter[str] = Counter()
        self.faults = faults
        self.lock = threading.Lock()

    def intercept_service(self, continuation: Any, handler_call_details: Any) -> Any:
        method = handler_call_details.method.rsplit("/", 1)[-1]
        with self.lock:
            self.calls[method] += 1
        code = self.faults.take(method)
        if code is None:
            return continuation(handler_call_details)

        def fail(request: Any, context: Any) -> Any:
            context.abort(code, f"injected fault in {method}")

        return grpc.unary_unary_rpc_method_handler(fail)


def _all_nodes(nodes: Any) -> list[Any]:
    out = []
    for node in nodes:
        out.append(node)
        if node.HasField("branch_node"):
            block = node.branch_node.if_else
            inner = [block.case.then_node, *[c.then_node for c in block.other]]
            if block.HasField("else_node"):
                inner.append(block.else_node)
            out.extend(_all_nodes(inner))
    return out


def _typed(identifier: identifier_pb2.Identifier, kind: int) -> identifier_pb2.Identifier:
    typed = identifier_pb2.Identifier()
    typed.CopyFrom(identifier)
    typed.resource_type = kind
    return typed


def _stamp(seconds: float) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromNanoseconds(int(seconds * 1e9))
    return stamp


def start_grpc(standin: Any, faults: Faults, port: int = 0) -> tuple[grpc.Server, int, CallLog]:
    log = CallLog(faults)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=16), interceptors=[log])
    admin = Admin(standin)
    admin_pb2_grpc.add_AdminServiceServicer_to_server(admin, server)
    dataproxy_pb2_grpc.add_DataProxyServiceServicer_to_server(DataProxy(standin), server)
    port = server.add_insecure_port(f"127.0.0.1:{port}")
    server.start()
    standin.admin = admin
    return server, port, log


def start_http(blob_root: Path, on_upload: Any) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = type("Sink", (UploadSink,), {"blob_root": blob_root, "on_upload": staticmethod(on_upload)})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


__all__ = ["common_pb2", "Faults", "ExecutionRecord", "start_grpc", "start_http"]
