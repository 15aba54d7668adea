"""The launch's settings, checked before anything happens: bad input in, one line out.

Unknown ``hydra.launcher`` and image settings (also added with ``+``) name the closest setting;
numbers out of range name a valid value; image references with digests are taken as named and
registered unchanged; ``build=skip`` asks each image's registry for its manifest; a Hydra function
that calls ``scaffold_flyte.run`` in a module without a workflow gets the error ``python main.py``
gives, in every mode. The remote launches run against the test stand-in for Flyte's admin API
(tests/flyte_standin: not a Flyte; no container runs here) and the test registry on 127.0.0.1:5000.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import json
import logging
import ssl
import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flyteidl.core import identifier_pb2

import scaffold_flyte
from scaffold_flyte import run as go
from scaffold_flyte.discovery import calls_run
from scaffold_flyte.errors import ImageConfigError
from scaffold_flyte.images import ImagePlan, ImageSpec, split_reference, validate_spec
from scaffold_flyte.registry import MISSING, PRESENT, check_named_images, manifest_status, registry_image
from tests import infra
from tests.flyte_standin import StandIn
from tests.helpers import APPS, EXAMPLES, no_build_remote, run_app

SPLIT = EXAMPLES / "split_config"
TASKS_ONLY = APPS / "tasks_only"
NOWHERE = "127.0.0.1:1"  # no Flyte here: a launch that got as far as connecting would say so
REMOTE = ["-m", "hydra/launcher=flyte", f"hydra.launcher.endpoint={NOWHERE}", "hydra.launcher.insecure=true"]
WITH_REGISTRY = [*REMOTE, f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}"]
LOCAL_SWEEP = ["-m", "hydra/launcher=flyte_local"]
DIGEST = "sha256:" + "ab" * 32
SESSION = uuid.uuid4().hex[:8]

CASES = [
    pytest.param(
        [*WITH_REGISTRY, "+hydra.launcher.dryrun=true"],
        "hydra.launcher has no setting 'dryrun': did you mean hydra.launcher.dry_run? (its settings: allow_env_inputs,",
        id="plus-unknown-launcher-setting",
    ),
    pytest.param(
        [*LOCAL_SWEEP, "+hydra.launcher.wiat=false"],
        "hydra.launcher has no setting 'wiat': did you mean hydra.launcher.wait?",
        id="plus-unknown-setting-local-mode",
    ),
    pytest.param(
        [*WITH_REGISTRY, "+hydra.launcher.zzz=1"],
        "hydra.launcher has no setting 'zzz': remove it, or fix its name (its settings: ",
        id="unknown-setting-no-close-name",
    ),
    pytest.param(
        [*WITH_REGISTRY, "+hydra.launcher.images.default.regsitry=x"],
        "hydra.launcher.images.default has no setting 'regsitry': did you mean hydra.launcher.images.default.registry?",
        id="unknown-image-setting",
    ),
    pytest.param(
        [*WITH_REGISTRY, "+hydra.launcher.images.gpu.imgae=localhost:5000/gpu:1"],
        "hydra.launcher.images.gpu has no setting 'imgae': did you mean hydra.launcher.images.gpu.image?",
        id="unknown-setting-of-added-image",
    ),
    pytest.param(
        [*WITH_REGISTRY, "+hydra.launcher.images.gpu=big"],
        "hydra.launcher.images.gpu=big is not an image's settings: give it keys",
        id="image-not-a-mapping",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.poll_interval=-1"],
        "hydra.launcher.poll_interval=-1.0 is not a number of seconds above 0: use e.g. hydra.launcher.poll_interval=2.",
        id="negative-poll-interval",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.poll_interval=0"],
        "hydra.launcher.poll_interval=0.0 is not a number of seconds above 0",
        id="zero-poll-interval",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.timeout=0"],
        "hydra.launcher.timeout=0.0 is not a number of seconds above 0: use e.g. hydra.launcher.timeout=3600, or "
        "hydra.launcher.timeout=null to wait without a limit.",
        id="zero-timeout",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.max_parallel_executions=0"],
        "hydra.launcher.max_parallel_executions=0 must be at least 1: use e.g. hydra.launcher.max_parallel_executions=8.",
        id="no-parallel-executions",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.max_parallel_builds=-2"],
        "hydra.launcher.max_parallel_builds=-2 must be at least 1: use e.g. hydra.launcher.max_parallel_builds=2.",
        id="negative-parallel-builds",
    ),
    pytest.param(
        [*LOCAL_SWEEP, "hydra.launcher.poll_interval=-1"],
        "hydra.launcher.poll_interval=-1.0 is not a number of seconds above 0",
        id="bad-setting-in-local-mode",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.mode=elsewhere"],
        "hydra.launcher.mode=elsewhere is not a mode: use hydra.launcher.mode=local or =remote.",
        id="unknown-mode",
    ),
    pytest.param(
        [*WITH_REGISTRY, "hydra.launcher.build=sometimes"],
        "hydra.launcher.build=sometimes is not a build mode: use auto",
        id="unknown-build-mode",
    ),
    pytest.param(  # Hydra's own check of the structured config's types
        [*WITH_REGISTRY, "hydra.launcher.poll_interval=abc"],
        "Value 'abc' of type 'str' could not be converted to Float",
        id="wrong-type",
    ),
    pytest.param(
        [*REMOTE, "+hydra.launcher.images.default.image=localhost:5000/fixed@sha256:abc"],
        "image 'default': 'localhost:5000/fixed@sha256:abc' has a malformed digest 'sha256:abc' (a digest is sha256: "
        "and 64 lower-case hex digits",
        id="malformed-digest",
    ),
    pytest.param(
        [*REMOTE, f"+hydra.launcher.images.default.image=localhost:5000/fixed@{DIGEST.upper()}"],
        "has a malformed digest",
        id="upper-case-digest",
    ),
    pytest.param(
        [*REMOTE, "+hydra.launcher.images.default.image=localhost:5000/fixed"],
        "image 'default': 'localhost:5000/fixed' names no tag or digest, so what runs would change with the "
        "registry's 'latest': fix hydra.launcher.images.default.image to localhost:5000/fixed:<tag>",
        id="no-tag-or-digest",
    ),
    pytest.param(
        [*REMOTE, f"+hydra.launcher.images.default.image=localhost:5000/Fixed:1@{DIGEST}"],
        "is not a valid image reference",
        id="invalid-name-with-digest",
    ),
]


@pytest.mark.parametrize("args, expected", CASES)
def test_a_bad_setting_is_one_line_before_anything_runs(args: list[str], expected: str, home: Path) -> None:
    result = run_app(SPLIT, *args, home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert expected in result.stderr, result.stderr[-2000:]
    assert "task " not in result.stdout, "nothing may run before a bad setting is reported"
    assert not list(home.parent.glob("multirun/**/.hydra")), "no job may have started"


NO_WORKFLOW = "No Flyte workflow found in module '__main__': define one with @workflow in the module that holds the"


@pytest.mark.parametrize(
    "args",
    [
        pytest.param([], id="python-main"),
        pytest.param([*LOCAL_SWEEP, "x=1,2"], id="local-sweep"),
        pytest.param([*WITH_REGISTRY, "x=1,2"], id="remote"),
        pytest.param([*WITH_REGISTRY, "hydra.launcher.dry_run=true"], id="remote-dry-run"),
    ],
)
def test_run_without_a_workflow_is_the_same_line_in_every_mode(args: list[str], home: Path) -> None:
    result = run_app(TASKS_ONLY, *args, home=home)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert NO_WORKFLOW in result.stderr, result.stderr[-2000:]
    assert "task double: running" not in result.stdout + result.stderr
    assert not list(home.parent.glob("multirun/**/.hydra")), "no job may have started"


# -- which Hydra functions call scaffold_flyte.run -------------------------------------------------


def via_package(cfg: Any) -> Any:
    return scaffold_flyte.run(cfg)


def via_alias(cfg: Any) -> Any:
    return go(cfg)


def _helper(cfg: Any) -> Any:
    return [scaffold_flyte.run(c) for c in [cfg]]


def via_helper(cfg: Any) -> Any:
    return _helper(cfg)


def other_module(cfg: Any) -> Any:
    return scaffold_flyte.run(cfg, module="elsewhere")


def plain(cfg: Any) -> Any:
    return {"square": cfg.x * cfg.x}


def another_run(cfg: Any) -> Any:
    return subprocess.run(["true"], check=True).returncode


@pytest.mark.parametrize(
    "function, expected",
    [
        pytest.param(via_package, True, id="scaffold_flyte.run"),
        pytest.param(via_alias, True, id="imported-alias"),
        pytest.param(via_helper, True, id="through-a-helper-and-comprehension"),
        pytest.param(other_module, False, id="module-named"),
        pytest.param(plain, False, id="plain-app"),
        pytest.param(another_run, False, id="another-run"),
    ],
)
def test_calls_run_reads_the_function_and_its_helpers(function: Any, expected: bool) -> None:
    assert calls_run(function) is expected


def test_a_plain_app_without_run_is_still_wrapped(home: Path) -> None:
    result = run_app(APPS / "plain_app", *WITH_REGISTRY, "hydra.launcher.dry_run=true", home=home)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "entities   main.main" in result.stdout


# -- image references ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "reference, parts",
    [
        ("localhost:5000/fixed:1", ("localhost:5000/fixed", "1", None)),
        (f"localhost:5000/fixed@{DIGEST}", ("localhost:5000/fixed", None, DIGEST)),
        (f"ghcr.io/org/app:v2@{DIGEST}", ("ghcr.io/org/app", "v2", DIGEST)),
        ("localhost:5000/fixed", ("localhost:5000/fixed", None, None)),
        ("python:3.11-slim", ("python", "3.11-slim", None)),
    ],
)
def test_references_split_as_docker_reads_them(reference: str, parts: tuple[Any, ...]) -> None:
    assert split_reference(reference) == parts


@pytest.mark.parametrize(
    "reference",
    [
        f"localhost:5000/fixed@{DIGEST}",
        f"localhost:5000/fixed:1@{DIGEST}",
        f"ghcr.io/org/app@sha512:{'0' * 128}",
    ],
)
def test_a_digest_reference_is_a_valid_fixed_image_flytekit_keeps_whole(reference: str) -> None:
    from flytekit.configuration import ImageConfig

    validate_spec(ImageSpec(name="default", registry="", repository="x", base_image="b", image=reference))
    assert ImageConfig.from_images(reference).default_image.full == reference


@pytest.mark.parametrize(
    "reference",
    [f"x/y@sha256:{'a' * 63}", f"x/y@md5:{'a' * 32}", "x/y@sha256:", "x/y:1@", f"x/y@{DIGEST}0"],
)
def test_a_malformed_digest_is_refused(reference: str) -> None:
    with pytest.raises(ImageConfigError, match="has a malformed digest"):
        validate_spec(ImageSpec(name="gpu", registry="", repository="x", base_image="b", image=reference))


@pytest.mark.parametrize(
    "reference, host, repository, manifest",
    [
        ("localhost:5000/fixed:1", "localhost:5000", "fixed", "1"),
        ("python:3.11", "docker.io", "library/python", "3.11"),
        ("user/app:2", "docker.io", "user/app", "2"),
        (f"ghcr.io/org/app:v2@{DIGEST}", "ghcr.io", "org/app", DIGEST),
        ("registry.example.com/a/b/c:1", "registry.example.com", "a/b/c", "1"),
    ],
)
def test_the_registry_is_asked_what_a_pull_would_ask(reference: str, host: str, repository: str, manifest: str) -> None:
    image = registry_image(reference)
    assert (image.host, image.repository, image.manifest) == (host, repository, manifest)


# -- the registry's answer -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def registry() -> str:
    """The test registry, with the tiny fixed image pushed; its manifest digest."""
    try:
        return infra.push_tiny_image(infra.FIXED_REPOSITORY, infra.FIXED_TAG)
    except OSError:
        infra.unavailable(f"the registry on {infra.REGISTRY}")
        raise


def plan_for(reference: str, name: str = "default") -> ImagePlan:
    spec = ImageSpec(name=name, registry="", repository="x", base_image="b", image=reference)
    return ImagePlan(spec=spec, dockerfile="", context_dir=None, context_files=())


def test_the_registry_tells_present_and_missing_tags_and_digests(registry: str) -> None:
    missing_digest = "sha256:" + hashlib.sha256(b"never pushed").hexdigest()
    assert manifest_status(registry_image(infra.FIXED_IMAGE)) == PRESENT
    assert manifest_status(registry_image(f"{infra.REGISTRY_NAME}/fixed@{registry}")) == PRESENT
    assert manifest_status(registry_image(f"127.0.0.1:5000/fixed:1@{registry}")) == PRESENT
    assert manifest_status(registry_image(f"{infra.REGISTRY_NAME}/fixed:never")) == MISSING
    assert manifest_status(registry_image(f"{infra.REGISTRY_NAME}/fixed@{missing_digest}")) == MISSING
    assert manifest_status(registry_image(f"{infra.REGISTRY_NAME}/no-such-repo-{SESSION}:1")) == MISSING


def test_a_missing_image_is_one_line_naming_the_fix(registry: str) -> None:
    fixed = plan_for(f"{infra.REGISTRY_NAME}/fixed:never")
    with pytest.raises(ImageConfigError) as raised:
        check_named_images([plan_for(infra.FIXED_IMAGE, "gpu"), fixed])
    assert str(raised.value) == (
        "image 'default': localhost:5000/fixed:never is not in its registry (registry localhost:5000 has no tag never "
        "of fixed): push it first (`docker push localhost:5000/fixed:never`) or fix hydra.launcher.images.default.image. "
        "Nothing was registered."
    )
    spec = ImageSpec(name="default", registry=infra.REGISTRY_NAME, repository=f"never-{SESSION}", base_image="b")
    built = ImagePlan(spec=spec, dockerfile="", context_dir=None, context_files=(), tag="0123abcd")
    with pytest.raises(ImageConfigError, match=r"launch with hydra.launcher.build=auto to build and push it"):
        check_named_images([built])


def test_a_registry_that_wants_credentials_or_does_not_answer_is_a_warning(
    unauthorized_registry: str, caplog: pytest.LogCaptureFixture
) -> None:
    closed = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    port = closed.server_address[1]
    closed.server_close()  # nothing listens there now
    with caplog.at_level(logging.WARNING, logger="scaffold_flyte.registry"):
        check_named_images([plan_for(f"{unauthorized_registry}/app:1"), plan_for(f"127.0.0.1:{port}/app:1", "gpu")])
    lines = [record.getMessage() for record in caplog.records]
    assert any(
        f"image default: cannot check that registry {unauthorized_registry} has {unauthorized_registry}/app:1 "
        "(HTTP 401: it wants credentials, and the launcher never reads yours); going on" in line
        for line in lines
    ), lines
    assert any(f"image gpu: cannot check that registry 127.0.0.1:{port} has" in line for line in lines), lines
    assert any("it does not answer" in line for line in lines), lines


class QuietHandler(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


@contextlib.contextmanager
def serving(handler: type[http.server.BaseHTTPRequestHandler], tls: ssl.SSLContext | None = None) -> Iterator[str]:
    """``handler`` served on 127.0.0.1 from a thread, over TLS with ``tls``; its host:port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def token_registry() -> Iterator[tuple[str, list[str]]]:
    """A registry on 127.0.0.1 that wants a Bearer token, and hands an anonymous one out (as Docker Hub does)."""
    seen: list[str] = []

    class Registry(QuietHandler):
        def _answer(self) -> None:
            seen.append(f"{self.command} {self.path} {self.headers.get('Authorization', '')}")
            port = self.server.server_address[1]
            if self.path.startswith("/token?"):
                body = json.dumps({"token": "anonymous-token"}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
                return
            if self.headers.get("Authorization") != "Bearer anonymous-token":
                self.send_response(401)
                self.send_header(
                    "WWW-Authenticate",
                    f'Bearer realm="http://127.0.0.1:{port}/token",service="test",scope="repository:app:pull"',
                )
            else:
                self.send_response(200 if self.path.endswith("/manifests/1") else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

    with serving(Registry) as host:
        yield host, seen


def test_an_anonymous_token_is_fetched_when_offered(token_registry: tuple[str, list[str]]) -> None:
    host, seen = token_registry
    assert manifest_status(registry_image(f"{host}/app:1")) == PRESENT
    assert manifest_status(registry_image(f"{host}/app:2")) == MISSING
    assert "GET /token?service=test&scope=repository%3Aapp%3Apull " in seen
    assert "HEAD /v2/app/manifests/1 Bearer anonymous-token" in seen


@pytest.fixture
def tls_registry(tmp_path: Path) -> Iterator[str]:
    """A registry on 127.0.0.1 that speaks HTTPS only, with a self-signed certificate (an insecure local registry)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1"]
        + ["-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )

    class Registry(QuietHandler):
        def _answer(self) -> None:
            self.send_response(200 if self.path.endswith("/manifests/1") else 404)
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = _answer

    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serving(Registry, tls) as host:
        yield host


def test_a_local_registry_over_https_is_asked_without_checking_its_certificate(tls_registry: str) -> None:
    # as the engine treats a registry on this machine: insecure, so a self-signed certificate is no
    # obstacle (and the plain-HTTP fallback would find nobody: the server speaks TLS only)
    assert manifest_status(registry_image(f"{tls_registry}/app:1")) == PRESENT
    assert manifest_status(registry_image(f"{tls_registry}/app:2")) == MISSING


# -- remote launches against the stand-in ----------------------------------------------------------


@pytest.fixture
def idle_standin() -> Iterator[StandIn]:
    standin = StandIn(docker_client=None)
    yield standin
    standin.stop()


def skip_launch(standin: StandIn, home: Path, app: Path, image: str, *extra: str) -> subprocess.CompletedProcess[str]:
    """no_build_remote, with ``image`` as the default image."""
    args = [a for a in no_build_remote(standin.endpoint) if not a.startswith("+hydra.launcher.images.default.image=")]
    return run_app(app, *args, f"+hydra.launcher.images.default.image={image}", *extra, home=home, timeout=300)


def assert_nothing_made(standin: StandIn) -> None:
    assert standin.registered() == []
    assert not standin.executions()
    assert standin.uploads == []
    assert not any(
        standin.calls.get(m) for m in ("CreateTask", "CreateWorkflow", "CreateLaunchPlan", "CreateUploadLocation")
    )


def test_build_skip_refuses_an_image_the_registry_lacks(registry: str, idle_standin: StandIn, home: Path) -> None:
    result = skip_launch(idle_standin, home, SPLIT, f"{infra.REGISTRY_NAME}/fixed:never-pushed")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert (
        "image 'default': localhost:5000/fixed:never-pushed is not in its registry (registry localhost:5000 has no "
        "tag never-pushed of fixed): push it first" in result.stderr
    ), result.stderr[-2000:]
    assert_nothing_made(idle_standin)


def test_build_skip_refuses_a_generated_image_never_pushed(registry: str, idle_standin: StandIn, home: Path) -> None:
    args = [a for a in no_build_remote(idle_standin.endpoint) if not a.startswith("+hydra.launcher.images.default.")]
    extra = [
        f"hydra.launcher.images.default.registry={infra.REGISTRY_NAME}",
        f"hydra.launcher.images.default.repository=scaffold-test-{SESSION}/never",
    ]
    result = run_app(SPLIT, *args, *extra, home=home, timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "is not in its registry" in result.stderr and "hydra.launcher.build=auto" in result.stderr
    assert_nothing_made(idle_standin)


def test_run_without_a_workflow_registers_nothing(registry: str, idle_standin: StandIn, home: Path) -> None:
    result = run_app(TASKS_ONLY, *no_build_remote(idle_standin.endpoint), "x=1,2", home=home, timeout=300)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert NO_WORKFLOW in result.stderr, result.stderr[-2000:]
    assert_nothing_made(idle_standin)
    assert idle_standin.calls == {}, "not even a read: the launch stops while planning"


@pytest.mark.parametrize("form", ["digest", "tag-and-digest"])
def test_a_digest_reference_is_registered_unchanged(
    form: str, registry: str, idle_standin: StandIn, home: Path
) -> None:
    name = f"{infra.REGISTRY_NAME}/fixed" + (":1" if form == "tag-and-digest" else "")
    image = f"{name}@{registry}"
    result = skip_launch(idle_standin, home, SPLIT, image)
    assert result.returncode == 0, result.stderr[-3000:]
    tasks = idle_standin.registered(identifier_pb2.TASK)
    assert sorted(key[3] for key in tasks) == ["main.make_data", "main.score", "main.train"]
    assert {idle_standin.spec(key).template.container.image for key in tasks} == {image}
    assert len(idle_standin.executions()) == 1


def test_build_skip_goes_on_with_a_warning_when_the_registry_cannot_tell(
    unauthorized_registry: str, idle_standin: StandIn, home: Path
) -> None:
    result = skip_launch(idle_standin, home, SPLIT, f"{unauthorized_registry}/app:1")
    assert result.returncode == 0, result.stderr[-3000:]
    shown = result.stdout + result.stderr  # Hydra logs to stdout
    assert f"cannot check that registry {unauthorized_registry} has {unauthorized_registry}/app:1" in shown, shown
    assert len(idle_standin.registered(identifier_pb2.TASK)) == 3
