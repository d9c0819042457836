"""Model → cell functions: text that reads the same without colour, and fits 80 columns."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from dockaudit.model import EngineInfo, Severity, Status, TargetKind, TargetResult
from dockaudit.tui.backend import ScanState
from dockaudit.tui.demo import NOW, DemoBackend
from dockaudit.tui.presenters import (
    Grouping,
    VulnFilter,
    fit,
    grade_text,
    group_findings,
    header_text,
    human_age,
    human_size,
    severity_counts,
    vulnerabilities,
)


def web_result() -> TargetResult:
    demo = DemoBackend()
    image = next(i for i in demo.inventory().images if i.name == "shop/web:latest")
    result, facts = demo.checklist(f"image:{image.id}", image.name, lambda _p: None, threading.Event())
    assert facts is not None
    return demo.trivy("k", result, facts, lambda _p: None, threading.Event(), True)  # type: ignore[arg-type]


def test_sizes_and_ages_read_like_the_docker_cli() -> None:
    assert human_size(1_234_000_000) == "1.2 GB"
    assert human_age(NOW - timedelta(days=3, hours=2), NOW) == "3 days ago"
    assert human_age(NOW - timedelta(days=400), NOW) == "1 year ago"
    assert human_age(None, NOW) == "-"


def test_long_names_keep_their_tag_visible() -> None:
    name = "registry.example.com/platform/team/service-name:1.2.3"
    short = fit(name, 32)
    assert len(short) == 32 and short.endswith("service-name:1.2.3") and "…" in short
    assert fit("nginx:1", 32) == "nginx:1"


def test_severity_counts_carry_letters_not_only_colour() -> None:
    text = severity_counts(web_result())
    assert text.plain == "3C 4H 7M 5L"
    assert severity_counts(None).plain == ""


def test_grade_cell_shows_progress_then_pending_trivy() -> None:
    result = TargetResult(kind=TargetKind.IMAGE, engine=None, id="x", name="x")
    assert grade_text(None, ScanState(fraction=0.4)).plain == "40%"
    assert grade_text(result, ScanState(running=False, trivy_pending=True)).plain == "A*"
    assert grade_text(None, None).plain == "-"


def test_findings_group_by_severity_with_skipped_last() -> None:
    groups = group_findings(web_result().findings, Grouping.SEVERITY)
    labels = [label for label, _ in groups]
    assert labels[0] == "CRITICAL" and labels[-1].startswith("SKIPPED")
    assert all(f.status is Status.SKIPPED for f in groups[-1][1])


def test_vulnerability_filters_combine() -> None:
    result = web_result()
    assert len(vulnerabilities(result, VulnFilter())) == 11
    fixable_high = vulnerabilities(result, VulnFilter(fixable_only=True, min_severity=Severity.HIGH))
    assert {f.rule_id for f in fixable_high} == {"CVE-2024-6387", "CVE-2023-52425", "CVE-2024-28757", "CVE-2024-45490"}
    assert [f.rule_id for f in vulnerabilities(result, VulnFilter(text="zlib"))] == ["CVE-2023-45853"]


def test_header_names_context_rootless_podman_and_db_age() -> None:
    engine = EngineInfo("e", "ssh://ops@box", context="prod", server_version="4.9", podman=True, rootless=True)
    trivy = DemoBackend().trivy_info()
    text = header_text(engine, trivy, NOW).plain
    assert text.startswith("dockaudit prod: ssh://ops@box | Podman 4.9")
    assert "rootless" in text and "Trivy 0.76.0 DB 2 days old" in text
    assert "Trivy not found" in header_text(engine, None, datetime.now(UTC)).plain


def test_header_names_the_engine_kind_at_every_width() -> None:
    docker = EngineInfo("d", "unix:///var/run/docker.sock", server_version="20.10.24", api_version="1.41")
    podman = EngineInfo("p", "unix:///run/podman/podman.sock", server_version="4.3.1", api_version="1.41", podman=True)
    for compact in (False, True):
        assert " | Docker 20.10.24" in header_text(docker, None, NOW, compact=compact).plain
        assert " | Podman 4.3.1" in header_text(podman, None, NOW, compact=compact).plain
    assert "rootless" not in header_text(podman, None, NOW).plain
