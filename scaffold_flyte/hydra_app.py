"""A plain Hydra app (no workflow in its module) as a one-task Flyte workflow, so it runs remotely unchanged.

The task takes the job's whole config and returns what the Hydra function returns, typed so that
flyteadmin hands it back inline (see return_values.py): the launching machine needs no blob storage
credentials to read it. Inside the task container, the resolver below imports the app's
module from the code bundle and unwraps its ``@hydra.main`` function again, so nothing but the
module and the function's name travels in the task's arguments. A function that is not
importable by name (a closure, a callable object) travels by value instead: cloudpickled, in
the task's arguments.
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from flytekit.configuration import SerializationSettings
from flytekit.core.base_task import TaskResolverMixin
from flytekit.core.python_function_task import PythonFunctionTask
from flytekit.core.tracker import TrackedInstance
from flytekit.core.workflow import ImperativeWorkflow
from omegaconf import DictConfig

from scaffold_flyte.discovery import MainWorkflow
from scaffold_flyte.errors import LauncherConfigError
from scaffold_flyte.return_values import HydraReturn, output_type

PICKLED_NAME = "hydra_task_function"


class HydraAppResolver(TrackedInstance, TaskResolverMixin):
    """Finds the task of a Hydra app by module and function name (see the module docstring)."""

    def name(self) -> str:
        return "scaffold_flyte.hydra_app.resolver"

    def load_task(self, loader_args: list[str]) -> PythonFunctionTask:
        _, module_name, kind, value = loader_args
        if kind == "pickled":
            import cloudpickle

            function = cloudpickle.loads(base64.b64decode(value))
            return app_task(function, module_name, PICKLED_NAME, pickled=value)
        module = importlib.import_module(module_name)
        return app_task(inspect.unwrap(getattr(module, value)), module_name, value)

    def loader_args(self, settings: SerializationSettings, t: Any) -> list[str]:
        module_name, attribute, pickled = t.hydra_app
        if pickled:
            return ["module", module_name, "pickled", pickled]
        return ["module", module_name, "function", attribute]

    def get_all_tasks(self) -> list[Any]:
        return []


resolver = HydraAppResolver()


def app_task(function: Any, module_name: str, attribute: str, pickled: str | None = None) -> PythonFunctionTask:
    """One task that calls the Hydra function on the job's config and returns its result."""

    returns = output_type(function)[0]

    def hydra_app(cfg: DictConfig) -> Any:
        value = function(cfg)
        return HydraReturn(value) if returns is HydraReturn else value

    hydra_app.__annotations__ = {"cfg": DictConfig, "return": returns}
    hydra_app.__module__ = module_name
    hydra_app.__name__ = hydra_app.__qualname__ = attribute
    task = PythonFunctionTask(task_config=None, task_function=hydra_app, task_resolver=resolver)
    task._name = f"{module_name}.{attribute}"  # flytekit would name it after this file
    task.hydra_app = (module_name, attribute, pickled)
    return task


def wrap_hydra_app(task_function: Any, module: ModuleType, blob_storage: bool) -> MainWorkflow:
    """The Hydra app as a workflow: input ``cfg`` (the whole config), output the function's return value.

    ``blob_storage``: the launching machine can read Flyte's blob store, so a declared return type
    that only travels as a pickle is allowed.
    """
    returns, needs_storage = output_type(task_function)
    if needs_storage and not blob_storage:
        raise LauncherConfigError(
            f"The Hydra function {task_function.__name__} declares it returns {needs_storage}, which Flyte hands back "
            "only as a pickle in its blob store, and this machine has no blob storage settings: return a JSON-like "
            "value (number, string, bool, list, dict, DictConfig), or configure storage access (FLYTE_AWS_* "
            "variables or the storage section of your Flyte config)."
        )
    attribute = next(
        (name for name, value in vars(module).items() if callable(value) and inspect.unwrap(value) is task_function),
        None,
    )
    module_name = _importable_name(module)
    pickled = None if attribute is not None else _pickle(task_function)
    task = app_task(task_function, module_name, attribute or PICKLED_NAME, pickled=pickled)
    workflow = ImperativeWorkflow(name=f"{module_name}.{attribute}_app")
    workflow.add_workflow_input("cfg", DictConfig)
    node = workflow.add_entity(task, cfg=workflow.inputs["cfg"])
    workflow.add_workflow_output("o0", node.outputs["o0"], python_type=returns)
    fingerprint = hashlib.sha256(pickled.encode()).hexdigest() if pickled else ""
    return MainWorkflow(workflow, attribute or PICKLED_NAME, module.__name__, fingerprint)


def _pickle(function: Any) -> str:
    import cloudpickle

    try:
        return base64.b64encode(cloudpickle.dumps(function)).decode()
    except Exception as error:  # noqa: BLE001 - cloudpickle raises many kinds
        raise LauncherConfigError(
            f"The Hydra task function {function!r} is neither importable by name nor picklable ({error}): "
            "define it at module level, or add a @workflow to its module."
        ) from None


def _importable_name(module: ModuleType) -> str:
    """``__main__`` is imported as its file's name inside the container: make that name work here too."""
    if module.__name__ != "__main__":
        return module.__name__
    name = Path(str(module.__file__)).stem
    sys.modules.setdefault(name, module)
    return name
