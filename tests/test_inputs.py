"""Split config: workflow inputs filled from a job's config by name."""

from pathlib import Path

import pytest
from omegaconf import DictConfig, OmegaConf

from scaffold_flyte.errors import ConfigInputError, UnsupportedConfigError
from scaffold_flyte.inputs import workflow_inputs
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
