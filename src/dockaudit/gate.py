"""The CI gate: the exit code of `dockaudit scan` and the one line on stderr that explains it.

0 nothing counted at or above `--fail-on`; 1 findings at or above it (or a grade below `--min-grade`);
2 usage or config error; 3 engine, scanner or DB failure. The highest that applies wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

from dockaudit.model import GONE_STAGE, INPUT_STAGE, Report, Severity
from dockaudit.score import GRADES as SCORE_GRADES
from dockaudit.score import grade_at_least

GRADES = (*(letter for _, letter in SCORE_GRADES), "F")
"""Best first, as `dockaudit.score` assigns them."""
FAIL_ON_CHOICES = ("critical", "high", "medium", "low", "info", "never")

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_USAGE = 2
EXIT_FAILURE = 3


class Verdict(NamedTuple):
    """An exit code and why."""

    code: int
    reasons: tuple[str, ...]

    @property
    def message(self) -> str:
        """`exit 1: 3 findings at or above high; grade D below C`."""
        return f"exit {self.code}: " + "; ".join(self.reasons)


def threshold(fail_on: str) -> Severity | None:
    """The `--fail-on` value as a severity; None for `never`."""
    return None if fail_on == "never" else Severity.parse(fail_on)


def failures(report: Report) -> list[str]:
    """Engine, stage and scanner failures, each one line; a `degraded` Trivy run is not one.

    A vulnerability-DB problem shows here through the scans it failed (a DB that only misconfig or secret
    scans did not need fails nothing).
    """
    out = [f"{e.stage}: {e.message}" for e in report.errors]
    for target in report.sorted_targets():
        if any(e.stage in (INPUT_STAGE, GONE_STAGE) for e in target.errors):
            # Its file is bad input (`invalid_inputs`), or it was removed while the audit ran: not a tool failure.
            continue
        where = f"{target.kind.value} {target.name}" + (f" @ {target.engine}" if target.engine else "")
        out += [f"{where}: {e.stage} failed: {e.message}" for e in target.errors]
        for stage, state in sorted(target.scans.items()):
            if state.startswith("failed") and not any(e.stage == stage for e in target.errors):
                out.append(f"{where}: {stage} {state}")
    return out


def removed_targets(report: Report) -> list[str]:
    """Targets listed and then removed while the audit ran (skipped, not failures), each one line."""
    gone = [(t, t.gone) for t in report.sorted_targets()]
    return [f"note: {t.kind.value} {t.name} skipped: {why}" for t, why in gone if why is not None]


def invalid_inputs(report: Report) -> list[str]:
    """Targets whose own file could not be read as what it claims to be (exit 2), each one line."""
    return [f"{e.message}" for t in report.sorted_targets() for e in t.errors if e.stage == INPUT_STAGE]


def verdict(
    report: Report, *, fail_on: str = "high", min_grade: str | None = None, usage_errors: Sequence[str] = ()
) -> Verdict:
    """The exit code for a finished report, plus any usage errors met while writing it."""
    reasons: list[str] = []
    code = EXIT_OK
    limit = threshold(fail_on)
    counted = 0
    if limit is not None:
        counted = sum(1 for t in report.targets for f in t.findings if f.counts and f.severity >= limit)
        if counted:
            code = EXIT_FINDINGS
            reasons.append(f"{counted} finding{'s' if counted != 1 else ''} at or above {limit.label}")
    if min_grade is not None:
        below = [t for t in report.sorted_targets() if t.grade in GRADES and not grade_at_least(t.grade, min_grade)]
        if below:
            code = max(code, EXIT_FINDINGS)
            names = ", ".join(f"{t.name} ({t.grade})" for t in below[:3]) + (" ..." if len(below) > 3 else "")
            reasons.append(f"grade below {min_grade.upper()}: {names}")
    invalid = invalid_inputs(report)
    if usage_errors or invalid:
        code = max(code, EXIT_USAGE)
        reasons += [f"usage error: {u}" for u in usage_errors]
        reasons += [f"invalid input: {i}" for i in invalid]
    broken = failures(report)
    if broken:
        code = EXIT_FAILURE
        reasons.append(f"{len(broken)} engine, scanner or DB failure{'s' if len(broken) != 1 else ''}")
    if code == EXIT_OK and limit is not None:
        reasons.append(f"no findings at or above {limit.label}")
    elif code == EXIT_OK:
        reasons.append("findings are reported, not gated (--fail-on never)")
    return Verdict(code, tuple(reasons))
