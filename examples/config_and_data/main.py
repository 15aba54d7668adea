"""A workflow that takes data (a CSV file) and configuration (a sub-config) side by side.

    python main.py measurements=/path/to/other.csv fit.label=other

``measurements`` is a ``FlyteFile``: Flyte moves the file, the config never carries its content.
"""

from __future__ import annotations

import csv

import hydra
from flytekit import task, workflow
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig

import scaffold_flyte


@task
def fit_line(measurements: FlyteFile, fit: DictConfig) -> dict[str, float]:
    """Least-squares line through the CSV's (x, y) rows."""
    with open(measurements.download()) as handle:
        rows = [(float(r["x"]), float(r["y"])) for r in csv.DictReader(handle)]
    n = len(rows)
    mean_x = sum(x for x, _ in rows) / n
    mean_y = sum(y for _, y in rows) / n
    slope = sum((x - mean_x) * (y - mean_y) for x, y in rows) / sum((x - mean_x) ** 2 for x, _ in rows)
    return {"slope": slope, "intercept": mean_y - slope * mean_x, "rows": float(n)}


@workflow
def fit_measurements(measurements: FlyteFile, fit: DictConfig) -> dict[str, float]:
    return fit_line(measurements=measurements, fit=fit)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, float]:
    result = scaffold_flyte.run(cfg)
    print(f"{cfg.fit.label}: slope={result['slope']:.3f} intercept={result['intercept']:.3f}")
    return result


if __name__ == "__main__":
    main()
