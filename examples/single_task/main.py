"""The smallest app: one task that takes the whole config (an input named ``cfg``).

python main.py name=Hydra repeat=3
"""

from __future__ import annotations

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def greet(cfg: DictConfig) -> str:
    return " ".join([f"{cfg.greeting}, {cfg.name}!"] * cfg.repeat)


@workflow
def hello(cfg: DictConfig) -> str:
    return greet(cfg=cfg)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> str:
    message = scaffold_flyte.run(cfg)
    print(message)
    return message


if __name__ == "__main__":
    main()
