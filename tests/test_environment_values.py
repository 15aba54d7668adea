"""Execution inputs that depend on the environment are refused, whatever route the value takes.

The launches are dry runs of a remote launch that builds nothing (tests/apps/env_secrets): the
refusal comes while planning, so no stand-in is needed. Each case (conf/case/) routes the
environment into an input another way.
"""

from __future__ import annotations

import os
import random
import subprocess
import uuid
from pathlib import Path
from typing import Any

import pytest
from omegaconf import OmegaConf

from scaffold_flyte import environment_values
from scaffold_flyte.environment_values import Markers, marked_environment, refuse_env_values
from scaffold_flyte.errors import ConfigInputError
from tests.helpers import APPS, load_app, multirun, no_build_remote, run_app

APP = APPS / "env_secrets"
TOKEN = f"tok-{uuid.uuid4().hex}"
FIX = "read it inside the task (os.environ or a Flyte secret), or set hydra.launcher.allow_env_inputs=true."


def dry_run(
    home: Path, *overrides: str, workflow: str = "pipeline", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return run_app(
        APP,
        *no_build_remote("127.0.0.1:9"),  # nothing answers there: a dry run makes no call
        "hydra.launcher.dry_run=true",
        f"hydra.launcher.workflow={workflow}",
        *overrides,
        home=home,
        env={"SCAFFOLD_TEST_TOKEN": TOKEN, "SCAFFOLD_TEST_PORT": "8080", **(env or {})},
    )


REFUSED = [
    # case, workflow, config path, what the message shows in parentheses, then how
    ("direct", "pipeline", "model.token", "${oc.env:SCAFFOLD_TEST_TOKEN}", ", variable SCAFFOLD_TEST_TOKEN"),
    ("via_key", "pipeline", "model.token", "${secret_holder}", ", variable SCAFFOLD_TEST_TOKEN"),
    ("whole_node", "pipeline", "data.token", "${oc.env:SCAFFOLD_TEST_TOKEN}", ", variable SCAFFOLD_TEST_TOKEN"),
    ("nested_list", "pipeline", "model.hosts[1][1]", "${oc.env:SCAFFOLD_TEST_TOKEN}", ", variable SCAFFOLD_TEST_TOKEN"),
    (
        "environ_resolver",
        "pipeline",
        "model.token",
        "${environ_secret:SCAFFOLD_TEST_TOKEN}",
        ", variable SCAFFOLD_TEST_TOKEN",
    ),
    (
        "getenv_resolver",
        "pipeline",
        "model.token",
        "${getenv_secret:SCAFFOLD_TEST_TOKEN}",
        ", variable SCAFFOLD_TEST_TOKEN",
    ),
    # a resolver module that did `from os import environ`: the process environment itself is marked
    (
        "kept_environ",
        "pipeline",
        "model.token",
        "${kept_environ:SCAFFOLD_TEST_TOKEN}",
        ", variable SCAFFOLD_TEST_TOKEN",
    ),
    # use_cache=True, and its cache already filled while the inputs were split
    (
        "cached_resolver",
        "pipeline",
        "params.token",
        "${cached_secret:SCAFFOLD_TEST_TOKEN}",
        ", variable SCAFFOLD_TEST_TOKEN",
    ),
    # a resolver that builds keys from the environment
    ("env_keys", "pipeline", "model.table", "${env_keys:SCAFFOLD_TEST_TOKEN}", ", variable SCAFFOLD_TEST_TOKEN"),
    # int() of the variable: fails on a marker, so no marker to find, but the failure tells
    ("fails_when_marked", "pipeline", "model.port", "${port_number:SCAFFOLD_TEST_PORT}", ": it does not resolve"),
    # a digest of the variable: no marker either, but another value under another environment
    (
        "transformed",
        "pipeline",
        "model.token_digest",
        "${digest_of:SCAFFOLD_TEST_TOKEN}",
        ": it resolves to another value",
    ),
    # unset, with a default: still reads the environment (it would carry the value when set)
    (
        "unset_with_default",
        "pipeline",
        "model.region",
        "${oc.env:SCAFFOLD_TEST_UNSET,eu-west-1}",
        ", variable SCAFFOLD_TEST_UNSET",
    ),
    # the whole config as the input
    ("top_level", "whole", "token", "${oc.env:SCAFFOLD_TEST_TOKEN}", ", variable SCAFFOLD_TEST_TOKEN"),
    # a structured config's default: not in the config's text at all
    ("plain", "with_settings", "settings.token", "as the input's type fills it in", ", variable SCAFFOLD_TEST_TOKEN"),
]


@pytest.mark.parametrize(("case", "workflow", "path", "shown", "how"), REFUSED, ids=[f"{r[0]}-{r[1]}" for r in REFUSED])
def test_a_value_from_the_environment_is_refused_with_its_path(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    case: str,
    workflow: str,
    path: str,
    shown: str,
    how: str,
) -> None:
    """Each route, through the launcher in this process (Hydra composes, the launcher plans): fast enough for all."""
    monkeypatch.setenv("SCAFFOLD_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("SCAFFOLD_TEST_PORT", "8080")
    overrides = [*no_build_remote("127.0.0.1:9"), "hydra.launcher.dry_run=true", f"hydra.launcher.workflow={workflow}"]
    returns, error = multirun(APP, "env_secrets_app", [*overrides[1:], f"case={case}"], tmp_path / "multirun")
    assert isinstance(error, ConfigInputError), error
    message = str(error)
    assert "\n" not in message
    assert message.startswith(f"job #0 (case={case}): config '{path}' reads the environment ({shown}")
    assert how in message
    assert message.endswith(FIX)
    assert returns == []  # refused while planning: no job ran
    out = capsys.readouterr()
    assert TOKEN not in message + out.out + out.err
    assert "execution  job #0" not in out.out  # no plan printed


def test_a_refusal_is_one_line_from_the_command_line(home: Path) -> None:
    result = dry_run(home, "case=via_key")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    (line,) = [line for line in result.stderr.splitlines() if "reads the environment" in line]
    assert line == (
        "job #0 (case=via_key): config 'model.token' reads the environment (${secret_holder}), variable "
        f"SCAFFOLD_TEST_TOKEN; as an execution input its value would be sent and stored in plain text: {FIX}"
    )
    assert TOKEN not in result.stdout + result.stderr


def test_values_not_from_the_environment_launch(home: Path) -> None:
    """Interpolations, ${hydra:...}, a clock that moves between resolutions: nothing from the environment."""
    result = dry_run(home, "case=plain")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "execution  job #0 (case=plain)" in result.stdout
    assert "'alias': 'small'" in result.stdout  # params (a dict input) resolved: ${model.name}


def test_allow_env_inputs_turns_the_check_off(home: Path) -> None:
    result = dry_run(home, "case=via_key", "hydra.launcher.allow_env_inputs=true")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "execution  job #0 (case=via_key)" in result.stdout


# -- in this process: the marked environment itself, and resolver caches ----------------------------


def test_marked_environment_marks_every_variable_and_restores_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAFFOLD_TEST_SET", "real-value")
    monkeypatch.delenv("SCAFFOLD_TEST_NOT_SET", raising=False)
    before, environ = dict(os.environ), os.environ
    markers = Markers()
    with marked_environment(markers):
        inside = os.environ["SCAFFOLD_TEST_SET"]
        unset = os.getenv("SCAFFOLD_TEST_NOT_SET", "default")
        assert environ["SCAFFOLD_TEST_SET"] == inside  # the real mapping is marked in place too
        assert "real-value" not in os.environ.values()
        os.environ["SCAFFOLD_TEST_ADDED_INSIDE"] = "x"  # what a resolver sets is undone as well
        del os.environ["HOME"]
    assert markers.variable_in(f"prefix-{inside.upper()}-suffix") == "SCAFFOLD_TEST_SET"
    assert markers.variable_in(unset) == "SCAFFOLD_TEST_NOT_SET"
    assert markers.variable_in("real-value") is None
    assert os.environ is environ
    assert dict(os.environ) == before


def test_marked_environment_is_restored_after_an_error() -> None:
    before = dict(os.environ)
    with pytest.raises(KeyboardInterrupt), marked_environment(Markers()):
        raise KeyboardInterrupt
    assert dict(os.environ) == before


@pytest.fixture(scope="module")
def app() -> Any:
    return load_app(APP, "env_secrets_app")


def test_a_filled_resolver_cache_does_not_hide_the_environment(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCAFFOLD_TEST_TOKEN", TOKEN)
    cfg = OmegaConf.create(
        {"model": {"a": 1}, "data": {"b": 2}, "params": {"token": "${cached_secret:SCAFFOLD_TEST_TOKEN}"}}
    )
    assert cfg.params.token == TOKEN  # the cache of this config now holds the real value
    with pytest.raises(ConfigInputError, match=r"config 'params.token' reads the environment"):
        refuse_env_values(app.pipeline, cfg, "job #0")
    assert OmegaConf.get_cache(cfg)["cached_secret"]  # the job's own config and its cache are left alone
    assert cfg.params.token == TOKEN


def test_a_value_that_changes_by_itself_is_not_blamed_on_the_environment(app: Any) -> None:
    OmegaConf.register_new_resolver("scaffold_test_random", lambda: random.random(), replace=True)
    cfg = OmegaConf.create({"model": {"seed": "${scaffold_test_random:}"}, "data": {}, "params": {}})
    refuse_env_values(app.pipeline, cfg, "job #0")  # no marker, no failure: a moving value is not refused


# -- the shortcut: inputs that cannot read the environment are not resolved three times ---------------


LITERAL = {"model": {"a": 1, "hosts": [["x", None]], "none": None}, "data": {"b": "???"}, "params": {"k": "v"}}


@pytest.mark.parametrize(
    ("workflow", "config", "shortcut"),
    [
        ("pipeline", LITERAL, True),
        ("pipeline", {**LITERAL, "unused": "${oc.env:SCAFFOLD_TEST_TOKEN}"}, True),  # no input takes it
        ("pipeline", {**LITERAL, "params": {"k": "${oc.env:SCAFFOLD_TEST_TOKEN}"}}, False),
        ("pipeline", {**LITERAL, "model": {"hosts": [["x", "${other}"]]}, "other": 1}, False),  # deep in a list
        ("pipeline", {**LITERAL, "data": "${secrets}", "secrets": {"t": 1}}, False),  # the whole node
        ("pipeline", {**LITERAL, "model": {"a": "${model_a}"}, "model_a": 1}, False),  # any interpolation
        ("whole", {"a": 1, "b": [1, 2]}, True),
        ("whole", {"a": 1, "b": "${a}"}, False),
        ("with_settings", {"settings": {"name": "x"}}, False),  # a dataclass: its defaults are code
    ],
)
def test_only_inputs_that_cannot_read_the_environment_skip_the_check(
    app: Any, monkeypatch: pytest.MonkeyPatch, workflow: str, config: dict[str, Any], shortcut: bool
) -> None:
    resolved: list[str] = []
    real = environment_values._resolve
    monkeypatch.setattr(environment_values, "_resolve", lambda *args: resolved.append("x") or real(*args))
    cfg = OmegaConf.create(config)
    try:
        refuse_env_values(getattr(app, workflow), cfg, "job #0")
    except ConfigInputError:
        assert not shortcut
    assert (resolved == []) is shortcut
