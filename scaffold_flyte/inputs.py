"""Split config: a workflow's inputs, filled from a job's config by name, and turned into Flyte literals.

An input ``model: DictConfig`` takes the config's ``model`` node, an input named ``cfg`` or
``config`` takes the whole config (unless the config has a key of that name), and any other input
(``str``, ``int``, a file path) takes the value under its name. Each task then receives only its
part of the config, so Flyte's cache hits per sub-config.

Everything is checked here, while planning (before any build, upload, RPC or job), for every job
of a sweep: a ``???`` or an interpolation that does not resolve anywhere in an input, keys the
OmegaConf type transformer cannot carry, and then each value is turned into its Flyte literal with
flytekit's TypeEngine and the workflow's own input types, exactly as flytekit does when the
workflow runs. A value of the wrong shape would otherwise fail inside flytekit, locally once other
jobs have run, remotely once the code is registered or other jobs' executions exist, as a long
traceback; here it is one line naming the job, the input, the config key and the fix.

Inputs that carry data by reference (files, directories, pickled values, data frames) are not
converted: their literal is made by uploading the data (locally, by copying it into flytekit's
sandbox), which planning must not do. A ``FlyteFile`` or ``FlyteDirectory`` input is checked for
what it will need instead: a path of a file (a directory) that exists, or a URI.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import types
import typing
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import ConfigInputError, RegistrationError, ScaffoldFlyteError, UnsupportedConfigError

WHOLE_CONFIG_NAMES = ("cfg", "config")
WHOLE_CONFIG = "<whole config>"


@dataclasses.dataclass(frozen=True)
class InputSpec:
    """One workflow input: its name, Python type, and default (``inspect.Parameter.empty`` if none)."""

    name: str
    python_type: Any
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty


def input_specs(entity: Any) -> list[InputSpec]:
    """The inputs of a flytekit workflow or task, in declaration order."""
    interface = entity.python_interface
    specs = []
    for name, (python_type, default) in interface.inputs_with_defaults.items():
        has_default = name in interface.default_inputs_as_kwargs
        specs.append(InputSpec(name, python_type, default if has_default else inspect.Parameter.empty))
    return specs


def input_source(cfg: DictConfig, name: str) -> str | None:
    """Where the input ``name`` takes its value from: its config key, ``WHOLE_CONFIG`` (an input named
    cfg or config, with no key of that name), or None when the config has neither."""
    if name in cfg or OmegaConf.is_missing(cfg, name):  # `in` is False for a ??? value
        return name
    if name in WHOLE_CONFIG_NAMES:
        return WHOLE_CONFIG
    return None


def workflow_inputs(entity: Any, cfg: DictConfig, where: str = "") -> dict[str, Any]:
    """The keyword arguments that run ``entity`` on ``cfg``, each checked down to its Flyte literal.

    ``where`` names the job in error messages (``"job #3 (lr=0.1)"``), since one bad job of a sweep
    stops the whole launch before anything runs.
    """
    return planned_inputs(entity, cfg, where)[0]


def planned_inputs(
    entity: Any, cfg: DictConfig, where: str = "", with_literals: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The keyword arguments that run ``entity`` on ``cfg``, and the Flyte literals they make.

    The literals are flytekit's own (``TypeEngine.to_literal`` with the workflow's input types);
    an input that carries data by reference (a file, a directory) has none: it is checked, not
    converted, since converting it uploads the data. ``with_literals=False`` skips that step (the
    costly one) for a caller that has converted this job already and only needs the values.
    """
    literal_types = _literal_types(entity) if with_literals else {}
    kwargs: dict[str, Any] = {}
    literals: dict[str, Any] = {}
    for spec in input_specs(entity):
        key = input_source(cfg, spec.name)
        if key is None:
            if not spec.required:
                continue  # the Python default applies
            raise ConfigInputError(
                f"{_prefix(where)}workflow input '{spec.name}' has no config node '{spec.name}': add "
                f"'{spec.name}:' to your config, or override it with +{spec.name}=<value>."
            )
        node = cfg if key == WHOLE_CONFIG else cfg._get_node(key)
        check_complete(node, "" if key == WHOLE_CONFIG else key, spec.name, where)
        value = cfg if key == WHOLE_CONFIG else _select(cfg, key)
        try:
            kwargs[spec.name] = convert_value(spec, value, key, where, node)
        except ScaffoldFlyteError:
            raise
        except Exception as error:  # noqa: BLE001 - OmegaConf's and dataclasses' own errors, told in one line
            raise ConfigInputError(_refusal(spec, key, node, where, _reason(error))) from None
        if not with_literals:
            continue
        literal = input_literal(spec, kwargs[spec.name], literal_types.get(spec.name), key, node, where)
        if literal is not None:
            literals[spec.name] = literal
    return kwargs, literals


def _select(cfg: DictConfig, key: str) -> Any:
    node = cfg._get_node(key)
    if isinstance(node, (DictConfig, ListConfig)):
        return node
    return cfg[key]


def convert_value(spec: InputSpec, value: Any, key: str, where: str = "", node: Any = None) -> Any:
    """Turn a config value into what the input's type expects (DictConfig stays a DictConfig).

    ``node`` is the config node ``value`` was read from: errors show it as written.
    """
    target = spec.python_type
    origin = typing.get_origin(target) or target
    written = value if node is None else node
    if origin is DictConfig and not isinstance(value, DictConfig) and value is not None:
        raise ConfigInputError(_refusal(spec, key, written, where))
    if origin in SCALARS and isinstance(value, (DictConfig, ListConfig)):
        raise ConfigInputError(_refusal(spec, key, written, where))
    if isinstance(value, DictConfig):
        if origin is DictConfig:
            check_transferable(value, key, where)
            return value
        if dataclasses.is_dataclass(origin) and isinstance(origin, type):
            return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(origin), value))
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, ListConfig):
        if origin is ListConfig:
            check_transferable(value, key, where)
            return value
        return OmegaConf.to_container(value, resolve=True)
    if _is_path_type(origin) and isinstance(value, str) and "://" not in value:
        return _absolute_path(value)
    if origin in SCALARS and not _fits(value, origin):
        raise ConfigInputError(_refusal(spec, key, written, where))
    if origin is float:
        return float(value)  # `seconds=20` on the command line is an int; Flyte's float input wants a float
    return value


SCALARS = (int, float, str, bool)


def _fits(value: Any, scalar: type) -> bool:
    """Whether flytekit will take ``value`` for an input of type ``scalar`` (an int for a float too)."""
    if isinstance(value, bool) and scalar is not bool:
        return False
    if scalar is float:
        return isinstance(value, (int, float))
    return isinstance(value, scalar)


# -- complete: no ??? and no interpolation that fails ---------------------------------------------


def check_complete(node: Any, path: str, name: str, where: str = "") -> None:
    """Refuse a ``???`` or an interpolation that does not resolve anywhere in ``node`` (input ``name``).

    The OmegaConf transformer carries a ``???`` to the task as it is (the task then fails, or
    worse, runs on the string "???"), and resolves interpolations only when it serializes: both
    are found here, with the full dotted path of the key.
    """
    shown = path or "the whole config"
    if node._is_missing():
        raise ConfigInputError(
            f"{_prefix(where)}config '{shown}' is ??? (a mandatory value that was never given), and workflow input "
            f"'{name}' takes it: set {path or '<key>'}=<value> on the command line or in your config."
        )
    if node._is_interpolation():
        try:
            node = node._dereference_node()
        except Exception as error:  # noqa: BLE001 - a missing key, a ??? target, a resolver that raises
            raise ConfigInputError(
                f"{_prefix(where)}config '{shown}' = {node._value()} does not resolve ({_reason(error)}), and "
                f"workflow input '{name}' takes it: point the interpolation at a key that has a value, or set "
                f"{path or '<key>'}=<value>."
            ) from None
        check_complete(node, path, name, where)
        return
    if isinstance(node, (DictConfig, ListConfig)) and not node._is_none():
        keys = list(node) if isinstance(node, DictConfig) else range(len(node))
        for child in keys:
            child_path = f"{path}[{child}]" if isinstance(node, ListConfig) else _join(path, child)
            check_complete(node._get_node(child), child_path, name, where)


# -- transferable: keys the OmegaConf transformer can flatten -------------------------------------


def check_transferable(cfg: DictConfig | ListConfig, key: str, where: str = "") -> None:
    """Refuse keys the OmegaConf transformer cannot flatten (a dot in a key, a non-string key),
    in the node and in every node under it, lists' items included."""
    for bad_key, path in _bad_keys(cfg, "" if key == WHOLE_CONFIG else key):
        if isinstance(bad_key, str):
            fix = f"rename '{bad_key}' without dots (e.g. '{bad_key.replace('.', '_')}')"
        else:
            fix = f"use a string key such as '{bad_key}' in quotes"
        at = f"at '{path}'" if path else "at the top of the config"
        raise UnsupportedConfigError(
            f"{_prefix(where)}config key {bad_key!r} {at} cannot be passed to a Flyte task "
            f"(the OmegaConf transformer needs string keys without dots): {fix}."
        )


def _bad_keys(node: Any, path: str) -> Iterator[tuple[Any, str]]:
    if node._is_missing() or node._is_none():
        return
    if node._is_interpolation():
        try:
            node = node._dereference_node()
        except Exception:  # noqa: BLE001 - check_complete names it; nothing to flatten here
            return
    if isinstance(node, DictConfig):
        for k in node:
            if not isinstance(k, str) or "." in k:
                yield k, path
                continue
            yield from _bad_keys(node._get_node(k), _join(path, k))
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            yield from _bad_keys(node._get_node(index), f"{path}[{index}]")


# -- literals ------------------------------------------------------------------------------------


def input_literal(spec: InputSpec, value: Any, literal_type: Any, key: str, node: Any, where: str = "") -> Any:
    """``value`` as the Flyte literal of the input's type, made as flytekit makes it when the workflow runs.

    Converted in the current (local) FlyteContext: nothing is sent anywhere. None for an input
    that carries data by reference, which is checked instead (see ``check_data_input``).
    """
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    try:
        if literal_type is None:
            literal_type = TypeEngine.to_literal_type(spec.python_type)
        if _carries_data(spec.python_type, literal_type):
            check_data_input(spec, value, key, node, where)
            return None
        return TypeEngine.to_literal(FlyteContextManager.current_context(), value, spec.python_type, literal_type)
    except ScaffoldFlyteError:
        raise
    except Exception as error:  # noqa: BLE001 - every transformer raises its own kind
        raise ConfigInputError(_refusal(spec, key, node, where, _reason(error))) from None


def check_data_input(spec: InputSpec, value: Any, key: str, node: Any, where: str = "") -> None:
    """A file or directory input: a URI, or the path of a file (a directory) that exists.

    Only these two are checked: a URI's object is not looked up (that needs the storage's
    credentials; the task reads it), and data nested in a list, a dict or a dataclass, or a
    pickled value, is left to flytekit, as converting it would upload it.
    """
    kind = _path_kind(spec.python_type)
    if kind is None or value is None:
        return
    if not isinstance(value, (str, os.PathLike)):
        raise ConfigInputError(_refusal(spec, key, node, where))
    path = os.fspath(value)
    if "://" in path:
        return
    shown = f"config '{key}' names {path}"
    if not os.path.exists(path):
        problem = "which does not exist"
    elif kind == "file" and not os.path.isfile(path):
        problem = "which is a directory, not a file"
    elif kind == "directory" and not os.path.isdir(path):
        problem = "which is a file, not a directory"
    else:
        return
    raise ConfigInputError(
        f"{_prefix(where)}workflow input '{spec.name}' expects {_expected(spec.python_type)}, but {shown}, "
        f"{problem}: set {key}=<path of a {kind}, or a URI> (a relative path is taken from where you launch)."
    )


def _literal_types(entity: Any) -> dict[str, Any]:
    """The workflow's own literal types by input name, as flytekit compiled its interface."""
    interface = getattr(entity, "interface", None)
    variables = getattr(interface, "inputs", None) or {}
    return {name: variable.type for name, variable in variables.items()}


def _carries_data(python_type: Any, literal_type: Any) -> bool:
    """Whether making the literal uploads data: a blob (file, directory, pickle), a data frame, a
    schema anywhere in the literal type, or a path type anywhere in the Python type (a dataclass's
    fields' files are uploaded too, though its literal type is a plain struct)."""
    return _literal_carries_data(literal_type) or _python_carries_data(python_type, set())


def _literal_carries_data(literal_type: Any) -> bool:
    if literal_type is None:
        return False
    if literal_type.blob is not None or literal_type.structured_dataset_type is not None:
        return True
    if literal_type.schema is not None:
        return True
    if literal_type.union_type is not None:
        return any(_literal_carries_data(variant) for variant in literal_type.union_type.variants)
    return _literal_carries_data(literal_type.collection_type) or _literal_carries_data(literal_type.map_value_type)


def _python_carries_data(python_type: Any, seen: set[int]) -> bool:
    if id(python_type) in seen:
        return False
    seen.add(id(python_type))
    if isinstance(python_type, type) and issubclass(python_type, os.PathLike):
        return True
    if any(_python_carries_data(arg, seen) for arg in typing.get_args(python_type)):
        return True
    if dataclasses.is_dataclass(python_type) and isinstance(python_type, type):
        try:
            hints = typing.get_type_hints(python_type)
        except Exception:  # noqa: BLE001 - unresolvable annotations: flytekit decides
            return False
        return any(_python_carries_data(hint, seen) for hint in hints.values())
    return False


def _path_kind(python_type: Any) -> str | None:
    """``file`` or ``directory`` for a FlyteFile or FlyteDirectory input (also Optional, Annotated), else None."""
    from flytekit.types.directory import FlyteDirectory
    from flytekit.types.file import FlyteFile

    origin = typing.get_origin(python_type)
    if origin is typing.Annotated:
        return _path_kind(typing.get_args(python_type)[0])
    if origin is typing.Union or origin is types.UnionType:
        kinds = {_path_kind(arg) for arg in typing.get_args(python_type) if arg is not type(None)}
        return kinds.pop() if len(kinds) == 1 else None
    if isinstance(python_type, type) and issubclass(python_type, FlyteFile):  # FlyteFile["csv"] is a subclass
        return "file"
    if isinstance(python_type, type) and issubclass(python_type, FlyteDirectory):
        return "directory"
    return None


# -- one line per refusal ------------------------------------------------------------------------


def _refusal(spec: InputSpec, key: str, given: Any, where: str, reason: str = "") -> str:
    """``<job>: workflow input 'x' expects <type>, but config 'k' is <value> (<kind>)[ (<why>)]: <fix>.``

    ``given`` is the config node (or value) as the config has it: an interpolation is shown as
    written, never as its resolved value (which may come from the environment).
    """
    because = f" ({reason})" if reason else ""
    where_key = "the whole config" if key == WHOLE_CONFIG else f"config '{key}'"
    return (
        f"{_prefix(where)}workflow input '{spec.name}' expects {_expected(spec.python_type)}, but {where_key} is "
        f"{_given(given)}{because}: {_fix(spec.python_type, key)}."
    )


def _expected(python_type: Any) -> str:
    origin = typing.get_origin(python_type) or python_type
    if origin is DictConfig:
        return "a config node (DictConfig)"
    if origin is ListConfig:
        return "a list (ListConfig)"
    kind = _path_kind(python_type)
    if kind is not None:
        return f"the path of a {kind} ({_type_text(python_type)})"
    return _type_text(python_type)


def _type_text(python_type: Any) -> str:
    if isinstance(python_type, type) and typing.get_origin(python_type) is None:
        return python_type.__name__
    return str(python_type).replace("typing.", "")


def _given(given: Any) -> str:
    """A config value as the user wrote it, and its kind: ``3 (int)``, ``{'lr': 0.1} (a config node)``."""
    if isinstance(given, (DictConfig, ListConfig)) or hasattr(given, "_is_interpolation"):
        if given._is_interpolation():
            return f"{given._value()} (an interpolation)"
        if isinstance(given, DictConfig):
            return "None" if given._is_none() else f"{_short(given)} (a config node)"
        if isinstance(given, ListConfig):
            return "None" if given._is_none() else f"{_short(given)} (a list)"
        given = given._value()
    kind = "a list" if isinstance(given, (list, tuple)) else "a config node" if isinstance(given, dict) else None
    return f"{_short(given)} ({kind or type(given).__name__})"


def _fix(python_type: Any, key: str) -> str:
    target = "<key>" if key == WHOLE_CONFIG else key
    origin = typing.get_origin(python_type) or python_type
    if origin is DictConfig:
        return f"make '{target}' a config node (keys under '{target}:' in your config, or {target}.<name>=<value>)"
    if origin in SCALARS:
        return f"set {target}=<{origin.__name__}>"
    kind = _path_kind(python_type)
    if kind is not None:
        return f"set {target}=<path of a {kind}, or a URI>"
    if origin in (list, ListConfig):
        return f"set {target}=[<item>, ...] with items of the type {_type_text(python_type)} holds"
    if dataclasses.is_dataclass(origin) and isinstance(origin, type):
        return f"give '{target}' the fields of {origin.__name__} with values of their types"
    return f"set {target} to a value of type {_type_text(python_type)}"


def _reason(error: BaseException) -> str:
    """An exception's message on one line: OmegaConf's first line (its others repeat the key and the node type)."""
    lines = str(error).strip().splitlines() or [type(error).__name__]
    first = lines[0] if "full_key:" in str(error) else " ".join(" ".join(lines).split())
    return first if len(first) <= 200 else f"{first[:197]}..."


def _join(path: str, key: Any) -> str:
    return f"{path}.{key!s}" if path else str(key)


def _is_path_type(python_type: Any) -> bool:
    if python_type is os.PathLike or (isinstance(python_type, type) and issubclass(python_type, os.PathLike)):
        return True
    return getattr(python_type, "__name__", "") in ("FlyteFile", "FlyteDirectory")


def _absolute_path(value: str) -> str:
    """Relative data paths are relative to where the user launched, not to Hydra's job directory."""
    from hydra.utils import to_absolute_path

    try:
        return to_absolute_path(value)
    except ValueError:  # outside a Hydra run (no HydraConfig): relative to the current directory
        return os.path.abspath(value)


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


# -- against a registered launch plan -------------------------------------------------------------
# flyteadmin checks an execution's inputs against the launch plan's expected inputs (its default
# inputs, which flyteadmin completes with the workflow's unbound ones, and which it stores as the
# closure's expected_inputs too) and its fixed inputs: an unknown input, a missing required one, an
# override of a fixed one or a literal whose type is not castable to the declared one is
# INVALID_ARGUMENT (flyteadmin/pkg/manager/impl/validation/execution_validator.go
# CheckAndFetchInputsForExecution; launch_plan_validator.go, repositories/transformers/launch_plan.go).
# The same checks run here for every job, and every input is turned into its literal with the
# registered type, before the first execution is created: a sweep stops whole, or not at all.


def registered_literals(
    remote: Any,
    launch_plan: Any,
    requests: typing.Sequence[Any],
    local_types: typing.Mapping[str, Any],
    registered: str,
) -> dict[int, dict[str, Any]]:
    """Each request's inputs as Flyte literals of the launch plan's registered types, by job number.

    ``launch_plan`` is the FlyteLaunchPlan fetched from Flyte, ``local_types`` the local
    workflow's input types and ``registered`` names the registered workflow and version in
    errors. An input keeps its local type where that is the registered type; otherwise it is
    converted with the Python type flytekit guesses for the registered one, which fails for a
    value that type cannot hold.
    """
    import functools

    from flytekit.core.type_engine import TypeEngine

    expected = dict(launch_plan.default_inputs.parameters) if launch_plan.default_inputs else {}
    fixed = dict(launch_plan.fixed_inputs.literals) if launch_plan.fixed_inputs else {}
    fix = (
        "register this code (drop hydra.launcher.version, or set hydra.launcher.build=auto) or launch the code "
        "that version was made from."
    )
    literals: dict[int, dict[str, Any]] = {}
    with remote.remote_context() as ctx:
        # as FlyteRemote._execute does before converting: local files are uploaded through the data proxy
        remote.file_access._get_upload_signed_url_fn = functools.partial(
            remote.client.get_upload_signed_url, project=remote.default_project, domain=remote.default_domain
        )
        for request in requests:
            for name in request.inputs:
                if name in fixed:
                    raise RegistrationError(
                        f"{request.label}: the registered {registered} fixes input '{name}', which Flyte does not "
                        f"let an execution override: drop '{name}' from the workflow's inputs, or {fix}"
                    )
                if name not in expected:
                    raise RegistrationError(
                        f"The registered {registered} does not declare input '{name}' (it declares: "
                        f"{', '.join(sorted(expected)) or 'none'}): {fix}"
                    )
            missing = sorted(n for n, p in expected.items() if p.required and n not in request.inputs)
            if missing:
                raise RegistrationError(
                    f"{request.label}: the registered {registered} requires input(s) {', '.join(missing)}, which "
                    f"this code does not fill: {fix}"
                )
            converted = {}
            for name, value in request.inputs.items():
                declared = expected[name].var.type
                local = local_types.get(name)
                same = local is not None and TypeEngine.to_literal_type(local) == declared
                hint = local if same else TypeEngine.guess_python_type(declared)
                try:
                    converted[name] = TypeEngine.to_literal(ctx, value, hint, declared)
                except Exception as error:  # noqa: BLE001 - every transformer raises its own kind
                    differs = "" if same else f" (this code declares {_type_name(local)})"
                    raise ConfigInputError(
                        f"{request.label}: input '{name}' = {_short(value)} does not fit the registered {registered}, "
                        f"which declares it as {_type_name(declared)}{differs} ({' '.join(str(error).split())}): "
                        f"give a value of that type, or {fix}"
                    ) from None
            literals[request.num] = converted
    return literals


_SIMPLE = ("none", "int", "float", "str", "bool", "datetime", "timedelta", "binary", "error", "struct")


def _type_name(declared: Any) -> str:
    """A Flyte literal type (or a Python type) as a user reads it: ``int``, ``list of float``, ``file``."""
    if declared is None or isinstance(declared, type) or typing.get_origin(declared) is not None:
        return getattr(declared, "__name__", str(declared))
    if declared.collection_type is not None:
        return f"list of {_type_name(declared.collection_type)}"
    if declared.map_value_type is not None:
        return f"dict of {_type_name(declared.map_value_type)}"
    if declared.union_type is not None:
        return " | ".join(_type_name(v) for v in declared.union_type.variants)
    if declared.blob is not None:
        return "directory" if declared.blob.dimensionality == 1 else "file"
    if declared.simple is not None:
        return _SIMPLE[declared.simple] if declared.simple < len(_SIMPLE) else str(declared.simple)
    return "a structured type"


def _short(value: Any, limit: int = 80) -> str:
    text = " ".join(repr(value).split())
    return text if len(text) <= limit else f"{text[: limit - 3]}..."
