"""`dockaudit scan`: the headless audit for CI and fleets; stdout carries only the report.

Exit codes (see `dockaudit.gate`): 0 clean, 1 findings at or above `--fail-on`, 2 usage or config error,
3 engine, scanner or DB failure; the highest wins and its meaning is printed on stderr.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple, TextIO

from dockaudit.errors import DockauditError, UsageError
from dockaudit.gate import FAIL_ON_CHOICES, GRADES, verdict
from dockaudit.model import Report, ScanError
from dockaudit.report import FORMATS
from dockaudit.text import printable

if TYPE_CHECKING:
    from rich.progress import Progress

    from dockaudit.audit import AuditSession
    from dockaudit.audit_options import AuditOptions, ProgressEvent
    from dockaudit.engine.fleet import EngineFailure
    from dockaudit.engine.source import EngineStart
    from dockaudit.targets import Resolution, Selection, TargetSpec

IMAGE_SCOPES = ("image", "history", "filesystem")
"""The rule scopes of an image's audit, which every run on an engine makes (a container's image is audited too)."""

EXTENSIONS = {
    ".json": "json",
    ".sarif": "sarif",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
    ".xml": "junit",
    ".txt": "table",
}


class Output(NamedTuple):
    """One `-f FORMAT [-o PATH]` pair; `path` None means stdout."""

    format: str
    path: Path | None


def add_parser(sub: Any) -> None:
    """Register `scan` and its options (they may come before or after the targets)."""
    from dockaudit.cli import add_engine_options, add_scanner_options

    p = sub.add_parser(
        "scan",
        help="audit images, containers, Dockerfiles, Compose files or the host without the UI (for CI)",
        description="Audit targets headlessly. Exit 0 clean, 1 findings at or above --fail-on, "
        "2 usage or config error, 3 engine, scanner or DB failure.",
    )
    p.add_argument(
        "targets",
        nargs="*",
        metavar="TARGET",
        help="image ref or ID, container name or ID, image tarball, Dockerfile, Compose file (*.yaml, *.yml: one "
        "target per service) or project directory (its Dockerfile and its Compose file); prefix with container:, "
        "image: or path: to force one",
    )
    sel = p.add_argument_group("selection")
    sel.add_argument(
        "--paths",
        action="store_true",
        help="every TARGET is a file or directory, as if prefixed with path: (no engine is contacted; for hooks)",
    )
    sel.add_argument("--all-images", action="store_true", help="every image of each engine")
    sel.add_argument("--all-containers", action="store_true", help="every container of each engine")
    sel.add_argument("--running", action="store_true", help="only running containers (implies --all-containers)")
    sel.add_argument("--host-checks", action="store_true", help="audit the daemon and client settings (DA5xx)")
    sel.add_argument("--include", action="append", default=[], metavar="GLOB", help="keep only matching targets")
    sel.add_argument("--exclude", action="append", default=[], metavar="GLOB", help="drop matching targets")
    sel.add_argument(
        "--target", metavar="STAGE", help="the Dockerfile stage the image runs from (as docker build --target)"
    )
    compose = p.add_argument_group("Compose")
    compose.add_argument(
        "--compose-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a Compose file; repeated, the files are merged in order into one project, as docker compose -f does",
    )
    compose.add_argument(
        "--profile",
        action="append",
        default=[],
        metavar="NAME",
        help="audit only the services of these Compose profiles (repeatable; default: every profile)",
    )
    compose.add_argument(
        "--env-file", action="append", default=[], metavar="FILE", help="a Compose env file to interpolate from"
    )
    compose.add_argument(
        "--with-images",
        action="store_true",
        help="also audit each service's image (when an engine has it) and its build: Dockerfile, for that service",
    )
    scanners = p.add_argument_group("scanners")
    add_scanner_options(scanners)
    scanners.add_argument("--db-repository", metavar="REF", help="a mirror of Trivy's vulnerability DB")
    scanners.add_argument("--no-cache", action="store_true", help="rescan instead of reusing cached Trivy results")
    scanners.add_argument("--timeout", type=float, metavar="SECONDS", help="Trivy's time limit per image")
    out = p.add_argument_group("output")
    out.add_argument(
        "-f",
        "--format",
        action="append",
        default=[],
        choices=FORMATS,
        help="report format (repeatable, paired in order with -o); default table",
    )
    out.add_argument(
        "-o",
        "--output",
        action="append",
        default=[],
        metavar="FILE",
        help="write the report to FILE (mode 0600) instead of stdout; '-' is stdout",
    )
    out.add_argument("--quiet", "-q", action="store_true", help="no progress and no notes on stderr")
    gate = p.add_argument_group("gate")
    gate.add_argument(
        "--fail-on",
        choices=FAIL_ON_CHOICES,
        default="high",
        help="exit 1 when a finding is at or above this severity (inclusive; default high)",
    )
    gate.add_argument(
        "--min-grade",
        type=str.upper,
        choices=GRADES,
        metavar="A..F",
        help="exit 1 when a target's grade is worse than this",
    )
    gate.add_argument("--config", metavar="FILE", help="settings file (default: .dockaudit.toml upwards from here)")
    gate.add_argument("--concurrency", type=int, default=4, metavar="N", help="targets audited at once (default 4)")
    engines = p.add_argument_group("engines")
    add_engine_options(engines, repeatable=True)
    engines.add_argument("--all-contexts", action="store_true", help="audit on every Docker CLI context")


def plan_outputs(formats: Sequence[str], outputs: Sequence[str]) -> list[Output]:
    """Pair `-f` and `-o` in order; an unpaired `-o` takes its format from the extension; one report on stdout."""
    plan: list[Output] = []
    for i in range(max(len(formats), len(outputs))):
        raw = outputs[i] if i < len(outputs) else None
        path = None if raw in (None, "-") else Path(raw)
        if i < len(formats):
            fmt = formats[i]
        else:
            assert raw is not None
            fmt = EXTENSIONS.get(Path(raw).suffix.lower(), "")
            if not fmt:
                raise UsageError(f"-o {raw}: cannot tell the format from the extension; add -f FORMAT before it")
        plan.append(Output(fmt, path))
    if not plan:
        plan.append(Output("table", None))
    if sum(1 for o in plan if o.path is None) > 1:
        raise UsageError("only one report can go to stdout; give -o FILE to the others")
    return plan


def _color(stream: TextIO) -> bool:
    # NO_COLOR (any value) and dumb terminals get plain text; so does anything that is not a terminal.
    if "NO_COLOR" in os.environ or os.environ.get("TERM") == "dumb":
        return False
    return stream.isatty()


def _write_stdout(stdout: TextIO, text: str) -> None:
    """Reports are UTF-8 on stdout as in files, whatever the locale; a closed pipe (`| head`) is not an error."""
    try:
        buffer = getattr(stdout, "buffer", None)
        if buffer is not None:
            stdout.flush()
            buffer.write(text.encode("utf-8"))
            buffer.flush()
        else:
            stdout.write(text)
            stdout.flush()
    except BrokenPipeError:
        # Point stdout at /dev/null so the interpreter's final flush does not raise again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stdout.fileno())
        os.close(devnull)


def write_outputs(report: Report, plan: Sequence[Output], stdout: TextIO) -> list[str]:
    """Render and write every output; a failed write is reported and the others are still written."""
    from dockaudit.report import render
    from dockaudit.report.write import write_atomic

    problems: list[str] = []
    for output in plan:
        if output.path is None:
            color = output.format == "table" and _color(stdout)
            width = shutil.get_terminal_size((100, 24)).columns if stdout.isatty() else 100
            _write_stdout(stdout, render(report, output.format, color=color, width=width))
            continue
        try:
            write_atomic(output.path, render(report, output.format))
        except DockauditError as exc:
            problems.append(str(exc))
    return problems


class ProgressView:
    """Turns audit progress events into one rich progress bar: a tick per finished target, the latest step."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.task = progress.add_task("resolving targets", total=None)
        self._lock = threading.Lock()
        self._done: set[tuple[str | None, str]] = set()

    def start(self, total: int) -> None:
        """Targets are resolved: show how many will be audited."""
        self.progress.update(self.task, total=total, description="auditing")

    def __call__(self, event: ProgressEvent) -> None:
        from rich.markup import escape

        with self._lock:
            key = (event.engine, event.target)
            if event.stage == "done" and key not in self._done:
                self._done.add(key)
                self.progress.advance(self.task)
            # The description is rich markup: a target named `[link=...]` must stay text.
            line = printable(f"{event.target}: {event.message}", multiline=False)[:70]
            self.progress.update(self.task, description=escape(line))


@contextmanager
def _progress(enabled: bool, stream: TextIO | None = None) -> Iterator[ProgressView | None]:
    """A rich progress display on stderr (a terminal, not --quiet); None when disabled."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(file=stream or sys.stderr, no_color="NO_COLOR" in os.environ)
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        yield ProgressView(progress)


def _options(args: argparse.Namespace) -> AuditOptions:
    """The audit options the flags and the configuration file ask for."""
    from dockaudit.cli import audit_options

    if args.concurrency < 1:
        raise UsageError("--concurrency must be at least 1")
    if args.timeout is not None and args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    trivy: dict[str, Any] = {"db_repository": args.db_repository}
    if args.timeout is not None:
        trivy["timeout"] = args.timeout
    return audit_options(
        args,
        trivy=trivy,
        use_cache=not args.no_cache,
        concurrency=args.concurrency,
        dockerfile_target=args.target,
    )


def _only_files(specs: Sequence[TargetSpec], selection: Selection) -> bool:
    """Whether every target is a file, so an implicit default engine that is down does not matter."""
    if selection.all_images or selection.all_containers or selection.running or selection.host_checks:
        return False
    if selection.with_images:
        return False
    return all(spec.kind in ("auto", "path") and Path(spec.value).exists() for spec in specs)


def _note(quiet: bool, text: str) -> None:
    if not quiet:
        sys.stderr.write(f"dockaudit: {printable(text)}\n")


@contextmanager
def _log_warnings(quiet: bool) -> Iterator[None]:
    """dockaudit's logged warnings (a rebuilt or locked result cache...) as `dockaudit: warning:` lines on stderr."""
    import logging

    logger = logging.getLogger("dockaudit")
    handler: logging.Handler = logging.NullHandler() if quiet else logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("dockaudit: warning: %(message)s"))
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def run(args: argparse.Namespace) -> int:
    """Resolve, audit, write every report, and return the exit code."""
    with _log_warnings(args.quiet):
        return _run(args)


def _run(args: argparse.Namespace) -> int:
    from dockaudit.targets import ComposeOptions, Selection, needs_engine, parse_target, resolve

    plan = plan_outputs(args.format, args.output)
    options = _options(args)
    settings = options.settings
    specs = [parse_target(f"path:{t}" if args.paths else t) for t in args.targets]
    selection = Selection(
        all_images=args.all_images,
        all_containers=args.all_containers,
        running=args.running,
        host_checks=args.host_checks,
        include=tuple(args.include),
        exclude=tuple(args.exclude),
        with_images=args.with_images,
    )
    compose = ComposeOptions(
        files=tuple(args.compose_file),
        profiles=tuple(args.profile),
        env_files=tuple(args.env_file),
        allow_secret_names=tuple(settings.allow_secret_names),
    )
    if (
        not specs
        and not compose.files
        and not (selection.all_images or selection.all_containers or selection.running or selection.host_checks)
    ):
        raise UsageError(
            "nothing to scan: give a TARGET, --compose-file, --all-images, --all-containers, --running or --host-checks"
        )
    quiet: bool = args.quiet
    cancel = threading.Event()
    sessions: dict[str, AuditSession] = {}
    failures: list[EngineFailure] = []
    try:
        with _progress(sys.stderr.isatty() and not quiet) as on_progress:
            start: EngineStart[Resolution] | None = None
            if needs_engine(specs, selection):
                # Only runs that need an engine load the Docker SDK.
                from dockaudit.engine.fleet import engine_specs
                from dockaudit.engine.source import EngineStart

                wanted = engine_specs(args.host or (), args.context or (), all_contexts=args.all_contexts)
                start = EngineStart(
                    wanted,
                    options.concurrency,
                    lambda sources, unreachable: resolve(
                        specs, sources, selection, unreachable=unreachable, compose=compose
                    ),
                )
            # The audit's own code loads while the engines answer the connection and the targets' lookups.
            from dockaudit.audit import AuditSession
            from dockaudit.cli import start_up_done
            from dockaudit.config import ignore_problems
            from dockaudit.gate import failures as failure_lines
            from dockaudit.gate import removed_targets
            from dockaudit.run import run_audit

            if start is not None:
                from dockaudit.report import load_renderers
                from dockaudit.rules import load_for

                load_for(IMAGE_SCOPES)  # every engine run audits images (a container's too)
                load_renderers({output.format for output in plan})
                sources, failures, resolution = start.result()
                sessions = {
                    eid: AuditSession(source, options, on_progress=on_progress, cancel=cancel)
                    for eid, source in sources.items()
                }
            else:
                resolution = resolve(specs, {}, selection, compose=compose)
            only_files = _only_files(specs, selection)
            counted = [f for f in failures if f.spec.explicit or not only_files]
            for failure in failures:
                if failure not in counted:
                    _note(quiet, f"note: {failure.line} (not needed for these targets)")
            errors = [ScanError("engine", f.line) for f in counted]
            errors += [ScanError("engine", f"engine {eid}: {msg}") for eid, msg in resolution.errors]
            start_up_done()  # what is left to load (the rules) loads while the audit runs
            if on_progress is not None:
                on_progress.start(len(resolution.targets))
            files = AuditSession(None, options, on_progress=on_progress, cancel=cancel)
            report = run_audit(
                sessions,
                resolution.targets,
                options,
                files=files,
                cancel=cancel,
                on_progress=on_progress,
                engine_infos=[f.info for f in counted],
                errors=errors,
            )
    finally:
        for session in sessions.values():
            session.close()
    problems = write_outputs(report, plan, sys.stdout)
    for problem in problems:
        sys.stderr.write(f"dockaudit: {printable(problem)}\n")
    for line in (*failure_lines(report), *removed_targets(report)):
        _note(quiet, line)
    if settings.ignores:
        matched = set().union(*(s.matched_ignores for s in (*sessions.values(), files)))
        for line in ignore_problems(settings, matched, options.clock().date()):
            _note(quiet, f"warning: {line}")
    result = verdict(report, fail_on=args.fail_on, min_grade=args.min_grade, usage_errors=problems)
    sys.stderr.write(f"dockaudit: {result.message}\n")
    return result.code
