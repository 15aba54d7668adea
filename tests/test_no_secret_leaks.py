"""No secret anywhere: a unique token in each place a secret can come from, a real remote launch, and then
every output searched for every token.

The launch builds the image from a Dockerfile of the user's (its folder full of planted secrets),
registers and runs against the test stand-in for Flyte's admin API (tests/flyte_standin), with the
real engine and registry. Searched: the launch's stdout and stderr, every file of the sweep and job
folders, every file the launch left in its HOME, the built image's saved bytes, every object in the
stand-in's blob store (the code bundle unpacked too) and every entity and execution the stand-in
stored, as the bytes it received.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from scaffold_flyte.images import ImageSpec, library_files, render_dockerfile
from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, record_overrides, recorded, run_app
from tests.test_remote import remote

PRIVATE_KEY = "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n"


def tokens() -> dict[str, str]:
    """One token per source, so a hit says where the secret came from."""
    sources = [
        "task environment variable",  # read by a task with os.environ
        "flyte secret",  # _FSEC_APP_TOKEN: what flytekit's secrets.get("app", "token") reads
        "flyte client secret",  # ~/.flyte/config: [credentials] client_secret
        "registry credentials",  # ~/.docker/config.json auths
        "app folder",  # secrets.json, id_rsa, .env beside main.py
        "dockerfile context",  # the same, and more, in the Dockerfile's folder
    ]
    return {source: f"leak{uuid.uuid4().hex}" for source in sources}


def plant_secrets(folder: Path, token: str, more: bool = False) -> None:
    files = {
        "secrets.json": json.dumps({"token": token}),
        "id_rsa": PRIVATE_KEY + token,
        ".env": f"TOKEN={token}\n",
    }
    if more:
        files |= {
            ".ssh/id_ed25519": PRIVATE_KEY + token,
            ".kube/config": f"token: {token}\n",
            ".aws/credentials": f"aws_secret_access_key = {token}\n",
            ".pypirc": f"password = {token}\n",
            ".git-credentials": f"https://u:{token}@example.invalid\n",
            ".docker/config.json": json.dumps({"auths": {"x": {"auth": token}}}),
            "api_credentials.yaml": f"key: {token}\n",
            "server.pem": PRIVATE_KEY + token,
            "outputs/2024-01-01/10-00-00/.hydra/config.yaml": f"token: {token}\n",
        }
    for rel, text in files.items():
        (folder / rel).parent.mkdir(parents=True, exist_ok=True)
        (folder / rel).write_text(text)


def make_app(tmp_path: Path, secret: dict[str, str]) -> Path:
    app = tmp_path / "no_leaks"
    shutil.copytree(APPS / "no_leaks", app, ignore=shutil.ignore_patterns("__pycache__"))
    plant_secrets(app, secret["app folder"])
    # the Dockerfile of the user's own: the runtime the launcher would generate, then all of its folder
    image = app / "image"
    spec = ImageSpec(name="default", registry=infra.REGISTRY_NAME, repository="x", base_image=infra.BASE_IMAGE)
    (image).mkdir()
    (image / "Dockerfile").write_text(render_dockerfile(spec, []) + "COPY . /ctx\n")
    for rel, text in library_files():
        (image / rel).parent.mkdir(parents=True, exist_ok=True)
        (image / rel).write_text(text)
    plant_secrets(image, secret["dockerfile context"], more=True)
    return app


def make_home(home: Path, secret: dict[str, str]) -> None:
    # flytekit's own config, its client secret inline (the legacy file, which flytekit reads before
    # config.yaml). A secret by admin.clientSecretLocation or clientSecretEnvVar would switch flytekit to
    # ClientSecret auth, which asks the admin's AuthMetadataService: the stand-in does not serve it.
    flyte = home / ".flyte"
    flyte.mkdir()
    (flyte / "config").write_text(
        "[platform]\nurl=127.0.0.1:9\ninsecure=True\n"  # hydra.launcher.endpoint names the stand-in
        f"[credentials]\nclient_id=scaffold-test\nclient_secret={secret['flyte client secret']}\n"
    )
    docker = home / ".docker"
    docker.mkdir()
    auth = base64.b64encode(f"scaffold:{secret['registry credentials']}".encode()).decode()
    (docker / "config.json").write_text(json.dumps({"auths": {infra.REGISTRY_NAME: {"auth": auth}}}))


def hits_in(data: bytes, secret: dict[str, str], where: str, found: dict[str, set[str]]) -> None:
    for source, token in secret.items():
        if token.encode() in data:
            found.setdefault(source, set()).add(where)
    if data[:2] == b"\x1f\x8b":  # gzip (the code bundle): its contents too
        with contextlib.suppress(OSError, EOFError):
            hits_in(gzip.decompress(data), secret, f"{where} (unpacked)", found)


def test_no_planted_secret_reaches_any_output(
    standin: StandIn, client: Any, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tokens()
    app = make_app(tmp_path, secret)
    make_home(home, secret)
    planted_in_home = {
        home / ".flyte" / "config",
        home / ".docker" / "config.json",
    }
    monkeypatch.setenv("HOME", str(home))  # the planted sources are real: flytekit and docker read them
    from flytekit.configuration import Config

    assert Config.auto().platform.client_credentials_secret == secret["flyte client secret"]
    import docker

    assert docker.auth.load_config()["auths"][infra.REGISTRY_NAME]["password"] == secret["registry credentials"]
    records = tmp_path / "returns.jsonl"
    result = run_app(
        app,
        *remote(standin, "no-leaks"),
        "hydra.launcher.images.default.dockerfile=image/Dockerfile",
        "model.learning_rate=0.1,0.2",
        *record_overrides(records),
        home=home,
        timeout=900,
        env={
            "SCAFFOLD_LEAK_ENV_TOKEN": secret["task environment variable"],
            "_FSEC_APP_TOKEN": secret["flyte secret"],
        },
    )
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = recorded(records)
    # both executions ran, and neither the variable nor the secret reached the task containers
    assert [(job["status"], job["value"]) for job in jobs] == [("COMPLETED", False), ("COMPLETED", False)]
    assert len(standin.executions()) == 2

    found: dict[str, set[str]] = {}
    hits_in(result.stdout.encode(), secret, "stdout", found)
    hits_in(result.stderr.encode(), secret, "stderr", found)

    outputs = [tmp_path / "multirun", tmp_path / "outputs", home]
    searched = 0
    for folder in outputs:
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and p not in planted_in_home):
            hits_in(path.read_bytes(), secret, str(path), found)
            searched += 1
    assert any(p.name == "flyte_execution.yaml" for p in (tmp_path / "multirun").rglob("*"))  # job folders searched
    assert searched > 10

    (task,) = [key for key in standin.registered() if key[3] == "main.uses_secret"]
    reference = standin.spec(task).template.container.image
    saved = b"".join(client.images.get(reference).save(named=True))
    hits_in(saved, secret, f"image {reference}", found)
    listing = infra.run_in_image(client, reference, ["find", "/ctx", "-type", "f"])
    in_image = {line.removeprefix("/ctx/") for line in listing.split()}
    assert "Dockerfile" in in_image and "scaffold_flyte/images.py" in in_image  # the context did go in
    assert not {"secrets.json", "id_rsa", ".env", "api_credentials.yaml", "server.pem"} & in_image

    objects = 0
    pages = standin.store._s3.get_paginator("list_objects_v2").paginate(Bucket=standin.store.bucket)
    for page in pages:
        for item in page.get("Contents", []):
            uri = standin.store.uri(item["Key"])
            hits_in(standin.store.get(uri), secret, uri, found)
            objects += 1
    assert any(uri.endswith(".tar.gz") for uri in standin.uploads)  # the code bundle is among them
    assert objects >= 3

    for key, spec in standin.admin.entities.items():
        hits_in(spec.SerializeToString(), secret, f"registered {key}", found)
    for name, record in standin.executions().items():
        for part in (record.request, record.inputs, record.outputs):
            if part is not None:
                hits_in(part.SerializeToString(), secret, f"execution {name}", found)

    assert found == {}, "\n".join(f"{source}: {sorted(where)}" for source, where in found.items())
