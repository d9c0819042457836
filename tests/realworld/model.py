"""The shape of a real-world case: a Dockerfile of our own reproducing a public pattern, and what must hold."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from dataclasses import dataclass, field

DEBIAN = "dockaudit-test/h-debian:12"
ALPINE = "dockaudit-test/h-alpine:3.19"
DISTROLESS = "dockaudit-test/h-distroless:12"
"""FROM-scratch stand-ins with fake package managers and user tools (tests/harden/bases.py)."""

KEEP = "keep"
"""User: no USER added, removed or changed, and no user created. Healthcheck: HEALTHCHECKs unchanged."""
NO_HEALTHCHECK = "none"
"""No HEALTHCHECK instruction added (a commented template is fine)."""

FAKE_GOSU = """#!/bin/sh
# Stand-in for gosu/su-exec in offline test images: busybox su, called as root.
user="$1"; shift
exec su -p -s /bin/sh "$user" -c 'exec "$0" "$@"' -- "$@"
"""


def dockerfile(text: str) -> str:
    """Dedented Dockerfile text without the leading newline."""
    return textwrap.dedent(text).lstrip("\n")


@dataclass(frozen=True)
class Probe:
    """An added HEALTHCHECK must call one of `clients` against `port`."""

    clients: tuple[str, ...]
    port: int | None
    """None for a server's own health command (pg_isready), which takes no URL."""


@dataclass(frozen=True)
class Runtime:
    """What the built hardened image must do on the test engine."""

    uid: int | None = None
    """UID of PID 1 once the entrypoint has done its work; None: any non-root UID."""
    healthy: bool = False
    """The container reaches `healthy` (run with a 1 s health interval, the probe itself unchanged)."""
    owned: Mapping[str, int] = field(default_factory=dict)
    """Paths that must be owned by these UIDs (what a privilege-dropping entrypoint chowns)."""
    target: str | None = None
    """The stage to build and run, when it is not the last one."""


@dataclass(frozen=True)
class Case:
    """One pattern met in public Dockerfiles, as a Dockerfile of our own, with the expectations the specs give."""

    name: str
    pattern: str
    source: str
    """Public repositories where the pattern was met (named, never copied)."""
    text: str
    cites: tuple[str, ...]
    """Spec lines (rules.md / harden.md / issue #12) that justify the expectations."""
    files: Mapping[str, str] = field(default_factory=dict)
    """Build-context files (entrypoint scripts, app files)."""
    present: Mapping[str, str | None] = field(default_factory=dict)
    """Rule ids that must fail, with a severity (`high`, `>=medium`) or None for any."""
    absent: tuple[str, ...] = ()
    """Rule ids that must not fail at any severity (nor at `>=medium` for the `not_medium` ones)."""
    not_medium: tuple[str, ...] = ()
    """Rule ids that may be reported, but below medium."""
    user: str | None = None
    """KEEP, `reuse:UID`, `safe:UID` (KEEP or reuse), `create` / `create:TOOL` (useradd, adduser, passwd, numeric),
    or None: not judged."""
    healthcheck: str | Probe | None = None
    """KEEP, NO_HEALTHCHECK, a Probe, or None: not judged."""
    forbid_probe_ports: tuple[int, ...] = ()
    untouched_stages: tuple[str, ...] = ()
    """Stages (by AS name) whose code lines harden must leave as they are."""
    target: str | None = None
    secrets: tuple[str, ...] = ()
    """Literals that must never appear in the scan report or harden's output."""
    runtime: Runtime | None = None
    """Set for cases that build offline: built before and after hardening with BuildKit and run."""
