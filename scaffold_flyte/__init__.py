"""scaffold_flyte: run a Flyte workflow from a Hydra app, locally or on a Flyte cluster.

``run(cfg)`` runs the module's main workflow on a Hydra config; ``scaffold_flyte.remote.execute``
runs a registered version of it on Flyte from your own code; the ``flyte`` Hydra launcher
(``hydra/launcher=flyte``) is built from the modules of this package.

Importing the package is cheap: Hydra's plugin scan imports ``scaffold_flyte.settings`` at every
start, so flytekit is imported only when ``run`` is first used.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scaffold_flyte.local import run

__all__ = ["run"]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name == "run":
        from scaffold_flyte.local import run

        return run
    raise AttributeError(f"module 'scaffold_flyte' has no attribute {name!r}")
