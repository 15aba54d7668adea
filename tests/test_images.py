"""Task images on a real Docker engine and a real registry (127.0.0.1:5000).

Each test session pushes to a repository of its own, so "nothing to build" is earned, not inherited.
"""

from __future__ import annotations

import shutil
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from scaffold_flyte.discovery import find_main_workflow
from scaffold_flyte.docker_engine import Engine, ensure_images
from scaffold_flyte.errors import ImageBuildError
from scaffold_flyte.images import ImagePlan
from scaffold_flyte.plan import plan_images
from tests import infra
from tests.helpers import APPS, EXAMPLES, load_app

SESSION = uuid.uuid4().hex[:8]


@pytest.fixture(scope="module")
def engine(client: Any) -> Engine:
    return Engine(client)


def image_config(repository: str, **overrides: Any) -> dict[str, dict[str, Any]]:
    default = {"registry": infra.REGISTRY_NAME, "repository": repository, "base_image": infra.BASE_IMAGE}
    return {"default": {**default, **overrides}}


def copy_app(tmp_path: Path, name: str = "split_config") -> Path:
    app_dir = tmp_path / name
    shutil.copytree(EXAMPLES / name, app_dir, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))
    return app_dir


def plan_for(app_dir: Path, images: dict[str, dict[str, Any]], engine: Engine, module: str) -> list[ImagePlan]:
    app = load_app(app_dir, module)
    return plan_images(images, find_main_workflow(app), app_dir, app_dir)


def image_events(client: Any, since: float, until: float) -> list[tuple[str, str]]:
    """(action, image) pairs the engine reported between two instants: builds tag, pushes push."""
    events = client.events(since=int(since), until=int(until) + 1, decode=True, filters={"type": "image"})
    return [(e.get("Action") or e.get("status"), e.get("id", "")) for e in events]


def test_build_push_pull_and_run(client: Any, engine: Engine, tmp_path: Path) -> None:
    repository = f"scaffold-test-{SESSION}/split"
    app_dir = copy_app(tmp_path)
    (plan,) = plan_for(app_dir, image_config(repository), engine, "images_split_a")
    (outcome,) = ensure_images(engine, [plan], "auto", parallel=2)
    assert outcome.action == "built"
    assert plan.reference == f"{infra.REGISTRY_NAME}/{repository}:{plan.tag}"
    assert infra.registry_tags(repository) == [plan.tag]

    client.images.remove(plan.reference)  # pull it back from the registry, as a cluster node would
    client.images.pull(f"{infra.REGISTRY_NAME}/{repository}", tag=plan.tag)
    versions = infra.run_in_image(
        client,
        plan.reference,
        ["python", "-c", "import flytekit, flytekitplugins.omegaconf, hydra; print(flytekit.__version__)"],
    )
    from importlib.metadata import version

    assert versions.strip() == version("flytekit")
    # the user's module imports inside the image, with the code mounted as fast registration ships it
    name = infra.run_in_image(
        client, plan.reference, ["python", "-c", "import main; print(main.training_pipeline.name)"], app_dir
    )
    assert name.strip() == "main.training_pipeline"


def test_second_launch_builds_and_pushes_nothing(client: Any, engine: Engine, tmp_path: Path) -> None:
    repository = f"scaffold-test-{SESSION}/relaunch"
    app_dir = copy_app(tmp_path)
    (first,) = plan_for(app_dir, image_config(repository), engine, "images_split_b")
    ensure_images(engine, [first], "auto", parallel=2)
    digest = infra.manifest_digest(repository, first.tag)
    assert digest is not None
    images_before = {image.id for image in client.images.list()}

    time.sleep(1.1)  # event timestamps are whole seconds
    start = time.time()
    (again,) = plan_for(app_dir, image_config(repository), engine, "images_split_b")
    (outcome,) = ensure_images(engine, [again], "auto", parallel=2)
    end = time.time()
    time.sleep(1.1)

    assert again.reference == first.reference
    assert outcome.action == "reused"
    assert image_events(client, start, end) == []  # no build (tag), no push, no pull
    assert {image.id for image in client.images.list()} == images_before
    assert infra.manifest_digest(repository, first.tag) == digest
    assert infra.registry_tags(repository) == [first.tag]


def test_code_change_keeps_the_tag_a_dependency_change_does_not(client: Any, engine: Engine, tmp_path: Path) -> None:
    repository = f"scaffold-test-{SESSION}/deps"
    app_dir = copy_app(tmp_path)
    (base,) = plan_for(app_dir, image_config(repository), engine, "images_split_c")

    main_py = app_dir / "main.py"
    main_py.write_text(main_py.read_text().replace("return mse", "return mse * 1.0  # code-only change"))
    (code_only,) = plan_for(app_dir, image_config(repository), engine, "images_split_c2")
    assert code_only.tag == base.tag

    (app_dir / "requirements.txt").write_text("# the task code needs six\nsix==1.16.0\n")
    config = image_config(repository, requirements="requirements.txt")
    (with_six,) = plan_for(app_dir, config, engine, "images_split_c3")
    assert with_six.tag != base.tag
    (app_dir / "requirements.txt").write_text("six==1.16.0  # same list, other comments\n\n")
    (reformatted,) = plan_for(app_dir, config, engine, "images_split_c4")
    assert reformatted.tag == with_six.tag

    (outcome,) = ensure_images(engine, [with_six], "auto", parallel=2)
    assert outcome.action == "built"
    assert with_six.tag in infra.registry_tags(repository)
    assert (
        infra.run_in_image(client, with_six.reference, ["python", "-c", "import six; print(six.__version__)"]).strip()
        == "1.16.0"
    )


def test_named_images_build_concurrently_and_force_rebuilds(client: Any, engine: Engine, tmp_path: Path) -> None:
    repository = f"scaffold-test-{SESSION}/named"
    images = image_config(repository)
    images["gpu"] = {**images["default"], "build_args": {"FLAVOUR": "gpu"}}
    gpu_app = load_app(APPS / "gpu_app", "images_gpu_app")  # a task in the default image, one in "gpu"
    plans = plan_images(images, find_main_workflow(gpu_app), tmp_path, tmp_path)
    assert [p.name for p in plans] == ["default", "gpu"]
    assert plans[0].tag != plans[1].tag
    outcomes = ensure_images(engine, plans, "auto", parallel=2)
    assert [o.action for o in outcomes] == ["built", "built"]
    assert sorted(infra.registry_tags(repository)) == sorted(p.tag for p in plans)

    start = time.time()
    forced = ensure_images(engine, plans[:1], "force", parallel=1)
    time.sleep(1.1)
    assert [o.action for o in forced] == ["built"]
    assert any(action == "push" for action, _ in image_events(client, start, time.time()))


def test_build_context_honours_dockerignore_and_never_takes_secrets(
    client: Any, engine: Engine, tmp_path: Path
) -> None:
    app_dir = tmp_path / "ctx_app"
    for rel in [
        "main.py",
        "data/big.csv",
        "keep/notes.txt",
        ".git/config",
        ".env",
        "outputs/run.log",
        "multirun/x/y.txt",
        ".venv/bin/python",
        "sub/.env",
    ]:
        (app_dir / rel).parent.mkdir(parents=True, exist_ok=True)
        (app_dir / rel).write_text(rel)
    (app_dir / ".dockerignore").write_text("data\n")
    (app_dir / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY . /ctx\n")
    images = image_config(f"scaffold-test-{SESSION}/ctx", dockerfile="Dockerfile")
    (plan,) = plan_images(images, None, app_dir, app_dir)
    ensure_images(engine, [plan], "auto", parallel=1)
    listing = infra.run_in_image(client, plan.reference, ["find", "/ctx", "-type", "f"]).split()
    assert sorted(listing) == ["/ctx/.dockerignore", "/ctx/Dockerfile", "/ctx/keep/notes.txt", "/ctx/main.py"]


def _expect_build_error(engine: Engine, plans: list[ImagePlan], mode: str = "auto") -> str:
    with pytest.raises(ImageBuildError) as error:
        ensure_images(engine, plans, mode, parallel=1)
    return str(error.value)


def test_failing_dockerfile_shows_the_log_tail(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nRUN echo preparing && exit 3\n")
    images = image_config(f"scaffold-test-{SESSION}/broken", dockerfile="Dockerfile")
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    message = _expect_build_error(engine, [plan])
    first = message.splitlines()[0]
    assert first.startswith("image 'default': build failed:")
    assert "returned a non-zero code: 3" in first
    assert "Fix the Dockerfile" in first
    assert "preparing" in message  # the log tail


def test_missing_base_image_is_named(engine: Engine, tmp_path: Path) -> None:
    images = image_config(f"scaffold-test-{SESSION}/nobase", base_image=f"{infra.REGISTRY_NAME}/no-such-base:1")
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    first = _expect_build_error(engine, [plan]).splitlines()[0]
    assert f"The base image {infra.REGISTRY_NAME}/no-such-base:1 could not be found" in first
    assert "hydra.launcher.images.default.base_image" in first


def test_unresolvable_requirements_name_the_setting(engine: Engine, tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("scaffold-flyte-no-such-package-xyz==0.0.1\n")
    images = image_config(f"scaffold-test-{SESSION}/nodeps", requirements="requirements.txt")
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    first = _expect_build_error(engine, [plan]).splitlines()[0]
    assert "pip could not install the requirements" in first
    assert "hydra.launcher.images.default.requirements" in first


def test_registry_down_is_reported_before_building(engine: Engine, client: Any, tmp_path: Path) -> None:
    images = {"default": {"registry": "localhost:5999", "repository": "down", "base_image": infra.BASE_IMAGE}}
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    first = _expect_build_error(engine, [plan]).splitlines()[0]
    assert "cannot ask registry localhost:5999" in first
    assert "docker login localhost:5999" in first
    assert not client.images.list(name="localhost:5999/down")  # nothing was built


def test_registry_refusing_the_push_is_named(engine: Engine, tmp_path: Path, unauthorized_registry: str) -> None:
    images = {
        "default": {
            "registry": unauthorized_registry,
            "repository": "private",
            "base_image": infra.BASE_IMAGE,
        }
    }
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    first = _expect_build_error(engine, [plan], mode="force").splitlines()[0]
    assert f"the registry refused the push of {unauthorized_registry}/private:" in first
    assert f"docker login {unauthorized_registry}" in first


def test_no_engine_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    with pytest.raises(ImageBuildError) as error:
        Engine()
    message = str(error.value)
    assert message.startswith("Cannot reach the Docker engine")
    assert "DOCKER_HOST" in message and "\n" not in message
