"""Detect the distribution of an image from the files of its final filesystem."""

from __future__ import annotations

import shlex
from collections.abc import Mapping

from dockaudit.facts.filesystem import FileFact, FileType, OsRelease

OS_RELEASE_PATHS = ("/etc/os-release", "/usr/lib/os-release")
ALPINE_RELEASE = "/etc/alpine-release"
DEBIAN_VERSION = "/etc/debian_version"
DPKG_STATUS = "/var/lib/dpkg/status"
DPKG_STATUS_D = "/var/lib/dpkg/status.d"
"""Distroless images list their packages one file per package here, and have no `status` file."""
SHELLS = ("/bin/sh", "/bin/bash", "/bin/ash", "/usr/bin/sh", "/bin/busybox")


def parse_os_release(text: str) -> dict[str, str]:
    """`KEY=value` lines of os-release, unquoted as a shell would."""
    values: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, raw = line.partition("=")
        try:
            parts = shlex.split(raw)
        except ValueError:
            parts = [raw.strip("\"'")]
        values[key.strip()] = " ".join(parts)
    return values


def _text(fact: FileFact | None) -> str | None:
    if fact is None or fact.content is None:
        return None
    return fact.content.decode("utf-8", "replace")


def detect_os(final: Mapping[str, FileFact]) -> OsRelease:
    """The distribution seen in `final` (path → visible entry); `scratch` when nothing identifies one."""
    has_status_d = any(p.startswith(DPKG_STATUS_D + "/") for p in final) or DPKG_STATUS_D in final
    has_shell = any(p in final for p in SHELLS)
    release: OsRelease | None = None
    for path in OS_RELEASE_PATHS:
        text = _text(final.get(path))
        if text is not None:
            fields = parse_os_release(text)
            if fields.get("ID"):
                release = OsRelease(
                    id=fields["ID"].lower(),
                    version_id=fields.get("VERSION_ID", ""),
                    pretty_name=fields.get("PRETTY_NAME", ""),
                    id_like=tuple(fields.get("ID_LIKE", "").lower().split()),
                )
                break
    if release is None:
        alpine = _text(final.get(ALPINE_RELEASE))
        debian = _text(final.get(DEBIAN_VERSION))
        if alpine is not None:
            release = OsRelease("alpine", alpine.strip(), f"Alpine Linux v{alpine.strip()}")
        elif debian is not None:
            release = OsRelease("debian", debian.strip().split(".")[0], f"Debian {debian.strip()}")
    distroless = has_status_d and DPKG_STATUS not in final and not has_shell
    if release is not None and ("distroless" in release.pretty_name.lower() or distroless):
        like = tuple(dict.fromkeys((release.id, *release.id_like)))
        return OsRelease("distroless", release.version_id, release.pretty_name, like)
    if release is not None:
        return release
    if distroless:
        return OsRelease("distroless", "", "Distroless", ("debian",))
    busybox = final.get("/bin/busybox")
    if busybox is not None and busybox.type is not FileType.DIR:
        return OsRelease("busybox", "", "BusyBox")
    return OsRelease("scratch", "", "")
