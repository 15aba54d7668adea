"""A workflow whose output is a DictConfig: it must come back to Hydra as one, not as a dict or a string."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig, OmegaConf

import scaffold_flyte


@task
def summarize(model: DictConfig) -> DictConfig:
    return OmegaConf.create({"name": model.name, "doubled": model.learning_rate * 2, "layers": [8, model.width]})


@workflow
def summary(model: DictConfig) -> DictConfig:
    return summarize(model=model)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> DictConfig:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
