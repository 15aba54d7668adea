"""A notice, once, when images built here would not be linux/amd64: clusters pull for their nodes' platform."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from scaffold_flyte import plan

NOTICE = "this machine builds linux/arm64 images"


@pytest.fixture(autouse=True)
def fresh_notice(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plan, "_noticed", set())


def images(**default: str) -> dict[str, dict[str, str]]:
    return {"default": {"registry": "localhost:5000", **default}}


def notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == plan.__name__ and r.levelno == logging.WARNING]


@pytest.mark.parametrize("machine", ["arm64", "aarch64"])
def test_an_arm_machine_is_told_once_how_to_set_the_platform(
    machine: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    monkeypatch.setattr(plan.platform, "machine", lambda: machine)
    caplog.set_level(logging.WARNING, logger=plan.__name__)
    plan.plan_images(images(), None, tmp_path, tmp_path)
    plan.plan_images(images(), None, tmp_path, tmp_path)  # a second sweep batch: no second notice
    (notice,) = notices(caplog)
    assert NOTICE in notice
    assert "hydra.launcher.images.<name>.platform=linux/amd64" in notice
    assert "Image(s) default have no platform set" in notice


@pytest.mark.parametrize(
    "machine, settings",
    [
        pytest.param("x86_64", {}, id="amd64-machine"),
        pytest.param("arm64", {"platform": "linux/amd64"}, id="platform-set"),
        pytest.param("arm64", {"image": "localhost:5000/fixed:1"}, id="fixed-image"),
    ],
)
def test_no_notice_when_the_platform_is_known(
    machine: str,
    settings: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(plan.platform, "machine", lambda: machine)
    caplog.set_level(logging.WARNING, logger=plan.__name__)
    plan.plan_images(images(**settings), None, tmp_path, tmp_path)
    assert notices(caplog) == []
