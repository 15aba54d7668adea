"""A task whose output literal is larger than flytepropeller reads by default (storage.limits.maxDownloadMBs, 2 MB)."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def pad(size: DictConfig) -> str:
    return "x" * (size.megabytes * 1024 * 1024)


@workflow
def padding(size: DictConfig) -> str:
    return pad(size=size)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return len(scaffold_flyte.run(cfg))


if __name__ == "__main__":
    main()
