"""An ordinary Hydra app: no Flyte in it at all."""

import hydra
from omegaconf import DictConfig


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict:
    return {"label": cfg.label, "square": cfg.x * cfg.x}


if __name__ == "__main__":
    main()
