"""Access to the real parts the image tests use: the Docker engine and the registry on 127.0.0.1:5000.

Started by ``bash scripts/infra.sh up`` (the test command does it). Outside CI a test that needs
them skips when they are not there; under CI=true that is a failure, never a skip.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

REGISTRY = "127.0.0.1:5000"
REGISTRY_NAME = "localhost:5000"  # what image references use (the engine treats localhost as plain HTTP)
BASE_IMAGE = os.environ.get("SCAFFOLD_BASE_IMAGE", "localbase:bookworm")


def unavailable(what: str) -> None:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{what} is not available under CI=true: run `bash scripts/infra.sh up` first")
    pytest.skip(f"{what} is not available (bash scripts/infra.sh up starts it)")


def docker_client() -> Any:
    import docker

    try:
        client = docker.from_env()
        client.ping()
    except Exception:  # noqa: BLE001 - any failure means: no engine here
        unavailable("the Docker engine")
    if not client.images.list(name=BASE_IMAGE):
        unavailable(f"the base image {BASE_IMAGE}")
    try:
        urllib.request.urlopen(f"http://{REGISTRY}/v2/", timeout=5).close()
    except OSError:
        unavailable(f"the registry on {REGISTRY}")
    return client


def run_in_image(client: Any, reference: str, command: list[str], mount: Path | None = None) -> str:
    """What ``command`` printed in a fresh container of ``reference``, with no network.

    Not ``client.containers.run(..., remove=True)``: docker-py reads that output from a log stream
    only after it has removed the container, and the engine sometimes closes the stream first, so
    the output comes back empty (seen in CI). Here the logs are read whole before the removal.
    """
    volumes = {str(mount): {"bind": "/app", "mode": "ro"}} if mount else None
    container = client.containers.run(
        reference,
        command,
        network_mode="none",
        detach=True,
        volumes=volumes,
        working_dir="/app" if mount else None,
    )
    try:
        status = container.wait()["StatusCode"]
        output = container.logs(stdout=True, stderr=False).decode()
        assert status == 0, f"{command} exited {status} in {reference}: {container.logs().decode()}"
        return output
    finally:
        container.remove(force=True)


def registry_tags(repository: str) -> list[str]:
    """The tags the registry holds for ``repository``, from its HTTP API."""
    try:
        with urllib.request.urlopen(f"http://{REGISTRY}/v2/{repository}/tags/list", timeout=10) as response:
            return list(json.load(response).get("tags") or [])
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return []
        raise


def manifest_digest(repository: str, tag: str) -> str | None:
    """``HEAD /v2/<repo>/manifests/<tag>``: the manifest's digest, or None when the tag is absent."""
    request = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", method="HEAD")
    request.add_header("Accept", "application/vnd.docker.distribution.manifest.v2+json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.headers.get("Docker-Content-Digest")
    except urllib.error.HTTPError as error:
        if error.code == 404:
            return None
        raise


FIXED_REPOSITORY, FIXED_TAG = "fixed", "1"
FIXED_IMAGE = f"{REGISTRY_NAME}/{FIXED_REPOSITORY}:{FIXED_TAG}"  # helpers.no_build_remote's named image


def push_tiny_image(repository: str, tag: str) -> str:
    """Push a one-file image straight through the registry's HTTP API (no engine); its manifest digest.

    Enough for a ``build=skip`` launch to find it in the registry; nothing can run in it. Pushing
    the same content again is a no-op for the registry, so this is idempotent.
    """
    import gzip
    import hashlib
    import io
    import tarfile

    def sha(data: bytes) -> str:
        return f"sha256:{hashlib.sha256(data).hexdigest()}"

    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        info = tarfile.TarInfo("scaffold-fixed-image")
        info.size, info.mtime = 3, 0
        archive.addfile(info, io.BytesIO(b"ok\n"))
    layer = gzip.compress(tar.getvalue(), mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [sha(tar.getvalue())]},
        }
    ).encode()
    for blob in (layer, config):
        start = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/blobs/uploads/", method="POST")
        with urllib.request.urlopen(start, timeout=10) as response:
            location = urllib.parse.urljoin(f"http://{REGISTRY}/", response.headers["Location"])
        separator = "&" if "?" in location else "?"
        put = urllib.request.Request(f"{location}{separator}digest={sha(blob)}", data=blob, method="PUT")
        put.add_header("Content-Type", "application/octet-stream")
        urllib.request.urlopen(put, timeout=30).close()
    media = "application/vnd.docker.distribution.manifest.v2+json"
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": media,
            "config": {
                "mediaType": "application/vnd.docker.container.image.v1+json",
                "size": len(config),
                "digest": sha(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                    "size": len(layer),
                    "digest": sha(layer),
                }
            ],
        }
    ).encode()
    put = urllib.request.Request(f"http://{REGISTRY}/v2/{repository}/manifests/{tag}", data=manifest, method="PUT")
    put.add_header("Content-Type", media)
    urllib.request.urlopen(put, timeout=30).close()
    return sha(manifest)


@functools.cache
def fixed_image() -> str:
    """FIXED_IMAGE, pushed once per test process when the registry runs.

    Without a registry it is not pushed: a ``build=skip`` launch then warns that it cannot check
    the image and goes on, which is what the tests using it need.
    """
    with contextlib.suppress(OSError):
        push_tiny_image(FIXED_REPOSITORY, FIXED_TAG)
    return FIXED_IMAGE
