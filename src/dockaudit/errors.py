"""The error hierarchy: each error is one line for the user and carries its exit code."""

from __future__ import annotations

from dockaudit.records import Record, record


class DockauditError(Exception):
    """A failure the user can act on; `str()` is the one line shown."""

    exit_code = 3
    title = "Error"


class UsageError(DockauditError):
    """Bad arguments, or a target that names nothing (exit 2)."""

    exit_code = 2
    title = "Usage error"


class ConfigError(DockauditError):
    """A malformed or invalid configuration file (exit 2)."""

    exit_code = 2
    title = "Configuration error"


class EngineError(DockauditError):
    """The Docker engine could not be reached or answered with an error (exit 3)."""

    exit_code = 3
    title = "Engine error"


class NotFoundError(EngineError):
    """The engine has no object by that name (never had, or it was removed meanwhile)."""


class ScannerError(DockauditError):
    """Trivy or its vulnerability DB failed (exit 3)."""

    exit_code = 3
    title = "Scanner error"


class ReportWriteError(DockauditError):
    """A report could not be written (exit 2)."""

    exit_code = 2
    title = "Report error"


class CancelledError(DockauditError):
    """The user cancelled a running collection or scan (exit 130, like Ctrl-C)."""

    exit_code = 130
    title = "Cancelled"


@record
class EngineProblem(Record):
    """Why an engine could not be reached, what was tried and what to try next (for the TUI's error screen)."""

    message: str
    tried: tuple[str, ...] = ()
    hints: tuple[str, ...] = ()
