"""A Dockerfile's stages: which one is the runtime image (`--target`, or the last that is not a test or an export),
the chain of stages it is built FROM, and whether the file builds a Windows image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from dockaudit.errors import UsageError
from dockaudit.facts.dockerfile import DockerfileInstruction, DockerfileStage
from dockaudit.parse.base_images import known_base

_TEST_NAME = re.compile(
    r"(?:^|[-_.])(?:tests?|testing|unit-?tests?|integration-?tests?|e2e|lint|linters?|linting|ci|checks?|vet|"
    r"verify|coverage)(?:[-_.]|$)",
    re.IGNORECASE,
)


_EXPORT_NAME = re.compile(
    r"(?:^|[-_.])(?:export|exporter|artifacts?|binar(?:y|ies)|out|output|dist|release)(?:[-_.]|$)", re.I
)


_WINDOWS_BASE = re.compile(
    r"mcr\.microsoft\.com/windows|nanoserver|servercore|dotnet/framework|ltsc20\d\d|"
    # Docker Hub's old microsoft/* namespace: .NET Framework, IIS, ASP.NET (4.x) and SQL Server for Windows.
    r"microsoft/dotnet-framework|microsoft/(?:iis|aspnet)(?::|@|$)|mssql-server-windows",
    re.I,
)
_WINDOWS_SHELLS = ("powershell", "powershell.exe", "cmd", "cmd.exe")
_DIRECTIVE = re.compile(r"^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$")


@dataclass(frozen=True)
class StageView:
    """A file's stages with the instructions of each, to walk the chain of stages one is built FROM."""

    stages: tuple[DockerfileStage, ...]
    members: Mapping[int, tuple[DockerfileInstruction, ...]]

    def by_name(self, name: str) -> DockerfileStage | None:
        for stage in self.stages:
            if (stage.name and stage.name.lower() == name.lower()) or str(stage.index) == name:
                return stage
        return None

    def parent(self, stage: DockerfileStage) -> DockerfileStage | None:
        parent = self.by_name(stage.base)
        return parent if parent is not None and parent.index < stage.index else None

    def chain(self, stage: DockerfileStage) -> list[DockerfileStage]:
        """The stage and the stages it is built FROM, nearest first."""
        out: list[DockerfileStage] = []
        current: DockerfileStage | None = stage
        while current is not None and current not in out:
            out.append(current)
            current = self.parent(current)
        return out

    def root(self, stage: DockerfileStage) -> str:
        return self.chain(stage)[-1].base

    def of(self, stage: DockerfileStage) -> tuple[DockerfileInstruction, ...]:
        return self.members.get(stage.index, ())

    def chain_instructions(self, stage: DockerfileStage) -> list[DockerfileInstruction]:
        """Instructions of the chain in build order (the farthest parent first)."""
        return [i for s in reversed(self.chain(stage)) for i in self.of(s)]


def _label(stage: DockerfileStage) -> str:
    return f"`{stage.name}`" if stage.name else f"{stage.index} (FROM {stage.base})"


def _exports_only(stage: DockerfileStage, instructions: Sequence[DockerfileInstruction]) -> bool:
    cmds = [i.cmd for i in instructions]
    copies = [i for i in instructions if i.cmd in ("COPY", "ADD")]
    if not copies or any(c not in ("COPY", "ADD", "ARG", "LABEL", "WORKDIR", "ENV") for c in cmds):
        return False
    from_stage = all(any(f.startswith("--from=") for f in i.flags) for i in copies)
    return from_stage and (stage.base.lower() == "scratch" or bool(stage.name and _EXPORT_NAME.search(stage.name)))


def _tests_only(stage: DockerfileStage) -> bool:
    return bool(stage.name and _TEST_NAME.search(stage.name))


def _copied_from(instructions: Sequence[DockerfileInstruction]) -> set[str]:
    names = set()
    for ins in instructions:
        for flag in ins.flags:
            if ins.cmd in ("COPY", "ADD") and flag.startswith("--from="):
                names.add(flag.split("=", 1)[1].lower())
    return names


def _mounted_from(instructions: Sequence[DockerfileInstruction]) -> set[str]:
    """Stages a `RUN --mount=...,from=NAME` reads files from."""
    names = set()
    for ins in instructions:
        for flag in ins.flags:
            if ins.cmd == "RUN" and flag.startswith("--mount="):
                for part in flag.split("=", 1)[1].split(","):
                    key, _, value = part.partition("=")
                    if key == "from" and value:
                        names.add(value.lower())
    return names


def contributing_stages(view: StageView, runtime: DockerfileStage) -> list[DockerfileStage]:
    """Stages whose files end up in the runtime image: its chain, and every stage it (or they) COPY --from, in
    file order. Images named in `--from` that are not stages of the file are not followed."""
    seen: dict[int, DockerfileStage] = {}
    pending = [runtime]
    while pending:
        stage = pending.pop()
        for member in view.chain(stage):
            if member.index in seen:
                continue
            seen[member.index] = member
            instructions = view.of(member)
            for name in _copied_from(instructions) | _mounted_from(instructions):
                source = view.by_name(name)
                if source is not None and source.index not in seen:
                    pending.append(source)
    return sorted(seen.values(), key=lambda s: s.index)


def select_runtime_stage(view: StageView, target: str | None) -> tuple[DockerfileStage | None, str]:
    """The stage that makes the runtime image (None when the file builds none), with why it is that one."""
    stages = view.stages
    if target is not None:
        chosen = view.by_name(target)
        if chosen is None:
            names = ", ".join(s.name or str(s.index) for s in stages)
            raise UsageError(f"--target {target}: no such stage (stages: {names})")
        return chosen, f"--target {target}"
    last = stages[-1]

    def role(stage: DockerfileStage) -> str | None:
        if _exports_only(stage, view.of(stage)):
            return "only exports files built in other stages"
        if _tests_only(stage):
            return "only builds or runs tests and checks"
        return None

    last_role = role(last)
    if last_role is None:
        return last, f"the last stage {_label(last)}"
    skipped = [last]
    candidate = None
    for stage in reversed(stages[:-1]):
        if role(stage) is None:
            candidate = stage
            break
        skipped.append(stage)
    if candidate is None:
        return None, f"every stage {last_role}: the file builds no runtime image (pick one with --target)"
    referenced = {s.base.lower() for s in skipped} | {n for s in skipped for n in _copied_from(view.of(s))}
    own_names = {candidate.name.lower()} if candidate.name else set()
    own_names.add(str(candidate.index))
    chain_cmds = {i.cmd for i in view.chain_instructions(candidate)}
    known = known_base(view.root(candidate))
    builder = not ({"CMD", "ENTRYPOINT", "EXPOSE"} & chain_cmds) and not (known is not None and known.service)
    if builder and own_names & referenced:
        return None, (
            f"the last stage {_label(last)} {last_role} and {_label(candidate)} only builds for it: "
            "the file builds no runtime image (pick one with --target)"
        )
    return candidate, f"stage {_label(candidate)}: the last stage {_label(last)} {last_role}"


def windows_reason(text: str, view: StageView, instructions: Sequence[DockerfileInstruction]) -> str | None:
    """What says the file builds a Windows image (an escape directive, base, SHELL or WORKDIR), if anything."""
    for line in text.splitlines():
        match = _DIRECTIVE.match(line.strip())
        if not match:
            break
        if match.group(1).lower() == "escape" and match.group(2) == "`":
            return "the `# escape=`` ` `` directive of Windows Dockerfiles"
    for stage in view.stages:
        if _WINDOWS_BASE.search(stage.base):
            return f"a Windows base image (FROM {stage.base})"
    for ins in instructions:
        if ins.cmd == "SHELL" and ins.value:
            program = ins.value[0].replace("\\", "/").rsplit("/", 1)[-1].lower()
            if program in _WINDOWS_SHELLS:
                return f"SHELL {ins.value[0]} (line {ins.start_line})"
        if ins.cmd == "WORKDIR" and ins.value and re.match(r"^[A-Za-z]:[\\/]", ins.value[0]):
            return f"a Windows path in WORKDIR {ins.value[0]} (line {ins.start_line})"
    return None
