"""One pipeline, three environments: where and how it runs is chosen by a config group.

    python main.py +env=dev           # locally, through flytekit's local execution
    python main.py +env=staging       # on Flyte: project/domain, registry and resources of staging
    python main.py +env=production    # ... of production

Nothing here knows which environment it runs in: ``conf/env/<name>.yaml`` sets the launcher
(``hydra.launcher.*``: local or remote, project, domain, registry, per-task resources) and may
change the pipeline's own config too (dev uses less data).
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
    """Points on the line y = 2x - 1, with noise."""
    log.info("task make_data: running")
    rng = random.Random(data.seed)
    points = []
    for _ in range(data.n_samples):
        x = rng.uniform(-1.0, 1.0)
        points.append([x, 2.0 * x - 1.0 + rng.gauss(0.0, data.noise)])
    return points


@task(cache=Cache(version="1"))
def train(model: DictConfig, points: list[list[float]]) -> float:
    """Fit y = w x + b by gradient descent; the fit's mean squared error."""
    log.info("task train: running")
    w = b = 0.0
    n = len(points)
    for _ in range(model.epochs):
        w -= model.learning_rate * sum(2 * (w * x + b - y) * x for x, y in points) / n
        b -= model.learning_rate * sum(2 * (w * x + b - y) for x, y in points) / n
    return sum((w * x + b - y) ** 2 for x, y in points) / n


@workflow
def pipeline(data: DictConfig, model: DictConfig) -> float:
    return train(model=model, points=make_data(data=data))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    mse = scaffold_flyte.run(cfg)
    log.info(f"mse: {mse:.6f}")
    return mse


if __name__ == "__main__":
    main()
