"""Fact builders for rule tests: sane, hardened defaults that a test overrides to plant one flaw."""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dockaudit.command_secrets import redact_history_line
from dockaudit.config import Settings
from dockaudit.facts.container import ContainerFacts, ContainerState, HostConfig
from dockaudit.facts.filesystem import FileFact, FilesystemFacts, FileType, LayerInfo, OsRelease
from dockaudit.facts.host import HostFacts
from dockaudit.facts.image import Healthcheck, HistoryEntry, ImageConfig, ImageFacts, NamedValue
from dockaudit.model import Finding
from dockaudit.rules import RULE_MODULES
from dockaudit.rules.registry import RULES, RuleContext, evaluate_rule
from dockaudit.secrets import redact_pair

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
"""The clock every builder and `make_ctx` uses, so age-based rules are deterministic."""

GOOD_HEALTHCHECK = Healthcheck(test=("CMD", "/app", "healthcheck"), interval_ns=30_000_000_000)
DEBIAN = OsRelease(id="debian", version_id="12", pretty_name="Debian GNU/Linux 12 (bookworm)")
ALPINE = OsRelease(id="alpine", version_id="3.20.3", pretty_name="Alpine Linux v3.20")


def nv(name: str, value: str, allow: Iterable[str] = ()) -> NamedValue:
    """A NamedValue built the way collectors build it: classified and redacted at the source."""
    safe, match = redact_pair(name, value, allow)
    return NamedValue(name, safe, match)


def make_config(**overrides: Any) -> ImageConfig:
    """A hardened image config: numeric non-root user, exec-form command, healthcheck, labels."""
    env = overrides.pop("env", ("PATH=/usr/local/bin:/usr/bin:/bin",))
    labels = overrides.pop(
        "labels",
        {"org.opencontainers.image.source": "https://example.com/app.git", "org.opencontainers.image.revision": "abc"},
    )
    base = ImageConfig(
        user="10001:10001",
        env=tuple(e if isinstance(e, NamedValue) else nv(*e.split("=", 1)) for e in env),
        entrypoint=("/app/server",),
        cmd=("--port", "8080"),
        healthcheck=GOOD_HEALTHCHECK,
        labels=tuple(v if isinstance(v, NamedValue) else nv(k, v) for k, v in dict(labels).items()),
        exposed_ports=("8080/tcp",),
        stop_signal="SIGTERM",
        workdir="/app",
    )
    return replace(base, **overrides)


def history_entry(created_by: str, index: int = 0, **overrides: Any) -> HistoryEntry:
    """One history step; `|N NAME=value` build args in `created_by` are parsed and redacted like collectors do."""
    red = redact_history_line(created_by)
    entry = HistoryEntry(
        index=index,
        created_by=red.text,
        build_args=tuple(NamedValue(a.name, a.value, a.secret) for a in red.build_args),
        secrets=red.found,
        created=NOW - timedelta(days=1),
        from_base=False,
    )
    return replace(entry, **overrides)


def make_history(
    *lines: str, base: Sequence[str] = ("/bin/sh -c #(nop) ADD file:abc in / ",)
) -> tuple[HistoryEntry, ...]:
    """History with `base` steps (from the base image) then the user's `lines`, oldest first."""
    entries: list[HistoryEntry] = []
    layer = 0
    for text, from_base in [*((b, True) for b in base), *((u, False) for u in lines)]:
        empty = "#(nop)" in text and "ADD" not in text and "COPY" not in text
        entries.append(
            history_entry(
                text,
                index=len(entries),
                from_base=from_base,
                empty_layer=empty,
                layer_index=None if empty else layer,
            )
        )
        if not empty:
            layer += 1
    return tuple(entries)


def make_image_facts(**overrides: Any) -> ImageFacts:
    """A small, fresh, hardened image; pass `config=make_config(...)` or `history=make_history(...)` to plant flaws."""
    history = overrides.pop("history", make_history('/bin/sh -c #(nop)  CMD ["/app/server"]'))
    base = ImageFacts(
        id="sha256:" + "1" * 64,
        repo_tags=("myapp:1.2.3",),
        repo_digests=("registry.example.com/myapp@sha256:" + "2" * 64,),
        size=40 * 1024 * 1024,
        created=NOW - timedelta(days=3),
        architecture="amd64",
        os="linux",
        config=make_config(),
        history=history,
        layers=tuple(f"sha256:{i:064x}" for i in range(sum(1 for h in history if not h.empty_layer))),
        os_release=DEBIAN,
        has_manifest_list=True,
    )
    return replace(base, **overrides)


def file_fact(path: str, **overrides: Any) -> FileFact:
    """A root-owned 0644 regular file in layer 0."""
    base = FileFact(path=path, type=FileType.FILE, mode=0o644, uid=0, gid=0, size=10, layer_index=0)
    return replace(base, **overrides)


def make_filesystem(*files: FileFact, **overrides: Any) -> FilesystemFacts:
    """Filesystem facts over `files`, one layer per distinct layer index."""
    indexes = sorted({f.layer_index for f in files} | {0})
    base = FilesystemFacts(
        files=tuple(files),
        layers=tuple(LayerInfo(index=i, digest=f"sha256:{i:064x}", size=1024) for i in indexes),
        total_size=sum(f.size for f in files),
        wasted_bytes=0,
        os_release=DEBIAN,
    )
    return replace(base, **overrides)


def make_host_config(**overrides: Any) -> HostConfig:
    """A hardened HostConfig: read-only, caps dropped, no-new-privileges, limits, rotated logs."""
    base = HostConfig(
        network_mode="bridge",
        readonly_rootfs=True,
        cap_drop=("ALL",),
        security_opt=("no-new-privileges:true",),
        memory=256 * 1024 * 1024,
        nano_cpus=500_000_000,
        pids_limit=100,
        restart_policy="on-failure",
        restart_max_retries=3,
        log_driver="json-file",
        log_options=(("max-size", "10m"), ("max-file", "3")),
    )
    return replace(base, **overrides)


def make_container_facts(**overrides: Any) -> ContainerFacts:
    """A running, hardened container; override `host_config=make_host_config(...)` etc. to plant flaws."""
    env = overrides.pop("env", ())
    base = ContainerFacts(
        id="c" * 64,
        name="web",
        image_ref="myapp@sha256:" + "2" * 64,
        image_id="sha256:" + "1" * 64,
        created=NOW - timedelta(hours=1),
        state=ContainerState(status="running", running=True, pid=4242, health_status="healthy"),
        host_config=make_host_config(),
        mounts=(),
        user="10001:10001",
        env=tuple(e if isinstance(e, NamedValue) else nv(*e.split("=", 1)) for e in env),
        labels=(),
        entrypoint=("/app/server",),
        cmd=("--port", "8080"),
        healthcheck=None,
        image_user="10001:10001",
        image_healthcheck=GOOD_HEALTHCHECK,
        processes=(),
        tag_drift=False,
    )
    return replace(base, **overrides)


def make_host_facts(**overrides: Any) -> HostFacts:
    """A well-configured engine reached over the local socket."""
    base = HostFacts(
        engine="local",
        endpoint="unix:///var/run/docker.sock",
        server_version="27.3.1",
        api_version="1.47",
        security_options=("name=seccomp,profile=builtin", "name=userns"),
        live_restore=True,
        logging_driver="local",
        content_trust=True,
    )
    return replace(base, **overrides)


def make_ctx(settings: Settings | None = None, now: datetime = NOW, **extra: Any) -> RuleContext:
    """A rule context with default settings and the fixed clock."""
    return RuleContext(settings=settings or Settings(), now=now, extra=dict(extra))


def load_rules() -> None:
    """Import the rule modules that exist so far (peers' modules may land later)."""
    for name in RULE_MODULES:
        try:
            importlib.import_module(f"dockaudit.rules.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"dockaudit.rules.{name}":
                raise


def run_rule(rule_id: str, facts: Any, ctx: RuleContext | None = None) -> list[Finding]:
    """Findings of one registered rule over `facts` (empty when it passes)."""
    load_rules()
    findings, _ = evaluate_rule(RULES[rule_id], facts, ctx or make_ctx())
    return findings


@pytest.fixture
def ctx() -> RuleContext:
    """Default rule context."""
    return make_ctx()
