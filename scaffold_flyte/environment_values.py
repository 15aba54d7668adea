"""Execution inputs that come from the environment, refused by how they resolve, not by how they read.

An execution's inputs are sent to Flyte and stored there in plain text, so a token that a config
reads from the environment must not become one. Looking for ``oc.env`` in the config's text misses
most ways a value gets there: through another key (``token: ${holder}``), a whole-node
interpolation (``data: ${secrets}``), a custom resolver that reads ``os.environ`` or
``os.getenv``, a structured config's default. So each job's inputs are resolved again, with every
value of the environment replaced by a marker of its own and every variable that is not set reading
as one too: a marker in the result, or a value that fails or comes out differently, is a value that
depends on the environment, and its config path is named.

Reading an unset variable counts (``${oc.env:TOKEN,none}`` with TOKEN unset): the same config
would carry the token the day someone launches it with TOKEN set, so whether a launch is refused
must not hang on who launches it.

The marked environment is the process's own ``os.environ``, patched in place (so a resolver that
kept a reference to it, or starts a subprocess, sees the markers too) and put back exactly
afterwards. That is safe because this runs while planning, in the launch's one thread, before any
connection or build is made. The real values are never printed: a refusal names the config path,
its interpolation as written and the variable's name.

Not seen: a resolver that keeps its own cache (``functools.cache``) answers from it under the marked
environment too; OmegaConf's own cache (``use_cache=True``) is emptied for each resolution.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import os
import re
import typing
import uuid
from collections.abc import Iterator, MutableMapping
from typing import Any, cast

from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import ConfigInputError
from scaffold_flyte.inputs import SCALARS, WHOLE_CONFIG, input_source, input_specs, planned_inputs

_MAX_DEPTH = 200  # a deeper value is a cycle (a dataclass that holds itself), not a config


@dataclasses.dataclass(frozen=True)
class _Finding:
    path: str  # the config path, "model.hosts[1]"; "" for the whole config
    source: str  # "config" (a config node), "input" (an input as converted), "inputs" (their conversion)
    variable: str | None  # the environment variable whose marker showed up, if one did
    failed: bool  # the value does not resolve under the marked environment (but does under the real one)


class Markers:
    """A unique marker per environment variable, and the way back from a marker to the variable's name."""

    def __init__(self) -> None:
        self._nonce = uuid.uuid4().hex[:12]
        self._names: list[str] = []
        self._by_name: dict[str, str] = {}
        # markers are searched for case-insensitively: a resolver that upper-cases its value still shows them
        self._pattern = re.compile(rf"scaffoldenv{self._nonce}n(\d+)z", re.IGNORECASE)

    def __call__(self, name: str) -> str:
        if name not in self._by_name:
            self._by_name[name] = f"scaffoldenv{self._nonce}n{len(self._names)}z"
            self._names.append(name)
        return self._by_name[name]

    def variable_in(self, text: str) -> str | None:
        """The variable whose marker ``text`` holds, if any."""
        found = self._pattern.search(text)
        return self._names[int(found.group(1))] if found else None


class _MarkedEnviron(MutableMapping[str, str]):
    """``os.environ`` while marked: its own (marked) values, and a marker for any variable it lacks."""

    def __init__(self, real: MutableMapping[str, str], markers: Markers) -> None:
        self._real = real
        self._markers = markers

    def __getitem__(self, key: str) -> str:
        try:
            return self._real[key]
        except KeyError:
            return self._markers(key)

    def __setitem__(self, key: str, value: str) -> None:
        self._real[key] = value

    def __delitem__(self, key: str) -> None:
        del self._real[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._real)

    def __len__(self) -> int:
        return len(self._real)

    def copy(self) -> dict[str, str]:
        return dict(self)


@contextlib.contextmanager
def marked_environment(markers: Markers) -> Iterator[None]:
    """Every environment value replaced by its marker, unset variables reading as markers; restored exactly after.

    Not thread-safe (the process environment is shared): call it only where nothing else runs.
    """
    real = os.environ
    saved = dict(real)
    try:
        for key in saved:
            with contextlib.suppress(ValueError, OSError):  # a name the C environment cannot take: left as is
                real[key] = markers(key)
        # swapped on purpose (os.getenv reads this module global too); the real one is put back below
        os.environ = cast(Any, _MarkedEnviron(real, markers))  # noqa: B003
        yield
    finally:
        os.environ = real  # noqa: B003
        for key in [k for k in real if k not in saved]:
            del real[key]
        for key, value in saved.items():
            if real.get(key) != value:
                real[key] = value


def refuse_env_values(entity: Any, cfg: DictConfig, where: str) -> None:
    """Refuse the job (``where`` names it) if an input of ``entity`` filled from ``cfg`` depends on the environment.

    ``cfg`` is the job's task config (HydraConfig set to the job, for ``${hydra:...}``); it is not
    changed: each resolution works on a copy of it with OmegaConf's resolver cache emptied, so a
    ``use_cache=True`` resolver answers afresh.
    """
    if _cannot_read_environment(entity, cfg):
        return
    markers = Markers()
    # real, marked, real: a value that differs between the two real passes (``${now:...}``) is not
    # blamed on the environment; the passes bracket the marked one in time
    before = _resolve(entity, cfg, where)
    with marked_environment(markers):
        marked = _resolve(entity, cfg, where)
    after = _resolve(entity, cfg, where)
    finding = _first_finding(before, marked, after, markers)
    if finding is not None:
        raise ConfigInputError(_message(finding, cfg, where))


# input types whose values are the config's own, taken as they are: no conversion code of the user's
# (a dataclass's default factory, say) runs to make them
_PLAIN_ORIGINS = (DictConfig, ListConfig, dict, list, *SCALARS)


def _cannot_read_environment(entity: Any, cfg: DictConfig) -> bool:
    """Whether no input of ``entity`` can depend on the environment, so the three resolutions are not needed.

    True only when every input's type takes the config's values as they are (a config node, a dict,
    a list, a scalar) and no node an input is made of holds an interpolation: then resolving runs no
    resolver and reads nothing but the config's own literals. Anything else is checked in full.
    """
    for spec in input_specs(entity):
        if (typing.get_origin(spec.python_type) or spec.python_type) not in _PLAIN_ORIGINS:
            return False
        source = input_source(cfg, spec.name)
        if source is None:
            continue  # the Python default applies (or the input is refused as missing, elsewhere)
        if _holds_interpolation(cfg if source == WHOLE_CONFIG else cfg._get_node(source)):
            return False
    return True


def _holds_interpolation(node: Any) -> bool:
    """Whether the config node, or any node under it, is an interpolation (a config tree has no cycles)."""
    if node._is_interpolation():
        return True
    if not isinstance(node, (DictConfig, ListConfig)) or node._is_none() or node._is_missing():
        return False
    keys = list(node) if isinstance(node, DictConfig) else range(len(node))
    return any(_holds_interpolation(node._get_node(key)) for key in keys)


def _resolve(entity: Any, cfg: DictConfig, where: str) -> dict[tuple[str, str], str]:
    """Every leaf the job's inputs are made of, as comparable text: the config's, then the converted inputs'."""
    fresh = copy.deepcopy(cfg)
    OmegaConf.clear_cache(fresh)
    leaves: dict[tuple[str, str], str] = {}
    # the config nodes first, whether or not the inputs convert: their paths and interpolations are
    # what the user wrote
    for spec in input_specs(entity):
        source = input_source(fresh, spec.name)
        if source is not None:
            config_leaves = _leaves(fresh, "") if source == WHOLE_CONFIG else _config_leaves(fresh, source)
            for path, value in config_leaves:
                leaves[("config", path)] = value
    failure: str | None = None
    try:
        inputs = planned_inputs(entity, fresh, where, with_literals=False)[0]  # the job converted already
    except Exception as error:  # noqa: BLE001 - whatever the inputs fail with under this environment
        inputs, failure = {}, _failure(error)
    for name, value in inputs.items():
        # then the inputs as converted (a dataclass input adds its fields' defaults)
        for path, leaf in _leaves(value, name if name in fresh else ""):
            leaves[("input", path)] = leaf
    if failure is not None:
        leaves[("inputs", "")] = failure
    return leaves


def _config_leaves(cfg: DictConfig, key: str) -> Iterator[tuple[str, str]]:
    try:
        value = cfg[key]
    except Exception as error:  # noqa: BLE001 - a value that does not resolve is a leaf of its own
        yield key, _failure(error)
        return
    yield from _leaves(value, key)


def _leaves(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, text) for each leaf of a resolved value: config nodes resolved one by one, containers walked."""
    if depth > _MAX_DEPTH:
        yield path, "<too deep>"
        return
    if isinstance(value, DictConfig):
        if value._is_none() or value._is_missing():
            yield path, repr(value._value())
            return
        for key in value:
            child_path = _join(path, key)
            yield from _key_leaf(path, key)
            try:
                child = value[key]
            except Exception as error:  # noqa: BLE001
                yield child_path, _failure(error)
                continue
            yield from _leaves(child, child_path, depth + 1)
    elif isinstance(value, ListConfig):
        if value._is_none() or value._is_missing():
            yield path, repr(value._value())
            return
        for index in range(len(value)):
            try:
                child = value[index]
            except Exception as error:  # noqa: BLE001
                yield f"{path}[{index}]", _failure(error)
                continue
            yield from _leaves(child, f"{path}[{index}]", depth + 1)
    elif isinstance(value, dict):
        for key, child in value.items():
            yield from _key_leaf(path, key)
            yield from _leaves(child, _join(path, key), depth + 1)
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        for index, child in enumerate(items):
            yield from _leaves(child, f"{path}[{index}]", depth + 1)
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for field in dataclasses.fields(value):
            yield from _leaves(getattr(value, field.name), _join(path, field.name), depth + 1)
    else:
        yield path, f"{type(value).__name__}:{value!r}"


def _key_leaf(path: str, key: Any) -> Iterator[tuple[str, str]]:
    """A key of a mapping counts as a value of its parent (a resolver can build keys from the environment)."""
    yield f"{path}<key {key!r}>", f"key:{key!r}"


def _join(path: str, key: Any) -> str:
    return f"{path}.{key!s}" if path else str(key)


def _failure(error: BaseException) -> str:
    return f"<fails: {type(error).__name__}>"


def _first_finding(
    before: dict[tuple[str, str], str],
    marked: dict[tuple[str, str], str],
    after: dict[tuple[str, str], str],
    markers: Markers,
) -> _Finding | None:
    """The first leaf (in config order) that holds a marker, fails only when marked, or changes when marked."""
    order = list(marked) + [key for key in before if key not in marked]
    for key in order:
        source, path = key
        path = path.split("<key ", 1)[0].rstrip(".")
        text = marked.get(key)
        variable = markers.variable_in(text) if text is not None else None
        if variable is not None:
            return _Finding(path, source, variable, failed=False)
        real, again = before.get(key), after.get(key)
        if real != again:
            continue  # differs without any change of the environment (a clock, a random number)
        if text != real:
            failed = text is not None and text.startswith("<fails") and not (real or "").startswith("<fails")
            return _Finding(path, source, None, failed=failed)
    return None


def _message(finding: _Finding, cfg: DictConfig, where: str) -> str:
    expression = _expression_at(cfg, finding.path)
    if expression:
        shown = f" ({expression})"
    elif finding.source == "input":
        shown = " (as the input's type fills it in: a dataclass field's default)"
    elif finding.source == "inputs":
        shown = " (the inputs do not convert to their types when the environment changes)"
    else:
        shown = ""
    if finding.variable is not None:
        how = f", variable {finding.variable}"
    elif finding.failed:
        how = ": it does not resolve when the environment's values change"
    else:
        how = ": it resolves to another value when the environment's values change"
    what = f"config '{finding.path}'" if finding.path else "the whole config"
    return (
        f"{where}: {what} reads the environment{shown}{how}; as an execution input its value would be sent and "
        "stored in plain text: read it inside the task (os.environ or a Flyte secret), or set "
        "hydra.launcher.allow_env_inputs=true."
    )


_SEGMENT = re.compile(r"\[(\d+)\]|([^.\[\]]+)")


def _expression_at(cfg: DictConfig, path: str) -> str | None:
    """The interpolation as written at ``path`` (the nearest one on the way there), never a resolved value."""
    node: Any = copy.deepcopy(cfg)
    found = None
    for index, key in _SEGMENT.findall(path):
        if not isinstance(node, (DictConfig, ListConfig)):
            return found
        try:
            child: Any = node._get_node(int(index) if index else key)
            if child is None:
                return found
            if child._is_interpolation():
                found = str(child._value())
            node = node[int(index) if index else key] if child._is_interpolation() else child
        except Exception:  # noqa: BLE001 - no further way down: the nearest expression found so far
            return found
    return found
