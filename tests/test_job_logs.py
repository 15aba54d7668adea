"""Each job's main.log holds that job's lines only; the sweep's lines go to ``sweep.log`` beside multirun.yaml.

A remote sweep is followed from inside job 0's run, so without care every job's progress would land
in job 0's main.log. Against the TEST STAND-IN for Flyte's admin API (tests/flyte_standin, not a
Flyte), with the tasks run in a built image; and a local sweep, for the sweep log.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, run_app
from tests.test_remote import remote
from tests.test_results import results_csv

JOB_LINE = re.compile(r"job #(\d+) \(")


def jobs_named(text: str) -> set[int]:
    return {int(n) for n in JOB_LINE.findall(text)}


def test_a_remote_sweep_writes_each_jobs_lines_to_its_own_log(standin: StandIn, home: Path) -> None:
    result = run_app(APPS / "slow", *remote(standin, "joblogs", "seconds=0.3,0.6,0.9"), home=home, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = home.parent / "multirun"
    for num, seconds in enumerate(["0.3", "0.6", "0.9"]):
        own = (sweep / str(num) / "main.log").read_text()
        assert jobs_named(own) == {num}, own  # nothing about the other jobs
        assert f"job #{num} (seconds={seconds}): SUCCEEDED" in own
        assert f"job #{num} (seconds={seconds}): returned {float(seconds)!r}" in own
        assert "executions: " not in own  # the sweep-wide counts are not a job's
    whole = (sweep / "sweep.log").read_text()
    assert jobs_named(whole) == {0, 1, 2}
    assert "executions: 3 succeeded" in whole and "followed 3 execution(s)" in whole
    # the results table times each execution, not the moment Hydra got round to its job
    rows = {row["job"]: row for row in results_csv(sweep)}
    for num, seconds in enumerate([0.3, 0.6, 0.9]):
        assert float(rows[str(num)]["duration_s"]) >= seconds, rows
    console = result.stdout + result.stderr
    # one format for the launcher's lines on the console, Hydra's, inside a job as outside one
    assert "[scaffold_flyte." not in console, console[-3000:]
    assert re.search(r"^\[[\d\- :,]+\]\[HYDRA\] job #1 \(seconds=0\.6\): SUCCEEDED", console, re.MULTILINE), console[
        -3000:
    ]
    for text in (whole, console):  # a line written again to its job's log is not shown twice
        for num, seconds in enumerate(["0.3", "0.6", "0.9"]):
            assert len(re.findall(rf"job #{num} \(seconds={seconds}\): SUCCEEDED", text)) == 1, text[-3000:]


def test_a_local_sweep_has_a_sweep_log_too(home: Path) -> None:
    result = run_app(
        EXAMPLES / "split_config", "-m", "hydra/launcher=flyte_local", "model.learning_rate=0.1,0.2", home=home
    )
    assert result.returncode == 0, result.stderr[-3000:]
    sweep = home.parent / "multirun"
    whole = (sweep / "sweep.log").read_text()
    assert "job #0 (model.learning_rate=0.1): returned" in whole
    assert "job #1 (model.learning_rate=0.2): returned" in whole
    assert "Sweep results (2 job(s)" in whole
    for num in (0, 1):
        assert jobs_named((sweep / str(num) / "main.log").read_text()) == {num}
