"""Remote launches against the test stand-in for Flyte's admin API (tests/flyte_standin: not a Flyte),
with the real Docker engine and registry: images, registration, executions that really run.
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import identifier_pb2
from omegaconf import DictConfig, OmegaConf

from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, one_line_error, record_overrides, recorded, run_app

SESSION = uuid.uuid4().hex[:8]
TASK, WORKFLOW, LAUNCH_PLAN = identifier_pb2.TASK, identifier_pb2.WORKFLOW, identifier_pb2.LAUNCH_PLAN
CREATES = ("CreateTask", "CreateWorkflow", "CreateLaunchPlan", "CreateUploadLocation")


def remote(standin: StandIn, repository: str, *extra: str) -> list[str]:
    return [
        "-m",
        "hydra/launcher=flyte",
        f"hydra.launcher.endpoint={standin.endpoint}",
        "hydra.launcher.insecure=true",
        "hydra.launcher.poll_interval=0.3",
        f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}",
        f"hydra.launcher.images.default.base_image={infra.BASE_IMAGE}",
        f"hydra.launcher.images.default.repository=scaffold-test-{SESSION}/{repository}",
        *extra,
    ]


def copy_app(tmp_path: Path, name: str = "split_config") -> Path:
    target = tmp_path / name
    shutil.copytree(EXAMPLES / name, target, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return target


def launch(app: Path, args: list[str], home: Path, records: Path | None = None) -> Any:
    result = run_app(app, *args, *(record_overrides(records) if records else []), home=home, timeout=600)
    return result


def literal_as(value: Any, python_type: type) -> Any:
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.literals import Literal

    ctx = FlyteContextManager.current_context()
    return TypeEngine.to_python_value(ctx, Literal.from_flyte_idl(value), python_type)


def image_events(client: Any, since: float) -> list[str]:
    time.sleep(1.1)
    events = client.events(since=int(since), until=int(time.time()) + 1, decode=True, filters={"type": "image"})
    return [e.get("Action") or e.get("status") for e in events]


def test_sweep_registers_once_and_runs_four_executions(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "split", "model.learning_rate=0.1,0.01", "data.seed=1,2"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]

    # registered once: three tasks, the workflow and its launch plan, all at one version
    tasks, workflows, plans = (standin.registered(kind) for kind in (TASK, WORKFLOW, LAUNCH_PLAN))
    assert sorted(key[3] for key in tasks) == ["main.make_data", "main.score", "main.train"]
    assert [key[3] for key in workflows] == ["main.training_pipeline"]
    assert [key[3] for key in plans] == ["main.training_pipeline"]
    assert len({key[4] for key in tasks + workflows + plans}) == 1
    version = workflows[0][4]

    # the registered tasks run the pushed image with the fast-registration bundle, caching as declared
    bundle = [u for u in standin.uploads if u.endswith(".tar.gz")]
    assert len(bundle) == 1 and standin.store.exists(bundle[0])
    for key in tasks:
        template = standin.spec(key).template
        image = template.container.image
        repository, tag = image.removeprefix(f"{infra.REGISTRY_NAME}/").rsplit(":", 1)
        assert repository == f"scaffold-test-{SESSION}/split"
        assert tag in infra.registry_tags(repository)
        args = list(template.container.args)
        assert args[:3] == ["pyflyte-fast-execute", "--additional-distribution", bundle[0]]
        assert args[-4:] == ["task-module", "main", "task-name", key[3].split(".")[1]]
        assert template.metadata.discoverable and template.metadata.discovery_version == "1"

    # four executions, whose inputs are the four jobs' sub-configs
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["COMPLETED"] * 4
    executions = standin.executions()
    assert len(executions) == 4
    for job in jobs:
        launched = OmegaConf.load(Path(job["output_dir"]) / "flyte_execution.yaml")
        assert launched.version == version
        assert launched.images.default == image.split("@")[0] or launched.images.default.startswith(infra.REGISTRY_NAME)
        config = OmegaConf.load(Path(job["output_dir"]) / ".hydra" / "config.yaml")
        inputs = executions[launched.execution].request.inputs.literals
        for name in ("data", "model", "evaluate"):
            assert literal_as(inputs[name], DictConfig) == config[name]
        assert launched.url.endswith(f"/executions/{launched.execution}")

    # the executions really ran: the JobReturn values equal the local run's values for the same configs
    for job in jobs:
        config = OmegaConf.load(Path(job["output_dir"]) / ".hydra" / "config.yaml")
        overrides = [f"model.learning_rate={config.model.learning_rate}", f"data.seed={config.data.seed}"]
        local = launch(
            app, ["-m", "hydra/launcher=flyte_local", *overrides], home, tmp_path / f"local{job['num']}.jsonl"
        )
        assert local.returncode == 0, local.stderr[-2000:]
        (local_job,) = recorded(tmp_path / f"local{job['num']}.jsonl")
        assert job["type"] == "float"
        assert job["value"] == local_job["value"]


def test_relaunch_registers_and_builds_nothing(standin: StandIn, client: Any, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    first = launch(app, remote(standin, "relaunch", "model.learning_rate=0.1"), home)
    assert first.returncode == 0, first.stderr[-3000:]
    registered, uploads = standin.registered(), list(standin.uploads)
    standin.reset_calls()
    start = time.time()
    again = launch(app, remote(standin, "relaunch", "model.learning_rate=0.1"), home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert image_events(client, start) == []  # no build, no push
    assert standin.registered() == registered
    assert standin.uploads == uploads
    assert not any(standin.calls.get(method) for method in CREATES)
    assert standin.calls.get("CreateExecution") == 1


def test_a_relaunch_needs_no_docker_engine(standin: StandIn, home: Path, tmp_path: Path) -> None:
    """The registry has every tag of an unchanged launch: no engine is asked, so none need run."""
    app = copy_app(tmp_path)
    args = remote(standin, "noengine", "hydra.launcher.wait=false")
    assert launch(app, args, home).returncode == 0
    no_engine = {"DOCKER_HOST": f"unix://{tmp_path}/no-docker.sock"}
    again = run_app(app, *args, "hydra.launcher.show_dockerfile=true", home=home, env=no_engine, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "is in the registry, nothing to build" in again.stdout + again.stderr
    assert "Dockerfile of image default:" in again.stdout + again.stderr  # shown, built or not
    assert standin.calls.get("CreateExecution") == 2
    # a changed image (its tag is not in the registry) does need the engine, and says so in one line
    changed = run_app(app, *args, "+hydra.launcher.images.default.build_args.X=1", home=home, env=no_engine)
    assert changed.returncode != 0 and one_line_error(changed).startswith("Cannot reach the Docker engine")


def test_code_only_change_registers_a_new_version_without_building(
    standin: StandIn, client: Any, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path)
    assert launch(app, remote(standin, "codechange"), home).returncode == 0
    (before,) = standin.registered(WORKFLOW)
    image_before = standin.spec(standin.registered(TASK)[0]).template.container.image

    main_py = app / "main.py"
    main_py.write_text(
        main_py.read_text().replace('log.info("task score: running")', 'log.info("task score: running")  # v2')
    )
    start = time.time()
    result = launch(app, remote(standin, "codechange"), home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "push" not in image_events(client, start) and "tag" not in image_events(client, start)
    workflows = standin.registered(WORKFLOW)
    assert len(workflows) == 2 and before in workflows
    (after,) = [w for w in workflows if w != before]
    new_tasks = [k for k in standin.registered(TASK) if k[4] == after[4]]
    assert {standin.spec(k).template.container.image for k in new_tasks} == {image_before}


def test_dry_run_makes_no_call_and_builds_nothing(standin: StandIn, client: Any, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    start = time.time()
    result = launch(app, remote(standin, "dryrun", "hydra.launcher.dry_run=true", "model.learning_rate=0.1,0.2"), home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert standin.calls == {}
    assert image_events(client, start) == []
    assert "workflow   main.training_pipeline" in result.stdout
    assert result.stdout.count("execution  job #") == 2
    assert "learning_rate: 0.2" in result.stdout


def test_unreachable_endpoint_is_one_line_before_any_build(client: Any, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    start = time.time()
    args = [a for a in remote(StandInAddress("127.0.0.1:9"), "nowhere")]
    result = launch(app, args, home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "Cannot reach Flyte at 127.0.0.1:9 (from hydra.launcher.endpoint)" in result.stderr
    assert image_events(client, start) == []


def test_transient_admin_failures_are_retried_without_duplicates(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    standin.faults.fail_next("CreateExecution", times=6)  # flytekit retries 3 times by itself; we back off
    standin.faults.fail_next("ListExecutions", times=5)  # following: a listing per poll round
    result = launch(app, remote(standin, "flaky", "model.learning_rate=0.1,0.2"), home)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(standin.executions()) == 2
    assert standin.calls["CreateExecution"] >= 8


def test_environment_values_are_refused_unless_allowed(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    result = launch(app, remote(standin, "env", "+model.token=${oc.env:HOME}"), home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "config 'model.token' reads the environment (${oc.env:HOME})" in result.stderr
    assert "hydra.launcher.allow_env_inputs=true" in result.stderr
    assert standin.calls == {}
    allowed = launch(
        app,
        remote(
            standin,
            "env",
            "+model.token=${oc.env:HOME}",
            "hydra.launcher.allow_env_inputs=true",
            "hydra.launcher.dry_run=true",
        ),
        home,
    )
    assert allowed.returncode == 0, allowed.stderr[-2000:]


def test_no_wait_returns_execution_ids_and_urls(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "nowait", "hydra.launcher.wait=false", "data.seed=1,2"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = recorded(records)
    assert [j["status"] for j in jobs] == ["COMPLETED", "COMPLETED"]
    names = {j["value"]["execution"] for j in jobs}
    assert names == set(standin.executions())
    assert all(j["value"]["url"].endswith(j["value"]["execution"]) for j in jobs)


class StandInAddress:
    """Only an endpoint, for launches that must not reach anything."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint


def test_plain_hydra_app_runs_remotely_unchanged(standin: StandIn, home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    # run_app passes no FLYTE_* / AWS_* variable and a fresh HOME: no blob storage credentials here
    result = launch(APPS / "plain_app", remote(standin, "plain", "x=3,4"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Unsupported Type" not in result.stderr  # no pickled Any output
    assert [(j["status"], j["value"]) for j in recorded(records)] == [
        ("COMPLETED", {"label": "plain", "square": 9}),
        ("COMPLETED", {"label": "plain", "square": 16}),
    ]
    (task,) = standin.registered(TASK)
    assert task[3] == "main.main"
    args = list(standin.spec(task).template.container.args)
    assert args[-4:] == ["module", "main", "function", "main"]
    assert "scaffold_flyte.hydra_app.resolver" in args


def test_baked_code_runs_without_a_bundle_and_its_tag_covers_the_code(
    standin: StandIn, client: Any, home: Path, tmp_path: Path
) -> None:
    app = copy_app(tmp_path)
    records = tmp_path / "returns.jsonl"
    result = launch(app, remote(standin, "baked", "hydra.launcher.bake_code=true"), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [j["status"] for j in recorded(records)] == ["COMPLETED"]
    assert not [u for u in standin.uploads if u.endswith(".tar.gz")]  # no code bundle
    tasks = standin.registered(TASK)
    first_image = standin.spec(tasks[0]).template.container.image
    assert all(standin.spec(t).template.container.args[0] == "pyflyte-execute" for t in tasks)

    main_py = app / "main.py"
    main_py.write_text(main_py.read_text().replace("holdout mse", "holdout MSE"))
    start = time.time()
    again = launch(app, remote(standin, "baked", "hydra.launcher.bake_code=true"), home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "push" in image_events(client, start)  # a code change is an image change now
    images = {standin.spec(t).template.container.image for t in standin.registered(TASK)}
    assert len(images) == 2 and first_image in images


def test_explicit_version_reuses_what_is_registered(standin: StandIn, client: Any, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    first = launch(app, remote(standin, "pinned", "hydra.launcher.version=v1"), home)
    assert first.returncode == 0, first.stderr[-3000:]
    registered = standin.registered()
    standin.reset_calls()
    start = time.time()
    reuse = launch(app, remote(standin, "pinned", "hydra.launcher.version=v1", "hydra.launcher.build=skip"), home)
    assert reuse.returncode == 0, reuse.stderr[-3000:]
    assert image_events(client, start) == []
    assert standin.registered() == registered
    assert not any(standin.calls.get(method) for method in CREATES)

    # the code now takes an input that version v1 does not declare
    main_py = app / "main.py"
    text = main_py.read_text()
    text = text.replace(
        "def training_pipeline(data: DictConfig,", "def training_pipeline(extra: int, data: DictConfig,"
    )
    main_py.write_text(text)
    standin.reset_calls()
    bad = launch(
        app, remote(standin, "pinned", "hydra.launcher.version=v1", "hydra.launcher.build=skip", "+extra=1"), home
    )
    assert bad.returncode != 0
    assert "Traceback" not in bad.stderr
    assert "at version v1 does not declare input 'extra'" in bad.stderr
    assert "CreateExecution" not in standin.calls


def test_unregistered_explicit_version_with_build_off_is_refused(standin: StandIn, home: Path, tmp_path: Path) -> None:
    app = copy_app(tmp_path)
    result = launch(app, remote(standin, "pinned2", "hydra.launcher.version=never", "hydra.launcher.build=skip"), home)
    assert result.returncode != 0
    assert "version never is not registered" in result.stderr
    assert "Traceback" not in result.stderr
    assert not standin.executions()


def test_named_image_is_built_and_its_task_runs_in_it(standin: StandIn, home: Path, tmp_path: Path) -> None:
    records = tmp_path / "returns.jsonl"
    gpu = [
        f"+hydra.launcher.images.gpu.registry={infra.REGISTRY_NAME}",
        f"+hydra.launcher.images.gpu.base_image={infra.BASE_IMAGE}",
        f"+hydra.launcher.images.gpu.repository=scaffold-test-{SESSION}/gpu",
        "+hydra.launcher.images.gpu.build_args={CUDA: '12'}",
    ]
    result = launch(APPS / "gpu_app", remote(standin, "named", *gpu), home, records)
    assert result.returncode == 0, result.stderr[-3000:]
    assert [j["value"] for j in recorded(records)] == [11]
    images = {key[3]: standin.spec(key).template.container.image for key in standin.registered(TASK)}
    assert images["main.on_gpu"].startswith(f"{infra.REGISTRY_NAME}/scaffold-test-{SESSION}/gpu:")
    assert images["main.on_default"].startswith(f"{infra.REGISTRY_NAME}/scaffold-test-{SESSION}/named:")
    for image in images.values():
        repository, tag = image.removeprefix(f"{infra.REGISTRY_NAME}/").rsplit(":", 1)
        assert tag in infra.registry_tags(repository)


@pytest.mark.parametrize(
    "app, extra, expected",
    [
        pytest.param(
            APPS / "gpu_app",
            [],
            "task main.on_gpu runs in image 'gpu', which is not configured: add hydra.launcher.images.gpu",
            id="unconfigured-image",
        ),
        pytest.param(
            EXAMPLES / "split_config",
            ["hydra.launcher.images.default.repository=Not A/Name"],
            "'localhost:5000/Not A/Name' is not a valid image name",
            id="invalid-image-name",
        ),
        pytest.param(
            EXAMPLES / "split_config",
            ["hydra.launcher.images.default.base_image=localhost:5000/no-such-base:1"],
            "The base image localhost:5000/no-such-base:1 could not be found",
            id="missing-base-image",
        ),
        pytest.param(
            EXAMPLES / "split_config",
            ["hydra.launcher.images.default.requirements=missing-requirements.txt"],
            "requirements file",
            id="missing-requirements-file",
        ),
        pytest.param(
            EXAMPLES / "split_config",
            ["+hydra.launcher.images.default.regsitry=typo"],
            "hydra.launcher.images.default has no setting 'regsitry'",
            id="unknown-image-setting",
        ),
        pytest.param(
            EXAMPLES / "split_config",
            ["hydra.launcher.build=sometimes"],
            "hydra.launcher.build=sometimes is not a build mode",
            id="unknown-build-mode",
        ),
    ],
)
def test_image_problems_stop_the_launch_before_registration(
    standin: StandIn, home: Path, app: Path, extra: list[str], expected: str
) -> None:
    result = launch(app, remote(standin, "bad", *extra), home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr
    assert not any(standin.calls.get(method) for method in (*CREATES, "CreateExecution"))
    assert not standin.executions()


def test_show_dockerfile_prints_the_generated_dockerfile(standin: StandIn, home: Path) -> None:
    args = remote(standin, "show", "hydra.launcher.dry_run=true", "hydra.launcher.show_dockerfile=true")
    result = launch(EXAMPLES / "split_config", args, home)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"FROM {infra.BASE_IMAGE}" in result.stdout
    assert "RUN pip install flytekit==" in result.stdout


def test_execute_helper_runs_a_registered_version_from_python(
    standin: StandIn, home: Path, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    """scaffold_flyte.remote.execute: what a launch registered, run again from a script on another config."""
    from hydra import compose, initialize_config_dir

    import scaffold_flyte
    from scaffold_flyte.errors import RegistrationError
    from scaffold_flyte.follow import ExecutionFailed  # noqa: F401 - the failure type users catch
    from scaffold_flyte.remote import Execution, execute
    from tests.helpers import load_app

    app = copy_app(tmp_path)
    records = tmp_path / "returns.jsonl"
    first = launch(app, remote(standin, "helper", "hydra.launcher.wait=false"), home, records)
    assert first.returncode == 0, first.stderr[-3000:]
    version = OmegaConf.load(Path(recorded(records)[0]["output_dir"]) / "flyte_execution.yaml").version
    registered = standin.registered()

    # as a script beside main.py would have it: `import main` (entity names follow the module's name)
    saved = sys.modules.pop("main", None)
    request.addfinalizer(lambda: sys.modules.__setitem__("main", saved) if saved else sys.modules.pop("main", None))
    load_app(app, "main")
    with initialize_config_dir(config_dir=str(app / "conf"), version_base=None):
        cfg = compose("config", overrides=["model.learning_rate=0.02", "data.seed=5"])
    where = {"module": "main", "endpoint": standin.endpoint, "insecure": True}

    value = execute(cfg, version=version, poll_interval=0.3, **where)
    assert isinstance(value, float)
    assert value == scaffold_flyte.run(cfg, module="main")  # the same as a local run of that config
    assert standin.registered() == registered  # nothing built or registered

    created = execute(cfg, version=version, wait=False, execution_name="helper-once", **where)
    assert isinstance(created, Execution) and created.name == "helper-once"
    assert created.url.endswith("/executions/helper-once") and "helper-once" in standin.executions()

    with pytest.raises(RegistrationError, match="version nope is not registered in flytesnacks/development"):
        execute(cfg, version="nope", **where)
