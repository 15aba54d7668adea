"""A workflow whose task takes a while: for timeouts and Ctrl-C while waiting."""

import time

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def nap(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@workflow
def napping(seconds: float) -> float:
    return nap(seconds=seconds)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
