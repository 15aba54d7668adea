"""One task in a named image ('gpu'), the other in the default image."""

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task(container_image="{{.images.gpu.fqn}}:{{.images.gpu.version}}")
def on_gpu(x: int) -> int:
    return x * 2


@task
def on_default(x: int) -> int:
    return x + 1


@workflow
def mixed_images(x: int) -> int:
    return on_default(x=on_gpu(x=x))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
