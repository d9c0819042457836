"""Command-line entry: parses arguments, dispatches to a command module, maps errors to exit codes.

Each command lives in `dockaudit.commands.<name>` with `add_parser(subparsers)` and `run(args) -> int`;
with no command the TUI starts.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from types import FrameType, ModuleType
from typing import TYPE_CHECKING, Any

from dockaudit import __version__
from dockaudit.errors import DockauditError, UsageError
from dockaudit.text import printable

if TYPE_CHECKING:
    from dockaudit.audit_options import AuditOptions

COMMANDS = ("scan", "harden", "rules", "doctor", "tui")


class _Parser(argparse.ArgumentParser):
    """argparse that reports usage errors as one line with exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"dockaudit: error: {message} (see 'dockaudit {self.prog.split()[-1]} --help')\n")
        raise SystemExit(2)


def _command(name: str) -> ModuleType:
    return importlib.import_module(f"dockaudit.commands.{name}")


def add_engine_options(parser: argparse.ArgumentParser, *, repeatable: bool = False) -> None:
    """`-H/--host` and `--context`, shared by every command that talks to an engine."""
    action = "append" if repeatable else "store"
    parser.add_argument("-H", "--host", action=action, metavar="URL", help="engine endpoint (unix://, tcp://, ssh://)")
    parser.add_argument("--context", action=action, metavar="NAME", help="Docker CLI context to use")


def add_scanner_options(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """`--no-trivy`/`--scanners` and the Trivy settings, shared by `scan` and the TUI."""
    only = parser.add_mutually_exclusive_group()
    only.add_argument("--no-trivy", action="store_true", help="run only dockaudit's own checklist")
    only.add_argument("--scanners", metavar="LIST", help="comma list of checklist,vuln,misconfig,secret")
    parser.add_argument("--offline", action="store_true", help="never let Trivy touch the network")
    parser.add_argument("--trivy", metavar="PATH", help="the Trivy binary to use")
    parser.add_argument("--trivy-cache-dir", metavar="DIR", help="Trivy's cache directory (DB, layers)")


def parse_scanners(no_trivy: bool, text: str | None) -> frozenset[str]:
    """The scanners to run from `--no-trivy` / `--scanners`."""
    from dockaudit.audit_options import SCANNER_NAMES

    if no_trivy:
        return frozenset({"checklist"})
    if text is None:
        return frozenset(SCANNER_NAMES)
    names = {n.strip().lower() for n in text.split(",") if n.strip()}
    unknown = sorted(names - set(SCANNER_NAMES))
    if unknown or not names:
        raise UsageError(
            f"--scanners: unknown scanner {', '.join(unknown) or '(none given)'}; choose from {','.join(SCANNER_NAMES)}"
        )
    return frozenset(names)


def audit_options(args: argparse.Namespace, **extra: Any) -> AuditOptions:
    """The audit options of the shared scanner flags and the configuration file, as `scan` and the TUI use them;
    `extra` sets the options only `scan` has (concurrency, cache use...)."""
    from pathlib import Path

    from dockaudit.audit_options import AuditOptions
    from dockaudit.config import load_settings
    from dockaudit.scanners.trivy_options import TrivyOptions

    config_file = Path(args.config) if args.config else None
    trivy = TrivyOptions(
        cache_dir=Path(args.trivy_cache_dir) if args.trivy_cache_dir else None,
        offline=args.offline,
        **extra.pop("trivy", {}),
    )
    return AuditOptions(
        settings=load_settings(Path.cwd(), config_file),
        scanners=parse_scanners(args.no_trivy, args.scanners),
        trivy=trivy,
        trivy_path=args.trivy,
        config_dir=Path.cwd(),
        config_file=config_file,
        **extra,
    )


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The parser; each command module adds its own subparser. `only` registers that command alone, so a run
    imports just the module it needs (`dockaudit scan` never loads the harden or TUI code)."""
    parser = _Parser(prog="dockaudit", description="Audit Docker images and containers for production readiness.")
    parser.add_argument("--version", action="version", version=f"dockaudit {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    for name in COMMANDS if only is None else (only,):
        _command(name).add_parser(sub)
    return parser


def _parse_scan(parser: argparse.ArgumentParser, rest: Sequence[str]) -> argparse.Namespace:
    """`scan` options may come before or after its targets: parse its subparser intermixed.

    (argparse cannot parse the top-level parser intermixed: its subcommand positional swallows the rest.)
    """
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            args: argparse.Namespace = action.choices["scan"].parse_intermixed_args(list(rest))
            args.command = "scan"
            return args
    raise AssertionError("the scan command is not registered")


def main(argv: Sequence[str] | None = None) -> int:
    """Run dockaudit; returns the process exit code."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if not args_list or (args_list[0].startswith("-") and args_list[0] not in ("-h", "--help", "--version")):
        args_list = ["tui", *args_list]
    parser = build_parser(args_list[0] if args_list[0] in COMMANDS else None)
    args = _parse_scan(parser, args_list[1:]) if args_list[0] == "scan" else parser.parse_args(args_list)
    if args.command != "scan":
        start_up_done()  # `scan` says when itself: its engine, targets and rules load inside `run`
    try:
        # The TUI leaves signals to Textual; the headless commands clean up on SIGTERM as on Ctrl-C.
        with _terminate_as_interrupt(args.command != "tui"):
            code: int = _command(args.command).run(args)
    except DockauditError as exc:
        sys.stderr.write(f"dockaudit: {printable(str(exc))}\n")
        return exc.exit_code
    except Terminated as exc:
        sys.stderr.write(f"dockaudit: terminated by {signal.Signals(exc.signum).name}\n")
        return 128 + exc.signum
    except KeyboardInterrupt:
        sys.stderr.write("dockaudit: interrupted\n")
        return 130
    return code


_collection_paused = False


def console() -> int:
    """The `dockaudit` program (and `python -m dockaudit`): `main` with no garbage collection during start-up, then
    an exit that skips the interpreter's last collection.

    Start-up makes tens of thousands of objects that live as long as the process (modules, classes, functions) and
    next to no garbage, so collecting while it runs only walks them again and again (~20 ms of a checklist scan);
    `start_up_done` turns collection back on. The run's objects are freed at exit anyway; frozen, the final
    collection does not walk them first (over 10 ms). `atexit` handlers, flushes and every `finally` still run.
    """
    global _collection_paused
    gc.disable()
    _collection_paused = True
    code = main()
    gc.freeze()
    return code


def start_up_done() -> None:
    """The code the command runs is loaded: garbage is collected again, never walking what start-up made (it is
    frozen). Does nothing unless `console` paused collection (`main` called in-process leaves it alone)."""
    global _collection_paused
    if _collection_paused:
        _collection_paused = False
        gc.freeze()
        gc.enable()


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: unwind like Ctrl-C, so Trivy's process group and temp files are cleaned up."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextmanager
def _terminate_as_interrupt(enabled: bool) -> Iterator[None]:
    """Turn SIGTERM/SIGHUP into `Terminated` (a KeyboardInterrupt) while a command runs; restore the handlers after.

    Python's default for SIGTERM exits at once, skipping every `finally`: a CI job cancelled that way left a
    running Trivy and the private directory holding the exported image behind.
    """
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _raise_terminated) for signum in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
