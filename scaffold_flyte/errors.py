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


# -- flyteadmin's INVALID_ARGUMENT, told apart by its message ------------------------------------
# flyteadmin answers many unrelated problems with INVALID_ARGUMENT; only the message says which.
# The phrases below are flyteadmin's own (Flyte 1.16, flyteadmin/pkg/...):
VERSION_CLASH = "with different structure already exists"  # errors/errors.go New*ExistsDifferentStructureError
_PROJECT_MISSING = "failed to validate that project ["  # validation/project_validator.go ValidateProjectAndDomain
_PROJECT_INACTIVE = "is not active"  # errors/errors.go NewInactiveProjectError: "project [%s] is not active"
_DOMAIN_UNKNOWN = "is unrecognized by system"  # project_validator.go: "domain [%s] is unrecognized by system"
_OVER_PLATFORM = "limit set in the platform configuration"  # validation/task_validator.go validateResource
_BAD_RESOURCES = (
    "is greater than the limit",
    "Parsing of",
    "must be a whole number",
    "For extended resource",
    "multiple times",
)
_NOT_COMPILED = "failed to compile workflow"  # workflow_manager.go CreateWorkflow


def flyte_message(error: BaseException) -> str:
    """Flyte's own message behind a flytekit exception (the gRPC status details), on one line."""
    cause = error.__cause__
    details = getattr(cause, "details", None)
    text = str(details() if callable(details) else error) or type(error).__name__
    text = " ".join(text.split())
    return text if len(text) <= 400 else f"{text[:397]}..."


def invalid_argument_advice(
    message: str,
    what: str,
    project: str,
    domain: str,
    settings: tuple[str, str] = ("hydra.launcher.project", "hydra.launcher.domain"),
) -> str:
    """The one line for an INVALID_ARGUMENT that is not a version clash: what Flyte means, and the fix.

    ``what`` says what was being sent ("registering task main.train at version 1f2e..."),
    ``settings`` how the user names the project and the domain.
    """
    project_setting, domain_setting = settings
    if _PROJECT_MISSING in message:
        return (
            f"{what}: Flyte has no project '{project}' ({message}): create it with "
            f"`flytectl create project --id {project} --name {project}`, or set {project_setting} to an existing one."
        )
    if "project [" in message and _PROJECT_INACTIVE in message:
        return (
            f"{what}: Flyte's project '{project}' is archived ({message}): activate it with "
            f"`flytectl update project -p {project} --activate`, or set {project_setting} to an active one."
        )
    if _DOMAIN_UNKNOWN in message:
        return (
            f"{what}: Flyte has no domain '{domain}' ({message}): set {domain_setting} to one of its domains "
            "(by default development, staging, production)."
        )
    if _OVER_PLATFORM in message:
        return (
            f"{what}: a task asks for more than this Flyte allows ({message}): lower the task's resources "
            "(@task(requests=Resources(...), limits=Resources(...))), or ask its admins to raise the limits."
        )
    if any(phrase in message for phrase in _BAD_RESOURCES):
        return (
            f"{what}: a task's resources are not valid for Flyte ({message}): fix its @task(requests=..., limits=...)."
        )
    if _NOT_COMPILED in message:
        return (
            f"{what}: Flyte cannot compile the workflow ({message}): fix the workflow (every node's inputs bound, "
            "types matching), then launch again."
        )
    return f"{what}: Flyte refused it as an invalid argument: {message}"
