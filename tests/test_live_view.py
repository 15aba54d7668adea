"""The live view: on a terminal, a table of the executions while waiting; plain lines elsewhere.

Each launch runs on a pseudo-terminal (util-linux ``script``) of a given width, against the TEST
STAND-IN for Flyte's admin API (tests/flyte_standin, not a Flyte) running the tasks in a built image.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.flyte_standin import StandIn
from tests.helpers import APPS, run_app
from tests.test_remote import remote

PHASE_LINE = re.compile(r"job #\d \(seconds=[\d.]+\): SUCCEEDED after")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def test_on_a_terminal_a_table_shows_each_execution(standin: StandIn, home: Path) -> None:
    result = run_app(APPS / "slow", *remote(standin, "live", "seconds=0.3,0.6"), home=home, timeout=600, terminal=120)
    screen = ANSI.sub("", result.stdout)
    assert result.returncode == 0, screen[-3000:]
    assert re.search(r"┃ job\s+┃ phase\s+┃ elapsed\s+┃ tasks\s+┃ value\s+┃", screen), screen[-3000:]
    for seconds in ("0.3", "0.6"):
        row = re.search(
            rf"│ job #\d \(seconds={seconds}\)\s+│ SUCCEEDED\s+│ [\d.]+ s\s+│ ran: nap\s+│ {seconds}\s+│", screen
        )
        assert row is not None, screen[-3000:]
    assert not PHASE_LINE.search(screen)  # the table replaces the progress lines on the terminal...
    sweep_log = (home.parent / "multirun" / "sweep.log").read_text()
    assert len(PHASE_LINE.findall(sweep_log)) == 2  # ...which the logs keep


def test_a_narrow_terminal_or_live_view_false_gets_the_lines(standin: StandIn, home: Path) -> None:
    narrow = run_app(APPS / "slow", *remote(standin, "live", "seconds=0.3"), home=home, timeout=600, terminal=60)
    screen = ANSI.sub("", narrow.stdout)
    assert narrow.returncode == 0, screen[-3000:]
    assert "the terminal is 60 columns wide, under the 80 the live view needs: plain lines" in screen
    assert PHASE_LINE.search(screen) and "┃ phase" not in screen
    off = run_app(
        APPS / "slow",
        *remote(standin, "live", "seconds=0.4", "hydra.launcher.live_view=false"),
        home=home,
        timeout=600,
        terminal=120,
    )
    screen = ANSI.sub("", off.stdout)
    assert off.returncode == 0, screen[-3000:]
    assert PHASE_LINE.search(screen) and "┃ phase" not in screen


def test_on_a_terminal_bars_show_the_image_build_and_push(standin: StandIn, home: Path) -> None:
    # a repository of its own: its tag is not in the registry, so the image is built (from the
    # engine's layer cache: every step still reported) and pushed, layer by layer, into it
    result = run_app(APPS / "slow", *remote(standin, "bars", "seconds=0.2"), home=home, timeout=900, terminal=120)
    screen = ANSI.sub("", result.stdout)
    assert result.returncode == 0, screen[-3000:]
    build = re.findall(r"build default\s+\S+\s+step (\d+)/(\d+)", screen)
    assert build and int(build[0][0]) == 1, screen[-3000:]  # the bar moved from the first step
    assert re.search(r"build default\s+\S+\s+built", screen), screen[-3000:]
    pushed = re.findall(r"push default\s+\S+\s+(\d+)/(\d+) layers", screen)
    assert pushed and pushed[-1][0] == pushed[-1][1] and int(pushed[-1][1]) >= 3, screen[-3000:]
    assert "pushing:" not in screen  # the bars replace the plain layer lines
    assert "image default: pushed " in screen  # the step's own lines still print, above the bars
