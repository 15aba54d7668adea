"""Configs whose keys the OmegaConf transformer cannot carry to a task."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def keys(model: DictConfig) -> int:
    return len(model)


@workflow
def count_keys(model: DictConfig) -> int:
    return keys(model=model)


@hydra.main(version_base=None, config_path="conf", config_name="dotted")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
