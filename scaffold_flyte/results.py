"""The sweep's results table: one row per job, logged at the end of a launch and kept as a CSV.

Hydra leaves a sweep's outcome spread over one folder per job; what a person wants at the end
is which configuration won. Each launch ends with a table of every job of the sweep folder so
far (overrides, status, duration, value, execution URL), sorted by value when the values are
numbers, and the same rows in ``sweep_results.csv`` beside Hydra's ``multirun.yaml``. A batched
sweeper (Optuna) calls the launcher once per batch: each batch adds its rows to the file, so the
last table is the whole sweep. The console shows the first 25 rows (the best, when sorted by
value), so a search of thousands of trials does not print thousands of lines per batch. The
direction follows ``hydra.sweeper.direction`` where the sweeper has one (Optuna's
``maximize``), ascending otherwise.

A results file that cannot be written costs the sweep nothing: the JobReturns go back to Hydra
as they are, and the log says where the rows went instead.
"""

from __future__ import annotations

import csv
import hashlib
import logging
import math
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hydra.core.utils import JobReturn, JobStatus, filter_overrides
from omegaconf import DictConfig, OmegaConf

log = logging.getLogger(__name__)
RESULTS_FILE = "sweep_results.csv"
EXECUTION_RECORD = "flyte_execution.yaml"  # remote_launch.RECORD_FILE: names the job's execution
COLUMNS = ("job", "overrides", "status", "duration_s", "value", "url")
VALUE_WIDTH = 60
SHOWN_ROWS = 25  # the console's table: the best this many; the file has every row


@dataclass(frozen=True)
class JobResult:
    """One row: what a job was (its number and overrides) and how it ended."""

    job: int
    overrides: str
    status: str
    duration_s: str
    value: str
    url: str

    @classmethod
    def of(cls, job_return: JobReturn, duration: float | None) -> JobResult:
        cfg = job_return.hydra_cfg
        num = int(cfg.hydra.job.num) if cfg is not None else -1
        folder = Path(str(cfg.hydra.runtime.output_dir)) if cfg is not None else None
        completed = job_return.status == JobStatus.COMPLETED
        value = job_return._return_value
        shown = _plain(value) if completed else f"{type(value).__name__}: {value}"
        return cls(
            job=num,
            overrides=" ".join(filter_overrides(list(job_return.overrides or []))),
            status=job_return.status.name if job_return.status != JobStatus.UNKNOWN else "UNKNOWN",
            duration_s="" if duration is None else f"{duration:.1f}",
            value=shown,
            url=_execution_url(folder),
        )

    def row(self) -> dict[str, str]:
        return {name: str(getattr(self, name)) for name in COLUMNS}


def report(sweep_dir: str, job_returns: Sequence[JobReturn], durations: dict[int, float], direction: Any) -> None:
    """Add this launch's jobs to the sweep's results file, then log the sweep's table so far."""
    if not job_returns:
        return
    rows = {r.job: r for r in (JobResult.of(jr, durations.get(_num(jr))) for jr in job_returns)}
    path = Path(sweep_dir) / RESULTS_FILE
    earlier = {r.job: r for r in _read(path) if r.job not in rows}
    every = _sorted([*earlier.values(), *rows.values()], _descending(direction))
    written = _write(path, every)
    more = len(every) - SHOWN_ROWS
    tail = f"\n... {more} more job(s): see the file" if more > 0 else ""
    log.info(f"Sweep results ({len(every)} job(s), {written}):\n{table(every[:SHOWN_ROWS])}{tail}")


def table(rows: Sequence[JobResult]) -> str:
    """Rows as aligned plain-text columns, values cut to a readable width."""
    cells = [[str(getattr(r, name)) for name in COLUMNS] for r in rows]
    cells = [[_cut(c, VALUE_WIDTH) if i == COLUMNS.index("value") else c for i, c in enumerate(r)] for r in cells]
    widths = [max(len(name), *(len(r[i]) for r in cells)) for i, name in enumerate(COLUMNS)]
    lines = ["  ".join(name.ljust(w) for name, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in cells]
    return "\n".join(lines)


def _sorted(rows: list[JobResult], descending: bool) -> list[JobResult]:
    """By value when every completed job's value is a number (the failed ones last), else by job number."""
    numbers = {r.job: _number(r.value) for r in rows if r.status == "COMPLETED"}
    if not numbers or any(n is None for n in numbers.values()):
        return sorted(rows, key=lambda r: r.job)
    sign = -1.0 if descending else 1.0

    def key(r: JobResult) -> tuple[int, float, int]:
        value = numbers.get(r.job)
        return (0, sign * value, r.job) if value is not None else (1, 0.0, r.job)

    return sorted(rows, key=key)


def _write(path: Path, rows: Sequence[JobResult]) -> str:
    """``path``, or a file in the temp folder when ``path`` cannot be written; says which."""
    try:
        _write_csv(path, rows)
        return f"also in {path}"
    except OSError as error:
        fallback = (
            Path(tempfile.gettempdir()) / f"sweep_results-{hashlib.sha256(str(path).encode()).hexdigest()[:8]}.csv"
        )
        try:
            _write_csv(fallback, rows)
        except OSError:
            return f"{path} could not be written ({error.strerror or error}), nor {fallback}: the table above is all"
        return f"{path} could not be written ({error.strerror or error}): written to {fallback} instead"


def _write_csv(path: Path, rows: Sequence[JobResult]) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(r.row() for r in rows)


def _read(path: Path) -> list[JobResult]:
    """The rows an earlier batch of this sweep wrote; none if there is no such file or it is not ours."""
    try:
        with open(path, newline="") as handle:
            return [
                JobResult(int(row["job"]), *(str(row[name]) for name in COLUMNS[1:])) for row in csv.DictReader(handle)
            ]
    except (OSError, ValueError, TypeError, KeyError):
        return []


def _num(job_return: JobReturn) -> int:
    return int(job_return.hydra_cfg.hydra.job.num) if job_return.hydra_cfg is not None else -1


def _descending(direction: Any) -> bool:
    """Optuna's ``direction: maximize`` (or a list of directions, the first of which counts)."""
    if isinstance(direction, (list, tuple)) or OmegaConf.is_list(direction):
        direction = direction[0] if len(direction) else None
    return str(getattr(direction, "name", direction)).lower() == "maximize"


def _number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def preview(value: Any, limit: int = 160) -> str:
    """A value for a log line: its repr, cut short (outputs can be large)."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _plain(value: Any) -> str:
    if isinstance(value, DictConfig):
        value = OmegaConf.to_container(value, resolve=True)
    if isinstance(value, bool) or value is None:
        return repr(value)
    return str(value)


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."


def _execution_url(folder: Path | None) -> str:
    """The console URL the job's execution record names (remote jobs); empty for a local job."""
    if folder is None or not (folder / EXECUTION_RECORD).is_file():
        return ""
    try:
        record = yaml.safe_load((folder / EXECUTION_RECORD).read_text())
        return str(record.get("url", "")) if isinstance(record, dict) else ""
    except Exception:  # noqa: BLE001 - a record we cannot read only leaves the URL out
        return ""
