"""Parse a Dockerfile (or a project directory) into `DockerfileFacts` with BuildKit's own parser.

Instructions keep BuildKit's line numbers; `ARG`/`ENV` values with secret-like names and known
credential formats are redacted here, before any rule reads them. `ARG`s before the first `FROM`
(global build args) carry stage index -1.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

import dockerfile

from dockaudit.command_secrets import redact_command
from dockaudit.errors import UsageError
from dockaudit.facts.dockerfile import BaseImage, DockerfileFacts, DockerfileInstruction, DockerfileStage
from dockaudit.facts.image import NamedValue
from dockaudit.parse.dockerfile_runtime import analyse_runtime
from dockaudit.secrets import redact, redact_pair, redact_text

DOCKERFILE_NAMES = ("Dockerfile", "dockerfile", "Containerfile")
"""Names looked for, in order, when a project directory is given."""

_KNOWN = frozenset(dockerfile.all_cmds())
_META_ARG_REF = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")
_MAX_BYTES = 4 * 1024 * 1024
_COMMANDS = frozenset({"RUN", "CMD", "ENTRYPOINT", "HEALTHCHECK", "ONBUILD", "SHELL"})


def find_dockerfile(path: Path) -> Path:
    """The Dockerfile `path` names: the file itself, or the first known name inside a directory."""
    if path.is_dir():
        for name in DOCKERFILE_NAMES:
            candidate = path / name
            if candidate.is_file():
                return candidate
        raise UsageError(f"{path}: no Dockerfile in this directory (looked for {', '.join(DOCKERFILE_NAMES)})")
    if not path.is_file():
        raise UsageError(f"{path}: no such Dockerfile or directory")
    return path


def parse_dockerfile(
    path: Path,
    allow_secret_names: Iterable[str] = (),
    *,
    target: str | None = None,
    base_lookup: Callable[[str], BaseImage | None] | None = None,
) -> DockerfileFacts:
    """Parse a Dockerfile, or the Dockerfile of a project directory, with its build context.

    `target` names the runtime stage (`--target`); `base_lookup` supplies locally present base images.
    """
    file = find_dockerfile(path)
    try:
        raw = file.read_bytes()
    except OSError as exc:
        raise UsageError(f"{file}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > _MAX_BYTES:
        raise UsageError(f"{file}: too large for a Dockerfile ({len(raw)} bytes)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{file}: not a text file (invalid UTF-8)") from None
    return parse_dockerfile_text(
        text,
        str(file),
        context_dir=file.parent,
        allow_secret_names=allow_secret_names,
        target=target,
        base_lookup=base_lookup,
    )


def parse_dockerfile_text(
    text: str,
    path: str = "Dockerfile",
    context_dir: Path | None = None,
    allow_secret_names: Iterable[str] = (),
    *,
    target: str | None = None,
    base_lookup: Callable[[str], BaseImage | None] | None = None,
) -> DockerfileFacts:
    """Parse Dockerfile text; `context_dir` adds `.dockerignore` patterns and the context's entries.

    Raises `UsageError` when the text cannot be parsed or `target` names no stage.
    """
    allow = tuple(allow_secret_names)
    try:
        # A continuation at the very end (a lone `\`) parses as a command without an instruction: BuildKit skips it.
        commands = [c for c in dockerfile.parse_string(text) if c.cmd is not None]
    except (dockerfile.GoParseError, dockerfile.GoIOError) as exc:
        raise UsageError(f"{path}: cannot parse Dockerfile: {_one_line(str(exc))}") from None
    except UnicodeDecodeError:
        # The parser's Go error message can end inside a UTF-8 sequence (`HEALTHCHECK à`): still a parse error.
        raise UsageError(f"{path}: cannot parse Dockerfile (the BuildKit parser rejected it)") from None

    instructions: list[DockerfileInstruction] = []
    stages: list[DockerfileStage] = []
    build_args: list[NamedValue] = []
    env: list[NamedValue] = []
    meta_args: dict[str, str] = {}
    secret_values: dict[str, str] = {}
    stage = -1
    for command in commands:
        cmd = command.cmd.upper()
        if command.cmd.lower() not in _KNOWN:
            raise UsageError(f"{path}:{command.start_line}: unknown instruction {command.cmd!r}")
        if cmd == "FROM":
            stage += 1
            stages.append(_stage(command, stage, meta_args, path))
        elif stage < 0 and cmd != "ARG":
            raise UsageError(f"{path}:{command.start_line}: {cmd} before the first FROM")
        pairs: list[tuple[str, str, str]] = []
        if cmd == "ARG":
            pairs = _arg_pairs(command.value)
        elif cmd == "ENV":
            pairs = _env_pairs(command.value)
        redactions = dict(secret_values)
        for name, written, value in pairs:
            safe, match = redact_pair(name, value, allow)
            if match is not None and written:
                redactions[written] = safe
                # The same literal may be spelled out again in a later instruction.
                if len(value) >= 4:
                    secret_values[value] = redact(value)
            fact = NamedValue(name, safe, match)
            (build_args if cmd == "ARG" else env).append(fact)
            if cmd == "ARG" and stage < 0:
                meta_args[name] = value
        instructions.append(_instruction(command, cmd, stage, redactions, allow))
    if not stages:
        raise UsageError(f"{path}: no FROM instruction")

    dockerignore: tuple[str, ...] | None = None
    entries: tuple[str, ...] = ()
    if context_dir is not None:
        dockerignore = read_dockerignore(context_dir, Path(path).name)
        try:
            entries = tuple(sorted(p.name for p in context_dir.iterdir()))
        except OSError:
            entries = ()
    runtime = analyse_runtime(
        text,
        instructions,
        stages,
        context_dir=context_dir,
        target=target,
        base_lookup=base_lookup,
        global_args=meta_args,
    )
    return DockerfileFacts(
        path=path,
        instructions=tuple(instructions),
        stages=tuple(stages),
        context_dir=str(context_dir) if context_dir is not None else None,
        dockerignore=dockerignore,
        context_entries=entries,
        build_args=tuple(build_args),
        env=tuple(env),
        runtime=runtime,
    )


def read_dockerignore(context_dir: Path, dockerfile_name: str = "Dockerfile") -> tuple[str, ...] | None:
    """Patterns of the context's ignore file, comments and blanks dropped; None when there is none."""
    # BuildKit prefers `<Dockerfile name>.dockerignore` beside the Dockerfile over `.dockerignore`.
    for name in (f"{dockerfile_name}.dockerignore", ".dockerignore"):
        file = context_dir / name
        if file.is_file():
            try:
                lines = file.read_text(encoding="utf-8", errors="replace").splitlines()
            except OSError:
                return None
            return tuple(s for s in (line.strip() for line in lines) if s and not s.startswith("#"))
    return None


def _stage(command: dockerfile.Command, index: int, meta_args: dict[str, str], path: str) -> DockerfileStage:
    values = list(command.value)
    if not values or not values[0]:
        raise UsageError(f"{path}:{command.start_line}: FROM needs an image")
    name = values[2] if len(values) >= 3 and values[1].upper() == "AS" else None
    return DockerfileStage(index, _expand(values[0], meta_args), name, command.start_line)


def _expand(text: str, args: dict[str, str]) -> str:
    # FROM may use global ARGs; BuildKit expands them from their defaults (or build-time values).
    def sub(m: re.Match[str]) -> str:
        name = m.group(1) or m.group(2)
        return args.get(name, m.group(0)) or m.group(0)

    return _META_ARG_REF.sub(sub, text)


def _instruction(
    command: dockerfile.Command, cmd: str, stage: int, redactions: dict[str, str], allow: tuple[str, ...]
) -> DockerfileInstruction:
    original = command.original
    values = list(command.value)
    # Longest first, so a value that contains another is replaced whole.
    for written in sorted(redactions, key=len, reverse=True):
        original = original.replace(written, redactions[written])
        values = [v.replace(written, redactions[written]) for v in values]
    if cmd in _COMMANDS:
        # Shell text: besides credential formats, `-p secret`, `Authorization:` headers, `TOKEN=...` prefixes.
        original = redact_command(original, allow)
        values = [redact_command(v, allow) for v in values]
    else:
        original = redact_text(original)[0]
        values = [redact_text(v)[0] for v in values]
    return DockerfileInstruction(
        cmd=cmd,
        value=tuple(values),
        original=original,
        flags=tuple(command.flags),
        start_line=command.start_line,
        end_line=command.end_line,
        stage=stage,
        json_form=bool(command.json),
        heredoc=bool(command.heredocs),
    )


def _arg_pairs(values: Iterable[str]) -> list[tuple[str, str, str]]:
    """(name, value as written, unquoted value) of each `ARG name[=default]`."""
    pairs = []
    for item in values:
        name, sep, written = item.partition("=")
        pairs.append((name, written if sep else "", _unquote(written) if sep else ""))
    return pairs


def _env_pairs(values: Iterable[str]) -> list[tuple[str, str, str]]:
    """(name, value as written, unquoted value) of each `ENV` pair; the parser gives them flat."""
    items = list(values)
    return [(items[i], items[i + 1], _unquote(items[i + 1])) for i in range(0, len(items) - 1, 2)]


def _unquote(text: str) -> str:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        inner = text[1:-1]
        return inner if text[0] == "'" else re.sub(r"\\(.)", r"\1", inner)
    return re.sub(r"\\(.)", r"\1", text)


def _one_line(text: str) -> str:
    return " ".join(text.split())
