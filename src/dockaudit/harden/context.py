"""What hardening may know beyond the Dockerfile text: the base images, the project and the distribution."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from dockaudit.facts.dockerfile import BaseImage
from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import ImageFacts
from dockaudit.parse.base_images import split_reference
from dockaudit.rules.fixes import Family, distro_family

__all__ = ["BaseImage", "HardenContext", "StageEnv", "base_from_facts", "distro_of", "stage_env", "tools_in"]

_BIN_DIRS = ("/bin/", "/sbin/", "/usr/bin/", "/usr/sbin/", "/usr/local/bin/", "/usr/local/sbin/")


def _no_base(_ref: str) -> BaseImage | None:
    return None


@dataclass(frozen=True)
class HardenContext:
    """Hints for the transform passes; everything is optional and text-only hardening still works."""

    base_lookup: Callable[[str], BaseImage | None] = _no_base
    """Local base images by reference (FROM text); None when not present locally."""
    image: BaseImage | None = None
    """The built image itself, when hardening an image: its files stand in for the final stage's base."""
    os_release: OsRelease | None = None
    """Distribution hint for the final stage when no base can be looked up."""
    exposed_ports: tuple[str, ...] = ()
    project_dir: str | None = None
    """The build context; `.dockerignore` is generated for it when missing."""
    allow_secret_names: tuple[str, ...] = ()
    target: str | None = None
    """The runtime stage (`--target`); None: the last stage that does not only export or test."""
    healthcheck_url: str | None = None
    """The app's own health URL (`--healthcheck-url`), probed from inside the container."""


def base_from_facts(facts: ImageFacts, ref: str | None = None) -> BaseImage:
    """A `BaseImage` view of collected image facts."""
    files: frozenset[str] | None = None
    passwd = group = None
    os_release = facts.os_release
    if facts.filesystem is not None:
        files = frozenset(f.path for f in facts.filesystem.final_files())
        passwd = _content(facts, "/etc/passwd")
        group = _content(facts, "/etc/group")
        os_release = os_release or facts.filesystem.os_release
    cfg = facts.config
    return BaseImage(
        ref=ref or facts.name,
        os_release=os_release,
        files=files,
        passwd=passwd,
        group=group,
        repo_digest=_digest_of_repository(facts.repo_digests, ref or facts.name),
        exposed_ports=cfg.exposed_ports,
        user=cfg.user,
        cmd=cfg.cmd,
        entrypoint=cfg.entrypoint,
        has_healthcheck=cfg.healthcheck is not None and not cfg.healthcheck.disabled,
        labels=tuple(label.name for label in cfg.labels if label.value.strip()),
        env=tuple((item.name, item.value) for item in cfg.env),
    )


def _digest_of_repository(repo_digests: Sequence[str], ref: str) -> str | None:
    """The RepoDigest recorded for the repository `ref` names: a digest pulled from another repository (an image
    retagged locally) may not exist in this one, and pinning `ref@` it would break the build."""
    repository = split_reference(ref)[0]
    for entry in repo_digests:
        name, _, digest = entry.partition("@")
        if digest and split_reference(name)[0] == repository:
            return entry
    return None


def _content(facts: ImageFacts, path: str) -> str | None:
    assert facts.filesystem is not None
    fact = facts.filesystem.get(path)
    if fact is None or fact.content is None:
        return None
    return fact.content.decode("utf-8", "replace")


def tools_in(files: frozenset[str]) -> frozenset[str]:
    """Names of the executables under the usual bin directories."""
    names = set()
    for path in files:
        for prefix in _BIN_DIRS:
            if path.startswith(prefix) and "/" not in path[len(prefix) :]:
                names.add(path[len(prefix) :])
    return frozenset(names)


_NAME_HINTS: tuple[tuple[re.Pattern[str], Family], ...] = (
    (re.compile(r"distroless|chainguard/static"), Family.DISTROLESS),
    (re.compile(r"alpine"), Family.ALPINE),
    (re.compile(r"debian|ubuntu|slim|bookworm|bullseye|buster|trixie|jammy|noble|focal"), Family.DEBIAN),
    (re.compile(r"fedora|centos|rhel|ubi\d*|rocky|alma|amazonlinux|oraclelinux"), Family.RHEL),
    (re.compile(r"(^|/)busybox"), Family.BUSYBOX),
)


def distro_of(base: BaseImage | None, os_hint: OsRelease | None, ref: str, runs: str) -> Family:
    """Best guess of the distribution: os-release, then files, then the image name, then the RUN commands."""
    for release in (base.os_release if base else None, os_hint):
        family = distro_family(release)
        if family is not Family.UNKNOWN:
            return family
    if base is not None and base.files is not None:
        files = base.files
        if "/etc/alpine-release" in files or "/lib/apk/db/installed" in files:
            return Family.ALPINE
        if "/var/lib/dpkg/status" in files:
            return Family.DEBIAN
        if "/etc/redhat-release" in files:
            return Family.RHEL
        if not files:
            return Family.SCRATCH
        if "/bin/sh" not in files and "/etc/passwd" in files:
            return Family.DISTROLESS
    name = ref.lower()
    if name == "scratch":
        return Family.SCRATCH
    for pattern, distro in _NAME_HINTS:
        if pattern.search(name):
            return distro
    if re.search(r"\bapk\s+add\b", runs):
        return Family.ALPINE
    if re.search(r"\bapt(-get)?\s+", runs):
        return Family.DEBIAN
    if re.search(r"\b(dnf|yum|microdnf)\s+", runs):
        return Family.RHEL
    return Family.UNKNOWN


_DEFAULT_TOOLS: dict[Family, frozenset[str]] = {
    Family.ALPINE: frozenset({"sh", "adduser", "addgroup", "wget"}),
    Family.DEBIAN: frozenset({"sh", "useradd", "groupadd"}),
    Family.RHEL: frozenset({"sh", "useradd", "groupadd", "curl"}),
    Family.BUSYBOX: frozenset({"sh", "adduser", "addgroup", "wget"}),
    Family.DISTROLESS: frozenset(),
    Family.SCRATCH: frozenset(),
    Family.UNKNOWN: frozenset(),
}

_INSTALLED = re.compile(r"\b(?:apk\s+add|apt(?:-get)?\s+(?:-\S+\s+)*install|dnf\s+install|yum\s+install)\b([^&;|]*)")


@dataclass(frozen=True)
class StageEnv:
    """What the final stage can run: its distribution, tools and known users."""

    distro: Family
    tools: frozenset[str]
    has_passwd: bool
    passwd: str | None
    group: str | None
    base: BaseImage | None
    ref: str

    @property
    def has_shell(self) -> bool:
        """Whether `RUN` in shell form can work."""
        return "sh" in self.tools

    @property
    def http_client(self) -> str | None:
        """`curl` or `wget` when one is available to a health probe."""
        for tool in ("curl", "wget"):
            if tool in self.tools:
                return tool
        return None


def stage_env(ref: str, base: BaseImage | None, os_hint: OsRelease | None, runs: str) -> StageEnv:
    """Combine what is known about a stage's base with what its own RUN lines install."""
    distro = distro_of(base, os_hint, ref, runs)
    if base is not None and base.files is not None:
        tools = set(tools_in(base.files))
        # A busybox binary provides its applets even where the symlinks were not unpacked.
        if "busybox" in tools:
            tools |= {"sh", "wget"}
        has_passwd = "/etc/passwd" in base.files
    else:
        tools = set(_DEFAULT_TOOLS[distro])
        has_passwd = distro not in (Family.SCRATCH, Family.UNKNOWN)
    for match in _INSTALLED.finditer(runs):
        for word in match.group(1).split():
            name = word.split("=", 1)[0]
            if name in ("curl", "wget"):
                tools.add(name)
            if name in ("shadow", "passwd"):
                tools |= {"useradd", "groupadd"}
    return StageEnv(
        distro=distro,
        tools=frozenset(tools),
        has_passwd=has_passwd,
        passwd=base.passwd if base else None,
        group=base.group if base else None,
        base=base,
        ref=ref,
    )
