"""flyteadmin's list filters, sorting and paging, inside a TEST STAND-IN (not a Flyte).

Mirrors, for ListExecutions and ListLaunchPlans:
- flyteadmin/pkg/manager/impl/util/filters.go ParseFilters: ``func(field,value)`` expressions
  joined by ``+``, matched by the regex ``(.+)\\((.+),\\s?(.+)\\)``; a field may name another entity
  by prefix (``launch_plan.name``), allowed only as in ``allowedJoinEntities``; the field must be a
  column of that entity's model (``entityColumns``, from repositories/models/execution.go and
  launch_plan.go: gorm's column names); values split on ``;``.
- flyteadmin/pkg/common/filters.go: the functions (contains, not_like, gt, gte, lt, lte, eq, ne,
  value_in, value_not_in), an unknown one INVALID_ARGUMENT "unrecognized filter function";
  a request's own filters name the columns (``execution_name``): ``name`` is no column, so only
  flyteadmin's internal filters (the request id's project, domain and name) go through
  customizeField.
- flyteadmin/pkg/manager/impl/execution_manager.go ListExecutions: project and domain required
  and a limit above 0 (validation.go ValidateResourceListRequest, ValidateLimit), the request's
  id.name as an equality filter, the token an offset (ValidateToken), only ACTIVE executions unless
  the request filters on state (addStateFilter), a next token only when a full page came back,
  error messages cut to 100 bytes (transformers/execution.go TrimErrorMessage), and sort keys
  checked against the columns (common/sorting.go NewSortParameter).
- flyteadmin/pkg/manager/impl/launch_plan_manager.go ListLaunchPlans: the same request checks, the
  id's project, domain and name as equality filters on the launch plan's own columns.

The stand-in evaluates what its records hold (project, domain, name, version, phase, state,
creation order);
a valid filter or sort on any other column is refused with UNIMPLEMENTED, never ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import grpc
from flyteidl.admin import common_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2

from tests.flyte_standin.validation import INVALID, AdminError, missing

FILTER = re.compile(r"(.+)\((.+),\s?(.+)\)")  # util/filters.go filterRegex
TRIMMED_ERROR_LENGTH = 100  # transformers/execution.go trimmedErrMessageLen

# repositories/models/execution.go Execution (with BaseModel), as gorm names its columns
EXECUTION_COLUMNS = frozenset(
    [
        "id",
        "created_at",
        "updated_at",
        "deleted_at",
        "execution_project",
        "execution_domain",
        "execution_name",
        "launch_plan_id",
        "workflow_id",
        "task_id",
        "phase",
        "closure",
        "spec",
        "started_at",
        "execution_created_at",
        "execution_updated_at",
        "duration",
        "abort_cause",
        "mode",
        "source_execution_id",
        "parent_node_execution_id",
        "cluster",
        "inputs_uri",
        "user_inputs_uri",
        "error_kind",
        "error_code",
        "user",
        "state",
        "launch_entity",
    ]
)
# repositories/models/launch_plan.go LaunchPlan (with BaseModel)
LAUNCH_PLAN_COLUMNS = frozenset(
    [
        "id",
        "created_at",
        "updated_at",
        "deleted_at",
        "project",
        "domain",
        "name",
        "version",
        "spec",
        "workflow_id",
        "closure",
        "state",
        "digest",
        "schedule_type",
        "launch_condition_type",
    ]
)
# util/filters.go filterFieldEntityPrefix
ENTITY_PREFIXES = (
    "task",
    "workflow",
    "launch_plan",
    "execution",
    "node_execution",
    "task_execution",
    "entities",
    "named_entity_metadata",
    "project",
    "signal",
    "admin_tag",
    "execution_admin_tag",
    "execution_tag",
)
SINGLE = {"contains", "not_like", "gt", "gte", "lt", "lte", "eq", "ne"}
REPEATED = {"value_in", "value_not_in"}
ACTIVE = "0"  # the state column of an execution not archived (admin.ExecutionState EXECUTION_ACTIVE)


@dataclass(frozen=True)
class Table:
    """One of flyteadmin's listed entities: its name, its model's columns, the entities its filters may join
    (util/filters.go allowedJoinEntities), and how its list call names itself in errors."""

    entity: str
    columns: frozenset[str]
    joinable: frozenset[str]
    call: str
    identifier_prefix: str  # common/filters.go customizeField: executions keep their id as execution_*


EXECUTIONS = Table(
    "execution",
    EXECUTION_COLUMNS,
    frozenset({"execution", "launch_plan", "workflow", "task", "admin_tag", "execution_tag"}),
    "ListExecutions",
    "execution_",
)
LAUNCH_PLANS = Table("launch_plan", LAUNCH_PLAN_COLUMNS, frozenset({"launch_plan", "workflow"}), "ListLaunchPlans", "")


@dataclass(frozen=True)
class Filter:
    function: str
    field: str  # a column of the listed table
    values: tuple[str, ...]


def parse_filters(text: str, table: Table = EXECUTIONS) -> list[Filter]:
    """util/filters.go ParseFilters."""
    filters = []
    for expression in text.split("+"):
        match = FILTER.search(expression)  # Go's FindStringSubmatch: the leftmost match
        if match is None:
            raise AdminError(INVALID, "invalid value for filters")
        function, field, value = match.group(1), match.group(2), match.group(3)
        entity = table.entity
        for prefix in ENTITY_PREFIXES:
            if field.startswith(prefix + "."):
                entity, field = prefix, field[len(prefix) + 1 :]
                break
        if entity not in table.joinable:
            raise AdminError(INVALID, f"'{entity}' entity is not allowed in filters")
        if entity != table.entity:
            raise AdminError(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: filters on {entity} are not supported")
        if field not in table.columns:
            raise AdminError(INVALID, f"'{entity}.{field}' is invalid filter")
        if function not in SINGLE and function not in REPEATED:
            raise AdminError(INVALID, f"unrecognized filter function: {function}")
        values = tuple(value.split(";"))
        if function in SINGLE and len(values) > 1:  # postgres cannot compare a column to a list
            raise AdminError(INVALID, f"invalid single value filter expression: {function}")
        filters.append(Filter(function, field, values))
    return filters


def execution_column(key: tuple[str, str, str], record: Any, column: str) -> str:
    """What the stand-in's execution record holds in ``column``, as postgres would compare it (text)."""
    project, domain, name = key
    if column == "execution_project":
        return project
    if column == "execution_domain":
        return domain
    if column == "execution_name":
        return name
    if column == "phase":  # stored as the enum's name (transformers/execution.go)
        return core_execution_pb2.WorkflowExecution.Phase.Name(record.phase)
    if column == "state":  # no execution of the stand-in is ever archived
        return ACTIVE
    raise AdminError(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: filters on execution.{column} are not supported")


def launch_plan_column(key: tuple[Any, ...], state: int, column: str) -> str:
    """What the stand-in holds of a launch plan (key: kind, project, domain, name, version; its state)."""
    values = dict(zip(("project", "domain", "name", "version"), key[1:], strict=True), state=str(state))
    if column not in values:
        raise AdminError(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: filters on launch_plan.{column} are not supported")
    return values[column]


def _like(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL) is not None


TESTS: dict[str, Callable[[str, tuple[str, ...]], bool]] = {
    "contains": lambda v, vs: _like(f"%{vs[0]}%", v),
    "not_like": lambda v, vs: not _like(vs[0], v),
    "gt": lambda v, vs: v > vs[0],
    "gte": lambda v, vs: v >= vs[0],
    "lt": lambda v, vs: v < vs[0],
    "lte": lambda v, vs: v <= vs[0],
    "eq": lambda v, vs: v == vs[0],
    "ne": lambda v, vs: v != vs[0],
    "value_in": lambda v, vs: v in vs,
    "value_not_in": lambda v, vs: v not in vs,
}


def list_executions(request: Any, records: dict[tuple[str, str, str], Any]) -> tuple[list[tuple[Any, Any]], str]:
    """execution_manager.go ListExecutions' selection: (key, record) pairs of one page, and the next token."""
    rows = list(records.items())
    return list_rows(request, rows, EXECUTIONS, lambda row, column: execution_column(row[0], row[1], column))


def list_launch_plans(request: Any, states: dict[tuple[Any, ...], int]) -> tuple[list[tuple[Any, ...]], str]:
    """launch_plan_manager.go ListLaunchPlans' selection: the keys of one page, and the next token."""
    keys = list(states)
    return list_rows(request, keys, LAUNCH_PLANS, lambda key, column: launch_plan_column(key, states[key], column))


def list_rows(request: Any, rows: list[Any], table: Table, value: Callable[[Any, str], str]) -> tuple[list[Any], str]:
    """A ResourceListRequest over ``rows`` (in creation order), as flyteadmin's list calls take it.

    validation.go ValidateResourceListRequest (id with project and domain, a limit above 0), the
    id's project, domain and optional name as equality filters, then the request's own
    (util/filters.go GetDbFilters), the sort key (common/sorting.go NewSortParameter), the token
    as an offset (ValidateToken), and a next token only when a full page came back.
    """
    if not request.HasField("id"):
        raise missing("id")
    if not request.id.project:
        raise missing("project")
    if not request.id.domain:
        raise missing("domain")
    if request.limit == 0:
        raise AdminError(INVALID, "invalid value for limit")
    prefix = table.identifier_prefix
    filters = [Filter("eq", f"{prefix}project", (request.id.project,))]
    filters.append(Filter("eq", f"{prefix}domain", (request.id.domain,)))
    if request.id.name:
        filters.append(Filter("eq", f"{prefix}name", (request.id.name,)))
    if request.filters:
        filters += parse_filters(request.filters, table)
    if table is EXECUTIONS and not any(f.field == "state" for f in filters):  # execution_manager.go addStateFilter
        filters.append(Filter("eq", "state", (ACTIVE,)))
    descending = _sort(request.sort_by, table) if request.HasField("sort_by") else False
    offset = _offset(request.token, table)
    selected = [row for row in rows if all(TESTS[f.function](value(row, f.field), f.values) for f in filters)]
    selected = selected[::-1] if descending else selected
    page = selected[offset : offset + request.limit]
    token = str(offset + len(page)) if len(page) == request.limit else ""
    return page, token


def _offset(token: str, table: Table) -> int:
    """validation.go ValidateToken."""
    if not token:
        return 0
    try:
        offset = int(token)
    except ValueError:
        raise AdminError(INVALID, f"invalid pagination token {token} for {table.call}") from None
    if offset < 0:
        raise AdminError(INVALID, f"invalid pagination token {token} for {table.call}")
    return offset


def _sort(sort: Any, table: Table) -> bool:
    """common/sorting.go NewSortParameter: whether newest first. The records are in creation order,
    which is what the stand-in can sort by; without a sort, that is the table's order too."""
    if sort.key not in table.columns:
        raise AdminError(INVALID, f"invalid sort key '{sort.key}'")
    if sort.key not in ("id", "created_at", "execution_created_at"):
        raise AdminError(grpc.StatusCode.UNIMPLEMENTED, f"stand-in: sorting by {sort.key} is not supported")
    return bool(sort.direction == common_pb2.Sort.DESCENDING)


def trimmed_error_message(message: str) -> str:
    """transformers/execution.go TrimErrorMessage: at least 100 bytes, cut on a character boundary."""
    data = message.encode()
    if len(data) <= TRIMMED_ERROR_LENGTH:
        return message
    return data[:TRIMMED_ERROR_LENGTH].decode(errors="ignore")
