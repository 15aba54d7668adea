"""The errors a user sees.

Every error here is a Hydra ``CompactHydraException``: Hydra prints its message as one line and
exits non-zero, with no traceback, both for ``python main.py`` and for ``-m`` launches. Each message
says what is wrong and how to fix it, so the one line is enough.
"""

from __future__ import annotations

from hydra.errors import CompactHydraException


class ScaffoldFlyteError(CompactHydraException):
    """Base class of the errors scaffold_flyte reports to users."""


class WorkflowDiscoveryError(ScaffoldFlyteError):
    """The module has no workflow to run, or more than one could be the main one."""


class ConfigInputError(ScaffoldFlyteError):
    """The job's config cannot fill the workflow's inputs."""


class UnsupportedConfigError(ScaffoldFlyteError):
    """A config value that the OmegaConf type transformer cannot carry between tasks."""


class LauncherConfigError(ScaffoldFlyteError):
    """A launcher setting (``hydra.launcher.*``) is invalid."""


class ImageConfigError(ScaffoldFlyteError):
    """An image setting is invalid: nothing was built."""


class ImageBuildError(ScaffoldFlyteError):
    """Building or pushing an image failed: nothing was registered or executed."""


class ConnectionSettingsError(ScaffoldFlyteError):
    """Flyte cannot be reached where the settings say it is."""


class RegistrationError(ScaffoldFlyteError):
    """Registering the workflow failed, or what is registered does not fit the launch."""


class ExecutionError(ScaffoldFlyteError):
    """Creating or following executions failed."""
