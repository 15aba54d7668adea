"""Tasks but no workflow, and a Hydra function that asks scaffold_flyte.run for the module's workflow."""

import hydra
from flytekit import task
from omegaconf import DictConfig

import scaffold_flyte


@task
def double(x: int) -> int:
    print("task double: running")
    return 2 * x


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
