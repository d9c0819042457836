"""Fuzzing Trivy's JSON on its way to the reports: hostile strings in every field Trivy fills.

tests/trivy/test_parse.py already feeds report-shaped JSON of any shape to the parser; this adds what
its findings do downstream: every report format renders them, valid and escaped, and no secret Trivy saw
unmasked reaches a finding.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from dockaudit.report import FORMATS, render
from dockaudit.scanners.trivy_parse import TrivyOutputError, parse_report
from tests.reliability import hostile
from tests.reliability.fuzzing import FUZZ
from tests.report.sample import image_target, report_with
from tests.report.schemas import validate_report, validate_sarif

TOKEN = "ghp_DockAuditFuzzTrivyToken0123456789abc"
"""A well-formed GitHub token (ghp_ + 36): what the secret scanner may see unmasked."""
HOSTILE_TEXT = st.one_of(
    st.text(max_size=20),
    st.sampled_from(
        [
            *hostile.PAYLOADS,
            hostile.EVIL,
            "javascript:alert(1)",
            "https://x/\x1b]8;;evil\x07",
            "]]>",
            "</testcase>",
            "&amp;",
            "\ud800",
            "\ufffe",
        ]
    ),
)
SEVERITY = st.one_of(st.sampled_from(["CRITICAL", "HIGH", "MEDIUM", "LOW", "UNKNOWN"]), HOSTILE_TEXT)


def _item(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


VULN = _item(
    {
        "VulnerabilityID": HOSTILE_TEXT,
        "PkgName": HOSTILE_TEXT,
        "InstalledVersion": HOSTILE_TEXT,
        "FixedVersion": HOSTILE_TEXT,
        "Severity": SEVERITY,
        "Title": HOSTILE_TEXT,
        "PrimaryURL": HOSTILE_TEXT,
        "Status": HOSTILE_TEXT,
        "PkgPath": HOSTILE_TEXT,
        "VendorIDs": st.lists(HOSTILE_TEXT, max_size=2),
        "CVSS": st.dictionaries(
            HOSTILE_TEXT,
            st.fixed_dictionaries({}, optional={"V3Score": st.one_of(st.floats(), st.integers(), HOSTILE_TEXT)}),
            max_size=2,
        ),
        "Layer": st.fixed_dictionaries({}, optional={"DiffID": HOSTILE_TEXT}),
    }
)
MISCONFIG = _item(
    {
        "ID": HOSTILE_TEXT,
        "AVDID": HOSTILE_TEXT,
        "Title": HOSTILE_TEXT,
        "Message": HOSTILE_TEXT,
        "Resolution": HOSTILE_TEXT,
        "Severity": SEVERITY,
        "PrimaryURL": HOSTILE_TEXT,
        "Status": st.sampled_from(["FAIL", "", "PASS"]),
        "CauseMetadata": st.fixed_dictionaries({}, optional={"StartLine": st.integers(-3, 2**40)}),
    }
)
SECRET = _item(
    {
        "RuleID": HOSTILE_TEXT,
        "Title": HOSTILE_TEXT,
        "Severity": SEVERITY,
        "StartLine": st.integers(-3, 2**40),
        "Match": st.one_of(
            HOSTILE_TEXT,
            st.just(f"GITHUB_TOKEN={TOKEN}"),
            st.just(f"GITHUB_TOKEN=****{TOKEN[-6:]}"),
            st.just(f"x **** {TOKEN}"),
        ),
    }
)
LICENSE = _item(
    {
        "Name": HOSTILE_TEXT,
        "PkgName": HOSTILE_TEXT,
        "Category": HOSTILE_TEXT,
        "FilePath": HOSTILE_TEXT,
        "Severity": SEVERITY,
    }
)
RESULT = _item(
    {
        "Target": HOSTILE_TEXT,
        "Class": st.sampled_from(["os-pkgs", "config", "secret", "lang-pkgs"]),
        "Vulnerabilities": st.lists(VULN, max_size=3),
        "Misconfigurations": st.lists(MISCONFIG, max_size=2),
        "Secrets": st.lists(SECRET, max_size=2),
        "Licenses": st.lists(LICENSE, max_size=2),
    }
)


def _no_raw_controls(text: str, fmt: str) -> None:
    if fmt in ("table", "markdown", "junit", "html"):
        assert hostile.raw_leaks(text) == [], fmt


@FUZZ
@given(st.lists(RESULT, max_size=3), HOSTILE_TEXT)
@example([{"Target": "app:1", "Secrets": [{"RuleID": "github-pat", "Match": f"GITHUB_TOKEN={TOKEN}"}]}], "app:1")
@example([{"Vulnerabilities": [{"VulnerabilityID": "\ud800"}]}], "")  # once crashed every UTF-8 writer
@example(
    [{"Target": "t", "Vulnerabilities": [{"VulnerabilityID": "CVE-1", "PrimaryURL": "https://x/\x1b]8;;e\x07"}]}], "a"
)
def test_hostile_trivy_output_renders_safely_in_every_format(results: list[dict[str, Any]], artifact: str) -> None:
    raw = json.dumps(
        {
            "SchemaVersion": 2,
            "ArtifactName": artifact,
            "Results": results,
            "Metadata": {"DiffIDs": ["sha256:l0"]},
            "Trivy": {"Version": hostile.OSC52},
        }
    )
    try:
        parsed = parse_report(raw)
    except TrivyOutputError:
        return
    # An unmasked secret Trivy reports is dropped, never quoted.
    assert TOKEN not in repr(parsed.findings)
    target = replace(image_target(), findings=parsed.findings)
    report = report_with(target)
    for fmt in FORMATS:
        text = render(report, fmt)
        text.encode("utf-8")
        _no_raw_controls(text, fmt)
        if fmt == "json":
            validate_report(text)
        elif fmt == "sarif":
            validate_sarif(text)
        elif fmt == "junit":
            ET.fromstring(text.encode("utf-8"))
