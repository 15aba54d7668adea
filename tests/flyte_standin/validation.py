"""flyteadmin's request checks, as the TEST STAND-IN applies them (see the package docstring: not a Flyte).

Each function mirrors a Go function of Flyte 1.16.8 (github.com/flyteorg/flyte), named in its
docstring with its file; codes and messages say what flyteadmin's say (Go's ``%v`` of a proto
message is rendered as one-line protobuf text). A failed check raises ``AdminError``, which the
servicer answers as a gRPC status. Pure functions: the servicer passes in what they need.

Paths below are relative to flyteadmin/pkg/ unless they name another component.
"""

from __future__ import annotations

import math
import re
import zoneinfo
from collections.abc import Collection, Iterable, Mapping, Sequence
from fractions import Fraction
from typing import Any

import grpc
from flyteidl.admin import launch_plan_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2
from google.protobuf import json_format, text_format

from scaffold_flyte.cron import CronError, parse_standard

INVALID = grpc.StatusCode.INVALID_ARGUMENT
Simple = types_pb2.SimpleType
Phase = core_execution_pb2.WorkflowExecution

# What the Flyte sandbox has (flytectl demo): one project, the three default domains.
SANDBOX_PROJECTS: dict[str, list[str]] = {"flytesnacks": ["development", "staging", "production"]}


class AdminError(Exception):
    """A flyteadmin error: the gRPC code and message it answers with (errors/errors.go FlyteAdminError)."""

    def __init__(self, code: grpc.StatusCode, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def text(message: Any) -> str:
    """Go's ``%v`` of a proto message, near enough: its text format on one line ("<nil>" for none)."""
    return "<nil>" if message is None else text_format.MessageToString(message, as_one_line=True)


def missing(field: str) -> AdminError:
    """manager/impl/shared/errors.go GetMissingArgumentError."""
    return AdminError(INVALID, f"missing {field}")


def missing_entity(entity_type: str, identifier: Any) -> AdminError:
    """repositories/errors/errors.go GetMissingEntityError: what a repository Get answers for no row."""
    return AdminError(
        grpc.StatusCode.NOT_FOUND, f"missing entity of type {entity_type} with identifier {text(identifier)}"
    )


# -- identifiers ----------------------------------------------------------------------------------


def validate_identifier_fields_set(identifier: identifier_pb2.Identifier) -> None:
    """manager/impl/validation/validation.go ValidateIdentifierFieldsSet."""
    for field in ("project", "domain", "name", "version"):
        if not getattr(identifier, field):
            raise missing(field)


def validate_identifier(identifier: identifier_pb2.Identifier, expected: int) -> None:
    """manager/impl/validation/validation.go ValidateIdentifier: the resource type must be the entity's."""
    if identifier.resource_type != expected:
        got, want = (identifier_pb2.ResourceType.Name(kind).lower() for kind in (identifier.resource_type, expected))
        raise AdminError(
            INVALID, f"unexpected resource type {got} for identifier [{text(identifier)}], expected {want} instead"
        )
    validate_identifier_fields_set(identifier)


def validate_workflow_execution_identifier(identifier: identifier_pb2.WorkflowExecutionIdentifier) -> None:
    """manager/impl/validation/execution_validator.go ValidateWorkflowExecutionIdentifier."""
    for field in ("project", "domain", "name"):
        if not getattr(identifier, field):
            raise missing(field)


# -- projects and domains -------------------------------------------------------------------------


def validate_project_and_domain(
    projects: Mapping[str, Sequence[str]], inactive: Collection[str], project: str, domain: str
) -> None:
    """manager/impl/validation/project_validator.go ValidateProjectAndDomain.

    Registering tasks, workflows and launch plans and creating executions all need a registered,
    active project. Domains are system-wide in flyteadmin (its domains configuration, not the
    project's: "Domains are currently only set system wide"), so a domain is known when any
    configured project lists it.
    """
    if project not in projects:
        raise AdminError(
            INVALID,
            f"failed to validate that project [{project}] and domain [{domain}] are registered, "
            f"err: [project [{project}] not found]",  # repositories/gormimpl/project_repo.go Get
        )
    if project in inactive:
        raise AdminError(INVALID, f"project [{project}] is not active")  # errors/errors.go NewInactiveProjectError
    if domain not in {d for domains in projects.values() for d in domains}:
        raise AdminError(INVALID, f"domain [{domain}] is unrecognized by system")


# -- executions -----------------------------------------------------------------------------------

EXECUTION_NAME_LENGTH = 63  # the longest Kubernetes label value
EXECUTION_NAME = re.compile(r"^[a-z][a-z\-0-9]*$")
LAUNCHABLE = (identifier_pb2.LAUNCH_PLAN, identifier_pb2.TASK)


def check_valid_execution_id(execution_id: str, field: str) -> None:
    """manager/impl/validation/execution_validator.go CheckValidExecutionID."""
    if len(execution_id.encode()) > EXECUTION_NAME_LENGTH:  # Go's len counts bytes
        raise AdminError(INVALID, f"size of {field} exceeded length {EXECUTION_NAME_LENGTH} : {execution_id}")
    if not EXECUTION_NAME.fullmatch(execution_id):  # RE2's $ is the very end, as fullmatch's
        raise AdminError(
            INVALID, f"invalid {field} format: {execution_id}, does not match regex '{EXECUTION_NAME.pattern}'"
        )


def validate_execution_request(request: Any, projects: Mapping[str, Sequence[str]], inactive: Collection[str]) -> None:
    """manager/impl/validation/execution_validator.go ValidateExecutionRequest (labels aside).

    The name is checked lower-cased, as flyteadmin does (``strings.ToLower``): "Run-1" passes here.
    """
    if not request.project:
        raise missing("project")
    if not request.domain:
        raise missing("domain")
    if request.name:
        check_valid_execution_id(request.name.lower(), "name")
    # (the Go code's second length check cannot fire after CheckValidExecutionID)
    validate_project_and_domain(projects, inactive, request.project, request.domain)
    if not request.HasField("spec"):
        raise missing("spec")
    launch_plan = request.spec.launch_plan
    validate_identifier_fields_set(launch_plan)
    if launch_plan.resource_type not in LAUNCHABLE:
        kind = identifier_pb2.ResourceType.Name(launch_plan.resource_type)
        raise AdminError(
            INVALID,
            f"Invalid reference entity resource type [{kind}], only [map[TASK:<nil> LAUNCH_PLAN:<nil>]] allowed",
        )
    validate_literal_map(request.inputs, "inputs")
    if request.spec.HasField("notifications"):
        validate_notifications(request.spec.notifications.notifications)


def check_and_fetch_inputs_for_execution(
    user_inputs: literals_pb2.LiteralMap,
    fixed_inputs: literals_pb2.LiteralMap,
    expected_inputs: interface_pb2.ParameterMap,
) -> literals_pb2.LiteralMap:
    """manager/impl/validation/execution_validator.go CheckAndFetchInputsForExecution.

    The execution's inputs: the user's, checked against the launch plan's closure.expected_inputs
    (unknown, missing required, wrong type), then its defaults, then its fixed inputs (which must
    not be among them). A fixed input is not an expected input, so passing one is an unknown
    input. Go walks maps in random order; this walks them sorted, so the first error is stable.
    """
    expected = expected_inputs.parameters
    inputs: dict[str, literals_pb2.Literal] = {}
    for name in sorted(user_inputs.literals):
        if name not in expected:
            raise AdminError(INVALID, f"invalid input {name}")
        inputs[name] = user_inputs.literals[name]
    for name in sorted(expected):
        parameter = expected[name]
        if name not in inputs:
            if parameter.required:
                raise AdminError(INVALID, f"expected_inputs {name} missing")
            inputs[name] = parameter.default
            continue
        input_type = literal_type_for_literal(inputs[name])
        validate_literal_type(input_type, name)
        if not are_types_castable(input_type, parameter.var.type):
            raise AdminError(
                INVALID,
                f"invalid {name} input wrong type. Expected {text(parameter.var.type)}, but got {text(input_type)}",
            )
    for name in sorted(fixed_inputs.literals):
        if name in inputs:
            raise AdminError(INVALID, f"fixed_inputs {name} cannot be overridden")
        inputs[name] = fixed_inputs.literals[name]
    return literals_pb2.LiteralMap(literals=inputs)


TERMINAL_PHASES = frozenset({Phase.SUCCEEDED, Phase.FAILED, Phase.TIMED_OUT, Phase.ABORTED})


def check_can_terminate(phase: int) -> None:
    """manager/impl/execution_manager.go TerminateExecution (common/executions.go IsExecutionTerminal).

    An execution that already ended cannot be aborted: FAILED_PRECONDITION (with an
    EventFailureReason detail in flyteadmin, errors/errors.go NewAlreadyInTerminalStateError).
    """
    if phase in TERMINAL_PHASES:
        raise AdminError(grpc.StatusCode.FAILED_PRECONDITION, "Cannot abort an already terminated workflow execution")


def validate_node_execution_list_request(request: Any) -> int:
    """manager/impl/validation/node_execution_validator.go ValidateNodeExecutionListRequest; returns the offset.

    The offset is the page token (validation.go ValidateToken, node_execution_manager.go listNodeExecutions).
    """
    try:
        validate_workflow_execution_identifier(request.workflow_execution_id)
    except AdminError:
        raise missing("execution_id") from None
    if request.limit == 0:
        raise AdminError(INVALID, "invalid value for limit")  # validation.go ValidateLimit
    if not request.token:
        return 0
    if not re.fullmatch(r"[+-]?[0-9]+", request.token) or int(request.token) < 0:  # strconv.Atoi, then >= 0
        raise AdminError(INVALID, f"invalid pagination token {request.token} for ListNodeExecutions")
    return int(request.token)


# -- launch plans ---------------------------------------------------------------------------------


def validate_launch_plan(
    request: Any,
    workflow_inputs: interface_pb2.VariableMap,
    projects: Mapping[str, Sequence[str]],
    inactive: Collection[str],
) -> interface_pb2.ParameterMap:
    """manager/impl/validation/launch_plan_validator.go ValidateLaunchPlan; returns the expected inputs.

    flyteadmin stores the launch plan with its default_inputs replaced by these expected inputs
    (the defaults plus the workflow's unbound inputs, as required ones), and the same map is the
    closure's expected_inputs (repositories/transformers/launch_plan.go CreateLaunchPlan).
    Labels are not checked here (the launcher sets none).
    """
    validate_identifier(request.id, identifier_pb2.LAUNCH_PLAN)
    validate_project_and_domain(projects, inactive, request.id.project, request.id.domain)
    if not request.HasField("spec"):
        raise missing("spec")
    validate_identifier(request.spec.workflow_id, identifier_pb2.WORKFLOW)
    validate_literal_map(request.spec.fixed_inputs, "fixed_inputs")
    validate_parameter_map(request.spec.default_inputs, "default_inputs")
    expected = expected_inputs_for_launch_plan(workflow_inputs, request.spec.fixed_inputs, request.spec.default_inputs)
    validate_schedule(request.spec.entity_metadata.schedule, expected)
    if request.spec.HasField("entity_metadata"):
        validate_notifications(request.spec.entity_metadata.notifications)
        if request.spec.entity_metadata.HasField("launch_conditions"):
            raise AdminError(
                INVALID, f"Launch condition must be empty, found {text(request.spec.entity_metadata.launch_conditions)}"
            )
    return expected


def validate_schedule(schedule: Any, expected: interface_pb2.ParameterMap) -> None:
    """manager/impl/validation/launch_plan_validator.go validateSchedule: a schedule needs every required input
    bound (but the kickoff time argument, which must be a free datetime input), and its cron expression must
    parse with robfig/cron v3's ParseStandard (``TZ=``/``CRON_TZ=`` prefix: Go's time.LoadLocation)."""
    if not (schedule.cron_expression or schedule.HasField("rate") or schedule.HasField("cron_schedule")):
        return
    kickoff = schedule.kickoff_time_input_arg
    for name in sorted(expected.parameters):
        if expected.parameters[name].required and name != kickoff:
            raise AdminError(
                INVALID,
                f"Cannot create a launch plan with a schedule if there is an unbound required input. [{name}] is required",
            )
    if kickoff:
        param = expected.parameters.get(kickoff)
        if param is None:
            raise AdminError(
                INVALID,
                "Cannot create a schedule with a KickoffTimeInputArg that does not point to a free input. "
                f"[{kickoff}] is not free or does not exist.",
            )
        if param.var.type.simple != Simple.DATETIME:
            raise AdminError(
                INVALID,
                f"KickoffTimeInputArg must reference a datetime input. [{kickoff}] is a [{text(param.var.type)}]",
            )
    expression = schedule.cron_expression or schedule.cron_schedule.schedule
    if expression:
        try:
            _parse_standard(expression)
        except CronError as error:
            raise AdminError(INVALID, f"Invalid cron expression: {error}") from None


def _parse_standard(spec: str) -> None:
    """robfig/cron v3 parser.go Parse: the time zone prefix, then the five fields or a descriptor.

    The fields go through scaffold_flyte/cron.py, a line-by-line port of parser.go that
    tests/test_cron.py holds to robfig's own test table (parser_test.go), not to the launcher's needs.
    """
    if spec.startswith(("TZ=", "CRON_TZ=")):
        space, equals = spec.find(" "), spec.find("=")
        if space < 0:  # Go slices spec[eq+1:-1]: a runtime panic, which grpc-go answers as Unknown
            raise AdminError(grpc.StatusCode.UNKNOWN, "panic: slice bounds out of range")
        location = spec[equals + 1 : space]
        try:
            if location not in ("", "UTC", "Local"):  # time.LoadLocation's own names
                zoneinfo.ZoneInfo(location)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise CronError(f"provided bad location {location}: unknown time zone {location}") from None
        spec = spec[space:].strip()
    parse_standard(spec)


def validate_notifications(notifications: Iterable[Any]) -> None:
    """manager/impl/validation/notifications_validator.go validateNotifications: one channel with at least one
    non-empty recipient, and terminal phases only (common IsExecutionTerminal)."""
    for notification in notifications:
        channel = notification.WhichOneof("type")
        if channel is None:
            raise AdminError(INVALID, "invalid value for notification type")
        recipients = getattr(notification, channel).recipients_email
        if not recipients:
            raise missing("recipients")
        if any(not recipient for recipient in recipients):
            raise missing("recipient")
        if any(phase not in TERMINAL_PHASES for phase in notification.phases):
            raise AdminError(INVALID, "invalid value for phase")


def expected_inputs_for_launch_plan(
    workflow_inputs: interface_pb2.VariableMap,
    fixed_inputs: literals_pb2.LiteralMap,
    default_inputs: interface_pb2.ParameterMap,
) -> interface_pb2.ParameterMap:
    """manager/impl/validation/launch_plan_validator.go checkAndFetchExpectedInputForLaunchPlan.

    Each default and fixed input must be a workflow input of a compatible type; the expected
    inputs are the defaults, plus every workflow input neither defaulted nor fixed, as required.
    """
    defaults, fixed, variables = default_inputs.parameters, fixed_inputs.literals, workflow_inputs.variables
    if not variables:
        if defaults:
            raise AdminError(INVALID, f"invalid launch plan default inputs, expected none but found {len(defaults)}")
        if fixed:
            raise AdminError(INVALID, f"invalid launch plan fixed inputs, expected none but found {len(fixed)}")
        return interface_pb2.ParameterMap()
    for name in sorted(defaults):
        if name not in variables:
            raise AdminError(INVALID, f"unexpected default_input {name}")
        if not are_types_castable(defaults[name].var.type, variables[name].type):
            raise AdminError(
                INVALID,
                f"invalid default_input wrong type {name}, expected {text(defaults[name].var.type)}, "
                f"got {text(variables[name].type)} instead",
            )
    for name in sorted(fixed):
        if name not in variables:
            raise AdminError(INVALID, f"unexpected fixed_input {name}")
        input_type = literal_type_for_literal(fixed[name])
        validate_literal_type(input_type, name)
        if not are_types_castable(input_type, variables[name].type):
            raise AdminError(
                INVALID,
                f"invalid fixed_input wrong type {name}, expected {text(variables[name].type)}, "
                f"got {text(input_type)} instead",
            )
    expected = interface_pb2.ParameterMap()
    for name, variable in variables.items():
        if name in defaults:
            expected.parameters[name].CopyFrom(defaults[name])
        elif name not in fixed:
            required = interface_pb2.Variable(type=variable.type, description=variable.description)
            expected.parameters[name].CopyFrom(interface_pb2.Parameter(var=required, required=True))
    return expected


def check_launch_plan_state(state: int, identifier: identifier_pb2.Identifier) -> None:
    """manager/impl/launch_plan_manager.go UpdateLaunchPlan: only ACTIVE and INACTIVE are states."""
    if state not in (launch_plan_pb2.ACTIVE, launch_plan_pb2.INACTIVE):
        raise AdminError(
            INVALID, f"Unrecognized launch plan state {state} for update for launch plan [{text(identifier)}]"
        )


# -- literal maps and parameter maps ----------------------------------------------------------------

TIMESTAMP_SECONDS = (-62135596800, 253402300799)  # 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z


def validate_literal_map(literals: literals_pb2.LiteralMap, field: str) -> None:
    """manager/impl/validation/validation.go validateLiteralMap.

    As in Go, the first datetime found ends the check (its validity is the answer).
    """
    for name in sorted(literals.literals):
        literal = literals.literals[name]
        if not name:
            raise AdminError(INVALID, f"missing key in {field}")
        if literal.WhichOneof("value") is None:
            raise AdminError(INVALID, f"missing valid literal in {field} {name}")
        if _is_datetime(literal):
            validate_datetime(literal)
            return


def _is_datetime(literal: literals_pb2.Literal) -> bool:
    """validation.go isDateTime."""
    return (
        literal.HasField("scalar")
        and literal.scalar.HasField("primitive")
        and literal.scalar.primitive.HasField("datetime")
    )


def validate_datetime(literal: literals_pb2.Literal) -> None:
    """validation.go ValidateDatetime: a timestamp protobuf's own validity (timestamppb CheckValid)."""
    stamp = literal.scalar.primitive.datetime
    low, high = TIMESTAMP_SECONDS
    if stamp.seconds < low:
        raise AdminError(INVALID, f"timestamp ({text(stamp)}) before 0001-01-01")
    if stamp.seconds > high:
        raise AdminError(INVALID, f"timestamp ({text(stamp)}) after 9999-12-31")
    if not 0 <= stamp.nanos < 1_000_000_000:
        raise AdminError(INVALID, f"timestamp ({text(stamp)}) has out-of-range nanos")


def validate_parameter_map(parameters: interface_pb2.ParameterMap, field: str) -> None:
    """manager/impl/validation/validation.go validateParameterMapDisableArtifacts (artifacts off, as by default)."""
    for name in sorted(parameters.parameters):
        if parameters.parameters[name].HasField("artifact_query"):
            raise AdminError(INVALID, f"artifact mode not enabled but query found {field} {name}")
    for name in sorted(parameters.parameters):
        parameter = parameters.parameters[name]
        if not name:
            raise AdminError(INVALID, f"missing key in {field}")
        if not parameter.HasField("var") or not parameter.var.HasField("type"):
            raise AdminError(
                INVALID,
                f"The Variable component of the Parameter {name} in {field} either is missing, or has a missing Type",
            )
        if not parameter.HasField("default") and not parameter.HasField("artifact_query") and not parameter.required:
            raise AdminError(
                INVALID,
                f"Invalid variable {name} in {field} - variable has neither default, nor is required. "
                "One must be specified",
            )
        if parameter.HasField("default"):
            input_type = literal_type_for_literal(parameter.default)
            validate_literal_type(input_type, name)
            if not are_types_castable(input_type, parameter.var.type):
                raise AdminError(
                    INVALID,
                    f"Type mismatch for Parameter {name} in {field} has type {text(parameter.var.type)}, "
                    f"expected {text(input_type)}",
                )
            if parameter.var.type.WhichOneof("type") == "simple" and parameter.var.type.simple == Simple.DATETIME:
                validate_datetime(parameter.default)
                return


# -- literal types: flytepropeller/pkg/compiler/validators/utils.go -----------------------------------
#
# Go's nil *LiteralType has no protobuf value in Python. Where Go nests a nil type inside another
# (a collection of literals whose type is unknown, a blob without metadata in a list, a structured
# dataset without metadata), the stand-in nests an empty LiteralType(): like Go's nil there, no
# type checker casts from it. A top-level unknown type is None (ValidateLiteralType refuses it).


def literal_type_for_literal(literal: literals_pb2.Literal) -> types_pb2.LiteralType | None:
    """utils.go LiteralTypeForLiteral: the type a literal's value shows, None when it shows none."""
    kind = literal.WhichOneof("value")
    if kind == "scalar":
        return _literal_type_for_scalar(literal.scalar)
    if kind == "collection":
        return types_pb2.LiteralType(collection_type=_literal_type_for_literals(literal.collection.literals))
    if kind == "map":
        return types_pb2.LiteralType(map_value_type=_literal_type_for_literals(literal.map.literals.values()))
    if kind == "offloaded_metadata":
        metadata = literal.offloaded_metadata
        return metadata.inferred_type if metadata.HasField("inferred_type") else None
    return None


def _nested(literal_type: types_pb2.LiteralType | None) -> types_pb2.LiteralType:
    return types_pb2.LiteralType() if literal_type is None else literal_type


def _literal_type_for_scalar(scalar: literals_pb2.Scalar) -> types_pb2.LiteralType | None:
    """utils.go literalTypeForScalar."""
    kind = scalar.WhichOneof("value")
    if kind == "primitive":
        return _literal_type_for_primitive(scalar.primitive)
    if kind == "blob":
        if not scalar.blob.HasField("metadata"):
            return None
        metadata = scalar.blob.metadata
        return types_pb2.LiteralType(blob=metadata.type) if metadata.HasField("type") else types_pb2.LiteralType()
    if kind == "binary":  # a msgpack binary is a struct (dict, dataclass, BaseModel): RFC 5741
        return types_pb2.LiteralType(simple=Simple.STRUCT if scalar.binary.tag == "msgpack" else Simple.BINARY)
    if kind == "schema":
        schema = scalar.schema
        return types_pb2.LiteralType(schema=schema.type) if schema.HasField("type") else types_pb2.LiteralType()
    if kind == "structured_dataset":
        dataset = scalar.structured_dataset
        if not dataset.HasField("metadata") or not dataset.metadata.HasField("structured_dataset_type"):
            return types_pb2.LiteralType()  # Go: a structured-dataset type wrapping nil, castable to nothing
        return types_pb2.LiteralType(structured_dataset_type=dataset.metadata.structured_dataset_type)
    if kind == "none_type":
        return types_pb2.LiteralType(simple=Simple.NONE)
    if kind == "error":
        return types_pb2.LiteralType(simple=Simple.ERROR)
    if kind == "generic":
        return types_pb2.LiteralType(simple=Simple.STRUCT)
    if kind == "union":
        return types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=[scalar.union.type]))
    return None


PRIMITIVE_TYPES = {
    "integer": Simple.INTEGER,
    "float_value": Simple.FLOAT,
    "string_value": Simple.STRING,
    "boolean": Simple.BOOLEAN,
    "datetime": Simple.DATETIME,
    "duration": Simple.DURATION,
}


def _literal_type_for_primitive(primitive: literals_pb2.Primitive) -> types_pb2.LiteralType:
    """utils.go literalTypeForPrimitive (an empty primitive is NONE)."""
    return types_pb2.LiteralType(simple=PRIMITIVE_TYPES.get(primitive.WhichOneof("value") or "", Simple.NONE))


def _literal_type_for_literals(literals: Iterable[literals_pb2.Literal]) -> types_pb2.LiteralType:
    """utils.go literalTypeForLiterals: one type for all (NONE when empty), else a union of the distinct ones."""
    inner: dict[str, types_pb2.LiteralType] = {}
    none_type = None
    for literal in literals:
        other = _nested(literal_type_for_literal(literal))
        if literal.WhichOneof("value") == "collection" and not literal.collection.literals:
            none_type = other  # an empty collection counts only when nothing else does
            continue
        inner.setdefault(text(other), other)
    if not inner and none_type is not None:
        inner[text(none_type)] = none_type
    if not inner:
        return types_pb2.LiteralType(simple=Simple.NONE)
    if len(inner) == 1:
        return next(iter(inner.values()))
    return _multiple_type_union([inner[key] for key in sorted(inner)])


def _multiple_type_union(types: Sequence[types_pb2.LiteralType]) -> types_pb2.LiteralType:
    """utils.go buildMultipleTypeUnion: collections of unions flatten into one collection of a union."""
    variants: list[types_pb2.LiteralType] = []
    nested = False
    for literal_type in types:
        if literal_type.HasField("collection_type") and literal_type.collection_type.HasField("union_type"):
            nested = True
            variants.extend(literal_type.collection_type.union_type.variants)
        else:
            variants.append(literal_type)
    union = types_pb2.LiteralType(union_type=types_pb2.UnionType(variants=variants))
    return types_pb2.LiteralType(collection_type=union) if nested else union


def validate_literal_type(literal_type: types_pb2.LiteralType | None, name: str) -> None:
    """utils.go ValidateLiteralType, wrapped as errors/errors.go NewInvalidLiteralTypeError does."""
    while literal_type is not None:
        if literal_type.HasField("collection_type"):
            literal_type = literal_type.collection_type
        elif literal_type.HasField("map_value_type"):
            literal_type = literal_type.map_value_type
        else:
            return
    raise AdminError(
        INVALID,
        f"Failed to validate literal type for [{name}] with err: got unknown literal type: [<nil>].\n"
        "Suggested solution: Please update all your Flyte deployment images to the latest version and try again",
    )


# -- castability: flytepropeller/pkg/compiler/validators/typing.go -------------------------------------


def are_types_castable(upstream: types_pb2.LiteralType, downstream: types_pb2.LiteralType) -> bool:
    """typing.go AreTypesCastable: can a value of ``upstream`` type bind to ``downstream``."""
    single = upstream.HasField("union_type") and len(upstream.union_type.variants) == 1
    if single and _casts_from(downstream, upstream.union_type.variants[0]):
        return True  # a one-variant union (a union literal's type) casts as its variant does
    return _casts_from(downstream, upstream)


def _casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go getTypeChecker(downstream).CastsFrom(upstream)."""
    kind = downstream.WhichOneof("type")
    checker = CHECKERS.get(kind or "")
    if checker is not None:
        return checker(downstream, upstream)
    if _is_none(downstream):
        return _is_none(upstream)  # noneTypeChecker
    return _trivial_casts_from(downstream, upstream)


def _is_none(literal_type: types_pb2.LiteralType) -> bool:
    """typing.go isNoneType."""
    return literal_type.WhichOneof("type") == "simple" and literal_type.simple == Simple.NONE


def _simple(literal_type: types_pb2.LiteralType) -> int:
    """Go's GetSimple(): the simple type, NONE (0) when the type is not simple."""
    return literal_type.simple if literal_type.WhichOneof("type") == "simple" else Simple.NONE


def _trivial_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go trivialChecker: enums and strings cast both ways, tags must agree, structs compare schemas,
    anything else must be the same type once structure, metadata and annotation are set aside."""
    if upstream.HasField("enum_type") and _simple(downstream) == Simple.STRING:
        return True
    if downstream.HasField("enum_type") and _simple(upstream) == Simple.STRING:
        return True
    if upstream.structure.tag and downstream.structure.tag != upstream.structure.tag:
        return False
    if _simple(upstream) == Simple.STRUCT and _simple(downstream) == Simple.STRUCT:
        if not upstream.HasField("metadata") or not downstream.HasField("metadata"):
            return True  # no JSON schema on one side (a literal's inferred type has none): castable
        return _same_json(upstream.metadata, downstream.metadata)
    bare_up, bare_down = types_pb2.LiteralType(), types_pb2.LiteralType()
    bare_up.CopyFrom(upstream)
    bare_down.CopyFrom(downstream)
    for bare in (bare_up, bare_down):
        for field in ("structure", "metadata", "annotation"):
            bare.ClearField(field)
    return bare_up == bare_down


def _same_json(upstream: Any, downstream: Any) -> bool:
    """typing.go isSameTypeInJSON || isSuperTypeInJSON, the first only.

    isSuperTypeInJSON (a JSON-schema subset comparison, json-schema-compare) is not ported: two
    different schemas are not castable here, where Flyte may find the target a subset. Stricter,
    never kinder; a literal's inferred type carries no schema, so execution inputs never get here
    but through a union variant the client typed itself.
    """
    return bool(json_format.MessageToDict(upstream) == json_format.MessageToDict(downstream))


def _map_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go mapTypeChecker: an empty map (values of type NONE) casts to any map."""
    if not upstream.HasField("map_value_type"):
        return False
    values = upstream.map_value_type
    return _is_none(values) or _casts_from(downstream.map_value_type, values)


def _collection_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go collectionTypeChecker: an empty collection (items of type NONE) casts to any collection."""
    if not upstream.HasField("collection_type"):
        return False
    items = upstream.collection_type
    return _is_none(items) or _casts_from(downstream.collection_type, items)


def _blob_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go blobTypeChecker: a blob without a format matches any blob, else the formats must match."""
    if not upstream.HasField("blob"):
        return False
    if not upstream.blob.format or not downstream.blob.format:
        return True
    return upstream.blob.format == downstream.blob.format


def _schema_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go schemaTypeChecker."""
    if upstream.HasField("schema"):
        return _schema_columns_subset(upstream.schema.columns, downstream.schema.columns)
    if not upstream.HasField("structured_dataset_type"):
        return False
    dataset = upstream.structured_dataset_type
    if dataset.format and dataset.format.lower() != "parquet":
        return False
    upstream_columns = {c.name: _simple(c.literal_type) for c in dataset.columns}
    if not upstream_columns or not downstream.schema.columns:
        return True
    return all(
        c.name in upstream_columns and _schema_column_matches(c.type, upstream_columns[c.name])
        for c in downstream.schema.columns
    )


def _schema_columns_subset(upstream: Sequence[Any], downstream: Sequence[Any]) -> bool:
    """typing.go schemaCastFromSchema: the downstream columns, each in the upstream with its type."""
    if not upstream or not downstream:
        return True
    types = {c.name: c.type for c in upstream}
    return all(c.name in types and types[c.name] == c.type for c in downstream)


SCHEMA_COLUMN_TYPES = {
    types_pb2.SchemaType.SchemaColumn.INTEGER: Simple.INTEGER,
    types_pb2.SchemaType.SchemaColumn.FLOAT: Simple.FLOAT,
    types_pb2.SchemaType.SchemaColumn.STRING: Simple.STRING,
    types_pb2.SchemaType.SchemaColumn.BOOLEAN: Simple.BOOLEAN,
    types_pb2.SchemaType.SchemaColumn.DATETIME: Simple.DATETIME,
    types_pb2.SchemaType.SchemaColumn.DURATION: Simple.DURATION,
}


def _schema_column_matches(column_type: int, simple: int) -> bool:
    """typing.go schemaTypeIsMatchStructuredDatasetType."""
    return column_type in SCHEMA_COLUMN_TYPES and SCHEMA_COLUMN_TYPES[column_type] == simple


def _structured_dataset_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go structuredDatasetChecker: structured datasets are nullable."""
    if _is_none(upstream):
        return True
    target = downstream.structured_dataset_type
    if upstream.HasField("schema"):
        if target.format and target.format.lower() != "parquet":
            return False
        columns = {c.name: c.type for c in upstream.schema.columns}
        if not columns or not target.columns:
            return True
        return all(
            c.name in columns and _schema_column_matches(columns[c.name], _simple(c.literal_type))
            for c in target.columns
        )
    if not upstream.HasField("structured_dataset_type"):
        return False
    source = upstream.structured_dataset_type
    if source.format and target.format and source.format.lower() != target.format.lower():
        return False
    if not source.columns or not target.columns:
        return True
    columns = {c.name: c.literal_type for c in source.columns}
    return all(c.name in columns and _casts_from(c.literal_type, columns[c.name]) for c in target.columns)


def _union_casts_from(downstream: types_pb2.LiteralType, upstream: types_pb2.LiteralType) -> bool:
    """typing.go unionTypeChecker: a union casts when each of its variants has a match; a plain type
    when exactly one variant takes it (a raw string cannot pick between two string variants)."""
    variants = downstream.union_type.variants
    if upstream.HasField("union_type"):
        return all(any(are_types_castable(u, d) for d in variants) for u in upstream.union_type.variants)
    return sum(1 for d in variants if are_types_castable(upstream, d)) == 1


CHECKERS = {
    "collection_type": _collection_casts_from,
    "map_value_type": _map_casts_from,
    "blob": _blob_casts_from,
    "schema": _schema_casts_from,
    "union_type": _union_casts_from,
    "structured_dataset_type": _structured_dataset_casts_from,
}


# -- task resources (manager/impl/validation/task_validator.go) ----------------------------------
# Quantities are parsed as Kubernetes parses them: k8s.io/apimachinery/pkg/api/resource/quantity.go
# ParseQuantity (parseQuantityString, then suffix.go interpret), ported loop for loop below.
_QUANTITY_FORMAT = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
_BINARY_SI = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL_SI = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
Resource = tasks_pb2.Resources


class QuantityError(ValueError):
    """resource.ErrFormatWrong / ErrSuffix / ErrNumeric."""


def parse_quantity(text_value: str) -> Fraction:
    """quantity.go ParseQuantity: the exact value, or QuantityError with apimachinery's message."""
    if not text_value:
        raise QuantityError(_QUANTITY_FORMAT)
    positive, value, num, denom, suffix = _parse_quantity_string(text_value)
    if suffix in _BINARY_SI:
        scale = Fraction(2) ** _BINARY_SI[suffix]
    elif suffix in _DECIMAL_SI:
        scale = Fraction(10) ** _DECIMAL_SI[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):  # strconv.ParseInt
        scale = Fraction(10) ** int(suffix[1:])
    else:
        raise QuantityError("unable to parse quantity's suffix")
    amount = (Fraction(int(num)) + (Fraction(int(denom), 10 ** len(denom)) if denom else 0)) * scale
    return amount if positive else -amount


def _parse_quantity_string(s: str) -> tuple[bool, str, str, str, str]:
    """quantity.go parseQuantityString: (positive, value, num, denom, suffix)."""
    positive, pos, end = True, 0, len(s)
    if pos < end and s[0] in "+-":
        positive = s[0] != "-"
        pos += 1
    while True:  # strip leading zeros
        if pos >= end:
            return positive, "0", "0", "", ""
        if s[pos] != "0":
            break
        pos += 1
    start = pos
    while pos < end and s[pos] in "0123456789":
        pos += 1
    if pos >= end:
        return positive, s, s[start:] or "0", "", ""
    num = s[start:pos] or "0"
    denom = ""
    if s[pos] == ".":
        pos += 1
        start = pos
        while pos < end and s[pos] in "0123456789":
            pos += 1
        denom = s[start:pos]
        if pos >= end:
            return positive, s, num, denom, ""
    value = s[:pos]
    suffix_start = pos
    while pos < end and s[pos] in "eEinumkKMGTP":
        pos += 1
    if pos >= end:
        return positive, value, num, denom, s[suffix_start:]
    if s[pos] in "+-":
        pos += 1
    while pos < end and s[pos] in "0123456789":
        pos += 1
    if pos >= end:
        return positive, value, num, denom, s[suffix_start:]
    raise QuantityError(_QUANTITY_FORMAT)


def quantity_value(quantity: Fraction) -> int:
    """quantity.go Value(): the value rounded up to a whole number, as validateResource compares them."""
    return math.ceil(quantity)


def quantity_string(quantity: Fraction) -> str:
    """quantity.go String(), near enough for a message: a whole number, or milli-units."""
    if quantity.denominator == 1:
        return str(quantity.numerator)
    return f"{math.ceil(quantity * 1000)}m"


# platform limits (runtime/task_resource_provider.go, config task_resources.limits): the sandbox's
# (charts/flyte-sandbox/values.yaml: every limit 0, so none is enforced) unless a test sets some
SANDBOX_TASK_LIMITS: dict[int, str] = {}


def validate_task(template: Any, platform_limits: Mapping[int, str]) -> None:
    """task_validator.go validateTaskTemplate, for a container task: an image, then validateTaskResources
    (requests and limits parsed, requests within limits, both within the platform's limits)."""
    if not template.HasField("container"):
        return
    if not template.container.image:
        raise AdminError(INVALID, "missing image")  # ValidateEmptyStringField(image, shared.Image)
    if not template.container.HasField("resources"):
        return
    requests = _requested_quantities(template.id, template.container.resources.requests)
    limits = _requested_quantities(template.id, template.container.resources.limits)
    platform = {name: parse_quantity(value) for name, value in platform_limits.items() if parse_quantity(value) != 0}
    _validate_resource(template.id, requests, limits, platform)


def _requested_quantities(identifier: Any, entries: Iterable[Any]) -> dict[int, Fraction]:
    """task_validator.go requestedResourcesToQuantity and addResourceEntryToMap."""
    quantities: dict[int, Fraction] = {}
    for entry in entries:
        if entry.name not in (Resource.CPU, Resource.MEMORY, Resource.GPU, Resource.EPHEMERAL_STORAGE):
            continue
        name = Resource.ResourceName.Name(entry.name)
        if entry.name in quantities:
            raise AdminError(INVALID, f"can't specify {name} limit for task [{text(identifier)}] multiple times")
        try:
            quantities[entry.name] = parse_quantity(entry.value)
        except QuantityError as error:
            raise AdminError(
                INVALID,
                f"Parsing of {name} request failed for value {entry.value} - reason  {error}. Please follow K8s "
                "conventions for resources https://kubernetes.io/docs/concepts/configuration/manage-resources-containers/",
            ) from None
        if entry.name == Resource.GPU and (quantities[entry.name] * 1000) % 1000 != 0:  # isWholeNumber (MilliValue)
            raise AdminError(
                INVALID, f"gpu for [{text(identifier)}] must be a whole number, got: {entry.value} instead"
            )
    return quantities


def _validate_resource(
    identifier: Any, requests: Mapping[int, Fraction], limits: Mapping[int, Fraction], platform: Mapping[int, Fraction]
) -> None:
    """task_validator.go validateResource: only resources with a request are checked (Go ranges over the
    requests), compared by Value() (rounded up to a whole number)."""
    over_platform = (
        "Requested {} {} [{}] is greater than current limit set in the platform configuration [{}]. Please contact "
        "Flyte Admins to change these limits or consult the configuration"
    )
    for name, request in requests.items():
        label = Resource.ResourceName.Name(name)
        limit = limits.get(name)
        platform_limit = platform.get(name)
        if name == Resource.GPU:
            if limit is not None and quantity_value(request) != quantity_value(limit):
                raise AdminError(
                    INVALID,
                    "For extended resource 'gpu' the default value must equal the limit value for task "
                    f"[{text(identifier)}]",
                )
            if platform_limit is not None and quantity_value(request) > quantity_value(platform_limit):
                raise AdminError(
                    INVALID,
                    over_platform.format(label, "default", quantity_string(request), quantity_string(platform_limit)),
                )
            continue
        if limit is not None and quantity_value(limit) < quantity_value(request):
            raise AdminError(
                INVALID,
                f"Requested {label} default [{quantity_string(request)}] is greater than the limit "
                f"[{quantity_string(limit)}]. Please fix your configuration",
            )
        if limit is not None and platform_limit is not None and quantity_value(limit) > quantity_value(platform_limit):
            raise AdminError(
                INVALID, over_platform.format(label, "limit", quantity_string(limit), quantity_string(platform_limit))
            )
        if platform_limit is not None and quantity_value(request) > quantity_value(platform_limit):
            raise AdminError(
                INVALID,
                over_platform.format(label, "default", quantity_string(request), quantity_string(platform_limit)),
            )
