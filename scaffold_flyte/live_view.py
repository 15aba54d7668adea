"""On a terminal, the launch as it happens: bars for the image builds and pushes, then a live
table of the sweep's executions while the launcher waits for them.

The bars: one per image built, its Dockerfile steps; one per image pushed, its layers and bytes.

One row per job: its label (number and overrides), phase, time since the launch, the tasks that
ran and those served from Flyte's cache once it is done, and its value (or why it failed). It is
drawn with rich (flytekit brings it) on the terminal and replaces the line per phase change
there; the lines still go to each job's ``main.log`` and the sweep's ``sweep.log``. Anything else
logged meanwhile is printed above the table.

No terminal (output to a log or a CI), ``hydra.launcher.live_view=false``, or a terminal under
80 columns: the plain lines, as before.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from scaffold_flyte import job_logs

if TYPE_CHECKING:
    from scaffold_flyte.docker_engine import ImageProgress
    from scaffold_flyte.follow import Follower

log = logging.getLogger(__name__)
MIN_WIDTH = 80


def live_console(wanted: bool) -> Any | None:
    """A rich Console on the terminal, or None where the plain lines serve better (see the module docstring)."""
    if not wanted or not sys.stdout.isatty():
        return None
    width = shutil.get_terminal_size().columns
    if width < MIN_WIDTH:
        log.info(f"the terminal is {width} columns wide, under the {MIN_WIDTH} the live view needs: plain lines")
        return None
    from rich.console import Console

    return Console(file=sys.stdout, width=width)


@contextlib.contextmanager
def image_bars(console: Any | None) -> Iterator[ImageProgress | None]:
    """Bars for the image step on ``console``; yields the progress callback for ``ensure_images`` (None without one)."""
    if console is None:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[detail]}"), TimeElapsedColumn())
    bars: dict[tuple[str, str], Any] = {}
    with (
        Progress(*columns, console=console, redirect_stdout=True, redirect_stderr=True) as progress,
        _log_lines_above(),
    ):

        def report(image: str, stage: str, done: int, total: int, detail: str) -> None:
            key = (image, stage)
            if key not in bars:
                bars[key] = progress.add_task(f"{stage} {image}", total=total, detail=detail)
            progress.update(bars[key], completed=done, total=total, detail=detail)

        yield report


@contextlib.contextmanager
def _log_lines_above() -> Iterator[None]:
    """While rich draws live, the console's log lines go through its redirected stdout, so they print
    above the live part instead of through it (a log handler keeps the stream it was made with)."""
    swapped = []
    for handler in logging.getLogger().handlers:
        if type(handler) is logging.StreamHandler and handler.stream in (sys.__stdout__, sys.__stderr__):
            swapped.append((handler, handler.setStream(sys.stdout)))
    try:
        yield
    finally:
        for handler, stream in swapped:
            handler.setStream(stream)


@contextlib.contextmanager
def live(follower: Follower, console: Any | None) -> Iterator[None]:
    """Show ``follower``'s executions as a table on ``console`` while the block runs (nothing without one)."""
    if console is None:
        yield
        return
    from rich.live import Live

    with (
        Live(
            table(follower), console=console, refresh_per_second=4, redirect_stdout=True, redirect_stderr=True
        ) as view,
        job_logs.live_view_shows_progress(),
        _log_lines_above(),
    ):
        follower.on_change = lambda: view.update(table(follower))
        try:
            yield
        finally:
            follower.on_change = None
            view.update(table(follower), refresh=True)


def table(follower: Follower) -> Any:
    """The sweep as rich draws it: a row per job."""
    from rich.table import Table

    now = time.monotonic()
    grid = Table(title=f"{len(follower.followed)} execution(s)", title_justify="left", expand=False)
    for column in ("job", "phase", "elapsed", "tasks", "value"):
        grid.add_column(column, overflow="ellipsis", no_wrap=column != "job")
    for item in follower.followed.values():
        elapsed = (item.ended or now) - follower.started
        style = {"SUCCEEDED": "green", "FAILED": "red", "ABORTED": "red", "TIMED_OUT": "red"}.get(item.phase, "")
        grid.add_row(
            item.request.label,
            f"[{style}]{item.phase}[/]" if style else item.phase,
            f"{elapsed:.1f} s",
            item.tasks,
            item.outcome,
        )
    return grid
