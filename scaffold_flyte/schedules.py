"""``hydra.launcher.schedule``: when a launch registers a scheduled launch plan instead of executing once.

Checked with the other settings, before anything is built (launcher_settings.check_values), as
strictly as flyteadmin checks a launch plan's schedule (cron.py), so a schedule Flyte would refuse
never gets as far as registering the workflow. A time zone travels as robfig/cron's ``CRON_TZ=``
prefix, the one form flyteadmin's validator and the native scheduler both read; without one the
schedule runs on the scheduler's clock (UTC on a standard deployment).
"""

from __future__ import annotations

import re
import zoneinfo
from dataclasses import dataclass
from typing import Any

from scaffold_flyte.cron import CronError, parse_standard
from scaffold_flyte.errors import LauncherConfigError

SETTING = "hydra.launcher.schedule"
_RATE = re.compile(r"(\d+)\s*([a-z]+)")
_UNITS = {"m": "MINUTE", "min": "MINUTE", "h": "HOUR", "d": "DAY"}
_UNIT_WORDS = {"MINUTE": "minute", "HOUR": "hour", "DAY": "day"}
_NAME = re.compile(r"[A-Za-z0-9_.\-]+")
_EXAMPLES = "e.g. '0 2 * * *' (02:00 every day), '*/15 * * * *', '0 9 * * mon-fri', @daily, @hourly or '@every 30m'"


@dataclass(frozen=True)
class LaunchSchedule:
    """A checked schedule: exactly one of ``cron`` and ``rate`` unless it only deactivates (``active`` false)."""

    cron: str | None = None
    timezone: str | None = None
    rate: tuple[int, str] | None = None  # (value, flyteidl FixedRateUnit name)
    active: bool = True
    name: str | None = None

    @property
    def expression(self) -> str | None:
        """The cron string as registered: with the time zone as its CRON_TZ= prefix."""
        if self.cron is None:
            return None
        return f"CRON_TZ={self.timezone} {self.cron}" if self.timezone else self.cron

    def describe(self) -> str:
        if self.cron is not None:
            return f"cron '{self.cron}' ({self.timezone or 'UTC, the scheduler clock'})"
        if self.rate is not None:
            value, unit = self.rate
            return f"every {value} {_UNIT_WORDS[unit]}{'s' if value != 1 else ''}"
        return "none (deactivating)"

    def model(self) -> Any:
        """flytekit's Schedule model: a cron schedule (flyteidl CronSchedule) or a fixed rate."""
        from flytekit.models.schedule import Schedule

        if self.rate is not None:
            value, unit = self.rate
            return Schedule("", rate=Schedule.FixedRate(value, getattr(Schedule.FixedRateUnit, unit)))
        return Schedule("", cron_schedule=Schedule.CronSchedule(self.expression, None))


def check_schedule(schedule: Any) -> LaunchSchedule | None:
    """The schedule the settings ask for, or None; one line naming the fix for anything Flyte would refuse."""
    cron, timezone, fixed_rate = schedule.cron, schedule.timezone, schedule.fixed_rate
    name, active = schedule.name, schedule.active
    if cron is None and fixed_rate is None:
        if timezone is not None:
            raise LauncherConfigError(
                f"{SETTING}.timezone={timezone} needs a cron schedule: set {SETTING}.cron too, e.g. '0 2 * * *'."
            )
        if active:
            if name is not None:
                raise LauncherConfigError(
                    f"{SETTING}.name={name} names a schedule that is not set: add {SETTING}.cron (or "
                    f"{SETTING}.fixed_rate), or {SETTING}.active=false to deactivate the launch plan of that name."
                )
            return None
    if cron is not None and fixed_rate is not None:
        raise LauncherConfigError(f"{SETTING} has both cron and fixed_rate: keep one (e.g. {SETTING}.fixed_rate=null).")
    if name is not None and not _NAME.fullmatch(str(name)):
        raise LauncherConfigError(
            f"{SETTING}.name={name!r} is not a launch plan name: use letters, digits, '.', '_' and '-'."
        )
    rate = _rate(str(fixed_rate)) if fixed_rate is not None else None
    if cron is not None:
        _check_cron(str(cron))
        if timezone is not None:
            _check_timezone(str(timezone))
    return LaunchSchedule(
        cron=None if cron is None else str(cron).strip(),
        timezone=None if timezone is None else str(timezone),
        rate=rate,
        active=bool(active),
        name=None if name is None else str(name),
    )


def _check_cron(cron: str) -> None:
    if cron.startswith(("TZ=", "CRON_TZ=")):
        raise LauncherConfigError(
            f"{SETTING}.cron={cron!r} carries its time zone: put it in {SETTING}.timezone (e.g. Europe/Paris) and "
            "leave the cron expression bare."
        )
    try:
        parse_standard(cron.strip())
    except CronError as error:
        raise LauncherConfigError(
            f"{SETTING}.cron={cron!r} is not a cron expression Flyte accepts ({error}): give five fields, minute "
            f"hour day-of-month month day-of-week, {_EXAMPLES}."
        ) from None


def _check_timezone(timezone: str) -> None:
    try:
        zoneinfo.ZoneInfo(timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise LauncherConfigError(
            f"{SETTING}.timezone={timezone} is not an IANA time zone: use e.g. Europe/Paris, America/New_York or UTC."
        ) from None


def _rate(text: str) -> tuple[int, str]:
    """``<n><unit>``: flyteidl's FixedRate takes minutes, hours or days, and a value above 0 (flyteadmin
    treats a rate of 0 as no schedule at all: launch_plan_manager.go isScheduleEmpty)."""
    match = _RATE.fullmatch(text.strip().lower())
    unit = _unit(match.group(2)) if match else None
    if match is None or unit is None or int(match.group(1)) == 0:
        raise LauncherConfigError(
            f"{SETTING}.fixed_rate={text} is not a rate Flyte can run: use <n><unit> with n above 0 and unit m, h or "
            "d, e.g. 30m, 6h or 1d."
        )
    return int(match.group(1)), unit


def _unit(word: str) -> str | None:
    if word in _UNITS:
        return _UNITS[word]
    for unit, singular in _UNIT_WORDS.items():
        if word in (singular, singular + "s"):
            return unit
    return None
