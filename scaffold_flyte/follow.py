"""Following executions to the end: polling, a progress line per change, outputs as Python values.

A poll round costs one ListExecutions per page of unfinished executions (``value_in`` on their
names, in flyteadmin's filter syntax: util/filters.go ParseFilters), not one GetExecution each:
following 1,000 executions is 10 requests a round. Each finished execution is then read once:
its outputs (GetExecutionData), or its full error (GetExecution: a listing cuts error messages
to 100 bytes, transformers/execution.go TrimErrorMessage), and its node executions for the
cache report. Transient admin failures are retried with backoff, and when the admin stays away
the error lists every execution so nothing is lost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from scaffold_flyte.errors import ExecutionError, ScaffoldFlyteError
from scaffold_flyte.executions import RETRY_DELAYS, ExecutionRequest, with_retries
from scaffold_flyte.job_logs import SWEEP_JOB, SWEEP_WIDE
from scaffold_flyte.results import preview

if TYPE_CHECKING:
    from scaffold_flyte.discovery import MainWorkflow

log = logging.getLogger(__name__)
PAGE = 100  # executions per ListExecutions request: flyteadmin's usual page size


class ExecutionFailed(ScaffoldFlyteError):
    """A Flyte execution did not end with outputs: Flyte's message, the failing task and the execution named.

    Compact for Hydra: the launcher's own frames would only hide the remote error it carries."""


@dataclass
class Followed:
    """What is known of one execution."""

    request: ExecutionRequest
    identifier: Any  # flytekit's WorkflowExecutionIdentifier
    url: str
    phase: str = "QUEUED"
    since: float = field(default_factory=time.monotonic)
    done: bool = False
    ended: float | None = None  # when it was seen done (monotonic)
    lines: list[str] = field(default_factory=list)  # what was logged about it, for its job's main.log
    tasks: str = ""  # once done: which tasks ran and which came from the cache
    outcome: str = ""  # once read: its value, cut short, or that it failed


class Follower:
    """Polls a sweep's executions; ``result(num)`` waits for one and turns its outputs into Python values."""

    def __init__(
        self,
        remote: Any,
        main: MainWorkflow,
        executions: dict[int, Any],
        requests: Sequence[ExecutionRequest],
        console_url: Callable[[str], str],
        poll_interval: float = 2.0,
        timeout: float | None = None,
        delays: Sequence[float] = RETRY_DELAYS,
    ) -> None:
        self.remote = remote
        self.followed = {
            r.num: Followed(r, getattr(executions[r.num], "id", executions[r.num]), console_url(r.name))
            for r in requests
            if r.num in executions
        }
        # outputs come back typed as the local workflow declares them; a failing node is named by its task
        self.output_types = dict(main.workflow.python_interface.outputs)
        self.task_names = {node.id: str(getattr(node.flyte_entity, "name", node.id)) for node in main.workflow.nodes}
        self.poll_interval = poll_interval
        self.deadline = None if timeout is None else time.monotonic() + timeout
        self.timeout = timeout
        self.delays = delays
        self.polls = 0
        self.state_requests = 0
        self.waited = 0.0  # seconds slept between poll rounds: the rest of the following is the launcher's work
        self.started = time.monotonic()
        self.lost: ExecutionError | None = None  # set once the admin stayed unreachable
        self.on_change: Callable[[], None] | None = None  # a live view's redraw, after each poll round and result

    def result(self, num: int) -> Any:
        """Wait for job ``num``'s execution; its output, or ExecutionFailed with Flyte's error."""
        item = self.followed[num]
        while not item.done:
            if self.lost is not None:
                raise self.lost
            if self.deadline is not None and time.monotonic() > self.deadline:
                raise ExecutionFailed(self._timed_out(item))
            try:
                self.poll_round()
            except ExecutionError as error:
                self.lost = ExecutionError(f"{error} Executions not followed to the end: {self._listing()}")
                raise self.lost from None
            if not item.done:
                time.sleep(self.poll_interval)
                self.waited += self.poll_interval
        return self._outcome(item)

    def _timed_out(self, item: Followed) -> str:
        """The timeout line: this job's execution, and every other one still running (they all go on)."""
        others = [i for i in self.still_running() if i is not item]
        also = (
            f"; {len(others)} other execution(s) still running too: "
            + "; ".join(f"{i.request.label}: {i.request.name} {i.phase} {i.url}" for i in others)
            if others
            else ""
        )
        return (
            f"{item.request.label}: execution {item.request.name} did not finish within "
            f"hydra.launcher.timeout={self.timeout:g} s; it is still {item.phase} (it goes on): {item.url}{also}"
        )

    def _listing(self) -> str:
        return "; ".join(f"{i.request.label}: {i.request.name} {i.url}" for i in self.followed.values() if not i.done)

    def poll_round(self) -> None:
        """List every unfinished execution's phase, a page at a time, and report each change."""
        pending = [item for item in self.followed.values() if not item.done]
        self.polls += 1
        phases: dict[str, int] = {}
        for start in range(0, len(pending), PAGE):
            phases.update(self._list_phases(pending[start : start + PAGE]))
        changed = False
        for item in pending:
            if item.request.name not in phases:  # not listed yet: it was created, so it stays as it was
                continue
            phase, done = _phase_name(phases[item.request.name])
            if phase != item.phase:
                item.phase, item.since, item.done, changed = phase, time.monotonic(), done, True
                item.ended = item.since if done else None
                elapsed = time.monotonic() - self.started
                self._say(
                    item, f"{item.request.label}: {phase:<9} after {elapsed:5.1f} s  {item.request.name}  {item.url}"
                )
        if changed:
            counts: dict[str, int] = {}
            for followed in self.followed.values():
                counts[followed.phase] = counts.get(followed.phase, 0) + 1
            summary = ", ".join(f"{count} {phase.lower()}" for phase, count in sorted(counts.items()))
            log.info(f"executions: {summary}", extra={SWEEP_WIDE: True})
        self._changed()

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    def _say(self, item: Followed, line: str) -> None:
        """A line about one job: logged now (console, sweep log), kept for that job's own main.log."""
        item.lines.append(line)
        log.info(line, extra={SWEEP_JOB: item.request.num})

    def elapsed(self, num: int) -> float:
        """Seconds from the start of following to when job ``num``'s execution was seen done (or now)."""
        return (self.followed[num].ended or time.monotonic()) - self.started

    def lines_of(self, num: int) -> list[str]:
        """What was said about job ``num`` so far (its phase changes), for its main.log (job_logs.replay)."""
        return list(self.followed[num].lines) if num in self.followed else []

    def _list_phases(self, page: Sequence[Followed]) -> dict[str, int]:
        """One ListExecutions for up to a page of executions (all of one project and domain): phase by name."""
        from flytekit.models.filters import ValueIn

        first = page[0].identifier
        names = [item.request.name for item in page]
        self.state_requests += 1
        executions, _ = with_retries(
            lambda: self.remote.client.list_executions_paginated(
                first.project, first.domain, limit=PAGE, filters=[ValueIn("execution_name", names)]
            ),
            f"following {len(names)} execution(s) ({names[0]} ...)",
            self.delays,
        )
        return {execution.id.name: execution.closure.phase for execution in executions}

    def _outcome(self, item: Followed) -> Any:
        from flytekit.core.type_engine import LiteralsResolver

        what = f"{item.request.label} ({item.request.name})"
        if item.phase != "SUCCEEDED":
            execution = with_retries(
                lambda: self.remote.client.get_execution(item.identifier), f"reading {what}", self.delays
            )
            item.outcome = item.phase.lower()
            self._changed()
            raise ExecutionFailed(self._failure(item, execution))
        data = with_retries(
            lambda: self.remote.client.get_execution_data(item.identifier),
            f"reading the outputs of {what}",
            self.delays,
        )
        try:
            # inline outputs, or the signed URL's file when they are too large to be inline (FlyteRemote's own reader)
            outputs = LiteralsResolver(self.remote._get_output_literal_map(data).literals, ctx=self.remote.context)
            values = [outputs.get(name, as_type=t) for name, t in self.output_types.items()]
        except Exception as error:  # noqa: BLE001 - any conversion failure is reported the same way
            raise ExecutionFailed(
                f"{item.request.label}: execution {item.request.name} succeeded, but its outputs cannot be turned "
                f"into Python values ({type(error).__name__}: {error}); read them in the console: {item.url}"
            ) from None
        values = [_as_uri(v) for v in values]
        value = None if not values else values[0] if len(values) == 1 else tuple(values)
        report = self._cache_report(item)
        if report:
            self._say(item, f"{item.request.label}: {report}")
        self._say(item, f"{item.request.label}: returned {preview(value)}")
        item.tasks, item.outcome = report, preview(value, 40)
        self._changed()
        return value

    def _failure(self, item: Followed, execution: Any) -> str:
        error = execution.closure.error
        message = error.message if error is not None else f"ended {item.phase}"
        tasks = self._failed_tasks(item)
        where = f" in task {', '.join(tasks)}" if tasks else ""
        return f"{item.request.label}: execution {item.request.name} {item.phase}{where}: {message} ({item.url})"

    def _nodes(self, item: Followed) -> dict[str, Any]:
        """The execution's top-level node executions by node id (one request; empty if it fails).

        What they tell (the failing task, which tasks came from the cache) is a courtesy: the
        result itself is reported anyway, so a failed listing only leaves those details out.
        """
        try:
            nodes, _ = self.remote.client.list_node_executions(item.identifier, limit=100)
        except Exception:  # noqa: BLE001 - see the docstring
            return {}
        return {n.metadata.spec_node_id or n.id.node_id: n for n in nodes}

    def _failed_tasks(self, item: Followed) -> list[str]:
        from flytekit.models.core.execution import NodeExecutionPhase

        nodes = self._nodes(item)
        failed = [node_id for node_id, n in nodes.items() if n.closure.phase == NodeExecutionPhase.FAILED]
        return [self.task_names.get(node_id, node_id) for node_id in failed]

    def _cache_report(self, item: Followed) -> str:
        """Which tasks ran, which Flyte served from its cache and which a recovery took over
        from the execution it recovers (node phase RECOVERED), from the node executions."""
        from flyteidl.core.catalog_pb2 import CACHE_DISABLED, CACHE_HIT
        from flytekit.models.core.execution import NodeExecutionPhase

        cached: list[str] = []
        ran: list[str] = []
        recovered: list[str] = []
        for node_id, node in self._nodes(item).items():
            if node_id not in self.task_names:
                continue
            metadata = node.closure.task_node_metadata
            status = metadata.cache_status if metadata is not None else CACHE_DISABLED
            short = self.task_names[node_id].rsplit(".", 1)[-1]
            if node.closure.phase == NodeExecutionPhase.RECOVERED:
                recovered.append(short)
            else:
                (cached if status == CACHE_HIT else ran).append(short)
        parts = [
            f"recovered: {', '.join(recovered)}" if recovered else "",
            f"from the cache: {', '.join(cached)}" if cached else "",
            f"ran: {', '.join(ran)}" if ran else "",
        ]
        return "; ".join(p for p in parts if p)

    def summary(self) -> str:
        """One line on the following itself: how long, how many poll rounds and state requests."""
        return (
            f"followed {len(self.followed)} execution(s) for {time.monotonic() - self.started:.1f} s: "
            f"{self.polls} poll round(s), {self.state_requests} state request(s), "
            f"{self.waited:.1f} s waiting between them"
        )

    def still_running(self) -> list[Followed]:
        return [item for item in self.followed.values() if not item.done]

    def terminate(self, items: Sequence[Followed], cause: str) -> None:
        """Abort each execution (see terminate_executions)."""
        ids = {item.request.name: item.identifier for item in items}
        terminate_executions(self.remote, ids, cause, self.delays)


def terminate_executions(remote: Any, execution_ids: dict[str, Any], cause: str, delays: Sequence[float]) -> None:
    """Abort each execution (ids by name); one that finished meanwhile counts as done, not as an outage.

    flyteadmin answers TerminateExecution on a finished execution with FAILED_PRECONDITION
    (execution_manager.go, NewAlreadyInTerminalStateError), which flytekit's client raises
    as a plain FlyteSystemException (clients/grpc_utils/wrap_exception_interceptor.py), the
    class it raises for outages too: only the status code behind it tells them apart.
    """
    import grpc
    from flytekit.exceptions.system import FlyteSystemException

    def abort(execution_id: Any) -> None:
        try:
            remote.client.terminate_execution(execution_id, cause)
        except FlyteSystemException as error:
            code = getattr(error.__cause__, "code", None)
            if not (callable(code) and code() == grpc.StatusCode.FAILED_PRECONDITION):
                raise

    for name, execution_id in execution_ids.items():
        with_retries(
            lambda: abort(execution_id),  # noqa: B023 (called at once)
            f"terminating {name}",
            delays,
        )


def _as_uri(value: Any) -> Any:
    """A FlyteFile / FlyteDirectory output as its remote URI: reading it would need blob storage access."""
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    if isinstance(value, (FlyteFile, FlyteDirectory)):
        return value.remote_source or value.path
    return value


def _phase_name(phase: int) -> tuple[str, bool]:
    """The phase's name, and whether the execution has ended (common/executions.go IsExecutionTerminal)."""
    from flytekit.models.core.execution import WorkflowExecutionPhase

    terminal = phase in (
        WorkflowExecutionPhase.SUCCEEDED,
        WorkflowExecutionPhase.FAILED,
        WorkflowExecutionPhase.ABORTED,
        WorkflowExecutionPhase.TIMED_OUT,
    )
    return WorkflowExecutionPhase.enum_to_string(phase), terminal


def interrupted_message(items: Sequence[Followed], terminated: bool) -> str:
    if not items:
        return "Interrupted while waiting; every execution had finished."
    verb = "terminated" if terminated else "still running (set hydra.launcher.terminate_on_interrupt=true to stop them)"
    listing = "; ".join(f"{i.request.label}: {i.request.name} {i.url}" for i in items)
    return f"Interrupted while waiting: {len(items)} execution(s) {verb}: {listing}"


__all__ = ["ExecutionError", "ExecutionFailed", "Follower", "interrupted_message", "terminate_executions"]
