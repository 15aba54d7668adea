"""The files of a Dockerfile's folder that may be sent to the engine as a build context.

A user's Dockerfile builds from its folder, and everything sent can end up in an image layer that
anyone who pulls the image reads. The folder is often the app's own: it holds an ``.env``, a
``secrets.json``, a deploy key, Hydra's ``outputs/``, a virtualenv. So the context is ``.dockerignore``
as Docker reads it (docker's own PatternMatcher, not a parser of ours), less what this module
leaves out whatever ``.dockerignore`` says, in three kinds:

- **credentials**, never sent: private keys (``id_rsa``, ``id_ed25519``, ``id_ecdsa``, ``id_dsa``,
  ``*.key``, ``*.p12``, ``*.pfx``, ``*.ppk``, ``*.jks``, and any small file or ``*.pem`` holding a
  ``PRIVATE KEY`` block), the credential folders ``.ssh/``, ``.kube/``, ``.aws/``, ``.gnupg/``,
  ``.azure/``, ``.flyte/``, ``.config/gcloud/``, the files ``.docker/config.json``, ``.pypirc``,
  ``.netrc``, ``.git-credentials``, ``.npmrc``, ``.pgpass``, ``.env`` and ``.env.*``, and ``.git/``
  (its history keeps every secret ever committed, its config often a token in a remote URL).
  These names mean credentials with certainty, and an image is the wrong place for any of them
  (anyone who pulls it reads its layers): a task gets them at run time, as a Flyte secret. Not as
  a build argument either: Docker keeps those in the image's history.
- **secrets by name**, left out unless ``.dockerignore`` names them with ``!``: a file or folder whose
  name has the word secret(s), credential(s) or password(s) (words split at non-letters and at
  camelCase: ``secrets.json``, ``client_secret_123.json``, ``dbPassword.txt``, but not
  ``secretary.py``), and a ``*.pem`` without a private key (a CA bundle may be meant to go in). A
  name is a guess, so the user can overrule it, in a file that is reviewed like code.
- **bulk**, left out unless named with ``!``: virtualenvs (``.venv/``, ``venv/``, any folder with a
  ``pyvenv.cfg``), Hydra's output (``outputs/`` and ``multirun/`` at the top, any folder holding a
  ``.hydra/``, whose logs and configs may hold resolved values), caches (``__pycache__/``, ``*.pyc``,
  ``.mypy_cache/``, ...).

``!pattern`` re-includes with Docker's own matching: ``!secrets.json``, ``!outputs`` (the folder
and all in it), ``!**/*.pem``. The file named ``Dockerfile`` at the top is not taken from the folder:
the launcher sends the Dockerfile it read (the one ``dockerfile`` names) under that name.
"""

from __future__ import annotations

import fnmatch
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CREDENTIAL, SECRET, BULK = "credential", "secret", "bulk"
GENERATED_DOCKERFILE = "Dockerfile"  # the build's Dockerfile, sent by the launcher from the text it read

_CREDENTIAL_DIRS = {
    ".git": "version control: its history and remote URLs can hold credentials",
    ".ssh": "SSH keys",
    ".kube": "Kubernetes credentials",
    ".aws": "AWS credentials",
    ".gnupg": "GnuPG keys",
    ".azure": "Azure credentials",
    ".flyte": "Flyte client credentials",
}
_KEY_NAMES = ("id_rsa", "id_dsa", "id_ecdsa", "id_ed25519", "id_ecdsa_sk", "id_ed25519_sk")
_CREDENTIAL_FILES = {
    **dict.fromkeys(_KEY_NAMES, "an SSH private key"),
    ".pypirc": "PyPI credentials",
    ".netrc": "login credentials",
    "_netrc": "login credentials",
    ".git-credentials": "git credentials",
    ".npmrc": "npm credentials",
    ".pgpass": "PostgreSQL passwords",
    ".git": "version control",
}
_KEY_SUFFIXES = (".key", ".p12", ".pfx", ".ppk", ".jks")
_VENV_DIRS = (".venv", "venv")
_CACHE_DIRS = ("__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", ".ipynb_checkpoints", ".infra")
_HYDRA_TOP_DIRS = ("outputs", "multirun")
_SECRET_WORDS = {"secret", "secrets", "credential", "credentials", "password", "passwords", "passwd"}
_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")
_PRIVATE_KEY = re.compile(rb"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")
_SNIFF_BYTES = 64 * 1024  # private keys are small: every file up to this size is read for one
_PEM_BYTES = 1024 * 1024


@dataclass(frozen=True)
class LeftOut:
    """Something of the folder that is not sent on purpose: a file, or a folder (its path ends with /)."""

    path: str
    kind: str  # CREDENTIAL (never sent), SECRET or BULK (a `!` line in .dockerignore sends it)
    reason: str

    @property
    def sensitive(self) -> bool:
        return self.kind in (CREDENTIAL, SECRET)

    def advice(self, root: Path) -> str:
        """Why it is missing from the build, and what to do about it."""
        if self.kind == CREDENTIAL:
            return (
                f"{self.path} was left out of the build context on purpose ({self.reason}) and is never sent: "
                "an image must not carry it (anyone who pulls it reads its layers): give it to the task at run "
                "time, as a Flyte secret."
            )
        return (
            f"{self.path} was left out of the build context on purpose ({self.reason}): to send it, add the line "
            f"'!{self.path.rstrip('/')}' to {root / '.dockerignore'}."
        )


@dataclass(frozen=True)
class BuildContext:
    """What of ``root`` goes to the engine (``files``, relative POSIX paths, sorted) and what does not."""

    root: Path
    files: tuple[str, ...]
    size: int  # bytes of ``files``
    left_out: tuple[LeftOut, ...]

    def describe(self) -> str:
        """One line for a dry run: how much is sent, and which sensitive names are not."""
        parts = [f"{len(self.files)} files, {_human(self.size)} from {self.root}"]
        never = [item.path for item in self.left_out if item.kind == CREDENTIAL]
        named = [item.path for item in self.left_out if item.kind == SECRET]
        bulk = [item.path for item in self.left_out if item.kind == BULK]
        if never:
            parts.append(f"never sent: {_names(never, 40)}")
        if named:
            parts.append(f"left out (a '!name' line in .dockerignore sends it): {_names(named, 40)}")
        if bulk:
            parts.append(f"also left out: {_names(bulk)}")
        return "; ".join(parts)

    def missing_hint(self, error: str, step: str = "") -> str | None:
        """The advice for a build that failed on a file this context left out, if that is what it failed on.

        ``error`` is the engine's error, ``step`` the failing step's line (``Step 3/4 : COPY x /y``).
        """
        wanted = _wanted_paths(error, step)
        for item in self.left_out:
            path = item.path.rstrip("/")
            for name in wanted:
                if name == path or name.startswith(path + "/") or _glob_matches(path, name):
                    return item.advice(self.root)
        return None


def scan(root: Path, dockerfile_name: str = GENERATED_DOCKERFILE) -> BuildContext:
    """The build context of ``root`` (a Dockerfile's folder): ``.dockerignore`` honoured, credentials never."""
    from docker.utils.build import Pattern, PatternMatcher, exclude_paths

    patterns = dockerignore_patterns(root)
    negations = [Pattern(p) for p in patterns if p.startswith("!")]
    # each `!` line alone, matched as Docker matches (a folder named sends everything in it)
    reincluding = [PatternMatcher([p.cleaned_pattern]) for p in negations if p.dirs]
    rules = _Rules(root)
    left: dict[str, LeftOut] = {}
    candidates: list[str] = []
    pruned: list[str] = []
    for folder, dirnames, filenames in os.walk(root):
        rel_folder = Path(folder).relative_to(root).as_posix()
        rel_folder = "" if rel_folder == "." else rel_folder
        keep = []
        for name in sorted(dirnames):
            rel = _join(rel_folder, name)
            rule = rules.folder(rel)
            if rule is not None and (rule.kind == CREDENTIAL or not _reachable(rel, negations)):
                left[rel + "/"] = LeftOut(rel + "/", rule.kind, rule.reason)
                pruned.append(rel)
            else:
                keep.append(name)
        dirnames[:] = keep
        candidates += [_join(rel_folder, name) for name in sorted(filenames)]
    # pruned folders as patterns too, after the user's, so Docker's walk does not go through them
    # (a name with a wildcard in it cannot be quoted in Docker's patterns: it is walked, then filtered)
    prune = [rel for rel in pruned if not any(c in rel for c in "*?[\\")]
    docker_sends = exclude_paths(str(root), [*patterns, *prune], dockerfile=dockerfile_name)
    sent = []
    for rel in candidates:
        if rel == GENERATED_DOCKERFILE:
            continue
        sendable = rel in docker_sends and (root / rel).is_file()
        item = rules.path(rel, read=sendable)
        if item is None:
            if sendable:
                sent.append(rel)
            continue
        if sendable and item.kind != CREDENTIAL and any(m.matches(rel) for m in reincluding):
            sent.append(rel)
            continue
        left.setdefault(item.path, item)
    size = sum((root / rel).lstat().st_size for rel in sent)
    return BuildContext(root, tuple(sorted(sent)), size, tuple(sorted(left.values(), key=lambda i: i.path)))


def dockerignore_patterns(root: Path) -> list[str]:
    """The lines of ``root/.dockerignore``, as the Docker SDK reads them (docker/api/build.py)."""
    ignore = root / ".dockerignore"
    if not ignore.is_file():
        return []
    lines = [line.strip() for line in ignore.read_text().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


def credential_reason(root: Path, rel: str) -> str | None:
    """Why ``rel`` (a file under ``root``) must never be sent, or None: the check a build makes again as it sends."""
    item = _Rules(root).path(rel, read=True)
    return item.reason if item is not None and item.kind == CREDENTIAL else None


@dataclass(frozen=True)
class _Rule:
    kind: str
    reason: str


class _Rules:
    """The three kinds, for the folders and files under ``root`` (folder answers cached)."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._folders: dict[str, _Rule | None] = {}

    def folder(self, rel: str) -> _Rule | None:
        if rel not in self._folders:
            self._folders[rel] = self._folder(rel)
        return self._folders[rel]

    def _folder(self, rel: str) -> _Rule | None:
        parent, _, name = rel.rpartition("/")
        low = name.lower()
        if low in _CREDENTIAL_DIRS:
            return _Rule(CREDENTIAL, _CREDENTIAL_DIRS[low])
        if low == "gcloud" and parent.rpartition("/")[2].lower() == ".config":
            return _Rule(CREDENTIAL, "Google Cloud credentials")
        path = self.root / rel
        if low in _VENV_DIRS or (path / "pyvenv.cfg").is_file():
            return _Rule(BULK, "a virtualenv")
        if (not parent and low in _HYDRA_TOP_DIRS) or low == ".hydra" or (path / ".hydra").is_dir():
            return _Rule(BULK, "Hydra's output")
        if low in _CACHE_DIRS:
            return _Rule(BULK, "a cache")
        if _secret_name(name):
            return _Rule(SECRET, "its name says it holds secrets")
        return None

    def path(self, rel: str, read: bool) -> LeftOut | None:
        """What leaves ``rel`` out: a credential anywhere on its path first, else the outermost other reason.

        ``read``: look inside the file for a private key too (only for files that would be sent).
        """
        parts = rel.split("/")
        found: LeftOut | None = None
        for depth in range(1, len(parts)):
            folder = "/".join(parts[:depth])
            rule = self.folder(folder)
            if rule is not None and rule.kind == CREDENTIAL:
                return LeftOut(folder + "/", rule.kind, rule.reason)
            if rule is not None and found is None:
                found = LeftOut(folder + "/", rule.kind, rule.reason)
        rule = self._file(rel, parts, read)
        if rule is not None and (rule.kind == CREDENTIAL or found is None):
            return LeftOut(rel, rule.kind, rule.reason)
        return found

    def _file(self, rel: str, parts: list[str], read: bool) -> _Rule | None:
        name = parts[-1]
        low = name.lower()
        if low in _CREDENTIAL_FILES:
            return _Rule(CREDENTIAL, _CREDENTIAL_FILES[low])
        if low == ".env" or low.startswith(".env."):
            return _Rule(CREDENTIAL, "an environment file")
        if low == "config.json" and len(parts) > 1 and parts[-2].lower() == ".docker":
            return _Rule(CREDENTIAL, "registry credentials")
        if low.endswith(_KEY_SUFFIXES):
            return _Rule(CREDENTIAL, "a private key or key store")
        if read and self._holds_private_key(rel, low.endswith(".pem")):
            return _Rule(CREDENTIAL, "it holds a private key")
        if low.endswith(".pem"):
            return _Rule(SECRET, "a .pem file; this one holds no private key" if read else "a .pem file")
        if low.endswith(".pyc"):
            return _Rule(BULK, "a cache")
        if _secret_name(name):
            return _Rule(SECRET, "its name says it holds secrets")
        return None

    def _holds_private_key(self, rel: str, pem: bool) -> bool:
        path = self.root / rel
        try:
            size = path.stat().st_size
            if size > (_PEM_BYTES if pem else _SNIFF_BYTES):
                return False
            return bool(_PRIVATE_KEY.search(path.read_bytes()))
        except OSError:
            return pem  # a .pem that cannot be read is not sent


def _secret_name(name: str) -> bool:
    return any(word.lower() in _SECRET_WORDS for word in _WORD.findall(name))


def _reachable(folder: str, negations: list[Any]) -> bool:
    """Whether a `!` line could send something inside ``folder`` (Docker's own test before it skips a folder)."""
    for pattern in negations:
        cleaned = pattern.cleaned_pattern
        if cleaned.startswith(("*", "?", "[")) or cleaned == folder or cleaned.startswith(folder + "/"):
            return True
        if pattern.match(folder):
            return True
    return False


def _join(folder: str, name: str) -> str:
    return f"{folder}/{name}" if folder else name


_QUOTED = re.compile(r"stat ([^:\s]+): file does not exist|\"([^\"]+)\": not found|lstat ([^:\s]+): no such file")


def _wanted_paths(error: str, step: str) -> list[str]:
    """The context paths a failed COPY/ADD asked for: from the engine's error, and the step's sources."""
    names = [next(g for g in match.groups() if g) for match in _QUOTED.finditer(error)]
    words = step.split(" : ", 1)[-1].split()
    if words and words[0].upper() in ("COPY", "ADD"):
        sources = [w for w in words[1:] if not w.startswith("--")][:-1]  # the last one is the destination
        names += sources
    cleaned = []
    for name in names:
        name = name.strip().strip("\"'[],")
        while name.startswith(("./", "/")):
            name = name[2:] if name.startswith("./") else name[1:]
        if name and name != ".":
            cleaned.append(name.rstrip("/"))
    return cleaned


def _glob_matches(path: str, pattern: str) -> bool:
    return any(c in pattern for c in "*?[") and fnmatch.fnmatchcase(path, pattern)


def _names(paths: list[str], limit: int = 12) -> str:
    shown = ", ".join(paths[:limit])
    return shown + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _human(size: int) -> str:
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"
