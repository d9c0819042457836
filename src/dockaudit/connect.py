"""Opening audit sessions: on the engine the Docker CLI would use (or `-H`/`--context`), on each engine of a
fleet, and what to tell the user when an engine cannot be reached."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from dockaudit.audit import AuditOptions, AuditSession, ProgressCallback
from dockaudit.errors import DockauditError, EngineError, EngineProblem, UsageError

if TYPE_CHECKING:
    from dockaudit.engine.fleet import EngineFailure, EngineSpec


def open_session(
    options: AuditOptions, *, host: str | None = None, context: str | None = None, timeout: float = 10.0
) -> AuditSession:
    """Connect to the engine the Docker CLI would use (or `-H`/`--context`), exactly as `dockaudit scan` does for
    that engine (same id, context and options), so a target's report is the same from both; raises `EngineError`
    with a one-line reason, or `UsageError` for conflicting flags."""
    from dockaudit.engine.fleet import engine_specs

    if host and context:
        raise UsageError("conflicting options: either specify -H/--host or --context, not both")
    specs = engine_specs((host,) if host else (), (context,) if context else ())
    sessions, failures = connect_sessions(specs, options, timeout=timeout)
    if failures:
        raise EngineError(failures[0].message)
    (session,) = sessions.values()
    return session


def connect_sessions(
    specs: Sequence[EngineSpec],
    options: AuditOptions,
    *,
    on_progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    timeout: float = 10.0,
) -> tuple[dict[str, AuditSession], list[EngineFailure]]:
    """A session per reachable engine of a fleet (connected at once); unreachable engines are values."""
    from dockaudit.engine.fleet import connect_all
    from dockaudit.engine.source import EngineSource

    engines, failures = connect_all(specs, timeout=timeout, concurrency=options.concurrency)
    sessions = {
        eid: AuditSession(EngineSource(engine), options, on_progress=on_progress, cancel=cancel)
        for eid, engine in engines.items()
    }
    return sessions, failures


def engine_contexts() -> list[tuple[str, str]]:
    """Docker CLI contexts as (name, endpoint URL), for picking another engine."""
    from dockaudit.engine.client import list_contexts

    return [(name, endpoint.url) for name, endpoint in list_contexts()]


def connection_problem(host: str | None, context: str | None, error: Exception) -> EngineProblem:
    """What was tried when `open_session` failed, and the fixes that apply to that kind of endpoint."""
    import os

    from dockaudit.engine.client import alternative_sockets, resolve_endpoint

    tried: list[str] = []
    hints: list[str] = []
    try:
        endpoint = resolve_endpoint(host, context)
    except DockauditError:
        endpoint = None
    if endpoint is not None:
        tried.append(endpoint.describe())
        if endpoint.scheme == "unix":
            hints.append("Is the engine running? sudo systemctl start docker (or start Docker Desktop / Podman)")
            hints.append("Permission denied? add yourself to the docker group, or use rootless Docker")
            others = [s for s in alternative_sockets() if Path(s).exists() and f"unix://{s}" != endpoint.url]
            hints.extend(f"Another engine socket exists: dockaudit -H unix://{s}" for s in others)
        elif endpoint.scheme == "ssh":
            hints.append(f"Check ssh works on its own: ssh {endpoint.url.removeprefix('ssh://')} docker version")
            hints.append("Keys and jump hosts come from ~/.ssh/config and your ssh agent")
        else:
            hints.append("For tcp:// endpoints check the port, the firewall and the TLS files (DOCKER_CERT_PATH)")
    else:
        hints.append("Check the -H/--host URL or the --context name (docker context ls lists them)")
    if os.environ.get("DOCKER_HOST"):
        hints.append(f"DOCKER_HOST is set to {os.environ['DOCKER_HOST']}: unset it to use the current context")
    hints.append("Pick another engine: E, or dockaudit -H URL / --context NAME (docker context ls)")
    return EngineProblem(str(error), tuple(tried), tuple(hints))
