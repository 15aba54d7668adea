"""The stand-in's gRPC servicers and its HTTP upload sink (see the package docstring: a test stand-in)."""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections import Counter
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, node_execution_pb2, task_pb2, workflow_pb2
from flyteidl.core import compiler_pb2, identifier_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.service import admin_pb2_grpc, dataproxy_pb2, dataproxy_pb2_grpc
from google.protobuf import timestamp_pb2

from tests.flyte_standin import filters, validation

Phase = core_execution_pb2.WorkflowExecution
MAX_RESPONSE_DATA_BYTES = 2 * 1024 * 1024  # flyteadmin's remoteData.maxSizeInBytes default (2 * MB)
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
    # flyteadmin creates the execution UNDEFINED; propeller's events move it on
    # (flyteadmin/pkg/repositories/transformers/execution.go CreateExecutionModel sets no phase)
    phase: int = Phase.UNDEFINED
    # the inputs as flyteadmin computes them: the user's, the defaults, the fixed ones
    # (flyteadmin/pkg/manager/impl/validation/execution_validator.go CheckAndFetchInputsForExecution)
    inputs: Any = None  # literals_pb2.LiteralMap
    outputs: Any = None  # literals_pb2.LiteralMap
    error: core_execution_pb2.ExecutionError | None = None
    nodes: dict[str, int] = field(default_factory=dict)  # node id -> NodeExecution phase
    node_errors: dict[str, core_execution_pb2.ExecutionError] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    containers: list[str] = field(default_factory=list)
    abort_requested: bool = False
    abort_cause: str = ""  # TerminateExecution's cause (transformers/execution.go SetExecutionAborting)
    # filled by the runner (runner.py)
    outputs_uri: str = ""  # the workflow's outputs.pb in the blob store
    node_times: dict[str, tuple[float, float]] = field(default_factory=dict)  # node id -> (started, ended)
    cache_status: dict[str, int] = field(default_factory=dict)  # node id -> core CatalogCacheStatus
    parents: dict[str, str] = field(default_factory=dict)  # node id -> its parent node (nodes of sub-workflows)
    # node id -> its output literals, as a node execution's outputs (GetNodeExecutionData's full_outputs):
    # what propeller's recovery reads back from the execution it recovers (runner.py _recovered)
    node_outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    # the notifications in force: the request's, else its launch plan's, none with disable_all
    # (flyteadmin/pkg/manager/impl/execution_manager.go launchExecutionAndPrepareModel), in the closure
    notifications: list[Any] = field(default_factory=list)


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
        self.launch_plan_states: dict[EntityKey, int] = {}  # key -> admin LaunchPlanState
        self.inactive_projects: set[str] = set()  # archived projects (flytectl update project --archive)
        # task_resources.limits of flyteadmin's config, by core Resources.ResourceName (the sandbox's: none)
        self.task_resource_limits: dict[int, str] = dict(validation.SANDBOX_TASK_LIMITS)
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

    def _checked(self, context: grpc.ServicerContext, check: Any, *args: Any) -> Any:
        """Run a validation.py check; the AdminError it raises is the call's answer, as in flyteadmin."""
        try:
            return check(*args)
        except validation.AdminError as error:
            self._abort(context, error)

    def _abort(self, context: grpc.ServicerContext, error: validation.AdminError) -> Any:
        context.abort(error.code, error.message)

    def _check_registration(self, context: grpc.ServicerContext, identifier: Any, kind: int) -> None:
        """What task_validator.go ValidateTask, workflow_validator.go ValidateWorkflow and
        launch_plan_validator.go ValidateLaunchPlan check first: a typed identifier, in a registered,
        active project and a known domain (project_validator.go ValidateProjectAndDomain)."""
        self._checked(context, validation.validate_identifier, identifier, kind)
        self._checked(
            context,
            validation.validate_project_and_domain,
            self.standin.projects,
            self.inactive_projects,
            identifier.project,
            identifier.domain,
        )

    def CreateTask(self, request: Any, context: Any) -> Any:
        self._check_registration(context, request.id, identifier_pb2.TASK)
        # task_validator.go validateTaskTemplate: the container's image and resources
        self._checked(context, validation.validate_task, request.spec.template, self.task_resource_limits)
        self._create(context, identifier_pb2.TASK, request.id, request.spec, "task")
        return task_pb2.TaskCreateResponse()

    def GetTask(self, request: Any, context: Any) -> Any:
        spec = self._get(context, identifier_pb2.TASK, request.id)
        closure = task_pb2.TaskClosure(
            compiled_task=compiler_pb2.CompiledTask(template=spec.template), created_at=now()
        )
        return task_pb2.Task(id=_typed(request.id, identifier_pb2.TASK), closure=closure)

    def CreateWorkflow(self, request: Any, context: Any) -> Any:
        self._check_registration(context, request.id, identifier_pb2.WORKFLOW)
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
        """launch_plan_manager.go CreateLaunchPlan: the workflow must be registered; the launch plan is
        validated (launch_plan_validator.go ValidateLaunchPlan), stored with its default inputs
        replaced by the expected inputs it computes, and created INACTIVE."""
        self._checked(context, validation.validate_identifier, request.spec.workflow_id, identifier_pb2.WORKFLOW)
        workflow = self.entities.get(key_of(request.spec.workflow_id, identifier_pb2.WORKFLOW))
        if workflow is None:  # repositories/gormimpl/workflow_repo.go Get
            self._abort(context, validation.missing_entity("WORKFLOW", _bare(request.spec.workflow_id)))
        expected = self._checked(
            context,
            validation.validate_launch_plan,
            request,
            workflow.template.interface.inputs,
            self.standin.projects,
            self.inactive_projects,
        )
        spec = launch_plan_pb2.LaunchPlanSpec()
        spec.CopyFrom(request.spec)
        spec.default_inputs.CopyFrom(expected)
        self._create(context, identifier_pb2.LAUNCH_PLAN, request.id, spec, "launch plan")
        with self.lock:
            self.launch_plan_states[key_of(request.id, identifier_pb2.LAUNCH_PLAN)] = launch_plan_pb2.INACTIVE
        return launch_plan_pb2.LaunchPlanCreateResponse()

    def _launch_plan(self, context: grpc.ServicerContext, identifier: Any) -> tuple[EntityKey, Any]:
        """A registered launch plan's key and stored spec (repositories/gormimpl/launch_plan_repo.go Get)."""
        key = key_of(identifier, identifier_pb2.LAUNCH_PLAN)
        spec = self.entities.get(key)
        if spec is None:
            self._abort(context, validation.missing_entity("LAUNCH_PLAN", _bare(identifier)))
        return key, spec

    def GetLaunchPlan(self, request: Any, context: Any) -> Any:
        """launch_plan_manager.go GetLaunchPlan: the stored spec, its expected inputs and its state."""
        self._checked(context, validation.validate_identifier, request.id, identifier_pb2.LAUNCH_PLAN)
        key, spec = self._launch_plan(context, request.id)
        workflow = self.entities.get(key_of(spec.workflow_id, identifier_pb2.WORKFLOW))
        closure = launch_plan_pb2.LaunchPlanClosure(
            state=self.launch_plan_states.get(key, launch_plan_pb2.INACTIVE),
            expected_inputs=spec.default_inputs,
            expected_outputs=workflow.template.interface.outputs if workflow else None,
            created_at=now(),
        )
        return launch_plan_pb2.LaunchPlan(id=_typed(request.id, identifier_pb2.LAUNCH_PLAN), spec=spec, closure=closure)

    def ListLaunchPlans(self, request: Any, context: Any) -> Any:
        """launch_plan_manager.go ListLaunchPlans (filters, sort and paging as filters.py mirrors them):
        each launch plan as GetLaunchPlan shows it."""
        with self.lock:
            states = {
                key: self.launch_plan_states.get(key, launch_plan_pb2.INACTIVE)
                for key in self.entities
                if key[0] == identifier_pb2.LAUNCH_PLAN
            }
        keys, token = self._checked(context, filters.list_launch_plans, request, states)
        plans = []
        for kind, project, domain, name, version in keys:
            identifier = identifier_pb2.Identifier(
                resource_type=kind, project=project, domain=domain, name=name, version=version
            )
            plans.append(self.GetLaunchPlan(common_pb2.ObjectGetRequest(id=identifier), context))
        return launch_plan_pb2.LaunchPlanList(launch_plans=plans, token=token)

    def GetActiveLaunchPlan(self, request: Any, context: Any) -> Any:
        """launch_plan_manager.go GetActiveLaunchPlan: project, domain and name must be set
        (validation.go ValidateActiveLaunchPlanRequest); the one ACTIVE version of that name, else NOT_FOUND."""
        for field_name in ("project", "domain", "name"):
            if not getattr(request.id, field_name):
                self._abort(context, validation.missing(field_name))
        wanted = (identifier_pb2.LAUNCH_PLAN, request.id.project, request.id.domain, request.id.name)
        with self.lock:
            active = [
                k for k, state in self.launch_plan_states.items() if k[:4] == wanted and state == launch_plan_pb2.ACTIVE
            ]
        if active:
            kind, project, domain, name, version = active[0]
            identifier = identifier_pb2.Identifier(
                resource_type=kind, project=project, domain=domain, name=name, version=version
            )
            return self.GetLaunchPlan(common_pb2.ObjectGetRequest(id=identifier), context)
        context.abort(
            grpc.StatusCode.NOT_FOUND,
            f"No active launch plan could be found: {request.id.project}:{request.id.domain}:{request.id.name}",
        )

    def UpdateLaunchPlan(self, request: Any, context: Any) -> Any:
        """launch_plan_manager.go UpdateLaunchPlan: ACTIVE makes this version the one active version of
        its name (enableLaunchPlan deactivates the one active before); INACTIVE (disableLaunchPlan)
        also checks the identifier's resource type. Either needs the launch plan registered."""
        self._checked(context, validation.check_launch_plan_state, request.state, request.id)
        if request.state == launch_plan_pb2.INACTIVE:
            self._checked(context, validation.validate_identifier, request.id, identifier_pb2.LAUNCH_PLAN)
        key, _ = self._launch_plan(context, request.id)
        with self.lock:
            if request.state == launch_plan_pb2.ACTIVE:
                for other, state in self.launch_plan_states.items():
                    if other[:4] == key[:4] and state == launch_plan_pb2.ACTIVE:
                        self.launch_plan_states[other] = launch_plan_pb2.INACTIVE
            self.launch_plan_states[key] = request.state
        return launch_plan_pb2.LaunchPlanUpdateResponse()

    # -- executions ---------------------------------------------------------------------------
    def CreateExecution(self, request: Any, context: Any) -> Any:
        """execution_manager.go CreateExecution, launchExecution: the request is validated
        (execution_validator.go ValidateExecutionRequest: name, project and domain, launch plan id,
        inputs), the launch plan looked up, and the inputs checked against its expected inputs
        (CheckAndFetchInputsForExecution). Nothing there reads the launch plan's state: an INACTIVE
        launch plan (as every one is when registered) launches."""
        if not request.inputs.literals:  # clients older than flyteidl 0.15 put the inputs in the spec
            request.inputs.CopyFrom(request.spec.inputs)
        self._checked(
            context, validation.validate_execution_request, request, self.standin.projects, self.inactive_projects
        )
        if request.spec.launch_plan.resource_type == identifier_pb2.TASK:
            context.abort(grpc.StatusCode.UNIMPLEMENTED, "stand-in: single-task executions are not supported")
        _, lp_spec = self._launch_plan(context, request.spec.launch_plan)
        inputs = self._checked(
            context,
            validation.check_and_fetch_inputs_for_execution,
            request.inputs,
            lp_spec.fixed_inputs,
            lp_spec.default_inputs,  # = the closure's expected_inputs (see CreateLaunchPlan)
        )
        if not request.name:  # as flyteadmin does: a generated name when the client gives none
            request.name = "a" + uuid.uuid4().hex[:19]
        exec_id = identifier_pb2.WorkflowExecutionIdentifier(
            project=request.project, domain=request.domain, name=request.name
        )
        with self.lock:
            key = (request.project, request.domain, request.name)
            if key in self.executions:  # repositories/errors/postgres.go: a unique constraint violation
                context.abort(
                    grpc.StatusCode.ALREADY_EXISTS,
                    f"value with matching already exists (execution {request.name} in {request.project}/{request.domain})",
                )
            record = ExecutionRecord(request=request, workflow_id=lp_spec.workflow_id, inputs=inputs)
            record.notifications = _notifications_in_force(request.spec, lp_spec)
            self.executions[key] = record
        self.standin.on_execution_created(exec_id, record, lp_spec)
        return execution_pb2.ExecutionCreateResponse(id=exec_id)

    def RecoverExecution(self, request: Any, context: Any) -> Any:
        """execution_manager.go RecoverExecution: the execution named by ``id`` is looked up
        (util.GetExecutionModel: NOT_FOUND when there is none; its phase is not checked, any
        execution can be recovered), and a new one is launched as CreateExecution launches one
        (launchExecutionAndPrepareModel, createExecutionModel: the same validation, ALREADY_EXISTS
        for a name taken, a generated name when none is given) on the original's spec (its launch
        plan, so the registered version it ran) and its user inputs, in the original's project and
        domain, with metadata mode RECOVERED and reference_execution the original. propeller then
        reuses the original's succeeded nodes (runner.py)."""
        original = self._record(context, request.id)
        spec = execution_pb2.ExecutionSpec()
        spec.CopyFrom(original.request.spec)
        if request.HasField("metadata"):
            spec.metadata.parent_node_execution.CopyFrom(request.metadata.parent_node_execution)
        spec.metadata.mode = execution_pb2.ExecutionMetadata.RECOVERED
        spec.metadata.reference_execution.CopyFrom(request.id)
        create = execution_pb2.ExecutionCreateRequest(
            project=request.id.project,
            domain=request.id.domain,
            name=request.name,
            spec=spec,
            inputs=original.request.inputs,  # the original's UserInputsURI
        )
        return self.CreateExecution(create, context)

    def _record(self, context: Any, exec_id: Any) -> ExecutionRecord:
        """An execution by id (repositories/gormimpl/execution_repo.go Get)."""
        record = self.executions.get((exec_id.project, exec_id.domain, exec_id.name))
        if record is None:
            bare = identifier_pb2.Identifier(project=exec_id.project, domain=exec_id.domain, name=exec_id.name)
            self._abort(context, validation.missing_entity("execution", bare))
        return record

    def GetExecution(self, request: Any, context: Any) -> Any:
        self._checked(context, validation.validate_workflow_execution_identifier, request.id)
        record = self._record(context, request.id)
        return execution_pb2.Execution(id=request.id, spec=record.request.spec, closure=_closure(record))

    def ListExecutions(self, request: Any, context: Any) -> Any:
        """execution_manager.go ListExecutions, its filters, sort and paging as filters.py mirrors them;
        each execution as GetExecution shows it, but for its error message cut to 100 bytes
        (transformers/execution.go ListExecutionTransformerOptions)."""
        with self.lock:
            records = dict(self.executions)
        page, token = self._checked(context, filters.list_executions, request, records)
        listed = []
        for (project, domain, name), record in page:
            closure = _closure(record)
            if closure.HasField("error"):
                closure.error.message = filters.trimmed_error_message(closure.error.message)
            exec_id = identifier_pb2.WorkflowExecutionIdentifier(project=project, domain=domain, name=name)
            spec = execution_pb2.ExecutionSpec()
            spec.CopyFrom(record.request.spec)
            spec.ClearField("inputs")  # "TO BE DELETED" in ListExecutions: the deprecated inline inputs
            listed.append(execution_pb2.Execution(id=exec_id, spec=spec, closure=closure))
        return execution_pb2.ExecutionList(executions=listed, token=token)

    def GetExecutionData(self, request: Any, context: Any) -> Any:
        """flyteadmin/pkg/manager/impl/util/data.go GetOutputs, with remoteData.signedUrls on and
        remoteData.maxSizeInBytes at its default (2 MB, flyteadmin/pkg/runtime/application_config_provider.go):
        a signed URL to the outputs always, the outputs inline only when smaller than the limit."""
        record = self._record(context, request.id)
        response = execution_pb2.WorkflowExecutionGetDataResponse(full_inputs=record.inputs)
        if record.outputs_uri:
            size = self.standin.store.size(record.outputs_uri) or 0
            response.outputs.CopyFrom(
                common_pb2.UrlBlob(url=self.standin.store.signed_get(record.outputs_uri), bytes=size)
            )
            if size < MAX_RESPONSE_DATA_BYTES:
                response.full_outputs.CopyFrom(record.outputs)
        return response

    def ListNodeExecutions(self, request: Any, context: Any) -> Any:
        """node_execution_manager.go ListNodeExecutions: without unique_parent_id, top-level nodes only
        (the isParent filter: no parent node); with it, that node's children (NOT_FOUND when it is no
        node of the execution). A page of ``limit``, a token when the page is full. An unknown
        execution lists nothing: flyteadmin filters node executions by execution id, it does not
        look the execution up. (Request filters and sorting are not applied.)"""
        offset = self._checked(context, validation.validate_node_execution_list_request, request)
        exec_id = request.workflow_execution_id
        record = self.executions.get((exec_id.project, exec_id.domain, exec_id.name))
        nodes, parents = (dict(record.nodes), dict(record.parents)) if record else ({}, {})
        parent = request.unique_parent_id
        if parent and parent not in nodes:  # repositories/gormimpl/node_execution_repo.go Get
            bare = identifier_pb2.WorkflowExecutionIdentifier(
                project=exec_id.project, domain=exec_id.domain, name=exec_id.name
            )
            node = identifier_pb2.NodeExecutionIdentifier(node_id=parent, execution_id=bare)
            self._abort(context, validation.missing_entity("node execution", node))
        selected = [n for n in nodes if parents.get(n) == parent] if parent else [n for n in nodes if n not in parents]
        page = selected[offset : offset + request.limit]
        listing = node_execution_pb2.NodeExecutionList(
            token=str(offset + len(page)) if len(page) == request.limit else ""
        )
        for node_id in page:
            item = listing.node_executions.add()
            item.id.node_id = node_id
            item.id.execution_id.CopyFrom(exec_id)
            item.metadata.spec_node_id = node_id.removeprefix(f"{parents[node_id]}-") if node_id in parents else node_id
            item.metadata.is_parent_node = node_id in parents.values()
            item.closure.phase = nodes[node_id]
            if node_id in record.node_errors:
                item.closure.error.CopyFrom(record.node_errors[node_id])
            if node_id in record.cache_status:  # flytepropeller's node event carries the catalog status
                item.closure.task_node_metadata.cache_status = record.cache_status[node_id]
        return listing

    def TerminateExecution(self, request: Any, context: Any) -> Any:
        """execution_manager.go TerminateExecution: NOT_FOUND for an unknown execution,
        FAILED_PRECONDITION for one already in a terminal phase; else it turns ABORTING with the
        cause as its abort metadata (transformers/execution.go SetExecutionAborting), and the
        workflow engine (here the runner) aborts it."""
        self._checked(context, validation.validate_workflow_execution_identifier, request.id)
        record = self._record(context, request.id)
        with self.lock:
            self._checked(context, validation.check_can_terminate, record.phase)
            record.abort_cause = request.cause
            record.phase = Phase.ABORTING
        self.standin.on_terminate(record, request.cause)
        return execution_pb2.ExecutionTerminateResponse()


class DataProxy(dataproxy_pb2_grpc.DataProxyServiceServicer):
    """Upload locations in the S3 blob store, as flyteadmin/dataproxy/service.go hands them out.

    ``native_url`` is ``s3://<bucket>/<project>/<domain>/<base32(md5) or filename_root>/<filename>``;
    the client PUTs the bytes to ``signed_url`` (signed over the Content-MD5 it announced).
    """

    def __init__(self, standin: Any) -> None:
        self.standin = standin

    def CreateUploadLocation(self, request: Any, context: Any) -> Any:
        if not request.project or not request.domain:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "project and domain are required parameters")
        if not request.filename_root and not request.content_md5:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, "content_md5 or filename_root is a required parameter")
        folder = request.filename_root or base64.b32encode(request.content_md5).decode()
        filename = request.filename or uuid.uuid4().hex[:20]
        store = self.standin.store
        native = store.uri(request.project, request.domain, folder, filename)
        self.standin.uploads.append(native)
        md5 = base64.b64encode(request.content_md5).decode() if request.content_md5 else ""
        return dataproxy_pb2.CreateUploadLocationResponse(signed_url=store.signed_put(native, md5), native_url=native)


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


def _closure(record: ExecutionRecord) -> Any:
    """An execution's closure as flyteadmin's transformers/execution.go FromExecutionModel gives it."""
    closure = execution_pb2.ExecutionClosure(
        phase=record.phase,
        workflow_id=record.workflow_id,
        created_at=_stamp(record.created),
        updated_at=now(),
        notifications=record.notifications,
    )
    if record.started:
        closure.started_at.CopyFrom(_stamp(record.started))
        closure.duration.FromSeconds(int((record.finished or time.time()) - record.started))
    if record.abort_requested:  # set by TerminateExecution (transformers/execution.go SetExecutionAborting)
        closure.abort_metadata.cause = record.abort_cause
    if record.error is not None:  # a later event's error replaces it (UpdateExecutionModelState)
        closure.error.CopyFrom(record.error)
    return closure


def _notifications_in_force(spec: execution_pb2.ExecutionSpec, lp_spec: launch_plan_pb2.LaunchPlanSpec) -> list[Any]:
    """execution_manager.go launchExecutionAndPrepareModel: the request's notifications take precedence; with none
    and disable_all unset, the launch plan's; disable_all with none: no notification."""
    if spec.HasField("notifications") and spec.notifications.notifications:
        return list(spec.notifications.notifications)
    if spec.disable_all:
        return []
    return list(lp_spec.entity_metadata.notifications)


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


def _bare(identifier: identifier_pb2.Identifier) -> identifier_pb2.Identifier:
    """An identifier as flyteadmin's repositories print it: no resource type."""
    return identifier_pb2.Identifier(
        project=identifier.project, domain=identifier.domain, name=identifier.name, version=identifier.version
    )


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


__all__ = ["common_pb2", "Faults", "ExecutionRecord", "start_grpc"]
