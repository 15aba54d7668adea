"""Runs an execution for real, as a test stand-in (see the package docstring): node by node, each
task node's registered container args, unchanged but for Flyte's placeholders, in the registered
image on the local Docker engine, with the blob store mounted at its own path.
"""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from flyteidl.core import errors_pb2, execution_pb2, identifier_pb2, literals_pb2

from tests.flyte_standin.server import ExecutionRecord, key_of

Phase = execution_pb2.WorkflowExecution
START = ("start-node", "")  # flytekit binds workflow inputs to node "" (Flyte's compiler: start-node)
NodePhase = execution_pb2.NodeExecution


class TaskFailed(Exception):
    def __init__(self, node_id: str, task_name: str, message: str) -> None:
        super().__init__(message)
        self.node_id, self.task_name, self.message = node_id, task_name, message


class Aborted(Exception):
    pass


class Runner:
    def __init__(self, admin: Any, blob_root: Path, docker_client: Any) -> None:
        self.admin = admin
        self.blob_root = blob_root
        self.docker = docker_client
        self.tasks_run: list[str] = []  # task names, in the order their containers ran

    def run(self, exec_id: identifier_pb2.WorkflowExecutionIdentifier, record: ExecutionRecord, lp_spec: Any) -> None:
        record.phase, record.started = Phase.RUNNING, time.time()
        try:
            inputs = _launch_inputs(lp_spec, record.request.inputs)
            spec = self.admin.entities[key_of(lp_spec.workflow_id, identifier_pb2.WORKFLOW)]
            subs = {key_of(t.id, identifier_pb2.WORKFLOW): t for t in spec.sub_workflows}
            work = self.blob_root / "executions" / exec_id.name
            outputs = self._workflow(spec.template, subs, inputs, record, work, prefix="")
            record.outputs = literals_pb2.LiteralMap(literals=outputs)
            record.phase = Phase.SUCCEEDED
        except TaskFailed as failure:
            record.error = execution_pb2.ExecutionError(
                code="USER:Failed",
                message=f"[{failure.node_id}] task {failure.task_name} failed: {failure.message}",
                kind=execution_pb2.ExecutionError.USER,
            )
            record.phase = Phase.FAILED
        except Aborted:
            record.phase = Phase.ABORTED
        except Exception as error:  # noqa: BLE001 - the stand-in reports, as Flyte would, instead of dying
            record.error = execution_pb2.ExecutionError(
                code="SYSTEM", message=f"stand-in: {error}", kind=execution_pb2.ExecutionError.SYSTEM
            )
            record.phase = Phase.FAILED
        finally:
            record.finished = time.time()

    def _workflow(
        self,
        template: Any,
        subs: dict[Any, Any],
        inputs: dict[str, Any],
        record: ExecutionRecord,
        work: Path,
        prefix: str,
    ) -> dict[str, Any]:
        results: dict[str, dict[str, Any]] = {"start-node": inputs}
        for node in _in_dependency_order(template.nodes):
            if record.abort_requested:
                raise Aborted()
            node_id = prefix + node.id
            node_inputs = {b.var: _resolve(b.binding, results) for b in node.inputs}
            record.nodes[node_id] = NodePhase.RUNNING
            try:
                if node.HasField("task_node"):
                    results[node.id] = self._task(node_id, node.task_node.reference_id, node_inputs, record, work)
                elif node.HasField("workflow_node") and node.workflow_node.HasField("sub_workflow_ref"):
                    sub = subs[key_of(node.workflow_node.sub_workflow_ref, identifier_pb2.WORKFLOW)]
                    results[node.id] = self._workflow(sub, subs, node_inputs, record, work, prefix=f"{node_id}-")
                else:
                    raise RuntimeError(f"node {node.id}: this stand-in runs task and sub-workflow nodes only")
            except TaskFailed:
                record.nodes[node_id] = NodePhase.FAILED
                raise
            record.nodes[node_id] = NodePhase.SUCCEEDED
        return {b.var: _resolve(b.binding, results) for b in template.outputs}

    def _task(
        self, node_id: str, task_id: Any, inputs: dict[str, Any], record: ExecutionRecord, work: Path
    ) -> dict[str, Any]:
        template = self.admin.entities[key_of(task_id, identifier_pb2.TASK)].template
        folder = work / node_id
        out, raw, checkpoint = folder / "out", folder / "raw", folder / "checkpoint"
        for path in (out, raw, checkpoint):
            path.mkdir(parents=True, exist_ok=True)
        (folder / "inputs.pb").write_bytes(literals_pb2.LiteralMap(literals=inputs).SerializeToString())
        values = {
            "{{.input}}": str(folder / "inputs.pb"),
            "{{.inputPrefix}}": str(folder),
            "{{.outputPrefix}}": str(out),
            "{{.rawOutputDataPrefix}}": str(raw),
            "{{.checkpointOutputPrefix}}": str(checkpoint),
            "{{.prevCheckpointPrefix}}": "",
        }
        args = [_substitute(arg, values) for arg in [*template.container.command, *template.container.args]]
        env = {kv.key: kv.value for kv in template.container.env}
        container = self.docker.containers.run(
            template.container.image,
            args,
            environment=env,
            network_mode="none",
            volumes={str(self.blob_root): {"bind": str(self.blob_root), "mode": "rw"}},
            working_dir="/root",
            detach=True,
        )
        record.containers.append(container.id)
        self.tasks_run.append(template.id.name)
        try:
            container.wait()
            logs = container.logs().decode(errors="replace")
        finally:
            container.remove(force=True)
        if (out / "outputs.pb").exists():
            outputs = literals_pb2.LiteralMap()
            outputs.ParseFromString((out / "outputs.pb").read_bytes())
            return dict(outputs.literals)
        if record.abort_requested:
            raise Aborted()
        message = logs.strip().splitlines()[-1] if logs.strip() else "no output"
        if (out / "error.pb").exists():
            document = errors_pb2.ErrorDocument()
            document.ParseFromString((out / "error.pb").read_bytes())
            message = document.error.message
        record.node_errors[node_id] = execution_pb2.ExecutionError(
            message=message, kind=execution_pb2.ExecutionError.USER
        )
        raise TaskFailed(node_id, template.id.name, message)

    def terminate(self, record: ExecutionRecord) -> None:
        record.abort_requested = True
        for container_id in record.containers:
            with contextlib.suppress(Exception):  # already gone
                self.docker.containers.get(container_id).kill()


def _launch_inputs(lp_spec: Any, given: Any) -> dict[str, Any]:
    inputs = {name: p.default for name, p in lp_spec.default_inputs.parameters.items() if p.HasField("default")}
    inputs.update(dict(lp_spec.fixed_inputs.literals))
    inputs.update(dict(given.literals))
    return inputs


def _in_dependency_order(nodes: Any) -> list[Any]:
    by_id = {n.id: n for n in nodes if n.id not in ("start-node", "end-node")}
    done: set[str] = {"start-node"}
    order = []
    while by_id:
        ready = [n for n in by_id.values() if set(_depends_on(n)) <= done]
        if not ready:
            raise RuntimeError(f"cycle among nodes {sorted(by_id)}")
        for node in ready:
            order.append(node)
            done.add(node.id)
            del by_id[node.id]
    return order


def _depends_on(node: Any) -> list[str]:
    refs = list(node.upstream_node_ids)
    for binding in node.inputs:
        refs += _promises(binding.binding)
    return [r for r in refs if r not in START]


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
