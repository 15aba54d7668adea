"""A pipeline whose middle task needs data from outside the execution: it fails while that data is missing.

What Flyte's recovery is for: a task failing for a reason that is not in its inputs (a service
down, a file not delivered yet), after tasks whose work should not be done again. ``source`` is
the data's location, an input; whether the data is there is not, so a recovery (the same inputs)
succeeds once it has arrived. ``prepare`` succeeds either way, and a recovery does not rerun it.
"""

import hydra
from flytekit import task, workflow
from flytekit.core.context_manager import FlyteContextManager
from omegaconf import DictConfig

import scaffold_flyte


@task
def prepare(size: int) -> list[int]:
    print("task prepare: running")
    return list(range(size))


@task
def fetch_offset(points: list[int], source: str) -> int:
    print("task fetch_offset: running")
    files = FlyteContextManager.current_context().file_access
    if not files.exists(source):
        raise RuntimeError(f"{source} is not there yet")
    return int(files.get_filesystem_for_path(source).cat_file(source).decode().strip())


@task
def total(points: list[int], offset: int) -> int:
    print("task total: running")
    return sum(points) + offset * len(points)


@workflow
def pipeline(size: int, source: str) -> int:
    points = prepare(size=size)
    offset = fetch_offset(points=points, source=source)
    return total(points=points, offset=offset)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> int:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
