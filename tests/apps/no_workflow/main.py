"""Asks for the module's workflow, but the module defines none."""

import hydra
from omegaconf import DictConfig

import scaffold_flyte


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> None:
    scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
