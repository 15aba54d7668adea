"""The launcher's settings schema (``hydra.launcher.*``), as Hydra structured configs.

Hydra registers these through hydra_plugins/flyte_launcher/config.py at every start, so this
module imports nothing beyond the standard library. Every field has a one-line comment: with
``python main.py --cfg hydra -p hydra.launcher`` the config documents itself. Hydra checks the
types; names added with ``+``, image settings and ranges are checked at launch (launcher_settings.py).
"""

from dataclasses import asdict, dataclass, field, is_dataclass
from typing import Any, Dict, List, Optional  # noqa: UP035 (Hydra's structured configs need typing's)

MODES = ("local", "remote")
BUILD_MODES = ("auto", "force", "skip")


@dataclass
class ImageConf:
    # registry (host[:port][/namespace]) the image is pushed to and tasks pull from
    registry: Optional[str] = None  # noqa: UP045
    # repository under the registry; null: the app folder's name
    repository: Optional[str] = None  # noqa: UP045
    # image to build FROM; null: python:<local major.minor>-slim-bookworm
    base_image: Optional[str] = None  # noqa: UP045
    # requirements file (relative to where you launch) installed on top of flytekit & co
    requirements: Optional[str] = None  # noqa: UP045
    # extras of your project's pyproject.toml to install (with its dependencies), e.g. [train]
    extras: List[str] = field(default_factory=list)  # noqa: UP006
    # your own Dockerfile (relative to where you launch) instead of the generated one
    dockerfile: Optional[str] = None  # noqa: UP045
    # build arguments for the Dockerfile's ARGs
    build_args: Dict[str, str] = field(default_factory=dict)  # noqa: UP006
    # target platform, e.g. linux/amd64; null: the engine's own
    platform: Optional[str] = None  # noqa: UP045
    # a fixed, already pushed image reference (repo:tag, repo@sha256:..., repo:tag@sha256:...): used as is, never built
    image: Optional[str] = None  # noqa: UP045


@dataclass
class ScheduleConf:
    # a cron expression Flyte accepts (five fields, or @daily, @hourly, '@every 30m'): the launch registers
    # and activates a launch plan on this schedule, one per job, instead of executing; null: no schedule
    cron: Optional[str] = None  # noqa: UP045
    # the cron expression's IANA time zone (e.g. Europe/Paris); null: the scheduler's clock (UTC)
    timezone: Optional[str] = None  # noqa: UP045
    # a fixed rate instead of a cron expression: <n><unit>, unit m, h or d (e.g. 30m, 6h, 1d)
    fixed_rate: Optional[str] = None  # noqa: UP045
    # false: deactivate the launch plan of this name that is active (the schedule stops); nothing is built
    active: bool = True
    # the launch plan's name; null: <workflow name>_schedule; a sweep's jobs add their overrides to it
    name: Optional[str] = None  # noqa: UP045


@dataclass
class FlyteLauncherConf:
    _target_: str = "hydra_plugins.flyte_launcher.flyte_launcher.FlyteLauncher"
    # where the sweep's jobs run: local (flytekit local execution, in this process) or remote
    mode: str = "remote"
    # the workflow to launch, by name, where the module holds several top-level workflows
    workflow: Optional[str] = None  # noqa: UP045
    # Flyte admin endpoint (host:port); null: flytekit's own config ($FLYTECTL_CONFIG,
    # ~/.flyte/config.yaml, FLYTE_* variables), auth settings included
    endpoint: Optional[str] = None  # noqa: UP045
    # plain-text gRPC to the endpoint (a local sandbox); null: as flytekit's config says
    insecure: Optional[bool] = None  # noqa: UP045
    # Flyte project and domain the workflow is registered and executed in
    project: str = "flytesnacks"
    domain: str = "development"
    # blob store access from this machine, only needed to read outputs that travel as pickles:
    # "sandbox" (the demo cluster's minio, as flytekit's Config.for_sandbox()); null: flytekit's config
    storage: Optional[str] = None  # noqa: UP045
    # registration version; null: a hash of the code bundle, the images and these settings
    version: Optional[str] = None  # noqa: UP045
    # copy the code into the images (tag covers the code) instead of shipping it as a bundle
    bake_code: bool = False
    # print the whole plan (workflow, images, version, executions) and touch nothing
    dry_run: bool = False
    # wait for the executions and hand their outputs to Hydra; false: return ids and URLs at once
    wait: bool = True
    # executions created at once (1 or more)
    max_parallel_executions: int = 8
    # allow ${oc.env:...} values in execution inputs (they are sent, and stored, in plain text)
    allow_env_inputs: bool = False
    # seconds between two polls of the executions' state (above 0)
    poll_interval: float = 2.0
    # give up waiting after this many seconds, above 0 (the executions go on); null: no limit
    timeout: Optional[float] = None  # noqa: UP045
    # on Ctrl-C while waiting, terminate the executions still running (default: leave them running)
    terminate_on_interrupt: bool = False
    # on a terminal (80 columns or more), a live table of the executions while waiting instead of a
    # line per phase change; false, or no terminal (a log, CI): the lines
    live_view: bool = True
    # task images by name: "default" for every task, others for tasks that ask for them
    # (container_image="{{.images.<name>.fqn}}:{{.images.<name>.version}}"); each takes ImageConf's
    # fields (typed Any, so +hydra.launcher.images.gpu.registry=... can add one; checked at launch)
    images: Dict[str, Any] = field(default_factory=lambda: {"default": ImageConf()})  # noqa: UP006
    # auto: build and push images whose tag the registry lacks; force: rebuild all, layer cache off;
    # skip: build nothing, use the images as named (each must be in its registry: asked before registering)
    build: str = "auto"
    # images built and pushed at once (1 or more)
    max_parallel_builds: int = 2
    # print each image's Dockerfile before building
    show_dockerfile: bool = False
    # stream the whole build log (it is shown on failure anyway)
    build_log: bool = False
    # per-task runtime settings at registration, by task name (short or full; "*": every task), each with:
    # requests/limits {cpu, memory, gpu, ephemeral_storage} (e.g. cpu: "2", memory: 4Gi), retries, timeout
    # (seconds), interruptible, environment {NAME: value}, secrets [{group, key}] (requests, never values),
    # image (a name under hydra.launcher.images), cache_version. Typed Any, checked at launch.
    tasks: Dict[str, Any] = field(default_factory=dict)  # noqa: UP006
    # register a launch plan that runs on a schedule (cron or fixed_rate) instead of executing once
    schedule: ScheduleConf = field(default_factory=ScheduleConf)
    # who hears of an execution's end: a list of {phases: [succeeded, failed, timed_out, aborted],
    # email|slack|pagerduty: [recipients]}, on the executions and on scheduled launch plans
    notifications: List[Any] = field(default_factory=list)  # noqa: UP006
    # true: recover this sweep folder's failed executions (each job folder's flyte_execution.yaml names one)
    # with Flyte's RecoverExecution, nodes that succeeded are not run again; an execution's name: recover that one
    recover: Any = False

    def recovering(self) -> bool:
        """Whether ``recover`` asks for a recovery (true, or an execution's name): false and null do not."""
        return self.recover is not None and self.recover is not False

    def scheduled(self) -> bool:
        """Whether ``schedule`` is set at all (anything but its defaults): only then is it checked and planned."""
        return self.schedule != ScheduleConf()

    def images_as_dicts(self) -> Dict[str, Any]:  # noqa: UP006
        """``images`` as plain dicts (an ImageConf or the mapping given with ``+``), as the image planner reads them.

        The same as ``OmegaConf.to_container(OmegaConf.structured(self).images)``, without building a
        config of every setting for it.
        """
        return {
            name: asdict(image) if is_dataclass(image) and not isinstance(image, type) else image
            for name, image in self.images.items()
        }
