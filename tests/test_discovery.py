"""Main-workflow discovery and the walk over every entity under it."""

import pytest

from scaffold_flyte.discovery import entities_under, find_main_workflow, find_main_workflow_or_none
from scaffold_flyte.errors import WorkflowDiscoveryError
from tests.fixtures import imports_only, nested, no_workflow, shared_workflows, two_top


def test_main_workflow_is_the_one_no_other_contains() -> None:
    main = find_main_workflow(nested)
    assert main.workflow is nested.main_wf
    assert main.attribute == "main_wf"


def test_walk_reaches_every_kind_of_node() -> None:
    names = {getattr(e, "name", None) for e in entities_under(nested.main_wf)}
    expected = {
        "tests.fixtures.nested.double",  # plain task
        "tests.fixtures.nested.sub_wf",  # sub-workflow
        "tests.fixtures.nested.negate",  # task inside the sub-workflow
        "tests.fixtures.nested.in_branch_then",  # conditional branches
        "tests.fixtures.nested.in_branch_else",
        "tests.fixtures.nested.fan_out",  # @dynamic task
        "tests.fixtures.nested.in_dynamic",  # task its body calls
        "tests.fixtures.nested.mapped",  # map task's inner task
        "tests.fixtures.nested.lp_target_lp",  # launch-plan node
        "tests.fixtures.nested.lp_target",  # and its workflow
        "tests.fixtures.nested.in_launch_plan_wf",
        "tests.fixtures.shared_workflows.shared_wf",  # workflow from another module
        "tests.fixtures.shared_workflows.shared_step",
    }
    assert expected <= names
    assert "tests.fixtures.nested.main_wf" not in names


def test_each_entity_is_listed_once() -> None:
    entities = entities_under(nested.main_wf)
    assert len({id(e) for e in entities}) == len(entities)


def test_two_top_level_workflows_name_both_and_the_setting() -> None:
    with pytest.raises(WorkflowDiscoveryError) as error:
        find_main_workflow(two_top)
    message = str(error.value)
    assert "first, second" in message
    assert "hydra.launcher.workflow=<name>" in message
    assert "\n" not in message


def test_the_setting_picks_one_of_several() -> None:
    assert find_main_workflow(two_top, "second").workflow is two_top.second
    assert find_main_workflow(two_top, "tests.fixtures.two_top.first").workflow is two_top.first


def test_unknown_workflow_name_lists_the_known_ones() -> None:
    with pytest.raises(WorkflowDiscoveryError, match=r"no workflow of that name \(its workflows: first, second\)"):
        find_main_workflow(two_top, "third")


def test_module_without_workflow_is_named() -> None:
    with pytest.raises(WorkflowDiscoveryError, match="No Flyte workflow found in module 'tests.fixtures.no_workflow'"):
        find_main_workflow(no_workflow)
    assert find_main_workflow_or_none(no_workflow) is None


def test_imported_workflow_is_the_main_one_when_the_module_defines_none() -> None:
    assert find_main_workflow(imports_only).workflow is shared_workflows.shared_wf
