"""Runs an execution for real, as flytepropeller would, inside a TEST STAND-IN (see the package docstring).

Each task node runs its registered container args, unchanged but for Flyte's placeholders, in the
registered image on the local Docker engine. Mirrors:
- flytepropeller/pkg/controller/nodes/executor.go, workflow/executor.go: a node starts as soon as
  every node it depends on has succeeded, so independent nodes run at the same time; the
  workflow passes through SUCCEEDING / FAILING before its terminal phase; with the default
  failure policy (FAIL_IMMEDIATELY) the first failing node fails the workflow and the nodes
  still running are aborted.
- flytepropeller/pkg/controller/nodes/task/handler.go (ValidateOutput) and
  flyteplugins/go/tasks/pluginmachinery/ioutils/remote_file_output_reader.go: a task's error.pb
  is its error; an outputs.pb above storage.limits.maxDownloadMBs fails the node with
  OutputSizeExceeded; no outputs.pb where outputs are declared is OutputsNotFound.
- flytepropeller/pkg/controller/nodes/cache.go: cacheable tasks go through the data catalog
  (catalog.py); a hit copies the outputs and runs no container.
- flyteplugins/go/tasks/pluginmachinery/flytek8s/pod_helper.go (DemystifyPending): the node pulls
  the image by its registered reference; a reference the registry cannot serve fails the task
  with ImagePullBackOff. Like a fresh cluster node, the stand-in starts with no image: the first
  use of each reference removes the engine's local copy (left there by the build) and pulls.
- flytepropeller/pkg/controller/nodes/executor.go (preExecute, attemptRecovery) and
  nodes/recovery/client.go: in an execution created by RecoverExecution (metadata mode RECOVERED,
  reference_execution set), each node, once ready, is first looked up in the execution it
  recovers: one that SUCCEEDED or was RECOVERED there is not run, its outputs (and its catalog
  status) are taken over and it ends RECOVERED; any other phase, or no such node, runs normally.
  A sub-workflow node that succeeded is recovered whole; one that failed runs, and its own nodes
  are looked up in turn.
- Blob paths as propeller lays them out (flytepropeller/pkg/controller/nodes/task/
  transformer.go, ioutils): ``metadata/propeller/<project>-<domain>-<execution>/<node>/data/0``
  for a node's outputs, ``<random>/<execution>-<node>-0`` under the raw data prefix.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from flyteidl.admin import execution_pb2 as admin_execution_pb2
from flyteidl.core import catalog_pb2, errors_pb2, execution_pb2, identifier_pb2, literals_pb2

from tests.flyte_standin.catalog import DataCatalog, catalog_key
from tests.flyte_standin.server import ExecutionRecord, key_of
from tests.flyte_standin.storage import MAX_DOWNLOAD_MB, BlobStore, MiB

Phase = execution_pb2.WorkflowExecution
START = ("start-node", "")  # flytekit binds workflow inputs to node "" (Flyte's compiler: start-node)
NodePhase = execution_pb2.NodeExecution
Cache = catalog_pb2
RECOVERED = admin_execution_pb2.ExecutionMetadata.RECOVERED


class TaskFailed(Exception):
    def __init__(self, node_id: str, task_name: str, message: str, code: str = "USER:Failed") -> None:
        super().__init__(message)
        self.node_id, self.task_name, self.message, self.code = node_id, task_name, message, code


class Aborted(Exception):
    pass


class Runner:
    def __init__(self, admin: Any, store: BlobStore, docker_client: Any, catalog: DataCatalog) -> None:
        self.admin = admin
        self.store = store
        self.docker = docker_client
        self.catalog = catalog
        self.tasks_run: list[str] = []  # task names, in the order their containers started
        self._pulled: set[str] = set()
        self._pull_lock = threading.Lock()
        self._lock = threading.Lock()

    def run(self, exec_id: identifier_pb2.WorkflowExecutionIdentifier, record: ExecutionRecord, lp_spec: Any) -> None:
        record.started = time.time()
        if not record.abort_requested:  # TerminateExecution may already have made it ABORTING
            record.phase = Phase.RUNNING
        try:
            inputs = _launch_inputs(lp_spec, record.request.inputs)
            spec = self.admin.entities[key_of(lp_spec.workflow_id, identifier_pb2.WORKFLOW)]
            subs = {key_of(t.id, identifier_pb2.WORKFLOW): t for t in spec.sub_workflows}
            context = _Context(exec_id, record, subs, self._recovering(record))
            outputs = self._workflow(spec.template, inputs, context, prefix="", parent="")
            record.phase = Phase.SUCCEEDING
            result = literals_pb2.LiteralMap(literals=outputs)
            record.outputs_uri = self.store.uri(context.metadata, "end-node", "data", "0", "outputs.pb")
            self.store.put(record.outputs_uri, result.SerializeToString())
            record.outputs = result
            record.phase = Phase.SUCCEEDED
        except TaskFailed as failure:
            record.error = execution_pb2.ExecutionError(
                code=failure.code,
                message=f"[{failure.node_id}] task {failure.task_name} failed: {failure.message}",
                kind=execution_pb2.ExecutionError.USER,
            )
            record.phase = Phase.FAILED
        except Aborted:
            record.phase = Phase.ABORTED  # after ABORTING, which TerminateExecution set
        except Exception as error:  # noqa: BLE001 - the stand-in reports, as Flyte would, instead of dying
            record.error = execution_pb2.ExecutionError(
                code="SYSTEM", message=f"stand-in: {error}", kind=execution_pb2.ExecutionError.SYSTEM
            )
            record.phase = Phase.FAILED
        finally:
            record.finished = time.time()

    def _workflow(self, template: Any, inputs: dict[str, Any], context: _Context, prefix: str, parent: str) -> dict:
        """Run the nodes of one (sub-)workflow, each as soon as its upstream nodes have succeeded."""
        results: dict[str, dict[str, Any]] = {"start-node": inputs}
        pending = {n.id: n for n in template.nodes if n.id not in ("start-node", "end-node")}
        running: dict[Future[dict[str, Any]], Any] = {}
        failure: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, len(pending)), thread_name_prefix="node") as pool:
            while True:
                if failure is None and not context.halted:
                    for node in [n for n in pending.values() if set(_depends_on(n)) <= set(results)]:
                        del pending[node.id]
                        node_inputs = {b.var: _resolve(b.binding, results) for b in node.inputs}
                        running[pool.submit(self._node, node, node_inputs, context, prefix, parent)] = node
                if not running:
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    node = running.pop(future)
                    try:
                        results[node.id] = future.result()
                    except BaseException as error:  # noqa: BLE001 - FAIL_IMMEDIATELY: abort the others
                        if failure is None:
                            failure = error
                            context.failed = True
                            if not isinstance(error, Aborted):
                                context.record.phase = Phase.FAILING  # while the other nodes are aborted
                            self._kill(context.record)
        if failure is not None:
            raise failure
        if context.halted:
            raise Aborted()
        if pending:
            raise RuntimeError(f"cycle among nodes {sorted(pending)}")
        return {b.var: _resolve(b.binding, results) for b in template.outputs}

    def _recovering(self, record: ExecutionRecord) -> ExecutionRecord | None:
        """The execution this one recovers (ExecutionConfig.RecoveryExecution), if it is a recovery."""
        metadata = record.request.spec.metadata
        if metadata.mode != RECOVERED or not metadata.HasField("reference_execution"):
            return None
        ref = metadata.reference_execution
        return self.admin.executions.get((ref.project, ref.domain, ref.name))

    def _recovered(self, node_id: str, context: _Context) -> dict[str, Any] | None:
        """executor.go attemptRecovery: the node's outputs in the recovered execution, if it succeeded there."""
        source = context.recovering
        if source is None or source.nodes.get(node_id) not in (NodePhase.SUCCEEDED, NodePhase.RECOVERED):
            return None  # NOT_FOUND, SKIPPED or any other phase: the node runs normally
        outputs = source.node_outputs.get(node_id)
        if outputs is None:
            return None  # RecoverNodeExecutionData found nothing: the node runs normally
        if node_id in source.cache_status:  # the recovered closure's TaskNodeMetadata (CatalogKey, CacheStatus)
            context.record.cache_status[node_id] = source.cache_status[node_id]
        # the outputs are written to this node's own output location (v1alpha1.GetOutputsFile)
        uri = self.store.uri(context.metadata, node_id, "data", "0", "outputs.pb")
        self.store.put(uri, literals_pb2.LiteralMap(literals=outputs).SerializeToString())
        return dict(outputs)

    def _node(self, node: Any, inputs: dict[str, Any], context: _Context, prefix: str, parent: str) -> dict:
        node_id = prefix + node.id
        record = context.record
        if parent:
            record.parents[node_id] = parent
        recovered = self._recovered(node_id, context)
        if recovered is not None:
            record.nodes[node_id] = NodePhase.RECOVERED
            record.node_outputs[node_id] = recovered
            record.node_times[node_id] = (time.time(), time.time())
            return recovered
        record.nodes[node_id] = NodePhase.RUNNING
        started = time.time()
        try:
            if node.HasField("task_node"):
                outputs = self._task(node_id, node.task_node.reference_id, inputs, context)
            elif node.HasField("workflow_node") and node.workflow_node.HasField("sub_workflow_ref"):
                sub = context.subs[key_of(node.workflow_node.sub_workflow_ref, identifier_pb2.WORKFLOW)]
                outputs = self._workflow(sub.template, inputs, context, prefix=f"{node_id}-", parent=node_id)
            else:
                raise RuntimeError(f"node {node.id}: this stand-in runs task and sub-workflow nodes only")
        except Aborted:
            record.nodes[node_id] = NodePhase.ABORTED
            raise
        except TaskFailed as failure:
            record.nodes[node_id] = NodePhase.FAILED
            if failure.node_id == node_id:
                record.node_errors[node_id] = execution_pb2.ExecutionError(
                    code=failure.code, message=failure.message, kind=execution_pb2.ExecutionError.USER
                )
            raise
        except BaseException:
            record.nodes[node_id] = NodePhase.FAILED
            raise
        finally:
            record.node_times[node_id] = (started, time.time())
        record.node_outputs[node_id] = dict(outputs)
        record.nodes[node_id] = NodePhase.SUCCEEDED
        return outputs

    def _task(self, node_id: str, task_id: Any, inputs: dict[str, Any], context: _Context) -> dict[str, Any]:
        template = self.admin.entities[key_of(task_id, identifier_pb2.TASK)].template
        input_map = literals_pb2.LiteralMap(literals=inputs)
        record = context.record
        key = catalog_key(template, input_map) if template.metadata.discoverable else None
        if key is not None and not record.request.spec.overwrite_cache:
            cached = self.catalog.get(key)
            if cached is not None:
                record.cache_status[node_id] = Cache.CACHE_HIT
                return dict(cached.literals)
        outputs = self._run_container(node_id, template, input_map, context)
        if key is not None:
            self.catalog.put(key, literals_pb2.LiteralMap(literals=outputs))
            record.cache_status[node_id] = Cache.CACHE_POPULATED
        return outputs

    def _run_container(self, node_id: str, template: Any, inputs: Any, context: _Context) -> dict[str, Any]:
        record = context.record
        node_dir = self.store.uri(context.metadata, node_id, "data")
        output_prefix = f"{node_dir}/0"
        self.store.put(f"{node_dir}/inputs.pb", inputs.SerializeToString())
        values = {
            "{{.input}}": f"{node_dir}/inputs.pb",
            "{{.inputPrefix}}": node_dir,
            "{{.outputPrefix}}": output_prefix,
            "{{.rawOutputDataPrefix}}": self.store.uri(uuid.uuid4().hex[:2], f"{context.exec_id.name}-{node_id}-0"),
            "{{.checkpointOutputPrefix}}": self.store.uri(
                uuid.uuid4().hex[:2], f"{context.exec_id.name}-{node_id}-0", "_flytecheckpoints"
            ),
            "{{.prevCheckpointPrefix}}": "",
        }
        container_spec = template.container
        args = [_substitute(arg, values) for arg in [*container_spec.command, *container_spec.args]]
        env = {kv.key: kv.value for kv in container_spec.env}
        env.update(self.store.pod_env())
        self._pull(node_id, template.id.name, container_spec.image)
        if context.halted:
            raise Aborted()
        container = self.docker.containers.run(
            container_spec.image,
            args,
            environment=env,
            network_mode="host",  # the blob store listens on 127.0.0.1 only
            working_dir="/root",
            detach=True,
        )
        record.containers.append(container.id)
        with self._lock:
            self.tasks_run.append(template.id.name)
        try:
            container.wait()
            logs = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
        if context.halted:
            raise Aborted()
        return self._read_outputs(node_id, template, output_prefix, logs)

    def _read_outputs(self, node_id: str, template: Any, prefix: str, logs: str) -> dict[str, Any]:
        """handler.go ValidateOutput: the error document first, then the outputs within the size limit."""
        name = template.id.name
        if self.store.exists(f"{prefix}/error.pb"):
            document = errors_pb2.ErrorDocument()
            document.ParseFromString(self.store.get(f"{prefix}/error.pb"))
            raise TaskFailed(node_id, name, document.error.message, document.error.code or "USER:Failed")
        if not template.interface.outputs.variables:
            return {}
        size = self.store.size(f"{prefix}/outputs.pb")
        if size is None:
            last = logs.strip().splitlines()[-1] if logs.strip() else "no log output"
            raise TaskFailed(
                node_id, name, f"Outputs not generated by task execution (last log line: {last})", "OutputsNotFound"
            )
        limit = MAX_DOWNLOAD_MB * MiB
        if size > limit:
            raise TaskFailed(
                node_id,
                name,
                f"Remote output size exceeds max, err: [output file @[{prefix}/outputs.pb] is too large [{size}] "
                f"bytes, max allowed [{limit}] bytes: remote file exceeds max size]",
                "OutputSizeExceeded",
            )
        outputs = literals_pb2.LiteralMap()
        outputs.ParseFromString(self.store.get(f"{prefix}/outputs.pb"))
        return dict(outputs.literals)

    def _pull(self, node_id: str, task_name: str, image: str) -> None:
        """The first use of a reference pulls it from its registry, as a fresh node does."""
        import docker.errors

        with self._pull_lock:
            if image in self._pulled:
                return
            with contextlib.suppress(docker.errors.ImageNotFound):  # noprune: the builder's layer cache stays
                self.docker.images.remove(image, noprune=True)
            repository, _, tag = image.rpartition(":") if "@" not in image else (image, "", "")
            try:
                self.docker.images.pull(repository or image, tag=tag or None)
            except docker.errors.APIError as error:
                explanation = getattr(error, "explanation", None) or str(error)
                raise TaskFailed(
                    node_id,
                    task_name,
                    f'[ImagePullBackOff] Back-off pulling image "{image}": {explanation}',
                    "ImagePullBackOff",
                ) from None
            self._pulled.add(image)

    def terminate(self, record: ExecutionRecord) -> None:
        """TerminateExecution: the execution ends ABORTED, its running containers are killed."""
        record.abort_requested = True
        self._kill(record)

    def _kill(self, record: ExecutionRecord) -> None:
        for container_id in list(record.containers):
            with contextlib.suppress(Exception):  # already gone
                self.docker.containers.get(container_id).kill()


class _Context:
    """What every node of one execution shares."""

    def __init__(
        self, exec_id: Any, record: ExecutionRecord, subs: dict[Any, Any], recovering: ExecutionRecord | None = None
    ) -> None:
        self.exec_id, self.record, self.subs = exec_id, record, subs
        self.recovering = recovering  # the execution this one recovers (RecoverExecution), if any
        self.metadata = f"metadata/propeller/{exec_id.project}-{exec_id.domain}-{exec_id.name}"
        self.failed = False  # a node failed: the others are aborted (FAIL_IMMEDIATELY)

    @property
    def halted(self) -> bool:
        return self.failed or self.record.abort_requested


def _launch_inputs(lp_spec: Any, given: Any) -> dict[str, Any]:
    inputs = {name: p.default for name, p in lp_spec.default_inputs.parameters.items() if p.HasField("default")}
    inputs.update(dict(lp_spec.fixed_inputs.literals))
    inputs.update(dict(given.literals))
    return inputs


def _depends_on(node: Any) -> list[str]:
    refs = list(node.upstream_node_ids)
    for binding in node.inputs:
        refs += _promises(binding.binding)
    return ["start-node" if r in START else r for r in refs]


def _promises(data: Any) -> list[str]:
    kind = data.WhichOneof("value")
    if kind == "promise":
        return [data.promise.node_id]
    if kind == "collection":
        return [ref for item in data.collection.bindings for ref in _promises(item)]
    if kind == "map":
        return [ref for item in data.map.bindings.values() for ref in _promises(item)]
    return []


def _resolve(data: Any, results: dict[str, dict[str, Any]]) -> Any:
    kind = data.WhichOneof("value")
    if kind == "scalar":
        return literals_pb2.Literal(scalar=data.scalar)
    if kind == "promise":
        node_id = "start-node" if data.promise.node_id in START else data.promise.node_id
        return results[node_id][data.promise.var]
    if kind == "collection":
        return literals_pb2.Literal(
            collection=literals_pb2.LiteralCollection(literals=[_resolve(b, results) for b in data.collection.bindings])
        )
    if kind == "map":
        return literals_pb2.Literal(
            map=literals_pb2.LiteralMap(literals={k: _resolve(b, results) for k, b in data.map.bindings.items()})
        )
    raise RuntimeError(f"binding kind {kind} is not supported by this stand-in")


def _substitute(arg: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        arg = arg.replace(placeholder, value)
    return arg
