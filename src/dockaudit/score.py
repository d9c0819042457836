"""Score (0-100) and grade (A-F) of one target from its counting findings; see docs/scoring.md."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from dockaudit.model import Finding, Severity, Source

WEIGHTS: dict[Severity, float] = {
    Severity.CRITICAL: 40.0,
    Severity.HIGH: 15.0,
    Severity.MEDIUM: 5.0,
    Severity.LOW: 2.0,
    Severity.INFO: 0.0,
}
"""Points the first counting finding of a group costs."""

REPEAT_FACTOR = 0.5
"""Each further finding of the same group costs this fraction of the previous one."""

GRADES: tuple[tuple[int, str], ...] = ((90, "A"), (80, "B"), (65, "C"), (50, "D"))
"""Lowest score of each grade, best first; anything below the last is F."""


def _group(finding: Finding) -> tuple[str, Severity]:
    # Vulnerabilities are grouped per severity, not per CVE id, so one old package cannot sink the score alone.
    key = finding.source.value if finding.source is Source.TRIVY_VULN else finding.rule_id
    return key, finding.severity


def penalty(findings: Iterable[Finding]) -> float:
    """Total points lost: per (rule, severity) group, the weight, then half of it for each repeat, and so on."""
    counts: dict[tuple[str, Severity], int] = defaultdict(int)
    for finding in findings:
        if finding.counts:
            counts[_group(finding)] += 1
    total = 0.0
    for (_, severity), n in counts.items():
        weight = WEIGHTS[severity]
        # Geometric series: weight * (1 + r + r^2 + ... + r^(n-1)), always below 2 * weight.
        total += weight * (1 - REPEAT_FACTOR**n) / (1 - REPEAT_FACTOR)
    return total


def grade_of(value: int) -> str:
    """The letter for a score."""
    for floor, letter in GRADES:
        if value >= floor:
            return letter
    return "F"


def score(findings: Iterable[Finding]) -> tuple[int, str]:
    """The target's score (100 is clean) and its grade."""
    value = max(0, min(100, round(100 - penalty(findings))))
    return value, grade_of(value)


def grade_at_least(grade: str, minimum: str) -> bool:
    """Whether `grade` is `minimum` or better (`--min-grade`)."""
    order = [letter for _, letter in GRADES] + ["F"]
    return order.index(grade.upper()) <= order.index(minimum.upper())
