from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_flyte_cache(
    tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> Iterator[None]:
    """In-process tests run workflows locally: keep flytekit's local cache out of the user's HOME."""
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("FLYTE_LOCAL_CACHE_ENABLED", "false")
    yield


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A private HOME for a subprocess run: a fresh flytekit local cache."""
    path = tmp_path / "home"
    path.mkdir()
    return path
