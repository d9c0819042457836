"""The exit-code matrix of `dockaudit scan`: every --fail-on threshold against clean, at, above, below and failure."""

from __future__ import annotations

from dataclasses import replace

import pytest

from dockaudit.gate import EXIT_FAILURE, EXIT_FINDINGS, EXIT_OK, EXIT_USAGE, verdict
from dockaudit.model import Finding, ScanError, Severity, Source, Status, Suppression, TargetKind, TargetResult
from tests.report.sample import report_with

THRESHOLDS = ["critical", "high", "medium", "low", "info"]


def _finding(severity: Severity, **kwargs: object) -> Finding:
    base = Finding(
        rule_id="DA999",
        slug="x",
        source=Source.CHECKLIST,
        severity=severity,
        status=Status.FAIL,
        title="t",
        section="s",
        evidence="e",
    )
    return replace(base, **kwargs)  # type: ignore[arg-type]


def _target(*findings: Finding, **kwargs: object) -> TargetResult:
    base = TargetResult(
        kind=TargetKind.IMAGE,
        engine="local",
        id="sha256:1",
        name="app:1",
        findings=findings,
        scans={"checklist": "ok", "trivy": "ok"},
    )
    return replace(base, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("fail_on", THRESHOLDS)
def test_clean_report_exits_0(fail_on: str) -> None:
    assert verdict(report_with(_target()), fail_on=fail_on).code == EXIT_OK


@pytest.mark.parametrize("fail_on", THRESHOLDS)
def test_finding_at_threshold_exits_1(fail_on: str) -> None:
    report = report_with(_target(_finding(Severity.parse(fail_on))))
    result = verdict(report, fail_on=fail_on)
    assert result.code == EXIT_FINDINGS
    assert f"1 finding at or above {fail_on}" in result.message


@pytest.mark.parametrize("fail_on", THRESHOLDS[1:])
def test_finding_above_threshold_exits_1(fail_on: str) -> None:
    above = Severity(int(Severity.parse(fail_on)) + 1)
    assert verdict(report_with(_target(_finding(above))), fail_on=fail_on).code == EXIT_FINDINGS


@pytest.mark.parametrize("fail_on", THRESHOLDS[:-1])
def test_finding_below_threshold_exits_0(fail_on: str) -> None:
    below = Severity(int(Severity.parse(fail_on)) - 1)
    assert verdict(report_with(_target(_finding(below))), fail_on=fail_on).code == EXIT_OK


@pytest.mark.parametrize("fail_on", [*THRESHOLDS, "never"])
def test_scanner_failure_exits_3_whatever_the_threshold(fail_on: str) -> None:
    failed = _target(
        scans={"checklist": "ok", "trivy": "failed: DB missing"}, errors=(ScanError("trivy", "DB missing"),)
    )
    assert verdict(report_with(failed), fail_on=fail_on).code == EXIT_FAILURE
    # ...even when findings would have given 1: the highest code wins.
    with_findings = replace(failed, findings=(_finding(Severity.CRITICAL),))
    assert verdict(report_with(with_findings), fail_on=fail_on).code == EXIT_FAILURE


@pytest.mark.parametrize("fail_on", [*THRESHOLDS, "never"])
def test_unreachable_engine_exits_3(fail_on: str) -> None:
    report = report_with(_target(), errors=(ScanError("engine", "engine b (tcp://x): refused"),))
    assert verdict(report, fail_on=fail_on).code == EXIT_FAILURE


def test_fail_on_never_only_removes_code_1() -> None:
    findings = report_with(_target(_finding(Severity.CRITICAL)))
    assert verdict(findings, fail_on="never").code == EXIT_OK
    assert verdict(findings, fail_on="never", usage_errors=["cannot write x"]).code == EXIT_USAGE


def test_degraded_trivy_alone_is_not_a_failure() -> None:
    degraded = _target(scans={"checklist": "ok", "trivy": "degraded: Trivy logged an error"})
    assert verdict(report_with(degraded)).code == EXIT_OK


def test_suppressed_and_skipped_findings_do_not_count() -> None:
    suppressed = _finding(Severity.CRITICAL, suppressed=Suppression(reason="accepted", by="cfg"))
    skipped = _finding(Severity.CRITICAL, status=Status.SKIPPED)
    assert verdict(report_with(_target(suppressed, skipped)), fail_on="info").code == EXIT_OK


def test_usage_error_beats_findings_and_failure_beats_usage() -> None:
    findings = report_with(_target(_finding(Severity.HIGH)))
    assert verdict(findings, usage_errors=["cannot write /x"]).code == EXIT_USAGE
    failed = report_with(_target(_finding(Severity.HIGH), errors=(ScanError("collect", "gone"),)))
    assert verdict(failed, usage_errors=["cannot write /x"]).code == EXIT_FAILURE


def test_min_grade_gates_on_the_worst_target() -> None:
    report = report_with(_target(score=70, grade="C"), _target(id="sha256:2", name="b:1", score=95, grade="A"))
    assert verdict(report, fail_on="never", min_grade="B").code == EXIT_FINDINGS
    assert "app:1 (C)" in verdict(report, fail_on="never", min_grade="B").message
    assert verdict(report, fail_on="never", min_grade="C").code == EXIT_OK
