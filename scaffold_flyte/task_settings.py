"""Per-task runtime settings from config (``hydra.launcher.tasks.<task name>``), applied at registration.

Resources, retries, timeout, interruptible, environment variables, secret requests, the image and
the cache version of a task are part of its registered template, not of its code: a config
change registers new task templates (so a new version) with the same code bundle. Entries are
named by the task's short name (``train``) or its full, registered name (``main.train``); ``*``
applies to every task, under the specific entries (mappings merge key by key, a list such as
``secrets`` is replaced, as OmegaConf merges).

Checked twice, both before anything is built, uploaded or registered: at settings time
(:func:`check_settings`, no workflow needed: keys with the closest name, quantities by the
Kubernetes grammar Flyte parses them with, requests above limits, images that are configured,
secret requests with a group) and at plan time (:func:`resolve`: names the workflow has,
requests above limits once merged with the code's own resources, a cache version for a task
that does not cache).

Applying (:func:`applied`) sets the settings on the flytekit task objects, and on the workflow
nodes that run them (propeller takes retries, timeout and interruptible from the node: a node's
values that came from the task follow the task; one set by ``with_overrides`` stays), for the
time of the registration, then restores them: flytekit serializes them as it serializes
``@task(...)`` arguments. Only Python function tasks take settings; tasks only a ``@dynamic``
body calls are compiled on the cluster from the code, so naming one is refused. No flytekit at
module level: launcher_settings imports this before anything heavy.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import json
import logging
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf

from scaffold_flyte.errors import LauncherConfigError

log = logging.getLogger(__name__)
WHERE = "hydra.launcher.tasks"
ALL = "*"
RESOURCES = ("cpu", "memory", "gpu", "ephemeral_storage")
_FLYTEKIT_RESOURCE = {"cpu": "cpu", "memory": "mem", "gpu": "gpu", "ephemeral_storage": "ephemeral_storage"}
ENTRY_KEYS = (
    "requests",
    "limits",
    "retries",
    "timeout",
    "interruptible",
    "environment",
    "secrets",
    "image",
    "cache_version",
)
SECRET_KEYS = ("group", "key", "group_version", "mount_requirement", "env_var")
MOUNT_TYPES = ("any", "env_var", "file")
LOCAL_SETTINGS = ("cache_version",)  # what a local run applies: flytekit's local cache is keyed by it
QUANTITY_HINT = 'use e.g. cpu: "2" or "500m", memory: "4Gi"'
# Kubernetes' IsEnvVarName (k8s.io/apimachinery/pkg/util/validation): a pod with another name is refused
_ENV_NAME = re.compile(r"^[-._a-zA-Z][-._a-zA-Z0-9]*$")
_SECRET_ENV_NAME = re.compile(r"^[A-Z_][A-Z0-9_]*$")  # flytekit's Secret.__post_init__
_noticed: set[tuple[str, ...]] = set()


@dataclass(frozen=True)
class SecretRequest:
    """A Flyte ``Secret`` request: where the platform finds the secret, never its value."""

    group: str
    key: str | None = None
    group_version: str | None = None
    mount_requirement: str = "any"
    env_var: str | None = None

    def describe(self) -> str:
        return self.group + (f"/{self.key}" if self.key else "")


@dataclass(frozen=True)
class TaskSettings:
    """One task's settings from config (``*`` merged under its own entry); None: not set by config."""

    requests: Mapping[str, str] = field(default_factory=dict)
    limits: Mapping[str, str] = field(default_factory=dict)
    retries: int | None = None
    timeout: float | None = None  # seconds
    interruptible: bool | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[SecretRequest, ...] | None = None
    image: str | None = None
    cache_version: str | None = None

    def as_data(self) -> dict[str, Any]:
        """Plain data, for the version's digest."""
        return {
            "requests": dict(sorted(self.requests.items())),
            "limits": dict(sorted(self.limits.items())),
            "retries": self.retries,
            "timeout": self.timeout,
            "interruptible": self.interruptible,
            "environment": dict(sorted(self.environment.items())),
            "secrets": None if self.secrets is None else [vars(s) for s in self.secrets],
            "image": self.image,
            "cache_version": self.cache_version,
        }

    def set_names(self) -> list[str]:
        """The settings this entry sets, by their config names."""
        data = self.as_data()
        return [name for name in ENTRY_KEYS if data[name] not in (None, {}, [])]


# -- Kubernetes quantities -----------------------------------------------------------------------
# flyteadmin parses every resource with k8s.io/apimachinery/pkg/api/resource ParseQuantity
# (validation/task_validator.go addResourceEntryToMap), and the pod is built from the same values:
# <quantity> ::= <signedNumber><suffix>, <suffix> ::= <binarySI> | <decimalExponent> | <decimalSI>.
_BINARY = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50, "Ei": 2**60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_QUANTITY = re.compile(r"^([+-]?)([0-9]*)(?:\.([0-9]*))?([a-zA-Z]*(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)$")


def parse_quantity(text: str) -> Fraction | None:
    """The value of a Kubernetes quantity ("2", "500m", "4Gi", "1e3"), or None if it is not one."""
    match = _QUANTITY.match(text)
    if not match or text in ("", "+", "-"):
        return None
    sign, whole, fraction, suffix = match.groups()
    if not whole and not fraction and "." not in text:
        return None
    number = Fraction(int(whole or "0")) + (Fraction(int(fraction), 10 ** len(fraction)) if fraction else 0)
    if suffix in _BINARY:
        scale = Fraction(_BINARY[suffix])
    elif suffix in _DECIMAL:
        scale = Fraction(10) ** _DECIMAL[suffix]
    elif len(suffix) > 1 and suffix[0] in "eE" and re.fullmatch(r"[+-]?[0-9]+", suffix[1:]):
        scale = Fraction(10) ** int(suffix[1:])
    else:
        return None
    return -number * scale if sign == "-" else number * scale


# -- settings time: no workflow needed -----------------------------------------------------------
def check_settings(tasks: Any, images: Iterable[str]) -> dict[str, TaskSettings]:
    """Every entry of ``hydra.launcher.tasks`` checked and parsed (``*`` merged under each), by entry name."""
    raw = _plain(tasks)
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise LauncherConfigError(
            f"{WHERE}={raw!r} is not a mapping of task names to settings: use e.g. "
            f"+{WHERE}.train.requests.cpu=2 (or `tasks: {{train: {{retries: 2}}}}` in YAML)."
        )
    raw = _flattened(raw)
    images = set(images)
    for name, entry in raw.items():
        _check_entry(f"{WHERE}.{name}", entry, images)
    common = raw.get(ALL) or {}
    parsed = {}
    for name, entry in raw.items():
        merged = _plain(OmegaConf.merge(common, entry or {})) if name != ALL else common
        parsed[str(name)] = _parse(f"{WHERE}.{name}", merged)
    return parsed


def _flattened(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Entries by full name: ``+hydra.launcher.tasks.main.train.retries=1`` nests ``main: {train: {...}}``
    (Hydra splits keys at dots), which is the entry ``main.train``. A mapping is such a namespace only when
    none of its keys is a setting and each value is an entry or a namespace, so a misspelt setting
    (``train: {retry: 2}``) is still told by its closest name."""
    out: dict[str, Any] = {}
    for name, entry in raw.items():
        if _is_namespace(entry):
            for inner, value in _flattened(entry).items():
                out[f"{name}.{inner}"] = value
        else:
            out[str(name)] = entry
    return out


def _is_namespace(entry: Any) -> bool:
    if not isinstance(entry, Mapping) or not entry or any(key in ENTRY_KEYS for key in entry):
        return False
    return all(
        isinstance(value, Mapping) and (any(key in ENTRY_KEYS for key in value) or _is_namespace(value))
        for value in entry.values()
    )


def _plain(node: Any) -> Any:
    if isinstance(node, (DictConfig, ListConfig)):
        return OmegaConf.to_container(node, resolve=True)
    return node


def _check_entry(where: str, entry: Any, images: set[str]) -> None:
    from scaffold_flyte.launcher_settings import check_names

    if entry is None:
        return
    if not isinstance(entry, Mapping):
        raise LauncherConfigError(
            f"{where}={entry!r} is not a task's settings: give it keys, e.g. +{where}.retries=2 "
            f"(its settings: {', '.join(ENTRY_KEYS)})."
        )
    check_names(where, entry, ENTRY_KEYS)
    for kind in ("requests", "limits"):
        resources = entry.get(kind)
        if resources is None:
            continue
        if not isinstance(resources, Mapping):
            raise LauncherConfigError(
                f"{where}.{kind}={resources!r} is not a mapping of resources: {QUANTITY_HINT} "
                f"(resources: {', '.join(RESOURCES)})."
            )
        check_names(f"{where}.{kind}", resources, RESOURCES)
        for resource, value in resources.items():
            _check_quantity(f"{where}.{kind}.{resource}", resource, value)
    _check_number(where, "retries", entry.get("retries"), integer=True, minimum=0, example="3")
    _check_number(where, "timeout", entry.get("timeout"), integer=False, minimum=None, example="3600")
    interruptible = entry.get("interruptible")
    if interruptible is not None and not isinstance(interruptible, bool):
        raise LauncherConfigError(f"{where}.interruptible={interruptible!r} is not true or false: use true or false.")
    _check_environment(where, entry.get("environment"))
    _check_secrets(where, entry.get("secrets"))
    image = entry.get("image")
    if image is not None and (not isinstance(image, str) or image not in images):
        raise LauncherConfigError(
            f"{where}.image={image} is not an image under hydra.launcher.images (configured: "
            f"{', '.join(sorted(images))}): name one of them, or add it, e.g. "
            f"+hydra.launcher.images.{image}.base_image=..."
        )
    cache_version = entry.get("cache_version")
    if cache_version is not None and (isinstance(cache_version, bool) or str(cache_version).strip() == ""):
        raise LauncherConfigError(
            f"{where}.cache_version={cache_version!r} is not a version: use e.g. cache_version: '2'."
        )


def _check_quantity(where: str, resource: str, value: Any) -> None:
    text = _quantity_text(value)
    quantity = parse_quantity(text) if text is not None else None
    if quantity is None:
        raise LauncherConfigError(f"{where}={value!r} is not a quantity Flyte accepts: {QUANTITY_HINT}.")
    if quantity < 0:
        raise LauncherConfigError(f"{where}={value!r} is negative: a resource is 0 or more, {QUANTITY_HINT}.")
    if resource == "gpu" and quantity.denominator != 1:  # task_validator.go isWholeNumber
        raise LauncherConfigError(f"{where}={value!r} is not a whole number of GPUs: use e.g. gpu: 1.")


def _quantity_text(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else None
    return value if isinstance(value, str) else None


def _check_number(where: str, name: str, value: Any, integer: bool, minimum: int | None, example: str) -> None:
    if value is None:
        return
    numeric = isinstance(value, int) if integer else isinstance(value, (int, float))
    ok = numeric and not isinstance(value, bool)
    if ok and minimum is not None:
        ok = value >= minimum
    if ok and minimum is None:
        ok = math.isfinite(value) and value > 0
    if not ok:
        what = "a whole number, 0 or more" if integer else "a number of seconds above 0"
        raise LauncherConfigError(f"{where}.{name}={value!r} is not {what}: use e.g. {name}: {example}.")


def _check_environment(where: str, environment: Any) -> None:
    if environment is None:
        return
    if not isinstance(environment, Mapping):
        raise LauncherConfigError(
            f"{where}.environment={environment!r} is not a mapping of variables: use e.g. "
            "environment: {LOG_LEVEL: debug}."
        )
    for name, value in environment.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise LauncherConfigError(
                f"{where}.environment has '{name}', which Kubernetes refuses as a variable name (letters, digits, "
                "'_', '-', '.', not starting with a digit): rename it."
            )
        if value is None or isinstance(value, (Mapping, list, tuple)):
            raise LauncherConfigError(
                f"{where}.environment.{name} is {value!r}: a variable's value is a string (or a number, taken as "
                "its text); quote it, e.g. 'on'."
            )


def _check_secrets(where: str, secrets: Any) -> None:
    from scaffold_flyte.launcher_settings import check_names

    if secrets is None:
        return
    if not isinstance(secrets, (list, tuple)):
        raise LauncherConfigError(
            f"{where}.secrets={secrets!r} is not a list of secret requests: use e.g. "
            "secrets: [{group: db, key: password}]."
        )
    for index, secret in enumerate(secrets):
        at = f"{where}.secrets[{index}]"
        if not isinstance(secret, Mapping):
            raise LauncherConfigError(
                f"{at}={secret!r} is not a secret request: use e.g. {{group: db, key: password}} (Flyte's Secret)."
            )
        if "value" in secret:
            raise LauncherConfigError(
                f"{at} has a value: a task requests a secret by group and key and the platform injects it, so the "
                "value never goes into config; remove 'value' and store the secret in your secret manager."
            )
        check_names(at, secret, SECRET_KEYS)
        if not secret.get("group") or not isinstance(secret.get("group"), str):
            raise LauncherConfigError(
                f"{at} has no group: Flyte's Secret needs one (the secret's name in the cluster's secret store), "
                "e.g. {group: db, key: password}."
            )
        mount = str(secret.get("mount_requirement") or "any").lower()
        if mount not in MOUNT_TYPES:
            raise LauncherConfigError(
                f"{at}.mount_requirement={secret.get('mount_requirement')} is not a mount type: use "
                f"{', '.join(MOUNT_TYPES)}."
            )
        env_var = secret.get("env_var")
        if env_var is not None and not (isinstance(env_var, str) and _SECRET_ENV_NAME.match(env_var)):
            raise LauncherConfigError(
                f"{at}.env_var={env_var!r} is not a variable name flytekit accepts (upper-case letters, digits, "
                "'_'): rename it."
            )


def _parse(where: str, entry: Mapping[str, Any]) -> TaskSettings:
    entry = entry or {}
    secrets = entry.get("secrets")
    parsed = TaskSettings(
        requests={k: str(_quantity_text(v)) for k, v in (entry.get("requests") or {}).items()},
        limits={k: str(_quantity_text(v)) for k, v in (entry.get("limits") or {}).items()},
        retries=entry.get("retries"),
        timeout=None if entry.get("timeout") is None else float(entry["timeout"]),
        interruptible=entry.get("interruptible"),
        environment={str(k): _env_text(v) for k, v in (entry.get("environment") or {}).items()},
        secrets=None
        if secrets is None
        else tuple(
            SecretRequest(
                group=str(s["group"]),
                key=None if s.get("key") is None else str(s["key"]),
                group_version=None if s.get("group_version") is None else str(s["group_version"]),
                mount_requirement=str(s.get("mount_requirement") or "any").lower(),
                env_var=s.get("env_var"),
            )
            for s in secrets
        ),
        image=entry.get("image"),
        cache_version=None if entry.get("cache_version") is None else str(entry["cache_version"]),
    )
    _check_requests_within_limits(where, parsed.requests, parsed.limits, "requests", "limits")
    return parsed


def _env_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _check_requests_within_limits(
    where: str, requests: Mapping[str, Any], limits: Mapping[str, Any], requests_from: str, limits_from: str
) -> None:
    """A request above its limit: flyteadmin refuses it (task_validator.go validateResource), and so does
    Kubernetes when it builds the pod; for a GPU flyteadmin wants the request equal to the limit."""
    for resource in RESOURCES:
        if resource not in requests or resource not in limits:
            continue
        request, limit = parse_quantity(str(requests[resource])), parse_quantity(str(limits[resource]))
        if request is None or limit is None:
            continue
        if resource == "gpu" and request != limit:
            raise LauncherConfigError(
                f"{where}: {requests_from}.gpu={requests[resource]} differs from {limits_from}.gpu={limits[resource]} "
                "(Flyte wants a GPU request equal to its limit): set both to the same number."
            )
        if request > limit:
            raise LauncherConfigError(
                f"{where}: {requests_from}.{resource}={requests[resource]} is above {limits_from}.{resource}="
                f"{limits[resource]} (Flyte refuses a request above its limit): lower the request or raise the limit."
            )


# -- plan time: the workflow's tasks -------------------------------------------------------------
@dataclass(frozen=True)
class TaskPlan:
    """The settings each task of the workflow gets, by the task's full name, and the tasks themselves."""

    by_task: Mapping[str, TaskSettings] = field(default_factory=dict)
    tasks: Mapping[str, Any] = field(default_factory=dict)  # full name -> flytekit task

    def digest(self) -> str:
        """What the settings add to the version: empty when no task has any (the version stays as it was)."""
        data = {name: s.as_data() for name, s in sorted(self.by_task.items()) if s.set_names()}
        if not data:
            return ""
        return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()[:20]

    def images(self) -> dict[str, str]:
        """Task (full name) -> the image config names for it."""
        return {name: s.image for name, s in self.by_task.items() if s.image is not None}

    def describe(self) -> list[str]:
        """One dry-run line per task: its effective settings (code and config), config's marked."""
        lines = []
        for name in sorted(self.tasks):
            task = self.tasks[name]
            settings = self.by_task.get(name)
            if not _supported(task):
                lines.append(f"task       {name}: {type(task).__name__}, runtime settings as in its code")
                continue
            shown = describe_effective(task, settings or TaskSettings())
            source = f" (from {WHERE}: {', '.join(settings.set_names())})" if settings and settings.set_names() else ""
            lines.append(f"task       {name}: {shown}{source}")
        return lines


def resolve(settings: Any, main: Any) -> TaskPlan:
    """``hydra.launcher.tasks`` matched to the main workflow's tasks and merged with their code, all checked.

    ``settings`` is the launcher's settings dataclass, whose tasks and images are plain containers.
    """
    parsed = check_settings(settings.tasks or {}, (settings.images or {}).keys())
    tasks = _node_tasks(main.workflow)
    if not parsed:
        return TaskPlan({}, tasks)
    all_tasks = _all_tasks(main.workflow)
    by_task: dict[str, TaskSettings] = {}
    for entry in sorted(name for name in parsed if name != ALL):
        full = _match(entry, all_tasks, main)
        if full not in tasks:
            raise LauncherConfigError(
                f"{WHERE}.{entry}: task {full} runs only inside a @dynamic task, whose body is compiled on the "
                "cluster from the code, so settings at registration do not reach it: set them in its @task(...) "
                "instead, or remove the entry."
            )
        if not _supported(tasks[full]):
            raise LauncherConfigError(
                f"{WHERE}.{entry}: task {full} is a {type(tasks[full]).__name__}, not a Python function task "
                "(@task): its runtime settings come from its own definition; remove the entry."
            )
        if full in by_task:
            raise LauncherConfigError(f"{WHERE} names task {full} twice ({_short(full)} and {full}): keep one entry.")
        by_task[full] = parsed[entry]
    if ALL in parsed:
        for full, task in tasks.items():
            if full not in by_task and _supported(task):
                by_task[full] = parsed[ALL]
    for full, task_settings in by_task.items():
        _check_with_code(full, tasks[full], task_settings, _entry_name(full, parsed))
    return TaskPlan(by_task, tasks)


def _entry_name(full: str, parsed: Mapping[str, Any]) -> str:
    for name in (full, _short(full)):
        if name in parsed:
            return f"{WHERE}.{name}"
    return f"{WHERE}.{ALL}"


def _short(full: str) -> str:
    return full.rsplit(".", 1)[-1]


def _match(entry: str, tasks: Mapping[str, Any], main: Any) -> str:
    if entry in tasks:
        return entry
    by_short = sorted(name for name in tasks if _short(name) == entry)
    if len(by_short) == 1:
        return by_short[0]
    if len(by_short) > 1:
        raise LauncherConfigError(
            f"{WHERE}.{entry} could be any of the tasks {', '.join(by_short)}: name one by its full name, "
            f"e.g. +{WHERE}.{by_short[0]}.retries=2."
        )
    names = sorted({_short(name) for name in tasks})
    import difflib  # only on a misspelt name

    close = difflib.get_close_matches(entry, names + sorted(tasks), n=1)
    hint = f"did you mean {WHERE}.{close[0]}? " if close else ""
    raise LauncherConfigError(
        f"{WHERE}.{entry}: workflow {main.name} has no task '{entry}': {hint}(its tasks: {', '.join(names)}; short "
        f"or full names, or '*' for every task)."
    )


def _check_with_code(name: str, task: Any, settings: TaskSettings, where: str) -> None:
    """Requests above limits once merged with the code's own resources; a cache version where nothing caches."""
    code_requests, code_limits = _code_resources(task)
    requests = {**code_requests, **settings.requests}
    limits = {**code_limits, **settings.limits}
    for resource in RESOURCES:
        if resource in requests and resource in limits:
            req_from = "requests" if resource in settings.requests else "its @task requests"
            lim_from = "limits" if resource in settings.limits else "its @task limits"
            _check_requests_within_limits(
                where, {resource: requests[resource]}, {resource: limits[resource]}, req_from, lim_from
            )
    if settings.cache_version is not None and not task.metadata.cache:
        raise LauncherConfigError(
            f"{where}.cache_version={settings.cache_version}: task {name} does not cache, so a cache version "
            "changes nothing: cache it in code (@task(cache=Cache(version=...))), or remove cache_version."
        )


def _code_resources(task: Any) -> tuple[dict[str, str], dict[str, str]]:
    spec = task.resources
    out: tuple[dict[str, str], dict[str, str]] = ({}, {})
    for resources, target in ((spec.requests, out[0]), (spec.limits, out[1])):
        for resource in RESOURCES:
            value = getattr(resources, _FLYTEKIT_RESOURCE[resource])
            if value is not None:
                target[resource] = str(value)
    return out


def describe_effective(task: Any, settings: TaskSettings) -> str:
    """A task's settings as they are registered: the code's, with config's on top."""
    code_requests, code_limits = _code_resources(task)
    requests, limits = {**code_requests, **settings.requests}, {**code_limits, **settings.limits}
    metadata = task.metadata
    retries = metadata.retries if settings.retries is None else settings.retries
    timeout = _seconds(metadata.timeout) if settings.timeout is None else settings.timeout
    interruptible = metadata.interruptible if settings.interruptible is None else settings.interruptible
    environment = {**(task.environment or {}), **settings.environment}
    secrets = [*_code_secrets(task), *(settings.secrets or ())]
    image = settings.image or _image_name(task)
    parts = [
        "requests " + (_resources_text(requests) or "platform defaults"),
        "limits " + (_resources_text(limits) or "platform defaults"),
        f"retries {retries}",
        f"timeout {_timeout_text(timeout)}",
        f"interruptible {'yes' if interruptible else 'no' if interruptible is False else 'platform default'}",
        "env " + (", ".join(sorted(environment)) or "none"),
        "secrets " + (", ".join(s.describe() for s in secrets) or "none"),
        f"image {image}",
        "cache " + (f"version {settings.cache_version or metadata.cache_version}" if metadata.cache else "off"),
    ]
    return "; ".join(parts)


def _resources_text(resources: Mapping[str, str]) -> str:
    return ", ".join(f"{name}={resources[name]}" for name in RESOURCES if name in resources)


def _timeout_text(seconds: float | None) -> str:
    if not seconds:
        return "none"
    return f"{int(seconds)}s" if float(seconds).is_integer() else f"{seconds}s"


def _seconds(timeout: Any) -> float | None:
    if timeout is None:
        return None
    return float(timeout.total_seconds()) if isinstance(timeout, datetime.timedelta) else float(timeout)


def _code_secrets(task: Any) -> list[SecretRequest]:
    context = getattr(task, "security_context", None)
    return [
        SecretRequest(group=str(s.group), key=s.key, group_version=s.group_version, env_var=s.env_var)
        for s in ((context.secrets if context else None) or [])
    ]


def _image_name(task: Any) -> str:
    from scaffold_flyte.images import DEFAULT_IMAGE, IMAGE_TEMPLATE_RE

    image = getattr(task, "container_image", None)
    if image is None:
        return DEFAULT_IMAGE
    names = IMAGE_TEMPLATE_RE.findall(image) if isinstance(image, str) else []
    return names[0] if names else str(image)


def _supported(task: Any) -> bool:
    from flytekit.core.array_node_map_task import ArrayNodeMapTask
    from flytekit.core.python_auto_container import PythonAutoContainerTask

    return isinstance(task, PythonAutoContainerTask) and not isinstance(task, ArrayNodeMapTask)


def _all_tasks(workflow: Any) -> dict[str, Any]:
    from scaffold_flyte.discovery import tasks_under

    return {str(task.name): task for task in tasks_under(workflow)}


def _node_tasks(workflow: Any) -> dict[str, Any]:
    """Tasks that workflow nodes run (sub-workflows, branches and launch plans walked), not ``@dynamic`` bodies."""
    return {str(task.name): task for task, _ in _task_nodes(workflow)}


def _task_nodes(workflow: Any) -> list[tuple[Any, Any]]:
    """(task, node) for every node that runs a task, in the workflow and the workflows under it."""
    from flytekit.core.base_task import Task
    from flytekit.core.condition import BranchNode
    from flytekit.core.launch_plan import LaunchPlan
    from flytekit.core.workflow import WorkflowBase

    from scaffold_flyte.discovery import _branch_nodes

    found: list[tuple[Any, Any]] = []
    seen: set[int] = set()
    todo = list(workflow.nodes)
    while todo:
        node = todo.pop()
        entity = node.flyte_entity
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(entity, Task):
            found.append((entity, node))
        elif isinstance(entity, WorkflowBase):
            todo.extend(entity.nodes)
        elif isinstance(entity, LaunchPlan):
            todo.extend(entity.workflow.nodes)
        elif isinstance(entity, BranchNode):
            todo.extend(_branch_nodes(entity))
    return found


# -- applying ------------------------------------------------------------------------------------
@contextlib.contextmanager
def applied(main: Any, plan: TaskPlan, only: Iterable[str] | None = None) -> Iterator[None]:
    """The settings on the task objects and their nodes while flytekit serializes them; restored afterwards."""
    keep = set(ENTRY_KEYS if only is None else only)
    saved: list[tuple[Any, str, Any]] = []
    try:
        for task, node in _task_nodes(main.workflow):
            settings = plan.by_task.get(str(task.name))
            if settings is not None:
                _apply_node(node, task, settings, keep, saved)
        for name, settings in plan.by_task.items():
            _apply_task(plan.tasks[name], settings, keep, saved)
        yield
    finally:
        for obj, attribute, value in reversed(saved):
            setattr(obj, attribute, value)


def _set(obj: Any, attribute: str, value: Any, saved: list[tuple[Any, str, Any]]) -> None:
    saved.append((obj, attribute, getattr(obj, attribute)))
    setattr(obj, attribute, value)


def _apply_task(task: Any, settings: TaskSettings, keep: set[str], saved: list[tuple[Any, str, Any]]) -> None:
    from flytekit.core.resources import ResourceSpec
    from flytekit.models.security import Secret, SecurityContext

    if (settings.requests or settings.limits) and keep & {"requests", "limits"}:
        code = task.resources
        requests = {_FLYTEKIT_RESOURCE[k]: v for k, v in settings.requests.items()} if "requests" in keep else {}
        limits = {_FLYTEKIT_RESOURCE[k]: v for k, v in settings.limits.items()} if "limits" in keep else {}
        spec = ResourceSpec(requests=replace(code.requests, **requests), limits=replace(code.limits, **limits))
        _set(task, "_resources", spec, saved)
    metadata: dict[str, Any] = {}
    if settings.retries is not None and "retries" in keep:
        metadata["retries"] = settings.retries
    if settings.timeout is not None and "timeout" in keep:
        metadata["timeout"] = datetime.timedelta(seconds=settings.timeout)
    if settings.interruptible is not None and "interruptible" in keep:
        metadata["interruptible"] = settings.interruptible
    if settings.cache_version is not None and "cache_version" in keep:
        metadata["cache_version"] = settings.cache_version
    if metadata:
        _set(task, "_metadata", replace(task.metadata, **metadata), saved)
    if settings.environment and "environment" in keep:
        _set(task, "_environment", {**(task.environment or {}), **settings.environment}, saved)
    if settings.secrets and "secrets" in keep:
        old = task.security_context
        requested = [
            Secret(
                group=s.group,
                key=s.key,
                group_version=s.group_version,
                mount_requirement=Secret.MountType[s.mount_requirement.upper()],
                env_var=s.env_var,
            )
            for s in settings.secrets
        ]
        context = SecurityContext(
            run_as=old.run_as if old else None,
            secrets=[*((old.secrets if old else None) or []), *requested],
            tokens=old.tokens if old else None,
        )
        _set(task, "_security_ctx", context, saved)
    if settings.image is not None and "image" in keep:
        from scaffold_flyte.images import DEFAULT_IMAGE

        name = settings.image
        image = None if name == DEFAULT_IMAGE else f"{{{{.images.{name}.fqn}}}}:{{{{.images.{name}.version}}}}"
        _set(task, "_container_image", image, saved)


def _apply_node(
    node: Any, task: Any, settings: TaskSettings, keep: set[str], saved: list[tuple[Any, str, Any]]
) -> None:
    """propeller takes retries, timeout and interruptible from the node (compiler transformers/k8s/node.go):
    the node's values that came from the task (flytekit copies them when the workflow is compiled) follow it."""
    from flytekit.models.literals import RetryStrategy

    metadata = node.metadata
    code = task.metadata
    if settings.retries is not None and "retries" in keep and metadata.retries.retries == code.retries:
        _set(metadata, "_retries", RetryStrategy(settings.retries), saved)
    code_timeout = code.timeout if code.timeout is not None else datetime.timedelta()
    if settings.timeout is not None and "timeout" in keep and metadata.timeout == code_timeout:
        _set(metadata, "_timeout", datetime.timedelta(seconds=settings.timeout), saved)
    if settings.interruptible is not None and "interruptible" in keep and metadata.interruptible == code.interruptible:
        _set(metadata, "_interruptible", settings.interruptible, saved)


# -- local mode ----------------------------------------------------------------------------------
@contextlib.contextmanager
def local_settings(settings: Any, main: Any) -> Iterator[None]:
    """A local run: the names checked as for a remote launch, the cache version applied (flytekit's local cache
    is keyed by it), and one notice, once per process, of the settings a local run cannot apply."""
    if not (settings.tasks or {}):
        yield
        return
    if main is None:
        _notice(sorted({n for s in check_settings(settings.tasks, settings.images).values() for n in s.set_names()}))
        yield
        return
    plan = _local_plan(settings, main)
    ignored = sorted({n for s in plan.by_task.values() for n in s.set_names() if n not in LOCAL_SETTINGS})
    _notice(ignored, any(s.cache_version is not None for s in plan.by_task.values()))
    with applied(main, plan, only=LOCAL_SETTINGS):
        yield


def _local_plan(settings: Any, main: Any) -> TaskPlan:
    """resolve() under the names a remote launch registers (discovery.stable_names), then keyed back to the
    local names, which are restored: a local task keeps its name, and so its local cache keys."""
    from scaffold_flyte.discovery import entities_under, stable_names

    objects = [main.workflow, *entities_under(main.workflow)]
    objects += [e.sub_node_metadata for e in objects if getattr(e, "sub_node_metadata", None) is not None]
    saved = [(obj, a, getattr(obj, a)) for obj in objects for a in ("_name", "_instantiated_in") if hasattr(obj, a)]
    try:
        stable_names(main)
        plan = resolve(settings, main)
    finally:
        for obj, attribute, value in saved:
            setattr(obj, attribute, value)
    return TaskPlan(
        {str(plan.tasks[name].name): s for name, s in plan.by_task.items()},
        {str(task.name): task for task in plan.tasks.values()},
    )


def _notice(ignored: list[str], cache_version: bool = False) -> None:
    key = tuple(ignored)
    if not ignored or key in _noticed:
        return
    _noticed.add(key)
    applied_here = "; cache_version is applied (the local cache is keyed by it)" if cache_version else ""
    log.warning(
        f"Local run: {WHERE} settings {', '.join(ignored)} apply only on Flyte (here the tasks run in this "
        f"process and its environment, once each), so they are ignored{applied_here}."
    )
