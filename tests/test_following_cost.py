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
