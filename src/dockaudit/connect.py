"""Opening audit sessions: on the engine the Docker CLI would use (or `-H`/`--context`), on each engine of a
fleet, in a child process that audits for the TUI, and what to tell the user when an engine cannot be reached."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions, ProgressCallback
from dockaudit.errors import DockauditError, EngineError, EngineProblem, UsageError
from dockaudit.run import AuditEnded, BatchAudit, BatchEvent, stream_audit
from dockaudit.targets import ResolvedTarget

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


class ChildConnection(NamedTuple):
    """How a child process opens its own session on the engine the UI is connected to (see connect.py)."""

    options: AuditOptions
    host: str | None
    context: str | None
    timeout: float


def audit_in_child(connection: ChildConnection, targets: Sequence[ResolvedTarget]) -> BatchAudit:
    """Audit in a child process that opens its own session with the same options and endpoint.

    The audit parses JSON and tar streams and runs the rules in Python; in the UI's process those threads
    hold the GIL against the render loop (keys waited seconds). A process of its own keeps the UI answering;
    only finished results (pickled) cross the pipe. A plain subprocess, not multiprocessing: the UI owns the
    terminal (the child's stderr goes nowhere) and it runs threads that fork would copy mid-step.
    """
    import pickle  # here: `scan` imports this module and never pickles

    process = subprocess.Popen(
        [sys.executable, "-c", "from dockaudit.connect import child_main; child_main()"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # the terminal's signals are the UI's to handle
    )
    assert process.stdin is not None and process.stdout is not None
    to_child, from_child = process.stdin, process.stdout
    pickle.dump((connection, tuple(targets)), to_child)
    to_child.flush()
    sending = threading.Lock()

    def tell_child() -> None:
        with sending, contextlib.suppress(OSError, ValueError):
            to_child.write(b"c")
            to_child.flush()

    batch = BatchAudit(targets, on_cancel=tell_child)

    def read() -> None:
        ended = False
        try:
            while not ended:
                event = pickle.load(from_child)  # noqa: S301 - our own child, over its own pipe
                batch.events.put(event)
                ended = isinstance(event, AuditEnded)
        except (EOFError, OSError, pickle.UnpicklingError):
            pass
        finally:
            if not ended:
                batch.events.put(AuditEnded(cancelled=batch.cancelled, error="the audit process ended early"))
            with sending, contextlib.suppress(OSError):
                to_child.close()  # end of input: the child stops whatever is left
            from_child.close()
            process.wait()

    threading.Thread(target=read, name="audit-all-reader", daemon=True).start()
    return batch


def child_main() -> None:
    """The child's side: read the connection and targets, audit, write events; any byte or EOF on stdin cancels."""
    import pickle

    # Events go on a private copy of stdout; fd 1 points at stderr so a stray print cannot break the stream.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    stdin = sys.stdin.buffer
    connection, targets = pickle.load(stdin)  # noqa: S301 - our own parent, over its own pipe
    cancel = threading.Event()

    def listen() -> None:
        with contextlib.suppress(OSError, ValueError):
            stdin.read(1)
        cancel.set()

    threading.Thread(target=listen, name="cancel-listener", daemon=True).start()
    lock = threading.Lock()

    def send(event: BatchEvent) -> None:
        with lock:
            pickle.dump(event, out)
            out.flush()

    try:
        session = open_session(
            connection.options, host=connection.host, context=connection.context, timeout=connection.timeout
        )
    except Exception as exc:
        send(AuditEnded(cancelled=False, error=str(exc) or type(exc).__name__))
        return
    try:
        stream_audit(session, targets, cancel, send)
    except OSError:
        cancel.set()  # the parent is gone
    except Exception as exc:
        with contextlib.suppress(OSError):
            send(AuditEnded(cancelled=cancel.is_set(), error=f"{type(exc).__name__}: {exc}"))
    finally:
        session.close()
        with contextlib.suppress(OSError):
            out.close()
