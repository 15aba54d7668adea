"""A pipeline with a shell step: flytekit's ShellTask between two Python tasks.

    python main.py                                   # the three steps run locally, the shell step in /bin/sh
    python main.py data.rows=500                     # export and count run again; nothing is cached stale
    python main.py -m hydra.launcher.images.default.registry=localhost:5000   # on Flyte

``export_rows`` writes a CSV from its sub-config (``data``); ``count_labels`` is a ShellTask, a
flytekit task type whose body is a shell script: it counts each label with ``cut | sort | uniq``
and hands the counts on as a file; ``summarize`` reads them on its own sub-config (``report``).

The shell step keeps the settings it was declared with (its script, its file input and output,
``requests``, ``retries``, ``cache``, ``environment``); per-task launcher settings
(``hydra.launcher.tasks.count_labels``) add to them at registration, as for any task.
"""

from __future__ import annotations

import csv
import hashlib
import io
import logging
import os
import random
import tempfile

import hydra
from flytekit import Cache, Resources, TaskMetadata, kwtypes, task, workflow
from flytekit.extras.tasks.shell import OutputLocation, ShellTask
from flytekit.types.file import FlyteFile
from omegaconf import DictConfig

import scaffold_flyte

log = logging.getLogger(__name__)


@task(cache=Cache(version="1"))
def export_rows(data: DictConfig) -> FlyteFile:
    """``data.rows`` rows of (label, value), labels drawn from ``data.labels`` with ``data.seed``.

    The file is named after its content. Locally flytekit passes a returned file on by its path and
    its cache keys on that path: under a fixed name, new rows would reach the next steps as a cache
    hit on the old ones.
    """
    log.info("task export_rows: running")
    rng = random.Random(data.seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for _ in range(data.rows):
        writer.writerow([rng.choice(list(data.labels)), round(rng.random(), 4)])
    content = buffer.getvalue()
    path = os.path.join(tempfile.gettempdir(), f"rows-{hashlib.sha256(content.encode()).hexdigest()[:16]}.csv")
    with open(path, "w") as handle:
        handle.write(content)
    return FlyteFile(path)


# The shell step: {inputs.rows} is the downloaded CSV, {outputs.counts} the file handed on, named
# after its input (so after its content, as above). awk's braces are doubled: the script is a
# Python format string.
count_labels = ShellTask(
    name="count_labels",
    script="""
    set -eu
    echo "task count_labels: running (env COUNT_FORMAT=${{COUNT_FORMAT:-unset}})"
    cut -d, -f1 {inputs.rows} | sort | uniq -c | awk '{{print $2 "," $1}}' > {outputs.counts}
    """,
    inputs=kwtypes(rows=FlyteFile),
    output_locs=[OutputLocation(var="counts", var_type=FlyteFile, location="{inputs.rows}.counts")],
    requests=Resources(cpu="100m", mem="64Mi"),
    # a task built from a class (not @task) takes its retries and cache as TaskMetadata: given as
    # retries= or cache= keywords, flytekit drops them without a word
    metadata=TaskMetadata(retries=2, cache=True, cache_version="1"),
    environment={"COUNT_FORMAT": "label,count"},
)


@task(cache=Cache(version="1"))
def summarize(counts: FlyteFile, report: DictConfig) -> dict[str, int]:
    """The ``report.top`` most frequent labels with their counts, and the total."""
    log.info("task summarize: running")
    with open(counts.download()) as handle:
        rows = [(label, int(count)) for label, count in csv.reader(handle)]
    rows.sort(key=lambda row: (-row[1], row[0]))
    summary = dict(rows[: report.top])
    summary["total"] = sum(count for _, count in rows)
    return summary


@workflow
def labels_report(data: DictConfig, report: DictConfig) -> dict[str, int]:
    counts = count_labels(rows=export_rows(data=data))
    return summarize(counts=counts, report=report)


@hydra.main(version_base=None, config_path="conf", config_name="config")
def main(cfg: DictConfig) -> dict[str, int]:
    summary = scaffold_flyte.run(cfg)
    log.info("labels: " + ", ".join(f"{label}={count}" for label, count in summary.items()))
    return summary


if __name__ == "__main__":
    main()
