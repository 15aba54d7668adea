"""The sweep's results table and ``sweep_results.csv``: every job's overrides, status, duration, value and URL.

Local sweeps here (flytekit's local execution, a private HOME each); the remote rows (with their
execution URLs) are checked in tests/test_example_optuna.py, over a batched sweep on the test
stand-in for Flyte's admin API.
"""

from __future__ import annotations

import csv
import logging
import math
import re
from pathlib import Path
from typing import Any

import pytest
from hydra.core.utils import JobReturn, JobStatus
from omegaconf import OmegaConf

from scaffold_flyte import results
from tests.helpers import APPS, EXAMPLES, record_overrides, recorded, run_app

LOCAL = ["-m", "hydra/launcher=flyte_local"]


def results_csv(sweep_dir: Path) -> list[dict[str, str]]:
    with open(sweep_dir / "sweep_results.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def sweep(app: Path, home: Path, records: Path, *overrides: str) -> Any:
    result = run_app(app, *LOCAL, *overrides, *record_overrides(records), home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def test_a_local_sweep_ends_with_its_table_sorted_by_value(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = sweep(EXAMPLES / "split_config", home, records, "model.learning_rate=0.1,0.01,0.5")
    jobs = {job["num"]: job for job in recorded(records)}
    rows = results_csv(home.parent / "multirun")
    swept = {0: "model.learning_rate=0.1", 1: "model.learning_rate=0.01", 2: "model.learning_rate=0.5"}
    assert {int(row["job"]): row["overrides"] for row in rows} == swept
    values = [float(row["value"]) for row in rows]
    assert values == sorted(values)  # the smallest value first
    for row in rows:
        assert row["status"] == "COMPLETED" and row["url"] == ""  # a local job has no execution
        assert math.isclose(float(row["value"]), jobs[int(row["job"])]["value"], rel_tol=1e-15)
        assert float(row["duration_s"]) >= 0
    output = result.stdout + result.stderr
    assert "Sweep results (3 job(s), also in " in output
    header = re.search(r"^job\s+overrides\s+status\s+duration_s\s+value\s+url$", output, re.MULTILINE)
    assert header is not None, output[-2000:]
    # each job's value is logged as it ends, as a remote job's is
    for num, job in jobs.items():
        assert f"job #{num} ({swept[num]}): returned {job['value']!r}" in output


def test_failed_jobs_come_last_with_their_error(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = run_app(APPS / "failing", *LOCAL, "value=3,2,1", *record_overrides(records), home=home)
    assert result.returncode != 0  # Hydra raises the failed job's error once the sweep has returned
    rows = results_csv(home.parent / "multirun")
    assert [(row["job"], row["status"]) for row in rows] == [
        ("2", "COMPLETED"),
        ("0", "COMPLETED"),
        ("1", "FAILED"),
    ]
    assert [row["value"] for row in rows[:2]] == ["10", "30"]
    assert "value 2 is not allowed" in rows[2]["value"]


def test_values_that_are_not_numbers_keep_the_job_order(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    sweep(EXAMPLES / "shell_task", home, records, "report.top=3,1")
    rows = results_csv(home.parent / "multirun")
    assert [row["job"] for row in rows] == ["0", "1"]
    assert [row["value"] for row in rows] == [str(job["value"]) for job in recorded(records)]


def test_a_results_file_that_cannot_be_written_costs_nothing(home: Path, tmp_path: Path) -> None:
    sweep_dir = home.parent / "multirun"
    (sweep_dir / "sweep_results.csv").mkdir(parents=True)  # in its way: a folder of that name
    records = tmp_path / "returns.jsonl"
    result = sweep(EXAMPLES / "split_config", home, records, "model.learning_rate=0.1,0.01")
    assert [job["status"] for job in recorded(records)] == ["COMPLETED", "COMPLETED"]
    output = result.stdout + result.stderr
    said = re.search(r"sweep_results.csv could not be written \(.*\): written to (\S+) instead\)", output)
    assert said is not None, output[-2000:]
    with open(said.group(1), newline="") as handle:
        assert sorted(row["job"] for row in csv.DictReader(handle)) == ["0", "1"]


def test_a_long_sweep_shows_its_best_rows_and_keeps_them_all_in_the_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    def job_return(num: int) -> JobReturn:
        folder = tmp_path / str(num)
        folder.mkdir()
        hydra_cfg = OmegaConf.create({"hydra": {"job": {"num": num}, "runtime": {"output_dir": str(folder)}}})
        return JobReturn(
            overrides=[f"x={num}"], hydra_cfg=hydra_cfg, status=JobStatus.COMPLETED, _return_value=float(100 - num)
        )

    caplog.set_level(logging.INFO, logger="scaffold_flyte.results")
    results.report(str(tmp_path), [job_return(num) for num in range(40)], {}, "maximize")
    (line,) = [record.getMessage() for record in caplog.records if "Sweep results" in record.getMessage()]
    shown = [row.split()[0] for row in line.splitlines()[2:] if row[:1].isdigit()]
    assert shown == [str(num) for num in range(results.SHOWN_ROWS)]  # the 25 largest values, largest first
    assert line.endswith(f"... {40 - results.SHOWN_ROWS} more job(s): see the file")
    assert len(results_csv(tmp_path)) == 40
