"""examples/optuna_search: Hydra's Optuna sweeper (``hydra/sweeper=optuna``) over the Flyte launcher.

The sweeper asks for a batch of ``n_jobs`` trials, calls the launcher's ``launch()`` with them, reads
each JobReturn's value as the trial's objective, and asks again: locally each batch is run by
flytekit's local execution, remotely each batch is one launch of executions on the test stand-in
for Flyte's admin API (tests/flyte_standin: not a Flyte).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from flyteidl.core import identifier_pb2
from omegaconf import OmegaConf

from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, load_app, record_overrides, recorded, run_app, tasks_that_ran
from tests.test_remote import copy_app, launch, literal_as, remote
from tests.test_results import results_csv

APP = EXAMPLES / "optuna_search"
N_TRIALS, BATCH = 6, 3  # conf/config.yaml: hydra.sweeper.n_trials, n_jobs
TASK, WORKFLOW, LAUNCH_PLAN = identifier_pb2.TASK, identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN


def trial_params(job: dict[str, Any]) -> dict[str, Any]:
    """The parameters Optuna gave a job, from the job's own overrides.yaml (``model.degree=2`` ...)."""
    overrides = OmegaConf.load(Path(job["output_dir"]) / ".hydra" / "overrides.yaml")
    params = {}
    for override in overrides:
        key, value = str(override).split("=", 1)
        params[key] = int(value) if key in ("model.degree", "model.epochs") else float(value)
    return params


def check_results(sweep_dir: Path, jobs: list[dict[str, Any]]) -> dict[str, Any]:
    """optimization_results.yaml names the job with the smallest objective, its parameters and value."""
    results: dict[str, Any] = OmegaConf.to_container(OmegaConf.load(sweep_dir / "optimization_results.yaml"))  # type: ignore[assignment]
    best = min(jobs, key=lambda job: job["value"])
    assert results["best_value"] == best["value"]
    assert results["best_params"] == trial_params(best)
    return results


def by_hand(params: dict[str, Any]) -> float:
    """The example's workflow on a trial's parameters, its task functions called as plain Python."""
    app = load_app(APP, "optuna_search_main")
    data = OmegaConf.load(APP / "conf" / "config.yaml").data
    model = OmegaConf.create({key.removeprefix("model."): value for key, value in params.items()})
    return float(app.fit.task_function(model=model, data=data, points=app.make_data.task_function(data=data)))


def test_a_local_search_runs_every_trial_and_writes_the_best(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = run_app(APP, "-m", "hydra/launcher=flyte_local", *record_overrides(records), home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert output.count(f"Flyte launcher (local): {BATCH} job(s)") == N_TRIALS // BATCH  # one launch per batch
    assert tasks_that_ran(result).count("fit") == N_TRIALS
    assert tasks_that_ran(result).count("make_data") == 1  # the other trials get the data from the cache

    jobs = recorded(records)
    assert [job["num"] for job in jobs] == list(range(N_TRIALS))
    assert {job["status"] for job in jobs} == {"COMPLETED"} and {job["type"] for job in jobs} == {"float"}
    for job in jobs:  # each trial's objective is the workflow's output on the parameters Optuna proposed
        assert math.isclose(job["value"], by_hand(trial_params(job)), rel_tol=1e-12)
    assert len({job["value"] for job in jobs}) == N_TRIALS
    results = check_results(home.parent / "multirun", jobs)
    assert results["best_params"]["model.degree"] == 2  # the data is a parabola
    # the launcher's table, one launch per batch: the file holds every trial, the best (smallest) first
    rows = results_csv(home.parent / "multirun")
    assert sorted(int(row["job"]) for row in rows) == list(range(N_TRIALS))
    assert [float(row["value"]) for row in rows] == sorted(job["value"] for job in jobs)
    assert float(rows[0]["value"]) == results["best_value"]
    assert output.count("Sweep results (") == N_TRIALS // BATCH


def test_a_search_over_remote_runs_in_batches(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path, "optuna_search")
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "optuna"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert output.count(f"Flyte launcher (remote): {BATCH} job(s)") == N_TRIALS // BATCH
    # the first batch builds and registers; the later ones reuse its work in this process (batches.py)
    later = "was registered for an earlier batch of this sweep: nothing to build, upload or register"
    assert output.count(later) == N_TRIALS // BATCH - 1

    # one execution per trial, whose output is the objective Optuna was told
    jobs = recorded(records)
    assert [job["num"] for job in jobs] == list(range(N_TRIALS))
    assert {job["status"] for job in jobs} == {"COMPLETED"} and {job["type"] for job in jobs} == {"float"}
    executions = standin.executions()
    assert len(executions) == N_TRIALS
    launched = {job["num"]: OmegaConf.load(Path(job["output_dir"]) / "flyte_execution.yaml") for job in jobs}
    for job in jobs:
        record = executions[launched[job["num"]].execution]
        assert literal_as(record.outputs.literals["o0"], float) == job["value"]
        assert math.isclose(job["value"], by_hand(trial_params(job)), rel_tol=1e-12)
    check_results(home.parent / "multirun", jobs)
    # the results file names each trial's execution by its console URL
    rows = {int(row["job"]): row for row in results_csv(home.parent / "multirun")}
    assert sorted(rows) == list(range(N_TRIALS))
    for num, row in rows.items():
        assert row["url"].endswith(f"/executions/{launched[num].execution}") and row["status"] == "COMPLETED"

    # two batches: the second one's executions were created once the first one's had finished
    first = [executions[launched[n].execution] for n in range(BATCH)]
    second = [executions[launched[n].execution] for n in range(BATCH, N_TRIALS)]
    assert max(r.finished or math.inf for r in first) <= min(r.created for r in second)
    # registered by the first batch only, at one version that the second batch executed
    assert len({launched[n].version for n in launched}) == 1
    assert sorted(key[3] for key in standin.registered(TASK)) == ["main.fit", "main.make_data"]
    calls = standin.calls
    assert (calls.get("CreateTask"), calls.get("CreateWorkflow"), calls.get("CreateLaunchPlan")) == (2, 1, 1)
    assert calls.get("CreateExecution") == N_TRIALS
    # asked once whether the version is registered, the bundle uploaded once, the workflow read back
    # once (by flytekit's register_workflow, which returns it)
    assert (calls.get("ListLaunchPlans"), calls.get("CreateUploadLocation"), calls.get("GetWorkflow")) == (1, 1, 1)
