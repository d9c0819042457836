"""`dockaudit doctor`: which engine would be used and why, whether it answers, the terminal, and Trivy.

Exit 0 when the engine is usable, 3 when it is not (the one-line reason also goes to stderr).
"""

from __future__ import annotations

import argparse
import importlib
import json
import locale
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from dockaudit import __version__
from dockaudit.cli import add_engine_options
from dockaudit.engine.client import DEFAULT_TIMEOUT, connect, list_contexts, resolve_endpoint
from dockaudit.errors import DockauditError, EngineError, UsageError


@dataclass(frozen=True)
class TerminalInfo:
    """What the terminal offers, as far as the environment tells."""

    term: str
    colorterm: str
    colors: str
    """`none`, `16`, `256` or `truecolor`."""
    encoding: str
    utf8: bool
    stdout_tty: bool
    stdin_tty: bool
    warnings: tuple[str, ...] = ()


@dataclass
class DoctorReport:
    """Everything doctor found; `usable` decides the exit code."""

    endpoint: dict[str, Any] = field(default_factory=dict)
    engine: dict[str, Any] | None = None
    error: str | None = None
    contexts: list[dict[str, Any]] = field(default_factory=list)
    terminal: TerminalInfo | None = None
    trivy: dict[str, Any] = field(default_factory=dict)
    compose: dict[str, Any] = field(default_factory=dict)

    @property
    def usable(self) -> bool:
        """Whether the engine answered."""
        return self.engine is not None and self.error is None


def terminal_info(env: Mapping[str, str] | None = None) -> TerminalInfo:
    """TERM, colour depth, locale encoding and TTY-ness, with hints for the usual trouble."""
    environ: Mapping[str, str] = os.environ if env is None else env
    term = environ.get("TERM", "")
    colorterm = environ.get("COLORTERM", "")
    if environ.get("NO_COLOR") or term in ("", "dumb"):
        colors = "none"
    elif colorterm.lower() in ("truecolor", "24bit"):
        colors = "truecolor"
    elif "256" in term:
        colors = "256"
    else:
        colors = "16"
    encoding = locale.getpreferredencoding(False)
    utf8 = encoding.lower().replace("-", "") == "utf8"
    warnings: list[str] = []
    if not utf8:
        lang = environ.get("LC_ALL") or environ.get("LC_CTYPE") or environ.get("LANG") or "unset"
        warnings.append(f"the locale is not UTF-8 (LANG/LC_ALL={lang}): lines may draw as ASCII; try LANG=C.UTF-8")
    if not term:
        warnings.append("TERM is unset: the TUI needs a terminal; over ssh use 'ssh -t'")
    stdout_tty, stdin_tty = sys.stdout.isatty(), sys.stdin.isatty()
    if not stdout_tty:
        warnings.append("stdout is not a terminal: use 'dockaudit scan' for non-interactive output")
    return TerminalInfo(term, colorterm, colors, encoding, utf8, stdout_tty, stdin_tty, tuple(warnings))


def trivy_status(explicit: str | None) -> dict[str, Any]:
    """Trivy's version and DB state when the scanner integration is present; degrades to a note otherwise."""
    try:
        trivy = importlib.import_module("dockaudit.scanners.trivy")
        binary = trivy.find_trivy(explicit)
    except ImportError:
        return {"status": "unavailable", "message": "this build has no Trivy integration"}
    except DockauditError as exc:
        return {"status": "missing", "message": str(exc)}
    except Exception as exc:
        return {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
    result: dict[str, Any] = {"status": "ok", "version": binary.version, "path": binary.path}
    try:
        db = trivy.db_status(binary, trivy.TrivyOptions())
    except Exception as exc:
        result["db"] = {"status": "failed", "message": f"{type(exc).__name__}: {exc}"}
        return result
    result["db"] = {
        "status": db.status,
        "updated_at": db.updated_at.isoformat() if db.updated_at else None,
        "schema": db.schema,
        "message": db.message,
    }
    return result


def compose_info() -> dict[str, Any]:
    """Which Docker Compose v2 reads Compose files (`scan compose.yaml`), or why none can."""
    from dockaudit.parse.compose_binary import ComposeUnavailableError, find_compose

    try:
        binary = find_compose()
    except ComposeUnavailableError as exc:
        return {"status": "missing", "message": str(exc)}
    return {"status": "ok", "version": binary.version, "origin": binary.origin, "command": list(binary.argv)}


def diagnose(
    host: str | None, context: str | None, *, timeout: float, trivy: str | None, check_trivy: bool
) -> DoctorReport:
    """Resolve and connect to the engine and gather the rest; never raises for an unusable engine."""
    report = DoctorReport(terminal=terminal_info())
    try:
        report.contexts = [{"name": name, "url": ep.url, "tls": ep.tls is not None} for name, ep in list_contexts()]
    except (DockauditError, OSError) as exc:
        report.contexts = [{"name": "?", "error": str(exc)}]
    if check_trivy:
        report.trivy = trivy_status(trivy)
    else:
        report.trivy = {"status": "skipped"}
    report.compose = compose_info()
    try:
        endpoint = resolve_endpoint(host=host, context=context)
    except UsageError:
        raise
    except EngineError as exc:
        report.error = str(exc)
        return report
    report.endpoint = {
        "url": endpoint.url,
        "source": endpoint.source,
        "detail": endpoint.detail,
        "context": endpoint.context,
        "tls": None
        if endpoint.tls is None
        else {"verify": endpoint.tls.verify, "origin": endpoint.tls.origin, "ca": endpoint.tls.ca_cert},
        "notes": list(endpoint.notes),
    }
    try:
        with connect(endpoint, timeout=timeout) as engine:
            info = engine.info
            report.engine = {
                "server_version": info.server_version,
                "api_version": info.api_version,
                "negotiated_api_version": engine.client.api.api_version,
                "os": engine.host_info.get("OperatingSystem"),
                "rootless": info.rootless,
                "podman": info.podman,
                "ssh_tunnel": engine.tunnel is not None,
                "ssh_tunnel_mode": engine.tunnel.mode if engine.tunnel is not None else None,
                "trivy_docker_host": engine.trivy_docker_host,
            }
    except EngineError as exc:
        report.error = str(exc)
    return report


def eol_data_line() -> str:
    """Which end-of-life snapshot DA611 and DA508 read, and how old its data is."""
    from datetime import UTC, datetime

    from dockaudit.rules.eol import snapshot_summary

    try:
        return snapshot_summary(datetime.now(UTC).date())
    except (OSError, ValueError) as exc:
        return f"unreadable: {exc}"


def _as_json(report: DoctorReport) -> str:
    term = report.terminal
    data = {
        "dockaudit": __version__,
        "usable": report.usable,
        "endpoint": report.endpoint or None,
        "engine": report.engine,
        "error": report.error,
        "contexts": report.contexts,
        "terminal": None if term is None else {
            "term": term.term,
            "colorterm": term.colorterm,
            "colors": term.colors,
            "encoding": term.encoding,
            "utf8": term.utf8,
            "stdout_tty": term.stdout_tty,
            "stdin_tty": term.stdin_tty,
            "warnings": list(term.warnings),
        },
        "trivy": report.trivy,
        "compose": report.compose,
        "eol_data": eol_data_line(),
    }  # fmt: skip
    return json.dumps(data, indent=2)


def _as_text(report: DoctorReport) -> str:
    lines = [f"dockaudit {__version__}"]
    ep = report.endpoint
    if ep:
        lines.append(f"engine     {ep['url']}")
        how = {"flag": "command-line flag", "env": "environment", "context": "Docker CLI config", "default": "default"}
        lines.append(f"  chosen by {how.get(ep['source'], ep['source'])}: {ep['detail']}")
        if ep["context"]:
            lines.append(f"  context   {ep['context']}")
        if ep["tls"]:
            verify = "verified" if ep["tls"]["verify"] else "NOT verified"
            lines.append(f"  TLS       server certificate {verify} ({ep['tls']['origin']})")
        lines.extend(f"  note      {note}" for note in ep["notes"])
    if report.engine is not None:
        eng = report.engine
        kind = "Podman" if eng["podman"] else "Docker"
        mode = "rootless" if eng["rootless"] else "rootful"
        via = f", through an ssh tunnel in {eng['ssh_tunnel_mode']} mode" if eng["ssh_tunnel"] else ""
        lines.append(f"  server    {kind} {eng['server_version']} ({mode}{via}), API {eng['api_version']}")
        lines.append("  status    ok")
    if report.error:
        lines.append(f"  status    FAILED: {report.error}")
    if report.contexts:
        current = ep.get("context") or "default"
        names = [c["name"] + ("*" if c["name"] == current else "") for c in report.contexts]
        lines.append(f"contexts   {', '.join(names)}")
    term = report.terminal
    if term is not None:
        lines.append(
            f"terminal   TERM={term.term or '(unset)'} colours={term.colors} encoding={term.encoding} "
            f"stdout={'tty' if term.stdout_tty else 'not a tty'}"
        )
        lines.extend(f"  warning   {w}" for w in term.warnings)
    trivy = report.trivy
    if trivy.get("status") == "ok":
        db = trivy.get("db", {})
        when = f", updated {db['updated_at']}" if db.get("updated_at") else ""
        message = f" ({db['message']})" if db.get("message") else ""
        lines.append(f"trivy      {trivy['version']} at {trivy['path']}; DB {db.get('status', '?')}{when}{message}")
    else:
        lines.append(f"trivy      {trivy.get('status')}: {trivy.get('message', '')}".rstrip(": "))
    compose = report.compose
    if compose.get("status") == "ok":
        lines.append(
            f"compose    Docker Compose {compose['version']} ({compose['origin']}: {' '.join(compose['command'])})"
        )
    elif compose:
        lines.append(f"compose    {compose.get('status')}: {compose.get('message', '')}")
    lines.append(f"eol data   {eol_data_line()}")
    return "\n".join(lines)


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser("doctor", help="show which engine would be used and whether it answers")
    add_engine_options(parser)
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS", help="engine connection timeout"
    )
    parser.add_argument("--trivy", metavar="PATH", help="the Trivy binary to check")
    parser.add_argument("--no-trivy", action="store_true", help="do not look for Trivy")


def run(args: argparse.Namespace) -> int:
    """Print the diagnosis; exit 0 when the engine is usable, 3 when not."""
    if args.timeout <= 0:
        raise UsageError("--timeout must be positive")
    report = diagnose(args.host, args.context, timeout=args.timeout, trivy=args.trivy, check_trivy=not args.no_trivy)
    sys.stdout.write((_as_json(report) if args.json else _as_text(report)) + "\n")
    if report.usable:
        return 0
    sys.stderr.write(f"dockaudit: {report.error}\n")
    return EngineError.exit_code
