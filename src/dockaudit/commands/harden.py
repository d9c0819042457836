"""`dockaudit harden`: the hardened Dockerfile (or `docker run` + Compose service) of a target, as a diff.

`-o FILE` writes the hardened file itself (with `--diff`, the diff); without `-o` the diff goes to stdout.
Exit 0 when the output was written, 2 usage error, 3 engine failure. Changes and notes go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dockaudit.errors import EngineError, ReportWriteError, UsageError
from dockaudit.harden.diff import colour_diff
from dockaudit.harden.document import DockerfileSyntaxError
from dockaudit.harden.result import Change, HardenResult
from dockaudit.harden.runtime import RuntimeHardening
from dockaudit.text import printable

if TYPE_CHECKING:
    from dockaudit.audit import AuditSession


def add_parser(sub: Any) -> None:
    """Register `harden` and its options."""
    from dockaudit.cli import add_engine_options

    p = sub.add_parser(
        "harden",
        help="generate a hardened Dockerfile, or a hardened docker run and Compose service, as a diff",
        description="Harden an image, container, Dockerfile or project directory. Without -o the unified diff "
        "goes to stdout; -o FILE writes the hardened file (with --diff, the diff). Exit 0 when written, "
        "2 usage error, 3 engine error.",
    )
    p.add_argument(
        "target",
        metavar="IMAGE|CONTAINER|Dockerfile|PROJECT_DIR",
        help="prefix with container:, image: or path: to force one",
    )
    p.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from (else reconstructed)")
    p.add_argument("--diff", action="store_true", help="with -o, write the unified diff instead of the hardened file")
    p.add_argument("-o", "--output", metavar="FILE", help="write here instead of printing the diff")
    add_engine_options(p)


def _read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not a text file (invalid UTF-8)") from None


def _dockerfile_path(text: str) -> Path | None:
    path = Path(text)
    if path.is_dir():
        from dockaudit.parse.dockerfile import find_dockerfile

        return find_dockerfile(path)
    return path if path.is_file() else None


def _report(changes: tuple[Change, ...], notes: tuple[str, ...]) -> None:
    for change in changes:
        where = f"line {change.line}: " if change.line else ""
        sys.stderr.write(printable(f"  [{', '.join(change.rule_ids)}] {where}{change.summary}") + "\n")
    for note in notes:
        sys.stderr.write(printable(f"  note: {note}") + "\n")
    if not changes:
        sys.stderr.write("dockaudit: nothing to harden: every pass found it already done\n")


def _write(path: str, text: str) -> None:
    try:
        Path(path).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from None


def _emit_diff(diff: str) -> None:
    if sys.stdout.isatty():
        from rich.console import Console

        # soft_wrap: long lines stay single lines, so a copied diff still applies. The diff quotes the
        # image's history: on a terminal its control characters are shown, never obeyed.
        Console(highlight=False, soft_wrap=True).print(colour_diff(printable(diff)), end="")
    else:
        sys.stdout.write(diff)


def _output_dockerfile(args: argparse.Namespace, result: HardenResult, shown_path: str) -> None:
    _report(result.changes, result.notes)
    diff = result.diff(shown_path)
    if args.output is None:
        _emit_diff(diff)
        return
    if args.diff:
        _write(args.output, diff)
        return
    _write(args.output, result.hardened)
    if result.dockerignore is not None:
        # BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile given with -f, so nothing is overwritten.
        ignore = f"{args.output}.dockerignore"
        _write(ignore, result.dockerignore)
        sys.stderr.write(f"dockaudit: wrote {ignore} (build with -f {args.output})\n")


def _output_runtime(args: argparse.Namespace, result: RuntimeHardening) -> None:
    _report(result.changes, result.notes)
    if args.output is None:
        _emit_diff(result.diff())
        return
    text = result.diff() if args.diff else result.hardened_run + "\n# Compose service\n" + result.compose
    _write(args.output, text)


def _harden_path(args: argparse.Namespace, path: Path, session: AuditSession) -> None:
    _read_text(path)  # a clear one-line error for unreadable or binary files, before parsing
    try:
        result = session.harden_dockerfile(path)
    except DockerfileSyntaxError as exc:
        raise UsageError(f"{path}: cannot parse Dockerfile: {str(exc).splitlines()[0]}") from None
    _output_dockerfile(args, result, path.name)


def _session(args: argparse.Namespace, stack: ExitStack, *, required: bool) -> AuditSession:
    """A session on the engine; without one (unreachable, and a Dockerfile does without it) a file-only one."""
    from dockaudit.audit import AuditOptions, AuditSession, open_session
    from dockaudit.config import load_settings

    options = AuditOptions(settings=load_settings(Path.cwd()), config_dir=Path.cwd())
    try:
        session = open_session(options, host=args.host, context=args.context)
    except EngineError as exc:
        if required:
            raise
        # A Dockerfile hardens without an engine; only the base images' own files go unseen.
        sys.stderr.write(f"dockaudit: base images not inspected ({exc}); guessing their distribution by name\n")
        return AuditSession(None, options)
    stack.callback(session.close)
    return session


def _find(session: AuditSession, kind: str, ref: str) -> str | None:
    source = session.source
    if source is None:
        return None
    if kind in ("auto", "container") and source.find_container(ref) is not None:
        return "container"
    if kind in ("auto", "image") and source.find_image(ref) is not None:
        return "image"
    return None


def run(args: argparse.Namespace) -> int:
    """Harden one target and write the result; raises `DockauditError` for exit codes 2 and 3."""
    from dockaudit.targets import parse_target

    spec = parse_target(args.target)
    dockerfile = Path(args.dockerfile) if args.dockerfile else None
    if dockerfile is not None and not dockerfile.is_file():
        raise UsageError(f"--dockerfile {args.dockerfile}: no such file")
    with ExitStack() as stack:
        local = _dockerfile_path(spec.value) if spec.kind in ("auto", "path") else None
        if spec.kind == "path":
            if local is None:
                raise UsageError(f"TARGET {args.target!r} names nothing: no file or directory by that name")
            _harden_path(args, local, _session(args, stack, required=False))
            return 0
        session = _session(args, stack, required=local is None)
        kind = _find(session, spec.kind, spec.value)
        if kind is None:
            if local is None:
                raise UsageError(f"TARGET {args.target!r} names nothing: no container, image or file by that name")
            _harden_path(args, local, session)
            return 0
        if kind == "container":
            _output_runtime(args, session.harden_container(session.container_overview(spec.value)))
            return 0
        image_facts = session.image_for_harden(spec.value)
        text = _read_text(dockerfile) if dockerfile is not None else None
        project = str(dockerfile.parent) if dockerfile is not None else None
        try:
            result = session.harden_image(image_facts, text, project_dir=project)
        except DockerfileSyntaxError as exc:
            raise UsageError(f"{dockerfile}: cannot parse Dockerfile: {str(exc).splitlines()[0]}") from None
        _output_dockerfile(args, result, dockerfile.name if dockerfile is not None else "Dockerfile")
    return 0
