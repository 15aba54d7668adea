"""Three tasks whose runtime settings come from hydra.launcher.tasks (tests/test_task_settings.py).

`train` sets resources in code (requests cpu=1, limits cpu=2 and memory=1Gi) and caches; `train` and
`report` return environment variables, so a test sees what the registered template gave the container.
"""

import os

import hydra
from flytekit import Cache, Resources, task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task(cache=Cache(version="1"))
def prepare(data: DictConfig) -> int:
    return int(data.size)


@task(cache=Cache(version="1"), requests=Resources(cpu="1"), limits=Resources(cpu="2", mem="1Gi"))
def train(model: DictConfig, size: int) -> str:
    return f"{model.name}:{size}:{os.environ.get('TRAIN_MODE', 'unset')}"


@task
def report(result: str) -> str:
    return f"{result}|{os.environ.get('REPORT_LEVEL', 'unset')}"


@workflow
def pipeline(data: DictConfig, model: DictConfig) -> str:
    return report(result=train(model=model, size=prepare(data=data)))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> str:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
