"""A plain Hydra app's return value travels inline (no blob storage needed); storage settings."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from omegaconf import DictConfig, OmegaConf

from scaffold_flyte.blob_storage import data_config, has_blob_storage
from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.return_values import HydraReturn, output_type


def _literal_roundtrip(value: Any) -> Any:
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    ctx = FlyteContextManager.current_context()
    literal_type = TypeEngine.to_literal_type(HydraReturn)
    literal = TypeEngine.to_literal(ctx, HydraReturn(value), HydraReturn, literal_type)
    assert literal.scalar.binary is not None, "carried inline, as a msgpack literal"
    return TypeEngine.to_python_value(ctx, literal, HydraReturn)


@pytest.mark.parametrize("value", [0.25, 3, "best", True, None, [1, 2.5], {"mse": 0.1, "rows": [1, 2]}])
def test_json_like_values_come_back_equal_and_of_the_same_type(value: Any) -> None:
    back = _literal_roundtrip(value)
    assert back == value and type(back) is type(value)


def test_a_dictconfig_comes_back_as_a_dictconfig() -> None:
    back = _literal_roundtrip(OmegaConf.create({"a": {"b": 1}, "c": "${a.b}"}))
    assert isinstance(back, DictConfig) and OmegaConf.to_container(back) == {"a": {"b": 1}, "c": 1}


def test_a_value_that_is_not_json_like_is_refused_with_what_to_return() -> None:
    from flytekit.core.type_engine import TypeTransformerFailedError

    with pytest.raises(TypeTransformerFailedError, match=r"the returned value\['model'\] is a pathlib.PosixPath"):
        _literal_roundtrip({"model": Path("/tmp/x")})


@dataclasses.dataclass
class Metrics:
    mse: float
    rows: int


class Opaque:
    pass


def _returns(annotation: Any) -> Any:
    def function(cfg: DictConfig) -> None:
        return None

    function.__annotations__ = {"cfg": DictConfig} if annotation is None else {"cfg": DictConfig, "return": annotation}
    return function


@pytest.mark.parametrize(
    ("annotation", "expected"),
    [
        (None, (HydraReturn, None)),
        (Any, (HydraReturn, None)),
        (float, (float, None)),
        (dict, (dict, None)),
        (dict[str, float], (dict[str, float], None)),
        (float | None, (float | None, None)),
        (DictConfig, (DictConfig, None)),
        (Metrics, (Metrics, None)),
        (Opaque, (Any, "Opaque")),
        (list[Opaque], (Any, "list")),
    ],
)
def test_the_output_type_follows_the_declared_return_type(annotation: Any, expected: Any) -> None:
    kind, needs_storage = output_type(_returns(annotation))
    assert (kind, needs_storage if needs_storage is None else needs_storage.split("[")[0]) == expected


def test_storage_sandbox_is_the_demo_clusters_minio_and_anything_else_is_refused() -> None:
    config = data_config("sandbox")
    assert config is not None and config.s3.endpoint == "http://localhost:30002"
    assert data_config(None) is None
    with pytest.raises(
        LauncherConfigError, match="hydra.launcher.storage=minio is not known: use hydra.launcher.storage=sandbox"
    ):
        data_config("minio")


def test_blob_storage_is_seen_from_settings_or_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in (
        "FLYTE_AWS_ENDPOINT",
        "FLYTE_AWS_ACCESS_KEY_ID",
        "AWS_ACCESS_KEY_ID",
        "AWS_PROFILE",
        "FLYTECTL_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert not has_blob_storage(None)
    assert has_blob_storage("sandbox")
    monkeypatch.setenv("FLYTE_AWS_ENDPOINT", "http://127.0.0.1:9000")
    assert has_blob_storage(None)
