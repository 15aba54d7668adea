"""Each job's config derived from one composition is Hydra's own, node for node (scaffold_flyte/job_configs.py).

Every derived config is compared with ``load_sweep_config``'s for the same job: the same keys in
the same order, the same values (interpolations unresolved), the same node classes, the same
metadata (structured types, element types, optional, struct and readonly flags) and the same
resolver cache, on a config with groups, a package override, a structured schema,
interpolations into the hydra node, Hydra's resolvers, env_copy and override_dirname settings.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from hydra import initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, ListConfig, OmegaConf, open_dict

from scaffold_flyte import job_configs as job_configs_module
from scaffold_flyte.job_configs import job_configs
from scaffold_flyte.sweep import SweepJob
from tests.helpers import APPS

APP = APPS / "compose_shapes"


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two OmegaConf trees differ in anything a task, Hydra or a later merge could see."""
    found = []
    if type(a) is not type(b):
        return [f"{path}: {type(a).__name__} vs {type(b).__name__}"]
    meta_a, meta_b = vars(a._metadata).copy(), vars(b._metadata).copy()
    if meta_a != meta_b:
        found.append(f"{path}: metadata {meta_a} vs {meta_b}")
    if isinstance(a, DictConfig):
        if a._is_none() or a._is_missing() or a._is_interpolation():
            return found + ([] if a._value() == b._value() else [f"{path}: {a._value()} vs {b._value()}"])
        keys_a, keys_b = list(a.keys()), list(b.keys())
        if keys_a != keys_b:
            return found + [f"{path}: keys {keys_a} vs {keys_b}"]
        for key in keys_a:
            found += differences(a._get_node(key), b._get_node(key), f"{path}.{key}")
    elif isinstance(a, ListConfig):
        if a._is_none() or a._is_missing() or a._is_interpolation():
            return found + ([] if a._value() == b._value() else [f"{path}: {a._value()} vs {b._value()}"])
        if len(a) != len(b):
            return found + [f"{path}: length {len(a)} vs {len(b)}"]
        for index in range(len(a)):
            found += differences(a._get_node(index), b._get_node(index), f"{path}[{index}]")
    else:
        value_a, value_b = a._value(), b._value()
        if value_a != value_b or type(value_a) is not type(value_b):
            found.append(f"{path}: {value_a!r} vs {value_b!r}")
    return found


@pytest.fixture
def hydra_loader(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.syspath_prepend(str(APP))
    import schema  # noqa: F401 - stores the structured schema in Hydra's ConfigStore

    with initialize_config_dir(config_dir=str(APP / "conf"), version_base=None, job_name="main"):
        yield GlobalHydra.instance().config_loader()


def master_config(loader: Any, overrides: list[str]) -> DictConfig:
    """The config Hydra hands a sweeper: composed in MULTIRUN mode from the command line."""
    return loader.load_configuration(config_name="config", overrides=overrides, run_mode=RunMode.MULTIRUN)


def resolved(config: DictConfig) -> Any:
    numbered = copy.deepcopy(config)
    with open_dict(numbered):
        numbered.hydra.job.num, numbered.hydra.job.id = 3, "main_3"
    HydraConfig.instance().set_config(numbered)
    with open_dict(numbered):
        del numbered["hydra"]  # the task's config; its ${hydra:...} resolve from the HydraConfig set above
    return OmegaConf.to_container(numbered, resolve=True)


def assert_same_as_hydras(loader: Any, master: DictConfig, jobs: list[list[str]]) -> list[DictConfig]:
    derived = job_configs(loader, master, jobs)
    assert len(derived) == len(jobs)
    for overrides, config in zip(jobs, derived, strict=True):
        hydras = loader.load_sweep_config(master, list(overrides))
        assert differences(config, hydras) == [], overrides
        # and resolved (as a task would see it), under the job's own HydraConfig, numbered as the launcher does
        assert resolved(config) == resolved(hydras), overrides
    return derived


def counted(loader: Any, monkeypatch: pytest.MonkeyPatch, master: DictConfig, jobs: list[list[str]]) -> int:
    """How many compositions ``job_configs`` makes for these jobs (whose configs must be Hydra's, as checked)."""
    composed: list[list[str]] = []
    real = loader.load_sweep_config

    def counting(master: DictConfig, overrides: list[str]) -> DictConfig:
        composed.append(list(overrides))
        return real(master, overrides)

    with monkeypatch.context() as patch:
        patch.setattr(loader, "load_sweep_config", counting)
        job_configs(loader, master, jobs)
    assert_same_as_hydras(loader, master, jobs)
    return len(composed)


def test_value_sweeps_are_derived_from_the_master_and_identical(
    hydra_loader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    master = master_config(hydra_loader, ["seed=1,2", "model.lr=0.1,0.5", "hydra.job.chdir=false"])
    jobs = [
        [f"seed={seed}", f"model.lr={lr}", "tags=[x,y]", "+extra.note='a b'", "model.opt={name: rms}"]
        for seed in (1, 2)
        for lr in (0.1, 0.5)
    ]
    # no composition for the four jobs: the sweep's own config is their shared part
    assert counted(hydra_loader, monkeypatch, master, jobs) == 0
    derived = job_configs(hydra_loader, master, jobs)
    assert [str(config.hydra.job.override_dirname) for config in derived][1] == (
        "+extra.note='a b',model.lr=0.5,model.opt={name: rms},tags=[x,y]"
    )
    assert all(config is not master for config in derived)


def test_plain_values_on_the_command_line_are_set_again_by_each_job(
    hydra_loader: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    command_line = ["model.lr=0.3", "seed=1,2", "tags=[p,q]", "name=n_${seed}", "train_data=null"]
    master = master_config(hydra_loader, command_line)
    jobs = [["model.lr=0.3", f"seed={seed}", "tags=[p,q]", "name=n_${seed}", "train_data=null"] for seed in (1, 2)]
    assert counted(hydra_loader, monkeypatch, master, jobs) == 0
    # a relaunch: no sweep at all, and a job of exactly the command line's values
    master = master_config(hydra_loader, ["model.lr=0.3"])
    assert counted(hydra_loader, monkeypatch, master, [["model.lr=0.3"]]) == 0
    # Optuna's trials: its fixed values (the command line's) and the values it samples
    master = master_config(hydra_loader, ["hydra/sweeper=optuna", "seed=4"])
    assert counted(hydra_loader, monkeypatch, master, [["seed=4", "model.lr=1"], ["seed=4", "model.lr=2"]]) == 0


@pytest.mark.parametrize(
    ("command_line", "job"),
    [
        (["seed=1", "seed=2,3"], ["seed=2"]),  # a key twice
        (["model={lr: 0.2}", "seed=1,2"], ["model={lr: 0.2}", "seed=1"]),  # a dict, merged into what is there
        (["model.lr=0.2", "model.layers=4", "model={lr: 0.2}"], ["model.lr=0.2", "model.layers=4"]),  # nested keys
        (["+extra.note=x", "seed=1,2"], ["+extra.note=x", "seed=1"]),  # an addition
        (["~tags", "seed=1,2"], ["~tags", "seed=1"]),  # a deletion
        (["model.lr=0.2", "seed=1,2"], ["seed=1"]),  # a job that leaves out a value the master has
        # a job's dict merged into the node that holds a value the master has
        (["model.lr=0.2", "seed=1,2"], ["model.lr=0.2", "seed=1", "model={opt: {name: rms}}"]),
    ],
)
def test_a_master_that_could_differ_from_the_base_is_not_used(
    hydra_loader: Any, monkeypatch: pytest.MonkeyPatch, command_line: list[str], job: list[str]
) -> None:
    master = master_config(hydra_loader, command_line)
    assert counted(hydra_loader, monkeypatch, master, [job]) == 1


def test_a_master_changed_since_its_composition_is_not_used(
    hydra_loader: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    jobs = [["seed=1"], ["seed=2"]]
    callbacks = master_config(
        hydra_loader, ["seed=1,2", "+hydra.callbacks.mine._target_=hydra.experimental.callback.Callback"]
    )
    assert counted(hydra_loader, monkeypatch, callbacks, jobs) == 1
    sweeper = master_config(hydra_loader, ["seed=1,2", "hydra.sweeper._target_=my.own.Sweeper"])
    assert counted(hydra_loader, monkeypatch, sweeper, jobs) == 1
    handed_to_hydra_config = master_config(hydra_loader, ["seed=1,2"])
    HydraConfig.instance().set_config(handed_to_hydra_config)  # makes its hydra node read-only
    assert counted(hydra_loader, monkeypatch, handed_to_hydra_config, jobs) == 1
    # what a composition reads from the process has changed since: env_copy's values, the working folder
    master = master_config(hydra_loader, ["seed=1,2"])
    monkeypatch.setenv("HOME", "/elsewhere")  # the app's config copies HOME (hydra.job.env_copy)
    assert counted(hydra_loader, monkeypatch, master, jobs) == 1
    assert job_configs(hydra_loader, master, jobs)[0].hydra.job.env_set.HOME == "/elsewhere"
    master = master_config(hydra_loader, ["seed=1,2"])
    monkeypatch.chdir(tmp_path)
    assert counted(hydra_loader, monkeypatch, master, jobs) == 1


def test_a_group_left_missing_is_hydras_error(tmp_path: Any) -> None:
    (tmp_path / "db").mkdir()
    (tmp_path / "db" / "mysql.yaml").write_text("host: a\n")
    (tmp_path / "config.yaml").write_text("defaults:\n  - db: ???\n  - _self_\nx: 1\n")
    with initialize_config_dir(config_dir=str(tmp_path), version_base=None, job_name="main"):
        loader = GlobalHydra.instance().config_loader()
        master = loader.load_configuration(config_name="config", overrides=["x=2,3"], run_mode=RunMode.MULTIRUN)
        with pytest.raises(Exception, match="You must specify 'db'"):
            job_configs(loader, master, [["x=2"], ["x=3"]])
        (config,) = job_configs(loader, master, [["x=2", "db=mysql"]])
        assert config.db.host == "a"


def test_group_choices_share_a_composition_per_choice(hydra_loader: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    bases: list[list[str]] = []
    real = job_configs_module._base

    def counting(loader: Any, master: DictConfig, structural: list[str]) -> Any:
        bases.append(structural)
        return real(loader, master, structural)

    monkeypatch.setattr(job_configs_module, "_base", counting)
    master = master_config(hydra_loader, ["model=small,big", "seed=3,4"])
    jobs = [
        ["model=small", "seed=3"],
        ["seed=3", "model=big"],
        ["model=small", "seed=4"],
        ["seed=4", "model=big", "data@train_data=wine", "~tags"],
        ["model=big", "seed=4", "++name=x${seed}"],
    ]
    assert_same_as_hydras(hydra_loader, master, jobs)
    assert bases == [["model=small"], ["model=big"], ["model=big", "data@train_data=wine"]]


def test_anything_hydra_would_refuse_is_hydras_own_error(hydra_loader: Any) -> None:
    master = master_config(hydra_loader, [])
    for bad in (["model.nope=1"], ["seed=abc"], ["model=huge"], ["seed=1,2"], ["+seed=1"]):
        with pytest.raises(Exception) as hydras:
            hydra_loader.load_sweep_config(master, bad)
        with pytest.raises(type(hydras.value)) as ours:
            job_configs(hydra_loader, master, [["seed=5"], bad])
        assert str(ours.value) == str(hydras.value), bad


def test_hydra_overrides_in_a_job_are_composed_by_hydra(hydra_loader: Any) -> None:
    master = master_config(hydra_loader, [])
    jobs = [["hydra.job.config.override_dirname.kv_sep=:", "seed=7"], ["seed=8"]]
    derived = assert_same_as_hydras(hydra_loader, master, jobs)
    assert derived[0].hydra.job.override_dirname == "" and derived[1].hydra.job.override_dirname == ""


def test_a_loader_that_is_not_hydras_composes_every_job(hydra_loader: Any) -> None:
    class Other:
        def __init__(self) -> None:
            self.calls: list[list[str]] = []

        def load_sweep_config(self, master: DictConfig, overrides: list[str]) -> DictConfig:
            self.calls.append(overrides)
            return hydra_loader.load_sweep_config(master, overrides)

    other = Other()
    master = master_config(hydra_loader, [])
    job_configs(other, master, [["seed=1"], ["seed=2"]])
    assert other.calls == [["seed=1"], ["seed=2"]]


def test_a_jobs_task_config_is_a_full_copy_less_the_hydra_node(hydra_loader: Any) -> None:
    master = master_config(hydra_loader, [])
    (config,) = job_configs(hydra_loader, master, [["model=big", "seed=9"]])
    with open_dict(config):
        config.hydra.job.num, config.hydra.job.id = 9, "main_9"
    job = SweepJob(num=9, overrides=("model=big", "seed=9"), config=config)
    expected = copy.deepcopy(config)
    with open_dict(expected):
        del expected["hydra"]
    task_config = job.task_config
    assert differences(task_config, expected) == []
    task_config.model.layers = 1  # a copy: the job's own config is untouched, its hydra node kept
    assert config.model.layers == 8 and "hydra" in config


def test_while_resolving_a_job_hydra_interpolations_are_its_own(hydra_loader: Any) -> None:
    master = master_config(hydra_loader, [])
    HydraConfig.instance().set_config(master)
    jobs = []
    for num, config in enumerate(job_configs(hydra_loader, master, [["seed=1"], ["model.lr=0.5"]])):
        with open_dict(config):
            config.hydra.job.num, config.hydra.job.id = num, f"main_{num}"
        jobs.append(SweepJob(num=num, overrides=tuple(config.hydra.overrides.task), config=config))
    for job in jobs:
        with job.resolving():
            task_config = job.task_config
            assert task_config.job_tag == job.config.hydra.job.override_dirname
            assert HydraConfig.get().job.num == job.num
        assert not OmegaConf.is_readonly(job.config.hydra)  # unlike set_config, which Hydra's run_job calls
    assert HydraConfig.get().job.name == "main" and "num" not in HydraConfig.get().job  # the master's again
