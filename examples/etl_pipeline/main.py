"""A sequential ETL pipeline: load two CSVs in parallel, merge, process, train.

    python main.py model.learning_rate=0.1 features.min_orders=2

``load_customers`` and ``load_orders`` have no dependency on each other, so Flyte runs them in
parallel; the rest is a chain. Every step is cached: change ``model.*`` and only ``train`` runs.
"""

from __future__ import annotations

import csv
import logging

import hydra
from flytekit import Cache, task, workflow
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig

import scaffold_flyte

log = logging.getLogger(__name__)


def _read_csv(file: FlyteFile) -> list[dict[str, str]]:
    with open(file.download()) as handle:
        return list(csv.DictReader(handle))


@task(cache=Cache(version="1"))
def load_customers(customers: FlyteFile) -> list[dict[str, str]]:
    log.info("task load_customers: running")
    return _read_csv(customers)


@task(cache=Cache(version="1"))
def load_orders(orders: FlyteFile) -> list[dict[str, str]]:
    log.info("task load_orders: running")
    return _read_csv(orders)


@task(cache=Cache(version="1"))
def merge(customers: list[dict[str, str]], orders: list[dict[str, str]]) -> list[dict[str, float]]:
    """One row per customer: age, number of orders, total spent."""
    log.info("task merge: running")
    rows = {c["id"]: {"age": float(c["age"]), "orders": 0.0, "spent": 0.0} for c in customers}
    for order in orders:
        row = rows[order["customer_id"]]
        row["orders"] += 1
        row["spent"] += float(order["amount"])
    return list(rows.values())


@task(cache=Cache(version="1"))
def process(rows: list[dict[str, float]], features: DictConfig) -> list[list[float]]:
    """Keep customers with enough orders; features are (scaled age, spent per order)."""
    log.info("task process: running")
    kept = [r for r in rows if r["orders"] >= features.min_orders]
    return [[r["age"] / features.scale_age, r["spent"] / r["orders"]] for r in kept]


@task(cache=Cache(version="1"))
def train(points: list[list[float]], model: DictConfig) -> dict[str, float]:
    """Fit spent-per-order = w * age + b by gradient descent; report the fit and its error."""
    log.info("task train: running")
    w = b = 0.0
    n = len(points)
    for _ in range(model.epochs):
        errors = [(w * x + b - y, x) for x, y in points]
        w -= model.learning_rate * sum(2 * e * x for e, x in errors) / n
        b -= model.learning_rate * sum(2 * e for e, _ in errors) / n
    mse = sum((w * x + b - y) ** 2 for x, y in points) / n
    return {"w": w, "b": b, "mse": mse, "rows": float(n)}


@workflow
def etl(customers: FlyteFile, orders: FlyteFile, features: DictConfig, model: DictConfig) -> dict[str, float]:
    merged = merge(customers=load_customers(customers=customers), orders=load_orders(orders=orders))
    points = process(rows=merged, features=features)
    return train(points=points, model=model)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    result = scaffold_flyte.run(cfg)
    log.info(f"trained on {int(result['rows'])} customers: mse={result['mse']:.3f}")
    return result


if __name__ == "__main__":
    main()
