"""A plain Hydra app's return value, carried back to the launcher inline, without blob storage.

flytekit types an un-annotated return value as ``Any`` and pickles it into the blob store: reading
it back needs storage credentials on the launching machine, which a cluster configured by
``flytectl config init`` does not give (flytekit/types/pickle/pickle.py). A sweeper only needs
JSON-like values (a metric, a dict of metrics, a DictConfig), and those fit in the output literal
itself, which flyteadmin hands back inline (flyteadmin/pkg/manager/impl/util/data.go). So a plain
app's output is typed ``HydraReturn``: a msgpack literal (as flytekit's own untyped ``dict``) of
the value, or of the DictConfig's container with a marker so it comes back as a DictConfig.

A return type the function declares decides instead, where flytekit carries it inline too (see
``output_type``); anything else needs blob storage, and the launcher says so before launching.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from flytekit.core.constants import CACHE_KEY_METADATA, MESSAGEPACK, SERIALIZATION_FORMAT
from flytekit.core.context_manager import FlyteContext
from flytekit.core.type_engine import TypeEngine, TypeTransformer, TypeTransformerFailedError
from flytekit.models.annotation import TypeAnnotation
from flytekit.models.literals import Binary, Literal, Scalar
from flytekit.models.types import LiteralType, SimpleType
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig, ListConfig, OmegaConf

JSON_SCALARS = (str, int, float, bool, type(None))
# carried inline by flytekit's own transformers (literal values, msgpack, the OmegaConf plugin's
# struct); FlyteFile / FlyteDirectory carry only their remote URI
INLINE_TYPES = (*JSON_SCALARS, dict, list, DictConfig, ListConfig, FlyteFile, FlyteDirectory)
DICTCONFIG_KEY = "__dictconfig__"


class HydraReturn:
    """A plain Hydra app's return value, boxed: any JSON-like value or a DictConfig, ``None`` included.

    The box lets ``None`` (what most Hydra functions return) pass flytekit's not-None check of
    outputs; the launcher gets the bare value back.
    """

    def __init__(self, value: Any) -> None:
        self.value = value


def output_type(function: Any) -> tuple[Any, str | None]:
    """The output type for ``function``'s task, and the declared type's name when it needs blob storage.

    No annotation (or ``Any``): ``HydraReturn``. A declared type carried inline (a scalar,
    ``dict``/``list`` and their generics, ``Optional``, a DictConfig, a dataclass of such fields,
    FlyteFile / FlyteDirectory): itself. Anything else: ``Any``, pickled, plus its name.
    """
    try:
        declared = typing.get_type_hints(function).get("return", Any)
    except Exception:  # noqa: BLE001 - an unresolvable annotation is as good as none
        declared = Any
    if declared in (Any, object):
        return HydraReturn, None
    if _inline(declared):
        return declared, None
    return Any, getattr(declared, "__name__", str(declared))


def _inline(declared: Any) -> bool:
    origin = typing.get_origin(declared)
    if origin is not None:
        if origin in (typing.Union, types.UnionType):
            return all(_inline(arg) for arg in typing.get_args(declared))
        return origin in (dict, list) and all(_inline(arg) for arg in typing.get_args(declared))
    if declared in (Any,):
        return False
    if dataclasses.is_dataclass(declared):
        return all(_inline(f.type) for f in dataclasses.fields(declared) if not isinstance(f.type, str))
    return isinstance(declared, type) and issubclass(declared, INLINE_TYPES)


def check_json_like(value: Any, where: str = "the value") -> None:
    """Raise TypeError naming the first part of ``value`` that is not JSON-like."""
    if isinstance(value, (DictConfig, ListConfig, *JSON_SCALARS)):
        return
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, (str, int)):
                raise TypeError(f"{where} has a key of type {type(key).__name__}")
            check_json_like(item, f"{where}[{key!r}]")
        return
    if isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            check_json_like(item, f"{where}[{index}]")
        return
    raise TypeError(f"{where} is a {type(value).__module__}.{type(value).__qualname__}")


class HydraReturnTransformer(TypeTransformer[HydraReturn]):
    """JSON-like value <-> msgpack binary literal (the same literal type as flytekit's untyped dict)."""

    def __init__(self) -> None:
        super().__init__("Hydra return value", HydraReturn)

    def get_literal_type(self, t: type[HydraReturn]) -> LiteralType:
        return LiteralType(
            simple=SimpleType.STRUCT,
            annotation=TypeAnnotation({CACHE_KEY_METADATA: {SERIALIZATION_FORMAT: MESSAGEPACK}}),
        )

    def assert_type(self, t: type[HydraReturn], v: Any) -> None:
        try:
            check_json_like(v.value if isinstance(v, HydraReturn) else v, "the returned value")
        except TypeError as error:
            raise TypeTransformerFailedError(
                f"A plain Hydra app run on Flyte returns JSON-like values (numbers, strings, booleans, None, lists, "
                f"dicts, DictConfig) so the launcher gets them back without blob storage, but {error}: return e.g. "
                "float(x), or declare the function's return type and give the launching machine blob storage access."
            ) from None

    def to_literal(self, ctx: FlyteContext, python_val: Any, python_type: type, expected: LiteralType) -> Literal:
        import msgpack

        self.assert_type(HydraReturn, python_val)
        value = python_val.value if isinstance(python_val, HydraReturn) else python_val
        if isinstance(value, (DictConfig, ListConfig)):
            payload: Any = {DICTCONFIG_KEY: OmegaConf.to_container(value, resolve=True)}
        else:
            payload = {"value": value}
        return Literal(scalar=Scalar(binary=Binary(value=msgpack.dumps(payload), tag=MESSAGEPACK)))

    def to_python_value(self, ctx: FlyteContext, lv: Literal, expected_python_type: type) -> Any:
        import msgpack

        if lv.scalar is None or lv.scalar.binary is None:
            raise TypeTransformerFailedError(f"Expected a msgpack literal for a Hydra return value, got {lv}")
        payload = msgpack.loads(lv.scalar.binary.value, strict_map_key=False)
        if DICTCONFIG_KEY in payload:
            return OmegaConf.create(payload[DICTCONFIG_KEY])
        return payload["value"]


TypeEngine.register(HydraReturnTransformer())
