"""Does the registry hold an image? One manifest request, straight to the registry, no Docker engine.

``build=skip`` builds nothing and is used where no engine runs (a CI job, a laptop without
Docker), so before anything is registered each image is looked up as a pull would look it up:
``HEAD /v2/<repository>/manifests/<tag or digest>`` accepting every manifest type a pull accepts
(OCI and Docker, single images and multi-platform lists), over HTTPS, and for a registry on this
machine (localhost, 127.0.0.0/8, ::1: insecure for the engine by default) over HTTP when HTTPS
does not answer, as the engine falls back. A registry that asks for a login gets the anonymous
token it offers (public images on Docker Hub, ghcr.io, ...) and nothing else: the user's
credentials are never read.

Only a registry that answers "no such manifest" stops the launch. One that does not answer, or
wants credentials, may still be reachable from the cluster, so that is a warning and the launch
goes on.
"""

from __future__ import annotations

import functools
import ipaddress
import json
import logging
import ssl
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from scaffold_flyte.errors import ImageConfigError
from scaffold_flyte.images import ImagePlan, split_reference

log = logging.getLogger(__name__)

MANIFEST_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
    "application/vnd.docker.distribution.manifest.v2+json",
    "application/vnd.docker.distribution.manifest.v1+prettyjws",
)
DOCKER_HUB = ("docker.io", "index.docker.io", "registry-1.docker.io")
TIMEOUT = 10.0
PRESENT, MISSING = "present", "missing"


@dataclass(frozen=True)
class RegistryImage:
    """An image reference as a registry API sees it: which host, which repository, which manifest."""

    reference: str  # as the user and the registered task name it
    host: str  # registry host[:port] as in the reference (docker.io when none is named)
    repository: str  # path under the host (library/python for Docker Hub's python)
    manifest: str  # the digest when there is one (a pull fetches it, whatever the tag says), else the tag

    @property
    def api_host(self) -> str:
        return "registry-1.docker.io" if self.host in DOCKER_HUB else self.host

    @property
    def local(self) -> bool:
        """A registry on this machine: the engine talks HTTP to it when HTTPS fails."""
        name = self.host.rsplit(":", 1)[0] if not self.host.startswith("[") else self.host[1:].split("]")[0]
        if name == "localhost":
            return True
        try:
            return ipaddress.ip_address(name).is_loopback
        except ValueError:
            return False


def registry_image(reference: str) -> RegistryImage:
    """Docker's normalization: a first path component with '.', ':' or 'localhost' is the registry."""
    name, tag, digest = split_reference(reference)
    first, slash, rest = name.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        host, path = first, rest
    else:
        host, path = "docker.io", name
    if host in DOCKER_HUB and "/" not in path:
        path = f"library/{path}"
    return RegistryImage(reference, host, path, digest or tag or "latest")


def check_named_images(plans: Iterable[ImagePlan], build_setting: str = "hydra.launcher.build") -> None:
    """Each image a ``build=skip`` launch uses must be in its registry: one line when one is not.

    Images are looked up concurrently, each reference once. A registry that does not answer or
    asks for credentials is a warning (the cluster may reach it), never a refusal.
    """
    unique = list({plan.reference: plan for plan in plans}.values())
    for plan, answer in zip(unique, _statuses(unique), strict=True):
        image = registry_image(plan.reference)
        if answer == PRESENT:
            log.info(f"image {plan.name}: {plan.reference} is in its registry")
        elif answer == MISSING:
            raise ImageConfigError(_missing_line(plan, image, build_setting))
        else:
            log.warning(
                f"image {plan.name}: cannot check that registry {image.host} has {plan.reference} ({answer}); "
                "going on, since the cluster may reach it: a missing image fails its tasks when they start."
            )


class BuiltLookup:
    """The registry asked whether each image to build is there, in a thread of its own, while the
    launch asks Flyte about the version: the two answers come in the time of the slower one.

    The thread is a daemon: a launch that stops on Flyte's answer does not wait for a registry
    that does not answer.
    """

    def __init__(self, plans: Iterable[ImagePlan]) -> None:
        self.plans = list(plans)
        self._unique = list({plan.reference: plan for plan in self.plans if not plan.fixed}.values())
        self._answers: list[str] = []
        self._thread = threading.Thread(target=self._ask, name="registry-lookup", daemon=True)
        self._thread.start()

    def _ask(self) -> None:
        self._answers = _statuses(self._unique)

    def all_present(self) -> bool:
        self._thread.join()
        return all(answer == PRESENT for answer in self._answers)


def all_built(lookup: BuiltLookup) -> bool:
    """Whether each image to build (not a fixed one) is in its registry already, as the registry
    answers an anonymous manifest request: then ``build=auto`` has nothing to do and needs no
    Docker engine (a relaunch). Any other answer (missing, a login wanted, no answer) is False:
    the engine, with the user's own credentials, decides as before.
    """
    if not lookup.all_present():
        return False
    plans = lookup.plans
    for plan in plans:
        if plan.fixed:
            log.info(f"image {plan.name}: {plan.reference} (used as named, not built)")
        else:
            log.info(f"image {plan.name}: {plan.reference} is in the registry, nothing to build")
    return True


def _statuses(plans: list[ImagePlan]) -> list[str]:
    """Each plan's ``manifest_status``, the registries asked concurrently.

    Daemon threads, not a pool: a pool's workers are joined when the process exits, so a registry
    that does not answer would hold up the exit of a launch that has already stopped.
    """
    answers = ["no answer"] * len(plans)

    def ask(index: int) -> None:
        try:
            answers[index] = manifest_status(registry_image(plans[index].reference))
        except Exception as error:  # noqa: BLE001 - an answer that is neither PRESENT nor MISSING
            answers[index] = f"the lookup failed: {_reason(error)}"

    if len(plans) == 1:
        ask(0)
        return answers
    threads = [threading.Thread(target=ask, args=(i,), name="registry", daemon=True) for i in range(len(plans))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return answers


def _missing_line(plan: ImagePlan, image: RegistryImage, build_setting: str) -> str:
    what = "digest" if "@" in plan.reference else "tag"
    where = f"registry {image.host} has no {what} {image.manifest} of {image.repository}"
    if plan.fixed:
        fix = (
            f"push it first (`docker push {plan.reference}`) or fix hydra.launcher.images.{plan.name}.image"
            if what == "tag"
            else f"push that image first, or fix hydra.launcher.images.{plan.name}.image"
        )
    else:
        fix = f"launch with {build_setting}=auto to build and push it, or push it yourself"
    return f"image '{plan.name}': {plan.reference} is not in its registry ({where}): {fix}. Nothing was registered."


def manifest_status(image: RegistryImage, timeout: float = TIMEOUT) -> str:
    """``PRESENT``, ``MISSING``, or why the registry could not tell (unreachable, needs a login, ...)."""
    schemes = ("https", "http") if image.local else ("https",)
    failure = ""
    for scheme in schemes:
        url = f"{scheme}://{image.api_host}/v2/{image.repository}/manifests/{image.manifest}"
        try:
            return _ask(url, image, timeout)
        except OSError as error:  # URLError, refused, timed out, TLS to a plain-HTTP registry: try the next
            failure = _reason(error)
    return f"it does not answer: {failure}"


def _ask(url: str, image: RegistryImage, timeout: float) -> str:
    """One manifest request (HEAD, GET where HEAD is not allowed), with an anonymous token if one is offered."""
    token: str | None = None
    method = "HEAD"
    for _ in range(3):
        status, headers = _request(url, method, token, timeout, image.local)
        if status == 200:
            return PRESENT
        if status == 404:
            return MISSING
        if status in (405, 501) and method == "HEAD":
            method = "GET"
            continue
        if status == 401 and token is None:
            token = _anonymous_token(headers.get("WWW-Authenticate", ""), image, timeout)
            if token is not None:
                continue
        if status in (401, 403):
            return f"HTTP {status}: it wants credentials, and the launcher never reads yours"
        return f"HTTP {status}"
    return "no answer that tells"


def _request(url: str, method: str, token: str | None, timeout: float, local: bool) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method)
    request.add_header("Accept", ", ".join(MANIFEST_TYPES))
    request.add_header("User-Agent", "scaffold-flyte")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = _unverified_context() if local and url.startswith("https:") else None
    try:
        with urllib.request.urlopen(request, timeout=timeout, context=context) as response:
            return int(response.status), response.headers
    except urllib.error.HTTPError as error:
        return int(error.code), error.headers


@functools.cache
def _unverified_context() -> ssl.SSLContext:
    """TLS without certificate checks, as the engine talks to an insecure (local) registry.

    Built bare rather than with ``ssl.create_default_context()``: that loads the system's CA
    bundle (about 30 ms) for certificates this context never verifies.
    """
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def _anonymous_token(challenge: str, image: RegistryImage, timeout: float) -> str | None:
    """The pull token a Bearer challenge offers without credentials (the registry's token service)."""
    scheme, _, params = challenge.partition(" ")
    if scheme.lower() != "bearer":
        return None
    fields = dict(_challenge_fields(params))
    realm = fields.pop("realm", "")
    if not realm.startswith("https://") and not (realm.startswith("http://") and image.local):
        return None
    fields.setdefault("scope", f"repository:{image.repository}:pull")
    url = f"{realm}?{urllib.parse.urlencode(fields)}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url), timeout=timeout) as response:
            body = json.load(response)
    except (OSError, ValueError):
        return None
    token = body.get("token") or body.get("access_token") if isinstance(body, dict) else None
    return str(token) if token else None


def _challenge_fields(params: str) -> Iterable[tuple[str, str]]:
    """``realm="...",service="...",scope="..."`` as pairs (values may hold commas inside their quotes)."""
    rest = params.strip()
    while rest:
        key, _, rest = rest.partition("=")
        if rest.startswith('"'):
            value, _, rest = rest[1:].partition('"')
        else:
            value, _, rest = rest.partition(",")
        yield key.strip().lstrip(","), value
        rest = rest.lstrip(", ")


def _reason(error: BaseException) -> str:
    reason = getattr(error, "reason", None) or error
    text = " ".join(str(reason).split()) or type(reason).__name__
    return text if len(text) <= 160 else f"{text[:157]}..."
