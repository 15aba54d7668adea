"""examples/parallel_training: one data load, three scikit-learn models trained side by side, the best
picked by ``select.metric``. Locally (``python main.py``, a local sweep) and once remotely against
the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte), in a real image with
scikit-learn from PyPI.
"""

from __future__ import annotations

import math
import re
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import identifier_pb2

from tests.flyte_standin import StandIn
from tests.helpers import EXAMPLES, record_overrides, recorded, run_app, tasks_that_ran
from tests.test_remote import copy_app, launch, remote

APP = EXAMPLES / "parallel_training"
WORKFLOW = identifier_pb2.WORKFLOW
TRAINED = re.compile(r"model (\w+): accuracy=")
BEST = re.compile(r"best model: (\w+) \((\w+)=([\d.]+)\)")
# wine, where the metric decides: the tree and the neighbours tie on accuracy (the first listed wins a
# tie), the tree is ahead on precision, the neighbours on balanced accuracy; a weak logistic regression
WINE = [
    "data.dataset=wine",
    "model@model_a=decision_tree",
    "model_a.estimator.max_depth=3",
    "model@model_b=knn",
    "model@model_c=logistic_regression",
    "model_c.estimator.C=0.001",
]


def by_hand(dataset: str, estimator: Any, test_size: float = 0.3, seed: int = 0) -> dict[str, float]:
    """The example's scores computed here with scikit-learn directly, none of the example's code."""
    from sklearn import datasets, metrics
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    x, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    scaler = StandardScaler().fit(x_train)
    predicted = estimator.fit(scaler.transform(x_train), y_train).predict(scaler.transform(x_test))
    return {
        "accuracy": metrics.accuracy_score(y_test, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_test, predicted),
        "precision_macro": metrics.precision_score(y_test, predicted, average="macro", zero_division=0),
    }


def digits_by_hand() -> dict[str, dict[str, float]]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC

    return {
        "logistic_regression": by_hand("digits", LogisticRegression(C=1.0, max_iter=2000)),
        "random_forest": by_hand("digits", RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0)),
        "svm": by_hand("digits", SVC(C=1.0, kernel="rbf")),
    }


def test_one_load_three_models_and_the_best_by_accuracy(home: Path) -> None:
    result = run_app(APP, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert tasks_that_ran(result) == ["load_data", "train", "train", "train", "pick_best"]
    assert sorted(TRAINED.findall(output)) == ["logistic_regression", "random_forest", "svm"]

    expected = digits_by_hand()
    winner = max(expected, key=lambda name: expected[name]["accuracy"])
    best, metric, score = BEST.search(output).groups()  # type: ignore[union-attr]
    assert (best, metric) == (winner, "accuracy")
    assert math.isclose(float(score), expected[winner]["accuracy"], abs_tol=5e-5)  # logged with 4 decimals
    for name, scores in expected.items():
        assert f"model {name}: accuracy={scores['accuracy']:.4f}" in output


def test_the_choice_follows_select_metric_and_only_pick_best_runs_again(home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = run_app(
        APP,
        "-m",
        "hydra/launcher=flyte_local",
        *WINE,
        "select.metric=accuracy,precision_macro,balanced_accuracy",
        *record_overrides(records),
        home=home,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # the first job trains; the next two change only `select`: the data and the models come from the cache
    assert tasks_that_ran(result) == ["load_data", "train", "train", "train", "pick_best", "pick_best", "pick_best"]

    from sklearn.linear_model import LogisticRegression
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.tree import DecisionTreeClassifier

    expected = {
        "decision_tree": by_hand("wine", DecisionTreeClassifier(max_depth=3, random_state=0)),
        "knn": by_hand("wine", KNeighborsClassifier(n_neighbors=5)),
        "logistic_regression": by_hand("wine", LogisticRegression(C=0.001, max_iter=2000)),
    }
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["COMPLETED"] * 3
    for job in jobs:
        metric = job["value"]["metric"]
        first_best = max(expected, key=lambda name: expected[name][metric])  # max() keeps the first of a tie
        assert job["value"]["best"] == first_best
        assert job["value"]["candidates"] == pytest.approx({n: s[metric] for n, s in expected.items()}, abs=1e-12)
    assert [j["value"]["best"] for j in jobs] == ["decision_tree", "decision_tree", "knn"]
    accuracy = jobs[0]["value"]["candidates"]
    assert accuracy["decision_tree"] == accuracy["knn"]  # a tie: the first slot wins


def test_swapping_a_model_moves_the_choice(home: Path) -> None:
    result = run_app(APP, "model@model_c=decision_tree", home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    assert sorted(TRAINED.findall(output)) == ["decision_tree", "logistic_regression", "random_forest"]
    expected = digits_by_hand()
    runner_up = max(("logistic_regression", "random_forest"), key=lambda name: expected[name]["accuracy"])
    assert BEST.search(output).group(1) == runner_up  # type: ignore[union-attr]
    assert runner_up != max(expected, key=lambda name: expected[name]["accuracy"])  # svm, now gone, had won


def test_an_unknown_metric_names_the_ones_reported(home: Path) -> None:
    result = run_app(APP, "select.metric=roc", home=home)
    assert result.returncode != 0
    assert "select.metric='roc' is not a metric the models report: use one of" in result.stderr
    assert "balanced_accuracy" in result.stderr
    assert "Traceback" not in result.stderr


def test_remote_launch_trains_side_by_side_and_returns_the_best(standin: StandIn, home: Path, tmp_path: Path) -> None:
    """One launch against the stand-in: an image with scikit-learn from PyPI, the three train nodes
    running at the same time in their containers, the best model's result back as the JobReturn."""
    app = copy_app(tmp_path, "parallel_training")
    assert (app / "requirements.txt").read_text().count("scikit-learn==") == 1
    # the image gets the tests' scikit-learn version, whatever the venv resolved: the very same scores
    (app / "requirements.txt").write_text(f"scikit-learn=={version('scikit-learn')}\n")
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "parallel-training"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]

    (job,) = recorded(records)
    assert job["status"] == "COMPLETED" and job["type"] == "DictConfig"
    expected = digits_by_hand()
    winner = max(expected, key=lambda name: expected[name]["accuracy"])
    assert job["value"]["best"] == winner and job["value"]["metric"] == "accuracy"
    assert job["value"]["candidates"] == pytest.approx({n: s["accuracy"] for n, s in expected.items()}, abs=1e-12)

    assert standin.runner is not None
    assert sorted(standin.runner.tasks_run) == ["main.load_data", "main.pick_best", *["main.train"] * 3]
    (workflow,) = standin.registered(WORKFLOW)
    task_of = {
        node.id: node.task_node.reference_id.name
        for node in standin.spec(workflow).template.nodes
        if node.HasField("task_node")
    }
    (record,) = standin.executions().values()
    spans = [record.node_times[node] for node, name in task_of.items() if name == "main.train"]
    (load,) = [record.node_times[node] for node, name in task_of.items() if name == "main.load_data"]
    assert len(spans) == 3
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # the three ran side by side
    assert load[1] <= min(start for start, _ in spans)  # each after the one data load
