"""A registered version's inputs, checked as flyteadmin checks them, for every job before the first execution.

flyteadmin refuses an execution whose inputs do not fit the launch plan's expected inputs
(unknown, missing required, of a type not castable to the declared one, overriding a fixed one:
flyteadmin/pkg/manager/impl/validation/execution_validator.go), and an execution name that breaks
its rules. Launching a registered version (``version=... build=skip``, or
``scaffold_flyte.remote.execute``) finds each of these first, for every job, and creates nothing.
Against the test stand-in for Flyte's admin (tests/flyte_standin, not a Flyte; no containers run).
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from flyteidl.core import identifier_pb2
from omegaconf import OmegaConf

from scaffold_flyte.connection import resolve_connection
from scaffold_flyte.errors import ConfigInputError, ConnectionSettingsError, LauncherConfigError, RegistrationError
from scaffold_flyte.executions import ExecutionRequest
from scaffold_flyte.inputs import registered_literals
from scaffold_flyte.remote import execute
from tests.fixtures import two_top
from tests.flyte_standin import StandIn
from tests.helpers import no_build_remote, run_app

APP = """
import hydra
from flytekit import task, workflow
from omegaconf import DictConfig

import scaffold_flyte


@task
def combine({task_args}) -> float:
    return float({body})


@workflow
def pipeline({workflow_args}) -> float:
    return combine({call})


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> float:
    return scaffold_flyte.run(cfg)


if __name__ == "__main__":
    main()
"""


def write_app(app: Path, **inputs: str) -> None:
    """main.py whose workflow takes ``inputs`` (name -> Python type) and hands them to one task."""
    args = ", ".join(f"{name}: {kind}" for name, kind in inputs.items())
    app.joinpath("conf").mkdir(parents=True, exist_ok=True)
    app.joinpath("conf", "config.yaml").write_text("n: 2\nm: 3\nk: 4\n")
    app.joinpath("main.py").write_text(
        APP.format(
            task_args=args,
            workflow_args=args,
            body=" + ".join(inputs),
            call=", ".join(f"{name}={name}" for name in inputs),
        )
    )


def launch(app: Path, standin: StandIn, home: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """A remote launch that builds nothing (a named image) and does not wait."""
    return run_app(app, *no_build_remote(standin.endpoint), *extra, home=home, timeout=300)


@pytest.fixture
def registered(tmp_path: Path, home: Path) -> Iterator[tuple[StandIn, Path, str]]:
    """The stand-in with ``main.pipeline(n: int, m: int)`` registered (and run once), the app, the version."""
    standin = StandIn(docker_client=None)
    app = tmp_path / "app"
    write_app(app, n="int", m="int")
    first = launch(app, standin, home)  # build=skip without a version: registers the content version
    assert first.returncode == 0, first.stderr[-3000:]
    assert len(standin.executions()) == 1
    ((*_, version),) = standin.registered(identifier_pb2.WORKFLOW)
    standin.reset_calls()
    yield standin, app, version
    standin.stop()


@pytest.mark.parametrize(
    "inputs, expected",
    [
        pytest.param(
            {"n": "float", "m": "int"},
            "job #0 (n=1 m=3): input 'n' = 1.0 does not fit the registered main.pipeline at version v1, which "
            "declares it as int (this code declares float)",
            id="another-type",
        ),
        pytest.param(
            {"n": "int"},
            "the registered main.pipeline at version v1 requires input(s) m, which this code does not fill",
            id="missing-required",
        ),
        pytest.param(
            {"n": "int", "m": "int", "k": "int"},
            "The registered main.pipeline at version v1 does not declare input 'k' (it declares: m, n)",
            id="unknown",
        ),
    ],
)
def test_inputs_that_do_not_fit_the_registered_version_create_nothing(
    registered: tuple[StandIn, Path, str], home: Path, inputs: dict[str, str], expected: str
) -> None:
    standin, app, version = registered
    write_app(app, **inputs)
    result = launch(app, standin, home, f"hydra.launcher.version={version}", "n=1,2", "m=3")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected.replace("v1", version) in result.stderr, result.stderr[-2000:]
    assert "CreateExecution" not in standin.calls  # not even for a job that would fit
    assert len(standin.executions()) == 1


def test_inputs_that_fit_are_sent_as_the_registered_literals(registered: tuple[StandIn, Path, str], home: Path) -> None:
    standin, app, version = registered
    result = launch(app, standin, home, f"hydra.launcher.version={version}", "n=5,6")
    assert result.returncode == 0, result.stderr[-3000:]
    sent = sorted(r.request.inputs.literals["n"].scalar.primitive.integer for r in standin.executions().values())
    assert sent == [2, 5, 6]


def test_a_fixed_input_cannot_be_overridden() -> None:
    """A launch plan that fixes an input (not the launcher's default one) refuses a value for it."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine
    from flytekit.models.interface import Parameter, ParameterMap, Variable
    from flytekit.models.literals import LiteralMap

    ctx = FlyteContextManager.current_context()
    int_type = TypeEngine.to_literal_type(int)
    launch_plan = type(
        "LaunchPlan",
        (),
        {
            "default_inputs": ParameterMap({"n": Parameter(Variable(int_type, "n"), required=True)}),
            "fixed_inputs": LiteralMap({"m": TypeEngine.to_literal(ctx, 3, int, int_type)}),
        },
    )()
    remote = resolve_connection("127.0.0.1:9", True, "flytesnacks", "development").remote  # never called
    request = ExecutionRequest(0, "job #0", "s1-0", {"n": 1, "m": 4})
    with pytest.raises(RegistrationError, match="fixes input 'm', which Flyte does not let an execution override"):
        registered_literals(remote, launch_plan, [request], {"n": int, "m": int}, "main.pipeline at version v1")
    fits = ExecutionRequest(0, "job #0", "s1-0", {"n": 1})
    (literals,) = registered_literals(remote, launch_plan, [fits], {"n": int}, "wf at v1").values()
    assert literals["n"].scalar.primitive.integer == 1
    with pytest.raises(
        ConfigInputError, match="input 'n' = 'one' does not fit the registered wf at v1, which declares"
    ):
        registered_literals(remote, launch_plan, [ExecutionRequest(0, "job #0", "s", {"n": "one"})], {}, "wf at v1")


@pytest.mark.parametrize("name", ["Nightly", "1st-run", "run_1", "r" * 64, ""])
def test_execution_names_flyte_refuses_are_refused_before_connecting(name: str) -> None:
    with pytest.raises(LauncherConfigError, match=f"execution_name='{name}' is not a Flyte execution name"):
        execute(OmegaConf.create({}), version="v1", module=two_top.__name__, execution_name=name)


def test_a_valid_execution_name_goes_on_to_flyte() -> None:
    """Nothing listens at 127.0.0.1:9: the first real call says so, in the launcher's words."""
    cfg = OmegaConf.create({"x": 1})
    where = {"module": two_top.__name__, "workflow": "first", "endpoint": "127.0.0.1:9", "insecure": True}
    with pytest.raises(ConnectionSettingsError, match="Cannot reach Flyte at 127.0.0.1:9 "):
        execute(cfg, version="v1", execution_name="r" + "-1" * 31, **where)
