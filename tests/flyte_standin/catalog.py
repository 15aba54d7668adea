"""The stand-in's data catalog: cached task outputs, keyed as flytepropeller keys them in datacatalog.

A TEST STAND-IN (see the package docstring). Mirrors:
- flytepropeller/pkg/controller/nodes/catalog/datacatalog/transformer.go: dataset
  ``flyte_task-<task name>`` in the task's project and domain, dataset version
  ``<cache version>-<inputs interface hash>-<outputs interface hash>`` (each hash cut to 8
  characters), artifact tag ``flyte_cached-<hash of the input literals>``. The registration
  version is NOT part of the key; the task name is.
- flyteplugins/go/tasks/pluginmachinery/catalog/hashing.go: the input hash is pbhash of the input
  literal map after "hashify" (a literal with its ``hash`` set counts by that hash only), base64
  URL encoding without padding; ``cache_ignore_input_vars`` are left out.
- flytestdlib/pbhash/pbhash.go: jsonpb (lowerCamelCase names, defaults omitted), then objecthash's
  CommonJSONHash (github.com/benlaurie/objecthash: every JSON number is a float).
- flytepropeller/pkg/controller/nodes/executor.go and cache.go: a cacheable node looks the key up
  (CACHE_HIT: outputs copied, the task does not run; CACHE_MISS: it runs, then its outputs are
  put: CACHE_POPULATED); with the execution's ``overwrite_cache`` the lookup is skipped and the
  entry overwritten after the run; a task that is not discoverable reports CACHE_DISABLED.
"""

from __future__ import annotations

import base64
import hashlib
import json
import threading
import unicodedata
from dataclasses import dataclass
from typing import Any

from flyteidl.core import interface_pb2, literals_pb2
from google.protobuf import json_format

TASK_NAMESPACE, CACHED_TAG = "flyte_task", "flyte_cached"
MAX_PARAM_HASH_LENGTH = 8


@dataclass(frozen=True)
class CatalogKey:
    project: str
    domain: str
    dataset: str  # flyte_task-<task name>
    version: str  # <cache version>-<interface hash>
    tag: str  # flyte_cached-<inputs hash>


def catalog_key(task_template: Any, inputs: literals_pb2.LiteralMap) -> CatalogKey:
    """The datacatalog key of a cacheable task's run on ``inputs`` (transformer.go)."""
    task_id, metadata = task_template.id, task_template.metadata
    cache_version = metadata.discovery_version.strip(" ")
    if not cache_version:
        raise ValueError(f"task {task_id.name} cannot have an empty discoveryVersion")
    signature = _interface_hash(task_template.interface)
    tag = f"{CACHED_TAG}-{hash_literal_map(inputs, list(metadata.cache_ignore_input_vars))}"
    return CatalogKey(
        task_id.project, task_id.domain, f"{TASK_NAMESPACE}-{task_id.name}", f"{cache_version}-{signature}", tag
    )


def hash_literal_map(literal_map: literals_pb2.LiteralMap, ignore: list[str] | None = None) -> str:
    """catalog.HashLiteralMap: hashify each literal, pbhash the map, base64 URL encoding, no padding."""
    hashified = literals_pb2.LiteralMap(
        literals={name: _hashify(lit) for name, lit in literal_map.literals.items() if name not in (ignore or [])}
    )
    return base64.urlsafe_b64encode(compute_hash(hashified)).decode().rstrip("=")


def _hashify(literal: literals_pb2.Literal) -> literals_pb2.Literal:
    if literal.hash:
        return literals_pb2.Literal(hash=literal.hash)
    if literal.HasField("collection"):
        items = [_hashify(item) for item in literal.collection.literals]
        return literals_pb2.Literal(collection=literals_pb2.LiteralCollection(literals=items))
    if literal.HasField("map"):
        entries = {key: _hashify(item) for key, item in literal.map.literals.items()}
        return literals_pb2.Literal(map=literals_pb2.LiteralMap(literals=entries))
    return literal


def _interface_hash(interface: interface_pb2.TypedInterface) -> str:
    inputs = interface.inputs if interface.inputs.variables else interface_pb2.VariableMap()
    outputs = interface.outputs if interface.outputs.variables else interface_pb2.VariableMap()
    parts = [
        base64.urlsafe_b64encode(compute_hash(m)).decode().rstrip("=")[:MAX_PARAM_HASH_LENGTH]
        for m in (inputs, outputs)
    ]
    return "-".join(parts)


def compute_hash(message: Any) -> bytes:
    """pbhash.ComputeHash: jsonpb, then objecthash's CommonJSONHash."""
    text = json_format.MessageToJson(message, preserving_proto_field_name=False, indent=None)
    return _object_hash(json.loads(text, parse_int=float))


def _h(kind: bytes, payload: bytes) -> bytes:
    return hashlib.sha256(kind + payload).digest()


def _object_hash(value: Any) -> bytes:
    """objecthash (benlaurie/objecthash/go/objecthash.go) over JSON values."""
    if value is None:
        return _h(b"n", b"")
    if isinstance(value, bool):
        return _h(b"b", b"1" if value else b"0")
    if isinstance(value, float):
        return _h(b"f", _normalize_float(value).encode())
    if isinstance(value, str):
        return _h(b"u", unicodedata.normalize("NFC", value).encode())
    if isinstance(value, list):
        return _h(b"l", b"".join(_object_hash(item) for item in value))
    if isinstance(value, dict):
        pairs = sorted(_object_hash(key) + _object_hash(item) for key, item in value.items())
        return _h(b"d", b"".join(pairs))
    raise TypeError(f"objecthash: unsupported JSON value {value!r}")


def _normalize_float(f: float) -> str:
    if f == 0:
        return "+0:"
    sign = "+"
    if f < 0:
        sign, f = "-", -f
    exponent = 0
    while f > 1:
        f /= 2
        exponent += 1
    while f <= 0.5:
        f *= 2
        exponent -= 1
    mantissa = ""
    while f != 0:
        if f >= 1:
            mantissa += "1"
            f -= 1
        else:
            mantissa += "0"
        f *= 2
        if len(mantissa) >= 1000:
            raise ValueError("objecthash: could not normalize float")
    return f"{sign}{exponent}:{mantissa}"


class DataCatalog:
    """Artifacts by key: the output literal map of the run that populated them."""

    def __init__(self) -> None:
        self._artifacts: dict[CatalogKey, literals_pb2.LiteralMap] = {}
        self._lock = threading.Lock()

    def get(self, key: CatalogKey) -> literals_pb2.LiteralMap | None:
        with self._lock:
            return self._artifacts.get(key)

    def put(self, key: CatalogKey, outputs: literals_pb2.LiteralMap) -> None:
        """Put and Update alike: the stand-in keeps the latest artifact under the tag."""
        with self._lock:
            self._artifacts[key] = outputs

    def datasets(self) -> list[CatalogKey]:
        with self._lock:
            return list(self._artifacts)
