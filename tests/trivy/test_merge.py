"""A Trivy check that repeats a dockaudit rule becomes a reference on the dockaudit finding."""

from __future__ import annotations

import pytest

from dockaudit.model import Finding, Location, Severity, Source, Status
from dockaudit.scanners.trivy import merge_findings


def checklist(rule_id: str, refs: tuple[str, ...] = (), status: Status = Status.FAIL) -> Finding:
    return Finding(rule_id, "slug", Source.CHECKLIST, Severity.HIGH, status, "t", "s", "e", references=refs)


def misconfig(rule_id: str) -> Finding:
    return Finding(
        rule_id,
        "x",
        Source.TRIVY_MISCONFIG,
        Severity.LOW,
        Status.FAIL,
        "t",
        "Scanning and signing",
        "m",
        location=Location(instruction="image config"),
    )


@pytest.mark.parametrize(
    ("ds", "da"),
    [
        ("DS-0002", "DA101"),
        ("DS-0026", "DA102"),
        ("DS-0031", "DA104"),
        ("DS-0031", "DA201"),
        ("DS-0005", "DA203"),
        ("DS-0005", "DA204"),
        ("DS-0001", "DA603"),
        ("DS-0004", "DA109"),
        ("DS-0017", "DA205"),
        ("DS-0024", "DA206"),
        ("DS-0029", "DA208"),
        ("DS-0010", "DA209"),
    ],
)
def test_equivalent_trivy_check_folds_into_the_dockaudit_finding(ds: str, da: str) -> None:
    merged = merge_findings([checklist(da, ("CIS 4.1",))], [misconfig(ds)])
    assert len(merged) == 1
    (only,) = merged
    assert only.rule_id == da
    assert only.source is Source.CHECKLIST
    assert only.references == ("CIS 4.1", ds)


def test_reference_already_listed_is_not_duplicated() -> None:
    (only,) = merge_findings([checklist("DA101", ("DS-0002", "DL3002"))], [misconfig("DS-0002")])
    assert only.references == ("DS-0002", "DL3002")


def test_one_trivy_check_can_cover_two_dockaudit_findings() -> None:
    merged = merge_findings([checklist("DA104"), checklist("DA201")], [misconfig("DS-0031")])
    assert [(f.rule_id, f.references) for f in merged] == [("DA104", ("DS-0031",)), ("DA201", ("DS-0031",))]


def test_trivy_finding_stays_when_dockaudit_passed_or_skipped() -> None:
    skipped = checklist("DA101", status=Status.SKIPPED)
    merged = merge_findings([skipped], [misconfig("DS-0002"), misconfig("DS-0099")])
    assert [f.rule_id for f in merged] == ["DA101", "DS-0002", "DS-0099"]
    assert merged[0].references == ()


def test_image_config_secret_folds_into_secret_in_env() -> None:
    secret = Finding(
        "github-pat",
        "github-pat",
        Source.TRIVY_SECRET,
        Severity.CRITICAL,
        Status.FAIL,
        "t",
        "s",
        "e",
        location=Location(instruction="image config"),
    )
    file_secret = Finding(
        "github-pat",
        "github-pat",
        Source.TRIVY_SECRET,
        Severity.CRITICAL,
        Status.FAIL,
        "t",
        "s",
        "e",
        location=Location(path="/app/x"),
    )
    merged = merge_findings([checklist("DA104")], [secret, file_secret])
    assert [f.rule_id for f in merged] == ["DA104", "github-pat"]
    assert merged[0].references == ("trivy:github-pat",)
    assert merged[1].location.path == "/app/x"


def test_vulnerabilities_are_never_merged() -> None:
    vuln = Finding("CVE-1", "pkg", Source.TRIVY_VULN, Severity.HIGH, Status.FAIL, "t", "s", "e")
    assert merge_findings([checklist("DA101")], [vuln])[1] is vuln
