"""scaffold_flyte: run a Flyte workflow from a Hydra app, locally or on a Flyte cluster.

``run(cfg)`` runs the module's main workflow on a Hydra config; the ``flyte`` Hydra launcher
(``hydra/launcher=flyte``) is built from the modules of this package.
"""

from scaffold_flyte.local import run

__all__ = ["run"]
__version__ = "0.1.0"
