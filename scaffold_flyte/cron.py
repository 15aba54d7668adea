"""Cron expressions exactly as Flyte accepts them, checked before anything is registered.

flyteadmin validates a launch plan's cron schedule with robfig/cron v3's ``ParseStandard``
(flyteadmin/pkg/manager/impl/validation/launch_plan_validator.go validateSchedule; the native
scheduler parses it again, scheduler/core/gocron_scheduler.go). flytekit's own check (croniter) is
kinder: it takes "daily", a seconds field, ``L``, ``#`` and a day of week 7, all of which
flyteadmin refuses. So this mirrors robfig/cron v3.0.1 parser.go (Parse, getField, getRange,
parseDescriptor) and Go's time.ParseDuration for ``@every``: the same expressions pass, and a
refusal carries robfig's own message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_MONTHS = {
    m: i + 1 for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
}
_DAYS = {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])}


@dataclass(frozen=True)
class _Bounds:
    low: int
    high: int
    names: dict[str, int] | None = None


# spec.go: minute, hour, day of month, month, day of week (ParseStandard: no seconds field)
FIELDS = (_Bounds(0, 59), _Bounds(0, 23), _Bounds(1, 31), _Bounds(1, 12, _MONTHS), _Bounds(0, 6, _DAYS))
DESCRIPTORS = frozenset({"@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
_GO_INT = re.compile(r"[+-]?[0-9]+")  # strconv.Atoi
_GO_DURATION = re.compile(r"[-+]?(?:(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:ns|us|µs|μs|ms|s|m|h))+")


class CronError(ValueError):
    """robfig/cron's error text for an expression it cannot parse."""


def parse_standard(spec: str) -> None:
    """Raise CronError where robfig/cron's ParseStandard returns an error; return quietly where it parses.

    A ``TZ=``/``CRON_TZ=`` prefix is taken by the caller apart (schedules.py): Go's LoadLocation
    and Python's zoneinfo read the same IANA database.
    """
    if not spec:
        raise CronError("empty spec string")
    if spec.startswith("@"):
        _descriptor(spec)
        return
    fields = spec.split()
    if len(fields) != len(FIELDS):
        shown = "[" + " ".join(fields) + "]"  # Go's %s of a []string
        raise CronError(f"expected exactly {len(FIELDS)} fields, found {len(fields)}: {shown}")
    for field, bounds in zip(fields, FIELDS, strict=True):
        for expr in (part for part in field.split(",") if part):  # strings.FieldsFunc drops empty parts
            _range(expr, bounds)


def _descriptor(spec: str) -> None:
    if spec in DESCRIPTORS:
        return
    every = "@every "
    if spec.startswith(every):
        duration = spec[len(every) :]
        if duration.lstrip("+-") != "0" and not _GO_DURATION.fullmatch(duration):
            raise CronError(f'failed to parse duration {spec}: time: invalid duration "{duration}"')
        return
    raise CronError(f"unrecognized descriptor: {spec}")


def _range(expr: str, bounds: _Bounds) -> None:
    """parser.go getRange: number | number "-" number [ "/" number ], or * / ? with an optional step."""
    range_and_step = expr.split("/")
    low_and_high = range_and_step[0].split("-")
    if low_and_high[0] in ("*", "?"):
        start, end = bounds.low, bounds.high
    else:
        start = _int_or_name(low_and_high[0], bounds.names)
        if len(low_and_high) == 1:
            end = start
        elif len(low_and_high) == 2:
            end = _int_or_name(low_and_high[1], bounds.names)
        else:
            raise CronError(f"too many hyphens: {expr}")
    if len(range_and_step) == 1:
        step = 1
    elif len(range_and_step) == 2:
        step = _int(range_and_step[1])
        if len(low_and_high) == 1:  # "N/step" means "N-max/step"
            end = bounds.high
    else:
        raise CronError(f"too many slashes: {expr}")
    if start < bounds.low:
        raise CronError(f"beginning of range ({start}) below minimum ({bounds.low}): {expr}")
    if end > bounds.high:
        raise CronError(f"end of range ({end}) above maximum ({bounds.high}): {expr}")
    if start > end:
        raise CronError(f"beginning of range ({start}) beyond end of range ({end}): {expr}")
    if step == 0:
        raise CronError(f"step of range should be a positive number: {expr}")


def _int_or_name(expr: str, names: dict[str, int] | None) -> int:
    if names and expr.lower() in names:
        return names[expr.lower()]
    return _int(expr)


def _int(expr: str) -> int:
    if not _GO_INT.fullmatch(expr):
        raise CronError(f'failed to parse int from {expr}: strconv.Atoi: parsing "{expr}": invalid syntax')
    number = int(expr)
    if number < 0:
        raise CronError(f"negative number ({number}) not allowed: {expr}")
    return number
