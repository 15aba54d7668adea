"""Access to the real parts the image tests use: the Docker engine and the registry on 127.0.0.1:5000.

Started by ``bash scripts/infra.sh up`` (the test command does it). Outside CI a test that needs
them skips when they are not there; under CI=true that is a failure, never a skip.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
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
