"""What a launch has done so far, so that any stop (Ctrl-C, an outage, a refusal) says what exists.

A launch goes through steps (planning, building images, registering, creating executions,
following them); each step tells the ledger what it made as it makes it: an image pushed, a
version registered, an execution created. Whatever ends the launch early then reports, in one
line, everything that exists on the registry and on Flyte because of it, with each execution's
URL, so nothing created is lost from sight.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass

PLANNING = "planning"
BUILDING = "building images"
REGISTERING = "registering"
CREATING = "creating executions"
FOLLOWING = "waiting"
RUNNING_LOCALLY = "running jobs locally"


@dataclass(frozen=True)
class CreatedExecution:
    """One execution Flyte holds because of this launch."""

    num: int
    label: str
    name: str
    url: str

    def __str__(self) -> str:
        return f"{self.label}: {self.name} {self.url}"


class LaunchLedger:
    """The launch's steps and what each made; safe to update from the worker threads of a step."""

    def __init__(self) -> None:
        self.step = PLANNING
        self.pushed: list[str] = []
        self.registered: str | None = None  # "<workflow> version <version>", once registration finished
        self.registering: str | None = None
        self.created: dict[int, CreatedExecution] = {}
        self._lock = threading.Lock()

    def now(self, step: str) -> None:
        self.step = step

    def image_pushed(self, reference: str) -> None:
        with self._lock:
            self.pushed.append(reference)

    def registration_started(self, what: str) -> None:
        self.registering = what

    def registration_done(self, what: str) -> None:
        self.registered, self.registering = what, None

    def execution_created(self, execution: CreatedExecution) -> None:
        with self._lock:
            self.created[execution.num] = execution

    def executions(self) -> list[CreatedExecution]:
        with self._lock:
            return [self.created[num] for num in sorted(self.created)]

    def what_exists(self, executions_verb: str = "created") -> str:
        """Everything this launch made, in one sentence: images pushed, the registration, the executions."""
        parts = []
        if self.pushed:
            parts.append(f"image(s) pushed: {', '.join(self.pushed)}")
        if self.registered:
            parts.append(f"registered {self.registered}")
        elif self.registering:
            parts.append(
                f"registration of {self.registering} was under way, so part of it may be registered "
                "(launching again registers the rest under the same version)"
            )
        executions = self.executions()
        if executions:
            parts.append(f"{len(executions)} execution(s) {executions_verb}: {listing(executions)}")
        if not parts:
            return "nothing was built, uploaded, registered or executed"
        if not executions:
            parts.append("no execution was created")
        return "; ".join(parts)


def listing(executions: Iterable[CreatedExecution]) -> str:
    return "; ".join(str(execution) for execution in executions)
