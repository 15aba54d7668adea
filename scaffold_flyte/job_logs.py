"""Each job's ``main.log`` holds that job's lines; the whole launch's lines go to the sweep's log.

A remote sweep is followed from inside the first job Hydra runs: the poll rounds that report every
execution's progress run in job 0's ``run_job``, whose logging Hydra points at job 0's
``main.log``. Lines about another job are tagged with its number (``extra={SWEEP_JOB: n}``) and
kept out of the running job's log file; when that job's turn comes they are written to its own
``main.log`` (``own_lines``), and the console, which showed them live, does not show them twice.
Lines about the sweep as a whole (``extra={SWEEP_WIDE: True}``) go to no job's file.

``sweep_log`` keeps every launcher line of the launch in ``<sweep dir>/sweep.log``, in Hydra's
format, beside ``multirun.yaml``. On the console the launcher's lines keep Hydra's own format
(``[time][HYDRA] ...``) inside a job as outside one (``launcher_lines_as_hydras``).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from pathlib import Path

SWEEP_JOB = "sweep_job"  # the job a line is about
SWEEP_WIDE = "sweep_wide"  # a line about the whole sweep
REPLAYED = "sweep_replayed"  # a line shown live before, written again to its job's main.log
SWEEP_LOG = "sweep.log"
FORMAT = "[%(asctime)s][%(name)s][%(levelname)s] - %(message)s"  # Hydra's job_logging format
HYDRA_FORMAT = "[%(asctime)s][HYDRA] %(message)s"  # Hydra's hydra_logging format, its own lines


class _OnlyThisJob(logging.Filter):
    """For the running job's log file: its own lines and untagged ones, none about another job or the sweep."""

    def __init__(self, num: int) -> None:
        super().__init__()
        self.num = num

    def filter(self, record: logging.LogRecord) -> bool:
        return getattr(record, SWEEP_JOB, self.num) == self.num and not getattr(record, SWEEP_WIDE, False)


class _NotReplayed(logging.Filter):
    """For the console and the sweep's log: a replayed line was shown there already."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(record, REPLAYED, False)


class _ForConsole(_NotReplayed):
    """For the console: no replayed line, and none about the executions while a live view shows them."""

    def filter(self, record: logging.LogRecord) -> bool:
        shown_live = _live_view_on and (hasattr(record, SWEEP_JOB) or hasattr(record, SWEEP_WIDE))
        return super().filter(record) and not shown_live


_live_view_on = False


@contextlib.contextmanager
def live_view_shows_progress() -> Iterator[None]:
    """While a live view shows the executions, their progress lines stay off the console (not the log files)."""
    global _live_view_on
    _live_view_on = True
    try:
        yield
    finally:
        _live_view_on = False


class _LauncherLinesAsHydras(logging.Formatter):
    """A job's console formatter, but for the launcher's own lines: those keep Hydra's format inside a
    job as outside one (``[time][HYDRA] message``), instead of switching to the job's."""

    def __init__(self, job: logging.Formatter | None, hydra: str) -> None:
        super().__init__()
        self.job, self.hydra = job or logging.Formatter(), logging.Formatter(hydra)

    def format(self, record: logging.LogRecord) -> str:
        return (self.hydra if record.name.startswith("scaffold_flyte") else self.job).format(record)


def launcher_lines_as_hydras() -> None:
    """Called inside a job's ``run_job``: the launcher's lines on the console in Hydra's format."""
    hydra = HYDRA_FORMAT
    with contextlib.suppress(Exception):  # outside a Hydra run (a test calling a launcher function): the default
        from hydra.core.hydra_config import HydraConfig

        hydra = str(HydraConfig.get().hydra_logging["formatters"]["simple"]["format"])
    for handler in logging.getLogger().handlers:
        if not isinstance(handler, logging.FileHandler) and not isinstance(handler.formatter, _LauncherLinesAsHydras):
            handler.setFormatter(_LauncherLinesAsHydras(handler.formatter, hydra))


def own_lines(num: int, earlier: list[str]) -> None:
    """Called inside job ``num``'s ``run_job``, once Hydra has set up that job's logging: its log file
    takes its own lines from now on, and ``earlier``, the lines about it logged while another job ran."""
    launcher_lines_as_hydras()
    for handler in logging.getLogger().handlers:
        if isinstance(handler, logging.FileHandler):
            handler.addFilter(_OnlyThisJob(num))
        else:
            handler.addFilter(_ForConsole())
    follow_log = logging.getLogger("scaffold_flyte.follow")  # where they were logged first
    for line in earlier:
        follow_log.info(line, extra={SWEEP_JOB: num, REPLAYED: True})


@contextlib.contextmanager
def sweep_log(sweep_dir: str) -> Iterator[None]:
    """Every ``scaffold_flyte`` line of the launch also in ``<sweep_dir>/sweep.log`` (appended: batches add to it)."""
    logger = logging.getLogger("scaffold_flyte")
    try:
        handler: logging.Handler = logging.FileHandler(Path(sweep_dir) / SWEEP_LOG)
    except OSError:  # a sweep folder we cannot write to: the console still has every line
        yield
        return
    handler.setFormatter(logging.Formatter(FORMAT))
    handler.addFilter(_NotReplayed())
    handler.setLevel(logging.INFO)
    level = logger.level
    logger.addHandler(handler)
    if logger.getEffectiveLevel() > logging.INFO:
        logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)
        handler.close()
