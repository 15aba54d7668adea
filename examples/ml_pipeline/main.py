"""A multi-stage ML pipeline: preprocess, feature engineering, train, batch inference, evaluate.

    python main.py                                  # the five stages run locally
    python main.py model.learning_rate=0.1          # train and the stages after it run; the rest is cached
    python main.py -m hydra.launcher.images.default.registry=localhost:5000   # on Flyte, train on bigger resources

Each stage takes its own sub-config (``data``, ``features``, ``model``, ``inference``,
``evaluation``) and is cached on it, so a change reruns the stage it belongs to and those
downstream of it only. ``train``'s resources are not in this file: ``conf/config.yaml`` gives
them under ``hydra.launcher.tasks.train``, applied when the launcher registers the task.

Pure Python on a synthetic data set (two features, a circular class boundary), so it runs in
seconds: a linear model needs the degree-2 features of ``engineer_features`` to find the circle.
"""

from __future__ import annotations

import logging
import math
import random
from typing import NamedTuple

import hydra
from flytekit import Cache, task, workflow
from omegaconf import DictConfig

import scaffold_flyte

log = logging.getLogger(__name__)

Rows = list[list[float]]  # one example per row, its label (0.0 or 1.0) last


class Splits(NamedTuple):
    train: Rows
    test: Rows


@task(cache=Cache(version="1"))
def preprocess(data: DictConfig) -> Splits:
    """Draw the raw rows (a stand-in for reading a source), drop the incomplete ones, split train/test."""
    log.info("task preprocess: running")
    rng = random.Random(data.seed)
    rows: list[list[float | None]] = []
    for _ in range(data.n_rows):
        x1, x2 = rng.uniform(-1.0, 1.0), rng.uniform(-1.0, 1.0)
        label = 1.0 if x1 * x1 + x2 * x2 + rng.gauss(0.0, data.noise) < data.radius**2 else 0.0
        row: list[float | None] = [x1, x2, label]
        if rng.random() < data.missing_rate:
            row[rng.randrange(2)] = None  # a record with a missing measurement
        rows.append(row)
    complete = [[float(v) for v in row if v is not None] for row in rows if None not in row]
    cut = int(len(complete) * (1 - data.test_fraction))
    log.info(
        f"preprocess: {len(rows) - len(complete)} incomplete rows dropped, {cut} train, {len(complete) - cut} test"
    )
    return Splits(train=complete[:cut], test=complete[cut:])


def _expand(x: list[float], degree: int) -> list[float]:
    """x1, x2 and, from degree 2 on, their products up to ``degree``."""
    out = list(x)
    for d in range(2, degree + 1):
        out += [x[0] ** (d - k) * x[1] ** k for k in range(d + 1)]
    return out


@task(cache=Cache(version="1"))
def engineer_features(features: DictConfig, train: Rows, test: Rows) -> Splits:
    """Polynomial features, standardized with the training rows' mean and spread (applied to both splits)."""
    log.info("task engineer_features: running")
    expanded = [_expand(r[:-1], features.polynomial_degree) for r in train + test]
    labels = [r[-1] for r in train + test]
    n_train, columns = len(train), len(expanded[0])
    mean, spread = [0.0] * columns, [1.0] * columns
    if features.standardize:
        mean = [sum(x[j] for x in expanded[:n_train]) / n_train for j in range(columns)]
        spread = [
            math.sqrt(sum((x[j] - mean[j]) ** 2 for x in expanded[:n_train]) / n_train) or 1.0 for j in range(columns)
        ]
    rows = [
        [(v - m) / s for v, m, s in zip(x, mean, spread, strict=True)] + [y]
        for x, y in zip(expanded, labels, strict=True)
    ]
    return Splits(train=rows[:n_train], test=rows[n_train:])


def _probability(weights: list[float], x: list[float]) -> float:
    z = weights[0] + sum(w * v for w, v in zip(weights[1:], x, strict=True))
    return 1.0 / (1.0 + math.exp(-z))


@task(cache=Cache(version="1"))
def train(model: DictConfig, rows: Rows) -> list[float]:
    """Logistic regression by full-batch gradient descent with an L2 penalty; [bias, weights...]."""
    log.info("task train: running")
    weights = [0.0] * len(rows[0])
    n = len(rows)
    for _ in range(model.epochs):
        grad = [0.0] * len(weights)
        for row in rows:
            error = _probability(weights, row[:-1]) - row[-1]
            grad[0] += error
            for j, v in enumerate(row[:-1], start=1):
                grad[j] += error * v
        weights = [
            w - model.learning_rate * (g / n + (model.l2 * w if j else 0.0))
            for j, (w, g) in enumerate(zip(weights, grad, strict=True))
        ]
    return weights


@task(cache=Cache(version="1"))
def batch_inference(inference: DictConfig, weights: list[float], rows: Rows) -> list[float]:
    """Score the rows in batches of ``batch_size``; a row is predicted 1.0 at or above ``threshold``."""
    log.info("task batch_inference: running")
    predictions: list[float] = []
    batches = 0
    for start in range(0, len(rows), inference.batch_size):
        batch = rows[start : start + inference.batch_size]
        predictions += [1.0 if _probability(weights, r[:-1]) >= inference.threshold else 0.0 for r in batch]
        batches += 1
    log.info(f"batch_inference: {len(rows)} rows in {batches} batches")
    return predictions


@task(cache=Cache(version="1"))
def evaluate(evaluation: DictConfig, predictions: list[float], rows: Rows) -> dict[str, float]:
    """The metrics ``evaluation.metrics`` names, from the predictions against the rows' labels."""
    log.info("task evaluate: running")
    pairs = list(zip(predictions, (r[-1] for r in rows), strict=True))
    tp = sum(1 for p, y in pairs if p == 1.0 and y == 1.0)
    fp = sum(1 for p, y in pairs if p == 1.0 and y == 0.0)
    fn = sum(1 for p, y in pairs if p == 0.0 and y == 1.0)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    every = {
        "accuracy": sum(1 for p, y in pairs if p == y) / len(pairs),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "rows": float(len(pairs)),
    }
    return {name: every[name] for name in evaluation.metrics}


@workflow
def ml_pipeline(
    data: DictConfig, features: DictConfig, model: DictConfig, inference: DictConfig, evaluation: DictConfig
) -> dict[str, float]:
    raw = preprocess(data=data)
    engineered = engineer_features(features=features, train=raw.train, test=raw.test)
    weights = train(model=model, rows=engineered.train)
    predictions = batch_inference(inference=inference, weights=weights, rows=engineered.test)
    return evaluate(evaluation=evaluation, predictions=predictions, rows=engineered.test)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    metrics = scaffold_flyte.run(cfg)
    log.info("metrics: " + ", ".join(f"{name}={value:.4f}" for name, value in metrics.items()))
    return metrics


if __name__ == "__main__":
    main()
