"""Split config: a workflow's inputs, filled from a job's config by name.

An input ``model: DictConfig`` takes the config's ``model`` node, an input named ``cfg`` or
``config`` takes the whole config (unless the config has a key of that name), and any other input
(``str``, ``int``, a file path) takes the value under its name. Each task then receives only its
part of the config, so Flyte's cache hits per sub-config.

Values are checked here, before anything runs, for what the OmegaConf type transformer cannot carry
between tasks: a failure inside flytekit's serialization would surface mid-run as a traceback.
"""

from __future__ import annotations

import dataclasses
import inspect
import os
import typing
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import ConfigInputError, RegistrationError, UnsupportedConfigError

WHOLE_CONFIG_NAMES = ("cfg", "config")


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


def workflow_inputs(entity: Any, cfg: DictConfig, where: str = "") -> dict[str, Any]:
    """The keyword arguments that run ``entity`` on ``cfg``.

    ``where`` names the job in error messages (``"job #3 (lr=0.1)"``), since one bad job of a sweep
    stops the whole launch before anything runs.
    """
    kwargs: dict[str, Any] = {}
    for spec in input_specs(entity):
        if spec.name in cfg:
            value = _select(cfg, spec.name)
            key = spec.name
        elif spec.name in WHOLE_CONFIG_NAMES:
            value, key = cfg, "<whole config>"
        elif not spec.required:
            continue  # the Python default applies
        else:
            raise ConfigInputError(
                f"{_prefix(where)}workflow input '{spec.name}' has no config node '{spec.name}': add "
                f"'{spec.name}:' to your config, or override it with +{spec.name}=<value>."
            )
        kwargs[spec.name] = convert_value(spec, value, key, where)
    return kwargs


def _select(cfg: DictConfig, key: str) -> Any:
    node = cfg._get_node(key)
    if isinstance(node, (DictConfig, ListConfig)):
        return node
    return cfg[key]


def convert_value(spec: InputSpec, value: Any, key: str, where: str = "") -> Any:
    """Turn a config value into what the input's type expects (DictConfig stays a DictConfig)."""
    target = spec.python_type
    origin = typing.get_origin(target) or target
    if isinstance(value, DictConfig):
        if origin is DictConfig:
            check_transferable(value, key, where)
            return value
        if dataclasses.is_dataclass(origin) and isinstance(origin, type):
            return OmegaConf.to_object(OmegaConf.merge(OmegaConf.structured(origin), value))
        return OmegaConf.to_container(value, resolve=True)
    if isinstance(value, ListConfig):
        if origin is ListConfig:
            return value
        return OmegaConf.to_container(value, resolve=True)
    if _is_path_type(origin) and isinstance(value, str) and "://" not in value:
        return _absolute_path(value)
    if origin in SCALARS and not _fits(value, origin):
        raise ConfigInputError(
            f"{_prefix(where)}workflow input '{spec.name}' expects {origin.__name__}, but config '{key}' "
            f"is {value!r} ({type(value).__name__}): set {key}=<{origin.__name__}>."
        )
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


def check_transferable(cfg: DictConfig, key: str, where: str = "") -> None:
    """Refuse keys the OmegaConf transformer cannot flatten (a dot in a key, a non-string key)."""
    for bad_key, path in _bad_keys(cfg, key):
        if isinstance(bad_key, str):
            fix = f"rename '{bad_key}' without dots (e.g. '{bad_key.replace('.', '_')}')"
        else:
            fix = f"use a string key such as '{bad_key}' in quotes"
        raise UnsupportedConfigError(
            f"{_prefix(where)}config key {bad_key!r} at '{path}' cannot be passed to a Flyte task "
            f"(the OmegaConf transformer needs string keys without dots): {fix}."
        )


def _bad_keys(cfg: DictConfig, path: str) -> typing.Iterator[tuple[Any, str]]:
    for k in cfg:
        if not isinstance(k, str) or "." in k:
            yield k, path
            continue
        if OmegaConf.is_missing(cfg, k):
            continue
        child = cfg._get_node(k)
        if isinstance(child, DictConfig) and not child._is_none():
            yield from _bad_keys(child, f"{path}.{k}")


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


def refuse_env_values(cfg: DictConfig, inputs: dict[str, Any], where: str) -> None:
    """Refuse inputs holding ${oc.env:...}: as execution inputs they would be sent, and stored, in plain text."""
    for name in inputs:
        node = cfg if name not in cfg else cfg._get_node(name)
        for path, expression in env_interpolations(node, name if name in cfg else ""):
            raise ConfigInputError(
                f"{where}: config '{path}' reads the environment ({expression}); as an execution input its value "
                "would be sent and stored in plain text: read it inside the task (os.environ or a Flyte secret), "
                "or set hydra.launcher.allow_env_inputs=true."
            )


def env_interpolations(node: Any, path: str) -> list[tuple[str, str]]:
    found = []
    if isinstance(node, DictConfig):
        for key in node:
            found += env_interpolations(node._get_node(key), f"{path}.{key!s}" if path else str(key))
    elif isinstance(node, ListConfig):
        for index in range(len(node)):
            found += env_interpolations(node._get_node(index), f"{path}[{index}]")
    elif node is not None and node._is_interpolation():
        raw = str(node._value())
        if "oc.env" in raw or "${env:" in raw:
            found.append((path, raw))
    return found


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
