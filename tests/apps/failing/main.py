"""A workflow whose task raises for one config value: a failed job among good ones."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def check_value(value: int, fail_on: int) -> int:
    if value == fail_on:
        raise ValueError(f"value {value} is not allowed")
    return value * 10


@workflow
def checked(value: int, fail_on: int) -> int:
    return check_value(value=value, fail_on=fail_on)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
