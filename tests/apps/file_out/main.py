"""A workflow whose output is a FlyteFile: it comes back to Hydra as its remote URI, with no download."""

import hydra
from flytekit import task, workflow
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig

import scaffold_flyte


@task
def write_report(report: DictConfig) -> FlyteFile:
    path = "/tmp/report.txt"
    with open(path, "w") as handle:
        handle.write(f"{report.title}: {report.value * 2}\n")
    return FlyteFile(path)


@workflow
def reporting(report: DictConfig) -> FlyteFile:
    return write_report(report=report)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> FlyteFile:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
