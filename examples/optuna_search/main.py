"""A hyperparameter search over remote runs: Optuna proposes, each trial is a Flyte execution.

    python main.py -m                                   # 6 trials in 2 batches of 3, on Flyte
    python main.py -m hydra/launcher=flyte_local        # the same search, locally
    python main.py model.degree=2 model.learning_rate=0.3   # one run, locally

The workflow returns the validation error as a float; the launcher hands each execution's output
back as the job's return value, which is what Hydra's Optuna sweeper reads as the trial's
objective. The sweeper writes the best trial to ``<sweep dir>/optimization_results.yaml``.
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
    """Points of y = 2x^2 - x + 0.5 with noise, x in [-1, 1]."""
    log.info("task make_data: running")
    rng = random.Random(data.seed)
    points = []
    for _ in range(data.n_samples):
        x = rng.uniform(-1.0, 1.0)
        points.append([x, 2.0 * x * x - x + 0.5 + rng.gauss(0.0, data.noise)])
    return points


@task(cache=Cache(version="1"))
def fit(model: DictConfig, data: DictConfig, points: list[list[float]]) -> float:
    """Fit a polynomial of ``model.degree`` by gradient descent on the training part; the MSE on the rest."""
    log.info(f"task fit: running (degree={model.degree} learning_rate={model.learning_rate} epochs={model.epochs})")
    cut = int(len(points) * (1 - data.validation_fraction))
    train, validation = points[:cut], points[cut:]
    weights = [0.0] * (model.degree + 1)

    def predict(x: float) -> float:
        return sum(w * x**power for power, w in enumerate(weights))

    for _ in range(model.epochs):
        errors = [(predict(x) - y, x) for x, y in train]
        for power in range(len(weights)):
            weights[power] -= model.learning_rate * sum(2 * e * x**power for e, x in errors) / len(train)
    mse = sum((predict(x) - y) ** 2 for x, y in validation) / len(validation)
    log.info(f"validation mse: {mse:.6f}")
    return mse


@workflow
def polynomial_fit(data: DictConfig, model: DictConfig) -> float:
    return fit(model=model, data=data, points=make_data(data=data))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
