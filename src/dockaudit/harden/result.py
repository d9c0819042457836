"""What a hardening run returns: the hardened text, the change list and notes, and their diff."""

from __future__ import annotations

from dataclasses import dataclass

from dockaudit.harden.diff import unified_diff


@dataclass(frozen=True)
class Unfixed:
    """A finding hardening left as it is, and why."""

    rule_ids: tuple[str, ...]
    reason: str
    line: int | None
    """1-based line in the original file the finding points at; None for whole-file findings."""


@dataclass(frozen=True)
class Change:
    """One edit a transform pass made, with the rules it addresses."""

    rule_ids: tuple[str, ...]
    summary: str
    line: int | None
    """1-based line in the original file the change is about; None for whole-file or new files."""


@dataclass(frozen=True)
class HardenResult:
    """A hardened Dockerfile next to its original."""

    original: str
    hardened: str
    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    """Advice that could not be applied safely, and commands the user must run (build secrets...)."""
    source: str
    """`dockerfile` for a real file, `reconstructed` for one rebuilt from image history."""
    dockerignore_original: str | None = None
    """The project's `.dockerignore` before hardening; None when it had none or no project was given."""
    dockerignore: str | None = None
    """The `.dockerignore` to write; None when it needs no change."""
    line_origins: tuple[int | None, ...] = ()
    """For each line of `hardened`, its line number in `original`; None for lines hardening added."""
    unfixed: tuple[Unfixed, ...] = ()
    """Findings hardening left as they are, each with the reason (also listed in `notes`)."""

    @property
    def changed(self) -> bool:
        """Whether hardening changed anything."""
        return self.hardened != self.original or self.dockerignore is not None

    def diff(self, path: str = "Dockerfile") -> str:
        """Plain unified diff of the Dockerfile (and of `.dockerignore` when one is generated)."""
        text = unified_diff(self.original, self.hardened, path)
        if self.dockerignore is not None:
            ignore_path = path.rsplit("/", 1)[0] + "/.dockerignore" if "/" in path else ".dockerignore"
            text += unified_diff(self.dockerignore_original, self.dockerignore, ignore_path)
        return text
