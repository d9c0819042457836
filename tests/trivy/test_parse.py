"""Reading Trivy's JSON defensively: odd shapes are handled, unreadable ones are clear errors."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dockaudit.model import Origin, Severity, Source
from dockaudit.scanners.trivy_parse import TrivyOutputError, misconfig_id, parse_report

TOKEN = "ghp_" + "Ab1" * 12


def report(results: Any, **extra: Any) -> str:
    doc = {"SchemaVersion": 2, "ArtifactName": "app:1", "Metadata": {"DiffIDs": ["sha256:l0", "sha256:l1"]}}
    doc.update(extra)
    if results is not ...:
        doc["Results"] = results
    return json.dumps(doc)


def vuln(**overrides: Any) -> dict[str, Any]:
    item = {
        "VulnerabilityID": "CVE-2024-0001",
        "PkgName": "openssl",
        "InstalledVersion": "1.0",
        "FixedVersion": "1.1",
        "Severity": "HIGH",
        "Layer": {"DiffID": "sha256:l1"},
        "PrimaryURL": "https://avd.aquasec.com/nvd/cve-2024-0001",
    }
    item.update(overrides)
    return item


@pytest.mark.parametrize(
    "results",
    [
        ...,
        None,
        [],
        [{"Target": "x", "Class": "os-pkgs", "Vulnerabilities": None}],
        [{"Target": "x"}],
        ["not a dict", 3],
    ],
)
def test_absent_or_null_results_give_no_findings(results: Any) -> None:
    assert parse_report(report(results)).findings == ()


def test_unknown_fields_are_ignored() -> None:
    parsed = parse_report(
        report([{"Target": "t", "NewThing": {"a": 1}, "Vulnerabilities": [vuln(Extra=[1, 2])]}], FutureField=True)
    )
    assert [f.rule_id for f in parsed.findings] == ["CVE-2024-0001"]


@pytest.mark.parametrize("schema", [1, 3, "2", None])
def test_unexpected_schema_version_is_a_clear_error(schema: Any) -> None:
    doc = json.loads(report([]))
    doc["SchemaVersion"] = schema
    with pytest.raises(TrivyOutputError, match=r"SchemaVersion .* is not supported"):
        parse_report(json.dumps(doc))


@pytest.mark.parametrize(
    "garbage",
    [
        b"",
        b"   \n",
        b"not json",
        b'{"SchemaVersion": 2, "Results": [',
        b"[1, 2]",
        b"\xff\xfe\x00garbage",
        b"[" * 100000,
    ],
)
def test_garbage_is_an_error_not_a_crash(garbage: bytes) -> None:
    with pytest.raises(TrivyOutputError):
        parse_report(garbage)


def test_vulnerability_fields_map_to_the_finding() -> None:
    item = vuln(
        Title="bad thing",
        Status="fixed",
        VendorIDs=["DSA-1"],
        PkgPath="usr/lib/x/METADATA",
        CVSS={"ghsa": {"V3Score": 7.1}, "nvd": {"V3Score": 7.5, "V2Score": 5.0}},
    )
    (f,) = parse_report(report([{"Target": "t", "Vulnerabilities": [item]}])).findings
    assert (f.rule_id, f.slug, f.source, f.severity) == ("CVE-2024-0001", "openssl", Source.TRIVY_VULN, Severity.HIGH)
    assert f.section == "Scanning and signing"
    assert f.fix is not None and f.fix.summary == "upgrade openssl to 1.1"
    assert f.location.layer == 1 and f.location.path == "usr/lib/x/METADATA"
    assert f.references == ("DSA-1", "https://avd.aquasec.com/nvd/cve-2024-0001")
    v = f.vulnerability
    assert v is not None
    assert (v.package, v.installed, v.fixed, v.cvss, v.layer, v.status) == (
        "openssl",
        "1.0",
        "1.1",
        7.5,
        "sha256:l1",
        "fixed",
    )
    assert v.from_base is None and f.origin is Origin.UNKNOWN


def test_cvss_falls_back_to_any_source() -> None:
    item = vuln(CVSS={"redhat": {"V3Score": 6.5}}, SeveritySource="redhat")
    (f,) = parse_report(report([{"Target": "t", "Vulnerabilities": [item]}])).findings
    assert f.vulnerability is not None and f.vulnerability.cvss == 6.5
    (g,) = parse_report(report([{"Target": "t", "Vulnerabilities": [vuln(CVSS="junk")]}])).findings
    assert g.vulnerability is not None and g.vulnerability.cvss is None


def test_unknown_severity_is_info_and_unfixed_has_no_fix() -> None:
    (f,) = parse_report(
        report([{"Target": "t", "Vulnerabilities": [vuln(Severity="UNKNOWN", FixedVersion="")]}])
    ).findings
    assert f.severity is Severity.INFO
    assert f.fix is None
    assert f.vulnerability is not None and f.vulnerability.fixed is None


def test_base_layers_decide_origin_and_fix_mentions_the_base_image() -> None:
    body = report(
        [{"Target": "t", "Vulnerabilities": [vuln(), vuln(VulnerabilityID="CVE-2", Layer={"DiffID": "sha256:l0"})]}]
    )
    by_id = {f.rule_id: f for f in parse_report(body, base_layers=frozenset({"sha256:l0"})).findings}
    assert by_id["CVE-2"].origin is Origin.BASE
    assert by_id["CVE-2"].fix is not None and "update the base image" in by_id["CVE-2"].fix.summary
    assert by_id["CVE-2024-0001"].origin is Origin.USER


def test_misconfig_ids_are_normalised() -> None:
    assert misconfig_id({"ID": "DS-0002"}) == "DS-0002"
    assert misconfig_id({"ID": "DS002", "AVDID": "AVD-DS-0002"}) == "DS-0002"
    assert misconfig_id({"AVDID": "AVD-DS-0026"}) == "DS-0026"
    assert misconfig_id({"ID": "KSV001"}) == "KSV001"


def test_misconfig_finding_uses_message_as_evidence_and_skips_passes() -> None:
    items = [
        {
            "ID": "DS-0031",
            "Title": "Secrets passed",
            "Message": f'Possible exposure of secret env "T" in ENV {TOKEN}',
            "Severity": "CRITICAL",
            "Status": "FAIL",
            "Resolution": "Use secret mounts",
        },
        {"ID": "DS-0001", "Title": "ok", "Status": "PASS", "Severity": "LOW"},
    ]
    parsed = parse_report(report([{"Target": "app:1", "Class": "config", "Misconfigurations": items}]))
    (f,) = parsed.findings
    assert parsed.image_config_checked
    assert (f.rule_id, f.source, f.severity) == ("DS-0031", Source.TRIVY_MISCONFIG, Severity.CRITICAL)
    assert f.evidence.startswith("Possible exposure of secret env")
    assert TOKEN not in f.evidence
    assert f.location.instruction == "image config"
    assert f.fix is not None and f.fix.summary == "Use secret mounts"


def test_secret_never_carries_the_raw_match() -> None:
    secrets = [
        {
            "RuleID": "github-pat",
            "Title": "GitHub PAT",
            "Severity": "CRITICAL",
            "StartLine": 2,
            "Match": "token = " + "*" * 40,
            "Layer": {"DiffID": "sha256:l1"},
            "Code": {"Lines": [{"Content": f"token = {TOKEN}"}]},
        },
        # An unmasked match (a Trivy bug or a custom rule) must not reach the evidence either.
        {"RuleID": "custom", "Title": "Custom", "Severity": "HIGH", "StartLine": 3, "Match": f"key={TOKEN}"},
    ]
    parsed = parse_report(report([{"Target": "/app/.env", "Class": "secret", "Secrets": secrets}]))
    assert TOKEN not in repr(parsed)
    first, second = parsed.findings
    assert first.source is Source.TRIVY_SECRET
    assert first.location.path == "/app/.env" and first.location.line == 2 and first.location.layer == 1
    assert first.evidence == "GitHub PAT in /app/.env:2: token = " + "*" * 40
    assert second.evidence == "Custom in /app/.env:3"


def test_license_results_become_license_findings() -> None:
    item = {
        "Severity": "HIGH",
        "Category": "restricted",
        "PkgName": "busybox",
        "Name": "GPL-2.0-only",
        "FilePath": "",
        "Confidence": 1,
    }
    (f,) = parse_report(
        report([{"Target": "OS Packages", "Class": "license", "Licenses": [item, {"Name": ""}]}])
    ).findings
    assert (f.rule_id, f.slug, f.source, f.severity) == ("GPL-2.0-only", "busybox", Source.TRIVY_LICENSE, Severity.HIGH)
    assert f.evidence == "busybox is licensed under GPL-2.0-only (category: restricted)"


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
_keys = st.sampled_from(
    [
        "Target",
        "Class",
        "Vulnerabilities",
        "Misconfigurations",
        "Secrets",
        "Licenses",
        "VulnerabilityID",
        "PkgName",
        "Layer",
        "CVSS",
        "Severity",
        "Match",
        "StartLine",
        "ID",
    ]
)


@given(
    results=st.lists(st.dictionaries(_keys, _json | st.lists(st.dictionaries(_keys, _json, max_size=6)), max_size=5)),
    metadata=_json,
)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
def test_any_report_shaped_json_parses_without_crashing(results: list[Any], metadata: Any) -> None:
    parsed = parse_report(json.dumps({"SchemaVersion": 2, "Metadata": metadata, "Results": results}))
    for finding in parsed.findings:
        assert isinstance(finding.rule_id, str) and finding.rule_id
