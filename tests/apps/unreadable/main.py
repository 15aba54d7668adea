"""A plain Hydra app whose return value pickles on Flyte but cannot be unpickled by the launcher."""

import hydra
from omegaconf import DictConfig


def _refuse() -> None:
    raise RuntimeError("this value only makes sense inside the task")


class Unreadable:
    def __reduce__(self) -> tuple:
        return (_refuse, ())


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> Unreadable:
    return Unreadable()


if __name__ == "__main__":
    main()
