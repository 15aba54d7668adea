"""Two top-level workflows: the launcher must be told which one to run."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def plus_one(x: int) -> int:
    return x + 1


@task
def times_ten(x: int) -> int:
    return x * 10


@workflow
def increment(x: int) -> int:
    return plus_one(x=x)


@workflow
def scale(x: int) -> int:
    return times_ten(x=x)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    result = scaffold_flyte.run(cfg, workflow=cfg.get("workflow"))
    print(f"result={result}")
    return result


if __name__ == "__main__":
    main()
