"""Markdown, JUnit, table and JSON specifics beyond the golden files."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace

from dockaudit.model import ScanError
from dockaudit.report.json import report_to_dict
from dockaudit.report.junit import render_junit
from dockaudit.report.markdown import cell, fenced, render_markdown
from dockaudit.report.table import render_table
from tests.report.sample import CATALOG, XSS, image_target, report_with, sample_report
from tests.report.schemas import validate_report


def test_json_keeps_suppressed_findings_in_place_and_out_of_the_summary() -> None:
    data = report_to_dict(sample_report())
    validate_report(data)
    image = next(t for t in data["targets"] if t["name"] == "myapp:1.2.3")
    da106 = next(f for f in image["findings"] if f["rule_id"] == "DA106")
    assert da106["suppressed"] == {"reason": "internal dev image", "expires": "2027-01-31", "by": ".dockaudit.toml:4"}
    assert image["summary"] == {"critical": 1, "high": 2, "medium": 3, "low": 0, "info": 0}


def test_json_orders_targets_by_kind_then_name_and_findings_by_severity() -> None:
    data = report_to_dict(sample_report())
    assert [t["kind"] for t in data["targets"]] == ["host", "image", "image", "container", "dockerfile"]
    image = next(t for t in data["targets"] if t["name"] == "myapp:1.2.3")
    order = ["critical", "high", "medium", "low", "info"]
    ranks = [order.index(f["severity"]) for f in image["findings"]]
    assert ranks == sorted(ranks)


def test_markdown_cells_neutralise_markup_and_pipes() -> None:
    assert cell("a|b") == "a\\|b"
    assert cell("<script>") == "&lt;script&gt;"
    assert cell("two\nlines") == "two<br>lines"
    assert cell("**bold** [x](y)") == "\\*\\*bold\\*\\* \\[x\\](y)"
    assert fenced("has ``` inside").startswith("````")


def test_markdown_has_no_raw_planted_html() -> None:
    text = render_markdown(sample_report())
    assert XSS not in text and "<script" not in text and "<img" not in text


def test_junit_has_one_testcase_per_rule_and_target() -> None:
    root = ET.fromstring(render_junit(report_with(image_target()), catalog=CATALOG))
    [suite] = root.findall("testsuite")
    names = [case.get("name", "").split()[0] for case in suite.findall("testcase")]
    assert len(names) == len(set(names))
    findings = image_target().findings
    assert set(names) == {f.rule_id for f in findings} | set(image_target().passed)
    failed = {c.get("name", "").split()[0] for c in suite.findall("testcase") if c.find("failure") is not None}
    assert failed == {"DA101", "DA102", "DA105", "DA301", "CVE-2023-9999", "CVE-2024-0727"}
    skipped = {
        c.get("name", "").split()[0]: c.find("skipped").get("message")
        for c in suite.findall("testcase")
        if c.find("skipped") is not None
    }
    assert skipped["DA106"].startswith("suppressed:") and skipped["DA103"].startswith("skipped:")
    assert suite.get("failures") == "6" and suite.get("skipped") == "2"
    assert root.get("tests") == str(len(names))


def test_junit_strips_characters_xml_cannot_carry() -> None:
    bad = replace(image_target(), name="app\x00\x1b:1")
    ET.fromstring(render_junit(report_with(bad), catalog=CATALOG))


def test_table_colour_only_on_request() -> None:
    plain = render_table(sample_report(), color=False)
    assert "\x1b[" not in plain
    assert "\x1b[" in render_table(sample_report(), color=True)
    assert "myapp:1.2.3" in plain and "score 58/100" in plain


def test_table_does_not_interpret_markup_in_data() -> None:
    target = replace(image_target(), name="[bold red]evil[/]")
    assert "[bold red]evil[/]" in render_table(report_with(target), color=False)


def test_a_target_removed_while_the_audit_ran_is_skipped_in_every_format() -> None:
    from dockaudit.gate import failures, removed_targets, verdict
    from dockaudit.model import GONE_STAGE
    from dockaudit.report.sarif import render_sarif

    note = "removed while the audit ran (inspecting container abc: not found)"
    gone = replace(
        image_target(),
        findings=(),
        passed=(),
        scans={"checklist": f"skipped: {note}"},
        errors=(ScanError(GONE_STAGE, note),),
    )
    report = report_with(gone)
    assert failures(report) == [] and verdict(report).code == 0
    assert removed_targets(report) == [f"note: image {gone.name} skipped: {note}"]
    table = render_table(report, color=False)
    assert "not graded: it was removed while the audit ran" in table and "error" not in table
    markdown = render_markdown(report)
    assert f"> **skipped:** {note}" in markdown and "failed:" not in markdown
    junit = render_junit(report)
    assert "<error" not in junit and 'errors="0"' in junit and f'<skipped message="{note}"' in junit
    sarif = json.loads(render_sarif(report, catalog=CATALOG))
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is True
    assert [n["level"] for n in invocation["toolExecutionNotifications"]] == ["note"]


def test_a_target_whose_checklist_failed_reads_ungraded_in_human_outputs() -> None:
    from dockaudit.report.html import render_html

    failed = replace(
        image_target(),
        findings=(),
        score=100,
        grade="A",
        scans={"checklist": "failed", "trivy": "skipped"},
        errors=(ScanError("collect", "no such image"),),
    )
    report = report_with(failed)
    table = render_table(report, color=False)
    assert "score 100/100" not in table and "not graded: the checklist failed" in table
    markdown = render_markdown(report)
    assert "**A**" not in markdown and "Not graded: the checklist failed" in markdown
    assert "| **-** | - |" in markdown
    html = render_html(report)
    assert ">A</span>" not in html and 'class="grade grade--">-</span>' in html
    # The JSON contract keeps the computed values; the errors say why they mean nothing.
    assert report_to_dict(report)["targets"][0]["grade"] == "A"
