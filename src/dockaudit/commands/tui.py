"""`dockaudit` / `dockaudit tui`: the terminal UI on the resolved engine."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from dockaudit.cli import add_engine_options, add_scanner_options, parse_scanners
from dockaudit.errors import UsageError

NOT_A_TTY_HINT = "dockaudit: the terminal UI needs a terminal; for scripts and CI use 'dockaudit scan' (see --help)\n"


def add_parser(sub: Any) -> None:
    """Register the subcommand."""
    parser = sub.add_parser("tui", help="the terminal UI (the default command)")
    add_engine_options(parser)
    parser.add_argument("--config", metavar="FILE", help="settings file (default: .dockaudit.toml upwards from here)")
    parser.add_argument("--theme", choices=("dark", "light"), help="colour theme (default: dark; T toggles)")
    add_scanner_options(parser)
    parser.add_argument("--demo", action="store_true", help="browse fixed demo data instead of an engine")


def run(args: argparse.Namespace) -> int:
    """Start the TUI, or explain why not (stdout is not a terminal: exit 2)."""
    if not (sys.stdout.isatty() and sys.stdin.isatty()):
        sys.stderr.write(NOT_A_TTY_HINT)
        return 2
    if args.host and args.context:
        raise UsageError("conflicting options: either specify -H/--host or --context, not both")
    scanners = parse_scanners(args.no_trivy, args.scanners)
    # Textual and the engine modules load only here, so `dockaudit scan` never pays for them.
    from dockaudit.scanners.trivy import TrivyOptions
    from dockaudit.tui.app import make_app
    from dockaudit.tui.backend import EngineChoice
    from dockaudit.tui.engine_backend import EngineBackendOptions, engine_backend_factory, load_settings_for

    settings = load_settings_for(Path.cwd(), args.config)
    choice = EngineChoice(host=args.host, context=args.context, config=args.config)
    if args.demo:
        from dockaudit.tui.demo import DemoBackend

        demo = DemoBackend(settings=settings)
        app = make_app(settings, lambda _choice: demo, choice, theme=args.theme)
    else:
        trivy = TrivyOptions(
            offline=args.offline,
            cache_dir=Path(args.trivy_cache_dir) if args.trivy_cache_dir else None,
        )
        options = EngineBackendOptions(trivy_path=args.trivy, trivy=trivy, scanners=scanners)
        app = make_app(settings, engine_backend_factory(settings, options), choice, theme=args.theme)
    # The engine connects in a worker thread, where signal handlers cannot be set: SIGTERM/SIGHUP must
    # still close an ssh tunnel.
    from dockaudit.engine.client import install_signal_handlers

    install_signal_handlers()
    app.run()
    return 0
