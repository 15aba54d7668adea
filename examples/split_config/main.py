"""Split config with caching: three tasks, each on its own sub-config.

    python main.py                                   # run the workflow locally
    python main.py model.learning_rate=0.01          # override a value
    python main.py -m model.learning_rate=0.1,0.01 hydra/launcher=flyte_local   # a local sweep

``train`` and ``score`` take only ``model`` / ``evaluate``; change ``model.learning_rate`` and
``make_data`` is served from Flyte's cache while the tasks downstream of ``model`` run again.
"""

from __future__ import annotations

import logging
import random

import hydra
from flytekit import Cache, task, workflow
from omegaconf import DictConfig

import scaffold_flyte

log = logging.getLogger(__name__)


@task(cache=Cache(version="1"))
def make_data(data: DictConfig) -> list[list[float]]:
    """Points on the line y = 3x + 1, with noise."""
    log.info("task make_data: running")
    rng = random.Random(data.seed)
    points = []
    for _ in range(data.n_samples):
        x = rng.uniform(-1.0, 1.0)
        points.append([x, 3.0 * x + 1.0 + rng.gauss(0.0, data.noise)])
    return points


@task(cache=Cache(version="1"))
def train(model: DictConfig, points: list[list[float]]) -> list[float]:
    """Fit y = w x + b by gradient descent; returns [w, b]."""
    log.info("task train: running")
    w, b = 0.0, 0.0
    for _ in range(model.epochs):
        grad_w = sum(2 * (w * x + b - y) * x for x, y in points) / len(points)
        grad_b = sum(2 * (w * x + b - y) for x, y in points) / len(points)
        w -= model.learning_rate * grad_w
        b -= model.learning_rate * grad_b
    return [w, b]


@task(cache=Cache(version="1"))
def score(evaluate: DictConfig, points: list[list[float]], weights: list[float]) -> float:
    """Mean squared error on the held-out tail of the data."""
    log.info("task score: running")
    holdout = points[int(len(points) * (1 - evaluate.holdout_fraction)) :]
    w, b = weights
    return sum((w * x + b - y) ** 2 for x, y in holdout) / len(holdout)


@workflow
def training_pipeline(data: DictConfig, model: DictConfig, evaluate: DictConfig) -> float:
    points = make_data(data=data)
    weights = train(model=model, points=points)
    return score(evaluate=evaluate, points=points, weights=weights)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    mse = scaffold_flyte.run(cfg)
    log.info(f"holdout mse: {mse:.6f}")
    return mse


if __name__ == "__main__":
    main()
