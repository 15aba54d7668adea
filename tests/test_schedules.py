"""Schedules and notifications from ``hydra.launcher.schedule`` and ``hydra.launcher.notifications``.

Against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte), which checks
launch plans as flyteadmin does (launch_plan_validator.go validateSchedule with robfig/cron's
ParseStandard, notifications_validator.go) and keeps launch plan states as launch_plan_manager.go
does (one ACTIVE version per name). No image is built: the launches use a fixed, pushed image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flyteidl.admin import launch_plan_pb2, schedule_pb2
from flyteidl.core import execution_pb2, identifier_pb2
from omegaconf import OmegaConf

from tests.flyte_standin import StandIn
from tests.helpers import APPS, no_build_remote, one_line_error, record_overrides, recorded, run_app
from tests.test_remote import literal_as

APP = APPS / "task_settings"
WORKFLOW = "main.pipeline"
LAUNCH_PLAN = identifier_pb2.LAUNCH_PLAN
Phase = execution_pb2.WorkflowExecution
ACTIVE, INACTIVE = launch_plan_pb2.ACTIVE, launch_plan_pb2.INACTIVE
NIGHTLY = ["hydra.launcher.schedule.cron=0 2 * * *", "hydra.launcher.schedule.timezone=Europe/Paris"]
ON_FAILURE = "hydra.launcher.notifications=[{phases: [failed, timed_out], email: [ml-team@example.com]}]"
REGISTERING = ("CreateTask", "CreateWorkflow", "CreateLaunchPlan", "CreateExecution", "UpdateLaunchPlan")


def launch(standin: StandIn, home: Path, *args: str, records: Path | None = None) -> Any:
    extra = record_overrides(records) if records else []
    return run_app(APP, *no_build_remote(standin.endpoint), *args, *extra, home=home, timeout=600)


def launch_plans(standin: StandIn, name_prefix: str) -> dict[tuple[str, str], int]:
    """(name, version) -> state of the launch plans whose name starts with ``name_prefix``."""
    states = standin.admin.launch_plan_states
    return {(k[3], k[4]): states[k] for k in standin.registered(LAUNCH_PLAN) if k[3].startswith(name_prefix)}


def test_a_sweep_registers_and_activates_one_launch_plan_per_job(standin: StandIn, home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    result = launch(standin, home, "model.name=a,b", *NIGHTLY, ON_FAILURE, records=records)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "CreateExecution" not in standin.calls  # the scheduler executes, not the launch
    base = f"{WORKFLOW}_schedule"
    plans = launch_plans(standin, base)
    assert sorted(name for name, _ in plans) == [f"{base}-model.name_a", f"{base}-model.name_b"]
    assert set(plans.values()) == {ACTIVE}
    # the workflow's default launch plan is registered as always, and left inactive
    default = [k for k in standin.registered(LAUNCH_PLAN) if k[3] == WORKFLOW]
    assert [standin.admin.launch_plan_states[k] for k in default] == [INACTIVE]
    workflow_version = default[0][4]

    for (name, version), _ in plans.items():
        spec = standin.spec((LAUNCH_PLAN, "flytesnacks", "development", name, version))
        assert version.startswith(f"{workflow_version}-")
        assert spec.workflow_id.name == WORKFLOW and spec.workflow_id.version == workflow_version
        assert spec.entity_metadata.schedule.cron_schedule.schedule == "CRON_TZ=Europe/Paris 0 2 * * *"
        (notification,) = spec.entity_metadata.notifications
        assert list(notification.phases) == [Phase.FAILED, Phase.TIMED_OUT]
        assert list(notification.email.recipients_email) == ["ml-team@example.com"]
        # every input fixed to the job's config, so the scheduler needs none
        assert set(spec.fixed_inputs.literals) == {"data", "model"}
        from omegaconf import DictConfig

        model = literal_as(spec.fixed_inputs.literals["model"], DictConfig)
        assert model.name == name.rsplit("_", 1)[1]
        assert not any(p.required for p in spec.default_inputs.parameters.values())

    returns = recorded(records)
    assert [r["status"] for r in returns] == ["COMPLETED", "COMPLETED"]
    values = [r["value"] for r in returns]
    assert [v["launch_plan"] for v in values] == [f"{base}-model.name_a", f"{base}-model.name_b"]
    assert all(v["active"] is True for v in values)
    # the launch plan's console page, as FlyteRemote.generate_console_url makes it
    assert all(v["url"].endswith(f"/launch_plan/{v['launch_plan']}/version/{v['version']}") for v in values)
    assert values[0]["schedule"] == "cron '0 2 * * *' (Europe/Paris)"
    record = OmegaConf.load(home.parent / "multirun" / "0" / "flyte_schedule.yaml")
    assert record.launch_plan == f"{base}-model.name_a" and record.version == values[0]["version"]
    assert list(record.notifications) == ["failed, timed_out: email ml-team@example.com"]
    output = result.stdout + result.stderr
    assert f"launch plan {base}-model.name_a version {values[0]['version']}, cron '0 2 * * *'" in output

    # unchanged relaunch: the same versions, still the active ones, nothing new registered
    standin.reset_calls()
    again = launch(standin, home, "model.name=a,b", *NIGHTLY, ON_FAILURE)
    assert again.returncode == 0, again.stderr[-3000:]
    assert launch_plans(standin, base) == plans
    assert "CreateTask" not in standin.calls and "CreateWorkflow" not in standin.calls

    # a changed config: a new version per job becomes the active one, the old one is deactivated
    changed = launch(standin, home, "model.name=a,b", "data.size=7", *NIGHTLY, ON_FAILURE)
    assert changed.returncode == 0, changed.stderr[-3000:]
    now = launch_plans(standin, base)
    assert len(now) == 4
    assert {key: state for key, state in now.items() if key in plans} == dict.fromkeys(plans, INACTIVE)
    active = {key for key, state in now.items() if state == ACTIVE}
    assert sorted(name for name, _ in active) == [f"{base}-model.name_a", f"{base}-model.name_b"]

    # active=false: each name's active version is deactivated; nothing built or registered
    standin.reset_calls()
    off = launch(
        standin, home, "model.name=a,b", "hydra.launcher.schedule.active=false", records=tmp_path / "off.jsonl"
    )
    assert off.returncode == 0, off.stderr[-3000:]
    assert set(launch_plans(standin, base).values()) == {INACTIVE}
    assert standin.calls.get("UpdateLaunchPlan") == 2
    assert not any(standin.calls.get(m) for m in REGISTERING[:4])
    assert [r["value"]["active"] for r in recorded(tmp_path / "off.jsonl")] == [False, False]


def test_fixed_rate_single_job_named_launch_plan(standin: StandIn, home: Path) -> None:
    result = launch(
        standin, home, "hydra.launcher.schedule.fixed_rate=6h", "hydra.launcher.schedule.name=nightly_training"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    ((name, version), state), *_ = launch_plans(standin, "nightly_training").items()
    assert (name, state) == ("nightly_training", ACTIVE)
    rate = standin.spec((LAUNCH_PLAN, "flytesnacks", "development", name, version)).entity_metadata.schedule.rate
    assert (rate.value, rate.unit) == (6, schedule_pb2.HOUR)


def test_notifications_go_on_each_execution(standin: StandIn, home: Path) -> None:
    slack = "hydra.launcher.notifications=[{phases: [succeeded], slack: [ml-runs@example.slack.com]}]"
    result = launch(standin, home, "model.name=a,b", slack)
    assert result.returncode == 0, result.stderr[-3000:]
    executions = standin.executions()
    assert len(executions) == 2
    for record in executions.values():
        (notification,) = record.request.spec.notifications.notifications
        assert list(notification.phases) == [Phase.SUCCEEDED]
        assert list(notification.slack.recipients_email) == ["ml-runs@example.slack.com"]
        assert list(record.notifications) == [notification]  # in force, as GetExecution's closure shows them


def test_dry_run_shows_the_launch_plans_and_registers_nothing(standin: StandIn, home: Path) -> None:
    result = launch(standin, home, "model.name=a,b", *NIGHTLY, ON_FAILURE, "hydra.launcher.dry_run=true")
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    assert "notify     failed, timed_out: email ml-team@example.com" in out
    assert f"launch plan {WORKFLOW}_schedule-model.name_b version " in out
    assert "cron '0 2 * * *' (Europe/Paris), activated" in out
    assert not standin.calls


CRON = "hydra.launcher.schedule.cron=0 2 * * *"


@pytest.mark.parametrize(
    "overrides, says",
    [
        (["hydra.launcher.schedule.cron=daily"], "is not a cron expression Flyte accepts (expected exactly 5 fields"),
        (["hydra.launcher.schedule.cron='0 0 * * 7'"], "end of range (7) above maximum (6)"),
        (["hydra.launcher.schedule.cron='CRON_TZ=UTC 0 0 * * *'"], "put it in hydra.launcher.schedule.timezone"),
        (["hydra.launcher.schedule.fixed_rate=2weeks"], "is not a rate Flyte can run: use <n><unit>"),
        (["hydra.launcher.schedule.fixed_rate=0m"], "is not a rate Flyte can run"),
        ([CRON, "hydra.launcher.schedule.fixed_rate=1h"], "has both cron and fixed_rate"),
        (["hydra.launcher.schedule.timezone=Europe/Paris"], "needs a cron schedule"),
        (
            [CRON, "hydra.launcher.notifications=[{phases: [failed], email: []}]"],
            "notifications[0].email has no recipients",
        ),
        (["hydra.launcher.notifications=[{phases: [failed]}]"], "notifications[0] has no recipients"),
        (["hydra.launcher.notifications=[{phases: [running], email: [a@b.c]}]"], "has 'running', not a phase"),
        (["hydra.launcher.notifications=[{email: [a@b.c]}]"], "has no phases, so it would never fire"),
        (["hydra.launcher.notifications=[{phases: [failed], sms: [a]}]"], "has no setting 'sms'"),
    ],
)
def test_bad_schedules_and_notifications_stop_before_anything(
    standin: StandIn, home: Path, overrides: list[str], says: str
) -> None:
    assert says in one_line_error(launch(standin, home, *overrides))
    assert not standin.calls  # nothing asked, nothing registered


def test_bad_timezone_stops_before_anything(standin: StandIn, home: Path) -> None:
    line = one_line_error(launch(standin, home, *NIGHTLY[:1], "hydra.launcher.schedule.timezone=Mars/Olympus"))
    assert "hydra.launcher.schedule.timezone=Mars/Olympus is not an IANA time zone" in line
    assert not standin.calls


def test_schedule_does_not_combine_with_recover(standin: StandIn, home: Path) -> None:
    line = one_line_error(launch(standin, home, *NIGHTLY[:1], "hydra.launcher.recover=true"))
    assert "does not combine with hydra.launcher.schedule" in line and not standin.calls
