"""Split config: workflow inputs filled from a job's config by name."""

import re
from pathlib import Path

import pytest
from flytekit import task, workflow
from flytekit.types.directory import FlyteDirectory
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig, OmegaConf

from scaffold_flyte.errors import ConfigInputError, UnsupportedConfigError
from scaffold_flyte.inputs import planned_inputs, workflow_inputs
from tests.fixtures import inputs_wf


def test_sub_configs_by_name_whole_config_and_plain_values() -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "data": {"path": "x"}, "epochs": 3})
    kwargs = workflow_inputs(inputs_wf.mixed, cfg)
    assert set(kwargs) == {"model", "cfg", "epochs"}  # tag keeps its Python default
    assert isinstance(kwargs["model"], DictConfig) and kwargs["model"] == {"lr": 0.1}
    assert kwargs["cfg"] == cfg
    assert kwargs["epochs"] == 3
    assert inputs_wf.mixed(**kwargs) == "0.1/0.1/3/default"


def test_config_value_wins_over_python_default() -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "epochs": 3, "tag": "from-config"})
    assert inputs_wf.mixed(**workflow_inputs(inputs_wf.mixed, cfg)).endswith("/from-config")


def test_a_config_key_named_cfg_is_taken_as_a_sub_config() -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "cfg": {"model": {"lr": 0.5}}, "epochs": 1})
    assert workflow_inputs(inputs_wf.mixed, cfg)["cfg"] == {"model": {"lr": 0.5}}


def test_missing_required_input_names_input_and_key() -> None:
    cfg = OmegaConf.create({"epochs": 3})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.mixed, cfg, "job #2 (epochs=3)")
    message = str(error.value)
    assert message.startswith("job #2 (epochs=3): workflow input 'model' has no config node 'model'")
    assert "+model=" in message


def test_interpolations_resolve_against_the_whole_config() -> None:
    cfg = OmegaConf.create({"base_lr": 0.2, "model": {"lr": "${base_lr}"}, "epochs": 1})
    assert inputs_wf.mixed(**workflow_inputs(inputs_wf.mixed, cfg)).startswith("0.2/0.2/")


def test_relative_file_paths_become_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "rows.csv").write_text("a,b\n")
    monkeypatch.chdir(tmp_path)
    kwargs = workflow_inputs(inputs_wf.with_file, OmegaConf.create({"data": "rows.csv"}))
    assert kwargs["data"] == str(tmp_path / "rows.csv")
    assert inputs_wf.with_file(**kwargs) == "a,b\n"


def test_dataclass_and_list_inputs_from_config_nodes() -> None:
    cfg = OmegaConf.create({"optimizer": {"name": "adam"}, "layers": [1, 2, 3]})
    kwargs = workflow_inputs(inputs_wf.typed, cfg)
    assert kwargs["optimizer"] == inputs_wf.Optimizer(name="adam", momentum=0.0)
    assert kwargs["layers"] == [1, 2, 3]
    assert inputs_wf.typed(**kwargs) == "adam:0.0:6"


@pytest.mark.parametrize(
    "model, bad, fix",
    [
        ({"lr.decay": 0.1}, "'lr.decay' at 'model'", "'lr_decay'"),
        ({"opt": {"beta.1": 0.9}}, "'beta.1' at 'model.opt'", "'beta_1'"),
        ({1: "a"}, "1 at 'model'", "string key"),
    ],
)
def test_keys_the_transformer_cannot_carry_are_refused(model: dict, bad: str, fix: str) -> None:
    cfg = OmegaConf.create({"model": model, "epochs": 1})
    with pytest.raises(UnsupportedConfigError) as error:
        workflow_inputs(inputs_wf.mixed, cfg)
    assert bad in str(error.value)
    assert fix in str(error.value)


def test_a_scalar_of_the_wrong_type_is_refused_before_running() -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "epochs": "many"})
    with pytest.raises(ConfigInputError, match=r"input 'epochs' expects int, but config 'epochs' is 'many' \(str\)"):
        workflow_inputs(inputs_wf.mixed, cfg)


def test_an_int_for_a_float_input_becomes_a_float() -> None:
    from tests.fixtures import napping_wf

    kwargs = workflow_inputs(napping_wf.napping, OmegaConf.create({"seconds": 2}))
    assert kwargs == {"seconds": 2.0} and isinstance(kwargs["seconds"], float)


# -- every input down to its Flyte literal, while planning ----------------------------------------


@task
def _list_files(files: list[FlyteFile], folder: FlyteDirectory) -> int:
    return len(files)


@workflow
def with_data(files: list[FlyteFile], folder: FlyteDirectory) -> int:
    return _list_files(files=files, folder=folder)


def test_inputs_come_with_the_literals_flytekit_makes_of_them() -> None:
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.type_engine import TypeEngine

    cfg = OmegaConf.create({"model": {"lr": 0.1}, "epochs": 3})
    kwargs, literals = planned_inputs(inputs_wf.mixed, cfg)
    assert set(literals) == set(kwargs) == {"model", "cfg", "epochs"}
    assert literals["epochs"].scalar.primitive.integer == 3
    ctx = FlyteContextManager.current_context()
    assert TypeEngine.to_python_value(ctx, literals["model"], DictConfig) == {"lr": 0.1}
    assert workflow_inputs(inputs_wf.mixed, cfg) == kwargs


def test_a_single_value_for_a_config_node_input_is_refused() -> None:
    cfg = OmegaConf.create({"model": 3, "epochs": 1})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.mixed, cfg, "job #0 (model=3)")
    assert str(error.value) == (
        "job #0 (model=3): workflow input 'model' expects a config node (DictConfig), but config 'model' is 3 (int): "
        "make 'model' a config node (keys under 'model:' in your config, or model.<name>=<value>)."
    )


@pytest.mark.parametrize(
    "epochs, shown",
    [([1, 2], "[1, 2] (a list)"), ({"a": 1}, "{'a': 1} (a config node)")],
    ids=["list", "dict"],
)
def test_a_list_or_a_node_for_a_scalar_input_is_refused(epochs: object, shown: str) -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "epochs": epochs})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.mixed, cfg, "job #1")
    assert (
        str(error.value)
        == f"job #1: workflow input 'epochs' expects int, but config 'epochs' is {shown}: set epochs=<int>."
    )


@pytest.mark.parametrize(
    "extra, bad",
    [
        ([{"a.b": 1}], "'a.b' at 'model.extra[0]'"),
        ([1, {"ok": {2: "x"}}], "2 at 'model.extra[1].ok'"),
        ([[{"c.d": 1}]], "'c.d' at 'model.extra[0][0]'"),
    ],
)
def test_keys_the_transformer_cannot_carry_are_refused_inside_lists_too(extra: list, bad: str) -> None:
    cfg = OmegaConf.create({"model": {"extra": extra}, "epochs": 1})
    with pytest.raises(UnsupportedConfigError, match=re.escape(f"job #4: config key {bad} cannot be passed")):
        workflow_inputs(inputs_wf.mixed, cfg, "job #4")


def test_an_interpolation_to_a_missing_key_is_refused_with_its_path() -> None:
    cfg = OmegaConf.create({"model": {"lr": 0.1, "epochs": "${train.epochs}"}, "epochs": 1})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.mixed, cfg, "job #1")
    assert str(error.value) == (
        "job #1: config 'model.epochs' = ${train.epochs} does not resolve (Interpolation key 'train.epochs' not "
        "found), and workflow input 'model' takes it: point the interpolation at a key that has a value, or set "
        "model.epochs=<value>."
    )


@task
def _tag(epochs: int, tag: str) -> str:
    return f"{tag}{epochs}"


@workflow
def tagged(epochs: int, tag: str = "default") -> str:
    return _tag(epochs=epochs, tag=tag)


@pytest.mark.parametrize(
    "entity, config, path, name",
    [
        pytest.param(inputs_wf.mixed, {"model": {"lr": "???"}, "epochs": 1}, "model.lr", "model", id="in-a-node"),
        pytest.param(
            inputs_wf.mixed,
            {"model": {"lr": 0.1, "layers": [1, "???"]}, "epochs": 1},
            "model.layers[1]",
            "model",
            id="list",
        ),
        pytest.param(inputs_wf.mixed, {"model": "???", "epochs": 1}, "model", "model", id="a-whole-node"),
        pytest.param(tagged, {"epochs": "???"}, "epochs", "epochs", id="scalar-input"),
        pytest.param(tagged, {"epochs": 1, "tag": "???"}, "tag", "tag", id="input-with-a-default"),
        pytest.param(
            inputs_wf.mixed, {"model": {"lr": 0.1}, "data": {"path": "???"}}, "data.path", "cfg", id="whole-cfg"
        ),
    ],
)
def test_a_missing_mandatory_value_is_refused_naming_its_key_and_the_job(
    entity: object, config: dict, path: str, name: str
) -> None:
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(entity, OmegaConf.create(config), "job #7 (x=1)")
    assert str(error.value) == (
        f"job #7 (x=1): config '{path}' is ??? (a mandatory value that was never given), and workflow input '{name}' "
        f"takes it: set {path}=<value> on the command line or in your config."
    )


def test_an_interpolation_to_a_missing_mandatory_value_is_refused() -> None:
    cfg = OmegaConf.create({"base": "???", "model": {"lr": "${base}"}, "epochs": 1})
    with pytest.raises(ConfigInputError, match=re.escape("config 'model.lr' = ${base} does not resolve (")):
        workflow_inputs(inputs_wf.mixed, cfg)


def test_errors_show_an_interpolation_as_written_not_its_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAFFOLD_TEST_TOKEN", "hunter2")
    cfg = OmegaConf.create({"model": {"lr": 0.1}, "epochs": "${oc.env:SCAFFOLD_TEST_TOKEN}"})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.mixed, cfg)
    assert "config 'epochs' is ${oc.env:SCAFFOLD_TEST_TOKEN} (an interpolation): set epochs=<int>." in str(error.value)
    assert "hunter2" not in str(error.value)


def test_a_dataclass_input_with_a_field_of_the_wrong_type_is_one_line() -> None:
    cfg = OmegaConf.create({"optimizer": {"name": "adam", "momentum": "fast"}, "layers": [1]})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.typed, cfg, "job #0")
    message = str(error.value)
    assert message.startswith("job #0: workflow input 'optimizer' expects Optimizer, but config 'optimizer' is ")
    assert "\n" not in message and "momentum" in message
    assert message.endswith("give 'optimizer' the fields of Optimizer with values of their types.")


def test_a_list_item_of_the_wrong_type_is_refused_by_the_literal_conversion() -> None:
    cfg = OmegaConf.create({"optimizer": {"name": "adam"}, "layers": [1, "x"]})
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.typed, cfg, "job #0")
    message = str(error.value)
    assert message.startswith(
        "job #0: workflow input 'layers' expects list[int], but config 'layers' is [1, 'x'] (a list) ("
    )
    assert message.endswith("): set layers=[<item>, ...] with items of the type list[int] holds.")
    assert "\n" not in message


@pytest.mark.parametrize("where", ["nope.csv", "folder"], ids=["missing", "a-directory"])
def test_a_file_input_must_name_an_existing_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    (tmp_path / "folder").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigInputError) as error:
        workflow_inputs(inputs_wf.with_file, OmegaConf.create({"data": where}), "job #0")
    problem = "which does not exist" if where == "nope.csv" else "which is a directory, not a file"
    assert str(error.value) == (
        f"job #0: workflow input 'data' expects the path of a file (FlyteFile), but config 'data' names "
        f"{tmp_path / where}, {problem}: set data=<path of a file, or a URI> (a relative path is taken from where "
        "you launch)."
    )


def test_a_directory_input_must_name_a_directory(tmp_path: Path) -> None:
    (tmp_path / "rows.csv").write_text("a\n")
    cfg = OmegaConf.create({"files": [], "folder": str(tmp_path / "rows.csv")})
    with pytest.raises(ConfigInputError, match="config 'folder' names .*rows.csv, which is a file, not a directory"):
        workflow_inputs(with_data, cfg)


def test_data_inputs_are_checked_but_never_uploaded_while_planning(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """flytekit makes a file's literal by uploading it (locally: copying it into its sandbox): not while planning."""
    from flytekit.core.context_manager import FlyteContextManager
    from flytekit.core.data_persistence import FileAccessProvider
    from flytekit.core.type_engine import TypeEngine

    def no_upload(*args: object, **kwargs: object) -> None:
        raise AssertionError("uploaded while planning")

    for method in ("put_data", "async_put_data", "put_raw_data", "async_put_raw_data"):
        monkeypatch.setattr(FileAccessProvider, method, no_upload)
    (tmp_path / "rows.csv").write_text("a\n")
    rows = str(tmp_path / "rows.csv")
    ctx = FlyteContextManager.current_context()
    with pytest.raises(AssertionError, match="uploaded while planning"):  # what converting it would do
        TypeEngine.to_literal(ctx, rows, FlyteFile, TypeEngine.to_literal_type(FlyteFile))
    kwargs, literals = planned_inputs(inputs_wf.with_file, OmegaConf.create({"data": rows}))
    assert kwargs == {"data": rows} and literals == {}
    cfg = OmegaConf.create({"files": [rows, rows], "folder": str(tmp_path)})
    kwargs, literals = planned_inputs(with_data, cfg)
    assert kwargs == {"files": [rows, rows], "folder": str(tmp_path)} and literals == {}


def test_a_uri_is_taken_as_it_is() -> None:
    kwargs, literals = planned_inputs(inputs_wf.with_file, OmegaConf.create({"data": "s3://bucket/rows.csv"}))
    assert kwargs == {"data": "s3://bucket/rows.csv"} and literals == {}
