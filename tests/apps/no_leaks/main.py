"""An app with secrets all around it (the test plants them): tasks that read them the right way, at run time.

``uses_secret`` asks Flyte for a secret (a Flyte Secret, injected into its container by Flyte);
``reads_environment`` looks at an environment variable inside the task. Neither returns what it
found, only whether it found it: nothing of a secret is meant to leave the task.
"""

import os

import flytekit
import hydra
from flytekit import Secret, task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task(secret_requests=[Secret(group="app", key="token")])
def uses_secret(model: DictConfig) -> bool:
    try:
        return bool(flytekit.current_context().secrets.get("app", "token"))
    except ValueError:  # the stand-in injects no secrets
        return False


@task
def reads_environment(seen_secret: bool) -> bool:
    return "SCAFFOLD_LEAK_ENV_TOKEN" in os.environ or seen_secret


@workflow
def pipeline(model: DictConfig) -> bool:
    return reads_environment(seen_secret=uses_secret(model=model))


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> bool:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
