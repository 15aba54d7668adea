"""What following a sweep costs in round trips, and the stand-in's ListExecutions that it relies on.

The launcher creates each execution with one CreateExecution and follows them all with one
ListExecutions per page of unfinished executions per poll round (``value_in`` on their names),
reading each finished execution's outputs once. The stand-in's listing mirrors flyteadmin's
filters, sorting and paging (tests/flyte_standin/filters.py names the Flyte files); it is a TEST
STAND-IN, not a Flyte.
"""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import grpc
import pytest
from flyteidl.admin import common_pb2
from flyteidl.core import execution_pb2

from tests.flyte_standin import StandIn
from tests.flyte_standin.filters import list_executions, trimmed_error_message
from tests.flyte_standin.validation import AdminError
from tests.helpers import APPS, record_overrides, recorded, run_app
from tests.test_remote import remote

Phase = execution_pb2.WorkflowExecution


# -- the launcher's round trips -----------------------------------------------------------------


def test_a_waited_sweep_costs_one_create_per_job_and_one_listing_per_poll_round(
    standin: StandIn, home: Path, tmp_path: Path
) -> None:
    records = tmp_path / "returns.jsonl"
    args = remote(standin, "cost", "seconds=0.5,1,1.5")
    result = run_app(APPS / "slow", *args, *record_overrides(records), home=home, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [job["value"] for job in recorded(records)] == [0.5, 1.0, 1.5]
    calls = standin.calls
    rounds = re.search(
        r"followed 3 execution\(s\) for [\d.]+ s: (\d+) poll round\(s\), (\d+) state request",
        result.stdout + result.stderr,
    )
    assert rounds is not None, result.stderr[-3000:]
    assert calls["CreateExecution"] == 3
    assert calls["ListExecutions"] == int(rounds.group(1)) == int(rounds.group(2))  # three executions: one page
    assert calls["GetExecutionData"] == 3  # each execution's outputs read once
    assert "GetExecution" not in calls  # neither after creating nor while following


# -- the stand-in's ListExecutions, as flyteadmin's ----------------------------------------------


def _records(*phases: int) -> dict[tuple[str, str, str], Any]:
    return {("p", "d", f"run-{n}"): SimpleNamespace(phase=phase) for n, phase in enumerate(phases)}


def _request(filters: str = "", limit: int = 100, token: str = "", **sort: Any) -> Any:
    request = common_pb2.ResourceListRequest(
        id=common_pb2.NamedEntityIdentifier(project="p", domain="d"), limit=limit, token=token, filters=filters
    )
    if sort:
        request.sort_by.CopyFrom(common_pb2.Sort(**sort))
    return request


def _names(page: list[Any]) -> list[str]:
    return [key[2] for key, _ in page]


RUNNING, SUCCEEDED, FAILED = Phase.RUNNING, Phase.SUCCEEDED, Phase.FAILED


@pytest.mark.parametrize(
    "filters, names",
    [
        ("value_in(execution_name,run-0;run-2)", ["run-0", "run-2"]),
        ("value_in(execution_name,run-1)", ["run-1"]),  # one value: still a list filter
        ("value_not_in(execution_name,run-0;run-2)", ["run-1", "run-3"]),
        ("eq(phase,RUNNING)", ["run-0", "run-3"]),
        ("ne(phase, RUNNING)", ["run-1", "run-2"]),  # the regex allows a space after the comma
        ("contains(execution_name,n-1)", ["run-1"]),
        ("eq(execution.phase,SUCCEEDED)", ["run-1"]),  # the entity's own prefix
        ("eq(phase,RUNNING)+value_in(execution_name,run-3;run-1)", ["run-3"]),
        ("eq(state,0)", ["run-0", "run-1", "run-2", "run-3"]),
    ],
)
def test_standin_filters_as_flyteadmin_parses_them(filters: str, names: list[str]) -> None:
    page, token = list_executions(_request(filters), _records(RUNNING, SUCCEEDED, FAILED, RUNNING))
    assert _names(page) == names and token == ""


@pytest.mark.parametrize(
    "filters, code, message",
    [
        ("execution_name=run-1", grpc.StatusCode.INVALID_ARGUMENT, "invalid value for filters"),
        ("equals(phase,RUNNING)", grpc.StatusCode.INVALID_ARGUMENT, "unrecognized filter function: equals"),
        ("eq(phase_name,RUNNING)", grpc.StatusCode.INVALID_ARGUMENT, "'execution.phase_name' is invalid filter"),
        # the columns are execution_project, _domain, _name: "name" is for flyteadmin's own filters only
        ("eq(name,run-3)", grpc.StatusCode.INVALID_ARGUMENT, "'execution.name' is invalid filter"),
        # the regex is greedy from the start: the function is all before the last "(" that matches
        ("x=eq(phase,FAILED)", grpc.StatusCode.INVALID_ARGUMENT, "unrecognized filter function: x=eq"),
        (
            "eq(node_execution.phase,RUNNING)",
            grpc.StatusCode.INVALID_ARGUMENT,
            "'node_execution' entity is not allowed",
        ),
        ("eq(launch_plan.name,x)", grpc.StatusCode.UNIMPLEMENTED, "stand-in: filters on launch_plan"),
        ("eq(cluster,x)", grpc.StatusCode.UNIMPLEMENTED, "stand-in: filters on execution.cluster"),
    ],
)
def test_standin_refuses_filters_as_flyteadmin_does(filters: str, code: grpc.StatusCode, message: str) -> None:
    with pytest.raises(AdminError) as refused:
        list_executions(_request(filters), _records(RUNNING))
    assert refused.value.code == code and message in refused.value.message


def test_standin_pages_by_offset_tokens() -> None:
    records = _records(*[RUNNING] * 5)
    first, token = list_executions(_request(limit=2), records)
    assert _names(first) == ["run-0", "run-1"] and token == "2"
    second, token = list_executions(_request(limit=2, token=token), records)
    assert _names(second) == ["run-2", "run-3"] and token == "4"
    last, token = list_executions(_request(limit=2, token=token), records)
    assert _names(last) == ["run-4"] and token == ""  # a short page: no next token
    newest, _ = list_executions(_request(limit=2, key="id", direction=common_pb2.Sort.DESCENDING), records)
    assert _names(newest) == ["run-4", "run-3"]


@pytest.mark.parametrize(
    "request_, message",
    [
        (common_pb2.ResourceListRequest(limit=1), "missing id"),
        (common_pb2.ResourceListRequest(id=common_pb2.NamedEntityIdentifier(domain="d"), limit=1), "missing project"),
        (common_pb2.ResourceListRequest(id=common_pb2.NamedEntityIdentifier(project="p", domain="d")), "limit"),
        (_request(token="x"), "invalid pagination token x for ListExecutions"),
        (_request(token="-1"), "invalid pagination token -1"),
        (_request(key="phase_name", direction=common_pb2.Sort.ASCENDING), "invalid sort key 'phase_name'"),
    ],
)
def test_standin_refuses_list_requests_as_flyteadmin_does(request_: Any, message: str) -> None:
    with pytest.raises(AdminError) as refused:
        list_executions(request_, _records(RUNNING))
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT and message in refused.value.message


def test_standin_cuts_listed_error_messages_to_100_bytes() -> None:
    assert trimmed_error_message("x" * 99) == "x" * 99
    assert trimmed_error_message("x" * 250) == "x" * 100
    assert trimmed_error_message("x" * 99 + "é" + "y") == "x" * 99  # never half a character


def test_is_it_registered_is_one_call_and_a_relaunch_costs_less_than_a_bare_execute(
    standin: StandIn, home: Path
) -> None:
    from flytekit.configuration import Config
    from flytekit.models.literals import Literal
    from flytekit.remote import FlyteRemote

    from tests.test_schedules import launch as launch_prebuilt

    first = launch_prebuilt(standin, home, "model.name=a")
    assert first.returncode == 0, first.stderr[-3000:]
    # not registered yet: one listing says so (a GetLaunchPlan's NOT_FOUND would be retried three times)
    assert standin.calls["ListLaunchPlans"] == 1 and standin.calls.get("GetLaunchPlan", 0) <= 1
    standin.reset_calls()
    again = launch_prebuilt(standin, home, "model.name=a")
    assert again.returncode == 0, again.stderr[-3000:]
    ours = standin.calls
    assert ours == {"ListLaunchPlans": 1, "CreateExecution": 1}  # the workflow is never read: nothing needs it

    # what a bare FlyteRemote.execute of the same launch plan costs, on the same stand-in
    (record, *_) = standin.executions().values()
    launch_plan = record.request.spec.launch_plan
    standin.reset_calls()
    remote = FlyteRemote(Config.for_endpoint(standin.endpoint, insecure=True), "flytesnacks", "development")
    fetched = remote.fetch_launch_plan(name=launch_plan.name, version=launch_plan.version)
    inputs = {k: Literal.from_flyte_idl(v) for k, v in record.request.inputs.literals.items()}
    remote.execute(fetched, inputs=inputs, execution_name="bare-execute", wait=False)
    bare = standin.calls
    assert sum(ours.values()) < sum(bare.values()), (ours, bare)


def test_standin_lists_launch_plans_as_flyteadmin_does() -> None:
    from flyteidl.admin import launch_plan_pb2
    from flyteidl.core import identifier_pb2

    from tests.flyte_standin.filters import list_launch_plans

    lp = identifier_pb2.LAUNCH_PLAN
    states = {
        (lp, "p", "d", "main.wf", "v1"): launch_plan_pb2.INACTIVE,
        (lp, "p", "d", "main.wf", "v2"): launch_plan_pb2.ACTIVE,
        (lp, "p", "d", "other", "v1"): launch_plan_pb2.INACTIVE,
        (lp, "q", "d", "main.wf", "v1"): launch_plan_pb2.INACTIVE,
    }

    def versions(name: str = "", filters: str = "", **extra: Any) -> list[tuple[str, str]]:
        request = common_pb2.ResourceListRequest(
            id=common_pb2.NamedEntityIdentifier(project="p", domain="d", name=name), limit=10, filters=filters, **extra
        )
        return [(key[3], key[4]) for key in list_launch_plans(request, states)[0]]

    assert versions("main.wf", "eq(version,v2)") == [("main.wf", "v2")]
    assert versions("main.wf", "eq(version,v3)") == []  # an empty page, not NOT_FOUND
    assert versions() == [("main.wf", "v1"), ("main.wf", "v2"), ("other", "v1")]  # the name is optional
    assert versions(filters="eq(state,1)") == [("main.wf", "v2")]
    for filters, message in [
        ("eq(phase,RUNNING)", "'launch_plan.phase' is invalid filter"),
        ("eq(execution.phase,RUNNING)", "'execution' entity is not allowed in filters"),
    ]:
        with pytest.raises(AdminError, match=re.escape(message)):
            versions("main.wf", filters)
    with pytest.raises(AdminError, match="invalid pagination token x for ListLaunchPlans"):
        versions("main.wf", token="x")
