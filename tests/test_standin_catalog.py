"""The stand-in's data catalog keys cached runs as flytepropeller keys datacatalog (tests/flyte_standin/catalog.py)."""

from __future__ import annotations

import json

import pytest
from flyteidl.core import identifier_pb2, interface_pb2, literals_pb2, tasks_pb2, types_pb2

from tests.flyte_standin.catalog import _object_hash, catalog_key, hash_literal_map


@pytest.mark.parametrize(
    ("common_json", "expected"),
    [  # objecthash's own vectors (github.com/benlaurie/objecthash, CommonJSONHash)
        ("[]", "acac86c0e609ca906f632b0e2dacccb2b77d22b0621f20ebece1a4835b93f6f0"),
        ('["foo", "bar"]', "32ae896c413cfdc79eec68be9139c86ded8b279238467c216cf2bec4d5f1e4a2"),
        ('{"foo": "bar"}', "7ef5237c3027d6c58100afadf37796b3d351025cf28038280147d42fdc53b960"),
        ("[123]", "2e72db006266ed9cdaa353aa22b9213e8a3c69c838349437c06896b1b34cee36"),
        ("[1, 2, 3]", "925d474ac71f6e8cb35dd951d123944f7cabc5cda9a043cf38cd638cc0158db0"),
    ],
)
def test_objecthash_matches_its_reference_vectors(common_json: str, expected: str) -> None:
    assert _object_hash(json.loads(common_json, parse_int=float)).hex() == expected


def _int(value: int) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=value)))


def _float(value: float) -> literals_pb2.Literal:
    return literals_pb2.Literal(scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(float_value=value)))


def _template(
    name: str = "main.train", version: str = "v1", cache_version: str = "1", output: int = 2
) -> tasks_pb2.TaskTemplate:
    variable = interface_pb2.Variable(type=types_pb2.LiteralType(simple=output))
    return tasks_pb2.TaskTemplate(
        id=identifier_pb2.Identifier(
            resource_type=identifier_pb2.TASK, project="flytesnacks", domain="development", name=name, version=version
        ),
        metadata=tasks_pb2.TaskMetadata(discoverable=True, discovery_version=cache_version),
        interface=interface_pb2.TypedInterface(outputs=interface_pb2.VariableMap(variables={"o0": variable})),
    )


def test_the_key_holds_the_task_name_and_cache_version_not_the_registration_version() -> None:
    inputs = literals_pb2.LiteralMap(literals={"a": _int(1)})
    key = catalog_key(_template(), inputs)
    assert key.dataset == "flyte_task-main.train" and key.tag.startswith("flyte_cached-")
    assert key.version.startswith("1-")
    assert catalog_key(_template(version="v2"), inputs) == key  # a new registration keeps the cache
    assert catalog_key(_template(name="app.main.train"), inputs).dataset != key.dataset
    assert catalog_key(_template(cache_version="2"), inputs).version != key.version
    assert catalog_key(_template(output=3), inputs).version != key.version  # the interface is hashed


def test_the_inputs_hash_ignores_order_honours_literal_hashes_and_ignored_inputs() -> None:
    one = literals_pb2.LiteralMap(literals={"a": _int(1), "b": _int(2)})
    other = literals_pb2.LiteralMap()
    other.literals["b"].CopyFrom(_int(2))
    other.literals["a"].CopyFrom(_int(1))
    assert hash_literal_map(one) == hash_literal_map(other)
    assert hash_literal_map(one) != hash_literal_map(literals_pb2.LiteralMap(literals={"a": _float(1.0), "b": _int(2)}))
    hashed = literals_pb2.Literal(hash="abc", scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=5)))
    hashed_other = literals_pb2.Literal(
        hash="abc", scalar=literals_pb2.Scalar(primitive=literals_pb2.Primitive(integer=6))
    )
    assert hash_literal_map(literals_pb2.LiteralMap(literals={"x": hashed})) == hash_literal_map(
        literals_pb2.LiteralMap(literals={"x": hashed_other})
    )
    assert hash_literal_map(one, ignore=["b"]) == hash_literal_map(literals_pb2.LiteralMap(literals={"a": _int(1)}))
    with pytest.raises(ValueError, match="empty discoveryVersion"):
        catalog_key(_template(cache_version=" "), one)
