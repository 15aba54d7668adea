"""Config values that come from the environment by every route a value can take into an execution input.

Each ``case=<name>`` (conf/case/) routes SCAFFOLD_TEST_TOKEN (or another variable) into the inputs
another way; ``case=plain`` takes nothing from the environment and must launch.
"""

import hashlib
import os
from dataclasses import dataclass
from os import environ  # a reference kept at import, as a resolver module may keep it

import hydra
from flytekit import task, workflow
from omegaconf import DictConfig, OmegaConf

import scaffold_flyte

OmegaConf.register_new_resolver("environ_secret", lambda name: os.environ[name])
OmegaConf.register_new_resolver("getenv_secret", lambda name: os.getenv(name, "unset"))
OmegaConf.register_new_resolver("kept_environ", lambda name: environ[name])
OmegaConf.register_new_resolver("cached_secret", lambda name: os.environ[name], use_cache=True)
OmegaConf.register_new_resolver("port_number", lambda name: int(os.environ[name]))
OmegaConf.register_new_resolver("digest_of", lambda name: hashlib.sha256(os.environ[name].encode()).hexdigest())
OmegaConf.register_new_resolver("env_keys", lambda name: {os.environ[name]: 1})


@dataclass
class Settings:
    name: str = "plain"
    token: str = "${oc.env:SCAFFOLD_TEST_TOKEN}"  # a structured config's default that reads the environment


@task
def describe(model: DictConfig, data: DictConfig, params: dict[str, str]) -> str:
    return f"{sorted(model)} {sorted(data)} {sorted(params)}"


@workflow
def pipeline(model: DictConfig, data: DictConfig, params: dict[str, str]) -> str:
    return describe(model=model, data=data, params=params)


@task
def settings_name(settings: Settings) -> str:
    return settings.name


@workflow
def with_settings(settings: Settings) -> str:
    return settings_name(settings=settings)


@task
def count(cfg: DictConfig) -> int:
    return len(cfg)


@workflow
def whole(cfg: DictConfig) -> int:
    return count(cfg=cfg)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> str:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
