"""Score and grade: weights per severity, diminishing repeats, only counting findings count."""

from __future__ import annotations

import pytest

from dockaudit.model import Finding, Severity, Source, Status, Suppression
from dockaudit.score import grade_at_least, grade_of, penalty, score


def f(rule: str, severity: Severity, *, source: Source = Source.CHECKLIST, **kw: object) -> Finding:
    return Finding(rule, "s", source, severity, kw.pop("status", Status.FAIL), "t", "sec", "e", **kw)  # type: ignore[arg-type]


def test_no_findings_is_a_perfect_a() -> None:
    assert score([]) == (100, "A")


@pytest.mark.parametrize(
    ("severity", "expected"),
    [
        (Severity.CRITICAL, (60, "D")),
        (Severity.HIGH, (85, "B")),
        (Severity.MEDIUM, (95, "A")),
        (Severity.LOW, (98, "A")),
        (Severity.INFO, (100, "A")),
    ],
)
def test_one_finding_costs_its_weight(severity: Severity, expected: tuple[int, str]) -> None:
    assert score([f("DA1", severity)]) == expected


def test_repeats_of_one_rule_diminish() -> None:
    one = penalty([f("DA301", Severity.MEDIUM)])
    many = penalty([f("DA301", Severity.MEDIUM)] * 50)
    assert one == 5
    assert 9.9 < many < 10  # never more than twice the weight


def test_distinct_rules_add_up() -> None:
    assert score([f("DA101", Severity.HIGH), f("DA411", Severity.HIGH)]) == (70, "C")


def test_skipped_and_suppressed_findings_cost_nothing() -> None:
    skipped = f("DA112", Severity.CRITICAL, status=Status.SKIPPED)
    suppressed = f("DA101", Severity.CRITICAL, suppressed=Suppression("ok", "cfg"))
    assert score([skipped, suppressed]) == (100, "A")


def test_vulnerabilities_group_per_severity_not_per_cve() -> None:
    cves = [f(f"CVE-2024-{i}", Severity.HIGH, source=Source.TRIVY_VULN) for i in range(30)]
    assert score(cves)[0] == 70


def test_score_never_drops_below_zero() -> None:
    findings = [f(f"DA{i}", Severity.CRITICAL) for i in range(10)]
    assert score(findings) == (0, "F")


@pytest.mark.parametrize(
    ("value", "grade"),
    [(100, "A"), (90, "A"), (89, "B"), (80, "B"), (79, "C"), (65, "C"), (64, "D"), (50, "D"), (49, "F"), (0, "F")],
)
def test_grade_thresholds(value: int, grade: str) -> None:
    assert grade_of(value) == grade


def test_grade_comparison_for_min_grade() -> None:
    assert grade_at_least("A", "B") and grade_at_least("B", "b") and not grade_at_least("C", "B")
    assert grade_at_least("F", "F") and not grade_at_least("F", "D")
