"""The test stand-in itself (tests/flyte_standin): each rule it mirrors from flyteadmin, pinned.

The launcher's tests trust the stand-in to refuse what Flyte refuses, so each test here names the
Go file whose behaviour it pins (Flyte 1.16.8). No Docker: without a Docker client executions stay
in the phase flyteadmin creates them in. Requests go through flytekit's own clients (FlyteRemote to
register; RawSynchronousFlyteClient, the base of SynchronousFlyteClient, to send exact requests).
"""

from __future__ import annotations

import datetime
import enum
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from flyteidl.admin import common_pb2, execution_pb2, launch_plan_pb2, node_execution_pb2, task_pb2, workflow_pb2
from flyteidl.core import execution_pb2 as core_execution_pb2
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, types_pb2
from flytekit import LaunchPlan, task, workflow
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig, OmegaConf

from tests.fixtures.inputs_wf import Optimizer, mixed
from tests.flyte_standin import StandIn
from tests.flyte_standin.server import ExecutionRecord
from tests.flyte_standin.validation import are_types_castable, literal_type_for_literal

PROJECT, DOMAIN, VERSION = "flytesnacks", "development", "v1"
INVALID, NOT_FOUND = grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND
Phase = core_execution_pb2.WorkflowExecution
NodePhase = core_execution_pb2.NodeExecution
Simple = types_pb2.SimpleType


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


@dataclass
class Point:
    x: float = 0.0
    y: float = 0.0


@task
def show(
    n: int,
    lr: float,
    name: str,
    flag: bool,
    maybe: int | None,
    either: int | str,
    layers: list[int],
    weights: dict[str, float],
    cfg: DictConfig,
    point: Point,
    color: Color,
    when: datetime.datetime,
    data: FlyteFile,
    loose: dict,
) -> str:
    return ""


@workflow
def every_input(
    n: int,
    lr: float,
    name: str,
    flag: bool,
    maybe: int | None,
    either: int | str,
    layers: list[int],
    weights: dict[str, float],
    cfg: DictConfig,
    point: Point,
    color: Color,
    when: datetime.datetime,
    data: FlyteFile,
    loose: dict,
) -> str:
    """One input of each kind the launcher sends (plain values, containers, DictConfig, dataclass...)."""
    return show(
        n=n,
        lr=lr,
        name=name,
        flag=flag,
        maybe=maybe,
        either=either,
        layers=layers,
        weights=weights,
        cfg=cfg,
        point=point,
        color=color,
        when=when,
        data=data,
        loose=loose,
    )


EVERY_INPUT: dict[str, tuple[Any, Any]] = {  # input -> (its Python type, a value)
    "n": (int, 3),
    "lr": (float, 0.1),
    "name": (str, "x"),
    "flag": (bool, True),
    "maybe": (int | None, 5),
    "either": (int | str, "five"),
    "layers": (list[int], [8, 16]),
    "weights": (dict[str, float], {"a": 1.0}),
    "cfg": (DictConfig, OmegaConf.create({"model": {"lr": 0.1, "layers": [1, 2]}})),
    "point": (Point, Point(1.0, 2.0)),
    "color": (Color, Color.BLUE),
    "when": (datetime.datetime, datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc)),
    "data": (FlyteFile, FlyteFile("s3://bucket/rows.csv")),
    "loose": (dict, {"a": 1, "b": [1, 2]}),
}

fixed_epochs = LaunchPlan.get_or_create(mixed, name="tests.test_standin.fixed_epochs", fixed_inputs={"epochs": 3})


# -- helpers --------------------------------------------------------------------------------------


def lit(value: Any, python_type: Any) -> literals_pb2.Literal:
    """The literal flytekit sends for a value of a type (FlyteRemote.execute does the same)."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_literal(ctx, value, python_type, TypeEngine.to_literal_type(python_type)).to_flyte_idl()


def refusal(call: Callable[[], Any]) -> tuple[grpc.StatusCode, str]:
    """The gRPC status a call is refused with (flytekit raises its own exception from the gRPC error)."""
    with pytest.raises(Exception) as caught:
        call()
    error = caught.value.__cause__
    assert isinstance(error, grpc.Call), repr(caught.value)
    return error.code(), error.details()


def lp_id(name: str = mixed.name, version: str = VERSION, project: str = PROJECT) -> identifier_pb2.Identifier:
    return identifier_pb2.Identifier(
        resource_type=identifier_pb2.LAUNCH_PLAN, project=project, domain=DOMAIN, name=name, version=version
    )


def fresh() -> str:
    return f"t{uuid.uuid4().hex[:12]}"


def mixed_inputs(**overrides: literals_pb2.Literal) -> dict[str, literals_pb2.Literal]:
    inputs = {
        "model": lit(OmegaConf.create({"lr": 0.1}), DictConfig),
        "cfg": lit(OmegaConf.create({"model": {"lr": 0.1}}), DictConfig),
        "epochs": lit(3, int),
    }
    return {**inputs, **overrides}


def create_request(
    inputs: dict[str, literals_pb2.Literal] | None = None,
    name: str | None = None,
    launch_plan: identifier_pb2.Identifier | None = None,
    project: str = PROJECT,
    domain: str = DOMAIN,
) -> execution_pb2.ExecutionCreateRequest:
    return execution_pb2.ExecutionCreateRequest(
        project=project,
        domain=domain,
        name=fresh() if name is None else name,
        spec=execution_pb2.ExecutionSpec(launch_plan=launch_plan or lp_id()),
        inputs=literals_pb2.LiteralMap(literals=mixed_inputs() if inputs is None else inputs),
    )


def serialized(
    project: str = PROJECT, domain: str = DOMAIN, version: str = VERSION
) -> tuple[task_pb2.TaskSpec, workflow_pb2.WorkflowSpec, launch_plan_pb2.LaunchPlan]:
    """mixed's task, workflow and default launch plan, serialized as FlyteRemote registers them."""
    from collections import OrderedDict

    from flytekit.configuration import ImageConfig, SerializationSettings
    from flytekit.tools.translator import get_serializable

    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=project, domain=domain, version=version
    )
    entities: OrderedDict[Any, Any] = OrderedDict()
    get_serializable(entities, settings, LaunchPlan.get_or_create(mixed))
    by_type = {type(idl): idl for idl in (model.to_flyte_idl() for model in entities.values())}
    return by_type[task_pb2.TaskSpec], by_type[workflow_pb2.WorkflowSpec], by_type[launch_plan_pb2.LaunchPlan]


# -- fixtures -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def idle() -> Iterator[StandIn]:
    """One stand-in without Docker (the sandbox's projects), with mixed, every_input and fixed_epochs registered."""
    from flytekit.configuration import Config, ImageConfig, PlatformConfig, SerializationSettings
    from flytekit.remote import FlyteRemote

    running = StandIn(None)
    remote = FlyteRemote(
        Config(platform=PlatformConfig(endpoint=running.endpoint, insecure=True)),
        default_project=PROJECT,
        default_domain=DOMAIN,
    )
    settings = SerializationSettings(
        image_config=ImageConfig.auto_default_image(), project=PROJECT, domain=DOMAIN, version=VERSION
    )
    for entity in (mixed, every_input):
        remote.register_workflow(entity, serialization_settings=settings, version=VERSION)
    remote.register_launch_plan(fixed_epochs, version=VERSION, serialization_settings=settings)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def admin(idle: StandIn) -> Any:
    """flytekit's client on the stand-in, at the level of requests (SynchronousFlyteClient's base)."""
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig

    return RawSynchronousFlyteClient(PlatformConfig(endpoint=idle.endpoint, insecure=True))


def launch_plan(admin: Any, identifier: identifier_pb2.Identifier | None = None) -> launch_plan_pb2.LaunchPlan:
    return admin.get_launch_plan(common_pb2.ObjectGetRequest(id=identifier or lp_id()))


def record_of(idle: StandIn, name: str) -> ExecutionRecord:
    return idle.executions()[name]


# -- projects and domains: flyteadmin/pkg/manager/impl/validation/project_validator.go ---------------


def test_the_default_projects_are_the_sandboxes(idle: StandIn) -> None:
    assert idle.projects == {"flytesnacks": ["development", "staging", "production"]}


@pytest.mark.parametrize(
    ("project", "domain", "message"),
    [
        (
            "nope",
            DOMAIN,
            "failed to validate that project [nope] and domain [development] are registered, "
            "err: [project [nope] not found]",
        ),
        (PROJECT, "qa", "domain [qa] is unrecognized by system"),
    ],
)
def test_registering_needs_a_known_project_and_domain(admin: Any, project: str, domain: str, message: str) -> None:
    task_spec, workflow_spec, plan = serialized(project=project, domain=domain)
    task_id, workflow_id = task_spec.template.id, workflow_spec.template.id
    calls = [
        lambda: admin.create_task(task_pb2.TaskCreateRequest(id=task_id, spec=task_spec)),
        lambda: admin.create_workflow(workflow_pb2.WorkflowCreateRequest(id=workflow_id, spec=workflow_spec)),
    ]
    for call in calls:
        assert refusal(call) == (INVALID, message)
    # a launch plan there, of a workflow that exists: its workflow is looked up first (launch_plan_manager.go)
    plan.spec.workflow_id.CopyFrom(launch_plan(admin).spec.workflow_id)
    create = launch_plan_pb2.LaunchPlanCreateRequest(id=plan.id, spec=plan.spec)
    assert refusal(lambda: admin.create_launch_plan(create)) == (INVALID, message)


def test_executing_needs_a_known_project_and_domain(admin: Any, idle: StandIn) -> None:
    code, message = refusal(lambda: admin.create_execution(create_request(project="nope")))
    assert code == INVALID and message.startswith("failed to validate that project [nope] and domain [development]")
    assert refusal(lambda: admin.create_execution(create_request(domain="qa"))) == (
        INVALID,
        "domain [qa] is unrecognized by system",
    )
    assert all(record.request.project == PROJECT for record in idle.executions().values())


def test_an_inactive_project_refuses_executions(admin: Any, idle: StandIn) -> None:
    idle.admin.inactive_projects.add(PROJECT)
    try:
        assert refusal(lambda: admin.create_execution(create_request())) == (
            INVALID,
            "project [flytesnacks] is not active",
        )
    finally:
        idle.admin.inactive_projects.discard(PROJECT)


def test_projects_are_configurable() -> None:
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig

    own = StandIn(None, projects={"ml": ["dev", "prod"]})
    try:
        client = RawSynchronousFlyteClient(PlatformConfig(endpoint=own.endpoint, insecure=True))
        (task_spec, *_) = serialized(project="ml", domain="dev")
        client.create_task(task_pb2.TaskCreateRequest(id=task_spec.template.id, spec=task_spec))
        (sandbox_task, *_) = serialized()
        code, message = refusal(
            lambda: client.create_task(task_pb2.TaskCreateRequest(id=sandbox_task.template.id, spec=sandbox_task))
        )
        assert code == INVALID and "project [flytesnacks] not found" in message
        (staging, *_) = serialized(project="ml", domain="staging")
        assert refusal(
            lambda: client.create_task(task_pb2.TaskCreateRequest(id=staging.template.id, spec=staging))
        ) == (
            INVALID,
            "domain [staging] is unrecognized by system",
        )
    finally:
        own.stop()


def test_a_registration_needs_its_resource_type(admin: Any) -> None:
    """validation.go ValidateIdentifier: the identifier's resource type must be the entity's."""
    (task_spec, *_) = serialized(version="untyped")
    untyped = identifier_pb2.Identifier()
    untyped.CopyFrom(task_spec.template.id)
    untyped.resource_type = identifier_pb2.UNSPECIFIED
    code, message = refusal(lambda: admin.create_task(task_pb2.TaskCreateRequest(id=untyped, spec=task_spec)))
    assert code == INVALID and message.startswith("unexpected resource type unspecified for identifier [")
    assert message.endswith("], expected task instead")


# -- execution names: flyteadmin/pkg/manager/impl/validation/execution_validator.go -------------------


@pytest.mark.parametrize("name", ["run_1", "1run", "-run", "run.1", "run 1", "rün", "run-1\n"])
def test_execution_names_must_match_flytes_pattern(admin: Any, idle: StandIn, name: str) -> None:
    code, message = refusal(lambda: admin.create_execution(create_request(name=name)))
    assert code == INVALID
    assert message == f"invalid name format: {name.lower()}, does not match regex '^[a-z][a-z\\-0-9]*$'"
    assert name not in idle.executions()


def test_execution_names_are_at_most_63_characters(admin: Any, idle: StandIn) -> None:
    longest = "a" + "-0" * 31
    admin.create_execution(create_request(name=longest))
    assert longest in idle.executions()
    too_long = longest + "x"
    code, message = refusal(lambda: admin.create_execution(create_request(name=too_long)))
    assert (code, message) == (INVALID, f"size of name exceeded length 63 : {too_long}")


def test_upper_case_names_pass_as_in_flyteadmin(admin: Any, idle: StandIn) -> None:
    """flyteadmin checks strings.ToLower(name): upper case passes admin's check (Kubernetes may refuse it later)."""
    admin.create_execution(create_request(name="Run-A"))
    assert "Run-A" in idle.executions()


def test_without_a_name_flyteadmin_makes_one(admin: Any) -> None:
    import re

    created = admin.create_execution(create_request(name=""))
    assert re.fullmatch(r"a[a-z0-9]{19}", created.id.name)


def test_a_name_is_taken_once(admin: Any) -> None:
    name = fresh()
    admin.create_execution(create_request(name=name))
    code, message = refusal(lambda: admin.create_execution(create_request(name=name)))
    assert code == grpc.StatusCode.ALREADY_EXISTS and "already exists" in message


def test_an_execution_request_names_a_whole_launch_plan(admin: Any) -> None:
    """ValidateExecutionRequest: every field of the launch plan id, and a launchable resource type."""
    unversioned = lp_id(version="")
    assert refusal(lambda: admin.create_execution(create_request(launch_plan=unversioned))) == (
        INVALID,
        "missing version",
    )
    workflow_typed = lp_id()
    workflow_typed.resource_type = identifier_pb2.WORKFLOW
    code, message = refusal(lambda: admin.create_execution(create_request(launch_plan=workflow_typed)))
    assert code == INVALID and message.startswith("Invalid reference entity resource type [WORKFLOW], only [")
    unknown = lp_id(version="never")
    code, message = refusal(lambda: admin.create_execution(create_request(launch_plan=unknown)))
    assert code == NOT_FOUND and message.startswith("missing entity of type LAUNCH_PLAN with identifier")


# -- inputs: execution_validator.go CheckAndFetchInputsForExecution, launch_plan_validator.go ------------


def test_an_unknown_input_is_refused(admin: Any) -> None:
    request = create_request(mixed_inputs(nope=lit(1, int)))
    assert refusal(lambda: admin.create_execution(request)) == (INVALID, "invalid input nope")


def test_a_missing_required_input_is_refused(admin: Any) -> None:
    inputs = mixed_inputs()
    del inputs["epochs"]
    assert refusal(lambda: admin.create_execution(create_request(inputs))) == (
        INVALID,
        "expected_inputs epochs missing",
    )


def test_an_input_of_another_type_is_refused(admin: Any) -> None:
    request = create_request(mixed_inputs(epochs=lit("3", str)))
    assert refusal(lambda: admin.create_execution(request)) == (
        INVALID,
        "invalid epochs input wrong type. Expected simple: INTEGER, but got simple: STRING",
    )


def test_a_fixed_input_is_not_an_input(admin: Any) -> None:
    """A fixed input is left out of the expected inputs, so passing it is passing an unknown input."""
    request = create_request(mixed_inputs(), launch_plan=lp_id(fixed_epochs.name))
    assert refusal(lambda: admin.create_execution(request)) == (INVALID, "invalid input epochs")


def test_fixed_and_default_inputs_complete_the_execution_inputs(admin: Any, idle: StandIn) -> None:
    inputs = mixed_inputs()
    del inputs["epochs"]
    created = admin.create_execution(create_request(inputs, launch_plan=lp_id(fixed_epochs.name)))
    record = record_of(idle, created.id.name)
    assert sorted(record.inputs.literals) == ["cfg", "epochs", "model", "tag"]
    assert record.inputs.literals["epochs"].scalar.primitive.integer == 3  # fixed
    assert record.inputs.literals["tag"].scalar.primitive.string_value == "default"  # the workflow's default
    assert sorted(record.request.inputs.literals) == ["cfg", "model"]  # what the user sent, as sent


def test_an_input_both_defaulted_and_fixed_can_never_launch(admin: Any) -> None:
    """The Go check puts defaults among the execution's inputs before the fixed ones: such a plan never runs."""
    plan = launch_plan(admin)
    spec = launch_plan_pb2.LaunchPlanSpec()
    spec.CopyFrom(plan.spec)
    spec.fixed_inputs.literals["tag"].CopyFrom(lit("fixed", str))
    odd = lp_id(version="both")
    admin.create_launch_plan(launch_plan_pb2.LaunchPlanCreateRequest(id=odd, spec=spec))
    request = create_request(launch_plan=odd)
    assert refusal(lambda: admin.create_execution(request)) == (INVALID, "fixed_inputs tag cannot be overridden")


def test_expected_inputs_are_the_defaults_and_the_workflows_unbound_inputs(admin: Any) -> None:
    """launch_plan_validator.go checkAndFetchExpectedInputForLaunchPlan: unbound workflow inputs turn required."""
    plan = launch_plan(admin)
    spec = launch_plan_pb2.LaunchPlanSpec()
    spec.CopyFrom(plan.spec)
    for name in ("model", "cfg", "epochs"):
        del spec.default_inputs.parameters[name]
    sparse = lp_id(version="sparse")
    admin.create_launch_plan(launch_plan_pb2.LaunchPlanCreateRequest(id=sparse, spec=spec))
    expected = launch_plan(admin, sparse).closure.expected_inputs.parameters
    assert sorted(expected) == ["cfg", "epochs", "model", "tag"]
    assert [expected[n].required for n in ("cfg", "epochs", "model")] == [True, True, True]
    assert expected["epochs"].var.type.simple == Simple.INTEGER
    assert expected["tag"].default.scalar.primitive.string_value == "default"
    inputs = mixed_inputs()
    del inputs["model"]
    request = create_request(inputs, launch_plan=sparse)
    assert refusal(lambda: admin.create_execution(request)) == (INVALID, "expected_inputs model missing")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("default_nope", "unexpected default_input nope"),
        ("fixed_nope", "unexpected fixed_input nope"),
        (
            "default_str",
            "invalid default_input wrong type epochs, expected simple: STRING, got simple: INTEGER instead",
        ),
        ("fixed_str", "invalid fixed_input wrong type epochs, expected simple: INTEGER, got simple: STRING instead"),
    ],
)
def test_a_launch_plans_inputs_must_be_its_workflows(admin: Any, change: str, message: str) -> None:
    spec = launch_plan_pb2.LaunchPlanSpec()
    spec.CopyFrom(launch_plan(admin).spec)
    target, name = change.split("_")
    if target == "default":
        parameter = spec.default_inputs.parameters["nope" if name == "nope" else "epochs"]
        parameter.CopyFrom(
            interface_pb2.Parameter(
                var=interface_pb2.Variable(type=types_pb2.LiteralType(simple=Simple.STRING)), required=True
            )
        )
    else:
        spec.fixed_inputs.literals["nope" if name == "nope" else "epochs"].CopyFrom(lit("3", str))
    request = launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id(version=change.replace("_", "-")), spec=spec)
    assert refusal(lambda: admin.create_launch_plan(request)) == (INVALID, message)


def test_a_launch_plan_needs_its_workflow(admin: Any) -> None:
    spec = launch_plan_pb2.LaunchPlanSpec()
    spec.CopyFrom(launch_plan(admin).spec)
    spec.workflow_id.version = "never-registered"
    code, message = refusal(
        lambda: admin.create_launch_plan(launch_plan_pb2.LaunchPlanCreateRequest(id=lp_id(version="orphan"), spec=spec))
    )
    assert code == NOT_FOUND
    assert message.startswith('missing entity of type WORKFLOW with identifier project: "flytesnacks"')
    assert 'version: "never-registered"' in message


def test_flytekits_literals_of_every_kind_are_accepted(admin: Any, idle: StandIn) -> None:
    """What FlyteRemote.execute sends for each declared type passes flyteadmin's type check."""
    inputs = {name: lit(value, python_type) for name, (python_type, value) in EVERY_INPUT.items()}
    created = admin.create_execution(create_request(inputs, launch_plan=lp_id(every_input.name)))
    assert sorted(record_of(idle, created.id.name).inputs.literals) == sorted(EVERY_INPUT)


def _every(**overrides: literals_pb2.Literal) -> execution_pb2.ExecutionCreateRequest:
    inputs = {name: lit(value, python_type) for name, (python_type, value) in EVERY_INPUT.items()}
    return create_request({**inputs, **overrides}, launch_plan=lp_id(every_input.name))


ACCEPTED = {  # flyteadmin takes these too: an input -> a literal looser than its declared type
    "plain int for int | None": ("maybe", lambda: lit(5, int)),
    "None for int | None": ("maybe", lambda: lit(None, type(None))),
    "plain str for int | str": ("either", lambda: lit("five", str)),
    "empty list for list[int]": ("layers", lambda: lit([], list[int])),
    "empty dict for dict[str, float]": ("weights", lambda: lit({}, dict[str, float])),
    "DictConfig for a dataclass": ("point", lambda: lit(OmegaConf.create({"x": 1.0}), DictConfig)),
    "dataclass for DictConfig": ("cfg", lambda: lit(Optimizer(), Optimizer)),
    "str for an enum": ("color", lambda: lit("purple", str)),
    "csv blob for a FlyteFile": ("data", lambda: _blob("csv")),
}


@pytest.mark.parametrize("case", sorted(ACCEPTED))
def test_flytes_type_check_also_accepts(admin: Any, case: str) -> None:
    name, literal = ACCEPTED[case]
    admin.create_execution(_every(**{name: literal()}))


REFUSED = {  # input -> a literal of another type, and the type flyteadmin says it got
    "int for float": ("lr", lambda: lit(1, int), "simple: INTEGER"),
    "float for int": ("n", lambda: lit(1.0, float), "simple: FLOAT"),
    "str for bool": ("flag", lambda: lit("true", str), "simple: STRING"),
    "None for int": ("n", lambda: lit(None, type(None)), "simple: NONE"),
    "float for int | str": ("either", lambda: lit(1.5, float), "simple: FLOAT"),
    "list[str] for list[int]": ("layers", lambda: lit(["8"], list[str]), "collection_type { simple: STRING }"),
    "list[list[int]] for list[int]": (
        "layers",
        lambda: lit([[8]], list[list[int]]),
        "collection_type { collection_type { simple: INTEGER } }",
    ),
    "mixed list for list[int]": (
        "layers",
        lambda: _collection(lit(1, int), lit("a", str)),
        "collection_type { union_type { variants { simple: INTEGER } variants { simple: STRING } } }",
    ),
    "int for list[int]": ("layers", lambda: lit(8, int), "simple: INTEGER"),
    "dict[str, int] for dict[str, float]": ("weights", lambda: lit({"a": 1}, dict[str, int]), "map_value_type"),
    "str for DictConfig": ("cfg", lambda: lit("{}", str), "simple: STRING"),
    "str for datetime": ("when", lambda: lit("2024-05-01", str), "simple: STRING"),
    "blob for str": ("name", lambda: _blob(""), "blob {"),
    "bytes for a dict": ("loose", lambda: _binary("pickle"), "simple: BINARY"),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_flytes_type_check_refuses(admin: Any, idle: StandIn, case: str) -> None:
    name, literal, got = REFUSED[case]
    request = _every(**{name: literal()})
    code, message = refusal(lambda: admin.create_execution(request))
    assert code == INVALID
    assert message.startswith(f"invalid {name} input wrong type. Expected ")
    assert f", but got {got}" in message
    assert request.name not in idle.executions()


def _blob(fmt: str) -> literals_pb2.Literal:
    metadata = literals_pb2.BlobMetadata(type=types_pb2.BlobType(format=fmt, dimensionality=types_pb2.BlobType.SINGLE))
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=literals_pb2.Blob(metadata=metadata, uri="s3://b/f")))


def _binary(tag: str) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(binary=literals_pb2.Binary(value=b"\x80", tag=tag)))


def _collection(*items: literals_pb2.Literal) -> literals_pb2.Literal:
    return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))


def test_blob_formats_must_agree(admin: Any) -> None:
    """typing.go blobTypeChecker: a formatless blob type takes any blob; two formats must be the same."""
    spec = launch_plan_pb2.LaunchPlanSpec()
    spec.CopyFrom(launch_plan(admin, lp_id(every_input.name)).spec)
    spec.default_inputs.parameters["data"].var.type.blob.format = "csv"  # as FlyteFile[typing.TypeVar("csv")]
    csv_plan = lp_id(every_input.name, version="csv")
    admin.create_launch_plan(launch_plan_pb2.LaunchPlanCreateRequest(id=csv_plan, spec=spec))
    request = _every(data=_blob("csv"))
    request.spec.launch_plan.CopyFrom(csv_plan)
    admin.create_execution(request)
    request = _every(data=_blob("parquet"))
    request.spec.launch_plan.CopyFrom(csv_plan)
    code, message = refusal(lambda: admin.create_execution(request))
    assert code == INVALID and message.endswith('but got blob { format: "parquet" }')


def test_a_literal_without_a_value_is_refused(admin: Any) -> None:
    """validation.go validateLiteralMap."""
    request = create_request(mixed_inputs(epochs=literals_pb2.Literal()))
    assert refusal(lambda: admin.create_execution(request)) == (INVALID, "missing valid literal in inputs epochs")


def test_a_literal_of_no_known_type_is_refused(admin: Any) -> None:
    """utils.go ValidateLiteralType: a blob without metadata shows no type."""
    blob = literals_pb2.Literal(scalar=literals_pb2.Scalar(blob=literals_pb2.Blob(uri="s3://b/f")))
    request = create_request(mixed_inputs(epochs=blob))
    code, message = refusal(lambda: admin.create_execution(request))
    assert code == INVALID
    assert message.startswith("Failed to validate literal type for [epochs] with err: got unknown literal type")


def test_a_datetime_out_of_range_is_refused(admin: Any) -> None:
    """validation.go ValidateDatetime: the timestamp must be valid."""
    when = lit(datetime.datetime(2024, 5, 1, tzinfo=datetime.timezone.utc), datetime.datetime)
    when.scalar.primitive.datetime.seconds = -62135596801
    code, message = refusal(lambda: admin.create_execution(_every(when=when)))
    assert code == INVALID and message.endswith("before 0001-01-01")


# -- literal types and castability: flytepropeller/pkg/compiler/validators (typing_test.go's cases) ------


def _t(**kwargs: Any) -> types_pb2.LiteralType:
    return types_pb2.LiteralType(**kwargs)


def _schema_of(**fields: Any) -> Any:
    """A JSON schema, as a struct type's metadata carries it."""
    from google.protobuf import struct_pb2

    struct = struct_pb2.Struct()
    struct.update(fields)
    return struct


def _tagged(simple: int, tag: str) -> types_pb2.LiteralType:
    return _t(simple=simple, structure=types_pb2.TypeStructure(tag=tag))


INT, FLOAT, STR, NONE, STRUCT = (
    _t(simple=s) for s in (Simple.INTEGER, Simple.FLOAT, Simple.STRING, Simple.NONE, Simple.STRUCT)
)
XY, MN = (_t(enum_type=types_pb2.EnumType(values=v)) for v in (["x", "y"], ["m", "n"]))
STR1_STR2 = _t(
    union_type=types_pb2.UnionType(variants=[_tagged(Simple.STRING, "str1"), _tagged(Simple.STRING, "str2")])
)


def _schema(fmt: str) -> types_pb2.LiteralType:
    return _t(structured_dataset_type=types_pb2.StructuredDatasetType(format=fmt))


CASTS = [  # (case, upstream, downstream, castable), from typing_test.go
    ("IntegerToInteger", INT, INT, True),
    ("IntegerToFloat", INT, FLOAT, False),
    ("FloatToInteger", FLOAT, INT, False),
    ("VoidToInteger", NONE, INT, False),
    ("IgnoreMetadata", _t(simple=Simple.INTEGER, metadata=_schema_of(a=1)), INT, True),
    ("EnumToString", XY, STR, True),
    ("EnumToSameEnum", XY, XY, True),
    ("EnumToOtherEnum", XY, MN, False),
    ("StringToEnum", STR, XY, True),
    (
        "StringToUnionUnambiguously",
        STR,
        _t(union_type=types_pb2.UnionType(variants=[_tagged(Simple.INTEGER, "int"), _tagged(Simple.STRING, "str")])),
        True,
    ),
    ("StringToUnionAmbiguously", STR, STR1_STR2, False),
    (
        "UnionToUnionSuperset",
        STR1_STR2,
        _t(
            union_type=types_pb2.UnionType(
                variants=[
                    _tagged(Simple.STRING, "str1"),
                    _tagged(Simple.INTEGER, "int1"),
                    _tagged(Simple.STRING, "str2"),
                ]
            )
        ),
        True,
    ),
    (
        "UnionToUnionTagMismatch",
        STR1_STR2,
        _t(union_type=types_pb2.UnionType(variants=[_tagged(Simple.INTEGER, "str2"), _tagged(Simple.STRING, "str3")])),
        False,
    ),
    (
        "SingularUnionToUnderlyingType",
        _t(union_type=types_pb2.UnionType(variants=[_tagged(Simple.STRING, "string")])),
        _tagged(Simple.STRING, "string"),
        True,
    ),
    ("EmptyCollectionToIntegers", _t(collection_type=NONE), _t(collection_type=INT), True),
    ("IntegersToFloats", _t(collection_type=INT), _t(collection_type=FLOAT), False),
    ("IntegersToInteger", _t(collection_type=INT), INT, False),
    ("IntegersToNestedIntegers", _t(collection_type=INT), _t(collection_type=_t(collection_type=INT)), False),
    ("VoidToCollection", NONE, _t(collection_type=_t(collection_type=INT)), False),
    ("IntegerMapToIntegerMap", _t(map_value_type=INT), _t(map_value_type=INT), True),
    ("IntegerMapToFloatMap", _t(map_value_type=INT), _t(map_value_type=FLOAT), False),
    ("EmptyMapToFloatMap", _t(map_value_type=NONE), _t(map_value_type=FLOAT), True),
    ("StructToStruct", STRUCT, STRUCT, True),
    ("StructWithoutSchemaToStructWithSchema", STRUCT, _t(simple=Simple.STRUCT, metadata=_schema_of(title="P")), True),
    (
        "SameSchemas",
        _t(simple=Simple.STRUCT, metadata=_schema_of(title="P")),
        _t(simple=Simple.STRUCT, metadata=_schema_of(title="P")),
        True,
    ),
    ("GenericBlobToCsv", _t(blob=types_pb2.BlobType()), _t(blob=types_pb2.BlobType(format="csv")), True),
    ("CsvToGenericBlob", _t(blob=types_pb2.BlobType(format="csv")), _t(blob=types_pb2.BlobType()), True),
    ("CsvToParquet", _t(blob=types_pb2.BlobType(format="csv")), _t(blob=types_pb2.BlobType(format="parquet")), False),
    ("VoidToBlob", NONE, _t(blob=types_pb2.BlobType()), False),
    ("VoidToStructuredDataset", NONE, _schema("parquet"), True),
    ("CsvToParquetDataset", _schema("csv"), _schema("parquet"), False),
    ("FormatlessToParquetDataset", _schema(""), _schema("parquet"), True),
]


@pytest.mark.parametrize(("upstream", "downstream", "castable"), [c[1:] for c in CASTS], ids=[c[0] for c in CASTS])
def test_types_cast_as_in_flytepropeller(upstream: Any, downstream: Any, castable: bool) -> None:
    assert are_types_castable(upstream, downstream) is castable


def test_a_literals_type_is_what_its_value_shows() -> None:
    """utils.go LiteralTypeForLiteral: empty collections are of NONE, mixed ones of a union, unions of their variant."""
    assert literal_type_for_literal(lit([], list[int])) == _t(collection_type=NONE)
    mixed_items = literal_type_for_literal(_collection(lit(1, int), lit("a", str), lit(2, int)))
    assert mixed_items == _t(collection_type=_t(union_type=types_pb2.UnionType(variants=[INT, STR])))
    assert literal_type_for_literal(lit(5, int | None)) == _t(
        union_type=types_pb2.UnionType(variants=[_tagged(Simple.INTEGER, "int")])
    )
    assert literal_type_for_literal(lit(OmegaConf.create({"a": 1}), DictConfig)) == STRUCT  # a generic
    assert literal_type_for_literal(lit(Point(), Point)) == STRUCT  # a msgpack binary
    assert literal_type_for_literal(_binary("pickle")) == _t(simple=Simple.BINARY)
    assert literal_type_for_literal(lit({"a": 1.0}, dict[str, float])) == _t(map_value_type=FLOAT)
    assert literal_type_for_literal(literals_pb2.Literal()) is None


# -- launch plan state: flyteadmin/pkg/manager/impl/launch_plan_manager.go -------------------------------


def test_launch_plans_are_registered_inactive(admin: Any) -> None:
    assert launch_plan(admin).closure.state == launch_plan_pb2.INACTIVE
    assert launch_plan(admin, lp_id(fixed_epochs.name)).closure.state == launch_plan_pb2.INACTIVE


def test_an_inactive_launch_plan_still_launches(admin: Any, idle: StandIn) -> None:
    """execution_manager.go launchExecution never reads the launch plan's state."""
    assert launch_plan(admin).closure.state == launch_plan_pb2.INACTIVE
    created = admin.create_execution(create_request())
    assert created.id.name in idle.executions()


def test_activating_a_version_deactivates_the_active_one(admin: Any) -> None:
    spec = launch_plan(admin).spec
    first, second = lp_id(version="state-1"), lp_id(version="state-2")
    for identifier in (first, second):
        admin.create_launch_plan(launch_plan_pb2.LaunchPlanCreateRequest(id=identifier, spec=spec))

    def state(identifier: identifier_pb2.Identifier) -> int:
        return launch_plan(admin, identifier).closure.state

    admin.update_launch_plan(launch_plan_pb2.LaunchPlanUpdateRequest(id=first, state=launch_plan_pb2.ACTIVE))
    assert (state(first), state(second)) == (launch_plan_pb2.ACTIVE, launch_plan_pb2.INACTIVE)
    admin.update_launch_plan(launch_plan_pb2.LaunchPlanUpdateRequest(id=second, state=launch_plan_pb2.ACTIVE))
    assert (state(first), state(second)) == (launch_plan_pb2.INACTIVE, launch_plan_pb2.ACTIVE)
    admin.update_launch_plan(launch_plan_pb2.LaunchPlanUpdateRequest(id=second, state=launch_plan_pb2.INACTIVE))
    assert (state(first), state(second)) == (launch_plan_pb2.INACTIVE, launch_plan_pb2.INACTIVE)
    assert state(lp_id()) == launch_plan_pb2.INACTIVE  # other versions are left alone


def test_updating_a_launch_plan_needs_a_known_state_and_plan(admin: Any) -> None:
    code, message = refusal(
        lambda: admin.update_launch_plan(launch_plan_pb2.LaunchPlanUpdateRequest(id=lp_id(), state=7))
    )
    assert code == INVALID and message.startswith("Unrecognized launch plan state 7 for update for launch plan [")
    unknown = lp_id(version="never")
    for state in (launch_plan_pb2.ACTIVE, launch_plan_pb2.INACTIVE):
        code, message = refusal(
            lambda state=state: admin.update_launch_plan(
                launch_plan_pb2.LaunchPlanUpdateRequest(id=unknown, state=state)
            )
        )
        assert code == NOT_FOUND and message.startswith("missing entity of type LAUNCH_PLAN with identifier")


def test_getting_a_launch_plan_needs_its_resource_type(admin: Any) -> None:
    untyped = lp_id()
    untyped.resource_type = identifier_pb2.WORKFLOW
    code, message = refusal(lambda: launch_plan(admin, untyped))
    assert code == INVALID and message.endswith("expected launch_plan instead")
    code, message = refusal(lambda: launch_plan(admin, lp_id(version="never")))
    assert code == NOT_FOUND and 'version: "never"' in message


# -- execution phases and termination: transformers/execution.go, execution_manager.go -------------------


def test_executions_start_undefined(admin: Any, idle: StandIn) -> None:
    assert ExecutionRecord(request=execution_pb2.ExecutionCreateRequest(), workflow_id=lp_id()).phase == Phase.UNDEFINED
    created = admin.create_execution(create_request())
    execution = admin.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=created.id))
    assert execution.closure.phase == Phase.UNDEFINED
    assert record_of(idle, created.id.name).phase == Phase.UNDEFINED


def test_an_unknown_execution_is_not_found(admin: Any) -> None:
    unknown = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name="never")
    for call in (
        lambda: admin.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=unknown)),
        lambda: admin.terminate_execution(execution_pb2.ExecutionTerminateRequest(id=unknown, cause="x")),
    ):
        code, message = refusal(call)
        assert code == NOT_FOUND
        assert (
            message
            == 'missing entity of type execution with identifier project: "flytesnacks" domain: "development" name: "never"'
        )


def test_an_execution_id_needs_all_its_fields(admin: Any) -> None:
    """execution_validator.go ValidateWorkflowExecutionIdentifier."""
    nameless = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN)
    assert refusal(lambda: admin.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=nameless))) == (
        INVALID,
        "missing name",
    )
    request = execution_pb2.ExecutionTerminateRequest(id=identifier_pb2.WorkflowExecutionIdentifier(name="x"))
    assert refusal(lambda: admin.terminate_execution(request)) == (INVALID, "missing project")


def test_terminating_records_the_cause(admin: Any, idle: StandIn) -> None:
    created = admin.create_execution(create_request())
    admin.terminate_execution(execution_pb2.ExecutionTerminateRequest(id=created.id, cause="user asked"))
    execution = admin.get_execution(execution_pb2.WorkflowExecutionGetRequest(id=created.id))
    assert execution.closure.abort_metadata.cause == "user asked"
    assert execution.closure.phase == Phase.ABORTED  # without a runner, at once
    assert record_of(idle, created.id.name).abort_requested


@pytest.mark.parametrize("phase", ["SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED"])
def test_a_finished_execution_cannot_be_terminated(admin: Any, idle: StandIn, phase: str) -> None:
    created = admin.create_execution(create_request())
    record_of(idle, created.id.name).phase = getattr(Phase, phase)  # as the runner leaves it
    code, message = refusal(
        lambda: admin.terminate_execution(execution_pb2.ExecutionTerminateRequest(id=created.id, cause="late"))
    )
    assert (code, message) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "Cannot abort an already terminated workflow execution",
    )
    assert record_of(idle, created.id.name).phase == getattr(Phase, phase)


@pytest.mark.parametrize("phase", ["UNDEFINED", "QUEUED", "RUNNING", "SUCCEEDING", "FAILING", "ABORTING"])
def test_an_unfinished_execution_can_be_terminated(admin: Any, idle: StandIn, phase: str) -> None:
    created = admin.create_execution(create_request())
    record_of(idle, created.id.name).phase = getattr(Phase, phase)
    admin.terminate_execution(execution_pb2.ExecutionTerminateRequest(id=created.id, cause="stop"))
    assert record_of(idle, created.id.name).abort_requested


# -- node executions: flyteadmin/pkg/manager/impl/node_execution_manager.go ------------------------------


@pytest.fixture
def nested(admin: Any, idle: StandIn) -> identifier_pb2.WorkflowExecutionIdentifier:
    """An execution whose runner got as far as a sub-workflow node (n1) with two nodes of its own."""
    created = admin.create_execution(create_request())
    record = record_of(idle, created.id.name)
    record.nodes.update({"n0": NodePhase.SUCCEEDED, "n1": NodePhase.RUNNING, "n1-n0": NodePhase.SUCCEEDED})
    record.nodes["n1-n1"] = NodePhase.FAILED
    record.parents.update({"n1-n0": "n1", "n1-n1": "n1"})
    return created.id


def list_nodes(admin: Any, execution: Any, limit: int = 100, token: str = "", parent: str = "") -> Any:
    request = node_execution_pb2.NodeExecutionListRequest(
        workflow_execution_id=execution, limit=limit, token=token, unique_parent_id=parent
    )
    return admin.list_node_executions_paginated(request)


def test_node_executions_are_the_top_level_nodes(admin: Any, nested: Any) -> None:
    listing = list_nodes(admin, nested)
    assert [n.id.node_id for n in listing.node_executions] == ["n0", "n1"]
    assert [n.metadata.is_parent_node for n in listing.node_executions] == [False, True]
    assert listing.token == ""


def test_a_parents_node_executions_are_its_children(admin: Any, nested: Any) -> None:
    listing = list_nodes(admin, nested, parent="n1")
    assert [n.id.node_id for n in listing.node_executions] == ["n1-n0", "n1-n1"]
    assert [n.metadata.spec_node_id for n in listing.node_executions] == ["n0", "n1"]
    assert [n.closure.phase for n in listing.node_executions] == [NodePhase.SUCCEEDED, NodePhase.FAILED]
    code, message = refusal(lambda: list_nodes(admin, nested, parent="n9"))
    assert code == NOT_FOUND and message.startswith(
        'missing entity of type node execution with identifier node_id: "n9"'
    )


def test_node_executions_come_in_pages(admin: Any, nested: Any) -> None:
    first = list_nodes(admin, nested, limit=1)
    assert [n.id.node_id for n in first.node_executions] == ["n0"] and first.token == "1"
    second = list_nodes(admin, nested, limit=1, token=first.token)
    assert [n.id.node_id for n in second.node_executions] == ["n1"] and second.token == "2"
    assert list(list_nodes(admin, nested, limit=1, token=second.token).node_executions) == []
    assert refusal(lambda: list_nodes(admin, nested, limit=0)) == (INVALID, "invalid value for limit")
    assert refusal(lambda: list_nodes(admin, nested, token="x")) == (
        INVALID,
        "invalid pagination token x for ListNodeExecutions",
    )


def test_an_unknown_executions_nodes_are_none(admin: Any) -> None:
    """flyteadmin filters node executions by execution id; it does not look the execution up."""
    unknown = identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT, domain=DOMAIN, name="never")
    assert list(list_nodes(admin, unknown).node_executions) == []
    assert refusal(lambda: list_nodes(admin, identifier_pb2.WorkflowExecutionIdentifier(project=PROJECT))) == (
        INVALID,
        "missing execution_id",
    )
