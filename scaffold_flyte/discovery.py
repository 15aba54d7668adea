"""Finding the main workflow of a module and every entity under it.

The main workflow is the one workflow of the user's module that no other workflow of that module
contains. Everything the launcher builds (images, registration, executions) starts from it, so the
walk below visits every kind of node a flytekit workflow can hold: tasks, sub-workflows, branches,
``@dynamic`` tasks (through the entities their body refers to), map / array nodes and launch plans.
Before a remote launch, ``stable_names`` names what it found from the app folder (the code
bundle's root), so the registered names do not change with the folder a launch starts from.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType, ModuleType
from typing import Any

from flytekit.core.array_node import ArrayNode
from flytekit.core.array_node_map_task import ArrayNodeMapTask
from flytekit.core.base_task import PythonTask, Task
from flytekit.core.condition import BranchNode
from flytekit.core.launch_plan import LaunchPlan
from flytekit.core.node import Node
from flytekit.core.python_function_task import PythonFunctionTask
from flytekit.core.workflow import WorkflowBase

from scaffold_flyte.errors import WorkflowDiscoveryError

WORKFLOW_SETTING = "hydra.launcher.workflow"


@dataclass(frozen=True)
class MainWorkflow:
    """The workflow to run and where it was found."""

    workflow: WorkflowBase
    attribute: str
    module_name: str
    # content the code bundle does not hold (a pickled Hydra function): part of the version
    fingerprint: str = ""

    @property
    def name(self) -> str:
        """flytekit's full name of the workflow (``module.function``)."""
        return str(self.workflow.name)


def module_of(function: Any) -> ModuleType:
    """The module a Hydra task function lives in (``__main__`` for ``python main.py``)."""
    module_name = getattr(function, "__module__", None) or "__main__"
    module = sys.modules.get(module_name)
    if module is None:
        raise WorkflowDiscoveryError(f"Cannot find the module '{module_name}' of the Hydra task function.")
    return module


def workflows_in(module: ModuleType) -> dict[str, WorkflowBase]:
    """Workflows bound to names in ``module``, by attribute name."""
    return {name: value for name, value in vars(module).items() if isinstance(value, WorkflowBase)}


def find_main_workflow(module: ModuleType, name: str | None = None) -> MainWorkflow:
    """The main workflow of ``module``, or the one named ``name``.

    Raises a one-line error naming the module when it has no workflow, and naming the candidates and
    the setting that picks one when more than one workflow is not contained in another.
    """
    found = find_main_workflow_or_none(module, name)
    if found is None:
        raise no_workflow_error(module)
    return found


def no_workflow_error(module: ModuleType) -> WorkflowDiscoveryError:
    return WorkflowDiscoveryError(
        f"No Flyte workflow found in module '{module.__name__}': define one with @workflow "
        "in the module that holds the @hydra.main function, or import it there."
    )


def launcher_workflow(task_function: Any, name: str | None = None) -> MainWorkflow | None:
    """The main workflow a launch runs, or ``None`` for a plain Hydra app (run as its own function).

    A module without a workflow whose Hydra function calls ``scaffold_flyte.run`` is no plain app:
    its function would fail in every job (or, remotely, register an app that cannot work), so it
    gets the error ``python main.py`` gives, before any job runs.
    """
    module = module_of(task_function)
    found = find_main_workflow_or_none(module, name)
    if found is None and calls_run(task_function):
        raise no_workflow_error(module)
    return found


def calls_run(function: Any) -> bool:
    """Whether ``function``, or a function of its module that it calls, calls ``scaffold_flyte.run`` on its
    own module's workflow (``scaffold_flyte.run(cfg)``, ``from scaffold_flyte import run``, any alias).

    Read from the code's global names, as ``@dynamic`` bodies are: nothing runs. A call that names
    another module (``run(cfg, module=...)``) takes its workflow from there, so it does not count.
    """
    import scaffold_flyte
    from scaffold_flyte import local

    todo, seen = [inspect.unwrap(function)], set()
    while todo:
        current = todo.pop()
        code, scope = getattr(current, "__code__", None), getattr(current, "__globals__", None)
        if not isinstance(code, CodeType) or scope is None or id(code) in seen:
            continue
        seen.add(id(code))
        names = set(_names_used(code))
        for used in names:
            value = scope.get(used)
            through_package = (value is scaffold_flyte or value is local) and "run" in names
            if (value is local.run or through_package) and not _passes_keyword(code, "module"):
                return True
            if inspect.isfunction(value) and value.__globals__ is scope:  # a helper of the same module
                todo.append(value)
    return False


def _passes_keyword(code: CodeType, keyword: str) -> bool:
    """Whether a call in ``code`` passes ``keyword=`` (keyword names are a tuple constant of the code)."""
    for const in code.co_consts:
        if isinstance(const, tuple) and keyword in const:
            return True
        if isinstance(const, CodeType) and _passes_keyword(const, keyword):
            return True
    return False


def find_main_workflow_or_none(module: ModuleType, name: str | None = None) -> MainWorkflow | None:
    """Like :func:`find_main_workflow`, but ``None`` when the module has no workflow at all.

    The launcher uses this form: a Hydra app without any workflow still runs, as its plain task
    function.
    """
    workflows = workflows_in(module)
    if name is not None:
        return _named_workflow(module, workflows, name)
    if not workflows:
        return None
    candidates = _top_level(module, workflows)
    if len(candidates) > 1:
        names = ", ".join(sorted(candidates))
        raise WorkflowDiscoveryError(
            f"Module '{module.__name__}' has {len(candidates)} top-level workflows ({names}): "
            f"pick one with {WORKFLOW_SETTING}=<name> (or scaffold_flyte.run(cfg, workflow=<name>))."
        )
    ((attribute, workflow),) = candidates.items()
    return MainWorkflow(workflow=workflow, attribute=attribute, module_name=module.__name__)


def _named_workflow(module: ModuleType, workflows: dict[str, WorkflowBase], name: str) -> MainWorkflow:
    for attribute, workflow in workflows.items():
        if name in (attribute, workflow.name):
            return MainWorkflow(workflow=workflow, attribute=attribute, module_name=module.__name__)
    known = ", ".join(sorted(workflows)) or "none"
    raise WorkflowDiscoveryError(
        f"{WORKFLOW_SETTING}={name}: module '{module.__name__}' has no workflow of that name (its workflows: {known})."
    )


def _top_level(module: ModuleType, workflows: dict[str, WorkflowBase]) -> dict[str, WorkflowBase]:
    """Workflows of the module that no other workflow of the module contains.

    Workflows defined in the module itself are preferred; workflows only imported into it are the
    candidates when the module defines none (a ``main.py`` that imports its pipeline).
    """
    defined_here = {name: wf for name, wf in workflows.items() if _defined_in(wf, module)}
    pool = defined_here or workflows
    contained: set[int] = set()
    for workflow in workflows.values():
        contained.update(id(e) for e in entities_under(workflow) if isinstance(e, WorkflowBase))
    return {name: wf for name, wf in pool.items() if id(wf) not in contained}


def _defined_in(workflow: WorkflowBase, module: ModuleType) -> bool:
    # flytekit renames ``__main__`` after the file in ``instantiated_in``; the function keeps it
    function = getattr(workflow, "_workflow_function", None)
    defined = getattr(function, "__module__", None) or getattr(workflow, "instantiated_in", None)
    return bool(defined == module.__name__)


def entities_under(workflow: WorkflowBase) -> list[Any]:
    """Every task, workflow and launch plan reachable from ``workflow`` (itself excluded), once each."""
    seen: dict[int, Any] = {}
    for node in workflow.nodes:
        for entity in _entities_of_node(node):
            _visit(entity, seen)
    seen.pop(id(workflow), None)
    return list(seen.values())


def tasks_under(workflow: WorkflowBase) -> list[Task]:
    """The tasks (map tasks' inner tasks included) reachable from ``workflow``."""
    return [e for e in entities_under(workflow) if isinstance(e, Task)]


def _visit(entity: Any, seen: dict[int, Any]) -> None:
    if entity is None or id(entity) in seen:
        return
    if isinstance(entity, BranchNode):
        for node in _branch_nodes(entity):
            for inner in _entities_of_node(node):
                _visit(inner, seen)
        return
    if isinstance(entity, ArrayNode):
        _visit(entity.target, seen)
        return
    seen[id(entity)] = entity
    for child in _children(entity):
        _visit(child, seen)


def _children(entity: Any) -> Iterator[Any]:
    if isinstance(entity, WorkflowBase):
        for node in entity.nodes:
            yield from _entities_of_node(node)
    elif isinstance(entity, LaunchPlan):
        yield entity.workflow
    elif isinstance(entity, ArrayNodeMapTask):
        yield entity.python_function_task
    elif (
        isinstance(entity, PythonFunctionTask) and entity.execution_mode == PythonFunctionTask.ExecutionBehavior.DYNAMIC
    ):
        yield from _referenced_by_body(entity)


def _entities_of_node(node: Node) -> Iterator[Any]:
    yield node.flyte_entity


def _branch_nodes(branch: BranchNode) -> Iterator[Node]:
    block = branch._ifelse_block  # flytekit keeps the compiled branch only here
    for case in [block.case, *(block.other or [])]:
        if case is not None and case.then_node is not None:
            yield case.then_node
    if block.else_node is not None:
        yield block.else_node


def _referenced_by_body(task: PythonFunctionTask) -> Iterator[Any]:
    """Entities a ``@dynamic`` body names: its graph is built at run time, so read its globals."""
    function = task.task_function
    scope = function.__globals__
    for name in _names_used(function.__code__):
        value = scope.get(name)
        if isinstance(value, (WorkflowBase, PythonTask, LaunchPlan)):
            yield value


def app_dir(main: MainWorkflow) -> Path:
    """The app folder: the folder of the module the workflow was found in, and the code bundle's root.

    Not resolved (``os.path.abspath``, as flytekit's module sanitizer and bundle listing see paths), so
    a folder reached through a symlink still holds its modules.
    """
    return Path(os.path.abspath(str(sys.modules[main.module_name].__file__))).parent


@contextlib.contextmanager
def app_package_root(folder: Path) -> Iterator[None]:
    """flytekit names modules with the app folder as the package root (FLYTE_PYTHON_PACKAGE_ROOT).

    In the task's pod the code bundle, packed from the app folder, is the working directory, so a
    module is found by its path under that folder (``main``, ``steps.prep``), whatever
    ``__init__.py`` files sit around it here. flytekit caches resolved names per file, so the
    cache is a fresh one while this is in force, and the previous one afterwards.
    """
    from flytekit.configuration.feature_flags import FeatureFlags
    from flytekit.core import tracker

    saved = FeatureFlags.FLYTE_PYTHON_PACKAGE_ROOT, tracker._mod_sanitizer
    FeatureFlags.FLYTE_PYTHON_PACKAGE_ROOT = str(folder)
    tracker._mod_sanitizer = tracker._ModuleSanitizer()
    try:
        yield
    finally:
        FeatureFlags.FLYTE_PYTHON_PACKAGE_ROOT, tracker._mod_sanitizer = saved


def stable_names(main: MainWorkflow) -> None:
    """Name the main workflow and the app's entities under it from the app folder, not the launch folder.

    A task's name is part of Flyte's cache key (datacatalog dataset ``flyte_task-<name>``), so it
    must not change with where ``python main.py`` is started. flytekit prefixes a task defined in
    ``__main__`` with its path relative to the current directory (``app.main.main.make_data`` when
    launched from the parent folder) and resolves module names through the ``__init__.py`` files
    above the file (``myproj.app.main``), while the pod imports the module from the bundle root.
    Here each entity whose module lives in the app folder gets the name flytekit gives it with
    the app folder as package root: ``<module path under the app folder>.<function>``, the same
    module the registered task command imports. Entities from installed packages keep theirs.
    """
    folder = app_dir(main)
    module = sys.modules[main.module_name]
    with app_package_root(folder):
        for entity in [main.workflow, *entities_under(main.workflow)]:
            _rename(entity, folder)
            _name_variable(entity, module)


def _rename(entity: Any, folder: Path) -> None:
    from flytekit.core.tracker import extract_task_module

    if isinstance(entity, ArrayNodeMapTask):
        inner = entity.python_function_task
        if _by_default_resolver(inner) and _in_folder(inner.task_function, folder):
            _, module, function, _ = extract_task_module(inner.task_function)
            marker = f".map_{function}_"
            old = entity._name
            entity._name = module + old[old.rfind(marker) :]
            entity.sub_node_metadata._name = entity._name
    elif isinstance(entity, PythonFunctionTask) and _in_folder(entity.task_function, folder):
        if _by_default_resolver(entity):
            # the default resolver's command imports extract_task_module's module: the name follows it
            name, module, _, _ = extract_task_module(entity.task_function)
            entity._name = name
        else:
            # named by a resolver of its own (hydra_app's): the name stays, without the launch folder's prefix
            module = entity._name.rpartition(".")[0]
        entity._instantiated_in = module  # PythonFunctionTask.name prefixes it when the name lacks it
    elif isinstance(entity, WorkflowBase):
        function = getattr(entity, "_workflow_function", None)
        if function is not None and _in_folder(function, folder):
            entity._name = extract_task_module(function)[0]


def _name_variable(entity: Any, module: ModuleType) -> None:
    """Tell flytekit the variable an instance task (a ShellTask, say) of the app's main module is bound to.

    The default resolver's command loads such a task by it (``task-module main task-name
    count_labels``). flytekit finds the variable by importing the task's module again and looking
    for the same object (tracker.py TrackedInstance.find_lhs), which fails for a script started as
    ``python main.py``: the import makes a second copy of every object, and its fallback loads the
    file without running it (flytekit 1.16). The launcher has the module that ran, so it looks there.
    """
    from flytekit.core.python_function_task import PythonInstanceTask

    if not isinstance(entity, PythonInstanceTask) or entity._lhs is not None:
        return
    for name, value in vars(module).items():
        if value is entity:
            entity._lhs = name
            return


def _by_default_resolver(task: Any) -> bool:
    """Whether the task's command loads it by module and name (``task-module M task-name T``)."""
    from flytekit.core.python_auto_container import default_task_resolver

    return isinstance(task, PythonFunctionTask) and task.task_resolver is default_task_resolver


def _in_folder(function: Any, folder: Path) -> bool:
    module = inspect.getmodule(function)
    file = getattr(module, "__file__", None)
    return file is not None and Path(os.path.abspath(file)).is_relative_to(folder)


def _names_used(code: CodeType) -> Iterator[str]:
    """Global names a function's code uses, comprehensions and inner functions included."""
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names_used(const)
