"""The image step of a remote launch: a cold build, a second launch with nothing changed, a code-only change.

Needs the real engine and registry (``bash scripts/infra.sh up``). On a copy of the split-config
example, in one run on this machine:

1. cold: ``build=force`` (layer cache off), so every layer is built and pushed;
2. second launch, nothing changed: plan (content hashing) + registry tag check, ``build=auto``;
3. code-only change (a task body edited): the same, on the changed module;
4. the registry tag check alone, for reference.

Builds and pushes are counted from the engine's own event stream (``tag`` and ``push`` image
events), not from our logs. Prints medians and ratios; asserts no timing.

    .venv/bin/python benchmarks/images.py --runs 5
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scaffold_flyte.discovery import find_main_workflow  # noqa: E402
from scaffold_flyte.docker_engine import Engine, ensure_images  # noqa: E402
from scaffold_flyte.images import ImagePlan  # noqa: E402
from scaffold_flyte.plan import plan_images  # noqa: E402
from tests import infra  # noqa: E402
from tests.helpers import load_app  # noqa: E402

SPLIT = ROOT / "examples" / "split_config"


def plan(app_dir: Path, repository: str) -> list[ImagePlan]:
    images = {"default": {"registry": infra.REGISTRY_NAME, "repository": repository, "base_image": infra.BASE_IMAGE}}
    app = load_app(app_dir, f"bench_app_{uuid.uuid4().hex[:8]}")  # a fresh import: the code may have changed
    return plan_images(images, find_main_workflow(app), app_dir, app_dir)


def image_step(engine: Engine, app_dir: Path, repository: str, mode: str) -> tuple[list[ImagePlan], list[str]]:
    plans = plan(app_dir, repository)
    outcomes = ensure_images(engine, plans, mode, parallel=2)
    return plans, [outcome.action for outcome in outcomes]


def engine_events(client: Any, since: float, until: float) -> tuple[int, int]:
    """(builds, pushes) the engine reported between two instants: a build tags, a push pushes."""
    time.sleep(1.1)  # events are filtered by whole seconds
    events = client.events(since=int(since), until=int(until) + 1, decode=True, filters={"type": "image"})
    actions = [event.get("Action") or event.get("status") for event in events]
    return actions.count("tag"), actions.count("push")


def measure(client: Any, step: Callable[[], Any], runs: int) -> tuple[float, tuple[int, int], Any]:
    times, result, start = [], None, time.time()
    for _ in range(runs):
        began = time.perf_counter()
        result = step()
        times.append(time.perf_counter() - began)
    return statistics.median(times), engine_events(client, start, time.time()), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5, help="runs of each warm case (median reported)")
    args = parser.parse_args()

    import logging

    logging.basicConfig(level=logging.WARNING)
    client = infra.docker_client()
    engine = Engine(client)
    repository = f"bench-{uuid.uuid4().hex[:8]}/split"
    with tempfile.TemporaryDirectory() as tmp:
        app_dir = Path(tmp) / "split_config"
        shutil.copytree(SPLIT, app_dir, ignore=shutil.ignore_patterns("outputs", "multirun", "__pycache__"))

        cold, cold_events, (cold_plans, cold_actions) = measure(
            client, lambda: image_step(engine, app_dir, repository, "force"), 1
        )
        same, same_events, (same_plans, same_actions) = measure(
            client, lambda: image_step(engine, app_dir, repository, "auto"), args.runs
        )
        check, _, _ = measure(client, lambda: engine.in_registry(same_plans[0]), args.runs)

        main_py = app_dir / "main.py"
        main_py.write_text(
            main_py.read_text().replace('log.info("task train: running")', 'log.info("task train: running (edited)")')
        )
        assert "(edited)" in main_py.read_text(), "the code-only edit did not apply: update this benchmark"
        code, code_events, (code_plans, code_actions) = measure(
            client, lambda: image_step(engine, app_dir, repository, "auto"), args.runs
        )
        tags = infra.registry_tags(repository)

    rows = [
        ("cold build (build=force, no layer cache)", cold, cold_events, cold_actions, cold_plans),
        ("second launch, nothing changed", same, same_events, same_actions, same_plans),
        ("code-only change", code, code_events, code_actions, code_plans),
    ]
    print(f"image step of the split-config example, registry {infra.REGISTRY_NAME}, {args.runs} warm runs each\n")
    print(f"{'case':45} {'median':>9} {'vs cold':>8} {'builds':>7} {'pushes':>7}  tag / action")
    for name, seconds, (builds, pushes), actions, plans in rows:
        print(
            f"{name:45} {seconds * 1000:7.0f}ms {seconds / cold:7.3f}x {builds:7d} {pushes:7d}  "
            f"{plans[0].tag} / {','.join(actions)}"
        )
    print(f"{'registry tag check alone':45} {check * 1000:7.0f}ms")
    print(
        f"\nwarm image step beyond the tag check: {(same - check) * 1000:.0f} ms (nothing changed), "
        f"{(code - check) * 1000:.0f} ms (code-only change)"
    )
    print(f"tags in the registry afterwards: {tags}")


if __name__ == "__main__":
    main()
