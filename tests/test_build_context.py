"""The build context of a user's Dockerfile: .dockerignore as Docker reads it, credentials never sent.

The unit tests need no Docker; the last ones build for real (engine and registry on 127.0.0.1:5000,
as tests/test_images.py) and look inside the image and its saved layers for the planted files.
"""

from __future__ import annotations

import io
import tarfile
import uuid
from pathlib import Path
from typing import Any

import pytest

from scaffold_flyte.build_context import CREDENTIAL, SECRET, scan
from scaffold_flyte.docker_engine import Engine, build_context, ensure_images
from scaffold_flyte.errors import ImageBuildError
from scaffold_flyte.images import ImagePlan
from scaffold_flyte.plan import plan_images
from tests import infra
from tests.helpers import APPS, run_app

SESSION = uuid.uuid4().hex[:8]
PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"
CERTIFICATE = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"

# every file the context must never send, at the top and one folder down; the value is its content
PLANTED = {
    "secrets.json": '{"token": "%s"}',
    "secrets.yaml": "token: %s",
    "client_secret_1234.apps.json": "%s",
    "dbPassword.txt": "%s",
    "id_rsa": PRIVATE_KEY + "%s",
    "id_ed25519": PRIVATE_KEY + "%s",
    "id_ecdsa": PRIVATE_KEY + "%s",
    "id_dsa": PRIVATE_KEY + "%s",
    "deploy_key": PRIVATE_KEY + "%s",  # no telling name: its content says what it is
    "server.pem": PRIVATE_KEY + "%s",
    "ca.pem": CERTIFICATE + "%s",
    "tls.key": "%s",
    "store.p12": "%s",
    "store.pfx": "%s",
    ".ssh/id_ed25519": PRIVATE_KEY + "%s",
    ".ssh/config": "Host x # %s",
    ".kube/config": "token: %s",
    ".aws/credentials": "aws_secret_access_key = %s",
    ".gnupg/private-keys-v1.d/key.key": "%s",
    ".docker/config.json": '{"auths": {"r": {"auth": "%s"}}}',
    ".config/gcloud/access_tokens.db": "%s",
    ".flyte/config.yaml": "clientSecret: %s",
    ".pypirc": "password = %s",
    ".netrc": "machine x login u password %s",
    ".git-credentials": "https://u:%s@github.com",
    ".npmrc": "//registry/:_authToken=%s",
    ".env": "TOKEN=%s",
    ".env.production": "TOKEN=%s",
    ".git/config": "url = https://u:%s@github.com/o/r",
    ".venv/pyvenv.cfg": "home = /usr # %s",
    ".venv/lib/site.py": "# %s",
    "venv/bin/activate": "# %s",
    "myenv/pyvenv.cfg": "home = /usr # %s",
    "myenv/lib/m.py": "# %s",
    "outputs/2024-01-01/10-00-00/main.log": "%s",
    "outputs/2024-01-01/10-00-00/.hydra/config.yaml": "token: %s",
    "multirun/2024-01-01/10-00-00/0/.hydra/config.yaml": "token: %s",
    "runs/12-00-00/.hydra/config.yaml": "token: %s",
    "runs/12-00-00/main.log": "%s",
    "pkg/__pycache__/m.cpython-311.pyc": "%s",
    "pkg/stale.pyc": "%s",
}
KEPT = {
    "main.py": "print('app')\n",
    "pkg/m.py": "X = 1\n",
    "secretary.py": "# a word that only starts like secret\n",
    "data/points.csv": "1,2\n",
    ".docker/entrypoint.sh": "#!/bin/sh\n",  # a project's .docker/ folder: only config.json is a credential
    "requirements.txt": "six\n",
    "pkg/outputs/__init__.py": "",  # a package named outputs, below the top and with no .hydra/: code
}


def plant(root: Path, token: str, sub: str = "") -> None:
    for rel, text in {**PLANTED, **KEPT}.items():
        path = root / sub / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text % token if "%s" in text else text)


def test_no_planted_credential_secret_or_output_is_sent(tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    plant(tmp_path, token)
    plant(tmp_path, token, sub="nested")
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    context = scan(tmp_path)
    expected = sorted([*KEPT, *(f"nested/{rel}" for rel in KEPT)])
    assert list(context.files) == expected
    for rel in context.files:  # nothing sent holds the token
        assert token not in (tmp_path / rel).read_text()
    assert context.size == sum((tmp_path / rel).stat().st_size for rel in expected)
    left = {item.path: item.kind for item in context.left_out}
    for name in ("id_rsa", "deploy_key", "server.pem", ".env", ".env.production", ".ssh/", ".git/", ".pypirc"):
        assert left[name] == CREDENTIAL, name
        assert left[f"nested/{name}"] == CREDENTIAL, name
    for name in ("secrets.json", "client_secret_1234.apps.json", "dbPassword.txt", "ca.pem"):
        assert left[name] == SECRET, name
    assert left["outputs/"] == left["multirun/"] == left["runs/12-00-00/"] == left["myenv/"] == "bulk"
    # outputs/ and multirun/ by name at the top only; below it, any folder holding a .hydra/
    assert left["nested/outputs/2024-01-01/10-00-00/"] == left["nested/runs/12-00-00/"] == "bulk"
    assert "Dockerfile" not in context.files  # the launcher sends the Dockerfile it read


def test_dockerignore_is_read_as_docker_reads_it(tmp_path: Path) -> None:
    from docker.utils.build import exclude_paths

    for rel in ["main.py", "data/big.csv", "data/keep.csv", "logs/a.log", "src/b.log", "src/c.py", "docs/x.md"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(rel)
    (tmp_path / ".dockerignore").write_text("# comment\ndata\n!data/keep.csv\n**/*.log\n\n/docs/\n")
    docker_sends = exclude_paths(str(tmp_path), ["data", "!data/keep.csv", "**/*.log", "/docs/"])
    assert sorted(scan(tmp_path).files) == sorted(p for p in docker_sends if (tmp_path / p).is_file())
    assert sorted(scan(tmp_path).files) == [".dockerignore", "data/keep.csv", "main.py", "src/c.py"]


def test_a_bang_line_sends_a_secret_by_name_or_a_bulk_folder_never_a_credential(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / ".dockerignore").write_text("!secrets.json\n!outputs\n!ca.pem\n!.env\n!id_rsa\n!.ssh\n!**/.git\n")
    files = set(scan(tmp_path).files)
    assert {"secrets.json", "outputs/2024-01-01/10-00-00/main.log", "ca.pem"} <= files
    assert not {".env", "id_rsa", ".ssh/id_ed25519", ".ssh/config", ".git/config", "secrets.yaml"} & files


def test_describe_names_count_size_and_what_was_left_out(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    line = scan(tmp_path).describe()
    assert line.startswith(f"{len(KEPT)} files, ")
    assert f"from {tmp_path}" in line
    assert "never sent: " in line and ".env" in line and ".ssh/" in line and "id_rsa" in line
    assert "left out (a '!name' line in .dockerignore sends it): " in line and "secrets.json" in line
    assert "also left out: " in line and "outputs/" in line and ".venv/" in line
    assert "\n" not in line


def test_missing_hint_names_the_left_out_file_and_the_way_to_send_it(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    context = scan(tmp_path)
    error = "COPY failed: file not found in build context or excluded by .dockerignore: stat secrets.json: file does not exist"
    hint = context.missing_hint(error, "Step 2/2 : COPY secrets.json /app/")
    assert hint == (
        "secrets.json was left out of the build context on purpose (its name says it holds secrets): to send it, "
        f"add the line '!secrets.json' to {tmp_path / '.dockerignore'}."
    )
    never = context.missing_hint(
        "COPY failed: stat .ssh/id_ed25519: file does not exist", "Step 2/2 : COPY .ssh/id_ed25519 /root/"
    )
    assert never is not None and never.startswith(".ssh/ was left out of the build context on purpose (SSH keys)")
    assert "is never sent" in never and "!" not in never
    assert (
        context.missing_hint("COPY failed: stat other.txt: file does not exist", "Step 2/2 : COPY other.txt /x") is None
    )


def plan_for(app_dir: Path, repository: str = "ctx") -> ImagePlan:
    images = {
        "default": {
            "registry": infra.REGISTRY_NAME,
            "repository": f"scaffold-test-{SESSION}/{repository}",
            "base_image": infra.BASE_IMAGE,
            "dockerfile": "Dockerfile",
        }
    }
    (plan,) = plan_images(images, None, app_dir, app_dir)
    return plan


def test_the_tag_covers_exactly_the_files_sent(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY . /ctx\n")
    first = plan_for(tmp_path)
    assert first.context is not None and first.context_files == first.context.files
    (tmp_path / ".env").write_text("TOKEN=another")  # left out: the image would be the same
    (tmp_path / "outputs" / "new.log").write_text("x")
    assert plan_for(tmp_path).tag == first.tag
    (tmp_path / "main.py").write_text("print('changed')\n")  # sent: another image
    assert plan_for(tmp_path).tag != first.tag


def test_the_tar_sent_holds_the_planned_files_and_the_dockerfile_read(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / "Dockerfile.gpu").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY . /ctx\n")
    (tmp_path / "Dockerfile").write_text("FROM something-else\n")  # not the one the image names
    images = {"default": {"registry": "localhost:5000", "base_image": "b", "dockerfile": "Dockerfile.gpu"}}
    (plan,) = plan_images(images, None, tmp_path, tmp_path)
    with tarfile.open(fileobj=build_context(plan)) as tar:
        members = {m.name: m for m in tar.getmembers()}
        dockerfile = tar.extractfile(members["Dockerfile"])
        assert dockerfile is not None and dockerfile.read().decode() == plan.dockerfile
    assert sorted(members) == sorted([*plan.context_files, "Dockerfile"])
    assert "Dockerfile.gpu" in members


def test_a_plan_that_lists_a_credential_sends_nothing(tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / "Dockerfile").write_text("FROM x\n")
    (plan,) = plan_images(
        {"default": {"registry": "localhost:5000", "base_image": "b", "dockerfile": "Dockerfile"}},
        None,
        tmp_path,
        tmp_path,
    )
    from dataclasses import replace

    forged = replace(plan, context_files=(*plan.context_files, ".env"))
    with pytest.raises(ImageBuildError, match=r"\.env is a credential \(an environment file\) and is never sent"):
        build_context(forged)


def test_dry_run_lists_the_context(home: Path, tmp_path: Path) -> None:
    app = tmp_path / "app"
    plant(app, "t0ken")
    (app / "main.py").write_text((APPS / "plain_app" / "main.py").read_text())
    (app / "conf").mkdir()
    for conf in (APPS / "plain_app" / "conf").iterdir():
        (app / "conf" / conf.name).write_text(conf.read_text())
    (app / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY . /ctx\n")
    result = run_app(
        app,
        "-m",
        "hydra/launcher=flyte",
        "hydra.launcher.endpoint=127.0.0.1:9",
        "hydra.launcher.insecure=true",
        "hydra.launcher.dry_run=true",
        f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}",
        "hydra.launcher.images.default.dockerfile=Dockerfile",
        home=home,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("context    default: ")]
    files = len(list((app / "conf").rglob("*"))) + len(KEPT)
    assert line.startswith(f"context    default: {files} files, ")
    assert "never sent: " in line and ".env" in line and "id_rsa" in line and ".ssh/" in line
    assert "secrets.json" in line


# -- a real build ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine(client: Any) -> Engine:
    return Engine(client)


def test_the_built_image_holds_none_of_the_planted_files(client: Any, engine: Engine, tmp_path: Path) -> None:
    token = uuid.uuid4().hex
    plant(tmp_path, token)
    plant(tmp_path, token, sub="nested")
    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY . /ctx\n")
    plan = plan_for(tmp_path, "planted")
    ensure_images(engine, [plan], "force", parallel=1)
    listing = infra.run_in_image(client, plan.reference, ["find", "/ctx", "-type", "f"])
    found = sorted(line.removeprefix("/ctx/") for line in listing.split())
    assert found == sorted([*plan.context_files, "Dockerfile"])
    assert found == sorted([*KEPT, *(f"nested/{rel}" for rel in KEPT), "Dockerfile"])
    # and nowhere in the image's bytes: every layer, its config and history
    saved = b"".join(client.images.get(plan.reference).save(named=True))
    assert token.encode() not in saved
    with tarfile.open(fileobj=io.BytesIO(saved)) as image:
        layers = [m for m in image.getmembers() if m.name.endswith((".tar", "layer.tar")) or "blobs/" in m.name]
        for member in layers:
            data = image.extractfile(member)
            assert data is None or token.encode() not in data.read()


def test_a_copy_of_a_left_out_file_fails_saying_why(client: Any, tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY secrets.json /app/\n")
    plan = plan_for(tmp_path, "copies-secret")
    with pytest.raises(ImageBuildError) as error:
        ensure_images(Engine(client), [plan], "force", parallel=1)  # an engine per launch, as a launch has
    first = str(error.value).splitlines()[0]
    assert "secrets.json was left out of the build context on purpose" in first
    assert f"add the line '!secrets.json' to {tmp_path / '.dockerignore'}" in first

    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY .env /app/\n")
    plan = plan_for(tmp_path, "copies-env")
    with pytest.raises(ImageBuildError) as error:
        ensure_images(Engine(client), [plan], "force", parallel=1)  # an engine per launch, as a launch has
    first = str(error.value).splitlines()[0]
    assert ".env was left out of the build context on purpose (an environment file) and is never sent" in first


def test_sent_with_a_bang_line_the_secret_by_name_builds(client: Any, engine: Engine, tmp_path: Path) -> None:
    plant(tmp_path, "t0ken")
    (tmp_path / ".dockerignore").write_text("!secrets.json\n")
    (tmp_path / "Dockerfile").write_text(f"FROM {infra.BASE_IMAGE}\nCOPY secrets.json /app/\n")
    plan = plan_for(tmp_path, "bang")
    ensure_images(engine, [plan], "force", parallel=1)
    assert infra.run_in_image(client, plan.reference, ["cat", "/app/secrets.json"]) == '{"token": "t0ken"}'
