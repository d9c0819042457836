"""The audit orchestrator's API (what `scan` and the TUI share): errors as values, progress, cancel, bounds."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from dockaudit.audit import AuditOptions, Auditor, ProgressEvent, run_audit
from dockaudit.config import Ignore, Settings
from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.model import Finding, Severity, Source, Status, TargetKind, TargetResult, Vulnerability
from dockaudit.scanners.trivy import TrivyScan
from dockaudit.targets import ResolvedTarget

pytestmark = pytest.mark.docker
CLOCK = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine():
    with connect(resolve_endpoint(host="unix:///var/run/docker.sock")) as eng:
        yield eng


def _options(**kwargs) -> AuditOptions:
    base = {"settings": Settings(), "scanners": frozenset({"checklist"}), "clock": lambda: CLOCK}
    return AuditOptions(**{**base, **kwargs})


def _vuln(severity: Severity) -> Finding:
    return Finding(
        rule_id="CVE-2099-0001",
        slug="cve",
        source=Source.TRIVY_VULN,
        severity=severity,
        status=Status.FAIL,
        title="pkg: CVE-2099-0001",
        section="Vulnerabilities",
        evidence="pkg 1.0",
        vulnerability=Vulnerability(id="CVE-2099-0001", package="pkg", installed="1.0", fixed="1.1"),
    )


def test_checklist_image_reports_progress_and_facts(engine, bad_image):
    events: list[ProgressEvent] = []
    result, facts = Auditor(engine, _options(), on_progress=events.append).checklist_image(bad_image)
    assert facts is not None and facts.id == result.id
    assert result.kind is TargetKind.IMAGE and result.engine == "local" and result.name == bad_image
    assert result.grade == "F" and result.scans["checklist"] == "ok"
    assert {e.stage for e in events} >= {"collect", "checklist"}


def test_missing_image_is_an_error_value(engine):
    result, facts = Auditor(engine, _options()).checklist_image("dockaudit-test/absent:none")
    assert facts is None
    assert result.errors and result.errors[0].stage == "collect"
    assert result.scans["checklist"].startswith("failed")


def test_merge_adds_trivy_findings_and_rescores(engine, good_image):
    auditor = Auditor(engine, _options())
    result, _ = auditor.checklist_image(good_image)
    merged = auditor.merge(result, TrivyScan("ok", findings=(_vuln(Severity.CRITICAL),)))
    assert merged.scans["trivy"] == "ok"
    assert "CVE-2099-0001" in {f.rule_id for f in merged.findings}
    assert merged.score < result.score
    failed = auditor.merge(result, TrivyScan("failed", "DB missing"))
    assert failed.scans["trivy"] == "failed: DB missing"
    assert [e.stage for e in failed.errors] == ["trivy"]


def test_trivy_not_selected_is_skipped(engine, good_image):
    auditor = Auditor(engine, _options())
    result = auditor.audit_image(good_image)
    assert result.scans["trivy"] == "skipped"


def test_settings_suppress_and_track_matched_ignores(engine, bad_image):
    used = Ignore(rule="DA101", reason="base image decides", target="dockaudit-test/*", source="cfg:3")
    unused = Ignore(rule="DA999", reason="nothing", source="cfg:7")
    auditor = Auditor(engine, _options(settings=Settings(ignores=(used, unused))))
    result, _ = auditor.checklist_image(bad_image)
    da101 = next(f for f in result.findings if f.rule_id == "DA101")
    assert da101.suppressed is not None and da101.suppressed.by == "cfg:3"
    assert not da101.counts
    assert auditor.matched_ignores == {used}


def test_disabled_rule_is_neither_found_nor_passed(engine, bad_image):
    auditor = Auditor(engine, _options(settings=Settings(disabled_rules=frozenset({"DA101", "DA113"}))))
    result, _ = auditor.checklist_image(bad_image)
    assert "DA101" not in {f.rule_id for f in result.findings}
    assert "DA113" not in result.passed


def test_cancel_before_run_audits_nothing(engine, good_image):
    cancel = threading.Event()
    cancel.set()
    auditor = Auditor(engine, _options(), cancel=cancel)
    report = auditor.run([ResolvedTarget(TargetKind.IMAGE, good_image, "local", good_image)])
    assert report.targets == ()
    assert [e.stage for e in report.errors] == ["audit"]


def test_run_bounds_concurrency():
    active = 0
    peak = 0
    lock = threading.Lock()

    class Slow(Auditor):
        def audit(self, target: ResolvedTarget) -> TargetResult:
            nonlocal active, peak
            with lock:
                active += 1
                peak = max(peak, active)
            time.sleep(0.05)
            with lock:
                active -= 1
            return TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=target.ref, name=target.ref)

    options = _options(concurrency=3)
    targets = [ResolvedTarget(TargetKind.DOCKERFILE, f"f{i}") for i in range(12)]
    report = run_audit({}, targets, options, file_auditor=Slow(None, options))
    assert len(report.targets) == 12
    assert peak == 3
    assert report.generated_at == CLOCK


def test_one_crashing_target_does_not_lose_the_others():
    class Flaky(Auditor):
        def audit(self, target: ResolvedTarget) -> TargetResult:
            if target.ref == "boom":
                raise RuntimeError("bug")
            return TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=target.ref, name=target.ref)

    options = _options()
    targets = [ResolvedTarget(TargetKind.DOCKERFILE, r) for r in ("a", "boom", "c")]
    report = run_audit({}, targets, options, file_auditor=Flaky(None, options))
    by_name = {t.name: t for t in report.targets}
    assert set(by_name) == {"a", "boom", "c"}
    assert by_name["boom"].errors[0].message == "RuntimeError: bug"


def test_audit_path_dockerfile_has_lines_and_a_hardened_diff(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:latest\nCMD python app.py\n")
    result = Auditor(None, _options()).audit_path(dockerfile)
    assert result.kind is TargetKind.DOCKERFILE and result.engine is None
    assert all(f.location.line for f in result.findings if f.rule_id == "DA603")
    assert result.hardened_dockerfile_diff and "+USER" in result.hardened_dockerfile_diff


def test_reports_of_a_real_audit_are_byte_stable(engine, bad_image, good_image, bad_containers, tmp_path):
    from dockaudit.report import FORMATS, render

    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:latest\nRUN apt-get update && apt-get install -y curl\nCMD python app.py\n")
    targets = [
        ResolvedTarget(TargetKind.IMAGE, bad_image, "local", bad_image),
        ResolvedTarget(TargetKind.IMAGE, good_image, "local", good_image),
        ResolvedTarget(TargetKind.CONTAINER, bad_containers["host"], "local"),
        ResolvedTarget(TargetKind.DOCKERFILE, str(dockerfile)),
    ]
    first = Auditor(engine, _options(concurrency=4)).run(targets)
    second = Auditor(engine, _options(concurrency=1)).run(list(reversed(targets)))
    for fmt in FORMATS:
        assert render(first, fmt) == render(second, fmt), fmt
