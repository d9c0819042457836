"""The audit session's API (what `scan` and the TUI share): errors as values, progress, cancel, bounds, rescoring."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest

from dockaudit.audit import AuditSession
from dockaudit.audit_options import AuditOptions, ProgressEvent
from dockaudit.config import Ignore, Settings
from dockaudit.engine.client import connect, resolve_endpoint
from dockaudit.engine.source import EngineSource
from dockaudit.model import Finding, Severity, Source, Status, TargetKind, TargetResult, Vulnerability
from dockaudit.run import run_audit
from dockaudit.scanners.trivy import TrivyScan
from dockaudit.targets import ResolvedTarget

pytestmark = pytest.mark.docker
CLOCK = datetime(2026, 11, 28, 8, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def engine():
    with connect(resolve_endpoint(host="unix:///var/run/docker.sock")) as eng:
        yield EngineSource(eng)


def _image(ref: str) -> ResolvedTarget:
    return ResolvedTarget(TargetKind.IMAGE, ref, "local", ref)


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
    result, facts = AuditSession(engine, _options(), on_progress=events.append).checklist(_image(bad_image))
    assert facts is not None and facts.id == result.id
    assert result.kind is TargetKind.IMAGE and result.engine == "local" and result.name == bad_image
    assert result.grade == "F" and result.scans["checklist"] == "ok"
    assert {e.stage for e in events} >= {"collect", "checklist"}


def test_an_image_gone_by_collection_time_is_skipped_not_failed(engine):
    # A resolved target the engine no longer has was removed after it was listed: nothing failed.
    result, facts = AuditSession(engine, _options()).checklist(_image("dockaudit-test/absent:none"))
    assert facts is None
    assert [e.stage for e in result.errors] == ["gone"] and result.gone is not None
    assert result.scans["checklist"].startswith("skipped: removed while the audit ran")
    assert not result.graded


def test_merge_adds_trivy_findings_and_rescores(engine, good_image):
    auditor = AuditSession(engine, _options())
    result, _ = auditor.checklist(_image(good_image))
    merged = auditor._merge(result, TrivyScan("ok", findings=(_vuln(Severity.CRITICAL),)))
    assert merged.scans["trivy"] == "ok"
    assert "CVE-2099-0001" in {f.rule_id for f in merged.findings}
    assert merged.score < result.score
    failed = auditor._merge(result, TrivyScan("failed", "DB missing"))
    assert failed.scans["trivy"] == "failed: DB missing"
    assert [e.stage for e in failed.errors] == ["trivy"]


def test_trivy_not_selected_is_skipped(engine, good_image):
    auditor = AuditSession(engine, _options())
    result = auditor.audit(_image(good_image))
    assert result.scans["trivy"] == "skipped"


def test_settings_suppress_and_track_matched_ignores(engine, bad_image):
    used = Ignore(rule="DA101", reason="base image decides", target="dockaudit-test/*", source="cfg:3")
    unused = Ignore(rule="DA999", reason="nothing", source="cfg:7")
    auditor = AuditSession(engine, _options(settings=Settings(ignores=(used, unused))))
    result, _ = auditor.checklist(_image(bad_image))
    da101 = next(f for f in result.findings if f.rule_id == "DA101")
    assert da101.suppressed is not None and da101.suppressed.by == "cfg:3"
    assert not da101.counts
    assert auditor.matched_ignores == {used}


def test_disabled_rule_is_neither_found_nor_passed(engine, bad_image):
    auditor = AuditSession(engine, _options(settings=Settings(disabled_rules=frozenset({"DA101", "DA113"}))))
    result, _ = auditor.checklist(_image(bad_image))
    assert "DA101" not in {f.rule_id for f in result.findings}
    assert "DA113" not in result.passed


def test_cancel_before_run_audits_nothing(engine, good_image):
    cancel = threading.Event()
    cancel.set()
    auditor = AuditSession(engine, _options(), cancel=cancel)
    report = run_audit({"local": auditor}, [_image(good_image)], auditor.options, cancel=cancel)
    assert report.targets == ()
    assert [e.stage for e in report.errors] == ["audit"]


def test_run_bounds_concurrency():
    active = 0
    peak = 0
    lock = threading.Lock()

    class Slow(AuditSession):
        def audit(self, target: ResolvedTarget, **kwargs: object) -> TargetResult:
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
    report = run_audit({}, targets, options, files=Slow(None, options))
    assert len(report.targets) == 12
    assert peak == 3
    assert report.generated_at == CLOCK


def test_one_crashing_target_does_not_lose_the_others():
    class Flaky(AuditSession):
        def audit(self, target: ResolvedTarget, **kwargs: object) -> TargetResult:
            if target.ref == "boom":
                raise RuntimeError("bug")
            return TargetResult(kind=TargetKind.DOCKERFILE, engine=None, id=target.ref, name=target.ref)

    options = _options()
    targets = [ResolvedTarget(TargetKind.DOCKERFILE, r) for r in ("a", "boom", "c")]
    report = run_audit({}, targets, options, files=Flaky(None, options))
    by_name = {t.name: t for t in report.targets}
    assert set(by_name) == {"a", "boom", "c"}
    assert by_name["boom"].errors[0].message == "RuntimeError: bug"


def test_audit_path_dockerfile_has_lines_and_a_hardened_diff(tmp_path):
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM debian:latest\nCMD python app.py\n")
    result = AuditSession(None, _options()).audit(ResolvedTarget(TargetKind.DOCKERFILE, str(dockerfile)))
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
    first = run_audit({"local": AuditSession(engine, _options(concurrency=4))}, targets, _options(concurrency=4))
    second = run_audit(
        {"local": AuditSession(engine, _options(concurrency=1))}, list(reversed(targets)), _options(concurrency=1)
    )
    for fmt in FORMATS:
        assert render(first, fmt) == render(second, fmt), fmt


def test_an_ignore_added_later_rescores_results_already_made(engine, bad_image, tmp_path):
    session = AuditSession(engine, _options(config_dir=tmp_path))
    before = session.audit(_image(bad_image))
    assert any(f.rule_id == "DA101" and f.counts for f in before.findings)
    path = session.add_ignore("DA101", "the base image decides", "dockaudit-test/*", None)
    assert path == tmp_path / ".dockaudit.toml" and "DA101" in path.read_text()
    after = session.rescore(before)
    da101 = next(f for f in after.findings if f.rule_id == "DA101")
    assert da101.suppressed is not None and da101.suppressed.reason == "the base image decides"
    assert after.summary()["high"] == before.summary()["high"] - 1


def test_an_ignore_raises_the_score_of_a_result_already_made(engine, good_image, tmp_path):
    session = AuditSession(engine, _options(config_dir=tmp_path))
    before = session.audit(_image(good_image))
    assert {f.rule_id for f in before.findings if f.counts} >= {"DA107"}
    session.add_ignore("DA107", "no registry in this environment", "*", None)
    after = session.rescore(before)
    assert after.score > before.score
    assert "DA107" not in {f.rule_id for f in after.findings if f.counts}


def test_the_trivy_probe_runs_once_per_session(engine):
    class CountingScanner:
        probes = 0
        selected = ("vuln",)

        def info(self, *, refresh: bool = False):
            from dockaudit.model import DbStatus, TrivyInfo

            CountingScanner.probes += 1
            return TrivyInfo("0.76.0", DbStatus("ok"))

    session = AuditSession(engine, _options(scanners=frozenset({"checklist", "vuln"})), scanner=CountingScanner())
    session.trivy_info()
    assert CountingScanner.probes == 1
    # The scanner itself caches (TrivyScanner.info); the session never builds a second one.
    assert session.scanner is session.scanner


def test_trivy_options_honour_the_db_age_threshold_of_the_settings(engine):
    from dockaudit.config import Thresholds

    settings = Settings(thresholds=Thresholds(db_max_age_days=2))
    session = AuditSession(engine, _options(settings=settings, scanners=frozenset({"checklist", "vuln"})))
    assert session.trivy_options().db_max_age_days == 2
    assert session.trivy_options().scanners == ("vuln",)
