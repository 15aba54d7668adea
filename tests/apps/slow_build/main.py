"""A one-task workflow whose own Dockerfile takes minutes to build: for Ctrl-C while building."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def double(x: int) -> int:
    return 2 * x


@workflow
def doubled(x: int) -> int:
    return double(x=x)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
