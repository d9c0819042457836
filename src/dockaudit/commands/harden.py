"""`dockaudit harden`: the hardened Dockerfile, Compose file (or `docker run` + Compose service) of a target, as a diff.

`-o FILE` writes the hardened file itself (with `--diff`, the diff); without `-o` the diff goes to stdout.
Exit 0 when the output was written, 2 usage error (a file Compose rejects), 3 engine failure (or no Compose).
Changes and notes go to stderr.
"""

from __future__ import annotations

import argparse
import sys
from contextlib import ExitStack
from dataclasses import replace
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
    from dockaudit.harden.compose import ComposeHardening
    from dockaudit.harden.compose_plan import MovedSecret


def add_parser(sub: Any) -> None:
    """Register `harden` and its options."""
    from dockaudit.cli import add_engine_options

    p = sub.add_parser(
        "harden",
        help="generate a hardened Dockerfile or Compose file, or a hardened docker run and Compose service, as a diff",
        description="Harden an image, container, Dockerfile, Compose file or project directory. Without -o the "
        "unified diff goes to stdout; -o FILE writes the hardened file (with --diff, the diff). Exit 0 when written, "
        "2 usage error or a file Compose rejects, 3 engine error or no Compose.",
    )
    p.add_argument(
        "target",
        nargs="?",
        metavar="IMAGE|CONTAINER|Dockerfile|compose.yaml|PROJECT_DIR",
        help="prefix with container:, image: or path: to force one; a directory with a Dockerfile hardens the "
        "Dockerfile, one with only a Compose file hardens that",
    )
    p.add_argument("--dockerfile", metavar="PATH", help="the Dockerfile the image was built from (else reconstructed)")
    p.add_argument("--diff", action="store_true", help="with -o, write the unified diff instead of the hardened file")
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write here instead of printing the diff (a directory when several Compose files change); moved "
        "Compose secrets are written beside it (mode 0600)",
    )
    p.add_argument(
        "--target",
        dest="stage",
        metavar="STAGE",
        help="the Dockerfile stage the image runs from (as docker build --target)",
    )
    p.add_argument(
        "--healthcheck-url",
        metavar="URL",
        help="the app's health URL inside the container (http://127.0.0.1:8080/health): the HEALTHCHECK probes it",
    )
    compose = p.add_argument_group("Compose")
    compose.add_argument(
        "--compose-file",
        action="append",
        default=[],
        metavar="FILE",
        help="a Compose file to harden; repeated, the files are merged in order as docker compose -f does",
    )
    compose.add_argument("--profile", action="append", default=[], metavar="NAME", help="only these profiles")
    compose.add_argument("--env-file", action="append", default=[], metavar="FILE", help="a Compose env file")
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


def _session(
    args: argparse.Namespace,
    stack: ExitStack,
    *,
    required: bool,
    unseen: str = "base images not inspected",
    guess: str = "guessing their distribution by name",
) -> AuditSession:
    """A session on the engine; without one (unreachable, and a file does without it) a file-only one."""
    from dockaudit.audit import AuditSession
    from dockaudit.audit_options import AuditOptions
    from dockaudit.config import load_settings
    from dockaudit.connect import open_session

    options = AuditOptions(
        settings=load_settings(Path.cwd()),
        config_dir=Path.cwd(),
        dockerfile_target=args.stage,
        healthcheck_url=_healthcheck_url(args.healthcheck_url),
    )
    try:
        session = open_session(options, host=args.host, context=args.context)
    except EngineError as exc:
        if required:
            raise
        # A file hardens without an engine; only the images' own files go unseen.
        sys.stderr.write(f"dockaudit: {unseen} ({exc}); {guess}\n")
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


def _compose_files(args: argparse.Namespace) -> list[str] | None:
    """The Compose files the arguments name (`--compose-file`, a Compose file, a directory with only a Compose
    file); None when the target is something else."""
    from dockaudit.parse.compose_names import COMPOSE_FILE_NAMES
    from dockaudit.targets import DOCKERFILE_NAMES, compose_files, is_compose_file, parse_target

    if args.compose_file:
        if args.target is not None:
            raise UsageError("give either a TARGET or --compose-file, not both")
        return list(args.compose_file)
    spec = parse_target(args.target)
    if spec.kind not in ("auto", "path"):
        return None
    path = Path(spec.value)
    if path.is_file() and is_compose_file(path):
        return compose_files(path)
    if path.is_dir() and any((path / n).is_file() for n in COMPOSE_FILE_NAMES):
        if not any((path / n).is_file() for n in DOCKERFILE_NAMES):
            return [str(path)]
        compose = next(path / n for n in COMPOSE_FILE_NAMES if (path / n).is_file())
        sys.stderr.write(f"dockaudit: hardening the Dockerfile; for the Compose file: dockaudit harden {compose}\n")
    return None


def _report_compose(result: ComposeHardening) -> None:
    for change in result.changes:
        where = f"{change.path} line {change.line}" if change.line else change.path
        sys.stderr.write(printable(f"  [{', '.join(change.rule_ids)}] {where} ({change.service}): {change.summary}\n"))
    for note in result.notes:
        sys.stderr.write(printable(f"  note: {note}") + "\n")
    if not result.changes:
        sys.stderr.write("dockaudit: nothing to harden: every edit is done, or left as advice above\n")


def _inside(path: str, base: Path) -> Path:
    """`path` relative to `base` when it lies inside it, else its name alone (never a path that climbs out)."""
    try:
        return Path(path).relative_to(base)
    except ValueError:
        return Path(Path(path).name)


def _write_secret(path: Path, value: str) -> bool:
    """Create a secret file with mode 0600 (its directory 0700); False when a file is already there."""
    import os

    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    except OSError as exc:
        raise ReportWriteError(f"cannot write {path}: {exc.strerror or exc}") from None
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        # No trailing newline: the official images' `*_FILE` readers take the file's content as the value.
        handle.write(value)
    return True


def _write_compose(output: str, working_dir: str, main: str, result: ComposeHardening) -> list[MovedSecret]:
    """Write the hardened Compose files (one to `output`, several under the directory `output`) and the secrets
    moved out of them beside them; returns the secrets whose files were written."""
    out = Path(output)
    if not result.files:
        if out.is_dir():
            sys.stderr.write("dockaudit: nothing changed, nothing written\n")
        else:
            _write(output, _read_text(Path(main)))
        return []
    if len(result.files) == 1 and not out.is_dir():
        written = {result.files[0].abs_path: out}
    else:
        if out.exists() and not out.is_dir():
            raise UsageError(f"-o {output}: {len(result.files)} Compose files change; give a directory")
        written = {f.abs_path: out / _inside(f.abs_path, Path(working_dir)) for f in result.files}
    for file in result.files:
        dest = written[file.abs_path]
        dest.parent.mkdir(parents=True, exist_ok=True)
        _write(str(dest), file.hardened)
        if len(written) > 1 or dest != out:
            sys.stderr.write(printable(f"dockaudit: wrote {dest}") + "\n")
    done: list[MovedSecret] = []
    for moved in result.secrets:
        value = result.secret_values.get(moved.secret)
        compose_file = written.get(moved.declared_in)
        if value is None or compose_file is None:
            continue
        secret = compose_file.parent / moved.file
        if _write_secret(secret, value):
            done.append(moved)
            sys.stderr.write(printable(f"dockaudit: wrote {secret} (mode 0600): keep it out of version control") + "\n")
        else:
            kept = f"dockaudit: {secret} exists and was left as it is: check it holds the value of {moved.variable}"
            sys.stderr.write(printable(kept) + "\n")
    return done


def _harden_compose(args: argparse.Namespace, files: list[str], stack: ExitStack) -> None:
    session = _session(
        args,
        stack,
        required=False,
        unseen="images not inspected",
        guess="users and writable paths come from the table of well-known images",
    )
    project = session.compose_project(files, profiles=args.profile, env_files=args.env_file)
    result = session.harden_compose(project)
    if args.output is None or args.diff:
        _report_compose(result)
        if args.output is None:
            _emit_diff(result.diff())
        else:
            _write(args.output, result.diff())
        return
    written = _write_compose(args.output, project.working_dir, project.file_paths[0], result)
    # The secrets written here need no "write the value" advice.
    done = tuple(f"{m.service}: write the value of {m.variable} " for m in written)
    _report_compose(replace(result, notes=tuple(n for n in result.notes if not n.startswith(done))))


def _healthcheck_url(url: str | None) -> str | None:
    """The --healthcheck-url value, checked: an http(s) URL with a host."""
    if url is None:
        return None
    from urllib.parse import urlparse

    parsed = urlparse(url)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise UsageError(f"--healthcheck-url {url}: give an http:// or https:// URL with a host")
    return url


def run(args: argparse.Namespace) -> int:
    """Harden one target and write the result; raises `DockauditError` for exit codes 2 and 3."""
    from dockaudit.targets import parse_target

    if args.target is None and not args.compose_file:
        raise UsageError("nothing to harden: give a TARGET or --compose-file")
    files = _compose_files(args)
    if files is None and (args.profile or args.env_file):
        raise UsageError("--profile and --env-file apply to Compose files only")
    if files is not None:
        if args.dockerfile:
            raise UsageError("--dockerfile applies to images, not to Compose files")
        with ExitStack() as stack:
            _harden_compose(args, files, stack)
        return 0
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
