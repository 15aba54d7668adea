"""Parallel training: one data load feeds three models trained side by side; the best one is picked.

    python main.py                                     # digits: logistic regression, random forest, SVM
    python main.py select.metric=f1_macro              # pick by another metric
    python main.py model@model_c=knn data.dataset=wine # swap a model, change the data set
    python main.py -m hydra/launcher=flyte             # on Flyte (see the top README for the endpoint)

``load_data`` runs once; the three ``train`` nodes depend on it only, so Flyte runs them at the
same time, each on its own slot of the config (``model_a``, ``model_b``, ``model_c``, filled from
the ``model`` config group, each an estimator Hydra instantiates from its ``_target_``). A Flyte
workflow is a static graph: three slots are three nodes, whatever the config says they hold.
"""

from __future__ import annotations

import logging
import time
from typing import NamedTuple

import hydra
import numpy as np
from flytekit import Cache, task, workflow
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

import scaffold_flyte

log = logging.getLogger(__name__)

DATASETS = ("digits", "wine", "breast_cancer", "iris")  # bundled with scikit-learn: nothing is downloaded
METRICS = ("accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro")


class Split(NamedTuple):
    x_train: np.ndarray
    x_test: np.ndarray
    y_train: np.ndarray
    y_test: np.ndarray


@task(cache=Cache(version="1"))
def load_data(data: DictConfig) -> Split:
    """The data set, split once into a training and a test part (stratified, seeded)."""
    from sklearn import datasets
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    log.info("task load_data: running")
    if data.dataset not in DATASETS:
        raise ValueError(f"data.dataset={data.dataset!r} is not bundled with scikit-learn: use one of {DATASETS}")
    x, y = getattr(datasets, f"load_{data.dataset}")(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=data.test_size, random_state=data.seed, stratify=y
    )
    if data.standardize:
        scaler = StandardScaler().fit(x_train)
        x_train, x_test = scaler.transform(x_train), scaler.transform(x_test)
    return Split(x_train, x_test, y_train, y_test)


@task(cache=Cache(version="1"))
def train(
    model: DictConfig, x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, y_test: np.ndarray
) -> DictConfig:
    """Fit the slot's estimator (Hydra instantiates ``model.estimator``) and score it on the test part."""
    from sklearn import metrics

    log.info(f"task train: running ({model.name})")
    estimator = instantiate(model.estimator)
    started = time.perf_counter()
    estimator.fit(x_train, y_train)
    seconds = time.perf_counter() - started
    predicted = estimator.predict(x_test)
    scores = {
        "accuracy": metrics.accuracy_score(y_test, predicted),
        "balanced_accuracy": metrics.balanced_accuracy_score(y_test, predicted),
        "f1_macro": metrics.f1_score(y_test, predicted, average="macro"),
        "precision_macro": metrics.precision_score(y_test, predicted, average="macro", zero_division=0),
        "recall_macro": metrics.recall_score(y_test, predicted, average="macro"),
    }
    log.info(f"model {model.name}: " + " ".join(f"{k}={v:.4f}" for k, v in scores.items()))
    return OmegaConf.create(
        {"name": str(model.name), "scores": {k: float(v) for k, v in scores.items()}, "fit_seconds": seconds}
    )


@task(cache=Cache(version="1"))
def pick_best(select: DictConfig, results: list[DictConfig]) -> DictConfig:
    """The model with the highest ``select.metric``; the first one listed wins a tie."""
    log.info("task pick_best: running")
    if select.metric not in METRICS:
        raise ValueError(f"select.metric={select.metric!r} is not a metric the models report: use one of {METRICS}")
    best = max(results, key=lambda result: result.scores[select.metric])
    return OmegaConf.create(
        {
            "best": best.name,
            "metric": str(select.metric),
            "score": best.scores[select.metric],
            "candidates": {result.name: result.scores[select.metric] for result in results},
        }
    )


@workflow
def parallel_training(
    data: DictConfig, model_a: DictConfig, model_b: DictConfig, model_c: DictConfig, select: DictConfig
) -> DictConfig:
    split = load_data(data=data)
    common = {"x_train": split.x_train, "y_train": split.y_train, "x_test": split.x_test, "y_test": split.y_test}
    results = [train(model=model, **common) for model in (model_a, model_b, model_c)]
    return pick_best(select=select, results=results)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> DictConfig:
    result = scaffold_flyte.run(cfg)
    log.info(f"best model: {result.best} ({result.metric}={result.score:.4f})")
    return result


if __name__ == "__main__":
    main()
