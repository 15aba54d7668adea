"""A workflow whose config takes a while to resolve (a resolver that sleeps): for Ctrl-C while planning."""

import time

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig, OmegaConf

import scaffold_flyte


def _slowly(seconds: str) -> int:
    print("resolving slowly", flush=True)
    time.sleep(float(seconds))
    return 1


OmegaConf.register_new_resolver("slowly", _slowly)


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
