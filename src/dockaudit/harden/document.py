"""A Dockerfile as BuildKit parses it, tied to its raw lines so edits leave everything else byte-for-byte."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import dockerfile

_INSTRUCTIONS = frozenset(dockerfile.all_cmds())

_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


class DockerfileSyntaxError(ValueError):
    """The BuildKit parser rejected the text."""


@dataclass(frozen=True)
class Instruction:
    """One parsed instruction with its position (0-based, inclusive line indexes) in the raw text."""

    index: int
    cmd: str
    """Upper-case keyword (`RUN`, `FROM`...)."""
    sub_cmd: str | None
    json: bool
    original: str
    flags: tuple[str, ...]
    value: tuple[str, ...]
    start: int
    end: int
    stage: int
    """Index of the stage (FROM) it belongs to; -1 before the first FROM."""
    heredoc: bool
    raw: str
    """The instruction's lines exactly as written, including the final newline when there is one."""

    @property
    def line(self) -> int:
        """1-based line number of the instruction's first line."""
        return self.start + 1

    @property
    def indent(self) -> str:
        """Leading whitespace of the first line, reused for inserted lines."""
        return self.raw[: len(self.raw) - len(self.raw.lstrip(" \t"))]

    def flag(self, name: str) -> str | None:
        """The value of `--name=value` among the flags, or None."""
        for flag in self.flags:
            key, _, val = flag.partition("=")
            if key == f"--{name}":
                return val
        return None


@dataclass(frozen=True)
class Stage:
    """A `FROM` and the instructions up to the next one."""

    index: int
    base: str
    """The FROM image reference as written (may name an earlier stage)."""
    name: str | None
    from_index: int
    instructions: tuple[Instruction, ...]
    """Instructions after the FROM, in order."""


def split_lines(text: str) -> list[str]:
    """Split on `\\n` only (the parser's own line counting), keeping the line ends."""
    parts = text.split("\n")
    lines = [p + "\n" for p in parts[:-1]]
    if parts[-1]:
        lines.append(parts[-1])
    return lines


@dataclass(frozen=True)
class Document:
    """Parsed Dockerfile text: raw lines, instructions and stages."""

    text: str
    lines: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    stages: tuple[Stage, ...]
    escape: str
    """The line-continuation character (`\\` unless an `escape` directive says otherwise)."""
    origins: tuple[int | None, ...]
    """For each line, its 1-based line number in the text first given to hardening (None: inserted)."""

    @classmethod
    def parse(cls, text: str, origins: tuple[int | None, ...] | None = None) -> Document:
        """Parse `text`; raises `DockerfileSyntaxError` when BuildKit's parser rejects it."""
        try:
            commands = dockerfile.parse_string(text)
        except (dockerfile.GoParseError, dockerfile.GoIOError) as exc:
            raise DockerfileSyntaxError(str(exc)) from None
        except UnicodeDecodeError:
            # The parser's Go error message can end inside a UTF-8 sequence (`HEALTHCHECK à`): still a parse error.
            raise DockerfileSyntaxError("the BuildKit parser rejected the text") from None
        # A continuation at the very end (`RUN x \` then EOF, or a lone `\`) parses as a command without one.
        commands = tuple(c for c in commands if c.cmd is not None)
        for command in commands:
            if command.cmd.lower() not in _INSTRUCTIONS:
                # As `scan` says it (BuildKit parses any word as an instruction and leaves the build to refuse it).
                raise DockerfileSyntaxError(f"line {command.start_line}: unknown instruction {command.cmd!r}")
            # BuildKit's instruction parser refuses a bare `USER` or `FROM`; the passes rely on that too.
            if not command.json and not any(v.strip() for v in command.value):
                raise DockerfileSyntaxError(f"line {command.start_line}: {command.cmd.upper()} needs an argument")
        lines = split_lines(text)
        escape = _escape_char(lines)
        instructions: list[Instruction] = []
        stage = -1
        for index, command in enumerate(commands):
            if command.cmd.upper() == "FROM":
                stage += 1
            start, end = command.start_line - 1, command.end_line - 1
            instructions.append(
                Instruction(
                    index=index,
                    cmd=command.cmd.upper(),
                    sub_cmd=command.sub_cmd.upper() if command.sub_cmd else None,
                    json=command.json,
                    original=command.original,
                    flags=tuple(command.flags),
                    value=tuple(command.value),
                    start=start,
                    end=end,
                    stage=stage,
                    heredoc=bool(command.heredocs),
                    raw="".join(lines[start : end + 1]),
                )
            )
        stages: list[Stage] = []
        for ins in instructions:
            if ins.cmd != "FROM":
                continue
            words = list(ins.value)
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            members = tuple(i for i in instructions if i.stage == ins.stage and i.cmd != "FROM")
            stages.append(Stage(ins.stage, words[0] if words else "", name, ins.index, members))
        if origins is None or len(origins) != len(lines):
            origins = tuple(range(1, len(lines) + 1))
        return cls(text, tuple(lines), tuple(instructions), tuple(stages), escape, origins)

    @property
    def final_stage(self) -> Stage | None:
        """The stage the built image comes from."""
        return self.stages[-1] if self.stages else None

    def stage_by_name(self, name: str) -> Stage | None:
        """A stage by its `AS` name or its index, as `FROM`/`COPY --from` may refer to it."""
        for stage in self.stages:
            if (stage.name and stage.name.lower() == name.lower()) or str(stage.index) == name:
                return stage
        return None

    @property
    def crlf(self) -> bool:
        """Whether the file uses Windows line ends, which inserted lines then follow."""
        ends = [line.endswith("\r\n") for line in self.lines if line.endswith("\n")]
        return bool(ends) and sum(ends) * 2 > len(ends)

    def origin(self, ins: Instruction) -> int | None:
        """The original line number of an instruction, or None when an earlier pass inserted it."""
        return self.origins[ins.start]

    def line_before(self, ins: Instruction) -> str:
        """The raw line just above an instruction (empty at the top of the file)."""
        return self.lines[ins.start - 1] if ins.start > 0 else ""


def _escape_char(lines: list[str]) -> str:
    # Parser directives only count before the first comment, blank line or instruction.
    for line in lines:
        match = _DIRECTIVE.match(line.rstrip("\r\n"))
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) in ("\\", "`"):
            return match.group(2)
    return "\\"


@dataclass(frozen=True)
class Edit:
    """One change to a document, addressed by instruction index."""

    target: int
    before: str = ""
    """Lines inserted above the instruction."""
    replace: str | None = None
    """New text for the instruction; `""` deletes it."""
    after: str = ""
    """Lines inserted below the instruction."""


def apply_edits(doc: Document, edits: Iterable[Edit]) -> tuple[str, tuple[int | None, ...]]:
    """Render `doc` with the edits applied, and each output line's original line number.

    Lines no edit touches are copied unchanged.
    """
    by_target: dict[int, list[Edit]] = {}
    for edit in edits:
        by_target.setdefault(edit.target, []).append(edit)
    starts = {ins.start: ins for ins in doc.instructions}
    out: list[str] = []
    origins: list[int | None] = []
    crlf = doc.crlf

    def native(text: str) -> str:
        return text.replace("\r\n", "\n").replace("\n", "\r\n") if crlf else text

    def emit(text: str, origin: int | None) -> None:
        for piece in split_lines(text):
            if out and not out[-1].endswith("\n"):
                out[-1] += "\r\n" if crlf else "\n"
            out.append(piece)
            origins.append(origin)

    # hadolint cannot parse an instruction or comment right after a heredoc's terminator: keep a blank line there.
    after_heredoc = False

    def insert(text: str) -> None:
        nonlocal after_heredoc
        if text and after_heredoc:
            emit(native("\n"), None)
        after_heredoc = False
        emit(native(_ensure_newline(text)), None)

    line = 0
    while line < len(doc.lines):
        ins = starts.get(line)
        if ins is None:
            emit(doc.lines[line], doc.origins[line])
            after_heredoc = False
            line += 1
            continue
        mine = by_target.get(ins.index, [])
        for edit in mine:
            if edit.before:
                insert(edit.before)
        replacement = next((e.replace for e in mine if e.replace is not None), None)
        if replacement is None:
            for offset in range(ins.start, ins.end + 1):
                emit(doc.lines[offset], doc.origins[offset])
        elif replacement:
            body = native(_ensure_newline(replacement))
            # Keep a missing final newline missing when nothing follows.
            if not ins.raw.endswith("\n") and not any(e.after for e in mine):
                body = body.removesuffix("\n").removesuffix("\r")
            emit(body, doc.origins[ins.start])
        after_heredoc = ins.heredoc and (replacement is None or "<<" in replacement)
        for edit in mine:
            if edit.after:
                insert(edit.after)
        line = ins.end + 1
    return "".join(out), tuple(origins)


def _ensure_newline(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"
