"""``hydra.launcher.notifications``: who hears of an execution's end, by email, Slack or PagerDuty.

Each entry is ``{phases: [succeeded, failed, timed_out, aborted], email|slack|pagerduty: [recipients]}``.
They go on every execution the launch creates (ExecutionSpec.notifications) and on scheduled
launch plans (LaunchPlanMetadata.notifications), where flyteadmin hands them to each execution the
schedule starts. Checked with the other settings, before anything is built: flyteadmin refuses
a notification with no recipients or a phase that is not terminal
(manager/impl/validation/notifications_validator.go), and an entry with no phases would never fire.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import LauncherConfigError

SETTING = "hydra.launcher.notifications"
PHASES = ("succeeded", "failed", "timed_out", "aborted")  # common/executions.go IsExecutionTerminal
CHANNELS = ("email", "slack", "pagerduty")
_EXAMPLE = "e.g. {phases: [failed, timed_out], email: [ml-team@example.com]}"


@dataclass(frozen=True)
class Notify:
    """One checked entry: the phases it fires on, its channel and its recipients."""

    phases: tuple[str, ...]
    channel: str
    recipients: tuple[str, ...]

    def describe(self) -> str:
        return f"{', '.join(self.phases)}: {self.channel} {', '.join(self.recipients)}"

    def model(self) -> Any:
        """flytekit's Notification model, as flytekit.core.notification builds it."""
        from flytekit.models import common
        from flytekit.models.core.execution import WorkflowExecutionPhase

        phases = [getattr(WorkflowExecutionPhase, phase.upper()) for phase in self.phases]
        recipients = list(self.recipients)
        if self.channel == "email":
            return common.Notification(phases, email=common.EmailNotification(recipients))
        if self.channel == "slack":
            return common.Notification(phases, slack=common.SlackNotification(recipients))
        return common.Notification(phases, pager_duty=common.PagerDutyNotification(recipients))


def check_notifications(entries: Any) -> tuple[Notify, ...]:
    """Every entry checked; one line naming the fix for the first one Flyte would refuse or that cannot fire."""
    if isinstance(entries, (DictConfig, ListConfig)):
        entries = OmegaConf.to_container(entries, resolve=True)
    if entries is None:
        return ()
    if not isinstance(entries, list):
        raise LauncherConfigError(f"{SETTING} must be a list of notifications, {_EXAMPLE}.")
    return tuple(_entry(f"{SETTING}[{index}]", entry) for index, entry in enumerate(entries))


def _entry(where: str, entry: Any) -> Notify:
    if not isinstance(entry, Mapping):
        raise LauncherConfigError(f"{where}={entry!r} is not a notification: give it keys, {_EXAMPLE}.")
    unknown = sorted(str(key) for key in entry if key not in ("phases", *CHANNELS))
    if unknown:
        raise LauncherConfigError(
            f"{where} has no setting '{unknown[0]}': a notification takes phases and one of {', '.join(CHANNELS)}."
        )
    channels = [channel for channel in CHANNELS if channel in entry]
    if len(channels) != 1:
        found = f"has {' and '.join(channels)}" if channels else "has no recipients"
        raise LauncherConfigError(
            f"{where} {found}: give exactly one of {', '.join(CHANNELS)} with its recipients, {_EXAMPLE}."
        )
    channel = channels[0]
    recipients = entry[channel]
    recipients = [recipients] if isinstance(recipients, str) else recipients
    if not isinstance(recipients, list) or not recipients or not all(isinstance(r, str) and r for r in recipients):
        raise LauncherConfigError(
            f"{where}.{channel} has no recipients: list at least one, e.g. {channel}: [ml-team@example.com]."
        )
    phases = entry.get("phases")
    phases = [phases] if isinstance(phases, str) else phases
    if not phases:
        raise LauncherConfigError(
            f"{where} has no phases, so it would never fire: add phases, any of {', '.join(PHASES)}."
        )
    if not isinstance(phases, list):
        raise LauncherConfigError(f"{where}.phases must be a list, any of {', '.join(PHASES)}.")
    for phase in phases:
        if str(phase).lower() not in PHASES:
            raise LauncherConfigError(
                f"{where}.phases has '{phase}', not a phase an execution ends in: use any of {', '.join(PHASES)}."
            )
    return Notify(tuple(dict.fromkeys(str(p).lower() for p in phases)), channel, tuple(recipients))
