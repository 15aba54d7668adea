"""scaffold_flyte/cron.py against robfig/cron v3's own tests (parser_test.go TestRange, TestField,
TestParseScheduleErrors, TestStandardSpecSchedule), the parser flyteadmin validates cron schedules with.

Where flytekit's croniter check and flyteadmin disagree, flyteadmin wins: each expression below
that croniter takes and robfig refuses is one the launcher must stop before registering.
"""

from __future__ import annotations

import croniter
import pytest

from scaffold_flyte.cron import CronError, parse_standard


@pytest.mark.parametrize(
    "spec",
    [
        "5 * * * *",  # robfig TestStandardSpecSchedule
        "@every 5m",
        "@every 1h30m",
        "@every 0",
        "@daily",
        "@midnight",
        "@hourly",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        "0 2 * * *",
        "*/15 * * * *",
        "0 9 * * mon-fri",
        "0 0 1 jan,JUL *",
        "1,5-7/2,3 * * * *",  # robfig TestField
        "5-7/2 * * * *",
        "0 0 ? * *",
        "0 0 5/10 * *",  # N/step means N-max/step
        "* * * * 0",
    ],
)
def test_robfig_accepts(spec: str) -> None:
    parse_standard(spec)


@pytest.mark.parametrize(
    "spec, error",
    [
        ("5--5 * * * *", "too many hyphens: 5--5"),
        ("0 0 1 jan-x *", "failed to parse int from x"),
        ("*/-12 * * * *", "negative number (-12) not allowed: -12"),
        ("*//2 * * * *", "too many slashes: *//2"),
        ("0 0 0 * *", "beginning of range (0) below minimum (1): 0"),
        ("60 * * * *", "end of range (60) above maximum (59): 60"),
        ("5-3 * * * *", "beginning of range (5) beyond end of range (3): 5-3"),
        ("*/0 * * * *", "step of range should be a positive number: */0"),
        ("* 5 j * *", "failed to parse int from j"),
        ("@every Xm", "failed to parse duration @every Xm"),
        ("@every 5", "failed to parse duration @every 5"),
        ("@unrecognized", "unrecognized descriptor: @unrecognized"),
        ("* * * *", "expected exactly 5 fields, found 4: [* * * *]"),
        ("", "empty spec string"),
    ],
)
def test_robfig_refuses_with_its_message(spec: str, error: str) -> None:
    with pytest.raises(CronError) as refused:
        parse_standard(spec)
    assert error in str(refused.value)


@pytest.mark.parametrize("spec", ["daily", "0 0 * * 7", "0 0 L * *", "0 2 * * * 30", "0 0 1W * *"])
def test_what_flytekit_takes_and_flyteadmin_refuses(spec: str) -> None:
    """flytekit's CronSchedule takes these (an alias, or croniter parses them); flyteadmin does not."""
    assert spec == "daily" or croniter.croniter.is_valid(spec)
    with pytest.raises(CronError):
        parse_standard(spec)
