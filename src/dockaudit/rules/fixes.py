"""Fix snippets shared by every rule module, tailored to the detected base distribution."""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence

from dockaudit.facts.filesystem import OsRelease
from dockaudit.facts.image import ImageFacts
from dockaudit.model import Fix

APP_USER = "app"
APP_UID = 10001
DISTROLESS_UID = 65532


class Family(enum.StrEnum):
    """How a distribution creates users and installs packages."""

    ALPINE = "alpine"
    DEBIAN = "debian"
    RHEL = "rhel"
    DISTROLESS = "distroless"
    SCRATCH = "scratch"
    BUSYBOX = "busybox"
    UNKNOWN = "unknown"


_RHEL_IDS = frozenset({"rhel", "centos", "fedora", "rocky", "almalinux", "amzn", "ol", "ubi"})


def distro_family(os_release: OsRelease | None) -> Family:
    """The family of `os_release`; UNKNOWN when nothing was detected."""
    if os_release is None:
        return Family.UNKNOWN
    ids = {os_release.id.lower(), *(i.lower() for i in os_release.id_like)}
    if "alpine" in ids:
        return Family.ALPINE
    if ids & {"debian", "ubuntu"}:
        return Family.DEBIAN
    if ids & _RHEL_IDS:
        return Family.RHEL
    for family in (Family.DISTROLESS, Family.SCRATCH, Family.BUSYBOX):
        if family.value in ids:
            return family
    return Family.UNKNOWN


def image_os(facts: ImageFacts) -> OsRelease | None:
    """The OS release of an image, from its facts or its read filesystem."""
    if facts.os_release is not None:
        return facts.os_release
    if facts.filesystem is not None:
        return facts.filesystem.os_release
    return None


def create_user_dockerfile(os_release: OsRelease | None, user: str = APP_USER, uid: int = APP_UID) -> str:
    """Dockerfile lines that create an unprivileged user and switch to it, numerically."""
    family = distro_family(os_release)
    if family is Family.ALPINE:
        return f"RUN addgroup -S -g {uid} {user} && adduser -S -D -H -u {uid} -G {user} {user}\nUSER {uid}:{uid}"
    if family in (Family.DEBIAN, Family.RHEL):
        # Both ship shadow-utils' useradd; -r makes a system account without a login shell or aging.
        return (
            f"RUN groupadd -r -g {uid} {user} && useradd -r -u {uid} -g {user} -s /sbin/nologin -M {user}\n"
            f"USER {uid}:{uid}"
        )
    if family is Family.DISTROLESS:
        # Distroless images already define the `nonroot` user with this UID.
        return f"USER {DISTROLESS_UID}:{DISTROLESS_UID}"
    if family is Family.BUSYBOX:
        # Debian's static busybox has no adduser applet, so the account is written directly.
        return (
            f'RUN echo "{user}:x:{uid}:{uid}::/nonexistent:/sbin/nologin" >> /etc/passwd && \\\n'
            f'    echo "{user}:x:{uid}:" >> /etc/group\n'
            f"USER {uid}:{uid}"
        )
    # scratch (and anything unknown) has no tools to create users: a numeric UID needs no passwd entry.
    return f"USER {uid}:{uid}"


def non_root_user_fix(os_release: OsRelease | None, user: str = APP_USER, uid: int = APP_UID) -> Fix:
    """Run as a dedicated unprivileged user with a numeric UID, in Dockerfile, Compose and `docker run`."""
    family = distro_family(os_release)
    if family is Family.DISTROLESS:
        uid = DISTROLESS_UID
    where = f" ({family.value} base)" if family is not Family.UNKNOWN else ""
    return Fix(
        summary=f"Create an unprivileged user and switch to it with a numeric UID{where}.",
        dockerfile=create_user_dockerfile(os_release, user, uid),
        compose=compose_service({"user": f"{uid}:{uid}"}),
        run=f"--user {uid}:{uid}",
    )


def numeric_user_fix(os_release: OsRelease | None, user: str) -> Fix:
    """Refer to the existing user by UID so `runAsNonRoot` can verify it."""
    base = non_root_user_fix(os_release)
    return Fix(
        summary=f"Replace `USER {user}` by its numeric UID:GID (look it up with `id {user}` in the image).",
        dockerfile=base.dockerfile,
        compose=base.compose,
        run=base.run,
    )


def runtime_fix(summary: str, flags: Sequence[str], compose: Mapping[str, object]) -> Fix:
    """A fix applied when the container starts: `docker run` flags and a Compose service snippet."""
    return Fix(summary=summary, run=" ".join(flags), compose=compose_service(compose) if compose else "")


def dockerfile_fix(summary: str, dockerfile: str) -> Fix:
    """A fix in the image's Dockerfile only."""
    return Fix(summary=summary, dockerfile=dockerfile)


def compose_service(settings: Mapping[str, object], service: str = "app") -> str:
    """A Compose file fragment with `settings` under one service, as YAML."""
    lines = ["services:", f"  {service}:"]
    lines.extend(_yaml(settings, 4))
    return "\n".join(lines)


def _yaml(value: Mapping[str, object], indent: int) -> list[str]:
    pad = " " * indent
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, Mapping):
            lines.append(f"{pad}{key}:")
            lines.extend(_yaml(item, indent + 2))
        elif isinstance(item, list | tuple):
            lines.append(f"{pad}{key}:")
            lines.extend(f"{pad}  - {yaml_scalar(v)}" for v in item)
        else:
            lines.append(f"{pad}{key}: {yaml_scalar(item)}")
    return lines


# A string YAML would load as a number: Compose rejects numbers where it wants strings (log options).
_YAML_NUMBER = re.compile(
    r"[-+]?(?:\d[\d_]*(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN)"
)


def yaml_scalar(value: object) -> str:
    """A YAML scalar for `value`, quoted when YAML would read it as another type."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    # Quote anything YAML would read as another type or that holds a colon-space or a flow character.
    if (
        text == ""
        or text.lower() in {"true", "false", "yes", "no", "null", "on", "off", "~"}
        or _YAML_NUMBER.fullmatch(text) is not None
        or any(c in text for c in ":#{}[],&*!|>'\"%@`")
    ):
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return text


def install_snippet(os_release: OsRelease | None, packages: Sequence[str]) -> str:
    """A RUN line that installs `packages` the lean way for the distro (no cache, no recommends)."""
    names = " ".join(packages)
    family = distro_family(os_release)
    if family is Family.ALPINE:
        return f"RUN apk add --no-cache {names}"
    if family is Family.RHEL:
        return f"RUN dnf install -y --setopt=install_weak_deps=False {names} && dnf clean all"
    return (
        "RUN apt-get update && \\\n"
        f"    apt-get install -y --no-install-recommends {names} && \\\n"
        "    rm -rf /var/lib/apt/lists/*"
    )


def healthcheck_snippet(os_release: OsRelease | None, port: int = 8080) -> str:
    """A HEALTHCHECK instruction using a tool the base has (none for distroless/scratch)."""
    family = distro_family(os_release)
    url = f"http://127.0.0.1:{port}/health"
    if family in (Family.DISTROLESS, Family.SCRATCH):
        # No shell or curl: the app binary itself must provide the probe.
        return 'HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["/app", "healthcheck"]'
    if family in (Family.ALPINE, Family.BUSYBOX):
        return f'HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["wget", "-q", "-O", "/dev/null", "{url}"]'
    return f'HEALTHCHECK --interval=30s --timeout=3s --retries=3 CMD ["curl", "-fsS", "{url}"]'
