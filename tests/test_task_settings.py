"""Per-task runtime settings from config (hydra.launcher.tasks): what the registered task templates get,
what the dry run and --cfg hydra show, local mode's notice, every bad input, and the stand-in's rule for
task resources (flyteadmin/pkg/manager/impl/validation/task_validator.go at v1.16.8).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from flyteidl.admin import task_pb2
from flyteidl.core import identifier_pb2, interface_pb2, tasks_pb2

from scaffold_flyte.task_settings import parse_quantity
from tests import infra
from tests.flyte_standin import StandIn
from tests.flyte_standin import validation as standin_validation
from tests.helpers import APPS, no_build_remote, one_line_error, record_overrides, recorded, run_app

APP = APPS / "task_settings"
TASK = identifier_pb2.TASK
R = tasks_pb2.Resources
SETTINGS = "+settings=tasks"  # the app's conf/settings/tasks.yaml, "@package hydra.launcher"
DRY = [
    "-m",
    "hydra/launcher=flyte",
    "hydra.launcher.endpoint=127.0.0.1:1",
    "hydra.launcher.insecure=true",
    "hydra.launcher.build=skip",
    "+hydra.launcher.images.default.image=localhost:5000/fixed:1",
    "hydra.launcher.dry_run=true",
]


@pytest.fixture
def app(tmp_path: Path) -> Path:
    target = tmp_path / "task_settings"
    shutil.copytree(APP, target, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return target


# -- the quantity grammar ------------------------------------------------------------------------
VALID = ["2", "500m", "0.5", "4Gi", "1.5Gi", "100M", "1e3", "1E3", "2k", ".5", "5.", "+1", "0", "1Ki", "1.G", "3e-1"]
INVALID = ["2 cores", "2Gb", "1K", " 2", "2 ", "1e", "1m5", "0x10", "", "cpu", "1..2", "4GiB"]


@pytest.mark.parametrize("text", VALID)
def test_quantities_kubernetes_accepts_are_accepted_by_both(text: str) -> None:
    value = standin_validation.parse_quantity(text)
    assert parse_quantity(text) == value


@pytest.mark.parametrize("text", INVALID)
def test_quantities_kubernetes_refuses_are_refused_by_both(text: str) -> None:
    assert parse_quantity(text) is None
    with pytest.raises(standin_validation.QuantityError):
        standin_validation.parse_quantity(text)


def test_quantity_values() -> None:
    assert parse_quantity("500m") == parse_quantity("0.5")
    assert parse_quantity("4Gi") == 4 * 2**30
    assert parse_quantity("1e3") == 1000


# -- the stand-in's rule, as flyteadmin's task_validator.go ----------------------------------------
def template(requests: dict[int, str], limits: dict[int, str], image: str = "r/i:1") -> tasks_pb2.TaskTemplate:
    resources = tasks_pb2.Resources(
        requests=[R.ResourceEntry(name=k, value=v) for k, v in requests.items()],
        limits=[R.ResourceEntry(name=k, value=v) for k, v in limits.items()],
    )
    return tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=TASK, project="flytesnacks", domain="development", name="t", version="v"
        ),
        type="python-task",
        metadata=tasks_pb2.TaskMetadata(runtime=tasks_pb2.RuntimeMetadata(version="1")),
        interface=interface_pb2.TypedInterface(),
        container=tasks_pb2.Container(image=image, resources=resources),
    )


REFUSED = [
    pytest.param({R.CPU: "2 cores"}, {}, {}, "Parsing of CPU request failed for value 2 cores", id="unparsable"),
    pytest.param({R.MEMORY: "2Gi"}, {R.MEMORY: "1Gi"}, {}, "Requested MEMORY default [", id="request-above-limit"),
    pytest.param({R.GPU: "0.5"}, {}, {}, "must be a whole number", id="fractional-gpu"),
    pytest.param({R.GPU: "1"}, {R.GPU: "2"}, {}, "For extended resource 'gpu'", id="gpu-request-not-limit"),
    pytest.param({R.CPU: "8"}, {}, {R.CPU: "4"}, "greater than current limit set in the platform", id="over-platform"),
    pytest.param({R.CPU: "1"}, {R.CPU: "8"}, {R.CPU: "4"}, "Requested CPU limit [8]", id="limit-over-platform"),
]


@pytest.mark.parametrize(("requests", "limits", "platform", "message"), REFUSED)
def test_standin_refuses_task_resources_as_flyteadmin(
    requests: dict[int, str], limits: dict[int, str], platform: dict[int, str], message: str
) -> None:
    with pytest.raises(standin_validation.AdminError) as error:
        standin_validation.validate_task(template(requests, limits), platform)
    assert error.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert message in error.value.message


def test_standin_accepts_what_flyteadmin_accepts() -> None:
    # compared by Value(), rounded up to whole units: 500m within a 400m limit passes flyteadmin (Kubernetes,
    # later, would not); a limit with no request is not checked against the platform (Go ranges over requests)
    standin_validation.validate_task(template({R.CPU: "500m"}, {R.CPU: "400m"}), {})
    standin_validation.validate_task(template({}, {R.CPU: "64"}), {R.CPU: "4"})
    standin_validation.validate_task(template({R.CPU: "2", R.MEMORY: "1Gi"}, {R.CPU: "2", R.MEMORY: "2Gi"}), {})
    with pytest.raises(standin_validation.AdminError, match="missing image"):
        standin_validation.validate_task(template({}, {}, image=""), {})


@pytest.fixture
def idle_standin() -> Iterator[StandIn]:
    running = StandIn()
    yield running
    running.stop()


def test_standin_create_task_applies_the_rule(idle_standin: StandIn) -> None:
    from flytekit.clients.raw import RawSynchronousFlyteClient
    from flytekit.configuration import PlatformConfig
    from flytekit.exceptions.user import FlyteInvalidInputException

    client = RawSynchronousFlyteClient(PlatformConfig(endpoint=idle_standin.endpoint, insecure=True))
    bad = template({R.MEMORY: "2Gi"}, {R.MEMORY: "1Gi"})
    with pytest.raises(FlyteInvalidInputException):
        client.create_task(task_pb2.TaskCreateRequest(id=bad.id, spec=task_pb2.TaskSpec(template=bad)))
    assert idle_standin.registered() == []
    good = template({R.MEMORY: "1Gi"}, {R.MEMORY: "2Gi"})
    client.create_task(task_pb2.TaskCreateRequest(id=good.id, spec=task_pb2.TaskSpec(template=good)))
    assert len(idle_standin.registered(TASK)) == 1


# -- what the user sees without Flyte ----------------------------------------------------------------
def test_dry_run_shows_each_tasks_effective_settings(app: Path, home: Path) -> None:
    result = run_app(app, *DRY, SETTINGS, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = {line.split(":")[0].split()[-1]: line for line in result.stdout.splitlines() if line.startswith("task ")}
    assert set(lines) == {"main.prepare", "main.train", "main.report"}
    train = lines["main.train"]
    assert "requests cpu=2, memory=2Gi; limits cpu=2, memory=4Gi; retries 3; timeout 600s; interruptible yes" in train
    assert "env REPORT_LEVEL, TRAIN_MODE; secrets db/password; image default; cache version 2" in train
    # '*' gives every task its settings; the code's own values stay where config says nothing
    assert "requests platform defaults; limits platform defaults; retries 1;" in lines["main.prepare"]
    assert "env REPORT_LEVEL;" in lines["main.report"] and "cache off" in lines["main.report"]
    assert "cache version 1 (from hydra.launcher.tasks: retries, environment)" in lines["main.prepare"]

    # without config: the code's own settings, nothing "from hydra.launcher.tasks"
    plain = run_app(app, *DRY, home=home)
    assert "task       main.train: requests cpu=1; limits cpu=2, memory=1Gi; retries 0;" in plain.stdout
    assert "from hydra.launcher.tasks" not in plain.stdout


def test_a_full_name_from_the_command_line(app: Path, home: Path) -> None:
    # Hydra splits the key at its dots (tasks: {main: {train: ...}}): it is still the entry main.train
    result = run_app(app, *DRY, "+hydra.launcher.tasks.main.train.retries=5", home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "task       main.train: requests cpu=1; limits cpu=2, memory=1Gi; retries 5;" in result.stdout


def test_a_named_image_from_config_is_planned(app: Path, home: Path) -> None:
    args = [*DRY, "+hydra.launcher.images.gpu.image=localhost:5000/gpu:1", "+hydra.launcher.tasks.train.image=gpu"]
    result = run_app(app, *args, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "image      gpu: localhost:5000/gpu:1 (used as named, not built)" in result.stdout
    assert "image gpu; cache version 1 (from hydra.launcher.tasks: image)" in result.stdout


def test_cfg_hydra_shows_them(app: Path, home: Path) -> None:
    result = run_app(app, "--cfg", "hydra", "-p", "hydra.launcher", "hydra/launcher=flyte", SETTINGS, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    text = result.stdout
    assert "tasks:\n  '*':\n    retries: 1\n    environment:\n      REPORT_LEVEL: info\n  train:\n" in text
    assert "    secrets:\n    - group: db\n      key: password\n    cache_version: '2'\n" in text


def test_local_mode_says_once_what_it_ignores(app: Path, home: Path) -> None:
    records = home.parent / "local.jsonl"
    args = ["-m", "hydra/launcher=flyte_local", SETTINGS, "data.size=1,2", *record_overrides(records)]
    result = run_app(app, *args, home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    output = result.stdout + result.stderr
    notice = [line for line in output.splitlines() if "Local run: hydra.launcher.tasks" in line]
    assert len(notice) == 1, output
    assert (
        "settings environment, interruptible, limits, requests, retries, secrets, timeout apply only on Flyte"
        in notice[0]
    )
    assert "cache_version is applied" in notice[0]
    # environment variables are not applied locally: the tasks see this process's environment
    assert [r["value"] for r in recorded(records)] == ["small:1:unset|unset", "small:2:unset|unset"]


def test_local_mode_checks_the_names_too(app: Path, home: Path) -> None:
    result = run_app(app, "-m", "hydra/launcher=flyte_local", "+hydra.launcher.tasks.trian.retries=1", home=home)
    assert "workflow main.pipeline has no task 'trian': did you mean hydra.launcher.tasks.train?" in one_line_error(
        result
    )


BAD = [
    pytest.param(
        ["+hydra.launcher.tasks.trian.retries=2"],
        "hydra.launcher.tasks.trian: workflow main.pipeline has no task 'trian': did you mean "
        "hydra.launcher.tasks.train? (its tasks: prepare, report, train; short or full names, or '*' for every task).",
        id="unknown-task",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.requests.cpu=2 cores"],
        "hydra.launcher.tasks.train.requests.cpu='2 cores' is not a quantity Flyte accepts: "
        'use e.g. cpu: "2" or "500m", memory: "4Gi".',
        id="unparsable-quantity",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.retry=2"],
        "hydra.launcher.tasks.train has no setting 'retry': did you mean hydra.launcher.tasks.train.retries?",
        id="unknown-key",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.requests.cpus=2"],
        "hydra.launcher.tasks.train.requests has no setting 'cpus': did you mean hydra.launcher.tasks.train.requests.cpu?",
        id="unknown-resource",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.image=gpu"],
        "hydra.launcher.tasks.train.image=gpu is not an image under hydra.launcher.images (configured: default)",
        id="image-not-configured",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.prepare.requests.memory=8Gi", "+hydra.launcher.tasks.prepare.limits.memory=4Gi"],
        "hydra.launcher.tasks.prepare: requests.memory=8Gi is above limits.memory=4Gi (Flyte refuses a request above "
        "its limit): lower the request or raise the limit.",
        id="request-above-limit",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.requests.cpu=4"],
        "hydra.launcher.tasks.train: requests.cpu=4 is above its @task limits.cpu=2",
        id="request-above-the-codes-limit",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.secrets=[{key:password}]"],
        "hydra.launcher.tasks.train.secrets[0] has no group: Flyte's Secret needs one",
        id="secret-without-group",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.secrets=[{group:db,value:hunter2}]"],
        "hydra.launcher.tasks.train.secrets[0] has a value: a task requests a secret by group and key",
        id="secret-with-a-value",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.requests.gpu=0.5"],
        "hydra.launcher.tasks.train.requests.gpu=0.5 is not a whole number of GPUs",
        id="fractional-gpu",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.retries=-1"],
        "hydra.launcher.tasks.train.retries=-1 is not a whole number, 0 or more",
        id="negative-retries",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.report.cache_version=3"],
        "hydra.launcher.tasks.report.cache_version=3: task main.report does not cache",
        id="cache-version-without-cache",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.environment={1X:a}"],
        "hydra.launcher.tasks.train.environment has '1X', which Kubernetes refuses as a variable name",
        id="bad-variable-name",
    ),
    pytest.param(
        ["+hydra.launcher.tasks.train.retries=1", "+hydra.launcher.tasks={main.train:{retries:2}}"],
        "hydra.launcher.tasks names task main.train twice (train and main.train): keep one entry.",
        id="named-twice",
    ),
]


@pytest.mark.parametrize(("args", "expected"), BAD)
def test_bad_settings_one_line(app: Path, home: Path, args: list[str], expected: str) -> None:
    line = one_line_error(run_app(app, *DRY, *args, home=home))
    assert expected in line, line


# -- against the stand-in: the registered task templates -------------------------------------------
def templates(standin: StandIn, version: str | None = None) -> dict[str, Any]:
    return {
        key[3]: standin.spec(key).template for key in standin.registered(TASK) if version is None or key[4] == version
    }


def resources(entries: Any) -> dict[str, str]:
    return {R.ResourceName.Name(e.name).lower(): e.value for e in entries}


def bundle_of(template: Any) -> str:
    args = list(template.container.args)
    return args[args.index("--additional-distribution") + 1]


def test_registered_templates_carry_the_settings(standin: StandIn, app: Path, home: Path) -> None:
    gpu = f"{infra.REGISTRY_NAME}/{infra.FIXED_REPOSITORY}:gpu-1"
    infra.push_tiny_image(infra.FIXED_REPOSITORY, "gpu-1")
    args = [
        *no_build_remote(standin.endpoint),
        SETTINGS,
        f"+hydra.launcher.images.gpu.image={gpu}",
        "+hydra.launcher.tasks.report.image=gpu",
    ]
    first = run_app(app, *args, home=home, timeout=300)
    assert first.returncode == 0, first.stderr[-3000:]
    registered = templates(standin)
    assert set(registered) == {"main.prepare", "main.train", "main.report"}
    train, prepare, report = registered["main.train"], registered["main.prepare"], registered["main.report"]

    assert resources(train.container.resources.requests) == {"cpu": "2", "memory": "2Gi"}
    assert resources(train.container.resources.limits) == {"cpu": "2", "memory": "4Gi"}
    assert train.metadata.retries.retries == 3
    assert train.metadata.timeout.seconds == 600
    assert train.metadata.interruptible is True
    assert {kv.key: kv.value for kv in train.container.env} == {"TRAIN_MODE": "fast", "REPORT_LEVEL": "info"}
    assert [(s.group, s.key) for s in train.security_context.secrets] == [("db", "password")]
    assert train.metadata.discoverable and train.metadata.discovery_version == "2"

    # '*' for every task; the code's own values where config says nothing
    assert prepare.metadata.retries.retries == 1 and report.metadata.retries.retries == 1
    assert {kv.key: kv.value for kv in prepare.container.env} == {"REPORT_LEVEL": "info"}
    assert resources(prepare.container.resources.requests) == {}
    assert prepare.metadata.discovery_version == "1"
    assert not prepare.metadata.HasField("interruptible_value") or prepare.metadata.interruptible is False
    assert not report.security_context.secrets

    # the named image from config; the others keep the default
    assert report.container.image == gpu
    assert prepare.container.image == train.container.image == infra.FIXED_IMAGE

    # propeller takes retries, timeout and interruptible from the workflow's nodes: they follow the task
    (workflow,) = standin.registered(identifier_pb2.WORKFLOW)
    nodes = {n.task_node.reference_id.name: n for n in standin.spec(workflow).template.nodes}
    assert nodes["main.train"].metadata.retries.retries == 3
    assert nodes["main.train"].metadata.timeout.seconds == 600
    assert nodes["main.train"].metadata.interruptible is True
    assert nodes["main.prepare"].metadata.retries.retries == 1

    # a changed setting: a new version, new templates, the same code bundle
    version = workflow[4]
    second = run_app(app, *args, "hydra.launcher.tasks.train.retries=4", home=home, timeout=300)
    assert second.returncode == 0, second.stderr[-3000:]
    versions = {key[4] for key in standin.registered(TASK)}
    assert len(versions) == 2
    (new_version,) = versions - {version}
    again = templates(standin, new_version)
    assert again["main.train"].metadata.retries.retries == 4
    assert bundle_of(again["main.train"]) == bundle_of(train)

    # the task objects were restored after registering: the same launch without settings is the code's own
    standin.reset_calls()
    plain = run_app(app, *no_build_remote(standin.endpoint), home=home, timeout=300)
    assert plain.returncode == 0, plain.stderr[-3000:]
    (plain_version,) = {key[4] for key in standin.registered(TASK)} - {version, new_version}
    code_only = templates(standin, plain_version)["main.train"]
    assert resources(code_only.container.resources.requests) == {"cpu": "1"}
    assert code_only.metadata.retries.retries == 0 and not code_only.container.env
    assert bundle_of(code_only) == bundle_of(train)


BAD_REMOTE = [
    pytest.param(["+hydra.launcher.tasks.trian.retries=2"], "has no task 'trian'", id="unknown-task"),
    pytest.param(["+hydra.launcher.tasks.train.requests.cpu=2 cores"], "is not a quantity Flyte accepts", id="2-cores"),
    pytest.param(["+hydra.launcher.tasks.train.requests.cpu=4"], "is above its @task limits.cpu=2", id="above-limit"),
]


@pytest.mark.parametrize(("args", "expected"), BAD_REMOTE)
def test_bad_settings_register_nothing(standin: StandIn, app: Path, home: Path, args: list[str], expected: str) -> None:
    line = one_line_error(run_app(app, *no_build_remote(standin.endpoint), *args, home=home, timeout=300))
    assert expected in line, line
    made = {method for method in standin.calls if method.startswith(("Create", "Update", "Terminate"))}
    assert made == set(), standin.calls
    assert standin.registered() == []


def test_execution_runs_with_the_settings(standin: StandIn, app: Path, home: Path, tmp_path: Path) -> None:
    """The stand-in's runner starts each task's container with its registered template's env, as propeller's
    pod does: the values from config reach the task bodies."""
    from tests.test_remote import remote

    records = tmp_path / "returns.jsonl"
    result = run_app(
        app, *remote(standin, "task-settings"), SETTINGS, *record_overrides(records), home=home, timeout=900
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (job,) = recorded(records)
    assert job["status"] == "COMPLETED"
    assert job["value"] == "small:3:fast|info"
