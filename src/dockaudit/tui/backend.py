"""How the TUI reaches an engine: a connector opens an audit session (the same one `dockaudit scan` uses)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions
from dockaudit.connect import ChildConnection, audit_in_child, connection_problem, engine_contexts, open_session
from dockaudit.errors import DockauditError, EngineProblem
from dockaudit.run import BatchAudit, audit_in_thread
from dockaudit.targets import ResolvedTarget
from dockaudit.text import printable

if TYPE_CHECKING:
    # Hardening loads when a Dockerfile/Runtime tab first asks for it, not at start.
    from dockaudit.facts.compose import ComposeProject
    from dockaudit.harden.result import HardenResult
    from dockaudit.harden.runtime import RuntimeHardening
    from dockaudit.live_compose import ProjectGroup


@dataclass(frozen=True)
class EngineChoice:
    """Which engine the user asked for: `-H`, `--context`, or neither (the resolved default)."""

    host: str | None = None
    context: str | None = None


class Connector(Protocol):
    """Opens audit sessions for the engines the user picks; calls block and run in worker threads."""

    def open(self, choice: EngineChoice) -> AuditSession:
        """A session on the chosen engine; raises `DockauditError` with a one-line reason."""
        ...

    def problem(self, choice: EngineChoice, error: Exception) -> EngineProblem:
        """Describe a failed `open` for the error screen."""
        ...

    def contexts(self) -> list[tuple[str, str]]:
        """Engines to pick from: Docker CLI contexts as (name, endpoint URL)."""
        ...

    def files_session(self) -> AuditSession:
        """A session with no engine, for Compose files given on the command line when no engine answers."""
        ...


@dataclass(frozen=True)
class EngineConnector:
    """Real engines, with the audit options the command line asked for."""

    options: AuditOptions
    timeout: float = 10.0
    """Connect timeout in seconds."""
    audit_all_in_child: bool = True
    """Audit-all in a child process (keys stay answered); False runs it in threads of the UI process."""

    def open(self, choice: EngineChoice) -> AuditSession:
        """Resolve and connect, as `dockaudit scan` does."""
        return open_session(self.options, host=choice.host, context=choice.context, timeout=self.timeout)

    def problem(self, choice: EngineChoice, error: Exception) -> EngineProblem:
        """What was tried, and the fixes that apply to that kind of endpoint."""
        return connection_problem(choice.host, choice.context, error)

    def contexts(self) -> list[tuple[str, str]]:
        """Docker CLI contexts."""
        return engine_contexts()

    def files_session(self) -> AuditSession:
        """A session on no engine, with the same options."""
        return AuditSession(None, self.options)


@dataclass(frozen=True)
class Hardening:
    """What the hardening view shows: a unified diff and the full hardened text to save."""

    diff: str
    hardened: str
    filename: str
    """Default file name when saving (`Dockerfile.hardened`, `compose.hardened.yaml`)."""
    note: str = ""

    @classmethod
    def of_image(cls, result: HardenResult) -> Hardening:
        """The hardened Dockerfile of an image, saying when it was rebuilt from history."""
        notes = "\n".join(result.notes)
        if result.source == "reconstructed":
            notes = ("Reconstructed from the image history: compare with your own Dockerfile.\n" + notes).strip()
        return cls(diff=result.diff("Dockerfile"), hardened=result.hardened, filename="Dockerfile.hardened", note=notes)

    @classmethod
    def of_container(cls, result: RuntimeHardening) -> Hardening:
        """The hardened `docker run` and Compose service as one diff; the Compose service is what `w` saves."""
        return cls(
            diff=result.diff(), hardened=result.compose, filename="compose.hardened.yaml", note="\n".join(result.notes)
        )


@dataclass
class ScanState:
    """A target's running audit, as the list and the progress bar show it."""

    stage: str = "queued"
    message: str = ""
    fraction: float | None = None
    running: bool = True
    error: str | None = None
    trivy_pending: bool = field(default=False)


def start_audit_all(
    session: AuditSession, targets: Sequence[ResolvedTarget], connector: object, choice: EngineChoice | None
) -> BatchAudit:
    """Audit `targets` in the background: in a child process with the session's current options when the
    engine can be opened again there (a real engine), else in threads on the session itself (the demo)."""
    if isinstance(connector, EngineConnector) and connector.audit_all_in_child and choice is not None:
        connection = ChildConnection(session.options, choice.host, choice.context, connector.timeout)
        try:
            pickle.dumps(connection)
        except Exception:  # options a child cannot receive (a test's clock lambda): stay in this process
            return audit_in_thread(session, targets)
        return audit_in_child(connection, targets)
    return audit_in_thread(session, targets)


# ---- Compose (the Compose tab) -------------------------------------------------------------------------
# Compose projects as the Compose tab shows them: files given on the command line, read through the session,
# and the live projects whose containers carry Compose's labels. Kept apart from the audit plumbing above.


@dataclass(frozen=True)
class ComposeFileProject:
    """A Compose file (or project directory) given on the command line: its project, or why it has none."""

    path: str
    project: ComposeProject | None
    error: str = ""
    """Compose's own one-line message when it rejected the file (or no Compose could run)."""


def read_compose_files(session: AuditSession, paths: Sequence[str]) -> list[ComposeFileProject]:
    """Each path's project, read through the session (Compose itself); a file Compose rejects is a value."""
    from dockaudit.targets import compose_files

    found = []
    for path in paths:
        files = compose_files(Path(path)) if Path(path).is_file() else [path]
        try:
            found.append(ComposeFileProject(path, session.compose_project(files)))
        except DockauditError as exc:
            found.append(ComposeFileProject(path, None, printable(str(exc), multiline=False)))
    return found


def live_compose_project(session: AuditSession, group: ProjectGroup) -> ComposeProject:
    """The project a live project's containers were started from, read from its files through the session;
    raises `DockauditError` saying why when its files are not on this machine or Compose cannot read them."""
    from dockaudit.live_compose import compose_labels

    labels = next((found for c in group.containers if (found := compose_labels(c.labels)) is not None), None)
    files = ", ".join(group.config_files) or "(none recorded)"
    if labels is None or not labels.readable:
        raise DockauditError(f"its Compose file is not readable on this machine: {files}")
    project = session.live_projects.read(labels, session.settings.allow_secret_names)
    if project is None:
        raise DockauditError(f"Compose could not read {files} here (a variable only the original shell had?)")
    return project


def harden_compose_project(session: AuditSession, project: ComposeProject) -> Hardening:
    """The project's hardened Compose file as a diff, what changed and why in the note; `w` saves the file."""
    from dockaudit.tui.compose_presenters import compose_hardening_note

    result = session.harden_compose(project)
    first = result.files[0] if result.files else None
    name = Path(first.path).name if first is not None else "compose.yaml"
    stem = name.removesuffix(".yaml").removesuffix(".yml")
    return Hardening(
        diff=result.diff(),
        hardened=first.hardened if first is not None else "",
        filename=f"{stem}.hardened.yaml",
        note=compose_hardening_note(result),
    )
