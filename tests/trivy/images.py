"""Fixture image layouts that Trivy detects (spec trivy-offline-db.md §5), all FROM scratch."""

from __future__ import annotations

from collections.abc import Mapping

import docker

from tests.fixtures.images import build_image

ALPINE_FILES: dict[str, str] = {
    "rootfs/etc/alpine-release": "3.22.2\n",
    "rootfs/etc/os-release": 'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.22.2\nPRETTY_NAME="Alpine Linux v3.22"\n',
    "rootfs/lib/apk/db/installed": (
        "P:busybox\nV:1.36.1-r15\nA:x86_64\nL:GPL-2.0-only\no:busybox\n"
        "T:Size optimized toolbox of many common UNIX utilities\nF:bin\nR:busybox\n\n"
        "P:musl\nV:1.2.5-r10\nA:x86_64\nL:MIT\no:musl\nT:the musl c library (libc) implementation\n"
        "F:lib\nR:ld-musl-x86_64.so.1\n\n"
    ),
}

DEBIAN_FILES: dict[str, str] = {
    "rootfs/etc/debian_version": "12.5\n",
    "rootfs/etc/os-release": (
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\n'
        'VERSION="12 (bookworm)"\nVERSION_CODENAME=bookworm\nID=debian\n'
    ),
    "rootfs/var/lib/dpkg/status": (
        "Package: libssl3\nStatus: install ok installed\nArchitecture: amd64\nSource: openssl\n"
        "Version: 3.0.11-1~deb12u2\nMaintainer: Debian OpenSSL Team <pkg-openssl-devel@alioth-lists.debian.net>\n"
        "Description: Secure Sockets Layer toolkit - shared libraries\n\n"
        "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\n"
        "Version: 1:1.2.13.dfsg-1\nMaintainer: Mark Brown <broonie@debian.org>\n"
        "Description: compression library - runtime\n\n"
        "Package: base-files\nStatus: install ok installed\nArchitecture: amd64\n"
        "Version: 12.4+deb12u5\nMaintainer: Santiago Vila <sanvila@debian.org>\n"
        "Description: Debian base system miscellaneous files\n\n"
    ),
}

PYTHON_FILES: dict[str, str] = {
    "rootfs/usr/local/lib/python3.12/site-packages/Jinja2-3.1.2.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: Jinja2\nVersion: 3.1.2\nLicense: BSD-3-Clause\n"
    ),
    "rootfs/usr/local/lib/python3.12/site-packages/requests-2.32.3.dist-info/METADATA": (
        "Metadata-Version: 2.1\nName: requests\nVersion: 2.32.3\nLicense: Apache-2.0\n"
    ),
}

ROOTFS_DOCKERFILE = "FROM scratch\nCOPY rootfs/ /\n"

# What Trivy must report from the fixture DB: image -> {(id, package, installed, fixed or None, severity)}.
EXPECTED: dict[str, set[tuple[str, str, str, str | None, str]]] = {
    "alpine": {("CVE-2023-42363", "busybox", "1.36.1-r15", "1.36.1-r16", "medium")},
    "debian": {
        ("CVE-2024-0727", "libssl3", "3.0.11-1~deb12u2", "3.0.13-1~deb12u1", "low"),
        ("CVE-2023-45853", "zlib1g", "1:1.2.13.dfsg-1", None, "low"),
    },
    "python": {
        ("CVE-2024-22195", "Jinja2", "3.1.2", "3.1.3", "medium"),
        ("CVE-2024-34064", "Jinja2", "3.1.2", "3.1.4", "medium"),
    },
}

FILES: dict[str, dict[str, str]] = {"alpine": ALPINE_FILES, "debian": DEBIAN_FILES, "python": PYTHON_FILES}

FAKE_GITHUB_TOKEN = "ghp_" + "Zq3" * 12
"""A well-formed but fake GitHub token; it must never appear in a finding."""

SECRET_FILES: dict[str, str] = {
    "rootfs/app/settings.ini": f"[github]\ntoken = {FAKE_GITHUB_TOKEN}\n",
    # Trivy skips secret scanning under paths containing `test`, `example` or `vendor`.
    "rootfs/app/tests/settings.ini": f"[github]\ntoken = {FAKE_GITHUB_TOKEN}\n",
}

# The legacy builder records HEALTHCHECK in a form Trivy 0.76 cannot parse: every image-config
# misconfiguration result is lost while Trivy still exits 0.
HEALTHCHECK_DOCKERFILE = (
    "FROM scratch\nCOPY rootfs/ /\nUSER 1000\n"
    'HEALTHCHECK --interval=30s CMD ["/bin/busybox", "true"]\nCMD ["/bin/busybox", "sleep", "1000"]\n'
)


def build(client: docker.DockerClient, name: str, files: Mapping[str, str], dockerfile: str = ROOTFS_DOCKERFILE) -> str:
    """Build (or reuse) a fixture image with the shared legacy-builder helper; returns its image ID."""
    tag = build_image(client, f"trivy-{name}", dockerfile, {k: v.encode() for k, v in files.items()})
    return str(client.api.inspect_image(tag)["Id"])
