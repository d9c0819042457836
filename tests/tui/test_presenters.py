"""Model → cell functions: text that reads the same without colour, and fits 80 columns."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dockaudit.demo import DemoScanner, DemoSource
from dockaudit.demo_catalog import NOW
from dockaudit.model import DbStatus, EngineInfo, Severity, Status, TargetKind, TargetResult, TrivyInfo
from dockaudit.targets import image_target
from dockaudit.tui.backend import EngineChoice, ScanState
from dockaudit.tui.demo import DemoConnector
from dockaudit.tui.presenters import (
    Grouping,
    fit,
    grade_text,
    group_findings,
    header_text,
    human_age,
    human_size,
    severity_counts,
)
from dockaudit.tui.vuln_presenters import (
    VulnFilter,
    narrow_title_width,
    narrow_vuln_cells,
    vuln_cells,
    vuln_columns,
    vulnerabilities,
)


def web_result() -> TargetResult:
    session = DemoConnector().open(EngineChoice())
    image = next(i for i in session.inventory().images if i.name == "shop/web:latest")
    return session.audit(image_target(image, "demo"))


def test_sizes_and_ages_read_like_the_docker_cli() -> None:
    assert human_size(1_234_000_000) == "1.2 GB"
    assert human_age(NOW - timedelta(days=3, hours=2), NOW) == "3 days ago"
    assert human_age(NOW - timedelta(days=400), NOW) == "1 year ago"
    assert human_age(None, NOW) == "-"


def test_long_names_keep_their_tag_visible() -> None:
    name = "registry.example.com/platform/team/service-name:1.2.3"
    short = fit(name, 32)
    assert len(short) == 32 and short.endswith("service-name:1.2.3") and "..." in short
    assert fit("nginx:1", 32) == "nginx:1"


def test_severity_counts_carry_letters_not_only_colour() -> None:
    text = severity_counts(web_result())
    assert text.plain == "4C 3H 7M 8L"
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
    assert len(vulnerabilities(result, VulnFilter())) == 8
    fixable_high = vulnerabilities(result, VulnFilter(fixable_only=True, min_severity=Severity.HIGH))
    assert {f.rule_id for f in fixable_high} == {"CVE-2024-6387", "CVE-2023-52425", "CVE-2024-45490"}
    assert [f.rule_id for f in vulnerabilities(result, VulnFilter(text="zlib"))] == ["CVE-2023-45853"]


def test_a_narrow_vulnerability_list_keeps_the_title_and_cuts_with_ascii_dots() -> None:
    rows = [vuln_cells(f) for f in vulnerabilities(web_result(), VulnFilter())]
    assert [key for key, _ in vuln_columns(78)] == ["severity", "id", "package", "fixed", "title"]
    assert [key for key, _ in vuln_columns(120)][-2:] == ["installed", "title"]
    title_width = narrow_title_width(rows, 78)
    assert title_width >= 12
    narrow = [narrow_vuln_cells(row, title_width) for row in rows]
    for cells in narrow:
        # One column of padding either side of each cell: the row fits in 78 columns, the title included.
        assert sum(cell.cell_len + 2 for cell in cells) <= 78, [cell.plain for cell in cells]
        assert cells[-1].plain.isascii()
    cut = [(row[5].plain, cells[-1].plain) for row, cells in zip(rows, narrow, strict=True) if row[5] != cells[-1]]
    assert cut, "some demo title is longer than the room a narrow list leaves"
    assert all(shown.endswith("...") and full.startswith(shown[:-3]) for full, shown in cut)


def test_header_names_context_rootless_podman_and_db_age() -> None:
    engine = EngineInfo("e", "ssh://ops@box", context="prod", server_version="4.9", podman=True, rootless=True)
    trivy = DemoScanner(DemoSource()).info()
    text = header_text(engine, trivy, NOW).plain
    assert text.startswith("dockaudit prod: ssh://ops@box | Podman 4.9")
    assert "rootless" in text and "Trivy 0.76.0 DB 2 days old" in text
    assert "Trivy off" in header_text(engine, None, datetime.now(UTC)).plain
    missing = TrivyInfo("", DbStatus("failed", message="no trivy on PATH"))
    assert "Trivy not found" in header_text(engine, missing, datetime.now(UTC)).plain


def test_header_names_the_engine_kind_at_every_width() -> None:
    docker = EngineInfo("d", "unix:///var/run/docker.sock", server_version="20.10.24", api_version="1.41")
    podman = EngineInfo("p", "unix:///run/podman/podman.sock", server_version="4.3.1", api_version="1.41", podman=True)
    for compact in (False, True):
        assert " | Docker 20.10.24" in header_text(docker, None, NOW, compact=compact).plain
        assert " | Podman 4.3.1" in header_text(podman, None, NOW, compact=compact).plain
    assert "rootless" not in header_text(podman, None, NOW).plain
