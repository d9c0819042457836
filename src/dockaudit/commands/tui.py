"""`dockaudit` / `dockaudit tui`: the terminal UI on the resolved engine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from dockaudit.cli import add_engine_options, add_scanner_options
from dockaudit.errors import UsageError

NOT_A_TTY_HINT = "dockaudit: the terminal UI needs a terminal; for scripts and CI use 'dockaudit scan' (see --help)\n"


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser("tui", help="the terminal UI (the default command)")
    parser.add_argument(
        "compose",
        nargs="*",
        metavar="COMPOSE_FILE",
        help="Compose files or project directories to list in the Compose tab, each as a project of its own",
    )
    add_engine_options(parser)
    parser.add_argument("--config", metavar="FILE", help="settings file (default: .dockaudit.toml upwards from here)")
    parser.add_argument("--theme", choices=("dark", "light"), help="colour theme (default: dark; T toggles)")
    add_scanner_options(parser)
    parser.add_argument("--demo", action="store_true", help="browse fixed demo data instead of an engine")


def run(args: argparse.Namespace) -> int:
    """Start the TUI, or explain why not (a COMPOSE_FILE that is none, or stdout is not a terminal: exit 2)."""
    # Bad paths are usage errors before anything else (one line, exit 2), terminal or not.
    compose_paths = [_compose_path(path) for path in args.compose]
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        sys.stderr.write(NOT_A_TTY_HINT)
        return 2
    if args.host and args.context:
        raise UsageError("conflicting options: either specify -H/--host or --context, not both")
    from dockaudit.cli import audit_options
    from dockaudit.tui.backend import Connector, EngineChoice, EngineConnector
    from dockaudit.tui.early import EarlyConnection

    options = audit_options(args)
    choice = EngineChoice(host=args.host, context=args.context)
    connector: Connector
    if args.demo:
        from dockaudit.tui.demo import DemoConnector

        connector = DemoConnector()
    else:
        connector = EngineConnector(options)
    # The engine connects in a worker thread, where signal handlers cannot be set: SIGTERM/SIGHUP must
    # still close an ssh tunnel.
    from dockaudit.engine.client import install_signal_handlers

    install_signal_handlers()
    # The engine answers while Textual loads (only here, so `dockaudit scan` never pays for it).
    early = EarlyConnection.start(connector, choice)
    from dockaudit.tui.app import make_app

    make_app(connector, choice, theme=args.theme, compose_paths=compose_paths, early=early).run()
    return 0


def _compose_path(text: str) -> str:
    """A COMPOSE_FILE argument, checked before the UI starts: a Compose file, or a directory holding one."""
    from pathlib import Path

    from dockaudit.parse.compose_names import COMPOSE_FILE_NAMES
    from dockaudit.targets import is_compose_file

    path = Path(text)
    if path.is_file() and is_compose_file(path):
        return text
    if path.is_dir() and any((path / name).is_file() for name in COMPOSE_FILE_NAMES):
        return text
    if path.exists():
        raise UsageError(f"{text}: not a Compose file (compose.yaml, docker-compose.yml...) or a directory holding one")
    raise UsageError(f"{text}: no such file or directory")
