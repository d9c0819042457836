"""Compose services are report targets in every format; SARIF points at the Compose file's lines."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest

from dockaudit.config import Settings
from dockaudit.facts.compose import ServiceFacts
from dockaudit.model import Report, TargetKind, TargetResult
from dockaudit.parse.compose import load_project
from dockaudit.report import render
from dockaudit.report.sarif import sarif_log
from dockaudit.rules.compose import evaluate_service
from dockaudit.rules.registry import RuleContext
from dockaudit.score import score
from tests.compose.corpus import PROJECTS, SHELL
from tests.report.schemas import validate_report, validate_sarif


def _report() -> Report:
    # A relative path, as a user types it in CI, so SARIF stays repo-relative.
    project = load_project([PROJECTS.relative_to(PROJECTS.parents[2]) / "webshop"], environ=SHELL)
    targets = []
    for svc in project.services:
        findings, passed = evaluate_service(ServiceFacts(svc), RuleContext(Settings()))
        value, grade = score(findings)
        targets.append(
            TargetResult(
                kind=TargetKind.COMPOSE_SERVICE,
                engine=None,
                id=svc.target_id,
                name=svc.target_name,
                findings=tuple(findings),
                passed=tuple(passed),
                score=value,
                grade=grade,
                scans={"checklist": "ok"},
            )
        )
    return Report("0.1.0", datetime(2026, 12, 1, tzinfo=UTC), (), tuple(targets))


@pytest.fixture(scope="module")
def report() -> Report:
    here = os.getcwd()
    os.chdir(PROJECTS.parents[2])
    try:
        return _report()
    finally:
        os.chdir(here)


def test_json_report_names_compose_services_and_validates(report: Report) -> None:
    text = render(report, "json")
    validate_report(text)
    data = json.loads(text)
    assert [t["kind"] for t in data["targets"]] == ["compose-service"] * 4
    assert [t["name"] for t in data["targets"]] == ["webshop/api", "webshop/cache", "webshop/db", "webshop/frontend"]
    db = next(t for t in data["targets"] if t["name"] == "webshop/db")
    secret = next(f for f in db["findings"] if f["rule_id"] == "DA702")
    assert secret["also"] == ["DA423"] and secret["location"]["line"] == 31
    assert "shop-db-pass-2024" not in text


def test_sarif_results_point_at_compose_file_lines(report: Report) -> None:
    log = sarif_log(report)
    validate_sarif(log)
    results = log["runs"][0]["results"]
    db_ports = next(r for r in results if r["ruleId"] == "DA703" and r["properties"]["target"]["name"] == "webshop/db")
    location = db_ports["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {
        "uri": "tests/compose/projects/webshop/compose.yaml",
        "uriBaseId": "%SRCROOT%",
    }
    assert location["region"] == {"startLine": 34}
    assert db_ports["properties"]["also"] == ["DA427"]
    for result in results:
        uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
        assert uri.startswith("tests/compose/projects/webshop/"), uri
    skipped = log["runs"][0]["invocations"][0]["toolExecutionNotifications"]
    assert any("DA417 skipped on compose-service webshop/api" in n["message"]["text"] for n in skipped)


@pytest.mark.parametrize("fmt", ["html", "markdown", "table"])
def test_human_formats_show_the_service_and_its_line(report: Report, fmt: str) -> None:
    text = render(report, fmt, width=200)
    assert "compose-service" in text and "webshop/db" in text
    assert "webshop/compose.yaml, line 31" in text
    assert "shop-db-pass-2024" not in text


def test_junit_has_one_suite_per_service(report: Report) -> None:
    root = ElementTree.fromstring(render(report, "junit"))
    names = [s.get("name") for s in root.iter("testsuite")]
    assert any(n and "webshop/db" in n for n in names), names
    assert "shop-db-pass-2024" not in render(report, "junit")
